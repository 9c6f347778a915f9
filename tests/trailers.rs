//! Our trailer parser must answer exactly like `git interpret-trailers --parse`:
//! on every message fixture (git's own test cases re-expressed, plus edge
//! cases), against the expected output kept beside it and against the real
//! git, and on every commit of every fixture repository.

mod gitfx;

use std::path::PathBuf;

use gatehouse::trailers;

fn message_fixtures() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/trailers");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("fixtures/trailers exists")
        .map(|e| e.expect("a dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("fixture is UTF-8"))
        })
        .collect();
    out.sort();
    assert!(out.len() >= 30, "the trailer fixtures are missing");
    out
}

#[test]
fn every_message_fixture_parses_like_git() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/trailers");
    let mut failures = Vec::new();
    for (name, message) in message_fixtures() {
        let ours = trailers::render(&trailers::parse(&message));
        let expected = std::fs::read_to_string(dir.join(format!("{name}.expected")))
            .unwrap_or_else(|_| panic!("fixtures/trailers/{name}.expected is missing"));
        let git = gitfx::git_parse_trailers(message.as_bytes());
        assert_eq!(
            git, expected,
            "{name}.expected is stale: git says otherwise"
        );
        if ours != git {
            failures.push(format!("{name}:\n--- git\n{git}--- ours\n{ours}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_fixture_commit_parses_like_git() {
    let mut checked = 0;
    for script in ["history", "trailers", "policy-edit", "signed"] {
        let repo = gitfx::build(script);
        let shas = gitfx::git_text(&repo.path, &["rev-list", "--all"]);
        for sha in shas.lines() {
            let raw = gitfx::git_bytes(&repo.path, &["cat-file", "commit", sha]);
            let at = raw
                .windows(2)
                .position(|w| w == b"\n\n")
                .expect("a commit has a header end");
            let message = &raw[at + 2..];
            let text = std::str::from_utf8(message).expect("fixture messages are UTF-8");
            let ours = trailers::render(&trailers::parse(text));
            let git = gitfx::git_parse_trailers(message);
            assert_eq!(ours, git, "{script} commit {sha}:\n{text}");
            checked += 1;
        }
    }
    assert!(checked > 40, "only {checked} commits checked");
}
