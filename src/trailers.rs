//! Commit message trailers, parsed exactly like `git interpret-trailers --parse`
//! with git's default configuration.
//!
//! Rules depend on trailers (`Signed-off-by`, `Reviewed-by`, ticket keys), so
//! "what is a trailer" must be git's answer, not a lookalike: a sign-off that
//! git does not see must not satisfy a rule, and one git sees must not be
//! missed. This is a transcription of git's `trailer.c` (`find_end_of_log_message`,
//! `find_trailer_block_start`, `trailer_info_get`, `parse_trailers`,
//! `unfold_value`) and `commit.c`/`wt-status.c` (`ignored_log_message_bytes`,
//! `wt_status_locate_end`), working on bytes like git does. Where gix's own
//! trailer parser differs (it looks at every line of the last paragraph and
//! knows no 25% rule), git wins. `tests/trailers.rs` runs the real
//! `git interpret-trailers --parse` on every fixture and compares.
//!
//! Default configuration means: separators `:`, comment string `#`, no
//! configured trailer keys (`trailer.<key>.key`), and the `---` divider honoured.

use crate::facts::Trailer;

/// Prefixes git itself writes; one of them in the last paragraph is enough to
/// make it a trailer block when at least 25% of its lines are trailers.
const GIT_GENERATED_PREFIXES: [&[u8]; 2] = [b"Signed-off-by: ", b"(cherry picked from commit "];

/// git's default `trailer.separators`.
const SEPARATORS: &[u8] = b":";

/// git's default `core.commentChar`.
const COMMENT: &[u8] = b"#";

/// The scissors line of `git commit -v` (`wt-status.c`'s `cut_line`), after
/// the comment string and a space.
const CUT_LINE: &[u8] = b"------------------------ >8 ------------------------\n";

/// The trailers of a commit message, in order, with continuation lines
/// unfolded and keys and values trimmed — what `git interpret-trailers --parse`
/// prints as `key: value` lines.
pub fn parse(message: &str) -> Vec<Trailer> {
    let buf = message.as_bytes();
    let end = find_end_of_log_message(buf);
    let start = find_trailer_block_start(buf, end);
    let mut trailers = Vec::new();
    for line in join_continuations(&buf[start..end]) {
        if line.starts_with(COMMENT) {
            continue;
        }
        let Some(pos) = find_separator(&line).filter(|&p| p >= 1) else {
            // A non-trailer line inside a trailer block (for example
            // `(cherry picked from commit …)`): `--parse` drops it.
            continue;
        };
        let key = trim(&line[..pos]);
        let value = unfold(trim(&line[pos + 1..]));
        trailers.push(Trailer {
            key: String::from_utf8_lossy(key).into_owned(),
            value: String::from_utf8_lossy(&value).into_owned(),
        });
    }
    trailers
}

/// Render trailers the way `git interpret-trailers --parse` prints them, so a
/// test can compare our parse with git's output byte for byte.
pub fn render(trailers: &[Trailer]) -> String {
    let mut out = String::new();
    for t in trailers {
        out.push_str(&t.key);
        // git adds ": " unless the key already ends with a separator.
        let last = t.key.bytes().rev().find(|b| !is_space(*b));
        if last.is_some_and(|c| !SEPARATORS.contains(&c)) {
            out.push_str(": ");
        }
        out.push_str(&t.value);
        out.push('\n');
    }
    out
}

/// git's `isspace` (sane_ctype): space, tab, LF and CR only — not VT or FF.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// git's `isalnum`: ASCII letters and digits only.
fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| !is_space(*b)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !is_space(*b))
        .map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

/// Start of the line after the one starting at `pos` (`next_line`).
fn next_line(buf: &[u8], pos: usize) -> usize {
    match buf[pos..].iter().position(|&b| b == b'\n') {
        Some(i) => pos + i + 1,
        None => buf.len(),
    }
}

/// Start of the last line of `buf[..len]`; a final newline belongs to the last
/// line (`last_line`). `None` when `len` is 0.
fn last_line(buf: &[u8], len: usize) -> Option<usize> {
    match len {
        0 => None,
        1 => Some(0),
        _ => Some(
            buf[..len - 1]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1),
        ),
    }
}

/// A line is blank when it holds only whitespace up to its newline (or the
/// end of the buffer: git's strings are NUL-terminated).
fn is_blank_line(buf: &[u8], pos: usize) -> bool {
    for &b in &buf[pos..] {
        if b == b'\n' {
            return true;
        }
        if !is_space(b) {
            return false;
        }
    }
    true
}

/// `find_separator`: the position of the separator in a line shaped
/// `<token><optional whitespace><separator>…`, `Some(0)` when the line starts
/// with a separator, `None` when the line is not shaped like that (for example
/// a space inside the token).
fn find_separator(line: &[u8]) -> Option<usize> {
    let mut whitespace_found = false;
    for (i, &c) in line.iter().enumerate() {
        if SEPARATORS.contains(&c) {
            return Some(i);
        }
        if !whitespace_found && (is_alnum(c) || c == b'-') {
            continue;
        }
        if i != 0 && (c == b' ' || c == b'\t') {
            whitespace_found = true;
            continue;
        }
        break;
    }
    None
}

