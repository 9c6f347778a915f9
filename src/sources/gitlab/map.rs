//! GitLab's model onto Facts. Pure functions, so every mapping decision is
//! unit-tested against GitLab's documented example responses. The README's
//! "GitLab → Facts mapping" describes the same choices for users.

use base64::Engine as _;

use super::{DeploymentTarget, SOURCE, model};
use crate::facts::{self, ApprovalState, FileStatus, ReviewState};
use crate::sources::SourceError;

/// The merge request as a Facts change.
///
/// Approvals: GitLab lists who currently approves, not on which commit. When
/// the project resets approvals on push, every current approval was given on
/// the current head, so it is recorded on `mr.sha`; otherwise it may be older
/// and is recorded without a commit (a rule asking for approvals of the head
/// then does not count it). The time is GitLab's `approved_at` when it says
/// it, else the approvals' `updated_at` (the latest approval change: an upper
/// bound).
pub fn change(
    mr: &model::MergeRequest,
    approvals: &model::MergeRequestApprovals,
    settings: Option<&model::ProjectApprovalSettings>,
    files: Vec<facts::ChangedFile>,
) -> Result<facts::Change, SourceError> {
    let diff_refs = mr.diff_refs.as_ref().ok_or_else(|| {
        SourceError::new(
            SOURCE,
            format!(
                "merge request !{} has no diff refs yet (GitLab is still preparing it)",
                mr.iid
            ),
        )
        .hint("retry the job in a moment")
    })?;
    if diff_refs.head_sha != mr.sha {
        return Err(SourceError::new(
            SOURCE,
            format!(
                "merge request !{} reports head {} but its diff is of {}",
                mr.iid,
                facts::short_sha(&mr.sha),
                facts::short_sha(&diff_refs.head_sha)
            ),
        )
        .hint("GitLab is still updating the merge request; retry the job"));
    }
    let on_head = settings.is_some_and(|s| s.reset_approvals_on_push);
    let reviews = approvals
        .approved_by
        .iter()
        .map(|a| facts::Review {
            author: a.user.username.clone(),
            state: ReviewState::Approved,
            commit: on_head.then(|| mr.sha.clone()),
            submitted_at: a.approved_at.unwrap_or(approvals.updated_at),
            author_is_bot: is_bot(&a.user),
        })
        .collect();
    Ok(facts::Change {
        id: mr.iid,
        title: mr.title.clone(),
        author: mr.author.username.clone(),
        draft: mr.draft.or(mr.work_in_progress).unwrap_or(false),
        base: facts::ChangeRef {
            name: mr.target_branch.clone(),
            sha: diff_refs.base_sha.clone(),
        },
        head: facts::ChangeRef {
            name: mr.source_branch.clone(),
            sha: mr.sha.clone(),
        },
        labels: mr.labels.clone(),
        files,
        reviews,
    })
}

/// GitLab marks bots with `bot: true` on newer versions; project and group
/// access tokens act as users named `project_<id>_bot…` / `group_<id>_bot…`.
fn is_bot(user: &model::User) -> bool {
    if let Some(bot) = user.bot {
        return bot;
    }
    let name = user.username.as_str();
    ["project_", "group_"].iter().any(|prefix| {
        name.strip_prefix(prefix).is_some_and(|rest| {
            let digits = rest.chars().take_while(char::is_ascii_digit).count();
            digits > 0 && rest[digits..].starts_with("_bot")
        })
    })
}

/// A commit from the single-commit endpoint (which has the parents).
pub fn commit(requested: &str, c: &model::Commit) -> Result<facts::Commit, SourceError> {
    if c.id != requested {
        return Err(SourceError::new(
            SOURCE,
            format!("asked GitLab for commit {requested} and got {}", c.id),
        ));
    }
    let parents = c.parent_ids.clone().ok_or_else(|| {
        SourceError::new(
            SOURCE,
            format!("commit {}: GitLab did not list its parents", c.id),
        )
    })?;
    Ok(facts::Commit {
        sha: c.id.clone(),
        parents,
        author: facts::Identity {
            name: c.author_name.clone(),
            email: c.author_email.clone(),
            login: None,
            time: c.authored_date,
        },
        committer: facts::Identity {
            name: c.committer_name.clone(),
            email: c.committer_email.clone(),
            login: None,
            time: c.committed_date,
        },
        // git's own trailer rules, as for a local repository.
        trailers: crate::trailers::parse(&c.message),
        message: c.message.clone(),
        signature: None,
        author_is_bot: false,
    })
}

