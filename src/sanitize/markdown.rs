//! Neutralising untrusted text for Markdown (GitHub job summaries and pull
//! request comments), which renders inline HTML, links, images, mentions and
//! table syntax.
//!
//! Every ASCII punctuation character is backslash-escaped (CommonMark allows
//! that for all of them), so no emphasis, link, image, heading, list, code
//! span, table cell break or autolink (`https\:\/\/…`) can form. `<`, `>`, `&`
//! and `"` become HTML entities so no tag or entity is ever interpreted, and
//! `@` becomes `&#64;` so a commit message cannot mention (notify) people.
//! Controls and bidi overrides are removed first, as for a terminal.

use super::terminal;

/// Inline text: escaped, and line breaks folded into spaces so it stays in
/// its table cell or list item.
pub fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in terminal(text).chars() {
        push_escaped(&mut out, c);
    }
    out
}

/// A block of text (a commit message, a finding spanning lines): escaped,
/// line breaks kept as `<br>` so it still renders on several lines inside a
/// `<details>` block or a table cell.
pub fn block(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in terminal(text).trim_end().lines().enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        for c in line.chars() {
            push_escaped(&mut out, c);
        }
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        '"' => out.push_str("&quot;"),
        '@' => out.push_str("&#64;"),
        '\n' | '\t' | '\r' => out.push(' '),
        c if c.is_ascii_punctuation() => {
            out.push('\\');
            out.push(c);
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_never_a_tag() {
        let s = inline("<img src=x onerror=alert(1)> & <details>");
        assert!(!s.contains('<') && !s.contains('>'), "{s}");
        assert!(s.contains("&lt;img"));
    }

    #[test]
    fn markdown_syntax_is_escaped() {
        assert_eq!(inline("*a* [l](u) | `c`"), r"\*a\* \[l\]\(u\) \| \`c\`");
    }

    #[test]
    fn mentions_and_autolinks_are_broken() {
        let s = inline("@octocat https://evil.example");
        assert!(!s.contains('@'));
        assert!(!s.contains("https://"));
    }

    #[test]
    fn inline_folds_newlines_and_block_keeps_them() {
        assert_eq!(inline("a\nb"), "a b");
        assert_eq!(block("a\nb\n"), "a<br>b");
    }

    #[test]
    fn controls_are_removed() {
        let s = inline("\x1b[2Ja\u{202e}b");
        assert!(!s.contains('\x1b') && !s.contains('\u{202e}'));
    }
}
