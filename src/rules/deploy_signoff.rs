use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use super::principals::Principals;
use super::signed_commits::no_keys_diagnostic;
use super::{Evaluation, Rule, RuleConfig, RuleInput};
use crate::decision::Finding;
use crate::facts::{ApprovalState, DeploymentApproval, Facts, short_sha};
use crate::policy::{DiagnosticKind, PolicyDiagnostic};
use crate::signing::TrustedKeys;

pub const EXAMPLE: &str = r#"[[rule]]
id = "production-signoff"
kind = "deploy-signoff"
description = "Production deploys need an SRE's explicit sign-off"
when = { environments = ["production"] }
approvals = 1
from = ["@acme/sre", "eve"]
"#;

/// A deployment needs explicit sign-off by named people before it runs.
///
/// What it does: counts the approvals recorded for the deployment
/// (`facts.deployment.approvals`: GitHub environment reviews, GitLab
/// deployment approvals) by the users and teams in `from`, taking each
/// person's latest decision. It passes with at least `approvals` of them
/// (default 1), none by the person who requested the deployment (unless
/// `allow_requester = true`). A rejection by anyone in `from` fails the rule,
/// whatever else was approved. A run without a deployment fails, so limit the
/// rule with `when = { environments = [...] }`; when the source cannot see
/// approvals the rule reports an error.
///
/// With `signed_tags = true`, an annotated tag on the deployed commit
/// (`facts.tags`), signed by a key in `allowed_signers` (SSH) or `keyring`
/// (OpenPGP), is a sign-off too: an offline, CI-independent sign-off any
/// pipeline can check (`git tag -s v1.4.0` by a release manager). The signed
/// tag object must name that tag and the deployed commit. The keys are
/// written into the policy as for `signed-commits`. A valid signed tag passes
/// the rule on its own, even where the source cannot see approvals; a visible
/// rejection by someone in `from` still fails it.
///
/// Why: a production change should have a named person who said "yes" to it,
/// and that person should not be the one who asked.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploySignoffConfig {
    /// How many distinct qualifying approvals are needed. Default 1.
    #[serde(default = "one")]
    #[schemars(with = "u32")]
    approvals: Spanned<u32>,
    /// Who may sign off: logins (`eve`) and teams (`@acme/sre`). Nobody
    /// qualifies when empty, so it is required unless `signed_tags = true`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    from: Vec<Spanned<String>>,
    /// Let the person who requested the deployment approve it. Default false.
    #[serde(default)]
    allow_requester: bool,
    /// Accept a signed annotated tag on the deployed commit as a sign-off.
    #[serde(default)]
    signed_tags: bool,
    /// Trusted SSH tag signers (git's allowed_signers format), for `signed_tags`.
    #[schemars(with = "Option<String>")]
    allowed_signers: Option<Spanned<String>>,
    /// Trusted OpenPGP public keys (armored), for `signed_tags`.
    #[schemars(with = "Option<String>")]
    keyring: Option<Spanned<String>>,
}

fn one() -> Spanned<u32> {
    Spanned::new(0..0, 1)
}

#[derive(Debug)]
struct DeploySignoffRule {
    approvals: usize,
    from: Principals,
    allow_requester: bool,
    tag_keys: Option<TrustedKeys>,
}

