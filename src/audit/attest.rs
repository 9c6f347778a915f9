//! `check --attest PATH`: the decision as an in-toto Statement v1 with a SLSA
//! Verification Summary predicate, in a DSSE envelope signed (Ed25519) with
//! the audit key, the git commit as its subject.
//!
//! <https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md>,
//! <https://slsa.dev/spec/v1.0/verification_summary>,
//! <https://github.com/secure-systems-lab/dsse/blob/master/protocol.md>.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::SecondsFormat;
use serde_json::{Value, json};

use super::sign::Signer;
use crate::decision::{Decision, Outcome, Verdict};
use crate::facts::Facts;

pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PREDICATE_TYPE: &str = "https://slsa.dev/verification_summary/v1";
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// Who verified: this tool.
pub const VERIFIER_ID: &str = "https://github.com/gatehouse-ci/gatehouse";

/// The in-toto Statement for a decision.
pub fn statement(decision: &Decision, facts: &Facts) -> Value {
    let passed = decision.verdict == Verdict::Allow;
    let repo_uri = format!(
        "git+https://{}/{}",
        facts.repository.host, facts.repository.slug
    );
    let (policy_algo, policy_hex) = decision
        .policy
        .digest
        .split_once(':')
        .unwrap_or(("sha256", decision.policy.digest.as_str()));
    // verifiedLevels: SLSA reserves `SLSA_*`; gatehouse reports the policy
    // rules that passed as its own values, and `FAILED` when the gate blocked.
    let levels: Vec<String> = if passed {
        decision
            .rules
            .iter()
            .filter(|r| r.outcome == Outcome::Pass)
            .map(|r| format!("GATEHOUSE_RULE_{}", r.id))
            .collect()
    } else {
        vec!["FAILED".to_string()]
    };
    json!({
        "_type": STATEMENT_TYPE,
        "subject": [{
            "name": format!("{repo_uri}@{}", decision.subject.git_ref),
            "digest": { "gitCommit": decision.subject.sha },
        }],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "verifier": {
                "id": VERIFIER_ID,
                "version": { "gatehouse": env!("CARGO_PKG_VERSION") },
            },
            "timeVerified": decision.evaluated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "resourceUri": format!("{repo_uri}@{}", decision.subject.sha),
            "policy": {
                "uri": decision.policy.path,
                "digest": { policy_algo: policy_hex },
            },
            "verificationResult": if passed { "PASSED" } else { "FAILED" },
            "verifiedLevels": levels,
        },
    })
}

/// DSSE pre-authentication encoding: what the signature covers.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// The signed DSSE envelope (pretty JSON) of `statement`.
pub fn envelope(statement: &Value, signer: &Signer) -> Result<String, String> {
    let payload = serde_json::to_vec(statement).map_err(|e| format!("cannot encode: {e}"))?;
    let sig = signer.sign_raw(&pae(PAYLOAD_TYPE, &payload))?;
    let env = json!({
        "payloadType": PAYLOAD_TYPE,
        "payload": STANDARD.encode(&payload),
        "signatures": [{ "keyid": signer.fingerprint(), "sig": STANDARD.encode(sig) }],
    });
    let mut text = serde_json::to_string_pretty(&env).map_err(|e| format!("cannot encode: {e}"))?;
    text.push('\n');
    Ok(text)
}
