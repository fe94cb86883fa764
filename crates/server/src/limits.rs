//! What keeps one caller from taking the service: planning runs on a
//! bounded pool with a bounded queue, a solver budget and a per-token
//! concurrency limit, and writes have a per-token token bucket. Every
//! refusal is an immediate 429 with `Retry-After`, never a connection left
//! waiting.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::AppState;
use crate::extract::hash_token;
use crate::problem::Problem;

/// The limits, as `cascade serve` flags set them.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Plans solved at once (`--plan-workers`; default: the number of cores).
    pub plan_workers: usize,
    /// Plans waiting for a worker (`--plan-queue`); more are refused.
    pub plan_queue: usize,
    /// Plans one token may have running or waiting (`--plan-per-token`).
    pub plan_per_token: usize,
    /// The solver budget of one plan (`--plan-time-limit`).
    pub plan_time_limit: Duration,
    /// Writes per second per token, sustained (`--write-rate`); 0: no limit.
    pub write_rate_per_s: f64,
    /// Writes one token may send at once after a quiet spell (`--write-burst`).
    pub write_burst: f64,
}

impl Default for Limits {
    fn default() -> Limits {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Limits {
            plan_workers: cores,
            plan_queue: 4 * cores,
            plan_per_token: 2,
            plan_time_limit: Duration::from_secs(60),
            write_rate_per_s: 100.0,
            write_burst: 200.0,
        }
    }
}

/// A plan to solve on a solver thread.
type Job = Box<dyn FnOnce() + Send>;

/// The threads that solve plans, one per plan worker.
///
/// Why not tokio's blocking pool: a solver keeps a core busy for seconds,
/// and with every core solving, writes would wait their turn behind the
/// solvers. These threads run at a lower CPU priority (nice 10 on Linux:
/// about a tenth of a normal thread's share when both want the CPU), so a
/// request is served as soon as it arrives and the solvers take what is
/// left. HiGHS's own helper threads are started from these threads and
/// inherit their priority.
pub struct SolverThreads {
    tx: std::sync::mpsc::Sender<Job>,
}

impl SolverThreads {
    fn new(n: usize) -> SolverThreads {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..n {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("plan-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // The guard is dropped before the job runs.
                        let job = match rx.lock().map(|r| r.recv()) {
                            Ok(Ok(job)) => job,
                            // The limiter is gone (or a thread panicked
                            // holding the lock, which `run` prevents).
                            _ => return,
                        };
                        job();
                    }
                })
                .expect("the OS starts a thread");
        }
        SolverThreads { tx }
    }

    /// Runs `f` on a solver thread. A panic in `f` is caught and returned
    /// as an error (a bug in the planner), and the thread goes on.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, String> {
        let (done, wait) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = done.send(r);
        });
        self.tx
            .send(job)
            .map_err(|_| "the solver threads are gone".to_string())?;
        match wait.await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(panic)) => Err(panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_string())),
            Err(_) => Err("the solver thread stopped".to_string()),
        }
    }
}

/// Lowers the calling thread's CPU priority (Linux keeps nice per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its arguments; `who = 0` is this thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

/// The live state of the limits, shared by every handler.
pub struct Limiter {
    pub limits: Limits,
    /// Where admitted plans are solved.
    pub solvers: SolverThreads,
    /// Plans solving, at most `plan_workers`.
    workers: Arc<Semaphore>,
    /// Plans admitted (solving or waiting), at most workers + queue.
    admitted: Arc<Semaphore>,
    /// Plans admitted per token (by the token's hash).
    per_token: Mutex<HashMap<String, usize>>,
    /// Plans waiting for a worker: the plan queue-length gauge.
    pub plan_queue: Arc<AtomicI64>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// A token bucket: `level` writes available as of `at`.
struct Bucket {
    level: f64,
    at: Instant,
}

/// What a plan holds while admitted: dropped when the plan is done (even
/// if the caller has gone), which frees its place and its token's.
pub struct PlanTicket {
    _admitted: OwnedSemaphorePermit,
    token: String,
    limiter: Arc<Limiter>,
}

impl std::fmt::Debug for PlanTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanTicket").finish_non_exhaustive()
    }
}

impl Drop for PlanTicket {
    fn drop(&mut self) {
        self.limiter.release_token(&self.token);
    }
}

/// A 429 problem with `Retry-After` in whole seconds (at least 1).
pub fn too_many(detail: String, retry_after: Duration) -> Response {
    let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let mut r = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-requests",
        "Too many requests",
        format!("{detail}; retry after {secs} s"),
    )
    .into_response();
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_str(&secs.to_string()).expect("digits"),
    );
    r
}

/// The key of a request's bearer token (its hash, as the store keeps it),
/// or `None` without one (such requests are refused as 401 anyway).
pub fn token_key(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| hash_token(rest.trim()))
}

impl Limiter {
    pub fn new(limits: Limits) -> Limiter {
        let workers = limits.plan_workers.max(1);
        Limiter {
            solvers: SolverThreads::new(workers),
            workers: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(Semaphore::new(workers + limits.plan_queue)),
            per_token: Mutex::new(HashMap::new()),
            plan_queue: Arc::new(AtomicI64::new(0)),
            buckets: Mutex::new(HashMap::new()),
            limits,
        }
    }

    /// How long a refused plan should wait: about one plan's budget.
    fn plan_retry_after(&self) -> Duration {
        self.limits
            .plan_time_limit
            .min(Duration::from_secs(60))
            .max(Duration::from_secs(1))
    }

