//! The policy file: TOML parsed with spans, validated into typed rules.
//!
//! Loading happens in two steps, the way cargo-deny does it: [`load::parse`]
//! reads the TOML keeping every value's byte span, then each rule's table is
//! handed to its kind (see [`crate::rules::registry`]) which validates it into a
//! ready-to-run [`crate::rules::Rule`]. Every problem found on the way becomes a
//! [`PolicyDiagnostic`] pointing at the offending text.

mod error;
mod load;
pub mod packs;
pub mod schema;
mod when;

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use error::{DiagnosticKind, PolicyDiagnostic, PolicyError};
pub use load::{COMMON_RULE_KEYS, did_you_mean, parse};
pub use when::{When, WhenConfig};

use crate::rules::Rule;

/// File names looked for, in this order, when `--policy` is not given.
pub const DISCOVERY_ORDER: [&str; 4] = [
    ".gatehouse.toml",
    "gatehouse.toml",
    ".github/gatehouse.toml",
    ".gitlab/gatehouse.toml",
];

/// The policy used when a repository has none of [`DISCOVERY_ORDER`].
pub const DEFAULT_POLICY: &str = include_str!("../../rules/default.toml");
/// The name under which the default policy is reported.
pub const DEFAULT_POLICY_NAME: &str = "builtin:default";

/// How much a failing rule matters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A failure blocks the pipeline.
    #[default]
    Block,
    /// A failure is reported but never blocks.
    Warn,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Block => "block",
            Severity::Warn => "warn",
        }
    }
}

/// The `[audit]` table: where decisions are recorded.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct AuditConfig {
    /// Audit sinks every enforcing run writes to, for example
    /// `file:.git/gatehouse/audit.jsonl`, `postgres://…` or `https://…`.
    /// Checked when the policy is loaded, so `policy validate` reports a bad one.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub sinks: Vec<toml::Spanned<String>>,
    /// Refuse to write an unsigned record (a missing key is then exit 3).
    #[serde(default)]
    pub require_signature: bool,
    /// Name of the environment variable that holds the bearer token for
    /// `https://` sinks. The token itself never appears in the policy.
    #[serde(default)]
    pub token_env: Option<String>,
}

/// A validated policy, ready to evaluate.
#[derive(Debug)]
pub struct Policy {
    /// Where the policy came from, as shown to the user.
    pub origin: String,
    /// `sha256:<hex>` of the policy file's exact bytes.
    pub digest: String,
    pub version: u32,
    pub audit: AuditConfig,
    pub rules: Vec<PolicyRule>,
    /// What loading had to say: packs extended, pack rules set locally.
    pub notices: Vec<String>,
}

impl Policy {
    /// Every team slug the rules name, once each, for the source to gather.
    pub fn teams(&self) -> Vec<String> {
        let mut teams: Vec<String> = self.rules.iter().flat_map(|r| r.rule.teams()).collect();
        teams.sort();
        teams.dedup();
        teams
    }
}

/// One `[[rule]]` of the policy.
#[derive(Debug)]
pub struct PolicyRule {
    pub id: String,
    pub kind: &'static str,
    pub severity: Severity,
    pub description: Option<String>,
    pub when: When,
    /// Whether a failure of this rule may be overridden (break-glass).
    pub overrides: crate::overrides::Overridability,
    /// 1-based line of the `[[rule]]` header (or the rule's first key); for
    /// a rule taken unchanged from a pack, its line in the pack.
    pub line: usize,
    /// The pack (`builtin:baseline`) a rule was taken from unchanged.
    pub pack: Option<String>,
    pub rule: Box<dyn Rule>,
}

/// `sha256:<hex>` of some bytes, the digest form used in decisions and records.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A policy file found on disk (or the built-in default).
#[derive(Debug, Clone)]
pub struct PolicySource {
    /// How the policy is named in reports.
    pub origin: String,
    pub text: String,
    /// True when no file was found and [`DEFAULT_POLICY`] is used.
    pub builtin: bool,
}

impl PolicySource {
    /// Read `path`; a missing or unreadable file is an error naming the path.
    pub fn read(path: &Path) -> Result<PolicySource, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(PolicySource {
            origin: path.display().to_string(),
            text,
            builtin: false,
        })
    }

    /// The first of [`DISCOVERY_ORDER`] that exists under `dir`, or the
    /// built-in default when none does.
    pub fn discover(dir: &Path) -> Result<PolicySource, PolicyError> {
        match Self::find(dir) {
            Some(path) => Self::read(&path),
            None => Ok(Self::builtin()),
        }
    }

    pub fn find(dir: &Path) -> Option<PathBuf> {
        DISCOVERY_ORDER
            .iter()
            .map(|name| dir.join(name))
            .find(|p| p.is_file())
    }

    pub fn builtin() -> PolicySource {
        PolicySource {
            origin: DEFAULT_POLICY_NAME.to_string(),
            text: DEFAULT_POLICY.to_string(),
            builtin: true,
        }
    }

    pub fn parse(&self) -> Result<Policy, PolicyError> {
        parse(&self.origin, &self.text)
    }
}
