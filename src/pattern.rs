//! Glob and regex values from the policy, compiled once at load time with
//! diagnostics that point at the offending string.
//!
//! Glob semantics (for branches, tags, refs and paths alike):
//! - `*` matches any run of characters within one segment (it never crosses `/`),
//! - `**` matches across segments (`src/**` is everything below `src/`),
//! - `?` one character, `[abc]` / `[!abc]` a class, `{a,b}` alternatives,
//! - `\` escapes the next character; matching is case-sensitive.

use std::ops::Range;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use regex::Regex;
use toml::Spanned;

use crate::policy::{DiagnosticKind, PolicyDiagnostic};

/// A set of globs that remembers its source patterns for messages.
#[derive(Debug, Clone)]
pub struct Globs {
    patterns: Vec<String>,
    set: GlobSet,
}

impl Globs {
    pub fn compile(patterns: &[Spanned<String>]) -> Result<Globs, PolicyDiagnostic> {
        let mut builder = GlobSetBuilder::new();
        for p in patterns {
            builder.add(glob(p.get_ref(), p.span())?);
        }
        let set = builder.build().map_err(|e| {
            PolicyDiagnostic::new(DiagnosticKind::BadGlob, format!("invalid glob set: {e}"))
        })?;
        Ok(Globs {
            patterns: patterns.iter().map(|p| p.get_ref().clone()).collect(),
            set,
        })
    }

    pub fn is_match(&self, candidate: &str) -> bool {
        self.set.is_match(candidate)
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// The patterns joined for a message: `main, release/*`.
    pub fn describe(&self) -> String {
        self.patterns.join(", ")
    }
}

fn glob(pattern: &str, span: Range<usize>) -> Result<Glob, PolicyDiagnostic> {
    if pattern.is_empty() {
        return Err(
            PolicyDiagnostic::new(DiagnosticKind::BadGlob, "empty glob pattern")
                .at(Some(span), "matches nothing")
                .help("remove the empty string, or use `**` to match everything"),
        );
    }
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| {
            PolicyDiagnostic::new(
                DiagnosticKind::BadGlob,
                format!("invalid glob `{pattern}`: {}", e.kind()),
            )
            .at(Some(span), "this glob")
            .help("`*` matches within a path segment, `**` across segments, `?` one character, `[abc]` a class, `{a,b}` alternatives")
        })
}

/// Compile a regex from the policy; an invalid one points at its string.
pub fn regex(pattern: &Spanned<String>) -> Result<Regex, PolicyDiagnostic> {
    Regex::new(pattern.get_ref()).map_err(|e| {
        let detail = e.to_string();
        // regex's own message is multi-line with its own caret; keep its last line.
        let reason = detail
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("invalid regex")
            .trim()
            .trim_start_matches("error: ")
            .to_string();
        PolicyDiagnostic::new(
            DiagnosticKind::BadRegex,
            format!("invalid regular expression: {reason}"),
        )
        .at(Some(pattern.span()), "this regex")
        .help("the syntax is Rust's `regex` crate (no look-around or back-references); in TOML prefer literal strings '…' so backslashes stay as written")
    })
}
