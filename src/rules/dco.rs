use std::sync::LazyLock;

use regex::Regex;
use schemars::JsonSchema;
use serde::Deserialize;

use super::{Evaluation, Rule, RuleConfig, RuleInput};
use crate::decision::Finding;
use crate::facts::{Commit, Facts, Identity};
use crate::policy::{DiagnosticKind, PolicyDiagnostic};

pub const EXAMPLE: &str = r#"[[rule]]
id = "dco"
kind = "dco"
description = "Every commit certifies the Developer Certificate of Origin"
when = { events = ["pull_request", "push"] }
mode = "dco"
allow_remediation_commits = { individual = true, third_party = true }
"#;

/// Every commit carries a `Signed-off-by:` line for its author (the Developer
/// Certificate of Origin).
///
/// What it does, with `mode = "dco"` (the default): behaves like the DCO
/// GitHub App. Each covered commit needs a line `Signed-off-by: Name <email>`
/// anywhere in its message whose name and email (compared case-insensitively)
/// are the author's or the committer's. Merge commits are skipped unless
/// `check_merges = true`; commits by bot accounts are skipped unless
/// `skip_bots = false`. With `allow_remediation_commits = { individual = true
/// }` a later commit in the range may sign off an earlier one of the same
/// author with the line `I, Name <email>, hereby add my Signed-off-by to this
/// commit: <full sha>`; with `third_party = true` too, someone else may with
/// `On behalf of Name <email>, I, Other <other@email>, hereby add my
/// Signed-off-by to this commit: <full sha>`. The remediation commit must be
/// signed off itself.
///
/// With `mode = "strict"`: only a `Signed-off-by` trailer in git's trailer
/// block (the last paragraph, as `git interpret-trailers` reads it) whose value
/// is exactly the author's `Name <email>` counts; remediation commits do not.
///
/// Why: projects that take contributions under the DCO need each author's own
/// certification, recorded in the history itself.
///
/// The finding lists each offending commit and the command that fixes it
/// (`git commit --amend --signoff` for the last commit, `git rebase --signoff
/// <base>` for several).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DcoConfig {
    /// `dco` (the DCO App's rules, default) or `strict` (an exact trailer).
    #[serde(default)]
    mode: DcoMode,
    /// Check merge commits too. Default false, as the DCO App.
    #[serde(default)]
    check_merges: bool,
    /// Skip commits whose author is a bot account. Default true, as the DCO App.
    #[serde(default = "yes")]
    skip_bots: bool,
    /// Remediation commits honoured in `dco` mode (both off by default).
    #[serde(default)]
    allow_remediation_commits: Remediation,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DcoMode {
    #[default]
    Dco,
    Strict,
}

/// Which DCO remediation commits count (the DCO App's `allowRemediationCommits`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Remediation {
    /// The author signs off their own earlier commit in a later one.
    #[serde(default)]
    individual: bool,
    /// Someone signs off on behalf of the author (needs `individual = true` too).
    #[serde(default)]
    third_party: bool,
}

#[derive(Debug)]
struct DcoRule {
    mode: DcoMode,
    check_merges: bool,
    skip_bots: bool,
    remediation: Remediation,
}

impl RuleConfig for DcoConfig {
    fn validate(self) -> Result<Box<dyn Rule>, Vec<PolicyDiagnostic>> {
        let r = self.allow_remediation_commits;
        if self.mode == DcoMode::Strict && (r.individual || r.third_party) {
            return Err(vec![
                PolicyDiagnostic::new(
                    DiagnosticKind::BadValue,
                    "remediation commits are not honoured in `mode = \"strict\"`",
                )
                .help("use `mode = \"dco\"` to allow remediation commits, or remove `allow_remediation_commits`"),
            ]);
        }
        if r.third_party && !r.individual {
            return Err(vec![
                PolicyDiagnostic::new(
                    DiagnosticKind::BadValue,
                    "third-party remediation needs individual remediation enabled too",
                )
                .help("write `allow_remediation_commits = { individual = true, third_party = true }`, as the DCO App requires"),
            ]);
        }
        Ok(Box::new(DcoRule {
            mode: self.mode,
            check_merges: self.check_merges,
            skip_bots: self.skip_bots,
            remediation: r,
        }))
    }
}

