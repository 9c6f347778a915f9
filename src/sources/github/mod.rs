//! The `github` source: facts from the GitHub REST API (through octocrab).
//!
//! The entry point is [`gather`] on an explicit [`GithubRequest`], so it can
//! be tested against a mock server without any environment; [`context`]
//! builds the request from a GitHub Actions job.
//!
//! For a pull request it reads the pull request, then — concurrently — every
//! commit, changed file and review, the check runs and commit statuses of the
//! head, CODEOWNERS from the base commit, the members of the teams the policy
//! names, and the environment approvals of the workflow run. Every list is
//! read to its last page (later pages concurrently, `per_page=100`, so a pull
//! request with 250 commits, 100 reviews and 300 files costs 1 + 3 + 1 + 3
//! requests for those) and checked against the count GitHub reports; anything
//! missing is an error, never a shorter list.

mod client;
pub mod context;
mod model;

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

pub use client::Limits;
use client::{Api, ApiError, SOURCE};

use super::{Gathered, SourceError};
use crate::facts::{
    Check, Codeowners, Commit, Deployment, DeploymentApproval, Event, EventKind, FACTS_SCHEMA,
    Facts, GitRef, Pipeline, Repository,
};

/// An API token. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(token: impl Into<String>) -> Token {
        Token(token.into())
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// Everything the GitHub source needs to know.
#[derive(Debug, Clone)]
pub struct GithubRequest {
    /// The REST API base (`https://api.github.com`, `https://ghe.example/api/v3`).
    pub api_url: String,
    pub token: Option<Token>,
    /// The web host (`github.com`), for `repository.host`.
    pub host: String,
    /// `owner/name`.
    pub repo: String,
    pub event: EventKind,
    /// The full ref of the run (`refs/pull/42/merge`, `refs/heads/main`).
    pub git_ref: String,
    /// The commit being gated (for a pull request, its head is read from the API).
    pub head_sha: String,
    /// The commit before a push, when known: the range is then base..head.
    pub base_sha: Option<String>,
    pub pull_number: Option<u64>,
    /// The workflow run, for environment approvals.
    pub run_id: Option<u64>,
    /// The deployment environment gated, if any.
    pub environment: Option<String>,
    pub actor: Option<String>,
    /// Who requested the deployment (the deployment's creator, else the actor).
    pub requested_by: Option<String>,
    /// Team slugs (`acme/sre`) whose members the policy needs.
    pub teams: Vec<String>,
    pub pipeline: Option<Pipeline>,
    pub limits: Limits,
}

/// Where GitHub looks for CODEOWNERS, in its order.
pub const CODEOWNERS_PATHS: [&str; 3] = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"];

/// The policy file of the base commit (DESIGN principle 3: trust the base):
/// the first of [`crate::policy::DISCOVERY_ORDER`] that the contents API has
/// at `base`, as (path, text); `None` when the base has none of them.
pub fn policy_from_base(
    request: &GithubRequest,
    base: &str,
) -> Result<Option<(String, String)>, SourceError> {
    let base = sha("the base commit", base)?.to_string();
    let runtime = runtime()?;
    runtime.block_on(async {
        let (api, repo) = client(request)?;
        for path in crate::policy::DISCOVERY_ORDER {
            match api
                .json::<model::Content>(&format!("{repo}/contents/{path}?ref={base}"))
                .await
            {
                Ok(content) => return Ok(Some((path.to_string(), model::content_text(&content)?))),
                Err(ApiError::NotFound(_)) => continue,
                Err(ApiError::Failed(e)) => return Err(e),
            }
        }
        Ok(None)
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, SourceError> {
    crate::runtime::current_thread()
        .map_err(|e| SourceError::new(SOURCE, format!("cannot start the async runtime: {e}")))
}

/// The API client of `request` and its repository's `/repos/{owner}/{name}`.
fn client(request: &GithubRequest) -> Result<(Api, String), SourceError> {
    let api = Api::new(
        &request.api_url,
        request.token.as_ref().map(Token::expose),
        request.limits,
    )?;
    Ok((api, repo_path(&request.repo)?))
}

/// `/repos/{owner}/{name}` for an `owner/name` slug.
fn repo_path(slug: &str) -> Result<String, SourceError> {
    let (owner, name) = slug.split_once('/').ok_or_else(|| {
        SourceError::new(
            SOURCE,
            format!(
                "repository `{}` is not `owner/name`",
                crate::sanitize::terminal_line(slug)
            ),
        )
    })?;
    Ok(format!(
        "/repos/{}/{}",
        path_segment("owner", owner)?,
        path_segment("repository", name)?
    ))
}

/// Gather facts for `request`.
pub fn gather(request: &GithubRequest) -> Result<Gathered, SourceError> {
    let runtime = runtime()?;
    runtime.block_on(gather_async(request))
}

/// A name that can go into a URL path as it is.
fn path_segment<'a>(what: &str, value: &'a str) -> Result<&'a str, SourceError> {
    let ok = !value.is_empty()
        && value != "."
        && value != ".."
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(value)
    } else {
        Err(SourceError::new(
            SOURCE,
            format!(
                "{what} `{}` is not a valid GitHub name",
                crate::sanitize::terminal_line(value)
            ),
        ))
    }
}

