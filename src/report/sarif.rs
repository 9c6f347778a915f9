//! The `sarif` report: SARIF 2.1.0 for GitHub code scanning and other SARIF
//! viewers. Every rule of the policy is a reporting descriptor with help text
//! (its kind's documentation); every finding of a failing or undecidable rule
//! is a result, located at the rule's line in the policy file (the gate
//! judges a change, not a line of source, so the rule is the place to fix).
//!
//! Text from the facts is neutralised as for a terminal: SARIF `text` is
//! plain text, but viewers print it into logs and consoles.

use std::path::Path;

use serde_json::{Value, json};

use crate::decision::{Decision, Outcome, RuleResult};
use crate::explain;
use crate::policy::{DEFAULT_POLICY_NAME, Severity};
use crate::rules::registry;
use crate::sanitize::terminal;

pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(result: &RuleResult) -> &'static str {
    match (result.outcome, result.severity) {
        (Outcome::Error, _) | (_, Severity::Block) => "error",
        (_, Severity::Warn) => "warning",
    }
}

/// The policy path as a URI relative to the working directory when it lies
/// under it (code scanning resolves URIs against the repository root).
pub(super) fn policy_uri(path: &str) -> String {
    let p = Path::new(path);
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| p.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| p.to_path_buf());
    relative.to_string_lossy().replace('\\', "/")
}

fn descriptor(result: &RuleResult) -> Value {
    let short = result
        .description
        .clone()
        .unwrap_or_else(|| format!("gatehouse `{}` rule", result.kind));
    let help = registry::find(&result.kind).map_or_else(
        || format!("See `gatehouse explain {}`.", result.kind),
        explain::explain,
    );
    json!({
        "id": result.id,
        "name": result.kind,
        "shortDescription": { "text": terminal(&short) },
        "fullDescription": { "text": terminal(&short) },
        "help": { "text": help },
        // The rule's own severity; a rule that could not decide is still an
        // `error` result (it blocks whatever its severity).
        "defaultConfiguration": { "level": match result.severity {
            Severity::Block => "error",
            Severity::Warn => "warning",
        } },
        "properties": { "kind": result.kind, "severity": result.severity.as_str() },
    })
}

fn message(result: &RuleResult, finding: &crate::decision::Finding) -> String {
    let mut text = finding.message.trim_end().to_string();
    for e in &finding.evidence {
        text.push_str("\n  ");
        text.push_str(e);
    }
    if let Some(fix) = &finding.remediation {
        text.push_str("\nfix: ");
        text.push_str(fix.trim_end());
    }
    if result.outcome == Outcome::Error {
        text = format!("could not decide: {text}");
    }
    terminal(&text)
}

pub fn render(decision: &Decision) -> String {
    let has_file = decision.policy.path != DEFAULT_POLICY_NAME;
    let uri = policy_uri(&decision.policy.path);
    let mut results = Vec::new();
    for (index, r) in decision.rules.iter().enumerate() {
        if !matches!(r.outcome, Outcome::Fail | Outcome::Error) {
            continue;
        }
        for f in &r.findings {
            let mut result = json!({
                "ruleId": r.id,
                "ruleIndex": index,
                "level": level(r),
                "message": { "text": message(r, f) },
                "properties": { "outcome": r.outcome.as_str() },
            });
            if has_file {
                let mut physical = json!({ "artifactLocation": { "uri": uri } });
                if let Some(line) = r.policy_line {
                    physical["region"] = json!({ "startLine": line });
                }
                result["locations"] = json!([{ "physicalLocation": physical }]);
            }
            results.push(result);
        }
    }
    let log = json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "gatehouse",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": decision.rules.iter().map(descriptor).collect::<Vec<_>>(),
            }},
            "automationDetails": { "id": format!("gatehouse/{}/", terminal(&decision.subject.repo)) },
            "results": results,
            "properties": {
                "verdict": decision.verdict.as_str(),
                "dryRun": decision.dry_run,
                "subject": {
                    "repo": terminal(&decision.subject.repo),
                    "ref": terminal(&decision.subject.git_ref),
                    "sha": decision.subject.sha,
                },
                "policyDigest": decision.policy.digest,
            },
        }],
    });
    let mut out =
        serde_json::to_string_pretty(&log).expect("a SARIF log is plain data and serialises");
    out.push('\n');
    out
}
