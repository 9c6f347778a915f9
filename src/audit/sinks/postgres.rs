//! `postgres://…`: an append-only table holding one hash chain per stream
//! (default stream: the repository slug; `?stream=NAME` in the URL sets it).
//!
//! Writers of one stream are serialised by a transaction-level advisory lock,
//! so concurrent gates never fork the chain; the record `id` is unique, so
//! retrying the same record is idempotent. Triggers refuse UPDATE, DELETE and
//! TRUNCATE. The table is created by `gatehouse audit migrate` or on first use.

use std::fmt;

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls};

use crate::audit::chain::Head;
use crate::audit::record::{RecordDraft, line_hash, seal};
use crate::audit::{Appended, Signer};
use crate::tls::install_crypto_provider;

/// The table's name.
pub const TABLE: &str = "gatehouse_audit";
/// Stream used when the URL names none and the record has no repository.
pub const FALLBACK_STREAM: &str = "default";

/// Creates the table and its triggers; safe to run again, and serialised so
/// that many first writers at once do not race each other.
pub const MIGRATION: &str = r#"
SELECT pg_advisory_xact_lock(7461636174736875);
CREATE TABLE IF NOT EXISTS gatehouse_audit (
    stream     text        NOT NULL,
    seq        bigint      NOT NULL CHECK (seq > 0),
    id         text        NOT NULL UNIQUE,
    hash       text        NOT NULL,
    line       text        NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream, seq)
);
CREATE OR REPLACE FUNCTION gatehouse_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'gatehouse_audit is append-only: % is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE OR REPLACE TRIGGER gatehouse_audit_no_change
    BEFORE UPDATE OR DELETE ON gatehouse_audit
    FOR EACH ROW EXECUTE FUNCTION gatehouse_audit_refuse();
CREATE OR REPLACE TRIGGER gatehouse_audit_no_truncate
    BEFORE TRUNCATE ON gatehouse_audit
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_audit_refuse();
"#;

/// A database and stream to write to.
pub struct PgTarget {
    shown: String,
    config: Config,
    pub stream: Option<String>,
}

impl fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgTarget({})", self.shown)
    }
}

impl fmt::Display for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl PgTarget {
    /// Parse a URL; `stream` (from `--stream`) wins over `?stream=`.
    pub fn new(url: &str, stream: Option<&str>) -> Result<PgTarget, String> {
        let (base, url_stream) = take_stream_param(url);
        let config: Config = base
            .parse()
            .map_err(|e| format!("not a valid PostgreSQL URL: {e}"))?;
        Ok(PgTarget {
            shown: redact_url(url),
            config,
            stream: stream.map(str::to_string).or(url_stream),
        })
    }

    fn stream_for(&self, draft: &RecordDraft) -> String {
        self.stream
            .clone()
            .or_else(|| draft.repo().map(str::to_string))
            .unwrap_or_else(|| FALLBACK_STREAM.to_string())
    }
}

/// Splits `stream=NAME` (ours, unknown to libpq) off the URL's query.
fn take_stream_param(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut stream = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("stream=") {
            Some(v) => {
                stream = Some(percent_decode(v));
                false
            }
            None => true,
        })
        .collect();
    let url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    (url, stream)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    // postgres://user:password@host/db → postgres://user:[redacted]@host/db
    let Some((scheme, rest)) = url.split_once("://") else {
        return "[an invalid URL]".to_string();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:[redacted]@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    crate::runtime::current_thread().map_err(|e| format!("cannot start the database client: {e}"))
}

fn db_error(context: &str, e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{context}: {}", db.message()),
        None => {
            let mut s = format!("{context}: {e}");
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                s.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            s
        }
    }
}

async fn connect(target: &PgTarget) -> Result<Client, String> {
    let fail = |e: tokio_postgres::Error| db_error("cannot connect", &e);
    if target.config.get_ssl_mode() == tokio_postgres::config::SslMode::Disable {
        let (client, connection) = target.config.connect(NoTls).await.map_err(fail)?;
        tokio::spawn(connection);
        return Ok(client);
    }
    install_crypto_provider();
    use rustls_platform_verifier::ConfigVerifierExt as _;
    let tls = rustls::ClientConfig::with_platform_verifier()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls);
    let (client, connection) = target.config.connect(tls).await.map_err(fail)?;
    tokio::spawn(connection);
    Ok(client)
}

/// `gatehouse audit migrate`.
pub fn migrate(target: &PgTarget) -> Result<(), String> {
    runtime()?.block_on(async {
        let mut client = connect(target).await?;
        migrate_with(&mut client).await
    })
}

async fn migrate_with(client: &mut Client) -> Result<(), String> {
    let tx = client
        .transaction()
        .await
        .map_err(|e| db_error("cannot migrate", &e))?;
    tx.batch_execute(MIGRATION)
        .await
        .map_err(|e| db_error("cannot create the audit table", &e))?;
    tx.commit()
        .await
        .map_err(|e| db_error("cannot create the audit table", &e))
}

