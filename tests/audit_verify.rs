//! `gatehouse audit verify` on a 5-record signed log made by real `check`
//! runs: the clean log passes, and every kind of tampering is named with the
//! record it hit. Also: `ssh-keygen -Y verify` accepts a record's signature
//! with exactly the commands the README documents.

mod audit_support;
mod common;

use audit_support::Scratch;
use gatehouse::audit::record::{Record, line_hash, seal};
use gatehouse::audit::{RecordDraft, Signer};

struct Signed {
    s: Scratch,
    key: std::path::PathBuf,
}

fn signed_log() -> Signed {
    let s = Scratch::new();
    let key = s.keygen("key");
    s.five_signed(&key);
    assert_eq!(s.lines().len(), 5);
    Signed { s, key }
}

impl Signed {
    fn verify(&self, extra: &[&str]) -> common::Run {
        let pubkey = format!("{}.pub", self.key.display());
        let log = self.s.log().display().to_string();
        let mut args = vec!["audit", "verify", &log, "--key", &pubkey];
        args.extend_from_slice(extra);
        self.s.run(&args)
    }

    fn transcript(&self, r: &common::Run) -> String {
        self.s.redact(&r.transcript())
    }

    fn signer(&self) -> Signer {
        Signer::from_openssh(&std::fs::read_to_string(&self.key).unwrap(), "test key").unwrap()
    }
}

