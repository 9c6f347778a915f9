//! `kind = "dco"` end to end: the binary on saved Facts.

mod common;

use common::{fixture, root, run};

fn check(facts: &str, policy: &std::path::Path) -> common::Run {
    let facts = fixture(&format!("facts/dco/{facts}.json"));
    run(&[
        "check",
        "--facts",
        facts.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
    ])
}

fn relative(text: &str) -> String {
    text.replace(&format!("{}/", root().display()), "")
}

fn example() -> std::path::PathBuf {
    root().join("rules/examples/dco.toml")
}

#[test]
fn missing_and_wrong_signoffs_block_with_the_fix() {
    let r = check("pull-request-missing-signoffs", &example());
    assert_eq!(r.code, 1);
    insta::assert_snapshot!(relative(&r.transcript()));
}

#[test]
fn remediation_commits_sign_off_earlier_commits() {
    let r = check("pull-request-remediated", &example());
    assert_eq!(r.code, 0, "{}", r.transcript());
    insta::assert_snapshot!(relative(&r.transcript()));
}

#[test]
fn remediation_commits_do_not_count_when_not_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("dco.toml");
    std::fs::write(
        &policy,
        "version = 1\n[[rule]]\nid = \"dco\"\nkind = \"dco\"\n",
    )
    .unwrap();
    let r = check("pull-request-remediated", &policy);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(
        r.stdout.contains("2 commits have no DCO sign-off"),
        "{}",
        r.stdout
    );
}

#[test]
fn strict_mode_reads_only_the_trailer_block() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("dco.toml");
    std::fs::write(
        &policy,
        "version = 1\n[[rule]]\nid = \"dco\"\nkind = \"dco\"\nmode = \"strict\"\n",
    )
    .unwrap();
    let r = check("pull-request-remediated", &policy);
    assert_eq!(r.code, 1, "{}", r.transcript());
    insta::assert_snapshot!(
        r.transcript()
            .replace(&dir.path().display().to_string(), "[dir]")
    );
}
