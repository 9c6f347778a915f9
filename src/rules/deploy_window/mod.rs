//! `kind = "deploy-window"`: deploy only inside allow windows and never inside
//! a freeze. The config type's doc comment is the kind's documentation.

mod clock;
mod parse;
mod window;

use std::ops::Range;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use super::{Evaluation, Rule, RuleConfig, RuleInput};
use crate::decision::Finding;
use crate::policy::{DiagnosticKind, PolicyDiagnostic, did_you_mean};
use window::{Interval, Shape, Window};

pub const EXAMPLE: &str = r#"[[rule]]
id = "deploy-window"
kind = "deploy-window"
description = "Production deploys on weekday working hours, never in a freeze"
when = { environments = ["production"] }
timezone = "Europe/Berlin"
allow = [
  { name = "working hours", days = "mon-thu", start = "09:00", end = "17:00" },
  { name = "friday morning", days = "fri", start = "09:00", end = "12:00" },
]
deny = [
  { name = "year-end freeze", from = "2026-12-19", to = "2027-01-04T09:00", reason = "reduced staffing over the holidays" },
  { name = "monthly maintenance", cron_start = "0 22 1 * *", cron_end = "0 6 2 * *", reason = "database maintenance" },
  { name = "release train", cron = "0 14 * * wed", duration = "2h" },
]
"#;

/// How far ahead the next allowed moment is searched for.
const HORIZON_DAYS: i64 = 366;

/// Deploys happen only inside an allow window and never inside a deny window.
///
/// What it does: at the evaluation instant (the real clock; `--now` in a dry
/// run) it finds which windows are active in the rule's `timezone`. A deny
/// window that is active blocks, whatever the allow windows say (deny beats
/// allow). When `allow` lists windows, one of them must be active; when it
/// lists none, every moment outside the deny windows is allowed, and a rule
/// with no windows at all allows always. A blocked finding names the window
/// (or says no allow window is open), shows the instant in the zone and in
/// UTC, and gives the next allowed moment within a year, or says there is none.
///
/// Why: deploys during a holiday freeze or at 17:55 on a Friday are how
/// outages start when nobody is there to fix them.
///
/// Windows (keys `name`, `reason`, `days`, `start`, `end`, `cron_start`,
/// `cron_end`, `cron`, `duration`, `from`, `to`), each with an optional `name`
/// and `reason` (shown to the user), in one of four shapes:
/// - weekly: `days` (`"mon-fri"`, `["mon-thu", "sat"]`, ranges inclusive and
///   may wrap: `"fri-mon"`; default every day) with `start` and `end` as
///   `HH:MM`; an `end` at or before `start` ends on the next day (`22:00` to
///   `06:00`), `end = "24:00"` is the end of the day;
/// - `cron_start` + `cron_end` (GitLab deploy freezes): active from the latest
///   `cron_start` firing until the first `cron_end` firing after it;
/// - `cron` + `duration` (Argo CD sync windows): each firing opens the window
///   for the duration (`90m`, `1h30m`, `3d`);
/// - `from` + `to`: a one-off period (`2026-12-24T00:00`, `2026-12-24` = local
///   midnight, or RFC 3339 with an offset).
///
/// Crons have five fields (minute hour day-of-month month day-of-week) and are
/// evaluated in the rule's `timezone`; one that is malformed or can never fire
/// (`0 12 31 2 *`) is a policy error.
///
/// Semantics: every window is a set of half-open intervals `[start, end)`:
/// open at 09:00, closed at 17:00 sharp. Each occurrence uses the UTC offset in
/// force at that occurrence, so "09:00 Europe/Berlin" is 08:00 UTC in winter
/// and 07:00 UTC in summer. A local time in the spring-forward gap (02:30 on
/// 2026-03-29 in Berlin) means the moment the clock jumps (03:00 CEST); a local
/// time in the repeated fall-back hour (01:30 on 2026-11-01 in New York) means
/// its first occurrence (01:30 EDT). So a window across a transition lasts one
/// hour more or less than on other days, exactly as the wall clock says.
/// The evaluation instant, zone and UTC offset are recorded in the rule's
/// evidence, and so in the audit record.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployWindowConfig {
    /// IANA time zone name (`Europe/Berlin`, `America/New_York`, `UTC`) that
    /// every window's local times are read in. Required: never a silent UTC.
    #[schemars(with = "String")]
    timezone: Spanned<String>,
    /// Windows in which deploys are allowed. Empty: allowed outside `deny`.
    #[serde(default)]
    #[schemars(with = "Vec<WindowConfig>")]
    allow: Vec<Spanned<WindowConfig>>,
    /// Windows in which deploys are blocked (freezes); they beat `allow`.
    #[serde(default)]
    #[schemars(with = "Vec<WindowConfig>")]
    deny: Vec<Spanned<WindowConfig>>,
}

