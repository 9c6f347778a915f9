//! Trust the base, not the change (DESIGN.md principle 3): when a run gates a
//! range, the policy is read from the base commit's tree, so a change cannot
//! loosen the policy it is judged by.

use gix::ObjectId;

use super::{GitRequest, SOURCE, read_error};
use crate::facts::short_sha;
use crate::policy::DISCOVERY_ORDER;
use crate::sources::SourceError;

/// The policy as the base commit has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasePolicy {
    /// The full id of the base commit the policy was read from.
    pub commit: String,
    /// The first of [`DISCOVERY_ORDER`] in the base's tree: (path, text).
    /// `None` when the base has no policy file.
    pub file: Option<(String, String)>,
    /// Policy files (any of [`DISCOVERY_ORDER`]) that the range changes
    /// between the merge-base and head.
    pub edited: Vec<String>,
}

impl BasePolicy {
    /// The notice to show when the range edits a policy file, if it does.
    pub fn edit_notice(&self) -> Option<String> {
        if self.edited.is_empty() {
            return None;
        }
        Some(format!(
            "this change edits {}; it was evaluated under the base's policy (commit {})",
            self.edited.join(", "),
            short_sha(&self.commit)
        ))
    }
}

/// The policy of the base of the range `req` means; `None` when the range has
/// no base (a root commit gated alone), so there is nothing to trust but the
/// working tree.
pub fn policy_from_base(req: &GitRequest) -> Result<Option<BasePolicy>, SourceError> {
    let repo = super::open(&req.repo)?;
    let range = super::range::resolve(&repo, req)?;
    let Some(base) = range.base else {
        return Ok(None);
    };
    let mut file = None;
    for path in DISCOVERY_ORDER {
        if let Some(blob) = blob_at(&repo, base, path)? {
            let text = String::from_utf8(blob).map_err(|_| {
                SourceError::new(
                    SOURCE,
                    format!(
                        "the policy {path} in the base commit {} is not valid UTF-8",
                        short_sha(&base.to_string())
                    ),
                )
            })?;
            file = Some((path.to_string(), text));
            break;
        }
    }
    let merge_base = range.merge_base(&repo, None)?;
    let mut edited = Vec::new();
    for path in DISCOVERY_ORDER {
        let before = match merge_base {
            Some(mb) => entry_id(&repo, mb, path)?,
            None => None,
        };
        if before != entry_id(&repo, range.head, path)? {
            edited.push(path.to_string());
        }
    }
    Ok(Some(BasePolicy {
        commit: base.to_string(),
        file,
        edited,
    }))
}

fn entry_id(
    repo: &gix::Repository,
    commit: ObjectId,
    path: &str,
) -> Result<Option<ObjectId>, SourceError> {
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(|e| read_error(format!("the tree of {commit}"), e))?;
    let entry = tree
        .lookup_entry_by_path(path)
        .map_err(|e| read_error(format!("{path} in {commit}"), e))?;
    Ok(entry.filter(|e| e.mode().is_blob()).map(|e| e.object_id()))
}

fn blob_at(
    repo: &gix::Repository,
    commit: ObjectId,
    path: &str,
) -> Result<Option<Vec<u8>>, SourceError> {
    let Some(id) = entry_id(repo, commit, path)? else {
        return Ok(None);
    };
    let blob = repo
        .find_object(id)
        .map_err(|e| read_error(format!("{path} in {commit}"), e))?;
    Ok(Some(blob.data.clone()))
}
