//! Sources gather [`Facts`]. All I/O that reads the world lives here; a source
//! that cannot read something completely returns a [`SourceError`] (the run is
//! then indeterminate, exit 3), never a shorter list.

pub mod git;
pub mod snapshot;

use std::fmt;
use std::path::PathBuf;

use crate::facts::Facts;

/// Which source to gather facts from (`--source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SourceKind {
    /// `--facts FILE` when given, otherwise detected from the environment.
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
}

impl SourceOptions {
    /// The part of these options the git source reads.
    pub fn git_request(&self) -> git::GitRequest {
        git::GitRequest {
            repo: self.repo.clone(),
            base: self.base.clone(),
            head: self.head.clone(),
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
    let facts = match (options.source, &options.facts) {
        (SourceKind::Facts | SourceKind::Auto, Some(path)) => snapshot::read(path)?,
        (SourceKind::Facts, None) => {
            return Err(SourceError::new(
                "facts file",
                "`--source facts` needs `--facts FILE`",
            ));
        }
        (other, Some(_)) => {
            return Err(SourceError::new(
                "facts file",
                format!(
                    "`--facts` reads a saved file and cannot be combined with `--source {}`",
                    clap::ValueEnum::to_possible_value(&other)
                        .map(|v| v.get_name().to_string())
                        .unwrap_or_default()
                ),
            ));
        }
        // Without a Facts file, `auto` falls back to the local repository.
        (SourceKind::Git | SourceKind::Auto, None) => {
            return git::gather(&options.git_request());
        }
        (kind, None) => {
            return Err(SourceError::new(
                "source",
                format!("the {kind:?} source is not available in this build"),
            )
            .hint("gather facts elsewhere and pass them with `--facts FILE`"));
        }
    };
    Ok(Gathered {
        facts,
        notices: Vec::new(),
    })
}
