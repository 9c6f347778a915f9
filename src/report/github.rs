//! The `github` report: GitHub Actions workflow commands. Each failing rule
//! becomes an annotation (`::error` for a block or an undecidable rule,
//! `::warning` for a warning) located at the rule in the policy file; the
//! platform shows at most 10 of each per step, so the rest are summarised in
//! one `::notice`. The full human report follows inside a
//! `::stop-commands::<random token>` block, so nothing an attacker wrote into
//! a commit message can run as a command.

use std::fmt::Write as _;

use super::RenderOptions;
use crate::decision::{Decision, Outcome, RuleResult, Verdict};
use crate::policy::{DEFAULT_POLICY_NAME, Severity};
use crate::sanitize::github::{StopCommands, annotation_data, annotation_property, log_text};

/// GitHub keeps at most this many error and this many warning annotations
/// per step.
pub const ANNOTATION_LIMIT: usize = 10;

#[derive(Clone, Copy, PartialEq)]
enum Level {
    Error,
    Warning,
}

fn level(result: &RuleResult) -> Option<Level> {
    match (result.outcome, result.severity) {
        (Outcome::Error, _) | (Outcome::Fail, Severity::Block) => Some(Level::Error),
        (Outcome::Fail, Severity::Warn) => Some(Level::Warning),
        _ => None,
    }
}

fn annotation(decision: &Decision, result: &RuleResult, level: Level) -> String {
    let command = match level {
        Level::Error => "error",
        Level::Warning => "warning",
    };
    let mut properties = Vec::new();
    if decision.policy.path != DEFAULT_POLICY_NAME {
        properties.push(format!(
            "file={}",
            annotation_property(&super::sarif::policy_uri(&decision.policy.path))
        ));
        if let Some(line) = result.policy_line {
            properties.push(format!("line={line}"));
        }
    }
    let what = if result.outcome == Outcome::Error {
        "could not decide"
    } else {
        "failed"
    };
    properties.push(format!(
        "title={}",
        annotation_property(&format!("gatehouse: {} {what}", result.id))
    ));
    let mut message = String::new();
    if let Some(d) = &result.description {
        let _ = writeln!(message, "{d}");
    }
    for f in &result.findings {
        let _ = writeln!(message, "- {}", f.message.trim_end());
        for e in &f.evidence {
            let _ = writeln!(message, "    {e}");
        }
        if let Some(fix) = &f.remediation {
            let _ = writeln!(message, "  fix: {}", fix.trim_end());
        }
    }
    format!(
        "::{command} {}::{}\n",
        properties.join(","),
        annotation_data(message.trim_end())
    )
}

pub fn render(decision: &Decision) -> String {
    let mut out = String::new();
    let mut shown = [0usize; 2];
    let mut hidden = [0usize; 2];
    for result in &decision.rules {
        let Some(level) = level(result) else { continue };
        let i = usize::from(level == Level::Warning);
        if shown[i] < ANNOTATION_LIMIT {
            shown[i] += 1;
            out.push_str(&annotation(decision, result, level));
        } else {
            hidden[i] += 1;
        }
    }
    if hidden != [0, 0] {
        let _ = writeln!(
            out,
            "::notice title=gatehouse::{}",
            annotation_data(&format!(
                "{} more error and {} more warning annotations not shown (GitHub shows at most {ANNOTATION_LIMIT} of each per step); the job summary and the log below list every rule",
                hidden[0], hidden[1]
            ))
        );
    }
    let verdict = match (decision.verdict, decision.dry_run) {
        (Verdict::Allow, false) => "allowed",
        (Verdict::Allow, true) => "would allow (dry run)",
        (Verdict::Block, false) => "blocked",
        (Verdict::Block, true) => "would block (dry run)",
        (Verdict::Error, false) => "blocked (indeterminate)",
        (Verdict::Error, true) => "would block (indeterminate, dry run)",
    };
    if decision.verdict != Verdict::Allow && shown == [0, 0] {
        // Nothing annotated, yet the gate blocks: say so where GitHub shows it.
        let _ = writeln!(
            out,
            "::error title=gatehouse::{}",
            annotation_data(&format!("gatehouse {verdict}"))
        );
    }
    let human = super::human::render(decision, RenderOptions { color: false });
    out.push_str(&StopCommands::new().wrap(&log_text(&human)));
    out
}
