//! SSH signatures (the SSHSIG format `git -c gpg.format=ssh` writes),
//! checked the way `git verify-commit` has `ssh-keygen -Y find-principals` and
//! `ssh-keygen -Y verify -n git` check them: the key must be listed, valid at
//! the commit time, allowed for the `git` namespace, and the signature must
//! match the exact signed bytes.

use chrono::{DateTime, Utc};
use ssh_key::{Algorithm, HashAlg, PublicKey, SshSig};

use super::{AllowedSigners, Rejection, Signer, Verified};

/// The namespace git signs commits and tags in.
pub const GIT_NAMESPACE: &str = "git";

pub fn verify(
    payload: &[u8],
    armored: &str,
    signers: &AllowedSigners,
    signed_at: DateTime<Utc>,
) -> Result<Verified, Rejection> {
    let sig = SshSig::from_pem(armored.trim()).map_err(|e| Rejection::Bad {
        key: None,
        reason: format!("not a readable SSH signature ({e})"),
    })?;
    if matches!(
        sig.public_key().algorithm(),
        Algorithm::SkEd25519 | Algorithm::SkEcdsaSha2NistP256
    ) {
        return Err(Rejection::Unsupported {
            reason: "security-key (sk-…) SSH signatures are not verified by gatehouse".into(),
        });
    }
    let signing_key = PublicKey::from(sig.public_key().clone());
    let key = signing_key.fingerprint(HashAlg::Sha256).to_string();

    let listed: Vec<_> = signers
        .entries
        .iter()
        .filter(|e| e.key.key_data() == sig.public_key())
        .collect();
    if listed.is_empty() {
        return Err(Rejection::UnknownKey { key });
    }
    if sig.namespace() != GIT_NAMESPACE {
        return Err(Rejection::WrongNamespace {
            key,
            namespace: sig.namespace().to_string(),
        });
    }
    signing_key
        .verify(GIT_NAMESPACE, payload, &sig)
        // The library's error text adds nothing a person can act on.
        .map_err(|_| Rejection::Bad {
            key: Some(key.clone()),
            reason: "the signature does not match the signed content".into(),
        })?;

    // A key may be listed on several lines; each line's restrictions apply to
    // it alone, so the signature counts when any one line admits it.
    let in_window: Vec<_> = listed
        .iter()
        .filter(|e| e.valid_after.is_none_or(|t| signed_at >= t))
        .filter(|e| e.valid_before.is_none_or(|t| signed_at <= t))
        .collect();
    if in_window.is_empty() {
        let e = listed[0];
        return Err(match (e.valid_after, e.valid_before) {
            (Some(from), _) if signed_at < from => Rejection::NotYetValid { key, from },
            (_, Some(at)) => Rejection::Expired { key, at },
            _ => Rejection::Bad {
                key: Some(key),
                reason: "no allowed-signers line is valid at the commit time".into(),
            },
        });
    }
    let admitted: Vec<String> = in_window
        .iter()
        .filter(|e| e.allows_namespace(GIT_NAMESPACE))
        .map(|e| e.principals.clone())
        .collect();
    if admitted.is_empty() {
        let namespaces = in_window
            .iter()
            .filter_map(|e| e.namespaces.clone())
            .collect::<Vec<_>>()
            .join(",");
        return Err(Rejection::NotAllowedForGit { key, namespaces });
    }
    Ok(Verified {
        key,
        signer: Signer::Principals(admitted),
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use ssh_key::{LineEnding, PrivateKey, rand_core::OsRng};

    use super::*;

    fn key() -> PrivateKey {
        PrivateKey::random(&mut OsRng, Algorithm::Ed25519).expect("key")
    }

    fn sign(key: &PrivateKey, namespace: &str, msg: &[u8]) -> String {
        key.sign(namespace, HashAlg::Sha512, msg)
            .expect("sign")
            .to_pem(LineEnding::LF)
            .expect("pem")
    }

    fn signers(lines: &str) -> AllowedSigners {
        AllowedSigners::parse(lines).expect("valid list")
    }

    fn line(principals: &str, options: &str, key: &PrivateKey) -> String {
        format!(
            "{principals} {options} {}\n",
            key.public_key().to_openssh().expect("openssh")
        )
    }

    fn at(y: i32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, 6, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn a_listed_key_verifies_and_names_its_principals() {
        let k = key();
        let list = signers(&line("*@acme.dev", "", &k));
        let v = verify(b"payload", &sign(&k, "git", b"payload"), &list, at(2026)).unwrap();
        assert!(v.vouches_for("Alice@acme.dev"));
        assert!(!v.vouches_for("alice@evil.example"));
        assert!(v.key.starts_with("SHA256:"));
    }

    #[test]
    fn altered_payload_unknown_key_and_namespace_are_rejected() {
        let (k, other) = (key(), key());
        let list = signers(&line("alice@acme.dev", "", &k));
        let sig = sign(&k, "git", b"payload");
        assert!(matches!(
            verify(b"payload!", &sig, &list, at(2026)),
            Err(Rejection::Bad { .. })
        ));
        assert!(matches!(
            verify(
                b"payload",
                &sign(&other, "git", b"payload"),
                &list,
                at(2026)
            ),
            Err(Rejection::UnknownKey { .. })
        ));
        assert!(matches!(
            verify(b"payload", &sign(&k, "file", b"payload"), &list, at(2026)),
            Err(Rejection::WrongNamespace { .. })
        ));
        let restricted = signers(&line("alice@acme.dev", "namespaces=\"file\"", &k));
        assert!(matches!(
            verify(b"payload", &sig, &restricted, at(2026)),
            Err(Rejection::NotAllowedForGit { .. })
        ));
        assert!(matches!(
            verify(
                b"payload",
                "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n",
                &list,
                at(2026)
            ),
            Err(Rejection::Bad { key: None, .. })
        ));
    }

    #[test]
    fn validity_windows_are_checked_at_the_signing_time() {
        let k = key();
        let list = signers(&line(
            "alice@acme.dev",
            "valid-after=\"20260101Z\",valid-before=\"20270101Z\"",
            &k,
        ));
        let sig = sign(&k, "git", b"p");
        assert!(verify(b"p", &sig, &list, at(2026)).is_ok());
        assert!(matches!(
            verify(b"p", &sig, &list, at(2025)),
            Err(Rejection::NotYetValid { .. })
        ));
        assert!(matches!(
            verify(b"p", &sig, &list, at(2027)),
            Err(Rejection::Expired { .. })
        ));
        // Another line for the same key, valid later, still admits it.
        let mut both = line("alice@acme.dev", "valid-before=\"20260101Z\"", &k);
        both.push_str(&line("alice@acme.dev", "valid-after=\"20260101Z\"", &k));
        assert!(verify(b"p", &sig, &signers(&both), at(2026)).is_ok());
    }
}
