//! The commits of the range and the annotated tags on head, as Facts.

use chrono::{DateTime, FixedOffset};
use gix::ObjectId;
use gix::bstr::{BStr, ByteSlice as _};
use gix::objs::FindExt as _;
use gix::revision::walk::Sorting;
use gix::traverse::commit::simple::CommitTimeOrder;

use super::range::Range;
use super::signature::{signature_format, split_signed_tag, strip_gpgsig_header};
use super::{SOURCE, read_error};
use crate::facts::{Commit, Identity, Signature, Tag, Tagger};
use crate::sources::SourceError;
use crate::trailers;

/// The commits in `base..head`, newest first by commit time, like `git log`.
pub(super) fn collect(repo: &gix::Repository, range: &Range) -> Result<Vec<Commit>, SourceError> {
    let walk = repo
        .rev_walk([range.head])
        .with_hidden(range.base)
        .sorting(Sorting::ByCommitTime(CommitTimeOrder::NewestFirst))
        .all()
        .map_err(|e| read_error("the history", e))?;
    let mut commits = Vec::new();
    let mut buf = Vec::new();
    for info in walk {
        let info = info.map_err(|e| read_error("the history", e))?;
        commits.push(read_commit(repo, info.id, &mut buf)?);
    }
    Ok(commits)
}

/// Decode one commit. `buf` is reused across calls to spare allocations.
pub(super) fn read_commit(
    repo: &gix::Repository,
    id: ObjectId,
    buf: &mut Vec<u8>,
) -> Result<Commit, SourceError> {
    let what = || format!("commit {id}");
    let sha = id.to_string();
    let (parents, author, committer, message) = {
        let data = repo
            .objects
            .find_commit(&id, buf)
            .map_err(|e| read_error(what(), e))?;
        (
            data.parents().map(|p| p.to_string()).collect(),
            identity(data.author().map_err(|e| read_error(what(), e))?, &sha)?,
            identity(data.committer().map_err(|e| read_error(what(), e))?, &sha)?,
            data.message.to_str_lossy().into_owned(),
        )
    };
    let trailers = trailers::parse(&message);
    let signature = strip_gpgsig_header(buf).map(|(payload, sig)| Signature {
        format: signature_format(&sig).unwrap_or("unknown").to_string(),
        signature: String::from_utf8_lossy(&sig).into_owned(),
        payload: String::from_utf8_lossy(&payload).into_owned(),
    });
    Ok(Commit {
        sha,
        parents,
        author,
        committer,
        message,
        trailers,
        signature,
        author_is_bot: false,
    })
}

/// A git time with its original UTC offset; `owner` names the object in errors.
fn time(
    t: gix::date::Time,
    owner: &dyn Fn() -> String,
) -> Result<DateTime<FixedOffset>, SourceError> {
    let bad = || {
        SourceError::new(
            SOURCE,
            format!(
                "{}: a time outside what can be represented ({} {:+})",
                owner(),
                t.seconds,
                t.offset
            ),
        )
    };
    let offset = FixedOffset::east_opt(t.offset).ok_or_else(bad)?;
    let utc = DateTime::from_timestamp(t.seconds, 0).ok_or_else(bad)?;
    Ok(utc.with_timezone(&offset))
}

fn lossy(s: &BStr) -> String {
    s.to_str_lossy().into_owned()
}

fn identity(sig: gix::actor::SignatureRef<'_>, sha: &str) -> Result<Identity, SourceError> {
    let sig = sig.trim();
    let owner = || format!("commit {sha}");
    let parsed = sig
        .time()
        .map_err(|e| read_error(format!("the date of {}", owner()), e))?;
    Ok(Identity {
        name: lossy(sig.name),
        email: lossy(sig.email),
        login: None,
        time: time(parsed, &owner)?,
    })
}

/// The annotated tags whose target is `head` (lightweight tags carry no
/// tagger or signature and are not sign-offs, so they are left out).
pub(super) fn tags_pointing_at(
    repo: &gix::Repository,
    head: ObjectId,
) -> Result<Vec<Tag>, SourceError> {
    let platform = repo.references().map_err(|e| read_error("the refs", e))?;
    let refs = platform.tags().map_err(|e| read_error("the tags", e))?;
    let mut tags = Vec::new();
    for reference in refs {
        let reference = reference.map_err(|e| read_error("the tags", e))?;
        let Some(id) = reference.target().try_id().map(|id| id.to_owned()) else {
            continue;
        };
        let object = repo
            .find_object(id)
            .map_err(|e| read_error(format!("tag {}", reference.name().as_bstr()), e))?;
        if object.kind != gix::object::Kind::Tag {
            continue;
        }
        let raw = object.data.clone();
        let tag = gix::objs::TagRef::from_bytes(&raw, repo.object_hash())
            .map_err(|e| read_error(format!("tag {}", reference.name().as_bstr()), e))?;
        if tag.target() != head {
            continue;
        }
        let owner = format!("tag {}", lossy(tag.name));
        let tagger = match tag.tagger {
            None => None,
            Some(raw_tagger) => {
                let sig = gix::actor::SignatureRef::from_bytes(raw_tagger)
                    .map_err(|e| read_error(format!("the tagger of {owner}"), e))?
                    .trim();
                let parsed = sig
                    .time()
                    .map_err(|e| read_error(format!("the date of {owner}"), e))?;
                Some(Tagger {
                    name: lossy(sig.name),
                    email: lossy(sig.email),
                    time: time(parsed, &|| owner.clone())?,
                })
            }
        };
        let (payload, signature) = match split_signed_tag(&raw) {
            Some((payload, sig)) => (
                payload,
                Some(Signature {
                    format: signature_format(sig).unwrap_or("unknown").to_string(),
                    signature: String::from_utf8_lossy(sig).into_owned(),
                    payload: String::from_utf8_lossy(payload).into_owned(),
                }),
            ),
            None => (&raw[..], None),
        };
        // The message is what follows the headers, up to the signature.
        let message = payload
            .find(b"\n\n")
            .map_or(&b""[..], |i| &payload[i + 2..]);
        tags.push(Tag {
            name: lossy(tag.name),
            target: head.to_string(),
            tagger,
            message: String::from_utf8_lossy(message).into_owned(),
            signature,
        });
    }
    tags.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(tags)
}
