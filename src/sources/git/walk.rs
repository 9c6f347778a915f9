//! `base..head` walked the way `git log` walks it (git's `limit_list` in
//! `revision.c`).
//!
//! Without a commit-graph, every commit has to be inflated to learn its
//! parents and date anyway. gix's walk read each one more than once (the
//! hidden-frontier paint, the walk itself, and each parent again for its date
//! when it is queued) through an object cache for the repeats; this walk
//! reads each commit exactly once and hands its raw bytes on, so the decoders
//! need not read it again. With a commit-graph, parents and dates come from
//! the graph (as in git) and the objects are left to the decoders.
//!
//! The order is git's: one queue by committer date, newest first, ties in the
//! order the commits were queued (git's `commit_list_insert_by_date` inserts
//! after equal dates); `base` and its ancestors are painted UNINTERESTING as
//! they are met, and the walk stops as git does once only uninteresting
//! commits are left and they are older than the last interesting one (with
//! git's slop of five). Commits that were emitted and only later turned out to
//! be reachable from `base` are dropped at the end, as git drops them.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use gix::ObjectId;
use gix::objs::Find as _;

use crate::sources::SourceError;

/// git's `SLOP`: how many uninteresting commits past the last interesting one
/// are still walked, in case of clock skew.
const SLOP: u32 = 5;

const SEEN: u8 = 1;
const UNINTERESTING: u8 = 2;
const ADDED: u8 = 4;
const PARSED: u8 = 8;
const QUEUED: u8 = 16;

struct Node {
    id: ObjectId,
    flags: u8,
    time: i64,
    /// Into `Walk::parents`.
    parents: std::ops::Range<u32>,
    /// Into `Walk::arena`; `None` when parents and date came from the
    /// commit-graph and the object was not read.
    raw: Option<std::ops::Range<usize>>,
}

struct Walk {
    objects: gix::OdbHandle,
    graph: Option<gix::commitgraph::Graph>,
    hash_kind: gix::hash::Kind,
    shallow: gix::hashtable::HashSet<ObjectId>,
    index: gix::hashtable::HashMap<ObjectId, u32>,
    nodes: Vec<Node>,
    parents: Vec<u32>,
    arena: Vec<u8>,
    buf: Vec<u8>,
    /// Max-heap of (date, Reverse(insertion number), node).
    queue: BinaryHeap<(i64, Reverse<u64>, u32)>,
    queued: u64,
    /// A queued commit last seen interesting (git's `interesting_cache`).
    interesting_cache: Option<u32>,
}

/// What the walk found: every commit it emitted, in emission order, with
/// whether it is part of the range (`false`: it turned out to be reachable
/// from `base` after it was emitted).
pub(super) struct Walked {
    pub keep: Vec<bool>,
}

/// Walk `head` minus the ancestry of `base`, calling `emit` with each
/// interesting commit's id and raw object, in `git log` order. Commits emitted
/// but later found to be reachable from `base` are marked `false` in
/// [`Walked::keep`].
///
/// With a `graph`, parents and dates come from it (as git reads them), and the
/// commits it holds are emitted without their bytes (`None`): the object is
/// not read at all.
pub(super) fn walk(
    repo: &gix::Repository,
    graph: Option<gix::commitgraph::Graph>,
    base: Option<ObjectId>,
    head: ObjectId,
    shallow: &[ObjectId],
    mut emit: impl FnMut(ObjectId, Option<&[u8]>) -> Result<(), SourceError>,
) -> Result<Walked, WalkError> {
    // Each commit is read once: an object cache would only copy them.
    let mut objects = repo.objects.clone();
    objects.unset_object_cache();
    let mut w = Walk {
        objects,
        graph,
        hash_kind: repo.object_hash(),
        shallow: shallow.iter().copied().collect(),
        index: Default::default(),
        nodes: Vec::new(),
        parents: Vec::new(),
        arena: Vec::new(),
        buf: Vec::new(),
        queue: BinaryHeap::new(),
        queued: 0,
        interesting_cache: None,
    };

    // The command line: `^base head`, each parsed; the base's parents are
    // painted at once (git's `handle_commit`).
    let mut tips = Vec::new();
    if let Some(base) = base {
        let b = w.node(base);
        w.parse(b, true)?;
        w.nodes[b as usize].flags |= UNINTERESTING;
        w.mark_parents_uninteresting(b);
        tips.push(b);
    }
    let h = w.node(head);
    w.parse(h, true)?;
    tips.push(h);
    // git sorts the tips by date, stably: `^base` first on a tie.
    let mut order: Vec<u32> = Vec::new();
    for t in tips {
        if w.nodes[t as usize].flags & SEEN == 0 {
            w.nodes[t as usize].flags |= SEEN;
            order.push(t);
        }
    }
    order.sort_by_key(|&t| Reverse(w.nodes[t as usize].time));
    for t in order {
        w.push(t);
    }

    let mut emitted: Vec<u32> = Vec::new();
    let mut slop = SLOP;
    let mut date = i64::MAX;
    while let Some((_, _, i)) = w.queue.pop() {
        w.nodes[i as usize].flags &= !QUEUED;
        if w.interesting_cache == Some(i) {
            w.interesting_cache = None;
        }
        w.process_parents(i)?;
        if w.nodes[i as usize].flags & UNINTERESTING != 0 {
            w.mark_parents_uninteresting(i);
            slop = w.still_interesting(date, slop);
            if slop > 0 {
                continue;
            }
            break;
        }
        let node = &w.nodes[i as usize];
        date = node.time;
        let raw = node.raw.clone().map(|r| &w.arena[r]);
        emit(node.id, raw).map_err(WalkError::Emit)?;
        emitted.push(i);
    }
    let keep = emitted
        .iter()
        .map(|&i| w.nodes[i as usize].flags & UNINTERESTING == 0)
        .collect();
    Ok(Walked { keep })
}

