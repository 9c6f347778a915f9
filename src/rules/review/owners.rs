//! The `codeowners = true` part of the review rule: every changed file needs
//! approval from its owners, as the base's CODEOWNERS file assigns them.

use std::collections::{BTreeMap, BTreeSet};

use super::CodeownersSyntax;
use crate::codeowners::{CodeOwners, GITHUB_MAX_BYTES, Owner, Syntax};
use crate::decision::Finding;
use crate::facts::{Change, Facts, FileStatus};

/// What the ownership check found.
#[derive(Default)]
pub(super) struct OwnersReport {
    /// Every login that owns a changed file (so their change requests block).
    pub owner_logins: BTreeSet<String>,
    /// Could not decide (missing file, invalid lines, unresolvable owners).
    pub errors: Vec<Finding>,
    /// Owners' approval missing.
    pub failures: Vec<Finding>,
    pub evidence: Vec<String>,
}

/// Files that share one requirement (the same section and deciding line).
struct Requirement {
    section: Option<String>,
    line: usize,
    pattern: String,
    owners: Vec<Owner>,
    need: u32,
    logins: BTreeSet<String>,
    unresolved: Vec<String>,
    paths: Vec<String>,
}

impl Requirement {
    fn owners_text(&self) -> String {
        self.owners
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn paths_text(&self) -> String {
        match self.paths.as_slice() {
            [one] => one.clone(),
            [first, rest @ ..] => format!(
                "{first} and {} more file{}",
                rest.len(),
                if rest.len() == 1 { "" } else { "s" }
            ),
            [] => String::new(),
        }
    }

    fn verb(&self) -> &'static str {
        if self.paths.len() == 1 {
            "needs"
        } else {
            "need"
        }
    }

    fn what(&self) -> String {
        let section = self
            .section
            .as_ref()
            .map(|s| format!(" (section [{s}])"))
            .unwrap_or_default();
        if self.need == 1 {
            format!("an owner from {}{section}", self.owners_text())
        } else {
            format!(
                "{} approvals from {}{section}",
                self.need,
                self.owners_text()
            )
        }
    }

    fn source_line(&self, path: &str) -> String {
        format!(
            "{path} line {}: {} {}",
            self.line,
            self.pattern,
            self.owners_text()
        )
    }
}

fn syntax_for(configured: CodeownersSyntax, facts: &Facts) -> Syntax {
    match configured {
        CodeownersSyntax::Github => Syntax::GitHub,
        CodeownersSyntax::Gitlab => Syntax::GitLab,
        CodeownersSyntax::Auto => {
            if facts.source.eq_ignore_ascii_case("gitlab")
                || facts
                    .repository
                    .host
                    .to_ascii_lowercase()
                    .contains("gitlab")
            {
                Syntax::GitLab
            } else {
                Syntax::GitHub
            }
        }
    }
}

/// The logins an owner stands for, or why they cannot be known from the facts.
fn resolve(owner: &Owner, syntax: Syntax, facts: &Facts) -> Result<BTreeSet<String>, String> {
    let team = |slug: &str| {
        facts
            .teams
            .iter()
            .find(|(s, _)| s.eq_ignore_ascii_case(slug))
            .map(|(_, members)| members.iter().map(|m| m.to_lowercase()).collect())
    };
    match owner {
        Owner::User(user) => {
            // On GitLab `@name` may be a top-level group as well as a user.
            if syntax == Syntax::GitLab
                && let Some(members) = team(user)
            {
                return Ok(members);
            }
            Ok(BTreeSet::from([user.to_lowercase()]))
        }
        Owner::Team(slug) => {
            facts.require("teams")?;
            team(slug).ok_or_else(|| {
                format!("team @{slug} is not in the gathered facts, so its members are unknown")
            })
        }
        Owner::Email(email) => {
            let logins: BTreeSet<String> = facts
                .commits
                .iter()
                .flat_map(|c| [&c.author, &c.committer])
                .filter(|who| who.email.eq_ignore_ascii_case(email))
                .filter_map(|who| who.login.as_ref())
                .map(|l| l.to_lowercase())
                .collect();
            match logins.len() {
                0 => Err(format!(
                    "{email} cannot be mapped to a login: no commit identity in the facts with that email has one (the host maps an owner's email to the account that verified it)"
                )),
                1 => Ok(logins),
                _ => Err(format!(
                    "{email} maps to more than one login in the commit identities ({}), so its owner is ambiguous",
                    logins.into_iter().collect::<Vec<_>>().join(", ")
                )),
            }
        }
        Owner::Role(role) => Err(format!(
            "@@{role} names the project members with a GitLab role, and role membership is not part of the facts"
        )),
    }
}

