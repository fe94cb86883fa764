//! The storage trait and its two backends, SQLite and PostgreSQL.
//!
//! A backend knows SQL and nothing of the ledger: it stores journal rows,
//! idempotency records and tokens, and it hands out write transactions that
//! exclude every other writer of the same database (in this process or in
//! any other) until they commit or roll back.
//!
//! Every statement both databases accept is written once, in [`sql`], with
//! `$N` placeholders: PostgreSQL's own form, which sqlx's SQLite driver also
//! binds by number. The code that binds and reads them is written once too,
//! in the `sql_backend!` macro, instantiated for each database. Only what
//! really differs is written per backend: how a writer excludes the others,
//! online backups, connection options, and the schemas (migration files in
//! `migrations/sqlite` and `migrations/postgres`).

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use cascade_core::Instant;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Postgres, SqlSafeStr, Sqlite, Transaction};

use crate::{Corruption, StoreError};

/// One row of the `events` table, as replay needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRow {
    pub seq: i64,
    pub kind: String,
    pub body: String,
}

/// Who wrote a journal row: the principal, and (when the write came through
/// the service) the token and the request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Author {
    /// `admin` or `party:<id>`; idempotency keys are scoped by it.
    pub principal: String,
    /// The token's non-secret id ([`TokenInfo::id`]).
    pub token_id: Option<String>,
    /// The request's id (`X-Request-Id`).
    pub request_id: Option<String>,
}

impl From<&str> for Author {
    /// An author known only by its principal (a direct load, a test).
    fn from(principal: &str) -> Author {
        Author {
            principal: principal.to_string(),
            token_id: None,
            request_id: None,
        }
    }
}

/// A journal row to insert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    pub row: EventRow,
    pub author: Author,
}

/// A journal row with who wrote it and when, for the audit trail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    pub seq: i64,
    pub created_at: Instant,
    pub kind: String,
    /// The item as JSON, with the scenario format's field names.
    pub body: String,
    /// `None` for rows written before the audit trail existed (schema 1).
    pub principal: Option<String>,
    pub token_id: Option<String>,
    pub request_id: Option<String>,
}

/// Where an audit read starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditSince {
    /// Rows after this sequence number.
    Seq(i64),
    /// Rows written at or after this instant (a scan: `created_at` has no index,
    /// so that writes do not pay for a rare admin read).
    Time(Instant),
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

/// A stored API token. The secret itself is never stored, only its hash;
/// `id` is derived from the hash and safe to show in lists and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: String,
    pub principal: String,
    pub created_at: Instant,
    pub expires_at: Option<Instant>,
    pub revoked_at: Option<Instant>,
    pub read_only: bool,
}

/// Whether a token may be used at a given instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenStatus {
    Active,
    Expired,
    Revoked,
}

impl TokenInfo {
    /// Revocation wins over expiry: a revoked token is reported as revoked
    /// even after it would have expired.
    pub fn status(&self, now: Instant) -> TokenStatus {
        if self.revoked_at.is_some_and(|r| r <= now) {
            TokenStatus::Revoked
        } else if self.expires_at.is_some_and(|e| e <= now) {
            TokenStatus::Expired
        } else {
            TokenStatus::Active
        }
    }
}

/// A token to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewToken {
    pub hash: String,
    pub principal: String,
    pub created_at: Instant,
    pub expires_at: Option<Instant>,
    pub read_only: bool,
}

