//! Cascade's procurement optimizer: the cheapest portfolio of open offers that
//! meets a buyer's demand under clauses, diversification (provider share,
//! N-1), co-location, commitments and budget.
//!
//! The model is the spec's "Planning model" (see `docs/planning.md`): one
//! integer variable per usable offer (whole blocks), constraints per segment
//! of time, solved as a MILP with HiGHS to a relative gap of at most 1e-4.
//! HiGHS works in binary floating point; every amount of money in a
//! [`PlanResult`] is recomputed exactly in decimal from the integer block
//! counts after solving.
//!
//! This crate does no IO: the caller reads files and prints. The importer
//! ([`import_skypilot`]) reads CSV from any `std::io::Read` it is given.
//!
//! Public entry points:
//! - [`plan`] / [`plan_with`]: optimal (MILP) or greedy plan for a buyer;
//! - [`check_plan`]: verifies a list of purchases against every constraint,
//!   independently of the solver;
//! - [`apply`]: turns a plan's purchases into contracts;
//! - [`import_skypilot`]: offers from a SkyPilot catalog CSV;
//! - [`export_model`]: the preprocessed planning data as JSON (for the
//!   HiGHS-from-Python comparison in `bench/plan/`);
//! - [`synth`]: synthetic large planning scenarios for benchmarks.

// The optimal strategy's modules, each using only those before it here:
// prep (planning data) → model (rows and columns) → solve (HiGHS runs) →
// coloc (co-location sites by LP) → proof (LP bound, restricted MIP) →
// diagnose (relaxed families); this file
// orchestrates them. outcome (exact money of block counts) needs prep only;
// check is the independent checker and uses none of them.
mod coloc;
mod diagnose;
mod model;
mod outcome;
mod prep;
mod proof;
mod solve;

mod apply;
mod check;
mod export;
mod fmt;
mod greedy;
pub mod h100e;
mod skypilot;
pub mod synth;

use std::fmt as stdfmt;
use std::time::Instant as Clock;

use cascade_core::{Id, Instant, Ledger, Scenario, Window};
use highs::HighsModelStatus;
use rust_decimal::Decimal;

use crate::prep::Prep;

pub use apply::apply;
pub use check::check_plan;
pub use export::export_model;
pub use fmt::{describe_window, group_thousands, human_h100e, human_usd};
pub use skypilot::{
    ImportError, ImportOptions, Imported, Importer, MARKETPLACES, Marketplace, NEEDED_COLUMNS,
    SkipReason, Skipped, default_window, import_skypilot,
};

/// Relative MIP gap the optimizer solves to (the spec's definition of "optimal").
pub const MIP_REL_GAP: f64 = 1e-4;

/// What the planner reports while it runs. The plan crate writes nothing
/// itself: the caller's [`Observer`] decides where events go (the CLI
/// writes them to stderr).
#[derive(Clone, Debug, PartialEq)]
pub enum PlanEvent {
    /// Live state of a long HiGHS run, at most twice a second (only with
    /// [`PlanOptions::progress`]). Money in USD; `gap` is HiGHS's relative
    /// gap (infinite before the first plan).
    Progress {
        run: &'static str,
        seconds: f64,
        best_usd: f64,
        bound_usd: f64,
        gap: f64,
    },
    /// The run that sent `Progress` events ended.
    ProgressEnd,
    /// One HiGHS run ended (only with [`PlanOptions::trace`]): the step,
    /// seconds, HiGHS's node count (−1 for an LP), status, objective, bound
    /// and gap, in the model's money unit (measurements of issue 15).
    Trace {
        step: &'static str,
        seconds: f64,
        nodes: i64,
        status: String,
        objective: f64,
        bound: f64,
        gap: f64,
    },
}

/// Receives the planner's [`PlanEvent`]s, from the planning thread.
#[derive(Clone)]
pub struct Observer(pub std::sync::Arc<dyn Fn(&PlanEvent) + Send + Sync>);

impl stdfmt::Debug for Observer {
    fn fmt(&self, f: &mut stdfmt::Formatter<'_>) -> stdfmt::Result {
        f.write_str("Observer(..)")
    }
}

/// The options that only observe or experiment, carried with the planning
/// data to every HiGHS run.
#[derive(Clone, Debug, Default)]
pub(crate) struct Hooks {
    observer: Option<Observer>,
    progress: bool,
    trace: bool,
    experiments: Vec<String>,
}

