//! The `gatehouse audit …` commands.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use super::chain::Head;
use super::query::{self, Filter};
use super::sinks::{file, postgres};
use super::verify::{self, ProblemKind, Summary, Verifier, VerifyOptions};
use super::{DEFAULT_SINK, Signer, SpecOrigin, resolve_file};
use crate::cli::{AuditCommand, QueryFormat};
use crate::exit::ExitStatus;
use crate::sanitize;

/// Where a command reads records from.
enum Log {
    File(PathBuf),
    Postgres(Box<postgres::PgTarget>),
}

impl Log {
    fn open(arg: Option<&str>, stream: Option<&str>) -> Result<Log, String> {
        match arg {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                postgres::PgTarget::new(url, stream).map(|t| Log::Postgres(Box::new(t)))
            }
            Some(path) => Ok(Log::File(PathBuf::from(
                path.strip_prefix("file:").unwrap_or(path),
            ))),
            None => {
                let default = DEFAULT_SINK.strip_prefix("file:").unwrap_or(DEFAULT_SINK);
                resolve_file(default, SpecOrigin::Policy, Path::new("."))
                    .map(Log::File)
                    .map_err(|e| format!("no LOG given and no default log: {e}"))
            }
        }
    }

    fn name(&self) -> String {
        match self {
            Log::File(p) => p.display().to_string(),
            Log::Postgres(t) => t.to_string(),
        }
    }

    /// The single stream a command works on.
    fn one_stream(target: &postgres::PgTarget) -> Result<String, String> {
        let streams = postgres::streams(target)?;
        match streams.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err("the table holds no records".to_string()),
            many => Err(format!(
                "the table holds {} streams ({}); pick one with --stream NAME",
                many.len(),
                many.join(", ")
            )),
        }
    }
}

fn error(message: &str) -> ExitStatus {
    eprintln!("error: {}", sanitize::terminal(message));
    ExitStatus::Indeterminate
}

fn out(text: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(text.as_bytes());
    let _ = o.flush();
}

pub fn run(command: &AuditCommand) -> ExitStatus {
    match command {
        AuditCommand::Verify {
            log,
            key,
            expect_head,
            stream,
        } => verify_cmd(
            log.as_deref(),
            key,
            expect_head.as_deref(),
            stream.as_deref(),
        ),
        AuditCommand::Query {
            log,
            decision,
            rule,
            repo,
            since,
            until,
            actor,
            format,
            stream,
        } => {
            let filter = Filter {
                decision: decision.clone(),
                rule: rule.clone(),
                repo: repo.clone(),
                since: since.map(|t| t.to_utc()),
                until: until.map(|t| t.to_utc()),
                actor: actor.clone(),
            };
            query_cmd(log.as_deref(), &filter, *format, stream.as_deref())
        }
        AuditCommand::Head { log, stream } => head_cmd(log.as_deref(), stream.as_deref()),
        AuditCommand::Keygen { out } => keygen(out),
        AuditCommand::Migrate { url } => match postgres::PgTarget::new(url, None)
            .and_then(|t| postgres::migrate(&t).map(|()| t))
        {
            Ok(t) => {
                out(&format!(
                    "{t}: table {} ready (append-only: UPDATE, DELETE and TRUNCATE are refused)\n",
                    postgres::TABLE
                ));
                ExitStatus::Allowed
            }
            Err(e) => error(&format!("{}: {e}", postgres::redact_url(url))),
        },
    }
}

fn verify_cmd(
    log: Option<&str>,
    keys: &[PathBuf],
    expect_head: Option<&str>,
    stream: Option<&str>,
) -> ExitStatus {
    let mut options = VerifyOptions::default();
    for k in keys {
        match super::sign::read_public_key(k) {
            Ok(key) => options.keys.push(key),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitStatus::Usage;
            }
        }
    }
    if let Some(h) = expect_head {
        match Head::parse(h) {
            Ok(h) => options.expect_head = Some(h),
            Err(e) => {
                eprintln!("error: --expect-head {e}");
                return ExitStatus::Usage;
            }
        }
    }
    let log = match Log::open(log, stream) {
        Ok(l) => l,
        Err(e) => return error(&e),
    };
    let name = log.name();
    let results: Vec<(String, Result<Summary, verify::Problem>)> = match &log {
        Log::File(path) => vec![(name.clone(), verify::verify_file(path, &options))],
        Log::Postgres(target) => {
            let streams = match postgres::streams(target) {
                Ok(s) if s.is_empty() => {
                    return error(&format!("{name}: the table holds no records"));
                }
                Ok(s) => s,
                Err(e) => return error(&format!("{name}: {e}")),
            };
            if options.expect_head.is_some() && streams.len() > 1 {
                eprintln!(
                    "error: --expect-head anchors one chain, but {name} holds {} streams; pick one with --stream NAME",
                    streams.len()
                );
                return ExitStatus::Usage;
            }
            let mut results = Vec::new();
            for s in streams {
                let mut verifier = Verifier::new(&options, "row");
                let mut broken = None;
                let read = postgres::for_each_batch(target, &s, verify::BATCH, |lines| {
                    if broken.is_none()
                        && let Err(p) = verifier.push_batch(&lines)
                    {
                        broken = Some(p);
                    }
                    Ok(())
                });
                let result = match (read, broken) {
                    (Err(e), _) => return error(&format!("{name} stream {s}: {e}")),
                    (Ok(()), Some(p)) => Err(p),
                    (Ok(()), None) => verifier.finish(),
                };
                let what = if target.stream.is_some() {
                    name.clone()
                } else {
                    format!("{name} stream {s}")
                };
                results.push((what, result));
            }
            results
        }
    };
    let mut status = ExitStatus::Allowed;
    for (what, result) in results {
        match result {
            Ok(summary) => out(&describe(&what, &summary, !options.keys.is_empty())),
            Err(p) if p.kind == ProblemKind::Unreadable => {
                eprintln!("error: {what}: {}", sanitize::terminal_line(&p.message));
                status = ExitStatus::Indeterminate;
            }
            Err(p) => {
                out(&format!(
                    "{what}: BROKEN ({}): {}\n",
                    p.kind.as_str(),
                    sanitize::terminal_line(&p.message)
                ));
                if status == ExitStatus::Allowed {
                    status = ExitStatus::Blocked;
                }
            }
        }
    }
    status
}

