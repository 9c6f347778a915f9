//! The Facts model: everything a rule may look at, in one normalised shape.
//!
//! Every source (git, GitHub, GitLab, a saved file) produces exactly this model,
//! so a rule behaves the same wherever the gate runs. The JSON form is the
//! `gatehouse.facts/v1` contract documented in DESIGN.md: fields may be added,
//! never renamed or dropped without a new schema version. Unknown fields are
//! accepted (forward compatibility), wrong types are errors.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The value of the `schema` field this version of gatehouse reads and writes.
pub const FACTS_SCHEMA: &str = "gatehouse.facts/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub schema: String,
    pub gathered_at: DateTime<Utc>,
    /// Which source produced these facts: `git`, `github`, `gitlab`, `facts`, …
    pub source: String,
    pub repository: Repository,
    pub event: Event,
    #[serde(rename = "ref")]
    pub git_ref: GitRef,
    #[serde(default)]
    pub change: Option<Change>,
    #[serde(default)]
    pub commits: Vec<Commit>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Team or group slug (`acme/sre`) to the logins of its members.
    #[serde(default)]
    pub teams: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub codeowners: Option<Codeowners>,
    #[serde(default)]
    pub checks: Vec<Check>,
    #[serde(default)]
    pub deployment: Option<Deployment>,
    #[serde(default)]
    pub pipeline: Option<Pipeline>,
    /// Files changed by the covered commits when there is no `change` (a push,
    /// a local range). For a change they are in `change.files`; read both
    /// through [`Facts::changed_files`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ChangedFile>,
    /// Facts this source cannot see at all, as JSON paths (`change.reviews`,
    /// `checks`, `teams`, `deployment.approvals`). A local repository knows no
    /// reviews: its empty list means "unknown", not "none". A rule that needs
    /// one of these returns an error finding instead of deciding on emptiness.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<String>,
}

impl Facts {
    /// The changed files: the change's when there is one, otherwise the range's.
    pub fn changed_files(&self) -> &[ChangedFile] {
        match &self.change {
            Some(change) => &change.files,
            None => &self.files,
        }
    }

    /// `Err` with the reason when the source could not see `path` (one of the
    /// JSON paths in [`Facts::unavailable`]), so the rule cannot decide.
    pub fn require(&self, path: &str) -> Result<(), String> {
        if self.unavailable.iter().any(|u| u == path) {
            Err(format!(
                "the `{}` source cannot see `{path}`, so this rule cannot decide",
                self.source
            ))
        } else {
            Ok(())
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repository {
    pub host: String,
    pub slug: String,
    #[serde(default)]
    pub default_branch: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    PullRequest,
    Push,
    Deployment,
    MergeGroup,
    Local,
}

impl EventKind {
    pub const ALL: [EventKind; 5] = [
        EventKind::PullRequest,
        EventKind::Push,
        EventKind::Deployment,
        EventKind::MergeGroup,
        EventKind::Local,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::PullRequest => "pull_request",
            EventKind::Push => "push",
            EventKind::Deployment => "deployment",
            EventKind::MergeGroup => "merge_group",
            EventKind::Local => "local",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    #[serde(default)]
    pub actor: Option<String>,
}

/// The ref being gated, as a full ref name (`refs/heads/main`, `refs/tags/v1.0`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GitRef {
    pub name: String,
    pub sha: String,
}

impl GitRef {
    /// The branch name when the ref is a branch (`refs/heads/x` -> `x`).
    pub fn branch(&self) -> Option<&str> {
        self.name.strip_prefix("refs/heads/")
    }

    /// The tag name when the ref is a tag (`refs/tags/v1` -> `v1`).
    pub fn tag(&self) -> Option<&str> {
        self.name.strip_prefix("refs/tags/")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub id: u64,
    pub title: String,
    pub author: String,
    #[serde(default)]
    pub draft: bool,
    pub base: ChangeRef,
    pub head: ChangeRef,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ChangedFile>,
    #[serde(default)]
    pub reviews: Vec<Review>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeRef {
    /// Branch name without `refs/heads/`.
    #[serde(rename = "ref")]
    pub name: String,
    pub sha: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Added,
    Modified,
    Removed,
    Renamed,
    Copied,
    Changed,
    Unchanged,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangedFile {
    pub path: String,
    #[serde(default)]
    pub previous_path: Option<String>,
    pub status: FileStatus,
    #[serde(default)]
    pub additions: u64,
    #[serde(default)]
    pub deletions: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    Approved,
    ChangesRequested,
    Commented,
    Dismissed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub author: String,
    pub state: ReviewState,
    /// The commit the review was submitted on.
    #[serde(default)]
    pub commit: Option<String>,
    pub submitted_at: DateTime<Utc>,
    #[serde(default)]
    pub author_is_bot: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub login: Option<String>,
    pub time: DateTime<chrono::FixedOffset>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trailer {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    /// `ssh`, `openpgp` or `x509`.
    pub format: String,
    /// The armored signature.
    pub signature: String,
    /// The exact bytes that were signed.
    pub payload: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commit {
    pub sha: String,
    #[serde(default)]
    pub parents: Vec<String>,
    pub author: Identity,
    pub committer: Identity,
    pub message: String,
    #[serde(default)]
    pub trailers: Vec<Trailer>,
    #[serde(default)]
    pub signature: Option<Signature>,
    #[serde(default)]
    pub author_is_bot: bool,
}

impl Commit {
    /// The first line of the message.
    pub fn subject(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }

    pub fn is_merge(&self) -> bool {
        self.parents.len() > 1
    }

    pub fn short_sha(&self) -> &str {
        short_sha(&self.sha)
    }
}

/// The first 7 characters of a commit id, the way git abbreviates by default.
pub fn short_sha(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tagger {
    pub name: String,
    pub email: String,
    pub time: DateTime<chrono::FixedOffset>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    pub name: String,
    pub target: String,
    #[serde(default)]
    pub tagger: Option<Tagger>,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub signature: Option<Signature>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Codeowners {
    pub path: String,
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    /// `queued`, `in_progress`, `completed`, …
    pub status: String,
    #[serde(default)]
    pub conclusion: Option<String>,
    pub commit: String,
    #[serde(default)]
    pub app: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    Approved,
    Rejected,
}

impl ApprovalState {
    /// The state named as GitHub and GitLab name it (`approved`, `rejected`).
    pub fn from_api(name: &str) -> Option<ApprovalState> {
        match name {
            "approved" => Some(ApprovalState::Approved),
            "rejected" => Some(ApprovalState::Rejected),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentApproval {
    pub by: String,
    pub state: ApprovalState,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub environment: String,
    #[serde(default)]
    pub requested_by: Option<String>,
    #[serde(default)]
    pub approvals: Vec<DeploymentApproval>,
    /// The project's deploy freeze periods (GitLab: Deployments → Deploy
    /// freezes), for a deploy-window rule. A source that cannot see them
    /// lists `deployment.freeze_periods` in [`Facts::unavailable`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freeze_periods: Vec<FreezePeriod>,
}

/// A recurring window in which deployments are frozen: from each instant
/// matching the `start` cron expression to the next one matching `end`, both
/// read in `timezone` (an IANA name). GitLab's own format, kept verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FreezePeriod {
    /// Five-field cron expression (`0 23 * * 5`).
    pub start: String,
    /// Five-field cron expression (`0 8 * * 1`).
    pub end: String,
    /// IANA time zone the expressions are read in (`UTC`, `Europe/Berlin`).
    pub timezone: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    pub provider: String,
    pub id: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub job: Option<String>,
}
