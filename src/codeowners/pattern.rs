//! CODEOWNERS path patterns, compiled to anchored regular expressions.
//!
//! GitHub documents its patterns as "most of the rules of gitignore" and then
//! deviates in one visible place: a trailing lone `*` segment (`docs/*`, `/*`)
//! matches only the files directly in that directory, not deeper ones. The
//! rules implemented here, for a file path relative to the repository root:
//!
//! - A leading `/` anchors the pattern to the root.
//! - GitHub (gitignore): a `/` anywhere else except at the end anchors it too,
//!   so `docs/api` means `/docs/api`. GitLab: only a leading `/` anchors, so
//!   `internal/README.md` matches `a/b/internal/README.md` as well.
//! - An unanchored pattern matches at any depth (as if it began with `**/`).
//! - A trailing `/` matches only directories: everything below them.
//! - Otherwise a pattern names a file, or a directory and everything below it
//!   (`apps` owns `x/apps/y.js`), except when its last segment is a lone `*`.
//! - `*` matches within one segment, `?` one character of a segment, `**` as a
//!   whole segment zero or more segments; `\` escapes the next character.
//! - `[...]` classes: GitLab (Ruby's fnmatch) supports them; GitHub's docs say
//!   they do not work there, so such a GitHub line is reported, not guessed at.

use regex::Regex;

use super::Syntax;

/// A compiled path pattern.
#[derive(Debug, Clone)]
pub struct PathPattern {
    regex: Regex,
}

impl PathPattern {
    /// Compile `pattern` (escapes still in it); `Err` says why it is invalid.
    pub fn compile(pattern: &str, syntax: Syntax) -> Result<PathPattern, String> {
        if pattern.is_empty() {
            return Err("empty pattern".into());
        }
        if pattern.contains("***") {
            return Err("a pattern cannot contain three asterisks in a row".into());
        }
        if pattern == "/" {
            return Err("`/` alone names no file; use `*` for everything".into());
        }
        let (anchored_by_slash, rest) = match pattern.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, pattern),
        };
        let (dir_only, body) = match strip_unescaped_suffix(rest, '/') {
            Some(body) => (true, body),
            None => (false, rest),
        };
        if body.is_empty() {
            return Err("the pattern has no path after its slashes".into());
        }
        let mut segments: Vec<&str> = split_unescaped(body, '/');
        if segments.iter().any(|s| s.is_empty()) {
            return Err("the pattern contains an empty path segment (`//`)".into());
        }
        let anchored = anchored_by_slash
            || (syntax == Syntax::GitHub && segments.len() > 1)
            || segments[0] == "**";
        if !anchored {
            segments.insert(0, "**");
        }

        let mut re = String::from("^");
        let last = segments.len() - 1;
        // Whether the next literal segment needs a `/` before it.
        let mut need_slash = false;
        for (i, seg) in segments.iter().enumerate() {
            if *seg == "**" {
                if i == 0 && i == last {
                    re.push_str(".+");
                } else if i == 0 {
                    re.push_str("(?:.+/)?");
                    need_slash = false;
                } else if i == last {
                    re.push_str("/.+");
                } else {
                    re.push_str("(?:/.+)?");
                    need_slash = true;
                }
                continue;
            }
            if need_slash {
                re.push('/');
            }
            translate_segment(seg, syntax, &mut re)?;
            need_slash = true;
            if i == last {
                if dir_only {
                    re.push_str("/.+");
                } else if *seg != "*" {
                    // A file, or a directory and everything below it. A lone
                    // trailing `*` (`docs/*`, `/*`) stops at one level.
                    re.push_str("(?:/.+)?");
                }
            }
        }
        re.push('$');
        let regex = Regex::new(&re).map_err(|e| format!("cannot compile the pattern: {e}"))?;
        Ok(PathPattern { regex })
    }

    pub fn is_match(&self, path: &str) -> bool {
        self.regex.is_match(path.trim_start_matches('/'))
    }
}

fn translate_segment(seg: &str, syntax: Syntax, re: &mut String) -> Result<(), String> {
    let mut chars = seg.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) => re.push_str(&regex::escape(&escaped.to_string())),
                None => return Err("the pattern ends with a lone `\\`".into()),
            },
            '*' => {
                // `**` inside a segment (`a**b`) is an ordinary `*`, as in git.
                while chars.peek() == Some(&'*') {
                    chars.next();
                }
                re.push_str("[^/]*");
            }
            '?' => re.push_str("[^/]"),
            '[' if syntax == Syntax::GitHub => {
                return Err(
                    "GitHub does not support `[ ]` character ranges in CODEOWNERS; escape the bracket (`\\[`) or list the paths".into(),
                );
            }
            '[' => {
                let mut class = String::from("[");
                let mut closed = false;
                let mut first = true;
                for c in chars.by_ref() {
                    match c {
                        ']' if !first => {
                            closed = true;
                            break;
                        }
                        '!' | '^' if first => class.push('^'),
                        '\\' | '[' | '&' | '~' | '-' if first => {
                            class.push('\\');
                            class.push(c);
                        }
                        '\\' | '[' | '&' | '~' => {
                            class.push('\\');
                            class.push(c);
                        }
                        '/' => return Err("a `[ ]` class cannot contain `/`".into()),
                        _ => class.push(c),
                    }
                    first = false;
                }
                if !closed {
                    return Err("unclosed `[` in the pattern".into());
                }
                class.push(']');
                re.push_str(&class);
            }
            _ => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    Ok(())
}