static SIGNOFF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?im)^Signed-off-by: (.*) <(.*)>\s*$").expect("valid regex"));
static INDIVIDUAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^I, (.*) <(.*)>, hereby add my Signed-off-by to this commit: (.*)\s*$")
        .expect("valid regex")
});
static THIRD_PARTY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^On behalf of (.*) <(.*)>, I, (.*) <(.*)>, hereby add my Signed-off-by to this commit: (.*)\s*$",
    )
    .expect("valid regex")
});
/// The address check of the `email-validator` package the DCO App uses.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[-!#$%&'*+/0-9=?A-Z^_a-z`{|}~](\.?[-!#$%&'*+/0-9=?A-Z^_a-z`{|}~])*@[a-zA-Z0-9](-*\.?[a-zA-Z0-9])*\.[a-zA-Z](-?[a-zA-Z0-9])+$")
        .expect("valid regex")
});

fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && local.len() <= 64
        && domain.split('.').all(|part| part.len() <= 63)
        && EMAIL.is_match(email)
}

#[derive(Debug, PartialEq, Eq)]
enum SignoffKind {
    Explicit,
    Individual,
    ThirdParty,
}

#[derive(Debug)]
struct Signoff {
    name: String,
    email: String,
    kind: SignoffKind,
}

fn same(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

fn same_person(id: &Identity, name: &str, email: &str) -> bool {
    same(&id.name, name) && same(&id.email, email)
}

/// The sign-offs that apply to `commit`: its own lines, plus remediation
/// lines anywhere in the range (as the DCO App's `getSignoffs`).
fn signoffs(commit: &Commit, all: &[Commit], remediation: Remediation) -> Vec<Signoff> {
    let mut found: Vec<Signoff> = SIGNOFF
        .captures_iter(&commit.message)
        .map(|c| Signoff {
            name: c[1].to_string(),
            email: c[2].to_string(),
            kind: SignoffKind::Explicit,
        })
        .collect();
    if !remediation.individual {
        return found;
    }
    for other in all {
        for c in INDIVIDUAL.captures_iter(&other.message) {
            if c[3] == *commit.sha
                && same_person(&commit.author, &other.author.name, &other.author.email)
                && same_person(&commit.author, &c[1], &c[2])
            {
                found.push(Signoff {
                    name: c[1].to_string(),
                    email: c[2].to_string(),
                    kind: SignoffKind::Individual,
                });
            }
        }
        if remediation.third_party {
            for c in THIRD_PARTY.captures_iter(&other.message) {
                if c[5] == *commit.sha
                    && same_person(&commit.author, &c[1], &c[2])
                    && (same_person(&other.author, &c[3], &c[4])
                        || same_person(&other.committer, &c[3], &c[4]))
                {
                    found.push(Signoff {
                        name: c[1].to_string(),
                        email: c[2].to_string(),
                        kind: SignoffKind::ThirdParty,
                    });
                }
            }
        }
    }
    found
}

/// Why `commit` fails the DCO App's check, or `None` when it passes.
fn dco_problem(commit: &Commit, all: &[Commit], remediation: Remediation) -> Option<String> {
    let found = signoffs(commit, all, remediation);
    if found.is_empty() {
        return Some("the sign-off is missing".into());
    }
    let (author, committer) = (&commit.author, &commit.committer);
    let email = if author.email.is_empty() {
        &committer.email
    } else {
        &author.email
    };
    if !valid_email(email) {
        return Some(format!("{email} is not a valid email address"));
    }
    let names = [author.name.to_lowercase(), committer.name.to_lowercase()];
    let emails = [author.email.to_lowercase(), committer.email.to_lowercase()];
    let matches = |s: &Signoff| {
        names.contains(&s.name.to_lowercase()) && emails.contains(&s.email.to_lowercase())
    };
    let expected = format!("{} <{}>", author.name, author.email);
    if let [only] = found.as_slice() {
        if only.kind != SignoffKind::ThirdParty && !matches(only) {
            return Some(format!(
                "expected \"{expected}\", but got \"{} <{}>\"",
                only.name, only.email
            ));
        }
        return None;
    }
    let ok = found
        .iter()
        .any(|s| s.kind == SignoffKind::ThirdParty || matches(s));
    if ok {
        return None;
    }
    let got: Vec<String> = found
        .iter()
        .map(|s| format!("\"{} <{}>\"", s.name, s.email))
        .collect();
    Some(format!(
        "cannot find \"{expected}\" in [{}]",
        got.join(", ")
    ))
}

/// Why `commit` has no exact author sign-off trailer, or `None` when it has one.
fn strict_problem(commit: &Commit) -> Option<String> {
    let expected = format!("{} <{}>", commit.author.name, commit.author.email);
    let trailers: Vec<&str> = commit
        .trailers
        .iter()
        .filter(|t| t.key.eq_ignore_ascii_case("Signed-off-by"))
        .map(|t| t.value.trim())
        .collect();
    if trailers.contains(&expected.as_str()) {
        return None;
    }
    if trailers.is_empty() {
        if SIGNOFF.is_match(&commit.message) {
            return Some(
                "a Signed-off-by line is in the message but not in its trailer block (the last paragraph)".into(),
            );
        }
        return Some("the sign-off is missing".into());
    }
    Some(format!(
        "no Signed-off-by trailer is exactly \"{expected}\" (found: {})",
        trailers
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The command that adds the missing sign-offs.
fn fix(facts: &Facts, failed: &[&Commit]) -> String {
    let head = facts.commits.first();
    if let ([only], Some(head)) = (failed, head)
        && only.sha == head.sha
    {
        return "add your sign-off to the last commit with `git commit --amend --signoff --no-edit`, then push again (`git push --force-with-lease`)".into();
    }
    format!(
        "add sign-offs to every commit with `git rebase --signoff {}`, then push again (`git push --force-with-lease`); use `git commit --signoff` (`-s`) from now on",
        rebase_upstream(facts)
    )
}

/// What `git rebase` must be given to rewrite every covered commit: the
/// change's base, else the parent of the oldest covered commit, else
/// `--root` (the range starts at a root commit).
pub(crate) fn rebase_upstream(facts: &Facts) -> String {
    let base = match &facts.change {
        Some(change) => Some(change.base.sha.clone()),
        None => facts
            .commits
            .last()
            .and_then(|oldest| oldest.parents.first().cloned()),
    };
    base.unwrap_or_else(|| "--root".to_string())
}

impl Rule for DcoRule {
    fn evaluate(&self, input: &RuleInput<'_>) -> Evaluation {
        let facts = input.facts;
        let mut needs = vec!["commits"];
        if self.mode == DcoMode::Strict {
            needs.push("commits.trailers");
        }
        for path in needs {
            if let Err(reason) = facts.require(path) {
                return Evaluation::error(Finding::new(reason));
            }
        }
        let mut checked = 0;
        let mut failed: Vec<(&Commit, String)> = Vec::new();
        for commit in &facts.commits {
            if (commit.is_merge() && !self.check_merges) || (commit.author_is_bot && self.skip_bots)
            {
                continue;
            }
            checked += 1;
            let problem = match self.mode {
                DcoMode::Dco => dco_problem(commit, &facts.commits, self.remediation),
                DcoMode::Strict => strict_problem(commit),
            };
            if let Some(problem) = problem {
                failed.push((commit, problem));
            }
        }
        let summary = format!(
            "{checked} commit{} checked",
            if checked == 1 { "" } else { "s" }
        );
        if failed.is_empty() {
            return Evaluation::pass(summary);
        }
        let commits: Vec<&Commit> = failed.iter().map(|(c, _)| *c).collect();
        let mut remediation = fix(facts, &commits);
        if self.remediation.individual {
            // Each author signs off their own commits in a commit of their own.
            let lines: Vec<String> = commits
                .iter()
                .map(|c| {
                    format!(
                        "`I, {} <{}>, hereby add my Signed-off-by to this commit: {}`",
                        c.author.name, c.author.email, c.sha
                    )
                })
                .collect();
            remediation.push_str(&format!(
                "; or have each author push a signed-off remediation commit with a line per commit: {}",
                lines.join(", ")
            ));
        }
        let n = failed.len();
        let finding = Finding {
            message: format!(
                "{n} commit{} {} no DCO sign-off by {}",
                if n == 1 { "" } else { "s" },
                if n == 1 { "has" } else { "have" },
                if n == 1 {
                    "its author"
                } else {
                    "their authors"
                },
            ),
            evidence: failed
                .iter()
                .map(|(c, why)| {
                    format!(
                        "{} {} (author {} <{}>): {why}",
                        c.short_sha(),
                        c.subject(),
                        c.author.name,
                        c.author.email
                    )
                })
                .collect(),
            remediation: Some(remediation),
        };
        Evaluation::fail(summary, vec![finding])
    }
}

/// The DCO App's own test cases (dcoapp/app, test/dco.test.js), re-expressed:
/// each case keeps the app's name, messages, identities and expected verdict.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Outcome;
    use crate::rules::testing::{commit, facts, rule};

    const SHA_A: &str = "18aebfa67dde85da0f5099ad70ef647685a05205";
    const SHA_B: &str = "d5f3e2be498459554b6465224b7b6f7c0682295e";

    fn who(name: &str, email: &str) -> Identity {
        Identity {
            name: name.into(),
            email: email.into(),
            login: None,
            time: crate::rules::testing::instant().fixed_offset(),
        }
    }

    /// A commit with the app's fixture shape: message, author, committer.
    fn c(sha: &str, message: &str, author: (&str, &str), committer: (&str, &str)) -> Commit {
        let mut c = commit(0, message);
        c.sha = sha.into();
        c.author = who(author.0, author.1);
        c.committer = who(committer.0, committer.1);
        c
    }

    const BEX_WARNER: (&str, &str) = ("Bex Warner", "bexmwarner@gmail.com");
    const KEEPERS: (&str, &str) = ("Brandon Keepers", "bkeepers@github.com");
    const HIIMBEX: (&str, &str) = ("hiimbex", "hiimbex@disney.com");

    /// Returns the outcome and the per-commit problems (the finding's evidence).
    fn run(keys: &str, commits: Vec<Commit>) -> (Outcome, Vec<String>) {
        let mut f = facts();
        f.commits = commits;
        let e = rule("dco", keys).evaluate(&RuleInput {
            facts: &f,
            now: f.gathered_at,
            environment: None,
        });
        let evidence = e
            .findings
            .first()
            .map(|f| f.evidence.clone())
            .unwrap_or_default();
        (e.outcome, evidence)
    }

    fn passes(keys: &str, commits: Vec<Commit>) {
        let (outcome, evidence) = run(keys, commits);
        assert_eq!(outcome, Outcome::Pass, "{evidence:?}");
    }

    fn fails_with(keys: &str, commits: Vec<Commit>, problem: &str) {
        let (outcome, evidence) = run(keys, commits);
        assert_eq!(outcome, Outcome::Fail);
        assert!(
            evidence.iter().any(|e| e.ends_with(problem)),
            "expected `{problem}` in {evidence:?}"
        );
    }

    /// The app's tests run with remediation off and again with it on; the
    /// explicit sign-off verdicts must be the same both ways.
    const CONFIGS: [&str; 2] = [
        "",
        "allow_remediation_commits = { individual = true, third_party = true }",
    ];

    #[test]
    fn single_commit_success_patterns() {
        let cases = [
            (
                "Hello world\n\nSigned-off-by: Brandon Keepers <bkeepers@github.com>",
                KEEPERS,
            ),
            (
                "Hello world\n\nSigned-off-by: Brandon Keepers <bkeepers@github.com>\nSigned-off-by: Unknown <tester@github.com>",
                KEEPERS,
            ),
            (
                "Hello world\n\nSigned-off-by: Unknown <tester@github.com>\nSigned-off-by: Brandon Keepers <bkeepers@github.com>",
                KEEPERS,
            ),
            (
                "signed off correctly\n\nsigned-off-by: hiimbex <hiimbex@disney.com>",
                HIIMBEX,
            ),
            (
                "cAsInG iS fUn\n\nsigned-off-by: HiImBeXo <HiImBeX@bExO.cOm>",
                ("hiimbexo", "hiimbex@bexo.com"),
            ),
            (
                "signed off correctly\n\nSigned-off-by: hiimbex <hiimbex@disney.com>\n\n",
                HIIMBEX,
            ),
            (
                "signed off correctly\n\nSigned-off-by: hiimbex <hiimbex@disney.com>  ",
                HIIMBEX,
            ),
            (
                "signed off correctly\n\nsigned-off-by: hiimbex <hiimbex@sub.disney.com>\n\n",
                ("hiimbex", "hiimbex@sub.disney.com"),
            ),
            (
                "signed off correctly\n\nsigned-off-by: hiimbex <hiimbex+alias@disney.com>\n\n",
                ("hiimbex", "hiimbex+alias@disney.com"),
            ),
            // Valid sign-off from the committer, not the author.
            (
                "What a nice day!\n\nSigned-off-by: Bex Warner <bexmwarner@gmail.com>",
                ("Bexo", "bexo@gmail.com"),
            ),
            // ... and the author has no email.
            (
                "What a nice day!\n\nSigned-off-by: Bex Warner <bexmwarner@gmail.com>",
                ("Bexo", ""),
            ),
            (
                "What a nice day!\n\nSigned-off-by: Bexo <bexo@gmail.com>",
                ("Bexo", "bexo@gmail.com"),
            ),
        ];
        for config in CONFIGS {
            for (message, author) in cases {
                passes(config, vec![c(SHA_A, message, author, BEX_WARNER)]);
            }
        }
    }

    #[test]
    fn merge_commits_and_bots_are_skipped() {
        for config in CONFIGS {
            let mut merge = c(SHA_A, "mergin stuff", KEEPERS, BEX_WARNER);
            merge.parents = vec![SHA_B.into(), "1".repeat(40)];
            passes(config, vec![merge.clone()]);
            fails_with(
                &format!("{config}\ncheck_merges = true"),
                vec![merge],
                "the sign-off is missing",
            );
            let mut bot = c(
                SHA_A,
                "I aM rObOt I dO wHaT i PlEaSe.",
                ("bexobot [bot]", "wut"),
                BEX_WARNER,
            );
            bot.author_is_bot = true;
            passes(config, vec![bot.clone()]);
            fails_with(
                &format!("{config}\nskip_bots = false"),
                vec![bot],
                "the sign-off is missing",
            );
        }
    }

    #[test]
    fn single_commit_failure_patterns() {
        let cases: [(&str, (&str, &str), &str); 14] = [
            ("yolo", KEEPERS, "the sign-off is missing"),
            (
                "What a nice day!",
                ("Bexo", "bexo@gmail.com"),
                "the sign-off is missing",
            ),
            (
                "signed off by wrong author\n\nSigned-off-by: bex <bex@disney.com>",
                ("hiimbex", "bex@disney.com"),
                "expected \"hiimbex <bex@disney.com>\", but got \"bex <bex@disney.com>\"",
            ),
            (
                "signed off by wrong author\n\nSigned-off-by: bex <bex@disney.com>",
                ("bex", "hiimbex@disney.com"),
                "expected \"bex <hiimbex@disney.com>\", but got \"bex <bex@disney.com>\"",
            ),
            (
                "signed off by wrong author\n\nSigned-off-by: hiimbex <hiimbex@disney.com>",
                ("bex", "bex@disney.com"),
                "expected \"bex <bex@disney.com>\", but got \"hiimbex <hiimbex@disney.com>\"",
            ),
            (
                "Hello world\n\nSigned-off-by:   Brandon Keepers  <bkeepers@github.com>",
                KEEPERS,
                "expected \"Brandon Keepers <bkeepers@github.com>\", but got \"  Brandon Keepers  <bkeepers@github.com>\"",
            ),
            (
                "Hello world\n\nSigned-off-by: Brandon Keepers < bkeepers@github.com >",
                KEEPERS,
                "expected \"Brandon Keepers <bkeepers@github.com>\", but got \"Brandon Keepers < bkeepers@github.com >\"",
            ),
            (
                "bad signoff\n\nsigned-off-by: <hiimbex@disney.com>",
                HIIMBEX,
                "the sign-off is missing",
            ),
            (
                "bad signoff\n\nsigned-off-by: hiimbex",
                HIIMBEX,
                "the sign-off is missing",
            ),
            (
                "bad signoff\n\nsigned-off-by: hiimbex hiimbex@disney.com",
                HIIMBEX,
                "the sign-off is missing",
            ),
            (
                "bad signoff\n\nsigned-off-by: ",
                HIIMBEX,
                "the sign-off is missing",
            ),
            (
                "bad signoff\n\nsigned-off-by: hiimbex@disney.com <hiimbex>",
                HIIMBEX,
                "expected \"hiimbex <hiimbex@disney.com>\", but got \"hiimbex@disney.com <hiimbex>\"",
            ),
            (
                "bad email\n\nsigned-off-by: hiimbex <hiimbex(at)disney.com>",
                HIIMBEX,
                "expected \"hiimbex <hiimbex@disney.com>\", but got \"hiimbex <hiimbex(at)disney.com>\"",
            ),
            (
                "bad email\n\nsigned-off-by: hiimbex <hiimbex@bexo>",
                ("hiimbex", "hiimbex@bexo"),
                "hiimbex@bexo is not a valid email address",
            ),
        ];
        for config in CONFIGS {
            for (message, author, problem) in cases {
                fails_with(config, vec![c(SHA_A, message, author, BEX_WARNER)], problem);
            }
            fails_with(
                config,
                vec![c(
                    SHA_A,
                    "Hello world\n\nSigned-off-by: Tester1 <tester1@github.com>\nSigned-off-by: Tester2 <tester2@github.com>",
                    ("Author Name", "author@email.com"),
                    ("Committer Name", "committer@email.com"),
                )],
                "cannot find \"Author Name <author@email.com>\" in [\"Tester1 <tester1@github.com>\", \"Tester2 <tester2@github.com>\"]",
            );
            fails_with(
                config,
                vec![c(
                    SHA_A,
                    "signed off correctly\n\nsigned-off-by: hiimbex <hiimbex+alias@disney.com>\n\n",
                    HIIMBEX,
                    BEX_WARNER,
                )],
                "expected \"hiimbex <hiimbex@disney.com>\", but got \"hiimbex <hiimbex+alias@disney.com>\"",
            );
        }
    }

    #[test]
    fn two_commits_are_each_checked() {
        let bex = ("bex", "bex@disney.com");
        let good = "signed off correctly\n\nSigned-off-by: bex <bex@disney.com>";
        passes(
            "",
            vec![
                c(SHA_B, good, bex, BEX_WARNER),
                c(SHA_A, good, bex, BEX_WARNER),
            ],
        );
        let (outcome, evidence) = run(
            "",
            vec![
                c(SHA_B, "no sign-off", bex, BEX_WARNER),
                c(SHA_A, "also none", bex, BEX_WARNER),
            ],
        );
        assert_eq!(outcome, Outcome::Fail);
        assert_eq!(evidence.len(), 2, "{evidence:?}");
        assert!(evidence[0].starts_with("d5f3e2b no sign-off (author bex <bex@disney.com>)"));
    }

    fn remediation_for(sha: &str) -> String {
        format!(
            "DCO Remediation Commit for bex <bex@disney.com>\n\nI, bex <bex@disney.com>, hereby add my Signed-off-by to this commit: {sha}\n\nSigned-off-by: bex <bex@disney.com>"
        )
    }

    #[test]
    fn individual_remediation_signs_off_an_earlier_commit() {
        let bex = ("bex", "bex@disney.com");
        let commits = || {
            vec![
                c(SHA_B, &remediation_for(SHA_A), bex, BEX_WARNER),
                c(SHA_A, "forgot it", bex, BEX_WARNER),
            ]
        };
        passes(
            "allow_remediation_commits = { individual = true }",
            commits(),
        );
        // Disabled (the app's default): the first commit is still missing its sign-off.
        fails_with("", commits(), "the sign-off is missing");
        // A remediation by another author does not count.
        fails_with(
            "allow_remediation_commits = { individual = true }",
            vec![
                c(
                    SHA_B,
                    &remediation_for(SHA_A),
                    ("Brian", "brian@bdwarner.com"),
                    BEX_WARNER,
                ),
                c(SHA_A, "forgot it", bex, BEX_WARNER),
            ],
            "the sign-off is missing",
        );
        // It must name the exact commit.
        fails_with(
            "allow_remediation_commits = { individual = true }",
            vec![
                c(SHA_B, &remediation_for(&"0".repeat(40)), bex, BEX_WARNER),
                c(SHA_A, "forgot it", bex, BEX_WARNER),
            ],
            "the sign-off is missing",
        );
    }

    #[test]
    fn third_party_remediation_needs_the_remediator_as_author_or_committer() {
        let bex = ("bex", "bex@disney.com");
        let message = format!(
            "Third-party DCO Remediation Commit for bex <bex@disney.com>\n\nOn behalf of bex <bex@disney.com>, I, Bex Warner <bexmwarner@gmail.com>, hereby add my Signed-off-by to this commit: {SHA_A}\n\nSigned-off-by: Bex Warner <bexmwarner@gmail.com>"
        );
        let both = "allow_remediation_commits = { individual = true, third_party = true }";
        passes(
            both,
            vec![
                c(SHA_B, &message, BEX_WARNER, BEX_WARNER),
                c(SHA_A, "forgot it", bex, BEX_WARNER),
            ],
        );
        fails_with(
            "allow_remediation_commits = { individual = true }",
            vec![
                c(SHA_B, &message, BEX_WARNER, BEX_WARNER),
                c(SHA_A, "forgot it", bex, BEX_WARNER),
            ],
            "the sign-off is missing",
        );
        // Claiming to be someone the commit was not made by does not count.
        fails_with(
            both,
            vec![
                c(
                    SHA_B,
                    &message.replace(
                        "Signed-off-by: Bex Warner <bexmwarner@gmail.com>",
                        "Signed-off-by: Eve <eve@evil.example>",
                    ),
                    ("Eve", "eve@evil.example"),
                    ("Eve", "eve@evil.example"),
                ),
                c(SHA_A, "forgot it", bex, BEX_WARNER),
            ],
            "the sign-off is missing",
        );
    }

    #[test]
    fn strict_mode_wants_an_exact_trailer() {
        let mut ok = c(
            SHA_A,
            "x\n\nSigned-off-by: Alice <alice@acme.dev>\n",
            ("Alice", "alice@acme.dev"),
            ("Alice", "alice@acme.dev"),
        );
        ok.trailers = vec![crate::facts::Trailer {
            key: "Signed-off-by".into(),
            value: "Alice <alice@acme.dev>".into(),
        }];
        passes("mode = \"strict\"", vec![ok.clone()]);
        // Case differences pass the app but not strict mode.
        let mut loose = ok.clone();
        loose.trailers[0].value = "alice <ALICE@acme.dev>".into();
        fails_with(
            "mode = \"strict\"",
            vec![loose.clone()],
            "no Signed-off-by trailer is exactly \"Alice <alice@acme.dev>\" (found: \"alice <ALICE@acme.dev>\")",
        );
        // A sign-off in the body, outside the trailer block.
        let mut body = ok;
        body.message = "x\n\nSigned-off-by: Alice <alice@acme.dev>\n\nmore text\n".into();
        body.trailers.clear();
        fails_with(
            "mode = \"strict\"",
            vec![body],
            "not in its trailer block (the last paragraph)",
        );
    }

    #[test]
    fn the_fix_is_amend_for_the_head_and_rebase_for_several() {
        let mut f = facts();
        f.commits = vec![
            commit(2, "head\n"),
            commit(1, "older\n\nSigned-off-by: Alice <alice@acme.dev>\n"),
        ];
        let only_head = fix(&f, &[&f.commits[0]]);
        assert!(
            only_head.contains("git commit --amend --signoff --no-edit"),
            "{only_head}"
        );
        let older = fix(&f, &[&f.commits[1]]);
        assert!(
            older.contains("git rebase --signoff 1a2b000000000000000000000000000000000000"),
            "{older}"
        );
        f.commits[1].parents.clear();
        assert!(fix(&f, &[&f.commits[1]]).contains("git rebase --signoff --root"));
        f.change = Some(crate::rules::testing::change("t"));
        let with_change = fix(&f, &[&f.commits[0], &f.commits[1]]);
        assert!(
            with_change.contains("git rebase --signoff 1a2b0000"),
            "{with_change}"
        );
    }

    #[test]
    fn unavailable_commits_are_an_error() {
        let mut f = facts();
        f.unavailable.push("commits".into());
        let e = rule("dco", "").evaluate(&RuleInput {
            facts: &f,
            now: f.gathered_at,
            environment: None,
        });
        assert_eq!(e.outcome, Outcome::Error);
    }

    #[test]
    fn email_validation_follows_email_validator() {
        for ok in ["a@b.co", "hiimbex+alias@disney.com", "x.y@sub.example.org"] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in ["hiimbex@bexo", "wut", "a@@b.co", ".a@b.co", "a@b.c", ""] {
            assert!(!valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn contradictory_configs_are_diagnosed() {
        let errors = |keys: &str| {
            let text = format!("version = 1\n[[rule]]\nid = \"x\"\nkind = \"dco\"\n{keys}\n");
            crate::policy::parse("p.toml", &text)
                .err()
                .map(|e| e.diagnostics()[0].message.clone())
        };
        assert_eq!(
            errors("mode = \"strict\"\nallow_remediation_commits = { individual = true }")
                .as_deref(),
            Some("remediation commits are not honoured in `mode = \"strict\"`")
        );
        assert_eq!(
            errors("allow_remediation_commits = { third_party = true }").as_deref(),
            Some("third-party remediation needs individual remediation enabled too")
        );
        assert_eq!(errors("mode = \"dco\"\ncheck_merges = true"), None);
    }
}
