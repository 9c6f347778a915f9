//! Break-glass overrides: a failing rule let through in an emergency, on the
//! record.
//!
//! A rule may declare
//! `override = { labels = ["emergency"], approvers = ["@acme/release"], reason_required = true }`.
//! When that rule fails, the engine asks [`attempt`] whether the failure is
//! overridden. It is only when both hold:
//! 1. the override was invoked: the change carries one of `labels`, or the
//!    run is a deployment and `GATEHOUSE_OVERRIDE_REASON` is set; and
//! 2. someone in `approvers` approved: an approving review of the change's
//!    head commit (their latest review), or an approval of the deployment.
//!    The change's author and the deployment's requester never count, nor do
//!    bots: break-glass needs a second person.
//!
//! With `reason_required` (the default) a reason must be given, by
//! `GATEHOUSE_OVERRIDE_REASON` or by the approver's deployment-approval
//! comment. `overridable = false` on a rule forbids overrides whatever else
//! says so (for example a pack's rule with an `override` table).
//!
//! An override never turns a rule into a pass: the rule keeps its `fail`
//! outcome and findings, is marked `overridden`, and the decision's
//! `overrides` list (copied into the audit record) says who, why, which rule
//! and on what evidence. Rules that could not decide (`error`) are never
//! overridden: break-glass is for a known violation, not for missing facts.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::decision::{Finding, Override, RuleResult};
use crate::env_vars::gatehouse::GATEHOUSE_OVERRIDE_REASON;
use crate::facts::{ApprovalState, EventKind, Facts, ReviewState, short_sha};
use crate::policy::{DiagnosticKind, PolicyDiagnostic};
use crate::rules::principals::Principals;

/// The `override` table of a rule: how its failure may be overridden.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideConfig {
    /// Labels on the change that invoke the override (`emergency`).
    #[serde(default)]
    pub labels: Vec<String>,
    /// Users and `@org/team`s one of whom must approve the change or the
    /// deployment. Never the author or the requester.
    #[schemars(with = "Vec<String>")]
    pub approvers: Vec<Spanned<String>>,
    /// A reason must be given (`GATEHOUSE_OVERRIDE_REASON`, or the approver's
    /// deployment-approval comment). Default true.
    #[serde(default = "yes")]
    pub reason_required: bool,
}

fn yes() -> bool {
    true
}

/// A validated `override` table.
#[derive(Debug, Clone)]
pub struct OverridePolicy {
    labels: Vec<String>,
    approvers: Principals,
    reason_required: bool,
}

/// Whether and how a rule may be overridden.
#[derive(Debug, Clone, Default)]
pub enum Overridability {
    /// No `override` table: failures stand.
    #[default]
    NotConfigured,
    /// `overridable = false`; any `override` table it also has is ignored.
    Forbidden(Option<OverridePolicy>),
    Allowed(OverridePolicy),
}

impl Overridability {
    /// Validate a rule's `override` and `overridable` keys.
    pub fn from_config(
        config: Option<Spanned<OverrideConfig>>,
        overridable: Option<bool>,
    ) -> Result<Overridability, Vec<PolicyDiagnostic>> {
        let policy = match config {
            None => None,
            Some(c) => {
                let span = c.span();
                let c = c.into_inner();
                if c.approvers.is_empty() {
                    return Err(vec![
                        PolicyDiagnostic::new(
                            DiagnosticKind::MissingKey,
                            "an `override` needs at least one approver",
                        )
                        .at(Some(span), "no `approvers`")
                        .help(
                            r#"break-glass needs a second person: `approvers = ["@acme/release"]`"#,
                        ),
                    ]);
                }
                let approvers = Principals::parse(&c.approvers)?;
                Some(OverridePolicy {
                    labels: c.labels,
                    approvers,
                    reason_required: c.reason_required,
                })
            }
        };
        Ok(match (policy, overridable) {
            (p, Some(false)) => Overridability::Forbidden(p),
            (Some(p), _) => Overridability::Allowed(p),
            (None, _) => Overridability::NotConfigured,
        })
    }
}

