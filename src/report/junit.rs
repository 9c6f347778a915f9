//! The `junit` report: JUnit XML with one test case per rule, the shape GitLab
//! reads from `artifacts:reports:junit` (and most CI systems understand).
//!
//! - passed rule → an empty `<testcase>`
//! - skipped rule → `<skipped message="why"/>`
//! - failed rule → `<failure type="block|warn">` (a `warn` rule that fails is
//!   shown as failed, while the decision itself still allows)
//! - a rule that could not decide → `<error type="indeterminate">`
//!
//! Every piece of text goes through [`crate::sanitize::xml`].

use std::fmt::Write as _;

use crate::decision::{Decision, Outcome, RuleResult};
use crate::sanitize::xml::{attr as x, text};

pub fn render(decision: &Decision) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let failures = count(decision, Outcome::Fail);
    let errors = count(decision, Outcome::Error);
    let skipped = count(decision, Outcome::Skipped);
    let tests = decision.rules.len();
    let time = decision
        .evaluated_at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let _ = writeln!(
        out,
        "<testsuites name=\"gatehouse\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" timestamp=\"{time}\">",
        x(&format!("gatehouse policy {}", decision.policy.path))
    );
    let _ = writeln!(out, "    <properties>");
    for (name, value) in properties(decision) {
        let _ = writeln!(
            out,
            "      <property name=\"{}\" value=\"{}\"/>",
            x(name),
            x(&value)
        );
    }
    let _ = writeln!(out, "    </properties>");
    for rule in &decision.rules {
        test_case(&mut out, decision, rule);
    }
    let _ = writeln!(out, "  </testsuite>");
    let _ = writeln!(out, "</testsuites>");
    out
}

fn count(decision: &Decision, outcome: Outcome) -> usize {
    decision
        .rules
        .iter()
        .filter(|r| r.outcome == outcome)
        .count()
}

fn properties(decision: &Decision) -> Vec<(&'static str, String)> {
    let s = &decision.subject;
    let mut props = vec![
        ("verdict", decision.verdict.as_str().to_string()),
        ("dry_run", decision.dry_run.to_string()),
        ("repository", s.repo.clone()),
        ("ref", s.git_ref.clone()),
        ("sha", s.sha.clone()),
        ("policy_digest", decision.policy.digest.clone()),
    ];
    if let Some(change) = s.change {
        props.push(("change", change.to_string()));
    }
    if let Some(env) = &s.environment {
        props.push(("environment", env.clone()));
    }
    props
}

fn test_case(out: &mut String, decision: &Decision, rule: &RuleResult) {
    let name = match &rule.description {
        Some(d) => format!("{}: {d}", rule.id),
        None => rule.id.clone(),
    };
    let open = format!(
        "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\"",
        x(&name),
        x(&format!("gatehouse.{}", rule.kind)),
        x(&decision.policy.path),
    );
    let summary = rule.summary.clone().unwrap_or_default();
    match rule.outcome {
        Outcome::Pass => {
            let _ = writeln!(out, "{open}>");
            if !rule.evidence.is_empty() || !summary.is_empty() {
                let mut body = summary.clone();
                for e in &rule.evidence {
                    body.push_str("\n  ");
                    body.push_str(e);
                }
                let _ = writeln!(out, "      <system-out>{}</system-out>", text(&body));
            }
            let _ = writeln!(out, "    </testcase>");
        }
        Outcome::Skipped => {
            let _ = writeln!(out, "{open}>");
            let _ = writeln!(out, "      <skipped message=\"{}\"/>", x(&summary));
            let _ = writeln!(out, "    </testcase>");
        }
        Outcome::Fail | Outcome::Error => {
            let (element, kind) = if rule.outcome == Outcome::Error {
                ("error", "indeterminate")
            } else {
                ("failure", rule.severity.as_str())
            };
            let message = rule
                .findings
                .first()
                .map(|f| f.message.clone())
                .unwrap_or_else(|| summary.clone());
            let _ = writeln!(out, "{open}>");
            let _ = writeln!(
                out,
                "      <{element} message=\"{}\" type=\"{kind}\">{}</{element}>",
                x(&message),
                text(&details(rule))
            );
            let _ = writeln!(out, "    </testcase>");
        }
    }
}

/// The findings as readable text: message, evidence, fix.
fn details(rule: &RuleResult) -> String {
    let mut body = String::new();
    if let Some(summary) = &rule.summary {
        let _ = writeln!(body, "{summary}");
    }
    for finding in &rule.findings {
        let _ = writeln!(body, "- {}", finding.message);
        for e in &finding.evidence {
            let _ = writeln!(body, "    {e}");
        }
        if let Some(fix) = &finding.remediation {
            let _ = writeln!(body, "  fix: {fix}");
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Finding;
    use crate::engine::{EvalOptions, evaluate};
    use crate::rules::testing::facts;

    /// Two ref rules on the fixture facts; the second is then made to be one
    /// that could not decide.
    fn decision_with_an_error() -> Decision {
        let policy = crate::policy::parse(
            "p.toml",
            "version = 1\n[[rule]]\nid = \"main-only\"\nkind = \"ref\"\nbranches = [\"main\"]\n\n[[rule]]\nid = \"tags\"\nkind = \"ref\"\ntags = [\"v*\"]\n",
        )
        .unwrap();
        let facts = facts();
        let mut d = evaluate(&policy, &facts, EvalOptions::at(facts.gathered_at));
        d.rules[1].outcome = Outcome::Error;
        d.rules[1].findings = vec![Finding::new("the source cannot see `tags`")];
        d
    }

    #[test]
    fn a_rule_that_could_not_decide_is_an_error_test_case() {
        let xml = render(&decision_with_an_error());
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let error = doc.descendants().find(|n| n.has_tag_name("error")).unwrap();
        assert_eq!(error.attribute("type"), Some("indeterminate"));
        assert_eq!(
            error.attribute("message"),
            Some("the source cannot see `tags`")
        );
        assert_eq!(doc.root_element().attribute("errors"), Some("1"));
    }
}
