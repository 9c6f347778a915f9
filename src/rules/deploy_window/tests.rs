//! Deploy windows on the 2026 daylight-saving transitions of Europe/Berlin
//! (Mar 29, Oct 25) and America/New_York (Mar 8, Nov 1), across midnight,
//! overlapping allow and deny, freezes, and crons cross-checked against the
//! independent `cron` crate.

use std::str::FromStr as _;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::decision::Outcome;

fn rule(keys: &str) -> DeployWindowRule {
    let config: DeployWindowConfig = toml::from_str(keys).expect("test config parses");
    match config.build() {
        Ok(r) => r,
        Err(e) => panic!("invalid test config: {e:?}"),
    }
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn at(r: &DeployWindowRule, t: DateTime<Utc>) -> Evaluation {
    r.decide(t).expect("windows evaluate")
}

fn allowed(r: &DeployWindowRule, t: DateTime<Utc>) -> bool {
    match at(r, t).outcome {
        Outcome::Pass => true,
        Outcome::Fail => false,
        other => panic!("unexpected outcome {other:?}"),
    }
}

fn message(e: &Evaluation) -> &str {
    &e.findings[0].message
}

const OFFICE_BERLIN: &str = r#"
timezone = "Europe/Berlin"
allow = [{ name = "office hours", days = "mon-fri", start = "09:00", end = "17:00" }]
"#;

#[test]
fn intervals_are_half_open() {
    let r = rule(OFFICE_BERLIN);
    // Tue 2026-11-24, CET (UTC+1).
    assert!(!allowed(&r, utc(2026, 11, 24, 7, 59)));
    assert!(allowed(&r, utc(2026, 11, 24, 8, 0)), "09:00 is inside");
    assert!(allowed(&r, utc(2026, 11, 24, 15, 59)));
    assert!(!allowed(&r, utc(2026, 11, 24, 16, 0)), "17:00 is outside");
}

#[test]
fn each_occurrence_uses_the_offset_in_force_then() {
    let r = rule(OFFICE_BERLIN);
    // Fri 2026-03-27 is CET: 09:00 = 08:00 UTC.
    assert!(!allowed(&r, utc(2026, 3, 27, 7, 30)));
    assert!(allowed(&r, utc(2026, 3, 27, 8, 0)));
    // Mon 2026-03-30 is CEST: 09:00 = 07:00 UTC.
    assert!(allowed(&r, utc(2026, 3, 30, 7, 0)));
    assert!(
        !allowed(&r, utc(2026, 3, 30, 15, 0)),
        "17:00 CEST = 15:00 UTC"
    );
    // Asked on the weekend of the transition, the next window is Monday in summer time.
    let e = at(&r, utc(2026, 3, 28, 12, 0));
    assert_eq!(
        message(&e),
        "outside every allow window (Sat 2026-03-28 13:00 Europe/Berlin = 12:00 UTC); next window opens Mon 2026-03-30 09:00 Europe/Berlin (07:00 UTC)"
    );
}

#[test]
fn berlin_spring_forward_shortens_a_window_across_it() {
    // Sunday 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    let r = rule(
        r#"
timezone = "Europe/Berlin"
allow = [{ days = "sun", start = "01:00", end = "04:00" }]
"#,
    );
    assert!(!allowed(&r, utc(2026, 3, 28, 23, 59)));
    assert!(allowed(&r, utc(2026, 3, 29, 0, 0)), "01:00 CET");
    assert!(allowed(&r, utc(2026, 3, 29, 1, 0)), "03:00 CEST");
    assert!(allowed(&r, utc(2026, 3, 29, 1, 59)));
    assert!(
        !allowed(&r, utc(2026, 3, 29, 2, 0)),
        "04:00 CEST: two real hours only"
    );
}

#[test]
fn a_window_starting_in_the_gap_opens_when_the_clock_jumps() {
    let r = rule(
        r#"
timezone = "Europe/Berlin"
allow = [{ days = "sun", start = "02:30", end = "05:00" }]
"#,
    );
    assert!(!allowed(&r, utc(2026, 3, 29, 0, 59)), "01:59 CET");
    assert!(
        allowed(&r, utc(2026, 3, 29, 1, 0)),
        "03:00 CEST, the moment after the gap"
    );
    let e = at(&r, utc(2026, 3, 29, 0, 30));
    assert!(
        message(&e).ends_with("next window opens Sun 2026-03-29 03:00 Europe/Berlin (01:00 UTC)"),
        "{}",
        message(&e)
    );
}