/// `find_end_of_log_message`: cut the patch part (a line starting with `---`
/// followed by whitespace) and then trailing comments, blank lines, an old
/// `Conflicts:` block, or everything below a scissors line.
fn find_end_of_log_message(buf: &[u8]) -> usize {
    let mut end = buf.len();
    let mut s = 0;
    while s < buf.len() {
        // `skip_prefix(s, "---", &v) && isspace(*v)`: at the very end of the
        // string `*v` is NUL, which is not a space.
        if buf[s..].starts_with(b"---") && buf.get(s + 3).is_some_and(|&b| is_space(b)) {
            end = s;
            break;
        }
        s = next_line(buf, s);
    }
    end - ignored_log_message_bytes(buf, end)
}

/// `wt_status_locate_end`: where a scissors line cuts the message.
fn locate_scissors(buf: &[u8], len: usize) -> usize {
    let mut pattern = Vec::with_capacity(2 + COMMENT.len() + CUT_LINE.len());
    pattern.push(b'\n');
    pattern.extend_from_slice(COMMENT);
    pattern.push(b' ');
    pattern.extend_from_slice(CUT_LINE);
    // git searches the whole NUL-terminated string, not only `len` bytes.
    if buf.starts_with(&pattern[1..]) {
        return 0;
    }
    match find(buf, &pattern) {
        Some(p) if p + 1 < len => p + 1,
        _ => len,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    use gix::bstr::ByteSlice as _;
    haystack.find(needle)
}

/// `ignored_log_message_bytes`: the length of the trailing run of comment
/// lines, empty lines and old-style `Conflicts:` blocks, plus anything after
/// a scissors line.
fn ignored_log_message_bytes(buf: &[u8], len: usize) -> usize {
    let cutoff = locate_scissors(buf, len);
    // `boc` is the beginning of the trailing comment run; git uses 0 for
    // "none", so a run starting at the very first line is not recognised as
    // one. Kept as is: we must answer exactly like git.
    let mut boc = 0;
    let mut bol = 0;
    let mut in_old_conflicts_block = false;
    while bol < cutoff {
        let next = match buf[bol..cutoff].iter().position(|&b| b == b'\n') {
            Some(i) => bol + i + 1,
            None => cutoff,
        };
        let line = &buf[bol..];
        if buf[bol..cutoff].starts_with(COMMENT) || buf[bol] == b'\n' {
            if boc == 0 {
                boc = bol;
            }
        } else if line.starts_with(b"Conflicts:\n") {
            in_old_conflicts_block = true;
            if boc == 0 {
                boc = bol;
            }
        } else if in_old_conflicts_block && buf[bol] == b'\t' {
            // a path name in the conflicts block
        } else if boc != 0 {
            boc = 0;
            in_old_conflicts_block = false;
        }
        bol = next;
    }
    if boc != 0 { len - boc } else { len - cutoff }
}

/// `find_trailer_block_start`: the start of the trailer block in
/// `buf[..len]`, or `len` when there is none.
///
/// The block is the last paragraph (never the first, which is the title), and
/// it counts as trailers when all its lines are trailers, or when it holds a
/// git-generated trailer and at least 25% of its lines are trailers.
fn find_trailer_block_start(buf: &[u8], len: usize) -> usize {
    // The first paragraph is the title and cannot be trailers.
    let mut s = 0;
    while s < len {
        if buf[s..len].starts_with(COMMENT) {
            s = next_line(buf, s);
            continue;
        }
        if is_blank_line(buf, s) {
            break;
        }
        s = next_line(buf, s);
    }
    let end_of_title = s;

    let mut only_spaces = true;
    let mut recognized_prefix = false;
    let mut trailer_lines = 0usize;
    let mut non_trailer_lines = 0usize;
    // Lines starting with whitespace: continuations of a trailer above them,
    // or non-trailers when what is above is not a trailer.
    let mut possible_continuation_lines = 0usize;

    let mut l = last_line(buf, len);
    while let Some(bol) = l.filter(|&l| l >= end_of_title) {
        l = last_line(buf, bol);
        if buf[bol..len].starts_with(COMMENT) {
            non_trailer_lines += possible_continuation_lines;
            possible_continuation_lines = 0;
            continue;
        }
        if is_blank_line(buf, bol) {
            if only_spaces {
                continue;
            }
            non_trailer_lines += possible_continuation_lines;
            // (ii) a git-generated trailer and at least 25% trailers, or
            // (i) nothing but trailers.
            let mixed_enough = recognized_prefix && trailer_lines * 3 >= non_trailer_lines;
            let only_trailers = trailer_lines > 0 && non_trailer_lines == 0;
            if mixed_enough || only_trailers {
                return next_line(buf, bol);
            }
            return len;
        }
        only_spaces = false;

        let line = &buf[bol..];
        if GIT_GENERATED_PREFIXES.iter().any(|p| line.starts_with(p)) {
            trailer_lines += 1;
            possible_continuation_lines = 0;
            recognized_prefix = true;
            continue;
        }
        let separator = find_separator(line);
        if separator.is_some_and(|p| p >= 1) && !is_space(line[0]) {
            trailer_lines += 1;
            possible_continuation_lines = 0;
            // git would also look for configured trailer keys here; the
            // default configuration has none.
        } else if is_space(line[0]) {
            possible_continuation_lines += 1;
        } else {
            non_trailer_lines += 1 + possible_continuation_lines;
            possible_continuation_lines = 0;
        }
    }
    len
}

/// `trailer_info_get`: split the block into lines (each keeping its newline)
/// and append lines starting with whitespace to the trailer above them.
fn join_continuations(block: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    // Whether the last pushed line is a trailer that can take continuations.
    let mut last_is_trailer = false;
    let mut pos = 0;
    while pos < block.len() {
        let next = next_line(block, pos);
        let line = &block[pos..next];
        pos = next;
        if last_is_trailer && is_space(line[0]) {
            if let Some(last) = out.last_mut() {
                last.extend_from_slice(line);
            }
            continue;
        }
        last_is_trailer = find_separator(line).is_some_and(|p| p >= 1);
        out.push(line.to_vec());
    }
    out
}

/// `unfold_value`: every newline and the whitespace after it become one space.
fn unfold(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        let c = value[i];
        i += 1;
        if c == b'\n' {
            while i < value.len() && is_space(value[i]) {
                i += 1;
            }
            out.push(b' ');
        } else {
            out.push(c);
        }
    }
    trim(&out).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(message: &str) -> Vec<(String, String)> {
        parse(message)
            .into_iter()
            .map(|t| (t.key, t.value))
            .collect()
    }

    fn kv(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn last_paragraph_of_trailers() {
        assert_eq!(
            pairs("Subject\n\nBody text.\n\nSigned-off-by: A <a@x>\nAcked-by: B <b@x>\n"),
            vec![kv("Signed-off-by", "A <a@x>"), kv("Acked-by", "B <b@x>")]
        );
    }

    #[test]
    fn the_title_is_never_trailers() {
        assert!(pairs("Fixes: nothing\n").is_empty());
        assert!(pairs("Subject\nSigned-off-by: A <a@x>\n").is_empty());
    }

    #[test]
    fn a_mixed_paragraph_needs_a_git_trailer_and_a_quarter() {
        // 1 trailer of 2 lines, but no git-generated one: not a block.
        assert!(pairs("S\n\nsome text\nKey: v\n").is_empty());
        // Signed-off-by with 1 of 4 lines: exactly 25% is enough.
        assert_eq!(
            pairs("S\n\na\nb\nc\nSigned-off-by: A\n"),
            vec![kv("Signed-off-by", "A")]
        );
        // 1 of 5 lines is below 25%.
        assert!(pairs("S\n\na\nb\nc\nd\nSigned-off-by: A\n").is_empty());
    }

    #[test]
    fn continuation_lines_are_unfolded() {
        assert_eq!(
            pairs("S\n\nKey: first\n  second\n\tthird\n"),
            vec![kv("Key", "first second third")]
        );
    }

    #[test]
    fn spaces_in_the_token_make_a_line_no_trailer() {
        assert!(pairs("S\n\nNot a trailer: x\n").is_empty());
        assert_eq!(pairs("S\n\nBug  : 42\n"), vec![kv("Bug", "42")]);
    }

    #[test]
    fn the_patch_part_and_comments_are_ignored() {
        assert_eq!(
            pairs("S\n\nAcked-by: A\n---\n a | 1 +\n"),
            vec![kv("Acked-by", "A")]
        );
        assert_eq!(
            pairs("S\n\nAcked-by: A\n# comment\n\n# more\n"),
            vec![kv("Acked-by", "A")]
        );
    }

    #[test]
    fn cherry_pick_lines_count_but_are_not_key_value() {
        assert_eq!(
            pairs("S\n\nbody\n(cherry picked from commit abc)\nSigned-off-by: A\n"),
            vec![kv("Signed-off-by", "A")]
        );
    }

    #[test]
    fn render_matches_git_output_shape() {
        let t = parse("S\n\nKey: v\nSigned-off-by: A\n");
        assert_eq!(render(&t), "Key: v\nSigned-off-by: A\n");
    }

    #[test]
    fn no_panic_on_odd_input() {
        for m in [
            "", "\n", "\n\n", ":", "S\n\n:\n", "S\n\n \n", "---", "S\n\n---", "#",
        ] {
            let _ = parse(m);
        }
    }
}
