//! The git pre-push hook: `gatehouse hook install` writes a few lines of shell
//! into the repository's hooks directory that `exec` this binary as
//! `gatehouse hook run pre-push <remote> <url>`; that reads the refs git is
//! about to push from standard input and gates exactly the commits each one
//! adds to the remote. The push is refused (non-zero exit) exactly when the
//! gate blocks or cannot decide.
//!
//! Git is asked, not second-guessed: the hooks directory comes from
//! `git rev-parse --git-path hooks` (which honours `core.hooksPath` and
//! worktrees), and the commits a new branch brings come from
//! `git rev-list <sha> --not --remotes=<remote>`, git's own answer to "what is
//! not on the remote yet".

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::app;
use crate::cli::{CheckArgs, HookCommand, SourceArgs};
use crate::exit::ExitStatus;
use crate::facts::{EventKind, short_sha};
use crate::report::Format;
use crate::sanitize;
use crate::sources::SourceError;
use crate::sources::SourceKind;
use crate::sources::env::{CiContext, Provider, RefUpdate, is_zero_sha};

/// The line that identifies a hook as ours. Install replaces only hooks that
/// carry it (unless `--force`); uninstall removes only those.
pub const MARKER: &str = "# gatehouse-hook: managed by `gatehouse hook install`";

/// The suffix a foreign hook is kept under when `--force` replaces it.
pub const BACKUP_SUFFIX: &str = ".gatehouse-backup";

/// The hooks gatehouse can install.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HookKind {
    /// Runs before `git push` sends anything; gates the commits being pushed.
    PrePush,
}

impl HookKind {
    /// The hook's file name, as git calls it.
    pub fn file_name(self) -> &'static str {
        match self {
            HookKind::PrePush => "pre-push",
        }
    }
}

impl fmt::Display for HookKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file_name())
    }
}

/// Why a hook command failed: what and, when known, how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct HookError {
    pub message: String,
    pub hint: Option<String>,
}

