//! Cascade's simulator: replays GPU jobs on a buyer's held capacity while
//! sites and providers fail, through every resale chain, and compares
//! sourcing policies.
//!
//! Architecture: this crate depends on cascade-core only among the
//! workspace's crates and does no IO (trace loaders read any
//! `std::io::Read`). Time is a virtual clock in Unix seconds; randomness is
//! a ChaCha8 stream per run derived from the seed, so the same inputs and
//! seed give byte-identical output whatever the thread count.
//!
//! - [`capacity`]: the buyer's net held capacity per pool (root site ×
//!   class) over time, and what it delivers under faults and build-out
//!   slips by core's delivery rule;
//! - [`jobs`]: the Alibaba trace, the generic CSV, the synthetic generator;
//! - [`engine`]: the discrete-event scheduler (priorities, FIFO + EASY
//!   backfill, preemption, checkpoints) with its built-in self-check;
//! - [`faults`]: random outages;
//! - [`report`]: Monte-Carlo summaries, the metrics JSON document, the SVG.

pub mod capacity;
pub mod engine;
pub mod faults;
pub mod impact;
pub mod jobs;
pub mod report;

use cascade_core::{Id, Ledger};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use rayon::prelude::*;
use rust_decimal::Decimal;

pub use capacity::{BaseCapacity, Delivered, Extra, Fault, Pool, Slip, cost_over};
pub use engine::{EngineParams, RunMetrics};
pub use faults::FaultParams;
pub use impact::{Impact, fault_impact};
pub use jobs::{Job, Synthetic, TraceError, Workload, load_trace, sized_synthetic, synthetic};
pub use report::{PolicyReport, Summary, metrics_json, metrics_json_with_series, svg_chart};

/// A half-open span of virtual time, in Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: i64,
    pub end: i64,
}

impl Span {
    pub fn hours(&self) -> f64 {
        (self.end - self.start) as f64 / 3600.0
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SimError {
    #[error("no party {0:?} in the scenario")]
    UnknownBuyer(Id),
    #[error("the simulated span is empty: it must start before it ends")]
    EmptySpan,
    #[error("--runs must be at least 1")]
    NoRuns,
    /// The built-in self-check failed: a bug, reported as an error.
    #[error("self-check failed: {0}")]
    SelfCheck(String),
    #[error("delivery rule: {0}")]
    Delivery(String),
    #[error("reprocurement failed: {0}")]
    Reprocure(String),
}

/// Which outages a run sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outages {
    /// The scenario file's `[[outage]]` items only.
    Scenario,
    None,
    /// Sampled per run from [`FaultParams`], plus GPU failures that
    /// interrupt jobs.
    Random,
}

/// Everything about a simulation that is not the portfolio.
#[derive(Clone, Debug)]
pub struct Config {
    pub span: Span,
    pub seed: u64,
    pub runs: u32,
    pub outages: Outages,
    pub faults: FaultParams,
    pub engine: EngineParams,
    /// Sample build-out slips per run ([`FaultParams::slip_probability`]).
    pub slips: bool,
    /// `reprocure` buys replacement capacity for outages expected to last
    /// at least this long.
    pub reprocure_after_s: i64,
}

/// Capacity bought during a run to replace what an outage took down.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bought {
    pub extras: Vec<Extra>,
    pub cost_usd: Decimal,
}

/// Buys replacement capacity from open offers when an outage starts that is
/// expected to last at least the threshold. The CLI implements it with the
/// optimizer (cascade-plan) under the scenario's clauses; this crate only
/// calls it. Called from several threads: implementations cache.
/// `bought` is what the run has already bought (earlier outages), which is
/// no longer on offer.
pub trait Reprocure: Sync {
    fn replace(&self, fault: &Fault, bought: &[Extra]) -> Result<Bought, String>;
}

/// One policy to simulate: the portfolio it leads to (a ledger) and, for
/// `reprocure`, who buys replacements.
pub struct Policy<'a> {
    pub name: String,
    pub ledger: &'a Ledger,
    pub reprocure: Option<&'a dyn Reprocure>,
}

