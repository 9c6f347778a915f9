//! OpenPGP signatures (what `git -c gpg.format=openpgp` writes) against an
//! armored keyring of public keys, with rPGP. Decided the way gpg does for
//! `git verify-commit`: the issuing key must be in the keyring, the signature
//! must match the signed bytes, and the key must not be expired or revoked
//! *now* (gpg reports an expired key as `EXPKEYSIG` and git rejects it, even
//! for a signature made while the key was valid).

use chrono::{DateTime, TimeZone, Utc};
use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::packet::{Signature, SignatureType};
use pgp::types::{KeyDetails, Timestamp, VerifyingKey};

use super::{KeyListError, Rejection, Signer, Verified, lines_with_ranges};

const BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
const END: &str = "-----END PGP PUBLIC KEY BLOCK-----";

/// The trusted OpenPGP public keys.
#[derive(Debug, Clone)]
pub struct Keyring {
    pub keys: Vec<SignedPublicKey>,
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

fn parse_block(armored: &str) -> Result<Vec<SignedPublicKey>, String> {
    let (iter, _) = SignedPublicKey::from_string_many(armored)
        .map_err(|e| format!("not an OpenPGP public key block ({e})"))?;
    let mut keys = Vec::new();
    for key in iter {
        let key = key.map_err(|e| format!("unreadable public key ({e})"))?;
        // A key whose self-signatures do not verify is not the key it claims
        // to be; gpg would refuse to import it.
        key.verify_bindings().map_err(|e| {
            format!(
                "key {:X} has invalid self-signatures ({e})",
                key.primary_key.fingerprint()
            )
        })?;
        keys.push(key);
    }
    if keys.is_empty() {
        return Err("the block holds no public key".into());
    }
    Ok(keys)
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

    for key in &keyring.keys {
        let primary = &key.primary_key;
        let user_ids: Vec<String> = key
            .details
            .users
            .iter()
            .filter_map(|u| u.id.as_str().map(str::to_string))
            .collect();
        let primary_self_sig = newest(
            key.details
                .users
                .iter()
                .flat_map(|u| u.signatures.iter())
                .chain(key.details.direct_signatures.iter()),
        );
        let primary_expiry = expiry(primary.created_at(), primary_self_sig);
        let primary_fpr = format!("{:X}", primary.fingerprint());

        if issued_by(sig, primary) {
            let state = KeyState {
                revoked: !key.details.revocation_signatures.is_empty(),
                expires: primary_expiry,
                may_sign: true,
            };
            return check(sig, primary, payload, &primary_fpr, user_ids, now, state);
        }
        for subkey in &key.public_subkeys {
            if !issued_by(sig, &subkey.key) {
                continue;
            }
            let binding = newest(
                subkey
                    .signatures
                    .iter()
                    .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding)),
            );
            let revoked = !key.details.revocation_signatures.is_empty()
                || subkey
                    .signatures
                    .iter()
                    .any(|s| s.typ() == Some(SignatureType::SubkeyRevocation));
            let sub_expiry = expiry(subkey.key.created_at(), binding);
            let expires = match (primary_expiry, sub_expiry) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let state = KeyState {
                revoked,
                expires,
                may_sign: binding.is_some_and(|b| b.key_flags().sign()),
            };
            let fpr = format!("{:X}", subkey.key.fingerprint());
            return check(sig, &subkey.key, payload, &fpr, user_ids, now, state);
        }
    }
    Err(Rejection::UnknownKey { key: issuer })
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

/// What the keyring says about the issuing key.
struct KeyState {
    revoked: bool,
    expires: Option<DateTime<Utc>>,
    may_sign: bool,
}

/// Verify `sig` with the issuing key, then the key's state.
fn check(
    sig: &Signature,
    key: &impl VerifyingKey,
    payload: &[u8],
    fpr: &str,
    user_ids: Vec<String>,
    now: DateTime<Utc>,
    state: KeyState,
) -> Result<Verified, Rejection> {
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
    let KeyState {
        revoked,
        expires,
        may_sign,
    } = state;
    if revoked {
        return Err(Rejection::Revoked {
            key: fpr.to_string(),
        });
    }
    if !may_sign {
        return Err(bad("the subkey is not certified for signing".into()));
    }
    if let Some(at) = expires
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
        signer: Signer::UserIds(user_ids),
    })
}