/// What the engine knows about this run that decides an override.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub facts: &'a Facts,
    /// The run's deployment environment, if any.
    pub environment: Option<&'a str>,
    /// `GATEHOUSE_OVERRIDE_REASON`, when set and not blank.
    pub reason: Option<&'a str>,
}

impl Context<'_> {
    fn is_deployment(&self) -> bool {
        self.environment.is_some()
            || self.facts.deployment.is_some()
            || self.facts.event.kind == EventKind::Deployment
    }
}

/// The outcome of asking for an override of a failed rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// Nobody invoked it: the failure stands, nothing to say.
    NotInvoked,
    /// Invoked but refused; the finding says why.
    Refused(Finding),
    Granted(Override),
}

/// How an override was invoked: `label:emergency` or the variable.
fn trigger(labels: &[String], ctx: &Context<'_>) -> Option<(String, String)> {
    if let Some(change) = &ctx.facts.change
        && let Some(label) = change
            .labels
            .iter()
            .find(|l| labels.iter().any(|want| want.eq_ignore_ascii_case(l)))
    {
        return Some((
            format!("label:{label}"),
            format!("label `{label}` on change #{}", change.id),
        ));
    }
    if ctx.reason.is_some() && ctx.is_deployment() {
        return Some((
            format!("env:{GATEHOUSE_OVERRIDE_REASON}"),
            format!("{GATEHOUSE_OVERRIDE_REASON} set in a deployment"),
        ));
    }
    None
}

