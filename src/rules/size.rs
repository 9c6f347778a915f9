use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use super::{Evaluation, Rule, RuleConfig, RuleInput};
use crate::decision::Finding;
use crate::facts::ChangedFile;
use crate::pattern::Globs;
use crate::policy::{DiagnosticKind, PolicyDiagnostic};

pub const EXAMPLE: &str = r#"[[rule]]
id = "reviewable-size"
kind = "size"
severity = "warn"
description = "Changes stay small enough to review"
when = { events = ["pull_request"] }
max_files = 50
max_lines = 800
exclude = ["**/*.lock", "vendor/**"]
"#;

/// A change must stay small enough to review.
///
/// What it does: counts the changed files (of the change, otherwise of the
/// covered range) and their changed lines (additions plus deletions), leaving
/// out files whose path matches `exclude` (a rename is left out only when
/// both its old and new path match). The rule fails when a count exceeds
/// `max_files` or `max_lines`; at least one of them must be given.
///
/// Why: large changes get rubber-stamped; keeping them small keeps review real.
/// Lock files and vendored code are usually excluded because nobody reviews
/// them line by line.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SizeConfig {
    /// Most changed files allowed.
    max_files: Option<u64>,
    /// Most changed lines (additions + deletions) allowed.
    max_lines: Option<u64>,
    /// Path globs left out of both counts (`**/*.lock`, `vendor/**`).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    exclude: Vec<Spanned<String>>,
}

#[derive(Debug)]
struct SizeRule {
    max_files: Option<u64>,
    max_lines: Option<u64>,
    exclude: Globs,
}

impl RuleConfig for SizeConfig {
    fn validate(self) -> Result<Box<dyn Rule>, Vec<PolicyDiagnostic>> {
        if self.max_files.is_none() && self.max_lines.is_none() {
            return Err(vec![
                PolicyDiagnostic::new(
                    DiagnosticKind::MissingKey,
                    "a `size` rule needs `max_files`, `max_lines` or both",
                )
                .help("for example `max_files = 50` and `max_lines = 800`"),
            ]);
        }
        let exclude = Globs::compile(&self.exclude).map_err(|e| vec![e])?;
        Ok(Box::new(SizeRule {
            max_files: self.max_files,
            max_lines: self.max_lines,
            exclude,
        }))
    }
}

impl SizeRule {
    fn excluded(&self, f: &ChangedFile) -> bool {
        self.exclude.is_match(&f.path)
            && f.previous_path
                .as_deref()
                .is_none_or(|p| self.exclude.is_match(p))
    }
}

impl Rule for SizeRule {
    fn evaluate(&self, input: &RuleInput<'_>) -> Evaluation {
        let facts = input.facts;
        let path = if facts.change.is_some() {
            "change.files"
        } else {
            "files"
        };
        if let Err(reason) = facts.require(path) {
            return Evaluation::error(Finding::new(reason));
        }
        let all = facts.changed_files();
        let counted: Vec<&ChangedFile> = all.iter().filter(|f| !self.excluded(f)).collect();
        let files = counted.len() as u64;
        let lines: u64 = counted.iter().map(|f| f.additions + f.deletions).sum();
        let excluded = all.len() - counted.len();
        let counts = format!(
            "{files} file{}, {lines} changed line{} ({excluded} excluded)",
            if files == 1 { "" } else { "s" },
            if lines == 1 { "" } else { "s" },
        );
        let mut biggest: Vec<&&ChangedFile> = counted.iter().collect();
        biggest.sort_by_key(|f| std::cmp::Reverse(f.additions + f.deletions));
        let largest = || {
            biggest
                .iter()
                .take(3)
                .map(|f| format!("{}: +{} −{}", f.path, f.additions, f.deletions))
                .collect::<Vec<_>>()
        };
        let mut findings = Vec::new();
        if let Some(max) = self.max_files.filter(|m| files > *m) {
            findings.push(
                Finding::new(format!(
                    "the change touches {files} files, more than the {max} allowed"
                ))
                .remediation(
                    "split the change into smaller ones, or exclude generated paths with `exclude`",
                ),
            );
        }
        if let Some(max) = self.max_lines.filter(|m| lines > *m) {
            let mut f = Finding::new(format!(
                "the change has {lines} changed lines, more than the {max} allowed"
            ));
            for l in largest() {
                f = f.evidence(l);
            }
            findings.push(f.remediation("split the change into smaller ones"));
        }
        Evaluation::from_findings(counts.clone(), findings).with_evidence([counts])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Outcome;
    use crate::facts::FileStatus;
    use crate::rules::testing::{change, facts, rule};

    fn file(path: &str, add: u64, del: u64) -> ChangedFile {
        ChangedFile {
            path: path.into(),
            previous_path: None,
            status: FileStatus::Modified,
            additions: add,
            deletions: del,
        }
    }

    fn eval(config: &str, files: Vec<ChangedFile>) -> Evaluation {
        let rule = rule("size", config);
        let mut f = facts();
        let mut c = change("t");
        c.files = files;
        f.change = Some(c);
        rule.evaluate(&RuleInput {
            facts: &f,
            now: f.gathered_at,
            environment: None,
        })
    }

    const CONFIG: &str = r#"max_files = 2
max_lines = 100
exclude = ["**/*.lock", "vendor/**"]"#;

    #[test]
    fn within_limits_passes_and_excludes_do_not_count() {
        let e = eval(
            CONFIG,
            vec![
                file("src/a.rs", 40, 10),
                file("Cargo.lock", 900, 900),
                file("vendor/x/y.c", 5000, 0),
                file("src/b.rs", 50, 0),
            ],
        );
        assert_eq!(e.outcome, Outcome::Pass);
        assert_eq!(
            e.summary.as_deref(),
            Some("2 files, 100 changed lines (2 excluded)")
        );
    }

    #[test]
    fn too_many_files_and_lines_fail() {
        let e = eval(
            CONFIG,
            vec![file("a", 60, 0), file("b", 30, 11), file("c", 1, 0)],
        );
        assert_eq!(e.outcome, Outcome::Fail);
        assert_eq!(e.findings.len(), 2);
        assert_eq!(
            e.findings[0].message,
            "the change touches 3 files, more than the 2 allowed"
        );
        assert_eq!(
            e.findings[1].message,
            "the change has 102 changed lines, more than the 100 allowed"
        );
    }

    #[test]
    fn a_rename_out_of_an_excluded_path_counts() {
        let mut moved = file("src/y.c", 10, 0);
        moved.previous_path = Some("vendor/y.c".into());
        let e = eval(
            r#"max_lines = 5
exclude = ["vendor/**"]"#,
            vec![moved],
        );
        assert_eq!(e.outcome, Outcome::Fail);
    }

    #[test]
    fn unavailable_files_cannot_decide() {
        let rule = rule("size", "max_files = 1");
        let mut f = facts();
        f.unavailable.push("files".into());
        let e = rule.evaluate(&RuleInput {
            facts: &f,
            now: f.gathered_at,
            environment: None,
        });
        assert_eq!(e.outcome, Outcome::Error);
    }
}
