use regex::Regex;
use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use super::{Evaluation, Rule, RuleConfig, RuleInput, hints};
use crate::decision::Finding;
use crate::facts::Commit;
use crate::pattern;
use crate::policy::{DiagnosticKind, PolicyDiagnostic};

pub const EXAMPLE: &str = r#"[[rule]]
id = "ticket-reference"
kind = "message"
description = "Every change names its ticket; no fixup commits reach main"
when = { branches = ["main"] }
ticket = '[A-Z][A-Z0-9]+-\d+'
ticket_in = "either"
forbid = '^(fixup|squash|amend)! '
"#;

/// Commit messages and the change title must follow the team's conventions.
///
/// What it does: checks each covered commit's full message (merge commits only
/// with `check_merges = true`) and the change's title against regular
/// expressions: `pattern` must match, `forbid` must not, `title_pattern` must
/// match the title, and `ticket` must be found in the title or in the messages
/// as `ticket_in` says. A regex matches anywhere in the text unless anchored;
/// use `(?m)^…$` to anchor to a line.
///
/// Why: a ticket reference links every production change to its approval
/// trail, and a stray `fixup!` or `WIP` commit is a sign the history was not
/// meant to land as it is.
///
/// Title checks need a change (a pull or merge request). When a run has none,
/// a title check cannot decide and reports an error, so limit such rules with
/// `when = { events = ["pull_request", "merge_group"] }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageConfig {
    /// Regex every commit message must match (Rust `regex` syntax).
    #[schemars(with = "Option<String>")]
    pattern: Option<Spanned<String>>,
    /// Regex no commit message may match, for example `^(fixup|squash)! `.
    #[schemars(with = "Option<String>")]
    forbid: Option<Spanned<String>>,
    /// Regex the change's title must match.
    #[schemars(with = "Option<String>")]
    title_pattern: Option<Spanned<String>>,
    /// Regex of a ticket reference, for example `[A-Z]+-\d+`.
    #[schemars(with = "Option<String>")]
    ticket: Option<Spanned<String>>,
    /// Where `ticket` must appear: `title`, `commits` (every commit), or
    /// `either` (the title, or else every commit). Default `either`.
    #[serde(default)]
    ticket_in: TicketIn,
    /// Check merge commits too. Default false: merges carry generated messages.
    #[serde(default)]
    check_merges: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketIn {
    Title,
    Commits,
    #[default]
    Either,
}

#[derive(Debug)]
struct MessageRule {
    pattern: Option<Regex>,
    forbid: Option<Regex>,
    title_pattern: Option<Regex>,
    ticket: Option<Regex>,
    ticket_in: TicketIn,
    check_merges: bool,
}

impl RuleConfig for MessageConfig {
    fn validate(self) -> Result<Box<dyn Rule>, Vec<PolicyDiagnostic>> {
        if self.pattern.is_none()
            && self.forbid.is_none()
            && self.title_pattern.is_none()
            && self.ticket.is_none()
        {
            return Err(vec![
                PolicyDiagnostic::new(
                    DiagnosticKind::MissingKey,
                    "a `message` rule needs at least one of `pattern`, `forbid`, `title_pattern` or `ticket`",
                )
                .help(r"for example `ticket = '[A-Z]+-\d+'`"),
            ]);
        }
        let mut errors = Vec::new();
        let mut compile = |p: &Option<Spanned<String>>| {
            p.as_ref()
                .and_then(|p| pattern::regex(p).map_err(|e| errors.push(e)).ok())
        };
        let rule = MessageRule {
            pattern: compile(&self.pattern),
            forbid: compile(&self.forbid),
            title_pattern: compile(&self.title_pattern),
            ticket: compile(&self.ticket),
            ticket_in: self.ticket_in,
            check_merges: self.check_merges,
        };
        if errors.is_empty() {
            Ok(Box::new(rule))
        } else {
            Err(errors)
        }
    }
}

fn commit_line(c: &Commit) -> String {
    format!("{} {}", c.short_sha(), c.subject())
}

