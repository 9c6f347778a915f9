//! Which commits a local run gates: resolving `--base`/`--head`, choosing a
//! default base, naming the gated ref, and refusing a range a shallow clone
//! cannot show completely.

use gix::ObjectId;
use gix::bstr::ByteSlice as _;

use super::{GitRequest, SOURCE, read_error};
use crate::facts::{Commit, short_sha};
use crate::sources::SourceError;

/// How to get the history a shallow clone lacks.
pub const SHALLOW_HINT: &str = "fetch the full history: with GitHub Actions use `actions/checkout` with `fetch-depth: 0`; in GitLab CI set `GIT_DEPTH: 0`; in a local clone run `git fetch --unshallow`";

/// Branches tried, in order, as the default branch when `origin/HEAD` is not set.
const DEFAULT_BRANCH_CANDIDATES: [&str; 4] = [
    "refs/heads/main",
    "refs/heads/master",
    "refs/remotes/origin/main",
    "refs/remotes/origin/master",
];

/// A resolved range `base..head`.
#[derive(Debug, Clone)]
pub struct Range {
    /// Commits reachable from it are not gated; `None`: everything reachable
    /// from `head` is (a root commit gated on its own).
    pub base: Option<ObjectId>,
    pub head: ObjectId,
    /// The gated ref as a full name (`refs/heads/x`), or `HEAD` when detached.
    pub ref_name: String,
    /// What the user should know about how the range was chosen.
    pub notices: Vec<String>,
    /// Whether the repository is a shallow clone.
    pub shallow: bool,
}

/// Resolve the range a request means, without gathering anything else
/// (the policy-from-base step needs the same base as the facts).
pub fn resolve_range(req: &GitRequest) -> Result<Range, SourceError> {
    let repo = super::open(&req.repo)?;
    resolve(&repo, req)
}

pub(super) fn resolve(repo: &gix::Repository, req: &GitRequest) -> Result<Range, SourceError> {
    let shallow = shallow_commits(repo)?;
    let mut notices = Vec::new();

    let head_spec = req.head.as_deref().unwrap_or("HEAD");
    if head_spec == "HEAD" && repo.head().map_err(|e| read_error("HEAD", e))?.is_unborn() {
        return Err(SourceError::new(
            SOURCE,
            "the repository has no commits yet: there is nothing to gate",
        )
        .hint("commit first, or pass `--head REV`"));
    }
    let head = commit_of(repo, head_spec, "--head", shallow.is_some())?;
    let ref_name = gated_ref_name(repo, head_spec, head, &mut notices)?;

    let base = match &req.base {
        Some(spec) => Some(commit_of(repo, spec, "--base", shallow.is_some())?),
        None if req.from_root => None,
        None => default_base(repo, head, &ref_name, &mut notices)?,
    };

    if let Some(shallow) = &shallow {
        check_not_cut_by_shallow(repo, base, head, shallow)?;
    }

    Ok(Range {
        base,
        head,
        ref_name,
        notices,
        shallow: shallow.is_some(),
    })
}

impl Range {
    /// Where the changed files are counted from: the merge-base of base and
    /// head (`None`, the empty tree, when there is no base). When the base is
    /// an ancestor of head — it is head, or a parent of one of the `gated`
    /// commits — it is its own merge-base, which spares a second walk of the
    /// whole history.
    pub(super) fn merge_base(
        &self,
        repo: &gix::Repository,
        gated: Option<&[Commit]>,
    ) -> Result<Option<ObjectId>, SourceError> {
        let Some(base) = self.base else {
            return Ok(None);
        };
        if base == self.head {
            return Ok(Some(base));
        }
        if let Some(gated) = gated {
            let hex = base.to_string();
            if gated.iter().any(|c| c.parents.contains(&hex)) {
                return Ok(Some(base));
            }
        }
        let head = self.head;
        match merge_base(repo, base, head)? {
            Some(mb) => Ok(Some(mb)),
            None if self.shallow => Err(SourceError::new(
                SOURCE,
                format!(
                    "the repository is a shallow clone: no common ancestor of the base {} and the head {} is present, so the range cannot be told",
                    short_sha(&base.to_string()),
                    short_sha(&head.to_string())
                ),
            )
            .hint(SHALLOW_HINT)),
            None => Err(SourceError::new(
                SOURCE,
                format!(
                    "the base {} and the head {} have no common ancestor (unrelated histories)",
                    short_sha(&base.to_string()),
                    short_sha(&head.to_string())
                ),
            )
            .hint("pass a `--base` that the head was branched from")),
        }
    }
}

