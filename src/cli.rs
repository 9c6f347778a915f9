//! Command-line definitions (clap) only; the commands live in [`crate::app`].

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};
use clap::{Args, Parser, Subcommand};

use crate::hook::HookKind;
use crate::report::Format;
use crate::sources::{SourceKind, SourceOptions};

const EXIT_CODES: &str = "\
Exit codes:
  0  allowed (warnings allowed), or any --dry-run
  1  blocked by the policy
  2  usage or policy error
  3  indeterminate: facts or the audit record could not be obtained or written,
     or a rule could not decide — the gate blocks";

#[derive(Debug, Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "A CI/CD enforcement gate: checks a change or a deployment against a TOML policy, records the decision, and blocks the pipeline when the policy is not met.",
    after_help = EXIT_CODES,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate the policy against a change or deployment and exit 0/1/2/3.
    #[command(after_help = CHECK_HELP)]
    Check(CheckArgs),
    /// Print the Facts (JSON, schema gatehouse.facts/v1) a check would evaluate.
    Facts(SourceArgs),
    /// Validate a policy file or print its JSON schema.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Verify, query and anchor the tamper-evident audit trail; make signing keys.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Show the documentation of a rule kind, with an example (all kinds when none is named).
    Explain {
        /// A rule kind, as written in `kind = "…"`.
        kind: Option<String>,
    },
    /// Install or remove the git pre-push hook that gates what you push.
    #[command(subcommand)]
    Hook(HookCommand),
}

const HOOK_INSTALL_HELP: &str = "\
The hook runs `gatehouse hook run pre-push` on every `git push`: it gates exactly
the commits each pushed ref adds to the remote (for a new branch, the commits the
remote does not have yet; deletions are skipped) under the policy of the commit
the remote already has, and refuses the push when the policy blocks or cannot
decide. Ask what CI would decide without pushing with `gatehouse check --dry-run`.

The hook is written to the hooks directory git uses (`core.hooksPath` when set,
otherwise .git/hooks) and carries a marker line, so `gatehouse hook uninstall`
removes only a hook gatehouse wrote. An existing hook that gatehouse did not
write is left alone unless --force is given; it is then kept as
`pre-push.gatehouse-backup` and put back by `gatehouse hook uninstall`.

Examples:
  gatehouse hook install
  gatehouse hook install --repo ../api --force
  gatehouse hook uninstall";

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Write the hook into the repository's hooks directory.
    #[command(after_help = HOOK_INSTALL_HELP)]
    Install {
        /// Which hook.
        #[arg(long, value_enum, default_value_t = HookKind::PrePush)]
        hook: HookKind,
        /// Replace an existing hook that gatehouse did not write (it is kept as a backup).
        #[arg(long)]
        force: bool,
        /// The repository.
        #[arg(long, value_name = "DIR", default_value = ".")]
        repo: PathBuf,
    },
    /// Remove the hook gatehouse installed (and put back one it replaced).
    Uninstall {
        /// Which hook.
        #[arg(long, value_enum, default_value_t = HookKind::PrePush)]
        hook: HookKind,
        /// The repository.
        #[arg(long, value_name = "DIR", default_value = ".")]
        repo: PathBuf,
    },
    /// Run by the installed hook: reads git's hook input from standard input.
    #[command(hide = true)]
    Run {
        /// The hook git is running.
        #[arg(value_enum)]
        hook: HookKind,
        /// The arguments git passes the hook (for pre-push: remote name and URL).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

const CHECK_HELP: &str = "\
Examples:
  gatehouse check                                   gate the current checkout with its policy
  gatehouse check --dry-run                         what would CI decide? (always exits 0)
  gatehouse check --facts facts.json --format json  evaluate saved facts, print the decision as JSON
  gatehouse check --dry-run --now 2026-12-24T10:00:00+01:00 --environment production
  gatehouse check --report json=decision.json       also write the JSON decision to a file
  gatehouse check --source github --format github   in a GitHub Actions job: API facts, annotations
  gatehouse check --report markdown=summary.md --report sarif=gate.sarif
  gatehouse check --audit postgres://gate@db/audit --audit-key audit_key
                                                    also record the decision in PostgreSQL, signed

Policy discovery when --policy is absent: .gatehouse.toml, gatehouse.toml,
.github/gatehouse.toml, .gitlab/gatehouse.toml; when none exists the built-in
default policy is used and the report says so. When a run gates a local
range (no --facts), the policy is read from the base commit's tree, never from
the change under review; a note says so, and another when the range edits it.
With --source github the base commit's policy is read through the GitHub API.

GitHub source: GITHUB_API_URL and the token in GITHUB_TOKEN (or --github-token-env);
GATEHOUSE_GITHUB_TIMEOUT (seconds per request, default 30) and
GATEHOUSE_GITHUB_RATE_LIMIT_WAIT (seconds waited for rate limits in all, default 120).

Break-glass: a rule with `override = { … }` lets its failure through when the change
carries one of its labels, or a deployment sets GATEHOUSE_OVERRIDE_REASON=\"why\", and
an approver who is not the author or requester approved; the report shows
\"allow (overridden)\" and the audit record names who and why.

Exit codes: 0 allowed, 1 blocked, 2 usage or policy error, 3 indeterminate (blocked).";

#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Where facts come from.
    #[arg(long, value_enum, default_value_t = SourceKind::Auto)]
    pub source: SourceKind,
    /// A saved Facts file to evaluate (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    pub facts: Option<PathBuf>,
    /// The repository to gate.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub repo: PathBuf,
    /// Base revision of the range: commits reachable from it are not gated
    /// (default: the default branch, see --help).
    ///
    /// Any rev-spec (`main`, `origin/main`, a commit id, `HEAD~3`). Without it
    /// the local git source chooses, and a note says what: the default branch
    /// (`origin/HEAD`, else `main`, `master`, `origin/main`, `origin/master`)
    /// when the head has commits that are not on it; else the upstream of the
    /// head's branch when it has unpushed commits; else the head's parent, so
    /// only the last commit is gated. Changed files are counted from the
    /// merge-base with the head. When --policy is absent, the policy is read
    /// from this commit, not from the working tree.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Head revision of the range (default: HEAD).
    ///
    /// Any rev-spec. A branch or tag name gates that ref
    /// (`refs/heads/…`, `refs/tags/…`); a detached HEAD or a commit id gates
    /// no branch, and a note says so.
    #[arg(long, value_name = "REV")]
    pub head: Option<String>,
    /// The deployment environment being gated (matches `when.environments`).
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
    /// GitLab: the environment variable holding an API token with the
    /// `read_api` scope (default: GATEHOUSE_GITLAB_TOKEN). CI_JOB_TOKEN alone
    /// cannot read approvals, so the gate then blocks (exit 3).
    #[arg(long, value_name = "NAME")]
    pub gitlab_token_env: Option<String>,
    /// The environment variable holding the GitHub API token (its value is never shown).
    #[arg(long, value_name = "NAME", default_value = crate::env_vars::github::GITHUB_TOKEN)]
    pub github_token_env: String,
}

