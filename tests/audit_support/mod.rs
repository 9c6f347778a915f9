//! Helpers shared by the `audit_*` integration tests: a scratch directory with
//! a signing key, real `gatehouse check` runs that append to a log, and
//! redactions for what differs between runs (hashes, ids, times, paths).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use super::common::{self, Run, fixture};

pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn log(&self) -> PathBuf {
        self.path("audit.jsonl")
    }

    /// A key made by `gatehouse audit keygen` (the real command).
    pub fn keygen(&self, name: &str) -> PathBuf {
        let key = self.path(name);
        let r = self.run(&["audit", "keygen", "--out", key.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{}", r.transcript());
        key
    }

    pub fn run(&self, args: &[&str]) -> Run {
        common::run_in(self.dir.path(), args)
    }

    /// One enforcing `check` of a fixture, recorded in the scratch log.
    pub fn check(&self, facts: &str, key: Option<&Path>, extra: &[&str]) -> Run {
        let facts = fixture(&format!("facts/{facts}.json"));
        let policy = fixture("policies/spine.toml");
        let log = format!("file:{}", self.log().display());
        let mut args = vec!["check", "--facts", facts.to_str().unwrap(), "--audit", &log];
        if !extra.contains(&"--policy") {
            args.extend(["--policy", policy.to_str().unwrap()]);
        }
        let key_arg;
        if let Some(k) = key {
            key_arg = k.display().to_string();
            args.push("--audit-key");
            args.push(&key_arg);
        }
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// Five signed records from real runs (allowed, blocked, allowed, blocked, allowed).
    pub fn five_signed(&self, key: &Path) {
        for facts in [
            "pull-request",
            "pull-request-untidy",
            "deploy-tag",
            "deploy-feature-branch",
            "pull-request",
        ] {
            let r = self.check(facts, Some(key), &[]);
            assert!(r.code == 0 || r.code == 1, "{}", r.transcript());
        }
    }

    pub fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(self.log())
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn write_lines(&self, lines: &[String]) {
        let mut text = lines.join("\n");
        text.push('\n');
        std::fs::write(self.log(), text).unwrap();
    }

    /// A transcript with this run's machine-specific parts replaced.
    pub fn redact(&self, text: &str) -> String {
        redact(&text.replace(&self.dir.path().display().to_string(), "[dir]"))
    }
}

/// Hashes, key fingerprints, ids and times differ on every run.
pub fn redact(text: &str) -> String {
    let rules = [
        (r"[0-9a-f]{64}", "[hash]"),
        (r"SHA256:[A-Za-z0-9+/]{43}", "[fingerprint]"),
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
            "[id]",
        ),
        (
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
            "[time]",
        ),
    ];
    let mut out = text.to_string();
    for (pattern, with) in rules {
        out = regex::Regex::new(pattern)
            .unwrap()
            .replace_all(&out, with)
            .into_owned();
    }
    out
}
