//! A small GitHub REST client on octocrab: every request bounded by a
//! timeout, rate limits waited out within a total budget, every list read to
//! its last page (pages after the first fetched concurrently), and every
//! failure a [`SourceError`] — never a shorter list.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{HeaderMap, StatusCode};
use octocrab::Octocrab;
use serde::de::DeserializeOwned;
use tokio::task::JoinSet;

use crate::sources::SourceError;

pub(super) const SOURCE: &str = "github";

/// Items per page: the most GitHub allows, so pagination forces the fewest requests.
pub const PER_PAGE: usize = 100;

/// How long to wait, in total, before giving up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Each request (connect, send, read the whole body).
    pub request_timeout: Duration,
    /// The total time this run may spend waiting for rate limits to reset.
    pub rate_limit_wait: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_timeout: Duration::from_secs(30),
            rate_limit_wait: Duration::from_secs(120),
        }
    }
}

/// Why a request failed: "not there" is sometimes an answer (a CODEOWNERS
/// location), everything else is an error.
#[derive(Debug)]
pub enum ApiError {
    NotFound(String),
    Failed(SourceError),
}

impl From<ApiError> for SourceError {
    fn from(e: ApiError) -> SourceError {
        match e {
            ApiError::NotFound(path) => SourceError::new(
                SOURCE,
                format!("GET {path} answered 404 Not Found"),
            )
            .hint("check the repository, the number, and that the token may read them (a forked pull request's token is read-only but can read the base repository)"),
            ApiError::Failed(e) => e,
        }
    }
}

fn failed(message: impl Into<String>) -> ApiError {
    ApiError::Failed(SourceError::new(SOURCE, message))
}

/// One response: status, headers and the whole body.
pub struct Response {
    pub headers: HeaderMap,
    pub body: String,
}

#[derive(Clone)]
pub struct Api {
    octo: Octocrab,
    limits: Limits,
    /// When the first rate-limit wait began. The budget is wall-clock time
    /// from then, so concurrent requests waiting out the same limit count once.
    first_wait: Arc<Mutex<Option<Instant>>>,
}

impl Api {
    /// A client for `base_url` (`GITHUB_API_URL`). The token is handed to
    /// octocrab as a secret and never shown.
    pub fn new(base_url: &str, token: Option<&str>, limits: Limits) -> Result<Api, SourceError> {
        crate::tls::install_crypto_provider();
        let bad_url = |e: octocrab::Error| {
            SourceError::new(SOURCE, format!("invalid API URL `{base_url}`: {e}"))
                .hint("GITHUB_API_URL must be like https://api.github.com or https://ghe.example.com/api/v3")
        };
        // A trailing slash would double the one every request path starts with.
        let base = base_url.trim_end_matches('/');
        let mut builder = Octocrab::builder()
            .base_uri(base)
            .map_err(bad_url)?
            .set_connect_timeout(Some(limits.request_timeout))
            .set_read_timeout(Some(limits.request_timeout));
        if let Some(token) = token {
            builder = builder.personal_token(token.to_string());
        }
        let octo = builder
            .build()
            .map_err(|e| SourceError::new(SOURCE, format!("cannot set up the API client: {e}")))?;
        Ok(Api {
            octo,
            limits,
            first_wait: Arc::new(Mutex::new(None)),
        })
    }

    /// `GET path` (relative to the API URL, so the token is sent), waiting
    /// out rate limits within the budget.
    pub async fn get(&self, path: &str) -> Result<Response, ApiError> {
        loop {
            let (status, headers, body) = self.send(path).await?;
            if status.is_success() {
                return Ok(Response { headers, body });
            }
            if status == StatusCode::NOT_FOUND {
                return Err(ApiError::NotFound(path.to_string()));
            }
            if let Some(limit) = RateLimit::detect(status, &headers, &body) {
                self.wait_for(path, &limit).await?;
                continue;
            }
            return Err(failed(format!(
                "GET {path} answered {status}{}",
                github_message(&body)
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            )));
        }
    }