/// One window: `days`/`start`/`end`, `cron_start`/`cron_end`,
/// `cron`/`duration`, or `from`/`to`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// Shown in findings (`year-end freeze`).
    name: Option<String>,
    /// Why the window exists; shown to the user who is blocked.
    reason: Option<String>,
    /// Weekly: days of week, `"mon-fri"` or a list (`["mon-thu", "sat"]`). Default every day.
    #[schemars(with = "Option<DaysSchema>")]
    days: Option<Spanned<Days>>,
    /// Weekly: opening time `HH:MM`.
    #[schemars(with = "Option<String>")]
    start: Option<Spanned<String>>,
    /// Weekly: closing time `HH:MM` (exclusive); at or before `start` means the next day.
    #[schemars(with = "Option<String>")]
    end: Option<Spanned<String>>,
    /// Cron (five fields) whose firing opens the window until `cron_end` fires.
    #[schemars(with = "Option<String>")]
    cron_start: Option<Spanned<String>>,
    /// Cron whose first firing after `cron_start` closes the window.
    #[schemars(with = "Option<String>")]
    cron_end: Option<Spanned<String>>,
    /// Cron whose every firing opens the window for `duration`.
    #[schemars(with = "Option<String>")]
    cron: Option<Spanned<String>>,
    /// How long each `cron` firing keeps the window open (`90m`, `1h30m`, `3d`).
    #[schemars(with = "Option<String>")]
    duration: Option<Spanned<String>>,
    /// Start of a one-off period (`"2026-12-19"`, `"2026-12-19T18:00"`, RFC 3339,
    /// or a TOML date-time written without quotes).
    #[schemars(with = "Option<String>")]
    from: Option<Spanned<DateTimeValue>>,
    /// End of the one-off period (exclusive).
    #[schemars(with = "Option<String>")]
    to: Option<Spanned<DateTimeValue>>,
}

/// A date-time as written: a string, or a TOML date-time (`2026-12-19`,
/// `2026-12-19T18:00:00`, `2026-12-19T18:00:00+01:00`) without quotes.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DateTimeValue {
    Text(String),
    Toml(toml::value::Datetime),
}

impl DateTimeValue {
    fn text(&self) -> String {
        match self {
            DateTimeValue::Text(s) => s.clone(),
            DateTimeValue::Toml(d) => d.to_string(),
        }
    }
}

/// `days` as written: one string or a list of strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Days {
    One(String),
    Many(Vec<String>),
}

impl Days {
    fn items(&self) -> Vec<String> {
        match self {
            Days::One(s) => vec![s.clone()],
            Days::Many(v) => v.clone(),
        }
    }
}

/// The schema of `days`: a string or a list of strings.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum DaysSchema {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug)]
struct DeployWindowRule {
    tz: Tz,
    allow: Vec<Window>,
    deny: Vec<Window>,
}

impl RuleConfig for DeployWindowConfig {
    fn validate(self) -> Result<Box<dyn Rule>, Vec<PolicyDiagnostic>> {
        self.build().map(|r| Box::new(r) as Box<dyn Rule>)
    }
}

impl DeployWindowConfig {
    fn build(self) -> Result<DeployWindowRule, Vec<PolicyDiagnostic>> {
        let tz = parse_zone(&self.timezone).map_err(|d| vec![d])?;
        let mut errors = Vec::new();
        let mut build = |list: Vec<Spanned<WindowConfig>>, side: &str| -> Vec<Window> {
            list.into_iter()
                .enumerate()
                .filter_map(|(i, w)| {
                    let span = w.span();
                    build_window(
                        w.into_inner(),
                        span,
                        tz,
                        &format!("{side} window #{}", i + 1),
                    )
                    .map_err(|e| errors.extend(e))
                    .ok()
                })
                .collect()
        };
        let allow = build(self.allow, "allow");
        let deny = build(self.deny, "deny");
        if errors.is_empty() {
            Ok(DeployWindowRule { tz, allow, deny })
        } else {
            Err(errors)
        }
    }
}

