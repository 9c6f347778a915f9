//! `when` conditions: which runs a rule applies to.
//!
//! Every condition given must match (AND); within one condition any pattern may
//! match (OR). An absent condition matches everything. A rule whose `when`
//! does not match is reported as skipped, with the reason.

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::facts::{EventKind, Facts};
use crate::pattern::Globs;
use crate::policy::PolicyDiagnostic;

/// When a rule applies. All given conditions must match.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WhenConfig {
    /// Globs on the branch: the branch a change targets (its base), otherwise the
    /// branch being pushed or deployed. A tag ref has no branch and never matches.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub branches: Option<Vec<Spanned<String>>>,
    /// Globs on changed file paths; the rule applies when any changed file
    /// (or the previous path of a rename) matches.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub paths: Option<Vec<Spanned<String>>>,
    /// Globs on the deployment environment (`--environment`, or the deployment's).
    /// Runs without an environment never match.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub environments: Option<Vec<Spanned<String>>>,
    /// Event kinds: `pull_request`, `push`, `deployment`, `merge_group`, `local`.
    #[serde(default)]
    pub events: Option<Vec<EventKind>>,
}

/// Compiled `when` conditions.
#[derive(Debug, Clone, Default)]
pub struct When {
    branches: Option<Globs>,
    paths: Option<Globs>,
    environments: Option<Globs>,
    events: Option<Vec<EventKind>>,
}

impl schemars::JsonSchema for EventKind {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EventKind".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        schemars::json_schema!({ "type": "string", "enum": names })
    }
}

impl WhenConfig {
    pub fn compile(self) -> Result<When, Vec<PolicyDiagnostic>> {
        let mut errors = Vec::new();
        let mut compile = |list: Option<Vec<Spanned<String>>>| {
            list.and_then(|l| match Globs::compile(&l) {
                Ok(g) => Some(g),
                Err(e) => {
                    errors.push(e);
                    None
                }
            })
        };
        let when = When {
            branches: compile(self.branches),
            paths: compile(self.paths),
            environments: compile(self.environments),
            events: self.events,
        };
        if errors.is_empty() {
            Ok(when)
        } else {
            Err(errors)
        }
    }
}

impl When {
    /// `Ok(())` when the rule applies, otherwise why it was skipped.
    pub fn applies(&self, facts: &Facts, environment: Option<&str>) -> Result<(), String> {
        if let Some(events) = &self.events {
            let kind = facts.event.kind;
            if !events.contains(&kind) {
                let names: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
                return Err(format!(
                    "event `{}` is not one of: {}",
                    kind.as_str(),
                    names.join(", ")
                ));
            }
        }
        if let Some(branches) = &self.branches {
            match gated_branch(facts) {
                Some(b) if branches.is_match(b) => {}
                Some(b) => {
                    return Err(format!(
                        "branch `{b}` does not match {}",
                        branches.describe()
                    ));
                }
                None => {
                    return Err(format!(
                        "ref `{}` is not a branch (branches: {})",
                        facts.git_ref.name,
                        branches.describe()
                    ));
                }
            }
        }
        if let Some(envs) = &self.environments {
            match environment {
                Some(e) if envs.is_match(e) => {}
                Some(e) => {
                    return Err(format!(
                        "environment `{e}` does not match {}",
                        envs.describe()
                    ));
                }
                None => {
                    return Err(format!(
                        "no deployment environment (environments: {})",
                        envs.describe()
                    ));
                }
            }
        }
        if let Some(paths) = &self.paths {
            let files = changed_paths(facts);
            if !files.iter().any(|p| paths.is_match(p)) {
                return Err(format!(
                    "none of the {} changed files matches {}",
                    files.len(),
                    paths.describe()
                ));
            }
        }
        Ok(())
    }
}

/// The branch a run is about: the base of a change, otherwise the gated ref's branch.
pub fn gated_branch(facts: &Facts) -> Option<&str> {
    match (&facts.change, facts.event.kind) {
        (Some(change), EventKind::PullRequest | EventKind::MergeGroup) => Some(&change.base.name),
        _ => facts.git_ref.branch(),
    }
}

fn changed_paths(facts: &Facts) -> Vec<&str> {
    facts
        .changed_files()
        .iter()
        .flat_map(|f| std::iter::once(f.path.as_str()).chain(f.previous_path.as_deref()))
        .collect()
}
