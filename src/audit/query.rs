//! `gatehouse audit query`: filter records by decision, rule, repository,
//! time and actor. A file is streamed line by line, never loaded whole.

use chrono::{DateTime, Utc};

use super::record::Record;
use crate::decision::Outcome;
use crate::sanitize;

#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// `allow`, `block` or `error`.
    pub decision: Option<String>,
    /// Records where this rule failed or could not decide.
    pub rule: Option<String>,
    pub repo: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub actor: Option<String>,
}

impl Filter {
    pub fn matches(&self, r: &Record) -> bool {
        if self.decision.as_ref().is_some_and(|d| *d != r.decision) {
            return false;
        }
        if let Some(rule) = &self.rule
            && !r
                .findings
                .iter()
                .any(|f| f.id == *rule && matches!(f.outcome, Outcome::Fail | Outcome::Error))
        {
            return false;
        }
        if self.repo.is_some() && r.subject.repo != self.repo {
            return false;
        }
        if self.actor.is_some() && r.actor != self.actor {
            return false;
        }
        if self.since.is_some() || self.until.is_some() {
            let Ok(time) = DateTime::parse_from_rfc3339(&r.time) else {
                return false;
            };
            let time = time.with_timezone(&Utc);
            if self.since.is_some_and(|s| time < s) || self.until.is_some_and(|u| time > u) {
                return false;
            }
        }
        true
    }
}

/// Parse one line; `at` names it in the error.
pub fn parse_line(line: &[u8], at: &str) -> Result<Record, String> {
    serde_json::from_slice(line).map_err(|e| format!("{at} is not an audit record: {e}"))
}

/// The header of the table output.
pub fn table_header() -> String {
    format!(
        "{:>6}  {:<27}  {:<8}  {:<24}  {:<28}  {:<12}  {:<16}  {}\n",
        "SEQ", "TIME", "DECISION", "REPO", "REF", "SHA", "ACTOR", "FAILED RULES"
    )
}

/// One table row; every text field is neutralised for the terminal.
pub fn table_row(r: &Record) -> String {
    let clean = |s: Option<&str>| sanitize::terminal_line(s.unwrap_or("-"));
    let failed: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| matches!(f.outcome, Outcome::Fail | Outcome::Error))
        .map(|f| f.id.as_str())
        .collect();
    let sha = r.subject.sha.as_deref().map(crate::facts::short_sha);
    format!(
        "{:>6}  {:<27}  {:<8}  {:<24}  {:<28}  {:<12}  {:<16}  {}\n",
        r.seq,
        clean(Some(&r.time)),
        clean(Some(&r.decision)),
        clean(r.subject.repo.as_deref()),
        clean(r.subject.git_ref.as_deref()),
        clean(sha),
        clean(r.actor.as_deref()),
        if failed.is_empty() {
            "-".to_string()
        } else {
            sanitize::terminal_line(&failed.join(","))
        }
    )
}
