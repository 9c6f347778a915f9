//! The CI context: which CI system runs gatehouse, for which event, on which
//! ref and range, from its predefined variables and (GitHub) its event payload.
//!
//! [`detect`] is a function of an explicit variable lookup, never of the
//! process environment directly, so tests pass a map and nothing mutates the
//! environment. Every variable name is a constant in [`crate::env_vars`].
//!
//! The result, [`CiContext`], is what every source builds on: the git source
//! overlays it on the local repository's facts (`--source auto` in a CI job
//! with a checkout), and the GitHub and GitLab API sources start from it to
//! know which pull/merge request, deployment or push they are asked about.
//!
//! Fail closed: a CI job whose variables contradict each other, or whose
//! payload is missing, unreadable or malformed, is a [`SourceError`] naming the
//! variable, the file and the JSON path, never a context with holes in it.

use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::SourceError;
use crate::env_vars::{github as gh, gitlab as gl};
use crate::facts::{Change, ChangeRef, Deployment, EventKind, Facts, Pipeline, Repository};

const SOURCE: &str = "ci environment";

/// The all-zero object id git and both CI systems use for "no commit" (the
/// `before` of a new branch, the `after` of a deletion).
pub const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

/// Whether `sha` is git's all-zero "no commit" id (of any hash length).
pub fn is_zero_sha(sha: &str) -> bool {
    !sha.is_empty() && sha.bytes().all(|b| b == b'0')
}

/// A variable lookup: `Some(value)` when the variable is set. Empty values
/// count as unset (CI systems export many variables empty).
pub type Vars<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment as a [`Vars`] lookup.
pub fn process_vars(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The CI system running gatehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    GithubActions,
    GitlabCi,
    /// Not a CI system: `gatehouse hook run pre-push` gating the refs a
    /// developer pushes (see [`crate::hook`]).
    PrePush,
}

impl Provider {
    /// The name used in `Facts.pipeline.provider`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::GithubActions => "github-actions",
            Provider::GitlabCi => "gitlab-ci",
            Provider::PrePush => "pre-push",
        }
    }
}

/// What a push did to its ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefUpdate {
    /// The ref did not exist before (`before` is all zeros): there is no
    /// previous tip, so the range starts at the merge-base with the default branch.
    Created,
    /// An existing ref moved from `base` to `head`.
    Updated,
    /// The ref was deleted (`after` is all zeros): there are no commits to gate.
    Deleted,
}

/// A pull request (GitHub) or merge request (GitLab) as the CI context knows it.
///
/// Fields the context cannot know are `None`, never guessed: GitLab's CI
/// variables do not name a merge request's author, so `author` is `None`
/// there and the API source (or `Facts.unavailable`) must say so.
#[derive(Debug, Clone, PartialEq)]
pub struct CiChange {
    /// The pull request number / merge request IID.
    pub id: u64,
    pub title: String,
    /// The login of whoever opened the change, when the context names it.
    pub author: Option<String>,
    /// Whether the change is a draft. On GitLab derived from the title, which
    /// is how GitLab itself marks drafts (`Draft:`, `[Draft]`, `(Draft)`).
    pub draft: bool,
    pub labels: Vec<String>,
    /// Target branch (without `refs/heads/`) and its commit.
    pub base: ChangeRef,
    /// Source branch and its head commit.
    pub head: ChangeRef,
}

/// Everything the CI system says about the run: detected by [`detect`].
#[derive(Debug, Clone, PartialEq)]
pub struct CiContext {
    pub provider: Provider,
    /// The provider's own name for the trigger: `GITHUB_EVENT_NAME`
    /// (`pull_request`, `workflow_dispatch`, …) or `CI_PIPELINE_SOURCE`.
    pub trigger: String,
    /// The trigger mapped to a Facts event kind.
    pub event: EventKind,
    /// The ref being gated, as a full ref name (`refs/heads/main`,
    /// `refs/tags/v1.0`, `refs/pull/42/merge`). For a merge group it is the
    /// branch the group merges into, since that is what the policy protects.
    pub gated_ref: String,
    /// The commit being gated; `None` only for a deletion.
    pub head_sha: Option<String>,
    /// The base of the range of commits to gate (exclusive); `None` when the
    /// run has no previous tip (a new branch, a manual run, a deployment):
    /// the git source then uses the merge-base with the default branch.
    pub base_sha: Option<String>,
    /// For pushes: whether the ref was created, moved or deleted.
    pub ref_update: Option<RefUpdate>,
    /// The pull/merge request, when the run is about one.
    pub change: Option<CiChange>,
    /// Who triggered the run.
    pub actor: Option<String>,
    pub repository: Option<Repository>,
    pub pipeline: Option<Pipeline>,
    /// The deployment environment the job targets, when the CI names one.
    pub environment: Option<String>,
    /// Who requested the deployment (GitHub `deployment.creator`).
    pub deployment_requested_by: Option<String>,
    /// Commits the gated range must include. The pre-push hook sets it when it
    /// cannot name a base (the remote has none of the history): the source
    /// then gates from the root, and its range is checked to hold every
    /// commit being pushed.
    pub covers: Option<Vec<String>>,
}

/// Detect the CI system from `vars`; `Ok(None)` outside CI.
pub fn detect(vars: Vars<'_>) -> Result<Option<CiContext>, SourceError> {
    let get = |name: &str| vars(name).filter(|v| !v.is_empty());
    let github = get(gh::GITHUB_ACTIONS).is_some_and(|v| v == "true");
    let gitlab = get(gl::GITLAB_CI).is_some_and(|v| v == "true");
    match (github, gitlab) {
        (true, true) => Err(SourceError::new(
            SOURCE,
            format!(
                "both {} and {} are `true`; cannot tell which CI system this is",
                gh::GITHUB_ACTIONS,
                gl::GITLAB_CI
            ),
        )
        .hint("unset the variable of the CI system that is not running this job")),
        (true, false) => github_context(&get).map(Some),
        (false, true) => gitlab_context(&get).map(Some),
        (false, false) => Ok(None),
    }
}

fn required(
    get: &dyn Fn(&str) -> Option<String>,
    name: &str,
    why: &str,
) -> Result<String, SourceError> {
    get(name).ok_or_else(|| {
        SourceError::new(SOURCE, format!("{name} is not set, but {why}"))
            .hint("run gatehouse as a step of the CI job itself, where the CI system sets its predefined variables")
    })
}

// ---------------------------------------------------------------- GitHub

