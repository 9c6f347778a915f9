//! OpenPGP signatures (what `git -c gpg.format=openpgp` writes) against an
//! armored keyring of public keys, with rPGP. Decided the way gpg does for
//! `git verify-commit`: the issuing key must be in the keyring, the signature
//! must match the signed bytes, and the key must not be expired or revoked
//! *now* (gpg reports an expired key as `EXPKEYSIG` and git rejects it, even
//! for a signature made while the key was valid).

use chrono::{DateTime, TimeZone, Utc};
use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::packet::{Signature, SignatureType};
use pgp::types::{KeyDetails, Tag, Timestamp, VerifyingKey};

use super::{KeyListError, Rejection, Verified, lines_with_ranges};

const BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
const END: &str = "-----END PGP PUBLIC KEY BLOCK-----";

/// The trusted OpenPGP public keys, with what their self-signatures say.
#[derive(Debug, Clone)]
pub struct Keyring {
    pub keys: Vec<TrustedKey>,
}

/// A primary key or subkey that may have made a signature.
#[derive(Debug, Clone)]
pub struct KeyState {
    pub fingerprint: String,
    pub revoked: bool,
    pub expires: Option<DateTime<Utc>>,
    pub may_sign: bool,
}

/// One certificate of the keyring, its self-signatures already verified.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    pub key: SignedPublicKey,
    /// User ids with a valid, unrevoked self-certification.
    pub user_ids: Vec<String>,
    pub primary: KeyState,
    /// In the order of `key.public_subkeys`; `None` for a subkey without a
    /// valid binding signature (it is then never accepted).
    pub subkeys: Vec<Option<KeyState>>,
}

const EXPORT_HELP: &str = "paste the output of `gpg --armor --export KEYID…` (one or more `-----BEGIN PGP PUBLIC KEY BLOCK-----` blocks)";

impl Keyring {
    /// Parse one or more armored public-key blocks; each bad block is
    /// reported at its first line.
    pub fn parse(text: &str) -> Result<Keyring, Vec<KeyListError>> {
        let mut keys = Vec::new();
        let mut errors = Vec::new();
        let mut block: Option<(usize, std::ops::Range<usize>)> = None;
        for (line, range, content) in lines_with_ranges(text) {
            let content = content.trim();
            if content == BEGIN {
                block = Some((line, range));
            } else if content == END {
                let Some((first, start)) = block.take() else {
                    errors.push(err(line, range, "an END line without a BEGIN line"));
                    continue;
                };
                let armored = &text[start.start..range.end];
                match parse_block(armored) {
                    Ok(parsed) => keys.extend(parsed),
                    Err(message) => errors.push(err(first, start, &message)),
                }
            } else if block.is_none() && !content.is_empty() {
                errors.push(err(line, range, "text outside a public key block"));
            }
        }
        if let Some((first, start)) = block {
            errors.push(err(first, start, "the key block has no END line"));
        }
        if keys.is_empty() && errors.is_empty() {
            errors.push(err(1, 0..text.len(), "no public keys"));
        }
        if errors.is_empty() {
            Ok(Keyring { keys })
        } else {
            Err(errors)
        }
    }
}

fn err(line: usize, range: std::ops::Range<usize>, message: &str) -> KeyListError {
    KeyListError {
        line,
        range,
        message: message.to_string(),
        help: EXPORT_HELP.to_string(),
    }
}

fn parse_block(armored: &str) -> Result<Vec<TrustedKey>, String> {
    let (iter, _) = SignedPublicKey::from_string_many(armored)
        .map_err(|e| format!("not an OpenPGP public key block ({e})"))?;
    let mut keys = Vec::new();
    for key in iter {
        let key = key.map_err(|e| format!("unreadable public key ({e})"))?;
        keys.push(TrustedKey::check(key)?);
    }
    if keys.is_empty() {
        return Err("the block holds no public key".into());
    }
    Ok(keys)
}