#[test]
fn berlin_fall_back_lengthens_a_window_across_it() {
    // Sunday 2026-10-25: 03:00 CEST falls back to 02:00 CET (01:00 UTC).
    let r = rule(
        r#"
timezone = "Europe/Berlin"
allow = [{ days = "sun", start = "02:00", end = "03:00" }]
"#,
    );
    assert!(!allowed(&r, utc(2026, 10, 24, 23, 59)));
    assert!(
        allowed(&r, utc(2026, 10, 25, 0, 0)),
        "02:00 CEST, first occurrence"
    );
    assert!(
        allowed(&r, utc(2026, 10, 25, 1, 30)),
        "02:30 CET, the repeated hour"
    );
    assert!(!allowed(&r, utc(2026, 10, 25, 2, 0)), "03:00 CET");
}

#[test]
fn new_york_spring_forward_a_deny_window_inside_the_gap_never_happens() {
    // Sunday 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    let r = rule(
        r#"
timezone = "America/New_York"
deny = [{ name = "nightly batch", start = "02:00", end = "03:00" }]
"#,
    );
    assert!(allowed(&r, utc(2026, 3, 8, 6, 59)), "01:59 EST");
    assert!(allowed(&r, utc(2026, 3, 8, 7, 0)), "03:00 EDT");
    assert!(
        !allowed(&r, utc(2026, 3, 7, 7, 30)),
        "02:30 EST the day before"
    );
    assert!(
        !allowed(&r, utc(2026, 3, 9, 6, 30)),
        "02:30 EDT the day after"
    );
}

#[test]
fn new_york_fall_back_denies_the_repeated_hour_twice() {
    // Sunday 2026-11-01: 02:00 EDT falls back to 01:00 EST (06:00 UTC).
    let r = rule(
        r#"
timezone = "America/New_York"
deny = [{ name = "nightly batch", days = "sun", start = "01:00", end = "02:00" }]
"#,
    );
    assert!(allowed(&r, utc(2026, 11, 1, 4, 59)), "00:59 EDT");
    assert!(!allowed(&r, utc(2026, 11, 1, 5, 0)), "01:00 EDT");
    assert!(
        !allowed(&r, utc(2026, 11, 1, 6, 30)),
        "01:30 EST, second pass"
    );
    assert!(allowed(&r, utc(2026, 11, 1, 7, 0)), "02:00 EST");
    let e = at(&r, utc(2026, 11, 1, 6, 30));
    assert_eq!(
        message(&e),
        "blocked by deny window `nightly batch` (Sun 2026-11-01 01:30 America/New_York = 06:30 UTC); next window opens Sun 2026-11-01 02:00 America/New_York (07:00 UTC)"
    );
}

#[test]
fn windows_across_midnight_and_across_a_transition() {
    // Saturday 22:00 to Sunday 06:00, over the New York fall-back night.
    let r = rule(
        r#"
timezone = "America/New_York"
allow = [{ name = "weekend maintenance", days = "sat", start = "22:00", end = "06:00" }]
"#,
    );
    assert!(!allowed(&r, utc(2026, 11, 1, 1, 59)), "Sat 21:59 EDT");
    assert!(allowed(&r, utc(2026, 11, 1, 2, 0)), "Sat 22:00 EDT");
    assert!(allowed(&r, utc(2026, 11, 1, 10, 59)), "Sun 05:59 EST");
    assert!(
        !allowed(&r, utc(2026, 11, 1, 11, 0)),
        "Sun 06:00 EST: nine real hours"
    );
    // An ordinary week: eight hours, and Sunday night is not in the window.
    assert!(allowed(&r, utc(2026, 11, 8, 3, 0)), "Sat 22:00 EST");
    assert!(!allowed(&r, utc(2026, 11, 8, 11, 0)));
    assert!(
        !allowed(&r, utc(2026, 11, 9, 3, 30)),
        "Sun 22:30 is not Saturday"
    );
    // Over the New York spring-forward night: seven real hours.
    assert!(allowed(&r, utc(2026, 3, 8, 3, 0)), "Sat 22:00 EST");
    assert!(allowed(&r, utc(2026, 3, 8, 9, 59)), "Sun 05:59 EDT");
    assert!(!allowed(&r, utc(2026, 3, 8, 10, 0)), "Sun 06:00 EDT");
}

