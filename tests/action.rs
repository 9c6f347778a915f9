//! The GitHub Action (`action.yml`) and the workflows in `.github/workflows/`
//! cannot run here, so their shape is checked: parsed as YAML (Python's
//! `yaml`, installed by scripts/test), every `run:` free of `${{ }}` (inputs
//! reach the shell through `env:`), every action pinned by commit, every
//! script valid bash. `tests/github_source.rs` runs the Gate step's script
//! itself against a mock API.

mod common;

use std::process::Command;

use serde_json::Value;

/// A YAML file as JSON, via Python's `yaml`.
pub fn yaml(rel: &str) -> Value {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(common::root().join(rel))
        .output()
        .expect("python3 runs (scripts/test installs PyYAML)");
    assert!(
        out.status.success(),
        "{rel} is not valid YAML: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn steps_of(doc: &Value) -> Vec<&Value> {
    let mut steps: Vec<&Value> = doc["runs"]["steps"]
        .as_array()
        .map(|s| s.iter().collect())
        .unwrap_or_default();
    if let Some(jobs) = doc["jobs"].as_object() {
        for job in jobs.values() {
            steps.extend(job["steps"].as_array().into_iter().flatten());
        }
    }
    steps
}

fn check_steps(rel: &str, doc: &Value) {
    let steps = steps_of(doc);
    assert!(!steps.is_empty(), "{rel} has steps");
    for step in steps {
        if let Some(script) = step["run"].as_str() {
            assert!(
                !script.contains("${{"),
                "{rel}: a run: script expands an expression; pass it through env: instead:\n{script}"
            );
            let syntax = Command::new("bash")
                .args(["-n", "-c", script])
                .output()
                .unwrap();
            assert!(
                syntax.status.success(),
                "{rel}: a run: script is not valid bash: {}",
                String::from_utf8_lossy(&syntax.stderr)
            );
        }
        if let Some(uses) = step["uses"].as_str() {
            let pinned = uses.starts_with("$/")
                || uses.starts_with("./")
                || uses.split_once('@').is_some_and(|(_, r)| {
                    r.len() == 40 && r.chars().all(|c| c.is_ascii_hexdigit())
                });
            assert!(pinned, "{rel}: `{uses}` is not pinned by commit");
        }
    }
}

#[test]
fn the_action_is_composite_with_its_documented_inputs_and_outputs() {
    let action = yaml("action.yml");
    assert_eq!(action["runs"]["using"], "composite");
    for input in [
        "policy",
        "environment",
        "audit",
        "format",
        "dry-run",
        "sarif",
        "token",
    ] {
        assert!(action["inputs"][input].is_object(), "input {input}");
    }
    for output in ["decision", "audit-record", "report"] {
        assert!(
            action["outputs"][output]["value"].is_string(),
            "output {output}"
        );
    }
    check_steps("action.yml", &action);
    for step in steps_of(&action).iter().filter(|s| s["run"].is_string()) {
        assert_eq!(
            step["shell"], "bash",
            "composite run steps name their shell"
        );
    }
}

#[test]
fn the_action_builds_from_its_own_source_and_caches_it() {
    let text = std::fs::read_to_string(common::root().join("action.yml")).unwrap();
    assert!(text.contains(r#"cargo +1.95 install --path "$GITHUB_ACTION_PATH" --locked"#));
    assert!(text.contains("uses: actions/cache@"));
    assert!(text.contains(r#">> "$GITHUB_STEP_SUMMARY""#));
}

#[test]
fn workflows_pin_actions_and_keep_expressions_out_of_scripts() {
    let dir = common::root().join(".github/workflows");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let rel = format!(
            ".github/workflows/{}",
            path.file_name().unwrap().to_string_lossy()
        );
        let doc = yaml(&rel);
        assert!(
            doc["permissions"].is_object(),
            "{rel} sets top-level permissions"
        );
        check_steps(&rel, &doc);
        seen += 1;
    }
    assert!(seen >= 2, "ci.yml and the example gate workflow");
}

#[test]
fn the_example_gate_grants_only_read_permissions() {
    let gate = yaml(".github/workflows/gate.yml");
    assert_eq!(gate["permissions"], serde_json::json!({}));
    for (name, job) in gate["jobs"].as_object().unwrap() {
        for (scope, level) in job["permissions"].as_object().unwrap() {
            assert_eq!(level, "read", "{name}: {scope} must be read-only");
        }
    }
    assert_eq!(gate["jobs"]["deploy"]["environment"], "production");
    // PyYAML reads the bare key `on` as true.
    let on = &gate[if gate["on"].is_null() { "true" } else { "on" }];
    assert!(on.get("pull_request").is_some());
}
