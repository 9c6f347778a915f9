//! Rule kinds. One file per kind, each holding its config type (whose doc
//! comment is the kind's documentation, shown by `gatehouse explain` and put in
//! the JSON schema), its validation, its evaluation and its unit tests.
//!
//! Rules are pure: a rule sees only [`RuleInput`] (the Facts and the instant of
//! evaluation) and its own validated config, does no I/O, and returns an
//! [`Evaluation`]. Adding a kind means adding a file and one line to
//! [`registry::KINDS`].

pub mod hints;
pub mod message;
pub mod principals;
pub mod refs;
pub mod registry;
#[cfg(test)]
pub(crate) mod testing;

use std::fmt::Debug;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::decision::{Finding, Outcome};
use crate::facts::Facts;
use crate::policy::PolicyDiagnostic;

/// Everything a rule may look at.
#[derive(Debug, Clone, Copy)]
pub struct RuleInput<'a> {
    pub facts: &'a Facts,
    /// The instant the policy is evaluated at (the real clock, or `--now` in a dry run).
    pub now: DateTime<Utc>,
    /// The deployment environment of this run, if any.
    pub environment: Option<&'a str>,
}

/// A validated, ready-to-run rule.
pub trait Rule: Debug + Send + Sync {
    fn evaluate(&self, input: &RuleInput<'_>) -> Evaluation;

    /// Team slugs (`acme/sre`) this rule names (see
    /// [`principals::Principals::teams`]), so a source gathers their members
    /// before evaluation.
    fn teams(&self) -> Vec<String> {
        Vec::new()
    }
}

/// What a rule decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// `Pass`, `Fail` or `Error` (never `Skipped`: that is the engine's call).
    pub outcome: Outcome,
    /// One line saying what was checked ("3 commits checked").
    pub summary: Option<String>,
    pub findings: Vec<Finding>,
    /// What was looked at, shown when the rule passed.
    pub evidence: Vec<String>,
}

impl Evaluation {
    pub fn pass(summary: impl Into<String>) -> Self {
        Evaluation {
            outcome: Outcome::Pass,
            summary: Some(summary.into()),
            findings: Vec::new(),
            evidence: Vec::new(),
        }
    }

    /// A failure with the given findings; no findings would be a bug, so it is
    /// turned into an error rather than a silent pass.
    pub fn fail(summary: impl Into<String>, findings: Vec<Finding>) -> Self {
        if findings.is_empty() {
            return Evaluation::error(Finding::new(
                "rule failed without saying why (a bug in gatehouse)",
            ));
        }
        Evaluation {
            outcome: Outcome::Fail,
            summary: Some(summary.into()),
            findings,
            evidence: Vec::new(),
        }
    }

    /// The rule could not decide; the gate blocks.
    pub fn error(finding: Finding) -> Self {
        Evaluation {
            outcome: Outcome::Error,
            summary: None,
            findings: vec![finding],
            evidence: Vec::new(),
        }
    }

    /// Pass when there are no findings, fail otherwise.
    pub fn from_findings(summary: impl Into<String>, findings: Vec<Finding>) -> Self {
        if findings.is_empty() {
            Evaluation::pass(summary)
        } else {
            Evaluation::fail(summary, findings)
        }
    }

    pub fn with_evidence(mut self, evidence: impl IntoIterator<Item = String>) -> Self {
        self.evidence.extend(evidence);
        self
    }
}

/// Why a rule's config was rejected.
#[derive(Debug)]
pub enum ConfigError {
    /// The table did not deserialize (unknown key, wrong type, missing key).
    Toml(toml::de::Error),
    /// It deserialized but a value is invalid (bad regex, bad glob, …).
    Invalid(Vec<PolicyDiagnostic>),
}

/// A rule kind's config: deserialized from its `[[rule]]` table (with
/// `deny_unknown_fields`), documented by its doc comment, validated into a [`Rule`].
pub trait RuleConfig: DeserializeOwned + JsonSchema {
    fn validate(self) -> Result<Box<dyn Rule>, Vec<PolicyDiagnostic>>;
}

/// Deserialize and validate a config of type `C`.
pub fn build<C: RuleConfig>(
    de: toml::de::ValueDeserializer<'_>,
) -> Result<Box<dyn Rule>, ConfigError> {
    let config = C::deserialize(de).map_err(ConfigError::Toml)?;
    config.validate().map_err(ConfigError::Invalid)
}