    async fn send(&self, path: &str) -> Result<(StatusCode, HeaderMap, String), ApiError> {
        let request = async {
            let response = self.octo._get(path).await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = self.octo.body_to_string(response).await?;
            Ok::<_, octocrab::Error>((status, headers, body))
        };
        match tokio::time::timeout(self.limits.request_timeout, request).await {
            Err(_) => Err(failed(format!(
                "GET {path} did not complete within {}s",
                self.limits.request_timeout.as_secs_f64()
            ))),
            Ok(Err(e)) => Err(failed(format!("GET {path} failed: {}", error_chain(&e)))),
            Ok(Ok(answer)) => Ok(answer),
        }
    }

    async fn wait_for(&self, path: &str, limit: &RateLimit) -> Result<(), ApiError> {
        let budget = self.limits.rate_limit_wait;
        let allowed = {
            let mut first = self.first_wait.lock().unwrap_or_else(|p| p.into_inner());
            let spent = first.get_or_insert_with(Instant::now).elapsed();
            spent + limit.wait <= budget
        };
        if !allowed {
            return Err(ApiError::Failed(
                SourceError::new(
                    SOURCE,
                    format!(
                        "GET {path} hit GitHub's {}; it resets in {}s, more than the {}s this run may wait",
                        limit.name,
                        limit.wait.as_secs(),
                        budget.as_secs()
                    ),
                )
                .hint(format!(
                    "re-run the job later, or allow a longer wait with {}=SECONDS",
                    crate::env_vars::gatehouse::GATEHOUSE_GITHUB_RATE_LIMIT_WAIT
                )),
            ));
        }
        tokio::time::sleep(limit.wait).await;
        Ok(())
    }

    /// `GET path` and parse its JSON body as `T`.
    pub async fn json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        let response = self.get(path).await?;
        parse(path, &response.body).map_err(ApiError::Failed)
    }

    /// Every item of a paginated list. `key` names the array inside an object
    /// page (`check_runs`), whose `total_count` must then match what was read;
    /// `None` means each page is a JSON array.
    pub async fn list<T>(
        &self,
        path: &str,
        key: Option<&'static str>,
    ) -> Result<Vec<T>, SourceError>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let sep = if path.contains('?') { '&' } else { '?' };
        let page_path = |n: usize| format!("{path}{sep}per_page={PER_PAGE}&page={n}");
        let first_path = page_path(1);
        let first = self.get(&first_path).await?;
        let (mut items, total) = items_of::<T>(&first_path, &first.body, key)?;
        let links = Links::parse(&first.headers);
        let last = match (links.last, links.next) {
            (Some(last), _) => last,
            (None, Some(_)) => {
                // No `last` link: follow `next` one page at a time.
                return self.follow(path, &page_path, items, total, key).await;
            }
            (None, None) => 1,
        };
        if last > 1 && items.len() != PER_PAGE {
            return Err(incomplete(&first_path, items.len()));
        }
        let mut pages = JoinSet::new();
        for n in 2..=last {
            let api = self.clone();
            let p = page_path(n);
            pages.spawn(async move {
                let response = api.get(&p).await.map_err(SourceError::from)?;
                let (items, _) = items_of::<T>(&p, &response.body, key)?;
                Ok::<_, SourceError>((n, p, items))
            });
        }
        let mut rest = Vec::new();
        while let Some(joined) = pages.join_next().await {
            let page = joined
                .map_err(|e| SourceError::new(SOURCE, format!("a page request failed: {e}")))??;
            rest.push(page);
        }
        rest.sort_by_key(|(n, _, _)| *n);
        for (n, p, page) in rest {
            if n < last && page.len() != PER_PAGE {
                return Err(incomplete(&p, page.len()));
            }
            items.extend(page);
        }
        check_total(path, total, items)
    }

    /// The rest of a list whose pages link only to the next one.
    async fn follow<T: DeserializeOwned>(
        &self,
        path: &str,
        page_path: &(dyn Fn(usize) -> String + Sync),
        mut items: Vec<T>,
        total: Option<usize>,
        key: Option<&'static str>,
    ) -> Result<Vec<T>, SourceError> {
        let mut n = 1;
        loop {
            if items.len() != n * PER_PAGE {
                return Err(incomplete(&page_path(n), items.len() - (n - 1) * PER_PAGE));
            }
            n += 1;
            let p = page_path(n);
            let response = self.get(&p).await?;
            let (page, _) = items_of::<T>(&p, &response.body, key)?;
            items.extend(page);
            if Links::parse(&response.headers).next.is_none() {
                return check_total(path, total, items);
            }
        }
    }
}

