//! `cascade simulate`: replays jobs on a buyer's capacity under outages and
//! build-out slips, for one or several sourcing policies (issue 11). The
//! engine is `cascade-sim`; this file reads files, turns policies into
//! portfolios with `cascade-plan`, and prints.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{Context, bail};
use cascade_core::{Demand, Id, Instant, Ledger, Outage, Positive, Scenario, Source, format_usd};
use cascade_plan::{PlanOptions, PlanStatus, Strategy};
use cascade_sim::{
    Bought, Config, EngineParams, Extra, FaultParams, Outages, Policy, PolicyReport, Reprocure,
    Span, Synthetic, Workload,
};
use clap::{Args, ValueEnum};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutagesArg {
    /// The scenario file's [[outage]] items.
    Scenario,
    None,
    /// Sampled per run (rates below), plus GPU failures that interrupt jobs.
    Random,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SlipsArg {
    None,
    /// Each build-out phase is late with --slip-probability, by an
    /// exponential delay of mean --slip-mean-days.
    Random,
}

/// Arguments of `cascade simulate`.
#[derive(Debug, Args)]
#[command(
    after_help = "Policies for --compare: held, optimal, greedy, single:<provider>, reprocure.\nModel, parameters and their sources, output fields: docs/simulation.md."
)]
pub struct SimArgs {
    /// Scenario file (TOML, or JSON by extension).
    pub file: PathBuf,
    /// The buyer whose capacity runs the jobs (party id).
    #[arg(long)]
    pub buyer: String,
    /// Job trace: the Alibaba GPU trace v2023 CSV, a generic CSV
    /// (submit_s,gpus,duration_s[,gpu_class][,priority]), or the word
    /// `synthetic` for the generated lab workload.
    #[arg(long)]
    pub trace: String,
    /// The instant trace time 0 maps to, and the start of the simulation
    /// (a date or RFC 3339).
    #[arg(long)]
    pub trace_start: String,
    /// End of the simulation; default: 365 days after --trace-start.
    #[arg(long)]
    pub until: Option<String>,
    /// Multiply every trace job's GPU count (the Alibaba trace is a small
    /// cluster; this makes its gangs lab-sized). Not applied to `synthetic`.
    #[arg(long, default_value_t = 1)]
    pub scale: u32,
    /// Jobs of the synthetic workload.
    #[arg(long, default_value_t = 100_000)]
    pub jobs: usize,
    #[arg(long, value_enum, default_value = "scenario")]
    pub outages: OutagesArg,
    #[arg(long, value_enum, default_value = "none")]
    pub slips: SlipsArg,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Monte-Carlo runs (in parallel); with more than one, every figure is
    /// a mean with a 95% confidence interval.
    #[arg(long, default_value_t = 1)]
    pub runs: u32,
    /// Print the metrics JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    /// Write a chart of delivered vs lost H100e over time per policy.
    #[arg(long, value_name = "OUT.svg")]
    pub svg: Option<PathBuf>,
    /// Comma-separated policies.
    #[arg(long, default_value = "held", value_delimiter = ',')]
    pub compare: Vec<String>,
    /// Jobs checkpoint every this many minutes.
    #[arg(long, default_value_t = 30)]
    pub checkpoint_min: i64,
    /// `reprocure` buys replacements for outages expected to last at least
    /// this many hours.
    #[arg(long, default_value_t = 4.0)]
    pub reprocure_after_h: f64,
    #[arg(long, default_value_t = FaultParams::default().site_outages_per_year)]
    pub site_outages_per_year: f64,
    #[arg(long, default_value_t = FaultParams::default().site_outage_mean_h)]
    pub site_outage_mean_h: f64,
    #[arg(long, default_value_t = FaultParams::default().provider_outages_per_year)]
    pub provider_outages_per_year: f64,
    #[arg(long, default_value_t = FaultParams::default().provider_outage_mean_h)]
    pub provider_outage_mean_h: f64,
    /// Share of a site's GPUs a random outage takes down, in (0, 1].
    #[arg(long, default_value_t = FaultParams::default().outage_fraction)]
    pub outage_fraction: f64,
    #[arg(long, default_value_t = FaultParams::default().gpu_failures_per_1000_gpu_days)]
    pub gpu_failures_per_1000_gpu_days: f64,
    #[arg(long, default_value_t = FaultParams::default().slip_probability)]
    pub slip_probability: f64,
    #[arg(long, default_value_t = FaultParams::default().slip_mean_days)]
    pub slip_mean_days: f64,
}

