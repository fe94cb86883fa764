//! Cascade's persistent ledger: an append-only journal in SQLite or
//! PostgreSQL, replayed into an in-memory [`Ledger`] per process.
//!
//! # How a write stays correct with several processes
//!
//! The journal (`events` table) is the truth; each accepted event is one row
//! with a gap-free sequence number. Every process keeps a [`State`] (the
//! ledger plus the scenario items the ledger does not hold) and the last
//! sequence number it applied. A write:
//!
//! 1. begins a transaction that excludes every other writer of the database
//!    (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: `pg_advisory_xact_lock` as the
//!    first statement);
//! 2. reads the rows written since its last sequence number, by any
//!    process, and applies them (catch-up);
//! 3. runs the request against the now current ledger, which refuses
//!    anything that would break an invariant (oversell included) and
//!    changes nothing when it does;
//! 4. inserts the new rows and the idempotency record, and commits.
//!
//! Because step 3 sees every committed row and no other writer can commit
//! until step 4 is done, no two processes can both sell the same capacity.
//! If the commit fails, the in-memory state is dropped and rebuilt from
//! the journal, so it never holds what the database does not.
//!
//! Writes that arrive together are committed together (group commit): one
//! transaction and one fsync for a batch, each request still checked on its
//! own, in arrival order, against the state its predecessors left.
//!
//! Reads first check the journal's highest sequence number (one cheap query,
//! shared by the reads that arrive while it runs) and catch up if another
//! process wrote, then answer from memory.
//!
//! Every row records who wrote it ([`Author`]: principal, token id, request
//! id), read back by [`Store::audit_since`]. Tokens are stored as hashes with
//! a non-secret id, an expiry, a revocation time and a read-only flag
//! ([`Store::authenticate`] honours the last three at every call).

pub mod backend;
pub mod codec;

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Weak};

use cascade_core::{
    Demand, Id, Instant, ItemRef, Ledger, Outage, OutageScope, Policy, Rejection, Scenario,
    Violation,
};
use cascade_format::{ItemKind, Slot};
use tokio::sync::{Notify, RwLock, mpsc, oneshot, watch};

pub use backend::{
    AnyBackend, AuditRow, AuditSince, Author, Backend, EventRow, IdemRow, NewEvent, NewIdem,
    NewToken, TokenInfo, TokenStatus, WriteTx, token_id_of,
};
pub use codec::{CodecError, Record};

/// Why the store could not do what was asked. What the ledger refuses is
/// not an error but a [`Reply`] (or a [`Rejection`]); [`StoreError::Invalid`]
/// and [`StoreError::NotFound`] are about the arguments of a store call
/// (a token hash, a request id, a sequence number), which the caller should
/// have checked.
///
/// For a service: [`StoreError::is_transient`] errors are worth a retry
/// (503); the others need an operator (500), a [`StoreError::Corrupt`]
/// journal above all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("configuration: {0}")]
    Config(String),
    /// The database could not be reached, was busy or out of room: nothing
    /// was stored, and the same call may succeed later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database refused a statement for a reason a retry will not change.
    #[error("database: {0}")]
    Db(String),
    #[error("migration: {0}")]
    Migrate(String),
    #[error("{0}")]
    Corrupt(Corruption),
    /// An argument the store refuses, with the field it came from.
    #[error("{field}: {problem}")]
    Invalid {
        field: &'static str,
        problem: String,
    },
    #[error("no {what} {id:?}")]
    NotFound { what: &'static str, id: String },
    #[error("not supported: {0}")]
    Unsupported(&'static str),
    #[error("the store is shut down")]
    Closed,
    #[error("a request handler panicked; the batch was rolled back")]
    Panicked,
}

impl StoreError {
    /// A passing condition (connection lost, pool exhausted, lock busy,
    /// shutdown): nothing was stored and a retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::Closed)
    }
}

/// A stored row that cannot be read back, or that the ledger refuses on
/// replay: the journal needs an operator; the store answers nothing from it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("stored data is unreadable: {table} {row}: {problem}")]
pub struct Corruption {
    pub table: &'static str,
    /// Which row, e.g. `seq 17 (contract)`.
    pub row: String,
    pub problem: String,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if is_transient(&e) {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Db(e.to_string())
        }
    }
}

fn is_transient(e: &sqlx::Error) -> bool {
    use sqlx::Error as E;
    match e {
        E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => true,
        E::Database(d) => {
            if let Some(pg) = d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                // SQLSTATE classes 08 (connection), 53 (insufficient
                // resources), 57P01-03 (shutting down, cannot connect now);
                // serialization failure, deadlock, lock not available.
                let c = pg.code();
                c.starts_with("08")
                    || c.starts_with("53")
                    || matches!(c, "57P01" | "57P02" | "57P03" | "40001" | "40P01" | "55P03")
            } else {
                // SQLite reports extended result codes; the primary code is the
                // low byte: BUSY (5), LOCKED (6), FULL (13).
                d.code()
                    .and_then(|c| c.parse::<i64>().ok())
                    .is_some_and(|c| matches!(c & 0xff, 5 | 6 | 13))
            }
        }
        _ => false,
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        match e {
            sqlx::migrate::MigrateError::Execute(e) if is_transient(&e) => {
                StoreError::Unavailable(e.to_string())
            }
            e => StoreError::Migrate(e.to_string()),
        }
    }
}

