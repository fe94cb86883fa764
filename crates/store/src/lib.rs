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

pub mod backend;
pub mod codec;

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Weak};

use cascade_core::{
    Demand, Event, Id, Instant, ItemRef, Ledger, Outage, OutageScope, Policy, Rejection, Scenario,
    Violation,
};
use tokio::sync::{Notify, RwLock, mpsc, oneshot, watch};

pub use backend::{AnyBackend, Backend, EventRow, IdemRow, NewIdem, WriteTx};
pub use codec::{CodecError, Record};

/// Why the store could not do what was asked. Never caused by a request's
/// content: those outcomes are [`Reply`]s.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Db(String),
    #[error("migration: {0}")]
    Migrate(String),
    #[error("journal is unreadable: {0}")]
    Corrupt(String),
    #[error("the store is shut down")]
    Closed,
    #[error("a request handler panicked; the batch was rolled back")]
    Panicked,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Db(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(e.to_string())
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
            contracts: l.contracts().cloned().collect(),
            commitments: l.commitments().cloned().collect(),
            amendments: l.amendments().to_vec(),
            expansions: l.expansions().to_vec(),
            offers: l.offers().cloned().collect(),
            clauses: l.clauses().to_vec(),
            demands: self.demands.clone(),
            outages: self.outages.clone(),
            policies: self.policies.clone(),
        }
    }

    fn apply_row(&mut self, row: &EventRow) -> Result<(), StoreError> {
        let rec = codec::decode(&row.kind, &row.body)
            .map_err(|e| StoreError::Corrupt(format!("seq {}: {e}", row.seq)))?;
        self.apply(rec).map_err(|r| {
            StoreError::Corrupt(format!(
                "seq {} ({}) is refused by the ledger on replay: {r}",
                row.seq, row.kind
            ))
        })?;
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
    principal: String,
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
}

/// The store: cheap to clone, one per process is enough.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
    writer: mpsc::Sender<Job>,
}

/// Most requests one group commit takes.
const MAX_BATCH: usize = 1024;

