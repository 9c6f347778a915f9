//! `gatehouse hook install|uninstall` and the installed pre-push hook, end to
//! end: a fixture repository (`fixtures/hook/repo.sh`), a local bare remote,
//! real `git push`es refused and accepted by the policy.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::Run;

struct Sandbox {
    tmp: tempfile::TempDir,
}

impl Sandbox {
    /// The fixture repository at `<tmp>/repo`, with a bare `origin` at
    /// `<tmp>/remote.git` that already has `main`.
    fn new() -> Sandbox {
        let tmp = tempfile::tempdir().unwrap();
        let script = common::fixture("hook/repo.sh");
        let built = Command::new("sh")
            .arg(&script)
            .arg(tmp.path().join("repo"))
            .output()
            .unwrap();
        assert!(
            built.status.success(),
            "{}",
            String::from_utf8_lossy(&built.stderr)
        );
        let s = Sandbox { tmp };
        s.git_ok(&["init", "-q", "--bare", s.remote().to_str().unwrap()]);
        s.git_ok(&["remote", "add", "origin", s.remote().to_str().unwrap()]);
        s.git_ok(&["push", "-q", "origin", "main"]);
        s
    }

    fn repo(&self) -> PathBuf {
        self.tmp.path().join("repo")
    }

    fn remote(&self) -> PathBuf {
        self.tmp.path().join("remote.git")
    }

