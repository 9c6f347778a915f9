//! The `human` report: one aligned line per rule, details under the rules that
//! failed or could not decide, and a closing verdict line.

use std::fmt::Write as _;

use super::RenderOptions;
use crate::decision::{Decision, Outcome, RuleResult, Verdict};
use crate::facts::short_sha;
use crate::policy::Severity;
use crate::sanitize::{terminal, terminal_line};

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, style: &str, text: &str) -> String {
        if self.color {
            format!("{style}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

fn label(result: &RuleResult) -> (&'static str, &'static str) {
    match (result.outcome, result.severity) {
        // Never a plain PASS: the rule failed and was let through on the record.
        (Outcome::Fail, _) if result.overridden => ("ALLOW", YELLOW),
        (Outcome::Pass, _) => ("PASS", GREEN),
        (Outcome::Fail, Severity::Warn) => ("WARN", YELLOW),
        (Outcome::Fail, Severity::Block) => ("FAIL", RED),
        (Outcome::Skipped, _) => ("SKIP", DIM),
        (Outcome::Error, _) => ("ERROR", RED),
    }
}

pub fn render(decision: &Decision, options: RenderOptions) -> String {
    let p = Painter {
        color: options.color,
    };
    let mut out = String::new();
    let s = &decision.subject;
    let mut header = format!(
        "gatehouse: {} {} @ {}",
        terminal_line(&s.repo),
        terminal_line(&s.git_ref),
        short_sha(&s.sha)
    );
    if let Some(change) = s.change {
        let _ = write!(header, " (change #{change})");
    }
    if let Some(env) = &s.environment {
        let _ = write!(header, " → {}", terminal_line(env));
    }
    let _ = writeln!(out, "{}", p.paint(BOLD, &header));
    let _ = writeln!(
        out,
        "policy {} ({})",
        terminal_line(&decision.policy.path),
        &decision.policy.digest[..decision.policy.digest.len().min(19)]
    );
    for notice in &decision.notices {
        let _ = writeln!(
            out,
            "{} {}",
            p.paint(YELLOW, "note:"),
            terminal_line(notice)
        );
    }
    out.push('\n');

    let id_width = decision
        .rules
        .iter()
        .map(|r| r.id.chars().count())
        .max()
        .unwrap_or(0);
    for result in &decision.rules {
        let (name, style) = label(result);
        let summary = result
            .summary
            .as_deref()
            .or(result.description.as_deref())
            .unwrap_or("");
        let summary = if result.overridden {
            format!("allow (overridden): {summary}")
        } else {
            summary.to_string()
        };
        let _ = writeln!(
            out,
            "  {}  {:<id_width$}  {}",
            p.paint(style, &format!("{name:<5}")),
            result.id,
            terminal_line(&summary).trim_end()
        );
        if matches!(result.outcome, Outcome::Fail | Outcome::Error) {
            for finding in &result.findings {
                let _ = writeln!(
                    out,
                    "         {} {}",
                    p.paint(style, "✗"),
                    indent(&terminal(&finding.message), 11)
                );
                for e in &finding.evidence {
                    let _ = writeln!(out, "             {}", terminal_line(e));
                }
                if let Some(fix) = &finding.remediation {
                    let _ = writeln!(
                        out,
                        "           {} {}",
                        p.paint(BOLD, "fix:"),
                        indent(&terminal(fix), 16)
                    );
                }
            }
            for o in decision.overrides.iter().filter(|o| o.rule == result.id) {
                let _ = writeln!(
                    out,
                    "         {} {} approved by {}{}",
                    p.paint(YELLOW, "override:"),
                    terminal_line(&o.trigger),
                    terminal_line(&o.approvers.join(", ")),
                    o.reason
                        .as_deref()
                        .map(|r| format!(" — reason: {}", terminal_line(r)))
                        .unwrap_or_default()
                );
            }
        }
    }
    if !decision.rules.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "{}", verdict_line(decision, &p));
    out
}

fn indent(text: &str, width: usize) -> String {
    text.trim_end()
        .replace('\n', &format!("\n{}", " ".repeat(width)))
}

fn verdict_line(decision: &Decision, p: &Painter) -> String {
    let t = decision.tally;
    let mut counts = vec![format!("{} passed", t.passed)];
    if t.failed > 0 {
        counts.push(format!("{} failed", t.failed));
    }
    if t.errors > 0 {
        counts.push(format!("{} could not decide", t.errors));
    }
    if t.warned > 0 {
        counts.push(format!(
            "{} warning{}",
            t.warned,
            if t.warned == 1 { "" } else { "s" }
        ));
    }
    if t.overridden > 0 {
        counts.push(format!("{} overridden", t.overridden));
    }
    if t.skipped > 0 {
        counts.push(format!("{} skipped", t.skipped));
    }
    let counts = counts.join(", ");
    let blocking: Vec<&str> = decision.blocking().map(|r| r.id.as_str()).collect();
    let (word, style) = match (decision.verdict, decision.dry_run) {
        (Verdict::Allow, false) => ("allowed", GREEN),
        (Verdict::Allow, true) => ("would allow", GREEN),
        (Verdict::Block, false) => ("blocked", RED),
        (Verdict::Block, true) => ("would block", RED),
        (Verdict::Error, false) => ("blocked (indeterminate)", RED),
        (Verdict::Error, true) => ("would block (indeterminate)", RED),
    };
    let mut line = format!("{}: {counts}", p.paint(&format!("{BOLD}{style}"), word));
    if !blocking.is_empty() {
        let _ = write!(line, " — blocking: {}", blocking.join(", "));
    }
    let overridden: Vec<&str> = decision
        .rules
        .iter()
        .filter(|r| r.overridden)
        .map(|r| r.id.as_str())
        .collect();
    if !overridden.is_empty() {
        let _ = write!(line, " — allow (overridden): {}", overridden.join(", "));
    }
    if decision.dry_run {
        line.push_str(" (dry run: nothing recorded)");
    }
    line
}
