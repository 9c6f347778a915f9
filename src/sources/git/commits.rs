//! The commits of the range and the annotated tags on head, as Facts.

use chrono::{DateTime, FixedOffset};
use gix::ObjectId;
use gix::bstr::{BStr, ByteSlice as _};
use gix::objs::FindExt as _;

use super::range::Range;
use super::signature::{signature_format, split_signed_tag, strip_gpgsig_header};
use super::{SOURCE, read_error};
use crate::facts::{Commit, Identity, Signature, Tag, Tagger};
use crate::sources::SourceError;
use crate::trailers;

/// Commits handed to a decoding thread at a time.
const BATCH: usize = 256;

/// Commits on their way from the walk to a decoding thread. When the walk
/// read a commit anyway (for its parents and date), it passes the raw object,
/// in one buffer for the whole batch; when it took them from the commit-graph
/// it passes only the id (`None`) and the decoders read the object, in
/// parallel.
struct Batch {
    index: usize,
    bytes: Vec<u8>,
    items: Vec<(ObjectId, Option<std::ops::Range<usize>>)>,
}

impl Batch {
    fn new(index: usize) -> Self {
        Batch {
            index,
            bytes: Vec::with_capacity(BATCH * 512),
            items: Vec::with_capacity(BATCH),
        }
    }
}

