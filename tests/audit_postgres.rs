//! The PostgreSQL sink against a real server (started by `scripts/test`):
//! records from real `check` runs, verify/head/query on a stream, the
//! append-only triggers, idempotence on the record id, and tampering by
//! someone who bypasses the triggers.

mod audit_support;
mod common;

use std::process::Command;

use audit_support::{Scratch, redact};
use common::fixture;

/// The server's URL. Missing is a failure, not a skip: these tests are the
/// proof that the sink works.
pub fn pg_url() -> String {
    std::env::var("GATEHOUSE_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "GATEHOUSE_TEST_POSTGRES_URL is not set: run the tests with `scripts/test` \
             (or `scripts/with-postgres cargo test --test audit_postgres`), which starts a throwaway PostgreSQL"
        )
    })
}

/// A stream of its own for every test, so tests can run in parallel.
fn stream(name: &str) -> String {
    format!("test-{name}-{}", gatehouse::audit::record::new_id())
}

fn with_stream(stream: &str) -> String {
    format!("{}?stream={stream}", pg_url())
}

fn psql(sql: &str) -> std::process::Output {
    Command::new("psql")
        .args([&pg_url(), "-v", "ON_ERROR_STOP=1", "-tA", "-c", sql])
        .output()
        .expect("psql runs")
}

fn pg_check(s: &Scratch, sink: &str, facts: &str, key: Option<&std::path::Path>) -> common::Run {
    let facts = fixture(&format!("facts/{facts}.json"));
    let policy = fixture("policies/spine.toml");
    let mut args = vec![
        "check".to_string(),
        "--facts".into(),
        facts.display().to_string(),
        "--policy".into(),
        policy.display().to_string(),
        "--audit".into(),
        sink.to_string(),
    ];
    if let Some(k) = key {
        args.extend(["--audit-key".into(), k.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    s.run(&args)
}

#[test]
fn check_records_into_a_stream_that_verifies() {
    let s = Scratch::new();
    let key = s.keygen("key");
    let name = stream("chain");
    let sink = with_stream(&name);
    for facts in ["pull-request", "pull-request-untidy", "deploy-tag"] {
        let r = pg_check(&s, &sink, facts, Some(&key));
        assert!(r.code == 0 || r.code == 1, "{}", r.transcript());
    }
    let pubkey = format!("{}.pub", key.display());
    let r = s.run(&["audit", "verify", &sink, "--key", &pubkey]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let shown = redact(
        &r.stdout
            .replace(&name, "[stream]")
            .replace(&pg_url(), "[url]"),
    );
    insta::assert_snapshot!(shown, @r"
    [url]?stream=[stream]: ok — 3 records, head 3:[hash]
      every record is signed by a trusted key ([fingerprint])
    ");

    let head = s.run(&["audit", "head", &sink]);
    assert_eq!(head.code, 0, "{}", head.transcript());
    assert!(head.stdout.starts_with("3:"));
    let r = s.run(&[
        "audit",
        "verify",
        &sink,
        "--expect-head",
        head.stdout.trim(),
    ]);
    assert_eq!(r.code, 0);

    let q = s.run(&[
        "audit",
        "query",
        &sink,
        "--decision",
        "block",
        "--format",
        "json",
    ]);
    assert_eq!(q.code, 0, "{}", q.transcript());
    assert_eq!(q.stdout.lines().count(), 1);
    assert!(q.stdout.contains("\"seq\":2"));
}

#[test]
fn the_default_stream_is_the_repository() {
    let s = Scratch::new();
    let r = pg_check(&s, &pg_url(), "deploy-tag", None);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let out = psql("SELECT count(*) > 0 FROM gatehouse_audit WHERE stream = 'acme/api'");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "t");
}

#[test]
fn the_table_refuses_update_delete_and_truncate() {
    let s = Scratch::new();
    let name = stream("append-only");
    assert_eq!(
        pg_check(&s, &with_stream(&name), "deploy-tag", None).code,
        0
    );
    for sql in [
        format!("UPDATE gatehouse_audit SET line = 'x' WHERE stream = '{name}'"),
        format!("DELETE FROM gatehouse_audit WHERE stream = '{name}'"),
        "TRUNCATE gatehouse_audit".to_string(),
    ] {
        let out = psql(&sql);
        assert!(!out.status.success(), "{sql} was allowed");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("gatehouse_audit is append-only"),
            "{sql}: {err}"
        );
    }
}

#[test]
fn appending_the_same_record_twice_keeps_one_row() {
    use gatehouse::audit::sinks::postgres::{PgTarget, append};
    let name = stream("idempotent");
    let target = PgTarget::new(&pg_url(), Some(&name)).unwrap();
    let draft = gatehouse::audit::RecordDraft::error("retried run");
    let first = append(&target, &draft, None).unwrap();
    let again = append(&target, &draft, None).unwrap();
    assert_eq!(first, again);
    let out = psql(&format!(
        "SELECT count(*) FROM gatehouse_audit WHERE stream = '{name}'"
    ));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
}

#[test]
fn tampering_past_the_triggers_is_detected() {
    let s = Scratch::new();
    let name = stream("tamper");
    let sink = with_stream(&name);
    for _ in 0..3 {
        assert_eq!(pg_check(&s, &sink, "deploy-tag", None).code, 0);
    }
    // A database owner can switch the triggers off; the chain still tells.
    let out = psql(&format!(
        "BEGIN; ALTER TABLE gatehouse_audit DISABLE TRIGGER gatehouse_audit_no_change; \
         UPDATE gatehouse_audit SET line = replace(line, '\"actor\":\"eve\"', '\"actor\":\"mallory\"') \
         WHERE stream = '{name}' AND seq = 2; \
         ALTER TABLE gatehouse_audit ENABLE TRIGGER gatehouse_audit_no_change; COMMIT;"
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = s.run(&["audit", "verify", &sink]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(
        r.stdout.contains("BROKEN (edited): record seq 2 (row 2) was edited or replaced: its hash no longer matches the prev of seq 3 (row 3)"),
        "{}",
        r.stdout
    );
}

#[test]
fn migrate_is_idempotent() {
    let s = Scratch::new();
    for _ in 0..2 {
        let r = s.run(&["audit", "migrate", &pg_url()]);
        assert_eq!(r.code, 0, "{}", r.transcript());
        assert!(r.stdout.contains("table gatehouse_audit ready"));
    }
}

#[test]
fn an_unreachable_database_blocks_without_showing_the_password() {
    let s = Scratch::new();
    let r = pg_check(
        &s,
        "postgres://gate:s3cret-pw@127.0.0.1:1/audit",
        "deploy-tag",
        None,
    );
    assert_eq!(r.code, 3);
    assert!(!r.stderr.contains("s3cret-pw"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("audit sink postgres://gate:[redacted]@127.0.0.1:1/audit: cannot connect"),
        "{}",
        r.stderr
    );
}
