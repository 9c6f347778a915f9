use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use super::{Evaluation, Rule, RuleConfig, RuleInput};
use crate::decision::{Finding, Outcome};
use crate::facts::{Commit, Facts};
use crate::policy::{DiagnosticKind, PolicyDiagnostic};
use crate::signing::{Rejection, TrustedKeys};

pub const EXAMPLE: &str = r#"[[rule]]
id = "signed-commits"
kind = "signed-commits"
description = "Every commit on main is signed by a known key"
when = { branches = ["main"] }
require_committer_match = true
allowed_signers = """
alice@acme.dev ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILaDM5eOQc0d/oHqvWkJAAqdGOE24NZRzw3dJrcOtBwz alice
*@acme.dev valid-before="20271231Z" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN5CVAUyP+aoM8w8RpYTZdMaz5rNC1qLhOI484Kzk1nF team
"""
"#;

/// Every covered commit carries a valid cryptographic signature by a trusted key.
///
/// What it does: verifies each commit's signature natively (no `gpg` or
/// `ssh-keygen` needed on the runner) and fails for every commit that is
/// unsigned, whose signature does not match its content, or that was signed by
/// a key not in the policy. SSH signatures are checked against
/// `allowed_signers` (git's `gpg.ssh.allowedSignersFile` format: principals
/// with wildcards, `namespaces=`, `valid-after=`/`valid-before=` checked
/// against the commit time, namespace `git`); OpenPGP signatures against
/// `keyring` (armored public keys, as `gpg --armor --export` prints them; an
/// expired or revoked key is rejected, as gpg does). The verdict is the one
/// `git verify-commit` reaches with the same keys. X.509 (gpgsm, gitsign)
/// signatures cannot be verified and make the rule report an error, so the
/// gate blocks: they never count as valid. A signature counts only for the
/// commit it was made for: the signed bytes, with the signature put back as
/// git stores it, must hash to the commit's id (SHA-1; commits of SHA-256
/// repositories are reported as unsupported for now).
///
/// Why: anyone can write any name into a commit's author line. A signature by
/// a key the project trusts is the only evidence of who made the commit.
///
/// The keys are written into the policy itself (TOML multi-line strings),
/// not referenced by path: the policy is read from the base of a change, so
/// the change under review cannot add its own key. With
/// `require_committer_match = true` the signer must also be the committer: an
/// allowed-signers principal matching the committer's email, or an OpenPGP
/// user id with that address.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedCommitsConfig {
    /// Trusted SSH signers, in git's allowed_signers format, one per line.
    #[schemars(with = "Option<String>")]
    allowed_signers: Option<Spanned<String>>,
    /// Trusted OpenPGP public keys, ASCII-armored.
    #[schemars(with = "Option<String>")]
    keyring: Option<Spanned<String>>,
    /// Which commits must be signed: `all` covered commits (default) or only
    /// the `head` commit.
    #[serde(default)]
    commits: WhichCommits,
    /// Do not check merge commits. Default false.
    #[serde(default)]
    skip_merges: bool,
    /// The signer's identity must match the committer's email. Default false.
    #[serde(default)]
    require_committer_match: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WhichCommits {
    #[default]
    All,
    Head,
}

#[derive(Debug)]
struct SignedCommitsRule {
    keys: TrustedKeys,
    commits: WhichCommits,
    skip_merges: bool,
    require_committer_match: bool,
}

/// The diagnostic for a signature rule without any key.
/// `what` names the rule ("a `signed-commits` rule").
pub(crate) fn no_keys_diagnostic(what: &str) -> PolicyDiagnostic {
    PolicyDiagnostic::new(
        DiagnosticKind::MissingKey,
        format!("{what} needs `allowed_signers` (SSH) or `keyring` (OpenPGP)"),
    )
    .help("paste the keys into the policy, for example `allowed_signers = \"\"\"alice@acme.dev ssh-ed25519 AAAA…\"\"\"`")
}

impl RuleConfig for SignedCommitsConfig {
    fn validate(self) -> Result<Box<dyn Rule>, Vec<PolicyDiagnostic>> {
        if self.allowed_signers.is_none() && self.keyring.is_none() {
            return Err(vec![no_keys_diagnostic("a `signed-commits` rule")]);
        }
        let keys = TrustedKeys::from_config(self.allowed_signers.as_ref(), self.keyring.as_ref())?;
        Ok(Box::new(SignedCommitsRule {
            keys,
            commits: self.commits,
            skip_merges: self.skip_merges,
            require_committer_match: self.require_committer_match,
        }))
    }
}

