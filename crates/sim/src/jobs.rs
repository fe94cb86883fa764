//! Jobs: the Alibaba GPU trace, the generic CSV, and a synthetic lab-scale
//! generator. Loaders read from any `std::io::Read`; the caller opens files.

use std::collections::BTreeMap;
use std::io::Read;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// One gang job: `gpus` GPUs of one class at one site, for `duration_s`
/// seconds on H100-class GPUs (a class of `h100e` h runs it in duration / h).
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    /// Seconds after the simulation's start.
    pub submit_s: i64,
    pub gpus: u32,
    pub duration_s: i64,
    /// Index into the scenario's GPU classes when the job needs one class.
    pub class: Option<u16>,
    /// Higher runs first and may preempt lower.
    pub priority: i32,
}

/// A loaded workload: the jobs, and the rows skipped with their reasons.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Workload {
    pub jobs: Vec<Job>,
    /// Reason → rows skipped for it.
    pub skipped: BTreeMap<String, u64>,
}

impl Workload {
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
    fn skip(&mut self, why: &str) {
        *self.skipped.entry(why.to_string()).or_default() += 1;
    }
}

/// A trace row (or the file) that cannot be read.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("line {line}: {message}")]
pub struct TraceError {
    pub line: u64,
    pub message: String,
}

fn err(line: u64, message: impl Into<String>) -> TraceError {
    TraceError {
        line,
        message: message.into(),
    }
}

/// Reads a job trace, telling the two formats apart by their header: the
/// Alibaba GPU trace v2023 (`name,…,num_gpu,…,creation_time,…`) or the
/// generic `submit_s,gpus,duration_s[,gpu_class][,priority]`.
///
/// `classes` are the scenario's GPU class ids (a generic row naming another
/// class is an error). Alibaba times are seconds after the trace's start,
/// which the caller maps to the simulation's start.
pub fn load_trace(input: impl Read, classes: &[&str]) -> Result<Workload, TraceError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(input);
    let header = rdr
        .headers()
        .map_err(|e| err(1, format!("not a CSV job trace: {e}")))?
        .clone();
    let col = |name: &str| header.iter().position(|h| h == name);
    if col("num_gpu").is_some() {
        alibaba(rdr, &header)
    } else if col("submit_s").is_some() {
        generic(rdr, &header, classes)
    } else {
        Err(err(
            1,
            format!(
                "not a job trace: the header {:?} has neither the Alibaba columns (num_gpu, creation_time, …) nor submit_s,gpus,duration_s",
                header.iter().collect::<Vec<_>>().join(",")
            ),
        ))
    }
}

fn record_line(r: &csv::StringRecord) -> u64 {
    r.position().map_or(0, |p| p.line())
}

fn csv_err(e: csv::Error) -> TraceError {
    let line = e.position().map_or(0, |p| p.line());
    err(line, format!("not valid CSV: {e}"))
}

fn need(header: &csv::StringRecord, name: &str) -> Result<usize, TraceError> {
    header
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| err(1, format!("missing column {name:?}")))
}

fn int(r: &csv::StringRecord, ix: usize, name: &str) -> Result<Option<i64>, TraceError> {
    let line = record_line(r);
    let v = r.get(ix).unwrap_or("");
    if v.is_empty() {
        return Ok(None);
    }
    let n: i64 = v
        .parse::<i64>()
        .or_else(|_| {
            v.parse::<f64>().map_err(|_| ()).and_then(|f| {
                if f.fract() == 0.0 && f.is_finite() {
                    Ok(f as i64)
                } else {
                    Err(())
                }
            })
        })
        .map_err(|_| err(line, format!("column {name}: {v:?} is not a whole number")))?;
    if n < 0 {
        return Err(err(line, format!("column {name}: {n} is negative")));
    }
    Ok(Some(n))
}

