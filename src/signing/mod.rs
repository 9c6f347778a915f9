//! Native verification of commit and tag signatures: SSH signatures (SSHSIG)
//! against a git `allowed_signers` list, OpenPGP signatures against an armored
//! keyring. No shelling out to `ssh-keygen` or `gpg`: the gate must decide the
//! same way on any runner, and its verdict is tested against
//! `git verify-commit` on real fixtures (`tests/signing.rs`).
//!
//! The keys are given inline in the policy (`allowed_signers = """…"""`,
//! `keyring = """…"""`), never as a path: the policy is read from the base of a
//! change, while a path would be read from the checked-out change itself —
//! letting the change under review add its own key. Inline keys travel with
//! the policy and are trusted exactly as much as it is.

pub mod allowed_signers;
pub mod openpgp;
pub mod ssh;

use std::fmt;
use std::ops::Range;

use chrono::{DateTime, FixedOffset, Utc};
use toml::Spanned;

use crate::facts::Signature;
use crate::policy::{DiagnosticKind, PolicyDiagnostic};

pub use allowed_signers::AllowedSigners;
pub use openpgp::Keyring;

/// The trusted keys of a rule: SSH allowed signers and/or an OpenPGP keyring.
#[derive(Debug, Default)]
pub struct TrustedKeys {
    pub ssh: Option<AllowedSigners>,
    pub openpgp: Option<Keyring>,
}

/// Who made a valid signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// `SHA256:…` (SSH) or the OpenPGP fingerprint in upper-case hex.
    pub key: String,
    /// Who the key belongs to: the allowed-signers principals (patterns) or
    /// the OpenPGP user ids.
    pub signer: Signer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    /// Principal patterns of the matching allowed-signers lines (`*@acme.dev`).
    Principals(Vec<String>),
    /// User ids of the OpenPGP key (`Alice <alice@acme.dev>`).
    UserIds(Vec<String>),
}

impl Verified {
    /// Whether the signer's identity covers `email` (case-insensitive): an
    /// allowed-signers principal pattern matching it, as `ssh-keygen -Y verify
    /// -I email` decides, or an OpenPGP user id with that address.
    pub fn vouches_for(&self, email: &str) -> bool {
        let email = email.to_lowercase();
        match &self.signer {
            Signer::Principals(patterns) => patterns
                .iter()
                .any(|p| allowed_signers::match_pattern_list(&email, &p.to_lowercase())),
            Signer::UserIds(ids) => ids
                .iter()
                .any(|id| openpgp::email_of(id).is_some_and(|e| e.eq_ignore_ascii_case(&email))),
        }
    }

    /// `alice@acme.dev (SHA256:…)` for messages.
    pub fn describe(&self) -> String {
        let who = match &self.signer {
            Signer::Principals(p) => p.join(", "),
            Signer::UserIds(u) => u.join(", "),
        };
        format!("{who} ({})", self.key)
    }
}

/// Why a signature does not count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The signature does not match the signed bytes (altered payload or
    /// signature), or cannot be parsed.
    Bad {
        key: Option<String>,
        reason: String,
    },
    /// The signing key is not among the trusted keys.
    UnknownKey {
        key: String,
    },
    /// The key was not valid at the relevant time.
    Expired {
        key: String,
        at: DateTime<Utc>,
    },
    NotYetValid {
        key: String,
        from: DateTime<Utc>,
    },
    Revoked {
        key: String,
    },
    /// An SSH signature made for another purpose than git.
    WrongNamespace {
        key: String,
        namespace: String,
    },
    /// An allowed-signers key restricted to other namespaces than `git`.
    NotAllowedForGit {
        key: String,
        namespaces: String,
    },
    /// The signature format cannot be verified by gatehouse (X.509/gitsign,
    /// security-key SSH signatures, …): never treated as valid.
    Unsupported {
        reason: String,
    },
    /// The rule has no keys for this signature's format.
    NoKeys {
        format: String,
    },
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Bad {
                key: Some(k),
                reason,
            } => write!(f, "bad signature by {k}: {reason}"),
            Rejection::Bad { key: None, reason } => write!(f, "bad signature: {reason}"),
            Rejection::UnknownKey { key } => write!(f, "signed with unknown key {key}"),
            Rejection::Expired { key, at } => {
                write!(
                    f,
                    "key {key} expired at {}",
                    at.format("%Y-%m-%dT%H:%M:%SZ")
                )
            }
            Rejection::NotYetValid { key, from } => write!(
                f,
                "key {key} is not valid before {}",
                from.format("%Y-%m-%dT%H:%M:%SZ")
            ),
            Rejection::Revoked { key } => write!(f, "key {key} is revoked"),
            Rejection::WrongNamespace { key, namespace } => {
                write!(f, "key {key} signed for namespace `{namespace}`, not `git`")
            }
            Rejection::NotAllowedForGit { key, namespaces } => write!(
                f,
                "key {key} is only allowed for namespaces `{namespaces}`, not `git`"
            ),
            Rejection::Unsupported { reason } => write!(f, "unsupported signature: {reason}"),
            Rejection::NoKeys { format } => {
                write!(f, "{format} signature, but the rule has no {format} keys")
            }
        }
    }
}

