//! Recording inside `gatehouse check`: one record per enforcing run whatever
//! the outcome, where the default log lives, what a failing sink or a missing
//! key does, that secrets stay out, and `--attest`.

mod audit_support;
mod common;

use std::path::Path;
use std::process::Command;

use audit_support::{Scratch, redact};
use common::{fixture, gatehouse};

fn records(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_AUTHOR_DATE", "2026-11-20T12:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-11-20T12:00:00Z")
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

#[test]
fn the_record_carries_every_contract_field() {
    let s = Scratch::new();
    let key = s.keygen("key");
    let r = s.check(
        "deploy-feature-branch",
        Some(&key),
        &["--environment", "production"],
    );
    assert_eq!(r.code, 1, "{}", r.transcript());
    let text = std::fs::read_to_string(s.log()).unwrap();
    assert_eq!(text.lines().count(), 1);
    let mut record: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    assert!(
        record["sig"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN SSH SIGNATURE-----")
    );
    record["sig"] = "[signature]".into();
    let shown = s.redact(&serde_json::to_string_pretty(&record).unwrap());
    insta::assert_snapshot!(shown.replace(&common::root().display().to_string(), "[root]"));
}

#[test]
fn every_enforcing_run_writes_exactly_one_record_whatever_the_outcome() {
    let s = Scratch::new();
    assert_eq!(s.check("pull-request", None, &[]).code, 0);
    assert_eq!(s.check("pull-request-untidy", None, &[]).code, 1);
    // Facts that cannot be read: indeterminate, and still recorded.
    let policy = fixture("policies/spine.toml");
    let log = format!("file:{}", s.log().display());
    let r = s.run(&[
        "check",
        "--facts",
        "missing.json",
        "--policy",
        policy.to_str().unwrap(),
        "--audit",
        &log,
    ]);
    assert_eq!(r.code, 3, "{}", r.transcript());
    // A dry run records nothing.
    assert_eq!(s.check("pull-request-untidy", None, &["--dry-run"]).code, 0);

    let recs = records(&s.log());
    let decisions: Vec<&str> = recs
        .iter()
        .map(|r| r["decision"].as_str().unwrap())
        .collect();
    assert_eq!(decisions, ["allow", "block", "error"]);
    let seqs: Vec<u64> = recs.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(
        recs[2]["reason"],
        "facts could not be gathered: facts file: cannot read missing.json: No such file or directory (os error 2)"
    );
    assert_eq!(recs[2]["policy"]["digest"], recs[0]["policy"]["digest"]);
    assert!(recs.iter().all(|r| r["mode"] == "enforce"));
    let v = s.run(&["audit", "verify", s.log().to_str().unwrap()]);
    assert_eq!(v.code, 0, "{}", v.transcript());
}

#[test]
fn an_invalid_policy_is_recorded_only_in_command_line_sinks() {
    let s = Scratch::new();
    let facts = fixture("facts/deploy-tag.json");
    let policy = fixture("policies/malformed/unknown-rule-kind.toml");
    let log = format!("file:{}", s.log().display());
    let r = s.run(&[
        "check",
        "--facts",
        facts.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--audit",
        &log,
    ]);
    assert_eq!(r.code, 2);
    let recs = records(&s.log());
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["decision"], "error");
    assert!(
        recs[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("the policy could not be used:"),
        "{}",
        recs[0]["reason"]
    );

    // Without --audit the policy's sinks are unknown: nothing is written, and it says so.
    let out = gatehouse()
        .current_dir(s.dir.path())
        .args([
            "check",
            "--facts",
            facts.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("note: no audit record was written"),
        "{stderr}"
    );
}

#[test]
fn a_failing_sink_blocks_and_is_named() {
    let s = Scratch::new();
    std::fs::create_dir(s.path("a-directory")).unwrap();
    let sink = format!("file:{}", s.path("a-directory").display());
    let facts = fixture("facts/pull-request.json");
    let policy = fixture("policies/spine.toml");
    let r = s.run(&[
        "check",
        "--facts",
        facts.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--audit",
        &sink,
    ]);
    assert_eq!(
        r.code, 3,
        "an allowed decision that cannot be recorded blocks"
    );
    insta::assert_snapshot!(s.redact(&r.stderr), @r"
    error: the decision was not recorded — audit sink file:[dir]/a-directory: cannot open: Is a directory (os error 21)
    the gate blocks: a run whose audit record cannot be written is never allowed (exit 3)
    ");
}

fn policy_with_audit(s: &Scratch, audit: &str) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(fixture("policies/spine.toml")).unwrap();
    text = text.replacen(
        "version = 1\n",
        &format!("version = 1\n\n[audit]\n{audit}\n"),
        1,
    );
    let path = s.path("policy.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn require_signature_without_a_key_blocks() {
    let s = Scratch::new();
    let policy = policy_with_audit(&s, "require_signature = true");
    let facts = fixture("facts/pull-request.json");
    let log = format!("file:{}", s.log().display());
    let args = [
        "check",
        "--facts",
        facts.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--audit",
        &log,
    ];
    let r = s.run(&args);
    assert_eq!(r.code, 3);
    insta::assert_snapshot!(r.stderr, @r"
    error: the policy sets `[audit] require_signature = true`, but no signing key was given; set $GATEHOUSE_AUDIT_KEY to the key text or pass --audit-key FILE (make one with `gatehouse audit keygen`)
    the gate blocks: a run whose audit record cannot be written is never allowed (exit 3)
    ");
    assert!(!s.log().exists(), "no unsigned record was written");

    // The key from the environment, as CI secrets are passed.
    let key = s.keygen("key");
    let key_text = std::fs::read_to_string(&key).unwrap();
    let out = gatehouse()
        .current_dir(s.dir.path())
        .env("GATEHOUSE_AUDIT_KEY", &key_text)
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log_text = std::fs::read_to_string(s.log()).unwrap();
    assert!(log_text.contains("\"sig\":\"-----BEGIN SSH SIGNATURE-----"));
    // The secret never reaches the record or the output.
    let secret_line = key_text.lines().nth(2).unwrap();
    assert!(secret_line.len() > 40);
    for shown in [
        log_text.as_str(),
        &String::from_utf8_lossy(&out.stdout),
        &String::from_utf8_lossy(&out.stderr),
    ] {
        assert!(!shown.contains(secret_line));
    }
}

#[test]
fn a_bad_key_is_indeterminate_and_not_echoed() {
    let s = Scratch::new();
    let facts = fixture("facts/pull-request.json");
    let policy = fixture("policies/spine.toml");
    let log = format!("file:{}", s.log().display());
    let out = gatehouse()
        .current_dir(s.dir.path())
        .env("GATEHOUSE_AUDIT_KEY", "hunter2-not-a-key")
        .args([
            "check",
            "--facts",
            facts.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
            "--audit",
            &log,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("$GATEHOUSE_AUDIT_KEY is not an OpenSSH private key"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"));
}

#[test]
fn the_default_log_lives_in_the_git_dir_even_in_a_linked_worktree() {
    let s = Scratch::new();
    let main = s.path("main");
    std::fs::create_dir(&main).unwrap();
    git(&main, &["init", "-q", "-b", "main"]);
    git(&main, &["commit", "-q", "--allow-empty", "-m", "root"]);
    git(&main, &["worktree", "add", "-q", "../linked"]);
    let linked = s.path("linked");
    assert!(
        linked.join(".git").is_file(),
        "a linked worktree's .git is a file"
    );
    let facts = fixture("facts/pull-request.json");
    let policy = fixture("policies/spine.toml");
    for repo in [&main, &linked] {
        let out = gatehouse()
            .current_dir(s.dir.path())
            .args([
                "check",
                "--facts",
                facts.to_str().unwrap(),
                "--policy",
                policy.to_str().unwrap(),
                "--repo",
                repo.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // One chain for the repository: both runs are in the main git dir.
    let recs = records(&main.join(".git/gatehouse/audit.jsonl"));
    assert_eq!(recs.len(), 2);
    assert!(!linked.join(".git/gatehouse").exists());
}

#[test]
fn the_default_log_outside_a_repository_is_an_error_naming_the_sink() {
    let s = Scratch::new();
    let facts = fixture("facts/pull-request.json");
    let policy = fixture("policies/spine.toml");
    let out = gatehouse()
        .current_dir(s.dir.path())
        .args([
            "check",
            "--facts",
            facts.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    insta::assert_snapshot!(stderr, @r"
    error: audit sink file:.git/gatehouse/audit.jsonl: . is not inside a git repository, so `.git/` has no place to be; pass an explicit sink such as `--audit file:audit.jsonl`
    the gate blocks: a run whose audit record cannot be written is never allowed (exit 3)
    ");
}

#[test]
fn policy_sinks_are_relative_to_the_repository_and_add_to_command_line_sinks() {
    let s = Scratch::new();
    let repo = s.path("repo");
    std::fs::create_dir(&repo).unwrap();
    let policy = policy_with_audit(&s, "sinks = [\"file:logs/gate.jsonl\"]");
    let r = s.check(
        "pull-request",
        None,
        &[
            "--policy",
            policy.to_str().unwrap(),
            "--repo",
            repo.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.transcript());
    let from_policy = records(&repo.join("logs/gate.jsonl"));
    let from_cli = records(&s.log());
    assert_eq!(from_policy.len(), 1);
    assert_eq!(
        from_policy[0]["id"], from_cli[0]["id"],
        "one record, written to both sinks"
    );
}

#[test]
fn query_filters_and_prints_a_table_or_json_lines() {
    let s = Scratch::new();
    assert_eq!(s.check("pull-request", None, &[]).code, 0);
    assert_eq!(s.check("pull-request-untidy", None, &[]).code, 1);
    assert_eq!(
        s.check(
            "deploy-feature-branch",
            None,
            &["--environment", "production"]
        )
        .code,
        1
    );
    assert_eq!(
        s.check("deploy-tag", None, &["--environment", "production"])
            .code,
        0
    );
    let log = s.log().display().to_string();

    let r = s.run(&["audit", "query", &log, "--decision", "block"]);
    assert_eq!(r.code, 0);
    insta::assert_snapshot!(redact(&r.stdout), @r"
       SEQ  TIME                         DECISION  REPO                      REF                           SHA           ACTOR             FAILED RULES
         2  [time]  block     acme/api                  refs/pull/42/merge            9f2c4d1       alice             ticket-reference,no-fixups
         3  [time]  block     acme/api                  refs/heads/feature/rate-limiter  9f2c4d1       eve               deploy-from-main-or-tags
    ");

    let r = s.run(&[
        "audit",
        "query",
        &log,
        "--rule",
        "deploy-from-main-or-tags",
        "--format",
        "json",
    ]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0], s.lines()[2], "json output is the stored line");

    let r = s.run(&[
        "audit",
        "query",
        &log,
        "--actor",
        "eve",
        "--decision",
        "allow",
        "--format",
        "json",
    ]);
    assert_eq!(r.stdout.lines().count(), 1);
    let r = s.run(&[
        "audit",
        "query",
        &log,
        "--repo",
        "other/repo",
        "--format",
        "json",
    ]);
    assert_eq!(r.stdout, "");
    let r = s.run(&[
        "audit",
        "query",
        &log,
        "--since",
        "2999-01-01T00:00:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(r.stdout, "");
    let r = s.run(&[
        "audit",
        "query",
        &log,
        "--until",
        "2999-01-01T00:00:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(r.stdout.lines().count(), 4);
}

#[test]
fn head_prints_seq_and_the_hash_of_the_last_line() {
    let s = Scratch::new();
    assert_eq!(s.check("pull-request", None, &[]).code, 0);
    assert_eq!(s.check("pull-request", None, &[]).code, 0);
    let r = s.run(&["audit", "head", s.log().to_str().unwrap()]);
    assert_eq!(r.code, 0);
    let last = s.lines().pop().unwrap();
    let expected = gatehouse::audit::record::line_hash(last.as_bytes());
    assert_eq!(
        r.stdout,
        format!("2:{}\n", expected.trim_start_matches("sha256:"))
    );
}

#[test]
fn keygen_writes_a_key_pair_and_never_overwrites() {
    let s = Scratch::new();
    let key = s.keygen("k");
    let private = std::fs::read_to_string(&key).unwrap();
    assert!(private.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
    let public = std::fs::read_to_string(s.path("k.pub")).unwrap();
    assert!(public.starts_with("ssh-ed25519 "));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // ssh-keygen reads it as its own.
    let out = Command::new("ssh-keygen")
        .args(["-y", "-f", key.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(1),
        public.split_whitespace().nth(1)
    );
    let r = s.run(&["audit", "keygen", "--out", key.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("already exists"));
}

#[test]
fn attest_writes_a_signed_in_toto_verification_summary() {
    use base64::Engine as _;
    let s = Scratch::new();
    let key = s.keygen("key");
    let out = s.path("attestation.json");
    let r = s.check(
        "deploy-tag",
        Some(&key),
        &[
            "--environment",
            "production",
            "--attest",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.transcript());
    let envelope: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
    let b64 = base64::engine::general_purpose::STANDARD;
    let payload = b64.decode(envelope["payload"].as_str().unwrap()).unwrap();
    let sig = b64
        .decode(envelope["signatures"][0]["sig"].as_str().unwrap())
        .unwrap();
    // DSSE: the signature covers the pre-authentication encoding.
    let pae = gatehouse::audit::attest::pae("application/vnd.in-toto+json", &payload);
    let public = ssh_key::PublicKey::read_openssh_file(&s.path("key.pub")).unwrap();
    let sig = ssh_key::Signature::new(ssh_key::Algorithm::Ed25519, sig).unwrap();
    signature::Verifier::verify(&public, &pae, &sig).expect("the DSSE signature verifies");
    let statement: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    insta::assert_snapshot!(
        redact(&serde_json::to_string_pretty(&statement).unwrap())
            .replace(&common::root().display().to_string(), "[root]")
    );

    // A blocked run attests FAILED; without a key there is no attestation but an error.
    let r = s.check(
        "deploy-feature-branch",
        Some(&key),
        &[
            "--environment",
            "production",
            "--attest",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 1);
    let envelope: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let statement: serde_json::Value =
        serde_json::from_slice(&b64.decode(envelope["payload"].as_str().unwrap()).unwrap())
            .unwrap();
    assert_eq!(statement["predicate"]["verificationResult"], "FAILED");
    let r = s.check(
        "deploy-tag",
        None,
        &["--attest", s.path("other.json").to_str().unwrap()],
    );
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("--attest needs the audit key"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_bad_sink_in_the_policy_is_a_policy_error() {
    let s = Scratch::new();
    let policy = policy_with_audit(&s, "sinks = [\"s3://bucket/log\"]");
    let r = s.check(
        "pull-request",
        None,
        &["--policy", policy.to_str().unwrap()],
    );
    // A policy diagnostic like any other (the whole rendering is snapshot in
    // tests/policy.rs, `bad-audit-sink`), and the run is recorded to --audit.
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("policy::bad-value"), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "`s3://bucket/log` is not an audit sink; use file:PATH, postgres://… or https://…"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn a_sink_named_twice_gets_the_record_once() {
    let s = Scratch::new();
    let log = format!("file:{}", s.log().display());
    let r = s.check("pull-request", None, &["--audit", &log]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_eq!(s.lines().len(), 1);
}

#[test]
fn a_dry_run_neither_records_nor_attests() {
    let s = Scratch::new();
    let key = s.keygen("key");
    let out = s.path("attestation.json");
    let r = s.check(
        "deploy-tag",
        Some(&key),
        &["--dry-run", "--attest", out.to_str().unwrap()],
    );
    assert_eq!(r.code, 0);
    assert!(
        r.stderr.contains("--attest is ignored in a dry run"),
        "{}",
        r.stderr
    );
    assert!(!out.exists());
    assert!(!s.log().exists());
}

#[test]
fn audit_commands_default_to_the_repository_log() {
    let s = Scratch::new();
    let repo = s.path("repo");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    let facts = fixture("facts/pull-request.json");
    let policy = fixture("policies/spine.toml");
    let out = gatehouse()
        .current_dir(&repo)
        .args([
            "check",
            "--facts",
            facts.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verify = common::run_in(&repo, &["audit", "verify"]);
    assert_eq!(verify.code, 0, "{}", verify.transcript());
    assert!(
        verify
            .stdout
            .contains(".git/gatehouse/audit.jsonl: ok — 1 record, head 1:"),
        "{}",
        verify.stdout
    );
    let head = common::run_in(&repo, &["audit", "head"]);
    assert!(head.stdout.starts_with("1:"), "{}", head.transcript());
}