/// Now, as the journal's `created_at` text.
fn now_text() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Instant::from_unix_seconds(secs).to_string()
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
            let rows = self.shared.backend.events_after(0).await?;
            st.catch_up(&rows)?;
            *w = Some(st);
        }
        Ok(f(w.as_ref().expect("just rebuilt")))
    }

    /// Runs a write: `job` sees the caught-up state, stages records and
    /// says what to reply; the records and (with a key) the reply are
    /// committed atomically. A key already used by `principal` replays the
    /// first reply (same request) or refuses (different request).
    pub async fn write(
        &self,
        principal: &str,
        idem: Option<Idem>,
        job: JobFn,
    ) -> Result<WriteOutcome, StoreError> {
        let (done, rx) = oneshot::channel();
        self.writer
            .send(Job {
                principal: principal.to_string(),
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
        let out = Arc::new(std::sync::Mutex::new(None));
        let slot = out.clone();
        self.write(
            principal,
            None,
            Box::new(move |st| {
                let r = st.apply(records);
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

    /// The principal a token hash belongs to.
    pub async fn principal_of(&self, token_hash: &str) -> Result<Option<String>, StoreError> {
        self.shared.backend.token_principal(token_hash).await
    }

    /// Stores a token hash for a principal.
    pub async fn add_token(&self, token_hash: &str, principal: &str) -> Result<(), StoreError> {
        self.shared
            .backend
            .insert_token(token_hash, principal, &now_text())
            .await
    }

    /// How many tokens a principal has.
    pub async fn count_tokens(&self, principal: &str) -> Result<i64, StoreError> {
        self.shared.backend.count_tokens(principal).await
    }

    /// The journal's rows after `after` (for exports and tests).
    pub async fn journal(&self, after: i64) -> Result<Vec<EventRow>, StoreError> {
        self.shared.backend.events_after(after).await
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
                match self.backend.events_after(st.seq).await {
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
            parts.push((j.principal, j.idem, j.f));
        }
        let mut tx = self.backend.begin_write().await?;
        let mut guard = self.state.write().await;
        let mut state = guard.take().unwrap_or_else(State::new);
        // From here on, `guard` stays empty unless the commit succeeds: any
        // early return leaves the state to be rebuilt from the journal.
        let rows = tx.events_after(state.seq).await?;
        state.catch_up(&rows)?;
        if let Some(last) = rows.last()
            && state.seq != last.seq
        {
            return Err(StoreError::Corrupt(format!(
                "journal has a gap after seq {}",
                state.seq
            )));
        }
        // Every key of the batch in one query.
        let wanted: Vec<(String, String)> = {
            let mut seen_keys = std::collections::HashSet::new();
            parts
                .iter()
                .filter_map(|(p, i, _)| i.as_ref().map(|i| (p.clone(), i.key.clone())))
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
        for (principal, idem, f) in parts {
            if let Some(idem) = &idem {
                let k = (principal.clone(), idem.key.clone());
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
                new_rows.push(EventRow {
                    seq,
                    kind: kind.to_string(),
                    body,
                });
            }
            if let Some(idem) = idem {
                idem_rows.push(NewIdem {
                    principal: principal.clone(),
                    key: idem.key.clone(),
                    request_hash: idem.request_hash.clone(),
                    status: reply.status,
                    body: reply.body.clone(),
                });
                seen.insert((principal, idem.key), (idem.request_hash, reply.clone()));
            }
            outcomes.push(WriteOutcome::Done(reply));
        }
        if !new_rows.is_empty() || !idem_rows.is_empty() {
            let now = now_text();
            tx.insert_events(&new_rows, &now).await?;
            tx.insert_idempotency(&idem_rows, &now).await?;
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
        shared.run_batch(jobs).await;
    }
}

/// The records of a whole scenario, in an order the ledger accepts: GPU
/// classes, parties, sites, clauses, contracts with backers first (each
/// followed by its own amendments), commitments, the other amendments,
/// offers, demands, outages and policies.
pub fn scenario_records(s: &Scenario) -> Vec<Record> {
    use cascade_core::{AmendmentTarget, Source};
    let mut out: Vec<Record> = Vec::new();
    out.extend(s.gpus.iter().cloned().map(|g| Record::Event(Event::Gpu(g))));
    out.extend(
        s.parties
            .iter()
            .cloned()
            .map(|p| Record::Event(Event::Party(p))),
    );
    out.extend(
        s.sites
            .iter()
            .cloned()
            .map(|x| Record::Event(Event::Site(x))),
    );
    out.extend(
        s.clauses
            .iter()
            .cloned()
            .map(|c| Record::Event(Event::Clause(c))),
    );
    let index: HashMap<&Id, usize> = s
        .contracts
        .iter()
        .enumerate()
        .map(|(i, c)| (&c.id, i))
        .collect();
    let mut amends_of: HashMap<&Id, Vec<usize>> = HashMap::new();
    let mut other = Vec::new();
    for (i, a) in s.amendments.iter().enumerate() {
        match &a.target {
            AmendmentTarget::Contract { id, .. } if index.contains_key(id) => {
                amends_of.entry(id).or_default().push(i)
            }
            _ => other.push(i),
        }
    }
    // Depth-first, backers first; a cycle is emitted as is (the ledger refuses it).
    let mut done = vec![false; s.contracts.len()];
    for start in 0..s.contracts.len() {
        let mut path = Vec::new();
        let mut cur = Some(start);
        while let Some(i) = cur {
            if done[i] || path.contains(&i) {
                break;
            }
            path.push(i);
            cur = match &s.contracts[i].source {
                Source::BackedBy(b) => index.get(b).copied(),
                Source::Site(_) => None,
            };
        }
        for &i in path.iter().rev() {
            done[i] = true;
            let c = &s.contracts[i];
            out.push(Record::Event(Event::Contract(c.clone())));
            for &a in amends_of.get(&c.id).map(Vec::as_slice).unwrap_or(&[]) {
                out.push(Record::Event(Event::Amendment(s.amendments[a].clone())));
            }
        }
    }
    out.extend(
        s.commitments
            .iter()
            .cloned()
            .map(|c| Record::Event(Event::Commitment(c))),
    );
    out.extend(
        other
            .into_iter()
            .map(|i| Record::Event(Event::Amendment(s.amendments[i].clone()))),
    );
    out.extend(
        s.offers
            .iter()
            .cloned()
            .map(|o| Record::Event(Event::Offer(o))),
    );
    out.extend(s.demands.iter().cloned().map(Record::Demand));
    out.extend(s.outages.iter().cloned().map(Record::Outage));
    out.extend(
        s.policies
            .iter()
            .cloned()
            .map(|(b, p)| Record::Policy(b, p)),
    );
    out
}

/// Helpers for tests of the store and of the service.
pub mod testing {
    use sqlx::Connection;

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
}
