//! The commands behind the command line. Each returns the [`ExitStatus`];
//! `main` only parses arguments and exits with it.

use std::io::Write as _;
use std::path::Path;

use chrono::Utc;

use crate::audit::RecordDraft;
use crate::audit::gate as audit_gate;
use crate::cli::{CheckArgs, Cli, Command, PolicyCommand, SourceArgs};
use crate::decision::Decision;
use crate::engine::{self, EvalOptions};
use crate::exit::ExitStatus;
use crate::explain;
use crate::policy::{self, Policy, PolicyError, PolicySource};
use crate::report::{self, RenderOptions};
use crate::rules::registry;
use crate::sanitize;
use crate::sources::{self, SourceError};

pub fn run(cli: Cli) -> ExitStatus {
    match cli.command {
        Command::Check(args) => check(&args),
        Command::Facts(args) => facts(&args),
        Command::Policy(PolicyCommand::Validate { file }) => validate(file.as_deref()),
        Command::Policy(PolicyCommand::Schema) => {
            print(&policy::schema::policy_schema_text());
            ExitStatus::Allowed
        }
        Command::Audit(command) => crate::audit::commands::run(&command),
        Command::Explain { kind } => explain_kind(kind.as_deref()),
    }
}

fn stderr_color() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
        && std::env::var_os(crate::env_vars::gatehouse::NO_COLOR).is_none_or(|v| v.is_empty())
}

/// Write to stdout; a closed pipe (`gatehouse … | head`) is not an error worth a panic.
fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn report_policy_error(e: &PolicyError) -> ExitStatus {
    eprint!("{}", e.render(stderr_color()));
    ExitStatus::Usage
}

fn report_source_error(e: &SourceError) -> ExitStatus {
    eprintln!(
        "error: could not gather facts — {}",
        sanitize::terminal(&e.to_string())
    );
    eprintln!(
        "the gate blocks: facts that cannot be read completely are never treated as allowed (exit 3)"
    );
    ExitStatus::Indeterminate
}

fn load_policy(explicit: Option<&Path>, repo: &Path) -> Result<(Policy, Vec<String>), PolicyError> {
    let source = match explicit {
        Some(path) => PolicySource::read(path)?,
        None => PolicySource::discover(repo)?,
    };
    let mut notices = Vec::new();
    if source.builtin {
        notices.push(format!(
            "no policy file found in {} (looked for {}); using the built-in default policy",
            repo.display(),
            policy::DISCOVERY_ORDER.join(", ")
        ));
    }
    Ok((source.parse()?, notices))
}

fn check(args: &CheckArgs) -> ExitStatus {
    if let (Some(now), false) = (args.now, args.dry_run) {
        eprintln!(
            "error: --now {} is accepted only with --dry-run\n\
             A pretended instant must never decide a real pipeline; ask with\n  \
             gatehouse check --dry-run --now {}",
            now.to_rfc3339(),
            now.to_rfc3339()
        );
        return ExitStatus::Usage;
    }
    let (policy, mut notices) = match load_policy(args.policy.as_deref(), &args.source.repo) {
        Ok(p) => p,
        Err(e) => {
            let status = report_policy_error(&e);
            if !args.dry_run {
                let shown = args.policy.as_ref().map_or_else(
                    || args.source.repo.display().to_string(),
                    |p| p.display().to_string(),
                );
                if let Err(audit_status) = audit_gate::record_policy_failure(
                    &args.audit,
                    &args.source.repo,
                    &shown,
                    &e.to_string(),
                ) {
                    return audit_status;
                }
            }
            return status;
        }
    };
    let gathered = match sources::gather(&args.source.options()) {
        Ok(g) => g,
        Err(e) => {
            let status = report_source_error(&e);
            if !args.dry_run
                && let Err(audit_status) = audit_gate::record_source_failure(
                    &args.audit,
                    &args.source.repo,
                    &policy,
                    &e.to_string(),
                )
            {
                return audit_status;
            }
            return status;
        }
    };
    notices.extend(gathered.notices);
    let now = args.now.map_or_else(Utc::now, |n| n.with_timezone(&Utc));
    let decision = engine::evaluate(
        &policy,
        &gathered.facts,
        EvalOptions {
            now,
            environment: args.source.environment.clone(),
            dry_run: args.dry_run,
            policy_source_ref: None,
            notices,
        },
    );
    // Decision → audit sinks → reports → exit code. A dry run records nothing.
    let recorded = if args.dry_run {
        if args.audit.attest.is_some() {
            eprintln!(
                "note: --attest is ignored in a dry run: a dry run never vouches for a change"
            );
        }
        Ok(())
    } else {
        audit_gate::Plan::new(&args.audit, Some(&policy.audit), &args.source.repo).and_then(
            |plan| {
                plan.record(&RecordDraft::from_decision(&decision, &gathered.facts))?;
                match &args.audit.attest {
                    Some(path) => plan.attest(path, &decision, &gathered.facts),
                    None => Ok(()),
                }
            },
        )
    };
    if let Err(status) = write_reports(args, &decision) {
        return status;
    }
    if let Err(status) = recorded {
        return status;
    }
    ExitStatus::for_decision(&decision)
}

