//! `gatehouse audit verify`: checks every record's JSON, `seq`, `prev`,
//! signature and id, and names the first broken record and what happened to
//! it. Lines are checked in batches: parsing and signatures in parallel across
//! cores (std::thread::scope), the chain itself in order.

use std::collections::{BTreeSet, HashMap};

use serde::Deserialize;
use ssh_key::PublicKey;

use super::chain::Head;
use super::record::{GENESIS, line_hash, split_signature};
use super::sign::{self, SigCheck};

/// Lines per batch: large enough to keep every core busy, small enough to
/// bound memory on a huge log.
pub const BATCH: usize = 4096;

#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Trusted signers (`--key`); when any is given every record must be
    /// signed by one of them.
    pub keys: Vec<PublicKey>,
    /// `--expect-head SEQ:HASH`: the chain must reach this record unchanged.
    pub expect_head: Option<Head>,
}

/// What is wrong, as a stable word for scripts and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    Malformed,
    Edited,
    Deleted,
    Reordered,
    Inserted,
    DuplicateId,
    Unsigned,
    UnknownKey,
    Truncated,
    HeadMismatch,
    Unreadable,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Malformed => "malformed",
            ProblemKind::Edited => "edited",
            ProblemKind::Deleted => "deleted",
            ProblemKind::Reordered => "reordered",
            ProblemKind::Inserted => "inserted",
            ProblemKind::DuplicateId => "duplicate id",
            ProblemKind::Unsigned => "unsigned",
            ProblemKind::UnknownKey => "unknown key",
            ProblemKind::Truncated => "truncated",
            ProblemKind::HeadMismatch => "head mismatch",
            ProblemKind::Unreadable => "unreadable",
        }
    }
}

/// The first broken record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    /// The record's seq, when it has one.
    pub seq: Option<u64>,
    pub message: String,
}

/// A chain that holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub records: u64,
    pub head: Head,
    pub signed_trusted: u64,
    /// Valid signatures whose signer was not checked (no `--key` given).
    pub signed_unchecked: u64,
    pub unsigned: u64,
    pub signers: BTreeSet<String>,
}

#[derive(Deserialize)]
struct Fields<'a> {
    seq: u64,
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    prev: std::borrow::Cow<'a, str>,
}

struct Checked {
    hash: String,
    fields: Result<(u64, String, String), String>,
    sig: SigCheck,
}

