use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use super::{Evaluation, Rule, RuleConfig, RuleInput};
use crate::decision::Finding;
use crate::pattern::Globs;
use crate::policy::{DiagnosticKind, PolicyDiagnostic};

pub const EXAMPLE: &str = r#"[[rule]]
id = "deploy-from-main-or-tags"
kind = "ref"
description = "Production deploys only from main or a release tag"
when = { environments = ["production"] }
branches = ["main"]
tags = ["v*"]
"#;

/// The gated ref must be an allowed branch, tag or ref.
///
/// What it does: compares the ref being gated (`facts.ref.name`, a full ref such
/// as `refs/heads/main` or `refs/tags/v1.4.0`) with the allowed patterns and
/// fails when none matches. Patterns are globs: `*` stays within one path
/// segment, `**` crosses segments.
///
/// Why: deployments must come from reviewed history. A deploy job started from a
/// feature branch or a hand-made tag bypasses the review that guards `main`.
///
/// At least one of `branches`, `tags` or `refs` must be given. For pull requests
/// the gated ref is the merge ref (`refs/pull/N/merge`), so this rule is usually
/// limited with `when = { events = ["push", "deployment"] }` or by environment.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefConfig {
    /// Branch globs, matched against the name after `refs/heads/` (`main`, `release/*`).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    branches: Vec<Spanned<String>>,
    /// Tag globs, matched against the name after `refs/tags/` (`v*`).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    tags: Vec<Spanned<String>>,
    /// Globs on the full ref name (`refs/heads/main`, `refs/environments/**`).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    refs: Vec<Spanned<String>>,
}

#[derive(Debug)]
struct RefRule {
    branches: Globs,
    tags: Globs,
    refs: Globs,
}

impl RuleConfig for RefConfig {
    fn validate(self) -> Result<Box<dyn Rule>, Vec<PolicyDiagnostic>> {
        if self.branches.is_empty() && self.tags.is_empty() && self.refs.is_empty() {
            return Err(vec![
                PolicyDiagnostic::new(
                    DiagnosticKind::MissingKey,
                    "a `ref` rule needs at least one of `branches`, `tags` or `refs`",
                )
                .help(r#"for example `branches = ["main"]` and `tags = ["v*"]`"#),
            ]);
        }
        let mut errors = Vec::new();
        let mut compile =
            |list: &[Spanned<String>]| Globs::compile(list).map_err(|e| errors.push(e)).ok();
        let (branches, tags, refs) = (
            compile(&self.branches),
            compile(&self.tags),
            compile(&self.refs),
        );
        match (branches, tags, refs) {
            (Some(branches), Some(tags), Some(refs)) => Ok(Box::new(RefRule {
                branches,
                tags,
                refs,
            })),
            _ => Err(errors),
        }
    }
}

impl Rule for RefRule {
    fn evaluate(&self, input: &RuleInput<'_>) -> Evaluation {
        let name = &input.facts.git_ref.name;
        if !name.starts_with("refs/") {
            return Evaluation::error(
                Finding::new(format!(
                    "the gated ref `{name}` is not a full ref name, so it cannot be classified as branch or tag"
                ))
                .remediation("the source must report refs as `refs/heads/…` or `refs/tags/…`"),
            );
        }
        let matched = if let Some(b) = input.facts.git_ref.branch() {
            self.branches.is_match(b)
        } else if let Some(t) = input.facts.git_ref.tag() {
            self.tags.is_match(t)
        } else {
            false
        } || self.refs.is_match(name);

        if matched {
            return Evaluation::pass(format!("`{name}` is allowed"))
                .with_evidence([format!("ref {name} at {}", input.facts.git_ref.sha)]);
        }
        let mut allowed = Vec::new();
        allowed.extend(
            self.branches
                .patterns()
                .iter()
                .map(|p| format!("branch {p}")),
        );
        allowed.extend(self.tags.patterns().iter().map(|p| format!("tag {p}")));
        allowed.extend(self.refs.patterns().iter().map(|p| format!("ref {p}")));
        Evaluation::fail(
            format!("`{name}` is not an allowed ref"),
            vec![
                Finding::new(format!("`{name}` is not an allowed ref"))
                    .evidence(format!("ref {name} at {}", input.facts.git_ref.sha))
                    .evidence(format!("allowed: {}", allowed.join(", ")))
                    .remediation(format!(
                        "run this from an allowed ref ({})",
                        allowed.join(", ")
                    )),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Outcome;
    use crate::rules::testing::{facts_with_ref, rule};

    fn eval(config: &str, git_ref: &str) -> Evaluation {
        let rule = rule("ref", config);
        let facts = facts_with_ref(git_ref);
        rule.evaluate(&RuleInput {
            facts: &facts,
            now: facts.gathered_at,
            environment: None,
        })
    }

    const CONFIG: &str = r#"branches = ["main", "release/*"]
tags = ["v*"]"#;

    #[test]
    fn allowed_branches_and_tags_pass() {
        assert_eq!(eval(CONFIG, "refs/heads/main").outcome, Outcome::Pass);
        assert_eq!(
            eval(CONFIG, "refs/heads/release/1.2").outcome,
            Outcome::Pass
        );
        assert_eq!(eval(CONFIG, "refs/tags/v1.4.0").outcome, Outcome::Pass);
    }

    #[test]
    fn other_refs_fail() {
        for r in [
            "refs/heads/feature/x",
            "refs/heads/release/1.2/hotfix",
            "refs/tags/1.0",
            "refs/heads/v1",
            "refs/pull/1/merge",
        ] {
            let e = eval(CONFIG, r);
            assert_eq!(e.outcome, Outcome::Fail, "{r}");
        }
    }

    #[test]
    fn a_tag_named_like_a_branch_does_not_pass_as_branch() {
        assert_eq!(eval(CONFIG, "refs/tags/main").outcome, Outcome::Fail);
    }

    #[test]
    fn full_ref_globs() {
        let e = eval(
            r#"refs = ["refs/environments/**"]"#,
            "refs/environments/prod/x",
        );
        assert_eq!(e.outcome, Outcome::Pass);
    }

    #[test]
    fn short_ref_name_is_an_error() {
        assert_eq!(eval(CONFIG, "main").outcome, Outcome::Error);
    }
}
