use chrono::Duration;

use super::*;
use crate::facts::{ChangedFile, Codeowners, EventKind, FileStatus, Review, ReviewState};
use crate::rules::testing::{change, commit, facts, instant, rule};

const HEAD: &str = "9f2c4d1e0000000000000000000000000000000a";
const OLD: &str = "3f2a1c0b0000000000000000000000000000000b";

use ReviewState::{Approved, ChangesRequested, Commented, Dismissed};

/// A review by `who` in `state` on `commit`, `minute` minutes after a fixed instant.
fn review(who: &str, state: ReviewState, commit: &str, minute: i64) -> Review {
    Review {
        author: who.to_string(),
        state,
        commit: Some(commit.to_string()),
        submitted_at: instant() - Duration::hours(1) + Duration::minutes(minute),
        author_is_bot: false,
    }
}

/// A pull request by alice (one commit by alice) with `reviews`.
fn pr(reviews: Vec<Review>) -> Facts {
    let mut f = facts();
    f.event.kind = EventKind::PullRequest;
    f.git_ref.name = "refs/pull/42/merge".into();
    let mut c = change("Add rate limiter");
    c.reviews = reviews;
    c.files = vec![file("src/limiter.rs")];
    f.change = Some(c);
    f.commits = vec![commit(1, "Add rate limiter\n")];
    f.teams
        .insert("acme/sre".into(), vec!["carol".into(), "Dave".into()]);
    f
}

fn file(path: &str) -> ChangedFile {
    ChangedFile {
        path: path.to_string(),
        previous_path: None,
        status: FileStatus::Modified,
        additions: 1,
        deletions: 0,
    }
}

fn run(keys: &str, f: &Facts) -> Evaluation {
    rule("review", keys).evaluate(&RuleInput {
        facts: f,
        now: f.gathered_at,
        environment: None,
    })
}

fn messages(e: &Evaluation) -> Vec<String> {
    e.findings.iter().map(|f| f.message.clone()).collect()
}

fn validation_errors(keys: &str) -> Vec<String> {
    let text = format!("version = 1\n[[rule]]\nid = \"r\"\nkind = \"review\"\n{keys}\n");
    match crate::policy::parse("test.toml", &text) {
        Ok(_) => Vec::new(),
        Err(e) => vec![e.render(false)],
    }
}

#[test]
fn a_direct_push_carries_no_review() {
    let e = run("approvals = 1", &facts());
    assert_eq!(e.outcome, Outcome::Fail);
    assert!(
        messages(&e)[0].contains("direct push to `refs/heads/main`")
            && messages(&e)[0].contains("carries no review"),
        "{:?}",
        messages(&e)
    );
}

#[test]
fn unavailable_reviews_are_an_error_not_zero_approvals() {
    let mut f = pr(vec![]);
    f.source = "git".into();
    f.unavailable.push("change.reviews".into());
    let e = run("approvals = 1", &f);
    assert_eq!(e.outcome, Outcome::Error);
    assert!(messages(&e)[0].contains("change.reviews"));
}

#[test]
fn distinct_approvers_are_counted_once() {
    let f = pr(vec![
        review("bob", Approved, HEAD, 1),
        review("Bob", Approved, HEAD, 2),
    ]);
    assert_eq!(run("approvals = 1", &f).outcome, Outcome::Pass);
    let e = run("approvals = 2", &f);
    assert_eq!(e.outcome, Outcome::Fail);
    assert!(
        messages(&e)[0].starts_with("1 of 2 approvals"),
        "{:?}",
        messages(&e)
    );
}

#[test]
fn the_finding_says_exactly_what_is_missing() {
    let mut f = pr(vec![
        review("dave", Approved, HEAD, 1),
        review("bob", Approved, OLD, 2),
        review("carol", Approved, HEAD, 3),
    ]);
    f.change.as_mut().unwrap().author = "carol".into();
    let e = run("approvals = 2\nallow_contributors = true", &f);
    assert_eq!(e.outcome, Outcome::Fail);
    assert_eq!(
        messages(&e),
        [
            "1 of 2 approvals; bob's approval is on 3f2a1c0, head is 9f2c4d1; carol cannot approve their own change"
        ]
    );
    assert!(e.findings[0].evidence[0].starts_with("approved by dave on 9f2c4d1"));
}

