//! Sources gather [`Facts`]. All I/O that reads the world lives here; a source
//! that cannot read something completely returns a [`SourceError`] (the run is
//! then indeterminate, exit 3), never a shorter list.

pub mod env;
pub mod git;
pub mod github;
pub mod gitlab;
pub mod snapshot;

use std::fmt;
use std::path::PathBuf;

use crate::facts::Facts;

/// Which source to gather facts from (`--source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SourceKind {
    /// `--facts FILE` when given, otherwise the local repository (`--repo`),
    /// with the event, ref, range, change and pipeline of the CI job when run in
    /// GitHub Actions or GitLab CI.
    #[default]
    Auto,
    /// A local repository (`--repo`, `--base`, `--head`).
    Git,
    /// The GitHub API and the Actions event payload.
    Github,
    /// The GitLab API and CI variables.
    Gitlab,
    /// A saved Facts file (`--facts FILE`).
    Facts,
}

/// Everything a source needs to know, from the command line.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    pub source: SourceKind,
    pub facts: Option<PathBuf>,
    pub repo: PathBuf,
    pub base: Option<String>,
    pub head: Option<String>,
    pub environment: Option<String>,
    /// The variable holding the GitHub token (`--github-token-env`; default `GITHUB_TOKEN`).
    pub github_token_env: Option<String>,
    /// Team slugs (`acme/sre`) the policy names, whose members must be gathered.
    pub teams: Vec<String>,
    /// A run context given by the caller (the pre-push hook) instead of the
    /// one detected from CI variables; see [`env::CiContext`].
    pub ci: Option<env::CiContext>,
    /// `--gitlab-token-env NAME`: the variable holding the GitLab API token.
    pub gitlab_token_env: Option<String>,
}

impl SourceOptions {
    /// The part of these options the git source reads.
    pub fn git_request(&self) -> git::GitRequest {
        git::GitRequest {
            repo: self.repo.clone(),
            base: self.base.clone(),
            head: self.head.clone(),
            from_root: false,
        }
    }
}

/// Why facts could not be gathered.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceError {
    /// Which source failed (`facts file`, `git`, `github`, …).
    pub source: &'static str,
    pub message: String,
    /// How to fix it, when known.
    pub hint: Option<String>,
}

impl SourceError {
    pub fn new(source: &'static str, message: impl Into<String>) -> Self {
        SourceError {
            source,
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SourceError {}

/// What a source produced: the facts, and what the user should know about them.
#[derive(Debug, Clone)]
pub struct Gathered {
    pub facts: Facts,
    pub notices: Vec<String>,
}

/// Gather facts as `options` say.
pub fn gather(options: &SourceOptions) -> Result<Gathered, SourceError> {
    match (options.source, &options.facts) {
        (SourceKind::Facts | SourceKind::Auto, Some(path)) => Ok(Gathered {
            facts: snapshot::read(path)?,
            notices: Vec::new(),
        }),
        (SourceKind::Facts, None) => Err(SourceError::new(
            "facts file",
            "`--source facts` needs `--facts FILE`",
        )),
        (other, Some(_)) => Err(SourceError::new(
            "facts file",
            format!(
                "`--facts` reads a saved file and cannot be combined with `--source {}`",
                clap::ValueEnum::to_possible_value(&other)
                    .map(|v| v.get_name().to_string())
                    .unwrap_or_default()
            ),
        )),
        (SourceKind::Github, None) => {
            let env = |name: &str| std::env::var(name).ok();
            let request = github::context::from_env(options, options.teams.clone(), &env)?;
            github::gather(&request)
        }
        (SourceKind::Gitlab, None) => gitlab::gather_from_env(options),
        // Without a Facts file, `auto` falls back to the local repository,
        // shaped by the CI context when it runs in a CI job (or the one the
        // caller gives, like the pre-push hook's).
        (SourceKind::Git | SourceKind::Auto, None) => match run_context(options)? {
            Some(ctx) => env::gather_with(&ctx, options, |base, head| {
                git::gather(&git::GitRequest {
                    from_root: base.is_none() && ctx.covers.is_some(),
                    base,
                    head,
                    ..options.git_request()
                })
            }),
            None => git::gather(&options.git_request()),
        },
    }
}

/// Deserialize a JSON value, or say where it is wrong: the JSON path of the
/// bad field and serde's message (without serde_json's position, which means
/// nothing for a value already parsed).
pub(crate) fn from_json_value<'de, T, D>(value: D) -> Result<T, (String, String)>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de, Error = serde_json::Error>,
{
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        (
            path,
            strip_position(&e.into_inner().to_string()).to_string(),
        )
    })
}

/// serde_json appends " at line X column Y" to its messages; the callers say
/// where themselves (a JSON path, or the line and column in their own words).
pub(crate) fn strip_position(msg: &str) -> &str {
    msg.rsplit_once(" at line ").map_or(msg, |(m, _)| m)
}

/// The run's context: the one the caller gives (the pre-push hook's), else for
/// `--source auto` the CI system's, detected from the process environment.
pub fn run_context(options: &SourceOptions) -> Result<Option<env::CiContext>, SourceError> {
    Ok(match (&options.ci, options.source) {
        (Some(ctx), _) => Some(ctx.clone()),
        (None, SourceKind::Auto) if options.facts.is_none() => env::detect(&env::process_vars)?,
        (None, _) => None,
    })
}

/// The range the git source gathers for `options`, after the run's context
/// (flags winning). Whatever else reads the repository for the same run — the
/// policy read from the base commit — must use this same request.
pub fn effective_git_request(options: &SourceOptions) -> Result<git::GitRequest, SourceError> {
    let mut req = options.git_request();
    if let Some(ctx) = run_context(options)? {
        (req.base, req.head) = ctx.range(options.base.as_deref(), options.head.as_deref())?;
        req.from_root = req.base.is_none() && ctx.covers.is_some();
    }
    Ok(req)
}