impl HookError {
    fn new(message: impl Into<String>) -> Self {
        HookError {
            message: message.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Run git in `repo`, returning its standard output; a failure names the command.
fn git(repo: &Path, args: &[&str]) -> Result<String, HookError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .map_err(|e| {
            HookError::new(format!("cannot run `git {}`: {e}", args.join(" ")))
                .hint("install git and make sure it is on PATH")
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let why = match stderr.trim() {
            "" => out.status.to_string(),
            text => text.to_string(),
        };
        return Err(HookError::new(format!(
            "`git {}` failed in {}: {why}",
            args.join(" "),
            repo.display(),
        )));
    }
    String::from_utf8(out.stdout)
        .map_err(|_| HookError::new(format!("`git {}` printed non-UTF-8 output", args.join(" "))))
}

/// The directory git runs hooks from (`core.hooksPath` when set).
pub fn hooks_dir(repo: &Path) -> Result<PathBuf, HookError> {
    let out = git(repo, &["rev-parse", "--git-path", "hooks"]).map_err(|e| {
        HookError::new(format!("{} is not inside a git repository", repo.display())).hint(format!(
            "run the command inside a checkout, or pass `--repo DIR` ({})",
            e.message
        ))
    })?;
    let path = PathBuf::from(out.trim_end_matches(['\n', '\r']));
    Ok(if path.is_absolute() || repo == Path::new(".") {
        path
    } else {
        repo.join(path)
    })
}

/// Quote `text` for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The hook script: a marker, and an `exec` of this binary (its path baked in,
/// so the hook works whatever the PATH of the pushing shell).
pub fn script(kind: HookKind, exe: &Path) -> String {
    let exe = shell_quote(&exe.display().to_string());
    format!(
        "#!/bin/sh\n\
         {MARKER}; remove it with `gatehouse hook uninstall`.\n\
         # Gates exactly the commits being pushed: the push is refused when the policy blocks.\n\
         gatehouse={exe}\n\
         if [ ! -x \"$gatehouse\" ]; then\n\
         \techo \"gatehouse: $gatehouse is missing, so the push cannot be gated and is refused.\" >&2\n\
         \techo \"Reinstall the hook with: gatehouse hook install --force\" >&2\n\
         \texit 1\n\
         fi\n\
         exec \"$gatehouse\" hook run {kind} \"$@\"\n"
    )
}

fn is_ours(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| text.contains(MARKER))
}

/// What `install` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Installed {
    /// A new hook was written.
    New(PathBuf),
    /// Our own hook was rewritten (for example after moving the binary).
    Updated(PathBuf),
    /// A foreign hook was moved aside to `backup` and ours written (`--force`).
    Replaced { path: PathBuf, backup: PathBuf },
}

/// Install the hook in the repository at `repo`, running `exe`.
pub fn install(
    repo: &Path,
    kind: HookKind,
    force: bool,
    exe: &Path,
) -> Result<Installed, HookError> {
    let dir = hooks_dir(repo)?;
    let path = dir.join(kind.file_name());
    let existed = path.exists();
    let ours = existed && is_ours(&path);
    let mut backup = None;
    if existed && !ours {
        if !force {
            return Err(HookError::new(format!(
                "{} already exists and was not written by gatehouse; leaving it alone",
                path.display()
            ))
            .hint(format!(
                "to replace it run `gatehouse hook install --force` (the existing hook is kept as {}{BACKUP_SUFFIX}), or call `gatehouse hook run {kind} \"$@\"` from it yourself",
                path.display()
            )));
        }
        let target = PathBuf::from(format!("{}{BACKUP_SUFFIX}", path.display()));
        if target.exists() {
            return Err(HookError::new(format!(
                "{} already exists; will not overwrite an earlier backup",
                target.display()
            ))
            .hint("move the backup away, then install again"));
        }
        std::fs::rename(&path, &target)
            .map_err(|e| HookError::new(format!("cannot move {} aside: {e}", path.display())))?;
        backup = Some(target);
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| HookError::new(format!("cannot create {}: {e}", dir.display())))?;
    write_executable(&path, &script(kind, exe))?;
    Ok(match (backup, ours) {
        (Some(backup), _) => Installed::Replaced { path, backup },
        (None, true) => Installed::Updated(path),
        (None, false) => Installed::New(path),
    })
}

fn write_executable(path: &Path, text: &str) -> Result<(), HookError> {
    std::fs::write(path, text)
        .map_err(|e| HookError::new(format!("cannot write {}: {e}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(|e| {
            HookError::new(format!("cannot make {} executable: {e}", path.display()))
        })?;
    }
    Ok(())
}

/// What `uninstall` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Uninstalled {
    Removed(PathBuf),
    /// Ours was removed and the hook it had replaced put back.
    Restored {
        path: PathBuf,
        backup: PathBuf,
    },
    /// There was no hook to remove.
    NotInstalled(PathBuf),
}

/// Remove our hook; a hook gatehouse did not write is never touched.
pub fn uninstall(repo: &Path, kind: HookKind) -> Result<Uninstalled, HookError> {
    let path = hooks_dir(repo)?.join(kind.file_name());
    if !path.exists() {
        return Ok(Uninstalled::NotInstalled(path));
    }
    if !is_ours(&path) {
        return Err(HookError::new(format!(
            "{} was not written by gatehouse; leaving it alone",
            path.display()
        ))
        .hint("remove it yourself if you no longer want it"));
    }
    std::fs::remove_file(&path)
        .map_err(|e| HookError::new(format!("cannot remove {}: {e}", path.display())))?;
    let backup = PathBuf::from(format!("{}{BACKUP_SUFFIX}", path.display()));
    if backup.exists() {
        std::fs::rename(&backup, &path)
            .map_err(|e| HookError::new(format!("cannot restore {}: {e}", backup.display())))?;
        return Ok(Uninstalled::Restored { path, backup });
    }
    Ok(Uninstalled::Removed(path))
}