#[test]
fn the_author_cannot_approve_unless_allowed() {
    let f = pr(vec![review("Alice", Approved, HEAD, 1)]);
    let e = run("approvals = 1", &f);
    assert_eq!(e.outcome, Outcome::Fail);
    assert!(messages(&e)[0].contains("Alice cannot approve their own change"));
    assert_eq!(
        run("approvals = 1\nallow_author = true", &f).outcome,
        Outcome::Pass
    );
}

#[test]
fn contributors_cannot_approve_unless_allowed() {
    let mut f = pr(vec![review("erin", Approved, HEAD, 1)]);
    let mut by_erin = commit(2, "fixup\n");
    by_erin.committer.login = Some("ERIN".into());
    f.commits.push(by_erin);
    let e = run("approvals = 1", &f);
    assert_eq!(e.outcome, Outcome::Fail);
    assert!(messages(&e)[0].contains("erin authored or committed commits"));
    assert_eq!(
        run("approvals = 1\nallow_contributors = true", &f).outcome,
        Outcome::Pass
    );
}

#[test]
fn allowing_contributors_does_not_let_the_author_approve() {
    let f = pr(vec![review("alice", Approved, HEAD, 1)]);
    assert_eq!(
        run("approvals = 1\nallow_contributors = true", &f).outcome,
        Outcome::Fail
    );
}

#[test]
fn commit_identities_without_login_are_shown_in_the_evidence() {
    let mut f = pr(vec![review("bob", Approved, HEAD, 1)]);
    f.commits[0].committer.login = None;
    let e = run("approvals = 1", &f);
    assert_eq!(e.outcome, Outcome::Pass);
    assert!(
        e.evidence.iter().any(|l| l.contains("has no login")),
        "{:?}",
        e.evidence
    );
}

#[test]
fn missing_commits_are_an_error_when_contributors_matter() {
    let mut f = pr(vec![review("bob", Approved, HEAD, 1)]);
    f.commits.clear();
    assert_eq!(run("approvals = 1", &f).outcome, Outcome::Error);
    assert_eq!(
        run("approvals = 1\nallow_contributors = true", &f).outcome,
        Outcome::Pass
    );
}

#[test]
fn bots_never_count() {
    let mut r = review("renovate[bot]", Approved, HEAD, 1);
    r.author_is_bot = true;
    let e = run("approvals = 1", &pr(vec![r]));
    assert_eq!(e.outcome, Outcome::Fail);
    assert!(messages(&e)[0].contains("renovate[bot] is a bot"));
}

#[test]
fn stale_approvals_are_named_and_count_only_without_require_current() {
    let f = pr(vec![review("bob", Approved, OLD, 1)]);
    let e = run("approvals = 1", &f);
    assert_eq!(e.outcome, Outcome::Fail);
    assert!(messages(&e)[0].contains("bob's approval is on 3f2a1c0, head is 9f2c4d1"));
    assert_eq!(
        run("approvals = 1\nrequire_current = false", &f).outcome,
        Outcome::Pass
    );
}

#[test]
fn an_approval_without_a_commit_is_not_current() {
    let mut r = review("bob", Approved, HEAD, 1);
    r.commit = None;
    assert_eq!(run("approvals = 1", &pr(vec![r])).outcome, Outcome::Fail);
}

#[test]
fn the_latest_review_wins() {
    // Approved, then changes requested: blocked, and the approval is gone.
    let f = pr(vec![
        review("bob", ChangesRequested, HEAD, 2),
        review("bob", Approved, HEAD, 1),
    ]);
    let e = run("approvals = 1", &f);
    assert_eq!(e.outcome, Outcome::Fail);
    assert_eq!(messages(&e).len(), 2, "{:?}", messages(&e));
    // Changes requested, then approved: passes.
    let f = pr(vec![
        review("bob", ChangesRequested, HEAD, 1),
        review("bob", Approved, HEAD, 2),
    ]);
    assert_eq!(run("approvals = 1", &f).outcome, Outcome::Pass);
    // A comment after an approval leaves the approval standing.
    let f = pr(vec![
        review("bob", Approved, HEAD, 1),
        review("bob", Commented, HEAD, 2),
    ]);
    assert_eq!(run("approvals = 1", &f).outcome, Outcome::Pass);
    // A comment after a change request does not lift it.
    let f = pr(vec![
        review("carol", Approved, HEAD, 1),
        review("bob", ChangesRequested, HEAD, 1),
        review("bob", Commented, HEAD, 2),
    ]);
    assert_eq!(run("approvals = 1", &f).outcome, Outcome::Fail);
}

