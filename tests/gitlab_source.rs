//! The GitLab source against a local mock of the REST API (wiremock)
//! replaying GitLab's documented example responses from
//! `fixtures/gitlab/rest/` (CC BY-SA 4.0, see the README there). The binary
//! runs as a subprocess pointed at the mock through `CI_API_V4_URL`, with the
//! CI variables of a merge request pipeline or a deploy job.

mod common;

use std::time::Duration;

use common::{fixture, root};
use gatehouse::sources::gitlab::{self, DeploymentTarget, GitlabRequest, Token, TokenKind};
use serde_json::Value;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PROJECT: &str = "/api/v4/projects/acme%2Fapi";
const MR_HEAD: &str = "e82eb4a098e32c796079ca3915e07487fc4db24c";
const MR_BASE: &str = "1162f719d711319a2efb2a35566f3bfdadee8bab";
const DEPLOYED: &str = "a91957a858320c0e17f3a0eca7cfacbff50ea29a";
const SECRET: &str = "glpat-s3cr3t-never-shown";

/// Every variable the source reads, so the machine's own never leak in.
const CI_VARS: &[&str] = &[
    "GATEHOUSE_GITLAB_TOKEN",
    "GATEHOUSE_GITLAB_TIMEOUT",
    "CI_JOB_TOKEN",
    "CI_API_V4_URL",
    "CI_PROJECT_PATH",
    "CI_PROJECT_ID",
    "CI_SERVER_HOST",
    "CI_DEFAULT_BRANCH",
    "CI_PIPELINE_SOURCE",
    "CI_MERGE_REQUEST_IID",
    "CI_MERGE_REQUEST_DIFF_BASE_SHA",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
    "CI_MERGE_REQUEST_TITLE",
    "CI_MERGE_REQUEST_LABELS",
    "CI_COMMIT_BEFORE_SHA",
    "CI_MERGE_REQUEST_EVENT_TYPE",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA",
    "CI_MERGE_REQUEST_APPROVED",
    "CI_COMMIT_SHA",
    "CI_COMMIT_BRANCH",
    "CI_COMMIT_TAG",
    "CI_COMMIT_REF_NAME",
    "CI_ENVIRONMENT_NAME",
    "CI_PIPELINE_ID",
    "CI_PIPELINE_URL",
    "CI_JOB_ID",
    "CI_JOB_NAME",
    "GITLAB_USER_LOGIN",
];

