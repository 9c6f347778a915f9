//! Signature verification against `git verify-commit` / `git verify-tag` on a
//! repository signed with real `ssh-keygen` and `gpg`, then the
//! `signed-commits` rule end to end through the binary.

mod common;
mod signing_repo;

use chrono::Utc;
use gatehouse::facts::Signature;
use gatehouse::signing::{AllowedSigners, Keyring, Rejection, TrustedKeys};
use signing_repo::{SignedRepo, facts, literal};

fn trusted(repo: &SignedRepo) -> TrustedKeys {
    TrustedKeys {
        ssh: Some(AllowedSigners::parse(&repo.allowed_signers()).expect("allowed_signers parses")),
        openpgp: Some(Keyring::parse(&repo.keyring()).expect("keyring parses")),
    }
}

/// What each fixture case must come to; `None` = a good signature.
fn expected(case: &str) -> Option<&'static str> {
    match case {
        "ssh-good" | "pgp-good" | "pgp-subkey-good" | "ssh-rsa-good" | "ssh-ecdsa-good" => None,
        "pgp-revoked-key" => Some("revoked"),
        "base" | "unsigned" => Some("unsigned"),
        "ssh-unknown-key" | "pgp-unknown-key" => Some("unknown key"),
        "ssh-expired-key" | "pgp-expired-key" => Some("expired"),
        "ssh-not-yet-valid" => Some("not yet valid"),
        "ssh-key-not-for-git" => Some("not allowed for git"),
        "ssh-wrong-namespace" => Some("wrong namespace"),
        "ssh-bad-signature" | "pgp-bad-signature" => Some("bad"),
        other => panic!("no expectation for fixture case {other}"),
    }
}

fn category(r: &Rejection) -> &'static str {
    match r {
        Rejection::Bad { .. } => "bad",
        Rejection::UnknownKey { .. } => "unknown key",
        Rejection::Expired { .. } => "expired",
        Rejection::NotYetValid { .. } => "not yet valid",
        Rejection::WrongNamespace { .. } => "wrong namespace",
        Rejection::NotAllowedForGit { .. } => "not allowed for git",
        Rejection::Revoked { .. } => "revoked",
        Rejection::Unsupported { .. } => "unsupported",
        Rejection::NoKeys { .. } => "no keys",
    }
}

#[test]
fn commit_verdicts_agree_with_git_verify_commit() {
    let repo = SignedRepo::build();
    let keys = trusted(&repo);
    assert_eq!(repo.commits.len(), 17, "every fixture case was built");
    let mut table = Vec::new();
    for (case, sha) in &repo.commits {
        let git = repo.git_verifies_commit(sha);
        let signed = repo.commit_signature(sha);
        let committer = repo.commit_facts(sha)["committer"]["time"]
            .as_str()
            .expect("time")
            .parse()
            .expect("rfc3339");
        let ours = match &signed.signature {
            None => Err("unsigned"),
            Some((format, signature)) => keys
                .verify(
                    &Signature {
                        format: format.clone(),
                        signature: signature.clone(),
                        payload: signed.payload.clone(),
                    },
                    committer,
                    Utc::now(),
                )
                .map_err(|r| category(&r)),
        };
        table.push(format!("{case}: git {git}, gatehouse {ours:?}"));
        assert_eq!(
            git,
            ours.is_ok(),
            "verdicts differ on {case}:\n{}",
            table.join("\n")
        );
        assert_eq!(ours.err(), expected(case), "{case}");
    }
}

#[test]
fn tag_verdicts_agree_with_git_verify_tag() {
    let repo = SignedRepo::build();
    let keys = trusted(&repo);
    for (name, sha) in &repo.tags {
        let git = repo.git_verifies_tag(name);
        let signed = repo.tag_signature(sha);
        let tagger = repo.tag_facts(name)["tagger"]["time"]
            .as_str()
            .expect("time")
            .parse()
            .expect("rfc3339");
        let ours = signed
            .signature
            .as_ref()
            .is_some_and(|(format, signature)| {
                keys.verify(
                    &Signature {
                        format: format.clone(),
                        signature: signature.clone(),
                        payload: signed.payload.clone(),
                    },
                    tagger,
                    Utc::now(),
                )
                .is_ok()
            });
        assert_eq!(git, ours, "verdicts differ on tag {name}");
        assert_eq!(ours, name == "v1.0.0" || name == "v1.0.0-pgp", "{name}");
    }
}

