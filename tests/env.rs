//! `--source auto` in a CI job: the real binary run in a checkout of the
//! fixture repository (`fixtures/hook/repo.sh`) with the variables GitHub
//! Actions or GitLab CI set, needing no flags.
//!
//! GitHub payloads are the published ones in `fixtures/github/webhooks/`; a
//! test loads one and substitutes only the commit ids (which must exist in the
//! fixture repository) before pointing `GITHUB_EVENT_PATH` at it. GitLab
//! variable sets come from `fixtures/gitlab/ci/`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::Run;

/// The fixture repository's commits (see `fixtures/hook/repo.sh`).
const A: &str = "181aff3d0ef34be6bf7bd70f40bb190ca0df16f7"; // PROJ-1, main~1
const B: &str = "52a1e1df20964011869995e600a1c2d82164b900"; // PROJ-2, main
const C: &str = "7d20bd112aa7f722787ef7cd743e089bec1bf4f5"; // PROJ-3, feature~1
const D: &str = "119d47bbbb128d82ce2ccde3d139e35e6bbeeaae"; // no ticket, feature

struct Checkout {
    tmp: tempfile::TempDir,
}

impl Checkout {
    fn new() -> Checkout {
        let tmp = tempfile::tempdir().unwrap();
        let built = Command::new("sh")
            .arg(common::fixture("hook/repo.sh"))
            .arg(tmp.path().join("repo"))
            .output()
            .unwrap();
        assert!(
            built.status.success(),
            "{}",
            String::from_utf8_lossy(&built.stderr)
        );
        Checkout { tmp }
    }

    fn repo(&self) -> PathBuf {
        self.tmp.path().join("repo")
    }

    /// Write a published payload with `edits` (JSON pointer, value) applied.
    fn payload(&self, name: &str, edits: &[(&str, &str)]) -> PathBuf {
        let text =
            std::fs::read_to_string(common::fixture(&format!("github/webhooks/{name}"))).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        for (pointer, value) in edits {
            *v.pointer_mut(pointer)
                .unwrap_or_else(|| panic!("{pointer} in {name}")) = (*value).into();
        }
        let path = self.tmp.path().join("event.json");
        std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
        path
    }

