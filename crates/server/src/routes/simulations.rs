//! `GET /simulations`: the simulator (cascade-sim) on what the store holds,
//! for the buyer itself or an admin; the answer is the metrics document of
//! `cascade simulate --json` (built by the same function) with each
//! policy's `series`, which the dashboard draws.
//!
//! A request must answer in well under a second, so this route is the
//! simulator's bounded form: a seeded synthetic workload sized to the
//! buyer's held capacity (at most [`MAX_JOBS`] jobs; see
//! [`cascade_sim::sized_synthetic`]), at most a year and [`MAX_RUNS`] runs,
//! and only the policies that need no solver. `optimal`, `single:<provider>`
//! and `reprocure` run the MILP (HiGHS), seconds to minutes each: they stay
//! with `cascade simulate`.

use axum::http::StatusCode;
use cascade_core::{Id, Instant, Ledger, Scenario};
use cascade_plan::{PlanOptions, Strategy};
use cascade_sim::{Config, EngineParams, FaultParams, Outages, Policy, PolicyReport, Span};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Get, Res, json, read};
use crate::problem::Problem;
use crate::{AppState, access};

/// Most synthetic jobs per request (the engine replays them once per run
/// and policy).
pub const MAX_JOBS: usize = 5_000;
pub const MAX_RUNS: usize = 8;
const MAX_SPAN_S: i64 = 366 * 86_400;
/// Work offered as a share of the GPU-hours held: a busy lab, so that
/// faults and policies show in delivered and unmet work.
const LOAD: f64 = 0.8;

/// Queue delay percentiles, seconds.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct QueueDelay {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub p50_ci95: Option<[f64; 2]>,
    pub p95_ci95: Option<[f64; 2]>,
    pub p99_ci95: Option<[f64; 2]>,
}

/// One chart bucket: mean concurrent H100e delivered and lost (capacity
/// lost to faults plus work discarded) from `from` to the next bucket.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct SeriesPoint {
    pub from: String,
    pub delivered_h100e: f64,
    pub lost_h100e: f64,
}

/// One policy's figures (`docs/simulation.md`, "Output"). With `runs` > 1
/// each figure is a mean over runs and has a `_ci95` twin `[lo, hi]`.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct PolicyFigures {
    pub policy: String,
    /// Exact decimal string, rounded to cents.
    pub cost_usd: String,
    pub cost_usd_ci95: Option<[String; 2]>,
    pub capacity_h100e_hours: f64,
    pub capacity_h100e_hours_ci95: Option<[f64; 2]>,
    pub capacity_lost_h100e_hours: f64,
    pub capacity_lost_h100e_hours_ci95: Option<[f64; 2]>,
    pub delivered_h100e_hours: f64,
    pub delivered_h100e_hours_ci95: Option<[f64; 2]>,
    pub work_lost_h100e_hours: f64,
    pub work_lost_h100e_hours_ci95: Option<[f64; 2]>,
    pub unmet_h100e_hours: f64,
    pub unmet_h100e_hours_ci95: Option<[f64; 2]>,
    pub queue_delay_s: QueueDelay,
    pub utilization: f64,
    pub utilization_ci95: Option<[f64; 2]>,
    /// A count with one run; a mean (maybe fractional) with several.
    pub jobs_total: f64,
    pub jobs_total_ci95: Option<[f64; 2]>,
    pub jobs_finished: f64,
    pub jobs_finished_ci95: Option<[f64; 2]>,
    pub jobs_skipped: f64,
    pub jobs_skipped_ci95: Option<[f64; 2]>,
    pub series: Vec<SeriesPoint>,
}

/// The simulation document of `second-wave.md` ("Simulation"). The
/// response is built by `cascade_sim::metrics_json_with_series`; these
/// types only describe it for the OpenAPI document (the server's tests
/// check every field of a real answer against them).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct SimulationDoc {
    pub buyer: String,
    pub seed: u64,
    pub runs: u64,
    pub from: String,
    pub to: String,
    pub policies: Vec<PolicyFigures>,
}

/// A policy this route runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Held,
    Greedy,
}

