//! Gathering Facts for every commit of a large repository, against
//! `git log --format='%H%x00%an%x00%ae%x00%B'` over the same range, in the
//! same run. Run it with
//!
//! ```sh
//! cargo bench --bench git_facts
//! ```
//!
//! The repository (20,000 commits, built once with `git fast-import`) is
//! cached under cargo's target directory. `cargo test --all-targets` also runs
//! this binary, without `--bench`: then it only does a smoke run on a small
//! repository, checking that both sides see the same commits.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gatehouse::sources::git::{GitRequest, gather};

const FULL_COMMITS: usize = 20_000;
const SMOKE_COMMITS: usize = 50;
const FILES: usize = 200;
const ROUNDS: usize = 5;

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    // Both sides are measured on the repository as fast-import leaves it, and
    // again with a commit-graph (what `git gc` and `git maintenance` write),
    // which lets both walk the history without inflating every commit.
    for graph in [false, true] {
        let suffix = if graph { "-graph" } else { "" };
        if bench {
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("git-facts-{FULL_COMMITS}{suffix}"));
            ensure_repo(&dir, FULL_COMMITS, graph);
            measure(&dir, FULL_COMMITS, ROUNDS, graph);
        } else {
            let tmp = std::env::temp_dir().join(format!(
                "gatehouse-git-facts-smoke-{}{suffix}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&tmp);
            eprintln!(
                "git_facts smoke run (no --bench): both sides must see the same commits; the timings of a small unoptimised run mean nothing — use `cargo bench --bench git_facts`"
            );
            ensure_repo(&tmp, SMOKE_COMMITS, graph);
            measure(&tmp, SMOKE_COMMITS, 1, graph);
            let _ = std::fs::remove_dir_all(&tmp);
        }
    }
}

fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null");
    cmd
}

/// Build the repository unless a complete one is already there.
fn ensure_repo(dir: &Path, commits: usize, graph: bool) {
    let done = dir.join(".git/gatehouse-bench-complete");
    if done.exists() {
        return;
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("create the bench repository directory");
    let status = git(dir)
        .args(["-c", "init.defaultBranch=main", "init", "-q"])
        .status()
        .expect("git runs");
    assert!(status.success(), "git init failed");
    let started = Instant::now();
    let mut child = git(dir)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import runs");
    {
        let mut stdin = std::io::BufWriter::new(child.stdin.take().expect("piped stdin"));
        write_stream(&mut stdin, commits).expect("fast-import reads the stream");
    }
    assert!(
        child.wait().expect("fast-import ends").success(),
        "git fast-import failed"
    );
    let status = git(dir)
        .args(["reset", "-q", "--hard", "main"])
        .status()
        .expect("git runs");
    assert!(status.success());
    if graph {
        let status = git(dir)
            .args(["commit-graph", "write", "--reachable"])
            .status()
            .expect("git runs");
        assert!(status.success(), "git commit-graph write failed");
    }
    std::fs::write(&done, commits.to_string()).expect("mark the repository complete");
    eprintln!(
        "built a repository of {commits} commits in {:.1?} at {}",
        started.elapsed(),
        dir.display()
    );
}

/// A deterministic history: each commit edits one of [`FILES`] files and
/// carries a body and a sign-off, like a real project's commits.
fn write_stream(out: &mut impl std::io::Write, commits: usize) -> std::io::Result<()> {
    for n in 0..commits {
        let file = n % FILES;
        let who = n % 7;
        let time = 1_600_000_000 + n as i64 * 600;
        let message = format!(
            "Change {n}: update module {file}\n\nThis adjusts module {file} for change {n}, keeping the\nbehaviour of the previous release.\n\nSigned-off-by: Dev {who} <dev{who}@example.com>\n"
        );
        let content = format!(
            "// module {file}\npub const VERSION: usize = {n};\npub fn id() -> usize {{ {file} }}\n"
        );
        writeln!(out, "commit refs/heads/main")?;
        writeln!(out, "mark :{}", n + 1)?;
        writeln!(out, "author Dev {who} <dev{who}@example.com> {time} +0100")?;
        writeln!(
            out,
            "committer Dev {who} <dev{who}@example.com> {time} +0100"
        )?;
        writeln!(out, "data {}", message.len())?;
        out.write_all(message.as_bytes())?;
        if n > 0 {
            writeln!(out, "from :{n}")?;
        }
        writeln!(out, "M 100644 inline src/module_{file}.rs")?;
        writeln!(out, "data {}", content.len())?;
        out.write_all(content.as_bytes())?;
        writeln!(out)?;
    }
    Ok(())
}

fn rev(dir: &Path, spec: &str) -> String {
    let out = git(dir)
        .args(["rev-parse", spec])
        .output()
        .expect("git runs");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .expect("hex")
        .trim()
        .to_string()
}

fn measure(dir: &Path, commits: usize, rounds: usize, graph: bool) {
    // The range covers every commit but the root, for both sides.
    let root = rev(dir, &format!("main~{}", commits - 1));
    let range = format!("{root}..main");
    let request = GitRequest {
        base: Some(root.clone()),
        head: Some("main".to_string()),
        ..GitRequest::new(dir)
    };

    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut our_count = 0;
    let mut git_count = 0;
    for _ in 0..rounds {
        let started = Instant::now();
        let gathered = gather(&request).expect("gather the bench repository");
        ours.push(started.elapsed());
        our_count = gathered.facts.commits.len();

        let started = Instant::now();
        let out = git(dir)
            .args(["log", "--format=%H%x00%an%x00%ae%x00%B", &range])
            .output()
            .expect("git log runs");
        theirs.push(started.elapsed());
        assert!(out.status.success());
        // Three NULs per record; the messages hold none.
        git_count = out.stdout.iter().filter(|&&b| b == 0).count() / 3;
    }
    // Outside the timed part: the same commits, in the same order.
    let gathered = gather(&request).expect("gather the bench repository");
    let ours_ids: Vec<&str> = gathered
        .facts
        .commits
        .iter()
        .map(|c| c.sha.as_str())
        .collect();
    let out = git(dir)
        .args(["log", "--format=%H", &range])
        .output()
        .expect("git log runs");
    let git_ids = String::from_utf8(out.stdout).expect("hex ids");
    assert!(
        ours_ids.iter().copied().eq(git_ids.lines()),
        "gatehouse and git log disagree on the commits or their order"
    );
    let expected = commits - 1;
    assert_eq!(our_count, expected, "gatehouse saw a different range");
    assert_eq!(
        git_count, expected,
        "git log saw a different range (the counting of its output is off)"
    );
    let (ours, theirs) = (median(&mut ours), median(&mut theirs));
    println!(
        "git_facts: {expected} commits, {}, median of {rounds} round(s)",
        if graph {
            "with a commit-graph"
        } else {
            "no commit-graph"
        }
    );
    println!("  gatehouse git::gather  {:>10.1?}", ours);
    println!("  git log --format=…%B   {:>10.1?}", theirs);
    println!(
        "  ratio gatehouse / git log = {:.2}",
        ours.as_secs_f64() / theirs.as_secs_f64()
    );
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}