impl Hooks {
    fn of(options: &PlanOptions) -> Hooks {
        Hooks {
            observer: options.observer.clone(),
            progress: options.progress,
            trace: options.trace,
            experiments: options.experiments.clone(),
        }
    }

    /// Whether formulation experiment `name` is on (issue 15's
    /// measurements; bench/README.md, "Planner on hard instances").
    pub(crate) fn experiment(&self, name: &str) -> bool {
        self.experiments.iter().any(|x| x == name)
    }

    /// Progress events are wanted.
    pub(crate) fn progress(&self) -> bool {
        self.progress && self.observer.is_some()
    }

    pub(crate) fn emit(&self, e: &PlanEvent) {
        if let Some(o) = &self.observer {
            (o.0)(e);
        }
    }

    /// One `Trace` event for a step of several LPs: its final LP value, if
    /// it found one.
    pub(crate) fn note(&self, step: &'static str, t: Clock, value: Option<f64>) {
        if !self.trace {
            return;
        }
        self.emit(&PlanEvent::Trace {
            step,
            seconds: t.elapsed().as_secs_f64(),
            nodes: -1,
            status: if value.is_some() {
                "Optimal"
            } else {
                "Infeasible"
            }
            .to_string(),
            objective: value.unwrap_or(f64::NAN),
            bound: f64::NAN,
            gap: f64::NAN,
        });
    }

    /// One `Trace` event for a finished HiGHS run.
    pub(crate) fn trace(&self, step: &'static str, t: Clock, solved: &highs::SolvedModel) {
        if !self.trace || self.observer.is_none() {
            return;
        }
        let mut nodes: i64 = -1;
        // SAFETY: a solved HiGHS instance and a valid info name.
        unsafe {
            highs_sys::Highs_getInt64InfoValue(
                solved.as_ptr(),
                c"mip_node_count".as_ptr(),
                &mut nodes,
            );
        }
        self.emit(&PlanEvent::Trace {
            step,
            seconds: t.elapsed().as_secs_f64(),
            nodes,
            status: format!("{:?}", solved.status()),
            objective: solved.objective_value(),
            bound: solved
                .double_info_value(c"mip_dual_bound")
                .unwrap_or(f64::NAN),
            gap: solved.mip_gap(),
        });
    }
}

/// How to choose purchases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Strategy {
    /// The MILP, solved by HiGHS to a relative gap of at most 1e-4.
    #[default]
    Optimal,
    /// What a spreadsheet planner does: cheapest H100e-hour first.
    Greedy,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Optimal => "optimal",
            Strategy::Greedy => "greedy",
        }
    }
}

/// Options of [`plan_with`].
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    pub strategy: Strategy,
    /// Consider only these offers (every one must exist and be usable).
    pub only_offers: Option<Vec<Id>>,
    /// Stop HiGHS after this many seconds. A plan found by then that is not
    /// proven within the gap comes back as [`PlanStatus::Feasible`], with
    /// the gap reached in [`PlanResult::mip_gap`].
    pub time_limit: Option<f64>,
    /// Skip the attempt to prove a plan against the LP bound and run
    /// HiGHS's branch-and-bound on the whole model (optimal strategy; for
    /// comparison, it is slower on large plans).
    pub whole_model: bool,
    /// Where [`PlanEvent`]s go; none: nowhere.
    pub observer: Option<Observer>,
    /// Send `Progress` events during long HiGHS runs (the CLI: on a
    /// terminal, without `--json`).
    pub progress: bool,
    /// Send a `Trace` event per HiGHS run (the CLI: `CASCADE_PLAN_TRACE`).
    pub trace: bool,
    /// Formulation experiments of issue 15, by name (the CLI:
    /// `CASCADE_PLAN_EXPERIMENT`, comma-separated); for measurements only.
    pub experiments: Vec<String>,
}

/// A family of constraints, as named in messages and breaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// Usability of an offer: own offer, exclusive, no_resale_to, avoid_provider.
    Clause,
    /// Whole blocks, at most ⌊max_gpus / block_gpus⌋ of them.
    Blocks,
    /// Never buy more than a source has free.
    FreeCapacity,
    Coverage,
    /// GPUs of a class asked for by name.
    ClassDemand,
    /// A class demand's GPUs all in one site.
    PerSite,
    ProviderShare,
    NMinus1,
    Colocation,
    Rofr,
    Budget,
}