fn describe(what: &str, s: &Summary, keys_given: bool) -> String {
    let mut text = format!(
        "{what}: ok — {} record{}, head {}\n",
        s.records,
        if s.records == 1 { "" } else { "s" },
        s.head
    );
    let signers: Vec<&str> = s.signers.iter().map(String::as_str).collect();
    if keys_given {
        text.push_str(&format!(
            "  every record is signed by a trusted key ({})\n",
            signers.join(", ")
        ));
    } else {
        if s.signed_unchecked > 0 {
            text.push_str(&format!(
                "  {} signature{} valid, by {}; pass --key PUB to require a trusted signer\n",
                s.signed_unchecked,
                if s.signed_unchecked == 1 { "" } else { "s" },
                signers.join(", ")
            ));
        }
        if s.unsigned > 0 {
            text.push_str(&format!(
                "  {} record{} unsigned: only the hash chain protects {}\n",
                s.unsigned,
                if s.unsigned == 1 { " is" } else { "s are" },
                if s.unsigned == 1 { "it" } else { "them" }
            ));
        }
    }
    text
}

fn head_cmd(log: Option<&str>, stream: Option<&str>) -> ExitStatus {
    let log = match Log::open(log, stream) {
        Ok(l) => l,
        Err(e) => return error(&e),
    };
    let head = match &log {
        Log::File(path) => file::head(path),
        Log::Postgres(target) => Log::one_stream(target).and_then(|s| postgres::head(target, &s)),
    };
    match head {
        Ok(h) => {
            out(&format!("{h}\n"));
            ExitStatus::Allowed
        }
        Err(e) => error(&format!("{}: {e}", log.name())),
    }
}

fn query_cmd(
    log: Option<&str>,
    filter: &Filter,
    format: QueryFormat,
    stream: Option<&str>,
) -> ExitStatus {
    let log = match Log::open(log, stream) {
        Ok(l) => l,
        Err(e) => return error(&e),
    };
    let name = log.name();
    if format == QueryFormat::Table {
        out(&query::table_header());
    }
    let mut position = 0u64;
    let mut emit = |line: &[u8], unit: &str| -> Result<(), String> {
        position += 1;
        let record = query::parse_line(line, &format!("{unit} {position}"))?;
        if filter.matches(&record) {
            match format {
                QueryFormat::Table => out(&query::table_row(&record)),
                QueryFormat::Json => {
                    // The stored line: valid JSON whose strings are escaped, safe for a terminal.
                    let mut l = String::from_utf8_lossy(line).into_owned();
                    l.push('\n');
                    out(&l);
                }
            }
        }
        Ok(())
    };
    let result = match &log {
        Log::File(path) => (|| {
            let f = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
            let mut reader = std::io::BufReader::new(f);
            let mut line = Vec::new();
            loop {
                line.clear();
                let n = reader
                    .read_until(b'\n', &mut line)
                    .map_err(|e| format!("cannot read: {e}"))?;
                if n == 0 {
                    return Ok(());
                }
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                emit(&line, "line")?;
            }
        })(),
        Log::Postgres(target) => Log::one_stream(target).and_then(|s| {
            postgres::for_each_batch(target, &s, verify::BATCH, |lines| {
                lines.iter().try_for_each(|l| emit(l, "row"))
            })
        }),
    };
    match result {
        Ok(()) => ExitStatus::Allowed,
        Err(e) => error(&format!("{name}: {e}")),
    }
}

fn keygen(path: &Path) -> ExitStatus {
    let pub_path = PathBuf::from(format!("{}.pub", path.display()));
    for p in [path, pub_path.as_path()] {
        if p.exists() {
            eprintln!(
                "error: {} already exists; gatehouse never overwrites a key (choose another --out)",
                p.display()
            );
            return ExitStatus::Usage;
        }
    }
    let signer = match Signer::generate("gatehouse-audit") {
        Ok(s) => s,
        Err(e) => return error(&e),
    };
    let private = match signer.to_openssh() {
        Ok(p) => p,
        Err(e) => return error(&e),
    };
    let public = match signer.public_key().to_openssh() {
        Ok(p) => p,
        Err(e) => return error(&e.to_string()),
    };
    if let Err(e) = write_private(path, &private) {
        return error(&format!("cannot write {}: {e}", path.display()));
    }
    if let Err(e) = std::fs::write(&pub_path, format!("{public}\n")) {
        return error(&format!("cannot write {}: {e}", pub_path.display()));
    }
    out(&format!(
        "wrote {} (private: keep it in a CI secret, e.g. ${}) and {}\n\
         fingerprint: {}\n\
         verify the log with:   gatehouse audit verify --key {}\n\
         allowed_signers line:  gatehouse {public}\n",
        path.display(),
        crate::env_vars::gatehouse::GATEHOUSE_AUDIT_KEY,
        pub_path.display(),
        signer.fingerprint(),
        pub_path.display(),
    ));
    ExitStatus::Allowed
}

/// Create the private key file readable by its owner only.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}