/// Print the `--format` report and write every `--report FORMAT=PATH`.
/// A report that cannot be written fails the run (exit 3): nothing is lost silently.
fn write_reports(args: &CheckArgs, decision: &Decision) -> Result<(), ExitStatus> {
    let options = RenderOptions {
        color: report::stdout_wants_color(),
    };
    print(&report::render(args.format, decision, options));
    for target in &args.report {
        let text = report::render(target.format, decision, RenderOptions { color: false });
        if let Err(e) = write_file(&target.path, &text) {
            eprintln!(
                "error: cannot write the {} report to {}: {e}",
                target.format,
                target.path.display()
            );
            return Err(ExitStatus::Indeterminate);
        }
    }
    Ok(())
}

fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)
}

fn facts(args: &SourceArgs) -> ExitStatus {
    match sources::gather(&args.options()) {
        Ok(gathered) => {
            for notice in &gathered.notices {
                eprintln!("note: {}", sanitize::terminal_line(notice));
            }
            let mut text = serde_json::to_string_pretty(&gathered.facts)
                .expect("Facts are plain data and always serialise");
            text.push('\n');
            print(&text);
            ExitStatus::Allowed
        }
        Err(e) => report_source_error(&e),
    }
}

fn validate(file: Option<&Path>) -> ExitStatus {
    let path = match file {
        Some(p) => p.to_path_buf(),
        None => match PolicySource::find(Path::new(".")) {
            Some(p) => p,
            None => {
                eprintln!(
                    "error: no policy file given and none found here (looked for {})",
                    policy::DISCOVERY_ORDER.join(", ")
                );
                return ExitStatus::Usage;
            }
        },
    };
    let parsed = PolicySource::read(&path).and_then(|s| s.parse());
    match parsed {
        Ok(policy) => {
            let ids: Vec<&str> = policy.rules.iter().map(|r| r.id.as_str()).collect();
            print(&format!(
                "{}: valid policy with {} rule{}{}\n",
                path.display(),
                ids.len(),
                if ids.len() == 1 { "" } else { "s" },
                if ids.is_empty() {
                    String::new()
                } else {
                    format!(": {}", ids.join(", "))
                }
            ));
            ExitStatus::Allowed
        }
        Err(e) => report_policy_error(&e),
    }
}

fn explain_kind(kind: Option<&str>) -> ExitStatus {
    match kind {
        None => {
            print(&explain::index());
            ExitStatus::Allowed
        }
        Some(name) => match registry::find(name) {
            Some(kind) => {
                print(&explain::explain(kind));
                ExitStatus::Allowed
            }
            None => {
                let names = registry::names();
                let hint = policy::did_you_mean(name, names.iter().copied())
                    .map(|s| format!(" — did you mean `{s}`?"))
                    .unwrap_or_default();
                eprintln!(
                    "error: unknown rule kind `{}`{hint}\nknown kinds: {}",
                    sanitize::terminal_line(name),
                    names.join(", ")
                );
                ExitStatus::Usage
            }
        },
    }
}
