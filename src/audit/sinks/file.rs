//! `file:PATH`: a JSON Lines log. Appending takes an exclusive lock, so
//! concurrent gate runs on one machine interleave whole records; it reads only
//! the tail to find the previous record, so a huge log appends as fast as an
//! empty one; it fsyncs before the gate may exit.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use crate::audit::chain::{Head, last_line};
use crate::audit::record::{RecordDraft, line_hash, seal};
use crate::audit::{Appended, Signer};

pub fn append(
    path: &Path,
    draft: &RecordDraft,
    signer: Option<&Signer>,
) -> Result<Appended, String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| format!("cannot open: {e}"))?;
    // Held until `file` is dropped: the read of the head and the write of the
    // next record are one step for every other writer.
    file.lock().map_err(|e| format!("cannot lock: {e}"))?;
    let (head, new_log) = match last_line(&mut file)? {
        Some(line) => (Head::of_line(&line)?, false),
        None => (Head::genesis(), true),
    };
    let seq = head.seq + 1;
    let line = seal(&draft.place(seq, &head.hash), signer)?;
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    file.write_all(&bytes)
        .map_err(|e| format!("cannot write: {e}"))?;
    file.sync_data().map_err(|e| format!("cannot fsync: {e}"))?;
    if new_log {
        // A new file is durable only once its directory entry is.
        sync_dir(path)?;
    }
    Ok(Appended {
        seq,
        hash: line_hash(line.as_bytes()),
        line,
    })
}

#[cfg(unix)]
fn sync_dir(path: &Path) -> Result<(), String> {
    let dir = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(d) => d,
        None => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("cannot fsync {}: {e}", dir.display()))
}

#[cfg(not(unix))]
fn sync_dir(_path: &Path) -> Result<(), String> {
    Ok(())
}

/// The head of the log at `path` (genesis when empty), reading only its tail.
pub fn head(path: &Path) -> Result<Head, String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    match last_line(&mut file)? {
        Some(line) => Head::of_line(&line),
        None => Ok(Head::genesis()),
    }
}