/// The commit a rev-spec names (a tag is peeled to its commit).
fn commit_of(
    repo: &gix::Repository,
    spec: &str,
    flag: &str,
    shallow: bool,
) -> Result<ObjectId, SourceError> {
    let unknown = |detail: String| {
        let e = SourceError::new(
            SOURCE,
            format!("unknown revision `{spec}` ({flag}): {detail}"),
        );
        if shallow {
            e.hint(format!(
                "the repository is a shallow clone and may lack that commit; {SHALLOW_HINT}"
            ))
        } else {
            e.hint(format!(
                "check the spelling, or fetch it first (`git fetch origin {spec}`)"
            ))
        }
    };
    let id = repo
        .rev_parse_single(spec)
        .map_err(|e| unknown(e.to_string()))?;
    let object = id.object().map_err(|e| unknown(e.to_string()))?;
    let commit = object
        .peel_to_commit()
        .map_err(|e| unknown(format!("it does not name a commit ({e})")))?;
    Ok(commit.id)
}

fn merge_base(
    repo: &gix::Repository,
    a: ObjectId,
    b: ObjectId,
) -> Result<Option<ObjectId>, SourceError> {
    repo.merge_base(a, b)
        .map(|id| id.map(|id| id.detach()))
        .map_err(|e| read_error("the merge-base", e))
}

/// The full name of the gated ref: the ref `--head` names, the branch HEAD
/// points at, or `HEAD` when detached.
fn gated_ref_name(
    repo: &gix::Repository,
    spec: &str,
    head: ObjectId,
    notices: &mut Vec<String>,
) -> Result<String, SourceError> {
    if spec == "HEAD" {
        return match repo.head_name().map_err(|e| read_error("HEAD", e))? {
            Some(name) => Ok(name.as_bstr().to_str_lossy().into_owned()),
            None => {
                notices.push(format!(
                    "HEAD is detached at {}: the gated ref is `HEAD`, so rules about branches see no branch",
                    short_sha(&head.to_string())
                ));
                Ok("HEAD".to_string())
            }
        };
    }
    // A name that is not a valid ref name (`HEAD~2`, a sha) is simply not a ref.
    if let Ok(Some(reference)) = repo.try_find_reference(spec) {
        return Ok(reference.name().as_bstr().to_str_lossy().into_owned());
    }
    notices.push(format!(
        "`--head {spec}` names no branch or tag: the gated ref is `{spec}`, so rules about branches and tags see neither"
    ));
    Ok(spec.to_string())
}

/// The default base: the default branch when head is not on it, else the
/// upstream when head has unpushed commits, else head's parent (the last commit).
fn default_base(
    repo: &gix::Repository,
    head: ObjectId,
    ref_name: &str,
    notices: &mut Vec<String>,
) -> Result<Option<ObjectId>, SourceError> {
    if let Some((name, tip)) = default_branch_tip(repo)? {
        let mb = merge_base(repo, tip, head)?;
        if mb.is_some_and(|mb| mb != head) {
            notices.push(format!(
                "no --base given: gating the commits not on the default branch `{}` ({}..{})",
                short_ref(&name),
                short_sha(&tip.to_string()),
                short_sha(&head.to_string())
            ));
            return Ok(Some(tip));
        }
    }
    if let Some((name, tip)) = upstream_tip(repo, ref_name)? {
        let mb = merge_base(repo, tip, head)?;
        if mb.is_some_and(|mb| mb != head) {
            notices.push(format!(
                "no --base given: gating the commits not yet on the upstream `{}` ({}..{})",
                short_ref(&name),
                short_sha(&tip.to_string()),
                short_sha(&head.to_string())
            ));
            return Ok(Some(tip));
        }
    }
    let commit = repo
        .find_commit(head)
        .map_err(|e| read_error(format!("commit {head}"), e))?;
    let parent = commit.parent_ids().next().map(|p| p.detach());
    match parent {
        Some(parent) => {
            notices.push(format!(
                "no --base given and the head {} is already on the default branch and its upstream: gating only the last commit ({}..{}); pass `--base REV` to gate more",
                short_sha(&head.to_string()),
                short_sha(&parent.to_string()),
                short_sha(&head.to_string())
            ));
            Ok(Some(parent))
        }
        None => {
            notices.push(format!(
                "no --base given and the head {} is a root commit: gating it alone",
                short_sha(&head.to_string())
            ));
            Ok(None)
        }
    }
}

