//! One allow or deny window, in one of its four shapes, as a set of half-open
//! instant intervals `[start, end)`.
//!
//! Every shape answers two questions for the evaluator: which of its intervals
//! contains an instant (the one that lasts longest), and when its next
//! interval starts after an instant. Local times are turned into instants with
//! [`clock::resolve`], so each occurrence uses the UTC offset in force at that
//! occurrence, not today's.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;

use super::clock;

/// `[start, end)`.
pub type Interval = (DateTime<Utc>, DateTime<Utc>);

#[derive(Debug, Clone)]
pub enum Shape {
    /// On each listed weekday (Monday = 0), from `start` to `end` minutes after
    /// local midnight; `end <= start` means the window ends on the next day.
    Weekly {
        days: [bool; 7],
        start: u32,
        end: u32,
    },
    /// GitLab-style freeze: active from the latest `start` firing until the
    /// first `end` firing after it.
    CronPair { start: Box<Cron>, end: Box<Cron> },
    /// Argo-CD-style window: each firing of `cron` opens it for `duration`.
    CronDuration { cron: Box<Cron>, duration: Duration },
    /// From one instant to another.
    Absolute {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
}

#[derive(Debug, Clone)]
pub struct Window {
    /// `name`, or a description of the shape when the policy gives none.
    pub label: String,
    pub reason: Option<String>,
    pub shape: Shape,
}

/// A cron that fails while searching (it was checked at load time to fire).
pub type SearchError = String;

impl Window {
    /// The interval of this window containing `t`, if any (the longest-lasting one).
    pub fn active_at(&self, t: DateTime<Utc>, tz: Tz) -> Result<Option<Interval>, SearchError> {
        let contains = |i: &Interval| i.0 <= t && t < i.1;
        match &self.shape {
            Shape::Weekly { days, start, end } => {
                let today = t.with_timezone(&tz).date_naive();
                let mut best: Option<Interval> = None;
                for date in [today.pred_opt(), Some(today), today.succ_opt()]
                    .into_iter()
                    .flatten()
                {
                    if let Some(i) = weekly_interval(tz, date, days, *start, *end)
                        && contains(&i)
                        && best.is_none_or(|b| i.1 > b.1)
                    {
                        best = Some(i);
                    }
                }
                Ok(best)
            }
            Shape::CronPair { start, end } => {
                let Some(opened) = previous_inclusive(start, t, tz)? else {
                    return Ok(None);
                };
                let closes = next_after(end, opened, tz)?;
                Ok(Some((opened, closes)).filter(contains))
            }
            Shape::CronDuration { cron, duration } => {
                let Some(opened) = previous_inclusive(cron, t, tz)? else {
                    return Ok(None);
                };
                Ok(Some((opened, opened + *duration)).filter(contains))
            }
            Shape::Absolute { from, to } => Ok(Some((*from, *to)).filter(contains)),
        }
    }

    /// The start of this window's first non-empty interval strictly after `t`.
    pub fn next_start_after(
        &self,
        t: DateTime<Utc>,
        tz: Tz,
    ) -> Result<Option<DateTime<Utc>>, SearchError> {
        match &self.shape {
            Shape::Weekly { days, start, end } => {
                let today = t.with_timezone(&tz).date_naive();
                // Fifteen days always include every weekday twice, even when a
                // day's interval vanishes into a spring-forward gap.
                let mut date = today.pred_opt().unwrap_or(today);
                for _ in 0..15 {
                    if let Some(i) = weekly_interval(tz, date, days, *start, *end)
                        && i.0 > t
                    {
                        return Ok(Some(i.0));
                    }
                    date = match date.succ_opt() {
                        Some(d) => d,
                        None => return Ok(None),
                    };
                }
                Ok(None)
            }
            Shape::CronPair { start: cron, .. } | Shape::CronDuration { cron, .. } => {
                next_after(cron, t, tz).map(Some)
            }
            Shape::Absolute { from, .. } => Ok((*from > t).then_some(*from)),
        }
    }
}

/// The weekly window's interval that starts on local `date`, if the window
/// runs that day and the interval is not empty.
fn weekly_interval(
    tz: Tz,
    date: NaiveDate,
    days: &[bool; 7],
    start: u32,
    end: u32,
) -> Option<Interval> {
    if !days[clock::weekday_index(date)] {
        return None;
    }
    let midnight: NaiveDateTime = date.and_hms_opt(0, 0, 0)?;
    let opens = midnight + Duration::minutes(i64::from(start));
    let mut closes = midnight + Duration::minutes(i64::from(end));
    if end <= start {
        closes += Duration::days(1);
    }
    let interval = (clock::resolve(tz, opens), clock::resolve(tz, closes));
    // Both ends inside one spring-forward gap: the window never happens that day.
    (interval.0 < interval.1).then_some(interval)
}

fn previous_inclusive(
    cron: &Cron,
    t: DateTime<Utc>,
    tz: Tz,
) -> Result<Option<DateTime<Utc>>, SearchError> {
    match cron.find_previous_occurrence(&t.with_timezone(&tz), true) {
        Ok(p) => Ok(Some(p.with_timezone(&Utc))),
        // Before year 1: nothing fired yet.
        Err(croner::errors::CronError::TimeSearchLimitExceeded) => Ok(None),
        Err(e) => Err(format!(
            "cron `{}` could not be evaluated: {e}",
            cron.pattern
        )),
    }
}

fn next_after(cron: &Cron, t: DateTime<Utc>, tz: Tz) -> Result<DateTime<Utc>, SearchError> {
    cron.find_next_occurrence(&t.with_timezone(&tz), false)
        .map(|n| n.with_timezone(&Utc))
        .map_err(|e| {
            format!(
                "cron `{}` has no next firing after {}: {e}",
                cron.pattern,
                t.to_rfc3339()
            )
        })
}
