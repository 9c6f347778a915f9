//! The files changed between the merge-base and head, like
//! `git diff --numstat -M merge-base head`: status, rename source, and added
//! and deleted line counts (0/0 for binary files).

use gix::ObjectId;
use gix::bstr::ByteSlice as _;
use gix::diff::blob::{Algorithm, Diff, InternedInput};
use gix::object::tree::diff::ChangeDetached;

use super::read_error;
use crate::facts::{ChangedFile, FileStatus};
use crate::sources::SourceError;

/// git treats a blob as binary when its first 8000 bytes hold a NUL
/// (`buffer_is_binary`, `FIRST_FEW_BYTES`).
const BINARY_PROBE: usize = 8000;

pub(super) fn changed(
    repo: &gix::Repository,
    from: Option<ObjectId>,
    to: ObjectId,
) -> Result<Vec<ChangedFile>, SourceError> {
    let tree_of = |commit: ObjectId| {
        repo.find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(|e| read_error(format!("the tree of {commit}"), e))
    };
    let old = from.map(tree_of).transpose()?;
    let new = tree_of(to)?;
    // git's defaults: rename detection on (`diff.renames`), copies off, 50%
    // similarity, a limit of 1000 candidates; gix reads the same config.
    let changes = repo
        .diff_tree_to_tree(old.as_ref(), &new, None)
        .map_err(|e| read_error("the changed files", e))?;

    let mut files = Vec::new();
    let mut old_buf = Vec::new();
    let mut new_buf = Vec::new();
    for change in changes {
        let (path, previous_path, status, old_id, new_id, mode) = match change {
            ChangeDetached::Addition {
                location,
                entry_mode,
                id,
                ..
            } => (
                location,
                None,
                FileStatus::Added,
                None,
                Some(id),
                entry_mode,
            ),
            ChangeDetached::Deletion {
                location,
                entry_mode,
                id,
                ..
            } => (
                location,
                None,
                FileStatus::Removed,
                Some(id),
                None,
                entry_mode,
            ),
            ChangeDetached::Modification {
                location,
                previous_id,
                entry_mode,
                id,
                ..
            } => (
                location,
                None,
                FileStatus::Modified,
                Some(previous_id),
                Some(id),
                entry_mode,
            ),
            ChangeDetached::Rewrite {
                source_location,
                location,
                source_id,
                entry_mode,
                id,
                copy,
                ..
            } => (
                location,
                Some(source_location),
                if copy {
                    FileStatus::Copied
                } else {
                    FileStatus::Renamed
                },
                Some(source_id),
                Some(id),
                entry_mode,
            ),
        };
        // Trees are walked into; only their entries are files.
        if mode.is_tree() {
            continue;
        }
        let (additions, deletions) = if mode.is_commit() {
            // A submodule: git counts its commit line, `-Subproject commit …`.
            line_counts_of_ids(old_id, new_id)
        } else {
            read_blob(repo, old_id, &mut old_buf)?;
            read_blob(repo, new_id, &mut new_buf)?;
            line_counts(&old_buf, &new_buf)
        };
        files.push(ChangedFile {
            path: path.to_str_lossy().into_owned(),
            previous_path: previous_path.map(|p| p.to_str_lossy().into_owned()),
            status,
            additions,
            deletions,
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn read_blob(
    repo: &gix::Repository,
    id: Option<ObjectId>,
    buf: &mut Vec<u8>,
) -> Result<(), SourceError> {
    buf.clear();
    if let Some(id) = id {
        let blob = repo
            .find_object(id)
            .map_err(|e| read_error(format!("blob {id}"), e))?;
        buf.extend_from_slice(&blob.data);
    }
    Ok(())
}

fn line_counts_of_ids(old: Option<ObjectId>, new: Option<ObjectId>) -> (u64, u64) {
    (u64::from(new.is_some()), u64::from(old.is_some()))
}

fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(BINARY_PROBE)].contains(&0)
}

/// Added and deleted lines between two blobs (`--numstat`), Myers like git's
/// default `diff.algorithm`; 0/0 when either side is binary.
pub(crate) fn line_counts(old: &[u8], new: &[u8]) -> (u64, u64) {
    if is_binary(old) || is_binary(new) {
        return (0, 0);
    }
    let input = InternedInput::new(old, new);
    let diff = Diff::compute(Algorithm::Myers, &input);
    (
        u64::from(diff.count_additions()),
        u64::from(diff.count_removals()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_lines_like_numstat() {
        assert_eq!(line_counts(b"a\nb\nc\n", b"a\nB\nc\nd\n"), (2, 1));
        assert_eq!(line_counts(b"", b"x\ny\n"), (2, 0));
        // A missing final newline changes the last line.
        assert_eq!(line_counts(b"a\n", b"a"), (1, 1));
    }

    #[test]
    fn binary_blobs_count_nothing() {
        assert_eq!(line_counts(b"a\0b", b"c\n"), (0, 0));
    }
}
