//! Fixture repositories for the git tests: built by `fixtures/git/*.sh` into a
//! temporary directory on every run (never committed), and a clean `git`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fixture repository; the directory is removed when this is dropped.
pub struct FixtureRepo {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl FixtureRepo {
    pub fn path_str(&self) -> &str {
        self.path.to_str().expect("temp paths are UTF-8")
    }

    /// The parent temporary directory, for scratch files next to the repo.
    pub fn scratch(&self) -> &Path {
        self._dir.path()
    }
}

/// Build `fixtures/git/<script>.sh` into a fresh temporary directory.
pub fn build(script: &str) -> FixtureRepo {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("repo");
    let script_path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/git")
        .join(format!("{script}.sh"));
    let out = Command::new("sh")
        .arg(&script_path)
        .arg(&path)
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "{} failed:\n{}{}",
        script_path.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    FixtureRepo { _dir: dir, path }
}

/// `git` with no system or user configuration, so the machine's settings
/// (trailer keys, comment characters, …) cannot change what git answers.
pub fn git(repo: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("LC_ALL", "C");
    cmd
}

/// Run git and return its standard output as bytes; panics with stderr on failure.
pub fn git_bytes(repo: &Path, args: &[&str]) -> Vec<u8> {
    let out = git(repo).args(args).output().expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub fn git_text(repo: &Path, args: &[&str]) -> String {
    String::from_utf8(git_bytes(repo, args)).expect("git prints UTF-8 here")
}

/// `git interpret-trailers --parse` on `message`.
pub fn git_parse_trailers(message: &[u8]) -> String {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut child = git(dir.path())
        .args(["interpret-trailers", "--parse"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("git runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(message)
        .expect("git reads the message");
    let out = child.wait_with_output().expect("git finishes");
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("trailers of UTF-8 messages are UTF-8")
}
