//! Policy diagnostics: every problem names the file, line and column, puts a
//! label under the offending text and, where one fits, says how to fix it.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};

/// What kind of problem a diagnostic reports; its code is stable (`policy::<code>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagnosticKind {
    Syntax,
    UnknownKey,
    MissingKey,
    WrongType,
    UnknownRuleKind,
    DuplicateRuleId,
    InvalidRuleId,
    BadGlob,
    BadRegex,
    BadValue,
    UnsupportedVersion,
}

impl DiagnosticKind {
    pub fn code(self) -> &'static str {
        match self {
            DiagnosticKind::Syntax => "policy::syntax",
            DiagnosticKind::UnknownKey => "policy::unknown-key",
            DiagnosticKind::MissingKey => "policy::missing-key",
            DiagnosticKind::WrongType => "policy::wrong-type",
            DiagnosticKind::UnknownRuleKind => "policy::unknown-rule-kind",
            DiagnosticKind::DuplicateRuleId => "policy::duplicate-rule-id",
            DiagnosticKind::InvalidRuleId => "policy::invalid-rule-id",
            DiagnosticKind::BadGlob => "policy::bad-glob",
            DiagnosticKind::BadRegex => "policy::bad-regex",
            DiagnosticKind::BadValue => "policy::bad-value",
            DiagnosticKind::UnsupportedVersion => "policy::unsupported-version",
        }
    }
}

/// One problem in a policy file.
#[derive(Debug, Clone)]
pub struct PolicyDiagnostic {
    pub kind: DiagnosticKind,
    pub message: String,
    /// Byte range of the offending text in the policy file.
    pub span: Option<Range<usize>>,
    /// Text under the span.
    pub label: String,
    pub help: Option<String>,
    source: Option<Box<NamedSource<Arc<str>>>>,
}

impl PolicyDiagnostic {
    pub fn new(kind: DiagnosticKind, message: impl Into<String>) -> Self {
        PolicyDiagnostic {
            kind,
            message: message.into(),
            span: None,
            label: String::new(),
            help: None,
            source: None,
        }
    }

    pub fn at(mut self, span: Option<Range<usize>>, label: impl Into<String>) -> Self {
        self.span = span;
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Whether the diagnostic already names its text (a pack's, for example).
    pub(crate) fn has_source(&self) -> bool {
        self.source.is_some()
    }

    /// The name and text of the source this diagnostic points into, when it
    /// is not the policy file itself (a pack).
    pub fn own_source(&self) -> Option<(&str, &str)> {
        self.source.as_deref().map(|s| (s.name(), &**s.inner()))
    }

    pub(crate) fn with_source(mut self, source: NamedSource<Arc<str>>) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// 1-based (line, column) of the span start in `text`.
    pub fn line_col(&self, text: &str) -> Option<(usize, usize)> {
        let start = self.span.as_ref()?.start.min(text.len());
        let before = &text[..start];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Some((line, col))
    }
}

impl fmt::Display for PolicyDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PolicyDiagnostic {}

impl Diagnostic for PolicyDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.kind.code()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_deref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span.clone()?;
        let label = LabeledSpan::new_with_span(
            (!self.label.is_empty()).then(|| self.label.clone()),
            (span.start, span.end.saturating_sub(span.start)),
        );
        Some(Box::new(std::iter::once(label)))
    }
}

/// Why a policy could not be used. Always exit code 2.
#[derive(Debug)]
pub enum PolicyError {
    /// The file could not be read.
    Read { path: String, reason: String },
    /// The file was read but is not a valid policy.
    Invalid {
        origin: String,
        text: Arc<str>,
        diagnostics: Vec<PolicyDiagnostic>,
    },
}

impl PolicyError {
    pub fn diagnostics(&self) -> &[PolicyDiagnostic] {
        match self {
            PolicyError::Read { .. } => &[],
            PolicyError::Invalid { diagnostics, .. } => diagnostics,
        }
    }

    /// Render for a person: each diagnostic with its source excerpt, then a count.
    pub fn render(&self, color: bool) -> String {
        match self {
            PolicyError::Read { path, reason } => {
                format!("error: cannot read policy file {path}: {reason}\n")
            }
            PolicyError::Invalid {
                origin,
                diagnostics,
                ..
            } => {
                let theme = if color {
                    GraphicalTheme::unicode()
                } else {
                    GraphicalTheme::unicode_nocolor()
                };
                let handler = GraphicalReportHandler::new_themed(theme)
                    .with_width(100)
                    .with_links(false);
                let mut out = String::new();
                for diagnostic in diagnostics {
                    // Writing into a String cannot fail.
                    let _ = handler.render_report(&mut out, diagnostic);
                    out.push('\n');
                }
                let n = diagnostics.len();
                out.push_str(&format!(
                    "{origin}: {n} error{} — the policy was not used\n",
                    if n == 1 { "" } else { "s" }
                ));
                out
            }
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::Read { path, reason } => {
                write!(f, "cannot read policy file {path}: {reason}")
            }
            PolicyError::Invalid {
                origin,
                text,
                diagnostics,
            } => {
                for (i, d) in diagnostics.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    // A diagnostic about a pack names the pack and its line.
                    let (origin, text) = match d.own_source() {
                        Some((name, own)) if name != origin.as_str() => (name, own),
                        _ => (origin.as_str(), &**text),
                    };
                    match d.line_col(text) {
                        Some((line, col)) => write!(f, "{origin}:{line}:{col}: {d}")?,
                        None => write!(f, "{origin}: {d}")?,
                    }
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for PolicyError {}
