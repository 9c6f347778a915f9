//! `kind = "deploy-signoff"` end to end: platform approvals, and signed tags
//! made with real `ssh-keygen`/`gpg` (fixtures/signing/build-repo.sh).

mod common;
mod signing_repo;

use serde_json::{Value, json};
use signing_repo::{SignedRepo, facts, literal};

fn run_check(dir: &std::path::Path, facts: &Value, policy: &str) -> common::Run {
    let facts_path = dir.join("facts.json");
    std::fs::write(&facts_path, serde_json::to_string_pretty(facts).unwrap()).unwrap();
    let policy_path = dir.join("gatehouse.toml");
    std::fs::write(&policy_path, policy).unwrap();
    common::run(&[
        "check",
        "--facts",
        facts_path.to_str().unwrap(),
        "--policy",
        policy_path.to_str().unwrap(),
        "--environment",
        "production",
    ])
}

const HEAD: &str = "9f2c4d1e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d";

fn deployment(approvals: Value) -> Value {
    json!({ "environment": "production", "requested_by": "alice", "approvals": approvals })
}

const POLICY: &str = r#"version = 1

[[rule]]
id = "production-signoff"
kind = "deploy-signoff"
when = { environments = ["production"] }
approvals = 2
from = ["@acme/release", "alice"]
"#;

fn redact_dir(dir: &std::path::Path, text: &str) -> String {
    let text = text.replace(&dir.display().to_string(), "[dir]");
    regex::Regex::new(r"sha256:[0-9a-f]{12}")
        .unwrap()
        .replace_all(&text, "sha256:[digest]")
        .into_owned()
}

#[test]
fn two_release_managers_sign_off() {
    let dir = tempfile::tempdir().unwrap();
    let approvals = json!([
        { "by": "carol", "state": "approved", "at": "2026-11-20T13:50:00Z" },
        { "by": "Dave", "state": "approved", "at": "2026-11-20T13:55:00Z", "comment": "go" },
    ]);
    let r = run_check(
        dir.path(),
        &facts(HEAD, vec![], vec![], deployment(approvals)),
        POLICY,
    );
    assert_eq!(r.code, 0, "{}", r.transcript());
    insta::assert_snapshot!(redact_dir(dir.path(), &r.transcript()));
}

#[test]
fn self_approval_and_outsiders_do_not_count() {
    let dir = tempfile::tempdir().unwrap();
    let approvals = json!([
        { "by": "alice", "state": "approved", "at": "2026-11-20T13:50:00Z" },
        { "by": "mallory", "state": "approved", "at": "2026-11-20T13:51:00Z" },
        { "by": "carol", "state": "approved", "at": "2026-11-20T13:52:00Z" },
    ]);
    let r = run_check(
        dir.path(),
        &facts(HEAD, vec![], vec![], deployment(approvals)),
        POLICY,
    );
    assert_eq!(r.code, 1, "{}", r.transcript());
    insta::assert_snapshot!(redact_dir(dir.path(), &r.transcript()));
}

#[test]
fn a_rejection_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let approvals = json!([
        { "by": "carol", "state": "approved", "at": "2026-11-20T13:50:00Z" },
        { "by": "dave", "state": "rejected", "at": "2026-11-20T13:55:00Z", "comment": "not during the freeze" },
    ]);
    let r = run_check(
        dir.path(),
        &facts(HEAD, vec![], vec![], deployment(approvals)),
        POLICY,
    );
    assert_eq!(r.code, 1, "{}", r.transcript());
    insta::assert_snapshot!(redact_dir(dir.path(), &r.transcript()));
}

#[test]
fn unavailable_approvals_are_indeterminate() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = facts(HEAD, vec![], vec![], deployment(json!([])));
    f["unavailable"] = json!(["deployment.approvals"]);
    let r = run_check(dir.path(), &f, POLICY);
    assert_ne!(r.code, 0, "{}", r.transcript());
    assert!(
        r.stdout.contains("cannot see `deployment.approvals`"),
        "{}",
        r.stdout
    );
}

fn tag_policy(repo: &SignedRepo) -> String {
    format!(
        "version = 1\n\n[[rule]]\nid = \"release-signoff\"\nkind = \"deploy-signoff\"\nfrom = [\"@acme/release\"]\nsigned_tags = true\nallowed_signers = {}\nkeyring = {}\n",
        literal(&repo.allowed_signers()),
        literal(&repo.keyring())
    )
}

fn tagged_facts(repo: &SignedRepo, tags: &[&str], deployment: Value) -> Value {
    let head = repo.sha("unsigned");
    let tags = tags.iter().map(|t| repo.tag_facts(t)).collect();
    facts(head, vec![repo.commit_facts(head)], tags, deployment)
}

#[test]
fn a_tag_signed_by_a_trusted_key_is_a_sign_off() {
    let repo = SignedRepo::build();
    for tag in ["v1.0.0", "v1.0.0-pgp"] {
        // Offline: no deployment object at all, only the tag.
        let r = run_check(
            repo.dir.path(),
            &tagged_facts(&repo, &[tag], Value::Null),
            &tag_policy(&repo),
        );
        assert_eq!(r.code, 0, "{tag}: {}", r.transcript());
        // And on a platform deployment nobody approved yet.
        let r = run_check(
            repo.dir.path(),
            &tagged_facts(&repo, &[tag], deployment(json!([]))),
            &tag_policy(&repo),
        );
        assert_eq!(r.code, 0, "{tag}: {}", r.transcript());
    }
}

#[test]
fn untrusted_and_unsigned_tags_are_not_a_sign_off() {
    let repo = SignedRepo::build();
    let r = run_check(
        repo.dir.path(),
        &tagged_facts(
            &repo,
            &["v1.0.0-mallory", "v1.0.0-unsigned"],
            deployment(json!([])),
        ),
        &tag_policy(&repo),
    );
    assert_eq!(r.code, 1, "{}", r.transcript());
    let text = regex::Regex::new(r"SHA256:[A-Za-z0-9+/]{43}")
        .unwrap()
        .replace_all(&r.transcript(), "SHA256:[fingerprint]")
        .into_owned();
    let text = regex::Regex::new(r"\b[0-9a-f]{7}\b")
        .unwrap()
        .replace_all(&text, "[short-sha]")
        .into_owned();
    insta::assert_snapshot!(redact_dir(repo.dir.path(), &text));
}

#[test]
fn a_rejection_outweighs_a_signed_tag() {
    let repo = SignedRepo::build();
    let approvals = json!([{ "by": "carol", "state": "rejected", "at": "2026-11-20T13:50:00Z" }]);
    let r = run_check(
        repo.dir.path(),
        &tagged_facts(&repo, &["v1.0.0"], deployment(approvals)),
        &tag_policy(&repo),
    );
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(
        r.stdout
            .contains("carol rejected the deployment to production"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_tag_signature_must_cover_that_tag() {
    let repo = SignedRepo::build();
    // v1.0.0-unsigned, claiming v1.0.0's good signature and payload.
    let mut tag = repo.tag_facts("v1.0.0-unsigned");
    tag["signature"] = repo.tag_facts("v1.0.0")["signature"].clone();
    let head = repo.sha("unsigned");
    let f = facts(
        head,
        vec![repo.commit_facts(head)],
        vec![tag],
        deployment(json!([])),
    );
    let r = run_check(repo.dir.path(), &f, &tag_policy(&repo));
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(
        r.stdout
            .contains("tag v1.0.0-unsigned: the signed content is not this tag's"),
        "{}",
        r.stdout
    );
}