#[test]
fn dismissed_reviews_never_count_and_lift_change_requests() {
    let f = pr(vec![
        review("bob", Approved, HEAD, 1),
        review("bob", Dismissed, HEAD, 2),
    ]);
    assert_eq!(run("approvals = 1", &f).outcome, Outcome::Fail);
    let f = pr(vec![
        review("carol", Approved, HEAD, 1),
        review("bob", ChangesRequested, HEAD, 1),
        review("bob", Dismissed, HEAD, 2),
    ]);
    assert_eq!(run("approvals = 1", &f).outcome, Outcome::Pass);
}

#[test]
fn on_equal_times_the_stricter_state_wins() {
    let f = pr(vec![
        review("bob", ChangesRequested, HEAD, 1),
        review("bob", Approved, HEAD, 1),
    ]);
    assert_eq!(run("approvals = 1", &f).outcome, Outcome::Fail);
}

#[test]
fn a_standing_change_request_blocks_despite_enough_approvals() {
    let f = pr(vec![
        review("carol", Approved, HEAD, 1),
        review("bob", ChangesRequested, OLD, 2),
    ]);
    let e = run("approvals = 1", &f);
    assert_eq!(e.outcome, Outcome::Fail);
    assert_eq!(
        messages(&e),
        ["bob requested changes on 3f2a1c0, and that review still stands"]
    );
    assert_eq!(
        run("approvals = 1\nblock_on_changes_requested = false", &f).outcome,
        Outcome::Pass
    );
    // Only reviewers who qualify under `from` block.
    assert_eq!(
        run("approvals = 1\nfrom = [\"@acme/sre\"]", &f).outcome,
        Outcome::Pass
    );
}

#[test]
fn from_limits_who_counts() {
    let f = pr(vec![
        review("bob", Approved, HEAD, 1),
        review("dave", Approved, HEAD, 2),
    ]);
    assert_eq!(
        run("approvals = 1\nfrom = [\"@acme/sre\"]", &f).outcome,
        Outcome::Pass
    );
    let e = run("approvals = 2\nfrom = [\"@acme/sre\", \"erin\"]", &f);
    assert_eq!(e.outcome, Outcome::Fail);
    assert!(
        messages(&e)[0].contains("bob is not in `from` (erin, @acme/sre)"),
        "{:?}",
        messages(&e)
    );
}

#[test]
fn an_unknown_team_is_an_error_not_nobody() {
    let f = pr(vec![review("bob", Approved, HEAD, 1)]);
    let e = run("approvals = 1\nfrom = [\"@acme/unknown\"]", &f);
    assert_eq!(e.outcome, Outcome::Error);
    assert!(messages(&e)[0].contains("@acme/unknown"));
}

#[test]
fn a_team_without_members_means_nobody_qualifies() {
    let mut f = pr(vec![review("bob", Approved, HEAD, 1)]);
    f.teams.insert("acme/empty".into(), vec![]);
    let e = run("approvals = 1\nfrom = [\"@acme/empty\"]", &f);
    assert_eq!(e.outcome, Outcome::Fail);
    assert!(
        messages(&e)[0].contains("nobody can approve"),
        "{:?}",
        messages(&e)
    );
}

#[test]
fn configs_that_can_never_pass_are_rejected() {
    let e = validation_errors("approvals = 0");
    assert!(e[0].contains("requires nothing"), "{e:?}");
    let e = validation_errors("from = []");
    assert!(e[0].contains("lets nobody approve"), "{e:?}");
    let e = validation_errors("approvals = 3\nfrom = [\"bob\", \"carol\"]");
    assert!(e[0].contains("can never be met"), "{e:?}");
    let e = validation_errors("from = [\"bob smith\"]");
    assert!(e[0].contains("not a user login"), "{e:?}");
    let e = validation_errors("aprovals = 2");
    assert!(e[0].contains("aprovals"), "{e:?}");
    assert!(validation_errors("approvals = 0\ncodeowners = true").is_empty());
}

// ---- codeowners ----

