//! The HTTP sink against wiremock: the record is POSTed as JSON with the
//! bearer token from `[audit] token_env`; 5xx, 429 and timeouts are retried a
//! bounded number of times; anything but 2xx in the end blocks (exit 3); the
//! token never appears in any output, even when the server echoes it.

mod audit_support;
mod common;

use audit_support::Scratch;
use common::fixture;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN_VAR: &str = "GATEHOUSE_TEST_COLLECTOR_TOKEN";
const TOKEN: &str = "tok-7f3a9c-very-secret";

/// A policy whose `[audit]` sends to `url` with the token from `TOKEN_VAR`.
fn policy(s: &Scratch, url: &str) -> String {
    let mut text = std::fs::read_to_string(fixture("policies/spine.toml")).unwrap();
    text = text.replacen(
        "version = 1\n",
        &format!("version = 1\n\n[audit]\nsinks = [\"{url}\"]\ntoken_env = \"{TOKEN_VAR}\"\n"),
        1,
    );
    let p = s.path("policy.toml");
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// Run `check` off the async runtime, so wiremock keeps serving.
async fn check(s: &Scratch, policy: &str, token: Option<&str>, extra: &[&str]) -> common::Run {
    let facts = fixture("facts/deploy-tag.json").display().to_string();
    let dir = s.dir.path().to_path_buf();
    let policy = policy.to_string();
    let token = token.map(str::to_string);
    let extra: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let mut cmd = common::gatehouse();
        cmd.current_dir(&dir)
            .args(["check", "--facts", &facts, "--policy", &policy])
            .args(&extra)
            .env("GATEHOUSE_AUDIT_HTTP_TIMEOUT_MS", "500");
        match token {
            Some(t) => cmd.env(TOKEN_VAR, t),
            None => cmd.env_remove(TOKEN_VAR),
        };
        let out = cmd.output().unwrap();
        common::Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_posted_with_the_token_and_retried_after_5xx_and_429() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/records"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/records"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/records"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    let s = Scratch::new();
    let policy = policy(&s, &format!("{}/records", server.uri()));
    let log = format!("file:{}", s.log().display());
    let r = check(&s, &policy, Some(TOKEN), &["--audit", &log]).await;
    assert_eq!(r.code, 0, "{}", r.transcript());
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 4);
    // The collector gets exactly the chained line the file got.
    let body = String::from_utf8(requests[3].body.clone()).unwrap();
    assert_eq!(body, s.lines()[0]);
    server.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_keeps_failing_blocks_and_never_sees_its_token_echoed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string(format!("bad token {TOKEN}")))
        .mount(&server)
        .await;
    let s = Scratch::new();
    let policy = policy(&s, &format!("{}/records", server.uri()));
    let r = check(&s, &policy, Some(TOKEN), &[]).await;
    assert_eq!(r.code, 3);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        4,
        "bounded retries"
    );
    assert!(
        !r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN),
        "{}",
        r.transcript()
    );
    let shown = r.stderr.replace(&server.uri(), "[server]");
    insta::assert_snapshot!(shown, @r"
    error: the decision was not recorded — audit sink [server]/records: the collector answered 500 Internal Server Error: bad token [redacted] (gave up after 4 attempts)
    the gate blocks: a run whose audit record cannot be written is never allowed (exit 3)
    ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_error_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let s = Scratch::new();
    let policy = policy(&s, &format!("{}/records", server.uri()));
    let r = check(&s, &policy, Some(TOKEN), &[]).await;
    assert_eq!(r.code, 3);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert!(
        r.stderr.contains("answered 401 Unauthorized (not retried)"),
        "{}",
        r.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_are_retried_then_block() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(3)))
        .mount(&server)
        .await;
    let s = Scratch::new();
    let policy = policy(&s, &format!("{}/records", server.uri()));
    let r = check(&s, &policy, Some(TOKEN), &[]).await;
    assert_eq!(r.code, 3, "{}", r.transcript());
    assert!(
        r.stderr
            .contains("no answer within 500 ms (gave up after 4 attempts)"),
        "{}",
        r.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_token_variable_is_named() {
    let server = MockServer::start().await;
    let s = Scratch::new();
    let policy = policy(&s, &format!("{}/records", server.uri()));
    let r = check(&s, &policy, None, &[]).await;
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("the token variable $GATEHOUSE_TEST_COLLECTOR_TOKEN (named by `[audit] token_env`) is not set"),
        "{}",
        r.stderr
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}
