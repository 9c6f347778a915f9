//! The reports GitLab shows: `junit` (parsed back as XML), `codequality`
//! (GitLab's Code Quality JSON), and the human log with hostile text, all
//! through the real binary. Also the CI/CD component's structure.

mod common;

use std::path::Path;

use common::{fixture, root, run};
use gatehouse::sanitize::gitlab::controls_job_log;

fn check(facts: &Path, format: &str) -> common::Run {
    // Relative, as in a CI job: Code Quality paths are relative to the repository.
    let policy = "fixtures/policies/spine.toml";
    run(&[
        "check",
        "--facts",
        facts.to_str().unwrap(),
        "--policy",
        policy,
        "--format",
        format,
    ])
}

/// pull-request-untidy with attacker-controlled text in the title and the
/// failing commit's message: markup, a NUL, terminal escapes, a carriage
/// return and a forged GitLab log section.
fn hostile_facts(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(fixture("facts/pull-request-untidy.json")).unwrap();
    let mut facts: serde_json::Value = serde_json::from_str(&text).unwrap();
    facts["change"]["title"] =
        "</failure><testcase name=\"x\"/> \u{0}\u{FFFE} \x1b[2K\x1b[1A".into();
    facts["commits"][0]["message"] =
        "fixup! \x1b[0Ksection_start:1700000000:fake[collapsed=true]\r\x1b[0KAll good <&>\n".into();
    let path = dir.join("hostile.json");
    std::fs::write(&path, serde_json::to_string_pretty(&facts).unwrap()).unwrap();
    path
}

fn relative(text: &str) -> String {
    text.replace(&format!("{}/", root().display()), "")
}

/// (name, outcome element or "passed") for every test case.
fn test_cases(xml: &str) -> Vec<(String, String)> {
    let doc = roxmltree::Document::parse(xml).expect("the junit report is well-formed XML");
    let suites = doc.root_element();
    assert_eq!(suites.tag_name().name(), "testsuites");
    suites
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|case| {
            let outcome = case
                .children()
                .find(|c| {
                    c.has_tag_name("failure")
                        || c.has_tag_name("error")
                        || c.has_tag_name("skipped")
                })
                .map_or("passed".to_string(), |c| c.tag_name().name().to_string());
            (case.attribute("name").unwrap().to_string(), outcome)
        })
        .collect()
}

#[test]
fn junit_has_one_test_case_per_rule() {
    let r = check(&fixture("facts/pull-request-untidy.json"), "junit");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        test_cases(&r.stdout),
        [
            (
                "deploy-from-main-or-tags: Production deploys only from main or a release tag"
                    .to_string(),
                "skipped".to_string()
            ),
            (
                "ticket-reference: Every change names its ticket".to_string(),
                "failure".to_string()
            ),
            (
                "no-fixups: fixup! commits should be squashed".to_string(),
                "failure".to_string()
            ),
        ]
    );
    let doc = roxmltree::Document::parse(&r.stdout).unwrap();
    let suites = doc.root_element();
    assert_eq!(suites.attribute("tests"), Some("3"));
    assert_eq!(suites.attribute("failures"), Some("2"));
    assert_eq!(suites.attribute("skipped"), Some("1"));
    insta::with_settings!({filters => vec![(r#"timestamp="[^"]+""#, r#"timestamp="[time]""#)]}, {
        insta::assert_snapshot!(relative(&r.stdout));
    });
}

#[test]
fn junit_passing_rules_are_passed_test_cases() {
    let r = check(&fixture("facts/pull-request.json"), "junit");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let cases = test_cases(&r.stdout);
    assert_eq!(cases.len(), 3);
    assert_eq!(cases.iter().filter(|(_, o)| o == "passed").count(), 2);
}

#[test]
fn junit_keeps_hostile_text_as_data() {
    let dir = tempfile::tempdir().unwrap();
    let r = check(&hostile_facts(dir.path()), "junit");
    assert_eq!(r.code, 1, "{}", r.stderr);
    // Parses, and the forged closing tag did not add a test case.
    let cases = test_cases(&r.stdout);
    assert_eq!(cases.len(), 3, "{}", r.stdout);
    assert!(!r.stdout.contains('\u{0}') && !r.stdout.contains('\u{FFFE}'));
    assert!(!controls_job_log(&r.stdout));
    let doc = roxmltree::Document::parse(&r.stdout).unwrap();
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    let body = failure.text().unwrap();
    assert!(body.contains("</failure><testcase name=\"x\"/>"), "{body}");
    assert!(body.contains("All good <&>"), "{body}");
}

#[test]
fn codequality_points_at_the_rules_policy_line() {
    let r = check(&fixture("facts/pull-request-untidy.json"), "codequality");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!r.stdout.starts_with('\u{FEFF}'), "no BOM");
    let entries: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    for e in entries {
        for key in ["description", "check_name", "fingerprint", "severity"] {
            assert!(e[key].is_string(), "{key} in {e}");
        }
        assert_eq!(e["location"]["path"], "fixtures/policies/spine.toml");
    }
    // `[[rule]]` of ticket-reference is on line 11, no-fixups on line 18.
    assert_eq!(entries[0]["check_name"], "ticket-reference");
    assert_eq!(entries[0]["location"]["lines"]["begin"], 11);
    assert_eq!(entries[0]["severity"], "blocker");
    assert_eq!(entries[1]["check_name"], "no-fixups");
    assert_eq!(entries[1]["location"]["lines"]["begin"], 18);
    assert_eq!(entries[1]["severity"], "minor");
    insta::assert_snapshot!(relative(&r.stdout));
}

#[test]
fn codequality_fingerprints_are_stable_across_runs() {
    let first = check(&fixture("facts/pull-request-untidy.json"), "codequality").stdout;
    let second = check(&fixture("facts/pull-request-untidy.json"), "codequality").stdout;
    assert_eq!(first, second);
    let entries: Vec<serde_json::Value> = serde_json::from_str(&first).unwrap();
    assert_ne!(entries[0]["fingerprint"], entries[1]["fingerprint"]);
}

#[test]
fn codequality_is_an_empty_array_when_everything_passes() {
    let r = check(&fixture("facts/pull-request.json"), "codequality");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "[]\n");
}

#[test]
fn codequality_descriptions_carry_no_controls() {
    let dir = tempfile::tempdir().unwrap();
    let r = check(&hostile_facts(dir.path()), "codequality");
    let entries: Vec<serde_json::Value> = serde_json::from_str(&r.stdout).unwrap();
    for e in &entries {
        assert!(!controls_job_log(e["description"].as_str().unwrap()), "{e}");
    }
}

#[test]
fn the_human_job_log_cannot_forge_sections_or_move_the_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let r = check(&hostile_facts(dir.path()), "human");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains("section_start:1700000000:fake"),
        "{}",
        r.stdout
    );
    assert!(!controls_job_log(&r.stdout), "{:?}", r.stdout);
    assert!(!controls_job_log(&r.stderr), "{:?}", r.stderr);
}

#[test]
fn reports_are_written_with_report_flags() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("out/gatehouse-junit.xml");
    let cq = dir.path().join("out/gl-code-quality-report.json");
    let policy = fixture("policies/spine.toml");
    let facts = fixture("facts/pull-request-untidy.json");
    let r = run(&[
        "check",
        "--facts",
        facts.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--report",
        &format!("junit={}", junit.display()),
        "--report",
        &format!("codequality={}", cq.display()),
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(
        test_cases(&std::fs::read_to_string(&junit).unwrap()).len(),
        3
    );
    let entries: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&cq).unwrap()).unwrap();
    assert_eq!(entries.len(), 2);
}