fn with_owners(mut f: Facts, content: &str, files: &[&str]) -> Facts {
    f.codeowners = Some(Codeowners {
        path: ".github/CODEOWNERS".into(),
        content: content.into(),
    });
    f.change.as_mut().unwrap().files = files.iter().map(|p| file(p)).collect();
    f
}

const OWNERS: &str = "* @bob\n/infra/ @acme/sre\n/vendor/\n";

#[test]
fn every_changed_file_needs_an_owner() {
    let f = with_owners(
        pr(vec![review("bob", Approved, HEAD, 1)]),
        OWNERS,
        &["src/lib.rs", "infra/main.tf", "vendor/x.c"],
    );
    let e = run("codeowners = true", &f);
    assert_eq!(e.outcome, Outcome::Fail);
    assert_eq!(
        messages(&e),
        ["infra/main.tf needs an owner from @acme/sre"]
    );
    assert!(
        e.findings[0]
            .evidence
            .contains(&".github/CODEOWNERS line 2: /infra/ @acme/sre".to_string())
    );

    let mut f = f;
    f.change
        .as_mut()
        .unwrap()
        .reviews
        .push(review("Carol", Approved, HEAD, 2));
    let e = run("codeowners = true", &f);
    assert_eq!(e.outcome, Outcome::Pass, "{:?}", messages(&e));
    assert!(
        e.evidence
            .iter()
            .any(|l| l.starts_with("vendor/x.c: unowned")),
        "{:?}",
        e.evidence
    );
    assert!(
        e.evidence
            .iter()
            .any(|l| l.starts_with("infra/main.tf: owned by @acme/sre"))
    );
}

#[test]
fn owner_approvals_follow_the_same_exclusions() {
    // carol owns infra but authored the change.
    let mut f = with_owners(
        pr(vec![
            review("bob", Approved, HEAD, 1),
            review("carol", Approved, HEAD, 2),
        ]),
        OWNERS,
        &["infra/main.tf"],
    );
    f.change.as_mut().unwrap().author = "carol".into();
    let e = run("codeowners = true", &f);
    assert_eq!(e.outcome, Outcome::Fail);
    assert!(messages(&e).contains(&"infra/main.tf needs an owner from @acme/sre".to_string()));
}

#[test]
fn a_renamed_file_needs_the_owners_of_both_paths() {
    let mut f = with_owners(pr(vec![review("bob", Approved, HEAD, 1)]), OWNERS, &[]);
    f.change.as_mut().unwrap().files = vec![ChangedFile {
        path: "src/main.tf".into(),
        previous_path: Some("infra/main.tf".into()),
        status: FileStatus::Renamed,
        additions: 0,
        deletions: 0,
    }];
    let e = run("codeowners = true", &f);
    assert_eq!(
        messages(&e),
        ["infra/main.tf (renamed to src/main.tf) needs an owner from @acme/sre"]
    );
}

#[test]
fn codeowners_problems_are_errors() {
    // No file.
    let mut f = pr(vec![review("bob", Approved, HEAD, 1)]);
    let e = run("codeowners = true", &f);
    assert_eq!(e.outcome, Outcome::Error);
    assert!(messages(&e)[0].contains("no CODEOWNERS file"));
    // An invalid line is named.
    f = with_owners(f, "* @bob\n!*.md @carol\n", &["a.md"]);
    let e = run("codeowners = true", &f);
    assert_eq!(e.outcome, Outcome::Error);
    assert!(
        e.findings[0].evidence[0].contains("line 2: `!*.md @carol`"),
        "{:?}",
        e.findings
    );
    // No files listed.
    let f = with_owners(pr(vec![]), "* @bob\n", &[]);
    assert_eq!(run("codeowners = true", &f).outcome, Outcome::Error);
}

