//! The `json` report: the [`Decision`] itself, pretty-printed.
//!
//! Untrusted text needs no neutralising here: JSON string escaping keeps it
//! data, and consumers render it with their own escaping.

use crate::decision::Decision;

pub fn render(decision: &Decision) -> String {
    let mut out = serde_json::to_string_pretty(decision)
        .expect("a Decision is plain data and always serialises");
    out.push('\n');
    out
}