fn parse_zone(name: &Spanned<String>) -> Result<Tz, PolicyDiagnostic> {
    let text = name.get_ref();
    // Legacy names without a region (`EST`, `CET`, `EST5EDT`) are in the tz
    // database but are not what people mean: `EST` never observes daylight
    // saving. Only UTC itself is accepted without a `Area/Location` name.
    let legacy = !text.contains('/') && !matches!(text.as_str(), "UTC" | "GMT");
    if let Ok(tz) = text.parse::<Tz>()
        && !legacy
    {
        return Ok(tz);
    }
    let names = chrono_tz::TZ_VARIANTS.iter().map(|t| t.name());
    let suggestion = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|t| t.name())
        .find(|n| n.eq_ignore_ascii_case(text))
        .or_else(|| did_you_mean(text, names));
    let looks_like_abbreviation = (2..=5).contains(&text.len())
        && text.chars().all(|c| c.is_ascii_uppercase())
        || text.starts_with(['+', '-'])
        || text.starts_with("UTC+")
        || text.starts_with("UTC-")
        || text.starts_with("GMT+")
        || text.starts_with("GMT-");
    let looks_like_abbreviation = looks_like_abbreviation || legacy;
    let suggestion = suggestion.filter(|_| !looks_like_abbreviation);
    let help = match suggestion {
        Some(s) => format!("did you mean `{s}`? Zones are IANA names, case-sensitive"),
        None if looks_like_abbreviation => format!(
            "`{text}` is an abbreviation or a fixed offset, which does not follow daylight saving; use the IANA name of the place, such as `Europe/Berlin` or `America/New_York`"
        ),
        None => {
            "use an IANA zone name such as `Europe/Berlin`, `America/New_York` or `UTC`".to_string()
        }
    };
    Err(PolicyDiagnostic::new(
        DiagnosticKind::BadValue,
        format!("unknown time zone `{text}`"),
    )
    .at(Some(name.span()), "not an IANA time zone")
    .help(help))
}