/// Runs a policy `cfg.runs` times in parallel (rayon) and returns every
/// run's figures in run order. Run r draws its faults from stream r of the
/// seed, so every policy meets the same faults in the same run.
pub fn simulate(
    policy: &Policy,
    buyer: &Id,
    scenario_faults: &[Fault],
    workload: &Workload,
    cfg: &Config,
    tick: &(dyn Fn() + Sync),
) -> Result<PolicyReport, SimError> {
    if cfg.span.end <= cfg.span.start {
        return Err(SimError::EmptySpan);
    }
    if cfg.runs == 0 {
        return Err(SimError::NoRuns);
    }
    let base = BaseCapacity::from_ledger(policy.ledger, buyer, cfg.span)?;
    let (skip, skipped) = admissible(&base, workload, cfg.span);
    let runs: Vec<RunMetrics> = (0..cfg.runs)
        .into_par_iter()
        .map(|r| {
            let out = one_run(
                &base,
                policy,
                scenario_faults,
                workload,
                &skip,
                skipped,
                cfg,
                r,
            );
            tick();
            out
        })
        .collect::<Result<_, _>>()?;
    Ok(PolicyReport::new(&policy.name, base.cost_usd, runs))
}

/// Jobs a run leaves out, and how many: rows the loader skipped, jobs
/// submitted outside the span, and gangs larger than any pool ever holds.
fn admissible(base: &BaseCapacity, w: &Workload, span: Span) -> (Vec<bool>, u64) {
    let max_by_class: Vec<i64> = (0..base.classes.len())
        .map(|k| {
            (0..base.pools.len())
                .filter(|&p| base.pools[p].class_ix as usize == k)
                .map(|p| base.max_net(p))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let max_any = max_by_class.iter().copied().max().unwrap_or(0);
    let mut n = w.skipped_total();
    let skip = w
        .jobs
        .iter()
        .map(|j| {
            let limit = j.class.map_or(max_any, |k| max_by_class[k as usize]);
            let out = span.start + j.submit_s >= span.end || j.gpus as i64 > limit;
            n += out as u64;
            out
        })
        .collect();
    (skip, n)
}

#[allow(clippy::too_many_arguments)]
fn one_run(
    base: &BaseCapacity,
    policy: &Policy,
    scenario: &[Fault],
    w: &Workload,
    skip: &[bool],
    skipped: u64,
    cfg: &Config,
    r: u32,
) -> Result<RunMetrics, SimError> {
    let mut fault_rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    fault_rng.set_stream(2 * r as u64);
    let mut job_rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    job_rng.set_stream(2 * r as u64 + 1);
    let mut ep = cfg.engine.clone();
    let faults = match cfg.outages {
        Outages::Scenario => scenario.to_vec(),
        Outages::None => Vec::new(),
        Outages::Random => {
            ep.gpu_failures_per_1000_gpu_days = cfg.faults.gpu_failures_per_1000_gpu_days;
            faults::sample(base, &cfg.faults, &mut fault_rng)
        }
    };
    let slips = if cfg.slips {
        faults::sample_slips(base, &cfg.faults, &mut fault_rng)
    } else {
        Vec::new()
    };
    let mut bought = Bought::default();
    if let Some(rp) = policy.reprocure {
        for f in &faults {
            if f.window.seconds() >= cfg.reprocure_after_s
                && f.window.start().unix_seconds() < cfg.span.end
            {
                let b = rp.replace(f, &bought.extras).map_err(SimError::Reprocure)?;
                bought.extras.extend(b.extras);
                bought.cost_usd += b.cost_usd;
            }
        }
    }
    let del = base.deliver(&faults, &slips, &bought.extras, ep.buckets);
    let mut m = engine::run(base, &del, &w.jobs, skip, &ep, job_rng)?;
    m.jobs_total = w.jobs.len() as u64 + w.skipped_total();
    m.jobs_skipped = skipped;
    m.extra_cost_usd = bought.cost_usd;
    Ok(m)
}
