//! CODEOWNERS files: parsing (GitHub's syntax and GitLab's, with sections)
//! and finding the owners of a path.
//!
//! A library module used by the `review` rule (`codeowners = true`). It does no
//! I/O: the file's text comes from `facts.codeowners`, read from the base.
//!
//! GitHub: one list of rules; the **last** rule whose pattern matches a path
//! decides its owners; a matching rule with no owners leaves the path unowned.
//! Owners are `@user`, `@org/team` or an email address. A `#` at the start of a
//! line or after whitespace starts a comment. GitHub's docs list `!` negation,
//! `[ ]` ranges and `\#` escapes as not supported, and say a file with an
//! invalid line is not used at all; so every such line is reported (the rule
//! then cannot decide), never silently dropped or guessed at.
//!
//! GitLab: the same, plus `[Section]` headers. Each section is evaluated on
//! its own (the last matching rule *within* the section wins), so a path can
//! need approval from several sections. `^[Section]` is optional (reported, not
//! required), `[Section][2]` needs two approvals from the matching rule's
//! owners, and `[Section] @owner` gives rules without owners of their own a
//! default. Sections with the same name (case-insensitive) are combined;
//! required wins over optional and the larger approval count wins. `!pattern`
//! excludes paths from the section. Words that are not owners are ignored, as
//! GitLab does; `@@role` owners are parsed but cannot be resolved from Facts.

mod pattern;

use std::fmt;

pub use pattern::PathPattern;

/// GitHub does not load a CODEOWNERS file that is not "under 3 MB". Its docs do
/// not say which megabyte; the smaller reading is taken so a file GitHub may
/// ignore is never treated as in force.
pub const GITHUB_MAX_BYTES: usize = 3_000_000;

/// Which host's CODEOWNERS dialect a file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    GitHub,
    GitLab,
}

/// One owner named in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// `@alice` (on GitLab this may also name a top-level group).
    User(String),
    /// `@org/team` (GitLab: `@group/subgroup`).
    Team(String),
    /// `docs@example.com`: the host maps it to the account that verified it.
    Email(String),
    /// GitLab `@@maintainer`: every direct project member with that role.
    Role(String),
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::User(u) => write!(f, "@{u}"),
            Owner::Team(t) => write!(f, "@{t}"),
            Owner::Email(e) => f.write_str(e),
            Owner::Role(r) => write!(f, "@@{r}"),
        }
    }
}

/// One pattern line.
#[derive(Debug, Clone)]
pub struct OwnerRule {
    /// 1-based line in the file.
    pub line: usize,
    /// The pattern as written.
    pub pattern: String,
    matcher: PathPattern,
    /// Its owners (GitLab: the section's defaults when the line names none).
    pub owners: Vec<Owner>,
    /// GitLab `!pattern`: matching paths need no approval from this section.
    pub exclusion: bool,
}

/// A group of rules evaluated together: the whole file on GitHub, one
/// `[Section]` on GitLab (the rules before the first header form a section
/// without a name).
#[derive(Debug, Clone)]
pub struct Section {
    pub name: Option<String>,
    /// `^[Section]`: owners are suggested, not required.
    pub optional: bool,
    /// How many of the matching rule's owners must approve (`[Section][N]`).
    pub approvals: u32,
    pub rules: Vec<OwnerRule>,
}

impl Section {
    fn unnamed() -> Section {
        Section {
            name: None,
            optional: false,
            approvals: 1,
            rules: Vec::new(),
        }
    }

    /// `[Docs]`, or `the default section` for the unnamed one.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("[{n}]"),
            None => "the default section".to_string(),
        }
    }
}

/// A line that is not valid CODEOWNERS syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub text: String,
    pub reason: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: `{}`: {}", self.line, self.text, self.reason)
    }
}

/// A parsed CODEOWNERS file.
#[derive(Debug, Clone)]
pub struct CodeOwners {
    pub syntax: Syntax,
    pub sections: Vec<Section>,
}

/// Who owns a path within one section.
#[derive(Debug, Clone, Copy)]
pub struct Ownership<'a> {
    pub section: &'a Section,
    /// The rule that decided, or `None` when no rule in the section matched.
    pub rule: Option<&'a OwnerRule>,
}