impl Family {
    pub fn label(self) -> &'static str {
        match self {
            Family::Clause => "clause",
            Family::Blocks => "blocks",
            Family::FreeCapacity => "free capacity",
            Family::Coverage => "coverage",
            Family::ClassDemand => "class demand",
            Family::PerSite => "one site",
            Family::ProviderShare => "provider share",
            Family::NMinus1 => "N-1",
            Family::Colocation => "co-location",
            Family::Rofr => "right of first refusal",
            Family::Budget => "budget",
        }
    }
}

impl stdfmt::Display for Family {
    fn fmt(&self, f: &mut stdfmt::Formatter<'_>) -> stdfmt::Result {
        f.write_str(self.label())
    }
}

/// A constraint a list of purchases does not satisfy.
#[derive(Clone, Debug, PartialEq)]
pub struct Breach {
    pub family: Family,
    /// Start of the segment where it happens, when it is tied to time.
    pub at: Option<Instant>,
    /// A sentence a planner understands.
    pub message: String,
}

impl stdfmt::Display for Breach {
    fn fmt(&self, f: &mut stdfmt::Formatter<'_>) -> stdfmt::Result {
        f.write_str(&self.message)
    }
}

/// Why the buyer may not buy from an offer at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exclusion {
    /// The buyer is the offer's seller.
    OwnOffer,
    /// `exclusive` clause: before `until` the buyer buys only from `seller`.
    Exclusive { seller: Id, until: Instant },
    /// `no_resale_to` clause: `seller` is in the offer's chain of sellers.
    NoResaleTo { seller: Id },
    /// `avoid_provider` clause on the offer's physical provider.
    AvoidProvider { provider: Id },
}

/// An offer the buyer cannot use, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExcludedOffer {
    pub offer: Id,
    pub seller: Id,
    pub start: Instant,
    pub why: Exclusion,
}

impl stdfmt::Display for ExcludedOffer {
    fn fmt(&self, f: &mut stdfmt::Formatter<'_>) -> stdfmt::Result {
        match &self.why {
            Exclusion::OwnOffer => write!(f, "offer {} is the buyer's own offer", self.offer),
            Exclusion::Exclusive { seller, until } => write!(
                f,
                "offer {} is excluded by an exclusive clause: before {} the buyer buys only from {}, and this offer is sold by {} and starts {}",
                self.offer,
                until.date_string(),
                seller,
                self.seller,
                self.start.date_string()
            ),
            Exclusion::NoResaleTo { seller } => write!(
                f,
                "offer {} is excluded by a no_resale_to clause: {} is among the sellers of its chain and may not sell to the buyer",
                self.offer, seller
            ),
            Exclusion::AvoidProvider { provider } => write!(
                f,
                "offer {} is excluded by an avoid_provider clause: its physical provider is {}",
                self.offer, provider
            ),
        }
    }
}

/// One purchase of a plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Purchase {
    pub offer: Id,
    pub seller: Id,
    /// Physical provider (owner of the root site).
    pub provider: Id,
    /// Root site.
    pub site: Id,
    pub region: String,
    pub gpu: Id,
    pub gpus: u32,
    /// Whole instances (blocks) bought.
    pub blocks: u32,
    /// GPUs per instance (the offer's block).
    pub block_gpus: u32,
    pub window: Window,
    pub price_per_gpu_hour: Decimal,
    /// Exactly gpus × price × hours.
    pub cost_usd: Decimal,
    /// H100-equivalents bought (gpus × class h100e).
    pub h100e: f64,
}

/// Capacity a plan buys beyond demand because offers sell whole instances,
/// over a window where it is the same.
#[derive(Clone, Debug, PartialEq)]
pub struct Surplus {
    pub window: Window,
    /// The class asked for by name (as the demand writes it), or `None`
    /// for the buyer's demand in H100e as a whole (class demands included).
    pub gpu: Option<Id>,
    /// What was still needed beyond holdings (GPUs of the class, or H100e).
    pub needed: f64,
    /// What the plan buys (same unit).
    pub bought: f64,
}

impl Surplus {
    pub fn extra(&self) -> f64 {
        self.bought - self.needed
    }
}

