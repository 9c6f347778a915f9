//! git's SSH `allowed_signers` format (see ssh-keygen(1), "ALLOWED SIGNERS"):
//!
//! ```text
//! # principals   [options]                               key
//! alice@acme.dev ssh-ed25519 AAAAC3Nza… alice
//! *@acme.dev     namespaces="git",valid-after="20260101" ssh-ed25519 AAAA…
//! "bob@acme.dev,bob@old.example" valid-before="20261231Z" ssh-ed25519 AAAA…
//! ```
//!
//! Principals and `namespaces=` are comma-separated pattern lists (`*`, `?`,
//! `!negation`), matched as OpenSSH's `match_pattern_list` does. Times are
//! `YYYYMMDD[HHMM[SS]]` with an optional `Z`; gatehouse reads them as UTC
//! either way (ssh-keygen reads times without `Z` in the local zone, which
//! differs between runners, so write the `Z`). `cert-authority` lines are
//! rejected as unsupported: certificate signatures are not verified.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use ssh_key::PublicKey;

use super::{KeyListError, lines_with_ranges};

/// One line of an allowed-signers list.
#[derive(Debug, Clone)]
pub struct Entry {
    /// 1-based line in the list.
    pub line: usize,
    /// The principal pattern list, as written (`alice@acme.dev`, `*@acme.dev`).
    pub principals: String,
    /// Pattern list of namespaces the key may sign for; `None` = any.
    pub namespaces: Option<String>,
    pub valid_after: Option<DateTime<Utc>>,
    pub valid_before: Option<DateTime<Utc>>,
    pub key: PublicKey,
}

impl Entry {
    /// Whether the line allows signatures in `namespace`.
    pub fn allows_namespace(&self, namespace: &str) -> bool {
        self.namespaces
            .as_deref()
            .is_none_or(|list| match_pattern_list(namespace, list))
    }
}

/// A parsed allowed-signers list.
#[derive(Debug, Clone)]
pub struct AllowedSigners {
    pub entries: Vec<Entry>,
}

const FORMAT_HELP: &str = "each line is `principals [options] keytype base64-key [comment]`, for example `alice@acme.dev ssh-ed25519 AAAAC3Nza…` (see ssh-keygen(1), ALLOWED SIGNERS)";

impl AllowedSigners {
    /// Parse the whole list; every bad line is reported.
    pub fn parse(text: &str) -> Result<AllowedSigners, Vec<KeyListError>> {
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        for (line, range, raw) in lines_with_ranges(text) {
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            match parse_line(trimmed) {
                Ok(mut entry) => {
                    entry.line = line;
                    entries.push(entry);
                }
                Err((message, help)) => errors.push(KeyListError {
                    line,
                    range,
                    message,
                    help,
                }),
            }
        }
        if entries.is_empty() && errors.is_empty() {
            errors.push(KeyListError {
                line: 1,
                range: 0..text.len(),
                message: "no signers listed".into(),
                help: FORMAT_HELP.into(),
            });
        }
        if errors.is_empty() {
            Ok(AllowedSigners { entries })
        } else {
            Err(errors)
        }
    }
}

type LineError = (String, String);

fn parse_line(line: &str) -> Result<Entry, LineError> {
    let (principals, rest) = take_field(line);
    let principals = principals.trim_matches('"').to_string();
    if principals.is_empty() || rest.trim().is_empty() {
        return Err((
            "expected principals followed by a key".into(),
            FORMAT_HELP.into(),
        ));
    }
    let rest = rest.trim_start();
    // Options are present exactly when what follows is not already a key.
    let (options, key_text) = match PublicKey::from_openssh(rest) {
        Ok(_) => ("", rest),
        Err(_) => {
            let (options, after) = take_field(rest);
            (options, after.trim_start())
        }
    };
    let key = PublicKey::from_openssh(key_text).map_err(|e| {
        (
            format!("not a valid SSH public key ({e})"),
            "paste the whole public key line as `ssh-keygen -y -f KEY` or the `.pub` file prints it"
                .to_string(),
        )
    })?;
    let mut entry = Entry {
        line: 0,
        principals,
        namespaces: None,
        valid_after: None,
        valid_before: None,
        key,
    };
    for option in split_options(options) {
        let (name, value) = match option.split_once('=') {
            Some((n, v)) => (n, Some(v.trim_matches('"'))),
            None => (option, None),
        };
        match (name.to_ascii_lowercase().as_str(), value) {
            ("cert-authority", None) => {
                return Err((
                    "`cert-authority` lines are not supported".into(),
                    "list each signer's own key instead of a certificate authority".into(),
                ));
            }
            ("namespaces", Some(v)) => entry.namespaces = Some(v.to_string()),
            ("valid-after", Some(v)) => entry.valid_after = Some(parse_time(v)?),
            ("valid-before", Some(v)) => entry.valid_before = Some(parse_time(v)?),
            _ => {
                return Err((
                    format!("unknown option `{option}`"),
                    "allowed options: namespaces=\"…\", valid-after=\"…\", valid-before=\"…\""
                        .into(),
                ));
            }
        }
    }
    Ok(entry)
}

