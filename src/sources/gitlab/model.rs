//! The parts of GitLab's REST API responses the source reads. Only the fields
//! gatehouse uses are declared; unknown fields are ignored, as GitLab adds
//! fields in every release. A field the mapping depends on is required, so a
//! response without it is an error rather than a silently empty fact.

use chrono::{DateTime, FixedOffset, Utc};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub username: String,
    /// Only some endpoints say it (`bot: true` on newer GitLab versions).
    #[serde(default)]
    pub bot: Option<bool>,
}

/// `GET /projects/:id/merge_requests/:iid`
#[derive(Debug, Clone, Deserialize)]
pub struct MergeRequest {
    pub iid: u64,
    pub title: String,
    pub author: User,
    #[serde(default)]
    pub draft: Option<bool>,
    #[serde(default)]
    pub work_in_progress: Option<bool>,
    pub labels: Vec<String>,
    pub target_branch: String,
    pub source_branch: String,
    pub sha: String,
    /// `null` while GitLab is still preparing the merge request.
    pub diff_refs: Option<DiffRefs>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DiffRefs {
    pub base_sha: String,
    pub head_sha: String,
}

/// `GET /projects/:id/merge_requests/:iid/approvals`
#[derive(Debug, Clone, Deserialize)]
pub struct MergeRequestApprovals {
    pub updated_at: DateTime<Utc>,
    pub approved_by: Vec<Approver>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Approver {
    pub user: User,
    /// Present on newer GitLab versions only.
    #[serde(default)]
    pub approved_at: Option<DateTime<Utc>>,
}

/// `GET /projects/:id/approvals` (the project's approval settings).
#[derive(Debug, Clone, Deserialize)]
pub struct ProjectApprovalSettings {
    pub reset_approvals_on_push: bool,
}

/// `GET /projects/:id/merge_requests/:iid/commits` and
/// `GET /projects/:id/repository/commits/:sha`
#[derive(Debug, Clone, Deserialize)]
pub struct Commit {
    pub id: String,
    pub author_name: String,
    pub author_email: String,
    pub authored_date: DateTime<FixedOffset>,
    pub committer_name: String,
    pub committer_email: String,
    pub committed_date: DateTime<FixedOffset>,
    pub message: String,
    /// Only the single-commit endpoint returns them.
    #[serde(default)]
    pub parent_ids: Option<Vec<String>>,
}

/// `GET /projects/:id/merge_requests/:iid/diffs`
#[derive(Debug, Clone, Deserialize)]
pub struct Diff {
    pub old_path: String,
    pub new_path: String,
    pub diff: String,
    pub new_file: bool,
    pub renamed_file: bool,
    pub deleted_file: bool,
    /// Set when GitLab left the diff out (too large or collapsed).
    #[serde(default)]
    pub too_large: Option<bool>,
    #[serde(default)]
    pub collapsed: Option<bool>,
}

/// `GET /projects/:id/repository/commits/:sha/statuses`
#[derive(Debug, Clone, Deserialize)]
pub struct CommitStatus {
    pub name: String,
    pub status: String,
    pub sha: String,
    #[serde(default)]
    pub allow_failure: bool,
}

/// `GET /groups/:id/members/all`
#[derive(Debug, Clone, Deserialize)]
pub struct Member {
    pub username: String,
    pub state: String,
}

/// `GET /projects/:id/repository/files/:path?ref=`
#[derive(Debug, Clone, Deserialize)]
pub struct RepositoryFile {
    pub file_path: String,
    pub encoding: String,
    pub content: String,
}

/// `GET /projects/:id/deployments` (one entry) and `/deployments/:id`
#[derive(Debug, Clone, Deserialize)]
pub struct Deployment {
    pub id: u64,
    pub sha: String,
    #[serde(default)]
    pub user: Option<User>,
    pub environment: DeploymentEnvironment,
    #[serde(default)]
    pub deployable: Option<Deployable>,
    /// Premium: the approvals of a deployment to a protected environment.
    /// Absent on tiers or versions without deployment approvals.
    #[serde(default)]
    pub approvals: Option<Vec<DeploymentApproval>>,
    /// Premium, multiple approval rules: the approvals per rule.
    #[serde(default)]
    pub approval_summary: Option<ApprovalSummary>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApprovalSummary {
    pub rules: Vec<ApprovalSummaryRule>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApprovalSummaryRule {
    pub deployment_approvals: Vec<DeploymentApproval>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeploymentEnvironment {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Deployable {
    pub id: u64,
    #[serde(default)]
    pub pipeline: Option<DeployablePipeline>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeployablePipeline {
    pub id: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeploymentApproval {
    pub user: User,
    pub status: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// `GET /projects/:id/protected_environments/:name`
#[derive(Debug, Clone, Deserialize)]
pub struct ProtectedEnvironment {
    #[serde(default)]
    pub required_approval_count: u64,
    #[serde(default)]
    pub approval_rules: Vec<EnvironmentApprovalRule>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EnvironmentApprovalRule {
    pub required_approvals: u64,
}

/// `GET /projects/:id/freeze_periods`
#[derive(Debug, Clone, Deserialize)]
pub struct FreezePeriod {
    pub freeze_start: String,
    pub freeze_end: String,
    pub cron_timezone: String,
}
