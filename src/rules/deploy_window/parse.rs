//! Parsing the values of a window from the policy: days, times of day,
//! durations, date-times and cron expressions. Each error is a spanned
//! diagnostic with a help line.

use std::ops::Range;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use super::clock;
use crate::policy::{DiagnosticKind, PolicyDiagnostic};

const DAY_NAMES: [[&str; 2]; 7] = [
    ["mon", "monday"],
    ["tue", "tuesday"],
    ["wed", "wednesday"],
    ["thu", "thursday"],
    ["fri", "friday"],
    ["sat", "saturday"],
    ["sun", "sunday"],
];

const DAYS_HELP: &str = "days are mon, tue, wed, thu, fri, sat, sun; an inclusive range is written `mon-fri` and may wrap past Sunday (`fri-mon`)";

fn bad(span: &Range<usize>, message: String, label: &str, help: &str) -> PolicyDiagnostic {
    PolicyDiagnostic::new(DiagnosticKind::BadValue, message)
        .at(Some(span.clone()), label)
        .help(help)
}

fn day(name: &str) -> Option<usize> {
    let name = name.trim().to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|names| names.contains(&name.as_str()))
}

/// `["mon-thu", "sat"]` or `"mon-fri"` (also comma-separated) → Monday-first flags.
pub fn days(items: &[String], span: &Range<usize>) -> Result<[bool; 7], PolicyDiagnostic> {
    let mut set = [false; 7];
    let parts: Vec<&str> = items.iter().flat_map(|s| s.split(',')).collect();
    if parts.iter().all(|p| p.trim().is_empty()) {
        return Err(bad(
            span,
            "`days` is empty, so the window would never be open".into(),
            "no days",
            DAYS_HELP,
        ));
    }
    for part in parts {
        let parsed = match part.split_once('-') {
            Some((a, b)) => day(a).zip(day(b)),
            None => day(part).map(|d| (d, d)),
        };
        let Some((first, last)) = parsed else {
            return Err(bad(
                span,
                format!("`{}` is not a day or a day range", part.trim()),
                "bad day",
                DAYS_HELP,
            ));
        };
        let mut d = first;
        loop {
            set[d] = true;
            if d == last {
                break;
            }
            d = (d + 1) % 7;
        }
    }
    Ok(set)
}

/// `HH:MM` as minutes after midnight; `24:00` only where `allow_24` (an end).
pub fn time_of_day(
    text: &str,
    span: &Range<usize>,
    allow_24: bool,
) -> Result<u32, PolicyDiagnostic> {
    let help = "write a 24-hour time `HH:MM`, for example `09:00` or `17:30`; an `end` may be `24:00` (midnight at the end of the day)";
    let parsed = text.split_once(':').and_then(|(h, m)| {
        let ok = h.len() == 2 && m.len() == 2;
        let h: u32 = h.parse().ok()?;
        let m: u32 = m.parse().ok()?;
        (ok && m < 60 && (h < 24 || (allow_24 && h == 24 && m == 0))).then_some(h * 60 + m)
    });
    parsed.ok_or_else(|| {
        bad(
            span,
            format!("`{text}` is not a time of day"),
            "expected `HH:MM`",
            help,
        )
    })
}

/// `90m`, `1h30m`, `3d`, `64h` — a positive duration of at most 366 days.
pub fn duration(text: &str, span: &Range<usize>) -> Result<Duration, PolicyDiagnostic> {
    let help = "write a duration as numbers with units d, h, m, s: `30m`, `2h`, `1h30m`, `3d` (at most 366d)";
    let fail = || {
        bad(
            span,
            format!("`{text}` is not a duration"),
            "bad duration",
            help,
        )
    };
    let mut total = Duration::zero();
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: i64 = digits.parse().map_err(|_| fail())?;
        digits.clear();
        let part = match c {
            'd' => Duration::try_days(n),
            'h' => Duration::try_hours(n),
            'm' => Duration::try_minutes(n),
            's' => Duration::try_seconds(n),
            _ => None,
        }
        .ok_or_else(fail)?;
        total = total.checked_add(&part).ok_or_else(fail)?;
    }
    if !digits.is_empty() || total <= Duration::zero() {
        return Err(fail());
    }
    if total > Duration::days(366) {
        return Err(bad(
            span,
            format!("duration `{text}` is longer than a year"),
            "too long",
            "a window lasts at most 366d; use `from`/`to` for a longer freeze",
        ));
    }
    Ok(total)
}

