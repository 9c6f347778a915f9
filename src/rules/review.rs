use std::collections::{BTreeMap, BTreeSet};

use chrono::SecondsFormat;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use super::principals::Principals;
use super::{Evaluation, Rule, RuleConfig, RuleInput};
use crate::decision::{Finding, Outcome};
use crate::facts::{Change, EventKind, Facts, Review, ReviewState, short_sha};
use crate::policy::{DiagnosticKind, PolicyDiagnostic};

mod owners;

pub const EXAMPLE: &str = r#"[[rule]]
id = "two-approvals"
kind = "review"
description = "Code on main needs two independent approvals and its code owners'"
when = { branches = ["main"] }
approvals = 2
from = ["@acme/backend", "@acme/sre"]
codeowners = true
"#;

/// A change needs approving reviews from people other than its authors.
///
/// What it does: counts the distinct users whose latest review of the change
/// approves it and fails when fewer than `approvals` do. Only approvals that
/// qualify are counted:
///
/// - Each reviewer's latest review decides (by `submitted_at`). A `commented`
///   review changes nothing, so an approval followed by a comment still stands
///   (as on GitHub, where only approving, change-requesting and dismissed
///   reviews set a reviewer's state, and as in policy-bot, which counts a
///   user's latest approval). A `dismissed` review never counts and takes the
///   reviewer's earlier approval with it. On equal times the stricter state
///   wins (changes requested, then dismissed, then approved).
/// - The change's author never counts (`allow_author = true` to allow).
///   Anyone whose login authored or committed a commit of the change does not
///   count either (`allow_contributors = true` to allow; it does not let the
///   author approve). Logins are compared case-insensitively; a commit
///   identity without a login cannot be matched to anybody, and the evidence
///   says so. This covers GitHub's "approval of the most recent push" for
///   anyone who authored or committed what was pushed; who pushed is not in
///   the facts.
/// - Bots (`author_is_bot`) never count, and their reviews are ignored.
/// - With `require_current = true` (the default) only approvals of the head
///   commit count; the finding names whose approval is on an older commit.
/// - With `from`, only those users and members of those teams count. Teams
///   come from `facts.teams`; a team missing there is an error (its members
///   are unknown), and a list that resolves to nobody means nobody qualifies,
///   never everybody. Without `from`, anyone not excluded above counts.
///
/// A reviewer whose latest review requests changes blocks the change until
/// they approve or the review is dismissed (`block_on_changes_requested`,
/// default true), whether or not that review is on the head commit. This
/// applies to reviewers who could approve under `from` (anyone when there is
/// no `from`), and with `codeowners = true` to the owners of changed files.
///
/// `codeowners = true` also requires, for every changed file, an approval
/// (counted as above, but regardless of `from`) from one of the owners the
/// base's CODEOWNERS file (`facts.codeowners`) gives it. GitHub semantics: the
/// last matching pattern wins, and a file whose matching line lists no owners
/// (or no line matches) is unowned and needs no owner. GitLab semantics
/// (`codeowners_syntax`, by default chosen by the source): every `[Section]`
/// decides separately, `[Section][2]` needs two of the owners, `^[Section]` is
/// optional (shown, not required). A renamed file needs its old path's owners
/// as well as its new path's (a copy only its new path's: the source is not
/// changed). Owners given as email addresses are mapped to
/// logins through the commit identities in the facts (which the host itself
/// resolved); an owner that cannot be resolved (such an email, an unknown team,
/// a GitLab `@@role`) is an error when no resolvable owner approved. An invalid
/// CODEOWNERS line, a missing CODEOWNERS file, or a change that lists no files
/// is an error: ownership cannot be decided. Being an owner never stands in for
/// an approval: an author who owns the files still needs another owner (GitHub
/// describes an implicit approval when a member of an owning team opens the
/// pull request; gatehouse does not grant it). Because the only email-to-login
/// mapping in the facts is the commits', an owner named by email usually
/// resolves only when they committed to the change (which, by default, bars
/// them as a contributor): name owners by `@login` or `@org/team`.
///
/// Why: a second pair of eyes is the control auditors ask for first, and it
/// is only a control when the author cannot supply it, a push after the
/// approval cannot slip past it, and the owners of the code are among the eyes.
///
/// A run without a change (a direct push) carries no review at all, so the
/// rule fails, saying so. That is how a policy forbids direct pushes: apply
/// the rule to the protected branch for every event, for example
/// `when = { branches = ["main"] }`. Any other run without a change (a
/// deployment, a merge-queue run whose facts carry none) fails the same way,
/// so name the events when that is not wanted:
/// `when = { branches = ["main"], events = ["pull_request", "push"] }`. A source that cannot see reviews (a local
/// repository) lists `change.reviews` as unavailable, and the rule reports an
/// error rather than counting zero approvals.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewConfig {
    /// Distinct qualifying approvals needed. Default 1; 0 only together with
    /// `codeowners = true`.
    #[serde(default = "one")]
    #[schemars(with = "u32")]
    approvals: Spanned<u32>,
    /// Who may approve: logins (`alice`) and teams (`@acme/sre`). Default:
    /// anyone not excluded.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    from: Option<Spanned<Vec<Spanned<String>>>>,
    /// Let the change's author approve it. Default false.
    #[serde(default)]
    allow_author: bool,
    /// Let people who authored or committed commits of the change (other
    /// than its author) approve it. Default false.
    #[serde(default)]
    allow_contributors: bool,
    /// Count only approvals of the head commit. Default true.
    #[serde(default = "yes")]
    require_current: bool,
    /// A qualifying reviewer's standing "changes requested" blocks. Default true.
    #[serde(default = "yes")]
    block_on_changes_requested: bool,
    /// Every changed file needs an approval from one of its code owners.
    /// Default false.
    #[serde(default)]
    codeowners: bool,
    /// How to read the CODEOWNERS file: `github`, `gitlab`, or `auto` (GitLab's
    /// syntax when the facts come from GitLab, GitHub's otherwise). Default `auto`.
    #[serde(default)]
    codeowners_syntax: CodeownersSyntax,
}