/// Which shape a window's keys describe, or a diagnostic when they mix or miss.
fn build_window(
    w: WindowConfig,
    span: Range<usize>,
    tz: Tz,
    fallback: &str,
) -> Result<Window, Vec<PolicyDiagnostic>> {
    const SHAPES: &str = "a window is one of: `days`/`start`/`end` (weekly), `cron_start`/`cron_end`, `cron`/`duration`, or `from`/`to`";
    let weekly = w.days.is_some() || w.start.is_some() || w.end.is_some();
    let pair = w.cron_start.is_some() || w.cron_end.is_some();
    let argo = w.cron.is_some() || w.duration.is_some();
    let absolute = w.from.is_some() || w.to.is_some();
    let shapes = [weekly, pair, argo, absolute]
        .iter()
        .filter(|b| **b)
        .count();
    let diag = |message: &str, label: &str| {
        vec![
            PolicyDiagnostic::new(DiagnosticKind::BadValue, message)
                .at(Some(span.clone()), label)
                .help(SHAPES),
        ]
    };
    if shapes == 0 {
        return Err(diag("this window has no times", "no shape"));
    }
    if shapes > 1 {
        return Err(diag(
            "this window mixes keys of different shapes",
            "mixed shapes",
        ));
    }
    let missing = |key: &str| {
        vec![
            PolicyDiagnostic::new(
                DiagnosticKind::MissingKey,
                format!("this window needs `{key}`"),
            )
            .at(Some(span.clone()), format!("`{key}` is missing"))
            .help(SHAPES),
        ]
    };
    let (shape, described) = if weekly {
        let (Some(start), Some(end)) = (&w.start, &w.end) else {
            return Err(missing(if w.start.is_none() { "start" } else { "end" }));
        };
        let days_text = w.days.as_ref().map(|d| d.get_ref().items().join(","));
        let days = match &w.days {
            Some(d) => parse::days(&d.get_ref().items(), &d.span()).map_err(one)?,
            None => [true; 7],
        };
        let s = parse::time_of_day(start.get_ref(), &start.span(), false).map_err(one)?;
        let e = parse::time_of_day(end.get_ref(), &end.span(), true).map_err(one)?;
        if s == e {
            return Err(vec![
                PolicyDiagnostic::new(DiagnosticKind::BadValue, "`start` and `end` are equal")
                    .at(Some(end.span()), "same as `start`")
                    .help("for a whole day write `start = \"00:00\"`, `end = \"24:00\"`"),
            ]);
        }
        (
            Shape::Weekly {
                days,
                start: s,
                end: e,
            },
            format!(
                "{} {}–{}",
                days_text.unwrap_or_else(|| "daily".into()),
                start.get_ref(),
                end.get_ref()
            ),
        )
    } else if pair {
        let (Some(cs), Some(ce)) = (&w.cron_start, &w.cron_end) else {
            return Err(missing(if w.cron_start.is_none() {
                "cron_start"
            } else {
                "cron_end"
            }));
        };
        let start = parse::cron(cs.get_ref(), &cs.span());
        let end = parse::cron(ce.get_ref(), &ce.span());
        let (start, end) = match (start, end) {
            (Ok(s), Ok(e)) => (s, e),
            (s, e) => return Err(s.err().into_iter().chain(e.err()).collect()),
        };
        (
            Shape::CronPair {
                start: Box::new(start),
                end: Box::new(end),
            },
            format!("from cron `{}` until cron `{}`", cs.get_ref(), ce.get_ref()),
        )
    } else if argo {
        let (Some(c), Some(d)) = (&w.cron, &w.duration) else {
            return Err(missing(if w.cron.is_none() { "cron" } else { "duration" }));
        };
        let cron = parse::cron(c.get_ref(), &c.span());
        let duration = parse::duration(d.get_ref(), &d.span());
        let (cron, duration) = match (cron, duration) {
            (Ok(c), Ok(d)) => (c, d),
            (c, d) => return Err(c.err().into_iter().chain(d.err()).collect()),
        };
        (
            Shape::CronDuration {
                cron: Box::new(cron),
                duration,
            },
            format!("cron `{}` for {}", c.get_ref(), d.get_ref()),
        )
    } else {
        let (Some(f), Some(t)) = (&w.from, &w.to) else {
            return Err(missing(if w.from.is_none() { "from" } else { "to" }));
        };
        let (from_text, to_text) = (f.get_ref().text(), t.get_ref().text());
        let from = parse::date_time(&from_text, &f.span(), tz);
        let to = parse::date_time(&to_text, &t.span(), tz);
        let (from, to) = match (from, to) {
            (Ok(f), Ok(t)) => (f, t),
            (f, t) => return Err(f.err().into_iter().chain(t.err()).collect()),
        };
        if from >= to {
            return Err(vec![
                PolicyDiagnostic::new(
                    DiagnosticKind::BadValue,
                    format!("`from` ({from_text}) is not before `to` ({to_text})"),
                )
                .at(Some(t.span()), "ends before it starts")
                .help("`to` is the exclusive end of the period: it must come after `from`"),
            ]);
        }
        (
            Shape::Absolute { from, to },
            format!("{} to {}", clock::local(from, tz), clock::local(to, tz)),
        )
    };
    let label = w
        .name
        .clone()
        .unwrap_or_else(|| format!("{fallback} ({described})"));
    Ok(Window {
        label,
        reason: w.reason,
        shape,
    })
}

fn one(d: PolicyDiagnostic) -> Vec<PolicyDiagnostic> {
    vec![d]
}

fn active(list: &[Window], t: DateTime<Utc>, tz: Tz) -> Result<Vec<(&Window, Interval)>, String> {
    let mut out = Vec::new();
    for w in list {
        if let Some(i) = w.active_at(t, tz)? {
            out.push((w, i));
        }
    }
    Ok(out)
}

