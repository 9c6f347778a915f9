//! Users and teams named in a policy (`from = ["alice", "@acme/sre"]`),
//! resolved against the teams the source gathered (`facts.teams`).
//!
//! Shared by every rule that asks "who may approve": review, deploy sign-off
//! and break-glass overrides. Logins are compared case-insensitively, as
//! GitHub and GitLab treat them. An unknown team is an error, never "nobody"
//! and never "everybody".

use std::collections::BTreeSet;

use toml::Spanned;

use crate::decision::Finding;
use crate::facts::Facts;
use crate::policy::{DiagnosticKind, PolicyDiagnostic};

/// A validated list of users and `@org/team` (or GitLab `@group`) references.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principals {
    users: Vec<String>,
    teams: Vec<String>,
}

impl Principals {
    /// Validate `alice` / `@acme/sre` entries; a diagnostic points at each bad one.
    pub fn parse(list: &[Spanned<String>]) -> Result<Principals, Vec<PolicyDiagnostic>> {
        let mut principals = Principals::default();
        let mut errors = Vec::new();
        for entry in list {
            let text = entry.get_ref().trim();
            if let Some(team) = text.strip_prefix('@') {
                // GitHub teams are `org/team`; GitLab groups may be top-level (`@group`)
                // or nested (`@group/subgroup/…`).
                let valid = team.split('/').all(is_name);
                if valid {
                    principals.teams.push(team.to_string());
                } else {
                    errors.push(
                        PolicyDiagnostic::new(
                            DiagnosticKind::BadValue,
                            format!("`{text}` is not a team reference"),
                        )
                        .at(Some(entry.span()), "expected `@org/team` or `@group`")
                        .help("teams are written `@org/team` (GitLab: `@group` or `@group/subgroup`); users without `@`"),
                    );
                }
            } else if is_name(text) {
                principals.users.push(text.to_lowercase());
            } else {
                errors.push(
                    PolicyDiagnostic::new(
                        DiagnosticKind::BadValue,
                        format!("`{text}` is not a user login"),
                    )
                    .at(Some(entry.span()), "not a login")
                    .help("write a login (`alice`) or a team (`@acme/sre`)"),
                );
            }
        }
        if errors.is_empty() {
            Ok(principals)
        } else {
            Err(errors)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.teams.is_empty()
    }

    /// The team slugs (`acme/sre`) referenced, so a source can gather their members.
    pub fn teams(&self) -> &[String] {
        &self.teams
    }

    /// Every login the list stands for, lowercased. A team missing from
    /// `facts.teams` is an error finding: its membership is unknown.
    pub fn resolve(&self, facts: &Facts) -> Result<BTreeSet<String>, Finding> {
        if !self.teams.is_empty() {
            facts
                .require("teams")
                .map_err(|reason| Finding::new(reason).remediation(TEAMS_HINT))?;
        }
        let mut logins: BTreeSet<String> = self.users.iter().cloned().collect();
        for team in &self.teams {
            let members = facts
                .teams
                .iter()
                .find(|(slug, _)| slug.eq_ignore_ascii_case(team))
                .map(|(_, members)| members)
                .ok_or_else(|| {
                    Finding::new(format!(
                        "team @{team} is not in the gathered facts, so its members are unknown"
                    ))
                    .remediation(TEAMS_HINT)
                })?;
            logins.extend(members.iter().map(|m| m.to_lowercase()));
        }
        Ok(logins)
    }

    /// `alice, @acme/sre` for messages.
    pub fn describe(&self) -> String {
        self.users
            .iter()
            .cloned()
            .chain(self.teams.iter().map(|t| format!("@{t}")))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

const TEAMS_HINT: &str = "gather facts with a source that can read team membership (GitHub or GitLab, with a token that may read the org's teams), or list the team's members in `teams` of the Facts file";

/// A login or org/team segment: letters, digits, `-`, `_`, `.`; not empty.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::facts;

    fn spanned(list: &[&str]) -> Vec<Spanned<String>> {
        list.iter()
            .map(|s| Spanned::new(0..s.len(), s.to_string()))
            .collect()
    }

    #[test]
    fn users_and_teams_resolve_case_insensitively() {
        let p = Principals::parse(&spanned(&["Alice", "@acme/SRE"])).unwrap();
        let mut f = facts();
        f.teams
            .insert("acme/sre".into(), vec!["Carol".into(), "dave".into()]);
        let logins = p.resolve(&f).unwrap();
        assert_eq!(
            logins.into_iter().collect::<Vec<_>>(),
            ["alice", "carol", "dave"]
        );
    }

    #[test]
    fn an_unknown_team_is_an_error_not_nobody() {
        let p = Principals::parse(&spanned(&["@acme/sre"])).unwrap();
        let e = p.resolve(&facts()).unwrap_err();
        assert!(e.message.contains("@acme/sre"), "{}", e.message);
    }

    #[test]
    fn unavailable_teams_are_an_error_only_when_teams_are_named() {
        let mut f = facts();
        f.unavailable.push("teams".into());
        let users = Principals::parse(&spanned(&["alice"])).unwrap();
        assert!(users.resolve(&f).is_ok());
        let teams = Principals::parse(&spanned(&["@acme/sre"])).unwrap();
        assert!(teams.resolve(&f).is_err());
    }

    #[test]
    fn malformed_entries_are_diagnosed() {
        let errors = Principals::parse(&spanned(&["@", "bob smith", "@/x", "@a//b"])).unwrap_err();
        assert_eq!(errors.len(), 4);
    }

    #[test]
    fn an_empty_list_resolves_to_nobody() {
        let p = Principals::parse(&[]).unwrap();
        assert!(p.is_empty());
        assert!(p.resolve(&facts()).unwrap().is_empty());
    }
}