fn one() -> Spanned<u32> {
    Spanned::new(0..0, 1)
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CodeownersSyntax {
    #[default]
    Auto,
    Github,
    Gitlab,
}

#[derive(Debug)]
struct ReviewRule {
    approvals: u32,
    from: Option<Principals>,
    allow_author: bool,
    allow_contributors: bool,
    require_current: bool,
    block_on_changes_requested: bool,
    codeowners: bool,
    codeowners_syntax: CodeownersSyntax,
}

impl RuleConfig for ReviewConfig {
    fn validate(self) -> Result<Box<dyn Rule>, Vec<PolicyDiagnostic>> {
        let mut errors = Vec::new();
        let approvals = *self.approvals.get_ref();
        if approvals == 0 && !self.codeowners {
            errors.push(
                PolicyDiagnostic::new(
                    DiagnosticKind::BadValue,
                    "`approvals = 0` without `codeowners = true` requires nothing",
                )
                .at(Some(self.approvals.span()), "no approval required")
                .help("require at least one approval, or set `codeowners = true` to require only the code owners'"),
            );
        }
        let from = match &self.from {
            None => None,
            Some(list) if list.get_ref().is_empty() => {
                errors.push(
                    PolicyDiagnostic::new(
                        DiagnosticKind::BadValue,
                        "`from = []` lets nobody approve, so the rule could never pass",
                    )
                    .at(Some(list.span()), "empty list")
                    .help("list the users and teams who may approve, or remove `from` to let anyone (except the authors) approve"),
                );
                None
            }
            Some(list) => match Principals::parse(list.get_ref()) {
                Ok(p) => {
                    // Users alone (no teams) bound how many can approve.
                    if p.teams().is_empty() {
                        let users: BTreeSet<String> = list
                            .get_ref()
                            .iter()
                            .map(|u| u.get_ref().trim().to_lowercase())
                            .collect();
                        if (users.len() as u64) < u64::from(approvals) {
                            errors.push(
                                PolicyDiagnostic::new(
                                    DiagnosticKind::BadValue,
                                    format!(
                                        "`approvals = {approvals}` can never be met by the {} user{} in `from`",
                                        users.len(),
                                        if users.len() == 1 { "" } else { "s" }
                                    ),
                                )
                                .at(Some(self.approvals.span()), "more than `from` can give")
                                .help("lower `approvals`, or add users or teams to `from`"),
                            );
                        }
                    }
                    Some(p)
                }
                Err(mut e) => {
                    errors.append(&mut e);
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Box::new(ReviewRule {
            approvals,
            from,
            allow_author: self.allow_author,
            allow_contributors: self.allow_contributors,
            require_current: self.require_current,
            block_on_changes_requested: self.block_on_changes_requested,
            codeowners: self.codeowners,
            codeowners_syntax: self.codeowners_syntax,
        }))
    }
}

/// A reviewer's standing review: their latest one that is not `commented`.
fn standing_reviews(reviews: &[Review]) -> BTreeMap<String, &Review> {
    fn rank(state: ReviewState) -> u8 {
        match state {
            ReviewState::Commented => 0,
            ReviewState::Approved => 1,
            ReviewState::Dismissed => 2,
            ReviewState::ChangesRequested => 3,
        }
    }
    let mut ordered: Vec<(usize, &Review)> = reviews
        .iter()
        .enumerate()
        .filter(|(_, r)| r.state != ReviewState::Commented)
        .collect();
    ordered.sort_by_key(|(i, r)| (r.submitted_at, rank(r.state), *i));
    let mut standing = BTreeMap::new();
    for (_, review) in ordered {
        standing.insert(review.author.to_lowercase(), review);
    }
    standing
}

/// Why a reviewer's approval does not count.
enum Exclusion {
    Bot,
    Author,
    Contributor,
}

/// Who the change's commits say contributed, and what could not be matched.
struct Contributors {
    logins: BTreeSet<String>,
    /// `abc1234 author Alice <a@x>`: identities without a login.
    unmatched: Vec<String>,
}

fn contributors(facts: &Facts) -> Contributors {
    let mut logins = BTreeSet::new();
    let mut unmatched = Vec::new();
    for commit in &facts.commits {
        for (role, who) in [("author", &commit.author), ("committer", &commit.committer)] {
            match &who.login {
                Some(login) if !login.trim().is_empty() => {
                    logins.insert(login.trim().to_lowercase());
                }
                _ => unmatched.push(format!(
                    "{} {role} {} <{}> has no login, so it is not matched against reviewers",
                    commit.short_sha(),
                    who.name,
                    who.email
                )),
            }
        }
    }
    Contributors { logins, unmatched }
}

/// The outcome of looking at every reviewer.
struct Tally<'a> {
    /// Logins whose approval of the head (or any commit, without
    /// `require_current`) counts, before `from` is applied.
    approvers: BTreeSet<String>,
    /// Per approver, the review that counted.
    approved: BTreeMap<String, &'a Review>,
    /// Per login, why their approval did not count, for the message.
    not_counted: Vec<(String, String)>,
    /// Standing change requests: login and review.
    changes_requested: Vec<(String, &'a Review)>,
}

impl ReviewRule {
    fn exclusion(
        &self,
        login: &str,
        review: &Review,
        change: &Change,
        contributors: &Contributors,
    ) -> Option<Exclusion> {
        if review.author_is_bot {
            Some(Exclusion::Bot)
        } else if login.eq_ignore_ascii_case(change.author.trim()) {
            (!self.allow_author).then_some(Exclusion::Author)
        } else if contributors.logins.contains(login) && !self.allow_contributors {
            Some(Exclusion::Contributor)
        } else {
            None
        }
    }

    fn tally<'a>(&self, change: &'a Change, contributors: &Contributors, head: &str) -> Tally<'a> {
        let mut tally = Tally {
            approvers: BTreeSet::new(),
            approved: BTreeMap::new(),
            not_counted: Vec::new(),
            changes_requested: Vec::new(),
        };
        for (login, review) in standing_reviews(&change.reviews) {
            let excluded = self.exclusion(&login, review, change, contributors);
            match review.state {
                ReviewState::Approved => {
                    let who = &review.author;
                    let on = review.commit.as_deref();
                    let reason = match excluded {
                        Some(Exclusion::Bot) => {
                            Some(format!("{who} is a bot, and bots never count"))
                        }
                        Some(Exclusion::Author) => {
                            Some(format!("{who} cannot approve their own change"))
                        }
                        Some(Exclusion::Contributor) => Some(format!(
                            "{who} authored or committed commits in this change and cannot approve it"
                        )),
                        None if self.require_current
                            && !on.is_some_and(|c| c.eq_ignore_ascii_case(head)) =>
                        {
                            Some(match on {
                                Some(sha) => format!(
                                    "{who}'s approval is on {}, head is {}",
                                    short_sha(sha),
                                    short_sha(head)
                                ),
                                None => format!(
                                    "{who}'s approval does not say which commit it approved, so it cannot be shown to be of head {}",
                                    short_sha(head)
                                ),
                            })
                        }
                        None => None,
                    };
                    match reason {
                        Some(reason) => tally.not_counted.push((login, reason)),
                        None => {
                            tally.approvers.insert(login.clone());
                            tally.approved.insert(login, review);
                        }
                    }
                }
                ReviewState::ChangesRequested => {
                    if !matches!(excluded, Some(Exclusion::Bot | Exclusion::Author)) {
                        tally.changes_requested.push((login, review));
                    }
                }
                ReviewState::Dismissed | ReviewState::Commented => {}
            }
        }
        tally
    }
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r', '\u{2028}', '\u{2029}'], " ")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Rule for ReviewRule {
    fn evaluate(&self, input: &RuleInput<'_>) -> Evaluation {
        let facts = input.facts;
        let Some(change) = &facts.change else {
            return Evaluation::fail(
                "no change, so no review",
                vec![
                    Finding::new(match facts.event.kind {
                        EventKind::Push | EventKind::Local => format!(
                            "this is a direct push to `{}` with no pull or merge request, so it carries no review",
                            facts.git_ref.name
                        ),
                        kind => format!(
                            "this {} run for `{}` has no pull or merge request, so it carries no review",
                            kind.as_str().replace('_', " "),
                            facts.git_ref.name
                        ),
                    })
                    .evidence(format!("event: {}", facts.event.kind.as_str()))
                    .evidence(format!("ref {} at {}", facts.git_ref.name, facts.git_ref.sha))
                    .remediation("push to a branch and open a pull/merge request; reviewed changes reach the branch through it"),
                ],
            );
        };
        if let Err(reason) = facts.require("change.reviews") {
            return Evaluation::error(
                Finding::new(reason)
                    .remediation("run the gate where the host's reviews can be read (GitHub or GitLab source), or limit the rule with `when = { events = [\"pull_request\"] }`"),
            );
        }
        if !self.allow_contributors
            && let Err(reason) = facts.require("commits")
        {
            return Evaluation::error(Finding::new(format!(
                "{reason}: without the change's commits, contributors cannot be told apart from independent reviewers"
            )));
        }
        if !self.allow_contributors && facts.commits.is_empty() {
            return Evaluation::error(
                Finding::new("the facts list no commits for this change, so contributors cannot be told apart from independent reviewers")
                    .remediation("gather facts with a source that lists the change's commits"),
            );
        }

        let head = change.head.sha.as_str();
        let contributors = contributors(facts);
        let tally = self.tally(change, &contributors, head);
        let mut errors: Vec<Finding> = Vec::new();
        let mut failures: Vec<Finding> = Vec::new();
        let mut evidence: Vec<String> = Vec::new();

        // Who may approve under `from`.
        let qualifying: Option<BTreeSet<String>> = match &self.from {
            None => None,
            Some(from) => match from.resolve(facts) {
                Ok(set) => Some(set),
                Err(finding) => {
                    errors.push(finding);
                    Some(BTreeSet::new())
                }
            },
        };
        let counted: Vec<&String> = tally
            .approvers
            .iter()
            .filter(|l| qualifying.as_ref().is_none_or(|q| q.contains(*l)))
            .collect();
        for login in &counted {
            if let Some(review) = tally.approved.get(*login) {
                evidence.push(format!(
                    "approved by {} on {} at {}",
                    review.author,
                    review.commit.as_deref().map(short_sha).unwrap_or("?"),
                    review
                        .submitted_at
                        .to_rfc3339_opts(SecondsFormat::Secs, true)
                ));
            }
        }
        // Reasons about people outside `from` would only be noise.
        let mut not_counted: Vec<String> = tally
            .not_counted
            .iter()
            .filter(|(login, _)| qualifying.as_ref().is_none_or(|q| q.contains(login)))
            .map(|(_, reason)| reason.clone())
            .collect();
        if let (Some(q), Some(from)) = (&qualifying, &self.from) {
            for login in tally.approvers.iter().filter(|l| !q.contains(*l)) {
                let shown = tally
                    .approved
                    .get(login)
                    .map_or(login.as_str(), |r| r.author.as_str());
                not_counted.push(format!("{shown} is not in `from` ({})", from.describe()));
            }
        }

        let need = self.approvals as usize;
        if counted.len() < need && errors.is_empty() {
            let mut message = format!(
                "{} of {}",
                counted.len(),
                plural(need, "approval", "approvals")
            );
            if let (Some(q), Some(from)) = (&qualifying, &self.from)
                && q.is_empty()
            {
                message.push_str(&format!(
                    "; nobody can approve: `from` ({}) resolves to no one",
                    from.describe()
                ));
            }
            for reason in &not_counted {
                message.push_str("; ");
                message.push_str(reason);
            }
            if not_counted.is_empty() && !message.contains(';') {
                message.push_str("; no other approving review was submitted");
            }
            let who = self.from.as_ref().map_or(
                "a reviewer who is not an author of the change".to_string(),
                |f| format!("someone in {}", f.describe()),
            );
            let mut finding = Finding::new(message).remediation(format!(
                "get {} more {} from {who}{}",
                need - counted.len(),
                if need - counted.len() == 1 {
                    "approval"
                } else {
                    "approvals"
                },
                if self.require_current {
                    "; approvals must be of the head commit, so re-request reviews after a push"
                } else {
                    ""
                }
            ));
            finding.evidence.extend(evidence.iter().cloned());
            finding
                .evidence
                .extend(contributors.unmatched.iter().cloned());
            failures.push(finding);
        }

        // Owners, when asked for.
        let mut owner_logins = BTreeSet::new();
        if self.codeowners {
            let report = owners::check(self.codeowners_syntax, facts, change, &tally.approvers);
            owner_logins = report.owner_logins;
            errors.extend(report.errors);
            failures.extend(report.failures);
            evidence.extend(report.evidence);
        }

        if self.block_on_changes_requested {
            for (login, review) in &tally.changes_requested {
                let qualifies = match &qualifying {
                    None => true,
                    Some(q) => q.contains(login) || owner_logins.contains(login),
                };
                if qualifies {
                    failures.push(
                        Finding::new(format!(
                            "{} requested changes{}, and that review still stands",
                            review.author,
                            review
                                .commit
                                .as_deref()
                                .map(|c| format!(" on {}", short_sha(c)))
                                .unwrap_or_default()
                        ))
                        .evidence(format!(
                            "changes requested by {} at {}",
                            review.author,
                            review.submitted_at.to_rfc3339_opts(SecondsFormat::Secs, true)
                        ))
                        .remediation(format!(
                            "address {}'s review and ask them to approve, or have the review dismissed",
                            review.author
                        )),
                    );
                }
            }
        }

        let summary = format!(
            "{} counted ({need} required){}",
            plural(counted.len(), "approval", "approvals"),
            if self.codeowners {
                ", code owners checked"
            } else {
                ""
            }
        );
        evidence.extend(contributors.unmatched.iter().cloned());
        // Messages are one line by design; a path or login from the facts must
        // not be able to start a line of its own in any report.
        for finding in errors.iter_mut().chain(failures.iter_mut()) {
            finding.message = one_line(&finding.message);
        }
        if !errors.is_empty() {
            errors.extend(failures);
            return Evaluation {
                outcome: Outcome::Error,
                summary: Some(summary),
                findings: errors,
                evidence,
            };
        }
        Evaluation::from_findings(summary, failures).with_evidence(evidence)
    }
}

#[cfg(test)]
mod tests;
