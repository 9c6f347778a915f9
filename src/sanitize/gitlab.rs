//! GitLab job logs: what their renderer interprets, and why [`super::terminal`]
//! is enough to keep untrusted text inert there.
//!
//! GitLab's log renderer (`Gitlab::Ci::Ansi2json::Converter`) interprets:
//!
//! - `ESC` sequences: colours and styles (`ESC [ … m`); every other sequence is
//!   dropped, so it could hide text.
//! - a lone `\r`: drops the line printed so far.
//! - collapsible sections, matched by `Gitlab::Regex.build_trace_section_regex`:
//!   `section_(start|end):<digits>:<name>` with optional `[key=value,…]`
//!   options, and then **always the suffix `\r\e[0K`**. The marker may sit
//!   anywhere on a line, not only at its start; what makes it a marker is that
//!   suffix (the conventional leading `\e[0K` is not required).
//!
//! [`super::terminal`] replaces `ESC`, `\r` and every other control with
//! U+FFFD, so text that went through it can neither form an escape sequence,
//! nor drop a line, nor complete a section marker: `section_start:1:x` stays
//! plain text. gatehouse's own reports never print `\r` or `ESC [ 0 K`, so no
//! renderer output can complete a marker around untrusted text either.
//! [`opens_or_closes_section`] is the renderer's grammar, kept here so tests of
//! every human-facing output can check exactly that.

use std::sync::LazyLock;

use regex::Regex;

/// GitLab's section marker grammar (see the module documentation).
static SECTION_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"section_(start|end):(\d+):([a-zA-Z0-9_.-]+)(\[(\w+=\w+)(, ?(\w+=\w+))*\])?\r\x1b\[0K",
    )
    .expect("the section marker pattern is valid")
});

/// Whether GitLab's job log would read a section start or end in `text`.
pub fn opens_or_closes_section(text: &str) -> bool {
    SECTION_MARKER.is_match(text)
}

/// Whether GitLab's job log would interpret anything in `text` other than
/// plain characters and line feeds: an escape sequence, a carriage return
/// (which drops the line so far) or a section marker.
pub fn controls_job_log(text: &str) -> bool {
    text.contains('\x1b') || text.contains('\r') || opens_or_closes_section(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sanitize::{terminal, terminal_line};

    const FORGED: &[&str] = &[
        "\x1b[0Ksection_start:1700000000:evil[collapsed=true]\r\x1b[0KAll checks passed",
        "section_end:1700000000:step_script\r\x1b[0K",
        "fine\nsection_start:1:x\r\x1b[0K",
        "mid-line section_start:1:x\r\x1b[0Khidden",
        "\rPASS  everything",
        "\x1b[2K\x1b[1A",
    ];

    #[test]
    fn the_grammar_recognises_real_markers() {
        assert!(opens_or_closes_section(
            "\x1b[0Ksection_start:1560896352:my_first_section\r\x1b[0KHeader"
        ));
        assert!(opens_or_closes_section(
            "section_start:1560896352:s[collapsed=true]\r\x1b[0K"
        ));
        assert!(opens_or_closes_section(
            "section_end:1560896353:my_first_section\r\x1b[0K"
        ));
        // Without the `\r\e[0K` suffix GitLab shows the words as text.
        assert!(!opens_or_closes_section("section_start:1560896352:x"));
    }

    #[test]
    fn forged_markers_and_controls_are_inert_after_terminal() {
        for forged in FORGED {
            assert!(controls_job_log(forged), "{forged:?} should be a control");
            for safe in [terminal(forged), terminal_line(forged)] {
                assert!(!controls_job_log(&safe), "{forged:?} -> {safe:?}");
            }
        }
    }
}