fn github_context(get: &dyn Fn(&str) -> Option<String>) -> Result<CiContext, SourceError> {
    let trigger = required(get, gh::GITHUB_EVENT_NAME, "GitHub Actions always sets it")?;
    let event_path = required(
        get,
        gh::GITHUB_EVENT_PATH,
        "the event payload is needed to know what to gate",
    )?;
    if !GITHUB_EVENTS.contains(&trigger.as_str()) {
        return Err(unsupported_github_event(&trigger));
    }
    let payload = read_payload(Path::new(&event_path))?;
    let file = event_path.as_str();
    let env_ref = get(gh::GITHUB_REF);
    let common: GithubCommon = from_payload(file, &trigger, &payload)?;

    let mut ctx = CiContext {
        provider: Provider::GithubActions,
        trigger: trigger.clone(),
        event: EventKind::Push,
        gated_ref: String::new(),
        head_sha: None,
        base_sha: None,
        ref_update: None,
        change: None,
        actor: get(gh::GITHUB_ACTOR).or_else(|| common.sender.map(|s| s.login)),
        repository: github_repository(get, common.repository.as_ref()),
        pipeline: github_pipeline(get),
        environment: None,
        deployment_requested_by: None,
        covers: None,
    };

    match trigger.as_str() {
        // pull_request_target carries the same payload; it runs in the base's
        // context, which changes nothing about what is gated.
        "pull_request" | "pull_request_target" => {
            let p: PullRequestPayload = from_payload(file, &trigger, &payload)?;
            let mut pr = p.pull_request;
            pr.head.sha = object_id(pr.head.sha, &format!("`pull_request.head.sha` in {file}"))?;
            pr.base.sha = object_id(pr.base.sha, &format!("`pull_request.base.sha` in {file}"))?;
            ctx.event = EventKind::PullRequest;
            ctx.gated_ref = match env_ref.filter(|r| r.starts_with("refs/")) {
                Some(r) => r,
                None => format!("refs/pull/{}/merge", pr.number),
            };
            ctx.head_sha = Some(pr.head.sha.clone());
            ctx.base_sha = Some(pr.base.sha.clone());
            ctx.change = Some(CiChange {
                id: pr.number,
                title: pr.title,
                author: Some(pr.user.login),
                draft: pr.draft,
                labels: pr.labels.into_iter().map(|l| l.name).collect(),
                base: ChangeRef {
                    name: pr.base.r#ref,
                    sha: pr.base.sha,
                },
                head: ChangeRef {
                    name: pr.head.r#ref,
                    sha: pr.head.sha,
                },
            });
        }
        "push" => {
            let mut p: PushPayload = from_payload(file, &trigger, &payload)?;
            p.before = object_id(p.before, &format!("`before` in {file}"))?;
            p.after = object_id(p.after, &format!("`after` in {file}"))?;
            ctx.event = EventKind::Push;
            ctx.gated_ref = full_ref(file, "ref", &p.r#ref)?;
            let update = if p.deleted || is_zero_sha(&p.after) {
                RefUpdate::Deleted
            } else if p.created || is_zero_sha(&p.before) {
                RefUpdate::Created
            } else {
                RefUpdate::Updated
            };
            ctx.ref_update = Some(update);
            ctx.head_sha = (update != RefUpdate::Deleted).then_some(p.after);
            ctx.base_sha = (update == RefUpdate::Updated).then_some(p.before);
        }
        "merge_group" => {
            let p: MergeGroupPayload = from_payload(file, &trigger, &payload)?;
            let mut g = p.merge_group;
            g.head_sha = object_id(g.head_sha, &format!("`merge_group.head_sha` in {file}"))?;
            g.base_sha = object_id(g.base_sha, &format!("`merge_group.base_sha` in {file}"))?;
            ctx.event = EventKind::MergeGroup;
            ctx.gated_ref = full_ref(file, "merge_group.base_ref", &g.base_ref)?;
            ctx.head_sha = Some(g.head_sha);
            ctx.base_sha = Some(g.base_sha);
        }
        "deployment" => {
            let p: DeploymentPayload = from_payload(file, &trigger, &payload)?;
            let d = p.deployment;
            ctx.event = EventKind::Deployment;
            // The payload's `ref` is short (`master`, `v1.0`) and cannot tell a
            // branch from a tag; GITHUB_REF is the full name Actions resolved.
            ctx.gated_ref = match (env_ref, d.r#ref.starts_with("refs/")) {
                (Some(r), _) if r.starts_with("refs/") => r,
                (_, true) => d.r#ref,
                _ => {
                    return Err(SourceError::new(
                        SOURCE,
                        format!(
                            "{file}: the deployment's ref `{}` (at `deployment.ref`) is not a full ref name and {} is not set, so it is unknown whether a branch or a tag is deployed",
                            d.r#ref,
                            gh::GITHUB_REF
                        ),
                    ));
                }
            };
            ctx.head_sha = Some(object_id(d.sha, &format!("`deployment.sha` in {file}"))?);
            ctx.environment = Some(d.environment);
            ctx.deployment_requested_by = d.creator.map(|c| c.login);
        }
        "workflow_dispatch" => {
            let p: WorkflowDispatchPayload = from_payload(file, &trigger, &payload)?;
            // A manual run gates its ref's current tip like a push with no
            // known previous tip.
            ctx.event = EventKind::Push;
            ctx.gated_ref = full_ref(file, "ref", &p.r#ref)?;
            let sha = required(
                get,
                gh::GITHUB_SHA,
                "a manual run gates the commit it runs on",
            )?;
            ctx.head_sha = Some(object_id(sha, gh::GITHUB_SHA)?);
        }
        other => return Err(unsupported_github_event(other)),
    }
    Ok(ctx)
}

/// The GitHub events gatehouse can gate.
const GITHUB_EVENTS: [&str; 6] = [
    "pull_request",
    "pull_request_target",
    "push",
    "merge_group",
    "deployment",
    "workflow_dispatch",
];

fn unsupported_github_event(name: &str) -> SourceError {
    SourceError::new(
        SOURCE,
        format!("GitHub event `{name}` is not one gatehouse can gate"),
    )
    .hint(format!(
        "run the gate on {}, or pass saved facts with `--facts FILE`",
        GITHUB_EVENTS.join(", ")
    ))
}

fn github_repository(
    get: &dyn Fn(&str) -> Option<String>,
    payload: Option<&PayloadRepository>,
) -> Option<Repository> {
    let slug = get(gh::GITHUB_REPOSITORY).or_else(|| payload.map(|r| r.full_name.clone()))?;
    let host = get(gh::GITHUB_SERVER_URL)
        .map(|u| url_host(&u))
        .unwrap_or_else(|| "github.com".to_string());
    Some(Repository {
        host,
        slug,
        default_branch: payload.and_then(|r| r.default_branch.clone()),
    })
}

fn github_pipeline(get: &dyn Fn(&str) -> Option<String>) -> Option<Pipeline> {
    let id = get(gh::GITHUB_RUN_ID)?;
    let url = match (get(gh::GITHUB_SERVER_URL), get(gh::GITHUB_REPOSITORY)) {
        (Some(server), Some(repo)) => Some(format!(
            "{}/{repo}/actions/runs/{id}",
            server.trim_end_matches('/')
        )),
        _ => None,
    };
    Some(Pipeline {
        provider: Provider::GithubActions.as_str().to_string(),
        id,
        url,
        job: get(gh::GITHUB_JOB),
    })
}

/// `https://github.example.com:8443/` -> `github.example.com:8443`.
fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_string()
}

fn full_ref(file: &str, at: &str, name: &str) -> Result<String, SourceError> {
    if name.starts_with("refs/") {
        Ok(name.to_string())
    } else {
        Err(SourceError::new(
            SOURCE,
            format!("{file}: `{name}` at `{at}` is not a full ref name (expected `refs/…`)"),
        ))
    }
}

/// `value` when it is a full commit id (SHA-1 or SHA-256 hex). Anything else
/// would reach git as a revision expression (`HEAD~5`, a branch name), so it
/// is refused, naming where it came from.
fn object_id(value: String, origin: &str) -> Result<String, SourceError> {
    if (value.len() == 40 || value.len() == 64) && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value)
    } else {
        Err(SourceError::new(
            SOURCE,
            format!("`{value}` ({origin}) is not a full commit id"),
        ))
    }
}