    /// gatehouse in the checkout with exactly `vars` as the CI's variables.
    fn run(&self, vars: &BTreeMap<String, String>, args: &[&str]) -> Run {
        let mut cmd = common::gatehouse();
        // Whatever CI runs these tests must not leak its own context in.
        for (k, _) in std::env::vars() {
            if k.starts_with("GITHUB_")
                || k.starts_with("CI_")
                || k.starts_with("GITLAB_")
                || k == "CI"
            {
                cmd.env_remove(&k);
            }
        }
        let out = cmd
            .current_dir(self.repo())
            .envs(vars)
            .args(args)
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn redact(&self, text: &str) -> String {
        let re = regex::Regex::new(r#""gathered_at": "[^"]+""#).unwrap();
        let text = text.replace(&self.tmp.path().display().to_string(), "[TMP]");
        let text = re.replace_all(&text, r#""gathered_at": "[TIME]""#);
        // In a GitHub job the human report is wrapped in a stop-commands
        // block with a random token.
        let token = regex::Regex::new(r"gatehouse-[0-9a-f]{32}").unwrap();
        token.replace_all(&text, "[TOKEN]").into_owned()
    }
}

fn github_vars(event: &str, payload: &Path) -> BTreeMap<String, String> {
    [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_NAME", event),
        ("GITHUB_EVENT_PATH", payload.to_str().unwrap()),
        ("GITHUB_ACTOR", "Codertocat"),
        ("GITHUB_REPOSITORY", "Codertocat/Hello-World"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_RUN_ID", "1658821493"),
        ("GITHUB_JOB", "gate"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A GitLab variable set from `fixtures/gitlab/ci/`, with `overrides`.
fn gitlab_vars(name: &str, overrides: &[(&str, &str)]) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(common::fixture(&format!("gitlab/ci/{name}.env"))).unwrap();
    let mut vars: BTreeMap<String, String> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    for (k, v) in overrides {
        vars.insert(k.to_string(), v.to_string());
    }
    vars
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.transcript()))
}

#[test]
fn github_pull_request_needs_no_flags() {
    let c = Checkout::new();
    let payload = c.payload(
        "pull_request.opened.0.json",
        &[("/pull_request/base/sha", B), ("/pull_request/head/sha", D)],
    );
    let mut vars = github_vars("pull_request", &payload);
    vars.insert("GITHUB_REF".into(), "refs/pull/2/merge".into());
    let r = c.run(&vars, &["facts"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    insta::assert_snapshot!(c.redact(&r.transcript()));
}

#[test]
fn github_pull_request_dry_run_shows_the_fix() {
    let c = Checkout::new();
    let payload = c.payload(
        "pull_request.opened.0.json",
        &[("/pull_request/base/sha", B), ("/pull_request/head/sha", D)],
    );
    let mut vars = github_vars("pull_request", &payload);
    vars.insert("GITHUB_REF".into(), "refs/pull/2/merge".into());
    let r = c.run(&vars, &["check", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    insta::assert_snapshot!(c.redact(&r.transcript()));
    // The same run, enforcing, blocks.
    let r = c.run(&vars, &["check"]);
    assert_eq!(r.code, 1, "{}", r.transcript());
}

#[test]
fn github_push_of_a_new_branch_gates_what_the_default_branch_lacks() {
    let c = Checkout::new();
    let payload = c.payload("push.event.4.json", &[("/after", C)]);
    let r = c.run(&github_vars("push", &payload), &["facts"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let f = json(&r);
    assert_eq!(f["event"]["kind"], "push");
    assert_eq!(f["ref"]["name"], "refs/heads/master");
    assert_eq!(f["ref"]["sha"], C);
    let shas: Vec<&str> = f["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sha"].as_str().unwrap())
        .collect();
    assert_eq!(shas, vec![C]);
    assert_eq!(f["change"], serde_json::Value::Null);
    assert_eq!(
        f["pipeline"]["url"],
        "https://github.com/Codertocat/Hello-World/actions/runs/1658821493"
    );
}

#[test]
fn github_push_that_deletes_a_ref_cannot_be_gated() {
    let c = Checkout::new();
    let payload = c.payload("push.event.1.json", &[]);
    let r = c.run(&github_vars("push", &payload), &["facts"]);
    assert_eq!(r.code, 3);
    insta::assert_snapshot!(c.redact(&r.transcript()));
}

#[test]
fn github_malformed_payload_names_the_file_and_the_json_path() {
    let c = Checkout::new();
    let payload = c.payload(
        "pull_request.opened.0.json",
        &[("/pull_request/number", "two")],
    );
    let r = c.run(&github_vars("pull_request", &payload), &["check"]);
    assert_eq!(r.code, 3);
    insta::assert_snapshot!(c.redact(&r.transcript()));
}

#[test]
fn gitlab_merge_request_needs_no_flags() {
    let c = Checkout::new();
    let vars = gitlab_vars(
        "merge-request",
        &[("CI_COMMIT_SHA", D), ("CI_MERGE_REQUEST_DIFF_BASE_SHA", B)],
    );
    let r = c.run(&vars, &["facts"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    insta::assert_snapshot!(c.redact(&r.transcript()));
}

#[test]
fn gitlab_deploy_job_is_a_deployment() {
    let c = Checkout::new();
    let vars = gitlab_vars("deploy", &[("CI_COMMIT_SHA", B)]);
    let r = c.run(&vars, &["facts"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let f = json(&r);
    assert_eq!(f["event"]["kind"], "deployment");
    assert_eq!(f["event"]["actor"], "eve");
    assert_eq!(
        f["ref"],
        serde_json::json!({"name": "refs/tags/v1.4.0", "sha": B})
    );
    assert_eq!(
        f["deployment"],
        serde_json::json!({"environment": "production", "requested_by": "eve", "approvals": []})
    );
    assert!(
        f["unavailable"]
            .as_array()
            .unwrap()
            .contains(&"deployment.approvals".into())
    );
    assert_eq!(f["pipeline"]["job"], "deploy-production");
    // --environment wins over the job's.
    let r = c.run(&vars, &["facts", "--environment", "staging"]);
    assert_eq!(json(&r)["deployment"]["environment"], "staging");
}

#[test]
fn flags_win_over_the_ci_context() {
    let c = Checkout::new();
    let vars = gitlab_vars(
        "merge-request",
        &[("CI_COMMIT_SHA", D), ("CI_MERGE_REQUEST_DIFF_BASE_SHA", B)],
    );
    let r = c.run(&vars, &["facts", "--base", A, "--head", C]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let f = json(&r);
    let shas: Vec<&str> = f["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sha"].as_str().unwrap())
        .collect();
    assert_eq!(shas, vec![C, B]);
    assert_eq!(f["change"]["head"]["sha"], C);
    assert_eq!(f["event"]["kind"], "pull_request");
}

#[test]
fn outside_ci_the_checkout_is_a_local_run() {
    let c = Checkout::new();
    let r = c.run(
        &BTreeMap::new(),
        &["facts", "--base", "main", "--head", "feature"],
    );
    assert_eq!(r.code, 0, "{}", r.transcript());
    let f = json(&r);
    assert_eq!(f["event"]["kind"], "local");
    assert_eq!(f["pipeline"], serde_json::Value::Null);
    assert!(!r.stderr.contains("GitHub Actions") && !r.stderr.contains("GitLab CI"));
}

#[test]
fn github_deployment_and_merge_group() {
    let c = Checkout::new();
    let payload = c.payload("deployment.created.0.json", &[("/deployment/sha", B)]);
    let mut vars = github_vars("deployment", &payload);
    vars.insert("GITHUB_REF".into(), "refs/heads/main".into());
    let r = c.run(&vars, &["facts"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let f = json(&r);
    assert_eq!(f["event"]["kind"], "deployment");
    assert_eq!(
        f["ref"],
        serde_json::json!({"name": "refs/heads/main", "sha": B})
    );
    assert_eq!(f["deployment"]["environment"], "production");
    assert_eq!(f["deployment"]["requested_by"], "Codertocat");

    let payload = c.payload(
        "merge_group.checks_requested.0.json",
        &[("/merge_group/base_sha", B), ("/merge_group/head_sha", D)],
    );
    let r = c.run(&github_vars("merge_group", &payload), &["facts"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let f = json(&r);
    assert_eq!(f["event"]["kind"], "merge_group");
    // The group is gated as the branch it merges into.
    assert_eq!(
        f["ref"],
        serde_json::json!({"name": "refs/heads/main", "sha": D})
    );
    let shas: Vec<&str> = f["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sha"].as_str().unwrap())
        .collect();
    assert_eq!(shas, vec![D, C]);
}
