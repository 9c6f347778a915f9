//! Every environment variable gatehouse reads, as a named, documented constant.
//! One place to see what the program takes from its environment.

/// Variables of gatehouse itself.
pub mod gatehouse {
    /// Disables colour in every output when set to a non-empty value.
    pub const NO_COLOR: &str = "NO_COLOR";
    /// The Ed25519 audit signing key itself (OpenSSH private key text). Never logged.
    pub const GATEHOUSE_AUDIT_KEY: &str = "GATEHOUSE_AUDIT_KEY";
    /// Why a deployment invokes a rule's break-glass override.
    pub const GATEHOUSE_OVERRIDE_REASON: &str = "GATEHOUSE_OVERRIDE_REASON";
    /// A GitLab API token with `read_api` scope (preferred over `CI_JOB_TOKEN`). Never logged.
    pub const GATEHOUSE_GITLAB_TOKEN: &str = "GATEHOUSE_GITLAB_TOKEN";
    /// Seconds one GitLab API request may take before it counts as failed (default 30).
    pub const GATEHOUSE_GITLAB_TIMEOUT: &str = "GATEHOUSE_GITLAB_TIMEOUT";
    /// Seconds each GitHub API request may take (default 30).
    pub const GATEHOUSE_GITHUB_TIMEOUT: &str = "GATEHOUSE_GITHUB_TIMEOUT";
    /// Seconds a run may spend, in total, waiting for GitHub rate limits to
    /// reset before it gives up (exit 3; default 120).
    pub const GATEHOUSE_GITHUB_RATE_LIMIT_WAIT: &str = "GATEHOUSE_GITHUB_RATE_LIMIT_WAIT";
    /// Milliseconds one attempt of an `https://` audit sink may take (default 10000).
    pub const GATEHOUSE_AUDIT_HTTP_TIMEOUT_MS: &str = "GATEHOUSE_AUDIT_HTTP_TIMEOUT_MS";
}

/// Variables set by GitHub Actions
/// (<https://docs.github.com/en/actions/reference/variables-reference>).
pub mod github {
    /// `true` on a GitHub Actions runner.
    pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
    /// The event that triggered the workflow (`pull_request`, `push`, …).
    pub const GITHUB_EVENT_NAME: &str = "GITHUB_EVENT_NAME";
    /// Path of the JSON file holding the full event payload.
    pub const GITHUB_EVENT_PATH: &str = "GITHUB_EVENT_PATH";
    /// The full ref that triggered the run (`refs/heads/main`, `refs/pull/42/merge`).
    pub const GITHUB_REF: &str = "GITHUB_REF";
    /// The commit that triggered the run.
    pub const GITHUB_SHA: &str = "GITHUB_SHA";
    /// The target branch of a pull request (pull_request events only).
    pub const GITHUB_BASE_REF: &str = "GITHUB_BASE_REF";
    /// The source branch of a pull request (pull_request events only).
    pub const GITHUB_HEAD_REF: &str = "GITHUB_HEAD_REF";
    /// The login that triggered the run.
    pub const GITHUB_ACTOR: &str = "GITHUB_ACTOR";
    /// `owner/name` of the repository.
    pub const GITHUB_REPOSITORY: &str = "GITHUB_REPOSITORY";
    /// `https://github.com`, or the GitHub Enterprise Server URL.
    pub const GITHUB_SERVER_URL: &str = "GITHUB_SERVER_URL";
    /// The REST API base URL (`https://api.github.com`).
    pub const GITHUB_API_URL: &str = "GITHUB_API_URL";
    /// The GraphQL endpoint (`https://api.github.com/graphql`).
    pub const GITHUB_GRAPHQL_URL: &str = "GITHUB_GRAPHQL_URL";
    /// The workflow run id.
    pub const GITHUB_RUN_ID: &str = "GITHUB_RUN_ID";
    /// The attempt number of the run.
    pub const GITHUB_RUN_ATTEMPT: &str = "GITHUB_RUN_ATTEMPT";
    /// The job id of the current job.
    pub const GITHUB_JOB: &str = "GITHUB_JOB";
    /// The default token name; its value is never logged.
    pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
    /// File the Markdown job summary is appended to.
    pub const GITHUB_STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";
    /// File step outputs are appended to.
    pub const GITHUB_OUTPUT: &str = "GITHUB_OUTPUT";
}

