//! Recording inside `check`: which sinks, which key, and what a failure means.
//!
//! Data flow (DESIGN.md): Decision → audit sinks → reports → exit code. The
//! record is written before the exit code is known; a sink that fails makes
//! the run indeterminate (exit 3), naming the sink and why.
//!
//! Which runs record what:
//! - an evaluated run: its decision, to every sink;
//! - facts that could not be gathered: decision `error` with the reason, to
//!   every sink (the policy, and so its sinks, is known);
//! - an invalid or unreadable policy (exit 2): decision `error` with the
//!   reason, to the `--audit` sinks only — the policy's own sinks are unknown
//!   and the default file is not assumed; without `--audit` nothing can be
//!   recorded and the run says so;
//! - `--dry-run` and command-line usage errors: nothing.

use std::path::Path;

use super::attest;
use super::record::RecordDraft;
use super::{DEFAULT_SINK, Signer, Sink, SinkSpec, SpecOrigin, write_all};
use crate::cli::CheckAuditArgs;
use crate::decision::Decision;
use crate::exit::ExitStatus;
use crate::facts::Facts;
use crate::policy::{AuditConfig, Policy};
use crate::sanitize;

/// The sinks and key of one run.
pub struct Plan {
    sinks: Vec<Sink>,
    signer: Option<Signer>,
}

fn fail(message: &str, status: ExitStatus) -> ExitStatus {
    eprintln!("error: {}", sanitize::terminal(message));
    eprintln!(
        "the gate blocks: a run whose audit record cannot be written is never allowed (exit 3)"
    );
    status
}

impl Plan {
    /// Sinks from the policy (or the default) plus `--audit`; the key.
    /// `policy` is `None` when the policy could not be read.
    pub fn new(
        args: &CheckAuditArgs,
        policy: Option<&AuditConfig>,
        repo: &Path,
    ) -> Result<Plan, ExitStatus> {
        let mut specs: Vec<(SinkSpec, SpecOrigin)> = Vec::new();
        if let Some(config) = policy {
            for s in &config.sinks {
                match SinkSpec::parse(s.get_ref()) {
                    Ok(spec) => specs.push((spec, SpecOrigin::Policy)),
                    Err(e) => {
                        eprintln!(
                            "error: the policy's [audit] sinks: {}",
                            sanitize::terminal(&e)
                        );
                        return Err(ExitStatus::Usage);
                    }
                }
            }
        }
        specs.extend(
            args.sinks
                .iter()
                .cloned()
                .map(|s| (s, SpecOrigin::CommandLine)),
        );
        if specs.is_empty() && policy.is_some() {
            specs.push((
                SinkSpec::parse(DEFAULT_SINK).expect("the default sink parses"),
                SpecOrigin::Policy,
            ));
        }
        let signer = Signer::load(args.audit_key.as_deref()).map_err(|e| {
            fail(
                &format!("cannot load the audit key: {e}"),
                ExitStatus::Indeterminate,
            )
        })?;
        if signer.is_none() && policy.is_some_and(|p| p.require_signature) {
            return Err(fail(
                &format!(
                    "the policy sets `[audit] require_signature = true`, but no signing key was given; \
                     set ${} to the key text or pass --audit-key FILE (make one with `gatehouse audit keygen`)",
                    crate::env_vars::gatehouse::GATEHOUSE_AUDIT_KEY
                ),
                ExitStatus::Indeterminate,
            ));
        }
        let token_env = policy.and_then(|p| p.token_env.as_deref());
        let mut sinks = Vec::new();
        for (spec, origin) in &specs {
            let sink = Sink::resolve(spec, *origin, repo, token_env)
                .map_err(|e| fail(&e.to_string(), ExitStatus::Indeterminate))?;
            // The same sink named twice (policy and --audit) gets the record once.
            if !sinks.iter().any(|s: &Sink| s.name() == sink.name()) {
                sinks.push(sink);
            }
        }
        Ok(Plan { sinks, signer })
    }

    /// Write `draft` everywhere; `Err` already told the user.
    pub fn record(&self, draft: &RecordDraft) -> Result<(), ExitStatus> {
        if self.sinks.is_empty() {
            eprintln!(
                "note: no audit record was written: the run stopped before its policy could be used, so its sinks are unknown; \
                 pass --audit SINK to record such runs too"
            );
            return Ok(());
        }
        write_all(&self.sinks, draft, self.signer.as_ref())
            .map(|written| {
                // Where the record went, for the person reading the log; the
                // report on stdout stays the decision alone.
                for (sink, appended) in written {
                    match appended.seq {
                        0 => eprintln!("recorded: {sink}"),
                        seq => eprintln!(
                            "recorded: {sink} #{seq} ({})",
                            appended.hash.get(..19).unwrap_or(&appended.hash)
                        ),
                    }
                }
            })
            .map_err(|e| {
                fail(
                    &format!("the decision was not recorded — {e}"),
                    ExitStatus::Indeterminate,
                )
            })
    }

    /// `--attest PATH`: the signed in-toto statement of the decision.
    pub fn attest(
        &self,
        path: &Path,
        decision: &Decision,
        facts: &Facts,
    ) -> Result<(), ExitStatus> {
        let Some(signer) = &self.signer else {
            return Err(fail(
                &format!(
                    "--attest needs the audit key to sign the attestation; set ${} or pass --audit-key FILE",
                    crate::env_vars::gatehouse::GATEHOUSE_AUDIT_KEY
                ),
                ExitStatus::Indeterminate,
            ));
        };
        let text = attest::envelope(&attest::statement(decision, facts), signer)
            .map_err(|e| fail(&e, ExitStatus::Indeterminate))?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(parent);
        }
        std::fs::write(path, text).map_err(|e| {
            fail(
                &format!("cannot write the attestation to {}: {e}", path.display()),
                ExitStatus::Indeterminate,
            )
        })
    }
}

/// Record a run whose policy could not be used (exit 2): `--audit` sinks only.
pub fn record_policy_failure(
    args: &CheckAuditArgs,
    repo: &Path,
    policy_path: &str,
    reason: &str,
) -> Result<(), ExitStatus> {
    let plan = Plan::new(args, None, repo)?;
    let draft = RecordDraft::error(format!("the policy could not be used: {reason}"))
        .with_policy(policy_path, None);
    plan.record(&draft)
}

/// Record a run whose facts could not be gathered (exit 3).
pub fn record_source_failure(
    args: &CheckAuditArgs,
    repo: &Path,
    policy: &Policy,
    reason: &str,
) -> Result<(), ExitStatus> {
    let plan = Plan::new(args, Some(&policy.audit), repo)?;
    let draft = RecordDraft::error(format!("facts could not be gathered: {reason}"))
        .with_policy(&policy.origin, Some(&policy.digest));
    plan.record(&draft)
}