/// One line git writes to a pre-push hook's standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRef {
    pub local_ref: String,
    pub local_sha: String,
    pub remote_ref: String,
    pub remote_sha: String,
}

/// Parse the hook's standard input: `<local ref> <local sha> <remote ref> <remote sha>` lines.
pub fn parse_pushed_refs(input: &str) -> Result<Vec<PushedRef>, HookError> {
    input
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                [local_ref, local_sha, remote_ref, remote_sha]
                    if is_hex(local_sha) && is_hex(remote_sha) =>
                {
                    Ok(PushedRef {
                        local_ref: local_ref.to_string(),
                        local_sha: local_sha.to_string(),
                        remote_ref: remote_ref.to_string(),
                        remote_sha: remote_sha.to_string(),
                    })
                }
                _ => Err(HookError::new(format!(
                    "line {} of the pre-push input is not `<local ref> <local sha> <remote ref> <remote sha>`: {}",
                    i + 1,
                    crate::sanitize::terminal_line(line)
                ))
                .hint("`gatehouse hook run pre-push` is meant to be run by git; install it with `gatehouse hook install`")),
            }
        })
        .collect()
}

fn is_hex(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What to do about one pushed ref.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Nothing to gate (a deletion), with the reason shown to the developer.
    Skip(String),
    /// Gate this context: the pushed ref as a push event with its range.
    Gate(Box<CiContext>),
}

/// Decide what to gate for `pushed`, pushed to `remote` (its name, or a URL
/// when the push names no configured remote).
pub fn plan(repo: &Path, remote: &str, pushed: &PushedRef) -> Result<Plan, SourceError> {
    let to_source = |e: HookError| {
        let mut s = SourceError::new("pre-push", e.message);
        s.hint = e.hint;
        s
    };
    if is_zero_sha(&pushed.local_sha) {
        return Ok(Plan::Skip(format!(
            "{}: a deletion has no commits to gate",
            pushed.remote_ref
        )));
    }
    // Annotated tags are pushed as tag objects; the gate looks at their commit.
    let head = peel_to_commit(repo, &pushed.local_sha).map_err(to_source)?;
    let (base, update, covers) = if is_zero_sha(&pushed.remote_sha) {
        let (boundary, new) = not_on_remote(repo, &head, remote).map_err(to_source)?;
        // Any boundary commit is on the remote, so `boundary..head` holds every
        // new commit (and possibly some the remote has on other branches: more
        // is checked, never less). No boundary at all: the remote has none of
        // this history, and the source's range is checked to cover all of it.
        match boundary {
            Some(b) => (Some(b), RefUpdate::Created, None),
            None if new.is_empty() => (Some(head.clone()), RefUpdate::Created, None),
            None => (None, RefUpdate::Created, Some(new)),
        }
    } else {
        let base = peel_to_commit(repo, &pushed.remote_sha).map_err(|_| {
            SourceError::new(
                "pre-push",
                format!(
                    "the remote's {} is at {}, which is not in this repository",
                    pushed.remote_ref,
                    short_sha(&pushed.remote_sha),
                ),
            )
            .hint(format!(
                "run `git fetch {remote}`, integrate its changes, then push again"
            ))
        })?;
        (Some(base), RefUpdate::Updated, None)
    };
    Ok(Plan::Gate(Box::new(CiContext {
        provider: Provider::PrePush,
        trigger: "pre-push".to_string(),
        event: EventKind::Push,
        gated_ref: pushed.remote_ref.clone(),
        head_sha: Some(head),
        base_sha: base,
        ref_update: Some(update),
        change: None,
        actor: None,
        repository: None,
        pipeline: None,
        environment: None,
        deployment_requested_by: None,
        covers,
    })))
}

fn peel_to_commit(repo: &Path, sha: &str) -> Result<String, HookError> {
    let spec = format!("{sha}^{{commit}}");
    Ok(git(repo, &["rev-parse", "--verify", "--quiet", &spec])?
        .trim()
        .to_string())
}