/// Read the event payload. Every problem names the file.
fn read_payload(path: &Path) -> Result<serde_json::Value, SourceError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| {
        SourceError::new(
            SOURCE,
            format!(
                "cannot read the event payload {shown} (named by {}): {e}",
                gh::GITHUB_EVENT_PATH
            ),
        )
    })?;
    serde_json::from_str(&text).map_err(|e| {
        SourceError::new(
            SOURCE,
            format!(
                "the event payload {shown} is not valid JSON (line {}, column {}): {}",
                e.line(),
                e.column(),
                super::strip_position(&e.to_string())
            ),
        )
    })
}

/// Deserialize the part of the payload an event needs; a missing or mistyped
/// field names its JSON path.
fn from_payload<T: DeserializeOwned>(
    file: &str,
    event: &str,
    payload: &serde_json::Value,
) -> Result<T, SourceError> {
    super::from_json_value(payload).map_err(|(path, message)| {
        SourceError::new(
            SOURCE,
            format!("{file}: malformed `{event}` event payload at `{path}`: {message}"),
        )
    })
}

// The payload fields gatehouse reads; everything else is ignored.

#[derive(Deserialize)]
struct GithubCommon {
    #[serde(default)]
    sender: Option<Login>,
    #[serde(default)]
    repository: Option<PayloadRepository>,
}

#[derive(Deserialize)]
struct Login {
    login: String,
}

#[derive(Deserialize)]
struct PayloadRepository {
    full_name: String,
    #[serde(default)]
    default_branch: Option<String>,
}

#[derive(Deserialize)]
struct PullRequestPayload {
    pull_request: PullRequest,
}

#[derive(Deserialize)]
struct PullRequest {
    number: u64,
    title: String,
    user: Login,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    labels: Vec<Label>,
    base: PullRequestRef,
    head: PullRequestRef,
}

#[derive(Deserialize)]
struct Label {
    name: String,
}

#[derive(Deserialize)]
struct PullRequestRef {
    r#ref: String,
    sha: String,
}

#[derive(Deserialize)]
struct PushPayload {
    r#ref: String,
    before: String,
    after: String,
    #[serde(default)]
    created: bool,
    #[serde(default)]
    deleted: bool,
}

#[derive(Deserialize)]
struct MergeGroupPayload {
    merge_group: MergeGroup,
}

#[derive(Deserialize)]
struct MergeGroup {
    head_sha: String,
    base_sha: String,
    base_ref: String,
}

#[derive(Deserialize)]
struct DeploymentPayload {
    deployment: PayloadDeployment,
}

#[derive(Deserialize)]
struct PayloadDeployment {
    r#ref: String,
    sha: String,
    environment: String,
    #[serde(default)]
    creator: Option<Login>,
}

#[derive(Deserialize)]
struct WorkflowDispatchPayload {
    r#ref: String,
}

// ---------------------------------------------------------------- GitLab

