//! `--source github` end to end: the real binary reads a GitHub Actions job's
//! environment and event payload and talks to a local mock server (wiremock)
//! that replays GitHub's published example responses (`fixtures/github/rest/`,
//! see its README). Every failure mode — a page missing, rate limits, 500,
//! timeouts, truncated JSON — must end in exit 3, never in allow.

mod common;

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::{fixture, gatehouse};

const TOKEN: &str = "ghs_test_token_that_must_never_be_printed";
/// The repository and pull request of `fixtures/github/webhooks/pull_request.opened.0.json`.
const REPO: &str = "/repos/Codertocat/Hello-World";
const PULL: &str = "/repos/Codertocat/Hello-World/pulls/2";
/// The head of the pull request in the event payload; the API's example pull
/// request is given the same head (the published examples disagree).
const HEAD: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
/// The base of the pull request in `pulls.get.200.default.json`.
const BASE: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

fn rest(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture(&format!("github/rest/{name}"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn ok(body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// The pull request of GitHub's example, with its counts made to agree with
/// the example lists (the published examples disagree: 3 commits, 1 listed).
fn pull_request(commits: usize, files: usize) -> Value {
    let mut pr = rest("pulls.get.200.default.json");
    pr["head"]["sha"] = HEAD.into();
    pr["commits"] = commits.into();
    pr["changed_files"] = files.into();
    pr
}

/// GitHub's example file response, carrying a real CODEOWNERS text (the
/// published example's base64 is corrupt; one test replays it unchanged).
fn codeowners_content() -> Value {
    let mut c = rest("repos.get-content.200.response-if-content-is-a-file.json");
    c["content"] = base64::engine::general_purpose::STANDARD
        .encode("* @octocat\n/infra/ @octo-org/sre\n")
        .into();
    c["path"] = ".github/CODEOWNERS".into();
    c["name"] = "CODEOWNERS".into();
    c
}

/// Mount the responses of a small, consistent pull request.
async fn mount_pull_request(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(PULL))
        .respond_with(ok(&pull_request(1, 1)))
        .mount(server)
        .await;
    mount_lists(server).await;
}

async fn mount_lists(server: &MockServer) {
    for (suffix, body) in [
        ("/commits", rest("pulls.list-commits.200.default.json")),
        ("/files", rest("pulls.list-files.200.default.json")),
        ("/reviews", rest("pulls.list-reviews.200.default.json")),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("{PULL}{suffix}")))
            .respond_with(ok(&body))
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/commits/{HEAD}/check-runs")))
        .respond_with(ok(&rest("checks.list-for-ref.200.default.json")))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/commits/{HEAD}/status")))
        .respond_with(ok(&rest(
            "repos.get-combined-status-for-ref.200.default.json",
        )))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/contents/.github/CODEOWNERS")))
        .and(query_param("ref", BASE))
        .respond_with(ok(&codeowners_content()))
        .mount(server)
        .await;
}

/// The binary as a GitHub Actions job would run it.
fn job(server: &MockServer, event: &str, payload: &str) -> assert_cmd::Command {
    let mut cmd = gatehouse();
    cmd.current_dir(common::scratch_checkout())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", event)
        .env(
            "GITHUB_EVENT_PATH",
            fixture(&format!("github/webhooks/{payload}")),
        )
        .env("GITHUB_REPOSITORY", "Codertocat/Hello-World")
        .env("GITHUB_API_URL", server.uri())
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REF", "refs/pull/2/merge")
        .env("GITHUB_SHA", "f95f852bd8fca8fcc58a9a2d6c842781e32a215e")
        .env("GITHUB_RUN_ID", "30433642")
        .env("GITHUB_JOB", "gate")
        .env("GITHUB_ACTOR", "Codertocat")
        .env("GITHUB_TOKEN", TOKEN)
        .env("GATEHOUSE_GITHUB_TIMEOUT", "5")
        .env("GATEHOUSE_GITHUB_RATE_LIMIT_WAIT", "3");
    cmd
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn output(cmd: &mut assert_cmd::Command) -> Out {
    let out = cmd.output().unwrap();
    let o = Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !o.stdout.contains(TOKEN) && !o.stderr.contains(TOKEN),
        "the token leaked"
    );
    o
}

fn facts_of_pr(server: &MockServer) -> Out {
    output(
        job(server, "pull_request", "pull_request.opened.0.json")
            .args(["facts", "--source", "github"]),
    )
}

fn redact_times(mut facts: Value) -> Value {
    facts["gathered_at"] = "[time]".into();
    if let Some(approvals) = facts
        .get_mut("deployment")
        .and_then(|d| d.get_mut("approvals"))
        .and_then(Value::as_array_mut)
    {
        for a in approvals {
            a["at"] = "[time read]".into();
        }
    }
    facts
}

/// How many requests reached `p` (any query).
async fn hits(server: &MockServer, p: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == p)
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_request_becomes_facts() {
    let server = MockServer::start().await;
    mount_pull_request(&server).await;
    let out = facts_of_pr(&server);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let facts: Value = serde_json::from_str(&out.stdout).unwrap();
    insta::assert_json_snapshot!(redact_times(facts));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_is_sent_as_a_bearer_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PULL))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ok(&pull_request(1, 1)))
        .mount(&server)
        .await;
    mount_lists(&server).await;
    let out = facts_of_pr(&server);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_token_variable_can_be_named() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PULL))
        .and(header("authorization", "Bearer other-token"))
        .respond_with(ok(&pull_request(1, 1)))
        .mount(&server)
        .await;
    mount_lists(&server).await;
    let out = output(
        job(&server, "pull_request", "pull_request.opened.0.json")
            .env("GATE_TOKEN", "other-token")
            .args([
                "facts",
                "--source",
                "github",
                "--github-token-env",
                "GATE_TOKEN",
            ]),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("other-token"));
}