/// What happens to one of the buyer's commitments under the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct CommitmentOutcome {
    pub id: Id,
    pub seller: Id,
    /// usd plus amendments.
    pub usd: Decimal,
    /// Spend of existing contracts.
    pub spent_usd: Decimal,
    /// Spend of the plan's purchases that count toward it.
    pub new_spend_usd: Decimal,
    /// max(0, usd − spent − new spend).
    pub shortfall_usd: Decimal,
}

/// Outcome of planning.
#[derive(Clone, Debug, PartialEq)]
pub enum PlanStatus {
    /// Solved to a relative MIP gap of at most 1e-4.
    Optimal,
    /// A plan that meets every constraint but is not proven optimal: the
    /// greedy strategy's, or the optimizer's when a time limit stopped it
    /// before the gap was closed.
    Feasible,
    /// No plan exists (optimal strategy), or the greedy plan breaks a
    /// constraint; `reason` says which, in a sentence.
    Infeasible { reason: String },
}

impl PlanStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            PlanStatus::Optimal => "optimal",
            PlanStatus::Feasible => "feasible",
            PlanStatus::Infeasible { .. } => "infeasible",
        }
    }
}

/// Size of the MILP that was solved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelStats {
    pub columns: usize,
    pub integer_columns: usize,
    pub rows: usize,
    pub nonzeros: usize,
    /// Time segments with demand that got rows (after merging equal neighbours).
    pub demand_segments: usize,
    pub usable_offers: usize,
    pub excluded_offers: usize,
    pub sources: usize,
    pub providers: usize,
}

/// A plan and what it costs.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanResult {
    pub buyer: Id,
    pub strategy: Strategy,
    pub status: PlanStatus,
    /// Sorted by offer start, then offer id.
    pub purchases: Vec<Purchase>,
    pub purchases_usd: Decimal,
    pub shortfall_usd: Decimal,
    /// purchases_usd + shortfall_usd.
    pub objective_usd: Decimal,
    pub commitments: Vec<CommitmentOutcome>,
    /// Bought beyond demand because of whole instances.
    pub surplus: Vec<Surplus>,
    /// Constraints the plan breaks (greedy only; empty for an optimal plan).
    pub breaches: Vec<Breach>,
    /// Offers the buyer may not use, and why.
    pub excluded: Vec<ExcludedOffer>,
    /// Start of the buyer's first demand segment.
    pub first_demand: Option<Instant>,
    pub model_build_seconds: f64,
    pub solve_seconds: f64,
    pub stats: ModelStats,
    /// Relative gap between the plan's cost and a proven lower bound
    /// (optimal strategy).
    pub mip_gap: Option<f64>,
    /// Where that lower bound comes from (optimal strategy).
    pub bound: Option<BoundSource>,
}

/// Where the lower bound behind an optimal plan's gap comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoundSource {
    /// The model's LP relaxation with the ROFR choices settled (probing and
    /// enumeration); the plan came from a restricted MIP around it.
    LpRelaxation,
    /// HiGHS's branch-and-bound on the whole model.
    BranchAndBound,
}

/// Why planning could not even start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("no party {buyer:?} in the scenario (parties: {known})")]
    UnknownBuyer { buyer: String, known: String },
    #[error(
        "a demand asks for GPU class {class:?}, which the scenario does not have (classes: {known})"
    )]
    UnknownClass { class: String, known: String },
    #[error(
        "buyer {0} has no demand in the scenario: add a [[demand]] with buyer = \"{0}\", a window and the H100e it needs"
    )]
    NoDemand(Id),
    #[error(
        "the scenario has no offers: there is nothing to buy (add [[offer]] items or import a catalog)"
    )]
    NoOffers,
    #[error("{buyer} cannot use any offer:\n  {}", .excluded.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    NoUsableOffer {
        buyer: Id,
        excluded: Vec<ExcludedOffer>,
    },
    #[error("no offer {0:?} in the scenario")]
    UnknownOffer(String),
    #[error("{buyer} cannot use the requested offer: {excluded}")]
    OfferNotUsable { buyer: Id, excluded: ExcludedOffer },
    #[error("policy of {buyer}: {message}")]
    BadPolicy { buyer: Id, message: String },
    #[error("purchase of offer {0} does not name an offer of the scenario")]
    ApplyUnknownOffer(Id),
    #[error("HiGHS failed: {0}")]
    Solver(String),
    /// The time limit ran out before HiGHS found any plan (one found in
    /// time comes back `Feasible` with its gap instead).
    #[error("the time limit ({seconds:.1} s) ran out before HiGHS found any plan")]
    NoPlanInTime { seconds: f64 },
    /// The most a plan could spend passes the largest amount the ledger
    /// holds: its figures (and the solver's costs) would be wrong, so
    /// planning refuses rather than saturates.
    #[error(
        "{quantity} is {value} USD, more than the ledger holds ({limit} USD): narrow the offers (--offers) or split the demand"
    )]
    TooLarge {
        quantity: &'static str,
        value: String,
        limit: String,
    },
}