fn sha<'a>(what: &str, value: &'a str) -> Result<&'a str, SourceError> {
    if value.len() >= 7 && value.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(value)
    } else {
        Err(SourceError::new(
            SOURCE,
            format!(
                "{what} `{}` is not a commit id",
                crate::sanitize::terminal_line(value)
            ),
        ))
    }
}

async fn gather_async(request: &GithubRequest) -> Result<Gathered, SourceError> {
    let (api, repo) = client(request)?;
    let gathered_at = Utc::now();
    let mut notices = Vec::new();
    let mut unavailable = vec!["tags".to_string()];
    if request.token.is_none() {
        notices.push("no GitHub token was given: reading the API anonymously (60 requests per hour, public repositories only)".to_string());
    }

    let mut facts = Facts {
        schema: FACTS_SCHEMA.to_string(),
        gathered_at,
        source: "github".to_string(),
        repository: Repository {
            host: request.host.clone(),
            slug: request.repo.clone(),
            default_branch: None,
        },
        event: Event {
            kind: request.event,
            actor: request.actor.clone(),
        },
        git_ref: GitRef {
            name: request.git_ref.clone(),
            sha: request.head_sha.clone(),
        },
        change: None,
        commits: Vec::new(),
        tags: Vec::new(),
        teams: BTreeMap::new(),
        codeowners: None,
        checks: Vec::new(),
        deployment: None,
        pipeline: request.pipeline.clone(),
        files: Vec::new(),
        unavailable: Vec::new(),
    };

    let approvals = async {
        match (&request.environment, request.run_id) {
            (Some(env), Some(run)) => approvals(&api, &repo, run, env, gathered_at)
                .await
                .map(Some),
            _ => Ok(None),
        }
    };

    if let Some(number) = request.pull_number {
        let pr: model::PullRequest = api.json(&format!("{repo}/pulls/{number}")).await?;
        // Lists GitHub cannot return whole fail before any is read.
        expect_count("commit", pr.commits, pr.commits.unwrap_or(0), 250)?;
        expect_count(
            "changed file",
            pr.changed_files,
            pr.changed_files.unwrap_or(0),
            3000,
        )?;
        let head = sha("the pull request's head", &pr.head.sha)?.to_string();
        // Gate the commit this run is about: reviews and checks of a newer
        // head must not decide for an older one (its own run decides for it).
        if !head.eq_ignore_ascii_case(&request.head_sha) {
            return Err(SourceError::new(
                SOURCE,
                format!(
                    "pull request #{number} moved on since this run started: its head is now {}, not {}",
                    crate::facts::short_sha(&head),
                    crate::facts::short_sha(&request.head_sha)
                ),
            )
            .hint("the run for the new head decides; re-run this job to gate the current head"));
        }
        let base = sha("the pull request's base", &pr.base.sha)?.to_string();
        let pull = format!("{repo}/pulls/{number}");
        let (commits_path, files_path, reviews_path) = (
            format!("{pull}/commits"),
            format!("{pull}/files"),
            format!("{pull}/reviews"),
        );
        let (commits, files, reviews, checks, codeowners, teams, approvals) = tokio::try_join!(
            api.list::<model::ApiCommit>(&commits_path, None),
            api.list::<model::ApiFile>(&files_path, None),
            api.list::<model::ApiReview>(&reviews_path, None),
            checks(&api, &repo, &head),
            codeowners(&api, &repo, &base),
            teams(&api, &request.teams),
            approvals,
        )?;
        expect_count("commit", pr.commits, commits.len(), 250)?;
        expect_count("changed file", pr.changed_files, files.len(), 3000)?;
        let mut commits = commits
            .into_iter()
            .map(model::commit)
            .collect::<Result<Vec<Commit>, _>>()?;
        // The API lists oldest first; Facts are newest first.
        commits.reverse();
        facts.repository.default_branch =
            pr.base.repo.as_ref().and_then(|r| r.default_branch.clone());
        let head_repo = pr.head.repo.as_ref().and_then(|r| r.full_name.as_deref());
        let base_repo = pr.base.repo.as_ref().and_then(|r| r.full_name.as_deref());
        if head_repo.is_some() && head_repo != base_repo {
            notices.push(format!(
                "pull request from a fork ({}): its job has a read-only token and no secrets, so the authoritative audit record is the one written when it is merged or deployed",
                head_repo.unwrap_or_default()
            ));
        }
        facts.git_ref.sha = head.clone();
        facts.commits = commits;
        facts.checks = checks;
        facts.codeowners = codeowners;
        facts.teams = teams;
        facts.change = Some(crate::facts::Change {
            id: pr.number,
            title: pr.title,
            author: pr.user.map_or_else(|| "ghost".to_string(), |u| u.login),
            draft: pr.draft.unwrap_or(false),
            base: crate::facts::ChangeRef {
                name: pr.base.name,
                sha: base,
            },
            head: crate::facts::ChangeRef {
                name: pr.head.name,
                sha: head,
            },
            labels: pr.labels.into_iter().map(|l| l.name).collect(),
            files: files
                .into_iter()
                .map(model::file)
                .collect::<Result<_, _>>()?,
            reviews: reviews
                .into_iter()
                .filter_map(|r| model::review(r).transpose())
                .collect::<Result<_, _>>()?,
        });
        set_deployment(
            &mut facts,
            request,
            approvals,
            &mut notices,
            &mut unavailable,
        );
    } else {
        let head = sha("the head commit", &request.head_sha)?.to_string();
        let base = request
            .base_sha
            .as_deref()
            .filter(|b| !b.chars().all(|c| c == '0'))
            .map(|b| sha("the base commit", b).map(str::to_string))
            .transpose()?;
        let (range, checks, teams, approvals) = tokio::try_join!(
            range(&api, &repo, base.as_deref(), &head),
            checks(&api, &repo, &head),
            teams(&api, &request.teams),
            approvals,
        )?;
        facts.commits = range.0;
        facts.files = range.1;
        facts.checks = checks;
        facts.teams = teams;
        // CODEOWNERS is read from the base of a change; a push or deployment has none.
        unavailable.push("codeowners".to_string());
        set_deployment(
            &mut facts,
            request,
            approvals,
            &mut notices,
            &mut unavailable,
        );
    }
    facts.unavailable = unavailable;
    Ok(Gathered { facts, notices })
}