fn gitlab_context(get: &dyn Fn(&str) -> Option<String>) -> Result<CiContext, SourceError> {
    let trigger = required(get, gl::CI_PIPELINE_SOURCE, "GitLab CI always sets it")?;
    let head = object_id(
        required(get, gl::CI_COMMIT_SHA, "GitLab CI always sets it")?,
        gl::CI_COMMIT_SHA,
    )?;
    let environment = get(gl::CI_ENVIRONMENT_NAME);
    let actor = get(gl::GITLAB_USER_LOGIN);
    let mut ctx = CiContext {
        provider: Provider::GitlabCi,
        trigger: trigger.clone(),
        event: EventKind::Push,
        gated_ref: String::new(),
        head_sha: Some(head.clone()),
        base_sha: None,
        ref_update: None,
        change: None,
        actor: actor.clone(),
        repository: get(gl::CI_PROJECT_PATH).map(|slug| Repository {
            host: get(gl::CI_SERVER_HOST).unwrap_or_else(|| "gitlab.com".to_string()),
            slug,
            default_branch: get(gl::CI_DEFAULT_BRANCH),
        }),
        pipeline: get(gl::CI_PIPELINE_ID).map(|id| Pipeline {
            provider: Provider::GitlabCi.as_str().to_string(),
            id,
            url: get(gl::CI_PIPELINE_URL),
            job: get(gl::CI_JOB_NAME),
        }),
        environment: environment.clone(),
        deployment_requested_by: environment.as_ref().and(actor),
        covers: None,
    };

    if trigger == "merge_request_event" {
        let iid_text = required(
            get,
            gl::CI_MERGE_REQUEST_IID,
            "this is a merge request pipeline",
        )?;
        let iid: u64 = iid_text.parse().map_err(|_| {
            SourceError::new(
                SOURCE,
                format!(
                    "{} is `{iid_text}`, not a merge request number",
                    gl::CI_MERGE_REQUEST_IID
                ),
            )
        })?;
        let base = object_id(
            required(
                get,
                gl::CI_MERGE_REQUEST_DIFF_BASE_SHA,
                "a merge request pipeline's range starts there",
            )?,
            gl::CI_MERGE_REQUEST_DIFF_BASE_SHA,
        )?;
        let target = required(
            get,
            gl::CI_MERGE_REQUEST_TARGET_BRANCH_NAME,
            "a merge request pipeline has a target branch",
        )?;
        let source = required(
            get,
            gl::CI_MERGE_REQUEST_SOURCE_BRANCH_NAME,
            "a merge request pipeline has a source branch",
        )?;
        let title = required(
            get,
            gl::CI_MERGE_REQUEST_TITLE,
            "a merge request pipeline has a title",
        )?;
        // In merged-results and merge-train pipelines CI_COMMIT_SHA is the
        // merge GitLab built; the change's own head is the source branch's.
        let change_head = match get(gl::CI_MERGE_REQUEST_SOURCE_BRANCH_SHA) {
            Some(sha) => object_id(sha, gl::CI_MERGE_REQUEST_SOURCE_BRANCH_SHA)?,
            None => head,
        };
        ctx.event = match get(gl::CI_MERGE_REQUEST_EVENT_TYPE).as_deref() {
            Some("merge_train") => EventKind::MergeGroup,
            _ => EventKind::PullRequest,
        };
        ctx.gated_ref = format!("refs/merge-requests/{iid}/head");
        ctx.head_sha = Some(change_head.clone());
        ctx.base_sha = Some(base.clone());
        ctx.change = Some(CiChange {
            id: iid,
            draft: gitlab_title_is_draft(&title),
            title,
            author: None,
            labels: get(gl::CI_MERGE_REQUEST_LABELS)
                .map(|l| {
                    l.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            base: ChangeRef {
                name: target,
                sha: base,
            },
            head: ChangeRef {
                name: source,
                sha: change_head,
            },
        });
    } else {
        ctx.gated_ref = if let Some(tag) = get(gl::CI_COMMIT_TAG) {
            format!("refs/tags/{tag}")
        } else if let Some(branch) = get(gl::CI_COMMIT_BRANCH) {
            format!("refs/heads/{branch}")
        } else {
            let name = required(get, gl::CI_COMMIT_REF_NAME, "GitLab CI always sets it")?;
            format!("refs/heads/{name}")
        };
        if trigger == "push" {
            let update = match get(gl::CI_COMMIT_BEFORE_SHA) {
                Some(before) if !is_zero_sha(&before) => {
                    ctx.base_sha = Some(object_id(before, gl::CI_COMMIT_BEFORE_SHA)?);
                    RefUpdate::Updated
                }
                _ => RefUpdate::Created,
            };
            ctx.ref_update = Some(update);
        }
    }
    // A deploy job is a deployment whatever started its pipeline: the
    // environment is what the policy's deployment rules look at.
    if ctx.environment.is_some() && ctx.change.is_none() {
        ctx.event = EventKind::Deployment;
    }
    Ok(ctx)
}

/// GitLab marks a merge request as a draft by its title's prefix.
fn gitlab_title_is_draft(title: &str) -> bool {
    let t = title.trim_start().to_ascii_lowercase();
    ["draft:", "[draft]", "(draft)"]
        .iter()
        .any(|p| t.starts_with(p))
}

// ---------------------------------------------------------------- overlay

/// The notice shown when a CI context shaped the facts, so the report says
/// what was detected.
fn describe(ctx: &CiContext) -> String {
    let short = |s: &Option<String>| {
        s.as_deref()
            .map_or("-".to_string(), |s| crate::facts::short_sha(s).to_string())
    };
    let what = match ctx.provider {
        Provider::PrePush => format!("push to {}", ctx.gated_ref),
        _ => format!("`{}` event for {}", ctx.trigger, ctx.gated_ref),
    };
    let mut text = format!(
        "{}: {what} (base {}, head {})",
        ctx.provider.label(),
        match (&ctx.base_sha, &ctx.covers) {
            (Some(b), _) => crate::facts::short_sha(b).to_string(),
            (None, Some(_)) => "the root: the remote has none of this history".to_string(),
            (None, None) => "the merge-base with the default branch".to_string(),
        },
        short(&ctx.head_sha)
    );
    if let Some(change) = &ctx.change {
        text.push_str(&format!(", change #{}", change.id));
    }
    if let Some(env) = &ctx.environment {
        text.push_str(&format!(", environment {env}"));
    }
    text
}

impl Provider {
    /// The name of what failed, in a [`SourceError`].
    pub fn source_name(self) -> &'static str {
        match self {
            Provider::GithubActions | Provider::GitlabCi => SOURCE,
            Provider::PrePush => "pre-push",
        }
    }

    /// How the provider is named to people.
    pub fn label(self) -> &'static str {
        match self {
            Provider::GithubActions => "GitHub Actions",
            Provider::GitlabCi => "GitLab CI",
            Provider::PrePush => "git pre-push hook",
        }
    }
}

impl CiContext {
    /// The `(base, head)` revisions of the range to gate, command-line flags
    /// winning over the context. `base = None` lets the git source choose
    /// (the merge-base with the default branch).
    pub fn range(
        &self,
        base_flag: Option<&str>,
        head_flag: Option<&str>,
    ) -> Result<(Option<String>, Option<String>), SourceError> {
        let head = match (head_flag, &self.head_sha) {
            (Some(h), _) => Some(h.to_string()),
            (None, Some(h)) => Some(h.clone()),
            (None, None) => {
                return Err(SourceError::new(
                    self.provider.source_name(),
                    format!(
                        "this {} run deletes {}, so there are no commits to gate",
                        self.provider.label(),
                        self.gated_ref
                    ),
                )
                .hint(
                    "skip the gate for deletions (GitHub Actions: `if: github.event.deleted != true`), or gate a given range with `--base REV --head REV`",
                ));
            }
        };
        let base = base_flag
            .map(str::to_string)
            .or_else(|| self.base_sha.clone());
        Ok((base, head))
    }

    /// Lay the context over facts the git source gathered from the checkout:
    /// event, gated ref, repository, pipeline, the change and the deployment.
    /// `head_flag`/`environment_flag` are the command-line values, which win.
    ///
    /// A change from the context has no reviews the checkout could show, so
    /// `change.reviews` is listed in `Facts.unavailable` (and `change.author`
    /// when the context does not name it): rules needing them cannot decide
    /// rather than deciding on an empty list.
    pub fn overlay(
        &self,
        facts: &mut Facts,
        head_flag: Option<&str>,
        environment_flag: Option<&str>,
    ) -> String {
        facts.event.kind = self.event;
        if self.actor.is_some() {
            facts.event.actor.clone_from(&self.actor);
        }
        if head_flag.is_none() {
            facts.git_ref.name.clone_from(&self.gated_ref);
        }
        if let Some(repo) = &self.repository {
            let default_branch = repo
                .default_branch
                .clone()
                .or_else(|| facts.repository.default_branch.take());
            facts.repository = Repository {
                default_branch,
                ..repo.clone()
            };
        }
        if self.pipeline.is_some() {
            facts.pipeline.clone_from(&self.pipeline);
        }
        if let Some(change) = &self.change {
            if change.author.is_none() {
                mark_unavailable(facts, "change.author");
            }
            mark_unavailable(facts, "change.reviews");
            facts.change = Some(Change {
                id: change.id,
                title: change.title.clone(),
                author: change.author.clone().unwrap_or_default(),
                draft: change.draft,
                base: change.base.clone(),
                // What was gated is the head the source resolved.
                head: ChangeRef {
                    name: change.head.name.clone(),
                    sha: facts.git_ref.sha.clone(),
                },
                labels: change.labels.clone(),
                files: std::mem::take(&mut facts.files),
                reviews: Vec::new(),
            });
        }
        if let Some(env) = &self.environment {
            mark_unavailable(facts, "deployment.approvals");
            mark_unavailable(facts, "deployment.freeze_periods");
            facts.deployment = Some(Deployment {
                environment: environment_flag.unwrap_or(env).to_string(),
                requested_by: self.deployment_requested_by.clone(),
                approvals: Vec::new(),
                freeze_periods: Vec::new(),
            });
        }
        describe(self)
    }
}