/// `git rev-list --boundary <head> --not --remotes=<remote>`: the commits not
/// on the remote yet (newest first), and the newest boundary commit (one the
/// remote has) when there is one.
fn not_on_remote(
    repo: &Path,
    head: &str,
    remote: &str,
) -> Result<(Option<String>, Vec<String>), HookError> {
    let remotes = format!("--remotes={remote}");
    let out = git(repo, &["rev-list", "--boundary", head, "--not", &remotes])?;
    let mut boundary = None;
    let mut new = Vec::new();
    for line in out.lines() {
        match line.strip_prefix('-') {
            Some(b) => {
                boundary.get_or_insert_with(|| b.to_string());
            }
            None => new.push(line.to_string()),
        }
    }
    Ok((boundary, new))
}

// ---------------------------------------------------------------- commands

/// `gatehouse hook …`.
pub fn command(command: HookCommand) -> ExitStatus {
    match command {
        HookCommand::Install { hook, force, repo } => install_command(&repo, hook, force),
        HookCommand::Uninstall { hook, repo } => match uninstall(&repo, hook) {
            Ok(Uninstalled::Removed(path)) => {
                println!("removed the gatehouse {hook} hook {}", path.display());
                ExitStatus::Allowed
            }
            Ok(Uninstalled::Restored { path, backup }) => {
                println!(
                    "removed the gatehouse {hook} hook and put back the hook it had replaced ({} -> {})",
                    backup.display(),
                    path.display()
                );
                ExitStatus::Allowed
            }
            Ok(Uninstalled::NotInstalled(path)) => {
                println!(
                    "no {hook} hook installed ({} does not exist); nothing to do",
                    path.display()
                );
                ExitStatus::Allowed
            }
            Err(e) => usage_error(&e),
        },
        HookCommand::Run {
            hook: HookKind::PrePush,
            args,
        } => run_pre_push(&args),
    }
}

fn usage_error(e: &HookError) -> ExitStatus {
    eprintln!("error: {}", sanitize::terminal(&e.to_string()));
    ExitStatus::Usage
}

fn install_command(repo: &Path, hook: HookKind, force: bool) -> ExitStatus {
    let exe = match std::env::current_exe().and_then(|p| p.canonicalize()) {
        Ok(p) => p,
        Err(e) => {
            return usage_error(&HookError::new(format!(
                "cannot find the path of this gatehouse binary to put in the hook: {e}"
            )));
        }
    };
    match install(repo, hook, force, &exe) {
        Ok(done) => {
            match &done {
                Installed::New(path) => {
                    println!("installed the gatehouse {hook} hook: {}", path.display());
                }
                Installed::Updated(path) => {
                    println!("updated the gatehouse {hook} hook: {}", path.display());
                }
                Installed::Replaced { path, backup } => {
                    println!(
                        "replaced the existing {hook} hook (kept as {}) with gatehouse's: {}",
                        backup.display(),
                        path.display()
                    );
                }
            }
            println!(
                "it runs {} on every `git push` and refuses the push when the policy blocks;\n\
                 see what it would decide with `gatehouse check --dry-run`, remove it with `gatehouse hook uninstall`",
                exe.display()
            );
            ExitStatus::Allowed
        }
        Err(e) => usage_error(&e),
    }
}