    /// Admits a plan for `token` or answers 429 at once.
    pub fn admit_plan(self: &Arc<Self>, token: &str) -> Result<PlanTicket, Box<Response>> {
        {
            let mut m = self.per_token.lock().expect("not poisoned");
            let n = m.entry(token.to_string()).or_insert(0);
            if *n >= self.limits.plan_per_token {
                return Err(Box::new(too_many(
                    format!(
                        "this token already has {} plans running or waiting (--plan-per-token {})",
                        n, self.limits.plan_per_token
                    ),
                    self.plan_retry_after(),
                )));
            }
            *n += 1;
        }
        let ticket_token = token.to_string();
        match self.admitted.clone().try_acquire_owned() {
            Ok(permit) => Ok(PlanTicket {
                _admitted: permit,
                token: ticket_token,
                limiter: self.clone(),
            }),
            Err(_) => {
                self.release_token(token);
                Err(Box::new(too_many(
                    format!(
                        "the planner is full: {} plans solving and {} waiting",
                        self.limits.plan_workers, self.limits.plan_queue
                    ),
                    self.plan_retry_after(),
                )))
            }
        }
    }

    fn release_token(&self, token: &str) {
        let mut m = self.per_token.lock().expect("not poisoned");
        if let Some(n) = m.get_mut(token) {
            *n -= 1;
            if *n == 0 {
                m.remove(token);
            }
        }
    }

    /// Waits for a worker (the wait is bounded: at most `plan_queue` plans
    /// wait), counting the wait in the queue gauge.
    pub async fn worker(&self) -> OwnedSemaphorePermit {
        self.plan_queue.fetch_add(1, Ordering::Relaxed);
        let permit = self
            .workers
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        self.plan_queue.fetch_sub(1, Ordering::Relaxed);
        permit
    }

    /// Plans waiting for a worker now.
    pub fn queued(&self) -> i64 {
        self.plan_queue.load(Ordering::Relaxed)
    }

    /// Plans being solved now.
    pub fn running(&self) -> i64 {
        self.limits
            .plan_workers
            .saturating_sub(self.workers.available_permits()) as i64
    }

    /// Takes one write from `token`'s bucket, or says how long to wait.
    pub fn take_write(&self, token: &str, now: Instant) -> Result<(), Duration> {
        let (rate, burst) = (
            self.limits.write_rate_per_s,
            self.limits.write_burst.max(1.0),
        );
        if rate <= 0.0 {
            return Ok(());
        }
        let mut m = self.buckets.lock().expect("not poisoned");
        if m.len() > 100_000 {
            // Forget idle buckets (full ones: they would refill anyway).
            m.retain(|_, b| b.level + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let b = m.entry(token.to_string()).or_insert(Bucket {
            level: burst,
            at: now,
        });
        b.level = (b.level + now.duration_since(b.at).as_secs_f64() * rate).min(burst);
        b.at = now;
        if b.level >= 1.0 {
            b.level -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.level) / rate))
        }
    }
}

/// The per-token write rate: the 429 for a write over it. Writes are every
/// method but GET, HEAD and OPTIONS, except `POST /plan` (an analysis with
/// its own limits).
pub(crate) fn write_refusal(app: &AppState, req: &Request) -> Option<Response> {
    let is_write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        && req.uri().path() != "/plan";
    if !is_write {
        return None;
    }
    let key = token_key(req.headers())?;
    let wait = app.limiter.take_write(&key, Instant::now()).err()?;
    Some(too_many(
        format!(
            "this token sends more than {} writes per second (--write-rate)",
            app.limiter.limits.write_rate_per_s
        ),
        wait,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(workers: usize, queue: usize, per_token: usize) -> Arc<Limiter> {
        Arc::new(Limiter::new(Limits {
            plan_workers: workers,
            plan_queue: queue,
            plan_per_token: per_token,
            plan_time_limit: Duration::from_secs(5),
            write_rate_per_s: 2.0,
            write_burst: 3.0,
        }))
    }

    #[test]
    fn a_token_bucket_refills_at_its_rate() {
        let l = limiter(1, 0, 1);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.take_write("a", t0), Ok(()));
        }
        // Empty: the next write is in 1 / 2 s.
        assert_eq!(l.take_write("a", t0), Err(Duration::from_millis(500)));
        // Other tokens have their own bucket.
        assert_eq!(l.take_write("b", t0), Ok(()));
        // 250 ms later: half a write; 500 ms: one.
        let half = t0 + Duration::from_millis(250);
        assert_eq!(l.take_write("a", half), Err(Duration::from_millis(250)));
        assert_eq!(l.take_write("a", t0 + Duration::from_millis(500)), Ok(()));
        // A long pause refills to the burst, no more.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(l.take_write("a", later), Ok(()));
        }
        assert!(l.take_write("a", later).is_err());
    }

    #[test]
    fn plans_are_admitted_per_token_and_up_to_workers_plus_queue() {
        let l = limiter(1, 1, 1);
        let a = l.admit_plan("a").unwrap();
        let r = l.admit_plan("a").unwrap_err();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "5");
        let b = l.admit_plan("b").unwrap();
        // 1 solving + 1 waiting: full for everyone.
        assert_eq!(
            l.admit_plan("c").unwrap_err().status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        drop(a);
        // a's place and a's token count are free again.
        let a2 = l.admit_plan("a").unwrap();
        drop((a2, b));
        assert!(l.per_token.lock().unwrap().is_empty());
    }
}