fn id_key(id: &str) -> [u8; 16] {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(id.as_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

fn check_line(line: &[u8], keys: &[PublicKey]) -> Checked {
    let fields = serde_json::from_slice::<Fields>(line)
        .map(|f| (f.seq, f.id.into_owned(), f.prev.into_owned()))
        .map_err(|e| e.to_string());
    let sig = match (&fields, split_signature(line)) {
        (Ok(_), Some((signed, armor))) => sign::check(&signed, &armor, keys),
        _ => SigCheck::Unsigned,
    };
    Checked {
        hash: line_hash(line),
        fields,
        sig,
    }
}

/// Verifies a chain fed in batches; `unit` names positions (`line`, `row`).
pub struct Verifier<'o> {
    options: &'o VerifyOptions,
    unit: &'static str,
    position: u64,
    expected_seq: u64,
    prev_hash: String,
    /// Hash of the expected head's record, once reached.
    head_hash_seen: Option<String>,
    /// Seen ids (a 128-bit digest each, so a huge log stays small in memory)
    /// to the seq and position that first had them.
    ids: HashMap<[u8; 16], (u64, u64)>,
    /// A seq jump waiting for the next line to tell deletion from reordering:
    /// (expected seq, seq found, its position).
    pending_gap: Option<(u64, u64, u64)>,
    summary: Summary,
    threads: usize,
}

impl<'o> Verifier<'o> {
    pub fn new(options: &'o VerifyOptions, unit: &'static str) -> Verifier<'o> {
        Verifier {
            options,
            unit,
            position: 0,
            expected_seq: 1,
            prev_hash: GENESIS.to_string(),
            head_hash_seen: None,
            ids: HashMap::new(),
            pending_gap: None,
            summary: Summary {
                records: 0,
                head: Head::genesis(),
                signed_trusted: 0,
                signed_unchecked: 0,
                unsigned: 0,
                signers: BTreeSet::new(),
            },
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    fn at(&self, position: u64) -> String {
        format!("{} {position}", self.unit)
    }

    /// Check the next lines, in order.
    pub fn push_batch(&mut self, lines: &[Vec<u8>]) -> Result<(), Problem> {
        let keys = &self.options.keys;
        let per = lines.len().div_ceil(self.threads.max(1)).max(1);
        let checked: Vec<Checked> = if lines.len() < 64 || self.threads == 1 {
            lines.iter().map(|l| check_line(l, keys)).collect()
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = lines
                    .chunks(per)
                    .map(|chunk| {
                        s.spawn(move || {
                            chunk
                                .iter()
                                .map(|l| check_line(l, keys))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().expect("verification threads do not panic"))
                    .collect()
            })
        };
        for c in checked {
            self.position += 1;
            self.step(c)?;
        }
        Ok(())
    }

    fn step(&mut self, c: Checked) -> Result<(), Problem> {
        let at = self.at(self.position);
        let (seq, id, prev) = match c.fields {
            Ok(f) => f,
            Err(e) => {
                return Err(Problem {
                    kind: ProblemKind::Malformed,
                    seq: None,
                    message: format!("{at} is not an audit record: {e}"),
                });
            }
        };
        if let Some((expected, found, found_at)) = self.pending_gap {
            return Err(if seq == expected {
                Problem {
                    kind: ProblemKind::Reordered,
                    seq: Some(expected),
                    message: format!(
                        "records were reordered: seq {found} is at {} but seq {expected} comes after it at {at}",
                        self.at(found_at)
                    ),
                }
            } else {
                self.deleted(expected, found, found_at)
            });
        }
        if seq > self.expected_seq {
            self.pending_gap = Some((self.expected_seq, seq, self.position));
            return Ok(());
        }
        if seq < self.expected_seq {
            return Err(Problem {
                kind: ProblemKind::Inserted,
                seq: Some(seq),
                message: format!(
                    "a record was inserted at {at}: it claims seq {seq}, which the record at {} already has",
                    self.at(self.position - (self.expected_seq - seq))
                ),
            });
        }
        if prev != self.prev_hash {
            return Err(if seq == 1 {
                Problem {
                    kind: ProblemKind::Edited,
                    seq: Some(1),
                    message: format!(
                        "record seq 1 ({at}) does not start a chain: its prev is not the genesis value (records before it were removed, or it was edited)"
                    ),
                }
            } else {
                Problem {
                    kind: ProblemKind::Edited,
                    seq: Some(seq - 1),
                    message: format!(
                        "record seq {} ({}) was edited or replaced: its hash no longer matches the prev of seq {seq} ({at})",
                        seq - 1,
                        self.at(self.position - 1)
                    ),
                }
            });
        }
        match c.sig {
            SigCheck::Invalid(why) => {
                return Err(Problem {
                    kind: ProblemKind::Edited,
                    seq: Some(seq),
                    message: format!("record seq {seq} ({at}) was edited: {why}"),
                });
            }
            SigCheck::Unsigned if !self.options.keys.is_empty() => {
                return Err(Problem {
                    kind: ProblemKind::Unsigned,
                    seq: Some(seq),
                    message: format!(
                        "record seq {seq} ({at}) is unsigned, but signatures are required (--key given): forged or written without the key"
                    ),
                });
            }
            SigCheck::Valid {
                fingerprint,
                trusted: false,
            } if !self.options.keys.is_empty() => {
                return Err(Problem {
                    kind: ProblemKind::UnknownKey,
                    seq: Some(seq),
                    message: format!(
                        "record seq {seq} ({at}) is signed by an unknown key {fingerprint}, not by any --key"
                    ),
                });
            }
            SigCheck::Unsigned => self.summary.unsigned += 1,
            SigCheck::Valid {
                fingerprint,
                trusted,
            } => {
                if trusted {
                    self.summary.signed_trusted += 1;
                } else {
                    self.summary.signed_unchecked += 1;
                }
                self.summary.signers.insert(fingerprint);
            }
        }
        let id_key = id_key(&id);
        if let Some(&(first_seq, first_pos)) = self.ids.get(&id_key) {
            return Err(Problem {
                kind: ProblemKind::DuplicateId,
                seq: Some(seq),
                message: format!(
                    "record seq {seq} ({at}) repeats the id {id} of seq {first_seq} ({}): a record was replayed",
                    self.at(first_pos)
                ),
            });
        }
        self.ids.insert(id_key, (seq, self.position));
        if self
            .options
            .expect_head
            .as_ref()
            .is_some_and(|h| h.seq == seq)
        {
            self.head_hash_seen = Some(c.hash.clone());
        }
        self.prev_hash = c.hash;
        self.expected_seq = seq + 1;
        self.summary.records += 1;
        self.summary.head = Head {
            seq,
            hash: self.prev_hash.clone(),
        };
        Ok(())
    }

    fn deleted(&self, expected: u64, found: u64, found_at: u64) -> Problem {
        let which = if found - expected == 1 {
            format!("record seq {expected} was deleted")
        } else {
            format!("records seq {expected}..{} were deleted", found - 1)
        };
        let after = if expected == 1 {
            "at the start of the chain".to_string()
        } else {
            format!("right after seq {}", expected - 1)
        };
        Problem {
            kind: ProblemKind::Deleted,
            seq: Some(expected),
            message: format!("{which}: {} holds seq {found} {after}", self.at(found_at)),
        }
    }

    /// A line that could not be read (an I/O error, a torn last line).
    pub fn unreadable(&self, why: &str) -> Problem {
        Problem {
            kind: ProblemKind::Unreadable,
            seq: None,
            message: format!("{}: {why}", self.at(self.position + 1)),
        }
    }

    /// After the last line: gaps left open, the expected head.
    pub fn finish(self) -> Result<Summary, Problem> {
        if let Some((expected, found, found_at)) = self.pending_gap {
            return Err(self.deleted(expected, found, found_at));
        }
        if let Some(expected) = &self.options.expect_head {
            let last = self.summary.head.seq;
            if last < expected.seq {
                return Err(Problem {
                    kind: ProblemKind::Truncated,
                    seq: Some(last + 1),
                    message: format!(
                        "the log was truncated: it ends at seq {last}, but the expected head is seq {} ({} record{} missing at the end)",
                        expected.seq,
                        expected.seq - last,
                        if expected.seq - last == 1 { "" } else { "s" }
                    ),
                });
            }
            if self.head_hash_seen.as_deref() != Some(expected.hash.as_str()) {
                return Err(Problem {
                    kind: ProblemKind::HeadMismatch,
                    seq: Some(expected.seq),
                    message: format!(
                        "record seq {} is not the expected head: its hash is {}, expected {} (history was rewritten)",
                        expected.seq,
                        self.head_hash_seen.as_deref().unwrap_or("missing"),
                        expected.hash
                    ),
                });
            }
        }
        Ok(self.summary)
    }
}

/// Verify a log file, streaming it in batches.
pub fn verify_file(path: &std::path::Path, options: &VerifyOptions) -> Result<Summary, Problem> {
    use std::io::BufRead;
    let mut verifier = Verifier::new(options, "line");
    let file = std::fs::File::open(path)
        .map_err(|e| verifier.unreadable(&format!("cannot open the log: {e}")))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut batch: Vec<Vec<u8>> = Vec::with_capacity(BATCH);
    loop {
        let mut line = Vec::new();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| verifier.unreadable(&format!("cannot read: {e}")))?;
        if n == 0 {
            break;
        }
        if line.pop() != Some(b'\n') {
            verifier.push_batch(&batch)?;
            return Err(verifier.unreadable(
                "the last line has no newline: the record is incomplete (cut off mid-write, or truncated)",
            ));
        }
        batch.push(line);
        if batch.len() == BATCH {
            verifier.push_batch(&batch)?;
            batch.clear();
        }
    }
    verifier.push_batch(&batch)?;
    verifier.finish()
}