impl RuleConfig for DeploySignoffConfig {
    fn validate(self) -> Result<Box<dyn Rule>, Vec<PolicyDiagnostic>> {
        let mut errors = Vec::new();
        if *self.approvals.get_ref() == 0 {
            errors.push(
                PolicyDiagnostic::new(DiagnosticKind::BadValue, "`approvals` must be at least 1")
                    .at(
                        Some(self.approvals.span()),
                        "zero approvals would let anything through",
                    )
                    .help("remove the rule if no sign-off is needed"),
            );
        }
        if self.from.is_empty() && !self.signed_tags {
            errors.push(
                PolicyDiagnostic::new(
                    DiagnosticKind::MissingKey,
                    "a `deploy-signoff` rule needs `from` (who may sign off) or `signed_tags = true`",
                )
                .help(r#"for example `from = ["@acme/sre"]`"#),
            );
        }
        let from = Principals::parse(&self.from)
            .map_err(|e| errors.extend(e))
            .ok();
        let tag_keys = if self.signed_tags {
            if self.allowed_signers.is_none() && self.keyring.is_none() {
                errors.push(no_keys_diagnostic("`signed_tags = true`"));
                None
            } else {
                TrustedKeys::from_config(self.allowed_signers.as_ref(), self.keyring.as_ref())
                    .map_err(|e| errors.extend(e))
                    .ok()
            }
        } else {
            for key in [&self.allowed_signers, &self.keyring].into_iter().flatten() {
                errors.push(
                    PolicyDiagnostic::new(
                        DiagnosticKind::BadValue,
                        "keys are only used with `signed_tags = true`",
                    )
                    .at(Some(key.span()), "unused keys")
                    .help("add `signed_tags = true`, or remove the keys"),
                );
            }
            None
        };
        match from {
            Some(from) if errors.is_empty() => Ok(Box::new(DeploySignoffRule {
                approvals: *self.approvals.get_ref() as usize,
                from,
                allow_requester: self.allow_requester,
                tag_keys,
            })),
            _ => Err(errors),
        }
    }
}

/// Each approver's latest decision, by lowercased login.
fn latest(approvals: &[DeploymentApproval]) -> BTreeMap<String, &DeploymentApproval> {
    let mut by: BTreeMap<String, &DeploymentApproval> = BTreeMap::new();
    for a in approvals {
        let login = a.by.to_lowercase();
        match by.get(&login) {
            Some(prev) if prev.at > a.at => {}
            _ => {
                by.insert(login, a);
            }
        }
    }
    by
}

impl DeploySignoffRule {
    /// A valid signed tag on the deployed commit, or the reasons none counts.
    fn tag_signoff(&self, input: &RuleInput<'_>) -> Result<String, Vec<String>> {
        let Some(keys) = &self.tag_keys else {
            return Err(Vec::new());
        };
        let facts = input.facts;
        let sha = &facts.git_ref.sha;
        let mut problems = Vec::new();
        for tag in facts.tags.iter().filter(|t| &t.target == sha) {
            let Some(signature) = &tag.signature else {
                problems.push(format!("tag {} is not signed", tag.name));
                continue;
            };
            // The signed bytes must be this tag's: the tag object names its
            // target and its own name in its headers.
            let headers: Vec<&str> = signature
                .payload
                .split("\n\n")
                .next()
                .unwrap_or("")
                .lines()
                .collect();
            if !headers.contains(&format!("object {}", tag.target).as_str())
                || !headers.contains(&format!("tag {}", tag.name).as_str())
            {
                problems.push(format!(
                    "tag {}: the signed content is not this tag's (it must name object {} and tag {})",
                    tag.name,
                    short_sha(&tag.target),
                    tag.name
                ));
                continue;
            }
            let signed_at = tag
                .tagger
                .as_ref()
                .map_or(input.now.fixed_offset(), |t| t.time);
            match keys.verify(signature, signed_at, input.now) {
                Ok(v) => return Ok(format!("tag {} signed by {}", tag.name, v.describe())),
                Err(why) => problems.push(format!("tag {}: {why}", tag.name)),
            }
        }
        if problems.is_empty() {
            problems.push(format!("no annotated tag points at {}", short_sha(sha)));
        }
        Err(problems)
    }
}

impl Rule for DeploySignoffRule {
    fn evaluate(&self, input: &RuleInput<'_>) -> Evaluation {
        let facts: &Facts = input.facts;
        let tag = self.tag_signoff(input);
        let approvals_visible = facts.require("deployment.approvals");

        let Some(deployment) = &facts.deployment else {
            if let Ok(tag) = tag {
                return Evaluation::pass("signed off by a signed tag").with_evidence([tag]);
            }
            let mut finding = Finding::new(
                "this run has no deployment, so nobody has signed it off",
            )
            .evidence(format!("event: {}", facts.event.kind.as_str()))
            .remediation(
                r#"limit the rule to deployments with `when = { environments = ["production"] }`"#,
            );
            if let Err(problems) = &tag {
                finding.evidence.extend(problems.iter().cloned());
            }
            return Evaluation::fail("no deployment", vec![finding]);
        };
        if let Err(reason) = approvals_visible {
            if let Ok(tag) = tag {
                return Evaluation::pass("signed off by a signed tag").with_evidence([tag]);
            }
            return Evaluation::error(Finding::new(reason).remediation(
                "gather facts with a source that reads deployment approvals (GitHub environments, GitLab deployment approvals)",
            ));
        }
        let qualifying = match self.from.resolve(facts) {
            Ok(q) => q,
            Err(finding) => return Evaluation::error(finding),
        };
        let requester = deployment.requested_by.as_ref().map(|r| r.to_lowercase());
        if requester.is_none() && !self.allow_requester && tag.is_err() {
            return Evaluation::error(
                Finding::new("the deployment's requester is unknown, so a self-approval cannot be ruled out")
                    .remediation("gather facts with a source that reports who requested the deployment, or set `allow_requester = true`"),
            );
        }

        let among = if self.from.is_empty() {
            "those who may sign off (`from` is empty)".to_string()
        } else {
            self.from.describe()
        };
        let mut approved = Vec::new();
        let mut findings = Vec::new();
        let mut notes = Vec::new();
        for (login, a) in latest(&deployment.approvals) {
            let qualifies = qualifying.contains(&login);
            match (a.state, qualifies) {
                (ApprovalState::Rejected, true) => findings.push(
                    Finding::new(format!("{} rejected the deployment to {}", a.by, deployment.environment))
                        .evidence(format!("rejected at {}", a.at.format("%Y-%m-%dT%H:%M:%SZ")))
                        .evidence(a.comment.as_ref().map_or("no comment".to_string(), |c| format!("comment: {c}")))
                        .remediation(format!("resolve {}'s objection; they must approve before this deployment can proceed", a.by)),
                ),
                (ApprovalState::Rejected, false) => {
                    notes.push(format!("{} rejected, but is not among {among}", a.by))
                }
                (ApprovalState::Approved, false) => {
                    notes.push(format!("{} approved, but is not among {among}", a.by))
                }
                (ApprovalState::Approved, true)
                    if !self.allow_requester && requester.as_deref() == Some(login.as_str()) =>
                {
                    notes.push(format!("{} requested this deployment and cannot approve it", a.by))
                }
                (ApprovalState::Approved, true) => approved.push(a.by.clone()),
            }
        }
        if !findings.is_empty() {
            return Evaluation::fail("rejected", findings);
        }
        if approved.len() >= self.approvals {
            return Evaluation::pass(format!(
                "{} of {} sign-off{} for {}",
                approved.len(),
                self.approvals,
                if self.approvals == 1 { "" } else { "s" },
                deployment.environment
            ))
            .with_evidence(approved.iter().map(|a| format!("approved by {a}")));
        }
        if let Ok(tag) = tag {
            return Evaluation::pass("signed off by a signed tag").with_evidence([tag]);
        }
        let mut finding = Finding::new(format!(
            "{} of {} required sign-off{} for {} from {}",
            approved.len(),
            self.approvals,
            if self.approvals == 1 { "" } else { "s" },
            deployment.environment,
            if self.from.is_empty() {
                "nobody (no `from` is given, so only a signed tag can sign off)".to_string()
            } else {
                self.from.describe()
            }
        ));
        finding
            .evidence
            .extend(approved.iter().map(|a| format!("approved by {a}")));
        finding.evidence.extend(notes);
        if let Some(r) = &deployment.requested_by {
            finding.evidence.push(format!("requested by {r}"));
        }
        if let Err(problems) = tag {
            finding.evidence.extend(problems);
        }
        let hint = if self.from.is_empty() {
            "have a trusted signer push a signed tag (`git tag -s`) on the deployed commit"
                .to_string()
        } else if self.tag_keys.is_some() {
            format!(
                "ask someone in {} to approve the deployment, or have a trusted signer push a signed tag (`git tag -s`) on the deployed commit",
                self.from.describe()
            )
        } else {
            format!(
                "ask someone in {} (not the requester) to approve the deployment",
                self.from.describe()
            )
        };
        Evaluation::fail("not signed off", vec![finding.remediation(hint)])
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::decision::Outcome;
    use crate::facts::Deployment;
    use crate::rules::testing::{facts, instant, rule};

    fn approval(by: &str, state: ApprovalState, minutes: i64) -> DeploymentApproval {
        DeploymentApproval {
            by: by.into(),
            state,
            at: instant() - Duration::minutes(60 - minutes),
            comment: None,
        }
    }

    fn run(
        keys: &str,
        requested_by: Option<&str>,
        approvals: Vec<DeploymentApproval>,
    ) -> Evaluation {
        let mut f = facts();
        f.teams
            .insert("acme/sre".into(), vec!["carol".into(), "Dave".into()]);
        f.deployment = Some(Deployment {
            environment: "production".into(),
            freeze_periods: Vec::new(),
            requested_by: requested_by.map(str::to_string),
            approvals,
        });
        rule("deploy-signoff", keys).evaluate(&RuleInput {
            facts: &f,
            now: f.gathered_at,
            environment: Some("production"),
        })
    }

    const SRE: &str = r#"from = ["@acme/sre", "eve"]"#;
    use ApprovalState::{Approved, Rejected};

    #[test]
    fn a_qualifying_approval_passes() {
        let e = run(SRE, Some("alice"), vec![approval("dave", Approved, 1)]);
        assert_eq!(e.outcome, Outcome::Pass, "{e:?}");
        assert_eq!(e.evidence, ["approved by dave"]);
    }

    #[test]
    fn approvals_from_others_do_not_count() {
        let e = run(SRE, Some("alice"), vec![approval("mallory", Approved, 1)]);
        assert_eq!(e.outcome, Outcome::Fail);
        let f = &e.findings[0];
        assert_eq!(
            f.message,
            "0 of 1 required sign-off for production from eve, @acme/sre"
        );
        assert!(
            f.evidence
                .iter()
                .any(|l| l == "mallory approved, but is not among eve, @acme/sre")
        );
    }

    #[test]
    fn the_requester_cannot_sign_off_their_own_deployment() {
        let e = run(SRE, Some("Carol"), vec![approval("carol", Approved, 1)]);
        assert_eq!(e.outcome, Outcome::Fail);
        assert!(
            e.findings[0]
                .evidence
                .iter()
                .any(|l| l.contains("requested this deployment"))
        );
        let keys = format!("{SRE}\nallow_requester = true");
        assert_eq!(
            run(&keys, Some("carol"), vec![approval("carol", Approved, 1)]).outcome,
            Outcome::Pass
        );
    }

    #[test]
    fn n_distinct_people_are_needed() {
        let keys = format!("{SRE}\napprovals = 2");
        let twice = vec![approval("dave", Approved, 1), approval("dave", Approved, 2)];
        assert_eq!(run(&keys, Some("alice"), twice).outcome, Outcome::Fail);
        let two = vec![approval("dave", Approved, 1), approval("eve", Approved, 2)];
        assert_eq!(run(&keys, Some("alice"), two).outcome, Outcome::Pass);
    }

    #[test]
    fn a_qualifying_rejection_fails_whatever_else_was_approved() {
        let e = run(
            SRE,
            Some("alice"),
            vec![approval("dave", Approved, 1), approval("eve", Rejected, 2)],
        );
        assert_eq!(e.outcome, Outcome::Fail);
        assert_eq!(
            e.findings[0].message,
            "eve rejected the deployment to production"
        );
        // A rejection by someone outside `from` is noted, not decisive.
        let e = run(
            SRE,
            Some("alice"),
            vec![approval("dave", Approved, 1), approval("bob", Rejected, 2)],
        );
        assert_eq!(e.outcome, Outcome::Pass);
    }

    #[test]
    fn only_each_persons_latest_decision_counts() {
        let e = run(
            SRE,
            Some("alice"),
            vec![approval("eve", Rejected, 1), approval("eve", Approved, 2)],
        );
        assert_eq!(e.outcome, Outcome::Pass);
        let e = run(
            SRE,
            Some("alice"),
            vec![approval("eve", Approved, 2), approval("eve", Rejected, 1)],
        );
        assert_eq!(
            e.outcome,
            Outcome::Pass,
            "order in the list does not matter, time does"
        );
        let e = run(
            SRE,
            Some("alice"),
            vec![approval("eve", Approved, 1), approval("eve", Rejected, 2)],
        );
        assert_eq!(e.outcome, Outcome::Fail);
    }

    #[test]
    fn no_deployment_fails_and_unknown_facts_are_errors() {
        let mut f = facts();
        let r = rule("deploy-signoff", SRE);
        let input = |f: &Facts| {
            r.evaluate(&RuleInput {
                facts: f,
                now: f.gathered_at,
                environment: None,
            })
        };
        let e = input(&f);
        assert_eq!(e.outcome, Outcome::Fail);
        assert!(e.findings[0].message.contains("no deployment"));

        f.deployment = Some(Deployment {
            environment: "production".into(),
            freeze_periods: Vec::new(),
            requested_by: Some("alice".into()),
            approvals: vec![],
        });
        f.unavailable.push("deployment.approvals".into());
        assert_eq!(input(&f).outcome, Outcome::Error);

        f.unavailable.clear();
        f.teams.clear();
        assert_eq!(
            input(&f).outcome,
            Outcome::Error,
            "an unknown team is an error, not nobody"
        );

        f.teams.insert("acme/sre".into(), vec![]);
        f.deployment.as_mut().unwrap().requested_by = None;
        assert_eq!(
            input(&f).outcome,
            Outcome::Error,
            "an unknown requester could be the approver"
        );
    }

    fn config_errors(keys: &str) -> Vec<String> {
        let text =
            format!("version = 1\n[[rule]]\nid = \"x\"\nkind = \"deploy-signoff\"\n{keys}\n");
        match crate::policy::parse("p.toml", &text) {
            Ok(_) => Vec::new(),
            Err(e) => e.diagnostics().iter().map(|d| d.message.clone()).collect(),
        }
    }

    #[test]
    fn invalid_configs_are_diagnosed() {
        assert_eq!(
            config_errors("from = [\"eve\"]\napprovals = 0"),
            ["`approvals` must be at least 1"]
        );
        assert_eq!(
            config_errors(""),
            ["a `deploy-signoff` rule needs `from` (who may sign off) or `signed_tags = true`"]
        );
        assert_eq!(
            config_errors("signed_tags = true"),
            ["`signed_tags = true` needs `allowed_signers` (SSH) or `keyring` (OpenPGP)"]
        );
        assert_eq!(
            config_errors("from = [\"eve\"]\nkeyring = \"x\""),
            ["keys are only used with `signed_tags = true`"]
        );
        assert!(config_errors("from = [\"eve\"]").is_empty());
    }

    #[test]
    fn tags_only_without_a_signed_tag_says_so() {
        let keys = "signed_tags = true\nallowed_signers = 'release@acme.dev ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILaDM5eOQc0d/oHqvWkJAAqdGOE24NZRzw3dJrcOtBwz'";
        let e = run(keys, Some("alice"), vec![approval("dave", Approved, 1)]);
        assert_eq!(e.outcome, Outcome::Fail);
        let f = &e.findings[0];
        assert!(
            f.message.contains("from nobody (no `from` is given"),
            "{}",
            f.message
        );
        assert!(
            f.evidence
                .iter()
                .any(|l| l.starts_with("no annotated tag points at")),
            "{f:?}"
        );
        assert_eq!(
            f.remediation.as_deref(),
            Some("have a trusted signer push a signed tag (`git tag -s`) on the deployed commit")
        );
    }
}