/// The hook itself: gate every ref git is about to push, refuse the push when
/// any of them is blocked or cannot be decided.
fn run_pre_push(args: &[String]) -> ExitStatus {
    let Some(remote) = args.first() else {
        return usage_error(
            &HookError::new("`gatehouse hook run pre-push` needs the remote name and URL git passes to the hook")
                .hint("it is meant to be run by git: install it with `gatehouse hook install`"),
        );
    };
    let mut input = String::new();
    if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut input) {
        eprintln!("error: cannot read the refs being pushed from standard input: {e}");
        return ExitStatus::Indeterminate;
    }
    let pushed = match parse_pushed_refs(&input) {
        Ok(p) => p,
        Err(e) => return usage_error(&e),
    };
    // Git runs the hook at the top of the worktree. An absolute path lets the
    // report name the repository by its directory.
    let repo = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let mut worst = ExitStatus::Allowed;
    let mut refused = Vec::new();
    for (i, one) in pushed.iter().enumerate() {
        if i > 0 {
            println!();
        }
        let status = match plan(&repo, remote, one) {
            Ok(Plan::Skip(why)) => {
                println!("gatehouse: skipping {}", sanitize::terminal_line(&why));
                continue;
            }
            Ok(Plan::Gate(ctx)) => {
                let args = CheckArgs {
                    source: SourceArgs {
                        source: SourceKind::Git,
                        facts: None,
                        repo: repo.clone(),
                        base: None,
                        head: None,
                        environment: None,
                        gitlab_token_env: None,
                        github_token_env: crate::env_vars::github::GITHUB_TOKEN.to_string(),
                    },
                    policy: None,
                    format: Format::Human,
                    report: Vec::new(),
                    dry_run: false,
                    now: None,
                    // The policy's sinks, by default the repository's own log.
                    audit: Default::default(),
                };
                let mut options = args.source.options();
                options.ci = Some(*ctx);
                app::check_with(&args, &options)
            }
            Err(e) => app::report_source_error(&e),
        };
        if status != ExitStatus::Allowed {
            refused.push((one.remote_ref.as_str(), status));
        }
        worst = worse(worst, status);
    }
    if !refused.is_empty() {
        let lines: Vec<String> = refused
            .iter()
            .map(|(r, status)| {
                let why = match status {
                    ExitStatus::Blocked => "blocked by the policy",
                    ExitStatus::Usage => "the policy or the command is invalid",
                    _ => "could not be decided",
                };
                format!("  {}: {why}", sanitize::terminal_line(r))
            })
            .collect();
        eprintln!(
            "\ngatehouse: push refused (exit {}):\n{}\n\
             Fix what the report above lists (each `fix:` or `hint:` line says how), then push again.\n\
             To see the decision without pushing: gatehouse check --dry-run",
            worst.code(),
            lines.join("\n")
        );
    }
    worst
}

/// The status that matters most: could not decide, then misuse, then blocked.
fn worse(a: ExitStatus, b: ExitStatus) -> ExitStatus {
    let rank = |s: ExitStatus| match s {
        ExitStatus::Allowed => 0,
        ExitStatus::Blocked => 1,
        ExitStatus::Usage => 2,
        ExitStatus::Indeterminate => 3,
    };
    if rank(b) > rank(a) { b } else { a }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushed_refs_parse() {
        let input = "refs/heads/main 9f2c4d1e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d refs/heads/main 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b\n\
                     (delete) 0000000000000000000000000000000000000000 refs/heads/old 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b\n";
        let refs = parse_pushed_refs(input).unwrap();
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[0].remote_ref, "refs/heads/main");
        assert_eq!(refs[1].local_ref, "(delete)");
        assert!(parse_pushed_refs("").unwrap().is_empty());
    }

    #[test]
    fn malformed_push_input_names_the_line() {
        let e = parse_pushed_refs("refs/heads/main abc refs/heads/main\n").unwrap_err();
        assert!(
            e.message.starts_with("line 1 of the pre-push input"),
            "{}",
            e.message
        );
    }

    #[test]
    fn script_execs_the_binary_and_carries_the_marker() {
        let s = script(HookKind::PrePush, Path::new("/opt/it's here/gatehouse"));
        assert!(s.starts_with("#!/bin/sh\n"));
        assert!(s.contains(MARKER));
        assert!(
            s.contains(r"gatehouse='/opt/it'\''s here/gatehouse'"),
            "{s}"
        );
        assert!(s.contains("exec \"$gatehouse\" hook run pre-push \"$@\"\n"));
    }

    #[test]
    fn script_is_valid_shell() {
        let s = script(HookKind::PrePush, Path::new("/usr/bin/gatehouse"));
        let out = Command::new("sh")
            .arg("-n")
            .arg("-c")
            .arg(&s)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
