//! Record signatures: SSHSIG (the format of `ssh-keygen -Y sign`) with an
//! Ed25519 key in OpenSSH format, namespace [`NAMESPACE`].
//!
//! The key comes from `GATEHOUSE_AUDIT_KEY` (the key text itself, as CI
//! secrets are usually passed) or `--audit-key FILE`. Error messages name
//! where the key came from, never its content.

use std::path::Path;

use ssh_key::{Algorithm, HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};

use crate::env_vars::gatehouse::GATEHOUSE_AUDIT_KEY;

/// The SSHSIG namespace of audit records (`ssh-keygen -Y verify -n gatehouse-audit`).
pub const NAMESPACE: &str = "gatehouse-audit";

/// A loaded signing key.
pub struct Signer {
    key: PrivateKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key material.
        write!(f, "Signer({})", self.fingerprint())
    }
}

impl Signer {
    /// The key from `--audit-key FILE`, else `GATEHOUSE_AUDIT_KEY`, else none.
    pub fn load(file: Option<&Path>) -> Result<Option<Signer>, String> {
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the audit key {}: {e}", path.display()))?;
            return Signer::from_openssh(&text, &format!("the audit key {}", path.display()))
                .map(Some);
        }
        match std::env::var(GATEHOUSE_AUDIT_KEY) {
            Ok(text) if !text.trim().is_empty() => {
                Signer::from_openssh(&text, &format!("${GATEHOUSE_AUDIT_KEY}")).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Parse an OpenSSH private key; `origin` names it in errors.
    pub fn from_openssh(text: &str, origin: &str) -> Result<Signer, String> {
        let key = PrivateKey::from_openssh(text.trim().as_bytes()).map_err(|_| {
            format!(
                "{origin} is not an OpenSSH private key (expected the text of a file made by \
                 `gatehouse audit keygen` or `ssh-keygen -t ed25519`)"
            )
        })?;
        if key.is_encrypted() {
            return Err(format!(
                "{origin} is passphrase-protected; the gate cannot prompt — use an unencrypted key kept in a CI secret"
            ));
        }
        if key.algorithm() != Algorithm::Ed25519 {
            return Err(format!(
                "{origin} is a {} key; audit records are signed with Ed25519 keys only",
                key.algorithm()
            ));
        }
        Ok(Signer { key })
    }

    /// A fresh key pair.
    pub fn generate(comment: &str) -> Result<Signer, String> {
        let mut key = PrivateKey::random(&mut rand::rngs::OsRng, Algorithm::Ed25519)
            .map_err(|e| format!("cannot generate a key: {e}"))?;
        key.set_comment(comment);
        Ok(Signer { key })
    }

    /// Armored SSHSIG over `msg`.
    pub fn sign(&self, msg: &[u8]) -> Result<String, String> {
        let sig = self
            .key
            .sign(NAMESPACE, HashAlg::Sha512, msg)
            .map_err(|e| format!("cannot sign the audit record: {e}"))?;
        sig.to_pem(LineEnding::LF)
            .map_err(|e| format!("cannot encode the signature: {e}"))
    }

    /// A raw Ed25519 signature (64 bytes) over `msg`, for DSSE envelopes.
    pub fn sign_raw(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        use signature::Signer as _;
        let sig: ssh_key::Signature = self
            .key
            .try_sign(msg)
            .map_err(|e| format!("cannot sign: {e}"))?;
        Ok(sig.as_bytes().to_vec())
    }

    pub fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }

    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        self.key.fingerprint(HashAlg::Sha256).to_string()
    }

    /// The private key in OpenSSH format.
    pub fn to_openssh(&self) -> Result<String, String> {
        self.key
            .to_openssh(LineEnding::LF)
            .map(|s| s.to_string())
            .map_err(|e| format!("cannot encode the key: {e}"))
    }
}

/// What checking one record's signature found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigCheck {
    /// The record has no `sig`.
    Unsigned,
    /// Valid; `trusted` when made by one of the `--key`s.
    Valid { fingerprint: String, trusted: bool },
    /// The signature is malformed or does not match the bytes.
    Invalid(String),
}

/// Check an armored SSHSIG over `msg` against the embedded key, then against `trusted`.
pub fn check(msg: &[u8], armor: &str, trusted: &[PublicKey]) -> SigCheck {
    let sig = match SshSig::from_pem(armor.as_bytes()) {
        Ok(s) => s,
        Err(e) => return SigCheck::Invalid(format!("the signature is not a valid SSHSIG: {e}")),
    };
    if sig.namespace() != NAMESPACE {
        return SigCheck::Invalid(format!(
            "the signature is for namespace `{}`, not `{NAMESPACE}`",
            sig.namespace()
        ));
    }
    let signer = PublicKey::new(sig.public_key().clone(), "");
    if signer.verify(NAMESPACE, msg, &sig).is_err() {
        return SigCheck::Invalid("the signature does not match the record's bytes".to_string());
    }
    let trusted = trusted.iter().any(|k| k.key_data() == signer.key_data());
    SigCheck::Valid {
        fingerprint: signer.fingerprint(HashAlg::Sha256).to_string(),
        trusted,
    }
}

/// Read a public key (`--key`): an OpenSSH `.pub` line, or an `allowed_signers` line.
pub fn read_public_key(path: &Path) -> Result<PublicKey, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the public key {}: {e}", path.display()))?;
    parse_public_key(&text).ok_or_else(|| format!("{} holds no OpenSSH public key", path.display()))
}

fn parse_public_key(text: &str) -> Option<PublicKey> {
    text.lines().map(str::trim).find_map(|line| {
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        PublicKey::from_openssh(line).ok().or_else(|| {
            // allowed_signers: `principal[,…] [options] keytype base64 [comment]`
            let at = line.find("ssh-")?;
            PublicKey::from_openssh(&line[at..]).ok()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_check_round_trip() {
        let s = Signer::generate("t").unwrap();
        let armor = s.sign(b"hello").unwrap();
        let key = s.public_key().clone();
        assert!(matches!(
            check(b"hello", &armor, std::slice::from_ref(&key)),
            SigCheck::Valid { trusted: true, .. }
        ));
        assert!(matches!(
            check(b"hellO", &armor, &[key]),
            SigCheck::Invalid(_)
        ));
        assert!(matches!(
            check(b"hello", &armor, &[]),
            SigCheck::Valid { trusted: false, .. }
        ));
    }

    #[test]
    fn bad_key_text_never_echoes_the_text() {
        let err = Signer::from_openssh("SECRET-MATERIAL", "$GATEHOUSE_AUDIT_KEY").unwrap_err();
        assert!(!err.contains("SECRET"), "{err}");
    }

    #[test]
    fn allowed_signers_lines_are_read() {
        let s = Signer::generate("t").unwrap();
        let line = format!("gatehouse {}", s.public_key().to_openssh().unwrap());
        assert_eq!(parse_public_key(&line).as_ref(), Some(s.public_key()));
    }
}
