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