/// Gather facts for a run with a CI context: `git(base, head)` gathers the
/// range from the checkout (the git source), then the context is laid over it.
/// Flags in `options` win over the context.
pub fn gather_with(
    ctx: &CiContext,
    options: &super::SourceOptions,
    git: impl FnOnce(Option<String>, Option<String>) -> Result<super::Gathered, SourceError>,
) -> Result<super::Gathered, SourceError> {
    let (base, head) = ctx.range(options.base.as_deref(), options.head.as_deref())?;
    let head_from_context = options.head.is_none().then(|| head.clone()).flatten();
    let mut gathered = git(base, head)?;
    if let Some(covers) = &ctx.covers {
        let gated: std::collections::HashSet<&str> = gathered
            .facts
            .commits
            .iter()
            .map(|c| c.sha.as_str())
            .collect();
        let missing: Vec<&str> = covers
            .iter()
            .map(String::as_str)
            .filter(|c| !gated.contains(c))
            .collect();
        if !missing.is_empty() {
            return Err(SourceError::new(
                ctx.provider.source_name(),
                format!(
                    "the range gathered for {} misses {} of the {} commits being pushed (first: {}), so they cannot be gated",
                    ctx.gated_ref,
                    missing.len(),
                    covers.len(),
                    crate::facts::short_sha(missing[0])
                ),
            )
            .hint("this is a bug in gatehouse: a range from the root holds every commit of the pushed history; please report it"));
        }
    }
    // The source's "`--head <sha>` names no branch" notice is about a flag the
    // user never gave: the context names the gated ref instead.
    if let Some(head) = head_from_context {
        let flag = format!("`--head {head}`");
        gathered.notices.retain(|n| !n.starts_with(&flag));
    }
    // Nor is the lack of an `origin` remote news when the CI names the repository.
    if ctx.repository.is_some() {
        gathered
            .notices
            .retain(|n| !n.starts_with(super::git::remote::LOCAL_IDENTITY_NOTICE));
    }
    let notice = ctx.overlay(
        &mut gathered.facts,
        options.head.as_deref(),
        options.environment.as_deref(),
    );
    gathered.notices.insert(0, notice);
    Ok(gathered)
}