/// One file of the merge request's diff, with its added and removed lines
/// counted from the diff text (GitLab's diff API gives no counts).
pub fn changed_file(d: &model::Diff) -> Result<facts::ChangedFile, SourceError> {
    if d.too_large == Some(true) || d.collapsed == Some(true) {
        return Err(SourceError::new(
            SOURCE,
            format!(
                "GitLab left out the diff of {} (too large or collapsed), so its line counts are unknown",
                d.new_path
            ),
        )
        .hint("GitLab's diff limits are instance settings (Admin → Settings → General → Diff limits)"));
    }
    let (status, previous_path) = if d.new_file {
        (FileStatus::Added, None)
    } else if d.deleted_file {
        (FileStatus::Removed, None)
    } else if d.renamed_file {
        (FileStatus::Renamed, Some(d.old_path.clone()))
    } else {
        (FileStatus::Modified, None)
    };
    let (mut additions, mut deletions) = (0, 0);
    for line in d.diff.lines() {
        // GitLab's diff text starts at the first hunk: no `---`/`+++` headers.
        if line.starts_with('+') {
            additions += 1;
        } else if line.starts_with('-') {
            deletions += 1;
        }
    }
    Ok(facts::ChangedFile {
        path: if d.deleted_file {
            d.old_path.clone()
        } else {
            d.new_path.clone()
        },
        previous_path,
        status,
        additions,
        deletions,
    })
}

/// A commit status (every CI job is one) as a check, in the vocabulary the
/// Facts model shares with GitHub.
pub fn check(s: &model::CommitStatus) -> facts::Check {
    let (status, conclusion) = match s.status.as_str() {
        "success" => ("completed", Some("success")),
        // A job allowed to fail does not fail the pipeline.
        "failed" if s.allow_failure => ("completed", Some("neutral")),
        "failed" => ("completed", Some("failure")),
        "canceled" => ("completed", Some("cancelled")),
        "skipped" => ("completed", Some("skipped")),
        "running" => ("in_progress", None),
        "manual" | "scheduled" => ("waiting", None),
        "created" | "pending" | "preparing" | "waiting_for_resource" => ("queued", None),
        _ => ("unknown", None),
    };
    facts::Check {
        name: s.name.clone(),
        status: status.to_string(),
        conclusion: conclusion.map(str::to_string),
        commit: s.sha.clone(),
        app: Some("gitlab-ci".to_string()),
    }
}

/// Members who can act: GitLab keeps blocked and deactivated users listed.
pub fn active_usernames(members: &[model::Member]) -> Vec<String> {
    members
        .iter()
        .filter(|m| m.state == "active")
        .map(|m| m.username.clone())
        .collect()
}