impl SourceArgs {
    pub fn options(&self) -> SourceOptions {
        SourceOptions {
            source: self.source,
            facts: self.facts.clone(),
            repo: self.repo.clone(),
            base: self.base.clone(),
            head: self.head.clone(),
            environment: self.environment.clone(),
            github_token_env: Some(self.github_token_env.clone()),
            teams: Vec::new(),
            ci: None,
            gitlab_token_env: self.gitlab_token_env.clone(),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// The policy file (default: discovered in the repository, see below).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// The report printed on standard output.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also write a report to a file; repeatable (`--report json=out.json`).
    #[arg(long, value_name = "FORMAT=PATH", value_parser = parse_report)]
    pub report: Vec<ReportTarget>,
    /// Evaluate and report ("would block") without recording; always exits 0
    /// unless the policy is invalid.
    #[arg(long)]
    pub dry_run: bool,
    /// Evaluate as if it were this instant (RFC 3339); only with --dry-run.
    #[arg(long, value_name = "RFC3339", value_parser = parse_instant)]
    pub now: Option<DateTime<FixedOffset>>,
    #[command(flatten)]
    pub audit: CheckAuditArgs,
}

/// The audit options of `check`.
#[derive(Debug, Clone, Default, Args)]
pub struct CheckAuditArgs {
    /// Also record the decision here; repeatable: `file:PATH`, `postgres://…`,
    /// `https://…`. Added to the policy's `[audit] sinks`; when neither names
    /// one, `file:.git/gatehouse/audit.jsonl` in the repository is used.
    #[arg(long = "audit", value_name = "SINK", value_parser = crate::audit::SinkSpec::parse)]
    pub sinks: Vec<crate::audit::SinkSpec>,
    /// Sign records with this Ed25519 OpenSSH private key (default: the key
    /// text in $GATEHOUSE_AUDIT_KEY).
    #[arg(long, value_name = "FILE")]
    pub audit_key: Option<PathBuf>,
    /// Also write the decision as a DSSE-signed in-toto attestation (SLSA
    /// verification summary) to PATH; needs the audit key.
    #[arg(long, value_name = "PATH")]
    pub attest: Option<PathBuf>,
}

/// `--report FORMAT=PATH`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportTarget {
    pub format: Format,
    pub path: PathBuf,
}

fn parse_report(s: &str) -> Result<ReportTarget, String> {
    let (format, path) = s.split_once('=').ok_or_else(|| {
        format!("expected FORMAT=PATH, for example `json=decision.json`, got `{s}`")
    })?;
    if path.is_empty() {
        return Err(format!("missing PATH after `{format}=`"));
    }
    Ok(ReportTarget {
        format: format.parse()?,
        path: PathBuf::from(path),
    })
}

fn parse_instant(s: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(s).map_err(|e| {
        format!("`{s}` is not an RFC 3339 instant ({e}); for example 2026-12-24T10:00:00+01:00")
    })
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check a policy file; exit 0 when valid, 2 with diagnostics otherwise.
    Validate {
        /// The policy file (default: discovered in the current directory).
        file: Option<PathBuf>,
    },
    /// Print the JSON Schema of the policy file (for editor completion).
    Schema,
}

const AUDIT_HELP: &str = "\
LOG is a JSON Lines file (default: .git/gatehouse/audit.jsonl of the repository
in the current directory) or a postgres://… URL (add ?stream=NAME or --stream to
pick one chain; verify checks every stream when none is named).

