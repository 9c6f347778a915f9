//! Neutralising untrusted text (commit messages, titles, branch and author
//! names) before it reaches an output that interprets characters.
//!
//! Each output has its own function; renderers call the one for their target on
//! every piece of text that came from facts.

pub mod github;
pub mod gitlab;
pub mod markdown;
pub mod xml;

/// For a terminal or a plain log: removes everything that could move the
/// cursor, change colours, hide text or reorder it.
///
/// - C0 controls (except `\n` and `\t`), DEL and C1 controls are replaced by
///   U+FFFD, so ESC-based sequences (CSI, OSC 8 hyperlinks, …) lose their lead
///   byte and print as inert text.
/// - Bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069,
///   U+200E/U+200F, U+061C) are replaced by U+FFFD, so text cannot appear in
///   an order other than its bytes'.
pub fn terminal(text: &str) -> String {
    text.chars()
        .map(|c| if is_dangerous(c) { '\u{FFFD}' } else { c })
        .collect()
}

/// [`terminal`], also folding line breaks, for text that must stay on one line.
pub fn terminal_line(text: &str) -> String {
    terminal(text)
        .chars()
        .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
        .collect()
}

fn is_dangerous(c: char) -> bool {
    match c {
        '\n' | '\t' => false,
        '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}' => true,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => true,
        '\u{200E}' | '\u{200F}' | '\u{061C}' => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_lose_their_escape() {
        let s = terminal("a\x1b[2Jb\x1b]8;;https://evil\x07link\x1b]8;;\x07");
        assert!(!s.contains('\x1b'));
        assert!(!s.contains('\x07'));
    }

    #[test]
    fn bidi_overrides_are_removed() {
        assert!(!terminal("abc\u{202E}def").contains('\u{202E}'));
        assert!(!terminal("\u{2066}x\u{2069}").contains('\u{2066}'));
    }

    #[test]
    fn c1_controls_are_removed() {
        assert!(!terminal("a\u{9b}31mb").contains('\u{9b}'));
    }

    #[test]
    fn newlines_survive_in_blocks_but_not_lines() {
        assert_eq!(terminal("a\nb\tc"), "a\nb\tc");
        assert_eq!(terminal_line("a\nb\r\n"), "a b\u{FFFD} ");
    }

    #[test]
    fn ordinary_unicode_is_kept() {
        assert_eq!(terminal("Zoë — 日本 ✓"), "Zoë — 日本 ✓");
    }
}
