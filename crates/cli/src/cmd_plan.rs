//! `cascade plan` and `cascade offers`: the procurement optimizer and the
//! SkyPilot catalog importer (issue 3). All logic is in `cascade-plan`; this
//! file reads files, calls it and prints.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use cascade_core::{Exposure, Id, Instant, Ledger, Scenario, Window};
use cascade_plan::{
    ImportOptions, PlanOptions, PlanResult, PlanStatus, Strategy, human_h100e, human_usd,
};
use clap::{Args, Subcommand, ValueEnum};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use rust_decimal::Decimal;

/// Exit code of a plan that could be computed but is infeasible.
const EXIT_INFEASIBLE: u8 = 3;

/// The buyer of `--request` when `--buyer` is not given.
const DEFAULT_REQUESTER: &str = "requester";

/// Default length of the `--request` window when `--to` is not given.
const DEFAULT_REQUEST_DAYS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StrategyArg {
    /// The MILP on HiGHS, solved to a relative gap ≤ 1e-4.
    Optimal,
    /// Cheapest H100e-hour first, as a spreadsheet planner would.
    Greedy,
}

/// Arguments of `cascade plan`.
///
/// Exit status: 0 when the plan meets every constraint (optimal, or a
/// greedy plan that happens to), 3 when the status is "infeasible" — no plan
/// exists, or the greedy plan breaks a constraint; the reason is printed
/// (with --json it is the document's "reason") — and 1 on bad input.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 plan found (optimal or feasible), 3 infeasible (the reason is printed), 1 bad input.\nWith --request the buyer's demands in the file are replaced by the requests; the buyer defaults to \"requester\" (added as a party when the file has none), the window to --from = the earliest start of an offer of a requested class, --to = 30 days later.\nThe model and the diagnosis of infeasible plans: docs/planning.md."
)]
pub struct PlanArgs {
    /// Scenario file (TOML, or JSON by extension).
    pub file: PathBuf,
    /// The buyer to plan for (party id); required unless --request is given.
    #[arg(long)]
    pub buyer: Option<String>,
    /// Ask for GPUs of a class without editing the file, in SkyPilot's
    /// notation CLASS[:COUNT] (e.g. H100:8, L4; repeat for several). Each
    /// request's GPUs sit in one site (SkyPilot asks for one node; here
    /// one or more whole instances in one site).
    #[arg(long = "request", value_name = "CLASS:COUNT")]
    pub requests: Vec<String>,
    /// Start of the requests' window (date or RFC 3339).
    #[arg(long, value_name = "WHEN", requires = "requests")]
    pub from: Option<String>,
    /// End of the requests' window.
    #[arg(long, value_name = "WHEN", requires = "requests")]
    pub to: Option<String>,
    /// Print the spec's JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    /// optimal: the cheapest plan (MILP on HiGHS); greedy: cheapest
    /// H100e-hour first, reporting the policies it breaks.
    #[arg(long, value_enum, default_value = "optimal")]
    pub strategy: StrategyArg,
    /// Write the scenario with the purchases turned into contracts
    /// (`plan-<offer>`) to this file; it passes `cascade validate`.
    #[arg(long, value_name = "OUT")]
    pub apply: Option<PathBuf>,
    /// Consider only this offer (repeat the flag for several); each must be
    /// usable by the buyer.
    #[arg(long = "offer", value_name = "ID")]
    pub offers: Vec<String>,
    /// Instant of the before/after exposure table (a date or RFC 3339);
    /// default: the start of the buyer's first demand.
    #[arg(long)]
    pub at: Option<String>,
    /// Stop the solver after this many seconds; a plan found by then but
    /// not proven within the 1e-4 gap has status "feasible".
    #[arg(long, value_name = "SECONDS")]
    pub time_limit: Option<f64>,
    /// Skip the proof against the LP bound and run HiGHS's branch-and-bound
    /// on the whole model (slower on large plans; for comparison).
    #[arg(long)]
    pub whole_model: bool,
    /// Do not run the greedy baseline for comparison (human output only).
    #[arg(long)]
    pub no_compare: bool,
    /// Write the preprocessed planning data (JSON) to this file, for
    /// rebuilding the same MILP elsewhere (bench/plan/highs_py.py).
    #[arg(long, value_name = "FILE")]
    pub export_model: Option<PathBuf>,
    /// With --export-model: write the model and stop, without solving it
    /// (a hard plan may take minutes to solve).
    #[arg(long, requires = "export_model")]
    pub export_only: bool,
}

