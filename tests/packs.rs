//! Policy packs end to end: the embedded `builtin:baseline` and
//! `builtin:production`, completed and tightened by a local policy, with
//! diagnostics that name the pack and its line.
//!
//! The packs use the `review`, `dco`, `signed-commits` and `deploy-signoff`
//! kinds, so most of these tests need those kinds in the binary.

mod common;

use common::{fixture, root, run, run_in};

#[test]
fn the_production_pack_shows_the_freeze_and_the_next_window() {
    let facts = fixture("facts/deploy-tag.json");
    let r = run(&[
        "check",
        "--facts",
        facts.to_str().unwrap(),
        "--policy",
        "rules/examples/production.toml",
        "--environment",
        "production",
        "--dry-run",
        "--now",
        "2026-12-24T10:00:00+01:00",
    ]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert!(
        r.stdout.contains(
            "blocked by deny window `year-end freeze` (Thu 2026-12-24 10:00 Europe/Berlin = 09:00 UTC); next window opens Mon 2027-01-04 09:00 Europe/Berlin (08:00 UTC)"
        ),
        "{}",
        r.stdout
    );
    insta::assert_snapshot!(stable(&r.transcript()));
}

/// The pack notice names this gatehouse's version and the pack's digest.
fn stable(text: &str) -> String {
    regex::Regex::new("digest sha256:[0-9a-f]+")
        .unwrap()
        .replace_all(text, "digest [digest]")
        .replace(env!("CARGO_PKG_VERSION"), "[version]")
}

#[test]
fn packs_are_embedded_and_a_local_rule_tightens_one() {
    // Run where no `rules/` directory exists: the packs are in the binary.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gatehouse.toml"),
        r#"version = 1
extends = ["builtin:baseline"]

[[rule]]
id = "review-by-another-person"
approvals = 2
"#,
    )
    .unwrap();
    let r = run_in(dir.path(), &["policy", "validate", "gatehouse.toml"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    insta::assert_snapshot!(stable(&r.stdout));
}

#[test]
fn an_incomplete_pack_names_the_pack_line_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gatehouse.toml"),
        "version = 1\nextends = [\"builtin:production\"]\n",
    )
    .unwrap();
    let r = run_in(dir.path(), &["policy", "validate", "gatehouse.toml"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("[builtin:production:"), "{}", r.stderr);
    insta::assert_snapshot!(r.stderr);
}

#[test]
fn an_unknown_pack_lists_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gatehouse.toml"),
        "version = 1\nextends = [\"builtin:prod\"]\n",
    )
    .unwrap();
    let r = run_in(dir.path(), &["policy", "validate", "gatehouse.toml"]);
    assert_eq!(r.code, 2);
    insta::assert_snapshot!(r.stderr);
}

#[test]
fn every_pack_is_documented_and_listed_in_the_schema() {
    let schema = gatehouse::policy::schema::policy_schema();
    let listed = &schema["properties"]["extends"]["items"]["enum"];
    for pack in gatehouse::policy::packs::PACKS {
        let path = root().join(format!("rules/packs/{}.toml", pack.name));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), pack.text);
        assert!(pack.text.starts_with(&format!("# {}", pack.origin())));
        assert!(listed.as_array().unwrap().contains(&pack.origin().into()));
    }
}