/// `s` without its last character when that is an unescaped `c`.
fn strip_unescaped_suffix(s: &str, c: char) -> Option<&str> {
    let body = s.strip_suffix(c)?;
    let backslashes = body.chars().rev().take_while(|&b| b == '\\').count();
    (backslashes % 2 == 0).then_some(body)
}

/// Split on unescaped `sep`.
fn split_unescaped(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&s[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Assert which paths `pattern` matches under `syntax`.
    fn check(syntax: Syntax, pattern: &str, cases: &[(&str, bool)]) {
        let p = PathPattern::compile(pattern, syntax).unwrap();
        for (path, expected) in cases {
            assert_eq!(
                p.is_match(path),
                *expected,
                "{syntax:?} pattern `{pattern}` on `{path}`"
            );
        }
    }

    fn gh(pattern: &str, cases: &[(&str, bool)]) {
        check(Syntax::GitHub, pattern, cases);
    }

    #[test]
    fn a_bare_name_matches_at_any_depth_as_file_or_directory() {
        gh(
            "foo",
            &[
                ("foo", true),
                ("foo.txt", false),
                ("foo/bar", true),
                ("bar/foo", true),
                ("bar/foo/baz", true),
                ("bar/baz", false),
            ],
        );
    }

    #[test]
    fn a_leading_slash_anchors_to_the_root() {
        gh(
            "/foo",
            &[
                ("foo", true),
                ("foo/bar/baz", true),
                ("bar/foo", false),
                ("fool", false),
            ],
        );
    }

    #[test]
    fn a_trailing_slash_matches_directories_only() {
        gh(
            "foo/",
            &[("foo", false), ("foo/bar", true), ("bar/foo/baz/qux", true)],
        );
        gh(
            "/build/logs/",
            &[
                ("build/logs/a.log", true),
                ("build/logs/x/y.log", true),
                ("x/build/logs/a.log", false),
                ("build/logs", false),
            ],
        );
    }

    #[test]
    fn a_middle_slash_anchors_on_github_but_not_on_gitlab() {
        gh(
            "foo/bar",
            &[
                ("foo/bar", true),
                ("foo/bar/baz", true),
                ("x/foo/bar", false),
            ],
        );
        check(
            Syntax::GitLab,
            "internal/README.md",
            &[
                ("internal/README.md", true),
                ("docs/internal/README.md", true),
                ("docs/api/internal/README.md", true),
                ("internal/README.mdx", false),
            ],
        );
    }

    #[test]
    fn a_trailing_lone_star_stays_in_its_directory() {
        gh(
            "docs/*",
            &[
                ("docs/getting-started.md", true),
                ("docs/build-app/troubleshooting.md", false),
                ("docs", false),
                ("x/docs/a.md", false),
            ],
        );
        gh("/*", &[("foo", true), ("foo/bar", false)]);
        gh("*", &[("foo", true), ("a/b/c", true)]);
    }

    #[test]
    fn star_stays_within_a_segment() {
        gh(
            "*.js",
            &[("a.js", true), ("src/a/b.js", true), ("a.jsx", false)],
        );
        gh(
            "foo/*.txt",
            &[
                ("foo/a.txt", true),
                ("foo/a/b.txt", false),
                ("x/foo/a.txt", false),
            ],
        );
        gh(
            "f*",
            &[("foo", true), ("bar/foo/baz", true), ("xfoo", false)],
        );
    }

    #[test]
    fn double_star_crosses_segments() {
        gh(
            "**/logs",
            &[
                ("logs", true),
                ("build/logs", true),
                ("deeply/nested/logs/x.log", true),
                ("logsx", false),
            ],
        );
        gh(
            "foo/**/bar",
            &[
                ("foo/bar", true),
                ("foo/a/b/bar/baz", true),
                ("x/foo/bar", false),
            ],
        );
        gh(
            "foo/bar/**",
            &[
                ("foo/bar", false),
                ("foo/bar/baz", true),
                ("foo/bar/a/b", true),
            ],
        );
    }

    #[test]
    fn question_mark_and_escapes() {
        gh("f?o", &[("foo", true), ("fo", false), ("fooo", false)]);
        gh("f\\*o", &[("f*o", true), ("foo", false)]);
        check(
            Syntax::GitLab,
            "path\\ with\\ spaces/",
            &[("path with spaces/a", true)],
        );
        check(
            Syntax::GitLab,
            "\\#file_with_pound.rb",
            &[("#file_with_pound.rb", true)],
        );
    }

    #[test]
    fn classes_work_on_gitlab_and_are_refused_on_github() {
        check(
            Syntax::GitLab,
            "*.[ch]",
            &[("a.c", true), ("a.h", true), ("a.o", false)],
        );
        assert!(PathPattern::compile("*.[ch]", Syntax::GitHub).is_err());
    }

    #[test]
    fn malformed_patterns_are_errors() {
        for p in ["", "/", "a***b", "a//b", "a\\"] {
            assert!(PathPattern::compile(p, Syntax::GitHub).is_err(), "{p}");
        }
    }
}
