//! `kind = "checks"` and `kind = "size"` end to end on saved Facts.

mod common;

use common::fixture;
use serde_json::Value;

fn check(dir: &std::path::Path, policy: &str, edit: impl FnOnce(&mut Value)) -> common::Run {
    let path = dir.join("gatehouse.toml");
    std::fs::write(&path, format!("version = 1\n\n{policy}")).unwrap();
    let text = std::fs::read_to_string(fixture("facts/pull-request.json")).unwrap();
    let mut facts: Value = serde_json::from_str(&text).unwrap();
    edit(&mut facts);
    let facts_path = dir.join("facts.json");
    std::fs::write(&facts_path, facts.to_string()).unwrap();
    common::run(&[
        "check",
        "--facts",
        facts_path.to_str().unwrap(),
        "--policy",
        path.to_str().unwrap(),
        "--dry-run",
    ])
}

fn rule_lines(stdout: &str) -> String {
    stdout
        .lines()
        .filter(|l| l.starts_with("  "))
        .collect::<Vec<_>>()
        .join("\n")
}

const CHECKS: &str = r#"[[rule]]
id = "ci-green"
kind = "checks"
required = ["build", "test/*"]
app = "github-actions"
"#;

#[test]
fn required_checks_name_each_missing_pending_failed_or_forged_check() {
    let dir = tempfile::tempdir().unwrap();
    let head = "9f2c4d1e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d";
    let r = check(dir.path(), CHECKS, |f| {
        f["checks"] = serde_json::json!([
            { "name": "build", "status": "completed", "conclusion": "success", "commit": head, "app": "some-other-app" },
            { "name": "test/unit", "status": "in_progress", "conclusion": null, "commit": head, "app": "github-actions" },
            { "name": "test/e2e", "status": "completed", "conclusion": "failure", "commit": head, "app": "github-actions" }
        ]);
    });
    insta::assert_snapshot!(rule_lines(&r.stdout));
}

#[test]
fn green_checks_on_the_head_commit_pass() {
    let dir = tempfile::tempdir().unwrap();
    let head = "9f2c4d1e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d";
    let r = check(dir.path(), CHECKS, |f| {
        f["checks"] = serde_json::json!([
            { "name": "build", "status": "completed", "conclusion": "success", "commit": head, "app": "github-actions" },
            { "name": "test/unit", "status": "completed", "conclusion": "success", "commit": head, "app": "github-actions" }
        ]);
    });
    assert!(
        r.stdout
            .contains("PASS   ci-green  2 of the required checks passed on 9f2c4d1"),
        "{}",
        r.stdout
    );
}

#[test]
fn size_counts_files_and_lines_without_the_excluded_ones() {
    let dir = tempfile::tempdir().unwrap();
    let policy = r#"[[rule]]
id = "reviewable-size"
kind = "size"
max_files = 1
max_lines = 100
exclude = ["infra/**"]
"#;
    let r = check(dir.path(), policy, |_| {});
    assert!(
        r.stdout
            .contains("FAIL   reviewable-size  1 file, 120 changed lines (1 excluded)"),
        "{}",
        r.stdout
    );
    insta::assert_snapshot!(rule_lines(&r.stdout));
}