    /// git in the repository, isolated from the machine's configuration, with
    /// fixed dates so amended commits have fixed ids too.
    fn git(&self, args: &[&str]) -> Run {
        let out = Command::new("git")
            .current_dir(self.repo())
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("HOME", self.tmp.path())
            .env("GIT_AUTHOR_DATE", "2026-11-28T10:00:00+01:00")
            .env("GIT_COMMITTER_DATE", "2026-11-28T10:00:00+01:00")
            .env("NO_COLOR", "1")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITLAB_CI")
            .env_remove("GATEHOUSE_AUDIT_KEY")
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn git_ok(&self, args: &[&str]) -> String {
        let r = self.git(args);
        assert_eq!(r.code, 0, "git {args:?}:\n{}", r.transcript());
        r.stdout
    }

    fn gatehouse(&self, args: &[&str]) -> Run {
        common::run_in(&self.repo(), args)
    }

    /// The remote's value of `rev`, or `None` when it has no such ref.
    fn remote_rev(&self, rev: &str) -> Option<String> {
        let out = Command::new("git")
            .arg("--git-dir")
            .arg(self.remote())
            .args(["rev-parse", "--verify", "--quiet", rev])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    fn local_rev(&self, rev: &str) -> String {
        self.git_ok(&["rev-parse", rev]).trim().to_string()
    }

    /// A transcript with the machine-specific paths replaced.
    fn redact(&self, text: &str) -> String {
        let exe = assert_cmd::cargo::cargo_bin!("gatehouse");
        let exe = exe.canonicalize().unwrap_or(exe.to_path_buf());
        let text = text
            .replace(&exe.display().to_string(), "[GATEHOUSE]")
            .replace(&self.tmp.path().display().to_string(), "[TMP]");
        common::redact_record_lines(&text)
    }
}

fn install(s: &Sandbox) {
    let r = s.gatehouse(&["hook", "install"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
}

#[test]
fn install_writes_a_marked_hook_that_execs_this_binary() {
    let s = Sandbox::new();
    let r = s.gatehouse(&["hook", "install"]);
    assert_eq!(r.code, 0);
    insta::assert_snapshot!("install", s.redact(&r.transcript()));
    let hook = std::fs::read_to_string(s.repo().join(".git/hooks/pre-push")).unwrap();
    insta::assert_snapshot!("hook-script", s.redact(&hook));
    // Installing again only updates our own hook.
    let again = s.gatehouse(&["hook", "install"]);
    assert_eq!(again.code, 0);
    assert!(
        again
            .stdout
            .starts_with("updated the gatehouse pre-push hook"),
        "{}",
        again.stdout
    );
}

#[test]
fn push_is_refused_when_the_policy_blocks_and_accepted_once_fixed() {
    let s = Sandbox::new();
    install(&s);
    // `feature` adds two commits; the newer one names no ticket.
    let refused = s.git(&["push", "origin", "feature"]);
    assert_ne!(refused.code, 0);
    insta::assert_snapshot!("push-refused", s.redact(&refused.transcript()));
    assert_eq!(
        s.remote_rev("refs/heads/feature"),
        None,
        "nothing reached the remote"
    );

    // Do what the hint says, and push again.
    s.git_ok(&["checkout", "-q", "feature"]);
    s.git_ok(&["commit", "-q", "--amend", "-m", "PROJ-4: Tune the limiter"]);
    let accepted = s.git(&["push", "origin", "feature"]);
    assert_eq!(accepted.code, 0, "{}", accepted.transcript());
    insta::assert_snapshot!("push-accepted", s.redact(&accepted.transcript()));
    assert_eq!(
        s.remote_rev("refs/heads/feature"),
        Some(s.local_rev("feature"))
    );
}

#[test]
fn a_push_to_an_existing_branch_gates_only_the_commits_it_adds() {
    let s = Sandbox::new();
    install(&s);
    std::fs::write(s.repo().join("NOTES"), "one\n").unwrap();
    s.git_ok(&["add", "NOTES"]);
    s.git_ok(&["commit", "-q", "-m", "PROJ-5: Add notes"]);
    let ok = s.git(&["push", "origin", "main"]);
    assert_eq!(ok.code, 0, "{}", ok.transcript());
    assert!(ok.stdout.contains("1 commit checked"), "{}", ok.stdout);

    std::fs::write(s.repo().join("NOTES"), "two\n").unwrap();
    s.git_ok(&["commit", "-q", "-am", "more notes"]);
    let before = s.remote_rev("refs/heads/main");
    let refused = s.git(&["push", "origin", "main"]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stdout.contains("1 commit checked"),
        "{}",
        refused.stdout
    );
    assert!(refused.stdout.contains("no ticket: "), "{}", refused.stdout);
    assert!(refused.stdout.contains(" more notes"), "{}", refused.stdout);
    assert!(
        !refused.stdout.contains("Add notes"),
        "only the new commit is gated"
    );
    assert_eq!(s.remote_rev("refs/heads/main"), before);
}

#[test]
fn several_refs_tags_and_deletions_in_one_push() {
    let s = Sandbox::new();
    s.git_ok(&["push", "-q", "origin", "main:old"]);
    install(&s);
    s.git_ok(&["tag", "-a", "v1.0", "-m", "Release 1.0", "main"]);
    let r = s.git(&["push", "origin", "refs/tags/v1.0", ":old"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    insta::assert_snapshot!("tag-and-deletion", s.redact(&r.transcript()));
    assert_eq!(s.remote_rev("refs/heads/old"), None);
    assert_eq!(s.remote_rev("refs/tags/v1.0"), Some(s.local_rev("v1.0")));

    // One blocked ref refuses the whole push (git pushes nothing).
    let r = s.git(&[
        "push",
        "--atomic",
        "origin",
        "refs/tags/v1.0:refs/tags/v1.0-again",
        "feature",
    ]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("  refs/heads/feature: blocked by the policy"),
        "{}",
        r.stderr
    );
    assert_eq!(s.remote_rev("refs/tags/v1.0-again"), None);
}

#[test]
fn a_foreign_hook_is_kept_unless_forced_and_put_back_on_uninstall() {
    let s = Sandbox::new();
    let hook = s.repo().join(".git/hooks/pre-push");
    std::fs::write(&hook, "#!/bin/sh\necho mine\n").unwrap();
    let refused = s.gatehouse(&["hook", "install"]);
    assert_eq!(refused.code, 2);
    insta::assert_snapshot!("foreign-refused", s.redact(&refused.transcript()));
    assert_eq!(
        std::fs::read_to_string(&hook).unwrap(),
        "#!/bin/sh\necho mine\n"
    );

    let forced = s.gatehouse(&["hook", "install", "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.transcript());
    assert!(
        std::fs::read_to_string(&hook)
            .unwrap()
            .contains("gatehouse-hook")
    );
    let backup = s.repo().join(".git/hooks/pre-push.gatehouse-backup");
    assert_eq!(
        std::fs::read_to_string(&backup).unwrap(),
        "#!/bin/sh\necho mine\n"
    );

    let removed = s.gatehouse(&["hook", "uninstall"]);
    assert_eq!(removed.code, 0);
    insta::assert_snapshot!("uninstall-restores", s.redact(&removed.transcript()));
    assert_eq!(
        std::fs::read_to_string(&hook).unwrap(),
        "#!/bin/sh\necho mine\n"
    );
    assert!(!backup.exists());

    // Uninstall never removes a hook it did not write.
    let kept = s.gatehouse(&["hook", "uninstall"]);
    assert_eq!(kept.code, 2);
    assert!(
        kept.stderr.contains("was not written by gatehouse"),
        "{}",
        kept.stderr
    );
    assert!(hook.exists());
}

#[test]
fn uninstall_removes_our_hook_and_the_push_is_no_longer_gated() {
    let s = Sandbox::new();
    install(&s);
    let r = s.gatehouse(&["hook", "uninstall"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.starts_with("removed the gatehouse pre-push hook"),
        "{}",
        r.stdout
    );
    assert!(!s.repo().join(".git/hooks/pre-push").exists());
    let again = s.gatehouse(&["hook", "uninstall"]);
    assert_eq!(again.code, 0);
    assert!(again.stdout.contains("nothing to do"), "{}", again.stdout);
    let pushed = s.git(&["push", "origin", "feature"]);
    assert_eq!(pushed.code, 0, "{}", pushed.transcript());
}

#[test]
fn core_hooks_path_is_respected() {
    let s = Sandbox::new();
    s.git_ok(&["config", "core.hooksPath", ".githooks"]);
    let r = s.gatehouse(&["hook", "install"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert!(s.repo().join(".githooks/pre-push").exists());
    assert!(!s.repo().join(".git/hooks/pre-push").exists());
    let refused = s.git(&["push", "origin", "feature"]);
    assert_ne!(refused.code, 0, "{}", refused.transcript());
    assert!(
        refused.stderr.contains("push refused"),
        "{}",
        refused.stderr
    );
}

#[test]
fn a_missing_binary_refuses_the_push_and_says_how_to_fix_it() {
    let s = Sandbox::new();
    let hooks = s.repo().join(".git/hooks");
    let script = std::fs::read_to_string(hooks_script_via_install(&s)).unwrap();
    let exe = assert_cmd::cargo::cargo_bin!("gatehouse");
    let exe = exe.canonicalize().unwrap_or(exe.to_path_buf());
    let moved = script.replace(&exe.display().to_string(), "/nonexistent/gatehouse");
    std::fs::write(hooks.join("pre-push"), moved).unwrap();
    let r = s.git(&["push", "origin", "feature"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("/nonexistent/gatehouse is missing"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("gatehouse hook install --force"),
        "{}",
        r.stderr
    );
}

fn hooks_script_via_install(s: &Sandbox) -> PathBuf {
    install(s);
    s.repo().join(".git/hooks/pre-push")
}

#[test]
fn hook_run_outside_git_explains_itself() {
    let r = common::run(&["hook", "run", "pre-push"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("meant to be run by git"), "{}", r.stderr);
    let dir = tempfile::tempdir().unwrap();
    let r = common::run_in(dir.path(), &["hook", "install"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("is not inside a git repository"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_push_that_weakens_the_policy_is_gated_by_the_remote_one() {
    // Trust the base: the policy comes from the commit the remote already has.
    let s = Sandbox::new();
    install(&s);
    std::fs::write(s.repo().join(".gatehouse.toml"), "version = 1\n").unwrap();
    s.git_ok(&["commit", "-q", "-am", "drop the rules"]);
    let r = s.git(&["push", "origin", "main"]);
    assert_ne!(r.code, 0, "{}", r.transcript());
    assert!(
        r.stdout.contains(
            "this change edits .gatehouse.toml; it was evaluated under the base's policy"
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("no ticket: "), "{}", r.stdout);
}

#[test]
fn a_first_push_to_an_empty_remote_gates_the_whole_history() {
    // The remote has none of the history: every commit down to the root is
    // being pushed, so every one is gated (4 commits here, one without ticket).
    let s = Sandbox::new();
    let empty = s.tmp.path().join("empty.git");
    s.git_ok(&["init", "-q", "--bare", empty.to_str().unwrap()]);
    s.git_ok(&["remote", "add", "empty", empty.to_str().unwrap()]);
    install(&s);
    let r = s.git(&["push", "empty", "feature"]);
    assert_ne!(r.code, 0);
    assert!(r.stdout.contains("4 commits checked"), "{}", r.stdout);
    insta::assert_snapshot!("first-push", s.redact(&r.transcript()));
}

#[test]
fn install_help_teaches() {
    let r = common::run(&["hook", "install", "--help"]);
    assert_eq!(r.code, 0);
    insta::assert_snapshot!("install-help", r.stdout);
}

#[test]
fn a_remote_tip_this_clone_lacks_refuses_the_push_with_a_fetch_hint() {
    // Someone else pushed to main; a force push from here would gate against a
    // commit this repository cannot see.
    let s = Sandbox::new();
    let other = s.tmp.path().join("other");
    s.git_ok(&[
        "clone",
        "-q",
        "-b",
        "main",
        s.remote().to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    let in_other = |args: &[&str]| {
        let out = Command::new("git")
            .current_dir(&other)
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("HOME", s.tmp.path())
            .env("GIT_AUTHOR_NAME", "Bob")
            .env("GIT_AUTHOR_EMAIL", "bob@example.com")
            .env("GIT_COMMITTER_NAME", "Bob")
            .env("GIT_COMMITTER_EMAIL", "bob@example.com")
            .env("GIT_AUTHOR_DATE", "2026-11-29T10:00:00+01:00")
            .env("GIT_COMMITTER_DATE", "2026-11-29T10:00:00+01:00")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    in_other(&["commit", "-q", "--allow-empty", "-m", "PROJ-9: Bob's work"]);
    in_other(&["push", "-q", "origin", "main"]);

    install(&s);
    s.git_ok(&["commit", "-q", "--allow-empty", "-m", "PROJ-10: Mine"]);
    let r = s.git(&["push", "--force", "origin", "main"]);
    assert_ne!(r.code, 0);
    insta::assert_snapshot!("remote-tip-unknown", s.redact(&r.transcript()));
}