/// The first whitespace-delimited field (double quotes group), and the rest.
fn take_field(s: &str) -> (&str, &str) {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return (&s[..i], &s[i..]),
            _ => {}
        }
    }
    (s, "")
}

/// Comma-separated options, commas inside quotes kept.
fn split_options(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut start) = (false, 0);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out.into_iter().filter(|o| !o.is_empty()).collect()
}

/// `YYYYMMDD`, `YYYYMMDDHHMM` or `YYYYMMDDHHMMSS`, optionally ending in `Z`.
fn parse_time(value: &str) -> Result<DateTime<Utc>, LineError> {
    let digits = value.strip_suffix(['Z', 'z']).unwrap_or(value);
    let bad = || {
        (
            format!("`{value}` is not a time"),
            "write times as YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS with a trailing Z (UTC), for example valid-after=\"20260101Z\"".to_string(),
        )
    };
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let naive = match digits.len() {
        8 => NaiveDate::parse_from_str(digits, "%Y%m%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0)),
        12 => NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M").ok(),
        14 => NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M%S").ok(),
        _ => None,
    }
    .ok_or_else(bad)?;
    Ok(Utc.from_utc_datetime(&naive))
}

/// OpenSSH's `match_pattern_list`: true when some pattern matches and no
/// negated (`!pattern`) one does.
pub fn match_pattern_list(s: &str, list: &str) -> bool {
    let mut positive = false;
    for pattern in list.split(',') {
        let pattern = pattern.trim();
        if let Some(negated) = pattern.strip_prefix('!') {
            if match_pattern(s, negated) {
                return false;
            }
        } else if match_pattern(s, pattern) {
            positive = true;
        }
    }
    positive
}

/// `*` matches any run of characters, `?` any one character.
fn match_pattern(s: &str, pattern: &str) -> bool {
    let s: Vec<char> = s.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    // Classic wildcard matching with backtracking to the last `*`.
    let (mut i, mut j) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while i < s.len() {
        if j < p.len() && (p[j] == '?' || p[j] == s[i]) {
            i += 1;
            j += 1;
        } else if j < p.len() && p[j] == '*' {
            star = Some(j);
            mark = i;
            j += 1;
        } else if let Some(st) = star {
            j = st + 1;
            mark += 1;
            i = mark;
        } else {
            return false;
        }
    }
    p[j..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILaDM5eOQc0d/oHqvWkJAAqdGOE24NZRzw3dJrcOtBwz";

    #[test]
    fn parses_principals_options_and_keys() {
        let text = format!(
            "# team keys\n\nalice@acme.dev {KEY} alice\n\"*@acme.dev,!eve@acme.dev\" namespaces=\"git,file\",valid-after=\"20260101\",valid-before=\"202612311200Z\" {KEY}\n"
        );
        let list = AllowedSigners::parse(&text).unwrap();
        assert_eq!(list.entries.len(), 2);
        assert_eq!(list.entries[0].line, 3);
        assert_eq!(list.entries[0].principals, "alice@acme.dev");
        let e = &list.entries[1];
        assert_eq!(e.principals, "*@acme.dev,!eve@acme.dev");
        assert_eq!(e.namespaces.as_deref(), Some("git,file"));
        assert_eq!(
            e.valid_after,
            Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap())
        );
        assert_eq!(
            e.valid_before,
            Some(Utc.with_ymd_and_hms(2026, 12, 31, 12, 0, 0).unwrap())
        );
        assert!(e.allows_namespace("git"));
        assert!(!e.allows_namespace("other"));
    }

    #[test]
    fn bad_lines_are_reported_with_their_line() {
        let text = format!(
            "alice@acme.dev {KEY}\nbob@acme.dev ssh-ed25519 AAAAnotbase64\ncarol@acme.dev cert-authority {KEY}\ndave@acme.dev valid-after=\"tomorrow\" {KEY}\nerin@acme.dev\n"
        );
        let errors = AllowedSigners::parse(&text).unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5]);
        assert!(errors[1].message.contains("cert-authority"), "{errors:?}");
        assert_eq!(
            &text[errors[0].range.clone()],
            "bob@acme.dev ssh-ed25519 AAAAnotbase64"
        );
    }

    #[test]
    fn an_empty_list_is_an_error_not_nobody() {
        assert!(AllowedSigners::parse("# nothing\n").is_err());
    }

    #[test]
    fn pattern_lists_follow_openssh() {
        assert!(match_pattern_list("alice@acme.dev", "*@acme.dev"));
        assert!(match_pattern_list("alice@acme.dev", "bob@x,alice@acme.dev"));
        assert!(!match_pattern_list("eve@acme.dev", "*@acme.dev,!eve@*"));
        assert!(match_pattern_list("a1", "a?"));
        assert!(!match_pattern_list("alice@acme.dev.evil", "*@acme.dev"));
        assert!(!match_pattern_list("x", "!y"));
    }
}