impl Rule for MessageRule {
    fn evaluate(&self, input: &RuleInput<'_>) -> Evaluation {
        let facts = input.facts;
        let commits: Vec<&Commit> = facts
            .commits
            .iter()
            .filter(|c| self.check_merges || !c.is_merge())
            .collect();
        let title = facts.change.as_ref().map(|c| c.title.as_str());
        let needs_title = self.title_pattern.is_some()
            || (self.ticket.is_some() && self.ticket_in == TicketIn::Title);
        if needs_title && title.is_none() {
            return Evaluation::error(
                Finding::new("this run has no change (pull or merge request), so its title cannot be checked")
                    .evidence(format!("event: {}", facts.event.kind.as_str()))
                    .remediation(r#"limit the rule to changes: when = { events = ["pull_request", "merge_group"] }"#),
            );
        }

        let mut findings = Vec::new();
        if let Some(re) = &self.pattern {
            let bad_commits: Vec<&Commit> = commits
                .iter()
                .copied()
                .filter(|c| !re.is_match(&c.message))
                .collect();
            let bad: Vec<String> = bad_commits.iter().map(|c| commit_line(c)).collect();
            if !bad.is_empty() {
                findings.push(
                    Finding {
                        message: format!(
                            "{} commit message{} {} not match `{}`",
                            bad.len(),
                            plural(bad.len()),
                            if bad.len() == 1 { "does" } else { "do" },
                            re.as_str()
                        ),
                        evidence: bad,
                        remediation: None,
                    }
                    .remediation(hints::reword(facts, &bad_commits)),
                );
            }
        }
        if let Some(re) = &self.forbid {
            let bad: Vec<String> = commits
                .iter()
                .filter(|c| re.is_match(&c.message))
                .map(|c| commit_line(c))
                .collect();
            if !bad.is_empty() {
                findings.push(
                    Finding {
                        message: format!(
                            "{} commit message{} {} the forbidden `{}`",
                            bad.len(),
                            plural(bad.len()),
                            if bad.len() == 1 { "matches" } else { "match" },
                            re.as_str()
                        ),
                        evidence: bad,
                        remediation: None,
                    }
                    .remediation(hints::autosquash(facts)),
                );
            }
        }
        if let (Some(re), Some(title)) = (&self.title_pattern, title)
            && !re.is_match(title)
        {
            findings.push(
                Finding::new(format!("the title does not match `{}`", re.as_str()))
                    .evidence(format!("title: {title}"))
                    .remediation("edit the pull/merge request title"),
            );
        }
        if let Some(re) = &self.ticket {
            let title_has = title.is_some_and(|t| re.is_match(t));
            let missing_commits: Vec<&Commit> = commits
                .iter()
                .copied()
                .filter(|c| !re.is_match(&c.message))
                .collect();
            let missing: Vec<String> = missing_commits.iter().map(|c| commit_line(c)).collect();
            let ok = match self.ticket_in {
                TicketIn::Title => title_has,
                TicketIn::Commits => missing.is_empty(),
                TicketIn::Either => title_has || missing.is_empty(),
            };
            if !ok {
                let where_ = match self.ticket_in {
                    TicketIn::Title => "the title",
                    TicketIn::Commits => "every commit message",
                    TicketIn::Either if title.is_some() => "the title or every commit message",
                    TicketIn::Either => "every commit message",
                };
                let mut f = Finding::new(format!(
                    "no ticket reference matching `{}` in {where_}",
                    re.as_str()
                ));
                if let Some(t) = title {
                    f = f.evidence(format!("title: {t}"));
                }
                if self.ticket_in != TicketIn::Title {
                    f.evidence
                        .extend(missing.iter().map(|m| format!("no ticket: {m}")));
                }
                findings.push(f.remediation(
                    if title.is_some() && self.ticket_in != TicketIn::Commits {
                        "add the ticket id to the title, for example `ABC-123: …`".to_string()
                    } else {
                        format!(
                            "add the ticket id to each commit message: {}",
                            hints::reword(facts, &missing_commits)
                        )
                    },
                ));
            }
        }
        let summary = match title {
            Some(_) => format!(
                "{} commit{} and the title checked",
                commits.len(),
                plural(commits.len())
            ),
            None => format!("{} commit{} checked", commits.len(), plural(commits.len())),
        };
        Evaluation::from_findings(summary, findings)
            .with_evidence(commits.iter().map(|c| commit_line(c)))
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Outcome;
    use crate::rules::testing::{change, commit, facts, rule};

    fn run(keys: &str, title: Option<&str>, messages: &[&str]) -> Evaluation {
        let rule = rule("message", keys);
        let mut f = facts();
        if let Some(t) = title {
            f.event.kind = crate::facts::EventKind::PullRequest;
            f.change = Some(change(t));
        }
        f.commits = messages
            .iter()
            .enumerate()
            .map(|(i, m)| commit(i as u8, m))
            .collect();
        rule.evaluate(&RuleInput {
            facts: &f,
            now: f.gathered_at,
            environment: None,
        })
    }

    const TICKET: &str = r"ticket = '[A-Z]+-\d+'";

    #[test]
    fn ticket_in_title_is_enough_by_default() {
        let e = run(TICKET, Some("ABC-12: add limiter"), &["add limiter\n"]);
        assert_eq!(e.outcome, Outcome::Pass);
    }

    #[test]
    fn ticket_in_every_commit_is_enough_by_default() {
        let e = run(TICKET, Some("add limiter"), &["ABC-1 a\n", "fix ABC-2\n"]);
        assert_eq!(e.outcome, Outcome::Pass);
    }

    #[test]
    fn missing_ticket_fails_and_names_commits() {
        let e = run(TICKET, Some("add limiter"), &["ABC-1 a\n", "typo\n"]);
        assert_eq!(e.outcome, Outcome::Fail);
        assert!(e.findings[0].evidence.iter().any(|l| l.ends_with(" typo")));
    }

    #[test]
    fn ticket_in_commits_ignores_title() {
        let keys = format!("{TICKET}\nticket_in = \"commits\"");
        let e = run(&keys, Some("ABC-1 title"), &["no ticket\n"]);
        assert_eq!(e.outcome, Outcome::Fail);
    }

    #[test]
    fn forbid_catches_fixups_but_not_merges() {
        let keys = "forbid = '^(fixup|squash)! '";
        let e = run(keys, None, &["fixup! add limiter\n", "ok\n"]);
        assert_eq!(e.outcome, Outcome::Fail);
        let mut f = facts();
        let mut merge = commit(1, "fixup! merge\n");
        merge.parents.push("ff".repeat(20));
        f.commits = vec![merge];
        let e = rule("message", keys).evaluate(&RuleInput {
            facts: &f,
            now: f.gathered_at,
            environment: None,
        });
        assert_eq!(e.outcome, Outcome::Pass);
    }

    #[test]
    fn title_check_without_change_is_an_error() {
        let e = run("title_pattern = '^[A-Z]'", None, &["x\n"]);
        assert_eq!(e.outcome, Outcome::Error);
    }

    #[test]
    fn pattern_must_match_every_message() {
        let keys = r"pattern = '^(feat|fix|chore)(\(.+\))?: '";
        assert_eq!(
            run(keys, None, &["feat: a\n", "fix(x): b\n"]).outcome,
            Outcome::Pass
        );
        assert_eq!(
            run(keys, None, &["feat: a\n", "oops\n"]).outcome,
            Outcome::Fail
        );
    }

    #[test]
    fn remediation_names_the_exact_command() {
        // Only the newest commit (the tip) lacks it: amend.
        let e = run(TICKET, None, &["no ticket\n", "ABC-1 a\n"]);
        let fix = e.findings[0].remediation.as_deref().unwrap();
        assert!(fix.contains("`git commit --amend`"), "{fix}");
        // An older one: rebase from the range's base (the helper commits' parent `1a2b…`).
        let e = run(TICKET, None, &["ABC-1 a\n", "no ticket\n"]);
        let fix = e.findings[0].remediation.as_deref().unwrap();
        assert!(fix.contains("`git rebase -i 1a2b000`"), "{fix}");
        let e = run("forbid = '^fixup! '", None, &["fixup! a\n", "b\n"]);
        let fix = e.findings[0].remediation.as_deref().unwrap();
        assert!(
            fix.contains("`git rebase -i --autosquash 1a2b000`"),
            "{fix}"
        );
    }
}