/// Append one record to its stream (creating the table on first use).
pub fn append(
    target: &PgTarget,
    draft: &RecordDraft,
    signer: Option<&Signer>,
) -> Result<Appended, String> {
    let stream = target.stream_for(draft);
    runtime()?.block_on(async {
        let mut client = connect(target).await?;
        match append_with(&mut client, &stream, draft, signer).await {
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => {
                migrate_with(&mut client).await?;
                append_with(&mut client, &stream, draft, signer)
                    .await
                    .map_err(|e| db_error("cannot append", &e))?
            }
            other => other.map_err(|e| db_error("cannot append", &e))?,
        }
    })
}

async fn append_with(
    client: &mut Client,
    stream: &str,
    draft: &RecordDraft,
    signer: Option<&Signer>,
) -> Result<Result<Appended, String>, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('gatehouse_audit:' || $1, 0))",
        &[&stream],
    )
    .await?;
    // Idempotent: the same record written twice (a retried run) stays one row.
    if let Some(row) = tx
        .query_opt(
            "SELECT seq, hash, line FROM gatehouse_audit WHERE id = $1",
            &[&draft.id()],
        )
        .await?
    {
        let seq: i64 = row.get(0);
        return Ok(Ok(Appended {
            seq: seq as u64,
            hash: row.get(1),
            line: row.get(2),
        }));
    }
    let head = match tx
        .query_opt(
            "SELECT seq, hash FROM gatehouse_audit WHERE stream = $1 ORDER BY seq DESC LIMIT 1",
            &[&stream],
        )
        .await?
    {
        Some(row) => Head {
            seq: row.get::<_, i64>(0) as u64,
            hash: row.get(1),
        },
        None => Head::genesis(),
    };
    let seq = head.seq + 1;
    let line = match seal(&draft.place(seq, &head.hash), signer) {
        Ok(l) => l,
        Err(e) => return Ok(Err(e)),
    };
    let hash = line_hash(line.as_bytes());
    tx.execute(
        "INSERT INTO gatehouse_audit (stream, seq, id, hash, line) VALUES ($1, $2, $3, $4, $5)",
        &[&stream, &(seq as i64), &draft.id(), &hash, &line],
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(Appended { seq, hash, line }))
}

/// The streams in the table, or just the target's own.
pub fn streams(target: &PgTarget) -> Result<Vec<String>, String> {
    if let Some(s) = &target.stream {
        return Ok(vec![s.clone()]);
    }
    runtime()?.block_on(async {
        let client = connect(target).await?;
        let rows = client
            .query(
                "SELECT DISTINCT stream FROM gatehouse_audit ORDER BY stream",
                &[],
            )
            .await
            .map_err(|e| db_error("cannot list the streams", &e))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    })
}

/// Feed every line of `stream`, in seq order, to `each` in batches of `batch`
/// rows (a cursor: the stream is never loaded whole).
pub fn for_each_batch(
    target: &PgTarget,
    stream: &str,
    batch: usize,
    mut each: impl FnMut(Vec<Vec<u8>>) -> Result<(), String>,
) -> Result<(), String> {
    runtime()?.block_on(async {
        let mut client = connect(target).await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| db_error("cannot read", &e))?;
        let portal = tx
            .bind(
                "SELECT line FROM gatehouse_audit WHERE stream = $1 ORDER BY seq",
                &[&stream],
            )
            .await
            .map_err(|e| db_error("cannot read the stream", &e))?;
        loop {
            let rows = tx
                .query_portal(&portal, batch as i32)
                .await
                .map_err(|e| db_error("cannot read the stream", &e))?;
            if rows.is_empty() {
                break;
            }
            let lines = rows
                .iter()
                .map(|r| r.get::<_, String>(0).into_bytes())
                .collect();
            each(lines)?;
        }
        Ok(())
    })
}

/// The head of `stream`.
pub fn head(target: &PgTarget, stream: &str) -> Result<Head, String> {
    runtime()?.block_on(async {
        let client = connect(target).await?;
        let row = client
            .query_opt(
                "SELECT line FROM gatehouse_audit WHERE stream = $1 ORDER BY seq DESC LIMIT 1",
                &[&stream],
            )
            .await
            .map_err(|e| db_error("cannot read the head", &e))?;
        match row {
            Some(r) => Head::of_line(r.get::<_, String>(0).as_bytes()),
            None => Ok(Head::genesis()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://gate:s3cret@db:5432/audit?sslmode=require"),
            "postgres://gate:[redacted]@db:5432/audit?sslmode=require"
        );
        assert_eq!(redact_url("postgres://db/audit"), "postgres://db/audit");
    }

    #[test]
    fn stream_param_is_ours() {
        let (url, stream) = take_stream_param("postgres://db/a?sslmode=disable&stream=acme%2Fapi");
        assert_eq!(url, "postgres://db/a?sslmode=disable");
        assert_eq!(stream.as_deref(), Some("acme/api"));
        let t = PgTarget::new("postgres://db/a?stream=x", None).unwrap();
        assert_eq!(t.stream.as_deref(), Some("x"));
    }
}