impl Ownership<'_> {
    /// The owners; empty means the path is unowned in this section.
    pub fn owners(&self) -> &[Owner] {
        self.rule.map(|r| r.owners.as_slice()).unwrap_or(&[])
    }
}

impl CodeOwners {
    /// Parse `content`; every invalid line is returned (with its number) rather
    /// than dropped. The rules of the valid lines are kept either way.
    pub fn parse(content: &str, syntax: Syntax) -> (CodeOwners, Vec<LineError>) {
        let mut sections = vec![Section::unnamed()];
        // Index into `sections` of the section lines currently go to.
        let mut current = 0;
        let mut defaults: Vec<Owner> = Vec::new();
        let mut errors = Vec::new();
        // A byte-order mark must not become part of the first pattern.
        let content = content.strip_prefix('\u{feff}').unwrap_or(content);
        for (i, raw) in content.lines().enumerate() {
            let line = i + 1;
            let text = raw.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let mut error = |reason: String| {
                errors.push(LineError {
                    line,
                    text: text.to_string(),
                    reason,
                })
            };
            let looks_like_section = text.starts_with('[') || text.starts_with("^[");
            if looks_like_section && syntax == Syntax::GitLab {
                match parse_section_header(text) {
                    Ok((header, owners)) => {
                        let (owners, bad) = parse_owners(&owners, syntax);
                        for b in bad {
                            error(b);
                        }
                        defaults = owners;
                        current = merge_section(&mut sections, header);
                    }
                    Err(reason) => error(reason),
                }
                continue;
            }
            if looks_like_section {
                error("`[Section]` headers are GitLab syntax; GitHub does not read them (GitHub rejects the whole file)".into());
                continue;
            }
            let body = match syntax {
                Syntax::GitHub => strip_inline_comment(text),
                Syntax::GitLab => text,
            };
            let tokens = split_whitespace_unescaped(body);
            let Some((&first, rest)) = tokens.split_first() else {
                continue;
            };
            let (exclusion, pattern_text) = match first.strip_prefix('!') {
                Some(p) if syntax == Syntax::GitLab => (true, p),
                Some(_) => {
                    error("GitHub does not support `!` negation in CODEOWNERS".into());
                    continue;
                }
                None => (false, first),
            };
            if syntax == Syntax::GitHub && pattern_text.starts_with("\\#") {
                error("GitHub's docs say escaping a leading `#` with `\\` does not work in CODEOWNERS, so this line's meaning is unknown".into());
                continue;
            }
            let matcher = match PathPattern::compile(pattern_text, syntax) {
                Ok(m) => m,
                Err(reason) => {
                    error(reason);
                    continue;
                }
            };
            let (mut owners, bad) = parse_owners(rest, syntax);
            let had_bad = !bad.is_empty();
            for b in bad {
                error(b);
            }
            if had_bad {
                continue;
            }
            if exclusion && !owners.is_empty() {
                error("an exclusion (`!pattern`) takes no owners".into());
                continue;
            }
            if owners.is_empty() && !exclusion {
                owners = defaults.clone();
            }
            sections[current].rules.push(OwnerRule {
                line,
                pattern: first.to_string(),
                matcher,
                owners,
                exclusion,
            });
        }
        (CodeOwners { syntax, sections }, errors)
    }

    /// The owners of `path` in every section that has a say: the last matching
    /// rule of each section (GitHub: of the file). A section whose rules do not
    /// match the path, or whose exclusion does, is left out. An unowned result
    /// (a matching rule without owners) is included with empty owners.
    pub fn owners_of(&self, path: &str) -> Vec<Ownership<'_>> {
        let mut result = Vec::new();
        for section in &self.sections {
            let matching = section.rules.iter().filter(|r| r.matcher.is_match(path));
            let mut last = None;
            let mut excluded = false;
            for rule in matching {
                if rule.exclusion {
                    excluded = true;
                } else {
                    last = Some(rule);
                }
            }
            if excluded {
                continue;
            }
            if last.is_some() {
                result.push(Ownership {
                    section,
                    rule: last,
                });
            }
        }
        result
    }
}

