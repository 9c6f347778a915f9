//! The tamper-evident audit trail.
//!
//! Every enforcing `check` writes exactly one record ([`record`]) to every
//! configured sink ([`sinks`]); each chained sink (a file, a PostgreSQL stream)
//! gives the record its place in a SHA-256 hash chain, signs it ([`sign`]), and
//! makes it durable before the gate exits. [`verify`] checks a chain, [`query`]
//! searches it, [`attest`] writes the decision as an in-toto attestation.

pub mod attest;
pub mod chain;
pub mod commands;
pub mod gate;
pub mod query;
pub mod record;
pub mod sign;
pub mod sinks;
pub mod verify;

use std::fmt;
use std::path::{Path, PathBuf};

pub use record::{GENESIS, Record, RecordDraft};
pub use sign::Signer;

/// The sink used when neither the policy nor the command line names one.
pub const DEFAULT_SINK: &str = "file:.git/gatehouse/audit.jsonl";
/// The prefix of file sinks that live inside the repository's git directory.
const GIT_DIR_PREFIX: &str = ".git/";

/// Where a sink spec came from: relative paths are resolved differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecOrigin {
    /// `--audit`: relative to the current directory.
    CommandLine,
    /// `[audit] sinks` in the policy, or the default: relative to `--repo`.
    Policy,
}

/// A parsed `--audit SINK` / `[audit] sinks` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkSpec {
    /// `file:PATH`
    File(String),
    /// `postgres://…` or `postgresql://…`
    Postgres(String),
    /// `http://…` or `https://…`
    Http(String),
}

impl SinkSpec {
    pub fn parse(s: &str) -> Result<SinkSpec, String> {
        if let Some(path) = s.strip_prefix("file:") {
            if path.is_empty() {
                return Err("`file:` needs a path, for example `file:audit.jsonl`".to_string());
            }
            Ok(SinkSpec::File(path.to_string()))
        } else if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(SinkSpec::Postgres(s.to_string()))
        } else if s.starts_with("https://") || s.starts_with("http://") {
            Ok(SinkSpec::Http(s.to_string()))
        } else {
            Err(format!(
                "`{s}` is not an audit sink; use file:PATH, postgres://… or https://…"
            ))
        }
    }
}

impl fmt::Display for SinkSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkSpec::File(p) => write!(f, "file:{p}"),
            SinkSpec::Postgres(url) => f.write_str(&sinks::postgres::redact_url(url)),
            SinkSpec::Http(url) => f.write_str(&sinks::http::redact_url(url)),
        }
    }
}

/// Why the record could not be written; names the sink.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkError {
    pub sink: String,
    pub message: String,
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "audit sink {}: {}", self.sink, self.message)
    }
}

/// Where a record landed in one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub seq: u64,
    /// `sha256:…` of the written line: the chain's new head.
    pub hash: String,
    pub line: String,
}

/// A configured sink, ready to write.
#[derive(Debug)]
pub enum Sink {
    File(PathBuf),
    Postgres(Box<sinks::postgres::PgTarget>),
    Http(sinks::http::HttpTarget),
}

impl Sink {
    /// Resolve `spec`: file paths against the repository or the current
    /// directory, `.git/` against the real git directory, tokens from the env.
    pub fn resolve(
        spec: &SinkSpec,
        origin: SpecOrigin,
        repo: &Path,
        token_env: Option<&str>,
    ) -> Result<Sink, SinkError> {
        let fail = |message: String| SinkError {
            sink: spec.to_string(),
            message,
        };
        match spec {
            SinkSpec::File(path) => resolve_file(path, origin, repo)
                .map(Sink::File)
                .map_err(fail),
            SinkSpec::Postgres(url) => sinks::postgres::PgTarget::new(url, None)
                .map(|t| Sink::Postgres(Box::new(t)))
                .map_err(fail),
            SinkSpec::Http(url) => sinks::http::HttpTarget::new(url, token_env)
                .map(Sink::Http)
                .map_err(fail),
        }
    }

    pub fn name(&self) -> String {
        match self {
            Sink::File(p) => format!("file:{}", p.display()),
            Sink::Postgres(t) => t.to_string(),
            Sink::Http(t) => t.to_string(),
        }
    }
}

/// The real location of a `file:` sink.
pub fn resolve_file(path: &str, origin: SpecOrigin, repo: &Path) -> Result<PathBuf, String> {
    if let Some(inner) = path.strip_prefix(GIT_DIR_PREFIX) {
        let git_dir = git_common_dir(repo)?;
        return Ok(git_dir.join(inner));
    }
    let p = PathBuf::from(path);
    Ok(match origin {
        SpecOrigin::Policy if p.is_relative() => repo.join(p),
        _ => p,
    })
}

/// The git directory shared by all worktrees of the repository at `repo`
/// (in a linked worktree `.git` is a file pointing elsewhere; gix follows it).
pub fn git_common_dir(repo: &Path) -> Result<PathBuf, String> {
    let repository = gix::discover(repo).map_err(|_| {
        format!(
            "{} is not inside a git repository, so `.git/` has no place to be; \
             pass an explicit sink such as `--audit file:audit.jsonl`",
            repo.display()
        )
    })?;
    Ok(repository.common_dir().to_path_buf())
}

/// Write one record to every sink. Chained sinks (file, PostgreSQL) each give
/// it a place in their chain; HTTP sinks receive the first chained sink's line
/// (or an unchained `seq: 0` line when there is none). Stops at the first failure.
pub fn write_all(
    sinks: &[Sink],
    draft: &RecordDraft,
    signer: Option<&Signer>,
) -> Result<Vec<(String, Appended)>, SinkError> {
    let mut written = Vec::new();
    let mut first_line: Option<String> = None;
    for sink in sinks.iter().filter(|s| !matches!(s, Sink::Http(_))) {
        let result = match sink {
            Sink::File(path) => sinks::file::append(path, draft, signer),
            Sink::Postgres(target) => sinks::postgres::append(target, draft, signer),
            Sink::Http(_) => unreachable!("filtered above"),
        };
        let appended = result.map_err(|message| SinkError {
            sink: sink.name(),
            message,
        })?;
        first_line.get_or_insert_with(|| appended.line.clone());
        written.push((sink.name(), appended));
    }
    for sink in sinks {
        if let Sink::Http(target) = sink {
            let line = match &first_line {
                Some(l) => l.clone(),
                None => {
                    record::seal(&draft.place(0, GENESIS), signer).map_err(|message| SinkError {
                        sink: sink.name(),
                        message,
                    })?
                }
            };
            sinks::http::post(target, &line).map_err(|message| SinkError {
                sink: sink.name(),
                message,
            })?;
            written.push((
                sink.name(),
                Appended {
                    seq: 0,
                    hash: record::line_hash(line.as_bytes()),
                    line,
                },
            ));
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_specs_parse() {
        assert_eq!(
            SinkSpec::parse("file:a.jsonl").unwrap(),
            SinkSpec::File("a.jsonl".into())
        );
        assert!(matches!(
            SinkSpec::parse("postgresql://h/db").unwrap(),
            SinkSpec::Postgres(_)
        ));
        assert!(
            SinkSpec::parse("s3://bucket")
                .unwrap_err()
                .contains("not an audit sink")
        );
        assert!(SinkSpec::parse("file:").is_err());
    }

    #[test]
    fn git_prefix_needs_a_repository() {
        let dir = tempfile::tempdir().unwrap();
        let err =
            resolve_file(".git/gatehouse/audit.jsonl", SpecOrigin::Policy, dir.path()).unwrap_err();
        assert!(err.contains("not inside a git repository"), "{err}");
    }
}
