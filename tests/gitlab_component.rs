//! The GitLab CI/CD component (`templates/gatehouse.yml`). Nothing can run
//! GitLab here, so the template is parsed (Python's `yaml`, as GitLab's own
//! tooling reads YAML 1.1 the same way) and its structure checked; its
//! script is then run by `sh` against a stub `gatehouse` that records its
//! arguments, to show that inputs arrive as single, quoted arguments.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The template's YAML documents as JSON: `[spec, jobs]`.
fn documents() -> Vec<Value> {
    let template = common::root().join("templates/gatehouse.yml");
    let out = Command::new("python3")
        .arg("-c")
        .arg("import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))")
        .arg(&template)
        .output()
        .expect("python3 runs (the test needs python3 with PyYAML: apt-get install python3-yaml)");
    assert!(
        out.status.success(),
        "the template does not parse as YAML:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_spec_declares_the_inputs() {
    let docs = documents();
    assert_eq!(docs.len(), 2, "a `spec:` header document, then the jobs");
    let inputs = docs[0]["spec"]["inputs"].as_object().unwrap();
    let mut names: Vec<&str> = inputs.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "audit",
            "dry-run",
            "environment",
            "image",
            "policy",
            "stage",
            "token-variable"
        ]
    );
    for (name, input) in inputs {
        assert!(
            input["description"].is_string(),
            "input {name} has no description"
        );
    }
    assert_eq!(inputs["dry-run"]["type"], "boolean");
    assert_eq!(inputs["dry-run"]["default"], false);
    assert!(
        inputs["image"].get("default").is_none(),
        "the image must be chosen"
    );
}

#[test]
fn both_gate_jobs_publish_the_reports_and_keep_the_audit_record() {
    let docs = documents();
    let jobs = &docs[1];
    let base = &jobs[".gatehouse-check"];
    let artifacts = &base["artifacts"];
    assert_eq!(
        artifacts["when"], "always",
        "reports of a blocked run matter most"
    );
    assert_eq!(artifacts["reports"]["junit"], "gatehouse/junit.xml");
    assert_eq!(
        artifacts["reports"]["codequality"],
        "gatehouse/codequality.json"
    );
    assert_eq!(artifacts["paths"], serde_json::json!(["gatehouse/"]));
    let audit_default = docs[0]["spec"]["inputs"]["audit"]["default"]
        .as_str()
        .unwrap();
    assert_eq!(
        audit_default, "file:gatehouse/audit.jsonl",
        "kept by `paths`"
    );

    let script = base["script"][0].as_str().unwrap();
    assert!(script.contains("--report junit=gatehouse/junit.xml"));
    assert!(script.contains("--report codequality=gatehouse/codequality.json"));
    assert!(
        !script.contains("$[["),
        "inputs reach the script only through variables"
    );

    for job in ["gatehouse-merge-request", "gatehouse-deploy"] {
        assert_eq!(jobs[job]["extends"], ".gatehouse-check", "{job}");
        assert_eq!(jobs[job]["stage"], "$[[ inputs.stage ]]", "{job}");
    }
    assert_eq!(
        jobs["gatehouse-merge-request"]["rules"][0]["if"],
        "$CI_PIPELINE_SOURCE == \"merge_request_event\""
    );
    let deploy_rules = jobs["gatehouse-deploy"]["rules"].as_array().unwrap();
    assert_eq!(deploy_rules[0]["when"], "never");
    assert_eq!(deploy_rules[1]["if"], "$GATEHOUSE_INPUT_ENVIRONMENT");
    assert_eq!(
        jobs["gatehouse-deploy"]["variables"]["GATEHOUSE_INPUT_ENVIRONMENT"],
        "$[[ inputs.environment ]]"
    );
}

/// Run the component's script with `vars` (as GitLab would set the job's
/// variables) and return the arguments the stub `gatehouse` received.
fn script_arguments(vars: &[(&str, &str)]) -> Vec<String> {
    let docs = documents();
    let script = docs[1][".gatehouse-check"]["script"][0]
        .as_str()
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let stub = bin.join("gatehouse");
    std::fs::write(
        &stub,
        "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$GATEHOUSE_STUB_OUT\"\n",
    )
    .unwrap();
    make_executable(&stub);
    let out_file = dir.path().join("args");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("GATEHOUSE_STUB_OUT", &out_file);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let status = cmd.status().unwrap();
    assert!(status.success());
    assert!(
        dir.path().join("gatehouse").is_dir(),
        "the report folder exists"
    );
    assert!(!dir.path().join("pwned").exists(), "an input ran as code");
    std::fs::read_to_string(out_file)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    perms.set_mode(0o755);
    std::fs::set_permissions(path, perms).unwrap();
}

#[test]
fn inputs_arrive_as_single_arguments_and_never_as_code() {
    let args = script_arguments(&[
        ("GATEHOUSE_INPUT_POLICY", "ci/my policy;$(touch pwned).toml"),
        ("GATEHOUSE_INPUT_ENVIRONMENT", "production eu"),
        (
            "GATEHOUSE_INPUT_AUDIT",
            "file:gatehouse/audit.jsonl https://audit.example/* ",
        ),
        ("GATEHOUSE_INPUT_DRY_RUN", "true"),
        ("GATEHOUSE_INPUT_TOKEN_VARIABLE", "MY_TOKEN"),
    ]);
    assert_eq!(
        args,
        [
            "check",
            "--source",
            "gitlab",
            "--gitlab-token-env",
            "MY_TOKEN",
            "--report",
            "junit=gatehouse/junit.xml",
            "--report",
            "codequality=gatehouse/codequality.json",
            "--report",
            "json=gatehouse/decision.json",
            "--policy",
            "ci/my policy;$(touch pwned).toml",
            "--environment",
            "production eu",
            "--audit",
            "file:gatehouse/audit.jsonl",
            "--audit",
            "https://audit.example/*",
            "--dry-run",
        ]
    );
}

#[test]
fn unset_inputs_take_their_defaults_when_a_deploy_job_references_the_script() {
    let args = script_arguments(&[]);
    assert_eq!(
        args,
        [
            "check",
            "--source",
            "gitlab",
            "--gitlab-token-env",
            "GATEHOUSE_GITLAB_TOKEN",
            "--report",
            "junit=gatehouse/junit.xml",
            "--report",
            "codequality=gatehouse/codequality.json",
            "--report",
            "json=gatehouse/decision.json",
        ]
    );
}
