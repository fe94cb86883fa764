//! The discrete-event engine: one run of one portfolio over one workload.
//!
//! Events are plain `Copy` tuples in a binary heap (finishes and failures);
//! submissions and capacity changes come from two pre-sorted lists, merged
//! by time. Per pool the engine keeps free counters, the running jobs and
//! their expected ends (for EASY reservations); nothing is allocated per
//! event.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;

use crate::capacity::{BaseCapacity, Delivered, spread};
use crate::jobs::{Job, unit};
use crate::{SimError, Span};

/// Knobs of the scheduler and the job-level fault model.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineParams {
    /// Jobs checkpoint this often (seconds of their own run time).
    pub checkpoint_s: i64,
    /// How many queued jobs behind a blocked head EASY backfill looks at.
    pub backfill_depth: usize,
    /// GPU failures that interrupt a running job, per 1000 GPU-days (0 = none).
    pub gpu_failures_per_1000_gpu_days: f64,
    /// Chart resolution.
    pub buckets: usize,
    /// Keep every job's first start time in [`RunMetrics::first_starts`] (tests, audits).
    pub record_starts: bool,
}

impl Default for EngineParams {
    fn default() -> Self {
        EngineParams {
            checkpoint_s: 1800,
            backfill_depth: 64,
            gpu_failures_per_1000_gpu_days: 0.0,
            buckets: 73,
            record_starts: false,
        }
    }
}

/// The figures of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunMetrics {
    pub capacity_h100e_hours: f64,
    pub capacity_lost_h100e_hours: f64,
    pub delivered_h100e_hours: f64,
    pub work_lost_h100e_hours: f64,
    pub unmet_h100e_hours: f64,
    pub queue_delay_p50_s: f64,
    pub queue_delay_p95_s: f64,
    pub queue_delay_p99_s: f64,
    pub utilization: f64,
    pub jobs_total: u64,
    pub jobs_finished: u64,
    pub jobs_skipped: u64,
    pub preemptions: u64,
    pub interruptions: u64,
    pub events: u64,
    /// Replacement capacity bought during the run (reprocure).
    pub extra_cost_usd: Decimal,
    pub delivered_series: Vec<f64>,
    pub lost_series: Vec<f64>,
    /// Per job (trace order): first start in Unix seconds, −1 if never;
    /// empty unless [`EngineParams::record_starts`].
    pub first_starts: Vec<i64>,
}

const NONE: u32 = u32::MAX;
const FINISH: u8 = 0;
const FAIL: u8 = 1;

#[derive(Clone, Copy)]
struct JobState {
    /// Work left, in seconds on an H100 (h100e = 1).
    remaining: f64,
    pool: u32,
    pos: u32,
    started: i64,
    end: i64,
    first_start: i64,
    epoch: u32,
    level: u16,
    done: bool,
}

struct Engine<'a> {
    base: &'a BaseCapacity,
    del: &'a Delivered,
    jobs: &'a [Job],
    p: &'a EngineParams,
    span: Span,
    levels: usize,
    cap: Vec<i64>,
    used: Vec<i64>,
    used_by_level: Vec<i64>,
    running: Vec<Vec<u32>>,
    ends: Vec<BTreeSet<(i64, u32)>>,
    eligible: Vec<Vec<u32>>,
    st: Vec<JobState>,
    queue: BTreeSet<(Reverse<u16>, i64, u32)>,
    heap: BinaryHeap<Reverse<(i64, u8, u32, u32)>>,
    rng: ChaCha8Rng,
    fail_per_gpu_s: f64,
    buf: Vec<u32>,
    /// Per pool: bumped whenever its running set or capacity changes.
    version: Vec<u64>,
    /// Per pool: (head, version, reservation end, spare GPUs) last computed.
    res_cache: Vec<(u32, u64, i64, i64)>,
    m: RunMetrics,
}

