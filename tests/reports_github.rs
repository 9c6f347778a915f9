//! The reports GitHub shows — `markdown`, `github` (workflow commands) and
//! `sarif` — rendered by the real binary from saved Facts.

mod common;

use std::process::Command;

use common::{fixture, run};

fn check(facts: &str, format: &str) -> common::Run {
    let facts = fixture(&format!("facts/{facts}.json"));
    let policy = fixture("policies/spine.toml");
    run(&[
        "check",
        "--facts",
        facts.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--format",
        format,
    ])
}

/// Paths relative to the project, and the random stop-commands token fixed.
fn stable(text: &str) -> String {
    let text = text.replace(&format!("{}/", common::root().display()), "");
    let token = regex::Regex::new(r"gatehouse-[0-9a-f]{32}").unwrap();
    token.replace_all(&text, "[token]").into_owned()
}

#[test]
fn markdown_puts_the_verdict_first_and_folds_details() {
    let r = check("pull-request-untidy", "markdown");
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.starts_with("## ❌ gatehouse: blocked"),
        "{}",
        r.stdout
    );
    insta::assert_snapshot!(stable(&r.stdout));
}

#[test]
fn markdown_of_an_allowed_change() {
    let r = check("pull-request", "markdown");
    assert_eq!(r.code, 0);
    insta::assert_snapshot!(stable(&r.stdout));
}

#[test]
fn github_annotates_failing_rules_at_their_policy_line() {
    let r = check("pull-request-untidy", "github");
    assert_eq!(r.code, 1);
    let first = r.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("::error file=fixtures/policies/spine.toml,line=11,"),
        "{first}"
    );
    insta::assert_snapshot!(stable(&r.stdout));
}

#[test]
fn github_log_is_inside_a_stop_commands_block_with_a_fresh_token() {
    let a = check("pull-request", "github").stdout;
    let b = check("pull-request", "github").stdout;
    let token_of = |s: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix("::stop-commands::"))
            .map(str::to_string)
            .expect("a stop-commands block")
    };
    let (ta, tb) = (token_of(&a), token_of(&b));
    assert_ne!(ta, tb, "the token must not be predictable");
    assert_eq!(a.lines().last().unwrap(), format!("::{ta}::"));
}

/// Facts with `n` failing blocking rules and `n` failing warnings.
fn many_failures(n: usize) -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut policy = String::from("version = 1\n");
    for i in 0..n {
        policy.push_str(&format!(
            "[[rule]]\nid = \"block-{i}\"\nkind = \"ref\"\ntags = [\"v*\"]\n\
             [[rule]]\nid = \"warn-{i}\"\nkind = \"ref\"\nseverity = \"warn\"\ntags = [\"v*\"]\n"
        ));
    }
    let path = dir.path().join("many.toml");
    std::fs::write(&path, policy).unwrap();
    let facts = fixture("facts/deploy-feature-branch.json");
    let p = path.to_str().unwrap().to_string();
    (dir, p, facts.to_str().unwrap().to_string())
}

#[test]
fn github_keeps_to_the_platform_limits_and_summarises_the_rest() {
    let (_dir, policy, facts) = many_failures(13);
    let r = run(&[
        "check", "--facts", &facts, "--policy", &policy, "--format", "github",
    ]);
    assert_eq!(r.code, 1);
    let count = |prefix: &str| r.stdout.lines().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(count("::error "), 10);
    assert_eq!(count("::warning "), 10);
    let notices: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("::notice "))
        .collect();
    assert_eq!(notices.len(), 1);
    assert!(
        notices[0].contains("3 more error and 3 more warning annotations not shown"),
        "{}",
        notices[0]
    );
}

