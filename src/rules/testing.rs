//! Helpers for rule unit tests: build a rule from its TOML keys, and Facts to run it on.

use chrono::{DateTime, TimeZone, Utc};

use super::Rule;
use crate::facts::{
    Change, ChangeRef, Commit, Event, EventKind, Facts, GitRef, Identity, Repository,
};

/// Build a rule of `kind` from the keys of its `[[rule]]` table; panics with the
/// rendered diagnostics when the config is invalid (tests only).
pub fn rule(kind: &str, keys: &str) -> Box<dyn Rule> {
    let text = format!("version = 1\n[[rule]]\nid = \"under-test\"\nkind = \"{kind}\"\n{keys}\n");
    match crate::policy::parse("test.toml", &text) {
        Ok(mut policy) => policy.rules.remove(0).rule,
        Err(e) => panic!("invalid test config:\n{}", e.render(false)),
    }
}

pub fn instant() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 14, 3, 0).unwrap()
}

/// Minimal facts for a push of `refs/heads/main` with no commits.
pub fn facts() -> Facts {
    Facts {
        schema: crate::facts::FACTS_SCHEMA.to_string(),
        gathered_at: instant(),
        source: "test".to_string(),
        repository: Repository {
            host: "github.com".to_string(),
            slug: "acme/api".to_string(),
            default_branch: Some("main".to_string()),
        },
        event: Event {
            kind: EventKind::Push,
            actor: Some("alice".to_string()),
        },
        git_ref: GitRef {
            name: "refs/heads/main".to_string(),
            sha: "9f2c4d1e0000000000000000000000000000000a".to_string(),
        },
        change: None,
        commits: Vec::new(),
        tags: Vec::new(),
        teams: Default::default(),
        codeowners: None,
        checks: Vec::new(),
        deployment: None,
        pipeline: None,
        files: Vec::new(),
        unavailable: Vec::new(),
    }
}

pub fn facts_with_ref(name: &str) -> Facts {
    let mut f = facts();
    f.git_ref.name = name.to_string();
    f
}

/// A pull request from `feature/x` into `main` titled `title`.
pub fn change(title: &str) -> Change {
    Change {
        id: 42,
        title: title.to_string(),
        author: "alice".to_string(),
        draft: false,
        base: ChangeRef {
            name: "main".to_string(),
            sha: "1a2b000000000000000000000000000000000000".to_string(),
        },
        head: ChangeRef {
            name: "feature/x".to_string(),
            sha: "9f2c4d1e0000000000000000000000000000000a".to_string(),
        },
        labels: Vec::new(),
        files: Vec::new(),
        reviews: Vec::new(),
    }
}

/// A commit by Alice with `message`; `n` makes the sha unique.
pub fn commit(n: u8, message: &str) -> Commit {
    let who = Identity {
        name: "Alice".to_string(),
        email: "alice@acme.dev".to_string(),
        login: Some("alice".to_string()),
        time: instant().fixed_offset(),
    };
    Commit {
        sha: format!("{n:02x}{}", "c".repeat(38)),
        parents: vec!["1a2b000000000000000000000000000000000000".to_string()],
        author: who.clone(),
        committer: who,
        message: message.to_string(),
        trailers: Vec::new(),
        signature: None,
        author_is_bot: false,
    }
}