struct SectionHeader {
    name: String,
    optional: bool,
    approvals: u32,
}

/// `^[Name][2] @owners…` -> the header and the rest of the line.
fn parse_section_header(text: &str) -> Result<(SectionHeader, Vec<&str>), String> {
    let (optional, rest) = match text.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let rest = rest.strip_prefix('[').unwrap_or(rest);
    let close = rest
        .find(']')
        .ok_or_else(|| "a section header needs a closing `]`".to_string())?;
    let name = rest[..close].trim();
    if name.is_empty() {
        return Err("a section header needs a name: `[Name]`".into());
    }
    let mut rest = &rest[close + 1..];
    let mut approvals = 1;
    if let Some(after) = rest.strip_prefix('[') {
        let close = after
            .find(']')
            .ok_or_else(|| "the approval count needs a closing `]`: `[Name][2]`".to_string())?;
        let count = after[..close].trim();
        approvals = match count.parse::<u32>() {
            Ok(n) if n >= 1 => n,
            _ => {
                return Err(format!(
                    "`[{count}]` is not an approval count; write a whole number of at least 1, as in `[{name}][2]`"
                ));
            }
        };
        rest = &after[close + 1..];
    }
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return Err("expected owners separated by spaces after the section header".into());
    }
    Ok((
        SectionHeader {
            name: name.to_string(),
            optional,
            approvals,
        },
        rest.split_whitespace().collect(),
    ))
}

/// Add a section or fold it into an earlier one of the same name; returns its index.
fn merge_section(sections: &mut Vec<Section>, header: SectionHeader) -> usize {
    if let Some(i) = sections.iter().position(|s| {
        s.name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(&header.name))
    }) {
        let s = &mut sections[i];
        s.optional = s.optional && header.optional;
        s.approvals = s.approvals.max(header.approvals);
        return i;
    }
    sections.push(Section {
        name: Some(header.name),
        optional: header.optional,
        approvals: header.approvals,
        rules: Vec::new(),
    });
    sections.len() - 1
}

/// Owners from tokens; the second list holds a reason per invalid token.
fn parse_owners(tokens: &[&str], syntax: Syntax) -> (Vec<Owner>, Vec<String>) {
    let mut owners = Vec::new();
    let mut bad = Vec::new();
    for &token in tokens {
        match parse_owner(token, syntax) {
            Ok(Some(owner)) => {
                if !owners.contains(&owner) {
                    owners.push(owner);
                }
            }
            Ok(None) => {}
            Err(reason) => bad.push(reason),
        }
    }
    (owners, bad)
}