/// Benchmark hook: prepares the planning data, builds the full MILP and
/// hands it to HiGHS, without solving. Returns the model's size.
#[doc(hidden)]
pub fn build_only(
    scenario: &Scenario,
    ledger: &Ledger,
    buyer: &Id,
) -> Result<ModelStats, PlanError> {
    let prep = prep::Prep::new(scenario, ledger, buyer, None)?;
    let mut built = model::build(&prep, model::Families::all(&prep), model::Mode::Cost);
    let problem = std::mem::take(&mut built.problem);
    let model = solve::to_model(problem)?;
    drop(model);
    Ok(built.stats)
}

/// Plans purchases for `buyer` with the given strategy.
pub fn plan(
    scenario: &Scenario,
    ledger: &Ledger,
    buyer: &Id,
    strategy: Strategy,
) -> Result<PlanResult, PlanError> {
    plan_with(
        scenario,
        ledger,
        buyer,
        &PlanOptions {
            strategy,
            ..PlanOptions::default()
        },
    )
}

/// Plans purchases for `buyer` with options.
pub fn plan_with(
    scenario: &Scenario,
    ledger: &Ledger,
    buyer: &Id,
    options: &PlanOptions,
) -> Result<PlanResult, PlanError> {
    let t0 = std::time::Instant::now();
    let mut prep = prep::Prep::new(scenario, ledger, buyer, options.only_offers.as_deref())?;
    prep.set_hooks(Hooks::of(options));
    spend_bound(&prep)?;
    match options.strategy {
        Strategy::Optimal => optimal(&prep, ledger, t0, options.time_limit, options.whole_model),
        Strategy::Greedy => greedy::greedy_plan(&prep, scenario, ledger, t0),
    }
}

/// Every usable offer bought whole plus every commitment's remaining
/// shortfall: the largest objective any plan can have. Each term is
/// bounded by the ledger (offers and commitments are at most
/// [`cascade_core::Usd::MAX`]); their sum is checked here.
fn spend_bound(prep: &Prep) -> Result<(), PlanError> {
    let limit = cascade_core::Usd::MAX;
    let too_large = |value: String| PlanError::TooLarge {
        quantity: "the most this plan could spend (every usable offer bought whole, plus commitment shortfalls)",
        value,
        limit: limit.to_string(),
    };
    let mut total = Decimal::ZERO;
    let terms = prep
        .offers
        .iter()
        .map(|o| o.cost_block.checked_mul(Decimal::from(o.max_blocks)))
        .chain(
            prep.commitments
                .iter()
                .map(|c| Some(c.remaining().max(Decimal::ZERO))),
        );
    for term in terms {
        total = term
            .and_then(|t| total.checked_add(t))
            .ok_or_else(|| too_large(format!("more than {}", Decimal::MAX)))?;
    }
    if total > limit {
        return Err(too_large(total.round_dp(2).normalize().to_string()));
    }
    Ok(())
}