/// Everything the journal says, applied: the ledger plus the scenario items
/// it does not hold.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub ledger: Ledger,
    pub demands: Vec<Demand>,
    pub outages: Vec<Outage>,
    /// One policy per buyer; a later policy row replaces an earlier one.
    pub policies: Vec<(Id, Policy)>,
    /// Sequence number of the last applied row (0: none).
    pub seq: i64,
}

impl State {
    fn new() -> State {
        State {
            ledger: Ledger::new(),
            ..State::default()
        }
    }

    /// Applies one record, or refuses it and changes nothing.
    pub fn apply(&mut self, r: Record) -> Result<(), Rejection> {
        let unknown = |item: ItemRef, field: &'static str, kind: &'static str, id: &Id| Rejection {
            violations: vec![Violation::UnknownReference {
                item,
                field,
                kind,
                id: id.clone(),
            }],
        };
        match r {
            Record::Event(e) => self.ledger.apply(e).map(|_| ()),
            Record::Demand(d) => {
                if self.ledger.party(&d.buyer).is_none() {
                    return Err(unknown(
                        ItemRef::Demand(self.demands.len()),
                        "buyer",
                        "party",
                        &d.buyer,
                    ));
                }
                self.demands.push(d);
                Ok(())
            }
            Record::Outage(o) => {
                let item = ItemRef::Outage(self.outages.len());
                match &o.scope {
                    OutageScope::Site(s) if self.ledger.site(s).is_none() => {
                        return Err(unknown(item, "site", "site", s));
                    }
                    OutageScope::Provider(p) if self.ledger.party(p).is_none() => {
                        return Err(unknown(item, "provider", "party", p));
                    }
                    _ => {}
                }
                self.outages.push(o);
                Ok(())
            }
            Record::Policy(buyer, p) => {
                if self.ledger.party(&buyer).is_none() {
                    return Err(unknown(
                        ItemRef::Policy(buyer.clone()),
                        "policy",
                        "party",
                        &buyer,
                    ));
                }
                match self.policies.iter_mut().find(|(b, _)| *b == buyer) {
                    Some(slot) => slot.1 = p,
                    None => {
                        self.policies.push((buyer, p));
                        self.policies.sort_by(|a, b| a.0.cmp(&b.0));
                    }
                }
                Ok(())
            }
        }
    }

    /// The whole state as a scenario document (for `plan` and exports).
    pub fn scenario(&self, name: &str) -> Scenario {
        let l = &self.ledger;
        Scenario {
            name: name.to_string(),
            gpus: l.gpu_classes().to_vec(),
            parties: l.parties().to_vec(),
            sites: l.sites().cloned().collect(),
            expansions: l.expansions().to_vec(),
            contracts: l.contracts().cloned().collect(),
            commitments: l.commitments().cloned().collect(),
            amendments: l.amendments().to_vec(),
            offers: l.offers().cloned().collect(),
            clauses: l.clauses().to_vec(),
            demands: self.demands.clone(),
            outages: self.outages.clone(),
            policies: self.policies.clone(),
        }
    }

    fn apply_row(&mut self, row: &EventRow) -> Result<(), StoreError> {
        let corrupt = |problem: String| {
            StoreError::Corrupt(Corruption {
                table: "events",
                row: format!("seq {} ({})", row.seq, row.kind),
                problem,
            })
        };
        let rec = codec::decode(&row.kind, &row.body).map_err(|e| corrupt(e.to_string()))?;
        self.apply(rec)
            .map_err(|r| corrupt(format!("refused by the ledger on replay: {r}")))?;
        self.seq = row.seq;
        Ok(())
    }

    /// Applies journal rows in order; stops at a gap (rows not yet visible).
    fn catch_up(&mut self, rows: &[EventRow]) -> Result<(), StoreError> {
        for row in rows {
            if row.seq <= self.seq {
                continue;
            }
            if row.seq != self.seq + 1 {
                break;
            }
            self.apply_row(row)?;
        }
        Ok(())
    }
}

/// The records one request puts in the journal, staged against the state.
pub struct Staging<'a> {
    state: &'a mut State,
    staged: &'a mut Vec<Record>,
    /// Sequence number of the last row before this request's rows.
    base: i64,
}

impl Staging<'_> {
    /// The journal's sequence number once this request's rows are committed.
    pub fn seq_after(&self) -> i64 {
        self.base + self.staged.len() as i64
    }

    /// The state with every record staged so far applied.
    pub fn state(&self) -> &State {
        self.state
    }

    /// Applies records all together or not at all. On refusal, the
    /// rejection lists the violations of every record that failed (later
    /// records are still tried, against the state the earlier ones left).
    pub fn apply(&mut self, records: Vec<Record>) -> Result<(), Rejection> {
        if records.is_empty() {
            return Ok(());
        }
        if records.len() == 1 {
            let r = records.into_iter().next().expect("one record");
            self.state.apply(r.clone())?;
            self.staged.push(r);
            return Ok(());
        }
        let backup = self.state.clone();
        let mut violations = Vec::new();
        for r in &records {
            if let Err(rej) = self.state.apply(r.clone()) {
                violations.extend(rej.violations);
            }
        }
        if violations.is_empty() {
            self.staged.extend(records);
            Ok(())
        } else {
            *self.state = backup;
            Err(Rejection { violations })
        }
    }
}

