use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use super::{Evaluation, Rule, RuleConfig, RuleInput};
use crate::decision::Finding;
use crate::facts::{Check, short_sha};
use crate::pattern::Globs;
use crate::policy::{DiagnosticKind, PolicyDiagnostic};

pub const EXAMPLE: &str = r#"[[rule]]
id = "ci-green"
kind = "checks"
description = "Build and every test job passed on the exact commit"
required = ["build", "test/*"]
app = "github-actions"
"#;

/// Conclusions a check may be allowed to end with.
const CONCLUSIONS: [&str; 3] = ["success", "neutral", "skipped"];

/// Named CI checks must have succeeded on the head commit.
///
/// What it does: for each entry of `required` (a check name or a glob such as
/// `test/*`), looks at the checks reported on the head commit (the change's
/// head, otherwise the gated ref's commit). At least one check must match each
/// entry, and every matching check must be `completed` with a conclusion in
/// `allowed_conclusions` (default `["success"]`). A required check that is
/// missing, still queued or running, failed, or only ran on another commit is
/// a failure naming the check and its state. When the same check ran more
/// than once on the head commit, every run must have passed: the facts carry
/// no order, so a later green run cannot be told from an earlier one.
///
/// With `app`, only checks reported by that app (`github-actions`,
/// `gitlab-ci`) count; a check of the right name from another app is reported
/// as not counting, because any app with write access can post a green status.
///
/// Why: a merge or deploy on a red or still-running pipeline ships code that
/// nobody has seen pass its tests.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecksConfig {
    /// Check names or globs that must pass (`build`, `test/*`).
    #[schemars(with = "Vec<String>")]
    required: Vec<Spanned<String>>,
    /// Conclusions that count as passed: `success` (default), `neutral`, `skipped`.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    allowed_conclusions: Option<Vec<Spanned<String>>>,
    /// Only checks reported by this app count (`github-actions`).
    app: Option<String>,
}

#[derive(Debug)]
struct ChecksRule {
    required: Vec<Globs>,
    allowed: Vec<String>,
    app: Option<String>,
}