/// The commits in `base..head`, in `git log` order (see [`super::walk`]).
///
/// The walk (which must be sequential, and reads every commit) runs on this
/// thread and hands the raw objects in batches to decoding threads, so
/// decoding overlaps the walk; the order is restored at the end, and the
/// commits the walk emitted before the base's ancestry reached them dropped.
///
/// Profile notes (`benches/git_facts.rs`, 20,000 commits): gix's walk
/// (`rev_walk().with_hidden()`) spent ~90 ms inflating the commits and ~45 ms
/// more on bookkeeping: its hidden-frontier paint walks the whole range once
/// before the walk proper, and queueing a parent read that parent again for
/// its date, all through a 64 MiB object cache. The hand-written walk reads
/// every commit exactly once, with no object cache, and keeps git's queue,
/// which took gathering without a commit-graph from 1.16× `git log`'s time to
/// about 0.6–0.7×. With a commit-graph it takes parents and dates from the
/// graph, as git does, and leaves the reading to the decoders; gix's walk had
/// broken date ties and clock skew differently from git there
/// (`every_range_of_a_tangled_history_with_a_commit_graph_matches_git_log`).
/// Decoding (~75 ms single-threaded) runs beside the walk. Skipping a
/// separate merge-base walk when the base is an ancestor
/// ([`Range::merge_base`]) saved another ~50 ms.
pub(super) fn collect(repo: &gix::Repository, range: &Range) -> Result<Vec<Commit>, SourceError> {
    let hash_kind = repo.object_hash();
    // git takes parents and dates from a commit-graph too; the order is the
    // same (`git log`'s default order uses no generation numbers).
    let graph = repo
        .commit_graph_if_enabled()
        .map_err(|e| read_error("the commit-graph", e))?;
    // Without a commit-graph the walk reads every commit and is the critical
    // path: leave it a core of its own. With one, the decoders read them.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = if graph.is_some() { cores } else { cores - 1 }.clamp(1, 8);
    let shallow = repo
        .shallow_commits()
        .map_err(|e| read_error("the shallow file", e))?
        .map(|c| c.iter().copied().collect::<Vec<_>>())
        .unwrap_or_default();

    let (batch_tx, batch_rx) = std::sync::mpsc::sync_channel::<Batch>(workers * 2);
    // Shared by the decoders only: when they are all gone, the walk's sends fail
    // instead of blocking forever.
    let batch_rx = std::sync::Arc::new(std::sync::Mutex::new(batch_rx));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let batch_rx = std::sync::Arc::clone(&batch_rx);
            // Commits the walk took from the commit-graph are read here, in
            // parallel; each once, so no object cache.
            let mut objects = repo.objects.clone();
            objects.unset_object_cache();
            scope.spawn(move || {
                let mut buf = Vec::new();
                loop {
                    // A poisoned lock means another decoder panicked; stop.
                    let next = match batch_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok(batch) = next else { return };
                    let decoded: Result<Vec<Commit>, SourceError> = batch
                        .items
                        .iter()
                        .map(|(id, at)| match at {
                            Some(at) => decode_commit(*id, &batch.bytes[at.clone()], hash_kind),
                            None => {
                                let data = objects
                                    .find(id, &mut buf)
                                    .map_err(|e| read_error(format!("commit {id}"), e))?;
                                decode_commit(*id, data.data, hash_kind)
                            }
                        })
                        .collect();
                    if done_tx.send((batch.index, decoded)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        drop(batch_rx);

        let gone = || SourceError::new(SOURCE, "the commit decoders stopped unexpectedly");
        let walked = (|| {
            let mut batch = Batch::new(0);
            let mut emit = |id: ObjectId, raw: Option<&[u8]>| {
                let at = raw.map(|raw| {
                    let start = batch.bytes.len();
                    batch.bytes.extend_from_slice(raw);
                    start..batch.bytes.len()
                });
                batch.items.push((id, at));
                if batch.items.len() == BATCH {
                    let next = Batch::new(batch.index + 1);
                    batch_tx
                        .send(std::mem::replace(&mut batch, next))
                        .map_err(|_| gone())?;
                }
                Ok::<(), SourceError>(())
            };
            let walked =
                super::walk::walk(repo, graph, range.base, range.head, &shallow, &mut emit)
                    .map_err(|e| match e {
                        super::walk::WalkError::Emit(e) => e,
                        super::walk::WalkError::Read(e) => history_error(range, e),
                    })?;
            if !batch.items.is_empty() {
                batch_tx.send(batch).map_err(|_| gone())?;
            }
            Ok::<Vec<bool>, SourceError>(walked.keep)
        })();
        drop(batch_tx);

        let mut batches: Vec<(usize, Vec<Commit>)> = Vec::new();
        let mut failure = None;
        for (index, decoded) in done_rx {
            match decoded {
                Ok(commits) => batches.push((index, commits)),
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        let keep = walked?;
        if let Some(e) = failure {
            return Err(e);
        }
        batches.sort_by_key(|(index, _)| *index);
        // Emitted before the base's ancestry reached them: not in the range.
        Ok(batches
            .into_iter()
            .flat_map(|(_, c)| c)
            .zip(keep)
            .filter_map(|(c, keep)| keep.then_some(c))
            .collect())
    })
}

/// The walk failed: an object is missing or cannot be decoded.
fn history_error(range: &Range, e: impl std::fmt::Display) -> SourceError {
    read_error(format!("the history of {}", range.head), e).hint(DAMAGED_HINT)
}

/// What to do about an object that cannot be read or decoded.
const DAMAGED_HINT: &str = "the repository may be damaged; `git fsck` names the broken object";

/// Decode one raw commit object into Facts.
fn decode_commit(
    id: ObjectId,
    raw: &[u8],
    hash_kind: gix::hash::Kind,
) -> Result<Commit, SourceError> {
    let broken =
        |e: &dyn std::fmt::Display| read_error(format!("commit {id}"), e).hint(DAMAGED_HINT);
    let sha = id.to_string();
    let data = gix::objs::CommitRef::from_bytes(raw, hash_kind).map_err(|e| broken(&e))?;
    let parents = data.parents().map(|p| p.to_string()).collect();
    let author = identity(data.author().map_err(|e| broken(&e))?, &sha)?;
    let committer = identity(data.committer().map_err(|e| broken(&e))?, &sha)?;
    let message = data.message.to_str_lossy().into_owned();
    let trailers = trailers::parse(&message);
    let signature = strip_gpgsig_header(raw).map(|(payload, sig)| Signature {
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
