//! The local git source end to end: `gatehouse facts --source git` and
//! `gatehouse check --dry-run` on fixture repositories built by
//! `fixtures/git/*.sh`, compared with what git itself says.

mod common;
mod gitfx;

use std::path::Path;

use common::{Run, run_in};
use gitfx::{FixtureRepo, build, git_bytes, git_text};

/// Snapshots must not depend on the machine: hide temp paths and the clock.
fn stable(repo: &FixtureRepo, text: &str) -> String {
    let scratch = repo.scratch().display().to_string();
    let text = text.replace(&scratch, "[tmp]");
    let re = regex::Regex::new(r#""gathered_at": "[^"]+""#).unwrap();
    re.replace_all(&text, r#""gathered_at": "[time]""#)
        .into_owned()
}

fn facts(repo: &FixtureRepo, extra: &[&str]) -> Run {
    let mut args = vec!["facts", "--source", "git", "--repo", repo.path_str()];
    args.extend_from_slice(extra);
    run_in(&repo.path, &args)
}

fn facts_json(repo: &FixtureRepo, extra: &[&str]) -> serde_json::Value {
    let r = facts(repo, extra);
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&r.stdout).expect("facts are JSON")
}

#[test]
fn facts_of_a_feature_branch() {
    let repo = build("history");
    let r = facts(&repo, &["--base", "main", "--head", "feature/rename"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!(stable(&repo, &r.transcript()));
}

#[test]
fn commits_are_in_git_log_order_with_git_log_fields() {
    let repo = build("history");
    let v = facts_json(&repo, &["--base", "main", "--head", "feature/rename"]);
    let ours: Vec<String> = v["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let parents: Vec<&str> = c["parents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            [
                c["sha"].as_str().unwrap(),
                c["author"]["name"].as_str().unwrap(),
                c["author"]["email"].as_str().unwrap(),
                c["author"]["time"].as_str().unwrap(),
                c["committer"]["name"].as_str().unwrap(),
                c["committer"]["time"].as_str().unwrap(),
                &parents.join(" "),
            ]
            .join("\0")
        })
        .collect();
    let git = git_text(
        &repo.path,
        &[
            "log",
            "--format=%H%x00%an%x00%ae%x00%aI%x00%cn%x00%cI%x00%P",
            "main..feature/rename",
        ],
    );
    // chrono writes UTC as `Z` where git writes `+00:00`.
    let git: Vec<String> = git.lines().map(|l| l.replace("+00:00", "Z")).collect();
    assert_eq!(ours, git);
    for c in v["commits"].as_array().unwrap() {
        let sha = c["sha"].as_str().unwrap();
        let body = git_text(&repo.path, &["log", "-1", "--format=%B", sha]);
        // `%B` appends one newline to the raw message.
        assert_eq!(format!("{}\n", c["message"].as_str().unwrap()), body);
    }
}

#[test]
fn changed_files_match_git_diff_numstat() {
    let repo = build("history");
    let v = facts_json(&repo, &["--base", "main", "--head", "feature/rename"]);
    let mut ours: Vec<String> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap();
            let shown = match f["previous_path"].as_str() {
                Some(prev) => format!("{prev}\t{path}"),
                None => path.to_string(),
            };
            let counts = if path.ends_with(".png") {
                "-\t-".to_string()
            } else {
                format!("{}\t{}", f["additions"], f["deletions"])
            };
            format!("{counts}\t{shown}")
        })
        .collect();
    ours.sort();
    let numstat = git_bytes(
        &repo.path,
        &["diff", "--numstat", "-z", "-M", "main...feature/rename"],
    );
    // `-z`: `A\tD\tPATH\0`, or for a rename `A\tD\t\0OLD\0NEW\0`.
    let text = String::from_utf8(numstat).unwrap();
    let mut fields = text.split('\0');
    let mut git = Vec::new();
    while let Some(head) = fields.next() {
        if head.is_empty() {
            break;
        }
        if let Some(counts) = head.strip_suffix('\t') {
            let old = fields.next().unwrap();
            let new = fields.next().unwrap();
            git.push(format!("{counts}\t{old}\t{new}"));
        } else {
            git.push(head.to_string());
        }
    }
    git.sort();
    assert_eq!(ours, git);
    let statuses: Vec<(&str, &str)> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["status"].as_str().unwrap()))
        .collect();
    assert!(statuses.contains(&("docs.txt", "renamed")), "{statuses:?}");
    assert!(statuses.contains(&("main.rs", "modified")), "{statuses:?}");
}

