//! Neutralising untrusted text for GitHub Actions logs, where lines starting
//! with `::` are workflow commands (`::add-mask::`, `::set-output`, `::error`)
//! and `##[` starts a legacy command or a log-formatting directive anywhere in
//! a line.
//!
//! Three tools, used together by the `github` report:
//! - [`annotation_data`] and [`annotation_property`] percent-encode text put
//!   into a workflow command, the way the runner decodes it (`%`, `\r`, `\n`,
//!   and in properties also `:` and `,`);
//! - [`log_text`] makes text safe to print as plain log lines;
//! - [`StopCommands`] wraps a block of log text in `::stop-commands::<token>`
//!   … `::<token>::` with a random token, so even a line the other defences
//!   missed is not executed.

use std::fmt::Write as _;

use super::terminal;

/// U+2060 WORD JOINER: invisible, not a control, and it splits `::` and `##[`
/// so the runner never sees them.
const JOINER: char = '\u{2060}';

/// Controls removed (as for a terminal), then every `::` and `##[` split, so
/// no line of the result can begin (or contain) a workflow command.
fn defuse(text: &str) -> String {
    let clean = terminal(text);
    let mut out = String::with_capacity(clean.len());
    let mut chars = clean.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        match (c, chars.peek()) {
            (':', Some(':')) | ('#', Some('#')) => out.push(JOINER),
            _ => {}
        }
    }
    out
}

/// Text for the message part of a workflow command (`::error …::<data>`).
pub fn annotation_data(text: &str) -> String {
    // `\r` is encoded rather than dropped with the other controls, so a
    // CRLF message keeps its line breaks.
    let segments: Vec<String> = text
        .split('\r')
        .map(|segment| {
            let mut out = String::new();
            for c in defuse(segment).chars() {
                match c {
                    '%' => out.push_str("%25"),
                    '\n' => out.push_str("%0A"),
                    c => out.push(c),
                }
            }
            out
        })
        .collect();
    segments.join("%0D")
}

/// Text for a property of a workflow command (`title=<prop>,file=<prop>`).
pub fn annotation_property(text: &str) -> String {
    let mut out = String::new();
    for c in annotation_data(text).chars() {
        match c {
            ':' => out.push_str("%3A"),
            ',' => out.push_str("%2C"),
            c => out.push(c),
        }
    }
    out
}

/// Text printed as plain log lines: controls removed, commands defused.
pub fn log_text(text: &str) -> String {
    defuse(text)
}

/// A `::stop-commands::` block with a token nobody can guess in advance.
#[derive(Debug, Clone)]
pub struct StopCommands {
    token: String,
}

impl StopCommands {
    /// A fresh random token (128 bits, hex).
    pub fn new() -> StopCommands {
        let bytes: [u8; 16] = rand::random();
        StopCommands {
            token: format!("gatehouse-{}", hex::encode(bytes)),
        }
    }

    /// `text` (already passed through [`log_text`]) between the start and end
    /// markers. Each line is defused again: the block must stay inert even if
    /// a caller forgot.
    pub fn wrap(&self, text: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "::stop-commands::{}", self.token);
        for line in text.lines() {
            let _ = writeln!(out, "{}", log_text(line));
        }
        let _ = writeln!(out, "::{}::", self.token);
        out
    }

    pub fn token(&self) -> &str {
        &self.token
    }
}

impl Default for StopCommands {
    fn default() -> Self {
        StopCommands::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_percent_encoded() {
        assert_eq!(annotation_data("50% a\r\nb"), "50%25 a%0D%0Ab");
    }

    #[test]
    fn properties_also_encode_colon_and_comma() {
        assert_eq!(annotation_property("a:b,c%"), "a%3Ab%2Cc%25");
    }

    #[test]
    fn no_command_survives_in_log_text() {
        let s = log_text("::add-mask::BLOCKED\n  ::set-output name=x::y\nfoo ##[error]bar");
        assert!(!s.contains("::"), "{s}");
        assert!(!s.contains("##["), "{s}");
        for line in s.lines() {
            assert!(!line.trim_start().starts_with("::"));
        }
    }

    #[test]
    fn a_run_of_colons_is_split_everywhere() {
        assert!(!log_text(":::::").contains("::"));
        assert!(!log_text("####[").contains("##"));
    }

    #[test]
    fn stop_commands_wrap_with_a_fresh_token() {
        let a = StopCommands::new();
        let b = StopCommands::new();
        assert_ne!(a.token(), b.token());
        let wrapped = a.wrap("::add-mask::x\nline");
        let lines: Vec<&str> = wrapped.lines().collect();
        assert_eq!(lines[0], format!("::stop-commands::{}", a.token()));
        assert_eq!(lines[lines.len() - 1], format!("::{}::", a.token()));
        assert!(!lines[1].starts_with("::"));
    }

    #[test]
    fn escapes_and_bidi_are_gone() {
        let s = annotation_data("\x1b[2J\u{202e}x\x1b]8;;https://e\x07l\x1b]8;;\x07");
        assert!(!s.contains('\x1b') && !s.contains('\u{202e}') && !s.contains('\x07'));
    }
}