fn parse_policies(raw: &str) -> Result<Vec<(String, Kind)>, Problem> {
    let mut out: Vec<(String, Kind)> = Vec::new();
    for name in raw.split(',').map(str::trim) {
        let kind = match name {
            "held" => Kind::Held,
            "greedy" => Kind::Greedy,
            "optimal" | "reprocure" => {
                return Err(Problem::bad_param(
                    "policies",
                    format!(
                        "{name:?} runs the MILP solver, too slow for a request: use `cascade simulate --compare {name}` (this route runs held, greedy)"
                    ),
                ));
            }
            n if n.starts_with("single:") => {
                return Err(Problem::bad_param(
                    "policies",
                    format!(
                        "{n:?} tops up with the MILP solver, too slow for a request: use `cascade simulate --compare {n}` (this route runs held, greedy)"
                    ),
                ));
            }
            _ => {
                return Err(Problem::bad_param(
                    "policies",
                    format!("unknown policy {name:?} (this route runs held, greedy)"),
                ));
            }
        };
        if out.iter().any(|(_, k)| *k == kind) {
            return Err(Problem::bad_param(
                "policies",
                format!("{name:?} given twice"),
            ));
        }
        out.push((name.to_string(), kind));
    }
    Ok(out)
}

fn parse_outages(raw: Option<&str>) -> Result<Outages, Problem> {
    match raw.unwrap_or("scenario") {
        "scenario" => Ok(Outages::Scenario),
        "none" => Ok(Outages::None),
        "random" => Ok(Outages::Random),
        other => Err(Problem::bad_param(
            "outages",
            format!("{other:?}: use scenario, none or random"),
        )),
    }
}

/// Midnight UTC of today, from the store's one clock read.
fn now_day() -> Instant {
    let secs = cascade_store::now().unix_seconds();
    Instant::from_unix_seconds(secs - secs.rem_euclid(86_400))
}

query! {
    /// The query of `GET /simulations`.
    pub struct SimulationQuery {
        /// The buyer (party id)
        buyer: String,
        /// Comma-separated: held, greedy (default both). optimal, single:<provider> and reprocure run the MILP and are left to `cascade simulate`
        policies: Option<String>,
        /// Start (a date or RFC 3339); default the start of the buyer's demands, else today
        from: Option<String>,
        /// End; default one year after `from`, at most 366 days after it
        to: Option<String>,
        /// scenario (default: the stored outages), none, or random (sampled per run, with GPU failures)
        outages: Option<String>,
        /// Seed of the workload and of random faults; default 7
        seed: Option<u64>,
        /// Monte-Carlo runs, 1 to 8; default 1
        runs: Option<u32>,
        /// Synthetic jobs, 1 to 5000; default 2000
        jobs: Option<u32>,
    }
}

/// Runs a buyer's portfolio, and what each policy makes of it, over
/// synthetic work sized to what it holds (a party: only itself).
#[utoipa::path(get, path = "/simulations", tag = "analysis",
    params(SimulationQuery),
    responses((status = 200, description = "The simulation document", body = SimulationDoc)))]
