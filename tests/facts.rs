//! Malformed Facts files: exit 3 (indeterminate, blocked) with the bad place named.

mod common;

use common::{fixture, run};

fn check_text(text: &str) -> common::Run {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("facts.json");
    std::fs::write(&path, text).unwrap();
    let policy = fixture("policies/spine.toml");
    let r = run(&[
        "check",
        "--facts",
        path.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
    ]);
    Run {
        stderr: r.stderr.replace(&dir.path().display().to_string(), "[dir]"),
        ..r
    }
}

use common::Run;

fn valid() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(fixture("facts/pull-request.json")).unwrap()).unwrap()
}

#[test]
fn bad_json_is_indeterminate() {
    let r = check_text("{\"schema\": \"gatehouse.facts/v1\",");
    assert_eq!(r.code, 3);
    insta::assert_snapshot!(r.transcript());
}

#[test]
fn wrong_schema_is_indeterminate() {
    let mut v = valid();
    v["schema"] = "gatehouse.facts/v2".into();
    let r = check_text(&v.to_string());
    assert_eq!(r.code, 3);
    insta::assert_snapshot!(r.transcript());
}

#[test]
fn missing_schema_is_indeterminate() {
    let mut v = valid();
    v.as_object_mut().unwrap().remove("schema");
    let r = check_text(&v.to_string());
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("missing `schema`"), "{}", r.stderr);
}

#[test]
fn wrong_type_names_the_json_path() {
    let mut v = valid();
    v["commits"][1]["parents"] = "1a2b".into();
    let r = check_text(&v.to_string());
    assert_eq!(r.code, 3);
    insta::assert_snapshot!(r.transcript());
}

#[test]
fn bad_enum_value_names_the_json_path() {
    let mut v = valid();
    v["change"]["reviews"][0]["state"] = "approve".into();
    let r = check_text(&v.to_string());
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("`change.reviews[0].state`"),
        "{}",
        r.stderr
    );
}

#[test]
fn missing_required_field_names_its_parent() {
    let mut v = valid();
    v["ref"].as_object_mut().unwrap().remove("sha");
    let r = check_text(&v.to_string());
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("`ref`") && r.stderr.contains("missing field `sha`"),
        "{}",
        r.stderr
    );
}

#[test]
fn missing_facts_file_is_indeterminate() {
    let policy = fixture("policies/spine.toml");
    let r = run(&[
        "check",
        "--facts",
        "no/such.json",
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("cannot read no/such.json"),
        "{}",
        r.stderr
    );
}

#[test]
fn facts_round_trip_through_the_facts_command() {
    let path = fixture("facts/pull-request.json");
    let r = run(&["facts", "--facts", path.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let printed: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(printed, valid());
}