fn body(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture(&format!("gitlab/rest/{name}"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn json(value: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(value)
}

/// A mock GitLab with its own runtime (the binary under test is a blocking subprocess).
struct Gitlab {
    rt: tokio::runtime::Runtime,
    server: MockServer,
}

impl Gitlab {
    fn new() -> Gitlab {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = rt.block_on(MockServer::start());
        Gitlab { rt, server }
    }

    fn api(&self) -> String {
        format!("{}/api/v4", self.server.uri())
    }

    fn get(&self, p: &str, response: ResponseTemplate) {
        self.mount(
            Mock::given(method("GET")).and(path(p.to_string())),
            response,
        );
    }

    fn mount(&self, mock: wiremock::MockBuilder, response: ResponseTemplate) {
        self.rt
            .block_on(mock.respond_with(response).mount(&self.server));
    }

    fn requests(&self) -> Vec<wiremock::Request> {
        self.rt
            .block_on(self.server.received_requests())
            .unwrap_or_default()
    }

    /// The documented bodies of a merge request pipeline for !133.
    fn merge_request(&self) {
        let mr = format!("{PROJECT}/merge_requests/133");
        self.get(&mr, json(body("merge_requests.get.json")));
        self.get(
            &format!("{mr}/approvals"),
            json(body("merge_request_approvals.approvals.json")),
        );
        self.get(
            &format!("{PROJECT}/approvals"),
            json(body("merge_request_approvals.project_config.json")),
        );
        self.get(
            &format!("{mr}/commits"),
            json(body("merge_requests.commits.json")),
        );
        // The single-commit bodies (the merge request's list has no
        // parents): GitLab's single-commit example for 6104942, and the first
        // entry of its commit-list example for ed899a2 (a full commit object;
        // the list's second entry lacks the dates, so it is not used).
        self.get(
            &format!("{PROJECT}/repository/commits/6104942438c14ec7bd21c6cd5bd995272b3faff6"),
            json(body("commits.get.json")),
        );
        let listed = body("commits.list.json");
        assert_eq!(listed[0]["id"], "ed899a2f4b50b4370feeea94676502b42383c746");
        self.get(
            &format!("{PROJECT}/repository/commits/ed899a2f4b50b4370feeea94676502b42383c746"),
            json(listed[0].clone()),
        );
        self.get(
            &format!("{mr}/diffs"),
            json(body("merge_requests.diffs.json")),
        );
        self.get(
            &format!("{PROJECT}/repository/commits/{MR_HEAD}/statuses"),
            json(body("commits.statuses.json")),
        );
        // GitLab looks at CODEOWNERS, docs/CODEOWNERS, .gitlab/CODEOWNERS;
        // only the last exists here (the others answer 404, the mock's
        // default). The docs' example content is truncated, so it carries
        // our own base64 content, as the fixtures' README suggests.
        let mut file = body("repository_files.get.json");
        file["file_path"] = ".gitlab/CODEOWNERS".into();
        file["content"] = "KiBAYWNtZS9zcmUKL2luZnJhLyBAYWNtZS9wbGF0Zm9ybQo=".into();
        self.mount(
            Mock::given(method("GET"))
                .and(path(format!(
                    "{PROJECT}/repository/files/.gitlab%2FCODEOWNERS"
                )))
                .and(query_param("ref", "main")),
            json(file),
        );
        // The policy, at the merge request's diff base commit only.
        self.file_at_base(
            "fixtures%2Fpolicies%2Fspine.toml",
            &std::fs::read_to_string(fixture("policies/spine.toml")).unwrap(),
        );
    }

    /// Serve `text` as the repository file `encoded_path` at the MR's base
    /// commit, in GitLab's documented file body (content replaced, as the
    /// fixtures' README says).
    fn file_at_base(&self, encoded_path: &str, text: &str) {
        use base64::Engine as _;
        let mut file = body("repository_files.get.json");
        file["file_path"] = encoded_path.replace("%2F", "/").into();
        file["content"] = base64::engine::general_purpose::STANDARD
            .encode(text)
            .into();
        self.mount(
            Mock::given(method("GET"))
                .and(path(format!("{PROJECT}/repository/files/{encoded_path}")))
                .and(query_param("ref", MR_BASE)),
            json(file),
        );
    }
}

fn mr_env(cmd: &mut assert_cmd::Command, api: &str) {
    for var in CI_VARS {
        cmd.env_remove(var);
    }
    cmd.env("GITLAB_CI", "true")
        .env("CI_API_V4_URL", api)
        .env("CI_PROJECT_PATH", "acme/api")
        .env("CI_SERVER_HOST", "gitlab.example.com")
        .env("CI_DEFAULT_BRANCH", "main")
        .env("CI_PIPELINE_SOURCE", "merge_request_event")
        .env("CI_MERGE_REQUEST_IID", "133")
        .env("CI_MERGE_REQUEST_DIFF_BASE_SHA", MR_BASE)
        .env("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main")
        .env("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "manual-job-rules")
        .env("CI_MERGE_REQUEST_TITLE", "Manual job rules")
        .env("CI_COMMIT_SHA", MR_HEAD)
        .env("CI_COMMIT_REF_NAME", "manual-job-rules")
        .env("CI_PIPELINE_ID", "538317940")
        .env(
            "CI_PIPELINE_URL",
            "https://gitlab.example.com/acme/api/-/pipelines/538317940",
        )
        .env("CI_JOB_ID", "9001")
        .env("CI_JOB_NAME", "gatehouse")
        .env("GITLAB_USER_LOGIN", "marcel.amirault")
        .env("GATEHOUSE_GITLAB_TOKEN", SECRET)
        .env("GATEHOUSE_GITLAB_TIMEOUT", "2");
}

struct Outcome {
    run: common::Run,
}

fn run_with(args: &[&str], setup: impl FnOnce(&mut assert_cmd::Command)) -> Outcome {
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let mut cmd = common::gatehouse();
    setup(&mut cmd);
    let out = cmd
        .args(common::with_scratch_audit(args, scratch.path()))
        .output()
        .expect("gatehouse runs");
    let run = common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: common::redact_record_lines(&String::from_utf8_lossy(&out.stderr)),
    };
    assert!(
        !run.stdout.contains(SECRET) && !run.stderr.contains(SECRET),
        "the token leaked:\n{}",
        run.transcript()
    );
    Outcome { run }
}

/// Snapshots show the mock's URL as `[gitlab]`.
fn redact(text: &str, gitlab: &Gitlab) -> String {
    text.replace(&gitlab.server.uri(), "[gitlab]")
}

fn facts_json(out: &Outcome) -> Value {
    serde_json::from_str(&out.run.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}", out.run.transcript()))
}

#[test]
fn merge_request_pipeline_facts() {
    let gl = Gitlab::new();
    gl.merge_request();
    let out = run_with(&["facts", "--source", "gitlab"], |c| mr_env(c, &gl.api()));
    assert_eq!(out.run.code, 0, "{}", out.run.transcript());
    let mut facts = facts_json(&out);
    assert!(facts["gathered_at"].is_string());
    facts["gathered_at"] = "[time]".into();
    insta::assert_json_snapshot!(facts);
    // Every request carried the token, in the header GitLab reads.
    for request in gl.requests() {
        assert_eq!(
            request
                .headers
                .get("private-token")
                .map(|v| v.to_str().unwrap()),
            Some(SECRET)
        );
    }
}

#[test]
fn merge_request_pipeline_check() {
    let gl = Gitlab::new();
    gl.merge_request();
    let out = run_with(
        &[
            "check",
            "--source",
            "gitlab",
            "--policy",
            "fixtures/policies/spine.toml",
        ],
        |c| {
            mr_env(c, &gl.api());
            c.current_dir(root());
        },
    );
    // The documented MR has no ticket in its title or commits.
    assert_eq!(out.run.code, 1, "{}", out.run.transcript());
    insta::assert_snapshot!(redact(&out.run.transcript(), &gl));
}

#[test]
fn ci_merge_request_approved_is_never_trusted_and_a_job_token_alone_blocks() {
    let gl = Gitlab::new();
    gl.merge_request();
    let out = run_with(
        &[
            "check",
            "--source",
            "gitlab",
            "--policy",
            "fixtures/policies/spine.toml",
        ],
        |c| {
            mr_env(c, &gl.api());
            c.env_remove("GATEHOUSE_GITLAB_TOKEN")
                .env("CI_JOB_TOKEN", SECRET)
                .env("CI_MERGE_REQUEST_APPROVED", "true");
        },
    );
    assert_eq!(out.run.code, 3, "{}", out.run.transcript());
    assert!(out.run.stderr.contains("`read_api`"), "{}", out.run.stderr);
    assert!(
        gl.requests().is_empty(),
        "no request is made with a job token alone"
    );
    insta::assert_snapshot!(out.run.transcript());
}

#[test]
fn a_named_token_variable_is_used() {
    let gl = Gitlab::new();
    gl.merge_request();
    let out = run_with(
        &[
            "facts",
            "--source",
            "gitlab",
            "--gitlab-token-env",
            "MY_GITLAB_TOKEN",
        ],
        |c| {
            mr_env(c, &gl.api());
            c.env_remove("GATEHOUSE_GITLAB_TOKEN")
                .env("MY_GITLAB_TOKEN", SECRET);
        },
    );
    assert_eq!(out.run.code, 0, "{}", out.run.transcript());

    let missing = run_with(
        &[
            "facts",
            "--source",
            "gitlab",
            "--gitlab-token-env",
            "NOT_SET_ANYWHERE",
        ],
        |c| mr_env(c, &gl.api()),
    );
    assert_eq!(missing.run.code, 3);
    assert!(
        missing.run.stderr.contains("NOT_SET_ANYWHERE"),
        "{}",
        missing.run.stderr
    );
}

/// Each failure of the API ends in exit 3 with a message saying what failed.
fn failing(mr_response: ResponseTemplate, extra_env: &[(&str, &str)]) -> (Outcome, Gitlab) {
    let gl = Gitlab::new();
    gl.get(&format!("{PROJECT}/merge_requests/133"), mr_response);
    let out = run_with(&["facts", "--source", "gitlab"], |c| {
        mr_env(c, &gl.api());
        for (k, v) in extra_env {
            c.env(k, v);
        }
    });
    assert_eq!(out.run.code, 3, "{}", out.run.transcript());
    assert!(
        out.run.stdout.is_empty(),
        "no facts on failure: {}",
        out.run.stdout
    );
    (out, gl)
}

#[test]
fn unauthorized_is_indeterminate() {
    let (out, gl) = failing(
        ResponseTemplate::new(401)
            .set_body_json(serde_json::json!({"message": "401 Unauthorized"})),
        &[],
    );
    insta::assert_snapshot!(redact(&out.run.stderr, &gl));
}

#[test]
fn forbidden_is_indeterminate() {
    let (out, gl) = failing(
        ResponseTemplate::new(403).set_body_json(serde_json::json!({"message": "403 Forbidden"})),
        &[],
    );
    insta::assert_snapshot!(redact(&out.run.stderr, &gl));
}

#[test]
fn server_errors_are_retried_then_indeterminate() {
    let (out, gl) = failing(ResponseTemplate::new(500), &[]);
    assert_eq!(gl.requests().len(), 4, "one try and three retries");
    insta::assert_snapshot!(redact(&out.run.stderr, &gl));
}

#[test]
fn rate_limiting_is_retried_then_indeterminate() {
    let (out, gl) = failing(
        ResponseTemplate::new(429).insert_header("retry-after", "0"),
        &[],
    );
    assert_eq!(gl.requests().len(), 4);
    assert!(
        out.run.stderr.contains("rate limited"),
        "{}",
        out.run.stderr
    );
}

#[test]
fn a_retry_that_succeeds_is_fine() {
    let gl = Gitlab::new();
    // Answers first (higher priority), once: one 503, then the real body.
    gl.rt.block_on(
        Mock::given(method("GET"))
            .and(path(format!("{PROJECT}/merge_requests/133")))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&gl.server),
    );
    gl.merge_request();
    let out = run_with(&["facts", "--source", "gitlab"], |c| mr_env(c, &gl.api()));
    assert_eq!(out.run.code, 0, "{}", out.run.transcript());
}

#[test]
fn a_timeout_is_indeterminate() {
    let (out, gl) = failing(
        json(body("merge_requests.get.json")).set_delay(Duration::from_secs(3)),
        &[("GATEHOUSE_GITLAB_TIMEOUT", "0.3")],
    );
    assert!(out.run.stderr.contains("timed out"), "{}", out.run.stderr);
    insta::assert_snapshot!(redact(&out.run.stderr, &gl));
}

#[test]
fn truncated_json_is_indeterminate() {
    let text = std::fs::read_to_string(fixture("gitlab/rest/merge_requests.get.json")).unwrap();
    let cut = &text[..text.len() / 2];
    let (out, gl) = failing(
        ResponseTemplate::new(200).set_body_raw(cut.as_bytes().to_vec(), "application/json"),
        &[],
    );
    assert!(
        out.run.stderr.contains("truncated JSON"),
        "{}",
        out.run.stderr
    );
    insta::assert_snapshot!(redact(&out.run.stderr, &gl));
}

#[test]
fn a_moved_merge_request_head_is_indeterminate() {
    let gl = Gitlab::new();
    gl.merge_request();
    let out = run_with(&["facts", "--source", "gitlab"], |c| {
        mr_env(c, &gl.api());
        c.env("CI_COMMIT_SHA", "1111111111111111111111111111111111111111");
    });
    assert_eq!(out.run.code, 3);
    assert!(
        out.run.stderr.contains("is now at e82eb4a"),
        "{}",
        out.run.stderr
    );
}

#[test]
fn a_missing_page_of_commits_is_indeterminate() {
    let gl = Gitlab::new();
    gl.merge_request();
    // The second page GitLab announces answers 500 every time.
    gl.rt.block_on(async {
        Mock::given(method("GET"))
            .and(path(format!("{PROJECT}/merge_requests/133/commits")))
            .and(query_param_is_missing("page"))
            .respond_with(
                json(body("merge_requests.commits.json")).insert_header("x-next-page", "2"),
            )
            .with_priority(1)
            .mount(&gl.server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{PROJECT}/merge_requests/133/commits")))
            .and(query_param("page", "2"))
            .respond_with(ResponseTemplate::new(500))
            .with_priority(1)
            .mount(&gl.server)
            .await;
    });
    let out = run_with(&["facts", "--source", "gitlab"], |c| mr_env(c, &gl.api()));
    assert_eq!(out.run.code, 3, "{}", out.run.transcript());
    assert!(
        out.run.stderr.contains("commits of merge request !133"),
        "{}",
        out.run.stderr
    );
}

/// Group members over two pages: offset pagination (`x-next-page`) and
/// keyset pagination (`Link: rel="next"`) both read to the end.
#[test]
fn every_page_of_group_members_is_read() {
    let gl = Gitlab::new();
    gl.merge_request();
    let members = body("members.list_all.json");
    let members = members.as_array().unwrap();
    let group = "/api/v4/groups/acme%2Fsre/members/all";
    gl.rt.block_on(async {
        Mock::given(method("GET"))
            .and(path(group))
            .and(query_param_is_missing("page"))
            .respond_with(
                json(Value::Array(members[..2].to_vec())).insert_header("x-next-page", "2"),
            )
            .mount(&gl.server)
            .await;
        Mock::given(method("GET"))
            .and(path(group))
            .and(query_param("page", "2"))
            .respond_with(
                json(Value::Array(members[2..].to_vec())).insert_header("x-next-page", ""),
            )
            .mount(&gl.server)
            .await;
    });
    let platform = "/api/v4/groups/acme%2Fplatform/members/all";
    let next = format!("{}{platform}?per_page=100&id_after=2", gl.server.uri());
    gl.rt.block_on(async {
        Mock::given(method("GET"))
            .and(path(platform))
            .and(query_param_is_missing("id_after"))
            .respond_with(
                json(Value::Array(members[..1].to_vec()))
                    .insert_header("link", format!("<{next}>; rel=\"next\"").as_str()),
            )
            .mount(&gl.server)
            .await;
        Mock::given(method("GET"))
            .and(path(platform))
            .and(query_param("id_after", "2"))
            .respond_with(json(Value::Array(members[1..].to_vec())))
            .mount(&gl.server)
            .await;
    });
    let mut request = mr_request(&gl);
    request.teams = vec!["acme/sre".into(), "acme/platform".into()];
    let gathered = gitlab::gather(&request).unwrap();
    let all = ["raymond_smith", "john_doe", "foo_bar"];
    assert_eq!(gathered.facts.teams["acme/sre"], all);
    assert_eq!(gathered.facts.teams["acme/platform"], all);
}

#[test]
fn an_unreadable_group_is_an_error_not_an_empty_team() {
    let gl = Gitlab::new();
    gl.merge_request();
    let mut request = mr_request(&gl);
    request.teams = vec!["acme/ghosts".into()];
    let e = gitlab::gather(&request).unwrap_err();
    assert!(e.message.contains("members of group acme/ghosts"), "{e}");
}

#[test]
fn a_next_page_link_off_the_api_is_refused() {
    let gl = Gitlab::new();
    gl.merge_request();
    gl.rt.block_on(async {
        Mock::given(method("GET"))
            .and(path("/api/v4/groups/acme%2Fsre/members/all"))
            .respond_with(json(body("members.list_all.json")).insert_header(
                "link",
                "<https://evil.example/collect?page=2>; rel=\"next\"",
            ))
            .mount(&gl.server)
            .await;
    });
    let mut request = mr_request(&gl);
    request.teams = vec!["acme/sre".into()];
    let e = gitlab::gather(&request).unwrap_err();
    assert!(e.message.contains("refusing to send the token"), "{e}");
}

fn mr_request(gl: &Gitlab) -> GitlabRequest {
    GitlabRequest {
        api_url: gl.api(),
        token: Token {
            secret: SECRET.into(),
            kind: TokenKind::Api {
                variable: "GATEHOUSE_GITLAB_TOKEN".into(),
            },
        },
        project: "acme/api".into(),
        host: "gitlab.example.com".into(),
        default_branch: Some("main".into()),
        merge_request: Some(133),
        deployment: None,
        git_ref: None,
        event: None,
        head_sha: MR_HEAD.into(),
        pipeline_sha: None,
        actor: None,
        pipeline: None,
        teams: Vec::new(),
        timeout: Duration::from_secs(2),
    }
}

/// A deploy job of pipeline 37 (job 664) to the protected `production`
/// environment, approved once, with one freeze period.
fn deployment(gl: &Gitlab, approvals: bool) {
    gl.mount(
        Mock::given(method("GET"))
            .and(path(format!("{PROJECT}/deployments")))
            .and(query_param("environment", "production")),
        json(body("deployments.list.json")),
    );
    let mut deployment = body("deployments.get.json");
    if approvals {
        // GitLab documents a blocked deployment's approvals only as a fragment
        // of this body; merged here as its README says.
        for (k, v) in body("deployments.update.approvals_fragment.json")
            .as_object()
            .unwrap()
        {
            deployment[k] = v.clone();
        }
    }
    gl.get(&format!("{PROJECT}/deployments/42"), json(deployment));
    gl.get(
        &format!("{PROJECT}/protected_environments/production"),
        json(body(
            "protected_environments.create.with_approval_rules.json",
        )),
    );
    gl.get(
        &format!("{PROJECT}/freeze_periods"),
        json(body("freeze_periods.list.json")),
    );
    // GitLab's single-commit example is of another commit; its id is set to
    // the deployed one so the body answers the question asked.
    let mut commit = body("commits.get.json");
    commit["id"] = DEPLOYED.into();
    gl.get(
        &format!("{PROJECT}/repository/commits/{DEPLOYED}"),
        json(commit),
    );
    gl.get(
        &format!("{PROJECT}/repository/commits/{DEPLOYED}/statuses"),
        json(body("commits.statuses.json")),
    );
}

fn deploy_env(cmd: &mut assert_cmd::Command, api: &str) {
    mr_env(cmd, api);
    for var in CI_VARS
        .iter()
        .filter(|v| v.starts_with("CI_MERGE_REQUEST_"))
    {
        cmd.env_remove(var);
    }
    cmd.env("CI_PIPELINE_SOURCE", "push")
        .env(
            "CI_COMMIT_BEFORE_SHA",
            "99d03678b90d914dbb1b109132516d71a4a03ea8",
        )
        .env("CI_COMMIT_SHA", DEPLOYED)
        .env("CI_COMMIT_BRANCH", "main")
        .env("CI_COMMIT_REF_NAME", "main")
        .env("CI_ENVIRONMENT_NAME", "production")
        .env("CI_PIPELINE_ID", "37")
        .env("CI_JOB_ID", "664")
        .env("CI_JOB_NAME", "deploy")
        .env(
            "CI_PIPELINE_URL",
            "https://gitlab.example.com/acme/api/-/pipelines/37",
        )
        .env("GITLAB_USER_LOGIN", "root");
}

#[test]
fn deploy_job_facts() {
    let gl = Gitlab::new();
    deployment(&gl, true);
    let out = run_with(&["facts", "--source", "gitlab"], |c| {
        deploy_env(c, &gl.api())
    });
    assert_eq!(out.run.code, 0, "{}", out.run.transcript());
    let mut facts = facts_json(&out);
    facts["gathered_at"] = "[time]".into();
    insta::assert_json_snapshot!(facts);
}

#[test]
fn deploy_job_check_allows_main_to_production() {
    let gl = Gitlab::new();
    deployment(&gl, true);
    let out = run_with(
        &[
            "check",
            "--source",
            "gitlab",
            "--policy",
            "fixtures/policies/spine.toml",
        ],
        |c| deploy_env(c, &gl.api()),
    );
    assert_eq!(out.run.code, 0, "{}", out.run.transcript());
    assert!(
        out.run.stdout.contains("PASS   deploy-from-main-or-tags"),
        "{}",
        out.run.stdout
    );
}

#[test]
fn a_protected_environment_without_readable_approvals_is_indeterminate() {
    let gl = Gitlab::new();
    deployment(&gl, false);
    let out = run_with(&["facts", "--source", "gitlab"], |c| {
        deploy_env(c, &gl.api())
    });
    assert_eq!(out.run.code, 3, "{}", out.run.transcript());
    assert!(
        out.run.stderr.contains("requires deployment approvals"),
        "{}",
        out.run.stderr
    );
}

#[test]
fn a_push_pipeline_is_not_gated_by_this_source() {
    let gl = Gitlab::new();
    let out = run_with(&["facts", "--source", "gitlab"], |c| {
        deploy_env(c, &gl.api());
        c.env_remove("CI_ENVIRONMENT_NAME");
    });
    assert_eq!(out.run.code, 3);
    insta::assert_snapshot!(out.run.stderr);
}

#[test]
fn deployment_target_by_id() {
    let gl = Gitlab::new();
    deployment(&gl, true);
    let mut request = mr_request(&gl);
    request.merge_request = None;
    request.head_sha = DEPLOYED.into();
    request.git_ref = Some("refs/heads/main".into());
    request.deployment = Some(DeploymentTarget {
        environment: "production".into(),
        deployment_id: Some(42),
        pipeline_id: None,
        job_id: None,
    });
    let gathered = gitlab::gather(&request).unwrap();
    let d = gathered.facts.deployment.unwrap();
    assert_eq!(d.approvals.len(), 1);
    assert_eq!(d.freeze_periods.len(), 1);
    // CODEOWNERS is looked for at the deployed commit, in GitLab's order.
    let looked: Vec<String> = gl
        .requests()
        .iter()
        .filter(|r| r.url.path().contains("/repository/files/"))
        .map(|r| format!("{}?{}", r.url.path(), r.url.query().unwrap_or("")))
        .collect();
    assert_eq!(
        looked,
        [
            format!("{PROJECT}/repository/files/CODEOWNERS?ref={DEPLOYED}"),
            format!("{PROJECT}/repository/files/docs%2FCODEOWNERS?ref={DEPLOYED}"),
            format!("{PROJECT}/repository/files/.gitlab%2FCODEOWNERS?ref={DEPLOYED}"),
        ]
    );
    // Found by id: the deployments list was not needed.
    assert!(
        gl.requests()
            .iter()
            .all(|r| r.url.path() != format!("{PROJECT}/deployments"))
    );
}

#[test]
fn unreadable_approval_settings_record_approvals_without_a_commit() {
    let gl = Gitlab::new();
    gl.rt.block_on(
        Mock::given(method("GET"))
            .and(path(format!("{PROJECT}/approvals")))
            .respond_with(ResponseTemplate::new(403))
            .with_priority(1)
            .mount(&gl.server),
    );
    gl.merge_request();
    let gathered = gitlab::gather(&mr_request(&gl)).unwrap();
    let reviews = &gathered.facts.change.unwrap().reviews;
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].commit, None, "not known to be on the head");
    assert!(
        gathered.notices[0].contains("recorded without a commit"),
        "{:?}",
        gathered.notices
    );
}

/// The checkout is the change under review: a merge request that weakens
/// the policy is still gated by its base's policy, read through the API.
#[test]
fn a_merge_request_is_gated_by_its_base_commits_policy() {
    let gl = Gitlab::new();
    gl.merge_request();
    gl.file_at_base(
        ".gatehouse.toml",
        &std::fs::read_to_string(fixture("policies/spine.toml")).unwrap(),
    );
    let checkout = tempfile::tempdir().unwrap();
    std::fs::write(checkout.path().join(".gatehouse.toml"), "version = 1\n").unwrap();
    let out = run_with(&["check", "--source", "gitlab"], |c| {
        mr_env(c, &gl.api());
        c.current_dir(checkout.path());
    });
    assert_eq!(out.run.code, 1, "{}", out.run.transcript());
    assert!(
        out.run.stdout.contains(
            "note: policy .gatehouse.toml read from the merge request's base commit 1162f71 (GitLab API), not from the checkout"
        ),
        "{}",
        out.run.stdout
    );
    assert!(
        out.run.stdout.contains("FAIL   ticket-reference"),
        "{}",
        out.run.stdout
    );

    // Named with --policy: the same path, read at the base.
    let out = run_with(
        &["check", "--source", "gitlab", "--policy", ".gatehouse.toml"],
        |c| {
            mr_env(c, &gl.api());
            c.current_dir(checkout.path());
        },
    );
    assert_eq!(out.run.code, 1, "{}", out.run.transcript());

    // A policy the base does not have cannot come from the change.
    let out = run_with(
        &["check", "--source", "gitlab", "--policy", "new-policy.toml"],
        |c| {
            mr_env(c, &gl.api());
            c.current_dir(checkout.path());
        },
    );
    assert_eq!(out.run.code, 3, "{}", out.run.transcript());
    assert!(
        out.run
            .stderr
            .contains("does not exist in the merge request's base commit"),
        "{}",
        out.run.stderr
    );
}

/// A merge request title is attacker-controlled: in the job log it cannot
/// open a collapsible section, move the cursor or erase a line, and in the
/// JUnit report it stays text.
#[test]
fn a_hostile_merge_request_title_stays_inert_in_the_job_log_and_reports() {
    let gl = Gitlab::new();
    let mut mr = body("merge_requests.get.json");
    mr["title"] =
        "\u{1b}[0Ksection_end:1:step_script\r\u{1b}[0K\u{1b}[2K\u{1b}[1A</failure>".into();
    gl.rt.block_on(
        Mock::given(method("GET"))
            .and(path(format!("{PROJECT}/merge_requests/133")))
            .respond_with(json(mr))
            .with_priority(1)
            .mount(&gl.server),
    );
    gl.merge_request();
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let out = run_with(
        &[
            "check",
            "--source",
            "gitlab",
            "--policy",
            "fixtures/policies/spine.toml",
            "--report",
            &format!("junit={}", junit.display()),
        ],
        |c| mr_env(c, &gl.api()),
    );
    assert_eq!(out.run.code, 1, "{}", out.run.transcript());
    assert!(
        out.run.stdout.contains("section_end:1:step_script"),
        "{}",
        out.run.stdout
    );
    assert!(
        !gatehouse::sanitize::gitlab::controls_job_log(&out.run.stdout),
        "{:?}",
        out.run.stdout
    );
    let xml = std::fs::read_to_string(junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("valid JUnit XML");
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .count(),
        3
    );
}

#[test]
fn a_team_may_be_a_project_path() {
    let gl = Gitlab::new();
    gl.merge_request();
    // No group acme/api (the mock answers 404), but a project of that path.
    gl.get(
        &format!("{PROJECT}/members/all"),
        json(body("members.list_all.json")),
    );
    let mut request = mr_request(&gl);
    request.teams = vec!["acme/api".into()];
    let gathered = gitlab::gather(&request).unwrap();
    assert_eq!(gathered.facts.teams["acme/api"].len(), 3);
}

/// A merged results pipeline runs on a merge commit GitLab built (the MR's
/// `head_pipeline.sha` in GitLab's example); the MR's own head is gated, and
/// the statuses of both commits are read.
#[test]
fn a_merged_results_pipeline_gates_the_head_and_reads_the_merge_commits_jobs() {
    const MERGE_COMMIT: &str = "1604b0c46c395822e4e9478777f8e54ac99fe5b9";
    let gl = Gitlab::new();
    gl.merge_request();
    gl.get(
        &format!("{PROJECT}/repository/commits/{MERGE_COMMIT}/statuses"),
        json(body("commits.statuses.json")),
    );
    let out = run_with(&["facts", "--source", "gitlab"], |c| {
        mr_env(c, &gl.api());
        c.env("CI_MERGE_REQUEST_EVENT_TYPE", "merged_result")
            .env("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", MR_HEAD)
            .env("CI_COMMIT_SHA", MERGE_COMMIT);
    });
    assert_eq!(out.run.code, 0, "{}", out.run.transcript());
    let facts = facts_json(&out);
    assert_eq!(facts["ref"]["sha"], MR_HEAD);
    assert_eq!(facts["checks"].as_array().unwrap().len(), 4);
    let asked: Vec<String> = gl
        .requests()
        .iter()
        .map(|r| r.url.path().to_string())
        .filter(|p| p.ends_with("/statuses"))
        .collect();
    assert_eq!(
        asked,
        [
            format!("{PROJECT}/repository/commits/{MR_HEAD}/statuses"),
            format!("{PROJECT}/repository/commits/{MERGE_COMMIT}/statuses"),
        ]
    );
}

#[test]
fn a_merge_request_that_edits_the_policy_is_told_it_has_no_effect() {
    let gl = Gitlab::new();
    let mut diffs = body("merge_requests.diffs.json");
    // GitLab's example diff, on the policy file instead of README.
    diffs[0]["old_path"] = ".gatehouse.toml".into();
    diffs[0]["new_path"] = ".gatehouse.toml".into();
    gl.rt.block_on(
        Mock::given(method("GET"))
            .and(path(format!("{PROJECT}/merge_requests/133/diffs")))
            .respond_with(json(diffs))
            .with_priority(1)
            .mount(&gl.server),
    );
    gl.merge_request();
    gl.file_at_base(
        ".gatehouse.toml",
        &std::fs::read_to_string(fixture("policies/spine.toml")).unwrap(),
    );
    let checkout = tempfile::tempdir().unwrap();
    let out = run_with(&["check", "--source", "gitlab"], |c| {
        mr_env(c, &gl.api());
        c.current_dir(checkout.path());
    });
    assert_eq!(out.run.code, 1, "{}", out.run.transcript());
    assert!(
        out.run.stdout.contains(
            "note: merge request !133 edits .gatehouse.toml; the gate uses the policy of its base commit 1162f71"
        ),
        "{}",
        out.run.stdout
    );
}

#[test]
fn a_redirect_is_not_followed_with_the_token() {
    let (out, gl) = failing(
        ResponseTemplate::new(301)
            .insert_header("location", "https://elsewhere.example/api/v4/projects"),
        &[],
    );
    assert!(
        out.run.stderr.contains("redirects are not followed"),
        "{}",
        out.run.stderr
    );
    assert_eq!(gl.requests().len(), 1);
}

/// The merge request's commits over two pages (`x-next-page`) and its diffs
/// over two pages (`Link: rel="next"`): every page ends up in the Facts.
#[test]
fn every_page_of_commits_and_diffs_is_in_the_facts() {
    let gl = Gitlab::new();
    let commits = body("merge_requests.commits.json");
    let commits = commits.as_array().unwrap();
    let diffs = body("merge_requests.diffs.json");
    let diffs = diffs.as_array().unwrap();
    let mr = format!("{PROJECT}/merge_requests/133");
    let next_diffs = format!("{}{mr}/diffs?per_page=100&page_token=2", gl.server.uri());
    gl.rt.block_on(async {
        for (page, item) in [(None, &commits[0]), (Some("2"), &commits[1])] {
            let mock = Mock::given(method("GET")).and(path(format!("{mr}/commits")));
            let mock = match page {
                None => mock.and(query_param_is_missing("page")),
                Some(p) => mock.and(query_param("page", p)),
            };
            let mut response = json(Value::Array(vec![item.clone()]));
            if page.is_none() {
                response = response.insert_header("x-next-page", "2");
            }
            mock.respond_with(response)
                .with_priority(1)
                .mount(&gl.server)
                .await;
        }
        Mock::given(method("GET"))
            .and(path(format!("{mr}/diffs")))
            .and(query_param_is_missing("page_token"))
            .respond_with(
                json(Value::Array(vec![diffs[0].clone()]))
                    .insert_header("link", format!("<{next_diffs}>; rel=\"next\"").as_str()),
            )
            .with_priority(1)
            .mount(&gl.server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{mr}/diffs")))
            .and(query_param("page_token", "2"))
            .respond_with(json(Value::Array(vec![diffs[1].clone()])))
            .with_priority(1)
            .mount(&gl.server)
            .await;
    });
    gl.merge_request();
    let out = run_with(&["facts", "--source", "gitlab"], |c| mr_env(c, &gl.api()));
    assert_eq!(out.run.code, 0, "{}", out.run.transcript());
    let facts = facts_json(&out);
    let shas: Vec<&str> = facts["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sha"].as_str().unwrap())
        .collect();
    assert_eq!(
        shas,
        [
            "ed899a2f4b50b4370feeea94676502b42383c746",
            "6104942438c14ec7bd21c6cd5bd995272b3faff6"
        ]
    );
    let files: Vec<&str> = facts["change"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["README", "VERSION"]);
}

#[test]
fn a_merge_request_that_moves_while_it_is_read_is_indeterminate() {
    let gl = Gitlab::new();
    // The first read sees the pipeline's head; every later one a new push.
    let mut moved = body("merge_requests.get.json");
    moved["sha"] = "2222222222222222222222222222222222222222".into();
    gl.rt.block_on(async {
        Mock::given(method("GET"))
            .and(path(format!("{PROJECT}/merge_requests/133")))
            .respond_with(json(body("merge_requests.get.json")))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&gl.server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{PROJECT}/merge_requests/133")))
            .respond_with(json(moved))
            .with_priority(2)
            .mount(&gl.server)
            .await;
    });
    gl.merge_request();
    let out = run_with(&["facts", "--source", "gitlab"], |c| mr_env(c, &gl.api()));
    assert_eq!(out.run.code, 3, "{}", out.run.transcript());
    assert!(
        out.run
            .stderr
            .contains("moved from e82eb4a to 2222222 while it was being read"),
        "{}",
        out.run.stderr
    );
}

/// The component's `gatehouse-deploy` job: another job of the pipeline,
/// naming the environment with `--environment`; the deploy job's deployment
/// is found by the pipeline.
#[test]
fn a_gate_job_before_the_deploy_job_finds_the_pipelines_deployment() {
    let gl = Gitlab::new();
    deployment(&gl, true);
    let out = run_with(
        &["facts", "--source", "gitlab", "--environment", "production"],
        |c| {
            deploy_env(c, &gl.api());
            c.env_remove("CI_ENVIRONMENT_NAME")
                .env("CI_JOB_ID", "9999")
                .env("CI_JOB_NAME", "gatehouse-deploy");
        },
    );
    assert_eq!(out.run.code, 0, "{}", out.run.transcript());
    let facts = facts_json(&out);
    assert_eq!(facts["event"]["kind"], "deployment");
    assert_eq!(facts["deployment"]["environment"], "production");
    assert_eq!(facts["deployment"]["approvals"][0]["by"], "project_6_bot");
    assert!(
        gl.requests()
            .iter()
            .any(|r| r.url.path() == format!("{PROJECT}/deployments/42"))
    );
}