impl TrustedKeys {
    /// Validate the inline key lists of a rule's config.
    pub fn from_config(
        allowed_signers: Option<&Spanned<String>>,
        keyring: Option<&Spanned<String>>,
    ) -> Result<TrustedKeys, Vec<PolicyDiagnostic>> {
        let mut errors = Vec::new();
        let ssh = allowed_signers.and_then(|text| {
            AllowedSigners::parse(text.get_ref())
                .map_err(|e| {
                    errors.extend(e.into_iter().map(|e| e.diagnostic("allowed_signers", text)))
                })
                .ok()
        });
        let openpgp = keyring.and_then(|text| {
            Keyring::parse(text.get_ref())
                .map_err(|e| errors.extend(e.into_iter().map(|e| e.diagnostic("keyring", text))))
                .ok()
        });
        if errors.is_empty() {
            Ok(TrustedKeys { ssh, openpgp })
        } else {
            Err(errors)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ssh.is_none() && self.openpgp.is_none()
    }

    /// Verify `signature`. `signed_at` is the commit's committer time (or the
    /// tag's tagger time), against which allowed-signers validity windows are
    /// checked the way git does (`-Overify-time`); OpenPGP key expiry and
    /// revocation are checked at `now`, the way gpg does.
    pub fn verify(
        &self,
        signature: &Signature,
        signed_at: DateTime<FixedOffset>,
        now: DateTime<Utc>,
    ) -> Result<Verified, Rejection> {
        match signature.format.as_str() {
            "ssh" => match &self.ssh {
                Some(signers) => ssh::verify(
                    signature.payload.as_bytes(),
                    &signature.signature,
                    signers,
                    signed_at.with_timezone(&Utc),
                ),
                None => Err(Rejection::NoKeys {
                    format: "ssh".into(),
                }),
            },
            "openpgp" => match &self.openpgp {
                Some(keyring) => openpgp::verify(
                    signature.payload.as_bytes(),
                    &signature.signature,
                    keyring,
                    now,
                ),
                None => Err(Rejection::NoKeys {
                    format: "openpgp".into(),
                }),
            },
            "x509" => Err(Rejection::Unsupported {
                reason: "X.509 (gpgsm/gitsign) signatures cannot be verified by gatehouse".into(),
            }),
            other => Err(Rejection::Unsupported {
                reason: format!("unknown signature format `{other}`"),
            }),
        }
    }
}

/// Check that `signature.payload` really is the content of commit `sha`:
/// the commit object is the payload with the `gpgsig` header put back where
/// git writes it (after the other headers), and its SHA-1 must be `sha`.
/// Without this, a signature over some other commit's bytes would vouch for
/// this one.
pub fn check_commit_payload(sha: &str, signature: &Signature) -> Result<(), Rejection> {
    if sha.len() == 64 {
        return Err(Rejection::Unsupported {
            reason: "signatures in SHA-256 repositories are not verified yet".into(),
        });
    }
    let payload = &signature.payload;
    let Some(end_of_headers) = payload.find("\n\n") else {
        return Err(Rejection::Bad {
            key: None,
            reason: "the signed payload is not a commit object".into(),
        });
    };
    let header = format!(
        "gpgsig {}\n",
        signature
            .signature
            .trim_end_matches('\n')
            .replace('\n', "\n ")
    );
    let body = [
        &payload[..=end_of_headers],
        header.as_str(),
        &payload[end_of_headers + 1..],
    ]
    .concat();
    let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
    hasher.update(format!("commit {}\0", body.len()).as_bytes());
    hasher.update(body.as_bytes());
    match hasher.try_finalize() {
        Ok(id) if id.to_string().eq_ignore_ascii_case(sha) => Ok(()),
        Ok(_) => Err(Rejection::Bad {
            key: None,
            reason: "the signed payload is not this commit's content".into(),
        }),
        Err(_) => Err(Rejection::Bad {
            key: None,
            reason: "the commit object is a SHA-1 collision attack".into(),
        }),
    }
}

/// A problem on one line of an inline key list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyListError {
    /// 1-based line within the key text.
    pub line: usize,
    /// Byte range of that line within the key text.
    pub range: Range<usize>,
    pub message: String,
    pub help: String,
}