/// How to re-sign every covered commit.
fn sign_hint(facts: &Facts) -> String {
    format!(
        "sign the commits with a trusted key and push again: `git rebase --exec 'git commit --amend --no-edit -S' {}` (set `user.signingkey`; for SSH keys also `gpg.format=ssh`)",
        super::dco::rebase_upstream(facts)
    )
}

impl Rule for SignedCommitsRule {
    fn evaluate(&self, input: &RuleInput<'_>) -> Evaluation {
        let facts = input.facts;
        for path in ["commits", "commits.signature"] {
            if let Err(reason) = facts.require(path) {
                return Evaluation::error(Finding::new(reason).remediation(
                    "gather facts with a source that reads commit signatures (git, GitHub or GitLab)",
                ));
            }
        }
        let covered: Vec<&Commit> = match self.commits {
            WhichCommits::All => facts
                .commits
                .iter()
                .filter(|c| !(self.skip_merges && c.is_merge()))
                .collect(),
            WhichCommits::Head => {
                let head = facts
                    .change
                    .as_ref()
                    .map_or(facts.git_ref.sha.as_str(), |c| c.head.sha.as_str());
                match facts.commits.iter().find(|c| c.sha == head) {
                    Some(c) if self.skip_merges && c.is_merge() => Vec::new(),
                    Some(c) => vec![c],
                    None => {
                        return Evaluation::error(
                            Finding::new(format!(
                                "the head commit {} is not among the gathered commits, so its signature cannot be checked",
                                crate::facts::short_sha(head)
                            ))
                            .remediation("gather facts that include the head commit"),
                        );
                    }
                }
            }
        };

        let mut findings = Vec::new();
        let mut unsupported = Vec::new();
        let mut evidence = Vec::new();
        for commit in &covered {
            let line = format!("{} {}", commit.short_sha(), commit.subject());
            let Some(signature) = &commit.signature else {
                findings.push(
                    Finding::new(format!("{line}: unsigned"))
                        .evidence(format!(
                            "committer: {} <{}>",
                            commit.committer.name, commit.committer.email
                        ))
                        .remediation(sign_hint(facts)),
                );
                continue;
            };
            let verify = || {
                self.keys
                    .verify(signature, commit.committer.time, input.now)
            };
            let verdict = match signature.format.as_str() {
                // Formats gatehouse verifies: first make sure the signed bytes
                // are this commit's. Others are reported as unsupported.
                "ssh" | "openpgp" => crate::signing::check_commit_payload(&commit.sha, signature)
                    .and_then(|()| verify()),
                _ => verify(),
            };
            match verdict {
                Ok(verified) => {
                    if self.require_committer_match
                        && !verified.vouches_for(&commit.committer.email)
                    {
                        findings.push(
                            Finding::new(format!(
                                "{line}: signed by {}, which is not the committer <{}>",
                                verified.describe(),
                                commit.committer.email
                            ))
                            .remediation("the committer must sign with their own key, listed for their email"),
                        );
                    } else {
                        evidence.push(format!("{line}: good signature by {}", verified.describe()));
                    }
                }
                Err(rejection @ Rejection::Unsupported { .. }) => {
                    unsupported.push(Finding::new(format!("{line}: {rejection}")).remediation(
                        "sign commits with an SSH or OpenPGP key listed in the policy",
                    ))
                }
                Err(rejection) => findings.push(
                    Finding::new(format!("{line}: {rejection}"))
                        .remediation(remedy(&rejection, facts)),
                ),
            }
        }
        let summary = format!(
            "{} commit{} checked",
            covered.len(),
            if covered.len() == 1 { "" } else { "s" }
        );
        if !unsupported.is_empty() {
            unsupported.extend(findings);
            return Evaluation {
                outcome: Outcome::Error,
                summary: Some(summary),
                findings: unsupported,
                evidence: Vec::new(),
            };
        }
        Evaluation::from_findings(summary, findings).with_evidence(evidence)
    }
}