impl Staging<'_> {
    /// Applies a scenario's records all together or not at all: in the
    /// order written when the ledger accepts them that way, else in core's
    /// load order (whose refusal is the answer).
    pub fn apply_scenario(&mut self, records: ScenarioRecords) -> Result<(), Rejection> {
        if let Some(written) = records.as_written
            && self.apply(written).is_ok()
        {
            return Ok(());
        }
        self.apply(records.in_load_order)
    }
}

/// A response as stored for idempotent replay: HTTP status and JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// An idempotency key and the hash of the request it was first used with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idem {
    pub key: String,
    pub request_hash: String,
}

/// What became of a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The request ran; its records (if any) are committed.
    Done(Reply),
    /// The key was used before with the same request: the first reply.
    Replayed(Reply),
    /// The key was used before with a different request; nothing ran.
    KeyReused,
}

impl WriteOutcome {
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            WriteOutcome::Done(r) | WriteOutcome::Replayed(r) => Some(r),
            WriteOutcome::KeyReused => None,
        }
    }
}

/// The body of a write: looks at the state, stages records, says what to reply.
pub type JobFn = Box<dyn FnOnce(&mut Staging<'_>) -> Reply + Send>;

struct Job {
    author: Author,
    idem: Option<Idem>,
    f: JobFn,
    done: oneshot::Sender<Result<WriteOutcome, StoreError>>,
}

/// Bookkeeping of the freshness checks.
#[derive(Default)]
struct Fresh {
    /// A check loop is running.
    running: bool,
    /// Number of the check running (or last run).
    started: u64,
    /// Someone arrived during the running check: run another one.
    again: bool,
}

struct Shared {
    backend: AnyBackend,
    state: RwLock<Option<State>>,
    /// Freshness checks of reads (see [`Shared::refresh`]).
    fresh: std::sync::Mutex<Fresh>,
    /// Number of the last completed check, and its error if it failed.
    checked: watch::Sender<(u64, Option<StoreError>)>,
    /// Wakes the checker task (see [`checker`]).
    wake: Arc<Notify>,
    /// Sizes of the group commits this process ran (for metrics).
    batches: std::sync::Mutex<BatchSizes>,
}

/// Upper bounds of the [`BatchSizes`] buckets: powers of two up to the
/// most requests one group commit takes.
pub const BATCH_BUCKETS: [u64; 11] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/// How many requests the group commits of this process took: a histogram
/// with the bounds of [`BATCH_BUCKETS`] (counts per bucket, not cumulative).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchSizes {
    pub counts: [u64; BATCH_BUCKETS.len()],
    /// Number of batches.
    pub count: u64,
    /// Requests in all batches.
    pub sum: u64,
}

impl BatchSizes {
    fn record(&mut self, n: usize) {
        let n = n as u64;
        let i = BATCH_BUCKETS
            .iter()
            .position(|&b| n <= b)
            .unwrap_or(BATCH_BUCKETS.len() - 1);
        self.counts[i] += 1;
        self.count += 1;
        self.sum += n;
    }
}

/// The store: cheap to clone, one per process is enough.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
    writer: mpsc::Sender<Job>,
}

/// Most requests one group commit takes.
const MAX_BATCH: usize = 1024;

/// Most rows one audit read returns.
pub const MAX_AUDIT_ROWS: i64 = 100_000;

/// Longest token id or request id an author may carry (they are logged and stored).
const MAX_AUTHOR_ID_LEN: usize = 200;

/// Now, to the second (the precision of every stored time).
pub fn now() -> Instant {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Instant::from_unix_seconds(secs)
}

/// Checks what an author carries into the journal and the logs.
fn check_author(a: &Author) -> Result<(), StoreError> {
    let fields = [
        ("principal", Some(&a.principal)),
        ("token_id", a.token_id.as_ref()),
        ("request_id", a.request_id.as_ref()),
    ];
    for (field, v) in fields {
        if let Some(v) = v
            && (v.is_empty()
                || v.len() > MAX_AUTHOR_ID_LEN
                || !v.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(StoreError::Invalid {
                field,
                problem: format!(
                    "must be 1 to {MAX_AUTHOR_ID_LEN} printable ASCII characters without spaces"
                ),
            });
        }
    }
    Ok(())
}