/// Writes a Facts file and a policy into the fixture directory and runs `check`.
fn check(repo: &SignedRepo, cases: &[&str], rule_keys: &str) -> common::Run {
    // Newest first, as sources report them.
    let commits: Vec<_> = cases
        .iter()
        .rev()
        .map(|c| repo.commit_facts(repo.sha(c)))
        .collect();
    let head = repo.sha(cases[cases.len() - 1]);
    let facts_path = repo.path("facts.json");
    std::fs::write(
        &facts_path,
        serde_json::to_string_pretty(&facts(head, commits, vec![], serde_json::Value::Null))
            .unwrap(),
    )
    .unwrap();
    let policy = format!(
        "version = 1\n\n[[rule]]\nid = \"signed\"\nkind = \"signed-commits\"\n{rule_keys}\nallowed_signers = {}\nkeyring = {}\n",
        literal(&repo.allowed_signers()),
        literal(&repo.keyring())
    );
    let policy_path = repo.path("gatehouse.toml");
    std::fs::write(&policy_path, policy).unwrap();
    common::run(&[
        "check",
        "--facts",
        facts_path.to_str().unwrap(),
        "--policy",
        policy_path.to_str().unwrap(),
    ])
}

/// Redact what differs between fixture builds: ids, key fingerprints, paths.
fn redacted(repo: &SignedRepo, text: &str) -> String {
    let text = text.replace(&repo.dir.path().display().to_string(), "[fixture]");
    let rules = [
        (r"SHA256:[A-Za-z0-9+/]{43}", "SHA256:[fingerprint]"),
        (r"sha256:[0-9a-f]{12}", "sha256:[digest]"),
        (r"\b[0-9A-F]{40}\b", "[pgp-fingerprint]"),
        (r"\b[0-9a-f]{40}\b", "[sha]"),
        (r"\b[0-9a-f]{7}\b", "[short-sha]"),
    ];
    rules.iter().fold(text, |t, (re, with)| {
        regex::Regex::new(re)
            .unwrap()
            .replace_all(&t, *with)
            .into_owned()
    })
}

#[test]
fn good_ssh_rsa_ecdsa_and_openpgp_subkey_commits_pass() {
    let repo = SignedRepo::build();
    let good = [
        "ssh-good",
        "pgp-good",
        "pgp-subkey-good",
        "ssh-rsa-good",
        "ssh-ecdsa-good",
    ];
    let r = check(&repo, &good, "");
    assert_eq!(r.code, 0, "{}", r.transcript());
    insta::assert_snapshot!(redacted(&repo, &r.transcript()));
    // Alice's own keys are listed for alice@acme.dev, the committer.
    let r = check(&repo, &good[..2], "require_committer_match = true");
    assert_eq!(r.code, 0, "{}", r.transcript());
}

#[test]
fn every_bad_commit_is_named_with_what_is_wrong() {
    let repo = SignedRepo::build();
    let cases = [
        "ssh-good",
        "ssh-unknown-key",
        "ssh-expired-key",
        "ssh-not-yet-valid",
        "ssh-key-not-for-git",
        "ssh-bad-signature",
        "ssh-wrong-namespace",
        "pgp-unknown-key",
        "pgp-expired-key",
        "pgp-bad-signature",
        "pgp-revoked-key",
        "unsigned",
    ];
    let r = check(&repo, &cases, "");
    assert_eq!(r.code, 1, "{}", r.transcript());
    insta::assert_snapshot!(redacted(&repo, &r.transcript()));
}

#[test]
fn head_only_checks_just_the_head_commit() {
    let repo = SignedRepo::build();
    let r = check(&repo, &["unsigned", "ssh-good"], "commits = \"head\"");
    assert_eq!(r.code, 0, "{}", r.transcript());
    let r = check(&repo, &["ssh-good", "unsigned"], "commits = \"head\"");
    assert_eq!(r.code, 1, "{}", r.transcript());
}