fn remedy(rejection: &Rejection, facts: &Facts) -> String {
    let hint = match rejection {
        Rejection::UnknownKey { .. } => {
            "sign with a key listed in the policy, or add the key to `allowed_signers`/`keyring` in the base branch's policy"
        }
        Rejection::Expired { .. } | Rejection::NotYetValid { .. } | Rejection::Revoked { .. } => {
            "re-sign the commits with a currently valid key"
        }
        Rejection::WrongNamespace { .. } | Rejection::NotAllowedForGit { .. } => {
            "sign with git (`git commit -S`), which signs in the `git` namespace, with a key allowed for it"
        }
        Rejection::NoKeys { .. } => {
            "sign with a key type the policy lists keys for, or add keys of this type to the policy"
        }
        Rejection::Bad { .. } | Rejection::Unsupported { .. } => return sign_hint(facts),
    };
    hint.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Signature;
    use crate::rules::testing::{commit, facts, rule};

    const KEYS: &str = "allowed_signers = 'alice@acme.dev ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILaDM5eOQc0d/oHqvWkJAAqdGOE24NZRzw3dJrcOtBwz'";

    fn run(keys: &str, commits: Vec<Commit>) -> Evaluation {
        let mut f = facts();
        f.git_ref.sha = commits.first().map(|c| c.sha.clone()).unwrap_or_default();
        f.commits = commits;
        rule("signed-commits", &format!("{KEYS}\n{keys}")).evaluate(&RuleInput {
            facts: &f,
            now: f.gathered_at,
            environment: None,
        })
    }

    /// A commit whose id is the SHA-1 of a literal object carrying `signature`.
    fn signed(n: u8, format: &str) -> Commit {
        let signature = "-----BEGIN PGP SIGNATURE-----\n\n-----END PGP SIGNATURE-----\n";
        let payload = format!(
            "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@acme.dev> 1795176000 +0000\ncommitter A <a@acme.dev> 1795176000 +0000\n\nsigned {n}\n"
        );
        let object = format!(
            "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@acme.dev> 1795176000 +0000\ncommitter A <a@acme.dev> 1795176000 +0000\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n -----END PGP SIGNATURE-----\n\nsigned {n}\n"
        );
        let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
        hasher.update(format!("commit {}\0{object}", object.len()).as_bytes());
        let mut c = commit(n, &format!("signed {n}\n"));
        c.sha = hasher.try_finalize().unwrap().to_string();
        c.signature = Some(Signature {
            format: format.into(),
            signature: signature.into(),
            payload,
        });
        c
    }

    #[test]
    fn unsigned_commits_fail_one_finding_each() {
        let e = run("", vec![commit(1, "a\n"), commit(2, "b\n")]);
        assert_eq!(e.outcome, Outcome::Fail);
        assert_eq!(e.findings.len(), 2);
        assert!(
            e.findings[0].message.ends_with(" a: unsigned"),
            "{}",
            e.findings[0].message
        );
    }

    #[test]
    fn x509_is_an_error_never_valid() {
        let e = run("", vec![signed(1, "x509")]);
        assert_eq!(e.outcome, Outcome::Error);
        assert!(e.findings[0].message.contains("X.509"));
    }

    #[test]
    fn a_format_without_configured_keys_fails() {
        let e = run("", vec![signed(1, "openpgp")]);
        assert_eq!(e.outcome, Outcome::Fail);
        assert!(
            e.findings[0]
                .message
                .contains("openpgp signature, but the rule has no openpgp keys"),
            "{}",
            e.findings[0].message
        );
        // The same signature on another commit id is caught before any key is consulted.
        let mut moved = signed(1, "openpgp");
        moved.sha = "1".repeat(40);
        let e = run("", vec![moved]);
        assert!(
            e.findings[0].message.contains("not this commit's content"),
            "{e:?}"
        );
    }

    #[test]
    fn head_and_merge_selection() {
        let mut merge = commit(1, "merge\n");
        merge.parents.push("f".repeat(40));
        assert_eq!(
            run("skip_merges = true", vec![merge.clone(), commit(2, "x\n")])
                .findings
                .len(),
            1
        );
        assert_eq!(
            run(
                "commits = \"head\"\nskip_merges = true",
                vec![merge, commit(2, "x\n")]
            )
            .outcome,
            Outcome::Pass
        );
        let mut f = facts();
        f.commits = vec![commit(1, "a\n")];
        let e =
            rule("signed-commits", &format!("{KEYS}\ncommits = \"head\"")).evaluate(&RuleInput {
                facts: &f,
                now: f.gathered_at,
                environment: None,
            });
        assert_eq!(
            e.outcome,
            Outcome::Error,
            "the head is not among the commits"
        );
    }

    #[test]
    fn unavailable_signatures_are_an_error() {
        let mut f = facts();
        f.commits = vec![commit(1, "a\n")];
        f.unavailable.push("commits.signature".into());
        let e = rule("signed-commits", KEYS).evaluate(&RuleInput {
            facts: &f,
            now: f.gathered_at,
            environment: None,
        });
        assert_eq!(e.outcome, Outcome::Error);
    }
}