/// The non-secret id of the token whose hash is `hash`: `tok_` and the
/// hash's first 16 hex digits. Migration 2 derives the ids of older tokens
/// by the same rule, in SQL (`'tok_' || substr(hash, 1, 16)`).
pub fn token_id_of(hash: &str) -> String {
    format!("tok_{}", &hash[..hash.len().min(16)])
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
    /// Journal rows with `after < seq <= upto`, in order.
    fn events_between(
        &self,
        after: i64,
        upto: i64,
    ) -> impl Future<Output = Result<Vec<EventRow>, StoreError>> + Send;
    /// At most `limit` journal rows with their authors, in order.
    fn audit(
        &self,
        since: AuditSince,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<AuditRow>, StoreError>> + Send;
    /// The token with this hash, whatever its status.
    fn token_by_hash(
        &self,
        hash: &str,
    ) -> impl Future<Output = Result<Option<TokenInfo>, StoreError>> + Send;
    /// The token with this id, whatever its status.
    fn token_by_id(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<TokenInfo>, StoreError>> + Send;
    /// Stores a token unless its hash is already stored (then nothing changes).
    fn insert_token(&self, t: &NewToken) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every token, or a principal's, oldest first.
    fn list_tokens(
        &self,
        principal: Option<&str>,
    ) -> impl Future<Output = Result<Vec<TokenInfo>, StoreError>> + Send;
    /// Marks a token revoked at `at` unless it already is; false when no
    /// token has that id.
    fn revoke_token(
        &self,
        id: &str,
        at: Instant,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Writes a consistent copy of the database to a new file while writers
    /// go on (SQLite only; PostgreSQL is backed up with `pg_dump`).
    fn backup_to(&self, path: &Path) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Closes the pool.
    fn close(&self) -> impl Future<Output = ()> + Send;
}

/// A write transaction: it holds the database's writer lock until commit or drop.
pub trait WriteTx: Send {
    fn events_between(
        &mut self,
        after: i64,
        upto: i64,
    ) -> impl Future<Output = Result<Vec<EventRow>, StoreError>> + Send;
    /// The stored records of several `(principal, key)` pairs at once.
    fn idempotency_many(
        &mut self,
        keys: &[(String, String)],
    ) -> impl Future<Output = Result<HashMap<(String, String), IdemRow>, StoreError>> + Send;
    fn insert_events(
        &mut self,
        rows: &[NewEvent],
        created_at: Instant,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn insert_idempotency(
        &mut self,
        rows: &[NewIdem],
        created_at: Instant,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn commit(self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The statements both databases accept, each written once.
pub mod sql {
    pub const MAX_SEQ: &str = "SELECT COALESCE(MAX(seq), 0) AS m FROM events";
    pub const EVENTS_BETWEEN: &str =
        "SELECT seq, kind, body FROM events WHERE seq > $1 AND seq <= $2 ORDER BY seq";
    pub const AUDIT_SINCE_SEQ: &str = "SELECT seq, created_at, kind, body, principal, token_id, request_id \
         FROM events WHERE seq > $1 ORDER BY seq LIMIT $2";
    pub const AUDIT_SINCE_TIME: &str = "SELECT seq, created_at, kind, body, principal, token_id, request_id \
         FROM events WHERE created_at >= $1 ORDER BY seq LIMIT $2";
    /// `SELECT` of a token's columns `WHERE cond`, oldest first.
    macro_rules! tokens_where {
        ($cond:literal) => {
            concat!(
                "SELECT id, principal, created_at, expires_at, revoked_at, read_only ",
                "FROM tokens WHERE ",
                $cond,
                " ORDER BY created_at, id"
            )
        };
    }
    pub const TOKEN_BY_HASH: &str = tokens_where!("hash = $1");
    pub const TOKEN_BY_ID: &str = tokens_where!("id = $1");
    pub const TOKENS_OF: &str = tokens_where!("principal = $1");
    pub const TOKENS_ALL: &str = tokens_where!("TRUE");
    pub const INSERT_TOKEN: &str = "INSERT INTO tokens \
         (hash, id, principal, created_at, expires_at, read_only) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (hash) DO NOTHING";
    pub const REVOKE_TOKEN: &str =
        "UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
    pub const TOKEN_EXISTS: &str = "SELECT COUNT(*) AS n FROM tokens WHERE id = $1";
    /// Followed by a parenthesised list of keys.
    pub const IDEMPOTENCY_IN: &str =
        "SELECT principal, key, request_hash, status, body FROM idempotency WHERE key IN ";
    /// Followed by `VALUES` rows.
    pub const INSERT_EVENTS: &str = "INSERT INTO events \
         (seq, kind, body, created_at, principal, token_id, request_id) ";
    pub const INSERT_IDEMPOTENCY: &str =
        "INSERT INTO idempotency (principal, key, request_hash, status, body, created_at) ";
}

/// The files of `migrations/sqlite` and `migrations/postgres`, embedded by build.rs.
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

/// sqlx's migrator over one backend's embedded migrations. It records each
/// applied file's SHA-384 in `_sqlx_migrations` and refuses to start if an
/// applied file was edited since.
fn migrator(files: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        files
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    description.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    sql.starts_with("-- no-transaction"),
                )
            })
            .collect(),
    )
}

/// Rows per multi-row INSERT: 7 parameters a row stays far below SQLite's
/// 32766 and PostgreSQL's 65535 bound parameters.
const INSERT_CHUNK: usize = 500;

/// An instant as the schema stores it: RFC 3339 in UTC, whole seconds,
/// fixed width, so that text order is time order.
fn instant_text(t: Instant) -> String {
    t.to_string()
}

/// The inverse of [`instant_text`]; `None` for anything else.
pub(crate) fn parse_instant_text(s: &str) -> Option<Instant> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let d = &s[r];
        d.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| d.parse().ok())?
    };
    let t = Instant::from_datetime(
        num(0..4)? as i32,
        num(5..7)? as u8,
        num(8..10)? as u8,
        num(11..13)? as u8,
        num(14..16)? as u8,
        num(17..19)? as u8,
        0,
    )?;
    // Refuses what does not print back the same (a leap second, 24:00).
    (t.to_string() == s).then_some(t)
}

