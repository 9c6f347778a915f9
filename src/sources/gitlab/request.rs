//! What the GitLab source is asked to gather ([`GitlabRequest`]), and how a
//! GitLab CI job's context and variables become one. The token comes from
//! the variable `--gitlab-token-env` names, else `GATEHOUSE_GITLAB_TOKEN`,
//! else `CI_JOB_TOKEN` (which the source then refuses: it cannot read
//! approvals). `CI_MERGE_REQUEST_APPROVED` is never read.

use std::fmt;
use std::time::Duration;

use super::SOURCE;
use crate::env_vars::{gatehouse as gh_env, gitlab as ci};
use crate::facts;
use crate::sources::env::{self as ci_env, CiContext, Provider};
use crate::sources::{SourceError, SourceOptions};

/// How long one API request may take unless `GATEHOUSE_GITLAB_TIMEOUT` says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
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
    /// The commit the pipeline runs on, when it is not the head (the merge
    /// commit of a merged results or merge train pipeline): its jobs'
    /// statuses are there.
    pub pipeline_sha: Option<String>,
    pub actor: Option<String>,
    pub pipeline: Option<facts::Pipeline>,
    /// Group paths (`acme/sre`) whose members go into `facts.teams`.
    pub teams: Vec<String>,
    pub timeout: Duration,
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
        pipeline_sha: env(ci::CI_COMMIT_SHA).filter(|sha| *sha != head_sha),
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

pub(super) const READ_API_HINT: &str = "create a project access token with the `read_api` scope (role Reporter or higher), store it as a masked CI/CD variable named GATEHOUSE_GITLAB_TOKEN, or name your variable with --gitlab-token-env";

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
        (
            "CI_MERGE_REQUEST_DIFF_BASE_SHA",
            "0000000000000000000000000000000000000001",
        ),
        ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main"),
        ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature"),
        ("CI_MERGE_REQUEST_TITLE", "A change"),
        ("CI_MERGE_REQUEST_APPROVED", "true"),
        ("CI_COMMIT_SHA", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
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
        assert_eq!(r.head_sha, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert_eq!(r.git_ref.as_deref(), Some("refs/merge-requests/7/head"));
        assert_eq!(r.pipeline_sha, None);
        assert_eq!(r.event, None);
        assert_eq!(r.host, "gitlab.example.com");
        assert!(r.deployment.is_none());
        assert_eq!(r.timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn merged_results_pipelines_gate_the_merge_request_head() {
        let env = with(&[
            ("CI_MERGE_REQUEST_EVENT_TYPE", "merged_result"),
            (
                "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA",
                "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            ),
        ]);
        let r = request_from_env(&SourceOptions::default(), &env_of(&env)).unwrap();
        assert_eq!(r.head_sha, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
        assert_eq!(
            r.pipeline_sha.as_deref(),
            Some("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            "the merge commit"
        );
        let env = with(&[
            ("CI_MERGE_REQUEST_EVENT_TYPE", "merge_train"),
            (
                "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA",
                "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            ),
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
        let e = super::super::gather(&r).unwrap_err();
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
            ("CI_COMMIT_SHA", "cccccccccccccccccccccccccccccccccccccccc"),
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
    fn bad_numbers_are_named() {
        let env = with(&[("CI_MERGE_REQUEST_IID", "seven")]);
        let e = request_from_env(&SourceOptions::default(), &env_of(&env)).unwrap_err();
        assert!(e.message.contains("CI_MERGE_REQUEST_IID"), "{e}");
        let env = with(&[("GATEHOUSE_GITLAB_TIMEOUT", "-1")]);
        assert!(request_from_env(&SourceOptions::default(), &env_of(&env)).is_err());
    }
}