#[tokio::test(flavor = "multi_thread")]
async fn check_decides_from_the_api_facts() {
    let server = MockServer::start().await;
    mount_pull_request(&server).await;
    let policy = fixture("policies/spine.toml");
    let out = output(
        job(&server, "pull_request", "pull_request.opened.0.json").args([
            "check",
            "--source",
            "github",
            "--policy",
            policy.to_str().unwrap(),
        ]),
    );
    // "Amazing new feature" names no ticket.
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("FAIL   ticket-reference"),
        "{}",
        out.stdout
    );
}

/// `n` copies of a list's first item, each with a distinct `field`.
fn many(template: &Value, n: usize, field: &str) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let mut item = template[0].clone();
            item[field] = match field {
                "sha" => format!("{i:040x}").into(),
                "id" => (i as u64 + 1).into(),
                _ => format!("dir/file-{i}.txt").into(),
            };
            item
        })
        .collect()
}

/// Serve `items` as GitHub would with `per_page=100`: pages and a Link header.
async fn mount_pages(server: &MockServer, p: &str, items: Vec<Value>) {
    let pages: Vec<Vec<Value>> = items.chunks(100).map(<[Value]>::to_vec).collect();
    let last = pages.len();
    for (i, page) in pages.into_iter().enumerate() {
        let n = i + 1;
        let mut response = ok(&Value::Array(page));
        if last > 1 {
            let url = |k: usize| format!("<{}{p}?per_page=100&page={k}>", server.uri());
            let mut links = Vec::new();
            if n < last {
                links.push(format!("{}; rel=\"next\"", url(n + 1)));
                links.push(format!("{}; rel=\"last\"", url(last)));
            }
            if n > 1 {
                links.push(format!("{}; rel=\"first\"", url(1)));
            }
            if !links.is_empty() {
                response = response.insert_header("link", links.join(", ").as_str());
            }
        }
        Mock::given(method("GET"))
            .and(path(p))
            .and(query_param("page", n.to_string().as_str()))
            .and(query_param("per_page", "100"))
            .respond_with(response)
            .mount(server)
            .await;
    }
}

