//! Remediation hints shared by rules: the exact git command that fixes the
//! covered commits, so a developer's dry run (or a refused push) says what to
//! type, not only what is wrong.
//!
//! Hints are built from the facts alone (rules stay pure); they name the base
//! of the range by its short id, which works in any checkout that has it.

use crate::facts::{Commit, Facts, short_sha};

/// Where an interactive rebase over the covered commits starts: the change's
/// base, otherwise the parent of the oldest covered commit. `None` when the
/// oldest covered commit is a root commit (rebase with `--root`).
pub fn rebase_base(facts: &Facts) -> Option<String> {
    if let Some(change) = &facts.change {
        return Some(short_sha(&change.base.sha).to_string());
    }
    // Commits are newest first; the last one is the oldest covered.
    let oldest = facts.commits.last()?;
    oldest.parents.first().map(|p| short_sha(p).to_string())
}

/// `git rebase <flags> <base>`, or `--root` when the range starts at a root commit.
fn rebase(facts: &Facts, flags: &str) -> String {
    match rebase_base(facts) {
        Some(base) => format!("git rebase {flags} {base}"),
        None => format!("git rebase {flags} --root"),
    }
}

/// Whether `missing` is exactly the newest covered commit (the branch tip),
/// which `git commit --amend` can fix on its own.
fn only_the_tip(facts: &Facts, missing: &[&Commit]) -> bool {
    matches!((missing, facts.commits.first()), ([one], Some(tip)) if one.sha == tip.sha)
}

/// How to add a `Signed-off-by` trailer to the commits in `missing`.
pub fn signoff(facts: &Facts, missing: &[&Commit]) -> String {
    if only_the_tip(facts, missing) {
        "sign off the last commit with `git commit --amend --signoff --no-edit`, then push again (with `--force-with-lease` if it was pushed before)".to_string()
    } else {
        format!(
            "sign off every commit of the range with `{}`, then push again (with `--force-with-lease` if it was pushed before)",
            rebase(facts, "--signoff")
        )
    }
}

/// How to reword the messages of the commits in `commits`.
pub fn reword(facts: &Facts, commits: &[&Commit]) -> String {
    if only_the_tip(facts, commits) {
        "reword the last commit with `git commit --amend`, then push again".to_string()
    } else {
        format!(
            "reword them with `{}` (mark each one `reword`), then push again",
            rebase(facts, "-i")
        )
    }
}

/// How to fold `fixup!`/`squash!` commits into the commits they fix.
pub fn autosquash(facts: &Facts) -> String {
    format!(
        "squash or reword them with `{}`, then push again",
        rebase(facts, "-i --autosquash")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{change, commit, facts};

    fn range(n: u8) -> Facts {
        let mut f = facts();
        // newest first, each the child of the next; the oldest's parent is `0a0a…`.
        f.commits = (0..n).rev().map(|i| commit(i + 1, "x\n")).collect();
        for i in 0..f.commits.len() {
            let parent = match f.commits.get(i + 1) {
                Some(p) => p.sha.clone(),
                None => "0a".repeat(20),
            };
            f.commits[i].parents = vec![parent];
        }
        f
    }

    #[test]
    fn signoff_of_the_tip_alone_is_an_amend() {
        let f = range(2);
        let tip = &f.commits[0];
        assert!(signoff(&f, &[tip]).contains("`git commit --amend --signoff --no-edit`"));
    }

    #[test]
    fn signoff_of_older_commits_rebases_from_the_base() {
        let f = range(2);
        let older = &f.commits[1];
        assert!(
            signoff(&f, &[older]).contains("`git rebase --signoff 0a0a0a0`"),
            "{}",
            signoff(&f, &[older])
        );
        let mut pr = range(2);
        pr.change = Some(change("t"));
        let base = short_sha(&pr.change.as_ref().unwrap().base.sha).to_string();
        let all: Vec<&Commit> = pr.commits.iter().collect();
        assert!(signoff(&pr, &all).contains(&format!("`git rebase --signoff {base}`")));
    }

    #[test]
    fn a_range_from_a_root_commit_rebases_with_root() {
        let mut f = range(2);
        f.commits[1].parents.clear();
        let all: Vec<&Commit> = f.commits.iter().collect();
        assert!(reword(&f, &all).contains("`git rebase -i --root`"));
        assert!(autosquash(&f).contains("`git rebase -i --autosquash --root`"));
    }
}