impl Store {
    /// Opens the database a URL names (`sqlite://PATH`, a bare path, or
    /// `postgres://...`), applies the migrations and replays the journal.
    /// Must be called inside a Tokio runtime.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let backend = AnyBackend::open(url).await?;
        let wake = Arc::new(Notify::new());
        let shared = Arc::new(Shared {
            backend,
            state: RwLock::new(None),
            fresh: std::sync::Mutex::new(Fresh::default()),
            checked: watch::channel((0, None)).0,
            wake: wake.clone(),
            batches: std::sync::Mutex::new(BatchSizes::default()),
        });
        tokio::spawn(checker(Arc::downgrade(&shared), wake));
        shared.refresh().await?;
        let (tx, rx) = mpsc::channel(8192);
        tokio::spawn(writer(shared.clone(), rx));
        Ok(Store { shared, writer: tx })
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        self.shared.backend.name()
    }

    /// The sizes of the group commits this process has run so far.
    pub fn write_batches(&self) -> BatchSizes {
        self.shared.batches.lock().expect("not poisoned").clone()
    }

    /// Runs `f` on the current state (caught up with every committed row).
    pub async fn read<T>(&self, f: impl FnOnce(&State) -> T) -> Result<T, StoreError> {
        self.shared.refresh().await?;
        let g = self.shared.state.read().await;
        if let Some(s) = g.as_ref() {
            return Ok(f(s));
        }
        drop(g);
        // A failed write dropped the state: rebuild it from the journal.
        let mut w = self.shared.state.write().await;
        if w.is_none() {
            let mut st = State::new();
            let rows = self.shared.backend.events_between(0, i64::MAX).await?;
            st.catch_up(&rows)?;
            *w = Some(st);
        }
        Ok(f(w.as_ref().expect("just rebuilt")))
    }

    /// Runs a write: `job` sees the caught-up state, stages records and
    /// says what to reply; the records and (with a key) the reply are
    /// committed atomically. A key already used by `principal` replays the
    /// first reply (same request) or refuses (different request). The rows
    /// record `principal` with no token or request id: the service uses
    /// [`Store::write_by`].
    pub async fn write(
        &self,
        principal: &str,
        idem: Option<Idem>,
        job: JobFn,
    ) -> Result<WriteOutcome, StoreError> {
        self.write_by(Author::from(principal), idem, job).await
    }

    /// [`Store::write`], with the rows recording `author`.
    pub async fn write_by(
        &self,
        author: Author,
        idem: Option<Idem>,
        job: JobFn,
    ) -> Result<WriteOutcome, StoreError> {
        check_author(&author)?;
        let (done, rx) = oneshot::channel();
        self.writer
            .send(Job {
                author,
                idem,
                f: job,
                done,
            })
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Appends records all-or-nothing, without idempotency: `Ok(Err(_))` is
    /// a refusal by the ledger (nothing stored).
    pub async fn append(
        &self,
        principal: &str,
        records: Vec<Record>,
    ) -> Result<Result<(), Rejection>, StoreError> {
        self.append_by(Author::from(principal), records).await
    }

    /// [`Store::append`], with the rows recording `author`.
    pub async fn append_by(
        &self,
        author: Author,
        records: Vec<Record>,
    ) -> Result<Result<(), Rejection>, StoreError> {
        self.append_with(author, move |st| st.apply(records)).await
    }

    /// A scenario's records, all or nothing, as [`Staging::apply_scenario`]
    /// orders them.
    pub async fn append_scenario(
        &self,
        principal: &str,
        records: ScenarioRecords,
    ) -> Result<Result<(), Rejection>, StoreError> {
        self.append_with(Author::from(principal), move |st| {
            st.apply_scenario(records)
        })
        .await
    }

    async fn append_with(
        &self,
        author: Author,
        apply: impl FnOnce(&mut Staging<'_>) -> Result<(), Rejection> + Send + 'static,
    ) -> Result<Result<(), Rejection>, StoreError> {
        let out = Arc::new(std::sync::Mutex::new(None));
        let slot = out.clone();
        self.write_by(
            author,
            None,
            Box::new(move |st| {
                let r = apply(st);
                let status = if r.is_ok() { 201 } else { 409 };
                *slot.lock().expect("not poisoned") = Some(r);
                Reply {
                    status,
                    body: String::new(),
                }
            }),
        )
        .await?;
        let r = out.lock().expect("not poisoned").take();
        Ok(r.unwrap_or(Ok(())))
    }

    /// Stores a token: `hash` is the hex SHA-256 of the secret (the secret
    /// itself is never stored). Storing the same hash for the same principal
    /// again changes nothing and returns the stored token.
    pub async fn create_token(
        &self,
        hash: &str,
        principal: &str,
        expires_at: Option<Instant>,
        read_only: bool,
    ) -> Result<TokenInfo, StoreError> {
        if !(32..=128).contains(&hash.len())
            || !hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(StoreError::Invalid {
                field: "hash",
                problem: "must be 32 to 128 lowercase hex digits (a SHA-256 of the token)".into(),
            });
        }
        check_author(&Author::from(principal))?;
        let created_at = now();
        if let Some(e) = expires_at
            && e <= created_at
        {
            return Err(StoreError::Invalid {
                field: "expires_at",
                problem: format!("{e} is not after now ({created_at})"),
            });
        }
        let b = &self.shared.backend;
        b.insert_token(&NewToken {
            hash: hash.to_string(),
            principal: principal.to_string(),
            created_at,
            expires_at,
            read_only,
        })
        .await?;
        let stored = b.token_by_hash(hash).await?.ok_or_else(|| {
            StoreError::Db(format!("token {} vanished after insert", token_id_of(hash)))
        })?;
        if stored.principal != principal {
            return Err(StoreError::Invalid {
                field: "hash",
                problem: format!("already registered as {} for another principal", stored.id),
            });
        }
        Ok(stored)
    }

    /// The token with this hash if it may be used now (neither expired nor
    /// revoked). Reads the database at every call: a cache in front of it
    /// must expire its entries quickly for revocations to take effect.
    pub async fn authenticate(&self, token_hash: &str) -> Result<Option<TokenInfo>, StoreError> {
        let t = self.shared.backend.token_by_hash(token_hash).await?;
        let now = now();
        Ok(t.filter(|t| t.status(now) == TokenStatus::Active))
    }

    /// The stored token with this hash, whatever its status.
    pub async fn token(&self, token_hash: &str) -> Result<Option<TokenInfo>, StoreError> {
        self.shared.backend.token_by_hash(token_hash).await
    }

    /// Every token (or a principal's), oldest first, revoked and expired ones included.
    pub async fn list_tokens(&self, principal: Option<&str>) -> Result<Vec<TokenInfo>, StoreError> {
        self.shared.backend.list_tokens(principal).await
    }

    /// Revokes a token by its id, from now on. Revoking it again keeps the
    /// first revocation time. Returns the token as now stored.
    pub async fn revoke_token(&self, id: &str) -> Result<TokenInfo, StoreError> {
        let b = &self.shared.backend;
        let not_found = || StoreError::NotFound {
            what: "token",
            id: id.to_string(),
        };
        if !b.revoke_token(id, now()).await? {
            return Err(not_found());
        }
        b.token_by_id(id).await?.ok_or_else(not_found)
    }

    /// The principal a token hash belongs to, if the token may be used now.
    pub async fn principal_of(&self, token_hash: &str) -> Result<Option<String>, StoreError> {
        Ok(self.authenticate(token_hash).await?.map(|t| t.principal))
    }

    /// Stores a token hash for a principal: no expiry, not read-only.
    pub async fn add_token(&self, token_hash: &str, principal: &str) -> Result<(), StoreError> {
        self.create_token(token_hash, principal, None, false)
            .await
            .map(|_| ())
    }

    /// How many tokens of a principal may be used now.
    pub async fn count_tokens(&self, principal: &str) -> Result<i64, StoreError> {
        let now = now();
        let all = self.shared.backend.list_tokens(Some(principal)).await?;
        Ok(all
            .iter()
            .filter(|t| t.status(now) == TokenStatus::Active)
            .count() as i64)
    }

    /// The journal's rows after `after` (for exports and tests).
    pub async fn journal(&self, after: i64) -> Result<Vec<EventRow>, StoreError> {
        self.shared.backend.events_between(after, i64::MAX).await
    }

    /// At most `limit` (1 to [`MAX_AUDIT_ROWS`]) journal rows with who wrote
    /// them and when, in journal order.
    pub async fn audit_since(
        &self,
        since: AuditSince,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StoreError> {
        if !(1..=MAX_AUDIT_ROWS).contains(&limit) {
            return Err(StoreError::Invalid {
                field: "limit",
                problem: format!("{limit} is not between 1 and {MAX_AUDIT_ROWS}"),
            });
        }
        self.shared.backend.audit(since, limit).await
    }

    /// The state as of sequence number `at_seq` (0: empty), rebuilt from
    /// the journal, and its scenario's items in the order the journal wrote
    /// them: what an export writes (`cascade_format::to_toml_in_order`).
    /// A policy written again sits where it was first written.
    pub async fn export_at(&self, at_seq: i64) -> Result<(State, Vec<Slot>), StoreError> {
        let max = self.shared.backend.max_seq().await?;
        if !(0..=max).contains(&at_seq) {
            return Err(StoreError::Invalid {
                field: "at_seq",
                problem: format!("{at_seq} is not between 0 and the journal's end, {max}"),
            });
        }
        let rows = self.shared.backend.events_between(0, at_seq).await?;
        let mut st = State::new();
        st.catch_up(&rows)?;
        if st.seq != at_seq {
            return Err(StoreError::Corrupt(Corruption {
                table: "events",
                row: format!("seq {}", st.seq + 1),
                problem: "missing: the journal has a gap".into(),
            }));
        }
        let written = written_order(&rows, &st);
        Ok((st, written))
    }

    /// Writes a consistent copy of the database to `path` (which must not
    /// exist) while writes go on: every write acknowledged before the call
    /// is in it. SQLite only (`VACUUM INTO`); PostgreSQL stores answer
    /// [`StoreError::Unsupported`] and are backed up with `pg_dump`.
    pub async fn backup_to(&self, path: &std::path::Path) -> Result<(), StoreError> {
        self.shared.backend.backup_to(path).await
    }

    /// Closes the connection pool (pending writes finish first).
    pub async fn close(&self) {
        self.shared.backend.close().await;
    }
}

impl Shared {
    /// Brings the state up to the journal's current end, as of a moment
    /// after the call began.
    ///
    /// Concurrent callers share checks: one check runs at a time (in the
    /// checker task, so a cancelled request cannot strand the others); a caller
    /// that arrives while one runs waits for the next, which starts as soon
    /// as the running one ends and serves every caller that arrived
    /// meanwhile. Waiters are all woken at once by a watch channel.
    async fn refresh(&self) -> Result<(), StoreError> {
        let (target, start) = {
            let mut f = self.fresh.lock().expect("not poisoned");
            if f.running {
                f.again = true;
                (f.started + 1, false)
            } else {
                f.running = true;
                f.started += 1;
                (f.started, true)
            }
        };
        let mut rx = self.checked.subscribe();
        if start {
            self.wake.notify_one();
        }
        let done = rx
            .wait_for(|(n, _)| *n >= target)
            .await
            .map_err(|_| StoreError::Closed)?;
        match &done.1 {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Runs checks until nobody waits for another one.
    async fn check_rounds(&self) {
        loop {
            let n = self.fresh.lock().expect("not poisoned").started;
            let r = self.catch_up_now().await;
            self.checked.send_replace((n, r.err()));
            let mut f = self.fresh.lock().expect("not poisoned");
            if f.again {
                f.again = false;
                f.started += 1;
            } else {
                f.running = false;
                return;
            }
        }
    }

    async fn catch_up_now(&self) -> Result<(), StoreError> {
        let max = self.backend.max_seq().await?;
        let current = self.state.read().await.as_ref().map(|s| s.seq);
        if current.is_none_or(|s| s < max) {
            let mut g = self.state.write().await;
            let mut st = g.take().unwrap_or_else(State::new);
            if st.seq < max {
                match self.backend.events_between(st.seq, i64::MAX).await {
                    Ok(rows) => {
                        // On error the state stays empty: it is rebuilt on the next access.
                        st.catch_up(&rows)?;
                    }
                    Err(e) => {
                        *g = Some(st);
                        return Err(e);
                    }
                }
            }
            *g = Some(st);
        }
        Ok(())
    }

    /// One group commit. Every job gets an answer.
    async fn run_batch(&self, jobs: Vec<Job>) {
        let mut dones = Vec::with_capacity(jobs.len());
        let result = self.try_batch(jobs, &mut dones).await;
        match result {
            Ok(outcomes) => {
                for (done, o) in dones.into_iter().zip(outcomes) {
                    let _ = done.send(Ok(o));
                }
            }
            Err(e) => {
                for done in dones {
                    let _ = done.send(Err(e.clone()));
                }
            }
        }
    }

    async fn try_batch(
        &self,
        jobs: Vec<Job>,
        dones: &mut Vec<oneshot::Sender<Result<WriteOutcome, StoreError>>>,
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        let mut parts = Vec::with_capacity(jobs.len());
        for j in jobs {
            dones.push(j.done);
            parts.push((j.author, j.idem, j.f));
        }
        let mut tx = self.backend.begin_write().await?;
        let mut guard = self.state.write().await;
        let mut state = guard.take().unwrap_or_else(State::new);
        // From here on, `guard` stays empty unless the commit succeeds: any
        // early return leaves the state to be rebuilt from the journal.
        let rows = tx.events_between(state.seq, i64::MAX).await?;
        state.catch_up(&rows)?;
        if let Some(last) = rows.last()
            && state.seq != last.seq
        {
            return Err(StoreError::Corrupt(Corruption {
                table: "events",
                row: format!("seq {}", state.seq + 1),
                problem: "missing: the journal has a gap".into(),
            }));
        }
        // Every key of the batch in one query.
        let wanted: Vec<(String, String)> = {
            let mut seen_keys = std::collections::HashSet::new();
            parts
                .iter()
                .filter_map(|(a, i, _)| i.as_ref().map(|i| (a.principal.clone(), i.key.clone())))
                .filter(|k| seen_keys.insert(k.clone()))
                .collect()
        };
        let stored = if wanted.is_empty() {
            HashMap::new()
        } else {
            tx.idempotency_many(&wanted).await?
        };
        let mut outcomes = Vec::with_capacity(parts.len());
        let mut new_rows = Vec::new();
        let mut idem_rows = Vec::new();
        let mut seen: HashMap<(String, String), (String, Reply)> = HashMap::new();
        let mut seq = state.seq;
        for (author, idem, f) in parts {
            if let Some(idem) = &idem {
                let k = (author.principal.clone(), idem.key.clone());
                let earlier = match seen.get(&k) {
                    Some((h, r)) => Some((h.clone(), r.clone())),
                    None => stored.get(&k).map(|row| {
                        (
                            row.request_hash.clone(),
                            Reply {
                                status: row.status,
                                body: row.body.clone(),
                            },
                        )
                    }),
                };
                if let Some((hash, reply)) = earlier {
                    outcomes.push(if hash == idem.request_hash {
                        WriteOutcome::Replayed(reply)
                    } else {
                        WriteOutcome::KeyReused
                    });
                    continue;
                }
            }
            let mut staged = Vec::new();
            let reply = catch_unwind(AssertUnwindSafe(|| {
                let mut st = Staging {
                    state: &mut state,
                    staged: &mut staged,
                    base: seq,
                };
                f(&mut st)
            }))
            .map_err(|_| StoreError::Panicked)?;
            for r in &staged {
                seq += 1;
                let (kind, body) = codec::encode(r);
                new_rows.push(NewEvent {
                    row: EventRow {
                        seq,
                        kind: kind.to_string(),
                        body,
                    },
                    author: author.clone(),
                });
            }
            if let Some(idem) = idem {
                idem_rows.push(NewIdem {
                    principal: author.principal.clone(),
                    key: idem.key.clone(),
                    request_hash: idem.request_hash.clone(),
                    status: reply.status,
                    body: reply.body.clone(),
                });
                seen.insert(
                    (author.principal.clone(), idem.key),
                    (idem.request_hash, reply.clone()),
                );
            }
            outcomes.push(WriteOutcome::Done(reply));
        }
        if !new_rows.is_empty() || !idem_rows.is_empty() {
            let now = now();
            tx.insert_events(&new_rows, now).await?;
            tx.insert_idempotency(&idem_rows, now).await?;
            tx.commit().await?;
        }
        state.seq = seq;
        *guard = Some(state);
        Ok(outcomes)
    }
}

/// The checker task: runs freshness checks when woken; ends with the store.
async fn checker(shared: Weak<Shared>, wake: Arc<Notify>) {
    loop {
        wake.notified().await;
        let Some(sh) = shared.upgrade() else { return };
        sh.check_rounds().await;
    }
}

async fn writer(shared: Arc<Shared>, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        shared
            .batches
            .lock()
            .expect("not poisoned")
            .record(jobs.len());
        shared.run_batch(jobs).await;
    }
}

/// The records of a whole scenario: its ledger events in core's load order
/// (`Scenario::load_order`), then demands, outages and policies. A scenario
/// refused on its shape alone (duplicate ids, `backed_by` cycles) is refused
/// here with the same violations as `Ledger::from_scenario`, before
/// anything reaches the store.
pub fn scenario_records(s: &Scenario) -> Result<Vec<Record>, Rejection> {
    let order = s.load_order();
    if !order.refused.is_empty() {
        return Err(Rejection {
            violations: order.refused,
        });
    }
    let mut out: Vec<Record> = order.events.into_iter().map(Record::Event).collect();
    out.extend(s.demands.iter().cloned().map(Record::Demand));
    out.extend(s.outages.iter().cloned().map(Record::Outage));
    out.extend(
        s.policies
            .iter()
            .cloned()
            .map(|(b, p)| Record::Policy(b, p)),
    );
    Ok(out)
}

/// A scenario's records two ways: in the order its items were written
/// (when known and different), and in core's load order.
#[derive(Clone, Debug)]
pub struct ScenarioRecords {
    as_written: Option<Vec<Record>>,
    in_load_order: Vec<Record>,
}

impl ScenarioRecords {
    /// How many records (the same either way).
    pub fn len(&self) -> usize {
        self.in_load_order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.in_load_order.is_empty()
    }
}

/// The records of a whole scenario ([`scenario_records`]), and, when
/// `written` names each of its items once (`cascade_format::written_order`
/// of its file), the same records in that order. Storing tries the written
/// order first, so that a journal exported as a file loads back row for
/// row; a written order the ledger refuses (a resale before its backer, a
/// contract before the site's GPUs are installed) falls back to the load
/// order, which accepts every valid scenario.
pub fn scenario_load(s: &Scenario, written: &[Slot]) -> Result<ScenarioRecords, Rejection> {
    let in_load_order = scenario_records(s)?;
    let as_written = cascade_format::covers(s, written)
        .then(|| {
            written
                .iter()
                .map(|slot| {
                    slot.kind
                        .record(s, slot.index)
                        .expect("covers checked every index")
                })
                .collect::<Vec<_>>()
        })
        .filter(|w| *w != in_load_order);
    Ok(ScenarioRecords {
        as_written,
        in_load_order,
    })
}

/// The items of `state.scenario(..)` in the order of the journal rows that
/// built `state`: each kind's items are listed in journal order, so the
/// n-th row of a kind is that kind's n-th item; a policy (kept once per
/// buyer, sorted) at its buyer's first row.
fn written_order(rows: &[EventRow], state: &State) -> Vec<Slot> {
    let mut next = [0usize; ItemKind::ALL.len()];
    let mut policies_seen: Vec<usize> = Vec::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(kind) = ItemKind::from_name(&row.kind) else {
            continue;
        };
        let index = if kind == ItemKind::Policy {
            let Ok(Record::Policy(buyer, _)) = codec::decode(&row.kind, &row.body) else {
                continue;
            };
            let Ok(index) = state.policies.binary_search_by(|(b, _)| b.cmp(&buyer)) else {
                continue;
            };
            if policies_seen.contains(&index) {
                continue;
            }
            policies_seen.push(index);
            index
        } else {
            next[kind as usize] += 1;
            next[kind as usize] - 1
        };
        out.push(Slot { kind, index });
    }
    out
}

/// Helpers for tests of the store and of the service.
///
/// A test that needs something the machine may lack (a PostgreSQL server, a
/// data file, a tool) asks here. Under CI (`CI` set, and not `false` or
/// `0`) a missing one fails the test with a message saying how to provide
/// it, so that CI never passes a test that did not run; elsewhere the test
/// prints a notice and skips.
pub mod testing {
    use std::path::{Path, PathBuf};

    use sqlx::Connection;

    /// Whether this is a CI run.
    pub fn under_ci() -> bool {
        std::env::var("CI").is_ok_and(|v| {
            let v = v.trim();
            !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false"))
        })
    }

    /// Skips outside CI (with a notice on stderr); under CI, panics, which
    /// fails the calling test with `what` is missing and how to provide it.
    #[track_caller]
    pub fn skip_or_fail(what: &str, how: &str) {
        if under_ci() {
            panic!("{what} is missing, and under CI a test may not skip: {how}");
        }
        eprintln!("skipping: {what} is missing ({how})");
    }

    /// The PostgreSQL server the tests use, `CASCADE_TEST_PG_URL`
    /// (`scripts/with-postgres` sets it). `None`: skip this test (never under CI).
    #[track_caller]
    pub fn pg_url() -> Option<String> {
        match std::env::var("CASCADE_TEST_PG_URL") {
            Ok(u) if !u.trim().is_empty() => Some(u),
            _ => {
                skip_or_fail(
                    "CASCADE_TEST_PG_URL (a PostgreSQL server for this test)",
                    "run the tests under scripts/with-postgres, e.g. `scripts/with-postgres cargo test`",
                );
                None
            }
        }
    }

    /// A file a test needs (a data file, a tool). `None`: skip this test
    /// (never under CI).
    #[track_caller]
    pub fn required_file(path: impl AsRef<Path>, how: &str) -> Option<PathBuf> {
        let p = path.as_ref();
        if p.is_file() {
            Some(p.to_path_buf())
        } else {
            skip_or_fail(&format!("file {}", p.display()), how);
            None
        }
    }

    /// Creates a new, empty PostgreSQL database next to the one `base_url`
    /// names (same server and user) and returns its URL.
    pub async fn fresh_postgres_database(
        base_url: &str,
        name: &str,
    ) -> Result<String, crate::StoreError> {
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            || name.is_empty()
        {
            return Err(crate::StoreError::Config(format!(
                "bad database name {name:?}"
            )));
        }
        let mut conn = sqlx::PgConnection::connect(base_url).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let root = base_url.split('?').next().unwrap_or(base_url);
        let cut = root
            .rfind('/')
            .ok_or_else(|| crate::StoreError::Config(format!("no database in {base_url:?}")))?;
        Ok(format!("{}/{name}", &root[..cut]))
    }

    /// The two backends a test runs against.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Db {
        Sqlite,
        Postgres,
    }

    /// A name no other test uses now, in any process: `prefix`, the process
    /// id, a counter and the time.
    pub fn unique(prefix: &str) -> String {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!(
            "{prefix}_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            nanos % 1_000_000_000
        )
    }

    /// A new folder under the system's temp folder, named by [`unique`].
    pub fn temp_dir(prefix: &str) -> PathBuf {
        let d = std::env::temp_dir().join(unique(prefix));
        std::fs::create_dir_all(&d).expect("create a temp folder");
        d
    }

    /// The URL of a fresh, empty database: a SQLite file in `dir`, or a new
    /// database on the tests' PostgreSQL server ([`pg_url`]; `None`: skip
    /// this test, never under CI).
    pub async fn fresh_database(db: Db, dir: &Path) -> Option<String> {
        match db {
            Db::Sqlite => Some(format!("sqlite://{}", dir.join("cascade.db").display())),
            Db::Postgres => Some(
                fresh_postgres_database(&pg_url()?, &unique("cascade_test"))
                    .await
                    .expect("create a test database"),
            ),
        }
    }

    /// Writes a journal row straight into the database, past every check:
    /// for tests of what the store and the service do with a row they cannot
    /// read back.
    pub async fn insert_raw_event(url: &str, seq: i64, kind: &str, body: &str) {
        let sql = "INSERT INTO events (seq, kind, body, created_at) VALUES ($1, $2, $3, '2026-01-01T00:00:00Z')";
        // One statement for both pool types (they share no trait object).
        macro_rules! insert {
            ($pool:ty) => {{
                let pool = <$pool>::connect(url).await.expect("connect");
                sqlx::query(sql)
                    .bind(seq)
                    .bind(kind)
                    .bind(body)
                    .execute(&pool)
                    .await
                    .expect("insert a raw journal row");
                pool.close().await;
            }};
        }
        if url.starts_with("postgres") {
            insert!(sqlx::PgPool)
        } else {
            insert!(sqlx::SqlitePool)
        }
    }
}
