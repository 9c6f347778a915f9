//! `kind = "review"` end to end: the real binary on saved Facts.
//!
//! The `policy_bot_*` tests re-express palantir/policy-bot's approval cases
//! (`policy/approval/approve_test.go`, `TestIsApproved`) as Facts files; see
//! `fixtures/facts/review/README.md` for how each case maps and where
//! gatehouse is deliberately stricter.

mod common;

use common::{fixture, run};
use serde_json::Value;

/// Snapshots show paths relative to the project.
fn relative(text: &str) -> String {
    text.replace(&format!("{}/", common::root().display()), "")
}

/// `check` with a policy from `fixtures/policies/review/` on a review fixture.
fn check(facts: &str, policy: &str) -> common::Run {
    let facts = fixture(&format!("facts/review/{facts}.json"));
    let policy = fixture(&format!("policies/review/{policy}.toml"));
    run(&[
        "check",
        "--facts",
        facts.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
    ])
}

/// `check --format json` with one review rule made of `keys`; the rule's result.
fn rule_result(facts: &str, keys: &str) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!("version = 1\n\n[[rule]]\nid = \"case\"\nkind = \"review\"\n{keys}\n"),
    )
    .unwrap();
    let facts = fixture(&format!("facts/review/{facts}.json"));
    let r = run(&[
        "check",
        "--facts",
        facts.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let decision: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("json report: {e}\n{}", r.transcript()));
    (r.code, decision["rules"][0].clone())
}

/// The logins whose approvals were counted, from the evidence of a result.
fn approved_by(result: &Value) -> Vec<String> {
    let mut evidence: Vec<&Value> = result["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    for f in result["findings"].as_array().into_iter().flatten() {
        evidence.extend(f["evidence"].as_array().into_iter().flatten());
    }
    let mut logins: Vec<String> = evidence
        .iter()
        .filter_map(|e| e.as_str()?.strip_prefix("approved by "))
        .filter_map(|rest| rest.split(' ').next())
        .map(str::to_string)
        .collect();
    logins.sort();
    logins.dedup();
    logins
}

