//! Policy × Facts → Decision. No I/O: the caller gathers facts and writes results.

use chrono::{DateTime, Utc};

use crate::decision::{Decision, Outcome, Override, PolicyRef, RuleResult, Subject, Verdict};
use crate::facts::Facts;
use crate::overrides::{self, Attempt};
use crate::policy::Policy;
use crate::rules::RuleInput;

/// What the engine needs besides the policy and the facts.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// The evaluation instant (the real clock, or `--now` in a dry run).
    pub now: DateTime<Utc>,
    /// `--environment`, which wins over the deployment's own environment.
    pub environment: Option<String>,
    pub dry_run: bool,
    /// The commit the policy was read from, when it came from git.
    pub policy_source_ref: Option<String>,
    /// Notices gathered before evaluation (for example from the source).
    pub notices: Vec<String>,
    /// `GATEHOUSE_OVERRIDE_REASON`, when set and not blank: invokes a rule's
    /// break-glass override in a deployment and is its recorded reason.
    pub override_reason: Option<String>,
}

impl EvalOptions {
    /// An enforcing evaluation at `now` with nothing else set.
    pub fn at(now: DateTime<Utc>) -> EvalOptions {
        EvalOptions {
            now,
            environment: None,
            dry_run: false,
            policy_source_ref: None,
            notices: Vec::new(),
            override_reason: None,
        }
    }
}

/// Evaluate every rule of `policy` against `facts`.
pub fn evaluate(policy: &Policy, facts: &Facts, options: EvalOptions) -> Decision {
    let environment = options
        .environment
        .clone()
        .or_else(|| facts.deployment.as_ref().map(|d| d.environment.clone()));
    let input = RuleInput {
        facts,
        now: options.now,
        environment: environment.as_deref(),
    };

    let override_context = overrides::Context {
        facts,
        environment: input.environment,
        reason: options.override_reason.as_deref(),
    };
    let mut granted: Vec<Override> = Vec::new();

    let rules: Vec<RuleResult> = policy
        .rules
        .iter()
        .map(|rule| {
            let mut result = RuleResult {
                id: rule.id.clone(),
                kind: rule.kind.to_string(),
                severity: rule.severity,
                description: rule.description.clone(),
                outcome: Outcome::Skipped,
                summary: None,
                findings: Vec::new(),
                evidence: Vec::new(),
                // A rule taken unchanged from a pack has no line in the policy file.
                policy_line: rule.pack.is_none().then_some(rule.line),
                overridden: false,
            };
            match rule.when.applies(facts, input.environment) {
                Err(reason) => result.summary = Some(reason),
                Ok(()) => {
                    let evaluation = rule.rule.evaluate(&input);
                    result.outcome = evaluation.outcome;
                    result.summary = evaluation.summary;
                    result.findings = evaluation.findings;
                    result.evidence = evaluation.evidence;
                }
            }
            // Break-glass is for failures that block; a warning needs no override.
            if result.outcome == Outcome::Fail && result.severity == crate::policy::Severity::Block
            {
                match overrides::attempt(&rule.overrides, &result, &override_context) {
                    Attempt::NotInvoked => {}
                    Attempt::Refused(finding) => result.findings.push(finding),
                    Attempt::Granted(record) => {
                        result.overridden = true;
                        granted.push(record);
                    }
                }
            }
            result
        })
        .collect();

    let mut notices = options.notices;
    if !rules.is_empty() && rules.iter().all(|r| r.outcome == Outcome::Skipped) {
        notices.push(format!(
            "every rule of the policy was skipped for this run: nothing was enforced (all {} rules' `when` conditions failed to match)",
            rules.len()
        ));
    }
    if rules.is_empty() {
        notices.push("the policy has no rules: nothing was enforced".to_string());
    }

    Decision {
        verdict: Verdict::from_results(&rules),
        dry_run: options.dry_run,
        evaluated_at: options.now,
        policy: PolicyRef {
            path: policy.origin.clone(),
            digest: policy.digest.clone(),
            source_ref: options.policy_source_ref,
        },
        subject: Subject {
            repo: facts.repository.slug.clone(),
            git_ref: facts.git_ref.name.clone(),
            sha: facts.git_ref.sha.clone(),
            change: facts.change.as_ref().map(|c| c.id),
            environment,
        },
        tally: Decision::tally(&rules),
        rules,
        notices,
        overrides: granted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::parse;
    use crate::rules::testing::facts;

    fn decide(policy: &str) -> Decision {
        let policy = parse("p.toml", policy).unwrap();
        let facts = facts();
        evaluate(&policy, &facts, EvalOptions::at(facts.gathered_at))
    }

    #[test]
    fn warn_rules_never_block() {
        let d = decide(
            "version = 1\n[[rule]]\nid = \"only-tags\"\nkind = \"ref\"\nseverity = \"warn\"\ntags = [\"v*\"]\n",
        );
        assert_eq!(d.rules[0].outcome, Outcome::Fail);
        assert_eq!(d.verdict, Verdict::Allow);
        assert_eq!(d.tally.warned, 1);
    }

    #[test]
    fn block_rules_block() {
        let d =
            decide("version = 1\n[[rule]]\nid = \"only-tags\"\nkind = \"ref\"\ntags = [\"v*\"]\n");
        assert_eq!(d.verdict, Verdict::Block);
    }

    #[test]
    fn skipped_rules_are_reported_and_noticed() {
        let d = decide(
            "version = 1\n[[rule]]\nid = \"prod\"\nkind = \"ref\"\ntags = [\"v*\"]\nwhen = { environments = [\"production\"] }\n",
        );
        assert_eq!(d.rules[0].outcome, Outcome::Skipped);
        assert_eq!(d.verdict, Verdict::Allow);
        assert!(d.notices[0].contains("every rule of the policy was skipped"));
    }

    #[test]
    fn errors_win_over_failures() {
        let d = decide(
            "version = 1\n[[rule]]\nid = \"a\"\nkind = \"ref\"\ntags = [\"v*\"]\n[[rule]]\nid = \"b\"\nkind = \"message\"\ntitle_pattern = \"x\"\nseverity = \"warn\"\n",
        );
        assert_eq!(d.rules[1].outcome, Outcome::Error);
        assert_eq!(d.verdict, Verdict::Error);
    }
}