/// `Ok(None)`: a word GitLab ignores.
fn parse_owner(token: &str, syntax: Syntax) -> Result<Option<Owner>, String> {
    if let Some(role) = token.strip_prefix("@@") {
        return match syntax {
            Syntax::GitLab if is_name(role) => Ok(Some(Owner::Role(role.to_lowercase()))),
            Syntax::GitLab => Err(format!("`{token}` is not a role")),
            Syntax::GitHub => Err(format!("`{token}`: `@@role` owners are GitLab syntax")),
        };
    }
    if let Some(name) = token.strip_prefix('@') {
        let valid = !name.is_empty() && name.split('/').all(is_name);
        if !valid {
            return Err(format!("`{token}` is not a valid @user or @org/team"));
        }
        return Ok(Some(if name.contains('/') {
            Owner::Team(name.to_string())
        } else {
            Owner::User(name.to_string())
        }));
    }
    if let Some((local, domain)) = token.split_once('@') {
        if !local.is_empty() && domain.contains('.') && !domain.contains('@') {
            return Ok(Some(Owner::Email(token.to_lowercase())));
        }
        return Err(format!("`{token}` is not a valid email address"));
    }
    match syntax {
        Syntax::GitLab => Ok(None),
        Syntax::GitHub => Err(format!(
            "`{token}` is not an owner; owners are `@user`, `@org/team` or an email address"
        )),
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The line up to a `#` that follows whitespace (GitHub's inline comments).
fn strip_inline_comment(text: &str) -> &str {
    let mut prev_space = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
            prev_space = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '#' if prev_space => return text[..i].trim_end(),
            _ => {}
        }
        prev_space = c.is_whitespace();
    }
    text
}

/// Split on whitespace that is not escaped with `\` (`path\ with\ spaces`).
fn split_whitespace_unescaped(text: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut start: Option<usize> = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        if c == '\\' {
            escaped = true;
            start.get_or_insert(i);
        } else if c.is_whitespace() {
            if let Some(s) = start.take() {
                tokens.push(&text[s..i]);
            }
        } else {
            start.get_or_insert(i);
        }
    }
    if let Some(s) = start {
        tokens.push(&text[s..]);
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owners(co: &CodeOwners, path: &str) -> Vec<String> {
        co.owners_of(path)
            .iter()
            .flat_map(|o| o.owners().iter().map(ToString::to_string))
            .collect()
    }

    fn github(text: &str) -> CodeOwners {
        let (co, errors) = CodeOwners::parse(text, Syntax::GitHub);
        assert!(errors.is_empty(), "{errors:?}");
        co
    }

    /// GitHub's documented example file (docs.github.com, "About code owners";
    /// source and licence in fixtures/codeowners/github-docs-example/README.md),
    /// with the ownership each path gets, as the comments in the file describe.
    #[test]
    fn github_docs_example_path_by_path() {
        let co = github(include_str!(
            "../../fixtures/codeowners/github-docs-example/CODEOWNERS"
        ));
        let cases: &[(&str, &[&str])] = &[
            // `*` is the default for everything.
            ("README.md", &["@global-owner1", "@global-owner2"]),
            ("src/main.rs", &["@global-owner1", "@global-owner2"]),
            // `*.js`: the last match wins over `*`.
            ("app.js", &["@js-owner"]),
            ("web/static/app.js", &["@js-owner"]),
            // `*.go` by email.
            ("cmd/main.go", &["docs@example.com"]),
            // `*.txt` by a team.
            ("notes.txt", &["@octo-org/octocats"]),
            // `/build/logs/` at the root, but the later `**/logs` wins there.
            ("build/logs/today.log", &["@octocat"]),
            ("other/build/logs/today.log", &["@octocat"]),
            ("build/logsbook.md", &["@global-owner1", "@global-owner2"]),
            // `docs/*` then `/docs/` (later, so it wins for everything in /docs).
            ("docs/getting-started.md", &["@doctocat"]),
            ("docs/build-app/troubleshooting.md", &["@doctocat"]),
            // `docs/*` is anchored: a nested docs directory is not /docs.
            ("guide/docs/a.md", &["@global-owner1", "@global-owner2"]),
            // `apps/` anywhere, then `/apps/` at the root...
            ("lib/apps/main.rb", &["@octocat"]),
            ("apps/main.rb", &["@octocat"]),
            // `*.js` lost to the later `/apps/` rule.
            ("apps/web/app.js", &["@octocat"]),
            // ...and the last block gives `/apps/github` to @doctocat (the
            // block before it, which left it unowned, is overridden).
            ("apps/github/main.rb", &["@doctocat"]),
            ("apps/github", &["@doctocat"]),
            // `/scripts/` has two owners.
            ("scripts/deploy.sh", &["@doctocat", "@octocat"]),
            // `**/logs` anywhere, also below `/scripts/` (it comes later).
            ("scripts/logs/run.log", &["@octocat"]),
            ("deeply/nested/logs/x.log", &["@octocat"]),
            ("logs", &["@octocat"]),
        ];
        for (path, expected) in cases {
            assert_eq!(owners(&co, path), *expected, "{path}");
        }
    }

    #[test]
    fn last_match_wins_and_empty_owners_unown() {
        let co = github("* @a\n/vendor/\n/vendor/ours/ @b\n");
        assert_eq!(owners(&co, "x.rs"), ["@a"]);
        assert!(owners(&co, "vendor/lib.c").is_empty());
        assert_eq!(
            co.owners_of("vendor/lib.c").len(),
            1,
            "matched, but unowned"
        );
        assert_eq!(owners(&co, "vendor/ours/lib.c"), ["@b"]);
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_pattern() {
        let co = github("\u{feff}*.rs @a\n");
        assert_eq!(owners(&co, "src/x.rs"), ["@a"]);
    }

    #[test]
    fn unmatched_paths_have_no_ownership() {
        let co = github("/src/ @a\n");
        assert!(co.owners_of("README.md").is_empty());
    }

    #[test]
    fn github_inline_comments_and_invalid_lines() {
        let co = github("*.js @js-owner #This is an inline comment.\n");
        assert_eq!(owners(&co, "a.js"), ["@js-owner"]);
        let text = "* @a\n!*.md\n[Docs]\ndocs/ not-an-owner\n*.[ch] @c\n\\#x @d\n/ok/ @e\n";
        let (co, errors) = CodeOwners::parse(text, Syntax::GitHub);
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6], "{errors:#?}");
        assert_eq!(owners(&co, "ok/x"), ["@e"], "valid lines are kept");
    }

    #[test]
    fn gitlab_sections_are_evaluated_separately() {
        // The sections example of GitLab's "Syntax of CODEOWNERS file" page
        // (gitlab-org/gitlab doc/user/project/codeowners/reference.md, CC BY-SA
        // 4.0), with the owners the page says each path gets.
        let text = "* @admin\n\n[README Owners]\nREADME.md @user1 @user2\ninternal/README.md @user4\n\n[README other owners]\nREADME.md @user3\n";
        let (co, errors) = CodeOwners::parse(text, Syntax::GitLab);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            owners(&co, "README.md"),
            ["@admin", "@user1", "@user2", "@user3"]
        );
        assert_eq!(
            owners(&co, "internal/README.md"),
            ["@admin", "@user4", "@user3"]
        );
    }

    #[test]
    fn gitlab_section_options_defaults_and_merging() {
        let text = "[Documentation] @docs-team\ndocs/\nREADME.md\n\n[Database][2] @database-team @agarcia\nmodel/db/\nconfig/db/database-setup.md @docs-team\n^[Go]\n*.go @root\n[documentation][3]\nguides/\n";
        let (co, errors) = CodeOwners::parse(text, Syntax::GitLab);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(owners(&co, "docs/a.md"), ["@docs-team"]);
        assert_eq!(owners(&co, "model/db/x.rb"), ["@database-team", "@agarcia"]);
        assert_eq!(owners(&co, "config/db/database-setup.md"), ["@docs-team"]);
        let db = co.owners_of("model/db/x.rb")[0].section;
        assert_eq!(
            (db.label().as_str(), db.approvals, db.optional),
            ("[Database]", 2, false)
        );
        let go = co.owners_of("main.go")[0].section;
        assert!(go.optional);
        // `[documentation]` merged into `[Documentation]` with the larger count;
        // its rules without owners have no default (the header named none).
        let docs = co.owners_of("guides/x.md");
        assert_eq!(docs[0].section.label(), "[Documentation]");
        assert_eq!(docs[0].section.approvals, 3);
        assert!(docs[0].owners().is_empty());
    }

    #[test]
    fn gitlab_exclusions_roles_and_ignored_words() {
        let text = "* @username\n!pom.xml\nLICENSE @legal this does not match janedoe@gitlab.com\n/config/ @@maintainer\n[Ruby]\n*.rb @ruby-team\n!/config/**/*.rb\n";
        let (co, errors) = CodeOwners::parse(text, Syntax::GitLab);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(co.owners_of("pom.xml").is_empty());
        assert_eq!(owners(&co, "LICENSE"), ["@legal", "janedoe@gitlab.com"]);
        assert_eq!(owners(&co, "config/a.yml"), ["@@maintainer"]);
        assert_eq!(owners(&co, "app/x.rb"), ["@username", "@ruby-team"]);
        assert_eq!(owners(&co, "config/x/y.rb"), ["@@maintainer"]);
    }

    #[test]
    fn gitlab_bad_section_headers_are_reported() {
        let (_, errors) = CodeOwners::parse("[]\n[Docs][x]\n[Docs\n[Docs][0]\n", Syntax::GitLab);
        assert_eq!(errors.len(), 4, "{errors:#?}");
    }
}