/// A list whose response reported its length must have exactly that many items.
fn check_total<T>(path: &str, total: Option<usize>, items: Vec<T>) -> Result<Vec<T>, SourceError> {
    if let Some(total) = total
        && total != items.len()
    {
        return Err(SourceError::new(
            SOURCE,
            format!(
                "GET {path} reported {total} items but its pages held {}; the list changed or was cut short",
                items.len()
            ),
        )
        .hint("re-run the job; the gate never decides on a partial list"));
    }
    Ok(items)
}

fn incomplete(path: &str, got: usize) -> SourceError {
    SourceError::new(
        SOURCE,
        format!("GET {path} returned {got} items on a page that is not the last (expected {PER_PAGE}); the list is incomplete"),
    )
    .hint("re-run the job; the gate never decides on a partial list")
}

fn items_of<T: DeserializeOwned>(
    path: &str,
    body: &str,
    key: Option<&str>,
) -> Result<(Vec<T>, Option<usize>), SourceError> {
    match key {
        None => Ok((parse(path, body)?, None)),
        Some(key) => {
            let mut value: serde_json::Value = parse(path, body)?;
            let total = value
                .get("total_count")
                .or_else(|| value.get("total_commits"))
                .and_then(serde_json::Value::as_u64)
                .and_then(|t| usize::try_from(t).ok());
            let items = value
                .get_mut(key)
                .map(serde_json::Value::take)
                .ok_or_else(|| {
                    SourceError::new(
                        SOURCE,
                        format!("GET {path}: the response has no `{key}` list"),
                    )
                })?;
            let items = serde_path_to_error::deserialize(items).map_err(|e| {
                SourceError::new(
                    SOURCE,
                    format!(
                        "GET {path}: unexpected response at `{key}.{}`: {}",
                        e.path(),
                        e.inner()
                    ),
                )
            })?;
            Ok((items, total))
        }
    }
}

/// Parse a JSON body, naming the request and the JSON path of a bad field.
pub fn parse<T: DeserializeOwned>(path: &str, body: &str) -> Result<T, SourceError> {
    let mut de = serde_json::Deserializer::from_str(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        if inner.is_eof() || inner.is_syntax() {
            SourceError::new(
                SOURCE,
                format!(
                    "GET {path}: the response is not complete JSON (line {}, column {}): {inner}",
                    inner.line(),
                    inner.column()
                ),
            )
            .hint("the connection may have been cut; re-run the job")
        } else {
            SourceError::new(
                SOURCE,
                format!("GET {path}: unexpected response at `{}`: {inner}", e.path()),
            )
        }
    })
}