fn messages(result: &Value) -> Vec<String> {
    result["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| f["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

// policy-bot's approval rules do not look at change requests (its disapproval
// policy is separate and off by default), so its cases turn that off here.
const PB: &str = "block_on_changes_requested = false\napprovals = 1\n";

#[test]
fn policy_bot_author_cannot_approve() {
    // authorCannotApprove / contributorsCannotApprove.
    let (code, r) = rule_result(
        "policy-bot-base",
        &format!("{PB}from = [\"@acme/everyone\"]"),
    );
    assert_eq!((code, r["outcome"].as_str()), (0, Some("pass")));
    assert_eq!(approved_by(&r), ["comment-approver", "review-approver"]);
}

#[test]
fn policy_bot_author_can_approve() {
    let (code, r) = rule_result(
        "policy-bot-base",
        &format!("{PB}from = [\"@acme/everyone\"]\nallow_author = true"),
    );
    assert_eq!(code, 0);
    assert_eq!(
        approved_by(&r),
        ["comment-approver", "mhaypenny", "review-approver"]
    );
}

#[test]
fn policy_bot_contributors_excluding_author_can_approve() {
    // contributorsExcludingAuthorCanApprove: gatehouse's allow_contributors is
    // policy-bot's allow_non_author_contributor.
    let (code, r) = rule_result(
        "policy-bot-base",
        &format!("{PB}from = [\"@acme/everyone\"]\nallow_contributors = true"),
    );
    assert_eq!(code, 0);
    assert_eq!(
        approved_by(&r),
        [
            "comment-approver",
            "contributor-author",
            "contributor-committer",
            "review-approver"
        ]
    );
}

#[test]
fn policy_bot_contributors_and_author_can_approve() {
    let (code, r) = rule_result(
        "policy-bot-base",
        &format!("{PB}from = [\"@acme/everyone\"]\nallow_contributors = true\nallow_author = true"),
    );
    assert_eq!(code, 0);
    assert_eq!(
        approved_by(&r),
        [
            "comment-approver",
            "contributor-author",
            "contributor-committer",
            "mhaypenny",
            "review-approver"
        ]
    );
}

#[test]
fn policy_bot_specific_user_approves() {
    let (code, r) = rule_result(
        "policy-bot-base",
        &format!("{PB}from = [\"comment-approver\"]"),
    );
    assert_eq!(code, 0);
    assert_eq!(approved_by(&r), ["comment-approver"]);
    let (code, r) = rule_result(
        "policy-bot-base",
        &format!("{PB}from = [\"does-not-exist\"]"),
    );
    assert_eq!((code, r["outcome"].as_str()), (1, Some("fail")));
    assert!(messages(&r)[0].starts_with("0 of 1 approval;"), "{r}");
}

#[test]
fn policy_bot_specific_org_approves() {
    let (code, r) = rule_result(
        "policy-bot-base",
        &format!("{PB}from = [\"@acme/cool-org\"]"),
    );
    assert_eq!(code, 0);
    assert_eq!(approved_by(&r), ["comment-approver"]);
    // policy-bot: pending. gatehouse: an unknown team is an error (exit 3),
    // because its members cannot be told from nobody.
    let (code, r) = rule_result(
        "policy-bot-base",
        &format!("{PB}from = [\"@acme/does-not-exist\", \"@acme/other-org\"]"),
    );
    assert_eq!((code, r["outcome"].as_str()), (3, Some("error")));
}

#[test]
fn policy_bot_specific_orgs_or_user_approves() {
    let (code, r) = rule_result(
        "policy-bot-base",
        "block_on_changes_requested = false\napprovals = 2\nfrom = [\"review-approver\", \"@acme/cool-org\"]",
    );
    assert_eq!(code, 0);
    assert_eq!(approved_by(&r), ["comment-approver", "review-approver"]);
}

#[test]
fn policy_bot_no_from_means_any_non_author() {
    // singleApprovalRequired: policy-bot counts nobody without a `requires`
    // list; gatehouse (like GitHub's required reviews) counts anyone who is
    // not excluded. The exclusions are the same.
    let (code, r) = rule_result("policy-bot-base", PB);
    assert_eq!(code, 0);
    assert_eq!(approved_by(&r), ["comment-approver", "review-approver"]);
}

#[test]
fn policy_bot_invalidate_review_on_push() {
    let (code, r) = rule_result(
        "policy-bot-pushed-after-review",
        &format!("{PB}from = [\"review-approver\"]"),
    );
    assert_eq!((code, r["outcome"].as_str()), (1, Some("fail")));
    assert_eq!(
        messages(&r),
        ["0 of 1 approval; review-approver's approval is on 97d5ea2, head is 584b923"]
    );
    let (code, r) = rule_result(
        "policy-bot-pushed-after-review",
        &format!("{PB}from = [\"review-approver\"]\nrequire_current = false"),
    );
    assert_eq!(code, 0);
    assert_eq!(approved_by(&r), ["review-approver"]);
}

#[test]
fn policy_bot_disapproval_blocks_by_default() {
    // The base context's `disapprover` requested changes; gatehouse blocks on
    // that unless told not to.
    let (code, r) = rule_result("policy-bot-base", "approvals = 1");
    assert_eq!(code, 1);
    assert_eq!(
        messages(&r),
        ["disapprover requested changes on 97d5ea2, and that review still stands"]
    );
}

#[test]
fn latest_review_wins() {
    // bob: approved, then changes requested (blocks); erin: changes
    // requested, then approved (counts); dave: approved, then commented (counts).
    let (code, r) = rule_result("latest-review-wins", "approvals = 2");
    assert_eq!(code, 1);
    assert_eq!(approved_by(&r), ["dave", "erin"]);
    assert_eq!(
        messages(&r),
        ["bob requested changes on 9f2c4d1, and that review still stands"]
    );
}

// ---- what a user sees when review blocks ----

#[test]
fn missing_approvals_say_exactly_what_is_missing() {
    let r = check("missing-approvals", "two-approvals");
    assert_eq!(r.code, 1);
    insta::assert_snapshot!(relative(&r.transcript()));
}

#[test]
fn a_direct_push_carries_no_review() {
    let r = check("direct-push", "two-approvals");
    assert_eq!(r.code, 1);
    insta::assert_snapshot!(relative(&r.transcript()));
}

#[test]
fn a_standing_change_request_blocks() {
    let r = check("latest-review-wins", "one-approval");
    assert_eq!(r.code, 1);
    insta::assert_snapshot!(relative(&r.transcript()));
}

#[test]
fn unavailable_reviews_are_indeterminate() {
    let r = check("local-reviews-unavailable", "everywhere");
    assert_eq!(r.code, 3);
    insta::assert_snapshot!(relative(&r.transcript()));
}

#[test]
fn code_owners_of_githubs_documented_example() {
    // apps/github/ is @doctocat's (the example's last block); the renamed
    // file's old path docs/old.md is @doctocat's too; the rest is approved.
    let r = check("codeowners-github-docs", "codeowners");
    assert_eq!(r.code, 1);
    insta::assert_snapshot!(relative(&r.transcript()));
}

#[test]
fn gitlab_sections_need_their_approval_counts() {
    let r = check("codeowners-gitlab-sections", "codeowners");
    assert_eq!(r.code, 1);
    insta::assert_snapshot!(relative(&r.transcript()));
}

#[test]
fn invalid_codeowners_lines_are_reported() {
    let r = check("codeowners-invalid-line", "codeowners");
    assert_eq!(r.code, 3);
    insta::assert_snapshot!(relative(&r.transcript()));
}

#[test]
fn the_example_policy_validates() {
    let example = common::root().join("rules/examples/review.toml");
    let r = run(&["policy", "validate", example.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.transcript());
}

#[test]
fn approved_code_owners_are_listed_as_evidence() {
    let (code, r) = rule_result("codeowners-github-docs-approved", "codeowners = true");
    assert_eq!((code, r["outcome"].as_str()), (0, Some("pass")));
    insta::assert_json_snapshot!(r["evidence"]);
}

#[test]
fn hostile_paths_and_logins_stay_inert_text() {
    let r = check("hostile-text", "codeowners");
    assert_eq!(r.code, 1);
    assert!(
        !r.stdout.contains('\x1b') && !r.stdout.contains('\x07'),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("✗ fake line")),
        "{}",
        r.stdout
    );
    insta::assert_snapshot!(relative(&r.transcript()));
}
