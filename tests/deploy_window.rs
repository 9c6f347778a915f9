//! `kind = "deploy-window"` end to end: the real binary on saved Facts at
//! chosen instants (`--dry-run --now`), the real clock without `--now`, and a
//! precise diagnostic for every kind of malformed window.

mod common;

use common::{fixture, run};

/// `check --dry-run` of the tag deploy to production under the Berlin windows.
fn check_at(now: Option<&str>, format: &str) -> common::Run {
    let facts = fixture("facts/deploy-tag.json");
    let policy = fixture("policies/window/berlin.toml");
    let mut args = vec![
        "check",
        "--facts",
        facts.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--environment",
        "production",
        "--dry-run",
        "--format",
        format,
    ];
    if let Some(now) = now {
        args.extend(["--now", now]);
    }
    run(&args)
}

fn relative(text: &str) -> String {
    text.replace(&format!("{}/", common::root().display()), "")
}

#[test]
fn the_year_end_freeze_names_itself_and_the_next_opening() {
    let r = check_at(Some("2026-12-24T10:00:00+01:00"), "human");
    assert_eq!(r.code, 0, "a dry run exits 0");
    assert!(r.stdout.contains(
        "blocked by deny window `year-end freeze` (Thu 2026-12-24 10:00 Europe/Berlin = 09:00 UTC); next window opens Mon 2027-01-04 09:00 Europe/Berlin (08:00 UTC)"
    ));
    insta::assert_snapshot!(relative(&r.transcript()));
}

#[test]
fn inside_office_hours_passes_with_the_clock_on_record() {
    let r = check_at(Some("2026-11-24T10:30:00+01:00"), "json");
    let d: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let rule = &d["rules"][0];
    assert_eq!(rule["outcome"], "pass");
    insta::assert_json_snapshot!(rule, @r#"
    {
      "description": "Production deploys in office hours, never in a freeze",
      "evidence": [
        "evaluated at 2026-11-24T09:30:00Z (2026-11-24T10:30:00 local, zone Europe/Berlin, UTC offset +01:00, CET)",
        "`office hours`: Tue 2026-11-24 09:00 Europe/Berlin (08:00 UTC) until Tue 2026-11-24 17:00 Europe/Berlin (16:00 UTC)"
      ],
      "id": "deploy-window",
      "kind": "deploy-window",
      "outcome": "pass",
      "policy_line": 5,
      "severity": "block",
      "summary": "inside allow window `office hours` (Tue 2026-11-24 10:30 Europe/Berlin = 09:30 UTC)"
    }
    "#);
}

#[test]
fn a_freeze_overlapping_office_hours_wins_and_says_why() {
    // Wednesday 12:30 in Berlin, inside office hours and the lunch freeze.
    let r = check_at(Some("2026-11-25T12:30:00+01:00"), "human");
    insta::assert_snapshot!(relative(&r.transcript()));
}

#[test]
fn the_weekend_window_crosses_midnight_and_the_fall_back_night() {
    // Berlin falls back at 03:00 CEST on Sunday 2026-10-25: Saturday 22:00
    // CEST (20:00 UTC) to Sunday 06:00 CET (05:00 UTC) is nine real hours.
    for (now, outcome) in [
        ("2026-10-24T19:59:00Z", "fail"),
        ("2026-10-24T20:00:00Z", "pass"),
        ("2026-10-25T04:59:00Z", "pass"),
        ("2026-10-25T05:00:00Z", "fail"),
    ] {
        let r = check_at(Some(now), "json");
        let d: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(d["rules"][0]["outcome"], outcome, "{now}");
    }
    let r = check_at(Some("2026-10-25T05:00:00Z"), "json");
    let d: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        d["rules"][0]["findings"][0]["message"],
        "outside every allow window (Sun 2026-10-25 06:00 Europe/Berlin = 05:00 UTC); next window opens Mon 2026-10-26 09:00 Europe/Berlin (08:00 UTC)"
    );
}

#[test]
fn without_now_the_real_clock_decides() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.toml");
    std::fs::write(
        &policy,
        r#"version = 1
[[rule]]
id = "moratorium"
kind = "deploy-window"
timezone = "UTC"
deny = [{ name = "this century", from = "2000-01-01", to = "2099-12-31" }]
"#,
    )
    .unwrap();
    let facts = fixture("facts/deploy-tag.json");
    let before = chrono::Utc::now();
    let r = run(&[
        "check",
        "--facts",
        facts.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--dry-run",
        "--format",
        "json",
    ]);
    let d: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(d["verdict"], "block");
    let at: chrono::DateTime<chrono::Utc> = d["evaluated_at"].as_str().unwrap().parse().unwrap();
    assert!(at >= before - chrono::Duration::seconds(1) && at <= chrono::Utc::now());
    let evidence = d["rules"][0]["evidence"][0].as_str().unwrap();
    assert!(evidence.starts_with("evaluated at "), "{evidence}");
    assert!(
        evidence.contains("zone UTC, UTC offset +00:00"),
        "{evidence}"
    );
}

#[test]
fn malformed_windows_each_get_a_precise_diagnostic() {
    let dir = fixture("policies/window/malformed");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 10);
    for name in names {
        let r = common::run_in(&dir, &["policy", "validate", &name]);
        assert_eq!(r.code, 2, "{name} must be rejected");
        assert!(r.stdout.is_empty());
        insta::assert_snapshot!(name.trim_end_matches(".toml").to_string(), r.stderr);
    }
}