#[test]
fn unresolvable_owners_are_an_error_unless_another_owner_approved() {
    let text = "*.go docs@example.com @bob\n";
    let f = with_owners(pr(vec![]), text, &["main.go"]);
    let e = run("approvals = 0\ncodeowners = true", &f);
    assert_eq!(e.outcome, Outcome::Error);
    assert!(
        e.findings[0]
            .evidence
            .iter()
            .any(|l| l.contains("docs@example.com cannot be mapped")),
        "{:#?}",
        e.findings
    );
    let f = with_owners(
        pr(vec![review("bob", Approved, HEAD, 1)]),
        text,
        &["main.go"],
    );
    assert_eq!(
        run("approvals = 0\ncodeowners = true", &f).outcome,
        Outcome::Pass
    );
    // A GitLab role cannot be resolved from the facts either.
    let mut f = with_owners(
        pr(vec![review("bob", Approved, HEAD, 1)]),
        "/ops/ @@maintainer\n",
        &["ops/run.sh"],
    );
    f.source = "gitlab".into();
    let e = run("approvals = 0\ncodeowners = true", &f);
    assert_eq!(e.outcome, Outcome::Error);
    assert!(
        e.findings[0]
            .evidence
            .iter()
            .any(|l| l.contains("@@maintainer"))
    );
}

#[test]
fn owner_emails_map_through_commit_identities() {
    let mut f = with_owners(
        pr(vec![review("bob", Approved, HEAD, 1)]),
        "*.go docs@example.com\n",
        &["main.go"],
    );
    let mut c = commit(3, "docs\n");
    c.author.email = "Docs@Example.com".into();
    c.author.login = Some("bob".into());
    c.committer.login = Some("alice".into());
    f.commits.push(c);
    // bob authored a commit, so he must be allowed as a contributor here.
    let e = run(
        "approvals = 0\ncodeowners = true\nallow_contributors = true",
        &f,
    );
    assert_eq!(e.outcome, Outcome::Pass, "{:?}", e.findings);
}

#[test]
fn gitlab_sections_need_their_own_approvals() {
    let text = "* @bob\n[Database][2] @acme/sre\n/db/\n^[Docs]\n*.md @erin\n";
    let mut f = with_owners(
        pr(vec![
            review("bob", Approved, HEAD, 1),
            review("carol", Approved, HEAD, 2),
        ]),
        text,
        &["db/schema.sql", "README.md"],
    );
    f.source = "gitlab".into();
    let e = run("codeowners = true", &f);
    assert_eq!(e.outcome, Outcome::Fail);
    assert_eq!(
        messages(&e),
        ["db/schema.sql needs 2 approvals from @acme/sre (section [Database]); 1 so far (carol)"]
    );
    assert!(
        e.evidence
            .iter()
            .any(|l| l.contains("optional section [Docs]")),
        "{:?}",
        e.evidence
    );
    f.change
        .as_mut()
        .unwrap()
        .reviews
        .push(review("dave", Approved, HEAD, 3));
    assert_eq!(run("codeowners = true", &f).outcome, Outcome::Pass);
    // Read as GitHub syntax the section header is an invalid line.
    assert_eq!(
        run("codeowners = true\ncodeowners_syntax = \"github\"", &f).outcome,
        Outcome::Error
    );
}

#[test]
fn a_change_request_by_an_owner_blocks_even_outside_from() {
    let f = with_owners(
        pr(vec![
            review("bob", Approved, HEAD, 1),
            review("carol", ChangesRequested, HEAD, 2),
        ]),
        OWNERS,
        &["infra/main.tf", "src/lib.rs"],
    );
    let e = run("approvals = 1\nfrom = [\"bob\"]\ncodeowners = true", &f);
    assert_eq!(e.outcome, Outcome::Fail);
    assert!(
        messages(&e)
            .iter()
            .any(|m| m.starts_with("carol requested changes")),
        "{:?}",
        messages(&e)
    );
}

#[test]
fn a_path_cannot_break_a_finding_into_lines() {
    let f = with_owners(pr(vec![]), "* @bob\n", &["evil\n\u{2028}  ✗ all good.rs"]);
    let e = run("approvals = 0\ncodeowners = true", &f);
    assert_eq!(e.outcome, Outcome::Fail);
    assert!(
        !messages(&e)[0].contains(['\n', '\u{2028}']),
        "{:?}",
        messages(&e)
    );
}

#[test]
fn an_oversized_github_codeowners_is_an_error() {
    let big = format!("* @bob\n{}", "# padding\n".repeat(300_000));
    let f = with_owners(pr(vec![review("bob", Approved, HEAD, 1)]), &big, &["a.rs"]);
    let e = run("codeowners = true", &f);
    assert_eq!(e.outcome, Outcome::Error);
    assert!(messages(&e)[0].contains("3 MB"), "{:?}", messages(&e));
}