impl RuleConfig for ChecksConfig {
    fn validate(self) -> Result<Box<dyn Rule>, Vec<PolicyDiagnostic>> {
        let mut errors = Vec::new();
        if self.required.is_empty() {
            errors.push(
                PolicyDiagnostic::new(
                    DiagnosticKind::MissingKey,
                    "a `checks` rule needs at least one entry in `required`",
                )
                .help(r#"for example `required = ["build", "test/*"]`"#),
            );
        }
        let mut required = Vec::new();
        for entry in &self.required {
            match Globs::compile(std::slice::from_ref(entry)) {
                Ok(g) => required.push(g),
                Err(e) => errors.push(e),
            }
        }
        let mut allowed = Vec::new();
        for c in self.allowed_conclusions.iter().flatten() {
            let value = c.get_ref().to_ascii_lowercase();
            if CONCLUSIONS.contains(&value.as_str()) {
                allowed.push(value);
            } else {
                errors.push(
                    PolicyDiagnostic::new(
                        DiagnosticKind::BadValue,
                        format!(
                            "`{}` is not a conclusion a check may pass with",
                            c.get_ref()
                        ),
                    )
                    .at(Some(c.span()), "not allowed here")
                    .help(format!("allowed: {}", CONCLUSIONS.join(", "))),
                );
            }
        }
        if allowed.is_empty() {
            allowed.push("success".to_string());
        }
        if errors.is_empty() {
            Ok(Box::new(ChecksRule {
                required,
                allowed,
                app: self.app,
            }))
        } else {
            Err(errors)
        }
    }
}

fn state(c: &Check) -> String {
    match (&c.status[..], &c.conclusion) {
        ("completed", Some(conclusion)) => format!("concluded `{conclusion}`"),
        ("completed", None) => "completed without a conclusion".to_string(),
        (status, _) => format!("is still `{status}`"),
    }
}

fn app_of(c: &Check) -> &str {
    c.app.as_deref().unwrap_or("an unknown app")
}

impl Rule for ChecksRule {
    fn evaluate(&self, input: &RuleInput<'_>) -> Evaluation {
        let facts = input.facts;
        if let Err(reason) = facts.require("checks") {
            return Evaluation::error(Finding::new(reason).remediation(
                "gather facts from GitHub or GitLab, or include `checks` in the Facts file",
            ));
        }
        let head = facts
            .change
            .as_ref()
            .map_or(facts.git_ref.sha.as_str(), |c| c.head.sha.as_str());
        let mut findings = Vec::new();
        let mut passed = BTreeSet::new();
        for globs in &self.required {
            let pattern = globs.describe();
            let named: Vec<&Check> = facts
                .checks
                .iter()
                .filter(|c| globs.is_match(&c.name))
                .collect();
            let on_head: Vec<&Check> = named.iter().copied().filter(|c| c.commit == head).collect();
            let (counted, foreign): (Vec<&Check>, Vec<&Check>) = on_head.iter().partition(|c| {
                self.app
                    .as_deref()
                    .is_none_or(|a| c.app.as_deref() == Some(a))
            });
            if counted.is_empty() {
                let mut f = if let (Some(app), Some(first)) = (&self.app, foreign.first()) {
                    Finding::new(format!(
                        "required check `{}` on head {} was reported by {}, not by `{app}`, so it does not count",
                        first.name,
                        short_sha(head),
                        app_of(first)
                    ))
                } else if let Some(other) = named.first() {
                    Finding::new(format!(
                        "required check `{pattern}` ran on {}, not on the head commit {}",
                        short_sha(&other.commit),
                        short_sha(head)
                    ))
                } else {
                    Finding::new(format!(
                        "required check `{pattern}` has not reported on the head commit {}",
                        short_sha(head)
                    ))
                };
                for c in named.iter().take(5) {
                    f = f.evidence(format!(
                        "{} on {} by {}: {}",
                        c.name,
                        short_sha(&c.commit),
                        app_of(c),
                        state(c)
                    ));
                }
                let fix = match (&self.app, foreign.is_empty()) {
                    (Some(app), false) => format!(
                        "the check must be reported by `{app}`: a status posted by another app never counts"
                    ),
                    _ => format!(
                        "run the `{pattern}` job on {} and wait for it to succeed",
                        short_sha(head)
                    ),
                };
                findings.push(f.remediation(fix));
                continue;
            }
            for c in counted {
                let ok = c.status == "completed"
                    && c.conclusion
                        .as_deref()
                        .is_some_and(|k| self.allowed.iter().any(|a| a.eq_ignore_ascii_case(k)));
                if ok {
                    passed.insert(c.name.clone());
                } else {
                    findings.push(
                        Finding::new(format!(
                            "required check `{}` {} on the head commit {}",
                            c.name,
                            state(c),
                            short_sha(head)
                        ))
                        .evidence(format!("reported by {}", app_of(c)))
                        .evidence(format!("passing conclusions: {}", self.allowed.join(", ")))
                        .remediation(if c.status == "completed" {
                            "fix the failure and re-run the check"
                        } else {
                            "wait for the check to finish, then run the gate again"
                        }),
                    );
                }
            }
        }
        let names: Vec<String> = passed.into_iter().collect();
        Evaluation::from_findings(
            format!(
                "{} of the required checks passed on {}",
                names.len(),
                short_sha(head)
            ),
            findings,
        )
        .with_evidence(names.into_iter().map(|n| format!("passed: {n}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Outcome;
    use crate::rules::testing::{facts, rule};

    const HEAD: &str = "9f2c4d1e0000000000000000000000000000000a";

    fn check(name: &str, status: &str, conclusion: Option<&str>, commit: &str, app: &str) -> Check {
        Check {
            name: name.into(),
            status: status.into(),
            conclusion: conclusion.map(Into::into),
            commit: commit.into(),
            app: Some(app.into()),
        }
    }

    fn eval(config: &str, checks: Vec<Check>) -> Evaluation {
        let rule = rule("checks", config);
        let mut f = facts();
        f.checks = checks;
        rule.evaluate(&RuleInput {
            facts: &f,
            now: f.gathered_at,
            environment: None,
        })
    }

    const CONFIG: &str = r#"required = ["build", "test/*"]"#;

    #[test]
    fn all_required_checks_green_on_head_pass() {
        let e = eval(
            CONFIG,
            vec![
                check(
                    "build",
                    "completed",
                    Some("success"),
                    HEAD,
                    "github-actions",
                ),
                check(
                    "test/unit",
                    "completed",
                    Some("success"),
                    HEAD,
                    "github-actions",
                ),
                check(
                    "test/e2e",
                    "completed",
                    Some("success"),
                    HEAD,
                    "github-actions",
                ),
            ],
        );
        assert_eq!(e.outcome, Outcome::Pass, "{:?}", e.findings);
        assert_eq!(e.evidence.len(), 3);
    }

    #[test]
    fn missing_pending_failed_and_other_commit_each_name_the_check() {
        let e = eval(
            r#"required = ["build", "test/*", "lint", "deploy-preview"]"#,
            vec![
                check("build", "in_progress", None, HEAD, "github-actions"),
                check(
                    "test/unit",
                    "completed",
                    Some("failure"),
                    HEAD,
                    "github-actions",
                ),
                check(
                    "lint",
                    "completed",
                    Some("success"),
                    "1a2b000000000000000000000000000000000000",
                    "github-actions",
                ),
            ],
        );
        assert_eq!(e.outcome, Outcome::Fail);
        let messages: Vec<&str> = e.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "required check `build` is still `in_progress` on the head commit 9f2c4d1",
                "required check `test/unit` concluded `failure` on the head commit 9f2c4d1",
                "required check `lint` ran on 1a2b000, not on the head commit 9f2c4d1",
                "required check `deploy-preview` has not reported on the head commit 9f2c4d1",
            ]
        );
    }

    #[test]
    fn a_status_from_another_app_does_not_count() {
        let e = eval(
            r#"required = ["build"]
app = "github-actions""#,
            vec![check(
                "build",
                "completed",
                Some("success"),
                HEAD,
                "evil-bot",
            )],
        );
        assert_eq!(e.outcome, Outcome::Fail);
        assert_eq!(
            e.findings[0].message,
            "required check `build` on head 9f2c4d1 was reported by evil-bot, not by `github-actions`, so it does not count"
        );
    }

    #[test]
    fn allowed_conclusions_and_reruns() {
        let cfg = r#"required = ["build"]
allowed_conclusions = ["success", "neutral"]"#;
        let neutral = eval(
            cfg,
            vec![check("build", "completed", Some("neutral"), HEAD, "a")],
        );
        assert_eq!(neutral.outcome, Outcome::Pass);
        let rerun = eval(
            cfg,
            vec![
                check("build", "completed", Some("failure"), HEAD, "a"),
                check("build", "completed", Some("success"), HEAD, "a"),
            ],
        );
        assert_eq!(rerun.outcome, Outcome::Fail, "every run on head must pass");
    }

    #[test]
    fn unavailable_checks_cannot_decide() {
        let rule = rule("checks", CONFIG);
        let mut f = facts();
        f.unavailable.push("checks".into());
        let e = rule.evaluate(&RuleInput {
            facts: &f,
            now: f.gathered_at,
            environment: None,
        });
        assert_eq!(e.outcome, Outcome::Error);
    }
}
