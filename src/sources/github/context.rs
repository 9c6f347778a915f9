//! Builds a [`GithubRequest`] for a GitHub Actions job from its
//! [`CiContext`] (see [`crate::sources::env`], which reads the variables and
//! the event payload) plus what only this source needs: the API URL, the
//! token, the team slugs and the limits.

use std::time::Duration;

use super::client::SOURCE;
use super::{GithubRequest, Limits, Token};
use crate::env_vars::{gatehouse as gh_vars, github as vars};
use crate::sources::env::{self, CiContext, Provider};
use crate::sources::{SourceError, SourceOptions};

/// Read a variable; the caller passes the process environment or a test map.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn seconds(env: Env<'_>, name: &str, default: Duration) -> Result<Duration, SourceError> {
    match env(name).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| {
                SourceError::new(
                    SOURCE,
                    format!(
                        "{name}=`{}` is not a number of seconds",
                        crate::sanitize::terminal_line(&v)
                    ),
                )
            }),
    }
}

/// The limits from `GATEHOUSE_GITHUB_TIMEOUT` and `GATEHOUSE_GITHUB_RATE_LIMIT_WAIT`.
pub fn limits(env: Env<'_>) -> Result<Limits, SourceError> {
    let default = Limits::default();
    Ok(Limits {
        request_timeout: seconds(
            env,
            gh_vars::GATEHOUSE_GITHUB_TIMEOUT,
            default.request_timeout,
        )?,
        rate_limit_wait: seconds(
            env,
            gh_vars::GATEHOUSE_GITHUB_RATE_LIMIT_WAIT,
            default.rate_limit_wait,
        )?,
    })
}

/// The request for this job. `teams` are the team slugs the policy names.
pub fn from_env(
    options: &SourceOptions,
    teams: Vec<String>,
    env: Env<'_>,
) -> Result<GithubRequest, SourceError> {
    let ctx = match &options.ci {
        Some(ctx) => ctx.clone(),
        None => env::detect(env)?.ok_or_else(|| {
            SourceError::new(SOURCE, "`--source github` runs inside a GitHub Actions job, and this is not one (GITHUB_ACTIONS is not `true`)")
                .hint("outside GitHub Actions, gate a checkout with `--source git`, or evaluate saved facts with `--facts FILE`")
        })?,
    };
    from_context(&ctx, options, teams, env)
}

/// The request for a known context.
pub fn from_context(
    ctx: &CiContext,
    options: &SourceOptions,
    teams: Vec<String>,
    env: Env<'_>,
) -> Result<GithubRequest, SourceError> {
    if ctx.provider != Provider::GithubActions {
        return Err(SourceError::new(
            SOURCE,
            format!(
                "`--source github` needs a GitHub Actions job, not {}",
                ctx.provider.as_str()
            ),
        ));
    }
    let repository = ctx.repository.as_ref().ok_or_else(|| {
        SourceError::new(SOURCE, "the job does not name its repository")
            .hint("GitHub Actions sets GITHUB_REPOSITORY; run gatehouse as a step of the job")
    })?;
    let head_sha = options
        .head
        .clone()
        .or_else(|| ctx.change.as_ref().map(|c| c.head.sha.clone()))
        .or_else(|| ctx.head_sha.clone())
        .ok_or_else(|| {
            SourceError::new(
                SOURCE,
                "the run has no head commit (a deleted ref): there is nothing to gate",
            )
        })?;
    let run_id = ctx.pipeline.as_ref().and_then(|p| p.id.parse::<u64>().ok());
    let token_var = options
        .github_token_env
        .clone()
        .unwrap_or_else(|| vars::GITHUB_TOKEN.to_string());
    Ok(GithubRequest {
        api_url: env(vars::GITHUB_API_URL)
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "https://api.github.com".to_string()),
        token: env(&token_var).filter(|t| !t.is_empty()).map(Token::new),
        host: repository.host.clone(),
        repo: repository.slug.clone(),
        event: ctx.event,
        git_ref: ctx.gated_ref.clone(),
        head_sha,
        base_sha: options
            .base
            .clone()
            .or_else(|| ctx.change.as_ref().map(|c| c.base.sha.clone()))
            .or_else(|| ctx.base_sha.clone()),
        pull_number: ctx.change.as_ref().map(|c| c.id),
        run_id,
        environment: options
            .environment
            .clone()
            .or_else(|| ctx.environment.clone()),
        actor: ctx.actor.clone(),
        requested_by: ctx
            .deployment_requested_by
            .clone()
            .or_else(|| ctx.actor.clone()),
        teams,
        pipeline: ctx.pipeline.clone(),
        limits: limits(env)?,
    })
}
