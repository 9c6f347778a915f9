//! Audit trail benchmarks (`cargo bench --bench audit`):
//!
//! - append latency on an empty log vs a 1,000,000-record log (the file sink
//!   reads only the tail, so the ratio should stay near 1);
//! - verify throughput in records per second, signed (with `--key`
//!   semantics) and unsigned.
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) this is a smoke
//! run on a 1,000-record log that checks the same things on a small scale.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use gatehouse::audit::chain::Head;
use gatehouse::audit::record::{GENESIS, line_hash, seal};
use gatehouse::audit::sinks::file;
use gatehouse::audit::verify::{VerifyOptions, verify_file};
use gatehouse::audit::{RecordDraft, Signer};
use gatehouse::engine::{self, EvalOptions};

struct Scale {
    big_log: u64,
    appends: usize,
    signed_verify: u64,
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let scale = if full {
        Scale {
            big_log: 1_000_000,
            appends: 200,
            signed_verify: 100_000,
        }
    } else {
        Scale {
            big_log: 1_000,
            appends: 10,
            signed_verify: 50,
        }
    };
    let draft = realistic_draft();
    let signer = Signer::generate("bench").expect("a key");
    let dir = tempfile::tempdir().expect("a temporary directory");

    // The big log first, flushed to disk, so no sample pays for building it.
    let big = dir.path().join("big.jsonl");
    let t = Instant::now();
    let bytes = write_chain(&big, &draft, scale.big_log, None);
    std::fs::File::open(&big)
        .and_then(|f| f.sync_all())
        .expect("fsync");
    let built = t.elapsed();

    // Append latency, empty vs big, interleaved so both see the same machine load.
    let mut empty = Vec::new();
    let mut large = Vec::new();
    for i in 0..scale.appends {
        let path = dir.path().join(format!("empty-{i}.jsonl"));
        let t = Instant::now();
        file::append(&path, &draft, Some(&signer)).expect("append");
        empty.push(t.elapsed());
        std::fs::remove_file(&path).ok();

        // Every run records a new decision with its own id.
        let next = realistic_draft();
        let t = Instant::now();
        let appended = file::append(&big, &next, Some(&signer)).expect("append");
        large.push(t.elapsed());
        assert!(appended.seq > scale.big_log);
    }
    let (e, l) = (median(&mut empty), median(&mut large));
    println!(
        "append latency (median of {}, signed, fsync): empty log {:.3} ms, {}-record log ({:.0} MB) {:.3} ms, ratio {:.2}",
        scale.appends,
        ms(e),
        scale.big_log,
        bytes as f64 / 1e6,
        ms(l),
        l.as_secs_f64() / e.as_secs_f64()
    );
    println!(
        "  (building the {}-record log took {:.1} s)",
        scale.big_log,
        built.as_secs_f64()
    );

    // Verify throughput: the big log, unsigned records (hash chain, seq, ids);
    // its last records are signed by a key the options do not trust, so no --key.
    let t = Instant::now();
    let summary = verify_file(&big, &VerifyOptions::default()).expect("the big log verifies");
    let took = t.elapsed();
    assert_eq!(summary.records, scale.big_log + scale.appends as u64);
    println!(
        "verify, unsigned chain: {} records in {:.2} s = {:.0} records/s",
        summary.records,
        took.as_secs_f64(),
        summary.records as f64 / took.as_secs_f64()
    );

    // Verify throughput: every record signed and checked against a trusted key.
    let signed = dir.path().join("signed.jsonl");
    write_chain(&signed, &draft, scale.signed_verify, Some(&signer));
    let options = VerifyOptions {
        keys: vec![signer.public_key().clone()],
        expect_head: None,
    };
    let t = Instant::now();
    let summary = verify_file(&signed, &options).expect("the signed log verifies");
    let took = t.elapsed();
    assert_eq!(summary.signed_trusted, scale.signed_verify);
    println!(
        "verify, signed (Ed25519 SSHSIG, {} threads): {} records in {:.2} s = {:.0} records/s",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        summary.records,
        took.as_secs_f64(),
        summary.records as f64 / took.as_secs_f64()
    );
}

/// The record of a real evaluation: the spine policy on a pull request.
fn realistic_draft() -> RecordDraft {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let policy_text = std::fs::read_to_string(root.join("fixtures/policies/spine.toml")).unwrap();
    let policy =
        gatehouse::policy::parse("spine.toml", &policy_text).expect("the fixture policy parses");
    let facts =
        gatehouse::sources::snapshot::read(&root.join("fixtures/facts/pull-request-untidy.json"))
            .expect("the fixture facts parse");
    let decision = engine::evaluate(&policy, &facts, EvalOptions::at(facts.gathered_at));
    RecordDraft::from_decision(&decision, &facts)
}

/// Write a valid chain of `n` records (fresh ids) straight to `path`; returns its size.
fn write_chain(path: &Path, template: &RecordDraft, n: u64, signer: Option<&Signer>) -> u64 {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut head = Head::genesis();
    let mut bytes = 0;
    let mut record = template.place(1, GENESIS);
    for seq in 1..=n {
        record.seq = seq;
        record.prev = head.hash.clone();
        record.id = gatehouse::audit::record::new_id();
        let line = seal(&record, signer).unwrap();
        head = Head {
            seq,
            hash: line_hash(line.as_bytes()),
        };
        out.write_all(line.as_bytes()).unwrap();
        out.write_all(b"\n").unwrap();
        bytes += line.len() as u64 + 1;
    }
    out.flush().unwrap();
    bytes
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
