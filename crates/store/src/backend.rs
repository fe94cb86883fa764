//! The storage trait and its two backends, SQLite and PostgreSQL.
//!
//! A backend knows SQL and nothing of the ledger: it stores journal rows,
//! idempotency records and token hashes, and it hands out write
//! transactions that exclude every other writer of the same database (in
//! this process or in any other) until they commit or roll back.

use std::collections::HashMap;
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Postgres, QueryBuilder, Row, SqlSafeStr, Sqlite, Transaction};

use crate::StoreError;

/// One row of the `events` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRow {
    pub seq: i64,
    pub kind: String,
    pub body: String,
}

/// What was stored for an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdemRow {
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

/// One idempotency record to insert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewIdem {
    pub principal: String,
    pub key: String,
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

/// A storage backend.
pub trait Backend: Send + Sync + 'static {
    type Tx: WriteTx;

    /// `sqlite` or `postgres`.
    fn name(&self) -> &'static str;
    /// Starts a write transaction; returns once every other writer is excluded.
    fn begin_write(&self) -> impl Future<Output = Result<Self::Tx, StoreError>> + Send;
    /// The highest journal sequence number (0 when empty).
    fn max_seq(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;
    /// Journal rows with `seq > after`, in order.
    fn events_after(
        &self,
        after: i64,
    ) -> impl Future<Output = Result<Vec<EventRow>, StoreError>> + Send;
    /// The principal of a token hash.
    fn token_principal(
        &self,
        hash: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// Stores a token hash for a principal (idempotent for the same pair).
    fn insert_token(
        &self,
        hash: &str,
        principal: &str,
        created_at: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Number of tokens of a principal.
    fn count_tokens(&self, principal: &str)
    -> impl Future<Output = Result<i64, StoreError>> + Send;
    /// Closes the pool.
    fn close(&self) -> impl Future<Output = ()> + Send;
}

/// A write transaction: it holds the database's writer lock until commit or drop.
pub trait WriteTx: Send {
    fn events_after(
        &mut self,
        after: i64,
    ) -> impl Future<Output = Result<Vec<EventRow>, StoreError>> + Send;
    fn idempotency(
        &mut self,
        principal: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<IdemRow>, StoreError>> + Send;
    /// The stored records of several `(principal, key)` pairs at once.
    fn idempotency_many(
        &mut self,
        keys: &[(String, String)],
    ) -> impl Future<Output = Result<HashMap<(String, String), IdemRow>, StoreError>> + Send;
    fn insert_events(
        &mut self,
        rows: &[EventRow],
        created_at: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn insert_idempotency(
        &mut self,
        rows: &[NewIdem],
        created_at: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn commit(self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The schema, version 1, on PostgreSQL.
const PG_SCHEMA_V1: &str = "\
CREATE TABLE events (
    seq BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE idempotency (
    key TEXT NOT NULL,
    principal TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (key, principal)
);
CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    principal TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX tokens_by_principal ON tokens (principal);
";

/// The same on SQLite: `seq` is the rowid (one B-tree, 64-bit), the other
/// tables are clustered on their keys.
const SQLITE_SCHEMA_V1: &str = "\
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE idempotency (
    key TEXT NOT NULL,
    principal TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (key, principal)
) WITHOUT ROWID;
CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    principal TEXT NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX tokens_by_principal ON tokens (principal);
";

/// The embedded schema migrations of a backend.
fn migrator(schema_v1: &'static str) -> Migrator {
    Migrator::with_migrations(vec![Migration::new(
        1,
        "journal, idempotency and tokens".into(),
        MigrationType::Simple,
        schema_v1.into_sql_str(),
        false,
    )])
}

/// Rows per multi-row INSERT (SQLite allows 32766 parameters; 4 per row).
const INSERT_CHUNK: usize = 500;

fn row_to_event<R: Row>(r: &R) -> EventRow
where
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
{
    EventRow {
        seq: r.get("seq"),
        kind: r.get("kind"),
        body: r.get("body"),
    }
}

/// An idempotency record from a row with `request_hash`, `status` (as
/// BIGINT) and `body`.
fn row_to_idem<R: Row>(r: &R) -> IdemRow
where
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
{
    IdemRow {
        request_hash: r.get("request_hash"),
        status: u16::try_from(r.get::<i64, _>("status")).unwrap_or(500),
        body: r.get("body"),
    }
}

// ---- SQLite -------------------------------------------------------------

/// SQLite: WAL, `synchronous = FULL`, writers serialised by `BEGIN IMMEDIATE`.
pub struct SqliteBackend {
    pool: SqlitePool,
}

impl SqliteBackend {
    /// Opens (creating if missing) the database file of a `sqlite://PATH` URL
    /// and applies the migrations.
    pub async fn open(url: &str) -> Result<SqliteBackend, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("{url}: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(60))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(6)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Config(format!("cannot open {url}: {e}")))?;
        migrator(SQLITE_SCHEMA_V1).run(&pool).await?;
        Ok(SqliteBackend { pool })
    }
}

pub struct SqliteTx(Transaction<'static, Sqlite>);

impl Backend for SqliteBackend {
    type Tx = SqliteTx;

    fn name(&self) -> &'static str {
        "sqlite"
    }

    async fn begin_write(&self) -> Result<SqliteTx, StoreError> {
        Ok(SqliteTx(self.pool.begin_with("BEGIN IMMEDIATE").await?))
    }

    async fn max_seq(&self) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS m FROM events")
            .fetch_one(&self.pool)
            .await?;
        Ok(r.get("m"))
    }

    async fn events_after(&self, after: i64) -> Result<Vec<EventRow>, StoreError> {
        let rows = sqlx::query("SELECT seq, kind, body FROM events WHERE seq > ? ORDER BY seq")
            .bind(after)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(row_to_event).collect())
    }

    async fn token_principal(&self, hash: &str) -> Result<Option<String>, StoreError> {
        let r = sqlx::query("SELECT principal FROM tokens WHERE hash = ?")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(r.map(|r| r.get("principal")))
    }

    async fn insert_token(
        &self,
        hash: &str,
        principal: &str,
        created_at: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO tokens (hash, principal, created_at) VALUES (?, ?, ?) ON CONFLICT (hash) DO NOTHING")
            .bind(hash)
            .bind(principal)
            .bind(created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn count_tokens(&self, principal: &str) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM tokens WHERE principal = ?")
            .bind(principal)
            .fetch_one(&self.pool)
            .await?;
        Ok(r.get("n"))
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

impl WriteTx for SqliteTx {
    async fn events_after(&mut self, after: i64) -> Result<Vec<EventRow>, StoreError> {
        let rows = sqlx::query("SELECT seq, kind, body FROM events WHERE seq > ? ORDER BY seq")
            .bind(after)
            .fetch_all(&mut *self.0)
            .await?;
        Ok(rows.iter().map(row_to_event).collect())
    }

    async fn idempotency(
        &mut self,
        principal: &str,
        key: &str,
    ) -> Result<Option<IdemRow>, StoreError> {
        let r = sqlx::query(
            "SELECT request_hash, status, body FROM idempotency WHERE principal = ? AND key = ?",
        )
        .bind(principal)
        .bind(key)
        .fetch_optional(&mut *self.0)
        .await?;
        Ok(r.map(|r| row_to_idem(&r)))
    }

    async fn idempotency_many(
        &mut self,
        keys: &[(String, String)],
    ) -> Result<HashMap<(String, String), IdemRow>, StoreError> {
        let mut out = HashMap::new();
        for chunk in keys.chunks(INSERT_CHUNK) {
            let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
                "SELECT principal, key, request_hash, status, body FROM idempotency WHERE key IN (",
            );
            let mut sep = q.separated(", ");
            for (_, k) in chunk {
                sep.push_bind(k.clone());
            }
            q.push(")");
            let wanted: std::collections::HashSet<&(String, String)> = chunk.iter().collect();
            for r in q.build().fetch_all(&mut *self.0).await? {
                let k = (r.get::<String, _>("principal"), r.get::<String, _>("key"));
                if wanted.contains(&k) {
                    out.insert(k, row_to_idem(&r));
                }
            }
        }
        Ok(out)
    }

    async fn insert_events(
        &mut self,
        rows: &[EventRow],
        created_at: &str,
    ) -> Result<(), StoreError> {
        for chunk in rows.chunks(INSERT_CHUNK) {
            let mut q: QueryBuilder<Sqlite> =
                QueryBuilder::new("INSERT INTO events (seq, kind, body, created_at) ");
            q.push_values(chunk, |mut b, r| {
                b.push_bind(r.seq)
                    .push_bind(r.kind.clone())
                    .push_bind(r.body.clone())
                    .push_bind(created_at.to_string());
            });
            q.build().execute(&mut *self.0).await?;
        }
        Ok(())
    }

    async fn insert_idempotency(
        &mut self,
        rows: &[NewIdem],
        created_at: &str,
    ) -> Result<(), StoreError> {
        for chunk in rows.chunks(INSERT_CHUNK / 2) {
            let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO idempotency (principal, key, request_hash, status, body, created_at) ",
            );
            q.push_values(chunk, |mut b, r| {
                b.push_bind(r.principal.clone())
                    .push_bind(r.key.clone())
                    .push_bind(r.request_hash.clone())
                    .push_bind(i64::from(r.status))
                    .push_bind(r.body.clone())
                    .push_bind(created_at.to_string());
            });
            q.build().execute(&mut *self.0).await?;
        }
        Ok(())
    }

    async fn commit(self) -> Result<(), StoreError> {
        Ok(self.0.commit().await?)
    }
}

// ---- PostgreSQL ---------------------------------------------------------

/// The advisory lock every writer takes first, in every instance.
const WRITER_LOCK: i64 = 0x00CA_5CAD_E000_0001;

/// PostgreSQL: writers serialised by a transaction-scoped advisory lock.
pub struct PgBackend {
    pool: PgPool,
}

impl PgBackend {
    /// Connects to a `postgres://` URL and applies the migrations.
    pub async fn open(url: &str) -> Result<PgBackend, StoreError> {
        let opts = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("{url}: {e}")))?
            .application_name("cascade");
        let pool = PgPoolOptions::new()
            .max_connections(12)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Config(format!("cannot connect to {}: {e}", redact(url))))?;
        migrator(PG_SCHEMA_V1).run(&pool).await?;
        Ok(PgBackend { pool })
    }
}

/// A URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub struct PgTx(Transaction<'static, Postgres>);

impl Backend for PgBackend {
    type Tx = PgTx;

    fn name(&self) -> &'static str {
        "postgres"
    }

    async fn begin_write(&self) -> Result<PgTx, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(WRITER_LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(PgTx(tx))
    }

    async fn max_seq(&self) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT COALESCE(MAX(seq), 0)::BIGINT AS m FROM events")
            .fetch_one(&self.pool)
            .await?;
        Ok(r.get("m"))
    }

    async fn events_after(&self, after: i64) -> Result<Vec<EventRow>, StoreError> {
        let rows = sqlx::query("SELECT seq, kind, body FROM events WHERE seq > $1 ORDER BY seq")
            .bind(after)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(row_to_event).collect())
    }

    async fn token_principal(&self, hash: &str) -> Result<Option<String>, StoreError> {
        let r = sqlx::query("SELECT principal FROM tokens WHERE hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(r.map(|r| r.get("principal")))
    }

    async fn insert_token(
        &self,
        hash: &str,
        principal: &str,
        created_at: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO tokens (hash, principal, created_at) VALUES ($1, $2, $3) ON CONFLICT (hash) DO NOTHING")
            .bind(hash)
            .bind(principal)
            .bind(created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn count_tokens(&self, principal: &str) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT COUNT(*)::BIGINT AS n FROM tokens WHERE principal = $1")
            .bind(principal)
            .fetch_one(&self.pool)
            .await?;
        Ok(r.get("n"))
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

impl WriteTx for PgTx {
    async fn events_after(&mut self, after: i64) -> Result<Vec<EventRow>, StoreError> {
        let rows = sqlx::query("SELECT seq, kind, body FROM events WHERE seq > $1 ORDER BY seq")
            .bind(after)
            .fetch_all(&mut *self.0)
            .await?;
        Ok(rows.iter().map(row_to_event).collect())
    }

    async fn idempotency(
        &mut self,
        principal: &str,
        key: &str,
    ) -> Result<Option<IdemRow>, StoreError> {
        let r = sqlx::query(
            "SELECT request_hash, status::BIGINT AS status, body FROM idempotency WHERE principal = $1 AND key = $2",
        )
        .bind(principal)
        .bind(key)
        .fetch_optional(&mut *self.0)
        .await?;
        Ok(r.map(|r| row_to_idem(&r)))
    }

    async fn idempotency_many(
        &mut self,
        keys: &[(String, String)],
    ) -> Result<HashMap<(String, String), IdemRow>, StoreError> {
        let mut out = HashMap::new();
        if keys.is_empty() {
            return Ok(out);
        }
        let ks: Vec<String> = keys.iter().map(|(_, k)| k.clone()).collect();
        let rows = sqlx::query(
            "SELECT principal, key, request_hash, status::BIGINT AS status, body FROM idempotency WHERE key = ANY($1)",
        )
        .bind(ks)
        .fetch_all(&mut *self.0)
        .await?;
        let wanted: std::collections::HashSet<&(String, String)> = keys.iter().collect();
        for r in rows {
            let k = (r.get::<String, _>("principal"), r.get::<String, _>("key"));
            if wanted.contains(&k) {
                out.insert(k, row_to_idem(&r));
            }
        }
        Ok(out)
    }

    async fn insert_events(
        &mut self,
        rows: &[EventRow],
        created_at: &str,
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
        let kinds: Vec<String> = rows.iter().map(|r| r.kind.clone()).collect();
        let bodies: Vec<String> = rows.iter().map(|r| r.body.clone()).collect();
        sqlx::query(
            "INSERT INTO events (seq, kind, body, created_at) \
             SELECT s, k, b, $4 FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[]) AS t(s, k, b)",
        )
        .bind(seqs)
        .bind(kinds)
        .bind(bodies)
        .bind(created_at)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn insert_idempotency(
        &mut self,
        rows: &[NewIdem],
        created_at: &str,
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let col = |f: fn(&NewIdem) -> String| rows.iter().map(f).collect::<Vec<String>>();
        let statuses: Vec<i32> = rows.iter().map(|r| i32::from(r.status)).collect();
        sqlx::query(
            "INSERT INTO idempotency (principal, key, request_hash, status, body, created_at) \
             SELECT p, k, h, s, b, $6 FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::INT[], $5::TEXT[]) AS t(p, k, h, s, b)",
        )
        .bind(col(|r| r.principal.clone()))
        .bind(col(|r| r.key.clone()))
        .bind(col(|r| r.request_hash.clone()))
        .bind(statuses)
        .bind(col(|r| r.body.clone()))
        .bind(created_at)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn commit(self) -> Result<(), StoreError> {
        Ok(self.0.commit().await?)
    }
}

// ---- either -------------------------------------------------------------

/// The backend chosen from a URL at run time.
pub enum AnyBackend {
    Sqlite(SqliteBackend),
    Postgres(PgBackend),
}

pub enum AnyTx {
    Sqlite(SqliteTx),
    Postgres(PgTx),
}

/// A database URL with the backend it names: `sqlite://PATH` (or a bare
/// path), `postgres://...` / `postgresql://...`.
pub fn classify(url: &str) -> Result<(&'static str, String), StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(("postgres", url.to_string()))
    } else if url.starts_with("sqlite:") {
        Ok(("sqlite", url.to_string()))
    } else if url.contains("://") {
        Err(StoreError::Config(format!(
            "unsupported database URL {url:?}: use sqlite://PATH or postgres://USER@HOST:PORT/DB"
        )))
    } else {
        Ok(("sqlite", format!("sqlite://{url}")))
    }
}

impl AnyBackend {
    pub async fn open(url: &str) -> Result<AnyBackend, StoreError> {
        match classify(url)? {
            ("postgres", u) => Ok(AnyBackend::Postgres(PgBackend::open(&u).await?)),
            (_, u) => Ok(AnyBackend::Sqlite(SqliteBackend::open(&u).await?)),
        }
    }
}

macro_rules! dispatch {
    ($self:expr, $b:ident => $e:expr) => {
        match $self {
            AnyBackend::Sqlite($b) => $e,
            AnyBackend::Postgres($b) => $e,
        }
    };
}

impl Backend for AnyBackend {
    type Tx = AnyTx;

    fn name(&self) -> &'static str {
        dispatch!(self, b => b.name())
    }

    async fn begin_write(&self) -> Result<AnyTx, StoreError> {
        Ok(match self {
            AnyBackend::Sqlite(b) => AnyTx::Sqlite(b.begin_write().await?),
            AnyBackend::Postgres(b) => AnyTx::Postgres(b.begin_write().await?),
        })
    }

    async fn max_seq(&self) -> Result<i64, StoreError> {
        dispatch!(self, b => b.max_seq().await)
    }

    async fn events_after(&self, after: i64) -> Result<Vec<EventRow>, StoreError> {
        dispatch!(self, b => b.events_after(after).await)
    }

    async fn token_principal(&self, hash: &str) -> Result<Option<String>, StoreError> {
        dispatch!(self, b => b.token_principal(hash).await)
    }

    async fn insert_token(
        &self,
        hash: &str,
        principal: &str,
        created_at: &str,
    ) -> Result<(), StoreError> {
        dispatch!(self, b => b.insert_token(hash, principal, created_at).await)
    }

    async fn count_tokens(&self, principal: &str) -> Result<i64, StoreError> {
        dispatch!(self, b => b.count_tokens(principal).await)
    }

    async fn close(&self) {
        dispatch!(self, b => b.close().await)
    }
}

macro_rules! dispatch_tx {
    ($self:expr, $t:ident => $e:expr) => {
        match $self {
            AnyTx::Sqlite($t) => $e,
            AnyTx::Postgres($t) => $e,
        }
    };
}

impl WriteTx for AnyTx {
    async fn events_after(&mut self, after: i64) -> Result<Vec<EventRow>, StoreError> {
        dispatch_tx!(self, t => t.events_after(after).await)
    }

    async fn idempotency(
        &mut self,
        principal: &str,
        key: &str,
    ) -> Result<Option<IdemRow>, StoreError> {
        dispatch_tx!(self, t => t.idempotency(principal, key).await)
    }

    async fn idempotency_many(
        &mut self,
        keys: &[(String, String)],
    ) -> Result<HashMap<(String, String), IdemRow>, StoreError> {
        dispatch_tx!(self, t => t.idempotency_many(keys).await)
    }

    async fn insert_events(
        &mut self,
        rows: &[EventRow],
        created_at: &str,
    ) -> Result<(), StoreError> {
        dispatch_tx!(self, t => t.insert_events(rows, created_at).await)
    }

    async fn insert_idempotency(
        &mut self,
        rows: &[NewIdem],
        created_at: &str,
    ) -> Result<(), StoreError> {
        dispatch_tx!(self, t => t.insert_idempotency(rows, created_at).await)
    }

    async fn commit(self) -> Result<(), StoreError> {
        dispatch_tx!(self, t => t.commit().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_a_backend() {
        assert_eq!(classify("postgres://u@h/db").unwrap().0, "postgres");
        assert_eq!(classify("postgresql://u@h/db").unwrap().0, "postgres");
        assert_eq!(
            classify("sqlite://x.db").unwrap(),
            ("sqlite", "sqlite://x.db".into())
        );
        assert_eq!(
            classify("x.db").unwrap(),
            ("sqlite", "sqlite://x.db".into())
        );
        assert!(classify("mysql://x").is_err());
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