fn set_deployment(
    facts: &mut Facts,
    request: &GithubRequest,
    approvals: Option<Vec<DeploymentApproval>>,
    notices: &mut Vec<String>,
    unavailable: &mut Vec<String>,
) {
    let Some(environment) = &request.environment else {
        return;
    };
    if approvals.is_none() {
        // Without a workflow run there is nothing to read approvals from.
        unavailable.push("deployment.approvals".to_string());
    } else {
        notices.push("GitHub does not say when an environment was approved; approvals carry the time gatehouse read them".to_string());
    }
    facts.deployment = Some(Deployment {
        environment: environment.clone(),
        requested_by: request.requested_by.clone(),
        approvals: approvals.unwrap_or_default(),
        // GitHub has no deploy freeze periods (GitLab does).
        freeze_periods: Vec::new(),
    });
}

/// GitHub caps some lists (250 commits of a pull request, 3000 files): a
/// longer one cannot be read completely through this endpoint.
fn expect_count(
    what: &str,
    expected: Option<usize>,
    got: usize,
    cap: usize,
) -> Result<(), SourceError> {
    let Some(expected) = expected else {
        return Ok(());
    };
    if expected > cap {
        return Err(SourceError::new(
            SOURCE,
            format!("the pull request has {expected} {what}s; GitHub's API lists at most {cap}, so they cannot all be checked"),
        )
        .hint("split the pull request, or gate it with `--source git` on a full clone"));
    }
    if expected != got {
        return Err(SourceError::new(
            SOURCE,
            format!("the pull request reports {expected} {what}s but the API listed {got}; the list is incomplete"),
        )
        .hint("re-run the job; the gate never decides on a partial list"));
    }
    Ok(())
}