impl TrustedKey {
    /// Verify the certificate's self-signatures and derive what they state.
    /// Third-party certifications are ignored (they say nothing gatehouse
    /// uses), so a key exported with others' signatures on it still loads.
    fn check(key: SignedPublicKey) -> Result<TrustedKey, String> {
        let primary = &key.primary_key;
        let fingerprint = format!("{:X}", primary.fingerprint());
        let mut user_ids = Vec::new();
        let mut self_sigs: Vec<&Signature> = Vec::new();
        for user in &key.details.users {
            let valid = user
                .signatures
                .iter()
                .filter(|s| issued_by(s, primary))
                .filter(|s| {
                    s.verify_certification(primary, Tag::UserId, &user.id)
                        .is_ok()
                });
            match newest(valid) {
                Some(s) if s.typ() == Some(SignatureType::CertRevocation) => {}
                Some(s) => {
                    self_sigs.push(s);
                    if let Some(id) = user.id.as_str() {
                        user_ids.push(id.to_string());
                    }
                }
                None => {}
            }
        }
        self_sigs.extend(
            key.details
                .direct_signatures
                .iter()
                .filter(|s| issued_by(s, primary) && s.verify_key(primary).is_ok()),
        );
        if self_sigs.is_empty() {
            return Err(format!(
                "key {fingerprint} has no valid self-signature, so nothing binds it to its owner"
            ));
        }
        let revoked = key
            .details
            .revocation_signatures
            .iter()
            .any(|s| issued_by(s, primary) && s.verify_key(primary).is_ok());
        let primary_signer = KeyState {
            fingerprint,
            revoked,
            expires: expiry(primary.created_at(), newest(self_sigs.iter().copied())),
            may_sign: true,
        };
        let subkeys = key
            .public_subkeys
            .iter()
            .map(|sub| {
                let valid: Vec<&Signature> = sub
                    .signatures
                    .iter()
                    .filter(|s| s.verify_subkey_binding(primary, &sub.key).is_ok())
                    .collect();
                let binding = newest(
                    valid
                        .iter()
                        .copied()
                        .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding)),
                )?;
                // A signing subkey must sign the primary back (RFC 9580
                // 5.2.1), or anyone could bind someone else's signing key.
                let may_sign = binding.key_flags().sign()
                    && binding.embedded_signature().is_some_and(|back| {
                        back.verify_primary_key_binding(&sub.key, primary).is_ok()
                    });
                let own = expiry(sub.key.created_at(), Some(binding));
                let expires = match (primary_signer.expires, own) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                let revoked = primary_signer.revoked
                    || valid
                        .iter()
                        .any(|s| s.typ() == Some(SignatureType::SubkeyRevocation));
                Some(KeyState {
                    fingerprint: format!("{:X}", sub.key.fingerprint()),
                    revoked,
                    expires,
                    may_sign,
                })
            })
            .collect();
        Ok(TrustedKey {
            user_ids,
            primary: primary_signer,
            subkeys,
            key,
        })
    }
}

/// The address in a user id `Name <email>` (or a bare address).
pub fn email_of(user_id: &str) -> Option<&str> {
    match (user_id.rfind('<'), user_id.rfind('>')) {
        (Some(start), Some(end)) if start < end => Some(&user_id[start + 1..end]),
        _ if user_id.contains('@') && !user_id.contains(' ') => Some(user_id),
        _ => None,
    }
}

fn to_utc(t: Timestamp) -> DateTime<Utc> {
    Utc.timestamp_opt(i64::from(t.as_secs()), 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The newest of `sigs` (by creation time).
fn newest<'a>(sigs: impl Iterator<Item = &'a Signature>) -> Option<&'a Signature> {
    sigs.max_by_key(|s| s.created().map(|t| t.as_secs()).unwrap_or(0))
}

/// When a key created at `created` expires according to `sig`'s key
/// expiration subpacket (0 or absent = never).
fn expiry(created: Timestamp, sig: Option<&Signature>) -> Option<DateTime<Utc>> {
    let secs = sig?.key_expiration_time()?.as_secs();
    (secs != 0).then(|| to_utc(created) + chrono::Duration::seconds(i64::from(secs)))
}

fn issued_by(sig: &Signature, key: &impl KeyDetails) -> bool {
    let fpr = key.fingerprint();
    let id = key.legacy_key_id();
    sig.issuer_fingerprint()
        .iter()
        .any(|f| f.as_bytes() == fpr.as_bytes())
        || sig
            .issuer_key_id()
            .iter()
            .any(|k| k.as_ref() == id.as_ref())
}

pub fn verify(
    payload: &[u8],
    armored: &str,
    keyring: &Keyring,
    now: DateTime<Utc>,
) -> Result<Verified, Rejection> {
    let (detached, _) =
        DetachedSignature::from_string(armored.trim()).map_err(|e| Rejection::Bad {
            key: None,
            reason: format!("not a readable OpenPGP signature ({e})"),
        })?;
    let sig = &detached.signature;
    let issuer = sig
        .issuer_fingerprint()
        .first()
        .map(|f| format!("{f:X}"))
        .or_else(|| {
            sig.issuer_key_id()
                .first()
                .map(|id| hex::encode_upper(id.as_ref()))
        })
        .unwrap_or_else(|| "(no issuer)".to_string());

    for trusted in &keyring.keys {
        let key = &trusted.key;
        if issued_by(sig, &key.primary_key) {
            return check(
                sig,
                &key.primary_key,
                payload,
                &trusted.primary,
                &trusted.user_ids,
                now,
            );
        }
        for (sub, signer) in key.public_subkeys.iter().zip(&trusted.subkeys) {
            if !issued_by(sig, &sub.key) {
                continue;
            }
            let Some(signer) = signer else {
                return Err(Rejection::Bad {
                    key: Some(format!("{:X}", sub.key.fingerprint())),
                    reason: "the subkey has no valid binding to its primary key".into(),
                });
            };
            return check(sig, &sub.key, payload, signer, &trusted.user_ids, now);
        }
    }
    Err(Rejection::UnknownKey { key: issuer })
}