/// Decide whether `result` (a failed rule) is overridden.
pub fn attempt(setting: &Overridability, result: &RuleResult, ctx: &Context<'_>) -> Attempt {
    let policy = match setting {
        Overridability::NotConfigured => return Attempt::NotInvoked,
        Overridability::Forbidden(declared) => {
            let labels = declared.as_ref().map_or(&[][..], |p| &p.labels[..]);
            return match trigger(labels, ctx) {
                None => Attempt::NotInvoked,
                Some((how, _)) => Attempt::Refused(
                    Finding::new(format!(
                        "break-glass override refused: rule `{}` is `overridable = false`",
                        result.id
                    ))
                    .evidence(format!("invoked by {how}")),
                ),
            };
        }
        Overridability::Allowed(p) => p,
    };
    let Some((how, how_evidence)) = trigger(&policy.labels, ctx) else {
        return Attempt::NotInvoked;
    };
    let refuse = |why: String| {
        Attempt::Refused(
            Finding::new(format!("break-glass override refused: {why}"))
                .evidence(format!("invoked by {how}")),
        )
    };
    let allowed = match policy.approvers.resolve(ctx.facts) {
        Ok(a) => a,
        Err(f) => return refuse(format!("its approvers are unknown: {}", f.message)),
    };
    let facts = ctx.facts;
    let author = facts.change.as_ref().map(|c| c.author.to_lowercase());
    let requester = facts
        .deployment
        .as_ref()
        .and_then(|d| d.requested_by.as_ref())
        .map(|r| r.to_lowercase());
    let is_party =
        |login: &str| author.as_deref() == Some(login) || requester.as_deref() == Some(login);

    // Approvals: latest review per author on the head commit, deployment approvals.
    let mut approvals: Vec<(String, String, Option<String>)> = Vec::new();
    let mut unseen = Vec::new();
    if let Some(change) = &facts.change {
        if facts.require("change.reviews").is_ok() {
            let mut latest: std::collections::BTreeMap<String, &crate::facts::Review> =
                Default::default();
            for r in change.reviews.iter().filter(|r| !r.author_is_bot) {
                let key = r.author.to_lowercase();
                if latest
                    .get(&key)
                    .is_none_or(|l| l.submitted_at <= r.submitted_at)
                {
                    latest.insert(key, r);
                }
            }
            for (login, r) in latest {
                let on_head = r.commit.as_deref().is_none_or(|c| c == change.head.sha);
                if r.state == ReviewState::Approved && on_head {
                    approvals.push((
                        login,
                        format!(
                            "review by {} approving {} at {}",
                            r.author,
                            short_sha(&change.head.sha),
                            r.submitted_at.to_rfc3339()
                        ),
                        None,
                    ));
                }
            }
        } else {
            unseen.push("change.reviews");
        }
    }
    if let Some(d) = &facts.deployment {
        if facts.require("deployment.approvals").is_ok() {
            for a in d
                .approvals
                .iter()
                .filter(|a| a.state == ApprovalState::Approved)
            {
                approvals.push((
                    a.by.to_lowercase(),
                    format!("deployment approval by {} at {}", a.by, a.at.to_rfc3339()),
                    a.comment.clone().filter(|c| !c.trim().is_empty()),
                ));
            }
        } else {
            unseen.push("deployment.approvals");
        }
    }

    let qualifying: Vec<&(String, String, Option<String>)> = approvals
        .iter()
        .filter(|(login, _, _)| allowed.contains(login) && !is_party(login))
        .collect();
    if qualifying.is_empty() {
        let by_party: BTreeSet<&str> = approvals
            .iter()
            .filter(|(login, _, _)| allowed.contains(login) && is_party(login))
            .map(|(login, _, _)| login.as_str())
            .collect();
        let why = if !by_party.is_empty() {
            format!(
                "the only approval from {} is by {}, who is the change's author or the deployment's requester",
                policy.approvers.describe(),
                by_party.into_iter().collect::<Vec<_>>().join(", ")
            )
        } else if !unseen.is_empty() {
            format!(
                "no approval from {} could be found, and the source cannot see {}",
                policy.approvers.describe(),
                unseen.join(", ")
            )
        } else {
            format!(
                "nobody from {} approved the change or the deployment",
                policy.approvers.describe()
            )
        };
        return refuse(why);
    }
    let reason = ctx.reason.map(str::to_string).or_else(|| {
        qualifying
            .iter()
            .find_map(|(_, _, comment)| comment.clone())
    });
    if policy.reason_required && reason.is_none() {
        return refuse(format!(
            "a reason is required: set {GATEHOUSE_OVERRIDE_REASON}, or approve the deployment with a comment"
        ));
    }
    let mut evidence = vec![how_evidence];
    evidence.extend(qualifying.iter().map(|(_, e, _)| e.clone()));
    evidence.extend(
        result
            .findings
            .iter()
            .map(|f| format!("overridden finding: {}", f.message)),
    );
    let approvers: BTreeSet<String> = qualifying.iter().map(|(l, _, _)| l.clone()).collect();
    Attempt::Granted(Override {
        rule: result.id.clone(),
        trigger: how,
        approvers: approvers.into_iter().collect(),
        reason,
        evidence,
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use crate::decision::{Outcome, Verdict};
    use crate::engine::{EvalOptions, evaluate};
    use crate::facts::{Deployment, DeploymentApproval, Facts, Review, ReviewState};
    use crate::rules::testing::{change, facts};

    /// A rule that fails on the test facts (they gate `refs/heads/main`).
    fn policy(override_keys: &str) -> crate::policy::Policy {
        let text = format!(
            "version = 1\n[[rule]]\nid = \"tags-only\"\nkind = \"ref\"\ntags = [\"v*\"]\n{override_keys}\n"
        );
        match crate::policy::parse("p.toml", &text) {
            Ok(p) => p,
            Err(e) => panic!("{}", e.render(false)),
        }
    }

    const OVERRIDE: &str = r#"override = { labels = ["emergency"], approvers = ["@acme/release"], reason_required = false }"#;

    fn review(by: &str, state: ReviewState) -> Review {
        Review {
            author: by.into(),
            state,
            commit: Some("9f2c4d1e0000000000000000000000000000000a".into()),
            submitted_at: chrono::Utc
                .with_ymd_and_hms(2026, 11, 20, 13, 0, 0)
                .unwrap(),
            author_is_bot: false,
        }
    }

    fn pr(labels: &[&str], reviews: Vec<Review>) -> Facts {
        let mut f = facts();
        let mut c = change("Hotfix");
        c.labels = labels.iter().map(|l| l.to_string()).collect();
        c.reviews = reviews;
        f.change = Some(c);
        f.teams
            .insert("acme/release".into(), vec!["bob".into(), "alice".into()]);
        f
    }

    fn decide(
        p: &crate::policy::Policy,
        f: &Facts,
        reason: Option<&str>,
        env: Option<&str>,
    ) -> crate::decision::Decision {
        evaluate(
            p,
            f,
            EvalOptions {
                environment: env.map(Into::into),
                override_reason: reason.map(Into::into),
                ..EvalOptions::at(f.gathered_at)
            },
        )
    }

    #[test]
    fn label_and_approver_override_the_failure_on_the_record() {
        let p = policy(OVERRIDE);
        let f = pr(&["emergency"], vec![review("bob", ReviewState::Approved)]);
        let d = decide(&p, &f, None, None);
        assert_eq!(d.verdict, Verdict::Allow);
        let r = &d.rules[0];
        assert_eq!(r.outcome, Outcome::Fail, "never a plain pass");
        assert!(r.overridden);
        assert_eq!(d.tally.overridden, 1);
        assert_eq!(d.tally.failed, 0);
        assert_eq!(d.overrides.len(), 1);
        let o = &d.overrides[0];
        assert_eq!(o.rule, "tags-only");
        assert_eq!(o.trigger, "label:emergency");
        assert_eq!(o.approvers, ["bob"]);
        assert!(
            o.evidence
                .iter()
                .any(|e| e.starts_with("review by bob approving 9f2c4d1"))
        );
        assert!(
            o.evidence
                .iter()
                .any(|e| e.starts_with("overridden finding: "))
        );
    }

    #[test]
    fn without_an_approver_the_override_is_refused() {
        let p = policy(OVERRIDE);
        let f = pr(&["emergency"], vec![review("carol", ReviewState::Approved)]);
        let d = decide(&p, &f, None, None);
        assert_eq!(d.verdict, Verdict::Block);
        assert!(d.overrides.is_empty());
        let last = d.rules[0].findings.last().unwrap();
        assert_eq!(
            last.message,
            "break-glass override refused: nobody from @acme/release approved the change or the deployment"
        );
    }

    #[test]
    fn the_author_cannot_approve_their_own_override() {
        let p = policy(OVERRIDE);
        let f = pr(&["emergency"], vec![review("alice", ReviewState::Approved)]);
        let d = decide(&p, &f, None, None);
        assert_eq!(d.verdict, Verdict::Block);
        let last = d.rules[0].findings.last().unwrap();
        assert!(
            last.message
                .contains("is by alice, who is the change's author"),
            "{}",
            last.message
        );
    }

    #[test]
    fn a_later_non_approving_review_withdraws_the_approval() {
        let p = policy(OVERRIDE);
        let mut later = review("bob", ReviewState::ChangesRequested);
        later.submitted_at += chrono::Duration::minutes(5);
        let f = pr(
            &["emergency"],
            vec![review("bob", ReviewState::Approved), later],
        );
        assert_eq!(decide(&p, &f, None, None).verdict, Verdict::Block);
    }

    #[test]
    fn overridable_false_forbids_it() {
        let p = policy(&format!("{OVERRIDE}\noverridable = false"));
        let f = pr(&["emergency"], vec![review("bob", ReviewState::Approved)]);
        let d = decide(&p, &f, None, None);
        assert_eq!(d.verdict, Verdict::Block);
        assert!(d.overrides.is_empty());
        assert_eq!(
            d.rules[0].findings.last().unwrap().message,
            "break-glass override refused: rule `tags-only` is `overridable = false`"
        );
    }

    #[test]
    fn without_the_label_nothing_is_invoked_or_said() {
        let p = policy(OVERRIDE);
        let f = pr(&["backend"], vec![review("bob", ReviewState::Approved)]);
        let d = decide(&p, &f, None, None);
        assert_eq!(d.verdict, Verdict::Block);
        assert_eq!(d.rules[0].findings.len(), 1);
    }

    fn deployment(approver: &str, comment: Option<&str>) -> Facts {
        let mut f = facts();
        f.deployment = Some(Deployment {
            environment: "production".into(),
            freeze_periods: Vec::new(),
            requested_by: Some("eve".into()),
            approvals: vec![DeploymentApproval {
                by: approver.into(),
                state: crate::facts::ApprovalState::Approved,
                at: chrono::Utc
                    .with_ymd_and_hms(2026, 11, 20, 13, 0, 0)
                    .unwrap(),
                comment: comment.map(Into::into),
            }],
        });
        f.teams
            .insert("acme/release".into(), vec!["bob".into(), "eve".into()]);
        f
    }

    #[test]
    fn the_reason_variable_invokes_it_in_a_deployment() {
        let p = policy(r#"override = { approvers = ["@acme/release"] }"#);
        let d = decide(
            &p,
            &deployment("bob", None),
            Some("INC-42 database down"),
            None,
        );
        assert_eq!(d.verdict, Verdict::Allow);
        assert_eq!(d.overrides[0].trigger, "env:GATEHOUSE_OVERRIDE_REASON");
        assert_eq!(
            d.overrides[0].reason.as_deref(),
            Some("INC-42 database down")
        );
        // The requester approving their own deployment does not count.
        let d = decide(&p, &deployment("eve", None), Some("INC-42"), None);
        assert_eq!(d.verdict, Verdict::Block);
    }

    #[test]
    fn a_required_reason_must_be_given() {
        let p = policy(r#"override = { labels = ["emergency"], approvers = ["bob"] }"#);
        let f = pr(&["emergency"], vec![review("bob", ReviewState::Approved)]);
        let d = decide(&p, &f, None, None);
        assert_eq!(d.verdict, Verdict::Block);
        assert!(
            d.rules[0]
                .findings
                .last()
                .unwrap()
                .message
                .contains("a reason is required"),
        );
        assert_eq!(decide(&p, &f, Some("INC-7"), None).verdict, Verdict::Allow);
        // In a deployment, the approver's comment is a reason.
        let d = decide(
            &p,
            &deployment("bob", Some("approved for INC-9")),
            Some("x"),
            None,
        );
        assert_eq!(d.verdict, Verdict::Allow);
    }

    #[test]
    fn the_variable_outside_a_deployment_does_not_invoke_it() {
        let p = policy(r#"override = { approvers = ["bob"] }"#);
        let f = pr(&[], vec![review("bob", ReviewState::Approved)]);
        assert_eq!(decide(&p, &f, Some("please"), None).verdict, Verdict::Block);
    }

    #[test]
    fn a_warning_needs_no_override() {
        let p = policy(&format!("severity = \"warn\"\n{OVERRIDE}"));
        let f = pr(&["emergency"], vec![review("bob", ReviewState::Approved)]);
        let d = decide(&p, &f, None, None);
        assert_eq!(d.verdict, Verdict::Allow);
        assert!(d.overrides.is_empty());
        assert!(!d.rules[0].overridden);
        assert_eq!(d.tally.warned, 1);
    }

    #[test]
    fn an_override_without_approvers_is_a_policy_error() {
        let text = "version = 1\n[[rule]]\nid = \"a\"\nkind = \"ref\"\ntags = [\"v*\"]\noverride = { labels = [\"x\"], approvers = [] }\n";
        let e = crate::policy::parse("p.toml", text).unwrap_err();
        assert!(e.to_string().contains("needs at least one approver"), "{e}");
    }
}
