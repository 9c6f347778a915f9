//! `gatehouse check` end to end on saved Facts: outcomes, exit codes, dry run,
//! `--now`, `--report`.

mod common;

use common::{fixture, run};

fn check(facts: &str, extra: &[&str]) -> common::Run {
    let facts = fixture(&format!("facts/{facts}.json"));
    let policy = fixture("policies/spine.toml");
    let mut args = vec![
        "check",
        "--facts",
        facts.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// Snapshots show paths relative to the project.
fn relative(text: &str) -> String {
    text.replace(&format!("{}/", common::root().display()), "")
}

#[test]
fn passing_pull_request_is_allowed() {
    let r = check("pull-request", &[]);
    assert_eq!(r.code, 0);
    insta::assert_snapshot!(relative(&r.transcript()));
}

#[test]
fn message_rule_blocks_a_change_without_ticket() {
    let r = check("pull-request-untidy", &[]);
    assert_eq!(r.code, 1);
    insta::assert_snapshot!(relative(&r.transcript()));
}

#[test]
fn ref_rule_allows_a_tag_deploy() {
    let r = check("deploy-tag", &[]);
    assert_eq!(r.code, 0);
    insta::assert_snapshot!(relative(&r.transcript()));
}

#[test]
fn ref_rule_blocks_a_feature_branch_deploy() {
    let r = check("deploy-feature-branch", &[]);
    assert_eq!(r.code, 1);
    insta::assert_snapshot!(relative(&r.transcript()));
}

#[test]
fn dry_run_says_would_block_and_exits_zero() {
    let r = check("deploy-feature-branch", &["--dry-run"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("would block"), "{}", r.stdout);
    assert!(r.stdout.contains("dry run: nothing recorded"));
}

#[test]
fn now_is_refused_without_dry_run() {
    let r = check("deploy-tag", &["--now", "2026-12-24T10:00:00+01:00"]);
    assert_eq!(r.code, 2);
    insta::assert_snapshot!(r.transcript());
}

#[test]
fn now_is_used_as_the_evaluation_instant_in_a_dry_run() {
    let r = check(
        "deploy-tag",
        &[
            "--dry-run",
            "--now",
            "2026-12-24T10:00:00+01:00",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 0);
    let d: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(d["evaluated_at"], "2026-12-24T09:00:00Z");
    assert_eq!(d["dry_run"], true);
}

#[test]
fn malformed_now_is_a_usage_error() {
    let r = check("deploy-tag", &["--dry-run", "--now", "friday 17:00"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not an RFC 3339 instant"), "{}", r.stderr);
}

#[test]
fn environment_flag_selects_environment_rules() {
    // The pull request has no deployment; --environment makes the ref rule apply.
    let r = check("pull-request", &["--environment", "production"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("FAIL   deploy-from-main-or-tags"),
        "{}",
        r.stdout
    );
}

#[test]
fn json_report_has_stable_fields() {
    let r = check("pull-request-untidy", &["--format", "json"]);
    assert_eq!(r.code, 1);
    let mut d: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    d["evaluated_at"] = "[time]".into();
    d["policy"]["path"] = "[policy]".into();
    insta::assert_json_snapshot!(d);
}

#[test]
fn extra_reports_are_written_to_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested/decision.json");
    let arg = format!("json={}", out.display());
    let r = check("deploy-tag", &["--report", &arg]);
    assert_eq!(r.code, 0);
    let d: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(d["verdict"], "allow");
    assert!(
        r.stdout.contains("allowed:"),
        "stdout keeps the human report"
    );
}

#[test]
fn unwritable_report_is_indeterminate() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let arg = format!("json={}/sub/decision.json", blocker.display());
    let r = check("deploy-tag", &["--report", &arg]);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("cannot write the json report"),
        "{}",
        r.stderr
    );
}

#[test]
fn bad_report_argument_is_a_usage_error() {
    let r = check("deploy-tag", &["--report", "xml=out.xml"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown format `xml`"), "{}", r.stderr);
}

#[test]
fn invalid_policy_is_exit_two_even_in_a_dry_run() {
    let facts = fixture("facts/deploy-tag.json");
    let policy = fixture("policies/malformed/unknown-rule-kind.toml");
    let r = run(&[
        "check",
        "--dry-run",
        "--facts",
        facts.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown rule kind `mesage`"));
}

#[test]
fn missing_policy_file_is_exit_two() {
    let facts = fixture("facts/deploy-tag.json");
    let r = run(&[
        "check",
        "--facts",
        facts.to_str().unwrap(),
        "--policy",
        "no/such.toml",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("cannot read policy file no/such.toml"),
        "{}",
        r.stderr
    );
}

#[test]
fn every_rule_skipped_is_said_clearly() {
    let facts = fixture("facts/pull-request.json");
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.toml");
    std::fs::write(
        &policy,
        "version = 1\n[[rule]]\nid = \"prod-only\"\nkind = \"ref\"\nbranches = [\"main\"]\nwhen = { environments = [\"production\"] }\n",
    )
    .unwrap();
    let r = run(&[
        "check",
        "--facts",
        facts.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("every rule of the policy was skipped"),
        "{}",
        r.stdout
    );
}

#[test]
fn hostile_text_cannot_drive_the_terminal() {
    let mut facts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("facts/pull-request-untidy.json")).unwrap())
            .unwrap();
    facts["change"]["title"] =
        "evil \u{1b}[2J\u{1b}]8;;https://x\u{7}link\u{1b}]8;;\u{7} \u{202e}txt".into();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.json");
    std::fs::write(&path, facts.to_string()).unwrap();
    let policy = fixture("policies/spine.toml");
    let r = run(&[
        "check",
        "--facts",
        path.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("title: evil"));
    for bad in ['\u{1b}', '\u{7}', '\u{202e}'] {
        assert!(!r.stdout.contains(bad), "{bad:?} survived");
    }
}