/// Which windows are active at one instant.
struct State<'a> {
    denies: Vec<(&'a Window, Interval)>,
    allows: Vec<(&'a Window, Interval)>,
}

impl DeployWindowRule {
    fn state(&self, t: DateTime<Utc>) -> Result<State<'_>, String> {
        Ok(State {
            denies: active(&self.deny, t, self.tz)?,
            allows: active(&self.allow, t, self.tz)?,
        })
    }

    fn allowed(&self, state: &State<'_>) -> bool {
        state.denies.is_empty() && (self.allow.is_empty() || !state.allows.is_empty())
    }

    /// The first allowed instant at or after `t` within the horizon.
    ///
    /// Between two window boundaries nothing changes, so it jumps: past the
    /// last end of the active deny windows (every one covers `[t, its end)`),
    /// or to the earliest next start of an allow window.
    fn next_allowed(&self, mut t: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, String> {
        let limit = t + Duration::days(HORIZON_DAYS);
        while t <= limit {
            let state = self.state(t)?;
            if self.allowed(&state) {
                return Ok(Some(t));
            }
            t = if let Some(end) = state.denies.iter().map(|(_, i)| i.1).max() {
                end
            } else {
                let mut next: Option<DateTime<Utc>> = None;
                for w in &self.allow {
                    if let Some(s) = w.next_start_after(t, self.tz)? {
                        next = Some(next.map_or(s, |n| n.min(s)));
                    }
                }
                match next {
                    Some(n) => n,
                    None => return Ok(None),
                }
            };
        }
        Ok(None)
    }

    fn next_window_text(&self, now: DateTime<Utc>) -> Result<String, String> {
        Ok(match self.next_allowed(now)? {
            Some(t) => format!("next window opens {}", clock::both(t, self.tz)),
            None => format!(
                "no window opens within the next {HORIZON_DAYS} days (searched until {})",
                clock::both(now + Duration::days(HORIZON_DAYS), self.tz)
            ),
        })
    }

    fn describe_interval(&self, w: &Window, i: Interval) -> String {
        format!(
            "`{}`: {} until {}",
            w.label,
            clock::both(i.0, self.tz),
            clock::both(i.1, self.tz)
        )
    }
}

impl Rule for DeployWindowRule {
    fn evaluate(&self, input: &RuleInput<'_>) -> Evaluation {
        match self.decide(input.now) {
            Ok(e) => e,
            Err(reason) => Evaluation::error(
                Finding::new(format!(
                    "the deploy windows could not be evaluated: {reason}"
                ))
                .evidence(clock::evidence(input.now, self.tz)),
            ),
        }
    }
}

impl DeployWindowRule {
    fn decide(&self, now: DateTime<Utc>) -> Result<Evaluation, String> {
        let tz = self.tz;
        let clock_evidence = clock::evidence(now, tz);
        let state = self.state(now)?;
        let at = clock::instant(now, tz);
        if self.allowed(&state) {
            let (summary, evidence) = match state.allows.iter().max_by_key(|(_, i)| i.1) {
                Some((w, i)) => (
                    format!("inside allow window `{}` ({at})", w.label),
                    vec![self.describe_interval(w, *i)],
                ),
                None if self.deny.is_empty() => (
                    format!("no windows are configured, so deploys are always allowed ({at})"),
                    vec![],
                ),
                None => (format!("no deny window is active ({at})"), vec![]),
            };
            return Ok(Evaluation::pass(summary)
                .with_evidence(std::iter::once(clock_evidence).chain(evidence)));
        }
        let next = self.next_window_text(now)?;
        let remediation = "deploy once the window opens; `gatehouse check --dry-run --now <RFC 3339 instant>` shows whether another moment passes";
        let finding = if let Some((first, _)) = state.denies.first() {
            let mut f = Finding::new(format!(
                "blocked by deny window `{}` ({at}); {next}",
                first.label
            ));
            for (w, i) in &state.denies {
                f = f.evidence(self.describe_interval(w, *i));
                if let Some(reason) = &w.reason {
                    f = f.evidence(format!("reason for `{}`: {reason}", w.label));
                }
            }
            f
        } else {
            let mut f = Finding::new(format!("outside every allow window ({at}); {next}"));
            for w in &self.allow {
                f = f.evidence(format!("allow window `{}`", w.label));
            }
            f
        };
        let summary = if state.denies.is_empty() {
            "no allow window is open".to_string()
        } else {
            format!("deploy freeze `{}` is active", state.denies[0].0.label)
        };
        let mut eval = Evaluation::fail(
            summary,
            vec![
                finding
                    .evidence(clock_evidence.clone())
                    .remediation(remediation),
            ],
        );
        eval.evidence.push(clock_evidence);
        Ok(eval)
    }
}

#[cfg(test)]
mod tests;