/// The commits (newest first) and files of a push or deployment: base..head
/// through the compare API when the base is known, else the head commit.
async fn range(
    api: &Api,
    repo: &str,
    base: Option<&str>,
    head: &str,
) -> Result<(Vec<Commit>, Vec<crate::facts::ChangedFile>), SourceError> {
    /// GitHub inlines at most this many files in a commit or a comparison.
    const FILE_CAP: usize = 300;
    let (commits, files) = match base {
        Some(base) => {
            #[derive(serde::Deserialize)]
            struct Files {
                #[serde(default)]
                files: Vec<model::ApiFile>,
            }
            let path = format!("{repo}/compare/{base}...{head}");
            let (commits, files) = tokio::try_join!(
                api.list::<model::ApiCommit>(&path, Some("commits")),
                async {
                    api.json::<Files>(&format!("{path}?per_page=1"))
                        .await
                        .map_err(SourceError::from)
                },
            )?;
            (commits, files.files)
        }
        None => {
            let commit: model::ApiCommit = api.json(&format!("{repo}/commits/{head}")).await?;
            let files = commit.files.unwrap_or_default();
            let commit = model::ApiCommit {
                files: None,
                ..commit
            };
            (vec![commit], files)
        }
    };
    if files.len() >= FILE_CAP {
        return Err(SourceError::new(
            SOURCE,
            format!(
                "the range changes {} or more files, more than GitHub's API lists at once",
                FILE_CAP
            ),
        )
        .hint("gate it with `--source git` on a full clone"));
    }
    let mut commits = commits
        .into_iter()
        .map(model::commit)
        .collect::<Result<Vec<_>, _>>()?;
    commits.reverse();
    let files = files
        .into_iter()
        .map(model::file)
        .collect::<Result<_, _>>()?;
    Ok((commits, files))
}

/// Check runs and commit statuses of `sha`, both as checks.
async fn checks(api: &Api, repo: &str, sha: &str) -> Result<Vec<Check>, SourceError> {
    let (runs_path, statuses_path) = (
        format!("{repo}/commits/{sha}/check-runs"),
        format!("{repo}/commits/{sha}/status"),
    );
    let (runs, statuses) = tokio::try_join!(
        api.list::<model::CheckRun>(&runs_path, Some("check_runs")),
        api.list::<model::CommitStatus>(&statuses_path, Some("statuses")),
    )?;
    let mut checks: Vec<Check> = runs.into_iter().map(model::check_run).collect();
    checks.extend(statuses.into_iter().map(|s| model::commit_status(s, sha)));
    Ok(checks)
}

/// CODEOWNERS of the base commit, from the first location GitHub would use.
async fn codeowners(api: &Api, repo: &str, base: &str) -> Result<Option<Codeowners>, SourceError> {
    for path in CODEOWNERS_PATHS {
        match api
            .json::<model::Content>(&format!("{repo}/contents/{path}?ref={base}"))
            .await
        {
            Ok(content) => {
                return Ok(Some(Codeowners {
                    path: path.to_string(),
                    content: model::content_text(&content)?,
                }));
            }
            Err(ApiError::NotFound(_)) => continue,
            Err(ApiError::Failed(e)) => return Err(e),
        }
    }
    Ok(None)
}

/// Members of each `org/team`. A team that cannot be read is an error.
async fn teams(api: &Api, slugs: &[String]) -> Result<BTreeMap<String, Vec<String>>, SourceError> {
    let mut members = BTreeMap::new();
    let mut lookups = tokio::task::JoinSet::new();
    for slug in slugs {
        let (org, team) = slug
            .split_once('/')
            .ok_or_else(|| SourceError::new(SOURCE, format!("team `{slug}` is not `org/team`")))?;
        let path = format!(
            "/orgs/{}/teams/{}/members",
            path_segment("organisation", org)?,
            path_segment("team", team)?
        );
        let api = api.clone();
        let slug = slug.clone();
        lookups.spawn(async move {
            let users = api.list::<model::User>(&path, None).await.map_err(|e| {
                let mut e = SourceError::new(
                    SOURCE,
                    format!("cannot read the members of team @{slug}: {}", e.message),
                );
                e.hint = Some("the token needs `members: read` on the organisation (GITHUB_TOKEN cannot read teams; pass a token with --github-token-env)".to_string());
                e
            })?;
            Ok::<_, SourceError>((slug, users.into_iter().map(|u| u.login).collect::<Vec<_>>()))
        });
    }
    while let Some(joined) = lookups.join_next().await {
        let (slug, logins) = joined
            .map_err(|e| SourceError::new(SOURCE, format!("a team lookup failed: {e}")))??;
        members.insert(slug, logins);
    }
    Ok(members)
}

/// The environment approvals of the workflow run for `environment`.
async fn approvals(
    api: &Api,
    repo: &str,
    run: u64,
    environment: &str,
    read_at: DateTime<Utc>,
) -> Result<Vec<DeploymentApproval>, SourceError> {
    let reviews: Vec<model::RunApproval> = api
        .json(&format!("{repo}/actions/runs/{run}/approvals"))
        .await?;
    reviews
        .into_iter()
        .filter(|a| {
            a.environments
                .iter()
                .any(|e| e.name.eq_ignore_ascii_case(environment))
        })
        .map(|a| model::approval(a, read_at))
        .collect()
}
