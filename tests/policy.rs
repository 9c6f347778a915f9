//! `gatehouse policy validate` and `policy schema`: every malformed policy gets
//! its own precise diagnostic; examples validate; the stored schema is current.

mod common;

use common::{fixture, root, run};

#[test]
fn malformed_policies_each_get_a_precise_diagnostic() {
    let dir = fixture("policies/malformed");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "at least ten malformed policies");
    for name in names {
        let r = common::run_in(&dir, &["policy", "validate", &name]);
        assert_eq!(r.code, 2, "{name} must be rejected");
        assert!(r.stdout.is_empty());
        insta::assert_snapshot!(name.trim_end_matches(".toml").to_string(), r.stderr);
    }
}

#[test]
fn several_errors_are_reported_together() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        "version = 1\n[[rule]]\nid = \"a\"\nkind = \"ref\"\nbranchs = [\"main\"]\n[[rule]]\nid = \"a\"\nkind = \"message\"\nticket = '['\n",
    )
    .unwrap();
    let r = common::run_in(dir.path(), &["policy", "validate", "p.toml"]);
    assert_eq!(r.code, 2);
    insta::assert_snapshot!(r.stderr);
}

#[test]
fn examples_validate() {
    let mut n = 0;
    for entry in std::fs::read_dir(root().join("rules/examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let r = run(&["policy", "validate", path.to_str().unwrap()]);
            assert_eq!(r.code, 0, "{}: {}", path.display(), r.stderr);
            n += 1;
        }
    }
    assert!(n >= 1);
    let r = run(&["policy", "validate", "rules/default.toml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn every_kind_example_is_a_valid_policy() {
    for kind in gatehouse::rules::registry::KINDS {
        let text = format!("version = 1\n\n{}", kind.example);
        if let Err(e) = gatehouse::policy::parse(kind.name, &text) {
            panic!("example of {} is invalid:\n{}", kind.name, e.render(false));
        }
    }
}

#[test]
fn validate_reports_rule_ids() {
    let r = run(&["policy", "validate", "fixtures/policies/spine.toml"]);
    assert_eq!(r.code, 0);
    insta::assert_snapshot!(r.stdout);
}

#[test]
fn validate_without_a_file_looks_for_one() {
    let dir = tempfile::tempdir().unwrap();
    let r = common::run_in(dir.path(), &["policy", "validate"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("none found here"), "{}", r.stderr);
    std::fs::create_dir(dir.path().join(".github")).unwrap();
    std::fs::write(dir.path().join(".github/gatehouse.toml"), "version = 1\n").unwrap();
    let r = common::run_in(dir.path(), &["policy", "validate"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains(".github/gatehouse.toml: valid policy with 0 rules")
    );
}

#[test]
fn stored_schema_is_current() {
    let stored = std::fs::read_to_string(root().join(gatehouse::policy::schema::SCHEMA_PATH))
        .unwrap_or_default();
    let generated = gatehouse::policy::schema::policy_schema_text();
    assert!(
        stored == generated,
        "rules/policy.schema.json is stale: run `cargo run -q -- policy schema > rules/policy.schema.json`"
    );
    let r = run(&["policy", "schema"]);
    assert_eq!(r.stdout, generated);
}

#[test]
fn schema_lists_every_rule_kind() {
    let schema = gatehouse::policy::schema::policy_schema();
    let variants = schema["properties"]["rule"]["items"]["oneOf"]
        .as_array()
        .unwrap();
    let kinds: Vec<&str> = variants
        .iter()
        .map(|v| v["properties"]["kind"]["const"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, gatehouse::rules::registry::names());
}
