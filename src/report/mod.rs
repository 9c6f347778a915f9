//! Renderers of a [`Decision`], one module per output format. Each renderer
//! neutralises untrusted text for its own target (see [`crate::sanitize`]).

mod codequality;
mod github;
mod human;
mod json;
mod junit;
mod markdown;
mod sarif;

use std::fmt;
use std::str::FromStr;

use crate::decision::Decision;

/// Output formats for `--format` and `--report FORMAT=PATH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text for people, coloured on a terminal.
    Human,
    /// The Decision as JSON (see README, "JSON report").
    Json,
    /// Markdown for a GitHub job summary or pull request comment.
    Markdown,
    /// GitHub Actions annotations (workflow commands) and the log.
    Github,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// JUnit XML, one test case per rule (GitLab `artifacts:reports:junit`).
    Junit,
    /// GitLab Code Quality JSON (`artifacts:reports:codequality`).
    Codequality,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Github => "github",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Codequality => "codequality",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        <Format as clap::ValueEnum>::from_str(s, false).map_err(|_| {
            let names: Vec<&str> = <Format as clap::ValueEnum>::value_variants()
                .iter()
                .map(|f| f.name())
                .collect();
            format!("unknown format `{s}` (known: {})", names.join(", "))
        })
    }
}

/// How to render.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// Use ANSI colours (only for a terminal, never with `NO_COLOR`).
    pub color: bool,
}

/// Render `decision` in `format`.
pub fn render(format: Format, decision: &Decision, options: RenderOptions) -> String {
    match format {
        Format::Human => human::render(decision, options),
        Format::Json => json::render(decision),
        Format::Junit => junit::render(decision),
        Format::Codequality => codequality::render(decision),
        Format::Markdown => markdown::render(decision),
        Format::Sarif => sarif::render(decision),
        Format::Github => github::render(decision),
    }
}

/// Text printed to stdout inside a GitHub Actions job: the plain-text
/// formats (`human`) go into a `::stop-commands::` block with their untrusted
/// parts defused, since the runner would execute a line of a commit message
/// that starts with `::`. The `github` format does this itself; structured
/// formats (json, sarif, markdown) are printed as they are.
pub fn for_github_log(format: Format, text: String) -> String {
    let in_actions =
        std::env::var(crate::env_vars::github::GITHUB_ACTIONS).is_ok_and(|v| v == "true");
    if in_actions && format == Format::Human {
        use crate::sanitize::github::{StopCommands, log_text};
        StopCommands::new().wrap(&log_text(&text))
    } else {
        text
    }
}

/// Whether to colour output written to stdout: a terminal, `NO_COLOR` unset or
/// empty, and `TERM` not `dumb`.
pub fn stdout_wants_color() -> bool {
    use std::io::IsTerminal;
    let no_color =
        std::env::var_os(crate::env_vars::gatehouse::NO_COLOR).is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    std::io::stdout().is_terminal() && !no_color && !dumb
}