/// The same statements and row decoding for each database, written once.
macro_rules! sql_backend {
    ($module:ident, $Db:ty, $Pool:ty, $Backend:ident, $Tx:ident, $name:literal) => {
        mod $module {
            use super::*;
            use sqlx::{Executor, QueryBuilder, Row};

            type Db = $Db;
            type DbRow = <Db as sqlx::Database>::Row;

            /// A column, or a typed error naming the table, row and column.
            fn col<'r, T>(
                r: &'r DbRow,
                table: &'static str,
                at: &str,
                c: &str,
            ) -> Result<T, StoreError>
            where
                T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
            {
                r.try_get(c).map_err(|e| {
                    StoreError::Corrupt(Corruption {
                        table,
                        row: at.to_string(),
                        problem: format!("column {c}: {e}"),
                    })
                })
            }

            fn instant(
                v: &str,
                table: &'static str,
                at: &str,
                c: &str,
            ) -> Result<Instant, StoreError> {
                parse_instant_text(v).ok_or_else(|| {
                    StoreError::Corrupt(Corruption {
                        table,
                        row: at.to_string(),
                        problem: format!("column {c}: {v:?} is not a time this store writes"),
                    })
                })
            }

            fn seq_of(r: &DbRow) -> Result<i64, StoreError> {
                col(r, "events", "(unknown seq)", "seq")
            }

            pub(super) async fn max_seq<'e, E: Executor<'e, Database = Db>>(
                ex: E,
            ) -> Result<i64, StoreError> {
                let r = sqlx::query(sql::MAX_SEQ).fetch_one(ex).await?;
                col(&r, "events", "MAX(seq)", "m")
            }

            pub(super) async fn events_between<'e, E: Executor<'e, Database = Db>>(
                ex: E,
                after: i64,
                upto: i64,
            ) -> Result<Vec<EventRow>, StoreError> {
                let rows = sqlx::query(sql::EVENTS_BETWEEN)
                    .bind(after)
                    .bind(upto)
                    .fetch_all(ex)
                    .await?;
                rows.iter()
                    .map(|r| {
                        let seq = seq_of(r)?;
                        let at = format!("seq {seq}");
                        Ok(EventRow {
                            seq,
                            kind: col(r, "events", &at, "kind")?,
                            body: col(r, "events", &at, "body")?,
                        })
                    })
                    .collect()
            }

            pub(super) async fn audit<'e, E: Executor<'e, Database = Db>>(
                ex: E,
                since: AuditSince,
                limit: i64,
            ) -> Result<Vec<AuditRow>, StoreError> {
                let q = match since {
                    AuditSince::Seq(s) => sqlx::query(sql::AUDIT_SINCE_SEQ).bind(s),
                    AuditSince::Time(t) => sqlx::query(sql::AUDIT_SINCE_TIME).bind(instant_text(t)),
                };
                let rows = q.bind(limit).fetch_all(ex).await?;
                rows.iter()
                    .map(|r| {
                        let seq = seq_of(r)?;
                        let at = format!("seq {seq}");
                        let created: String = col(r, "events", &at, "created_at")?;
                        Ok(AuditRow {
                            seq,
                            created_at: instant(&created, "events", &at, "created_at")?,
                            kind: col(r, "events", &at, "kind")?,
                            body: col(r, "events", &at, "body")?,
                            principal: col(r, "events", &at, "principal")?,
                            token_id: col(r, "events", &at, "token_id")?,
                            request_id: col(r, "events", &at, "request_id")?,
                        })
                    })
                    .collect()
            }

            fn token(r: &DbRow) -> Result<TokenInfo, StoreError> {
                let id: String = col(r, "tokens", "(unknown id)", "id")?;
                let at = format!("id {id}");
                let time = |c: &str| -> Result<Option<Instant>, StoreError> {
                    col::<Option<String>>(r, "tokens", &at, c)?
                        .map(|v| instant(&v, "tokens", &at, c))
                        .transpose()
                };
                Ok(TokenInfo {
                    principal: col(r, "tokens", &at, "principal")?,
                    created_at: time("created_at")?.ok_or_else(|| {
                        StoreError::Corrupt(Corruption {
                            table: "tokens",
                            row: at.clone(),
                            problem: "created_at is NULL".into(),
                        })
                    })?,
                    expires_at: time("expires_at")?,
                    revoked_at: time("revoked_at")?,
                    read_only: col(r, "tokens", &at, "read_only")?,
                    id,
                })
            }

            pub(super) async fn tokens<'e, E: Executor<'e, Database = Db>>(
                ex: E,
                query: &'static str,
                arg: Option<&str>,
            ) -> Result<Vec<TokenInfo>, StoreError> {
                let mut q = sqlx::query(query);
                if let Some(a) = arg {
                    q = q.bind(a.to_string());
                }
                q.fetch_all(ex).await?.iter().map(token).collect()
            }

            pub(super) async fn insert_token<'e, E: Executor<'e, Database = Db>>(
                ex: E,
                t: &NewToken,
            ) -> Result<(), StoreError> {
                sqlx::query(sql::INSERT_TOKEN)
                    .bind(t.hash.clone())
                    .bind(token_id_of(&t.hash))
                    .bind(t.principal.clone())
                    .bind(instant_text(t.created_at))
                    .bind(t.expires_at.map(instant_text))
                    .bind(t.read_only)
                    .execute(ex)
                    .await?;
                Ok(())
            }

            pub(super) async fn revoke_token(
                pool: &$Pool,
                id: &str,
                at: Instant,
            ) -> Result<bool, StoreError> {
                sqlx::query(sql::REVOKE_TOKEN)
                    .bind(id.to_string())
                    .bind(instant_text(at))
                    .execute(pool)
                    .await?;
                let r = sqlx::query(sql::TOKEN_EXISTS)
                    .bind(id.to_string())
                    .fetch_one(pool)
                    .await?;
                Ok(col::<i64>(&r, "tokens", id, "n")? > 0)
            }

            pub(super) async fn idempotency_many<'e, E: Executor<'e, Database = Db>>(
                ex: E,
                keys: &[(String, String)],
            ) -> Result<HashMap<(String, String), IdemRow>, StoreError> {
                let mut q: QueryBuilder<Db> = QueryBuilder::new(sql::IDEMPOTENCY_IN);
                q.push("(");
                let mut sep = q.separated(", ");
                for (_, k) in keys {
                    sep.push_bind(k.clone());
                }
                q.push(")");
                let wanted: std::collections::HashSet<&(String, String)> = keys.iter().collect();
                let mut out = HashMap::new();
                for r in q.build().fetch_all(ex).await? {
                    let k: (String, String) = (
                        col(&r, "idempotency", "(unknown key)", "principal")?,
                        col(&r, "idempotency", "(unknown key)", "key")?,
                    );
                    if wanted.contains(&k) {
                        let at = format!("key {:?} of {}", k.1, k.0);
                        let status: i32 = col(&r, "idempotency", &at, "status")?;
                        let row = IdemRow {
                            request_hash: col(&r, "idempotency", &at, "request_hash")?,
                            status: u16::try_from(status).map_err(|_| {
                                StoreError::Corrupt(Corruption {
                                    table: "idempotency",
                                    row: at.clone(),
                                    problem: format!("status {status} is not an HTTP status"),
                                })
                            })?,
                            body: col(&r, "idempotency", &at, "body")?,
                        };
                        out.insert(k, row);
                    }
                }
                Ok(out)
            }

            pub(super) async fn insert_events<'e, E: Executor<'e, Database = Db>>(
                ex: E,
                rows: &[NewEvent],
                created_at: &str,
            ) -> Result<(), StoreError> {
                let mut q: QueryBuilder<Db> = QueryBuilder::new(sql::INSERT_EVENTS);
                q.push_values(rows, |mut b, r| {
                    b.push_bind(r.row.seq)
                        .push_bind(r.row.kind.clone())
                        .push_bind(r.row.body.clone())
                        .push_bind(created_at.to_string())
                        .push_bind(r.author.principal.clone())
                        .push_bind(r.author.token_id.clone())
                        .push_bind(r.author.request_id.clone());
                });
                q.build().execute(ex).await?;
                Ok(())
            }

            pub(super) async fn insert_idempotency<'e, E: Executor<'e, Database = Db>>(
                ex: E,
                rows: &[NewIdem],
                created_at: &str,
            ) -> Result<(), StoreError> {
                let mut q: QueryBuilder<Db> = QueryBuilder::new(sql::INSERT_IDEMPOTENCY);
                q.push_values(rows, |mut b, r| {
                    b.push_bind(r.principal.clone())
                        .push_bind(r.key.clone())
                        .push_bind(r.request_hash.clone())
                        .push_bind(i32::from(r.status))
                        .push_bind(r.body.clone())
                        .push_bind(created_at.to_string());
                });
                q.build().execute(ex).await?;
                Ok(())
            }
        }

        impl Backend for $Backend {
            type Tx = $Tx;

            fn name(&self) -> &'static str {
                $name
            }

            async fn begin_write(&self) -> Result<$Tx, StoreError> {
                self.begin_exclusive().await
            }

            async fn max_seq(&self) -> Result<i64, StoreError> {
                $module::max_seq(&self.pool).await
            }

            async fn events_between(
                &self,
                after: i64,
                upto: i64,
            ) -> Result<Vec<EventRow>, StoreError> {
                $module::events_between(&self.pool, after, upto).await
            }

            async fn audit(
                &self,
                since: AuditSince,
                limit: i64,
            ) -> Result<Vec<AuditRow>, StoreError> {
                $module::audit(&self.pool, since, limit).await
            }

            async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenInfo>, StoreError> {
                Ok($module::tokens(&self.pool, sql::TOKEN_BY_HASH, Some(hash))
                    .await?
                    .pop())
            }

            async fn token_by_id(&self, id: &str) -> Result<Option<TokenInfo>, StoreError> {
                Ok($module::tokens(&self.pool, sql::TOKEN_BY_ID, Some(id))
                    .await?
                    .pop())
            }

            async fn insert_token(&self, t: &NewToken) -> Result<(), StoreError> {
                $module::insert_token(&self.pool, t).await
            }

            async fn list_tokens(
                &self,
                principal: Option<&str>,
            ) -> Result<Vec<TokenInfo>, StoreError> {
                match principal {
                    Some(p) => $module::tokens(&self.pool, sql::TOKENS_OF, Some(p)).await,
                    None => $module::tokens(&self.pool, sql::TOKENS_ALL, None).await,
                }
            }

            async fn revoke_token(&self, id: &str, at: Instant) -> Result<bool, StoreError> {
                $module::revoke_token(&self.pool, id, at).await
            }

            async fn backup_to(&self, path: &Path) -> Result<(), StoreError> {
                self.backup(path).await
            }

            async fn close(&self) {
                self.pool.close().await;
            }
        }

        impl WriteTx for $Tx {
            async fn events_between(
                &mut self,
                after: i64,
                upto: i64,
            ) -> Result<Vec<EventRow>, StoreError> {
                $module::events_between(&mut *self.0, after, upto).await
            }

            async fn idempotency_many(
                &mut self,
                keys: &[(String, String)],
            ) -> Result<HashMap<(String, String), IdemRow>, StoreError> {
                let mut out = HashMap::new();
                for chunk in keys.chunks(INSERT_CHUNK) {
                    out.extend($module::idempotency_many(&mut *self.0, chunk).await?);
                }
                Ok(out)
            }

            async fn insert_events(
                &mut self,
                rows: &[NewEvent],
                created_at: Instant,
            ) -> Result<(), StoreError> {
                let at = instant_text(created_at);
                for chunk in rows.chunks(INSERT_CHUNK) {
                    $module::insert_events(&mut *self.0, chunk, &at).await?;
                }
                Ok(())
            }

            async fn insert_idempotency(
                &mut self,
                rows: &[NewIdem],
                created_at: Instant,
            ) -> Result<(), StoreError> {
                let at = instant_text(created_at);
                for chunk in rows.chunks(INSERT_CHUNK) {
                    $module::insert_idempotency(&mut *self.0, chunk, &at).await?;
                }
                Ok(())
            }

            async fn commit(self) -> Result<(), StoreError> {
                Ok(self.0.commit().await?)
            }
        }
    };
}

