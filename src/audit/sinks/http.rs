//! `http(s)://…`: POST the record line as JSON to a collector. Bounded retries
//! with backoff on 5xx, 429 and timeouts; success only on 2xx. The bearer
//! token comes from the environment variable named by `[audit] token_env` and
//! never appears in any message (a hostile server echoing it back included).

use std::fmt;
use std::time::Duration;

use crate::tls::install_crypto_provider;

/// Attempts in total, including the first.
pub const ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Per attempt; `GATEHOUSE_AUDIT_HTTP_TIMEOUT_MS` overrides it.
fn timeout() -> Duration {
    std::env::var(crate::env_vars::gatehouse::GATEHOUSE_AUDIT_HTTP_TIMEOUT_MS)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&ms| ms > 0)
        .map_or(DEFAULT_TIMEOUT, Duration::from_millis)
}

pub struct HttpTarget {
    url: String,
    token: Option<Token>,
}

/// A bearer token that cannot be printed by accident.
struct Token(String);

impl fmt::Debug for HttpTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HttpTarget({}, token: {})",
            redact_url(&self.url),
            if self.token.is_some() {
                "[redacted]"
            } else {
                "none"
            }
        )
    }
}

impl fmt::Display for HttpTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.url))
    }
}

impl HttpTarget {
    /// `token_env` names the variable holding the token (from the policy).
    pub fn new(url: &str, token_env: Option<&str>) -> Result<HttpTarget, String> {
        reqwest::Url::parse(url).map_err(|e| format!("not a valid URL: {e}"))?;
        let token = match token_env {
            None => None,
            Some(var) => match std::env::var(var) {
                Ok(t) if !t.is_empty() => Some(Token(t)),
                _ => {
                    return Err(format!(
                        "the token variable ${var} (named by `[audit] token_env`) is not set"
                    ));
                }
            },
        };
        Ok(HttpTarget {
            url: url.to_string(),
            token,
        })
    }

    fn scrub(&self, text: &str) -> String {
        let text = text.replace(&self.url, &redact_url(&self.url));
        match &self.token {
            Some(Token(t)) => text.replace(t.as_str(), "[redacted]"),
            None => text,
        }
    }
}

/// `user:password@` removed from a URL shown to people.
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("[redacted]"));
            }
            u.to_string()
        }
        Err(_) => "[an invalid URL]".to_string(),
    }
}

/// POST `line` (one JSON record) until a 2xx, a non-retryable status, or
/// [`ATTEMPTS`] tries.
pub fn post(target: &HttpTarget, line: &str) -> Result<(), String> {
    install_crypto_provider();
    let runtime = crate::runtime::current_thread()
        .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
    runtime
        .block_on(post_async(target, line))
        .map_err(|e| target.scrub(&e))
}

async fn post_async(target: &HttpTarget, line: &str) -> Result<(), String> {
    let timeout = timeout();
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let mut backoff = FIRST_BACKOFF;
    let mut last_error = String::new();
    for attempt in 1..=ATTEMPTS {
        let mut request = client
            .post(&target.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(line.to_string());
        if let Some(Token(token)) = &target.token {
            request = request.bearer_auth(token);
        }
        let retryable = match request.send().await {
            Ok(response) => {
                let status = response.status();
                if status.is_success() {
                    return Ok(());
                }
                let body = response.text().await.unwrap_or_default();
                let body: String = body.chars().take(200).collect();
                last_error = format!(
                    "the collector answered {status}{}",
                    if body.trim().is_empty() {
                        String::new()
                    } else {
                        format!(": {}", crate::sanitize::terminal_line(body.trim()))
                    }
                );
                status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS
            }
            Err(e) => {
                last_error = if e.is_timeout() {
                    format!("no answer within {} ms", timeout.as_millis())
                } else {
                    format!("cannot reach the collector: {}", error_chain(&e))
                };
                e.is_timeout() || e.is_connect() || e.is_request()
            }
        };
        if !retryable {
            return Err(format!("{last_error} (not retried)"));
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
    Err(format!("{last_error} (gave up after {ATTEMPTS} attempts)"))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}
