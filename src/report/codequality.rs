//! The `codequality` report: GitLab's Code Quality JSON
//! (`artifacts:reports:codequality`), a subset of the Code Climate spec.
//!
//! One entry per finding of every rule that failed or could not decide,
//! pointing at the rule's line in the policy file (that is what a reviewer
//! must read or change). `[]` when nothing failed. GitLab compares the
//! entries of the merge request's pipeline with the target branch's by
//! `fingerprint`, so it depends only on what the finding is (rule id, outcome,
//! message), never on the time or the run.
//!
//! Severity: a blocking failure is `blocker`, a rule that could not decide is
//! `critical`, a `warn` rule's failure is `minor`.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::decision::{Decision, Outcome, RuleResult};
use crate::policy::Severity;
use crate::sanitize::terminal_line;

#[derive(Serialize)]
struct Entry {
    description: String,
    check_name: String,
    fingerprint: String,
    severity: &'static str,
    location: Location,
}

#[derive(Serialize)]
struct Location {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: usize,
}

pub fn render(decision: &Decision) -> String {
    let entries: Vec<Entry> = decision
        .rules
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Fail | Outcome::Error))
        .flat_map(|rule| entries(decision, rule))
        .collect();
    let mut out = serde_json::to_string_pretty(&entries)
        .expect("Code Quality entries are plain data and always serialise");
    out.push('\n');
    out
}

fn entries(decision: &Decision, rule: &RuleResult) -> Vec<Entry> {
    let severity = match (rule.outcome, rule.severity) {
        (Outcome::Error, _) => "critical",
        (_, Severity::Block) => "blocker",
        (_, Severity::Warn) => "minor",
    };
    let messages: Vec<String> = if rule.findings.is_empty() {
        vec![
            rule.summary
                .clone()
                .unwrap_or_else(|| format!("rule {} did not pass", rule.id)),
        ]
    } else {
        rule.findings.iter().map(|f| f.message.clone()).collect()
    };
    messages
        .into_iter()
        .map(|message| Entry {
            description: terminal_line(&format!("{}: {message}", rule.id)),
            check_name: rule.id.clone(),
            fingerprint: fingerprint(&rule.id, rule.outcome, &message),
            severity,
            location: Location {
                path: decision.policy.path.clone(),
                lines: Lines {
                    begin: rule.policy_line.unwrap_or(1),
                },
            },
        })
        .collect()
}

/// SHA-256 over the parts that say what the finding is, NUL-separated so
/// that no two different triples hash alike.
fn fingerprint(rule: &str, outcome: Outcome, message: &str) -> String {
    let mut h = Sha256::new();
    for part in ["gatehouse", rule, outcome.as_str(), message] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_differ_by_rule_outcome_and_message() {
        let a = fingerprint("r", Outcome::Fail, "m");
        assert_eq!(a, fingerprint("r", Outcome::Fail, "m"));
        assert_ne!(a, fingerprint("r2", Outcome::Fail, "m"));
        assert_ne!(a, fingerprint("r", Outcome::Error, "m"));
        assert_ne!(a, fingerprint("r", Outcome::Fail, "m2"));
        assert_ne!(
            fingerprint("ab", Outcome::Fail, "c"),
            fingerprint("a", Outcome::Fail, "bc")
        );
    }
}

#[cfg(test)]
mod error_tests {
    use crate::decision::{Finding, Outcome};
    use crate::engine::{EvalOptions, evaluate};
    use crate::rules::testing::facts;

    #[test]
    fn a_rule_that_could_not_decide_is_critical() {
        let policy = crate::policy::parse(
            "p.toml",
            "version = 1\n[[rule]]\nid = \"tags\"\nkind = \"ref\"\ntags = [\"v*\"]\n",
        )
        .unwrap();
        let facts = facts();
        let mut d = evaluate(&policy, &facts, EvalOptions::at(facts.gathered_at));
        d.rules[0].outcome = Outcome::Error;
        d.rules[0].findings = vec![Finding::new("cannot see `tags`")];
        let entries: serde_json::Value = serde_json::from_str(&super::render(&d)).unwrap();
        assert_eq!(entries[0]["severity"], "critical");
        assert_eq!(entries[0]["location"]["path"], "p.toml");
        assert_eq!(entries[0]["location"]["lines"]["begin"], 2);
    }
}
