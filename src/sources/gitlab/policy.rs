//! The policy of a merge request's base commit, read through the API
//! (DESIGN.md principle 3: the checkout of a merge request pipeline is the
//! change under review, so it cannot supply its own gate).

use std::path::{Component, Path};

use super::client::Api;
use super::request::request_from_env;
use super::{SOURCE, map, model, refuse_job_token, runtime};
use crate::env_vars::gitlab as ci;
use crate::facts;
use crate::sources::{SourceError, SourceOptions};

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
    explicit: Option<&Path>,
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
fn repository_path(path: &Path, project_dir: Option<&str>) -> Result<Option<String>, SourceError> {
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
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_paths_are_repository_paths() {
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
}
