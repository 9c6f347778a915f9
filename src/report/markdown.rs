//! The `markdown` report, for a GitHub job summary (`$GITHUB_STEP_SUMMARY`)
//! or a pull request comment: the verdict first, then one table row per rule,
//! then the findings of each failing rule folded in a `<details>` block.
//!
//! Every piece of text from the facts or the policy goes through
//! [`crate::sanitize::markdown`], so it renders as the characters it is.

use std::fmt::Write as _;

use crate::decision::{Decision, Outcome, RuleResult, Verdict};
use crate::facts::short_sha;
use crate::policy::Severity;
use crate::sanitize::markdown::{block, inline};

fn verdict_heading(decision: &Decision) -> &'static str {
    match (decision.verdict, decision.dry_run) {
        (Verdict::Allow, false) => "✅ gatehouse: allowed",
        (Verdict::Allow, true) => "✅ gatehouse: would allow (dry run)",
        (Verdict::Block, false) => "❌ gatehouse: blocked",
        (Verdict::Block, true) => "❌ gatehouse: would block (dry run)",
        (Verdict::Error, false) => "⛔ gatehouse: blocked (indeterminate)",
        (Verdict::Error, true) => "⛔ gatehouse: would block (indeterminate, dry run)",
    }
}

fn outcome_cell(result: &RuleResult) -> &'static str {
    match (result.outcome, result.severity) {
        (Outcome::Pass, _) => "✅ pass",
        (Outcome::Fail, Severity::Warn) => "⚠️ warn",
        (Outcome::Fail, Severity::Block) => "❌ fail",
        (Outcome::Skipped, _) => "⏭️ skipped",
        (Outcome::Error, _) => "⛔ error",
    }
}

fn counts(decision: &Decision) -> String {
    let t = decision.tally;
    let mut parts = vec![format!("{} passed", t.passed)];
    for (n, word) in [
        (t.failed, "failed"),
        (t.errors, "could not decide"),
        (t.warned, "warned"),
        (t.skipped, "skipped"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    parts.join(", ")
}

pub fn render(decision: &Decision) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## {}\n", verdict_heading(decision));

    let s = &decision.subject;
    let mut subject = format!(
        "**{}** {} at {}",
        inline(&s.repo),
        inline(&s.git_ref),
        inline(short_sha(&s.sha))
    );
    if let Some(change) = s.change {
        let _ = write!(subject, " · change \\#{change}");
    }
    if let Some(env) = &s.environment {
        let _ = write!(subject, " · environment **{}**", inline(env));
    }
    let _ = writeln!(out, "{subject}  ");
    let blocking: Vec<String> = decision.blocking().map(|r| inline(&r.id)).collect();
    let _ = write!(out, "{}", counts(decision));
    if !blocking.is_empty() {
        let _ = write!(out, " — blocking: {}", blocking.join(", "));
    }
    let _ = writeln!(out, "  ");
    let _ = writeln!(
        out,
        "Policy {} ({})",
        inline(&super::sarif::policy_uri(&decision.policy.path)),
        inline(&decision.policy.digest)
    );
    if decision.dry_run {
        let _ = writeln!(
            out,
            "\n> **Dry run:** nothing was recorded and the pipeline was not gated."
        );
    }
    for notice in &decision.notices {
        let _ = writeln!(out, "\n> **Note:** {}", inline(notice));
    }

    if !decision.rules.is_empty() {
        let _ = writeln!(
            out,
            "\n| Result | Rule | Kind | Severity | Summary |\n|---|---|---|---|---|"
        );
        for r in &decision.rules {
            let summary = r
                .summary
                .as_deref()
                .or(r.description.as_deref())
                .unwrap_or("");
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                outcome_cell(r),
                inline(&r.id),
                inline(&r.kind),
                r.severity.as_str(),
                inline(summary)
            );
        }
    }

    for r in decision
        .rules
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Fail | Outcome::Error))
    {
        let n = r.findings.len();
        let _ = writeln!(
            out,
            "\n<details><summary>{} <b>{}</b>: {n} finding{}</summary>\n",
            outcome_cell(r),
            inline(&r.id),
            if n == 1 { "" } else { "s" }
        );
        if let Some(description) = &r.description {
            let _ = writeln!(out, "{}\n", inline(description));
        }
        for f in &r.findings {
            let _ = writeln!(out, "- {}", block(&f.message));
            for e in &f.evidence {
                let _ = writeln!(out, "  - {}", inline(e));
            }
            if let Some(fix) = &f.remediation {
                let _ = writeln!(out, "  - **Fix:** {}", block(fix));
            }
        }
        if let Some(line) = r.policy_line {
            let _ = writeln!(
                out,
                "\nDefined at {} line {line}.",
                inline(&super::sarif::policy_uri(&decision.policy.path))
            );
        }
        let _ = writeln!(out, "\n</details>");
    }
    out
}
