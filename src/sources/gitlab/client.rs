//! A small GitLab REST client: authenticated GETs, every page of a list,
//! bounded retries, and errors that say what could not be read and why.
//!
//! Fail closed: anything short of a complete, well-formed answer is a
//! [`SourceError`]. The token travels only in a header marked sensitive and
//! never appears in a message.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;

use super::{SOURCE, Token, TokenKind};
use crate::sources::SourceError;

/// Attempts per request: the first and three retries (429, 5xx, network).
const MAX_ATTEMPTS: u32 = 4;
/// The longest `Retry-After` honoured; a longer one fails the run instead of
/// stalling the pipeline.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
/// A list longer than this many pages is treated as a runaway pagination.
const MAX_PAGES: usize = 1000;
const PER_PAGE: &str = "100";

/// Cheap to clone: the HTTP client shares its connection pool.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: Url,
    auth: HeaderMap,
}

impl Api {
    pub fn new(api_url: &str, token: &Token, timeout: Duration) -> Result<Api, SourceError> {
        crate::tls::install_crypto_provider();
        let mut base = Url::parse(api_url).map_err(|e| {
            SourceError::new(SOURCE, format!("the API URL `{api_url}` is not a URL: {e}"))
                .hint("CI_API_V4_URL should look like https://gitlab.example.com/api/v4")
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(SourceError::new(
                SOURCE,
                format!("the API URL `{api_url}` is not an http(s) URL"),
            ));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let (name, secret) = match token.kind {
            TokenKind::Api { .. } => ("PRIVATE-TOKEN", &token.secret),
            TokenKind::Job => ("JOB-TOKEN", &token.secret),
        };
        let mut value = HeaderValue::from_str(secret).map_err(|_| {
            SourceError::new(
                SOURCE,
                format!(
                    "the token in {} contains characters no HTTP header can carry",
                    token.origin()
                ),
            )
        })?;
        value.set_sensitive(true);
        let mut auth = HeaderMap::new();
        auth.insert(name, value);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
            // A redirect could carry the token elsewhere; GitLab's API does not redirect.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SourceError::new(SOURCE, format!("cannot build the HTTP client: {e}")))?;
        Ok(Api { client, base, auth })
    }

    /// The URL of `segments` under the API base; each segment is
    /// percent-encoded on its own (`acme/api` becomes `acme%2Fapi`).
    pub fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .expect("the base was checked to be a base URL");
            path.pop_if_empty();
            path.extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// One object; `what` names it in messages.
    pub async fn get<T: DeserializeOwned>(&self, what: &str, url: Url) -> Result<T, SourceError> {
        let (_, body) = self.fetch(what, &url, Absent::IsError).await?;
        let body = body.ok_or_else(|| not_found(what, &url))?;
        decode(what, &url, &body)
    }

    /// One object, or `None` when GitLab answers 404 (the thing does not exist).
    pub async fn get_optional<T: DeserializeOwned>(
        &self,
        what: &str,
        url: Url,
    ) -> Result<Option<T>, SourceError> {
        match self.fetch(what, &url, Absent::NotFound).await? {
            (_, None) => Ok(None),
            (_, Some(body)) => decode(what, &url, &body).map(Some),
        }
    }

    /// A setting that only refines a fact: `None` when it does not exist or
    /// the token may not read it (403). Callers must then assume the stricter
    /// case; use [`Api::get_optional`] for anything that could allow more.
    pub async fn get_setting<T: DeserializeOwned>(
        &self,
        what: &str,
        url: Url,
    ) -> Result<Option<T>, SourceError> {
        match self.fetch(what, &url, Absent::NotFoundOrForbidden).await? {
            (_, None) => Ok(None),
            (_, Some(body)) => decode(what, &url, &body).map(Some),
        }
    }

    /// Every item of a paginated list, following `Link: rel="next"` (keyset
    /// pagination) or `x-next-page` (offset pagination) to the last page.
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        what: &str,
        url: Url,
    ) -> Result<Vec<T>, SourceError> {
        let first = url.clone();
        self.pages(what, url, Absent::IsError)
            .await?
            .ok_or_else(|| not_found(what, &first))
    }

    /// [`Api::get_all`], or `None` when the list itself does not exist (404
    /// on the first page; a later page missing is always an error).
    pub async fn get_all_optional<T: DeserializeOwned>(
        &self,
        what: &str,
        url: Url,
    ) -> Result<Option<Vec<T>>, SourceError> {
        self.pages(what, url, Absent::NotFound).await
    }

    async fn pages<T: DeserializeOwned>(
        &self,
        what: &str,
        mut url: Url,
        first_absent: Absent,
    ) -> Result<Option<Vec<T>>, SourceError> {
        url.query_pairs_mut().append_pair("per_page", PER_PAGE);
        let first = url.clone();
        let mut items = Vec::new();
        for page in 0..MAX_PAGES {
            let absent = if page == 0 {
                first_absent
            } else {
                Absent::IsError
            };
            let (headers, body) = self.fetch(what, &url, absent).await?;
            let Some(body) = body else {
                if page == 0 && matches!(first_absent, Absent::NotFound) {
                    return Ok(None);
                }
                return Err(not_found(what, &url));
            };
            let page: Vec<T> = decode(what, &url, &body)?;
            items.extend(page);
            match next_page(&headers, &first, &url, &self.base)? {
                Some(next) => url = next,
                None => return Ok(Some(items)),
            }
        }
        Err(SourceError::new(
            SOURCE,
            format!("{what}: more than {MAX_PAGES} pages at {first}; refusing to read on"),
        ))
    }

    /// GET with retries. `Ok((headers, None))` when the answer is one that
    /// `absent` accepts as "not there".
    async fn fetch(
        &self,
        what: &str,
        url: &Url,
        absent: Absent,
    ) -> Result<(HeaderMap, Option<Vec<u8>>), SourceError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= MAX_ATTEMPTS;
            let response = self
                .client
                .get(url.clone())
                .headers(self.auth.clone())
                .send()
                .await;
            let response = match response {
                Ok(r) => r,
                // Timeouts and connection failures are retried like 5xx.
                Err(_) if !last => {
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                Err(e) => return Err(transport_error(what, url, &e, attempt)),
            };
            let status = response.status();
            let headers = response.headers().clone();
            if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                let wait = retry_after(&headers).unwrap_or_else(|| backoff(attempt));
                if !last && wait <= MAX_RETRY_AFTER {
                    tokio::time::sleep(wait).await;
                    continue;
                }
                let body = response.bytes().await.unwrap_or_default();
                return Err(http_error(what, url, status, &body, attempt));
            }
            let accepted_absent = match absent {
                Absent::IsError => false,
                Absent::NotFound => status == StatusCode::NOT_FOUND,
                Absent::NotFoundOrForbidden => {
                    status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN
                }
            };
            if accepted_absent {
                return Ok((headers, None));
            }
            let body = match response.bytes().await {
                Ok(b) => b,
                // The body broke off (a timeout or a dropped connection).
                Err(_) if !last => {
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                Err(e) => return Err(transport_error(what, url, &e, attempt)),
            };
            if status == StatusCode::NOT_FOUND {
                return Ok((headers, None));
            }
            if status.is_redirection() {
                let to = headers
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .map(crate::sanitize::terminal_line)
                    .unwrap_or_else(|| "elsewhere".to_string());
                return Err(SourceError::new(
                    SOURCE,
                    format!("{what}: GitLab redirected {url} to {to}; redirects are not followed, so the token stays with the API"),
                )
                .hint("set CI_API_V4_URL to the API's final address (for example https:// instead of http://)"));
            }
            if !status.is_success() {
                return Err(http_error(what, url, status, &body, attempt));
            }
            return Ok((headers, Some(body.to_vec())));
        }
    }
}