/// A policy named on the command line.
enum PolicyKind {
    Held,
    Plan(Strategy),
    Single(Id),
    Reprocure,
}

fn parse_policy(s: &str, ledger: &Ledger) -> anyhow::Result<PolicyKind> {
    Ok(match s {
        "held" => PolicyKind::Held,
        "optimal" => PolicyKind::Plan(Strategy::Optimal),
        "greedy" => PolicyKind::Plan(Strategy::Greedy),
        "reprocure" => PolicyKind::Reprocure,
        _ => match s.strip_prefix("single:") {
            Some(p) => PolicyKind::Single(crate::party_arg(ledger, "--compare single:", p)?),
            None => bail!(
                "--compare: unknown policy {s:?} (held, optimal, greedy, single:<provider>, reprocure)"
            ),
        },
    })
}

fn check_params(a: &SimArgs) -> anyhow::Result<FaultParams> {
    let nonneg = [
        ("--site-outages-per-year", a.site_outages_per_year),
        ("--provider-outages-per-year", a.provider_outages_per_year),
        (
            "--gpu-failures-per-1000-gpu-days",
            a.gpu_failures_per_1000_gpu_days,
        ),
        ("--site-outage-mean-h", a.site_outage_mean_h),
        ("--provider-outage-mean-h", a.provider_outage_mean_h),
        ("--slip-mean-days", a.slip_mean_days),
        ("--reprocure-after-h", a.reprocure_after_h),
    ];
    for (flag, v) in nonneg {
        if !(v.is_finite() && v >= 0.0) {
            bail!("{flag} must be a number ≥ 0, got {v}");
        }
    }
    if !(a.outage_fraction > 0.0 && a.outage_fraction <= 1.0) {
        bail!(
            "--outage-fraction must be in (0, 1], got {}",
            a.outage_fraction
        );
    }
    if !(0.0..=1.0).contains(&a.slip_probability) {
        bail!(
            "--slip-probability must be in [0, 1], got {}",
            a.slip_probability
        );
    }
    if a.checkpoint_min <= 0 {
        bail!(
            "--checkpoint-min must be at least 1, got {}",
            a.checkpoint_min
        );
    }
    if a.runs == 0 {
        bail!("--runs must be at least 1");
    }
    if a.scale == 0 {
        bail!("--scale must be at least 1");
    }
    Ok(FaultParams {
        site_outages_per_year: a.site_outages_per_year,
        site_outage_mean_h: a.site_outage_mean_h,
        provider_outages_per_year: a.provider_outages_per_year,
        provider_outage_mean_h: a.provider_outage_mean_h,
        outage_fraction: a.outage_fraction,
        gpu_failures_per_1000_gpu_days: a.gpu_failures_per_1000_gpu_days,
        slip_probability: a.slip_probability,
        slip_mean_days: a.slip_mean_days,
    })
}

fn load_workload(a: &SimArgs, ledger: &Ledger, span: Span) -> anyhow::Result<Workload> {
    if a.trace == "synthetic" {
        return Ok(cascade_sim::synthetic(&Synthetic {
            jobs: a.jobs,
            horizon_s: span.end - span.start,
            seed: a.seed,
            ..Synthetic::default()
        }));
    }
    let classes: Vec<&str> = ledger.gpu_classes().iter().map(|g| g.id.as_str()).collect();
    let f = std::fs::File::open(&a.trace)
        .with_context(|| format!("--trace: cannot open {}", a.trace))?;
    let mut w = cascade_sim::load_trace(std::io::BufReader::new(f), &classes)
        .map_err(|e| anyhow::anyhow!("{}:{e}", a.trace))?;
    for j in &mut w.jobs {
        j.gpus = j
            .gpus
            .checked_mul(a.scale)
            .with_context(|| format!("--scale {}: a job's GPU count overflows", a.scale))?;
    }
    Ok(w)
}