#[test]
fn deny_beats_overlapping_allow() {
    let r = rule(
        r#"
timezone = "Europe/Berlin"
allow = [
  { name = "office hours", days = "mon-fri", start = "09:00", end = "17:00" },
  { name = "wednesday", days = "wed", start = "00:00", end = "24:00" },
]
deny = [{ name = "lunch", days = "wed", start = "12:00", end = "13:00", reason = "nobody watches the dashboards" }]
"#,
    );
    // Wed 2026-11-25 12:30 CET.
    let e = at(&r, utc(2026, 11, 25, 11, 30));
    assert_eq!(e.outcome, Outcome::Fail);
    assert_eq!(
        message(&e),
        "blocked by deny window `lunch` (Wed 2026-11-25 12:30 Europe/Berlin = 11:30 UTC); next window opens Wed 2026-11-25 13:00 Europe/Berlin (12:00 UTC)"
    );
    assert!(
        e.findings[0]
            .evidence
            .contains(&"reason for `lunch`: nobody watches the dashboards".to_string())
    );
    assert!(allowed(&r, utc(2026, 11, 25, 12, 0)));
    assert!(
        allowed(&r, utc(2026, 11, 25, 21, 0)),
        "22:00 on Wednesday via the second window"
    );
}

const YEAR_END: &str = r#"
timezone = "Europe/Berlin"
allow = [{ name = "office hours", days = "mon-fri", start = "09:00", end = "17:00" }]
deny = [{ name = "year-end freeze", from = "2026-12-19", to = "2027-01-04T09:00", reason = "holidays" }]
"#;

#[test]
fn year_end_freeze_names_the_window_and_the_next_opening() {
    let r = rule(YEAR_END);
    let now = DateTime::parse_from_rfc3339("2026-12-24T10:00:00+01:00")
        .unwrap()
        .with_timezone(&Utc);
    let e = at(&r, now);
    assert_eq!(e.outcome, Outcome::Fail);
    assert_eq!(
        message(&e),
        "blocked by deny window `year-end freeze` (Thu 2026-12-24 10:00 Europe/Berlin = 09:00 UTC); next window opens Mon 2027-01-04 09:00 Europe/Berlin (08:00 UTC)"
    );
    assert!(
        e.evidence.iter().any(|x| x.contains("UTC offset +01:00")),
        "{:?}",
        e.evidence
    );
    assert!(
        !allowed(&r, utc(2026, 12, 18, 23, 0)),
        "00:00 on the 19th is frozen"
    );
    assert!(allowed(&r, utc(2026, 12, 18, 15, 59)));
    assert!(allowed(&r, utc(2027, 1, 4, 8, 0)));
}