/// The text file found at `path` (CODEOWNERS, or the policy): the path is
/// the one asked for (GitLab's `file_path` says the same, but the request is
/// what was checked).
pub fn codeowners(
    path: &str,
    file: &model::RepositoryFile,
) -> Result<facts::Codeowners, SourceError> {
    if file.encoding != "base64" {
        return Err(SourceError::new(
            SOURCE,
            format!(
                "{}: unexpected encoding `{}` (expected base64)",
                file.file_path, file.encoding
            ),
        ));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(file.content.as_bytes())
        .map_err(|e| {
            SourceError::new(
                SOURCE,
                format!("{}: content is not valid base64: {e}", file.file_path),
            )
        })?;
    let content = String::from_utf8(bytes).map_err(|_| {
        SourceError::new(SOURCE, format!("{}: content is not UTF-8", file.file_path))
    })?;
    Ok(facts::Codeowners {
        path: path.to_string(),
        content,
    })
}

/// The deployment a deploy job belongs to: the one whose job is this job,
/// else the one created by this pipeline for the environment.
pub fn find_deployment(
    list: &[model::Deployment],
    target: &DeploymentTarget,
) -> Result<u64, SourceError> {
    let env = &target.environment;
    let of_env = || list.iter().filter(|d| &d.environment.name == env);
    if let Some(job) = target.job_id
        && let Some(d) = of_env().find(|d| d.deployable.as_ref().is_some_and(|j| j.id == job))
    {
        return Ok(d.id);
    }
    if let Some(pipeline) = target.pipeline_id {
        let mut found = of_env().filter(|d| {
            d.deployable
                .as_ref()
                .and_then(|j| j.pipeline.as_ref())
                .is_some_and(|p| p.id == pipeline)
        });
        if let Some(first) = found.next() {
            if found.next().is_some() {
                return Err(SourceError::new(
                    SOURCE,
                    format!("pipeline {pipeline} has several deployments to {env}; cannot tell which one this job gates"),
                )
                .hint("run the gate inside the deploy job itself, so its job id identifies the deployment"));
            }
            return Ok(first.id);
        }
    }
    Err(SourceError::new(
        SOURCE,
        format!(
            "no deployment to {env} belongs to this job{}{}",
            target.job_id.map(|j| format!(" (job {j})")).unwrap_or_default(),
            target
                .pipeline_id
                .map(|p| format!(" or pipeline {p}"))
                .unwrap_or_default()
        ),
    )
    .hint("the deploy job needs `environment: name:` in .gitlab-ci.yml; run the gate in that job or in the same pipeline"))
}

/// The deployment with its approvals and the project's freeze periods.
///
/// When the environment is protected with approval rules, GitLab must list
/// the deployment's approvals (Premium); a body without them is an error,
/// never "no approvals".
pub fn deployment(
    d: &model::Deployment,
    protection: Option<&model::ProtectedEnvironment>,
    freeze: &[model::FreezePeriod],
    environment: &str,
    head_sha: &str,
) -> Result<facts::Deployment, SourceError> {
    if d.environment.name != environment {
        return Err(SourceError::new(
            SOURCE,
            format!(
                "deployment {} is to {}, not {environment}",
                d.id, d.environment.name
            ),
        ));
    }
    if d.sha != head_sha {
        return Err(SourceError::new(
            SOURCE,
            format!(
                "deployment {} deploys {}, but this job gates {}",
                d.id,
                facts::short_sha(&d.sha),
                facts::short_sha(head_sha)
            ),
        ));
    }
    let needs_approval = protection.is_some_and(|p| {
        p.required_approval_count > 0 || p.approval_rules.iter().any(|r| r.required_approvals > 0)
    });
    // `approvals` lists each approval once; with several approval rules
    // GitLab also (or only) lists them per rule in `approval_summary`, where
    // one person's approval may count for more than one rule.
    let listed: Option<Vec<model::DeploymentApproval>> = d.approvals.clone().or_else(|| {
        d.approval_summary.as_ref().map(|summary| {
            let mut seen = std::collections::BTreeSet::new();
            summary
                .rules
                .iter()
                .flat_map(|r| r.deployment_approvals.iter())
                .filter(|a| seen.insert((a.user.username.clone(), a.created_at)))
                .cloned()
                .collect()
        })
    });
    let approvals = match (&listed, needs_approval) {
        (Some(list), _) => list
            .iter()
            .map(|a| {
                let state = ApprovalState::from_api(&a.status).ok_or_else(|| {
                    SourceError::new(
                        SOURCE,
                        format!(
                            "deployment {}: approval by {} has unknown status `{}`",
                            d.id, a.user.username, a.status
                        ),
                    )
                })?;
                Ok(facts::DeploymentApproval {
                    by: a.user.username.clone(),
                    state,
                    at: a.created_at,
                    comment: a.comment.clone(),
                })
            })
            .collect::<Result<Vec<_>, SourceError>>()?,
        (None, true) => {
            return Err(SourceError::new(
                SOURCE,
                format!(
                    "environment {environment} requires deployment approvals, but GitLab did not return the approvals of deployment {}",
                    d.id
                ),
            )
            .hint("deployment approvals need GitLab Premium and a token with the `read_api` scope"));
        }
        (None, false) => Vec::new(),
    };
    Ok(facts::Deployment {
        environment: d.environment.name.clone(),
        requested_by: d.user.as_ref().map(|u| u.username.clone()),
        approvals,
        freeze_periods: freeze
            .iter()
            .map(|f| facts::FreezePeriod {
                start: f.freeze_start.clone(),
                end: f.freeze_end.clone(),
                timezone: f.cron_timezone.clone(),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
        let path = format!("{}/fixtures/gitlab/rest/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    /// deployments.get.json with the documented approvals fragment merged in.
    fn approved_deployment() -> model::Deployment {
        let mut d: serde_json::Value = fixture("deployments.get.json");
        let fragment: serde_json::Value = fixture("deployments.update.approvals_fragment.json");
        for (k, v) in fragment.as_object().unwrap() {
            d[k] = v.clone();
        }
        serde_json::from_value(d).unwrap()
    }

    #[test]
    fn approvals_are_on_the_head_only_when_gitlab_resets_them_on_push() {
        let mr: model::MergeRequest = fixture("merge_requests.get.json");
        let approvals: model::MergeRequestApprovals =
            fixture("merge_request_approvals.approvals.json");
        let settings: model::ProjectApprovalSettings =
            fixture("merge_request_approvals.project_config.json");
        let c = change(&mr, &approvals, Some(&settings), Vec::new()).unwrap();
        assert_eq!(c.reviews.len(), 1);
        assert_eq!(c.reviews[0].author, "root");
        assert_eq!(c.reviews[0].state, ReviewState::Approved);
        assert_eq!(c.reviews[0].commit.as_deref(), Some(mr.sha.as_str()));
        assert_eq!(c.reviews[0].submitted_at, approvals.updated_at);
        assert_eq!(c.base.sha, "1162f719d711319a2efb2a35566f3bfdadee8bab");
        assert_eq!(c.head.name, "manual-job-rules");

        let c = change(&mr, &approvals, None, Vec::new()).unwrap();
        assert_eq!(c.reviews[0].commit, None);
    }

    #[test]
    fn token_bots_are_recognised() {
        let user = |name: &str| model::User {
            username: name.into(),
            bot: None,
        };
        assert!(is_bot(&user("project_6_bot")));
        assert!(is_bot(&user("group_12_bot_3f2a")));
        assert!(!is_bot(&user("project_manager")));
        assert!(!is_bot(&user("root")));
    }

    #[test]
    fn diff_lines_are_counted() {
        let diffs: Vec<model::Diff> = fixture("merge_requests.diffs.json");
        let files: Vec<_> = diffs.iter().map(|d| changed_file(d).unwrap()).collect();
        assert_eq!(files[0].path, "README");
        assert_eq!((files[0].additions, files[0].deletions), (1, 1));
        assert_eq!(files[0].status, FileStatus::Modified);
    }

    #[test]
    fn a_diff_gitlab_left_out_is_an_error() {
        let mut diffs: Vec<model::Diff> = fixture("merge_requests.diffs.json");
        diffs[0].too_large = Some(true);
        assert!(changed_file(&diffs[0]).is_err());
    }

    #[test]
    fn trailers_follow_git() {
        let mut c: model::Commit = fixture("commits.get.json");
        c.message = "Subject\n\nBody text.\n\nSigned-off-by: A <a@x>\nCc: B <b@x>\n".into();
        let t = commit(&c.id.clone(), &c).unwrap().trailers;
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].key, "Cc");
        // commits.list.json's second entry: trailers in the body's only
        // paragraph after the subject line, which git does not read as a
        // trailer block (no blank line before it).
        c.message = "Sanitize for network graph\nCc: John Doe <johndoe@gitlab.com>".into();
        assert!(commit(&c.id.clone(), &c).unwrap().trailers.is_empty());
    }

    #[test]
    fn statuses_map_to_checks() {
        let statuses: Vec<model::CommitStatus> = fixture("commits.statuses.json");
        let checks: Vec<_> = statuses.iter().map(check).collect();
        assert_eq!(checks[0].name, "bundler:audit");
        assert_eq!(checks[0].status, "queued");
        let mut failed = statuses[0].clone();
        failed.status = "failed".into();
        assert_eq!(check(&failed).conclusion.as_deref(), Some("neutral"));
        failed.allow_failure = false;
        assert_eq!(check(&failed).conclusion.as_deref(), Some("failure"));
    }

    #[test]
    fn deployment_approvals_and_freezes_are_mapped() {
        let d = approved_deployment();
        let protection: model::ProtectedEnvironment =
            fixture("protected_environments.create.with_approval_rules.json");
        let freeze: Vec<model::FreezePeriod> = fixture("freeze_periods.list.json");
        let f = deployment(&d, Some(&protection), &freeze, "production", &d.sha).unwrap();
        assert_eq!(f.requested_by.as_deref(), Some("root"));
        assert_eq!(f.approvals.len(), 1);
        assert_eq!(f.approvals[0].by, "project_6_bot");
        assert_eq!(f.approvals[0].state, ApprovalState::Approved);
        assert_eq!(f.freeze_periods[0].start, "0 23 * * 5");
        assert_eq!(f.freeze_periods[0].timezone, "UTC");
    }

    #[test]
    fn approvals_are_read_from_the_per_rule_summary_too() {
        let mut d: serde_json::Value = fixture("deployments.get.json");
        let fragment: serde_json::Value = fixture("deployments.get.approval_summary_fragment.json");
        d["approval_summary"] = fragment["approval_summary"].clone();
        let d: model::Deployment = serde_json::from_value(d).unwrap();
        let protection: model::ProtectedEnvironment =
            fixture("protected_environments.create.with_approval_rules.json");
        let f = deployment(&d, Some(&protection), &[], "production", &d.sha).unwrap();
        assert_eq!(f.approvals.len(), 1);
        assert_eq!(f.approvals[0].by, "security-user-1");
    }

    #[test]
    fn missing_approvals_of_a_protected_environment_are_an_error() {
        let d: model::Deployment = fixture("deployments.get.json");
        let protection: model::ProtectedEnvironment =
            fixture("protected_environments.create.with_approval_rules.json");
        let e = deployment(&d, Some(&protection), &[], "production", &d.sha).unwrap_err();
        assert!(e.message.contains("requires deployment approvals"), "{e}");
        // Unprotected, or protected without approval rules: no approvals needed.
        let plain: model::ProtectedEnvironment = fixture("protected_environments.get.json");
        assert!(deployment(&d, Some(&plain), &[], "production", &d.sha).is_ok());
        assert!(deployment(&d, None, &[], "production", &d.sha).is_ok());
    }

    #[test]
    fn the_deployment_of_this_job_is_found() {
        let list: Vec<model::Deployment> = fixture("deployments.list.json");
        let target = |job, pipeline| DeploymentTarget {
            environment: "production".into(),
            deployment_id: None,
            job_id: job,
            pipeline_id: pipeline,
        };
        assert_eq!(
            find_deployment(&list, &target(Some(664), None)).unwrap(),
            42
        );
        assert_eq!(find_deployment(&list, &target(None, Some(36))).unwrap(), 41);
        assert!(find_deployment(&list, &target(Some(1), Some(1))).is_err());
    }

    #[test]
    fn codeowners_content_is_decoded_and_bad_base64_is_an_error() {
        let mut file: model::RepositoryFile = fixture("repository_files.get.json");
        // The docs' example content is truncated (`…...`), which must not pass.
        assert!(codeowners("CODEOWNERS", &file).is_err());
        file.content = base64::engine::general_purpose::STANDARD.encode("* @acme/sre\n");
        let found = codeowners(".gitlab/CODEOWNERS", &file).unwrap();
        assert_eq!(found.content, "* @acme/sre\n");
        assert_eq!(found.path, ".gitlab/CODEOWNERS");
    }
}