#[test]
fn a_clean_signed_log_verifies() {
    let l = signed_log();
    let r = l.verify(&[]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    insta::assert_snapshot!(l.transcript(&r), @r"
    exit: 0
    --- stdout
    [dir]/audit.jsonl: ok — 5 records, head 5:[hash]
      every record is signed by a trusted key ([fingerprint])
    ");
}

#[test]
fn without_a_key_signatures_are_checked_but_the_signer_is_not() {
    let l = signed_log();
    let log = l.s.log().display().to_string();
    let r = l.s.run(&["audit", "verify", &log]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    insta::assert_snapshot!(l.transcript(&r), @r"
    exit: 0
    --- stdout
    [dir]/audit.jsonl: ok — 5 records, head 5:[hash]
      5 signatures valid, by [fingerprint]; pass --key PUB to require a trusted signer
    ");
}

#[test]
fn an_edited_record_is_named() {
    let l = signed_log();
    let mut lines = l.s.lines();
    assert!(lines[2].contains("\"actor\":\"eve\""));
    lines[2] = lines[2].replace("\"actor\":\"eve\"", "\"actor\":\"mallory\"");
    l.s.write_lines(&lines);
    let r = l.verify(&[]);
    assert_eq!(r.code, 1);
    insta::assert_snapshot!(l.transcript(&r), @r"
    exit: 1
    --- stdout
    [dir]/audit.jsonl: BROKEN (edited): record seq 3 (line 3) was edited: the signature does not match the record's bytes
    ");
}

#[test]
fn an_edited_unsigned_record_is_caught_by_the_chain() {
    let s = Scratch::new();
    for facts in ["pull-request", "deploy-tag", "pull-request", "deploy-tag"] {
        assert_eq!(s.check(facts, None, &[]).code, 0);
    }
    let mut lines = s.lines();
    lines[2] = lines[2].replace("\"actor\":\"alice\"", "\"actor\":\"mallory\"");
    s.write_lines(&lines);
    let r = s.run(&["audit", "verify", s.log().to_str().unwrap()]);
    assert_eq!(r.code, 1);
    insta::assert_snapshot!(s.redact(&r.transcript()), @r"
    exit: 1
    --- stdout
    [dir]/audit.jsonl: BROKEN (edited): record seq 3 (line 3) was edited or replaced: its hash no longer matches the prev of seq 4 (line 4)
    ");
}

#[test]
fn a_deleted_record_is_named() {
    let l = signed_log();
    let mut lines = l.s.lines();
    lines.remove(2);
    l.s.write_lines(&lines);
    let r = l.verify(&[]);
    assert_eq!(r.code, 1);
    insta::assert_snapshot!(l.transcript(&r), @r"
    exit: 1
    --- stdout
    [dir]/audit.jsonl: BROKEN (deleted): record seq 3 was deleted: line 3 holds seq 4 right after seq 2
    ");
}

#[test]
fn swapped_records_are_named() {
    let l = signed_log();
    let mut lines = l.s.lines();
    lines.swap(1, 2);
    l.s.write_lines(&lines);
    let r = l.verify(&[]);
    assert_eq!(r.code, 1);
    insta::assert_snapshot!(l.transcript(&r), @r"
    exit: 1
    --- stdout
    [dir]/audit.jsonl: BROKEN (reordered): records were reordered: seq 3 is at line 2 but seq 2 comes after it at line 3
    ");
}

#[test]
fn a_truncated_log_fails_against_the_anchored_head() {
    let l = signed_log();
    let head = l.s.run(&["audit", "head", l.s.log().to_str().unwrap()]);
    assert_eq!(head.code, 0);
    let head = head.stdout.trim().to_string();
    assert!(head.starts_with("5:"), "{head}");
    assert_eq!(l.verify(&["--expect-head", &head]).code, 0);

    let mut lines = l.s.lines();
    lines.truncate(3);
    l.s.write_lines(&lines);
    // Without the anchor a shorter chain is still a valid chain.
    assert_eq!(l.verify(&[]).code, 0);
    let r = l.verify(&["--expect-head", &head]);
    assert_eq!(r.code, 1);
    insta::assert_snapshot!(l.transcript(&r), @r"
    exit: 1
    --- stdout
    [dir]/audit.jsonl: BROKEN (truncated): the log was truncated: it ends at seq 3, but the expected head is seq 5 (2 records missing at the end)
    ");
}

#[test]
fn a_rewritten_head_is_caught_by_the_anchor() {
    let l = signed_log();
    let lines = l.s.lines();
    let head = format!(
        "5:{}",
        line_hash(lines[4].as_bytes()).trim_start_matches("sha256:")
    );
    // Rewrite history from seq 5 on, validly signed (the key leaked): only the anchor notices.
    let mut rec: Record = serde_json::from_str(&lines[4]).unwrap();
    rec.decision = "block".to_string();
    let mut lines = lines;
    lines[4] = seal(&rec, Some(&l.signer())).unwrap();
    l.s.write_lines(&lines);
    assert_eq!(l.verify(&[]).code, 0);
    let r = l.verify(&["--expect-head", &head]);
    assert_eq!(r.code, 1);
    insta::assert_snapshot!(l.transcript(&r), @r"
    exit: 1
    --- stdout
    [dir]/audit.jsonl: BROKEN (head mismatch): record seq 5 is not the expected head: its hash is sha256:[hash], expected sha256:[hash] (history was rewritten)
    ");
}

/// A record appended by someone who has the log but not the key.
fn forged_sixth(l: &Signed, signer: Option<&Signer>) -> String {
    let lines = l.s.lines();
    let rec = RecordDraft::error("forged").place(6, &line_hash(lines[4].as_bytes()));
    seal(&rec, signer).unwrap()
}

#[test]
fn a_forged_unsigned_record_is_named() {
    let l = signed_log();
    let mut lines = l.s.lines();
    lines.push(forged_sixth(&l, None));
    l.s.write_lines(&lines);
    let r = l.verify(&[]);
    assert_eq!(r.code, 1);
    insta::assert_snapshot!(l.transcript(&r), @r"
    exit: 1
    --- stdout
    [dir]/audit.jsonl: BROKEN (unsigned): record seq 6 (line 6) is unsigned, but signatures are required (--key given): forged or written without the key
    ");
}

#[test]
fn a_record_signed_by_an_unknown_key_is_named() {
    let l = signed_log();
    let mallory = Signer::generate("mallory").unwrap();
    let mut lines = l.s.lines();
    lines.push(forged_sixth(&l, Some(&mallory)));
    l.s.write_lines(&lines);
    let r = l.verify(&[]);
    assert_eq!(r.code, 1);
    let shown = l.transcript(&r);
    insta::assert_snapshot!(shown, @r"
    exit: 1
    --- stdout
    [dir]/audit.jsonl: BROKEN (unknown key): record seq 6 (line 6) is signed by an unknown key [fingerprint], not by any --key
    ");
    assert!(r.stdout.contains(&mallory.fingerprint()));
}

#[test]
fn a_replayed_record_id_is_named() {
    let l = signed_log();
    let mut lines = l.s.lines();
    let mut replay: Record = serde_json::from_str(&lines[1]).unwrap();
    replay.seq = 6;
    replay.prev = line_hash(lines[4].as_bytes());
    lines.push(seal(&replay, Some(&l.signer())).unwrap());
    l.s.write_lines(&lines);
    let r = l.verify(&[]);
    assert_eq!(r.code, 1);
    insta::assert_snapshot!(l.transcript(&r), @r"
    exit: 1
    --- stdout
    [dir]/audit.jsonl: BROKEN (duplicate id): record seq 6 (line 6) repeats the id [id] of seq 2 (line 2): a record was replayed
    ");
}

#[test]
fn an_inserted_record_is_named() {
    let l = signed_log();
    let mut lines = l.s.lines();
    let forged = seal(
        &RecordDraft::error("inserted").place(3, &line_hash(lines[1].as_bytes())),
        Some(&l.signer()),
    )
    .unwrap();
    lines.insert(2, forged);
    l.s.write_lines(&lines);
    let r = l.verify(&[]);
    assert_eq!(r.code, 1);
    insta::assert_snapshot!(l.transcript(&r), @r"
    exit: 1
    --- stdout
    [dir]/audit.jsonl: BROKEN (inserted): a record was inserted at line 4: it claims seq 3, which the record at line 3 already has
    ");
}

#[test]
fn a_torn_last_line_is_reported() {
    let l = signed_log();
    let text = std::fs::read_to_string(l.s.log()).unwrap();
    std::fs::write(l.s.log(), &text[..text.len() - 40]).unwrap();
    let r = l.verify(&[]);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("line 5: the last line has no newline"),
        "{}",
        r.stderr
    );
}

#[test]
fn garbage_lines_and_bad_arguments_are_clear() {
    let l = signed_log();
    let mut lines = l.s.lines();
    lines[3] = "not json".to_string();
    l.s.write_lines(&lines);
    let r = l.verify(&[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("BROKEN (malformed): line 4 is not an audit record"),
        "{}",
        r.stdout
    );

    let r = l.verify(&["--expect-head", "five"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("is not SEQ:HASH"), "{}", r.stderr);

    let r = l.s.run(&["audit", "verify", "no-such.jsonl"]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("cannot open the log"), "{}", r.stderr);
}

/// The README's commands, run by a shell: `ssh-keygen -Y verify` accepts the
/// signature of record 3 over its bytes without the `sig` key.
#[test]
fn ssh_keygen_verifies_a_record() {
    let l = signed_log();
    let script = r#"
set -euo pipefail
line=$(sed -n 3p audit.jsonl)
printf '%s' "$line" | sed 's/,"sig":"[^"]*"}$/}/' > record.json
printf '%s' "$line" | jq -r .sig > record.sig
echo "gatehouse $(cat key.pub)" > allowed_signers
ssh-keygen -Y verify -f allowed_signers -I gatehouse -n gatehouse-audit -s record.sig < record.json
"#;
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(l.s.dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Good \"gatehouse-audit\" signature for gatehouse"),
        "{stdout}"
    );

    // And it rejects an edited record.
    let tampered = std::process::Command::new("bash")
        .arg("-c")
        .arg("sed -i 's/\"seq\":3/\"seq\":4/' record.json && ssh-keygen -Y verify -f allowed_signers -I gatehouse -n gatehouse-audit -s record.sig < record.json")
        .current_dir(l.s.dir.path())
        .output()
        .unwrap();
    assert!(!tampered.status.success());
}