/// Verify `sig` with the issuing key, then the key's state.
fn check(
    sig: &Signature,
    key: &impl VerifyingKey,
    payload: &[u8],
    signer: &KeyState,
    user_ids: &[String],
    now: DateTime<Utc>,
) -> Result<Verified, Rejection> {
    let fpr = signer.fingerprint.as_str();
    let bad = |reason: String| Rejection::Bad {
        key: Some(fpr.to_string()),
        reason,
    };
    if !matches!(sig.typ(), Some(SignatureType::Binary | SignatureType::Text)) {
        return Err(bad(format!(
            "a {:?} signature is not a signature over data",
            sig.typ()
        )));
    }
    // The library's error text adds nothing a person can act on.
    sig.verify(key, payload)
        .map_err(|_| bad("the signature does not match the signed content".into()))?;
    let created = sig.created().map(to_utc);
    if created.is_some_and(|c| c < to_utc(key.created_at())) {
        return Err(bad("the signature predates its key".into()));
    }
    if signer.revoked {
        return Err(Rejection::Revoked {
            key: fpr.to_string(),
        });
    }
    if !signer.may_sign {
        return Err(bad("the subkey is not certified for signing".into()));
    }
    if let Some(at) = signer.expires
        && at <= now
    {
        return Err(Rejection::Expired {
            key: fpr.to_string(),
            at,
        });
    }
    if let (Some(created), Some(life)) = (created, sig.signature_expiration_time())
        && life.as_secs() != 0
    {
        let at = created + chrono::Duration::seconds(i64::from(life.as_secs()));
        if at <= now {
            return Err(bad(format!(
                "the signature expired at {}",
                at.format("%Y-%m-%dT%H:%M:%SZ")
            )));
        }
    }
    Ok(Verified {
        key: fpr.to_string(),
        signer: super::Signer::UserIds(user_ids.to_vec()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = include_str!("../../fixtures/signing/release-public-key.asc");

    #[test]
    fn an_exported_key_loads_with_its_user_id() {
        let ring = Keyring::parse(KEY).unwrap();
        assert_eq!(ring.keys.len(), 1);
        let key = &ring.keys[0];
        assert_eq!(key.user_ids, ["Release Manager <release@acme.dev>"]);
        assert_eq!(email_of(&key.user_ids[0]), Some("release@acme.dev"));
        assert!(!key.primary.revoked);
        assert_eq!(key.primary.expires, None);
        assert_eq!(key.primary.fingerprint.len(), 40);
    }

    #[test]
    fn two_blocks_give_two_keys() {
        let ring = Keyring::parse(&format!("{KEY}\n{KEY}")).unwrap();
        assert_eq!(ring.keys.len(), 2);
    }

    fn error_lines(text: &str) -> Vec<(usize, String)> {
        Keyring::parse(text)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.line, e.message))
            .collect()
    }

    #[test]
    fn malformed_keyrings_name_the_line() {
        assert_eq!(
            error_lines("hello\n")[0],
            (1, "text outside a public key block".to_string())
        );
        let no_end = KEY.replace(END, "");
        assert_eq!(
            error_lines(&no_end)[0],
            (1, "the key block has no END line".to_string())
        );
        let stray_end = format!("{KEY}{END}\n");
        let lines = error_lines(&stray_end);
        assert_eq!(lines[0].1, "an END line without a BEGIN line");
        assert_eq!(error_lines("")[0].1, "no public keys");
    }

    #[test]
    fn a_damaged_key_is_rejected_not_skipped() {
        // Change one character of the key material (line 3 is base64 data).
        let mut lines: Vec<String> = KEY.lines().map(str::to_string).collect();
        let data = &mut lines[3];
        let flipped = if data.starts_with('A') { "B" } else { "A" };
        data.replace_range(0..1, flipped);
        let damaged = lines.join("\n");
        assert!(Keyring::parse(&damaged).is_err());
    }
}