#[test]
fn default_base_is_the_default_branch() {
    let repo = build("history");
    let r = facts(&repo, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!(r.stderr, @"note: no --base given: gating the commits not on the default branch `origin/main` (1af2427..e0cf495)");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ref"]["name"], "refs/heads/feature/rename");
    assert_eq!(v["commits"].as_array().unwrap().len(), 6);
    assert_eq!(v["repository"]["default_branch"], "main");
}

#[test]
fn on_the_default_branch_only_the_last_commit_is_gated() {
    let repo = build("history");
    gitfx::git(&repo.path)
        .args(["checkout", "-q", "main"])
        .status()
        .unwrap();
    let r = facts(&repo, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!(r.stderr, @"note: no --base given and the head 1af2427 is already on the default branch and its upstream: gating only the last commit (8876bed..1af2427); pass `--base REV` to gate more");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["commits"].as_array().unwrap().len(), 1);
}

#[test]
fn detached_head_is_said() {
    let repo = build("history");
    gitfx::git(&repo.path)
        .args(["checkout", "-q", "--detach", "feature/rename~1"])
        .status()
        .unwrap();
    let r = facts(&repo, &["--base", "main"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!(r.stderr, @"note: HEAD is detached at 1cb1f6d: the gated ref is `HEAD`, so rules about branches see no branch");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ref"]["name"], "HEAD");
}

#[test]
fn a_tag_as_head_names_the_tag_ref() {
    let repo = build("history");
    let v = facts_json(&repo, &["--base", "main", "--head", "v0.1.0"]);
    assert_eq!(v["ref"]["name"], "refs/tags/v0.1.0");
    assert_eq!(v["tags"][0]["name"], "v0.1.0");
    assert_eq!(v["tags"][0]["tagger"]["time"], "2023-11-14T14:22:20-08:00");
}

#[test]
fn an_unknown_revision_is_named() {
    let repo = build("history");
    let r = facts(&repo, &["--base", "main", "--head", "no-such-branch"]);
    assert_eq!(r.code, 3);
    let first = r.stderr.lines().next().unwrap_or_default().to_string();
    assert!(
        first.starts_with(
            "error: could not gather facts — git: unknown revision `no-such-branch` (--head)"
        ),
        "{}",
        r.stderr
    );
    let hint = r.stderr.lines().nth(1).unwrap_or_default();
    insta::assert_snapshot!(hint, @"  hint: check the spelling, or fetch it first (`git fetch origin no-such-branch`)");
}

#[test]
fn not_a_repository_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_in(
        dir.path(),
        &[
            "facts",
            "--source",
            "git",
            "--repo",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("is not inside a git repository"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("hint: run gatehouse inside a checkout"));
}

/// A `--depth N` clone of the feature branch (with 2: the merge, and its two
/// parents as the shallow boundary).
fn shallow_clone(repo: &FixtureRepo, depth: u32) -> std::path::PathBuf {
    let clone = repo.scratch().join(format!("shallow-{depth}"));
    let url = format!("file://{}", repo.path.display());
    let out = gitfx::git(repo.scratch())
        .args(["clone", "-q", "--branch", "feature/rename", "--depth"])
        .arg(depth.to_string())
        .arg(&url)
        .arg(&clone)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    clone
}

fn facts_in(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["facts", "--source", "git", "--repo", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    run_in(dir, &args)
}

#[test]
fn a_shallow_clone_lacking_the_base_is_an_error_with_the_fix() {
    let repo = build("history");
    let clone = shallow_clone(&repo, 2);
    // The base commit (main) is not in the clone at all.
    let r = facts_in(
        &clone,
        &["--base", "1af2427cf50e62f0e4e48a7d81c948b3960048e6"],
    );
    assert_eq!(r.code, 3, "{}", r.stdout);
    let r = Run {
        stderr: r.stderr.replace(&clone.display().to_string(), "[clone]"),
        ..r
    };
    insta::assert_snapshot!(r.stderr.lines().nth(1).unwrap_or_default(), @"  hint: the repository is a shallow clone and may lack that commit; fetch the full history: with GitHub Actions use `actions/checkout` with `fetch-depth: 0`; in GitLab CI set `GIT_DEPTH: 0`; in a local clone run `git fetch --unshallow`");
}

#[test]
fn a_range_crossing_the_shallow_boundary_is_an_error() {
    let repo = build("history");
    let clone = shallow_clone(&repo, 2);
    // HEAD~1..HEAD holds the side commit, whose parents the clone cut off.
    let r = facts_in(&clone, &["--base", "HEAD~1"]);
    assert_eq!(r.code, 3, "{}", r.stdout);
    insta::assert_snapshot!(r.stderr, @r"
    error: could not gather facts — git: the repository is a shallow clone and the range 1cb1f6d..e0cf495 reaches its shallow boundary at 4ba916c: older commits of the range are missing, so it cannot be gated completely
      hint: fetch the full history: with GitHub Actions use `actions/checkout` with `fetch-depth: 0`; in GitLab CI set `GIT_DEPTH: 0`; in a local clone run `git fetch --unshallow`
    the gate blocks: facts that cannot be read completely are never treated as allowed (exit 3)
    ");
    // With one more level the same range is complete, and fine.
    let clone = shallow_clone(&repo, 3);
    let r = facts_in(&clone, &["--base", "HEAD~1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["commits"].as_array().unwrap().len(), 2);
}

#[test]
fn the_policy_is_read_from_the_base_commit() {
    // The working tree (the branch) deleted the ticket rule; the base still has it.
    let repo = build("policy-edit");
    let r = run_in(
        &repo.path,
        &["check", "--dry-run", "--repo", repo.path_str()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!(stable(&repo, &r.transcript()));
    let r = run_in(
        &repo.path,
        &["check", "--repo", repo.path_str(), "--format", "json"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let d: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let main = git_text(&repo.path, &["rev-parse", "main"]);
    assert_eq!(d["policy"]["source_ref"], main.trim());
    assert_eq!(d["policy"]["path"], ".gatehouse.toml");
}

#[test]
fn an_explicit_policy_is_read_from_the_working_tree() {
    let repo = build("policy-edit");
    let r = run_in(
        &repo.path,
        &[
            "check",
            "--dry-run",
            "--repo",
            repo.path_str(),
            "--policy",
            repo.path.join(".gatehouse.toml").to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("the policy has no rules"), "{}", r.stdout);
}

#[test]
fn dry_run_in_a_fixture_checkout() {
    let repo = build("history");
    let r = run_in(&repo.path, &["check", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!(stable(&repo, &r.transcript()));
}

/// Each signed commit's payload and signature verify with the real tools —
/// so they are exactly what `git verify-commit` checks — and the payload is
/// `git cat-file commit` without the `gpgsig` header.
#[test]
fn signed_commits_carry_the_exact_signed_payload() {
    let repo = build("signed");
    let v = facts_json(&repo, &["--base", "HEAD~2"]);
    let commits = v["commits"].as_array().unwrap();
    let formats: Vec<&str> = commits
        .iter()
        .map(|c| c["signature"]["format"].as_str().unwrap())
        .collect();
    assert_eq!(formats, ["openpgp", "ssh"]);
    let keys = repo.path.join(".git/test-keys");
    let gnupg = repo.path.join(".git/test-gnupg");
    for c in commits {
        let sha = c["sha"].as_str().unwrap();
        let payload = c["signature"]["payload"].as_str().unwrap();
        let signature = c["signature"]["signature"].as_str().unwrap();

        let raw = String::from_utf8(git_bytes(&repo.path, &["cat-file", "commit", sha])).unwrap();
        assert_eq!(payload, without_gpgsig(&raw), "{sha}");
        let raw_verify = gitfx::git(&repo.path)
            .env("GNUPGHOME", &gnupg)
            .args(["verify-commit", "--raw", sha])
            .output()
            .unwrap();
        assert!(raw_verify.status.success(), "git verify-commit {sha}");

        let sig_file = repo.scratch().join("sig");
        std::fs::write(&sig_file, signature).unwrap();
        let verified = match c["signature"]["format"].as_str().unwrap() {
            "ssh" => verify_ssh(&keys, &sig_file, payload.as_bytes()),
            _ => {
                let payload_file = repo.scratch().join("payload");
                std::fs::write(&payload_file, payload).unwrap();
                std::process::Command::new("gpg")
                    .env("GNUPGHOME", &gnupg)
                    .args(["--batch", "--verify"])
                    .arg(&sig_file)
                    .arg(&payload_file)
                    .output()
                    .unwrap()
                    .status
                    .success()
            }
        };
        assert!(
            verified,
            "the signature of {sha} does not verify over our payload"
        );
        // One changed byte must not verify: the check above can fail.
        if c["signature"]["format"] == "ssh" {
            let tampered = payload.replacen("tree", "tref", 1);
            assert!(!verify_ssh(&keys, &sig_file, tampered.as_bytes()));
        }
    }
    let tag = &v["tags"][0];
    assert_eq!(tag["name"], "v1.0.0");
    assert_eq!(tag["signature"]["format"], "ssh");
    let sig_file = repo.scratch().join("tag-sig");
    std::fs::write(&sig_file, tag["signature"]["signature"].as_str().unwrap()).unwrap();
    assert!(verify_ssh(
        &keys,
        &sig_file,
        tag["signature"]["payload"].as_str().unwrap().as_bytes()
    ));
    assert_eq!(tag["message"], "Signed release\n");
}

/// `git cat-file commit` output without the `gpgsig` header and its
/// continuation lines (a simple reading of git's rule, independent of ours).
fn without_gpgsig(raw: &str) -> String {
    let (header, message) = raw.split_once("\n\n").unwrap();
    let mut kept = Vec::new();
    let mut in_sig = false;
    for line in header.split('\n') {
        if line.starts_with("gpgsig ") {
            in_sig = true;
            continue;
        }
        if in_sig && line.starts_with(' ') {
            continue;
        }
        in_sig = false;
        kept.push(line);
    }
    format!("{}\n\n{message}", kept.join("\n"))
}

fn verify_ssh(keys: &Path, sig_file: &Path, payload: &[u8]) -> bool {
    use std::io::Write as _;
    let mut child = std::process::Command::new("ssh-keygen")
        .args(["-Y", "verify", "-n", "git", "-I", "alice@example.com", "-f"])
        .arg(keys.join("allowed_signers"))
        .arg("-s")
        .arg(sig_file)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(payload).unwrap();
    child.wait().unwrap().success()
}

#[test]
fn a_repository_without_commits_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    gitfx::git(dir.path())
        .args(["-c", "init.defaultBranch=main", "init", "-q"])
        .status()
        .unwrap();
    let r = facts_in(dir.path(), &[]);
    assert_eq!(r.code, 3);
    insta::assert_snapshot!(r.stderr, @r"
    error: could not gather facts — git: the repository has no commits yet: there is nothing to gate
      hint: commit first, or pass `--head REV`
    the gate blocks: facts that cannot be read completely are never treated as allowed (exit 3)
    ");
}

#[test]
fn on_the_default_branch_the_unpushed_commits_are_gated() {
    let repo = build("history");
    for args in [
        &["checkout", "-q", "main"][..],
        &["symbolic-ref", "--delete", "refs/remotes/origin/HEAD"],
        &["config", "branch.main.remote", "origin"],
        &["config", "branch.main.merge", "refs/heads/main"],
        &["reset", "-q", "--hard", "main~1"],
        &["update-ref", "refs/remotes/origin/main", "main"],
        &["merge", "-q", "--ff-only", "feature/rename~2"],
    ] {
        let out = gitfx::git(&repo.path).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let r = facts(&repo, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!(r.stderr, @"note: no --base given: gating the commits not yet on the upstream `origin/main` (8876bed..8729d17)");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ref"]["name"], "refs/heads/main");
    assert_eq!(v["commits"].as_array().unwrap().len(), 4);
}

#[test]
fn a_malformed_commit_is_an_error() {
    let repo = build("history");
    let tree = git_text(&repo.path, &["rev-parse", "main^{tree}"]);
    let parent = git_text(&repo.path, &["rev-parse", "main"]);
    let object = format!(
        "tree {}\nparent {}\nauthor no email or date\ncommitter Carol Committer <carol@example.com> 1700000000 +0000\n\nBroken author line\n",
        tree.trim(),
        parent.trim()
    );
    let path = repo.scratch().join("broken-commit");
    std::fs::write(&path, object).unwrap();
    let sha = git_text(
        &repo.path,
        &[
            "hash-object",
            "-t",
            "commit",
            "-w",
            "--literally",
            path.to_str().unwrap(),
        ],
    );
    let sha = sha.trim();
    let r = facts(&repo, &["--base", "main", "--head", sha]);
    assert_eq!(r.code, 3, "{}", r.stdout);
    insta::assert_snapshot!(r.stderr.replace(sha, "[sha]"), @r"
    error: could not gather facts — git: cannot read commit [sha]: Invalid actor signature
      hint: the repository may be damaged; `git fsck` names the broken object
    the gate blocks: facts that cannot be read completely are never treated as allowed (exit 3)
    ");
}

/// A history made to trip a walk up: merges both ways, a side branch merged
/// into both sides, commits of the same second, and committer dates that go
/// backwards (clock skew), written with `git fast-import` so the dates are
/// exact. Each entry: committer time and the indexes of the parents.
const TANGLE: &[(i64, &[usize])] = &[
    (100, &[]),        // 0 root
    (200, &[0]),       // 1 main
    (200, &[1]),       // 2 main, same second as its parent
    (300, &[2]),       // 3 main
    (250, &[1]),       // 4 feature off 1
    (150, &[4]),       // 5 feature, older than its parent
    (400, &[5]),       // 6 feature
    (500, &[6, 3]),    // 7 feature merges main
    (120, &[0]),       // 8 side
    (130, &[8]),       // 9 side
    (350, &[3, 9]),    // 10 main merges side
    (600, &[7, 9]),    // 11 feature merges side too
    (700, &[11]),      // 12 same second …
    (700, &[11]),      // 13 … as this one
    (700, &[12, 13]),  // 14 … and their merge
    (800, &[10, 6]),   // 15 main merges an old feature commit (criss-cross)
    (50, &[15]),       // 16 main, far in the past
    (50, &[16]),       // 17
    (40, &[17]),       // 18
    (900, &[14, 18]),  // 19 feature merges the skewed main
    (60, &[5]),        // 20 an old-dated branch off the skewed feature commit
    (1000, &[19, 20]), // 21
];

fn tangle_repo() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("repo");
    std::fs::create_dir_all(&path).unwrap();
    git_text(&path, &["init", "-q"]);
    let mut stream = String::new();
    for (n, (time, parents)) in TANGLE.iter().enumerate() {
        let message = format!("commit {n}\n");
        stream.push_str(&format!(
            "commit refs/heads/n{n}\nmark :{}\nauthor A <a@example.com> {time} +0000\ncommitter C <c@example.com> {time} +0000\ndata {}\n{message}",
            n + 1,
            message.len()
        ));
        for (k, p) in parents.iter().enumerate() {
            let verb = if k == 0 { "from" } else { "merge" };
            stream.push_str(&format!("{verb} :{}\n", p + 1));
        }
        let content = format!("{n}\n");
        stream.push_str(&format!(
            "M 100644 inline file{}\ndata {}\n{content}\n",
            n % 3,
            content.len()
        ));
    }
    let mut child = gitfx::git(&path)
        .args(["fast-import", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("git fast-import runs");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(stream.as_bytes()).unwrap();
    }
    assert!(child.wait().unwrap().success(), "git fast-import failed");
    (dir, path)
}

/// For every pair of commits of [`TANGLE`] as base and head (and every head
/// from the root), the gathered commits are exactly `git log base..head`'s, in
/// its order: nothing reachable from the base, nothing missing, ties and skew
/// broken as git breaks them.
#[test]
fn every_range_of_a_tangled_history_matches_git_log() {
    let (_dir, path) = tangle_repo();
    every_range_matches_git_log(&path);
}

/// The same with a commit-graph (what `git gc` writes), which the walk uses
/// instead of reading every commit.
#[test]
fn every_range_of_a_tangled_history_with_a_commit_graph_matches_git_log() {
    let (_dir, path) = tangle_repo();
    git_text(&path, &["commit-graph", "write", "--reachable"]);
    every_range_matches_git_log(&path);
}

/// The same with a commit-graph that holds only part of the history (commits
/// made since it was written): the walk mixes both sources.
#[test]
fn every_range_of_a_tangled_history_with_a_partial_commit_graph_matches_git_log() {
    let (_dir, path) = tangle_repo();
    let mut child = gitfx::git(&path)
        .args(["commit-graph", "write", "--stdin-commits"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("git commit-graph runs");
    {
        use std::io::Write as _;
        let tip = git_text(&path, &["rev-parse", "n10"]);
        child
            .stdin
            .take()
            .unwrap()
            .write_all(tip.as_bytes())
            .unwrap();
    }
    assert!(child.wait().unwrap().success(), "git commit-graph failed");
    every_range_matches_git_log(&path);
}

fn every_range_matches_git_log(path: &Path) {
    let ids: Vec<String> = (0..TANGLE.len())
        .map(|n| {
            git_text(path, &["rev-parse", &format!("n{n}")])
                .trim()
                .to_string()
        })
        .collect();
    let mut ranges = 0;
    for head in &ids {
        let bases = ids.iter().map(Some).chain([None]);
        for base in bases {
            let request = gatehouse::sources::git::GitRequest {
                base: base.cloned(),
                head: Some(head.clone()),
                from_root: base.is_none(),
                ..gatehouse::sources::git::GitRequest::new(path)
            };
            let gathered = gatehouse::sources::git::gather(&request).expect("gather");
            let ours: Vec<&str> = gathered
                .facts
                .commits
                .iter()
                .map(|c| c.sha.as_str())
                .collect();
            let spec = match base {
                Some(base) => format!("{base}..{head}"),
                None => head.clone(),
            };
            let theirs = git_text(path, &["log", "--format=%H", &spec]);
            let theirs: Vec<&str> = theirs.lines().collect();
            assert_eq!(ours, theirs, "the commits of {spec}");
            ranges += 1;
        }
    }
    assert_eq!(ranges, TANGLE.len() * (TANGLE.len() + 1));
}