pub fn simulate(a: SimArgs) -> anyhow::Result<ExitCode> {
    let faults = check_params(&a)?;
    let (scenario, ledger) = crate::load_valid(&a.file)?;
    let buyer = crate::party_arg(&ledger, "--buyer", &a.buyer)?;
    let start = crate::parse_instant_flag("--trace-start", &a.trace_start)?;
    let end = match &a.until {
        Some(u) => crate::parse_instant_flag("--until", u)?,
        None => Instant::from_unix_seconds(start.unix_seconds() + 365 * 86_400),
    };
    if end <= start {
        bail!("--until {end} must be after --trace-start {start}");
    }
    let span = Span {
        start: start.unix_seconds(),
        end: end.unix_seconds(),
    };
    let kinds: Vec<(String, PolicyKind)> = a
        .compare
        .iter()
        .map(|s| Ok((s.clone(), parse_policy(s, &ledger)?)))
        .collect::<anyhow::Result<_>>()?;
    let workload = load_workload(&a, &ledger, span)?;
    let cfg = Config {
        span,
        seed: a.seed,
        runs: a.runs,
        outages: match a.outages {
            OutagesArg::Scenario => Outages::Scenario,
            OutagesArg::None => Outages::None,
            OutagesArg::Random => Outages::Random,
        },
        slips: a.slips == SlipsArg::Random,
        faults,
        engine: EngineParams {
            checkpoint_s: a.checkpoint_min * 60,
            ..EngineParams::default()
        },
        reprocure_after_s: (a.reprocure_after_h * 3600.0) as i64,
    };
    if cfg.slips && ledger.expansions().is_empty() {
        eprintln!("note: --slips random: the scenario has no [[expansion]], so nothing can slip");
    }

    // Every policy's portfolio first (planning can take a while), then the runs.
    let mut notes = Vec::new();
    let mut portfolios: Vec<(String, Ledger, bool)> = Vec::new();
    for (name, kind) in &kinds {
        let (l, reprocure) = match kind {
            PolicyKind::Held => (ledger.clone(), false),
            PolicyKind::Reprocure => (ledger.clone(), true),
            PolicyKind::Plan(strategy) => (
                planned(&scenario, &ledger, &buyer, *strategy, name, &mut notes)?,
                false,
            ),
            PolicyKind::Single(p) => (single(&scenario, &ledger, &buyer, p, &mut notes)?, false),
        };
        portfolios.push((name.clone(), l, reprocure));
    }
    let replacer = PlanReprocure {
        scenario: &scenario,
        ledger: &ledger,
        buyer: buyer.clone(),
        cache: Mutex::new(HashMap::new()),
    };
    let bar = if a.json || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new(u64::from(a.runs) * portfolios.len() as u64);
        b.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:40}] {pos}/{len} runs, {elapsed} (eta {eta})",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        b
    };
    let tick = || bar.inc(1);
    let mut reports: Vec<PolicyReport> = Vec::new();
    for (name, l, reprocure) in &portfolios {
        bar.set_message(name.clone());
        let p = Policy {
            name: name.clone(),
            ledger: l,
            reprocure: reprocure.then_some(&replacer as &dyn Reprocure),
        };
        reports.push(
            cascade_sim::simulate(&p, &buyer, &scenario.outages, &workload, &cfg, &tick)
                .with_context(|| format!("policy {name}"))?,
        );
    }
    bar.finish_and_clear();

    if let Some(path) = &a.svg {
        let title = format!(
            "{}: {} from {} ({} run{}, outages {:?})",
            scenario.name,
            buyer,
            start.date_string(),
            a.runs,
            if a.runs == 1 { "" } else { "s" },
            a.outages
        );
        std::fs::write(path, cascade_sim::svg_chart(&title, span, &reports))
            .with_context(|| format!("--svg: cannot write {}", path.display()))?;
    }
    if a.json {
        let doc = cascade_sim::metrics_json(&buyer, a.seed, span, &reports);
        crate::emit(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
        for n in &notes {
            eprintln!("note: {n}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = text(&reports, &workload, span, &buyer, a.runs);
    if a.outages == OutagesArg::Scenario && !scenario.outages.is_empty() {
        out.push_str(&impact_text(&ledger, &buyer, &scenario.outages, span)?);
    }
    for n in &notes {
        out.push_str(&format!("note: {n}\n"));
    }
    crate::emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// The held portfolio plus the optimizer's (or greedy) plan, applied.
fn planned(
    scenario: &Scenario,
    ledger: &Ledger,
    buyer: &Id,
    strategy: Strategy,
    name: &str,
    notes: &mut Vec<String>,
) -> anyhow::Result<Ledger> {
    let r = cascade_plan::plan(scenario, ledger, buyer, strategy)
        .with_context(|| format!("policy {name}: planning"))?;
    if let PlanStatus::Infeasible { reason } = &r.status {
        notes.push(format!(
            "{name}: the plan is infeasible ({reason}); {} purchase(s) applied",
            r.purchases.len()
        ));
    }
    let applied = cascade_plan::apply(scenario, &r).with_context(|| format!("policy {name}"))?;
    Ledger::from_scenario(&applied).map_err(|e| {
        anyhow::anyhow!("policy {name}: the applied plan is not a valid ledger: {e:?}")
    })
}

/// Everything from one physical provider: the buyer's contracts rooted at
/// other providers are dropped (unless something is resold from them), and
/// the optimizer tops up from that provider's offers only. The buyer's
/// diversification policy cannot hold with one provider and is left out;
/// clauses still apply.
fn single(
    scenario: &Scenario,
    ledger: &Ledger,
    buyer: &Id,
    provider: &Id,
    notes: &mut Vec<String>,
) -> anyhow::Result<Ledger> {
    let name = format!("single:{provider}");
    let mut s = scenario.clone();
    let backing: Vec<Id> = s
        .contracts
        .iter()
        .filter_map(|c| match &c.source {
            Source::BackedBy(b) => Some(b.clone()),
            Source::Site(_) => None,
        })
        .collect();
    let mut dropped = Vec::new();
    s.contracts.retain(|c| {
        let elsewhere = &c.buyer == buyer
            && ledger
                .contract(&c.id)
                .is_some_and(|i| i.provider != provider);
        if elsewhere && backing.contains(&c.id) {
            notes.push(format!(
                "{name}: kept {} (another contract is resold from it)",
                c.id
            ));
            return true;
        }
        if elsewhere {
            dropped.push(c.id.clone());
        }
        !elsewhere
    });
    s.amendments.retain(|a| match &a.target {
        cascade_core::AmendmentTarget::Contract { id, .. } => !dropped.contains(id),
        cascade_core::AmendmentTarget::Commitment { .. } => true,
    });
    s.offers
        .retain(|o| ledger.offer_root(&o.id).is_some_and(|(p, _)| p == provider));
    s.policies.retain(|(b, _)| b != buyer);
    let l = Ledger::from_scenario(&s)
        .map_err(|e| anyhow::anyhow!("{name}: the portfolio is not a valid ledger: {e:?}"))?;
    let r = cascade_plan::plan_with(&s, &l, buyer, &PlanOptions::default())
        .with_context(|| format!("{name}: planning"))?;
    if let PlanStatus::Infeasible { reason } = &r.status {
        notes.push(format!(
            "{name}: {provider}'s offers cannot cover the demand ({reason}); held {provider} capacity only"
        ));
        return Ok(l);
    }
    let applied = cascade_plan::apply(&s, &r).with_context(|| name.clone())?;
    Ledger::from_scenario(&applied)
        .map_err(|e| anyhow::anyhow!("{name}: the applied plan is not a valid ledger: {e:?}"))
}

/// Replacement buying with the optimizer: when an outage starts, buy from
/// open offers not rooted at the failed sites enough H100e to cover what
/// the outage takes, under the scenario's clauses, and pay for it.
struct PlanReprocure<'a> {
    scenario: &'a Scenario,
    ledger: &'a Ledger,
    buyer: Id,
    cache: Mutex<HashMap<String, Result<Bought, String>>>,
}

impl Reprocure for PlanReprocure<'_> {
    fn replace(&self, fault: &Outage, bought: &[Extra]) -> Result<Bought, String> {
        let already: Vec<(&Id, i64)> = bought
            .iter()
            .filter_map(|e| e.offer.as_ref().map(|o| (o, e.gpus)))
            .collect();
        let key = format!(
            "{:?}",
            (&fault.scope, fault.window, fault.fraction, &already)
        );
        if let Some(hit) = self.cache.lock().expect("not poisoned").get(&key) {
            return hit.clone();
        }
        let r = self.buy(fault, &already);
        self.cache
            .lock()
            .expect("not poisoned")
            .insert(key, r.clone());
        r
    }
}

impl PlanReprocure<'_> {
    fn buy(&self, fault: &Outage, already: &[(&Id, i64)]) -> Result<Bought, String> {
        let start = fault.window.start();
        let rule = cascade_core::Delivery::new(self.ledger, std::slice::from_ref(fault))
            .map_err(|e| e.to_string())?;
        let held = self.ledger.holdings(&self.buyer, start);
        let total: f64 = held.iter().map(|h| h.h100e).sum();
        let lost: f64 = held
            .iter()
            .map(|h| h.h100e * (1.0 - rule.delivered_fraction_f64_at(&h.site, &h.gpu, start)))
            .sum();
        if lost <= 0.0 {
            return Ok(Bought::default());
        }
        let down: Vec<Id> = rule.roots().iter().map(|(s, ..)| (*s).clone()).collect();
        let mut s = self.scenario.clone();
        s.offers.retain(|o| {
            self.ledger
                .offer_root(&o.id)
                .is_some_and(|(_, site)| !down.contains(&site.id))
        });
        // What earlier outages of this run bought is no longer on offer.
        s.offers.retain_mut(|o| {
            let taken: i64 = already
                .iter()
                .filter(|(id, _)| **id == o.id)
                .map(|x| x.1)
                .sum();
            let left = i64::from(o.max_gpus.get()) - taken;
            if left < i64::from(o.block_gpus.get()) {
                return false;
            }
            if let Ok(g) = cascade_core::Gpus::new("max_gpus", left) {
                o.max_gpus = g;
            }
            true
        });
        // Coverage counts held capacity as if delivered, so the demand asks
        // for everything held plus what the outage takes.
        s.demands.retain(|d| d.buyer != self.buyer);
        s.demands.push(Demand {
            buyer: self.buyer.clone(),
            window: fault.window,
            need: cascade_core::Need::H100e(
                Positive::new("h100e", total + lost).map_err(|e| e.to_string())?,
            ),
        });
        s.policies.retain(|(b, _)| b != &self.buyer);
        let l = Ledger::from_scenario(&s).map_err(|e| format!("{e:?}"))?;
        let r = cascade_plan::plan_with(
            &s,
            &l,
            &self.buyer,
            &PlanOptions {
                time_limit: Some(60.0),
                ..PlanOptions::default()
            },
        )
        .map_err(|e| e.to_string())?;
        if matches!(r.status, PlanStatus::Infeasible { .. }) {
            // Nothing on offer can replace it: the outage is ridden out.
            return Ok(Bought::default());
        }
        let extras = r
            .purchases
            .iter()
            .map(|p| Extra {
                offer: Some(p.offer.clone()),
                site: p.site.clone(),
                gpu: p.gpu.clone(),
                gpus: i64::from(p.gpus),
                span: Span {
                    start: p.window.start().unix_seconds().max(start.unix_seconds()),
                    end: p.window.end().unix_seconds(),
                },
            })
            .collect();
        Ok(Bought {
            extras,
            cost_usd: r.purchases_usd,
        })
    }
}

fn num(x: f64) -> String {
    cascade_plan::group_thousands(&(x.round() as i64).to_string())
}

fn text(reports: &[PolicyReport], w: &Workload, span: Span, buyer: &Id, runs: u32) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "policy",
        "cost USD",
        "capacity H100e-h",
        "lost to faults",
        "delivered",
        "work lost",
        "unmet",
        "queue p50/p95/p99",
        "util.",
        "jobs done",
    ]);
    for r in reports {
        let s = |f: fn(&cascade_sim::RunMetrics) -> f64| {
            let m = r.summary(f);
            if runs > 1 {
                format!("{} ±{}", num(m.mean), num((m.hi - m.lo) / 2.0))
            } else {
                num(m.mean)
            }
        };
        let dur = |f: fn(&cascade_sim::RunMetrics) -> f64| human_s(r.summary(f).mean);
        let m0 = &r.runs[0];
        t.add_row([
            r.policy.clone(),
            format_usd(r.mean_cost().round_dp(0))
                .trim_end_matches(".00")
                .to_string(),
            s(|m| m.capacity_h100e_hours),
            s(|m| m.capacity_lost_h100e_hours),
            s(|m| m.delivered_h100e_hours),
            s(|m| m.work_lost_h100e_hours),
            s(|m| m.unmet_h100e_hours),
            format!(
                "{} / {} / {}",
                dur(|m| m.queue_delay_p50_s),
                dur(|m| m.queue_delay_p95_s),
                dur(|m| m.queue_delay_p99_s)
            ),
            format!("{:.1}%", 100.0 * r.summary(|m| m.utilization).mean),
            format!(
                "{} of {}",
                num(r.summary(|m| m.jobs_finished as f64).mean),
                num((m0.jobs_total - m0.jobs_skipped) as f64)
            ),
        ]);
    }
    let mut out = format!(
        "{buyer}, {} to {}, {runs} run{}\n{t}\n",
        Instant::from_unix_seconds(span.start),
        Instant::from_unix_seconds(span.end),
        if runs == 1 {
            ""
        } else {
            "s (mean ±95% CI half-width)"
        },
    );
    if let Some(m) = reports.first().and_then(|r| r.runs.first()) {
        out.push_str(&format!(
            "jobs: {} in the trace, {} skipped",
            num(m.jobs_total as f64),
            num(m.jobs_skipped as f64)
        ));
        let mut why: Vec<String> = w.skipped.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let loader: u64 = w.skipped_total();
        if m.jobs_skipped > loader {
            why.push(format!(
                "{} outside the span or larger than any pool",
                m.jobs_skipped - loader
            ));
        }
        if !why.is_empty() {
            out.push_str(&format!(" ({})", why.join("; ")));
        }
        out.push('\n');
    }
    out
}