async fn mount_large_pull_request(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(PULL))
        .respond_with(ok(&pull_request(250, 300)))
        .mount(server)
        .await;
    mount_pages(
        server,
        &format!("{PULL}/commits"),
        many(&rest("pulls.list-commits.200.default.json"), 250, "sha"),
    )
    .await;
    mount_pages(
        server,
        &format!("{PULL}/files"),
        many(&rest("pulls.list-files.200.default.json"), 300, "filename"),
    )
    .await;
    mount_pages(
        server,
        &format!("{PULL}/reviews"),
        many(&rest("pulls.list-reviews.200.default.json"), 100, "id"),
    )
    .await;
    mount_lists(server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_pull_request_costs_only_the_pages_pagination_forces() {
    let server = MockServer::start().await;
    mount_large_pull_request(&server).await;
    let out = facts_of_pr(&server);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let facts: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(facts["commits"].as_array().unwrap().len(), 250);
    assert_eq!(facts["change"]["files"].as_array().unwrap().len(), 300);
    assert_eq!(facts["change"]["reviews"].as_array().unwrap().len(), 100);
    // Newest first: the API's last commit comes first.
    assert_eq!(facts["commits"][0]["sha"], format!("{:040x}", 249));
    assert_eq!(hits(&server, PULL).await, 1);
    assert_eq!(hits(&server, &format!("{PULL}/commits")).await, 3);
    assert_eq!(hits(&server, &format!("{PULL}/files")).await, 3);
    assert_eq!(hits(&server, &format!("{PULL}/reviews")).await, 1);
    // Plus check runs, statuses and CODEOWNERS: 11 requests in all.
    assert_eq!(server.received_requests().await.unwrap().len(), 11);
}

async fn expect_indeterminate(server: &MockServer, needle: &str) -> Out {
    let out = facts_of_pr(server);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(needle),
        "expected {needle:?} in:\n{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "no facts on failure: {}", out.stdout);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_failing_midway_is_an_error_not_a_shorter_list() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{PULL}/commits")))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway"))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_large_pull_request(&server).await;
    expect_indeterminate(
        &server,
        "commits?per_page=100&page=2 answered 502 Bad Gateway",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_shorter_than_the_pull_request_says_is_an_error() {
    let server = MockServer::start().await;
    // GitHub's example counts: it claims 3 commits and lists 1.
    let mut pr = rest("pulls.get.200.default.json");
    pr["head"]["sha"] = HEAD.into();
    Mock::given(method("GET"))
        .and(path(PULL))
        .respond_with(ok(&pr))
        .mount(&server)
        .await;
    mount_lists(&server).await;
    expect_indeterminate(&server, "reports 3 commits but the API listed 1").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_short_page_before_the_last_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{PULL}/files")))
        .and(query_param("page", "2"))
        .respond_with(ok(&Value::Array(many(
            &rest("pulls.list-files.200.default.json"),
            40,
            "filename",
        ))))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_large_pull_request(&server).await;
    expect_indeterminate(&server, "returned 40 items on a page that is not the last").await;
}

fn primary_limit() -> ResponseTemplate {
    let reset = chrono::Utc::now().timestamp() + 3600;
    ResponseTemplate::new(403)
        .insert_header("x-ratelimit-limit", "5000")
        .insert_header("x-ratelimit-remaining", "0")
        .insert_header("x-ratelimit-resource", "core")
        .insert_header("x-ratelimit-reset", reset.to_string().as_str())
        .set_body_json(json!({"message": "API rate limit exceeded for installation ID 1.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_primary_rate_limit_beyond_the_budget_is_indeterminate() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PULL))
        .respond_with(primary_limit())
        .mount(&server)
        .await;
    let out = expect_indeterminate(
        &server,
        "primary rate limit for `core` (5000 requests per hour)",
    )
    .await;
    assert!(
        out.stderr.contains("GATEHOUSE_GITHUB_RATE_LIMIT_WAIT"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secondary_rate_limit_beyond_the_budget_is_indeterminate() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PULL))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "60"))
        .mount(&server)
        .await;
    expect_indeterminate(&server, "secondary rate limit (retry-after: 60s)").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_short_retry_after_is_waited_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PULL))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"message": "You have exceeded a secondary rate limit."})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_pull_request(&server).await;
    let started = std::time::Instant::now();
    let out = facts_of_pr(&server);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(hits(&server, PULL).await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_error_is_indeterminate() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PULL))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"message": "Server Error"})))
        .mount(&server)
        .await;
    expect_indeterminate(&server, "answered 500 Internal Server Error: Server Error").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forbidden_answer_is_indeterminate_and_names_github_message() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PULL))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"message": "Resource not accessible by integration"})),
        )
        .mount(&server)
        .await;
    expect_indeterminate(
        &server,
        "403 Forbidden: Resource not accessible by integration",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_is_indeterminate() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PULL))
        .respond_with(ok(&pull_request(1, 1)).set_delay(Duration::from_secs(10)))
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let out = output(
        job(&server, "pull_request", "pull_request.opened.0.json")
            .env("GATEHOUSE_GITHUB_TIMEOUT", "1")
            .args(["facts", "--source", "github"]),
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("did not complete within 1s"),
        "{}",
        out.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(8));
}

