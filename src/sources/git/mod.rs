//! The `git` source: Facts from a local repository, read with gix, so the gate
//! works with no network at all (a developer's dry run, a hook, any CI job with
//! a checkout).
//!
//! What it covers: the commits in `base..head` (newest first, like `git log`),
//! the files changed between the merge-base and head, the annotated tags on
//! head, the gated ref and the repository's identity. What it cannot see
//! (reviews, checks, teams, deployment approvals) is listed in
//! `Facts::unavailable`, so rules needing them cannot decide on emptiness.
//!
//! Fail closed: an unknown rev, a missing object, or a shallow clone that cuts
//! the range is an error, never a shorter list.

mod commits;
mod files;
mod policy;
mod range;
pub mod remote;
mod signature;
mod walk;

use std::path::{Path, PathBuf};

use chrono::Utc;

use super::{Gathered, SourceError};
use crate::facts::{Event, EventKind, FACTS_SCHEMA, Facts, GitRef};

pub use policy::{BasePolicy, policy_from_base};
pub use range::{Range, resolve_range};
pub use remote::{RemoteIdentity, parse_remote_url};
pub use signature::{signature_format, split_signed_tag, strip_gpgsig_header};

/// The name of this source in messages and in `Facts.source`.
pub const SOURCE: &str = "git";

/// Facts this source cannot see at all: a local repository has no reviews,
/// check runs, teams or deployment approvals.
pub const UNAVAILABLE: [&str; 4] = ["change.reviews", "checks", "teams", "deployment.approvals"];

/// What to gather: `base..head` of the repository at (or above) `repo`.
#[derive(Debug, Clone, Default)]
pub struct GitRequest {
    pub repo: PathBuf,
    /// Any rev-spec; `None` chooses the merge-base with the default branch or
    /// the upstream (see [`resolve_range`]).
    pub base: Option<String>,
    /// Any rev-spec; `None` means `HEAD`.
    pub head: Option<String>,
    /// With no `base`: gate the whole history down to the root commits instead
    /// of choosing a default base (a first push to an empty remote).
    pub from_root: bool,
}

impl GitRequest {
    pub fn new(repo: impl Into<PathBuf>) -> Self {
        GitRequest {
            repo: repo.into(),
            base: None,
            head: None,
            from_root: false,
        }
    }
}

/// Gather the Facts of `base..head` from a local repository.
pub fn gather(req: &GitRequest) -> Result<Gathered, SourceError> {
    let repo = open(&req.repo)?;
    let range = range::resolve(&repo, req)?;
    let mut notices = range.notices.clone();

    let commits = commits::collect(&repo, &range)?;
    let merge_base = range.merge_base(&repo, Some(&commits))?;
    let files = files::changed(&repo, merge_base, range.head)?;
    let tags = commits::tags_pointing_at(&repo, range.head)?;
    let identity = remote::identity(&repo)?;
    if let Some(reason) = identity.local_reason {
        notices.push(format!(
            "{} `{}`: {reason}",
            remote::LOCAL_IDENTITY_NOTICE,
            identity.slug
        ));
    }

    let facts = Facts {
        schema: FACTS_SCHEMA.to_string(),
        gathered_at: Utc::now(),
        source: SOURCE.to_string(),
        repository: crate::facts::Repository {
            host: identity.host,
            slug: identity.slug,
            default_branch: identity.default_branch,
        },
        event: Event {
            kind: EventKind::Local,
            actor: None,
        },
        git_ref: GitRef {
            name: range.ref_name.clone(),
            sha: range.head.to_string(),
        },
        change: None,
        commits,
        tags,
        teams: Default::default(),
        codeowners: None,
        checks: Vec::new(),
        deployment: None,
        pipeline: None,
        files,
        unavailable: UNAVAILABLE.iter().map(|s| s.to_string()).collect(),
    };
    Ok(Gathered { facts, notices })
}

/// Open the repository containing `dir`, the way `git -C dir` finds it.
pub(crate) fn open(dir: &Path) -> Result<gix::Repository, SourceError> {
    if !dir.exists() {
        return Err(
            SourceError::new(SOURCE, format!("{} does not exist", dir.display()))
                .hint("pass the repository with `--repo DIR`"),
        );
    }
    let mut repo = gix::discover(dir).map_err(|e| {
        SourceError::new(
            SOURCE,
            format!("{} is not inside a git repository ({e})", dir.display()),
        )
        .hint("run gatehouse inside a checkout, or pass `--repo DIR`, or evaluate saved facts with `--facts FILE`")
    })?;
    // For the objects read more than once (head, tags, trees of the diff);
    // the commit walk reads each commit once and bypasses it (`walk.rs`).
    repo.object_cache_size_if_unset(64 * 1024 * 1024);
    Ok(repo)
}

/// A gix failure while reading something the facts need.
pub(crate) fn read_error(what: impl std::fmt::Display, e: impl std::fmt::Display) -> SourceError {
    SourceError::new(SOURCE, format!("cannot read {what}: {e}"))
}
