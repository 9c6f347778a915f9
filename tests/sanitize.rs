//! Attacker-controlled text — commit messages, pull request titles, branch
//! names — fed through every output format of the real binary: no workflow
//! command, log directive, escape sequence, hyperlink or bidi override may
//! survive into what a terminal, a GitHub log, Markdown or SARIF shows.

mod common;

use common::fixture;

/// Every trick at once.
const HOSTILE: &str = "::set-output name=allowed::true\n::add-mask::BLOCKED\n##[error]forged\n\
     \u{1b}[2A\u{1b}[2Kcursor\u{1b}]8;;https://evil.example\u{7}click\u{1b}]8;;\u{7}\
     \u{202e}txt.exe\u{9b}31m <img src=x onerror=alert(1)> @octocat [x](https://evil.example)";

/// Facts whose title, branch and commit message carry [`HOSTILE`], evaluated
/// under a policy that fails on them, so they appear in findings.
fn hostile_run(format: &str) -> common::Run {
    hostile_run_with(format, &[])
}

fn hostile_run_with(format: &str, env: &[(&str, &str)]) -> common::Run {
    let mut facts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("facts/pull-request-untidy.json")).unwrap())
            .unwrap();
    facts["change"]["title"] = format!("title {HOSTILE}").into();
    facts["change"]["head"]["ref"] = format!("feature/{HOSTILE}").into();
    facts["ref"]["name"] = format!("refs/heads/{HOSTILE}").into();
    facts["repository"]["slug"] = format!("acme/{HOSTILE}").into();
    for commit in facts["commits"].as_array_mut().unwrap() {
        commit["message"] = format!("fixup! {HOSTILE}\n\nbody {HOSTILE}\n").into();
        commit["author"]["name"] = format!("Mallory {HOSTILE}").into();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.json");
    std::fs::write(&path, facts.to_string()).unwrap();
    let policy = fixture("policies/spine.toml");
    let mut cmd = common::gatehouse();
    cmd.current_dir(common::scratch_checkout());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .args(["check", "--facts"])
        .arg(&path)
        .arg("--policy")
        .arg(&policy)
        .args(["--format", format])
        .output()
        .unwrap();
    common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn human_output_in_a_github_job_cannot_run_a_workflow_command() {
    let r = hostile_run_with("human", &[("GITHUB_ACTIONS", "true")]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_no_controls("human in Actions", &r.stdout);
    let lines: Vec<&str> = r.stdout.lines().collect();
    let token = lines[0]
        .strip_prefix("::stop-commands::")
        .expect("wrapped in stop-commands");
    assert_eq!(lines[lines.len() - 1], format!("::{token}::"));
    for line in &lines[1..lines.len() - 1] {
        assert!(!line.trim_start().starts_with("::"), "{line}");
    }
    for forbidden in ["::set-output", "::add-mask::", "##["] {
        assert!(!r.stdout.contains(forbidden), "{forbidden:?} survived");
    }
}

const CONTROLS: [char; 4] = ['\u{1b}', '\u{7}', '\u{202e}', '\u{9b}'];

fn assert_no_controls(format: &str, text: &str) {
    for c in CONTROLS {
        assert!(!text.contains(c), "{format}: {c:?} survived");
    }
}

#[test]
fn human_output_has_no_escape_sequences_or_bidi_overrides() {
    let r = hostile_run("human");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("title: title ::set-output name=allowed::true ::add-mask::BLOCKED"),
        "the text is still shown, on one line: {}",
        r.stdout
    );
    assert_no_controls("human", &r.stdout);
    // Multi-line commit text cannot forge a verdict line of its own.
    assert_eq!(
        r.stdout
            .lines()
            .filter(|l| l.starts_with("blocked:"))
            .count(),
        1
    );
}

#[test]
fn github_output_cannot_run_a_workflow_command() {
    let r = hostile_run("github");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_no_controls("github", &r.stdout);
    let mut token = None;
    for line in r.stdout.lines() {
        let trimmed = line.trim_start();
        if let Some(t) = trimmed.strip_prefix("::stop-commands::") {
            token = Some(t.to_string());
            continue;
        }
        if !trimmed.starts_with("::") {
            continue;
        }
        let ours = ["::error ", "::warning ", "::notice "]
            .iter()
            .any(|p| trimmed.starts_with(p))
            || token
                .as_deref()
                .is_some_and(|t| trimmed == format!("::{t}::"));
        assert!(
            ours,
            "a line starts a command gatehouse did not write: {line}"
        );
    }
    assert!(token.is_some(), "the log is wrapped in stop-commands");
    for forbidden in ["::set-output", "::add-mask::", "##["] {
        assert!(
            !r.stdout.contains(forbidden),
            "github: {forbidden:?} survived:\n{}",
            r.stdout
        );
    }
}

#[test]
fn markdown_output_has_no_html_links_mentions_or_commands() {
    let r = hostile_run("markdown");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_no_controls("markdown", &r.stdout);
    for forbidden in [
        "<img",
        "@octocat",
        "](https",
        "https://",
        "::set-output",
        "::add-mask::",
        "##[",
    ] {
        assert!(
            !r.stdout.contains(forbidden),
            "markdown: {forbidden:?} survived:\n{}",
            r.stdout
        );
    }
    // Only gatehouse's own tags remain.
    for tag in r.stdout.match_indices('<').map(|(i, _)| &r.stdout[i..]) {
        assert!(
            [
                "<details>",
                "<summary>",
                "</summary>",
                "</details>",
                "<b>",
                "</b>",
                "<br>"
            ]
            .iter()
            .any(|ours| tag.starts_with(ours)),
            "unexpected tag: {}",
            &tag[..tag.len().min(20)]
        );
    }
}

#[test]
fn sarif_output_has_no_raw_controls() {
    let r = hostile_run("sarif");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_no_controls("sarif (raw)", &r.stdout);
    let log: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    // And none hidden behind JSON escapes either.
    let decoded = log.to_string();
    let texts: Vec<&str> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["message"]["text"].as_str())
        .collect();
    assert!(!texts.is_empty());
    for text in texts {
        assert_no_controls("sarif message", text);
    }
    assert!(!decoded.contains("\\u001b"), "an escaped ESC survived");
}

#[test]
fn json_output_keeps_the_text_as_escaped_data() {
    let r = hostile_run("json");
    assert_eq!(r.code, 1, "{}", r.stderr);
    // JSON escapes C0 controls; consumers render the data with their own escaping.
    assert!(!r.stdout.contains('\u{1b}') && !r.stdout.contains('\u{7}'));
    let d: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(d["verdict"], "block");
}
