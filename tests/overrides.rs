//! Break-glass overrides end to end: the real binary on saved Facts, every
//! path — allowed with label and approver, refused without an approver,
//! refused when the approver is the author, refused when `overridable =
//! false`, and the `GATEHOUSE_OVERRIDE_REASON` path of a deployment.

mod common;

use common::fixture;
use serde_json::Value;

/// A policy with one failing rule (the change touches two files, one is
/// allowed) that may be overridden; `extra` adds keys to the rule.
fn policy(dir: &std::path::Path, extra: &str) -> std::path::PathBuf {
    let path = dir.join("gatehouse.toml");
    std::fs::write(
        &path,
        format!(
            r#"version = 1

[audit]
sinks = ["file:{}"]

[[rule]]
id = "small-changes"
kind = "size"
description = "One file per change"
max_files = 1
override = {{ labels = ["emergency"], approvers = ["@acme/release"], reason_required = false }}
{extra}
"#,
            dir.join("audit.jsonl").display()
        ),
    )
    .unwrap();
    path
}

/// Facts from `fixture`, changed by `edit`, saved in `dir`.
fn facts(
    dir: &std::path::Path,
    fixture_name: &str,
    edit: impl FnOnce(&mut Value),
) -> std::path::PathBuf {
    let text = std::fs::read_to_string(fixture(fixture_name)).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    edit(&mut v);
    let path = dir.join("facts.json");
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    path
}

fn check(policy: &std::path::Path, facts: &std::path::Path, format: &str) -> common::Run {
    common::run(&[
        "check",
        "--facts",
        facts.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--format",
        format,
    ])
}

/// The temporary directory, and the digest of a policy that names it, differ per run.
fn redact(dir: &std::path::Path, text: &str) -> String {
    let text = text.replace(&dir.display().to_string(), "[tmp]");
    regex::Regex::new("sha256:[0-9a-f]+")
        .unwrap()
        .replace_all(&text, "sha256:[digest]")
        .into_owned()
}

const CHANGE: &str = "facts/overrides/emergency-change.json";

#[test]
fn label_and_approver_allow_it_as_overridden() {
    let dir = tempfile::tempdir().unwrap();
    let p = policy(dir.path(), "");
    let f = facts(dir.path(), CHANGE, |_| {});
    let r = check(&p, &f, "human");
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert!(
        r.stdout
            .contains("ALLOW  small-changes  allow (overridden):"),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("PASS"),
        "an overridden rule is never a plain pass"
    );
    insta::assert_snapshot!(redact(dir.path(), &r.transcript()));

    let r = check(&p, &f, "json");
    let d: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(d["verdict"], "allow");
    assert_eq!(d["rules"][0]["outcome"], "fail");
    assert_eq!(d["rules"][0]["overridden"], true);
    assert_eq!(d["tally"]["overridden"], 1);
    insta::assert_json_snapshot!(d["overrides"], @r#"
    [
      {
        "approvers": [
          "bob"
        ],
        "evidence": [
          "label `emergency` on change #42",
          "review by bob approving 9f2c4d1 at 2026-11-20T13:55:00+00:00",
          "overridden finding: the change touches 2 files, more than the 1 allowed"
        ],
        "rule": "small-changes",
        "trigger": "label:emergency"
      }
    ]
    "#);
}

#[test]
fn without_an_approver_it_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = policy(dir.path(), "");
    let f = facts(dir.path(), CHANGE, |v| {
        v["change"]["reviews"] = serde_json::json!([]);
    });
    let r = check(&p, &f, "human");
    assert_eq!(r.code, 1);
    insta::assert_snapshot!(redact(dir.path(), &r.transcript()));
}

#[test]
fn the_author_approving_it_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = policy(dir.path(), "");
    let f = facts(dir.path(), CHANGE, |v| {
        v["change"]["reviews"][0]["author"] = "alice".into();
    });
    let r = check(&p, &f, "json");
    assert_eq!(r.code, 1);
    let d: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(d.get("overrides").is_none());
    assert_eq!(
        d["rules"][0]["findings"][1]["message"],
        "break-glass override refused: the only approval from @acme/release is by alice, who is the change's author or the deployment's requester"
    );
}

#[test]
fn overridable_false_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = policy(dir.path(), "overridable = false");
    let f = facts(dir.path(), CHANGE, |_| {});
    let r = check(&p, &f, "json");
    assert_eq!(r.code, 1);
    let d: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        d["rules"][0]["findings"][1]["message"],
        "break-glass override refused: rule `small-changes` is `overridable = false`"
    );
    assert_eq!(
        d["rules"][0]["findings"][1]["evidence"][0],
        "invoked by label:emergency"
    );
}

#[test]
fn the_reason_variable_overrides_in_a_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gatehouse.toml");
    std::fs::write(
        &path,
        format!(
            r#"version = 1

[audit]
sinks = ["file:{}"]

[[rule]]
id = "main-only"
kind = "ref"
branches = ["main"]
override = {{ approvers = ["@acme/release"] }}
"#,
            dir.path().join("audit.jsonl").display()
        ),
    )
    .unwrap();
    let f = fixture("facts/overrides/emergency-deploy.json");
    let run = |reason: Option<&str>| {
        let mut cmd = common::gatehouse();
        cmd.args([
            "check",
            "--facts",
            f.to_str().unwrap(),
            "--policy",
            path.to_str().unwrap(),
            "--format",
            "json",
        ]);
        match reason {
            Some(r) => cmd.env("GATEHOUSE_OVERRIDE_REASON", r),
            None => cmd.env_remove("GATEHOUSE_OVERRIDE_REASON"),
        };
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap(),
            serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        )
    };
    let (code, d) = run(None);
    assert_eq!(code, 1, "without the variable nothing invokes it");
    assert!(d.get("overrides").is_none());

    let (code, d) = run(Some("INC-1234: payments are down, hotfix from the tag"));
    assert_eq!(code, 0);
    assert_eq!(
        d["overrides"][0]["trigger"],
        "env:GATEHOUSE_OVERRIDE_REASON"
    );
    assert_eq!(d["overrides"][0]["approvers"][0], "bob");
    assert_eq!(
        d["overrides"][0]["reason"],
        "INC-1234: payments are down, hotfix from the tag"
    );
}