/// Variables set by GitLab CI
/// (<https://docs.gitlab.com/ci/variables/predefined_variables/>).
pub mod gitlab {
    /// `true` in a GitLab CI job.
    pub const GITLAB_CI: &str = "GITLAB_CI";
    /// How the pipeline was triggered (`merge_request_event`, `push`, …).
    pub const CI_PIPELINE_SOURCE: &str = "CI_PIPELINE_SOURCE";
    /// The commit the pipeline runs on.
    pub const CI_COMMIT_SHA: &str = "CI_COMMIT_SHA";
    /// The branch or tag name the pipeline runs for.
    pub const CI_COMMIT_REF_NAME: &str = "CI_COMMIT_REF_NAME";
    /// The branch name (branch pipelines only).
    pub const CI_COMMIT_BRANCH: &str = "CI_COMMIT_BRANCH";
    /// The tag name (tag pipelines only).
    pub const CI_COMMIT_TAG: &str = "CI_COMMIT_TAG";
    /// The commit before the push (`0000…` for a new branch).
    pub const CI_COMMIT_BEFORE_SHA: &str = "CI_COMMIT_BEFORE_SHA";
    /// The base of a merge request's diff.
    pub const CI_MERGE_REQUEST_DIFF_BASE_SHA: &str = "CI_MERGE_REQUEST_DIFF_BASE_SHA";
    /// The project-level id of the merge request.
    pub const CI_MERGE_REQUEST_IID: &str = "CI_MERGE_REQUEST_IID";
    /// The title of the merge request.
    pub const CI_MERGE_REQUEST_TITLE: &str = "CI_MERGE_REQUEST_TITLE";
    /// The merge request's target branch.
    pub const CI_MERGE_REQUEST_TARGET_BRANCH_NAME: &str = "CI_MERGE_REQUEST_TARGET_BRANCH_NAME";
    /// The merge request's source branch.
    pub const CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: &str = "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME";
    /// The merge request's labels, comma-separated.
    pub const CI_MERGE_REQUEST_LABELS: &str = "CI_MERGE_REQUEST_LABELS";
    /// `detached`, `merged_result` or `merge_train`.
    pub const CI_MERGE_REQUEST_EVENT_TYPE: &str = "CI_MERGE_REQUEST_EVENT_TYPE";
    /// The source branch's head commit (merged results and merge train pipelines only).
    pub const CI_MERGE_REQUEST_SOURCE_BRANCH_SHA: &str = "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA";
    /// A snapshot from pipeline creation; never trusted as an approval.
    pub const CI_MERGE_REQUEST_APPROVED: &str = "CI_MERGE_REQUEST_APPROVED";
    /// The environment of a deploy job.
    pub const CI_ENVIRONMENT_NAME: &str = "CI_ENVIRONMENT_NAME";
    /// The username of who started the pipeline.
    pub const GITLAB_USER_LOGIN: &str = "GITLAB_USER_LOGIN";
    /// The pipeline's web URL.
    pub const CI_PIPELINE_URL: &str = "CI_PIPELINE_URL";
    /// The pipeline's instance-wide id.
    pub const CI_PIPELINE_ID: &str = "CI_PIPELINE_ID";
    /// The job's name.
    pub const CI_JOB_NAME: &str = "CI_JOB_NAME";
    /// The job's instance-wide id.
    pub const CI_JOB_ID: &str = "CI_JOB_ID";
    /// The job token; it cannot read approvals. Never logged.
    pub const CI_JOB_TOKEN: &str = "CI_JOB_TOKEN";
    /// The REST API base URL (`https://gitlab.example.com/api/v4`).
    pub const CI_API_V4_URL: &str = "CI_API_V4_URL";
    /// `group/project` of the project.
    pub const CI_PROJECT_PATH: &str = "CI_PROJECT_PATH";
    /// The numeric project id.
    pub const CI_PROJECT_ID: &str = "CI_PROJECT_ID";
    /// Where the runner checked the repository out.
    pub const CI_PROJECT_DIR: &str = "CI_PROJECT_DIR";
    /// The GitLab host name.
    pub const CI_SERVER_HOST: &str = "CI_SERVER_HOST";
    /// The project's default branch.
    pub const CI_DEFAULT_BRANCH: &str = "CI_DEFAULT_BRANCH";
}