// ---- SQLite -------------------------------------------------------------

/// SQLite: WAL, `synchronous = FULL`, writers serialised by `BEGIN IMMEDIATE`.
pub struct SqliteBackend {
    pool: SqlitePool,
}

pub struct SqliteTx(Transaction<'static, Sqlite>);

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
        migrator(embedded::SQLITE).run(&pool).await?;
        Ok(SqliteBackend { pool })
    }

    /// SQLite has one writer at a time per file: `BEGIN IMMEDIATE` takes the
    /// write lock at once (a deferred transaction would take it at its first
    /// write, after the catch-up read, and could then fail with BUSY).
    async fn begin_exclusive(&self) -> Result<SqliteTx, StoreError> {
        Ok(SqliteTx(self.pool.begin_with("BEGIN IMMEDIATE").await?))
    }

    /// `VACUUM INTO` copies one read transaction's snapshot, so every write
    /// committed before it began is in the copy, and writers are not blocked
    /// (WAL). The target must not exist.
    async fn backup(&self, path: &Path) -> Result<(), StoreError> {
        if path.exists() {
            return Err(StoreError::Config(format!(
                "backup target {} already exists",
                path.display()
            )));
        }
        let target = path.to_str().ok_or_else(|| {
            StoreError::Config(format!("backup path {} is not UTF-8", path.display()))
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(target.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

sql_backend!(
    sqlite_sql,
    Sqlite,
    SqlitePool,
    SqliteBackend,
    SqliteTx,
    "sqlite"
);

// ---- PostgreSQL ---------------------------------------------------------

/// The advisory lock every writer takes first, in every instance.
const WRITER_LOCK: i64 = 0x00CA_5CAD_E000_0001;

/// PostgreSQL: writers serialised by a transaction-scoped advisory lock.
pub struct PgBackend {
    pool: PgPool,
}

pub struct PgTx(Transaction<'static, Postgres>);

impl PgBackend {
    /// Connects to a `postgres://` URL and applies the migrations.
    pub async fn open(url: &str) -> Result<PgBackend, StoreError> {
        let opts = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("{}: {e}", redact(url))))?
            .application_name("cascade");
        let pool = PgPoolOptions::new()
            .max_connections(12)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Config(format!("cannot connect to {}: {e}", redact(url))))?;
        migrator(embedded::POSTGRES).run(&pool).await?;
        Ok(PgBackend { pool })
    }

    /// Readers never block on it, and it is released with the transaction
    /// (commit, rollback or a dropped connection), so a crashed writer
    /// cannot leave it held. SQLite has nothing like it.
    async fn begin_exclusive(&self) -> Result<PgTx, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(WRITER_LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(PgTx(tx))
    }

    /// A server-side copy needs the server's file system and superuser
    /// rights; `pg_dump` does the same job from outside (docs/service.md).
    async fn backup(&self, _path: &Path) -> Result<(), StoreError> {
        Err(StoreError::Unsupported(
            "a PostgreSQL store is backed up with pg_dump (see docs/service.md, Backups)",
        ))
    }
}

sql_backend!(pg_sql, Postgres, PgPool, PgBackend, PgTx, "postgres");

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
            "unsupported database URL {:?}: use sqlite://PATH or postgres://USER@HOST:PORT/DB",
            redact(url)
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

    async fn events_between(&self, after: i64, upto: i64) -> Result<Vec<EventRow>, StoreError> {
        dispatch!(self, b => b.events_between(after, upto).await)
    }

    async fn audit(&self, since: AuditSince, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        dispatch!(self, b => b.audit(since, limit).await)
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenInfo>, StoreError> {
        dispatch!(self, b => b.token_by_hash(hash).await)
    }

    async fn token_by_id(&self, id: &str) -> Result<Option<TokenInfo>, StoreError> {
        dispatch!(self, b => b.token_by_id(id).await)
    }

    async fn insert_token(&self, t: &NewToken) -> Result<(), StoreError> {
        dispatch!(self, b => b.insert_token(t).await)
    }

    async fn list_tokens(&self, principal: Option<&str>) -> Result<Vec<TokenInfo>, StoreError> {
        dispatch!(self, b => b.list_tokens(principal).await)
    }

    async fn revoke_token(&self, id: &str, at: Instant) -> Result<bool, StoreError> {
        dispatch!(self, b => b.revoke_token(id, at).await)
    }

    async fn backup_to(&self, path: &Path) -> Result<(), StoreError> {
        dispatch!(self, b => b.backup_to(path).await)
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
    async fn events_between(&mut self, after: i64, upto: i64) -> Result<Vec<EventRow>, StoreError> {
        dispatch_tx!(self, t => t.events_between(after, upto).await)
    }

    async fn idempotency_many(
        &mut self,
        keys: &[(String, String)],
    ) -> Result<HashMap<(String, String), IdemRow>, StoreError> {
        dispatch_tx!(self, t => t.idempotency_many(keys).await)
    }

    async fn insert_events(
        &mut self,
        rows: &[NewEvent],
        created_at: Instant,
    ) -> Result<(), StoreError> {
        dispatch_tx!(self, t => t.insert_events(rows, created_at).await)
    }

    async fn insert_idempotency(
        &mut self,
        rows: &[NewIdem],
        created_at: Instant,
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

    #[test]
    fn stored_times_read_back_and_nothing_else_does() {
        let t = Instant::from_datetime(2026, 3, 1, 12, 34, 56, 0).unwrap();
        assert_eq!(parse_instant_text(&instant_text(t)), Some(t));
        for bad in [
            "2026-03-01",
            "2026-03-01T12:34:56+00:00",
            "2026-02-30T00:00:00Z",
            "2026-03-01T23:59:60Z",
            "2026-03-01T24:00:00Z",
            "2026-03-01T1x:00:00Z",
            "+026-03-01T12:34:56Z",
        ] {
            assert_eq!(parse_instant_text(bad), None, "{bad}");
        }
    }

    #[test]
    fn token_status_prefers_revocation() {
        let t = |s| Instant::from_unix_seconds(s);
        let tok = TokenInfo {
            id: token_id_of(&"ab".repeat(32)),
            principal: "admin".into(),
            created_at: t(0),
            expires_at: Some(t(100)),
            revoked_at: None,
            read_only: false,
        };
        assert_eq!(tok.id, "tok_abababababababab");
        assert_eq!(tok.status(t(99)), TokenStatus::Active);
        assert_eq!(tok.status(t(100)), TokenStatus::Expired);
        let revoked = TokenInfo {
            revoked_at: Some(t(50)),
            ..tok
        };
        assert_eq!(revoked.status(t(49)), TokenStatus::Active);
        assert_eq!(revoked.status(t(50)), TokenStatus::Revoked);
        assert_eq!(revoked.status(t(200)), TokenStatus::Revoked);
    }
}
