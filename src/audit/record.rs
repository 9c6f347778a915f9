//! The audit record: one JSON object per line.
//!
//! A record is built once per run ([`RecordDraft`]) and then *sealed* by each
//! sink into a line: the sink fills in its own chain position (`seq`, `prev`),
//! and [`seal`] appends the signature as the last key. Because `"sig"` is
//! always last and JSON escapes every `"` inside strings, the signed bytes are
//! exactly the line with its `,"sig":"…"` suffix removed — no canonicalisation
//! is needed, and `sed` can recover them for `ssh-keygen -Y verify`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::sign::Signer;
use crate::decision::{Decision, Override, RuleResult};
use crate::facts::{Facts, Pipeline};

/// The record format version (`v`).
pub const RECORD_VERSION: u32 = 1;
/// `prev` of the first record of a chain.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
/// The value of `mode` for an enforcing run. Dry runs write no record at all.
pub const MODE_ENFORCE: &str = "enforce";
/// The key that must end every signed line.
pub const SIG_SUFFIX_START: &[u8] = b",\"sig\":\"";

/// One record as stored. Field order is the serialisation order, and it is a
/// contract: `sig` must stay last (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub v: u32,
    pub seq: u64,
    pub id: String,
    pub time: String,
    pub prev: String,
    pub mode: String,
    /// `allow`, `block` or `error`.
    pub decision: String,
    /// Why the decision is `error` when no rule result says it (facts could not
    /// be gathered, the policy was invalid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub subject: RecordSubject,
    pub actor: Option<String>,
    pub pipeline: Option<Pipeline>,
    pub policy: RecordPolicy,
    pub facts_digest: Option<String>,
    /// Every rule's result: id, kind, severity, outcome, findings with evidence.
    pub findings: Vec<RuleResult>,
    pub overrides: Vec<Override>,
    pub gate: Gate,
    /// SSHSIG (namespace `gatehouse-audit`) over the line without this key, armored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordSubject {
    pub repo: Option<String>,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub sha: Option<String>,
    pub change: Option<u64>,
    pub environment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordPolicy {
    pub path: Option<String>,
    pub source_ref: Option<String>,
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    pub version: String,
}

/// A record before a sink gives it its place in a chain.
#[derive(Debug, Clone)]
pub struct RecordDraft {
    record: Record,
}

impl RecordDraft {
    /// The record of a completed evaluation.
    pub fn from_decision(decision: &Decision, facts: &Facts) -> RecordDraft {
        let mut draft = RecordDraft::blank(decision.verdict.as_str(), None);
        let r = &mut draft.record;
        r.subject = RecordSubject {
            repo: Some(decision.subject.repo.clone()),
            git_ref: Some(decision.subject.git_ref.clone()),
            sha: Some(decision.subject.sha.clone()),
            change: decision.subject.change,
            environment: decision.subject.environment.clone(),
        };
        r.actor = facts.event.actor.clone();
        r.pipeline = facts.pipeline.clone();
        r.policy = RecordPolicy {
            path: Some(decision.policy.path.clone()),
            source_ref: decision.policy.source_ref.clone(),
            digest: Some(decision.policy.digest.clone()),
        };
        r.facts_digest = Some(facts_digest(facts));
        r.findings = decision.rules.clone();
        r.overrides = decision.overrides.clone();
        draft
    }

    /// The record of a run that could not evaluate: decision `error` with the reason.
    pub fn error(reason: impl Into<String>) -> RecordDraft {
        RecordDraft::blank("error", Some(reason.into()))
    }

    fn blank(decision: &str, reason: Option<String>) -> RecordDraft {
        RecordDraft {
            record: Record {
                v: RECORD_VERSION,
                seq: 0,
                id: new_id(),
                time: Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
                prev: GENESIS.to_string(),
                mode: MODE_ENFORCE.to_string(),
                decision: decision.to_string(),
                reason,
                subject: RecordSubject {
                    repo: None,
                    git_ref: None,
                    sha: None,
                    change: None,
                    environment: None,
                },
                actor: None,
                pipeline: None,
                policy: RecordPolicy {
                    path: None,
                    source_ref: None,
                    digest: None,
                },
                facts_digest: None,
                findings: Vec::new(),
                overrides: Vec::new(),
                gate: Gate {
                    version: env!("CARGO_PKG_VERSION").to_string(),
                },
                sig: None,
            },
        }
    }

    /// Add what is known about the policy (for records of failed runs).
    pub fn with_policy(mut self, path: &str, digest: Option<&str>) -> RecordDraft {
        self.record.policy.path = Some(path.to_string());
        self.record.policy.digest = digest.map(str::to_string);
        self
    }

    /// Override the evaluation instant (tests, benchmarks).
    pub fn at(mut self, time: DateTime<Utc>) -> RecordDraft {
        self.record.time = time.to_rfc3339_opts(SecondsFormat::Micros, true);
        self
    }

    pub fn id(&self) -> &str {
        &self.record.id
    }

    /// The repository slug, the default PostgreSQL stream.
    pub fn repo(&self) -> Option<&str> {
        self.record.subject.repo.as_deref()
    }

    pub fn record(&self) -> &Record {
        &self.record
    }

    /// The record at chain position `seq` after a line hashing to `prev`.
    pub fn place(&self, seq: u64, prev: &str) -> Record {
        let mut r = self.record.clone();
        r.seq = seq;
        r.prev = prev.to_string();
        r
    }
}

