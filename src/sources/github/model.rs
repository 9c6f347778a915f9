//! The parts of GitHub's REST responses gatehouse reads, and their faithful
//! mapping into [`crate::facts`]. Unknown fields are ignored; a missing or
//! mistyped field the mapping needs is an error naming the JSON path.

use chrono::{DateTime, FixedOffset, Utc};
use serde::Deserialize;

use super::client::SOURCE;
use crate::facts::{
    ApprovalState, ChangedFile, Check, Commit, DeploymentApproval, FileStatus, Identity, Review,
    ReviewState, Signature,
};
use crate::sources::SourceError;
use crate::trailers::parse as parse_trailers;

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub login: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

impl User {
    pub fn is_bot(&self) -> bool {
        self.kind.as_deref() == Some("Bot")
    }
}

/// The name GitHub shows for a deleted account.
const GHOST: &str = "ghost";

#[derive(Debug, Deserialize)]
pub struct Label {
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct RepoRef {
    #[serde(default)]
    pub default_branch: Option<String>,
    #[serde(default)]
    pub full_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PullRef {
    #[serde(rename = "ref")]
    pub name: String,
    pub sha: String,
    #[serde(default)]
    pub repo: Option<RepoRef>,
}

#[derive(Debug, Deserialize)]
pub struct PullRequest {
    pub number: u64,
    pub title: String,
    pub user: Option<User>,
    #[serde(default)]
    pub draft: Option<bool>,
    #[serde(default)]
    pub labels: Vec<Label>,
    pub base: PullRef,
    pub head: PullRef,
    /// How many commits and files the lists must hold.
    #[serde(default)]
    pub commits: Option<usize>,
    #[serde(default)]
    pub changed_files: Option<usize>,
}

#[derive(Debug, Deserialize)]
pub struct ApiReview {
    pub user: Option<User>,
    pub state: String,
    #[serde(default)]
    pub commit_id: Option<String>,
    #[serde(default)]
    pub submitted_at: Option<DateTime<Utc>>,
}

/// A review as Facts see it; `None` for a pending (unsubmitted) review, which
/// only its author can see and which approves nothing.
pub fn review(r: ApiReview) -> Result<Option<Review>, SourceError> {
    let state = match r.state.as_str() {
        "APPROVED" => ReviewState::Approved,
        "CHANGES_REQUESTED" => ReviewState::ChangesRequested,
        "COMMENTED" => ReviewState::Commented,
        "DISMISSED" => ReviewState::Dismissed,
        "PENDING" => return Ok(None),
        other => {
            return Err(SourceError::new(
                SOURCE,
                format!(
                    "a review has the unknown state `{}`",
                    crate::sanitize::terminal_line(other)
                ),
            ));
        }
    };
    let submitted_at = r
        .submitted_at
        .ok_or_else(|| SourceError::new(SOURCE, "a submitted review has no `submitted_at`"))?;
    let (author, author_is_bot) = r.user.map_or((GHOST.to_string(), false), |u| {
        (u.login.clone(), u.is_bot())
    });
    Ok(Some(Review {
        author,
        state,
        commit: r.commit_id,
        submitted_at,
        author_is_bot,
    }))
}

#[derive(Debug, Deserialize)]
pub struct GitIdentity {
    pub name: String,
    pub email: String,
    pub date: DateTime<FixedOffset>,
}

#[derive(Debug, Deserialize)]
pub struct Verification {
    #[serde(default)]
    pub signature: Option<String>,
    #[serde(default)]
    pub payload: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct GitCommit {
    pub author: Option<GitIdentity>,
    pub committer: Option<GitIdentity>,
    pub message: String,
    #[serde(default)]
    pub verification: Option<Verification>,
}

#[derive(Debug, Deserialize)]
pub struct ShaOnly {
    pub sha: String,
}

#[derive(Debug, Deserialize)]
pub struct ApiCommit {
    pub sha: String,
    pub commit: GitCommit,
    /// The GitHub accounts the commit's emails belong to (null when none).
    pub author: Option<User>,
    pub committer: Option<User>,
    #[serde(default)]
    pub parents: Vec<ShaOnly>,
    /// Only on `GET /commits/{sha}`.
    #[serde(default)]
    pub files: Option<Vec<ApiFile>>,
}

/// The signature format, from the armor GitHub returns verbatim.
fn signature_format(armor: &str) -> Option<&'static str> {
    let first = armor.trim_start().lines().next().unwrap_or("");
    match first.trim_end() {
        "-----BEGIN PGP SIGNATURE-----" => Some("openpgp"),
        "-----BEGIN SSH SIGNATURE-----" => Some("ssh"),
        "-----BEGIN SIGNED MESSAGE-----" | "-----BEGIN PKCS7-----" | "-----BEGIN CMS-----" => {
            Some("x509")
        }
        _ => None,
    }
}

pub fn commit(c: ApiCommit) -> Result<Commit, SourceError> {
    let short = crate::facts::short_sha(&c.sha).to_string();
    let identity = |id: Option<GitIdentity>, user: &Option<User>, role: &str| {
        let id = id.ok_or_else(|| {
            SourceError::new(
                SOURCE,
                format!("commit {short} has no {role} in the API response"),
            )
        })?;
        Ok::<_, SourceError>(Identity {
            name: id.name,
            email: id.email,
            login: user.as_ref().map(|u| u.login.clone()),
            time: id.date,
        })
    };
    let author = identity(c.commit.author, &c.author, "author")?;
    let committer = identity(c.commit.committer, &c.committer, "committer")?;
    let signature = match c.commit.verification {
        Some(Verification {
            signature: Some(signature),
            payload: Some(payload),
        }) => {
            let format = signature_format(&signature).ok_or_else(|| {
                SourceError::new(
                    SOURCE,
                    format!("commit {short} carries a signature in an unknown format"),
                )
            })?;
            Some(Signature {
                format: format.to_string(),
                signature,
                payload,
            })
        }
        Some(Verification {
            signature: Some(_),
            payload: None,
        }) => {
            return Err(SourceError::new(
                SOURCE,
                format!("commit {short} has a signature but GitHub returned no signed payload"),
            ));
        }
        _ => None,
    };
    Ok(Commit {
        trailers: parse_trailers(&c.commit.message),
        sha: c.sha,
        parents: c.parents.into_iter().map(|p| p.sha).collect(),
        author,
        committer,
        message: c.commit.message,
        signature,
        author_is_bot: c.author.as_ref().is_some_and(User::is_bot),
    })
}

#[derive(Debug, Deserialize)]
pub struct ApiFile {
    pub filename: String,
    pub status: String,
    #[serde(default)]
    pub additions: u64,
    #[serde(default)]
    pub deletions: u64,
    #[serde(default)]
    pub previous_filename: Option<String>,
}

pub fn file(f: ApiFile) -> Result<ChangedFile, SourceError> {
    let status = match f.status.as_str() {
        "added" => FileStatus::Added,
        "removed" => FileStatus::Removed,
        "modified" => FileStatus::Modified,
        "renamed" => FileStatus::Renamed,
        "copied" => FileStatus::Copied,
        "changed" => FileStatus::Changed,
        "unchanged" => FileStatus::Unchanged,
        other => {
            return Err(SourceError::new(
                SOURCE,
                format!(
                    "file {} has the unknown status `{}`",
                    crate::sanitize::terminal_line(&f.filename),
                    crate::sanitize::terminal_line(other)
                ),
            ));
        }
    };
    Ok(ChangedFile {
        path: f.filename,
        previous_path: f.previous_filename,
        status,
        additions: f.additions,
        deletions: f.deletions,
    })
}

#[derive(Debug, Deserialize)]
pub struct App {
    #[serde(default)]
    pub slug: Option<String>,
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct CheckRun {
    pub name: String,
    pub status: String,
    #[serde(default)]
    pub conclusion: Option<String>,
    pub head_sha: String,
    #[serde(default)]
    pub app: Option<App>,
}

pub fn check_run(c: CheckRun) -> Check {
    Check {
        name: c.name,
        status: c.status,
        conclusion: c.conclusion,
        commit: c.head_sha,
        app: c.app.map(|a| a.slug.unwrap_or(a.name)),
    }
}

#[derive(Debug, Deserialize)]
pub struct CommitStatus {
    pub context: String,
    pub state: String,
}

/// A commit status as a check. Statuses are posted by any token that may
/// write to the repository, not by an app, so `app` stays empty: a rule that
/// requires a check from a given app is not satisfied by a status.
pub fn commit_status(s: CommitStatus, sha: &str) -> Check {
    let (status, conclusion) = match s.state.as_str() {
        "pending" => ("in_progress", None),
        state => ("completed", Some(state.to_string())),
    };
    Check {
        name: s.context,
        status: status.to_string(),
        conclusion,
        commit: sha.to_string(),
        app: None,
    }
}

#[derive(Debug, Deserialize)]
pub struct Content {
    #[serde(rename = "type")]
    pub kind: String,
    pub path: String,
    #[serde(default)]
    pub encoding: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
}

/// The text of a file from the contents API.
pub fn content_text(c: &Content) -> Result<String, SourceError> {
    use base64::Engine as _;
    let what = crate::sanitize::terminal_line(&c.path);
    if c.kind != "file" {
        return Err(SourceError::new(
            SOURCE,
            format!(
                "{what} is a {} in the repository, not a file",
                crate::sanitize::terminal_line(&c.kind)
            ),
        ));
    }
    match (c.encoding.as_deref(), c.content.as_deref()) {
        (Some("base64"), Some(content)) => {
            let compact: String = content
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map_err(|e| {
                    SourceError::new(
                        SOURCE,
                        format!("{what}: the content is not valid base64: {e}"),
                    )
                })?;
            String::from_utf8(bytes)
                .map_err(|_| SourceError::new(SOURCE, format!("{what} is not UTF-8 text")))
        }
        (encoding, _) => Err(SourceError::new(
            SOURCE,
            format!(
                "{what} came without its content (encoding `{}`; files over 1 MB are not inlined)",
                encoding.unwrap_or("none")
            ),
        )),
    }
}

#[derive(Debug, Deserialize)]
pub struct EnvironmentName {
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct RunApproval {
    pub state: String,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub environments: Vec<EnvironmentName>,
    pub user: Option<User>,
}

/// An environment approval of a workflow run. GitHub's approvals API gives no
/// time, so `at` is when gatehouse read it: the approval happened no later.
pub fn approval(a: RunApproval, read_at: DateTime<Utc>) -> Result<DeploymentApproval, SourceError> {
    let state = ApprovalState::from_api(&a.state).ok_or_else(|| {
        SourceError::new(
            SOURCE,
            format!(
                "a deployment review has the unknown state `{}`",
                crate::sanitize::terminal_line(&a.state)
            ),
        )
    })?;
    Ok(DeploymentApproval {
        by: a.user.map_or_else(|| GHOST.to_string(), |u| u.login),
        state,
        at: read_at,
        comment: a.comment.filter(|c| !c.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_formats_come_from_the_armor() {
        assert_eq!(
            signature_format("-----BEGIN PGP SIGNATURE-----\n\nx"),
            Some("openpgp")
        );
        assert_eq!(
            signature_format("-----BEGIN SSH SIGNATURE-----\nx"),
            Some("ssh")
        );
        assert_eq!(
            signature_format("-----BEGIN SIGNED MESSAGE-----\nx"),
            Some("x509")
        );
        assert_eq!(signature_format("garbage"), None);
    }

    #[test]
    fn pending_reviews_are_not_reviews_and_unknown_states_are_errors() {
        let r = |state: &str| ApiReview {
            user: None,
            state: state.into(),
            commit_id: None,
            submitted_at: Some(Utc::now()),
        };
        assert!(review(r("PENDING")).unwrap().is_none());
        assert!(review(r("MAYBE")).is_err());
        let ghost = review(r("APPROVED")).unwrap().unwrap();
        assert_eq!(ghost.author, "ghost");
    }

    #[test]
    fn statuses_map_to_checks_without_an_app() {
        let c = commit_status(
            CommitStatus {
                context: "ci/x".into(),
                state: "pending".into(),
            },
            "abc",
        );
        assert_eq!(
            (c.status.as_str(), c.conclusion, c.app),
            ("in_progress", None, None)
        );
        let c = commit_status(
            CommitStatus {
                context: "ci/x".into(),
                state: "failure".into(),
            },
            "abc",
        );
        assert_eq!(c.conclusion.as_deref(), Some("failure"));
    }
}