#[tokio::test(flavor = "multi_thread")]
async fn truncated_json_is_indeterminate() {
    let server = MockServer::start().await;
    let body = serde_json::to_string(&pull_request(1, 1)).unwrap();
    Mock::given(method("GET"))
        .and(path(PULL))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(body[..body.len() / 2].to_string(), "application/json"),
        )
        .mount(&server)
        .await;
    expect_indeterminate(&server, "the response is not complete JSON").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn check_is_blocked_not_allowed_when_the_api_fails() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let policy = fixture("policies/spine.toml");
    let out = output(
        job(&server, "pull_request", "pull_request.opened.0.json").args([
            "check",
            "--source",
            "github",
            "--policy",
            policy.to_str().unwrap(),
        ]),
    );
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("the gate blocks"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn github_example_codeowners_with_corrupt_base64_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/contents/.github/CODEOWNERS")))
        .respond_with(ok(&rest(
            "repos.get-content.200.response-if-content-is-a-file.json",
        )))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_pull_request(&server).await;
    expect_indeterminate(&server, "the content is not valid base64").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn codeowners_falls_back_through_githubs_locations() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/contents/.github/CODEOWNERS")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/contents/CODEOWNERS")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/contents/docs/CODEOWNERS")))
        .respond_with(ok(&codeowners_content()))
        .mount(&server)
        .await;
    mount_pull_request(&server).await;
    let out = facts_of_pr(&server);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let facts: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(facts["codeowners"]["path"], "docs/CODEOWNERS");
    assert_eq!(
        facts["codeowners"]["content"],
        "* @octocat\n/infra/ @octo-org/sre\n"
    );
}