fn human_s(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.0}s")
    } else if s < 3600.0 {
        format!("{:.0}m", s / 60.0)
    } else if s < 86_400.0 {
        format!("{:.1}h", s / 3600.0)
    } else {
        format!("{:.1}d", s / 86_400.0)
    }
}

/// Per scenario outage: which of the buyer's contracts it shorts, by
/// counterparty and physical provider.
fn impact_text(
    ledger: &Ledger,
    buyer: &Id,
    outages: &[Outage],
    span: Span,
) -> anyhow::Result<String> {
    let rows = cascade_sim::fault_impact(ledger, buyer, outages, span)?;
    let mut out = String::new();
    for (i, o) in outages.iter().enumerate() {
        let hit: Vec<_> = rows.iter().filter(|r| r.fault == i).collect();
        if hit.is_empty() {
            continue;
        }
        let scope = match &o.scope {
            cascade_core::OutageScope::Site(s) => format!("site {s}"),
            cascade_core::OutageScope::Provider(p) => format!("provider {p}"),
        };
        let total: f64 = hit.iter().map(|r| r.lost_h100e_hours).sum();
        out.push_str(&format!(
            "outage of {scope} ({}): {buyer} loses {} H100e-hours through {} contract(s):\n",
            o.window,
            num(total),
            hit.len()
        ));
        for r in hit {
            let via = if r.seller == r.provider {
                format!("bought from {} directly", r.seller)
            } else {
                format!("bought from {}, resold from {}", r.seller, r.provider)
            };
            out.push_str(&format!(
                "  {:<20} {:>12} H100e-h  ({via}, site {})\n",
                r.contract.as_str(),
                num(r.lost_h100e_hours),
                r.site
            ));
        }
    }
    Ok(out)
}