/// Runs one portfolio's delivered capacity against a workload. `jobs` are
/// sorted by submission; `skip[j]` marks jobs left out (counted by the caller).
pub fn run(
    base: &BaseCapacity,
    del: &Delivered,
    jobs: &[Job],
    skip: &[bool],
    p: &EngineParams,
    rng: ChaCha8Rng,
) -> Result<RunMetrics, SimError> {
    let span = base.span;
    let mut prios: Vec<i32> = jobs.iter().map(|j| j.priority).collect();
    prios.sort_unstable();
    prios.dedup();
    let levels = prios.len().max(1);
    let np = base.pools.len();
    let mut eligible = vec![(0..np as u32).collect::<Vec<_>>()];
    for k in 0..base.classes.len() {
        eligible.push(
            (0..np as u32)
                .filter(|&q| base.pools[q as usize].class_ix as usize == k)
                .collect(),
        );
    }
    let st = jobs
        .iter()
        .map(|j| JobState {
            remaining: j.duration_s as f64,
            pool: NONE,
            pos: 0,
            started: 0,
            end: 0,
            first_start: -1,
            epoch: 0,
            level: prios.binary_search(&j.priority).unwrap_or(0) as u16,
            done: false,
        })
        .collect();
    let mut e = Engine {
        base,
        del,
        jobs,
        p,
        span,
        levels,
        cap: vec![0; np],
        used: vec![0; np],
        used_by_level: vec![0; np * levels],
        running: vec![Vec::new(); np],
        ends: vec![BTreeSet::new(); np],
        eligible,
        st,
        queue: BTreeSet::new(),
        heap: BinaryHeap::new(),
        rng,
        fail_per_gpu_s: p.gpu_failures_per_1000_gpu_days / 1000.0 / 86_400.0,
        buf: Vec::new(),
        version: vec![0; np],
        res_cache: vec![(NONE, 0, 0, 0); np],
        m: RunMetrics {
            capacity_h100e_hours: del.capacity_h100e_hours,
            capacity_lost_h100e_hours: del.lost_h100e_hours,
            delivered_h100e_hours: 0.0,
            work_lost_h100e_hours: 0.0,
            unmet_h100e_hours: 0.0,
            queue_delay_p50_s: 0.0,
            queue_delay_p95_s: 0.0,
            queue_delay_p99_s: 0.0,
            utilization: 0.0,
            jobs_total: 0,
            jobs_finished: 0,
            jobs_skipped: 0,
            preemptions: 0,
            interruptions: 0,
            events: 0,
            extra_cost_usd: Decimal::ZERO,
            delivered_series: vec![0.0; p.buckets],
            lost_series: del.lost_series.clone(),
            first_starts: Vec::new(),
        },
    };
    let mut next_job = 0usize;
    let mut next_cap = 0usize;
    loop {
        let t_heap = e.heap.peek().map_or(i64::MAX, |Reverse(x)| x.0);
        while next_job < jobs.len() && skip[next_job] {
            next_job += 1;
        }
        let t_job = jobs
            .get(next_job)
            .map_or(i64::MAX, |j| span.start + j.submit_s);
        let t_cap = del.changes.get(next_cap).map_or(i64::MAX, |c| c.0);
        let t = t_heap.min(t_job).min(t_cap);
        if t >= span.end {
            break;
        }
        // Ends first (they free GPUs), then capacity changes, then arrivals.
        while let Some(&Reverse((te, kind, j, epoch))) = e.heap.peek() {
            if te != t {
                break;
            }
            e.heap.pop();
            e.m.events += 1;
            if e.st[j as usize].epoch != epoch || e.st[j as usize].pool == NONE {
                continue;
            }
            if kind == FINISH {
                e.stop(j, t, true);
            } else {
                e.m.interruptions += 1;
                e.stop(j, t, false);
            }
        }
        while next_cap < del.changes.len() && del.changes[next_cap].0 == t {
            let (_, pool, gpus) = del.changes[next_cap];
            next_cap += 1;
            e.m.events += 1;
            e.set_capacity(pool, gpus, t)?;
        }
        while next_job < jobs.len() && span.start + jobs[next_job].submit_s == t {
            if !skip[next_job] {
                let j = next_job as u32;
                e.enqueue(j);
                e.m.events += 1;
            }
            next_job += 1;
        }
        e.schedule(t)?;
    }
    e.finish(skip)
}

