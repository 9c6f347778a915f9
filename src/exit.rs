//! Exit codes, computed in one place. They are a contract (DESIGN.md):
//! scripts and CI systems branch on them.

use std::process::ExitCode;

use crate::decision::{Decision, Verdict};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: allowed (warnings allowed), or any dry run.
    Allowed,
    /// 1: blocked by the policy.
    Blocked,
    /// 2: usage or policy error: the user's input is wrong.
    Usage,
    /// 3: indeterminate: facts or the audit record could not be obtained or
    /// written, so the gate blocks.
    Indeterminate,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Allowed => 0,
            ExitStatus::Blocked => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Indeterminate => 3,
        }
    }

    /// The exit status of a completed evaluation. A dry run decides nothing for
    /// the pipeline, so it always exits 0 (its report says "would block").
    pub fn for_decision(decision: &Decision) -> ExitStatus {
        if decision.dry_run {
            return ExitStatus::Allowed;
        }
        match decision.verdict {
            Verdict::Allow => ExitStatus::Allowed,
            Verdict::Block => ExitStatus::Blocked,
            Verdict::Error => ExitStatus::Indeterminate,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}