/// Why the walk stopped.
pub(super) enum WalkError {
    /// An object of the range is missing or is not a well-formed commit.
    Read(String),
    /// `emit` failed.
    Emit(SourceError),
}

impl Walk {
    fn node(&mut self, id: ObjectId) -> u32 {
        if let Some(&i) = self.index.get(&id) {
            return i;
        }
        let i = self.nodes.len() as u32;
        self.nodes.push(Node {
            id,
            flags: 0,
            time: 0,
            parents: 0..0,
            raw: None,
        });
        self.index.insert(id, i);
        i
    }

    fn push(&mut self, i: u32) {
        self.nodes[i as usize].flags |= QUEUED;
        self.queued += 1;
        self.queue
            .push((self.nodes[i as usize].time, Reverse(self.queued), i));
    }

    fn parents_of(&self, i: u32) -> std::ops::Range<usize> {
        let r = &self.nodes[i as usize].parents;
        r.start as usize..r.end as usize
    }

    /// Read commit `i` once: its parents, date and raw bytes. A missing
    /// object is `Ok(false)` when `required` is false (git tolerates missing
    /// ancestors of the base), else an error.
    fn parse(&mut self, i: u32, required: bool) -> Result<bool, WalkError> {
        if self.nodes[i as usize].flags & PARSED != 0 {
            return Ok(true);
        }
        let id = self.nodes[i as usize].id;
        if self.parse_from_graph(i, id)? {
            return Ok(true);
        }
        let data = match self.objects.try_find(&id, &mut self.buf) {
            Ok(Some(data)) => data,
            Ok(None) if !required => return Ok(false),
            Ok(None) => return Err(WalkError::Read(format!("commit {id} is missing"))),
            Err(e) => return Err(WalkError::Read(format!("cannot read commit {id}: {e}"))),
        };
        if data.kind != gix::object::Kind::Commit {
            return Err(WalkError::Read(format!(
                "{id} is a {}, not a commit",
                data.kind
            )));
        }
        let start = self.arena.len();
        self.arena.extend_from_slice(data.data);
        let end = self.arena.len();
        let header = header(&self.arena[start..end], self.hash_kind)
            .ok_or_else(|| WalkError::Read(format!("commit {id} is malformed")))?;
        let first = self.parents.len() as u32;
        // A shallow boundary commit's parents are not in the repository:
        // like git, treat it as a root (the range check refuses a range
        // that reaches one on the head side).
        if !self.shallow.contains(&id) {
            for p in header.parents {
                let p = self.node(p);
                self.parents.push(p);
            }
        }
        let node = &mut self.nodes[i as usize];
        node.parents = first..self.parents.len() as u32;
        node.time = header.time;
        node.raw = Some(start..end);
        node.flags |= PARSED;
        Ok(true)
    }

    /// Parents and date of commit `i` from the commit-graph; `false` when the
    /// graph does not hold it (committed since the graph was written).
    fn parse_from_graph(&mut self, i: u32, id: ObjectId) -> Result<bool, WalkError> {
        let Some(graph) = &self.graph else {
            return Ok(false);
        };
        let Some(commit) = graph.commit_by_id(id) else {
            return Ok(false);
        };
        let time = i64::try_from(commit.committer_timestamp()).unwrap_or(0);
        let mut parents = Vec::new();
        if !self.shallow.contains(&id) {
            for p in commit.iter_parents() {
                let p = p.map_err(|e| {
                    WalkError::Read(format!("the commit-graph entry of {id} is damaged: {e}"))
                })?;
                parents.push(graph.id_at(p).to_owned());
            }
        }
        let first = self.parents.len() as u32;
        for p in parents {
            let p = self.node(p);
            self.parents.push(p);
        }
        let node = &mut self.nodes[i as usize];
        node.parents = first..self.parents.len() as u32;
        node.time = time;
        node.flags |= PARSED;
        Ok(true)
    }