fn alibaba(
    mut rdr: csv::Reader<impl Read>,
    header: &csv::StringRecord,
) -> Result<Workload, TraceError> {
    let c_gpu = need(header, "num_gpu")?;
    let c_create = need(header, "creation_time")?;
    let c_sched = need(header, "scheduled_time")?;
    let c_del = need(header, "deletion_time")?;
    let c_qos = need(header, "qos")?;
    let mut w = Workload::default();
    for rec in rdr.records() {
        let r = rec.map_err(csv_err)?;
        let line = record_line(&r);
        let gpus =
            int(&r, c_gpu, "num_gpu")?.ok_or_else(|| err(line, "column num_gpu: missing"))?;
        let created = int(&r, c_create, "creation_time")?
            .ok_or_else(|| err(line, "column creation_time: missing"))?;
        let deleted = int(&r, c_del, "deletion_time")?;
        let sched = int(&r, c_sched, "scheduled_time")?;
        if gpus == 0 {
            w.skip("no GPU requested (num_gpu = 0)");
            continue;
        }
        let (Some(sched), Some(deleted)) = (sched, deleted) else {
            w.skip("never scheduled (no scheduled_time or deletion_time)");
            continue;
        };
        if deleted < sched {
            return Err(err(
                line,
                format!("deletion_time {deleted} is before scheduled_time {sched}"),
            ));
        }
        if deleted == sched {
            w.skip("zero duration");
            continue;
        }
        // Trace QoS classes, most protected first (Weng et al., ATC 2023):
        // latency-sensitive and guaranteed pods outrank burstable, then best effort.
        let priority = match r.get(c_qos).unwrap_or("") {
            "LS" | "Guaranteed" => 2,
            "Burstable" => 1,
            "BE" => 0,
            other => {
                return Err(err(
                    line,
                    format!("column qos: unknown class {other:?} (LS, Guaranteed, Burstable, BE)"),
                ));
            }
        };
        w.jobs.push(Job {
            submit_s: created,
            gpus: u32::try_from(gpus).map_err(|_| err(line, "column num_gpu: too large"))?,
            duration_s: deleted - sched,
            class: None,
            priority,
        });
    }
    w.jobs.sort_by_key(|j| j.submit_s);
    Ok(w)
}

fn generic(
    mut rdr: csv::Reader<impl Read>,
    header: &csv::StringRecord,
    classes: &[&str],
) -> Result<Workload, TraceError> {
    let c_submit = need(header, "submit_s")?;
    let c_gpus = need(header, "gpus")?;
    let c_dur = need(header, "duration_s")?;
    let c_class = header.iter().position(|h| h == "gpu_class");
    let c_prio = header.iter().position(|h| h == "priority");
    if let Some(extra) = header
        .iter()
        .find(|h| !["submit_s", "gpus", "duration_s", "gpu_class", "priority"].contains(h))
    {
        return Err(err(
            1,
            format!("unknown column {extra:?} (submit_s, gpus, duration_s, gpu_class, priority)"),
        ));
    }
    let mut w = Workload::default();
    for rec in rdr.records() {
        let r = rec.map_err(csv_err)?;
        let line = record_line(&r);
        let get = |ix: usize, name: &str| -> Result<i64, TraceError> {
            int(&r, ix, name)?.ok_or_else(|| err(line, format!("column {name}: missing")))
        };
        let submit_s = get(c_submit, "submit_s")?;
        let gpus = get(c_gpus, "gpus")?;
        let duration_s = get(c_dur, "duration_s")?;
        let class = match c_class.map(|c| r.get(c).unwrap_or("")) {
            None | Some("") => None,
            Some(k) => Some(classes.iter().position(|c| *c == k).ok_or_else(|| {
                err(
                    line,
                    format!(
                        "column gpu_class: the scenario has no GPU class {k:?} (it has {})",
                        classes.join(", ")
                    ),
                )
            })? as u16),
        };
        let priority = match c_prio.map(|c| r.get(c).unwrap_or("")) {
            None | Some("") => 0,
            Some(p) => p
                .parse::<i32>()
                .map_err(|_| err(line, format!("column priority: {p:?} is not an integer")))?,
        };
        if gpus == 0 || duration_s == 0 {
            w.skip("zero GPUs or zero duration");
            continue;
        }
        w.jobs.push(Job {
            submit_s,
            gpus: u32::try_from(gpus).map_err(|_| err(line, "column gpus: too large"))?,
            duration_s,
            class,
            priority,
        });
    }
    w.jobs.sort_by_key(|j| j.submit_s);
    Ok(w)
}

/// Parameters of the synthetic lab workload. Defaults and their sources are
/// in `docs/simulation.md`.
#[derive(Clone, Debug, PartialEq)]
pub struct Synthetic {
    pub jobs: usize,
    pub horizon_s: i64,
    /// Share of jobs that are large training runs.
    pub training_share: f64,
    /// Share of jobs that are inference services (the rest are experiments).
    pub inference_share: f64,
    /// Training sizes: powers of two, log-uniform in [min, max].
    pub training_gpus_min: u32,
    pub training_gpus_max: u32,
    /// Lognormal durations: median in hours and σ of ln.
    pub training_median_h: f64,
    pub training_sigma: f64,
    pub small_median_h: f64,
    pub small_sigma: f64,
    pub seed: u64,
}

