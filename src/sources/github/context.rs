//! Builds a [`GithubRequest`] for a GitHub Actions job from its environment
//! variables and event payload.
//!
//! Reads only what the request needs: the event name, ref, sha, repository,
//! run, actor, and from the payload the pull request number, a push's
//! `before` and a deployment's environment.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::client::SOURCE;
use super::{GithubRequest, Limits, Token};
use crate::env_vars::{gatehouse as gh_vars, github as vars};
use crate::facts::{EventKind, Pipeline};
use crate::sources::{SourceError, SourceOptions};

/// Read a variable; the caller passes `std::env::var` or a test map.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn required(env: Env<'_>, name: &str) -> Result<String, SourceError> {
    env(name).filter(|v| !v.is_empty()).ok_or_else(|| {
        SourceError::new(SOURCE, format!("{name} is not set"))
            .hint("`--source github` runs inside a GitHub Actions job, which sets it")
    })
}

fn seconds(env: Env<'_>, name: &str, default: Duration) -> Result<Duration, SourceError> {
    match env(name).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => v.trim().parse::<u64>().map(Duration::from_secs).map_err(|_| {
            SourceError::new(SOURCE, format!("{name}=`{}` is not a number of seconds", crate::sanitize::terminal_line(&v)))
        }),
    }
}

/// The limits from `GATEHOUSE_GITHUB_TIMEOUT` and `GATEHOUSE_GITHUB_RATE_LIMIT_WAIT`.
pub fn limits(env: Env<'_>) -> Result<Limits, SourceError> {
    let default = Limits::default();
    Ok(Limits {
        request_timeout: seconds(env, gh_vars::GATEHOUSE_GITHUB_TIMEOUT, default.request_timeout)?,
        rate_limit_wait: seconds(env, gh_vars::GATEHOUSE_GITHUB_RATE_LIMIT_WAIT, default.rate_limit_wait)?,
    })
}

fn event_kind(name: &str, environment: Option<&str>) -> Result<EventKind, SourceError> {
    Ok(match name {
        "pull_request" | "pull_request_target" | "pull_request_review" => EventKind::PullRequest,
        "merge_group" => EventKind::MergeGroup,
        "deployment" | "deployment_status" => EventKind::Deployment,
        // A job bound to an environment deploys, whatever started the workflow.
        _ if environment.is_some() => EventKind::Deployment,
        "push" | "workflow_dispatch" | "schedule" | "release" => EventKind::Push,
        other => {
            return Err(SourceError::new(
                SOURCE,
                format!("the `{}` event is not one gatehouse can gate", crate::sanitize::terminal_line(other)),
            )
            .hint("run the gate on pull_request, push, merge_group or deployment events, or pass --environment for a deploy job"));
        }
    })
}

fn read_payload(path: &str) -> Result<Value, SourceError> {
    let text = std::fs::read_to_string(Path::new(path)).map_err(|e| {
        SourceError::new(SOURCE, format!("cannot read the event payload {path}: {e}"))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        SourceError::new(SOURCE, format!("the event payload {path} is not valid JSON: {e}"))
    })
}

/// The request for this job. `teams` are the team slugs the policy names.
pub fn from_env(
    options: &SourceOptions,
    teams: Vec<String>,
    env: Env<'_>,
) -> Result<GithubRequest, SourceError> {
    let event_name = required(env, vars::GITHUB_EVENT_NAME)?;
    let repo = required(env, vars::GITHUB_REPOSITORY)?;
    let payload = match env(vars::GITHUB_EVENT_PATH).filter(|p| !p.is_empty()) {
        Some(path) => read_payload(&path)?,
        None => Value::Null,
    };
    let environment = options.environment.clone().or_else(|| {
        payload
            .pointer("/deployment/environment")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let event = event_kind(&event_name, environment.as_deref())?;
    let pull_number = match event {
        EventKind::PullRequest => Some(
            payload
                .pointer("/pull_request/number")
                .and_then(Value::as_u64)
                .ok_or_else(|| {
                    SourceError::new(SOURCE, format!("the {event_name} event payload has no `pull_request.number`"))
                })?,
        ),
        _ => None,
    };
    let head_sha = match (&options.head, event) {
        (Some(head), _) => head.clone(),
        (None, EventKind::MergeGroup) => payload
            .pointer("/merge_group/head_sha")
            .and_then(Value::as_str)
            .map_or_else(|| required(env, vars::GITHUB_SHA), |s| Ok(s.to_string()))?,
        (None, _) => required(env, vars::GITHUB_SHA)?,
    };
    let base_sha = options.base.clone().or_else(|| {
        let pointer = if event == EventKind::MergeGroup { "/merge_group/base_sha" } else { "/before" };
        payload.pointer(pointer).and_then(Value::as_str).map(str::to_string)
    });
    let run_id = env(vars::GITHUB_RUN_ID).and_then(|r| r.parse::<u64>().ok());
    let server = env(vars::GITHUB_SERVER_URL).unwrap_or_else(|| "https://github.com".to_string());
    let host = server
        .split_once("://")
        .map_or(server.as_str(), |(_, rest)| rest)
        .trim_end_matches('/')
        .to_string();
    let token_var = options
        .github_token_env
        .clone()
        .unwrap_or_else(|| vars::GITHUB_TOKEN.to_string());
    Ok(GithubRequest {
        api_url: env(vars::GITHUB_API_URL)
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "https://api.github.com".to_string()),
        token: env(&token_var).filter(|t| !t.is_empty()).map(Token::new),
        host,
        git_ref: env(vars::GITHUB_REF).unwrap_or_default(),
        head_sha,
        base_sha,
        pull_number,
        run_id,
        environment,
        actor: env(vars::GITHUB_ACTOR),
        teams,
        pipeline: run_id.map(|id| Pipeline {
            provider: "github-actions".to_string(),
            id: id.to_string(),
            url: Some(format!("{}/{repo}/actions/runs/{id}", server.trim_end_matches('/'))),
            job: env(vars::GITHUB_JOB),
        }),
        repo,
        event,
        limits: limits(env)?,
    })
}