async fn mount_deployment(server: &MockServer) {
    let sha = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e";
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/commits/{sha}")))
        .respond_with(ok(&rest("repos.get-commit.200.default.json")))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/commits/{sha}/check-runs")))
        .respond_with(ok(&rest("checks.list-for-ref.200.default.json")))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/commits/{sha}/status")))
        .respond_with(ok(&rest(
            "repos.get-combined-status-for-ref.200.default.json",
        )))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/actions/runs/30433642/approvals")))
        .respond_with(ok(&rest("actions.get-reviews-for-run.200.default.json")))
        .mount(server)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployment_reads_the_run_approvals_of_its_environment() {
    let server = MockServer::start().await;
    mount_deployment(&server).await;
    let out = output(
        job(&server, "deployment", "deployment.created.0.json")
            .env("GITHUB_REF", "refs/heads/master")
            .args(["facts", "--source", "github", "--environment", "staging"]),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let facts: Value = serde_json::from_str(&out.stdout).unwrap();
    insta::assert_json_snapshot!(redact_times(facts));
}

#[tokio::test(flavor = "multi_thread")]
async fn approvals_for_another_environment_do_not_count() {
    let server = MockServer::start().await;
    mount_deployment(&server).await;
    // The payload deploys to production; the run's one approval is for staging.
    let out = output(
        job(&server, "deployment", "deployment.created.0.json")
            .args(["facts", "--source", "github"]),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let facts: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(facts["deployment"]["environment"], "production");
    assert_eq!(facts["deployment"]["approvals"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn outside_a_github_job_the_source_says_what_is_missing() {
    let server = MockServer::start().await;
    let out = output(
        job(&server, "pull_request", "pull_request.opened.0.json")
            .env_remove("GITHUB_ACTIONS")
            .args(["facts", "--source", "github"]),
    );
    assert_eq!(out.code, 3);
    assert!(
        out.stderr
            .contains("runs inside a GitHub Actions job, and this is not one"),
        "{}",
        out.stderr
    );
}

/// The library entry point on an explicit request: team members.
fn request(server: &MockServer, teams: &[&str]) -> gatehouse::sources::github::GithubRequest {
    gatehouse::sources::github::GithubRequest {
        api_url: server.uri(),
        token: Some(gatehouse::sources::github::Token::new(TOKEN)),
        host: "github.com".into(),
        repo: "Codertocat/Hello-World".into(),
        event: gatehouse::facts::EventKind::PullRequest,
        git_ref: "refs/pull/2/merge".into(),
        head_sha: HEAD.into(),
        base_sha: None,
        pull_number: Some(2),
        run_id: None,
        environment: None,
        actor: Some("Codertocat".into()),
        requested_by: None,
        teams: teams.iter().map(|t| t.to_string()).collect(),
        pipeline: None,
        limits: gatehouse::sources::github::Limits {
            request_timeout: Duration::from_secs(5),
            rate_limit_wait: Duration::from_secs(1),
        },
    }
}

fn gather_blocking(
    request: gatehouse::sources::github::GithubRequest,
) -> Result<gatehouse::sources::Gathered, gatehouse::sources::SourceError> {
    std::thread::spawn(move || gatehouse::sources::github::gather(&request))
        .join()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn members_of_the_policy_teams_are_gathered() {
    let server = MockServer::start().await;
    mount_pull_request(&server).await;
    Mock::given(method("GET"))
        .and(path("/orgs/octo-org/teams/sre/members"))
        .respond_with(ok(&rest("teams.list-members-in-org.200.default.json")))
        .mount(&server)
        .await;
    let gathered = gather_blocking(request(&server, &["octo-org/sre"])).unwrap();
    assert_eq!(
        gathered.facts.teams["octo-org/sre"],
        vec!["octocat".to_string()]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_team_that_cannot_be_read_is_an_error() {
    let server = MockServer::start().await;
    mount_pull_request(&server).await;
    Mock::given(method("GET"))
        .and(path("/orgs/octo-org/teams/sre/members"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(&server)
        .await;
    let e = gather_blocking(request(&server, &["octo-org/sre"])).unwrap_err();
    assert!(
        e.message
            .contains("cannot read the members of team @octo-org/sre"),
        "{e}"
    );
    assert!(!format!("{e:?}").contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread")]
async fn later_pages_are_fetched_concurrently() {
    // Pages 2 and 3 of the commits and of the files each take 2 s: one after
    // another that is 8 s, concurrently about 2 s.
    let server = MockServer::start().await;
    for list in ["commits", "files"] {
        let (items, field) = match list {
            "commits" => (rest("pulls.list-commits.200.default.json"), "sha"),
            _ => (rest("pulls.list-files.200.default.json"), "filename"),
        };
        for page in [2, 3] {
            let n = if page == 3 && list == "commits" {
                50
            } else {
                100
            };
            let offset = (page - 1) * 100;
            let body: Vec<Value> = many(&items, offset + n, field).split_off(offset);
            let mut response = ok(&Value::Array(body)).set_delay(Duration::from_secs(2));
            if page == 2 {
                response = response.insert_header(
                    "link",
                    format!("<{}{PULL}/{list}?per_page=100&page=3>; rel=\"next\", <{}{PULL}/{list}?per_page=100&page=3>; rel=\"last\"", server.uri(), server.uri()).as_str(),
                );
            }
            Mock::given(method("GET"))
                .and(path(format!("{PULL}/{list}")))
                .and(query_param("page", page.to_string().as_str()))
                .respond_with(response)
                .with_priority(1)
                .mount(&server)
                .await;
        }
    }
    mount_large_pull_request(&server).await;
    let started = std::time::Instant::now();
    let out = facts_of_pr(&server);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "took {:?}",
        started.elapsed()
    );
}

/// The `run:` script of the action's step with `id`.
fn action_script(id: &str) -> String {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys,yaml\n\
             steps=yaml.safe_load(open(sys.argv[1]))['runs']['steps']\n\
             print([s for s in steps if s.get('id')==sys.argv[2]][0]['run'])",
        ])
        .arg(common::root().join("action.yml"))
        .arg(id)
        .output()
        .expect("python3 with PyYAML (scripts/test installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Run the action's Gate step as the runner would: its script under bash,
/// the inputs in its `env:`, the built binary where the install step puts it.
fn run_gate_step(server: &MockServer, inputs: &[(&str, &str)]) -> (Out, String, String) {
    let home = tempfile::tempdir().unwrap();
    let bin = home.path().join(".gatehouse/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_gatehouse"), bin.join("gatehouse")).unwrap();
    let runner_temp = home.path().join("runner-temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let output_file = home.path().join("output");
    let summary_file = home.path().join("summary.md");
    std::fs::write(&output_file, "").unwrap();
    std::fs::write(&summary_file, "").unwrap();
    let mut cmd = assert_cmd::Command::new("bash");
    cmd.current_dir(common::root())
        .args(["-e", "-c", &action_script("gate")])
        .env("NO_COLOR", "1")
        .env("HOME", home.path())
        .env("RUNNER_TEMP", &runner_temp)
        .env("GITHUB_OUTPUT", &output_file)
        .env("GITHUB_STEP_SUMMARY", &summary_file)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env(
            "GITHUB_EVENT_PATH",
            fixture("github/webhooks/pull_request.opened.0.json"),
        )
        .env("GITHUB_REPOSITORY", "Codertocat/Hello-World")
        .env("GITHUB_API_URL", server.uri())
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REF", "refs/pull/2/merge")
        .env("GITHUB_SHA", "f95f852bd8fca8fcc58a9a2d6c842781e32a215e")
        .env("GITHUB_RUN_ID", "30433642")
        .env("GATEHOUSE_GITHUB_TIMEOUT", "5")
        .env("GATEHOUSE_GITHUB_RATE_LIMIT_WAIT", "1");
    // The step's env: every input, as the runner sets them; the audit log goes
    // to the temporary home, never to the project's own `.git`.
    let audit = format!("file:{}", home.path().join("audit.jsonl").display());
    let defaults = [
        ("GITHUB_TOKEN", TOKEN),
        ("GATEHOUSE_POLICY", ""),
        ("GATEHOUSE_ENVIRONMENT", ""),
        ("GATEHOUSE_AUDIT_SINKS", audit.as_str()),
        ("GATEHOUSE_FORMAT", "github"),
        ("GATEHOUSE_DRY_RUN", "false"),
        ("GATEHOUSE_SARIF", "false"),
    ];
    for (k, v) in defaults {
        cmd.env(k, v);
    }
    for (k, v) in inputs {
        cmd.env(k, v);
    }
    let out = output(&mut cmd);
    (
        out,
        std::fs::read_to_string(&output_file).unwrap(),
        std::fs::read_to_string(&summary_file).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_action_gate_step_blocks_and_sets_its_outputs() {
    let server = MockServer::start().await;
    mount_pull_request(&server).await;
    let policy = fixture("policies/spine.toml");
    let (out, outputs, summary) = run_gate_step(
        &server,
        &[
            ("GATEHOUSE_POLICY", policy.to_str().unwrap()),
            ("GATEHOUSE_SARIF", "true"),
        ],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .starts_with("::error file=fixtures/policies/spine.toml,line=11,"),
        "{}",
        out.stdout
    );
    assert!(outputs.contains("decision=block\n"), "{outputs}");
    assert!(
        outputs.contains("report=") && outputs.contains("sarif="),
        "{outputs}"
    );
    assert!(summary.starts_with("## ❌ gatehouse: blocked"), "{summary}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_action_gate_step_fails_closed_when_the_api_fails() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let policy = fixture("policies/spine.toml");
    let (out, outputs, summary) =
        run_gate_step(&server, &[("GATEHOUSE_POLICY", policy.to_str().unwrap())]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(outputs.contains("decision=error\n"), "{outputs}");
    assert!(
        out.stdout
            .contains("::error title=gatehouse::gatehouse could not decide (exit 3)"),
        "{}",
        out.stdout
    );
    assert!(
        summary.starts_with("## ⛔ gatehouse: blocked (indeterminate)"),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_action_gate_step_in_dry_run_never_fails_the_step() {
    let server = MockServer::start().await;
    mount_pull_request(&server).await;
    let policy = fixture("policies/spine.toml");
    let (out, outputs, summary) = run_gate_step(
        &server,
        &[
            ("GATEHOUSE_POLICY", policy.to_str().unwrap()),
            ("GATEHOUSE_DRY_RUN", "true"),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(outputs.contains("decision=block\n"), "{outputs}");
    assert!(summary.contains("would block (dry run)"), "{summary}");
}

/// The base commit of the pull request in `pull_request.opened.0.json`.
const PAYLOAD_BASE: &str = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e";

#[tokio::test(flavor = "multi_thread")]
async fn without_policy_the_base_commits_policy_is_read_through_the_api() {
    let server = MockServer::start().await;
    mount_pull_request(&server).await;
    let mut content = rest("repos.get-content.200.response-if-content-is-a-file.json");
    let policy = std::fs::read_to_string(fixture("policies/spine.toml")).unwrap();
    content["content"] = base64::engine::general_purpose::STANDARD
        .encode(policy)
        .into();
    content["path"] = ".gatehouse.toml".into();
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/contents/.gatehouse.toml")))
        .and(query_param("ref", PAYLOAD_BASE))
        .respond_with(ok(&content))
        .mount(&server)
        .await;
    let out = output(
        job(&server, "pull_request", "pull_request.opened.0.json")
            .args(["check", "--source", "github"]),
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "policy .gatehouse.toml read from the base commit f95f852 through the GitHub API"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("FAIL   ticket-reference"),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_base_without_a_policy_file_uses_the_default_and_says_so() {
    let server = MockServer::start().await;
    mount_pull_request(&server).await;
    let out = output(
        job(&server, "pull_request", "pull_request.opened.0.json")
            .args(["check", "--source", "github"]),
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("the base commit f95f852 has no policy file"),
        "{}",
        out.stdout
    );
    // All four discovery locations were asked for at the base.
    for p in [
        ".gatehouse.toml",
        "gatehouse.toml",
        ".github/gatehouse.toml",
        ".gitlab/gatehouse.toml",
    ] {
        assert_eq!(
            hits(&server, &format!("{REPO}/contents/{p}")).await,
            1,
            "{p}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_policy_lookup_is_indeterminate() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/contents/.gatehouse.toml")))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    mount_pull_request(&server).await;
    let out = output(
        job(&server, "pull_request", "pull_request.opened.0.json")
            .args(["check", "--source", "github"]),
    );
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_linking_only_to_the_next_page_is_followed_to_its_end() {
    let server = MockServer::start().await;
    let reviews = many(&rest("pulls.list-reviews.200.default.json"), 130, "id");
    let next = format!(
        "<{}{PULL}/reviews?per_page=100&page=2>; rel=\"next\"",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path(format!("{PULL}/reviews")))
        .and(query_param("page", "1"))
        .respond_with(
            ok(&Value::Array(reviews[..100].to_vec())).insert_header("link", next.as_str()),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{PULL}/reviews")))
        .and(query_param("page", "2"))
        .respond_with(ok(&Value::Array(reviews[100..].to_vec())))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_pull_request(&server).await;
    let out = facts_of_pr(&server);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let facts: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(facts["change"]["reviews"].as_array().unwrap().len(), 130);
    assert_eq!(hits(&server, &format!("{PULL}/reviews")).await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn more_commits_than_the_api_lists_fail_before_reading_them() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PULL))
        .respond_with(ok(&pull_request(251, 1)))
        .mount(&server)
        .await;
    mount_lists(&server).await;
    expect_indeterminate(
        &server,
        "the pull request has 251 commits; GitHub's API lists at most 250",
    )
    .await;
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_primary_rate_limit_resetting_soon_is_waited_out() {
    let server = MockServer::start().await;
    let reset = chrono::Utc::now().timestamp() + 1;
    Mock::given(method("GET"))
        .and(path(PULL))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("x-ratelimit-limit", "5000")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.to_string().as_str())
                .set_body_json(json!({"message": "API rate limit exceeded"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_pull_request(&server).await;
    let out = facts_of_pr(&server);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(hits(&server, PULL).await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_forbidden_answer_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PULL))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"message": "Must have admin rights to Repository."})),
        )
        .mount(&server)
        .await;
    expect_indeterminate(&server, "Must have admin rights").await;
    assert_eq!(hits(&server, PULL).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_request_that_moved_on_since_the_event_is_not_gated_here() {
    let server = MockServer::start().await;
    // GitHub's example pull request has another head than the event payload.
    Mock::given(method("GET"))
        .and(path(PULL))
        .respond_with(ok(&rest("pulls.get.200.default.json")))
        .mount(&server)
        .await;
    mount_lists(&server).await;
    expect_indeterminate(&server, "its head is now 6dcb09b, not ec26c3e").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_enterprise_server_api_path_is_kept() {
    // GitHub Enterprise Server serves the API under /api/v3.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v3{PULL}")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ok(&pull_request(1, 1)))
        .mount(&server)
        .await;
    for (suffix, body) in [
        ("/commits", rest("pulls.list-commits.200.default.json")),
        ("/files", rest("pulls.list-files.200.default.json")),
        ("/reviews", rest("pulls.list-reviews.200.default.json")),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/api/v3{PULL}{suffix}")))
            .respond_with(ok(&body))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(format!("/api/v3{REPO}/commits/{HEAD}/check-runs")))
        .respond_with(ok(&rest("checks.list-for-ref.200.default.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v3{REPO}/commits/{HEAD}/status")))
        .respond_with(ok(&rest(
            "repos.get-combined-status-for-ref.200.default.json",
        )))
        .mount(&server)
        .await;
    let mut req = request(&server, &[]);
    req.api_url = format!("{}/api/v3/", server.uri());
    let gathered = gather_blocking(req).unwrap();
    assert_eq!(gathered.facts.change.unwrap().id, 1347);
    assert_eq!(
        gathered.facts.codeowners, None,
        "no CODEOWNERS at any location"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_limit_is_named() {
    let server = MockServer::start().await;
    let out = output(
        job(&server, "pull_request", "pull_request.opened.0.json")
            .env("GATEHOUSE_GITHUB_TIMEOUT", "soon")
            .args(["facts", "--source", "github"]),
    );
    assert_eq!(out.code, 3);
    assert!(
        out.stderr
            .contains("GATEHOUSE_GITHUB_TIMEOUT=`soon` is not a number of seconds"),
        "{}",
        out.stderr
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}