Examples:
  gatehouse audit keygen --out audit_key           make a signing key pair
  gatehouse audit verify --key audit_key.pub       check the whole chain and every signature
  gatehouse audit verify --expect-head 41:9f2c…    also prove nothing was cut off the end
  gatehouse audit head                             print SEQ:HASH to anchor elsewhere
  gatehouse audit query --decision block --since 2026-11-01T00:00:00Z
  gatehouse audit migrate postgres://gate@db/audit create the append-only table";

#[derive(Debug, Subcommand)]
#[command(after_help = AUDIT_HELP)]
pub enum AuditCommand {
    /// Check every record's JSON, seq, prev and signature; name the first broken one.
    /// Exit 0 when the chain holds, 1 when it does not, 3 when it cannot be read.
    #[command(after_help = AUDIT_HELP)]
    Verify {
        /// The log: a file or a postgres://… URL.
        log: Option<String>,
        /// A trusted signer's public key (`.pub` or allowed_signers line);
        /// repeatable. With any key, every record must be signed by one.
        #[arg(long, value_name = "PUBKEY")]
        key: Vec<PathBuf>,
        /// The head anchored earlier (`gatehouse audit head`): the chain must
        /// still contain it unchanged.
        #[arg(long, value_name = "SEQ:HASH")]
        expect_head: Option<String>,
        /// The PostgreSQL stream (default: every stream).
        #[arg(long, value_name = "NAME")]
        stream: Option<String>,
    },
    /// Print records matching every filter given, as a table or JSON Lines.
    #[command(after_help = AUDIT_HELP)]
    Query {
        /// The log: a file or a postgres://… URL.
        log: Option<String>,
        /// Only records with this decision.
        #[arg(long, value_parser = ["allow", "block", "error"])]
        decision: Option<String>,
        /// Only records where this rule failed or could not decide.
        #[arg(long, value_name = "ID")]
        rule: Option<String>,
        /// Only records of this repository (`owner/name`).
        #[arg(long, value_name = "SLUG")]
        repo: Option<String>,
        /// Only records at or after this instant (RFC 3339).
        #[arg(long, value_name = "T", value_parser = parse_instant)]
        since: Option<DateTime<FixedOffset>>,
        /// Only records at or before this instant (RFC 3339).
        #[arg(long, value_name = "T", value_parser = parse_instant)]
        until: Option<DateTime<FixedOffset>>,
        /// Only records of runs triggered by this login.
        #[arg(long, value_name = "LOGIN")]
        actor: Option<String>,
        #[arg(long, value_enum, default_value_t = QueryFormat::Table)]
        format: QueryFormat,
        /// The PostgreSQL stream (default: the only one).
        #[arg(long, value_name = "NAME")]
        stream: Option<String>,
    },
    /// Print `SEQ:HASH` of the last record, to anchor the chain elsewhere.
    #[command(after_help = AUDIT_HELP)]
    Head {
        /// The log: a file or a postgres://… URL.
        log: Option<String>,
        /// The PostgreSQL stream (default: the only one).
        #[arg(long, value_name = "NAME")]
        stream: Option<String>,
    },
    /// Write a new Ed25519 signing key (OpenSSH format) and its `.pub`.
    Keygen {
        /// Where to write the private key; the public key goes to FILE.pub.
        #[arg(long, value_name = "FILE", default_value = "gatehouse_audit_ed25519")]
        out: PathBuf,
    },
    /// Create the append-only PostgreSQL table and its triggers (idempotent).
    Migrate {
        /// postgres://…
        url: String,
    },
}

/// Output of `audit query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QueryFormat {
    /// Aligned columns for people.
    Table,
    /// The matching records, one JSON object per line (as stored).
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn report_targets_parse() {
        let t = parse_report("json=out/d.json").unwrap();
        assert_eq!(t.format, Format::Json);
        assert_eq!(t.path, PathBuf::from("out/d.json"));
        assert!(parse_report("json").is_err());
        assert!(
            parse_report("xml=a")
                .unwrap_err()
                .contains("unknown format")
        );
    }
}