/// `2026-12-24T10:00` (local, in the policy's zone), `2026-12-24` (local
/// midnight), or RFC 3339 with an offset (`2026-12-24T10:00:00+01:00`).
pub fn date_time(
    text: &str,
    span: &Range<usize>,
    tz: Tz,
) -> Result<DateTime<Utc>, PolicyDiagnostic> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(clock::resolve(tz, naive));
        }
    }
    if let Some(midnight) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
    {
        return Ok(clock::resolve(tz, midnight));
    }
    Err(bad(
        span,
        format!("`{text}` is not a date-time"),
        "bad date-time",
        "write `2026-12-24T10:00` (local time in the rule's `timezone`), `2026-12-24` (local midnight) or RFC 3339 with an offset (`2026-12-24T10:00:00+01:00`)",
    ))
}

/// A five-field cron (`minute hour day-of-month month day-of-week`), which
/// must fire at least once in any 30 years (Feb 29 fires every 4 or 8).
pub fn cron(text: &str, span: &Range<usize>) -> Result<Cron, PolicyDiagnostic> {
    let help = "five fields: minute hour day-of-month month day-of-week, for example `0 16 * * fri` (Fridays 16:00); when both day fields are restricted, either one matching fires (as in Vixie cron)";
    let parser = CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build();
    let cron = parser.parse(text).map_err(|e| {
        bad(
            span,
            format!("`{text}` is not a valid cron expression: {e}"),
            "malformed cron",
            help,
        )
    })?;
    let reference = DateTime::<Utc>::from_timestamp(946_684_800, 0).unwrap_or_default(); // 2000-01-01
    let fires = cron
        .find_next_occurrence(&reference, true)
        .is_ok_and(|t| t < reference + Duration::days(366 * 30));
    if !fires {
        return Err(bad(
            span,
            format!("cron `{text}` can never fire"),
            "never fires",
            "check the day-of-month and month fields: this combination names no real date (like February 31)",
        ));
    }
    Ok(cron)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Range<usize> = 0..1;

    fn d(list: &[&str]) -> Result<[bool; 7], PolicyDiagnostic> {
        days(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>(), &S)
    }

    #[test]
    fn day_ranges_include_both_ends_and_may_wrap() {
        assert_eq!(
            d(&["mon-thu"]).unwrap(),
            [true, true, true, true, false, false, false]
        );
        assert_eq!(
            d(&["fri-mon"]).unwrap(),
            [true, false, false, false, true, true, true]
        );
        assert_eq!(
            d(&["Sat", "wednesday"]).unwrap(),
            [false, false, true, false, false, true, false]
        );
        assert_eq!(
            d(&["mon,fri"]).unwrap(),
            [true, false, false, false, true, false, false]
        );
        assert!(d(&["mon-xyz"]).is_err());
        assert!(d(&[]).is_err());
    }

    #[test]
    fn times_of_day() {
        assert_eq!(time_of_day("09:30", &S, false).unwrap(), 570);
        assert_eq!(time_of_day("24:00", &S, true).unwrap(), 1440);
        for bad in ["24:00", "9:30", "12:60", "noon", "25:00"] {
            assert!(time_of_day(bad, &S, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration("1h30m", &S).unwrap(), Duration::minutes(90));
        assert_eq!(duration("3d", &S).unwrap(), Duration::days(3));
        for bad in ["", "0m", "10", "h", "5x", "400d"] {
            assert!(duration(bad, &S).is_err(), "{bad}");
        }
    }

    #[test]
    fn crons_that_never_fire_are_rejected() {
        assert!(cron("0 12 31 2 *", &S).is_err());
        assert!(cron("0 12 30 2 *", &S).is_err());
        assert!(cron("0 12 29 2 *", &S).is_ok());
        assert!(cron("61 * * * *", &S).is_err());
        assert!(cron("0 16 * * fri", &S).is_ok());
        assert!(cron("0 0 * * * *", &S).is_err(), "six fields are refused");
    }
}