/// The optimal strategy: build the whole model; prove a plan against the LP
/// bound (`proof`) or else run branch-and-bound on it (`solve`); diagnose
/// when infeasible (`diagnose`).
fn optimal(
    prep: &Prep,
    ledger: &Ledger,
    t0: Clock,
    time_limit: Option<f64>,
    whole_model: bool,
) -> Result<PlanResult, PlanError> {
    let fams = model::Families::all(prep);
    let mut built = model::build(prep, fams, model::Mode::Cost);
    let problem = std::mem::take(&mut built.problem);
    let model_build_seconds = t0.elapsed().as_secs_f64();
    let ts = Clock::now();
    let deadline = time_limit.map(|t| (ts, t));
    let proven = if whole_model {
        proof::Guided::Nothing {
            settled: Vec::new(),
        }
    } else {
        proof::solve(prep, fams, &built, &problem, deadline)?
    };
    let (run, bound) = match proven {
        proof::Guided::Proven { x, gap } => {
            let run = solve::Run {
                status: HighsModelStatus::Optimal,
                x,
                gap: Some(gap),
            };
            (run, BoundSource::LpRelaxation)
        }
        proof::Guided::Nothing { settled } => {
            // Where co-location binds, a plan with the co-location sites
            // chosen by LP (coloc.rs) goes to HiGHS as a cutoff: HiGHS
            // looks only for plans more than the gap below it, and finding
            // none proves it within the gap (no `setSolution`:
            // docs/planning.md says why).
            let candidate = if built.y.is_empty() || whole_model {
                None
            } else {
                coloc::plan(prep, fams, &built, &problem, &settled, deadline)?
            };
            let mut whole = solve::to_model(problem)?;
            let err = |e: highs::TrySetOptionError| PlanError::Solver(e.to_string());
            if let Some(t) = solve::remaining(deadline) {
                whole.try_set_option("time_limit", t).map_err(err)?;
            }
            if let Some((u, _)) = &candidate {
                whole
                    .try_set_option("objective_bound", u * (1.0 - MIP_REL_GAP))
                    .map_err(err)?;
            }
            let mut run = solve::run(whole, prep.money_unit, &prep.hooks)?;
            if let Some((u, x)) = candidate {
                // A finished run proved every plan costs at least the less
                // of the cutoff and (1 − gap) × its own plan, so the cheaper
                // of its plan and U is within the gap. ("Infeasible": none
                // below the cutoff; ObjectiveBound: presolve left an LP and
                // the dual simplex stopped at the cutoff; HiGHS may also
                // return a plan at or above the cutoff when presolve solves
                // the model outright.)
                let finished = run.feasible()
                    || run.infeasible()
                    || run.status == HighsModelStatus::ObjectiveBound;
                if run.x.is_empty() || built.cost(prep, &run.x) >= u {
                    run = solve::Run {
                        status: if finished {
                            HighsModelStatus::Optimal
                        } else {
                            HighsModelStatus::ReachedTimeLimit
                        },
                        x,
                        gap: if finished { Some(MIP_REL_GAP) } else { run.gap },
                    };
                }
            }
            (run, BoundSource::BranchAndBound)
        }
    };
    let mut result = PlanResult {
        buyer: prep.buyer.clone(),
        strategy: Strategy::Optimal,
        status: PlanStatus::Optimal,
        purchases: Vec::new(),
        purchases_usd: Decimal::ZERO,
        shortfall_usd: Decimal::ZERO,
        objective_usd: Decimal::ZERO,
        commitments: Vec::new(),
        surplus: Vec::new(),
        breaches: Vec::new(),
        excluded: prep.excluded.clone(),
        first_demand: prep.first_demand,
        model_build_seconds,
        solve_seconds: 0.0,
        stats: built.stats.clone(),
        mip_gap: run.gap,
        bound: Some(bound),
    };
    let timed_out = run.status == HighsModelStatus::ReachedTimeLimit;
    if timed_out && run.x.is_empty() {
        return Err(PlanError::NoPlanInTime {
            seconds: time_limit.unwrap_or(0.0),
        });
    }
    if run.feasible() || timed_out {
        if timed_out {
            result.status = PlanStatus::Feasible;
        }
        let counts = model::counts(prep, &built.n, &run.x);
        let out = outcome::outcome(prep, ledger, &counts);
        result.purchases = out.purchases;
        result.purchases_usd = out.purchases_usd;
        result.shortfall_usd = out.shortfall_usd;
        result.objective_usd = out.purchases_usd + out.shortfall_usd;
        result.commitments = out.commitments;
        result.surplus = out.surplus;
        result.solve_seconds = ts.elapsed().as_secs_f64();
        return Ok(result);
    }
    if !run.infeasible() {
        return Err(PlanError::Solver(format!(
            "HiGHS stopped with status {:?}",
            run.status
        )));
    }
    let reason = diagnose::diagnose(prep, ledger, fams)?;
    result.status = PlanStatus::Infeasible { reason };
    result.solve_seconds = ts.elapsed().as_secs_f64();
    Ok(result)
}