impl Default for Synthetic {
    fn default() -> Self {
        Synthetic {
            jobs: 100_000,
            horizon_s: 365 * 86_400,
            training_share: 0.01,
            inference_share: 0.30,
            training_gpus_min: 64,
            training_gpus_max: 8192,
            training_median_h: 24.0,
            training_sigma: 1.0,
            small_median_h: 1.0,
            small_sigma: 1.5,
            seed: 7,
        }
    }
}

pub(crate) fn unit(rng: &mut ChaCha8Rng) -> f64 {
    // 53 random bits: uniform in [0, 1).
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - unit(rng);
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A synthetic mix of training runs, inference services and experiments,
/// arriving uniformly over the horizon (a Poisson process given its count).
pub fn synthetic(p: &Synthetic) -> Workload {
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    let mut jobs = Vec::with_capacity(p.jobs);
    let lo = (p.training_gpus_min.max(1) as f64).log2();
    let hi = (p.training_gpus_max.max(p.training_gpus_min.max(1)) as f64).log2();
    for _ in 0..p.jobs {
        let submit_s = (unit(&mut rng) * p.horizon_s as f64) as i64;
        let kind = unit(&mut rng);
        let (gpus, median_h, sigma, priority) = if kind < p.training_share {
            let e = (lo + unit(&mut rng) * (hi - lo + 1.0)).floor().min(hi);
            (
                2f64.powf(e) as u32,
                p.training_median_h,
                p.training_sigma,
                1,
            )
        } else {
            // Most jobs in shared clusters use one GPU (Jeon et al., ATC 2019;
            // Hu et al., SC 2021); the rest take a node or part of one.
            let u = unit(&mut rng);
            let g = if u < 0.6 {
                1
            } else if u < 0.7 {
                2
            } else if u < 0.8 {
                4
            } else {
                8
            };
            let inference = kind < p.training_share + p.inference_share;
            (
                g,
                p.small_median_h,
                p.small_sigma,
                if inference { 2 } else { 0 },
            )
        };
        let hours = median_h * (sigma * normal(&mut rng)).exp();
        jobs.push(Job {
            submit_s,
            gpus,
            duration_s: ((hours * 3600.0) as i64).max(60),
            class: None,
            priority,
        });
    }
    jobs.sort_by_key(|j| j.submit_s);
    Workload {
        jobs,
        skipped: BTreeMap::new(),
    }
}

/// A synthetic workload sized to a portfolio, for answers that must come
/// quickly (the HTTP service): at most `max_jobs` jobs of the default mix
/// over `base`'s span, with every gang multiplied by one factor so that the
/// work offered is about `load` × the GPU-hours held (a lab K times bigger
/// runs K times bigger gangs, not K times more of them). No gang is larger
/// than the median pool's peak: gangs as large as the largest pool fit in
/// that pool only and would queue behind each other while the rest idle.
/// When even those gangs offer too little (few jobs for much capacity),
/// durations are stretched by the factor still missing. Returns the
/// workload and the two factors (gangs, durations).
pub fn sized_synthetic(
    base: &crate::BaseCapacity,
    load: f64,
    max_jobs: usize,
    seed: u64,
) -> (Workload, u32, f64) {
    let peaks = base.pool_peaks();
    let median = peaks.get(peaks.len() / 2).copied().unwrap_or(1);
    let largest = median.clamp(1, i64::from(u32::MAX)) as u32;
    // Training runs up to the largest power of two that fits a pool.
    let fit = 1u32 << (31 - largest.leading_zeros());
    let p = Synthetic {
        jobs: max_jobs,
        horizon_s: base.span.end - base.span.start,
        training_gpus_min: 64.min(fit),
        training_gpus_max: 8192.min(fit),
        seed,
        ..Synthetic::default()
    };
    let mut w = synthetic(&p);
    let offered = |k: u32| -> f64 {
        w.jobs
            .iter()
            .map(|j| f64::from(j.gpus.saturating_mul(k).min(largest)) * j.duration_s as f64)
            .sum::<f64>()
            / 3600.0
    };
    // The smallest factor that offers the target (gangs capped at the
    // largest pool, so the work offered grows less than the factor).
    let target = load * base.held_gpu_hours();
    let (mut lo, mut hi) = (1u32, largest.max(1));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if offered(mid) >= target {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let factor = lo;
    let got = offered(factor);
    let stretch = if got > 0.0 && got < target {
        target / got
    } else {
        1.0
    };
    for j in &mut w.jobs {
        j.gpus = j.gpus.saturating_mul(factor).min(largest);
        j.duration_s = (j.duration_s as f64 * stretch).round() as i64;
    }
    (w, factor, stretch)
}