/// GitHub's own `message` from an error body, neutralised for the terminal.
fn github_message(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let m = v.get("message")?.as_str()?;
    Some(
        crate::sanitize::terminal_line(m)
            .chars()
            .take(300)
            .collect(),
    )
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// A rate limit answer: which limit, and how long until it lifts.
#[derive(Debug, PartialEq)]
struct RateLimit {
    name: String,
    wait: Duration,
}

impl RateLimit {
    /// GitHub answers 403 or 429: `retry-after` (secondary limits) or
    /// `x-ratelimit-remaining: 0` with `x-ratelimit-reset` (primary limits).
    fn detect(status: StatusCode, headers: &HeaderMap, body: &str) -> Option<RateLimit> {
        if status != StatusCode::FORBIDDEN && status != StatusCode::TOO_MANY_REQUESTS {
            return None;
        }
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let resource = header("x-ratelimit-resource").unwrap_or("core");
        if let Some(seconds) = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
            return Some(RateLimit {
                name: format!("secondary rate limit (retry-after: {seconds}s)"),
                wait: Duration::from_secs(seconds),
            });
        }
        if header("x-ratelimit-remaining") == Some("0") {
            let reset = header("x-ratelimit-reset").and_then(|v| v.trim().parse::<i64>().ok());
            let limit = header("x-ratelimit-limit").unwrap_or("?");
            let wait = reset.map_or(Duration::from_secs(60), |reset| {
                let now = chrono::Utc::now().timestamp();
                // One second past the reset instant, so the next try lands after it.
                Duration::from_secs(u64::try_from(reset - now).unwrap_or(0) + 1)
            });
            return Some(RateLimit {
                name: format!("primary rate limit for `{resource}` ({limit} requests per hour)"),
                wait,
            });
        }
        let says_rate_limit = body.to_ascii_lowercase().contains("rate limit");
        if status == StatusCode::TOO_MANY_REQUESTS || says_rate_limit {
            // GitHub's advice without headers: wait at least a minute.
            return Some(RateLimit {
                name: "secondary rate limit".to_string(),
                wait: Duration::from_secs(60),
            });
        }
        None
    }
}

/// The page numbers of a `Link` header's `next` and `last` links.
#[derive(Debug, Default, PartialEq)]
struct Links {
    next: Option<usize>,
    last: Option<usize>,
}

impl Links {
    fn parse(headers: &HeaderMap) -> Links {
        let mut links = Links::default();
        for value in headers.get_all(http::header::LINK) {
            let Ok(value) = value.to_str() else { continue };
            for part in value.split(',') {
                let Some((url, params)) = part.split_once(';') else {
                    continue;
                };
                let url = url.trim().trim_start_matches('<').trim_end_matches('>');
                let page = url.split_once('?').and_then(|(_, q)| {
                    q.split('&')
                        .find_map(|kv| kv.strip_prefix("page="))
                        .and_then(|p| p.parse().ok())
                });
                if params.contains("rel=\"next\"") {
                    links.next = page;
                } else if params.contains("rel=\"last\"") {
                    links.last = page;
                }
            }
        }
        links
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn link_header_gives_next_and_last_pages() {
        let h = headers(&[(
            "link",
            "<https://api.github.com/repositories/1/pulls/1/commits?per_page=100&page=2>; rel=\"next\", <https://api.github.com/repositories/1/pulls/1/commits?per_page=100&page=3>; rel=\"last\"",
        )]);
        assert_eq!(
            Links::parse(&h),
            Links {
                next: Some(2),
                last: Some(3)
            }
        );
        assert_eq!(Links::parse(&HeaderMap::new()), Links::default());
    }

    #[test]
    fn rate_limits_are_recognised() {
        let retry = RateLimit::detect(StatusCode::FORBIDDEN, &headers(&[("retry-after", "7")]), "");
        assert_eq!(retry.unwrap().wait, Duration::from_secs(7));
        let primary = RateLimit::detect(
            StatusCode::FORBIDDEN,
            &headers(&[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "0"),
                ("x-ratelimit-limit", "5000"),
            ]),
            "",
        )
        .unwrap();
        assert!(
            primary.name.contains("primary rate limit for `core` (5000"),
            "{}",
            primary.name
        );
        assert!(
            RateLimit::detect(
                StatusCode::FORBIDDEN,
                &HeaderMap::new(),
                "{\"message\":\"Resource not accessible by integration\"}"
            )
            .is_none()
        );
        assert!(
            RateLimit::detect(
                StatusCode::INTERNAL_SERVER_ERROR,
                &headers(&[("retry-after", "1")]),
                ""
            )
            .is_none()
        );
    }

    #[test]
    fn truncated_json_is_named_as_such() {
        let e = parse::<serde_json::Value>("/x", "{\"a\": [1, 2").unwrap_err();
        assert!(e.message.contains("not complete JSON"), "{}", e.message);
    }
}