/// Check the owners' approval of every changed file; `approvers` are the
/// logins whose approval counts (latest review, head commit, not an author).
pub(super) fn check(
    configured: CodeownersSyntax,
    facts: &Facts,
    change: &Change,
    approvers: &BTreeSet<String>,
) -> OwnersReport {
    let mut report = OwnersReport::default();
    if let Err(reason) = facts.require("codeowners") {
        report.errors.push(Finding::new(reason));
        return report;
    }
    let Some(file) = &facts.codeowners else {
        report.errors.push(
            Finding::new("`codeowners = true`, but the base has no CODEOWNERS file, so no file has owners to approve it")
                .evidence(format!("base {} at {}", change.base.name, change.base.sha))
                .remediation("add CODEOWNERS (in .github/, the root or docs/) to the base branch, or remove `codeowners = true`"),
        );
        return report;
    };
    let syntax = syntax_for(configured, facts);
    if syntax == Syntax::GitHub && file.content.len() >= GITHUB_MAX_BYTES {
        report.errors.push(
            Finding::new(format!(
                "{} is {} bytes; GitHub does not load a CODEOWNERS file of 3 MB or more, so its owners are not in force",
                file.path,
                file.content.len()
            ))
            .remediation("shrink the file (wildcards instead of one line per path) below 3 MB"),
        );
        return report;
    }
    let (owners, line_errors) = CodeOwners::parse(&file.content, syntax);
    if !line_errors.is_empty() {
        let mut finding = Finding::new(format!(
            "{} has {} invalid line{}, so ownership cannot be decided",
            file.path,
            line_errors.len(),
            if line_errors.len() == 1 { "" } else { "s" }
        ))
        .remediation(format!(
            "fix the lines in {} on the base branch (read as {} syntax; set `codeowners_syntax` if that is wrong)",
            file.path,
            match syntax {
                Syntax::GitHub => "GitHub",
                Syntax::GitLab => "GitLab",
            }
        ));
        finding
            .evidence
            .extend(line_errors.iter().map(|e| format!("{} {e}", file.path)));
        report.errors.push(finding);
        return report;
    }
    if let Err(reason) = facts.require("change.files") {
        report.errors.push(Finding::new(reason));
        return report;
    }
    if change.files.is_empty() {
        report.errors.push(
            Finding::new("the change lists no changed files, so their owners cannot be checked")
                .remediation("gather facts with a source that lists the change's files"),
        );
        return report;
    }

    // A renamed file needs the owners of where it came from as well.
    // (path matched against CODEOWNERS, how it is shown)
    let mut paths: Vec<(String, String)> = Vec::new();
    for f in &change.files {
        paths.push((f.path.clone(), f.path.clone()));
        if f.status == FileStatus::Renamed
            && let Some(old) = &f.previous_path
            && old != &f.path
        {
            paths.push((old.clone(), format!("{old} (renamed to {})", f.path)));
        }
    }

    // (section index, line) -> requirement, in first-seen order.
    let mut requirements: BTreeMap<(usize, usize), Requirement> = BTreeMap::new();
    let mut order: Vec<(usize, usize)> = Vec::new();
    for (path, shown) in &paths {
        let ownerships = owners.owners_of(path);
        if ownerships.is_empty() {
            report.evidence.push(format!(
                "{shown}: no CODEOWNERS line matches; no owner needed"
            ));
        }
        for ownership in ownerships {
            let Some(rule) = ownership.rule else { continue };
            let section = ownership.section;
            if rule.owners.is_empty() {
                report.evidence.push(format!(
                    "{shown}: unowned ({} line {}: {})",
                    file.path, rule.line, rule.pattern
                ));
                continue;
            }
            let owners_text: Vec<String> = rule.owners.iter().map(ToString::to_string).collect();
            if section.optional {
                report.evidence.push(format!(
                    "{shown}: optional section {} suggests {}",
                    section.label(),
                    owners_text.join(", ")
                ));
                continue;
            }
            let index = owners
                .sections
                .iter()
                .position(|s| std::ptr::eq(s, section))
                .unwrap_or(0);
            let key = (index, rule.line);
            let requirement = requirements.entry(key).or_insert_with(|| {
                order.push(key);
                let mut logins = BTreeSet::new();
                let mut unresolved = Vec::new();
                for owner in &rule.owners {
                    match resolve(owner, syntax, facts) {
                        Ok(set) => logins.extend(set),
                        Err(reason) => unresolved.push(reason),
                    }
                }
                Requirement {
                    section: section.name.clone(),
                    line: rule.line,
                    pattern: rule.pattern.clone(),
                    owners: rule.owners.clone(),
                    need: section.approvals,
                    logins,
                    unresolved,
                    paths: Vec::new(),
                }
            });
            requirement.paths.push(shown.clone());
        }
    }

    for key in order {
        let Some(req) = requirements.remove(&key) else {
            continue;
        };
        report.owner_logins.extend(req.logins.iter().cloned());
        let approved_by: Vec<&String> = req
            .logins
            .iter()
            .filter(|l| approvers.contains(*l))
            .collect();
        let by = approved_by
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        if approved_by.len() >= req.need as usize {
            report.evidence.push(format!(
                "{}: owned by {} ({}), approved by {by}",
                req.paths.join(", "),
                req.owners_text(),
                req.source_line(&file.path)
            ));
            continue;
        }
        let so_far = if req.need > 1 {
            format!(
                "; {} so far{}",
                approved_by.len(),
                if by.is_empty() {
                    String::new()
                } else {
                    format!(" ({by})")
                }
            )
        } else {
            String::new()
        };
        let mut finding = if req.unresolved.is_empty() {
            Finding::new(format!(
                "{} {} {}{so_far}",
                req.paths_text(),
                req.verb(),
                req.what()
            ))
            .remediation(format!(
                "ask {} to review and approve the head commit",
                if req.need == 1 && req.owners.len() == 1 {
                    req.owners_text()
                } else if req.need == 1 {
                    format!("one of {}", req.owners_text())
                } else {
                    format!("{} of {}", req.need, req.owners_text())
                }
            ))
        } else {
            Finding::new(format!(
                "cannot tell whether {} {} its owners' approval: {} {}{so_far}",
                req.paths_text(),
                if req.paths.len() == 1 { "has" } else { "have" },
                req.verb(),
                req.what()
            ))
            .remediation("gather the owners' membership (a GitHub/GitLab source with a token that can read teams), or name owners by login in CODEOWNERS")
        };
        finding.evidence.push(req.source_line(&file.path));
        finding.evidence.extend(req.unresolved.iter().cloned());
        finding
            .evidence
            .extend(req.paths.iter().map(|p| format!("changed: {p}")));
        if req.unresolved.is_empty() {
            report.failures.push(finding);
        } else {
            report.errors.push(finding);
        }
    }
    report
}