/// `cascade offers ...`
#[derive(Debug, Subcommand)]
pub enum OffersCommand {
    /// Turn SkyPilot catalogs (vms.csv format) into a scenario of offers:
    /// one per cloud/region/GPU class/instance size at the best per-GPU
    /// price, sold in whole instances (TPUs: whole slices); marketplace
    /// rows become resales of the provider their instance name names.
    /// Writes TOML to stdout (or --out); a summary goes to stderr.
    /// docs/import.md is the guide.
    ImportSkypilot(ImportArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Needed columns: Cloud (or --cloud), AcceleratorName, AcceleratorCount, Price, Region; InstanceType is used when present.\nWithout --start/--end the offers run 2027-01-01 .. 2028-01-01 (fixed, so imports are reproducible).\nExit status: 0 imported, 1 bad input (or, with --strict, any skipped row)."
)]
pub struct ImportArgs {
    /// The combined catalog CSV (with a Cloud column), one cloud's
    /// vms.csv (with --cloud), or SkyPilot's catalog directory
    /// (~/.sky/catalogs/v8/: one <cloud>/vms.csv per cloud).
    pub catalog: PathBuf,
    /// The cloud of a per-cloud vms.csv (it has no Cloud column); for a
    /// combined CSV, the only cloud imported.
    #[arg(long)]
    pub cloud: Option<String>,
    /// GPUs each offer sells (catalogs carry no capacity).
    #[arg(long)]
    pub capacity_gpus: u32,
    /// Import only instances with exactly this many GPUs (TPU chips);
    /// default: every size, each its own offer in whole instances.
    #[arg(long, value_name = "GPUS", alias = "block-gpus")]
    pub instance_gpus: Option<u32>,
    /// Start of every offer (date or RFC 3339); default 2027-01-01.
    #[arg(long)]
    pub start: Option<String>,
    /// End of every offer; default one year after the start.
    #[arg(long)]
    pub end: Option<String>,
    /// Any skipped row is an error (exit 1, nothing written).
    #[arg(long)]
    pub strict: bool,
    /// The scenario's name.
    #[arg(long, default_value = "skypilot-offers")]
    pub name: String,
    /// Write the TOML here instead of stdout.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

// ---- plan ---------------------------------------------------------------------

/// Millions of USD with two places (`$6,875.56M`), for the progress line.
fn usd_short(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let hundredths = (v / 1e4).round() as i64; // of a million
    format!(
        "{}${}.{:02}M",
        if hundredths < 0 { "-" } else { "" },
        cascade_plan::group_thousands(&(hundredths.abs() / 100).to_string()),
        hundredths.abs() % 100
    )
}

/// The planner's events on stderr: the live progress line (`\r`, erased
/// and rewritten) and one line per HiGHS run with `CASCADE_PLAN_TRACE`.
fn print_event(e: &cascade_plan::PlanEvent) {
    use cascade_plan::PlanEvent;
    match e {
        PlanEvent::Progress {
            run,
            seconds,
            best_usd,
            bound_usd,
            gap,
        } => {
            let gap = if gap.is_finite() && *gap < 1e9 {
                format!("{gap:.2e}")
            } else {
                "-".into()
            };
            eprint!(
                "\r\x1b[K{run}: {seconds:.0} s, best plan {}, bound {}, gap {gap}",
                usd_short(*best_usd),
                usd_short(*bound_usd)
            );
        }
        PlanEvent::ProgressEnd => eprint!("\r\x1b[K"),
        PlanEvent::Trace {
            step,
            seconds,
            nodes,
            status,
            objective,
            bound,
            gap,
        } => eprintln!(
            "trace: {step}: {seconds:.3} s, {nodes} nodes, {status}, objective {objective}, bound {bound}, gap {gap:.3e}"
        ),
    }
}

pub fn plan(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let at = args
        .at
        .as_deref()
        .map(|s| crate::parse_at(Some(s)))
        .transpose()?;
    let (mut scenario, mut ledger) = crate::load_valid(&args.file)?;
    let buyer = match &args.buyer {
        Some(b) => Id::new(b).map_err(|e| anyhow::anyhow!("--buyer: {e}"))?,
        None if !args.requests.is_empty() => Id::new(DEFAULT_REQUESTER).expect("a valid id"),
        None => anyhow::bail!(
            "--buyer is required (the party to plan for), unless --request asks for GPUs"
        ),
    };
    if !args.requests.is_empty() {
        add_requests(&mut scenario, &ledger, &buyer, &args)?;
        ledger = Ledger::from_scenario(&scenario).map_err(|r| {
            anyhow::anyhow!(
                "the scenario with the requests does not validate: {}",
                r.violations
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        })?;
    }
    let accelerator_only = accelerator_only_offers(&args.file);
    let only = if args.offers.is_empty() {
        None
    } else {
        Some(
            args.offers
                .iter()
                .map(|o| Id::new(o).map_err(|e| anyhow::anyhow!("--offer: {e}")))
                .collect::<anyhow::Result<Vec<_>>>()?,
        )
    };
    let strategy = match args.strategy {
        StrategyArg::Optimal => Strategy::Optimal,
        StrategyArg::Greedy => Strategy::Greedy,
    };
    if let Some(path) = &args.export_model {
        let text = cascade_plan::export_model(&scenario, &ledger, &buyer)
            .map_err(|e| anyhow::anyhow!("--buyer {buyer}: {e}"))?;
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
        if args.export_only {
            eprintln!("wrote the planning model of {buyer} to {}", path.display());
            return Ok(ExitCode::SUCCESS);
        }
    }
    if let Some(t) = args.time_limit
        && !(t.is_finite() && t > 0.0)
    {
        anyhow::bail!("--time-limit must be a positive number of seconds, got {t}");
    }
    // The live progress line of long solves: only on a terminal, never
    // with --json. CASCADE_PLAN_TRACE and CASCADE_PLAN_EXPERIMENT are the
    // measurement switches of issue 15 (bench/README.md).
    let progress = {
        use std::io::IsTerminal;
        !args.json && std::io::stderr().is_terminal()
    };
    let trace = std::env::var_os("CASCADE_PLAN_TRACE").is_some();
    let experiments: Vec<String> = std::env::var("CASCADE_PLAN_EXPERIMENT")
        .map(|v| {
            v.split(',')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let options = PlanOptions {
        strategy,
        only_offers: only.clone(),
        time_limit: args.time_limit,
        whole_model: args.whole_model,
        observer: (progress || trace)
            .then(|| cascade_plan::Observer(std::sync::Arc::new(print_event))),
        progress,
        trace,
        experiments,
    };
    let result =
        cascade_plan::plan_with(&scenario, &ledger, &buyer, &options).map_err(|e| match e {
            cascade_plan::PlanError::UnknownBuyer { .. } => anyhow::anyhow!("--buyer: {e}"),
            e => anyhow::anyhow!("{e}"),
        })?;
    let infeasible = matches!(result.status, PlanStatus::Infeasible { .. });
    // An optimal-strategy infeasible result has no purchases; a greedy one
    // does (it breaks policies but never free capacity or clauses).
    let no_plan = infeasible && strategy == Strategy::Optimal;

    let applied = if no_plan {
        None
    } else {
        Some(cascade_plan::apply(&scenario, &result).map_err(|e| anyhow::anyhow!("{e}"))?)
    };
    if let (Some(path), Some(applied)) = (&args.apply, &applied) {
        // The result must pass validate: check before writing.
        Ledger::from_scenario(applied).map_err(|r| {
            anyhow::anyhow!(
                "the applied scenario does not validate ({} violations); not written",
                r.violations.len()
            )
        })?;
        std::fs::write(path, cascade_format::to_toml(applied))
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!(
            "wrote {}: {} purchase(s) turned into contracts",
            path.display(),
            result.purchases.len()
        );
    } else if args.apply.is_some() {
        eprintln!("--apply: nothing written, there is no plan");
    }

    if args.json {
        crate::emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&cascade_format::report::PlanDoc::of_flagged(
                &result,
                |o| accelerator_only.contains(o)
            ))?
        ))?;
    } else {
        let greedy = if strategy == Strategy::Optimal && !args.no_compare {
            let opts = PlanOptions {
                strategy: Strategy::Greedy,
                only_offers: only,
                ..PlanOptions::default()
            };
            cascade_plan::plan_with(&scenario, &ledger, &buyer, &opts).ok()
        } else {
            None
        };
        let at = at.or(result.first_demand);
        crate::emit(&plan_text(
            &result,
            greedy.as_ref(),
            &ledger,
            applied.as_ref(),
            at,
            &accelerator_only,
        ))?;
    }
    Ok(if infeasible {
        ExitCode::from(EXIT_INFEASIBLE)
    } else {
        ExitCode::SUCCESS
    })
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(header.iter().copied());
    t
}

fn pct(x: f64) -> String {
    // Rounded first, so a share of -0.0 or -1e-12 does not print as -0.0%.
    let tenths = cascade_format::report::no_negative_zero((x * 1000.0).round() / 10.0);
    format!("{tenths:.1}%")
}

fn ms(s: f64) -> String {
    if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

fn plan_text(
    r: &PlanResult,
    greedy: Option<&PlanResult>,
    ledger: &Ledger,
    applied: Option<&Scenario>,
    at: Option<Instant>,
    accelerator_only: &BTreeSet<Id>,
) -> String {
    let mut out = String::new();
    let how = match r.strategy {
        Strategy::Optimal => "optimal strategy: MILP on HiGHS, relative gap ≤ 1e-4",
        Strategy::Greedy => "greedy strategy: cheapest H100e-hour first",
    };
    let _ = writeln!(out, "Plan for {} ({how}): {}", r.buyer, r.status.as_str());
    if r.strategy == Strategy::Optimal && r.status == PlanStatus::Feasible {
        let _ = writeln!(
            out,
            "!! the time limit stopped HiGHS at a gap of {}: this plan meets every constraint but is not proven optimal",
            r.mip_gap.map_or("?".to_string(), |g| format!("{:.2e}", g))
        );
    }
    if let PlanStatus::Infeasible { reason } = &r.status {
        let _ = writeln!(out, "\n!! {reason}");
    }
    if !r.excluded.is_empty() {
        let _ = writeln!(
            out,
            "\n{} offer(s) the buyer may not use:",
            r.excluded.len()
        );
        bullets(&mut out, &r.excluded, 8);
    }
    let no_plan = matches!(
        (&r.status, r.strategy),
        (PlanStatus::Infeasible { .. }, Strategy::Optimal)
    );
    if no_plan {
        let _ = writeln!(
            out,
            "\nModel: {} columns ({} integer), {} rows; built in {}, solved and diagnosed in {}.",
            r.stats.columns,
            r.stats.integer_columns,
            r.stats.rows,
            ms(r.model_build_seconds),
            ms(r.solve_seconds)
        );
        return out;
    }

    if r.purchases.is_empty() {
        let _ = writeln!(
            out,
            "\nBuy nothing: holdings already meet demand and policy."
        );
    } else {
        let mut t = table(&[
            "offer",
            "class",
            "GPUs",
            "instances",
            "seller",
            "physical provider",
            "site (region)",
            "window",
            "USD/GPU-h",
            "cost (USD)",
        ]);
        let mut flagged = 0;
        for p in &r.purchases {
            let star = if accelerator_only.contains(&p.offer) {
                flagged += 1;
                " *"
            } else {
                ""
            };
            t.add_row(vec![
                p.offer.to_string(),
                p.gpu.to_string(),
                cascade_plan::group_thousands(&p.gpus.to_string()),
                format!(
                    "{} × {}",
                    cascade_plan::group_thousands(&p.blocks.to_string()),
                    p.block_gpus
                ),
                p.seller.to_string(),
                p.provider.to_string(),
                format!("{} ({})", p.site, p.region),
                format!(
                    "{} .. {}",
                    p.window.start().date_string(),
                    p.window.end().date_string()
                ),
                format!("{}{star}", p.price_per_gpu_hour),
                human_usd(p.cost_usd),
            ]);
        }
        let _ = writeln!(out, "\nBuy:\n{t}");
        if flagged > 0 {
            let _ = writeln!(
                out,
                "* accelerator-only price ({flagged} purchase(s)): the host VM is not included, so the real cost is higher (docs/import.md)."
            );
        }
    }
    if !r.surplus.is_empty() {
        let _ = writeln!(out, "\nBought beyond demand (whole instances):");
        for s in &r.surplus {
            let when = format!(
                "{} .. {}",
                s.window.start().date_string(),
                s.window.end().date_string()
            );
            let _ = match &s.gpu {
                Some(g) => writeln!(
                    out,
                    "  - {when}: {} {g} GPUs bought for {} needed: {} extra",
                    s.bought,
                    s.needed,
                    s.extra()
                ),
                None => writeln!(
                    out,
                    "  - {when}: {} H100e bought for {} needed: {} extra",
                    human_h100e(s.bought),
                    human_h100e(s.needed),
                    human_h100e(s.extra())
                ),
            };
        }
    }
    let _ = writeln!(
        out,
        "\nPurchases:            {}",
        human_usd(r.purchases_usd)
    );
    let _ = writeln!(out, "Commitment shortfall: {}", human_usd(r.shortfall_usd));
    let _ = writeln!(out, "Total (objective):    {}", human_usd(r.objective_usd));

    if !r.commitments.is_empty() {
        let mut t = table(&[
            "commitment",
            "seller",
            "committed",
            "spent",
            "plan adds",
            "shortfall",
        ]);
        for c in &r.commitments {
            t.add_row(vec![
                c.id.to_string(),
                c.seller.to_string(),
                human_usd(c.usd),
                human_usd(c.spent_usd),
                human_usd(c.new_spend_usd),
                human_usd(c.shortfall_usd),
            ]);
        }
        let _ = writeln!(out, "\nCommitments (take-or-pay):\n{t}");
    }

    if !r.breaches.is_empty() {
        let _ = writeln!(
            out,
            "\nThis plan breaks {} constraint(s):",
            r.breaches.len()
        );
        bullets(&mut out, &r.breaches, 10);
    }

    if let (Some(at), Some(applied)) = (at, applied) {
        match Ledger::from_scenario(applied) {
            Ok(after) => {
                let before = ledger.exposure(&r.buyer, at);
                let after = after.exposure(&r.buyer, at);
                out.push_str(&exposure_text(&before, &after, at));
            }
            Err(e) => {
                let _ = writeln!(
                    out,
                    "\n(exposure after the plan unavailable: {} violations)",
                    e.violations.len()
                );
            }
        }
    }

    if let Some(g) = greedy {
        let _ = writeln!(
            out,
            "\nGreedy baseline (cheapest H100e-hour first): {} = purchases {} + shortfall {}.",
            human_usd(g.objective_usd),
            human_usd(g.purchases_usd),
            human_usd(g.shortfall_usd)
        );
        if !g.breaches.is_empty() {
            let _ = writeln!(out, "It breaks {} constraint(s), e.g.:", g.breaches.len());
            for b in g.breaches.iter().take(3) {
                let _ = writeln!(out, "  - {b}");
            }
        }
        let saving = g.objective_usd - r.objective_usd;
        let rel = if g.objective_usd > Decimal::ZERO {
            use rust_decimal::prelude::ToPrimitive;
            (saving / g.objective_usd).to_f64().unwrap_or(0.0)
        } else {
            0.0
        };
        if saving >= Decimal::ZERO {
            let _ = writeln!(
                out,
                "Optimizer saves {} ({}) against greedy{}.",
                human_usd(saving),
                pct(rel),
                if g.breaches.is_empty() {
                    ""
                } else {
                    ", and meets every constraint greedy breaks"
                }
            );
        } else {
            let _ = writeln!(
                out,
                "Optimizer costs {} more than greedy, whose plan breaks the constraints above.",
                human_usd(-saving)
            );
        }
    }

    let s = &r.stats;
    if r.strategy == Strategy::Optimal {
        let _ = writeln!(
            out,
            "\nModel: {} columns ({} integer), {} rows, {} nonzeros; {} demand segment(s), {} usable offer(s), {} source(s), {} provider(s).\nBuilt in {}, solved in {} (MIP gap {}{}).",
            s.columns,
            s.integer_columns,
            s.rows,
            s.nonzeros,
            s.demand_segments,
            s.usable_offers,
            s.sources,
            s.providers,
            ms(r.model_build_seconds),
            ms(r.solve_seconds),
            r.mip_gap.map_or("0".to_string(), |g| format!("{g:.1e}")),
            match r.bound {
                Some(cascade_plan::BoundSource::LpRelaxation) =>
                    " to the LP bound; plan from an LP-guided restricted MIP",
                Some(cascade_plan::BoundSource::BranchAndBound) => ", HiGHS branch-and-bound",
                None => "",
            }
        );
    } else {
        let _ = writeln!(
            out,
            "\nPrepared in {}, greedy pass and check in {}.",
            ms(r.model_build_seconds),
            ms(r.solve_seconds)
        );
    }
    out
}

fn exposure_text(before: &Exposure, after: &Exposure, at: Instant) -> String {
    let mut out = String::new();
    let mut rows: BTreeMap<&Id, (f64, f64, f64, f64)> = BTreeMap::new();
    for p in &before.by_provider {
        let e = rows.entry(&p.id).or_default();
        e.0 = p.h100e;
        e.1 = p.share;
    }
    for p in &after.by_provider {
        let e = rows.entry(&p.id).or_default();
        e.2 = p.h100e;
        e.3 = p.share;
    }
    let mut rows: Vec<_> = rows.into_iter().collect();
    rows.sort_by(|a, b| b.1.2.total_cmp(&a.1.2).then_with(|| a.0.cmp(b.0)));
    let mut t = table(&[
        "physical provider",
        "H100e before",
        "share before",
        "H100e after",
        "share after",
        "after, if lost: remaining",
    ]);
    for (id, (hb, sb, ha, sa)) in &rows {
        let left = after.total_h100e - ha;
        let left_share = if after.total_h100e > 0.0 {
            left / after.total_h100e
        } else {
            0.0
        };
        t.add_row(vec![
            id.to_string(),
            human_h100e(*hb),
            pct(*sb),
            human_h100e(*ha),
            pct(*sa),
            format!("{} ({})", human_h100e(left), pct(left_share)),
        ]);
    }
    let worst = |e: &Exposure| {
        e.n_minus_1
            .iter()
            .map(|x| x.remaining_share)
            .fold(f64::INFINITY, f64::min)
    };
    let _ = writeln!(
        out,
        "\nExposure of {} at {}, before -> after the plan:\n{t}",
        after.buyer, at
    );
    let _ = writeln!(
        out,
        "Total: {} -> {} H100e; HHI {:.4} -> {:.4}; worst N-1 remaining share {} -> {}.",
        human_h100e(before.total_h100e),
        human_h100e(after.total_h100e),
        before.hhi,
        after.hhi,
        if before.n_minus_1.is_empty() {
            "-".into()
        } else {
            pct(worst(before))
        },
        if after.n_minus_1.is_empty() {
            "-".into()
        } else {
            pct(worst(after))
        },
    );
    for f in &after.flags {
        let _ = writeln!(out, "!! {f}");
    }
    out
}

// ---- offers ---------------------------------------------------------------------

pub fn offers(cmd: OffersCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        OffersCommand::ImportSkypilot(a) => import_skypilot(a),
    }
}

fn plus_one_year(t: Instant) -> Instant {
    let (y, m, d, h, mi, s) = t.to_civil();
    let d = if m == 2 && d == 29 { 28 } else { d };
    Instant::from_datetime(y as i32 + 1, m, d, h, mi, s, 0).expect("valid date")
}

/// The catalog files to read, with the cloud of each per-cloud file: a
/// directory is SkyPilot's catalog layout (`<cloud>/vms.csv`), read in
/// cloud-name order.
fn catalog_files(a: &ImportArgs) -> anyhow::Result<Vec<(PathBuf, Option<String>)>> {
    if !a.catalog.is_dir() {
        return Ok(vec![(a.catalog.clone(), a.cloud.clone())]);
    }
    let mut files = Vec::new();
    let entries = std::fs::read_dir(&a.catalog)
        .with_context(|| format!("cannot read {}", a.catalog.display()))?;
    for e in entries {
        let e = e.with_context(|| format!("cannot read {}", a.catalog.display()))?;
        let vms = e.path().join("vms.csv");
        if vms.is_file() {
            let cloud = e.file_name().to_string_lossy().into_owned();
            if a.cloud
                .as_ref()
                .is_none_or(|c| c.eq_ignore_ascii_case(&cloud))
            {
                files.push((vms, Some(cloud)));
            }
        }
    }
    files.sort();
    if files.is_empty() {
        anyhow::bail!(
            "{}: no <cloud>/vms.csv in this directory{} (SkyPilot's layout is ~/.sky/catalogs/v8/<cloud>/vms.csv)",
            a.catalog.display(),
            a.cloud
                .as_ref()
                .map_or(String::new(), |c| format!(" for --cloud {c}"))
        );
    }
    Ok(files)
}

/// `name (rows: clouds)`, for the summary.
fn skipped_list(entries: &[(&String, &cascade_plan::Skipped)]) -> String {
    entries
        .iter()
        .map(|(n, s)| {
            let clouds: Vec<&str> = s.clouds.iter().map(String::as_str).collect();
            format!("{n} ({} rows: {})", s.rows, clouds.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn import_skypilot(a: ImportArgs) -> anyhow::Result<ExitCode> {
    let parse = crate::parse_instant_flag;
    let start = match &a.start {
        Some(s) => parse("--start", s)?,
        None => cascade_plan::default_window().start(),
    };
    let end = match (&a.end, &a.start) {
        (Some(s), _) => parse("--end", s)?,
        (None, None) => cascade_plan::default_window().end(),
        (None, Some(_)) => plus_one_year(start),
    };
    let window = Window::new(start, end)
        .map_err(|_| anyhow::anyhow!("--end {end} must be after --start {start}"))?;
    let mut importer = cascade_plan::Importer::new(&ImportOptions {
        capacity_gpus: a.capacity_gpus,
        instance_gpus: a.instance_gpus,
        window,
        name: a.name.clone(),
        marketplaces_as_resellers: true,
    })?;
    let files = catalog_files(&a)?;
    for (path, cloud) in &files {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        importer.read(
            std::io::BufReader::new(file),
            &path.display().to_string(),
            cloud.as_deref(),
        )?;
    }
    let imported = importer.finish()?;
    let s = &imported.scenario;

    let mut summary = format!(
        "{}: {} rows read, {} used, {} skipped: {} offers ({} resold via marketplaces) from {} sellers, {} sites, {} GPU classes; window {} .. {}{}",
        if files.len() == 1 {
            files[0].0.display().to_string()
        } else {
            format!("{} ({} catalogs)", a.catalog.display(), files.len())
        },
        imported.rows,
        imported.rows_used,
        imported.skipped_rows(),
        s.offers.len(),
        s.offers
            .iter()
            .filter(|o| matches!(o.source, cascade_core::Source::BackedBy(_)))
            .count(),
        s.offers
            .iter()
            .map(|o| o.seller.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        s.sites.len(),
        s.gpus.len(),
        start,
        end,
        if a.start.is_none() && a.end.is_none() {
            " (the fixed default)"
        } else {
            ""
        }
    );
    let mut reasons: BTreeMap<cascade_plan::SkipReason, Vec<(&String, &cascade_plan::Skipped)>> =
        BTreeMap::new();
    for ((r, n), sk) in &imported.skipped {
        reasons.entry(*r).or_default().push((n, sk));
    }
    for (r, entries) in &reasons {
        let rows: usize = entries.iter().map(|e| e.1.rows).sum();
        let _ = write!(
            summary,
            "\nskipped {rows} rows, {}: {}",
            r.describe(),
            skipped_list(entries)
        );
    }
    if !imported.clouds_dropped.is_empty() {
        let _ = write!(
            summary,
            "\nclouds with no offer left: {}",
            imported.clouds_dropped.join(", ")
        );
    }
    if !imported.resold.is_empty() {
        let list: Vec<String> = imported
            .resold
            .iter()
            .map(|((m, p), n)| format!("{m} → {p} ({n} rows)"))
            .collect();
        let _ = write!(
            summary,
            "\nmarketplace rows resold from their provider (backing contracts generated): {}",
            list.join(", ")
        );
    }
    if !imported.resold_unknown.is_empty() {
        let list: Vec<String> = imported
            .resold_unknown
            .iter()
            .map(|((m, p), n)| format!("{m} prefix {p:?} ({n} rows)"))
            .collect();
        let _ = write!(
            summary,
            "\nmarketplace rows whose provider is unknown, sold as the marketplace's own: {}",
            list.join(", ")
        );
    }
    if !imported.accelerator_only.is_empty() {
        let _ = write!(
            summary,
            "\naccelerator-only prices (host VM not included, marked in the TOML): {} offers",
            imported.accelerator_only.len()
        );
    }
    if a.strict && !imported.skipped.is_empty() {
        eprintln!("{summary}");
        anyhow::bail!(
            "--strict: {} rows skipped (listed above); nothing written",
            imported.skipped_rows()
        );
    }
    if let Err(r) = Ledger::from_scenario(s) {
        anyhow::bail!(
            "the imported scenario does not validate ({} violations, first: {})",
            r.violations.len(),
            r.violations[0]
        );
    }
    let text = mark_accelerator_only(&cascade_format::to_toml(s), &imported.accelerator_only);
    match &a.out {
        Some(p) => {
            std::fs::write(p, &text).with_context(|| format!("cannot write {}", p.display()))?
        }
        None => crate::emit(&text)?,
    }
    eprintln!("{summary}");
    Ok(ExitCode::SUCCESS)
}

/// The comment written above each offer priced from an accelerator-only
/// row; `cascade plan` can look for it until offers carry the flag.
pub const ACCELERATOR_ONLY_COMMENT: &str =
    "# accelerator-only price: the host VM is not included (SkyPilot lists GCP accelerators apart)";

/// The TOML with [`ACCELERATOR_ONLY_COMMENT`] above the `[[offer]]` table
/// of each flagged offer.
fn mark_accelerator_only(toml: &str, flagged: &std::collections::BTreeSet<Id>) -> String {
    if flagged.is_empty() {
        return toml.to_string();
    }
    let lines: Vec<&str> = toml.lines().collect();
    let mut out = String::with_capacity(toml.len() + flagged.len() * 100);
    for (i, line) in lines.iter().enumerate() {
        if *line == "[[offer]]" {
            let id = lines
                .get(i + 1)
                .and_then(|l| l.strip_prefix("id = \"").and_then(|r| r.strip_suffix('"')));
            if id.is_some_and(|id| flagged.iter().any(|f| f.as_str() == id)) {
                out.push_str(ACCELERATOR_ONLY_COMMENT);
                out.push('\n');
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

// ---- --request ------------------------------------------------------------------

/// One `--request` parsed: the class as typed, its GPUs.
fn parse_request(raw: &str) -> anyhow::Result<(String, u32)> {
    let (class, count) = match raw.rsplit_once(':') {
        Some((c, n)) => (c.trim(), Some(n.trim())),
        None => (raw.trim(), None),
    };
    if class.is_empty() {
        anyhow::bail!("--request {raw:?}: no GPU class; write CLASS:COUNT, e.g. H100:8");
    }
    let gpus = match count {
        None => 1,
        Some(n) => match n.parse::<u32>() {
            Ok(g) if g > 0 => g,
            _ => anyhow::bail!(
                "--request {raw:?}: the count {n:?} is not a positive whole number of GPUs; write CLASS:COUNT, e.g. H100:8"
            ),
        },
    };
    Ok((class.to_string(), gpus))
}

/// Edit distance, ASCII case-insensitive (for "did you mean").
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<u8> = a.bytes().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<u8> = b.bytes().map(|c| c.to_ascii_lowercase()).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The scenario's class a request names: its id (case-insensitive), or a
/// SkyPilot alias of it (`H100-SXM` → `H100`, docs/h100e.md).
fn request_class(ledger: &Ledger, typed: &str) -> Option<Id> {
    ledger
        .gpu_class_named(typed)
        .or_else(|| {
            cascade_plan::h100e::lookup(typed).and_then(|spec| ledger.gpu_class_named(spec.class))
        })
        .map(|g| g.id.clone())
}

/// Adds the `--request` demands of `buyer` (replacing its demands in the
/// file), and the buyer as a party when the file has none.
fn add_requests(
    scenario: &mut Scenario,
    ledger: &Ledger,
    buyer: &Id,
    args: &PlanArgs,
) -> anyhow::Result<()> {
    let mut asked: Vec<(Id, u32)> = Vec::new();
    for raw in &args.requests {
        let (typed, gpus) = parse_request(raw)?;
        let Some(class) = request_class(ledger, &typed) else {
            let mut known: Vec<(usize, &str)> = ledger
                .gpu_classes()
                .iter()
                .map(|g| (distance(&typed, g.id.as_str()), g.id.as_str()))
                .collect();
            known.sort();
            let nearest: Vec<&str> = known.iter().take(5).map(|x| x.1).collect();
            anyhow::bail!(
                "--request {raw:?}: no GPU class {typed:?} in {} (nearest: {}; {} classes in all, listed by `cascade validate`)",
                args.file.display(),
                if nearest.is_empty() {
                    "none, the file has no GPU classes".to_string()
                } else {
                    nearest.join(", ")
                },
                known.len()
            );
        };
        asked.push((class, gpus));
    }
    let from = match &args.from {
        Some(s) => crate::parse_instant_flag("--from", s)?,
        None => scenario
            .offers
            .iter()
            .filter(|o| asked.iter().any(|(c, _)| c == &o.gpu))
            .map(|o| o.window.start())
            .min()
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--request: no offer of the requested class(es) in {}; give --from and --to to plan anyway",
                    args.file.display()
                )
            })?,
    };
    let to = match &args.to {
        Some(s) => crate::parse_instant_flag("--to", s)?,
        None => Instant::from_unix_seconds(from.unix_seconds() + DEFAULT_REQUEST_DAYS * 86_400),
    };
    let window = Window::new(from, to).map_err(|_| {
        anyhow::anyhow!(
            "--from {} is not before --to {}",
            from.date_string(),
            to.date_string()
        )
    })?;
    if ledger.party(buyer).is_none() {
        if args.buyer.is_some() {
            let known: Vec<&str> = ledger.parties().iter().map(|p| p.id.as_str()).collect();
            anyhow::bail!(
                "--buyer: no party {:?} in the scenario (parties: {}); leave --buyer out to plan as {DEFAULT_REQUESTER:?}",
                buyer.as_str(),
                known.join(", ")
            );
        }
        scenario.parties.push(cascade_core::Party {
            id: buyer.clone(),
            name: Some("the --request buyer".to_string()),
        });
    }
    scenario.demands.retain(|d| &d.buyer != buyer);
    for (raw, (class, gpus)) in args.requests.iter().zip(asked) {
        // Displayed as typed when it names the class; an alias shows the class.
        let (typed, _) = parse_request(raw)?;
        let gpu = if typed.eq_ignore_ascii_case(class.as_str()) {
            Id::new_gpu_class(&typed).unwrap_or(class)
        } else {
            class
        };
        scenario.demands.push(cascade_core::Demand {
            buyer: buyer.clone(),
            window,
            need: cascade_core::Need::Gpus {
                gpu,
                gpus: cascade_core::Gpus::new("gpus", i64::from(gpus))
                    .expect("parse_request gives a positive count"),
                per_site: true,
            },
        });
    }
    Ok(())
}

/// Offers the importer marked accelerator-only in the file (the comment
/// [`ACCELERATOR_ONLY_COMMENT`] above their `[[offer]]`); empty for JSON
/// or an unreadable file (the file was read once already).
fn accelerator_only_offers(path: &std::path::Path) -> BTreeSet<Id> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return BTreeSet::new();
    };
    let mut out = BTreeSet::new();
    let mut marked = false;
    for line in text.lines() {
        let line = line.trim();
        if line == ACCELERATOR_ONLY_COMMENT {
            marked = true;
        } else if marked
            && let Some(id) = line
                .strip_prefix("id = \"")
                .and_then(|r| r.strip_suffix('"'))
        {
            if let Ok(id) = Id::new(id) {
                out.insert(id);
            }
            marked = false;
        } else if line.starts_with("[[") && line != "[[offer]]" {
            marked = false;
        }
    }
    out
}

/// The first `most` of `items` as a bulleted list, and how many more there are.
fn bullets(out: &mut String, items: &[impl std::fmt::Display], most: usize) {
    use std::fmt::Write;
    for x in items.iter().take(most) {
        let _ = writeln!(out, "  - {x}");
    }
    if items.len() > most {
        let _ = writeln!(out, "  ... and {} more", items.len() - most);
    }
}
