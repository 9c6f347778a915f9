//! The result of evaluating a policy: one [`RuleResult`] per rule and the
//! overall [`Verdict`], computed in exactly one place ([`Verdict::from_results`]).
//!
//! These types are serialised as the `json` report and inside audit records, so
//! their field names are a contract: add fields, never rename them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::policy::Severity;

/// What happened to one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The rule applied and its requirement holds.
    Pass,
    /// The rule applied and its requirement does not hold.
    Fail,
    /// The rule's `when` conditions did not match this run.
    Skipped,
    /// The rule could not decide (missing or contradictory facts). Blocks like a
    /// failure, whatever the severity: "could not tell" never means "allowed".
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Skipped => "skipped",
            Outcome::Error => "error",
        }
    }
}

/// One thing a rule found wrong (or could not determine).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// What is wrong, in one sentence.
    pub message: String,
    /// What was looked at to reach this finding (commit ids, file paths, values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// How to fix it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
}

impl Finding {
    pub fn new(message: impl Into<String>) -> Self {
        Finding {
            message: message.into(),
            evidence: Vec::new(),
            remediation: None,
        }
    }

    pub fn evidence(mut self, item: impl Into<String>) -> Self {
        self.evidence.push(item.into());
        self
    }

    pub fn remediation(mut self, hint: impl Into<String>) -> Self {
        self.remediation = Some(hint.into());
        self
    }
}

/// The result of one rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleResult {
    pub id: String,
    pub kind: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub outcome: Outcome,
    /// Why the rule was skipped, or a summary of what it checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// What the rule looked at when it passed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// 1-based line of the rule in the policy file, for reports that point at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_line: Option<usize>,
    /// The rule failed but a break-glass override let it through (see
    /// `Decision.overrides`). The outcome stays `fail`: an overridden rule is
    /// "allow (overridden)", never a pass.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overridden: bool,
}

impl RuleResult {
    /// Whether this result stops the pipeline on its own.
    pub fn blocks(&self) -> bool {
        match self.outcome {
            Outcome::Error => true,
            Outcome::Fail => self.severity == Severity::Block && !self.overridden,
            Outcome::Pass | Outcome::Skipped => false,
        }
    }
}

/// The overall decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every blocking rule passed or was skipped (warnings allowed).
    Allow,
    /// At least one blocking rule failed.
    Block,
    /// At least one rule could not decide; the gate blocks.
    Error,
}

impl Verdict {
    /// The one place where rule results become a decision.
    ///
    /// An error anywhere wins over a failure: the user must first learn that the
    /// gate could not decide, which is a different fix from a violated policy.
    pub fn from_results(results: &[RuleResult]) -> Verdict {
        if results.iter().any(|r| r.outcome == Outcome::Error) {
            Verdict::Error
        } else if results.iter().any(RuleResult::blocks) {
            Verdict::Block
        } else {
            Verdict::Allow
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Block => "block",
            Verdict::Error => "error",
        }
    }
}

/// Counts of outcomes, for summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
    pub warned: usize,
    pub skipped: usize,
    pub errors: usize,
    /// Failed rules let through by a break-glass override.
    #[serde(default)]
    pub overridden: usize,
}

/// The decision of one gate run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub verdict: Verdict,
    /// True when this run was a dry run: it decided nothing for the pipeline.
    pub dry_run: bool,
    /// The instant the policy was evaluated at.
    pub evaluated_at: DateTime<Utc>,
    pub policy: PolicyRef,
    pub subject: Subject,
    pub tally: Tally,
    pub rules: Vec<RuleResult>,
    /// Things the user should know that are not rule results (for example: the
    /// change modifies the policy file, which was read from the base instead).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
    /// Failing rules let through by their break-glass override: who, why, which
    /// rule and on what evidence. Audit records carry these verbatim.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<Override>,
}

/// A failing rule let through by its break-glass `override`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Override {
    /// The rule id.
    pub rule: String,
    /// What invoked it: `label:emergency`, or `env:GATEHOUSE_OVERRIDE_REASON`.
    pub trigger: String,
    /// The logins whose approval authorised it.
    pub approvers: Vec<String>,
    /// The reason given (the variable's value, or the change's text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What was looked at: the approvals, the label, the rule's findings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

/// Which policy was evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyRef {
    pub path: String,
    /// `sha256:<hex>` of the policy file's bytes.
    pub digest: String,
    /// The commit the policy was read from, when it came from git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<String>,
}

/// What was gated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    pub repo: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub sha: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

impl Decision {
    pub fn tally(results: &[RuleResult]) -> Tally {
        let mut t = Tally::default();
        for r in results {
            match r.outcome {
                Outcome::Pass => t.passed += 1,
                Outcome::Skipped => t.skipped += 1,
                Outcome::Error => t.errors += 1,
                Outcome::Fail if r.overridden => t.overridden += 1,
                Outcome::Fail if r.severity == Severity::Warn => t.warned += 1,
                Outcome::Fail => t.failed += 1,
            }
        }
        t
    }

    /// Results that block the pipeline.
    pub fn blocking(&self) -> impl Iterator<Item = &RuleResult> {
        self.rules.iter().filter(|r| r.blocks())
    }
}