/// Which answers mean "not there" rather than an error.
#[derive(Debug, Clone, Copy)]
enum Absent {
    /// None: a 404 is an error naming what was not found.
    IsError,
    NotFound,
    NotFoundOrForbidden,
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200 * 2u64.pow(attempt.saturating_sub(1)))
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The next page's URL, or `None` on the last page.
fn next_page(
    headers: &HeaderMap,
    first: &Url,
    current: &Url,
    base: &Url,
) -> Result<Option<Url>, SourceError> {
    if let Some(link) = headers.get("link").and_then(|v| v.to_str().ok())
        && let Some(next) = link_next(link)
    {
        let next = Url::parse(next).map_err(|e| {
            SourceError::new(
                SOURCE,
                format!("GitLab sent an unreadable next-page link `{next}`: {e}"),
            )
        })?;
        // The token goes with every request: never follow a link off the API.
        if next.origin() != base.origin() || !next.path().starts_with(base.path()) {
            return Err(SourceError::new(
                SOURCE,
                format!(
                    "GitLab's next-page link for {first} points outside the API ({next}); refusing to send the token there"
                ),
            ));
        }
        return Ok(Some(next));
    }
    let next = headers
        .get("x-next-page")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    match next {
        None => Ok(None),
        Some(page) => {
            let page: u64 = page.parse().map_err(|_| {
                SourceError::new(
                    SOURCE,
                    format!("GitLab sent an unreadable x-next-page `{page}` for {first}"),
                )
            })?;
            let mut url = first.clone();
            url.query_pairs_mut().append_pair("page", &page.to_string());
            if &url == current {
                return Err(SourceError::new(
                    SOURCE,
                    format!("GitLab's x-next-page for {first} repeats page {page}"),
                ));
            }
            Ok(Some(url))
        }
    }
}

