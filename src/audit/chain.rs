//! The hash chain: heads (`SEQ:HASH`) and finding the last record of a log
//! by reading only its tail.

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use serde::Deserialize;

use super::record::{GENESIS, line_hash};

/// The position of a chain's last record: `SEQ:HASH`, where HASH is the
/// SHA-256 of that record's line (the next record's `prev`, without `sha256:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    /// `sha256:<hex>`
    pub hash: String,
}

impl Head {
    /// The head of an empty chain.
    pub fn genesis() -> Head {
        Head {
            seq: 0,
            hash: GENESIS.to_string(),
        }
    }

    /// The head after `line`, if it is a record.
    pub fn of_line(line: &[u8]) -> Result<Head, String> {
        #[derive(Deserialize)]
        struct SeqOnly {
            seq: u64,
        }
        let s: SeqOnly = serde_json::from_slice(line)
            .map_err(|e| format!("the last line is not an audit record ({e})"))?;
        Ok(Head {
            seq: s.seq,
            hash: line_hash(line),
        })
    }

    /// `SEQ:HASH`, with or without `sha256:` before the hash.
    pub fn parse(s: &str) -> Result<Head, String> {
        let bad = || format!("`{s}` is not SEQ:HASH (as printed by `gatehouse audit head`)");
        let (seq, hash) = s.split_once(':').ok_or_else(bad)?;
        let seq: u64 = seq.parse().map_err(|_| bad())?;
        let hex = hash.strip_prefix("sha256:").unwrap_or(hash);
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(Head {
            seq,
            hash: format!("sha256:{}", hex.to_ascii_lowercase()),
        })
    }
}

impl fmt::Display for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.hash.strip_prefix("sha256:").unwrap_or(&self.hash);
        write!(f, "{}:{hex}", self.seq)
    }
}

/// How far back to read at a time when looking for the last line.
const TAIL_CHUNK: u64 = 8 * 1024;

/// The last line of `file` (without its newline), reading backwards from the
/// end so the cost does not depend on the log's size. `None` for an empty file.
/// A file that does not end in a newline was cut mid-write: that is an error,
/// never something to append after.
pub fn last_line(file: &mut File) -> Result<Option<Vec<u8>>, String> {
    let len = file
        .seek(SeekFrom::End(0))
        .map_err(|e| format!("cannot seek: {e}"))?;
    if len == 0 {
        return Ok(None);
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))
        .and_then(|_| file.read_exact(&mut last))
        .map_err(|e| format!("cannot read: {e}"))?;
    if last[0] != b'\n' {
        return Err(
            "the log does not end with a newline: its last record is incomplete (cut off mid-write?); \
             run `gatehouse audit verify` on it and repair it before recording more"
                .to_string(),
        );
    }
    // Search backwards for the newline before the last line.
    let end = len - 1;
    let mut tail: Vec<u8> = Vec::new();
    let mut pos = end;
    while pos > 0 {
        let start = pos.saturating_sub(TAIL_CHUNK);
        let mut chunk = vec![0u8; (pos - start) as usize];
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut chunk))
            .map_err(|e| format!("cannot read: {e}"))?;
        if let Some(nl) = chunk.iter().rposition(|&b| b == b'\n') {
            chunk.drain(..=nl);
            chunk.extend_from_slice(&tail);
            return Ok(Some(chunk));
        }
        chunk.extend_from_slice(&tail);
        tail = chunk;
        pos = start;
    }
    Ok(Some(tail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tail_of(content: &[u8]) -> Result<Option<Vec<u8>>, String> {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(content).unwrap();
        last_line(&mut f)
    }

    #[test]
    fn finds_the_last_line() {
        assert_eq!(tail_of(b"").unwrap(), None);
        assert_eq!(tail_of(b"a\n").unwrap().unwrap(), b"a");
        assert_eq!(tail_of(b"a\nbc\n").unwrap().unwrap(), b"bc");
        let long = "x".repeat(20_000);
        let content = format!("first\n{long}\n");
        assert_eq!(
            tail_of(content.as_bytes()).unwrap().unwrap(),
            long.as_bytes()
        );
        let content = format!("{long}\nshort\n");
        assert_eq!(tail_of(content.as_bytes()).unwrap().unwrap(), b"short");
    }

    #[test]
    fn a_torn_last_line_is_an_error() {
        assert!(tail_of(b"a\nb").unwrap_err().contains("incomplete"));
    }

    #[test]
    fn heads_parse_and_print() {
        let h = Head::parse(&format!("5:{}", "A".repeat(64))).unwrap();
        assert_eq!(h.seq, 5);
        assert_eq!(h.to_string(), format!("5:{}", "a".repeat(64)));
        assert!(Head::parse("5").is_err());
        assert!(Head::parse("x:abc").is_err());
    }
}