pub async fn simulations(r: Get<SimulationQuery>) -> Res {
    let (app, who, q) = r.parts();
    let buyer = q.party("buyer")?;
    let policies = parse_policies(q.get("policies").unwrap_or("held,greedy"))?;
    let outages = parse_outages(q.get("outages"))?;
    let seed = match q.get("seed") {
        None => 7,
        Some(s) => s
            .parse::<u64>()
            .map_err(|_| Problem::bad_param("seed", "must be a whole number ≥ 0"))?,
    };
    let runs = q.usize("runs", 1, MAX_RUNS)?;
    if runs == 0 {
        return Err(Problem::bad_param("runs", "must be at least 1"));
    }
    let jobs = q.usize("jobs", 2_000, MAX_JOBS)?;
    if jobs == 0 {
        return Err(Problem::bad_param("jobs", "must be at least 1"));
    }
    let (from, to) = (q.instant("from")?, q.instant("to")?);
    access::own_analysis(&who, &buyer, "simulate only its own portfolio")?;
    let (scenario, ledger) = read(&app, |s| {
        if s.ledger.party(&buyer).is_none() {
            return Err(Problem::not_found(format!("no party {:?}", buyer.as_str())));
        }
        Ok((s.scenario("store"), s.ledger.clone()))
    })
    .await??;
    let start = from.unwrap_or_else(|| {
        scenario
            .demands
            .iter()
            .filter(|d| d.buyer == buyer)
            .map(|d| d.window.start())
            .min()
            .unwrap_or_else(now_day)
    });
    let end = to.unwrap_or_else(|| Instant::from_unix_seconds(start.unix_seconds() + 365 * 86_400));
    if end <= start {
        return Err(Problem::bad_param(
            "to",
            format!("{end} must be after from {start}"),
        ));
    }
    if end.unix_seconds() - start.unix_seconds() > MAX_SPAN_S {
        return Err(Problem::bad_param(
            "to",
            format!("at most 366 days after from ({start}); longer spans: `cascade simulate`"),
        ));
    }
    let span = Span {
        start: start.unix_seconds(),
        end: end.unix_seconds(),
    };
    let cfg = Config {
        span,
        seed,
        runs: runs as u32,
        outages,
        faults: FaultParams::default(),
        engine: EngineParams::default(),
        slips: false,
        reprocure_after_s: 0,
    };
    let doc =
        tokio::task::spawn_blocking(move || run(&scenario, &ledger, &buyer, &policies, jobs, &cfg))
            .await
            .map_err(|_| Problem::unavailable("the simulator stopped unexpectedly"))??;
    Ok(json(StatusCode::OK, &doc))
}

fn run(
    scenario: &Scenario,
    ledger: &Ledger,
    buyer: &Id,
    policies: &[(String, Kind)],
    jobs: usize,
    cfg: &Config,
) -> Result<serde_json::Value, Problem> {
    let sim_err = |e: cascade_sim::SimError| match e {
        cascade_sim::SimError::UnknownBuyer(b) => {
            Problem::not_found(format!("no party {:?}", b.as_str()))
        }
        // The self-check or the delivery rule failing is a bug, not bad input.
        other => Problem::unavailable(format!("the simulation failed: {other}")),
    };
    // The workload is sized once, to the held portfolio, so that every
    // policy meets the same jobs.
    let base = cascade_sim::BaseCapacity::from_ledger(ledger, buyer, cfg.span).map_err(sim_err)?;
    let (workload, ..) = cascade_sim::sized_synthetic(&base, LOAD, jobs, cfg.seed);
    let mut reports: Vec<PolicyReport> = Vec::new();
    for (name, kind) in policies {
        let planned;
        let l = match kind {
            Kind::Held => ledger,
            Kind::Greedy => {
                planned = greedy(scenario, ledger, buyer)?;
                &planned
            }
        };
        let p = Policy {
            name: name.clone(),
            ledger: l,
            reprocure: None,
        };
        reports.push(
            cascade_sim::simulate(&p, buyer, &scenario.outages, &workload, cfg, &|| {})
                .map_err(sim_err)?,
        );
    }
    Ok(cascade_sim::metrics_json_with_series(
        buyer, cfg.seed, cfg.span, &reports,
    ))
}

/// The held portfolio plus the greedy plan's purchases (cheapest H100e-hour
/// first; no solver), applied as contracts. An infeasible plan is applied
/// as far as it goes, as `cascade simulate` does.
fn greedy(scenario: &Scenario, ledger: &Ledger, buyer: &Id) -> Result<Ledger, Problem> {
    let r = cascade_plan::plan_with(
        scenario,
        ledger,
        buyer,
        &PlanOptions {
            strategy: Strategy::Greedy,
            ..PlanOptions::default()
        },
    )
    .map_err(|e| Problem::field("buyer", format!("greedy: planning failed: {e}")))?;
    if r.purchases.is_empty() {
        return Ok(ledger.clone());
    }
    let applied = cascade_plan::apply(scenario, &r)
        .map_err(|e| Problem::unavailable(format!("greedy: the plan cannot be applied: {e}")))?;
    Ledger::from_scenario(&applied).map_err(|e| {
        Problem::unavailable(format!(
            "greedy: the applied plan is not a valid ledger: {e:?}"
        ))
    })
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(simulations))
}
