//! 16 real `gatehouse check` processes × 50 runs each, all at once, every run
//! recording into one file and one PostgreSQL stream. Afterwards each holds
//! exactly 800 records, no id twice, and the chain verifies: the file lock and
//! the per-stream advisory lock serialise writers without losing a record.

mod audit_support;
mod common;

use std::collections::HashSet;

use audit_support::Scratch;
use common::fixture;

const PROCESSES: usize = 16;
const RUNS: usize = 50;

#[test]
fn sixteen_processes_times_fifty_records_into_a_file_and_postgres() {
    let url = std::env::var("GATEHOUSE_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "GATEHOUSE_TEST_POSTGRES_URL is not set: run the tests with `scripts/test`, which starts a throwaway PostgreSQL"
        )
    });
    let s = Scratch::new();
    let key = s.keygen("key");
    let stream = format!("concurrency-{}", gatehouse::audit::record::new_id());
    // TLS is exercised in audit_postgres.rs; here plain TCP keeps 800 runs quick.
    let pg_sink = format!("{url}?sslmode=disable&stream={stream}");
    let file_sink = format!("file:{}", s.log().display());
    let facts = fixture("facts/pull-request.json");
    let policy = fixture("policies/spine.toml");

    std::thread::scope(|scope| {
        for p in 0..PROCESSES {
            let (facts, policy, key) = (&facts, &policy, &key);
            let (file_sink, pg_sink) = (&file_sink, &pg_sink);
            scope.spawn(move || {
                for i in 0..RUNS {
                    let out = common::gatehouse()
                        .args(["check", "--facts"])
                        .arg(facts)
                        .arg("--policy")
                        .arg(policy)
                        .arg("--audit-key")
                        .arg(key)
                        .args(["--audit", file_sink, "--audit", pg_sink, "--format", "json"])
                        .output()
                        .expect("gatehouse runs");
                    assert_eq!(
                        out.status.code(),
                        Some(0),
                        "process {p} run {i}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            });
        }
    });

    let total = PROCESSES * RUNS;
    let lines = s.lines();
    assert_eq!(lines.len(), total);
    let ids: HashSet<String> = lines
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids.len(), total, "no record twice");

    let pubkey = format!("{}.pub", key.display());
    let r = s.run(&[
        "audit",
        "verify",
        s.log().to_str().unwrap(),
        "--key",
        &pubkey,
    ]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert!(
        r.stdout
            .contains(&format!("ok — {total} records, head {total}:")),
        "{}",
        r.stdout
    );

    let r = s.run(&["audit", "verify", &pg_sink, "--key", &pubkey]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert!(
        r.stdout
            .contains(&format!("ok — {total} records, head {total}:")),
        "{}",
        r.stdout
    );
    let q = s.run(&["audit", "query", &pg_sink, "--format", "json"]);
    let pg_ids: HashSet<String> = q
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(pg_ids.len(), total);
    assert_eq!(pg_ids, ids, "the same 800 records in both sinks");
}