#[test]
fn a_signer_other_than_the_committer_fails_committer_match() {
    let repo = SignedRepo::build();
    // ssh-expired-key's key is listed as expired@acme.dev; use ssh-good's
    // commit but claim another committer by editing the facts.
    let mut commit = repo.commit_facts(repo.sha("ssh-good"));
    commit["committer"]["email"] = "bob@acme.dev".into();
    let facts_path = repo.path("facts.json");
    std::fs::write(
        &facts_path,
        facts(
            repo.sha("ssh-good"),
            vec![commit],
            vec![],
            serde_json::Value::Null,
        )
        .to_string(),
    )
    .unwrap();
    let policy = format!(
        "version = 1\n[[rule]]\nid = \"signed\"\nkind = \"signed-commits\"\nrequire_committer_match = true\nallowed_signers = {}\n",
        literal(&repo.allowed_signers())
    );
    std::fs::write(repo.path("p.toml"), policy).unwrap();
    let r = common::run(&[
        "check",
        "--facts",
        facts_path.to_str().unwrap(),
        "--policy",
        repo.path("p.toml").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(
        r.stdout
            .contains("which is not the committer <bob@acme.dev>"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_signature_taken_from_another_commit_does_not_count() {
    let repo = SignedRepo::build();
    // ssh-unknown-key's commit, claiming ssh-good's valid signature and payload.
    let mut commit = repo.commit_facts(repo.sha("ssh-unknown-key"));
    commit["signature"] = repo.commit_facts(repo.sha("ssh-good"))["signature"].clone();
    let facts_path = repo.path("facts.json");
    std::fs::write(
        &facts_path,
        facts(
            repo.sha("ssh-unknown-key"),
            vec![commit],
            vec![],
            serde_json::Value::Null,
        )
        .to_string(),
    )
    .unwrap();
    let policy = format!(
        "version = 1\n[[rule]]\nid = \"signed\"\nkind = \"signed-commits\"\nallowed_signers = {}\n",
        literal(&repo.allowed_signers())
    );
    std::fs::write(repo.path("p.toml"), policy).unwrap();
    let r = common::run(&[
        "check",
        "--facts",
        facts_path.to_str().unwrap(),
        "--policy",
        repo.path("p.toml").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(
        r.stdout.contains(
            "ssh-unknown-key: bad signature: the signed payload is not this commit's content"
        ),
        "{}",
        r.stdout
    );
}

#[test]
fn x509_signatures_are_unsupported_and_block() {
    let repo = SignedRepo::build();
    let mut commit = repo.commit_facts(repo.sha("ssh-good"));
    commit["signature"]["format"] = "x509".into();
    commit["signature"]["signature"] = "-----BEGIN SIGNED MESSAGE-----\nMIAGCSqGSIb3DQEHAqCAMIACAQExDTALBglghkgBZQMEAgEwgAYJKoZIhvcNAQcBAAA=\n-----END SIGNED MESSAGE-----\n".into();
    let facts_path = repo.path("facts.json");
    std::fs::write(
        &facts_path,
        facts(
            repo.sha("ssh-good"),
            vec![commit],
            vec![],
            serde_json::Value::Null,
        )
        .to_string(),
    )
    .unwrap();
    let policy = format!(
        "version = 1\n[[rule]]\nid = \"signed\"\nkind = \"signed-commits\"\nallowed_signers = {}\n",
        literal(&repo.allowed_signers())
    );
    std::fs::write(repo.path("p.toml"), policy).unwrap();
    let r = common::run(&[
        "check",
        "--facts",
        facts_path.to_str().unwrap(),
        "--policy",
        repo.path("p.toml").to_str().unwrap(),
    ]);
    assert_ne!(r.code, 0, "{}", r.transcript());
    insta::assert_snapshot!(redacted(&repo, &r.transcript()));
}

#[test]
fn malformed_keys_are_policy_errors_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("gatehouse.toml");
    std::fs::write(
        &policy,
        r#"version = 1

[[rule]]
id = "signed"
kind = "signed-commits"
allowed_signers = '''
alice@acme.dev ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILaDM5eOQc0d/oHqvWkJAAqdGOE24NZRzw3dJrcOtBwz
bob@acme.dev ssh-ed25519 AAAAnot-a-key
carol@acme.dev cert-authority ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILaDM5eOQc0d/oHqvWkJAAqdGOE24NZRzw3dJrcOtBwz
'''
keyring = """
-----BEGIN PGP PUBLIC KEY BLOCK-----

bm90IGEga2V5
-----END PGP PUBLIC KEY BLOCK-----
"""
"#,
    )
    .unwrap();
    let r = common::run(&["policy", "validate", policy.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.transcript());
    let text = r
        .transcript()
        .replace(&dir.path().display().to_string(), "[dir]");
    insta::assert_snapshot!(text);
}

#[test]
fn a_rule_without_keys_is_a_policy_error() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("gatehouse.toml");
    std::fs::write(
        &policy,
        "version = 1\n[[rule]]\nid = \"signed\"\nkind = \"signed-commits\"\n",
    )
    .unwrap();
    let r = common::run(&["policy", "validate", policy.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert!(
        r.stderr
            .contains("needs `allowed_signers` (SSH) or `keyring` (OpenPGP)"),
        "{}",
        r.stderr
    );
}
