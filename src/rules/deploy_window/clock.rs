//! Wall-clock arithmetic for deploy windows: turning a local time in the
//! policy's zone into an instant, and showing instants to people.
//!
//! One rule resolves every local time, whatever the window's shape, so the
//! daylight-saving edges behave the same everywhere:
//! - a local time that does not exist (the spring-forward gap, e.g. 02:30 on
//!   2026-03-29 in Europe/Berlin) means the moment the clock jumps forward
//!   (03:00 CEST = 01:00 UTC), the first real instant after it;
//! - a local time that occurs twice (the repeated fall-back hour, e.g. 01:30
//!   on 2026-11-01 in America/New_York) means its first occurrence (01:30 EDT).
//!
//! Both rules are also what croner does for a cron that fires at a fixed time,
//! so weekly, cron and absolute windows agree.

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::{OffsetName, Tz};

/// The instant a local wall time stands for in `tz` (see the module docs).
pub fn resolve(tz: Tz, naive: NaiveDateTime) -> DateTime<Utc> {
    use chrono::LocalResult;
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // In a gap: walk forward minute by minute to the first wall time
            // that exists. Gaps are at most a day long (Samoa, 2011).
            let mut probe = naive
                .with_second(0)
                .unwrap_or(naive)
                .with_nanosecond(0)
                .unwrap_or(naive);
            for _ in 0..(26 * 60) {
                probe += Duration::minutes(1);
                match tz.from_local_datetime(&probe) {
                    LocalResult::Single(t) => return t.with_timezone(&Utc),
                    LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
                    LocalResult::None => {}
                }
            }
            // Unreachable with the real tz database; read the time with the
            // offset in force just before it rather than inventing one.
            let offset = tz.offset_from_utc_datetime(&naive).fix();
            Utc.from_utc_datetime(&(naive - Duration::seconds(i64::from(offset.local_minus_utc()))))
        }
    }
}

/// `Thu 2026-12-24 10:00 Europe/Berlin`.
pub fn local(t: DateTime<Utc>, tz: Tz) -> String {
    let l = t.with_timezone(&tz);
    format!("{} {}", l.format("%a %Y-%m-%d %H:%M"), tz.name())
}

/// `09:00 UTC`, or `2026-12-23 23:00 UTC` when the UTC date differs from the local one.
pub fn utc_beside(t: DateTime<Utc>, tz: Tz) -> String {
    let l = t.with_timezone(&tz);
    if l.date_naive() == t.date_naive() {
        format!("{} UTC", t.format("%H:%M"))
    } else {
        format!("{} UTC", t.format("%Y-%m-%d %H:%M"))
    }
}

/// `Mon 2027-01-04 09:00 Europe/Berlin (08:00 UTC)`.
pub fn both(t: DateTime<Utc>, tz: Tz) -> String {
    format!("{} ({})", local(t, tz), utc_beside(t, tz))
}

/// `Thu 2026-12-24 10:00 Europe/Berlin = 09:00 UTC`, for the evaluation instant.
pub fn instant(t: DateTime<Utc>, tz: Tz) -> String {
    format!("{} = {}", local(t, tz), utc_beside(t, tz))
}

/// The record of which clock was used: instant, zone and the offset in force then.
pub fn evidence(t: DateTime<Utc>, tz: Tz) -> String {
    let l = t.with_timezone(&tz);
    let offset = l.offset();
    let fixed = offset.fix();
    let secs = fixed.local_minus_utc();
    let sign = if secs < 0 { '-' } else { '+' };
    let abs = secs.unsigned_abs();
    let abbreviation = offset
        .abbreviation()
        .map(|a| format!(", {a}"))
        .unwrap_or_default();
    format!(
        "evaluated at {} ({} local, zone {}, UTC offset {sign}{:02}:{:02}{abbreviation})",
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        l.format("%Y-%m-%dT%H:%M:%S"),
        tz.name(),
        abs / 3600,
        (abs % 3600) / 60,
    )
}

/// Monday = 0 … Sunday = 6 of the local date of `t`.
pub fn weekday_index(date: chrono::NaiveDate) -> usize {
    date.weekday().num_days_from_monday() as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn naive(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn a_time_in_the_spring_gap_is_the_moment_the_clock_jumps() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            resolve(berlin, naive(2026, 3, 29, 2, 30)),
            utc(2026, 3, 29, 1, 0)
        );
        let ny: Tz = "America/New_York".parse().unwrap();
        assert_eq!(resolve(ny, naive(2026, 3, 8, 2, 0)), utc(2026, 3, 8, 7, 0));
    }

    #[test]
    fn a_repeated_time_is_its_first_occurrence() {
        let ny: Tz = "America/New_York".parse().unwrap();
        // 01:30 EDT (UTC-4), not 01:30 EST (UTC-5).
        assert_eq!(
            resolve(ny, naive(2026, 11, 1, 1, 30)),
            utc(2026, 11, 1, 5, 30)
        );
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            resolve(berlin, naive(2026, 10, 25, 2, 30)),
            utc(2026, 10, 25, 0, 30)
        );
    }

    #[test]
    fn ordinary_times_use_the_offset_of_their_own_date() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            resolve(berlin, naive(2026, 7, 1, 9, 0)),
            utc(2026, 7, 1, 7, 0)
        );
        assert_eq!(
            resolve(berlin, naive(2026, 12, 1, 9, 0)),
            utc(2026, 12, 1, 8, 0)
        );
    }

    #[test]
    fn formats_show_zone_and_utc() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let t = utc(2026, 12, 24, 9, 0);
        assert_eq!(
            instant(t, berlin),
            "Thu 2026-12-24 10:00 Europe/Berlin = 09:00 UTC"
        );
        assert_eq!(
            both(utc(2026, 12, 31, 23, 30), berlin),
            "Fri 2027-01-01 00:30 Europe/Berlin (2026-12-31 23:30 UTC)"
        );
        assert_eq!(
            evidence(t, berlin),
            "evaluated at 2026-12-24T09:00:00Z (2026-12-24T10:00:00 local, zone Europe/Berlin, UTC offset +01:00, CET)"
        );
    }
}