/// Serialise `record` to one line (no newline), signed when `signer` is given.
pub fn seal(record: &Record, signer: Option<&Signer>) -> Result<String, String> {
    let mut unsigned = record.clone();
    unsigned.sig = None;
    let body =
        serde_json::to_string(&unsigned).map_err(|e| format!("cannot encode record: {e}"))?;
    let body = escape_invisible(&body);
    let Some(signer) = signer else {
        return Ok(body);
    };
    let sig = signer.sign(body.as_bytes())?;
    let mut line = body;
    line.pop(); // the closing brace; the signature goes inside as the last key
    line.push_str(&String::from_utf8_lossy(SIG_SUFFIX_START));
    line.push_str(&json_escape_armor(&sig));
    line.push_str("\"}");
    Ok(line)
}

/// JSON allows DEL, C1 controls and bidirectional overrides raw inside
/// strings; written as `\uXXXX` the same data survives `cat`, `tail -f` and
/// `query --format json` on a terminal. Outside strings JSON is ASCII, so this
/// never changes the structure.
fn escape_invisible(json: &str) -> String {
    if !json.chars().any(is_invisible) {
        return json.to_string();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_invisible(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{7F}'..='\u{9F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// The armored signature contains only base64, dashes, spaces and newlines;
/// JSON needs only the newlines escaped.
fn json_escape_armor(armor: &str) -> String {
    armor.replace('\n', "\\n")
}

/// Split a line into the bytes the signature covers and the armored signature.
/// `None` when the line carries no signature.
pub fn split_signature(line: &[u8]) -> Option<(Vec<u8>, String)> {
    let at = find_last(line, SIG_SUFFIX_START)?;
    let tail = &line[at + SIG_SUFFIX_START.len()..];
    let tail = tail.strip_suffix(b"\"}")?;
    let mut signed = line[..at].to_vec();
    signed.push(b'}');
    let armor = String::from_utf8(tail.to_vec()).ok()?.replace("\\n", "\n");
    Some((signed, armor))
}

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// `sha256:<hex>` of a line's exact bytes (without its newline): the next record's `prev`.
pub fn line_hash(line: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(line)))
}

/// `sha256:<hex>` of the Facts as gatehouse serialises them (compact JSON).
pub fn facts_digest(facts: &Facts) -> String {
    let bytes = serde_json::to_vec(facts).expect("Facts are plain data and always serialise");
    line_hash(&bytes)
}

/// A random UUID (version 4) for the record `id`.
pub fn new_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_record_has_contract_fields_in_order() {
        let r = RecordDraft::error("facts file: cannot read f.json").place(1, GENESIS);
        let line = seal(&r, None).unwrap();
        let keys = [
            "v",
            "seq",
            "id",
            "time",
            "prev",
            "mode",
            "decision",
            "reason",
            "subject",
            "actor",
            "pipeline",
            "policy",
            "facts_digest",
            "findings",
            "overrides",
            "gate",
        ];
        let positions: Vec<usize> = keys
            .iter()
            .map(|k| {
                line.find(&format!("\"{k}\":"))
                    .unwrap_or_else(|| panic!("{k} missing"))
            })
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{line}");
        assert!(split_signature(line.as_bytes()).is_none());
    }

    #[test]
    fn signature_suffix_cannot_be_faked_inside_a_string() {
        // A hostile reason containing the suffix is escaped by JSON, so the
        // only unescaped `,"sig":"` is the real key.
        let r = RecordDraft::error(",\"sig\":\"x\"}").place(1, GENESIS);
        let line = seal(&r, None).unwrap();
        assert!(split_signature(line.as_bytes()).is_none());
    }

    #[test]
    fn invisible_characters_are_escaped_but_kept() {
        let r = RecordDraft::error("a\u{202E}b\u{9b}c\u{7f}").place(1, GENESIS);
        let line = seal(&r, None).unwrap();
        assert!(line.contains(r"a\u202eb\u009bc\u007f"), "{line}");
        let back: Record = serde_json::from_str(&line).unwrap();
        assert_eq!(back.reason.as_deref(), Some("a\u{202E}b\u{9b}c\u{7f}"));
    }

    #[test]
    fn overrides_and_rule_evidence_reach_the_record() {
        use crate::decision::{Finding, Outcome, Override};
        use crate::rules::testing::facts;
        let facts = facts();
        let policy = crate::policy::parse(
            "p.toml",
            "version = 1\n[[rule]]\nid = \"only-tags\"\nkind = \"ref\"\ntags = [\"v*\"]\n",
        )
        .unwrap();
        let mut decision = crate::engine::evaluate(
            &policy,
            &facts,
            crate::engine::EvalOptions {
                policy_source_ref: Some("1a2b".into()),
                ..crate::engine::EvalOptions::at(facts.gathered_at)
            },
        );
        decision.rules[0].outcome = Outcome::Fail;
        decision.rules[0].findings = vec![
            Finding::new("outside the window")
                .evidence("evaluated at 2026-12-24T17:00:00+01:00 (Europe/Berlin, +01:00)"),
        ];
        decision.overrides.push(Override {
            rule: "only-tags".into(),
            trigger: "label:emergency".into(),
            approvers: vec!["eve".into()],
            reason: Some("incident 42".into()),
            evidence: vec!["label emergency".into()],
        });
        let line = seal(
            &RecordDraft::from_decision(&decision, &facts).place(1, GENESIS),
            None,
        )
        .unwrap();
        let back: Record = serde_json::from_str(&line).unwrap();
        assert_eq!(back.overrides, decision.overrides);
        assert_eq!(back.findings, decision.rules);
        assert_eq!(back.policy.source_ref.as_deref(), Some("1a2b"));
        assert!(line.contains("Europe/Berlin, +01:00"));
    }

    #[test]
    fn ids_are_uuid_v4() {
        let id = new_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(new_id(), id);
    }
}
