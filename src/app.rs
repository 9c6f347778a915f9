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
use crate::sources::{self, SourceError, SourceOptions};

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
        Command::Hook(command) => crate::hook::command(command),
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

pub(crate) fn report_source_error(e: &SourceError) -> ExitStatus {
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
    let policy = source.parse()?;
    notices.extend(policy.notices.iter().cloned());
    Ok((policy, notices))
}

/// A policy, the notices about it, and the commit it was read from.
type LoadedPolicy = (Policy, Vec<String>, Option<String>);

/// Why the policy of a check could not be had: it is invalid (exit 2), or the
/// commit it must be read from could not be read (exit 3).
enum LoadError {
    Policy(PolicyError),
    Source(SourceError),
}

impl From<PolicyError> for LoadError {
    fn from(e: PolicyError) -> Self {
        LoadError::Policy(e)
    }
}

impl From<SourceError> for LoadError {
    fn from(e: SourceError) -> Self {
        LoadError::Source(e)
    }
}

impl LoadError {
    /// Tell the user; the exit status and the reason to record.
    fn report(&self) -> (ExitStatus, String) {
        match self {
            LoadError::Policy(e) => (report_policy_error(e), e.to_string()),
            LoadError::Source(e) => (report_source_error(e), e.to_string()),
        }
    }
}

/// `--source gitlab` in a merge request pipeline: the policy of the merge
/// request's base commit, read through the API, never the checkout of the
/// change (DESIGN.md principle 3). `None` when that does not apply.
fn load_gitlab_policy(
    args: &CheckArgs,
    options: &SourceOptions,
) -> Option<Result<LoadedPolicy, LoadError>> {
    if options.source != sources::SourceKind::Gitlab || options.facts.is_some() {
        return None;
    }
    let base = match sources::gitlab::policy_from_base(args.policy.as_deref(), options) {
        Ok(Some(base)) => base,
        Ok(None) => return None,
        Err(e) => return Some(Err(e.into())),
    };
    let (source, notice) = policy_at_base(
        base.file,
        &base.commit,
        "the merge request's base commit",
        " (GitLab API), not from the checkout",
    );
    Some(
        source
            .parse()
            .map(|p| (p, vec![notice], Some(base.commit)))
            .map_err(LoadError::from),
    )
}

/// The policy file found at a base commit (`file` is its path and text, `None`
/// when the commit has none) and the notice saying where it was read from
/// (`read_from`: "the base commit", "the merge request's base commit").
fn policy_at_base(
    file: Option<(String, String)>,
    commit: &str,
    read_from: &str,
    via: &str,
) -> (PolicySource, String) {
    let short = crate::facts::short_sha(commit);
    match file {
        Some((path, text)) => {
            let notice = format!("policy {path} read from {read_from} {short}{via}");
            (
                PolicySource {
                    origin: path,
                    text,
                    builtin: false,
                },
                notice,
            )
        }
        None => (
            PolicySource::builtin(),
            format!(
                "{read_from} {short} has no policy file (looked for {}); using the built-in default policy",
                policy::DISCOVERY_ORDER.join(", ")
            ),
        ),
    }
}

/// The policy a check evaluates, with notices and the commit it was read
/// from. Without `--policy`, a run on the local repository reads it from the
/// base commit of the range (DESIGN.md principle 3: trust the base, not the
/// change); otherwise it is discovered in the `--repo` directory.
fn load_check_policy(args: &CheckArgs, options: &SourceOptions) -> Result<LoadedPolicy, LoadError> {
    if let Some(loaded) = load_gitlab_policy(args, options) {
        return loaded;
    }
    if args.policy.is_none()
        && options.source == sources::SourceKind::Github
        && options.facts.is_none()
    {
        return github_base_policy(args, options);
    }
    let reads_git = matches!(
        (options.source, &options.facts),
        (sources::SourceKind::Git | sources::SourceKind::Auto, None)
    );
    if args.policy.is_some() || !reads_git {
        let (policy, notices) = load_policy(args.policy.as_deref(), &args.source.repo)?;
        return Ok((policy, notices, None));
    }
    // The same range the facts cover: in a CI job or a hook, the context's base.
    let request = sources::effective_git_request(options)?;
    let base = sources::git::policy_from_base(&request)?;
    let Some(base) = base else {
        let (policy, notices) = load_policy(None, &args.source.repo)?;
        return Ok((policy, notices, None));
    };
    let (source, notice) = policy_at_base(
        base.file.clone(),
        &base.commit,
        "the base commit",
        ", not from the working tree",
    );
    let mut notices = vec![notice];
    notices.extend(base.edit_notice());
    let policy = source.parse()?;
    Ok((policy, notices, Some(base.commit)))
}

/// `--source github` without `--policy`: the policy of the base commit, read
/// through the contents API (the checkout may be the change itself). Without
/// a base (a deployment of a commit), the checkout's policy is used.
fn github_base_policy(
    args: &CheckArgs,
    options: &SourceOptions,
) -> Result<LoadedPolicy, LoadError> {
    let env = |name: &str| std::env::var(name).ok();
    let request = sources::github::context::from_env(options, Vec::new(), &env)?;
    let Some(base) = request
        .base_sha
        .clone()
        .filter(|b| !sources::env::is_zero_sha(b))
    else {
        let (policy, notices) = load_policy(None, &args.source.repo)?;
        return Ok((policy, notices, None));
    };
    let file = sources::github::policy_from_base(&request, &base)?;
    let (source, notice) =
        policy_at_base(file, &base, "the base commit", " through the GitHub API");
    let policy = source.parse()?;
    Ok((policy, vec![notice], Some(base)))
}

fn check(args: &CheckArgs) -> ExitStatus {
    check_with(args, &args.source.options())
}

/// `gatehouse check` with source options built by the caller (the pre-push
/// hook passes the context of each pushed ref).
pub(crate) fn check_with(args: &CheckArgs, options: &SourceOptions) -> ExitStatus {
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
    let (policy, mut notices, policy_source_ref) = match load_check_policy(args, options) {
        Ok(p) => p,
        Err(e) => {
            let (status, reason) = e.report();
            if !args.dry_run {
                let shown = args.policy.as_ref().map_or_else(
                    || args.source.repo.display().to_string(),
                    |p| p.display().to_string(),
                );
                if let Err(audit_status) = audit_gate::record_policy_failure(
                    &args.audit,
                    &args.source.repo,
                    &shown,
                    &reason,
                ) {
                    return audit_status;
                }
            }
            return status;
        }
    };
    let mut options = options.clone();
    options.teams = policy.teams();
    let gathered = match sources::gather(&options) {
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
            policy_source_ref,
            notices,
            override_reason: std::env::var(crate::env_vars::gatehouse::GATEHOUSE_OVERRIDE_REASON)
                .ok()
                .filter(|r| !r.trim().is_empty()),
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
    let text = report::render(args.format, decision, options);
    print(&report::for_github_log(args.format, text));
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
            for notice in &policy.notices {
                print(&format!("note: {}\n", sanitize::terminal_line(notice)));
            }
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