fn mark_unavailable(facts: &mut Facts, path: &str) {
    if !facts.unavailable.iter().any(|u| u == path) {
        facts.unavailable.push(path.to_string());
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn payload(name: &str) -> String {
        format!(
            "{}/fixtures/github/webhooks/{name}",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    fn github(
        event: &str,
        file: &str,
        extra: &[(&str, &str)],
    ) -> Result<Option<CiContext>, SourceError> {
        let mut vars: BTreeMap<String, String> = [
            (gh::GITHUB_ACTIONS, "true"),
            (gh::GITHUB_EVENT_NAME, event),
            (gh::GITHUB_ACTOR, "octocat"),
            (gh::GITHUB_REPOSITORY, "Codertocat/Hello-World"),
            (gh::GITHUB_SERVER_URL, "https://github.com"),
            (gh::GITHUB_RUN_ID, "1658821493"),
            (gh::GITHUB_JOB, "gate"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        vars.insert(gh::GITHUB_EVENT_PATH.to_string(), payload(file));
        for (k, v) in extra {
            vars.insert(k.to_string(), v.to_string());
        }
        detect(&|name| vars.get(name).cloned())
    }

    fn gitlab(vars: &[(&str, &str)]) -> Result<Option<CiContext>, SourceError> {
        let map: BTreeMap<&str, &str> = vars.iter().copied().collect();
        detect(&|name| map.get(name).map(|v| v.to_string()))
    }

    /// Read a GitLab CI variable set from `fixtures/gitlab/ci/<name>.env`.
    fn gitlab_fixture(name: &str) -> Result<Option<CiContext>, SourceError> {
        let path = format!(
            "{}/fixtures/gitlab/ci/{name}.env",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let map = parse_env_file(&text);
        detect(&|name| map.get(name).cloned())
    }

    fn parse_env_file(text: &str) -> BTreeMap<String, String> {
        text.lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (k, v) = l.split_once('=').expect("KEY=VALUE");
                (k.to_string(), v.to_string())
            })
            .collect()
    }

    #[test]
    fn outside_ci_there_is_no_context() {
        assert_eq!(detect(&|_| None).unwrap(), None);
        // `false` and empty values do not count as a CI.
        assert_eq!(detect(&|_| Some(String::new())).unwrap(), None);
    }

    #[test]
    fn github_pull_request() {
        let ctx = github(
            "pull_request",
            "pull_request.opened.0.json",
            &[(gh::GITHUB_REF, "refs/pull/2/merge")],
        )
        .unwrap()
        .unwrap();
        assert_eq!(ctx.provider, Provider::GithubActions);
        assert_eq!(ctx.event, EventKind::PullRequest);
        assert_eq!(ctx.gated_ref, "refs/pull/2/merge");
        assert_eq!(
            ctx.head_sha.as_deref(),
            Some("ec26c3e57ca3a959ca5aad62de7213c562f8c821")
        );
        assert_eq!(
            ctx.base_sha.as_deref(),
            Some("f95f852bd8fca8fcc58a9a2d6c842781e32a215e")
        );
        let change = ctx.change.unwrap();
        assert_eq!(change.id, 2);
        assert_eq!(change.title, "Update the README with new information.");
        assert_eq!(change.author.as_deref(), Some("Codertocat"));
        assert!(!change.draft);
        assert_eq!(change.base.name, "master");
        assert_eq!(change.head.name, "changes");
        assert_eq!(ctx.actor.as_deref(), Some("octocat"));
        let repo = ctx.repository.unwrap();
        assert_eq!(
            (repo.host.as_str(), repo.slug.as_str()),
            ("github.com", "Codertocat/Hello-World")
        );
        assert_eq!(repo.default_branch.as_deref(), Some("master"));
        let p = ctx.pipeline.unwrap();
        assert_eq!(p.provider, "github-actions");
        assert_eq!(
            p.url.as_deref(),
            Some("https://github.com/Codertocat/Hello-World/actions/runs/1658821493")
        );
        assert_eq!(p.job.as_deref(), Some("gate"));
    }

    #[test]
    fn github_pull_request_labels_and_draft() {
        let ctx = github("pull_request", "pull_request.synchronize.22.json", &[])
            .unwrap()
            .unwrap();
        let change = ctx.change.unwrap();
        assert_eq!(change.labels, vec!["bug".to_string()]);
        // Without GITHUB_REF the pull request's merge ref is implied.
        assert_eq!(ctx.gated_ref, "refs/pull/2/merge");
        let draft = github(
            "pull_request_target",
            "pull_request.converted_to_draft.5.json",
            &[],
        )
        .unwrap()
        .unwrap();
        assert!(draft.change.unwrap().draft);
        assert_eq!(draft.event, EventKind::PullRequest);
    }

    #[test]
    fn github_push_of_a_new_ref_has_no_base() {
        let ctx = github("push", "push.event.4.json", &[]).unwrap().unwrap();
        assert_eq!(ctx.event, EventKind::Push);
        assert_eq!(ctx.gated_ref, "refs/heads/master");
        assert_eq!(ctx.ref_update, Some(RefUpdate::Created));
        assert_eq!(ctx.base_sha, None);
        assert_eq!(
            ctx.head_sha.as_deref(),
            Some("6113728f27ae82c7b1a177c8d03f9e96e0adf246")
        );
        let tag = github("push", "push.event.0.json", &[]).unwrap().unwrap();
        assert_eq!(tag.gated_ref, "refs/tags/simple-tag");
        assert_eq!(tag.ref_update, Some(RefUpdate::Created));
    }

    #[test]
    fn github_push_deleting_a_ref_has_no_head() {
        let ctx = github("push", "push.event.1.json", &[]).unwrap().unwrap();
        assert_eq!(ctx.ref_update, Some(RefUpdate::Deleted));
        assert_eq!(ctx.head_sha, None);
        assert_eq!(ctx.base_sha, None);
        assert_eq!(ctx.gated_ref, "refs/tags/simple-tag");
    }

    #[test]
    fn github_push_moving_a_ref_gates_before_to_after() {
        // The published push payloads all create or delete a ref; an ordinary
        // push is the same shape with both ids set.
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(payload("push.event.4.json")).unwrap())
                .unwrap();
        v["before"] = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e".into();
        v["created"] = false.into();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("event.json");
        std::fs::write(&path, v.to_string()).unwrap();
        let vars: BTreeMap<&str, String> = [
            (gh::GITHUB_ACTIONS, "true".to_string()),
            (gh::GITHUB_EVENT_NAME, "push".to_string()),
            (gh::GITHUB_EVENT_PATH, path.display().to_string()),
        ]
        .into_iter()
        .collect();
        let ctx = detect(&|n| vars.get(n).cloned()).unwrap().unwrap();
        assert_eq!(ctx.ref_update, Some(RefUpdate::Updated));
        assert_eq!(
            ctx.base_sha.as_deref(),
            Some("f95f852bd8fca8fcc58a9a2d6c842781e32a215e")
        );
        // The actor falls back to the payload's sender.
        assert_eq!(ctx.actor.as_deref(), Some("Codertocat"));
        // No run id, no pipeline.
        assert_eq!(ctx.pipeline, None);
    }

    #[test]
    fn github_merge_group_gates_the_target_branch() {
        let ctx = github("merge_group", "merge_group.checks_requested.0.json", &[])
            .unwrap()
            .unwrap();
        assert_eq!(ctx.event, EventKind::MergeGroup);
        assert_eq!(ctx.gated_ref, "refs/heads/main");
        assert_eq!(
            ctx.base_sha.as_deref(),
            Some("380387fbc80638b734a49e1be1c4dfec1c01b33c")
        );
        assert_eq!(
            ctx.head_sha.as_deref(),
            Some("2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d")
        );
        assert_eq!(ctx.change, None);
    }

    #[test]
    fn github_deployment() {
        let ctx = github(
            "deployment",
            "deployment.created.0.json",
            &[(gh::GITHUB_REF, "refs/heads/master")],
        )
        .unwrap()
        .unwrap();
        assert_eq!(ctx.event, EventKind::Deployment);
        assert_eq!(ctx.gated_ref, "refs/heads/master");
        assert_eq!(ctx.environment.as_deref(), Some("production"));
        assert_eq!(ctx.deployment_requested_by.as_deref(), Some("Codertocat"));
        assert_eq!(
            ctx.head_sha.as_deref(),
            Some("f95f852bd8fca8fcc58a9a2d6c842781e32a215e")
        );
        assert_eq!(ctx.base_sha, None);
    }

    #[test]
    fn github_deployment_without_a_full_ref_is_an_error() {
        let e = github("deployment", "deployment.created.1.json", &[]).unwrap_err();
        assert!(
            e.message.contains("`gh-pages` (at `deployment.ref`)"),
            "{}",
            e.message
        );
    }

    #[test]
    fn github_workflow_dispatch() {
        let ctx = github(
            "workflow_dispatch",
            "workflow_dispatch.event.0.json",
            &[(gh::GITHUB_SHA, "6113728f27ae82c7b1a177c8d03f9e96e0adf246")],
        )
        .unwrap()
        .unwrap();
        assert_eq!(ctx.event, EventKind::Push);
        assert_eq!(ctx.trigger, "workflow_dispatch");
        assert_eq!(ctx.gated_ref, "refs/heads/main");
        assert_eq!(
            ctx.head_sha.as_deref(),
            Some("6113728f27ae82c7b1a177c8d03f9e96e0adf246")
        );
        assert_eq!(ctx.base_sha, None);
        let e = github("workflow_dispatch", "workflow_dispatch.event.0.json", &[]).unwrap_err();
        assert!(
            e.message.starts_with("GITHUB_SHA is not set"),
            "{}",
            e.message
        );
    }

    #[test]
    fn github_unsupported_event_is_an_error_with_a_hint() {
        // Refused before the payload is read: this one does not exist.
        let e = github("issue_comment", "no-such-file.json", &[]).unwrap_err();
        assert!(e.message.contains("`issue_comment`"));
        assert!(e.hint.unwrap().contains("--facts"));
    }

    #[test]
    fn github_missing_payload_names_the_file() {
        let e = github("push", "no-such-file.json", &[]).unwrap_err();
        assert!(e.message.contains("no-such-file.json"), "{}", e.message);
        assert!(e.message.contains("GITHUB_EVENT_PATH"), "{}", e.message);
    }

    #[test]
    fn github_malformed_payload_names_the_json_path() {
        let dir = tempfile::tempdir().unwrap();
        let mut v: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(payload("pull_request.opened.0.json")).unwrap(),
        )
        .unwrap();
        v["pull_request"]["head"]["sha"] = serde_json::Value::Null;
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, v.to_string()).unwrap();
        let not_json = dir.path().join("not.json");
        std::fs::write(&not_json, "{\"action\": ").unwrap();
        for (file, expect) in [
            (&bad, "at `pull_request.head.sha`"),
            (&not_json, "is not valid JSON (line 1"),
        ] {
            let vars: BTreeMap<&str, String> = [
                (gh::GITHUB_ACTIONS, "true".to_string()),
                (gh::GITHUB_EVENT_NAME, "pull_request".to_string()),
                (gh::GITHUB_EVENT_PATH, file.display().to_string()),
            ]
            .into_iter()
            .collect();
            let e = detect(&|n| vars.get(n).cloned()).unwrap_err();
            assert!(e.message.contains(expect), "{}", e.message);
            assert!(
                e.message.contains(&file.display().to_string()),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn github_without_event_name_is_an_error() {
        let e = gitlab(&[(gh::GITHUB_ACTIONS, "true")]).unwrap_err();
        assert!(
            e.message.starts_with("GITHUB_EVENT_NAME is not set"),
            "{}",
            e.message
        );
    }

    #[test]
    fn both_ci_systems_at_once_is_an_error() {
        let e = gitlab(&[(gh::GITHUB_ACTIONS, "true"), (gl::GITLAB_CI, "true")]).unwrap_err();
        assert!(e.message.contains("cannot tell which CI"));
    }

    #[test]
    fn gitlab_merge_request() {
        let ctx = gitlab_fixture("merge-request").unwrap().unwrap();
        assert_eq!(ctx.provider, Provider::GitlabCi);
        assert_eq!(ctx.event, EventKind::PullRequest);
        assert_eq!(ctx.gated_ref, "refs/merge-requests/11/head");
        let change = ctx.change.clone().unwrap();
        assert_eq!(change.id, 11);
        assert_eq!(change.title, "Add rate limiter");
        assert_eq!(change.author, None);
        assert!(!change.draft);
        assert_eq!(
            change.labels,
            vec!["backend".to_string(), "security".to_string()]
        );
        assert_eq!(change.base.name, "main");
        assert_eq!(change.head.name, "feature/rate-limiter");
        assert_eq!(ctx.base_sha.as_deref(), Some(change.base.sha.as_str()));
        assert_eq!(ctx.head_sha.as_deref(), Some(change.head.sha.as_str()));
        assert_eq!(ctx.actor.as_deref(), Some("alice"));
        let repo = ctx.repository.unwrap();
        assert_eq!(
            (repo.host.as_str(), repo.slug.as_str()),
            ("gitlab.example.com", "acme/api")
        );
        let p = ctx.pipeline.unwrap();
        assert_eq!(p.provider, "gitlab-ci");
        assert_eq!(p.id, "1042");
        assert_eq!(p.job.as_deref(), Some("gate"));
        assert_eq!(ctx.environment, None);
    }

    #[test]
    fn gitlab_merged_results_and_merge_train() {
        let ctx = gitlab_fixture("merge-train").unwrap().unwrap();
        assert_eq!(ctx.event, EventKind::MergeGroup);
        // The change's head is the source branch's, not the merge GitLab built.
        let change = ctx.change.unwrap();
        assert_ne!(
            ctx.head_sha.as_deref(),
            Some("cccccccccccccccccccccccccccccccccccccccc")
        );
        assert_eq!(ctx.head_sha.as_deref(), Some(change.head.sha.as_str()));
        assert!(change.draft, "the fixture's title starts with `Draft:`");
    }

    #[test]
    fn gitlab_branch_push() {
        let ctx = gitlab_fixture("branch-push").unwrap().unwrap();
        assert_eq!(ctx.event, EventKind::Push);
        assert_eq!(ctx.gated_ref, "refs/heads/main");
        assert_eq!(ctx.ref_update, Some(RefUpdate::Updated));
        assert!(ctx.base_sha.is_some());
        assert_eq!(ctx.change, None);
    }

    #[test]
    fn gitlab_new_branch_push_has_no_base() {
        let ctx = gitlab(&[
            (gl::GITLAB_CI, "true"),
            (gl::CI_PIPELINE_SOURCE, "push"),
            (
                gl::CI_COMMIT_SHA,
                "9f2c4d1e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d",
            ),
            (gl::CI_COMMIT_BRANCH, "feature/x"),
            (gl::CI_COMMIT_REF_NAME, "feature/x"),
            (gl::CI_COMMIT_BEFORE_SHA, ZERO_SHA),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(ctx.ref_update, Some(RefUpdate::Created));
        assert_eq!(ctx.base_sha, None);
        assert_eq!(ctx.gated_ref, "refs/heads/feature/x");
    }

    #[test]
    fn gitlab_tag_pipeline() {
        let ctx = gitlab_fixture("tag").unwrap().unwrap();
        assert_eq!(ctx.gated_ref, "refs/tags/v1.4.0");
        assert_eq!(ctx.event, EventKind::Push);
    }

    #[test]
    fn gitlab_deploy_job() {
        let ctx = gitlab_fixture("deploy").unwrap().unwrap();
        assert_eq!(ctx.event, EventKind::Deployment);
        assert_eq!(ctx.environment.as_deref(), Some("production"));
        assert_eq!(ctx.deployment_requested_by.as_deref(), Some("eve"));
        assert_eq!(ctx.gated_ref, "refs/tags/v1.4.0");
    }

    #[test]
    fn gitlab_merge_request_without_its_variables_is_an_error() {
        let e = gitlab(&[
            (gl::GITLAB_CI, "true"),
            (gl::CI_PIPELINE_SOURCE, "merge_request_event"),
            (
                gl::CI_COMMIT_SHA,
                "9f2c4d1e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d",
            ),
            (gl::CI_MERGE_REQUEST_IID, "7"),
        ])
        .unwrap_err();
        assert!(
            e.message
                .starts_with("CI_MERGE_REQUEST_DIFF_BASE_SHA is not set"),
            "{}",
            e.message
        );
        let e = gitlab(&[
            (gl::GITLAB_CI, "true"),
            (gl::CI_PIPELINE_SOURCE, "merge_request_event"),
            (
                gl::CI_COMMIT_SHA,
                "9f2c4d1e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d",
            ),
            (gl::CI_MERGE_REQUEST_IID, "seven"),
        ])
        .unwrap_err();
        assert!(e.message.contains("`seven`"), "{}", e.message);
    }

    #[test]
    fn gitlab_draft_titles() {
        for t in ["Draft: x", "[Draft] x", "(draft) x", "  DRAFT: x"] {
            assert!(gitlab_title_is_draft(t), "{t}");
        }
        for t in ["Drafting docs", "x Draft:", "WIP: x"] {
            assert!(!gitlab_title_is_draft(t), "{t}");
        }
    }

    #[test]
    fn url_hosts() {
        assert_eq!(url_host("https://github.com"), "github.com");
        assert_eq!(url_host("https://ghe.acme.dev:8443/"), "ghe.acme.dev:8443");
    }

    fn git_facts() -> Facts {
        let mut f = crate::rules::testing::facts();
        f.source = "git".to_string();
        f.event.kind = EventKind::Local;
        f.event.actor = None;
        f.git_ref.name = "refs/heads/changes".to_string();
        f.git_ref.sha = "ec26c3e57ca3a959ca5aad62de7213c562f8c821".to_string();
        f.repository = Repository {
            host: "local".to_string(),
            slug: "checkout".to_string(),
            default_branch: None,
        };
        f.unavailable = vec!["change.reviews".to_string(), "checks".to_string()];
        f.files = vec![crate::facts::ChangedFile {
            path: "README.md".to_string(),
            previous_path: None,
            status: crate::facts::FileStatus::Modified,
            additions: 1,
            deletions: 0,
        }];
        f
    }

    #[test]
    fn overlay_of_a_pull_request_makes_a_change_without_reviews() {
        let ctx = github("pull_request", "pull_request.synchronize.22.json", &[])
            .unwrap()
            .unwrap();
        let mut f = git_facts();
        let notice = ctx.overlay(&mut f, None, None);
        assert_eq!(
            notice,
            "GitHub Actions: `pull_request` event for refs/pull/2/merge (base f95f852, head ec26c3e), change #2"
        );
        assert_eq!(f.event.kind, EventKind::PullRequest);
        assert_eq!(f.event.actor.as_deref(), Some("octocat"));
        assert_eq!(f.git_ref.name, "refs/pull/2/merge");
        assert_eq!(f.repository.slug, "Codertocat/Hello-World");
        assert_eq!(f.repository.default_branch.as_deref(), Some("master"));
        let change = f.change.as_ref().unwrap();
        assert_eq!(change.labels, vec!["bug".to_string()]);
        // The range's files become the change's, so `when.paths` still sees them.
        assert_eq!(change.files.len(), 1);
        assert!(f.files.is_empty());
        assert_eq!(f.changed_files().len(), 1);
        // Reviews are listed once as unavailable: rules needing them cannot decide.
        assert_eq!(
            f.unavailable
                .iter()
                .filter(|u| *u == "change.reviews")
                .count(),
            1
        );
        assert!(f.require("change.reviews").is_err());
        assert!(f.require("change.author").is_ok());
        assert_eq!(f.pipeline.as_ref().unwrap().id, "1658821493");
        assert_eq!(f.source, "git");
    }

    #[test]
    fn overlay_of_a_gitlab_merge_request_marks_the_unknown_author() {
        let ctx = gitlab_fixture("merge-request").unwrap().unwrap();
        let mut f = git_facts();
        ctx.overlay(&mut f, None, None);
        assert!(f.require("change.author").is_err());
        assert_eq!(f.change.unwrap().author, "");
    }

    #[test]
    fn overlay_of_a_deploy_job_makes_a_deployment_without_approvals() {
        let ctx = gitlab_fixture("deploy").unwrap().unwrap();
        let mut f = git_facts();
        ctx.overlay(&mut f, None, None);
        assert_eq!(f.event.kind, EventKind::Deployment);
        assert_eq!(f.git_ref.name, "refs/tags/v1.4.0");
        let d = f.deployment.as_ref().unwrap();
        assert_eq!(d.environment, "production");
        assert_eq!(d.requested_by.as_deref(), Some("eve"));
        assert!(f.require("deployment.approvals").is_err());
        // --environment wins.
        let mut f = git_facts();
        ctx.overlay(&mut f, None, Some("staging"));
        assert_eq!(f.deployment.unwrap().environment, "staging");
    }

    #[test]
    fn flags_win_over_the_context() {
        let ctx = gitlab_fixture("branch-push").unwrap().unwrap();
        let (base, head) = ctx.range(Some("HEAD~3"), Some("HEAD")).unwrap();
        assert_eq!(
            (base.as_deref(), head.as_deref()),
            (Some("HEAD~3"), Some("HEAD"))
        );
        let (base, head) = ctx.range(None, None).unwrap();
        assert_eq!(base, ctx.base_sha);
        assert_eq!(head, ctx.head_sha);
        // An explicit --head keeps the ref the git source resolved for it.
        let mut f = git_facts();
        ctx.overlay(&mut f, Some("HEAD"), None);
        assert_eq!(f.git_ref.name, "refs/heads/changes");
        assert_eq!(f.event.kind, EventKind::Push);
    }

    #[test]
    fn a_deletion_has_no_range() {
        let ctx = github("push", "push.event.1.json", &[]).unwrap().unwrap();
        let e = ctx.range(None, None).unwrap_err();
        assert!(
            e.message.contains("deletes refs/tags/simple-tag"),
            "{}",
            e.message
        );
        assert!(e.hint.unwrap().contains("github.event.deleted"));
    }

    fn gathered(facts: Facts, notices: &[&str]) -> crate::sources::Gathered {
        crate::sources::Gathered {
            facts,
            notices: notices.iter().map(|n| n.to_string()).collect(),
        }
    }

    #[test]
    fn gather_with_passes_the_context_range_and_drops_notices_about_flags_never_given() {
        let ctx = github("pull_request", "pull_request.synchronize.22.json", &[])
            .unwrap()
            .unwrap();
        let options = crate::sources::SourceOptions::default();
        let head = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
        let g = gather_with(&ctx, &options, |base, h| {
            assert_eq!(
                base.as_deref(),
                Some("f95f852bd8fca8fcc58a9a2d6c842781e32a215e")
            );
            assert_eq!(h.as_deref(), Some(head));
            Ok(gathered(
                git_facts(),
                &[
                    &format!("`--head {head}` names no branch or tag: …"),
                    "the repository is identified as `checkout`: it has no `origin` remote",
                    "something else",
                ],
            ))
        })
        .unwrap();
        assert_eq!(g.notices.len(), 2, "{:?}", g.notices);
        assert!(g.notices[0].starts_with("GitHub Actions: "));
        assert_eq!(g.notices[1], "something else");
    }

    #[test]
    fn gather_with_refuses_a_range_that_misses_covered_commits() {
        let mut ctx = github("push", "push.event.4.json", &[]).unwrap().unwrap();
        ctx.covers = Some(vec!["ab".repeat(20), "cd".repeat(20)]);
        let options = crate::sources::SourceOptions::default();
        let mut f = git_facts();
        f.commits = vec![crate::rules::testing::commit(1, "x\n")];
        f.commits[0].sha = "ab".repeat(20);
        let e = gather_with(&ctx, &options, |_, _| Ok(gathered(f.clone(), &[]))).unwrap_err();
        assert!(
            e.message
                .contains("misses 1 of the 2 commits being pushed (first: cdcdcdc)"),
            "{}",
            e.message
        );
        f.commits.push(crate::rules::testing::commit(2, "y\n"));
        f.commits[1].sha = "cd".repeat(20);
        assert!(gather_with(&ctx, &options, |_, _| Ok(gathered(f, &[]))).is_ok());
    }

    #[test]
    fn commit_ids_must_be_object_ids() {
        let e = gitlab(&[
            (gl::GITLAB_CI, "true"),
            (gl::CI_PIPELINE_SOURCE, "push"),
            (gl::CI_COMMIT_SHA, "HEAD~5"),
            (gl::CI_COMMIT_BRANCH, "main"),
        ])
        .unwrap_err();
        assert_eq!(
            e.message,
            "`HEAD~5` (CI_COMMIT_SHA) is not a full commit id"
        );
        let dir = tempfile::tempdir().unwrap();
        let mut v: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(payload("pull_request.opened.0.json")).unwrap(),
        )
        .unwrap();
        v["pull_request"]["base"]["sha"] = "main".into();
        let path = dir.path().join("e.json");
        std::fs::write(&path, v.to_string()).unwrap();
        let vars: BTreeMap<&str, String> = [
            (gh::GITHUB_ACTIONS, "true".to_string()),
            (gh::GITHUB_EVENT_NAME, "pull_request".to_string()),
            (gh::GITHUB_EVENT_PATH, path.display().to_string()),
        ]
        .into_iter()
        .collect();
        let e = detect(&|n| vars.get(n).cloned()).unwrap_err();
        assert!(
            e.message.starts_with("`main` (`pull_request.base.sha` in "),
            "{}",
            e.message
        );
    }
}
