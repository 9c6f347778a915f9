//! Shared helpers for the integration tests: run the real binary from the
//! project root and capture what a user sees.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The project root (where `fixtures/` lives).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("fixtures").join(rel)
}

/// `gatehouse` run from the project root with a clean, colourless environment.
pub fn gatehouse() -> assert_cmd::Command {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("gatehouse");
    cmd.current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITLAB_CI")
        .env_remove("GATEHOUSE_AUDIT_KEY");
    cmd
}

/// `args` with a throwaway `--audit file:…` in `scratch` added to an enforcing
/// `check` that names no sink: without one it would append to the project's
/// own `.git/gatehouse/audit.jsonl`.
pub fn with_scratch_audit(args: &[&str], scratch: &Path) -> Vec<String> {
    let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    if args.first().map(String::as_str) == Some("check")
        && !args
            .iter()
            .any(|a| a == "--dry-run" || a == "--audit" || a.starts_with("--audit="))
    {
        args.push("--audit".to_string());
        args.push(format!("file:{}", scratch.join("audit.jsonl").display()));
    }
    args
}

/// An empty git repository shared by one test binary, to run enforcing checks
/// in: their default audit sink (`file:.git/gatehouse/audit.jsonl`) then lands
/// there, never in the project's own `.git`.
pub fn scratch_checkout() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let status = std::process::Command::new("git")
            .args(["init", "-q"])
            .current_dir(dir.path())
            .status()
            .expect("git runs");
        assert!(status.success(), "git init failed");
        dir
    })
    .path()
}

/// What one run showed: exit code, stdout, stderr.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// A readable transcript for snapshots.
    pub fn transcript(&self) -> String {
        let mut s = format!("exit: {}\n", self.code);
        if !self.stdout.is_empty() {
            s.push_str("--- stdout\n");
            s.push_str(&self.stdout);
        }
        if !self.stderr.is_empty() {
            s.push_str("--- stderr\n");
            s.push_str(&self.stderr);
        }
        s
    }
}

pub fn run(args: &[&str]) -> Run {
    run_in(&root(), args)
}

pub fn run_in(dir: &Path, args: &[&str]) -> Run {
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let args = with_scratch_audit(args, scratch.path());
    let out = gatehouse()
        .current_dir(dir)
        .args(&args)
        .output()
        .expect("gatehouse runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: redact_record_lines(&String::from_utf8_lossy(&out.stderr)),
    }
}

/// `recorded: SINK #SEQ (sha256:…)` names a throwaway log and a hash that
/// differs every run (records carry their time and a random id): keep the
/// line, drop what varies.
pub fn redact_record_lines(text: &str) -> String {
    let re = regex::Regex::new(r"(?m)^recorded: (\S+) #(\d+) \(sha256:[0-9a-f]+\)$").unwrap();
    re.replace_all(text, "recorded: [audit log] #$2")
        .into_owned()
}
