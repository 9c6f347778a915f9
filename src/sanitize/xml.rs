//! Untrusted text inside XML (the `junit` report).
//!
//! Two dangers: markup characters that would end an attribute or open an
//! element (`<`, `&`, `"`, …), and characters XML 1.0 forbids outright (most C0
//! controls, U+FFFE, U+FFFF), which make the whole document unparsable — a
//! commit message holding one NUL would otherwise hide every test result.
//! Terminal controls are neutralised first (see [`super::terminal`]): GitLab
//! shows failure text in its UI and in job logs.

/// Text for element content (line breaks kept as they are).
pub fn text(input: &str) -> String {
    escape(input, false)
}

/// Text for an attribute value (line breaks as character references, which
/// parsers would otherwise normalise to spaces).
pub fn attr(input: &str) -> String {
    escape(input, true)
}

fn escape(input: &str, in_attribute: bool) -> String {
    let safe = super::terminal(input);
    let mut out = String::with_capacity(safe.len());
    for c in safe.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' if in_attribute => out.push_str("&#10;"),
            '\t' if in_attribute => out.push_str("&#9;"),
            c if allowed_in_xml(c) => out.push(c),
            _ => {}
        }
    }
    out
}

/// XML 1.0 `Char` production: `#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD]
/// | [#x10000-#x10FFFF]` (a Rust `char` is never a surrogate).
fn allowed_in_xml(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            text(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;"
        );
    }

    #[test]
    fn characters_xml_forbids_are_removed() {
        let out = text("a\u{0}b\u{FFFE}c\u{FFFF}d");
        assert!(!out.contains('\u{0}') && !out.contains('\u{FFFE}') && !out.contains('\u{FFFF}'));
        assert!(out.starts_with('a') && out.ends_with('d'));
    }

    #[test]
    fn terminal_escapes_do_not_survive() {
        assert!(!text("x\x1b[31mred").contains('\x1b'));
    }

    #[test]
    fn line_breaks_become_character_references_in_attributes() {
        assert_eq!(attr("a\nb"), "a&#10;b");
        assert_eq!(text("a\nb"), "a\nb");
    }
}