impl Engine<'_> {
    fn enqueue(&mut self, j: u32) {
        let s = &self.st[j as usize];
        self.queue
            .insert((Reverse(s.level), self.jobs[j as usize].submit_s, j));
    }

    fn free(&self, q: u32) -> i64 {
        self.cap[q as usize] - self.used[q as usize]
    }

    fn class_list(&self, j: u32) -> usize {
        self.jobs[j as usize].class.map_or(0, |k| k as usize + 1)
    }

    /// The pool with the least room that still fits the job (best fit).
    fn best_fit(&self, j: u32) -> Option<u32> {
        let need = self.jobs[j as usize].gpus as i64;
        let mut best: Option<(i64, u32)> = None;
        for &q in &self.eligible[self.class_list(j)] {
            let f = self.free(q);
            if f >= need && best.is_none_or(|(bf, _)| f < bf) {
                best = Some((f, q));
            }
        }
        best.map(|b| b.1)
    }

    fn runtime(&self, j: u32, q: u32) -> i64 {
        let h = self.base.pools[q as usize].h100e;
        ((self.st[j as usize].remaining / h).ceil() as i64).max(1)
    }

    fn start(&mut self, j: u32, q: u32, t: i64) -> Result<(), SimError> {
        let need = self.jobs[j as usize].gpus as i64;
        let site = self.base.pools[q as usize].site_ix;
        if self.del.down[site]
            .iter()
            .any(|&(s, e, whole)| whole && s <= t && t < e)
        {
            return Err(SimError::SelfCheck(format!(
                "job {j} started at {t} on site {} during its outage",
                self.base.pools[q as usize].site
            )));
        }
        if self.free(q) < need {
            return Err(SimError::SelfCheck(format!(
                "job {j} started on pool {q} with {} GPUs free for {need}",
                self.free(q)
            )));
        }
        let runtime = self.runtime(j, q);
        let level = self.st[j as usize].level as usize;
        self.used[q as usize] += need;
        self.version[q as usize] += 1;
        self.used_by_level[q as usize * self.levels + level] += need;
        let pos = self.running[q as usize].len() as u32;
        self.running[q as usize].push(j);
        let end = t + runtime;
        self.ends[q as usize].insert((end, j));
        let s = &mut self.st[j as usize];
        s.pool = q;
        s.pos = pos;
        s.started = t;
        s.end = end;
        if s.first_start < 0 {
            s.first_start = t;
        }
        let epoch = s.epoch;
        let mut at = end;
        let mut kind = FINISH;
        if self.fail_per_gpu_s > 0.0 {
            // Time to the first failure among the gang's GPUs (exponential).
            let u = unit(&mut self.rng);
            let ttf = -(1.0 - u).ln() / (self.fail_per_gpu_s * need as f64);
            if ttf < runtime as f64 {
                let fail_at = t + (ttf.ceil() as i64).max(1);
                if fail_at < end {
                    at = fail_at;
                    kind = FAIL;
                }
            }
        }
        self.heap.push(Reverse((at, kind, j, epoch)));
        Ok(())
    }

    /// Takes a job off its pool. A finished job keeps all its work; any
    /// other stop keeps only what its last checkpoint saved.
    fn stop(&mut self, j: u32, t: i64, finished: bool) {
        let q = self.st[j as usize].pool;
        let pool = &self.base.pools[q as usize];
        let h = pool.h100e;
        let gpus = self.jobs[j as usize].gpus as i64;
        let s = self.st[j as usize];
        let elapsed = t - s.started;
        let kept = if finished {
            elapsed
        } else {
            elapsed / self.p.checkpoint_s * self.p.checkpoint_s
        };
        let lost = elapsed - kept;
        let g = gpus as f64 * h / 3600.0;
        self.m.delivered_h100e_hours += g * kept as f64;
        self.m.work_lost_h100e_hours += g * lost as f64;
        spread(
            &mut self.m.delivered_series,
            self.span,
            s.started,
            s.started + kept,
            g * kept as f64,
        );
        spread(
            &mut self.m.lost_series,
            self.span,
            s.started + kept,
            t,
            g * lost as f64,
        );
        // Remove from the pool.
        let list = &mut self.running[q as usize];
        let last = *list.last().expect("running job is listed");
        list.swap_remove(s.pos as usize);
        if last != j {
            self.st[last as usize].pos = s.pos;
        }
        self.ends[q as usize].remove(&(s.end, j));
        self.used[q as usize] -= gpus;
        self.version[q as usize] += 1;
        self.used_by_level[q as usize * self.levels + s.level as usize] -= gpus;
        let st = &mut self.st[j as usize];
        st.pool = NONE;
        st.epoch += 1;
        if finished {
            st.remaining = 0.0;
            st.done = true;
            self.m.jobs_finished += 1;
        } else {
            st.remaining = (st.remaining - kept as f64 * h).max(0.0);
            self.enqueue(j);
        }
    }

    /// Takes running jobs off a pool, least important and most recently
    /// started first, until at most `limit` GPUs are in use.
    fn evict_down_to(&mut self, q: u32, limit: i64, below_level: Option<u16>, t: i64) -> u64 {
        let mut victims = std::mem::take(&mut self.buf);
        victims.clear();
        victims.extend(
            self.running[q as usize]
                .iter()
                .copied()
                .filter(|&v| below_level.is_none_or(|l| self.st[v as usize].level < l)),
        );
        victims.sort_unstable_by_key(|&v| {
            let s = &self.st[v as usize];
            (s.level, Reverse(s.started), Reverse(v))
        });
        let mut n = 0;
        for &v in &victims {
            if self.used[q as usize] <= limit {
                break;
            }
            self.stop(v, t, false);
            n += 1;
        }
        self.buf = victims;
        n
    }

    fn set_capacity(&mut self, q: u32, gpus: i64, t: i64) -> Result<(), SimError> {
        self.cap[q as usize] = gpus;
        self.version[q as usize] += 1;
        if self.used[q as usize] > gpus {
            let n = self.evict_down_to(q, gpus, None, t);
            self.m.interruptions += n;
        }
        // Self-check: the pool's running gangs, counted afresh, fit what it delivers.
        let counted: i64 = self.running[q as usize]
            .iter()
            .map(|&j| self.jobs[j as usize].gpus as i64)
            .sum();
        if counted != self.used[q as usize] || counted > gpus {
            return Err(SimError::SelfCheck(format!(
                "pool {}/{} at {t}: {counted} GPUs in use (counter {}), {gpus} delivered",
                self.base.pools[q as usize].site,
                self.base.pools[q as usize].gpu,
                self.used[q as usize]
            )));
        }
        Ok(())
    }

    /// Preempts lower-priority work for `j` in the pool where that takes
    /// the fewest GPUs; false when no pool can make room.
    fn preempt_for(&mut self, j: u32, t: i64) -> Result<bool, SimError> {
        let need = self.jobs[j as usize].gpus as i64;
        let level = self.st[j as usize].level;
        let mut best: Option<(i64, u32)> = None;
        for &q in &self.eligible[self.class_list(j)] {
            let base = q as usize * self.levels;
            let lower: i64 = self.used_by_level[base..base + level as usize].iter().sum();
            let free = self.free(q);
            if free < need && free + lower >= need && best.is_none_or(|(b, _)| need - free < b) {
                best = Some((need - free, q));
            }
        }
        let Some((_, q)) = best else {
            return Ok(false);
        };
        let limit = self.cap[q as usize] - need;
        self.m.preemptions += self.evict_down_to(q, limit, Some(level), t);
        self.queue
            .remove(&(Reverse(level), self.jobs[j as usize].submit_s, j));
        self.start(j, q, t)?;
        Ok(true)
    }

    /// When and where the blocked head could start if nothing else started:
    /// the earliest expected end after which one pool has room.
    fn reservation(&mut self, j: u32) -> (i64, u32, i64) {
        let need = self.jobs[j as usize].gpus as i64;
        let mut best = (i64::MAX, NONE, 0);
        for i in 0..self.eligible[self.class_list(j)].len() {
            let q = self.eligible[self.class_list(j)][i] as usize;
            if self.cap[q] < need {
                continue;
            }
            // Per pool, cached until a job starts or stops there or its
            // capacity changes: the walk over a large pool's running jobs is
            // the costliest step of a busy schedule.
            let (head, version, end, extra) = self.res_cache[q];
            let (end, extra) = if head == j && version == self.version[q] {
                (end, extra)
            } else {
                let mut free = self.cap[q] - self.used[q];
                let mut found = (i64::MAX, 0);
                for &(end, k) in &self.ends[q] {
                    free += self.jobs[k as usize].gpus as i64;
                    if free >= need {
                        found = (end, free - need);
                        break;
                    }
                }
                self.res_cache[q] = (j, self.version[q], found.0, found.1);
                found
            };
            if end < best.0 {
                best = (end, q as u32, extra);
            }
        }
        best
    }

    fn schedule(&mut self, t: i64) -> Result<(), SimError> {
        loop {
            let Some(&(Reverse(level), submit, j)) = self.queue.first() else {
                return Ok(());
            };
            if let Some(q) = self.best_fit(j) {
                self.queue.remove(&(Reverse(level), submit, j));
                self.start(j, q, t)?;
                continue;
            }
            if self.preempt_for(j, t)? {
                continue;
            }
            return self.backfill(j, t);
        }
    }

    /// EASY backfill: a later job may start now if it fits and does not
    /// delay the head's reservation (it ends first, or runs elsewhere, or
    /// uses GPUs the head will not need).
    fn backfill(&mut self, head: u32, t: i64) -> Result<(), SimError> {
        let max_free = self.eligible[0]
            .iter()
            .map(|&q| self.free(q))
            .max()
            .unwrap_or(0);
        if max_free <= 0 {
            return Ok(());
        }
        let mut cands = std::mem::take(&mut self.buf);
        cands.clear();
        cands.extend(
            self.queue
                .iter()
                .skip(1)
                .take(self.p.backfill_depth)
                .map(|&(_, _, j)| j),
        );
        // The reservation walks the pool's running jobs: skip it when no
        // candidate could start anyway.
        let smallest = cands
            .iter()
            .map(|&c| self.jobs[c as usize].gpus as i64)
            .min()
            .unwrap_or(i64::MAX);
        if smallest > max_free {
            self.buf = cands;
            return Ok(());
        }
        let (shadow, shadow_pool, mut extra) = self.reservation(head);
        let mut max_free = max_free;
        for &c in &cands {
            let need = self.jobs[c as usize].gpus as i64;
            if need > max_free {
                continue;
            }
            let Some(q) = self.best_fit(c) else { continue };
            if q == shadow_pool && t + self.runtime(c, q) > shadow {
                if need > extra {
                    continue;
                }
                extra -= need;
            }
            let s = &self.st[c as usize];
            self.queue
                .remove(&(Reverse(s.level), self.jobs[c as usize].submit_s, c));
            self.start(c, q, t)?;
            max_free = self.eligible[0]
                .iter()
                .map(|&q| self.free(q))
                .max()
                .unwrap_or(0);
            if max_free <= 0 {
                break;
            }
        }
        self.buf = cands;
        Ok(())
    }

    fn finish(mut self, skip: &[bool]) -> Result<RunMetrics, SimError> {
        let end = self.span.end;
        // Work in progress at the horizon was delivered, not lost.
        for q in 0..self.running.len() {
            for i in 0..self.running[q].len() {
                let j = self.running[q][i];
                let s = &mut self.st[j as usize];
                let h = self.base.pools[q].h100e;
                let elapsed = end - s.started;
                let g = self.jobs[j as usize].gpus as f64 * h / 3600.0;
                self.m.delivered_h100e_hours += g * elapsed as f64;
                spread(
                    &mut self.m.delivered_series,
                    self.span,
                    s.started,
                    end,
                    g * elapsed as f64,
                );
                s.remaining = (s.remaining - elapsed as f64 * h).max(0.0);
            }
        }
        let mut delays = Vec::new();
        for (j, job) in self.jobs.iter().enumerate() {
            if skip[j] {
                continue;
            }
            let s = &self.st[j];
            if !s.done {
                self.m.unmet_h100e_hours += job.gpus as f64 * s.remaining / 3600.0;
            }
            let start = if s.first_start >= 0 {
                s.first_start
            } else {
                end
            };
            delays.push((start - (self.span.start + job.submit_s)) as f64);
        }
        if self.p.record_starts {
            self.m.first_starts = self.st.iter().map(|s| s.first_start).collect();
        }
        delays.sort_by(f64::total_cmp);
        let pct = |p: f64| -> f64 {
            if delays.is_empty() {
                return 0.0;
            }
            let rank = ((p * delays.len() as f64).ceil() as usize).clamp(1, delays.len());
            delays[rank - 1]
        };
        self.m.queue_delay_p50_s = pct(0.50);
        self.m.queue_delay_p95_s = pct(0.95);
        self.m.queue_delay_p99_s = pct(0.99);
        let up = self.m.capacity_h100e_hours - self.m.capacity_lost_h100e_hours;
        self.m.utilization = if up > 0.0 {
            self.m.delivered_h100e_hours / up
        } else {
            0.0
        };
        // Self-check: jobs used no more than the pools delivered.
        let used = self.m.delivered_h100e_hours + self.m.work_lost_h100e_hours;
        let tol = 1e-9 * self.del.usable_h100e_hours.max(1.0);
        if used > self.del.usable_h100e_hours + tol
            || self.del.usable_h100e_hours > up + tol.max(1e-6 * up.abs())
        {
            return Err(SimError::SelfCheck(format!(
                "delivered {} + lost {} H100e-hours exceed the {} available ({} usable as whole GPUs)",
                self.m.delivered_h100e_hours,
                self.m.work_lost_h100e_hours,
                up,
                self.del.usable_h100e_hours
            )));
        }
        Ok(self.m)
    }
}
