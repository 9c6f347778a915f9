//! The signed fixture repository (`fixtures/signing/build-repo.sh`), read
//! with plain `git` so these tests depend on no gatehouse source: each
//! object's signature and signed payload are split apart here, the way git
//! itself does before calling `ssh-keygen`/`gpg`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, FixedOffset, TimeZone};
use serde_json::{Value, json};

pub struct SignedRepo {
    pub dir: tempfile::TempDir,
    /// (case, sha) in creation order.
    pub commits: Vec<(String, String)>,
    /// (tag name, tag object sha).
    pub tags: Vec<(String, String)>,
}

impl Drop for SignedRepo {
    /// Stop the gpg agents the fixture's homes started, before the
    /// directory goes away.
    fn drop(&mut self) {
        for home in ["gnupg-sign", "gnupg-verify"] {
            let _ = Command::new("gpgconf")
                .arg("--homedir")
                .arg(self.path(home))
                .args(["--kill", "gpg-agent"])
                .output();
        }
    }
}

/// A signature and the exact bytes it signs.
pub struct Signed {
    pub payload: String,
    /// (format, armored signature) when the object is signed.
    pub signature: Option<(String, String)>,
}

fn pairs(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .expect("fixture list")
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

pub fn format_of(armored: &str) -> &'static str {
    if armored.starts_with("-----BEGIN SSH SIGNATURE-----") {
        "ssh"
    } else if armored.starts_with("-----BEGIN PGP SIGNATURE-----") {
        "openpgp"
    } else {
        "x509"
    }
}