#[test]
fn no_windows_allow_and_inactive_allow_windows_block() {
    let r = rule(r#"timezone = "UTC""#);
    let e = at(&r, utc(2026, 11, 21, 3, 0));
    assert_eq!(e.outcome, Outcome::Pass);
    assert!(e.summary.unwrap().starts_with("no windows are configured"));
    let r = rule(OFFICE_BERLIN);
    assert_eq!(at(&r, utc(2026, 11, 21, 9, 0)).outcome, Outcome::Fail);
}

#[test]
fn no_allowed_moment_within_a_year_is_said() {
    let r = rule(
        r#"
timezone = "UTC"
deny = [{ name = "moratorium", from = "2026-01-01", to = "2028-06-01" }]
"#,
    );
    let e = at(&r, utc(2026, 11, 20, 12, 0));
    assert!(
        message(&e).contains("no window opens within the next 366 days"),
        "{}",
        message(&e)
    );
}

#[test]
fn the_next_window_skips_over_later_freezes() {
    let r = rule(
        r#"
timezone = "Europe/Berlin"
allow = [{ days = "mon-fri", start = "09:00", end = "17:00" }]
deny = [
  { name = "a", from = "2026-11-20T16:00", to = "2026-11-23T10:00" },
  { name = "b", from = "2026-11-23T09:30", to = "2026-11-24T00:00" },
]
"#,
    );
    let e = at(&r, utc(2026, 11, 20, 15, 30));
    assert!(
        message(&e).ends_with("next window opens Tue 2026-11-24 09:00 Europe/Berlin (08:00 UTC)"),
        "{}",
        message(&e)
    );
}

#[test]
fn gitlab_style_cron_pairs() {
    let r = rule(
        r#"
timezone = "Europe/Berlin"
deny = [{ name = "weekend freeze", cron_start = "0 22 * * fri", cron_end = "0 6 * * mon" }]
"#,
    );
    assert!(allowed(&r, utc(2026, 11, 20, 20, 59)), "Fri 21:59 CET");
    assert!(!allowed(&r, utc(2026, 11, 20, 21, 0)), "Fri 22:00 CET");
    let e = at(&r, utc(2026, 11, 22, 12, 0));
    assert!(
        message(&e).ends_with("next window opens Mon 2026-11-23 06:00 Europe/Berlin (05:00 UTC)"),
        "{}",
        message(&e)
    );
    assert!(allowed(&r, utc(2026, 11, 23, 5, 0)));
}

#[test]
fn argo_style_cron_with_duration() {
    let r = rule(
        r#"
timezone = "America/New_York"
allow = [{ name = "release slot", cron = "0 10 * * tue,thu", duration = "2h" }]
"#,
    );
    // Tue 2026-11-03 10:00 EST = 15:00 UTC (New York fell back two days earlier).
    assert!(!allowed(&r, utc(2026, 11, 3, 14, 59)));
    assert!(allowed(&r, utc(2026, 11, 3, 15, 0)));
    assert!(!allowed(&r, utc(2026, 11, 3, 17, 0)));
    // Tue 2026-10-27 10:00 EDT = 14:00 UTC.
    assert!(allowed(&r, utc(2026, 10, 27, 14, 0)));
    let e = at(&r, utc(2026, 11, 3, 17, 0));
    assert!(
        message(&e)
            .ends_with("next window opens Thu 2026-11-05 10:00 America/New_York (15:00 UTC)"),
        "{}",
        message(&e)
    );
}

#[test]
fn the_evidence_records_instant_zone_and_offset_on_pass_too() {
    let r = rule(OFFICE_BERLIN);
    let e = at(&r, utc(2026, 7, 1, 8, 0));
    assert_eq!(e.outcome, Outcome::Pass);
    assert_eq!(
        e.evidence[0],
        "evaluated at 2026-07-01T08:00:00Z (2026-07-01T10:00:00 local, zone Europe/Berlin, UTC offset +02:00, CEST)"
    );
}

/// The `cron` crate is an independent implementation (seconds and year
/// fields, names for days). On times that exist exactly once, both must give
/// the same firings, in the policy's zone, over two years and a quarter with
/// their transitions.
#[test]
fn cron_firings_agree_with_an_independent_implementation() {
    let cases = [
        ("0 16 * * fri", "0 0 16 * * Fri *"),
        ("30 9 1 * *", "0 30 9 1 * * *"),
        ("*/15 8-10 * * mon-fri", "0 */15 8-10 * * Mon-Fri *"),
        ("0 22 * * sat", "0 0 22 * * Sat *"),
        ("5 0 * * sun", "0 5 0 * * Sun *"),
        ("0 12 29 2 *", "0 0 12 29 Feb * *"),
        ("0 3 * 3,10 *", "0 0 3 * Mar,Oct * *"),
    ];
    for zone in ["Europe/Berlin", "America/New_York", "UTC"] {
        let tz: Tz = zone.parse().unwrap();
        for (ours, theirs) in cases {
            let croner = parse::cron(ours, &(0..0)).unwrap();
            let other = cron::Schedule::from_str(theirs).unwrap();
            let start = utc(2026, 1, 1, 0, 0).with_timezone(&tz);
            // Through two transitions each way and one February 29.
            let end = utc(2028, 3, 31, 0, 0).with_timezone(&tz);
            let expected: Vec<DateTime<Utc>> = other
                .after(&start)
                .take_while(|t| *t < end)
                .map(|t| t.with_timezone(&Utc))
                .collect();
            let got: Vec<DateTime<Utc>> = croner
                .iter_after(start)
                .take_while(|t| *t < end)
                .map(|t| t.with_timezone(&Utc))
                .collect();
            assert!(!expected.is_empty(), "{theirs} fires");
            assert_eq!(got, expected, "{ours} in {zone}");
        }
    }
}

#[test]
fn zones_must_be_real_places_or_utc() {
    for ok in ["UTC", "Europe/Berlin", "America/New_York", "Etc/UTC"] {
        let config: DeployWindowConfig = toml::from_str(&format!("timezone = \"{ok}\"")).unwrap();
        assert!(config.build().is_ok(), "{ok}");
    }
    for bad in [
        "EST",
        "CET",
        "EST5EDT",
        "CEST",
        "+01:00",
        "Europe/Berlim",
        "europe/berlin",
    ] {
        let config: DeployWindowConfig = toml::from_str(&format!("timezone = \"{bad}\"")).unwrap();
        assert!(config.build().is_err(), "{bad}");
    }
}

/// Crons resolve the daylight-saving edges the way weekly windows do: a
/// firing in the spring-forward gap happens when the clock jumps, a firing in
/// the repeated hour happens once, at its first occurrence.
#[test]
fn cron_firings_on_transition_days_follow_the_same_rule() {
    let berlin: Tz = "Europe/Berlin".parse().unwrap();
    let firings = |pattern: &str, from: DateTime<Utc>, n: usize| -> Vec<DateTime<Utc>> {
        parse::cron(pattern, &(0..0))
            .unwrap()
            .iter_after(from.with_timezone(&berlin))
            .take(n)
            .map(|t| t.with_timezone(&Utc))
            .collect()
    };
    // 02:30 does not exist on 2026-03-29: the firing is at 03:00 CEST (01:00 UTC).
    assert_eq!(
        firings("30 2 * * *", utc(2026, 3, 28, 12, 0), 2),
        [utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)]
    );
    // 02:30 happens twice on 2026-10-25: the firing is the first, 02:30 CEST (00:30 UTC).
    assert_eq!(
        firings("30 2 * * *", utc(2026, 10, 24, 12, 0), 2),
        [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
    );
    // And a cron + duration window opened in the gap opens at the jump.
    let r = rule(
        r#"
timezone = "Europe/Berlin"
allow = [{ cron = "30 2 * * sun", duration = "1h" }]
"#,
    );
    assert!(!allowed(&r, utc(2026, 3, 29, 0, 59)));
    assert!(allowed(&r, utc(2026, 3, 29, 1, 0)));
    assert!(!allowed(&r, utc(2026, 3, 29, 2, 0)));
}

#[test]
fn toml_date_times_need_no_quotes() {
    let quoted = rule(YEAR_END);
    let bare = rule(
        r#"
timezone = "Europe/Berlin"
allow = [{ name = "office hours", days = "mon-fri", start = "09:00", end = "17:00" }]
deny = [{ name = "year-end freeze", from = 2026-12-19, to = 2027-01-04T09:00:00, reason = "holidays" }]
"#,
    );
    for t in [
        utc(2026, 12, 18, 15, 59),
        utc(2026, 12, 18, 23, 0),
        utc(2027, 1, 4, 7, 59),
        utc(2027, 1, 4, 8, 0),
    ] {
        assert_eq!(allowed(&quoted, t), allowed(&bare, t), "{t}");
    }
    let offset = rule(
        r#"
timezone = "Europe/Berlin"
deny = [{ from = 2026-12-24T10:00:00+01:00, to = 2026-12-24T11:00:00Z }]
"#,
    );
    assert!(!allowed(&offset, utc(2026, 12, 24, 9, 0)));
    assert!(allowed(&offset, utc(2026, 12, 24, 11, 0)));
}