/// Validate a SARIF log against the official 2.1.0 schema kept in
/// `fixtures/sarif/`, with Python's `jsonschema` (installed by scripts/test).
fn assert_valid_sarif(text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.sarif");
    std::fs::write(&log, text).unwrap();
    let schema = fixture("sarif/sarif-2.1.0-rtm.5.json");
    let out = Command::new("python3")
        .args([
            "-c",
            "import json,sys,jsonschema\n\
             schema=json.load(open(sys.argv[1]))\n\
             log=json.load(open(sys.argv[2]))\n\
             jsonschema.Draft4Validator.check_schema(schema)\n\
             errors=list(jsonschema.Draft4Validator(schema).iter_errors(log))\n\
             [print(e.json_path, e.message) for e in errors]\n\
             sys.exit(1 if errors else 0)",
        ])
        .arg(&schema)
        .arg(&log)
        .output()
        .expect("python3 runs (scripts/test installs jsonschema)");
    assert!(
        out.status.success(),
        "SARIF is not valid against the 2.1.0 schema:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sarif_is_valid_and_locates_results_at_the_policy_line() {
    let r = check("pull-request-untidy", "sarif");
    assert_eq!(r.code, 1);
    assert_valid_sarif(&r.stdout);
    let log: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 3);
    assert!(
        rules[1]["help"]["text"]
            .as_str()
            .unwrap()
            .starts_with("kind = \"message\""),
        "help text is the kind's documentation"
    );
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "ticket-reference");
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        "fixtures/policies/spine.toml"
    );
    assert_eq!(location["region"]["startLine"], 11);
    insta::assert_json_snapshot!(result);
}

#[test]
fn sarif_of_an_allowed_change_is_valid_and_has_no_results() {
    let r = check("pull-request", "sarif");
    assert_eq!(r.code, 0);
    assert_valid_sarif(&r.stdout);
    let log: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), 0);
}

#[test]
fn the_validator_rejects_a_broken_sarif_log() {
    // The schema check must be able to fail, or it proves nothing.
    let r = check("pull-request-untidy", "sarif");
    let mut log: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    log["runs"][0]["results"][0]["level"] = "fatal".into();
    let result = std::panic::catch_unwind(|| assert_valid_sarif(&log.to_string()));
    assert!(result.is_err());
}

#[test]
fn every_github_format_can_be_written_as_an_extra_report() {
    let dir = tempfile::tempdir().unwrap();
    let facts = fixture("facts/pull-request.json");
    let policy = fixture("policies/spine.toml");
    let md = dir.path().join("summary.md");
    let sarif = dir.path().join("gate.sarif");
    let r = run(&[
        "check",
        "--facts",
        facts.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--format",
        "github",
        "--report",
        &format!("markdown={}", md.display()),
        "--report",
        &format!("sarif={}", sarif.display()),
    ]);
    assert_eq!(r.code, 0);
    assert!(
        std::fs::read_to_string(&md)
            .unwrap()
            .starts_with("## ✅ gatehouse: allowed")
    );
    assert_valid_sarif(&std::fs::read_to_string(&sarif).unwrap());
}

#[test]
fn a_rule_that_cannot_decide_is_an_error_annotation_and_a_sarif_error() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.toml");
    // A title rule on a deployment: there is no change, so no title to judge.
    std::fs::write(
        &policy,
        "version = 1\n\n[[rule]]\nid = \"title-ticket\"\nkind = \"message\"\nseverity = \"warn\"\ntitle_pattern = '[A-Z]+-\\d+'\n",
    )
    .unwrap();
    let facts = fixture("facts/deploy-tag.json");
    let args = |format: &'static str| {
        vec![
            "check".to_string(),
            "--facts".to_string(),
            facts.to_str().unwrap().to_string(),
            "--policy".to_string(),
            policy.to_str().unwrap().to_string(),
            "--format".to_string(),
            format.to_string(),
        ]
    };
    let github = run(&args("github")
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert_eq!(github.code, 3, "{}", github.stderr);
    let first = github.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("::error ")
            && first.contains("title=gatehouse%3A title-ticket could not decide"),
        "a warn rule that cannot decide still blocks, as an error: {first}"
    );
    let sarif = run(&args("sarif").iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(sarif.code, 3);
    assert_valid_sarif(&sarif.stdout);
    let log: serde_json::Value = serde_json::from_str(&sarif.stdout).unwrap();
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["level"], "error");
    assert!(
        result["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with("could not decide: ")
    );
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        3
    );
}