    /// git's `process_parents`.
    fn process_parents(&mut self, i: u32) -> Result<(), WalkError> {
        if self.nodes[i as usize].flags & ADDED != 0 {
            return Ok(());
        }
        self.nodes[i as usize].flags |= ADDED;
        let uninteresting = self.nodes[i as usize].flags & UNINTERESTING != 0;
        for k in self.parents_of(i) {
            let p = self.parents[k];
            if uninteresting {
                self.nodes[p as usize].flags |= UNINTERESTING;
                if !self.parse(p, false)? {
                    continue;
                }
                self.mark_parents_uninteresting(p);
            } else {
                self.parse(p, true)?;
            }
            if self.nodes[p as usize].flags & SEEN == 0 {
                self.nodes[p as usize].flags |= SEEN;
                self.push(p);
            }
        }
        Ok(())
    }

    /// git's `mark_parents_uninteresting`: paint the known ancestry of `i`.
    fn mark_parents_uninteresting(&mut self, i: u32) {
        let mut pending: Vec<u32> = self.parents_of(i).map(|k| self.parents[k]).collect();
        while let Some(p) = pending.pop() {
            let node = &mut self.nodes[p as usize];
            if node.flags & UNINTERESTING != 0 {
                continue;
            }
            node.flags |= UNINTERESTING;
            if node.flags & PARSED != 0 {
                let r = self.parents_of(p);
                pending.extend(self.parents[r].iter().copied());
            }
        }
    }

    /// git's `still_interesting`.
    fn still_interesting(&mut self, date: i64, slop: u32) -> u32 {
        let Some(&(newest, _, _)) = self.queue.peek() else {
            return 0;
        };
        if date <= newest {
            return SLOP;
        }
        if !self.everybody_uninteresting() {
            return SLOP;
        }
        slop - 1
    }

    fn everybody_uninteresting(&mut self) -> bool {
        if let Some(c) = self.interesting_cache {
            let flags = self.nodes[c as usize].flags;
            if flags & QUEUED != 0 && flags & UNINTERESTING == 0 {
                return false;
            }
        }
        for &(_, _, i) in self.queue.iter() {
            if self.nodes[i as usize].flags & UNINTERESTING == 0 {
                self.interesting_cache = Some(i);
                return false;
            }
        }
        true
    }
}

struct Header {
    parents: Vec<ObjectId>,
    time: i64,
}

/// The parents and committer date of a raw commit: `tree`, `parent`s,
/// `author`, `committer` lead the headers. A date that cannot be read is 0,
/// as in git's `parse_commit_date`.
fn header(raw: &[u8], hash_kind: gix::hash::Kind) -> Option<Header> {
    let hex_len = hash_kind.len_in_hex();
    let mut lines = raw.split(|&b| b == b'\n');
    let tree = lines.next()?;
    if !tree.starts_with(b"tree ") {
        return None;
    }
    let mut parents = Vec::new();
    let mut time = 0;
    for line in lines {
        if line.is_empty() {
            break;
        }
        if let Some(hex) = line.strip_prefix(b"parent ") {
            if hex.len() != hex_len {
                return None;
            }
            parents.push(ObjectId::from_hex(hex).ok()?);
        } else if let Some(sig) = line.strip_prefix(b"committer ") {
            time = committer_time(sig);
            break;
        }
    }
    Some(Header { parents, time })
}

/// The seconds after the last `>` of a committer line.
fn committer_time(sig: &[u8]) -> i64 {
    let Some(gt) = sig.iter().rposition(|&b| b == b'>') else {
        return 0;
    };
    let rest = &sig[gt + 1..];
    let rest = rest.trim_ascii_start();
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_reads_parents_and_committer_date() {
        let raw = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 1111111111111111111111111111111111111111\nparent 2222222222222222222222222222222222222222\nauthor A <a@x> 5 +0000\ncommitter C <c@x> 1700000000 +0100\n\nmsg\nparent 3333333333333333333333333333333333333333\n";
        let h = header(raw, gix::hash::Kind::Sha1).expect("parses");
        assert_eq!(h.parents.len(), 2);
        assert_eq!(h.parents[1].to_string(), "2".repeat(40));
        assert_eq!(h.time, 1_700_000_000);
    }

    #[test]
    fn a_malformed_parent_is_refused() {
        let raw = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 1234\ncommitter C <c@x> 1 +0000\n\n";
        assert!(header(raw, gix::hash::Kind::Sha1).is_none());
        assert!(header(b"nonsense\n", gix::hash::Kind::Sha1).is_none());
    }

    #[test]
    fn an_unreadable_date_is_zero_like_git() {
        assert_eq!(committer_time(b"C <c@x> nonsense"), 0);
        assert_eq!(committer_time(b"C <c@x>"), 0);
        assert_eq!(committer_time(b"C <c> x> 42 +0000"), 42);
    }
}