impl KeyListError {
    /// A policy diagnostic pointing at the offending line inside the TOML string.
    fn diagnostic(self, key: &str, value: &Spanned<String>) -> PolicyDiagnostic {
        PolicyDiagnostic::new(
            DiagnosticKind::BadValue,
            format!("`{key}` line {}: {}", self.line, self.message),
        )
        .at(
            Some(span_within(value, self.range)),
            format!("line {} of `{key}`", self.line),
        )
        .help(self.help)
    }
}

/// The file span of `range` (bytes of the string's value) inside the TOML
/// string `value`. Exact for literal strings and for basic strings without
/// escapes; otherwise the whole string is pointed at.
fn span_within(value: &Spanned<String>, range: Range<usize>) -> Range<usize> {
    let span = value.span();
    let extra = span.len().checked_sub(value.get_ref().len());
    // Opening delimiter plus, for multi-line strings, the newline TOML trims.
    let prefix = match extra {
        Some(2) => 1,
        Some(6) => 3,
        Some(7) => 4,
        Some(8) => 5,
        _ => return span,
    };
    let start = span.start + prefix + range.start;
    let end = (span.start + prefix + range.end).min(span.end);
    start..end.max(start)
}

/// Split text into (1-based line number, byte range, line) triples.
pub(crate) fn lines_with_ranges(text: &str) -> impl Iterator<Item = (usize, Range<usize>, &str)> {
    let mut offset = 0;
    text.split_inclusive('\n').enumerate().map(move |(i, raw)| {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        (i + 1, start..start + line.len(), line)
    })
}

#[cfg(test)]
mod tests {
    /// The line (1-based) in the policy file each diagnostic points at.
    fn diagnostic_lines(policy: &str) -> Vec<(usize, usize)> {
        let err = crate::policy::parse("p.toml", policy).expect_err("invalid keys");
        err.diagnostics()
            .iter()
            .map(|d| d.line_col(policy).expect("a span"))
            .collect()
    }

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILaDM5eOQc0d/oHqvWkJAAqdGOE24NZRzw3dJrcOtBwz";

    #[test]
    fn diagnostics_point_at_the_bad_line_in_every_string_form() {
        for (open, close) in [
            ("'''\n", "'''"),
            ("\"\"\"\n", "\"\"\""),
            ("'''", "'''"),
            ("\"\"\"\r\n", "\"\"\""),
        ] {
            let policy = format!(
                "version = 1\n[[rule]]\nid = \"s\"\nkind = \"signed-commits\"\nallowed_signers = {open}a@acme.dev {KEY}\nb@acme.dev ssh-ed25519 AAAA\n{close}\n"
            );
            let lines = diagnostic_lines(&policy);
            let expected_line = if open.ends_with('\n') { 7 } else { 6 };
            assert_eq!(lines, [(expected_line, 1)], "{open:?}");
        }
    }

    #[test]
    fn a_single_line_string_is_pointed_at_inside_its_quotes() {
        let policy = "version = 1\n[[rule]]\nid = \"s\"\nkind = \"signed-commits\"\nallowed_signers = \"b@acme.dev ssh-ed25519 AAAA\"\n";
        assert_eq!(diagnostic_lines(policy), [(5, 20)]);
    }
}