/// The `rel="next"` target of an RFC 8288 `Link` header.
fn link_next(header: &str) -> Option<&str> {
    header.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p == "rel=\"next\"" || p == "rel=next"
        });
        is_next.then(|| target.trim().trim_start_matches('<').trim_end_matches('>'))
    })
}

fn decode<T: DeserializeOwned>(what: &str, url: &Url, body: &[u8]) -> Result<T, SourceError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let problem = if inner.is_eof() {
            "the response ended early (truncated JSON)".to_string()
        } else if inner.is_syntax() {
            format!("the response is not valid JSON ({inner})")
        } else {
            format!("unexpected response at `{path}`: {inner}")
        };
        SourceError::new(SOURCE, format!("{what}: {problem} from {url}"))
    })
}

fn not_found(what: &str, url: &Url) -> SourceError {
    SourceError::new(SOURCE, format!("{what}: not found (HTTP 404) at {url}")).hint(
        "check the project path and the merge request or deployment; GitLab also answers 404 when the token may not see the project",
    )
}

fn transport_error(what: &str, url: &Url, e: &reqwest::Error, attempts: u32) -> SourceError {
    let why = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        // reqwest never puts headers (the token) in its messages.
        e.to_string()
    };
    SourceError::new(
        SOURCE,
        format!(
            "{what}: {why} at {url} (after {attempts} attempt{})",
            plural(attempts)
        ),
    )
    .hint(format!(
        "check that the GitLab API is reachable; set {} to allow slower answers",
        crate::env_vars::gatehouse::GATEHOUSE_GITLAB_TIMEOUT
    ))
}

fn http_error(
    what: &str,
    url: &Url,
    status: StatusCode,
    body: &[u8],
    attempts: u32,
) -> SourceError {
    let detail = gitlab_message(body)
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    let base = format!("{what}: HTTP {status}{detail} from {url}");
    match status {
        StatusCode::UNAUTHORIZED => SourceError::new(SOURCE, format!("{base}; the token was rejected"))
            .hint("the token is missing, expired or revoked; use a token with the `read_api` scope"),
        StatusCode::FORBIDDEN => SourceError::new(SOURCE, format!("{base}; the token may not read this"))
            .hint("use a token with the `read_api` scope and at least the Reporter role on the project (and the groups the policy names)"),
        StatusCode::TOO_MANY_REQUESTS => SourceError::new(
            SOURCE,
            format!("{base}; still rate limited after {attempts} attempt{}", plural(attempts)),
        )
        .hint("retry the job later, or raise the API rate limit for this token"),
        s if s.is_server_error() => SourceError::new(
            SOURCE,
            format!("{base}; GitLab failed {attempts} time{}", plural(attempts)),
        )
        .hint("GitLab is having trouble; retry the job"),
        _ => SourceError::new(SOURCE, base),
    }
}

/// GitLab's `{"message": …}` or `{"error": …}`, shortened and made inert.
fn gitlab_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let message = value.get("message").or_else(|| value.get("error"))?;
    let text = match message {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let text: String = crate::sanitize::terminal_line(&text)
        .chars()
        .take(200)
        .collect();
    Some(text)
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_next_is_found() {
        let h = r#"<https://gl.example/api/v4/projects/1/members?page=1>; rel="prev", <https://gl.example/api/v4/projects/1/members?id_after=5>; rel="next", <https://gl.example/api/v4/projects/1/members?page=1>; rel="first""#;
        assert_eq!(
            link_next(h),
            Some("https://gl.example/api/v4/projects/1/members?id_after=5")
        );
        assert_eq!(link_next(r#"<https://x/a>; rel="first""#), None);
    }

    #[test]
    fn retry_after_reads_seconds() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
    }

    #[test]
    fn gitlab_messages_are_made_inert() {
        let m = gitlab_message(br#"{"message":"401 \u001b[31mUnauthorized"}"#).unwrap();
        assert!(!m.contains('\x1b'));
    }
}