impl SignedRepo {
    pub fn build() -> SignedRepo {
        let dir = tempfile::tempdir().expect("temp dir");
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/signing/build-repo.sh");
        let out = Command::new(&script)
            .arg(dir.path())
            .output()
            .expect("build-repo.sh runs");
        assert!(
            out.status.success(),
            "build-repo.sh failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let commits = pairs(&dir.path().join("commits.txt"));
        let tags = pairs(&dir.path().join("tags.txt"));
        SignedRepo { dir, commits, tags }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn allowed_signers(&self) -> String {
        std::fs::read_to_string(self.path("allowed_signers")).expect("allowed_signers")
    }

    pub fn keyring(&self) -> String {
        std::fs::read_to_string(self.path("keyring.asc")).expect("keyring.asc")
    }

    pub fn sha(&self, case: &str) -> &str {
        &self
            .commits
            .iter()
            .find(|(c, _)| c == case)
            .expect("known case")
            .1
    }

    /// git with the fixture's keys and no user configuration.
    pub fn git(&self) -> Command {
        let mut cmd = Command::new("git");
        cmd.current_dir(self.path("repo"))
            .env("HOME", self.dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GNUPGHOME", self.path("gnupg-verify"))
            .arg("-c")
            .arg(format!(
                "gpg.ssh.allowedSignersFile={}",
                self.path("allowed_signers").display()
            ));
        cmd
    }

    fn cat_file(&self, kind: &str, sha: &str) -> String {
        let out = self
            .git()
            .args(["cat-file", kind, sha])
            .output()
            .expect("git cat-file");
        assert!(out.status.success());
        String::from_utf8(out.stdout).expect("utf-8 object")
    }

    /// `git verify-commit`'s verdict.
    pub fn git_verifies_commit(&self, sha: &str) -> bool {
        self.git()
            .args(["verify-commit", sha])
            .output()
            .expect("git verify-commit")
            .status
            .success()
    }

    pub fn git_verifies_tag(&self, name: &str) -> bool {
        self.git()
            .args(["verify-tag", name])
            .output()
            .expect("git verify-tag")
            .status
            .success()
    }

    /// A commit's payload (its object without the `gpgsig` header) and signature.
    pub fn commit_signature(&self, sha: &str) -> Signed {
        let object = self.cat_file("commit", sha);
        let (headers, message) = object.split_once("\n\n").unwrap_or((&object, ""));
        let mut payload = String::new();
        let mut signature: Option<String> = None;
        let mut in_sig = false;
        for line in headers.lines() {
            if let Some(first) = line.strip_prefix("gpgsig ") {
                signature = Some(format!("{first}\n"));
                in_sig = true;
            } else if in_sig && line.starts_with(' ') {
                let sig = signature.as_mut().expect("open signature");
                sig.push_str(&line[1..]);
                sig.push('\n');
            } else {
                in_sig = false;
                payload.push_str(line);
                payload.push('\n');
            }
        }
        payload.push('\n');
        payload.push_str(message);
        Signed {
            payload,
            signature: signature.map(|s| (format_of(&s).to_string(), s)),
        }
    }

    /// A tag's payload (its object up to the signature) and signature.
    pub fn tag_signature(&self, sha: &str) -> Signed {
        let object = self.cat_file("tag", sha);
        let start = [
            "-----BEGIN SSH SIGNATURE-----",
            "-----BEGIN PGP SIGNATURE-----",
        ]
        .iter()
        .filter_map(|m| object.find(&format!("\n{m}")).map(|i| i + 1))
        .min();
        match start {
            Some(i) => Signed {
                payload: object[..i].to_string(),
                signature: Some((format_of(&object[i..]).to_string(), object[i..].to_string())),
            },
            None => Signed {
                payload: object,
                signature: None,
            },
        }
    }

    /// The `committer`/`tagger` line's identity as Facts JSON.
    fn identity(line: &str) -> Value {
        // "Name <email> 1795176000 +0000"
        let (name, rest) = line.split_once(" <").expect("identity");
        let (email, when) = rest.split_once("> ").expect("identity");
        json!({ "name": name, "email": email, "time": time(when).to_rfc3339() })
    }

    /// One commit as a Facts `commits[]` entry.
    pub fn commit_facts(&self, sha: &str) -> Value {
        let object = self.cat_file("commit", sha);
        let header = |key: &str| {
            object
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key} ")))
                .expect("header")
                .to_string()
        };
        let message = object.split_once("\n\n").map_or("", |(_, m)| m);
        let signed = self.commit_signature(sha);
        json!({
            "sha": sha,
            "parents": object.lines().filter_map(|l| l.strip_prefix("parent ")).collect::<Vec<_>>(),
            "author": Self::identity(&header("author")),
            "committer": Self::identity(&header("committer")),
            "message": message,
            "signature": signed.signature.map(|(format, signature)| json!({
                "format": format, "signature": signature, "payload": signed.payload,
            })),
        })
    }

    /// One annotated tag as a Facts `tags[]` entry.
    pub fn tag_facts(&self, name: &str) -> Value {
        let sha = &self
            .tags
            .iter()
            .find(|(t, _)| t == name)
            .expect("known tag")
            .1;
        let object = self.cat_file("tag", sha);
        let header = |key: &str| {
            object
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key} ")))
                .expect("header")
                .to_string()
        };
        let signed = self.tag_signature(sha);
        let message = signed
            .payload
            .split_once("\n\n")
            .map_or("", |(_, m)| m)
            .to_string();
        json!({
            "name": name,
            "target": header("object"),
            "tagger": Self::identity(&header("tagger")),
            "message": message,
            "signature": signed.signature.map(|(format, signature)| json!({
                "format": format, "signature": signature, "payload": signed.payload,
            })),
        })
    }
}

/// `1795176000 +0000` -> a time with that offset.
pub fn time(raw: &str) -> DateTime<FixedOffset> {
    let (secs, tz) = raw.trim().split_once(' ').expect("git time");
    let secs: i64 = secs.parse().expect("seconds");
    let sign = if tz.starts_with('-') { -1 } else { 1 };
    let hours: i32 = tz[1..3].parse().expect("tz hours");
    let minutes: i32 = tz[3..5].parse().expect("tz minutes");
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
        .expect("offset")
        .timestamp_opt(secs, 0)
        .single()
        .expect("time")
}

/// A Facts document for a push of `main` at `head` covering `commits`.
pub fn facts(head: &str, commits: Vec<Value>, tags: Vec<Value>, deployment: Value) -> Value {
    json!({
        "schema": "gatehouse.facts/v1",
        "gathered_at": "2026-11-20T14:03:00Z",
        "source": "git",
        "repository": { "host": "github.com", "slug": "acme/api", "default_branch": "main" },
        "event": { "kind": if deployment.is_null() { "push" } else { "deployment" }, "actor": "alice" },
        "ref": { "name": "refs/heads/main", "sha": head },
        "commits": commits,
        "tags": tags,
        "teams": { "acme/release": ["carol", "dave"] },
        "deployment": deployment,
    })
}

/// A policy TOML string value holding `text` verbatim.
pub fn literal(text: &str) -> String {
    assert!(!text.contains("'''"));
    format!("'''\n{text}'''")
}
