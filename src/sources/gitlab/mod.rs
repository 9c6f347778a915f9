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
mod policy;
mod request;

use chrono::Utc;

use self::client::Api;
pub use self::policy::{BasePolicy, policy_from_base};
use self::request::READ_API_HINT;
pub use self::request::{
    DeploymentTarget, GitlabRequest, Token, TokenKind, request_from_context, request_from_env,
};
use super::{Gathered, SourceError, SourceOptions};
use crate::facts::{self, Facts};

pub(crate) const SOURCE: &str = "gitlab";

/// Where GitLab looks for CODEOWNERS, in its order (the first one found wins).
const CODEOWNERS_PATHS: [&str; 3] = ["CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"];

/// Gather facts from the GitLab job this process runs in.
pub fn gather_from_env(options: &SourceOptions) -> Result<Gathered, SourceError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let request = request_from_env(options, &env)?;
    gather(&request)
}

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
        "only CI_JOB_TOKEN is available, and a job token cannot read merge request approvals; \
         the missing scope is `read_api` (the same token also reads deployment approvals, group members and freeze periods). \
         Treating \"cannot see approvals\" as \"no approvals needed\" would let anything through, so the gate blocks. \
         (CI_MERGE_REQUEST_APPROVED is not used either: it is a snapshot from pipeline creation.)",
    )
    .hint(READ_API_HINT))
}

fn runtime() -> Result<tokio::runtime::Runtime, SourceError> {
    crate::runtime::current_thread()
        .map_err(|e| SourceError::new(SOURCE, format!("cannot start the async runtime: {e}")))
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
        // Approvals carry no commit: had the merge request moved while it was
        // read, approvals of the new head would pass for approvals of this one.
        let again: model::MergeRequest = api
            .get(&format!("merge request !{iid}"), api.url(&mr_path, &[]))
            .await?;
        if again.sha != mr.sha {
            return Err(SourceError::new(
                SOURCE,
                format!(
                    "merge request !{iid} moved from {} to {} while it was being read",
                    facts::short_sha(&mr.sha),
                    facts::short_sha(&again.sha)
                ),
            )
            .hint("the pipeline of its new head decides; retry this job to see that result"));
        }
        let gathered = map::change(&mr, &approvals, settings.as_ref(), files)?;
        if let Some(notice) = policy_edit_notice(&gathered) {
            notices.push(notice);
        }
        change = Some(gathered);
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
            // The owners of the deployed commit itself: it is on the
            // protected ref being deployed, not a change under review.
            codeowners = read_codeowners(&api, project, &req.head_sha).await?;
        }
    }

    // Every CI job is a commit status. In merged results and merge train
    // pipelines this pipeline's jobs are on its merge commit, not on the
    // head: read both, each status keeps the commit it is on.
    let mut status_commits = vec![req.head_sha.as_str()];
    if let Some(pipeline_sha) = req.pipeline_sha.as_deref().filter(|s| *s != req.head_sha) {
        status_commits.push(pipeline_sha);
    }
    let mut checks = Vec::new();
    for sha in status_commits {
        let statuses: Vec<model::CommitStatus> = api
            .get_all(
                &format!("statuses of commit {}", facts::short_sha(sha)),
                api.url(
                    &[
                        "projects",
                        project,
                        "repository",
                        "commits",
                        sha,
                        "statuses",
                    ],
                    &[],
                ),
            )
            .await?;
        checks.extend(statuses.iter().map(map::check));
    }

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

/// A merge request that edits a policy file is gated by its base's policy
/// (see [`policy_from_base`]); say so, so nobody wonders why the edit had no
/// effect.
fn policy_edit_notice(change: &facts::Change) -> Option<String> {
    let edited: Vec<&str> = crate::policy::DISCOVERY_ORDER
        .iter()
        .copied()
        .filter(|p| {
            change
                .files
                .iter()
                .any(|f| f.path == *p || f.previous_path.as_deref() == Some(*p))
        })
        .collect();
    if edited.is_empty() {
        return None;
    }
    Some(format!(
        "merge request !{} edits {}; the gate uses the policy of its base commit {}",
        change.id,
        edited.join(", "),
        facts::short_sha(&change.base.sha)
    ))
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

/// CODEOWNERS at `reference` (a merge request's target branch, or the
/// deployed commit), from the first of GitLab's locations.
async fn read_codeowners(
    api: &Api,
    project: &str,
    reference: &str,
) -> Result<Option<facts::Codeowners>, SourceError> {
    for path in CODEOWNERS_PATHS {
        let file: Option<model::RepositoryFile> = api
            .get_optional(
                &format!("{path} at {reference}"),
                api.url(
                    &["projects", project, "repository", "files", path],
                    &[("ref", reference)],
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
