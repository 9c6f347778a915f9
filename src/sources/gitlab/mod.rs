//! The `gitlab` source: a merge request pipeline or a deploy job, read from
//! the GitLab REST API (v4).
//!
//! The entry point is an explicit [`GitlabRequest`] (API URL, token, project,
//! merge request and/or deployment, head commit), so the source is testable
//! without environment variables; [`request_from_env`] builds one from the CI
//! variables of a GitLab job. What is read and how it maps onto Facts is
//! documented in the README ("GitLab → Facts mapping").
//!
//! Fail closed: every list is read to its last page, and anything that cannot
//! be read completely is a [`SourceError`] (exit 3). `CI_JOB_TOKEN` cannot
//! read approvals, so a job token alone is refused before any request, and
//! `CI_MERGE_REQUEST_APPROVED` (a snapshot from pipeline creation) is never read.

mod client;
mod map;
mod model;

use std::fmt;
use std::time::Duration;

use chrono::Utc;

use self::client::Api;
use super::env::{self as ci_env, CiContext, Provider};
use super::{Gathered, SourceError, SourceOptions};
use crate::env_vars::{gatehouse as gh_env, gitlab as ci};
use crate::facts::{self, Facts};

pub(crate) const SOURCE: &str = "gitlab";

/// How long one API request may take unless `GATEHOUSE_GITLAB_TIMEOUT` says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where GitLab looks for CODEOWNERS, in its order (the first one found wins).
const CODEOWNERS_PATHS: [&str; 3] = ["CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"];

/// What kind of credential the token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// A personal, project or group access token, sent as `PRIVATE-TOKEN`;
    /// `variable` is the environment variable it came from.
    Api { variable: String },
    /// `CI_JOB_TOKEN`: it cannot read approvals, members or freeze periods.
    Job,
}

/// A GitLab credential. Its secret never appears in `Debug` output or messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    pub secret: String,
    pub kind: TokenKind,
}