fn short_ref(name: &str) -> &str {
    name.strip_prefix("refs/heads/")
        .or_else(|| name.strip_prefix("refs/remotes/"))
        .unwrap_or(name)
}

/// `origin/HEAD`'s target, else the first existing of [`DEFAULT_BRANCH_CANDIDATES`].
fn default_branch_tip(repo: &gix::Repository) -> Result<Option<(String, ObjectId)>, SourceError> {
    if let Some(name) = super::remote::origin_head_target(repo)?
        && let Some(tip) = ref_tip(repo, &name)?
    {
        return Ok(Some((name, tip)));
    }
    for name in DEFAULT_BRANCH_CANDIDATES {
        if let Some(tip) = ref_tip(repo, name)? {
            return Ok(Some((name.to_string(), tip)));
        }
    }
    Ok(None)
}

/// The remote-tracking ref of the gated branch's upstream
/// (`branch.<name>.remote` + `branch.<name>.merge`).
fn upstream_tip(
    repo: &gix::Repository,
    ref_name: &str,
) -> Result<Option<(String, ObjectId)>, SourceError> {
    let Some(branch) = ref_name.strip_prefix("refs/heads/") else {
        return Ok(None);
    };
    let config = repo.config_snapshot();
    let remote = config.string(format!("branch.{branch}.remote").as_str());
    let merge = config.string(format!("branch.{branch}.merge").as_str());
    let (Some(remote), Some(merge)) = (remote, merge) else {
        return Ok(None);
    };
    let merge = merge.to_str_lossy();
    let name = if remote.as_slice() == b"." {
        merge.into_owned()
    } else {
        let short = merge.strip_prefix("refs/heads/").unwrap_or(&merge);
        format!("refs/remotes/{}/{short}", remote.to_str_lossy())
    };
    Ok(ref_tip(repo, &name)?.map(|tip| (name, tip)))
}

/// The commit a full ref name points at, `None` when the ref does not exist.
fn ref_tip(repo: &gix::Repository, name: &str) -> Result<Option<ObjectId>, SourceError> {
    let Some(mut reference) = repo
        .try_find_reference(name)
        .map_err(|e| read_error(format!("ref {name}"), e))?
    else {
        return Ok(None);
    };
    let id = reference
        .peel_to_id()
        .map_err(|e| read_error(format!("ref {name}"), e))?;
    let commit = id
        .object()
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| read_error(format!("ref {name}"), e))?;
    Ok(Some(commit.id))
}

fn shallow_commits(repo: &gix::Repository) -> Result<Option<Vec<ObjectId>>, SourceError> {
    repo.shallow_commits()
        .map(|c| c.map(|c| c.iter().copied().collect()))
        .map_err(|e| read_error("the shallow file", e))
}

/// In a shallow clone, the commits of the range must not reach a shallow
/// boundary commit (whose parents are missing) unless the boundary is the
/// base side: otherwise the range would silently be shorter than it is.
fn check_not_cut_by_shallow(
    repo: &gix::Repository,
    base: Option<ObjectId>,
    head: ObjectId,
    shallow: &[ObjectId],
) -> Result<(), SourceError> {
    let walk = repo
        .rev_walk([head])
        .with_hidden(base)
        .all()
        .map_err(|e| read_error("the history", e))?;
    for info in walk {
        let info = info.map_err(|e| read_error("the history", e))?;
        if shallow.contains(&info.id) {
            return Err(SourceError::new(
                SOURCE,
                format!(
                    "the repository is a shallow clone and the range {}..{} reaches its shallow boundary at {}: older commits of the range are missing, so it cannot be gated completely",
                    base.map_or_else(|| "(root)".to_string(), |b| short_sha(&b.to_string()).to_string()),
                    short_sha(&head.to_string()),
                    short_sha(&info.id.to_string())
                ),
            )
            .hint(SHALLOW_HINT));
        }
    }
    Ok(())
}