impl Token {
    /// The variable the token came from, for messages.
    pub fn origin(&self) -> &str {
        match &self.kind {
            TokenKind::Api { variable } => variable,
            TokenKind::Job => ci::CI_JOB_TOKEN,
        }
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("kind", &self.kind)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The deployment a deploy job gates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentTarget {
    pub environment: String,
    /// The deployment's id, when known. Otherwise it is found among the
    /// environment's deployments by `job_id`, then by `pipeline_id`.
    pub deployment_id: Option<u64>,
    pub pipeline_id: Option<u64>,
    pub job_id: Option<u64>,
}

/// Everything the source needs to gather facts.
#[derive(Debug, Clone)]
pub struct GitlabRequest {
    /// The REST API root, for example `https://gitlab.example.com/api/v4`.
    pub api_url: String,
    pub token: Token,
    /// The project's path (`group/project`) or numeric id.
    pub project: String,
    /// The GitLab host, for `repository.host`.
    pub host: String,
    pub default_branch: Option<String>,
    /// The merge request's iid (the number in its URL).
    pub merge_request: Option<u64>,
    pub deployment: Option<DeploymentTarget>,
    /// The full ref being gated (`refs/heads/main`, `refs/tags/v1.0`); for a
    /// merge request the source branch is used when this is absent.
    pub git_ref: Option<String>,
    /// The event kind, when the caller knows better than the source (a merge
    /// train is a `merge_group`); otherwise `pull_request` for a merge request
    /// and `deployment` for a deployment outside one.
    pub event: Option<facts::EventKind>,
    /// The commit being gated: the merge request's head, or the deployed commit.
    pub head_sha: String,
    pub actor: Option<String>,
    pub pipeline: Option<facts::Pipeline>,
    /// Group paths (`acme/sre`) whose members go into `facts.teams`.
    pub teams: Vec<String>,
    pub timeout: Duration,
}

/// Gather facts from the GitLab job this process runs in.
pub fn gather_from_env(options: &SourceOptions) -> Result<Gathered, SourceError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let request = request_from_env(options, &env)?;
    gather(&request)
}

/// Build a request from the GitLab CI context (detected from `env`, or the
/// one the caller gives in `options.ci`), the command line, and the few
/// variables only this source needs (API URL, job id, token, timeout).
/// Never reads `CI_MERGE_REQUEST_APPROVED`.
pub fn request_from_env(
    options: &SourceOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<GitlabRequest, SourceError> {
    let ctx = match &options.ci {
        Some(ctx) => ctx.clone(),
        None => ci_env::detect(env)?.ok_or_else(|| {
            SourceError::new(SOURCE, format!("not in a GitLab CI job ({} is not `true`)", ci::GITLAB_CI))
                .hint("run `gatehouse check --source gitlab` as a step of a GitLab CI job; elsewhere use `--source git` or `--facts FILE`")
        })?,
    };
    if ctx.provider != Provider::GitlabCi {
        return Err(SourceError::new(
            SOURCE,
            format!(
                "`--source gitlab` reads a GitLab CI job, but this run is {}",
                ctx.provider.as_str()
            ),
        ));
    }
    request_from_context(&ctx, options, env)
}

/// [`request_from_env`] once the context is known.
pub fn request_from_context(
    ctx: &CiContext,
    options: &SourceOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<GitlabRequest, SourceError> {
    let env = |name: &str| env(name).filter(|v| !v.is_empty());
    let token = token_from_env(options.gitlab_token_env.as_deref(), &env)?;
    let api_url = env(ci::CI_API_V4_URL).ok_or_else(|| {
        SourceError::new(SOURCE, format!("{} is not set", ci::CI_API_V4_URL))
            .hint("GitLab sets it in every job; outside a job, set it to https://<host>/api/v4")
    })?;
    let repository = ctx.repository.clone();
    let project = repository
        .as_ref()
        .map(|r| r.slug.clone())
        .or_else(|| env(ci::CI_PROJECT_ID))
        .ok_or_else(|| {
            SourceError::new(
                SOURCE,
                format!(
                    "neither {} nor {} is set",
                    ci::CI_PROJECT_PATH,
                    ci::CI_PROJECT_ID
                ),
            )
        })?;
    let host = repository
        .as_ref()
        .map(|r| r.host.clone())
        .unwrap_or_else(|| {
            reqwest::Url::parse(&api_url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| "gitlab".to_string())
        });
    let merge_request = ctx.change.as_ref().map(|c| c.id);
    let environment = options
        .environment
        .clone()
        .or_else(|| ctx.environment.clone());
    if merge_request.is_none() && environment.is_none() {
        return Err(SourceError::new(
            SOURCE,
            "this job is neither in a merge request pipeline (CI_MERGE_REQUEST_IID) nor a deploy job (CI_ENVIRONMENT_NAME or --environment)",
        )
        .hint("the GitLab source gates merge requests and deployments; gate a plain push with `--source git`"));
    }
    // The context already picks the merge request's own head in merged
    // results and merge train pipelines (not the temporary merge commit).
    let head_sha = options
        .head
        .clone()
        .or_else(|| ctx.head_sha.clone())
        .ok_or_else(|| SourceError::new(SOURCE, "this pipeline names no commit to gate"))?;
    let pipeline_id = ctx
        .pipeline
        .as_ref()
        .map(|p| parse_id(ci::CI_PIPELINE_ID, &p.id))
        .transpose()?;
    let job_id = env(ci::CI_JOB_ID)
        .map(|v| parse_id(ci::CI_JOB_ID, &v))
        .transpose()?;
    let timeout = match env(gh_env::GATEHOUSE_GITLAB_TIMEOUT) {
        None => DEFAULT_TIMEOUT,
        Some(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| {
                SourceError::new(
                    SOURCE,
                    format!(
                        "{} must be a positive number of seconds, not `{v}`",
                        gh_env::GATEHOUSE_GITLAB_TIMEOUT
                    ),
                )
            })?,
    };
    Ok(GitlabRequest {
        api_url,
        token,
        project,
        host,
        default_branch: repository.and_then(|r| r.default_branch),
        merge_request,
        deployment: environment.map(|environment| DeploymentTarget {
            environment,
            deployment_id: None,
            pipeline_id,
            job_id,
        }),
        git_ref: Some(ctx.gated_ref.clone()).filter(|r| !r.is_empty()),
        // A merge train is gated as a merge group; otherwise the source
        // decides from what it gathers.
        event: (ctx.event == facts::EventKind::MergeGroup).then_some(ctx.event),
        head_sha,
        actor: ctx.actor.clone(),
        pipeline: ctx.pipeline.clone(),
        teams: options.teams.clone(),
        timeout,
    })
}

fn parse_id(name: &str, value: &str) -> Result<u64, SourceError> {
    value
        .trim()
        .parse()
        .map_err(|_| SourceError::new(SOURCE, format!("{name} is `{value}`, not a number")))
}

/// The token: the variable named by `--gitlab-token-env`, else
/// `GATEHOUSE_GITLAB_TOKEN`, else `CI_JOB_TOKEN` (which [`gather`] refuses).
fn token_from_env(
    named: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Token, SourceError> {
    if let Some(name) = named {
        return env(name)
            .map(|secret| Token {
                secret,
                kind: TokenKind::Api {
                    variable: name.to_string(),
                },
            })
            .ok_or_else(|| {
                SourceError::new(SOURCE, format!("--gitlab-token-env names {name}, which is not set or empty"))
                    .hint(format!("define {name} as a masked CI/CD variable holding a token with the `read_api` scope"))
            });
    }
    if let Some(secret) = env(gh_env::GATEHOUSE_GITLAB_TOKEN) {
        return Ok(Token {
            secret,
            kind: TokenKind::Api {
                variable: gh_env::GATEHOUSE_GITLAB_TOKEN.to_string(),
            },
        });
    }
    if let Some(secret) = env(ci::CI_JOB_TOKEN) {
        return Ok(Token {
            secret,
            kind: TokenKind::Job,
        });
    }
    Err(SourceError::new(
        SOURCE,
        format!(
            "no GitLab token: neither {} nor {} is set",
            gh_env::GATEHOUSE_GITLAB_TOKEN,
            ci::CI_JOB_TOKEN
        ),
    )
    .hint(READ_API_HINT))
}

const READ_API_HINT: &str = "create a project access token with the `read_api` scope (role Reporter or higher), store it as a masked CI/CD variable named GATEHOUSE_GITLAB_TOKEN, or name your variable with --gitlab-token-env";

/// Gather the facts `request` describes.
pub fn gather(request: &GitlabRequest) -> Result<Gathered, SourceError> {
    refuse_job_token(request)?;
    if request.merge_request.is_none() && request.deployment.is_none() {
        return Err(SourceError::new(
            SOURCE,
            "nothing to gate: neither a merge request nor a deployment was given",
        ));
    }
    runtime()?.block_on(gather_async(request))
}

fn refuse_job_token(request: &GitlabRequest) -> Result<(), SourceError> {
    if request.token.kind != TokenKind::Job {
        return Ok(());
    }
    Err(SourceError::new(
        SOURCE,
        "only CI_JOB_TOKEN is available, and a job token cannot read merge request approvals \
         (nor deployment approvals, group members or freeze periods); the missing scope is `read_api`. \
         Treating \"cannot see approvals\" as \"no approvals needed\" would let anything through, so the gate blocks. \
         (CI_MERGE_REQUEST_APPROVED is not used either: it is a snapshot from pipeline creation.)",
    )
    .hint(READ_API_HINT))
}

fn runtime() -> Result<tokio::runtime::Runtime, SourceError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SourceError::new(SOURCE, format!("cannot start the async runtime: {e}")))
}

/// The policy as it is in a merge request's base commit (the same shape as
/// the git source's).
#[derive(Debug, Clone, PartialEq)]
pub struct BasePolicy {
    /// The merge request's diff base commit.
    pub commit: String,
    /// The repository path and text of the policy file; `None` when the base
    /// has none in any discovery location.
    pub file: Option<(String, String)>,
}

/// In a merge request pipeline, the policy from the merge request's base
/// commit, read through the API (DESIGN.md principle 3: a change that edits
/// the policy is evaluated under the old one; the checkout is the change).
///
/// `Ok(None)` when the run gates no merge request (a deploy job runs on the
/// protected commit it deploys, so its checkout is the policy to use).
/// `explicit` is `--policy`: its repository path is read at the
/// base; an absolute path outside the checkout (`CI_PROJECT_DIR`) is no part
/// of the change and gives `Ok(None)` so it is read from disk.
pub fn policy_from_base(
    explicit: Option<&std::path::Path>,
    options: &SourceOptions,
) -> Result<Option<BasePolicy>, SourceError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let request = request_from_env(options, &env)?;
    let Some(iid) = request.merge_request else {
        return Ok(None);
    };
    let candidates: Vec<String> = match explicit {
        None => crate::policy::DISCOVERY_ORDER
            .iter()
            .map(|p| p.to_string())
            .collect(),
        Some(path) => match repository_path(path, env(ci::CI_PROJECT_DIR).as_deref())? {
            Some(p) => vec![p],
            None => return Ok(None),
        },
    };
    refuse_job_token(&request)?;
    runtime()?.block_on(async {
        let api = Api::new(&request.api_url, &request.token, request.timeout)?;
        let iid_text = iid.to_string();
        let mr: model::MergeRequest = api
            .get(
                &format!("merge request !{iid}"),
                api.url(&["projects", &request.project, "merge_requests", &iid_text], &[]),
            )
            .await?;
        let base = mr
            .diff_refs
            .map(|d| d.base_sha)
            .ok_or_else(|| {
                SourceError::new(SOURCE, format!("merge request !{iid} has no diff refs yet (GitLab is still preparing it)"))
                    .hint("retry the job in a moment")
            })?;
        for path in &candidates {
            let file: Option<model::RepositoryFile> = api
                .get_optional(
                    &format!("policy {path} at the base commit {}", facts::short_sha(&base)),
                    api.url(
                        &["projects", &request.project, "repository", "files", path],
                        &[("ref", &base)],
                    ),
                )
                .await?;
            if let Some(file) = file {
                let text = map::codeowners(path, &file)?.content;
                return Ok(Some(BasePolicy {
                    commit: base,
                    file: Some((path.clone(), text)),
                }));
            }
        }
        match explicit {
            // A policy named on the command line must exist at the base.
            Some(_) => Err(SourceError::new(
                SOURCE,
                format!(
                    "the policy {} does not exist in the merge request's base commit {}",
                    candidates[0],
                    facts::short_sha(&base)
                ),
            )
            .hint("a merge request is gated by the policy of its target branch; add the policy there first")),
            None => Ok(Some(BasePolicy {
                commit: base,
                file: None,
            })),
        }
    })
}

/// `path` as a path inside the repository, or `None` when it is an absolute
/// path outside the checkout. `..` is refused: it could leave the repository.
fn repository_path(
    path: &std::path::Path,
    project_dir: Option<&str>,
) -> Result<Option<String>, SourceError> {
    let relative = if path.is_absolute() {
        match project_dir.and_then(|dir| path.strip_prefix(dir).ok()) {
            Some(rel) => rel.to_path_buf(),
            None => return Ok(None),
        }
    } else {
        path.to_path_buf()
    };
    let mut parts = Vec::new();
    for component in relative.components() {
        match component {
            std::path::Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            std::path::Component::CurDir => {}
            _ => {
                return Err(SourceError::new(
                    SOURCE,
                    format!("--policy {} leaves the repository", path.display()),
                ));
            }
        }
    }
    if parts.is_empty() {
        return Err(SourceError::new(
            SOURCE,
            format!("--policy {} names no file", path.display()),
        ));
    }
    Ok(Some(parts.join("/")))
}

async fn gather_async(req: &GitlabRequest) -> Result<Gathered, SourceError> {
    let api = Api::new(&req.api_url, &req.token, req.timeout)?;
    let project = req.project.as_str();
    let mut notices = Vec::new();

    let mut change = None;
    let mut commits = Vec::new();
    let mut codeowners = None;
    let mut git_ref = req.git_ref.clone();
    if let Some(iid) = req.merge_request {
        let iid_text = iid.to_string();
        let mr_path = ["projects", project, "merge_requests", &iid_text];
        let mr: model::MergeRequest = api
            .get(&format!("merge request !{iid}"), api.url(&mr_path, &[]))
            .await?;
        if mr.sha != req.head_sha {
            return Err(SourceError::new(
                SOURCE,
                format!(
                    "merge request !{iid} is now at {} but this pipeline gates {}",
                    facts::short_sha(&mr.sha),
                    facts::short_sha(&req.head_sha)
                ),
            )
            .hint("the merge request moved on after this pipeline started; the pipeline of its new head decides"));
        }
        let approvals: model::MergeRequestApprovals = api
            .get(
                &format!("approvals of merge request !{iid}"),
                api.url(&[&mr_path[..], &["approvals"]].concat(), &[]),
            )
            .await?;
        // Unreadable settings (404, or 403 for a Reporter token) only mean
        // approvals are recorded without a commit: the stricter reading.
        let settings: Option<model::ProjectApprovalSettings> = api
            .get_setting(
                "the project's approval settings",
                api.url(&["projects", project, "approvals"], &[]),
            )
            .await?;
        if !settings.as_ref().is_some_and(|s| s.reset_approvals_on_push) {
            notices.push(format!(
                "GitLab keeps approvals of merge request !{iid} when new commits are pushed (\"reset approvals on push\" is off or unreadable), so its approvals are recorded without a commit"
            ));
        }
        let listed: Vec<model::Commit> = api
            .get_all(
                &format!("commits of merge request !{iid}"),
                api.url(&[&mr_path[..], &["commits"]].concat(), &[]),
            )
            .await?;
        let ids: Vec<String> = listed.into_iter().map(|c| c.id).collect();
        commits = read_commits(&api, project, ids).await?;
        let diffs: Vec<model::Diff> = api
            .get_all(
                &format!("diffs of merge request !{iid}"),
                api.url(&[&mr_path[..], &["diffs"]].concat(), &[]),
            )
            .await?;
        let files = diffs
            .iter()
            .map(map::changed_file)
            .collect::<Result<_, _>>()?;
        codeowners = read_codeowners(&api, project, &mr.target_branch).await?;
        if git_ref.is_none() {
            git_ref = Some(format!("refs/heads/{}", mr.source_branch));
        }
        change = Some(map::change(&mr, &approvals, settings.as_ref(), files)?);
    }

    let mut deployment = None;
    if let Some(target) = &req.deployment {
        deployment = Some(read_deployment(&api, project, target, &req.head_sha).await?);
        if req.merge_request.is_none() {
            let commit: model::Commit = api
                .get(
                    &format!("commit {}", facts::short_sha(&req.head_sha)),
                    api.url(
                        &["projects", project, "repository", "commits", &req.head_sha],
                        &[],
                    ),
                )
                .await?;
            commits.push(map::commit(&req.head_sha, &commit)?);
        }
    }

    let statuses: Vec<model::CommitStatus> = api
        .get_all(
            &format!("statuses of commit {}", facts::short_sha(&req.head_sha)),
            api.url(
                &[
                    "projects",
                    project,
                    "repository",
                    "commits",
                    &req.head_sha,
                    "statuses",
                ],
                &[],
            ),
        )
        .await?;
    let checks = statuses.iter().map(map::check).collect();

    let mut teams = std::collections::BTreeMap::new();
    for slug in &req.teams {
        let members = read_members(&api, slug).await?;
        teams.insert(slug.clone(), map::active_usernames(&members));
    }

    let git_ref = git_ref.ok_or_else(|| {
        SourceError::new(SOURCE, "cannot tell which ref is deployed: none of CI_COMMIT_TAG, CI_COMMIT_BRANCH, CI_COMMIT_REF_NAME is set")
    })?;
    // As in the CI context: a deploy job in a merge request pipeline (a
    // review app) is still about the merge request.
    let kind = req.event.unwrap_or(if change.is_some() {
        facts::EventKind::PullRequest
    } else {
        facts::EventKind::Deployment
    });
    let facts = Facts {
        schema: facts::FACTS_SCHEMA.to_string(),
        gathered_at: Utc::now(),
        source: SOURCE.to_string(),
        repository: facts::Repository {
            host: req.host.clone(),
            slug: req.project.clone(),
            default_branch: req.default_branch.clone(),
        },
        event: facts::Event {
            kind,
            actor: req.actor.clone(),
        },
        git_ref: facts::GitRef {
            name: git_ref,
            sha: req.head_sha.clone(),
        },
        change,
        commits,
        tags: Vec::new(),
        teams,
        codeowners,
        checks,
        deployment,
        pipeline: req.pipeline.clone(),
        files: Vec::new(),
        // GitLab's API tells whether a commit's signature verified, never
        // the signature and signed payload gatehouse checks itself; and it
        // does not list the annotated tags pointing at a commit.
        unavailable: vec!["commits.signature".to_string(), "tags".to_string()],
    };
    Ok(Gathered { facts, notices })
}

/// The members of the group `slug` (inherited ones included), or of the
/// project at that path when no group has it: a policy's `@acme/api` may
/// name either. Neither readable is an error, never an empty team.
async fn read_members(api: &Api, slug: &str) -> Result<Vec<model::Member>, SourceError> {
    let group: Option<Vec<model::Member>> = api
        .get_all_optional(
            &format!("members of group {slug}"),
            api.url(&["groups", slug, "members", "all"], &[]),
        )
        .await?;
    if let Some(members) = group {
        return Ok(members);
    }
    let project: Option<Vec<model::Member>> = api
        .get_all_optional(
            &format!("members of project {slug}"),
            api.url(&["projects", slug, "members", "all"], &[]),
        )
        .await?;
    project.ok_or_else(|| {
        SourceError::new(
            SOURCE,
            format!("members of group {slug}: no group or project `{slug}` is visible to the token (HTTP 404)"),
        )
        .hint("check the team name in the policy (`@group/subgroup`), and give the token's user at least the Reporter role there")
    })
}

/// How many single-commit requests run at once.
const COMMIT_REQUESTS_IN_FLIGHT: usize = 8;

/// The full commits (with parents) for `ids`, in the order given. The merge
/// request's commit list carries no parents; the single-commit endpoint
/// does, one request per commit, so a few run at once.
async fn read_commits(
    api: &Api,
    project: &str,
    ids: Vec<String>,
) -> Result<Vec<facts::Commit>, SourceError> {
    let mut slots: Vec<Option<facts::Commit>> = vec![None; ids.len()];
    let mut running = tokio::task::JoinSet::new();
    let mut pending = ids.into_iter().enumerate();
    loop {
        while running.len() < COMMIT_REQUESTS_IN_FLIGHT {
            let Some((index, id)) = pending.next() else {
                break;
            };
            let api = api.clone();
            let url = api.url(&["projects", project, "repository", "commits", &id], &[]);
            running.spawn(async move {
                let what = format!("commit {}", facts::short_sha(&id));
                let full: model::Commit = api.get(&what, url).await?;
                map::commit(&id, &full).map(|c| (index, c))
            });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let (index, commit) = done.map_err(|e| {
            SourceError::new(SOURCE, format!("reading a commit failed unexpectedly: {e}"))
        })??;
        slots[index] = Some(commit);
    }
    slots
        .into_iter()
        .map(|c| c.ok_or_else(|| SourceError::new(SOURCE, "a commit was not read")))
        .collect()
}

/// CODEOWNERS of the target branch, from the first of GitLab's locations.
async fn read_codeowners(
    api: &Api,
    project: &str,
    branch: &str,
) -> Result<Option<facts::Codeowners>, SourceError> {
    for path in CODEOWNERS_PATHS {
        let file: Option<model::RepositoryFile> = api
            .get_optional(
                &format!("{path} on {branch}"),
                api.url(
                    &["projects", project, "repository", "files", path],
                    &[("ref", branch)],
                ),
            )
            .await?;
        if let Some(file) = file {
            return map::codeowners(path, &file).map(Some);
        }
    }
    Ok(None)
}

async fn read_deployment(
    api: &Api,
    project: &str,
    target: &DeploymentTarget,
    head_sha: &str,
) -> Result<facts::Deployment, SourceError> {
    let env = target.environment.as_str();
    let id = match target.deployment_id {
        Some(id) => id,
        None => {
            let list: Vec<model::Deployment> = api
                .get_all(
                    &format!("deployments to {env}"),
                    api.url(
                        &["projects", project, "deployments"],
                        &[("environment", env), ("order_by", "id"), ("sort", "desc")],
                    ),
                )
                .await?;
            map::find_deployment(&list, target)?
        }
    };
    let deployment: model::Deployment = api
        .get(
            &format!("deployment {id}"),
            api.url(&["projects", project, "deployments", &id.to_string()], &[]),
        )
        .await?;
    let protection: Option<model::ProtectedEnvironment> = api
        .get_optional(
            &format!("protection of environment {env}"),
            api.url(&["projects", project, "protected_environments", env], &[]),
        )
        .await?;
    let freeze: Vec<model::FreezePeriod> = api
        .get_all(
            "deploy freeze periods",
            api.url(&["projects", project, "freeze_periods"], &[]),
        )
        .await?;
    map::deployment(&deployment, protection.as_ref(), &freeze, env, head_sha)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    const MR: &[(&str, &str)] = &[
        ("GITLAB_CI", "true"),
        ("CI_PIPELINE_SOURCE", "merge_request_event"),
        ("CI_API_V4_URL", "https://gitlab.example.com/api/v4"),
        ("CI_SERVER_HOST", "gitlab.example.com"),
        ("CI_PROJECT_PATH", "acme/api"),
        ("CI_MERGE_REQUEST_IID", "7"),
        ("CI_MERGE_REQUEST_DIFF_BASE_SHA", "0000base"),
        ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main"),
        ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature"),
        ("CI_MERGE_REQUEST_TITLE", "A change"),
        ("CI_MERGE_REQUEST_APPROVED", "true"),
        ("CI_COMMIT_SHA", "aaaa"),
        ("GATEHOUSE_GITLAB_TOKEN", "secret"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut all: Vec<_> = MR.to_vec();
        all.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        all.extend_from_slice(extra);
        all
    }

    #[test]
    fn a_merge_request_pipeline_becomes_a_request() {
        let r = request_from_env(&SourceOptions::default(), &env_of(MR)).unwrap();
        assert_eq!(r.merge_request, Some(7));
        assert_eq!(r.head_sha, "aaaa");
        assert_eq!(r.git_ref.as_deref(), Some("refs/merge-requests/7/head"));
        assert_eq!(r.event, None);
        assert_eq!(r.host, "gitlab.example.com");
        assert!(r.deployment.is_none());
        assert_eq!(r.timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn merged_results_pipelines_gate_the_merge_request_head() {
        let env = with(&[
            ("CI_MERGE_REQUEST_EVENT_TYPE", "merged_result"),
            ("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", "bbbb"),
        ]);
        let r = request_from_env(&SourceOptions::default(), &env_of(&env)).unwrap();
        assert_eq!(r.head_sha, "bbbb");
        let env = with(&[
            ("CI_MERGE_REQUEST_EVENT_TYPE", "merge_train"),
            ("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", "bbbb"),
        ]);
        let r = request_from_env(&SourceOptions::default(), &env_of(&env)).unwrap();
        assert_eq!(r.event, Some(facts::EventKind::MergeGroup));
    }

    #[test]
    fn token_precedence_named_then_gatehouse_then_job() {
        let env = with(&[("MINE", "m"), ("CI_JOB_TOKEN", "j")]);
        let options = SourceOptions {
            gitlab_token_env: Some("MINE".into()),
            ..SourceOptions::default()
        };
        let r = request_from_env(&options, &env_of(&env)).unwrap();
        assert_eq!(r.token.secret, "m");
        let r = request_from_env(&SourceOptions::default(), &env_of(&env)).unwrap();
        assert_eq!(r.token.secret, "secret");
        let job_only: Vec<_> = env
            .into_iter()
            .filter(|(k, _)| *k != "GATEHOUSE_GITLAB_TOKEN")
            .collect();
        let r = request_from_env(&SourceOptions::default(), &env_of(&job_only)).unwrap();
        assert_eq!(r.token.kind, TokenKind::Job);
        let e = gather(&r).unwrap_err();
        assert!(e.message.contains("`read_api`"), "{e}");
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let r = request_from_env(&SourceOptions::default(), &env_of(MR)).unwrap();
        assert!(!format!("{r:?}").contains("secret\""));
        assert!(format!("{:?}", r.token).contains("<redacted>"));
    }

    #[test]
    fn a_deploy_job_becomes_a_deployment_target() {
        let env = vec![
            ("GITLAB_CI", "true"),
            ("CI_PIPELINE_SOURCE", "push"),
            ("CI_API_V4_URL", "https://gitlab.example.com/api/v4"),
            ("CI_PROJECT_ID", "15"),
            ("CI_COMMIT_SHA", "cccc"),
            ("CI_COMMIT_TAG", "v1.2.0"),
            ("CI_ENVIRONMENT_NAME", "production"),
            ("CI_PIPELINE_ID", "37"),
            ("CI_JOB_ID", "664"),
            ("GATEHOUSE_GITLAB_TOKEN", "secret"),
            ("GATEHOUSE_GITLAB_TIMEOUT", "2.5"),
        ];
        let r = request_from_env(&SourceOptions::default(), &env_of(&env)).unwrap();
        assert_eq!(r.project, "15");
        assert_eq!(r.git_ref.as_deref(), Some("refs/tags/v1.2.0"));
        let d = r.deployment.unwrap();
        assert_eq!((d.job_id, d.pipeline_id), (Some(664), Some(37)));
        assert_eq!(r.timeout, Duration::from_millis(2500));
    }

    #[test]
    fn only_a_gitlab_job_is_read() {
        let e = request_from_env(&SourceOptions::default(), &env_of(&[])).unwrap_err();
        assert!(e.message.contains("not in a GitLab CI job"), "{e}");
        let mut ctx = ci_env::detect(&env_of(MR)).unwrap().unwrap();
        ctx.provider = Provider::GithubActions;
        let options = SourceOptions {
            ci: Some(ctx),
            ..SourceOptions::default()
        };
        let e = request_from_env(&options, &env_of(MR)).unwrap_err();
        assert!(e.message.contains("reads a GitLab CI job"), "{e}");
    }

    #[test]
    fn policy_paths_are_repository_paths() {
        use std::path::Path;
        let rel = |p: &str, dir: Option<&str>| repository_path(Path::new(p), dir);
        assert_eq!(
            rel("./ci/gate.toml", None).unwrap().as_deref(),
            Some("ci/gate.toml")
        );
        assert_eq!(
            rel("/builds/acme/api/.gatehouse.toml", Some("/builds/acme/api"))
                .unwrap()
                .as_deref(),
            Some(".gatehouse.toml")
        );
        // Outside the checkout: not part of the change, read from disk.
        assert_eq!(
            rel("/etc/gatehouse.toml", Some("/builds/acme/api")).unwrap(),
            None
        );
        assert!(rel("../other/policy.toml", None).is_err());
    }

    #[test]
    fn bad_numbers_are_named() {
        let env = with(&[("CI_MERGE_REQUEST_IID", "seven")]);
        let e = request_from_env(&SourceOptions::default(), &env_of(&env)).unwrap_err();
        assert!(e.message.contains("CI_MERGE_REQUEST_IID"), "{e}");
        let env = with(&[("GATEHOUSE_GITLAB_TIMEOUT", "-1")]);
        assert!(request_from_env(&SourceOptions::default(), &env_of(&env)).is_err());
    }
}
