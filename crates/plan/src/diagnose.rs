//! Why a plan is infeasible, in a sentence a planner understands.
//!
//! 1. Direct bounds first: for each demand segment, the most H100e each
//!    source can still give (min of its offers' GPUs and what is free) says
//!    at once whether coverage, N-1, co-location or provider share is out of
//!    reach on its own, and by how much.
//! 2. Otherwise the families are relaxed: the model with only coverage,
//!    free capacity and the clauses is solved, then provider share, N-1,
//!    co-location, ROFR and budget are added one at a time. The first family
//!    whose addition makes the model infeasible is the one to blame (given
//!    those before it). Its rows are then made elastic — a slack column per
//!    row, the objective the total slack — and the row with the largest
//!    slack names the segment, provider or site, and the amount.
//! 3. For the budget, the cheapest plan under the other families is solved
//!    and compared with the budget.

use cascade_core::Ledger;
use rust_decimal::Decimal;

use crate::fmt::{human_h100e, human_usd, pct};
use crate::model::{self, Families, Mode, Slack};
use crate::outcome::outcome;
use crate::prep::{DSeg, Prep};
use crate::solve;
use crate::{Family, PlanError};

fn more(n: usize) -> String {
    match n {
        0 => String::new(),
        1 => " (one more segment falls short as well)".to_string(),
        n => format!(" ({n} more segments fall short as well)"),
    }
}

struct Bounds {
    /// Most new H100e per source in this segment.
    by_source: Vec<(u32, f64)>,
}

impl Bounds {
    fn total(&self) -> f64 {
        self.by_source.iter().map(|x| x.1).sum()
    }

    fn of_provider(&self, prep: &Prep, p: u32) -> f64 {
        self.by_source
            .iter()
            .filter(|(s, _)| prep.sites[prep.sources[*s as usize].site as usize].provider == p)
            .map(|x| x.1)
            .sum()
    }

    fn of_site(&self, prep: &Prep, site: u32) -> f64 {
        self.by_source
            .iter()
            .filter(|(s, _)| prep.sources[*s as usize].site == site)
            .map(|x| x.1)
            .sum()
    }
}

const EPS: f64 = 1e-6;

/// Most GPUs of a class (at one site, if given) the buyer can still buy in
/// a demand segment: whole blocks within each offer and its source's free
/// capacity.
fn class_gpus_on_offer(
    prep: &Prep,
    ledger: &Ledger,
    d: &DSeg,
    class: u32,
    site: Option<u32>,
) -> f64 {
    let id = &prep.classes[class as usize].id;
    prep.max_new_gpus_by_source(ledger, d, |o| {
        &o.offer.gpu == id && site.is_none_or(|s| s == o.site)
    })
    .into_iter()
    .map(|(_, gpus)| gpus as f64)
    .sum()
}

/// Failing segments of one family found from bounds alone: the first
/// sentence, and how many more segments fail.
fn bound_checks(prep: &Prep, ledger: &Ledger, fams: Families) -> Option<String> {
    let bounds: Vec<Bounds> = prep
        .dsegs
        .iter()
        .map(|d| Bounds {
            by_source: prep.max_new_by_source(ledger, d),
        })
        .collect();
    let report = |found: Vec<String>| -> Option<String> {
        let n = found.len();
        found
            .into_iter()
            .next()
            .map(|s| format!("{s}{}", more(n - 1)))
    };

    // Coverage.
    let found: Vec<String> = prep
        .dsegs
        .iter()
        .zip(&bounds)
        .filter(|(d, b)| d.held + b.total() < d.demand - EPS)
        .map(|(d, b)| {
            format!(
                "Coverage {}: need {} H100e; you hold {} and at most {} more are on offer to you (short by {}).",
                prep.describe(d),
                human_h100e(d.demand),
                human_h100e(d.held),
                human_h100e(b.total()),
                human_h100e(d.demand - d.held - b.total())
            )
        })
        .collect();
    if let Some(s) = report(found) {
        return Some(s);
    }

    // Class demands: the class's GPUs, then one site for per-site ones.
    let mut found = Vec::new();
    for d in &prep.dsegs {
        for cn in &d.class_needs {
            let c = &prep.classes[cn.class as usize];
            let most = class_gpus_on_offer(prep, ledger, d, cn.class, None);
            if cn.held + most < cn.gpus - EPS {
                found.push(format!(
                    "{} GPUs {}: need {} {}; you hold {} and at most {} more are on offer to you (short by {}).",
                    c.id,
                    prep.describe(d),
                    cn.gpus,
                    c.id,
                    cn.held,
                    most,
                    cn.gpus - cn.held - most
                ));
                break;
            }
        }
    }
    if let Some(s) = report(found) {
        return Some(s);
    }
    let mut found = Vec::new();
    for (k, cd) in prep.class_demands.iter().enumerate() {
        if !cd.per_site {
            continue;
        }
        // The best site over the whole window: its weakest segment.
        let mut best: Option<(u32, f64)> = None;
        for &s in &cd.sites {
            let at_s = prep
                .dsegs
                .iter()
                .filter(|d| d.per_site.contains(&(k as u32)))
                .map(|d| {
                    let held = d
                        .class_needs
                        .iter()
                        .find(|n| n.class == cd.class)
                        .map_or(0.0, |n| n.held_at(s));
                    held + class_gpus_on_offer(prep, ledger, d, cd.class, Some(s))
                })
                .fold(f64::INFINITY, f64::min);
            if best.is_none_or(|b| at_s > b.1) {
                best = Some((s, at_s));
            }
        }
        let best_v = best.map_or(0.0, |b| b.1);
        if best_v < f64::from(cd.gpus) - EPS {
            let site = best.map_or("no site offers it".to_string(), |b| {
                format!("the best site, {}", prep.sites[b.0 as usize].id)
            });
            found.push(format!(
                "{} {} GPUs in one site ({}): {site}, reaches at most {} (held plus every whole instance on offer there).",
                cd.gpus,
                cd.written,
                crate::fmt::describe_window(cd.start, cd.end),
                best_v
            ));
        }
    }
    if let Some(s) = report(found) {
        return Some(s);
    }

    // Provider share: holdings alone already above the cap of the most
    // one could hold.
    if fams.share
        && let Some(a) = prep.policy.max_provider_share.map(|s| s.get())
    {
        let mut found = Vec::new();
        for (d, b) in prep.dsegs.iter().zip(&bounds) {
            let most = d.held + b.total();
            for &(p, hp) in &d.held_p {
                if hp > a * most + EPS {
                    found.push(format!(
                        "Provider share for provider {} {}: you already hold {} H100e there, {} of the most you can hold ({} H100e, with every offer bought), above the {} cap.",
                        prep.providers[p as usize],
                        prep.describe(d),
                        human_h100e(hp),
                        pct(hp / most),
                        human_h100e(most),
                        pct(a)
                    ));
                    break;
                }
            }
        }
        if let Some(s) = report(found) {
            return Some(s);
        }
    }

    // N-1.
    if fams.n1
        && let Some(beta) = prep.policy.min_share_after_provider_loss.map(|s| s.get())
    {
        let mut found = Vec::new();
        for (d, b) in prep.dsegs.iter().zip(&bounds) {
            let need = beta * d.demand;
            let mut worst: Option<(u32, f64, f64)> = None;
            for p in prep.providers_in(d) {
                let held_out = d.held - d.held_of_provider(p);
                let new_out = b.total() - b.of_provider(prep, p);
                let out = held_out + new_out;
                if out < need - EPS && worst.is_none_or(|w| out < w.1 + w.2) {
                    worst = Some((p, held_out, new_out));
                }
            }
            if let Some((p, held_out, new_out)) = worst {
                let name = &prep.providers[p as usize];
                found.push(format!(
                    "N-1 for provider {name} {}: need {} H100e outside {name}, at most {} on offer (you hold {} outside {name} and offers add at most {}).",
                    prep.describe(d),
                    human_h100e(need),
                    human_h100e(held_out + new_out),
                    human_h100e(held_out),
                    human_h100e(new_out)
                ));
            }
        }
        if let Some(s) = report(found) {
            return Some(s);
        }
    }

    // Co-location.
    if fams.coloc
        && let Some(k) = prep.policy.colocated_h100e.map(|k| k.get())
    {
        let mut found = Vec::new();
        for (d, b) in prep.dsegs.iter().zip(&bounds) {
            let best = prep
                .sites_in(d)
                .into_iter()
                .map(|s| (s, d.held_of_site(s) + b.of_site(prep, s)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            let best_v = best.map_or(0.0, |x| x.1);
            if best_v < k - EPS {
                let site = best.map_or("none".to_string(), |x| {
                    prep.sites[x.0 as usize].id.to_string()
                });
                found.push(format!(
                    "Co-location {}: need {} H100e at one site, the best site ({site}) reaches at most {} (held plus everything on offer there).",
                    prep.describe(d),
                    human_h100e(k),
                    human_h100e(best_v)
                ));
            }
        }
        if let Some(s) = report(found) {
            return Some(s);
        }
    }
    None
}

fn names(prep: &Prep, on: Families) -> String {
    let mut v = vec!["coverage"];
    if on.share {
        v.push("provider share");
    }
    if on.n1 {
        v.push("N-1");
    }
    if on.coloc {
        v.push("co-location");
    }
    if on.rofr {
        v.push("the right of first refusal");
    }
    let _ = prep;
    match v.len() {
        1 => v[0].to_string(),
        n => format!("{} and {}", v[..n - 1].join(", "), v[n - 1]),
    }
}

fn with(prep: &Prep, before: Families) -> String {
    if before == Families::default() {
        String::new()
    } else {
        format!(" while meeting {}", names(prep, before))
    }
}

/// Relax one family: its rows get slack; the largest slack is the answer.
fn elastic(prep: &Prep, before: Families, fam: Family) -> Result<String, PlanError> {
    let mut on = before;
    match fam {
        Family::ProviderShare => on.share = true,
        Family::NMinus1 => on.n1 = true,
        Family::Colocation => on.coloc = true,
        Family::Rofr => on.rofr = true,
        _ => {}
    }
    let (built, run) = solve::solve(prep, on, Mode::Elastic(fam))?;
    let generic = || {
        format!(
            "No plan meets {} together{}: HiGHS finds the model infeasible.",
            fam.label(),
            with(prep, before)
        )
    };
    if !run.feasible() {
        return Ok(generic());
    }
    let worst = built
        .slacks
        .iter()
        .map(|(c, what)| (run.x.get(c.index()).copied().unwrap_or(0.0), *what))
        .filter(|x| x.0 > EPS)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let Some((v, what)) = worst else {
        return Ok(generic());
    };
    let d = |i: u32| -> &DSeg { &prep.dsegs[i as usize] };
    let also = with(prep, before);
    Ok(match what {
        Slack::Coverage { dseg } => {
            let d = d(dseg);
            let need = d.demand - d.held;
            format!(
                "Coverage {}: need {} H100e beyond the {} you hold; whole blocks within free capacity add at most {} (short by {}).",
                prep.describe(d),
                human_h100e(need),
                human_h100e(d.held),
                human_h100e(need - v),
                human_h100e(v)
            )
        }
        Slack::Class { dseg, class } => {
            let d = d(dseg);
            let c = &prep.classes[class as usize];
            let cn = d
                .class_needs
                .iter()
                .find(|n| n.class == class)
                .expect("slack rows come from class needs");
            format!(
                "{} GPUs {}: need {} beyond the {} you hold; whole instances within free capacity add at most {} (short by {}).",
                c.id,
                prep.describe(d),
                cn.gpus - cn.held,
                cn.held,
                cn.gpus - cn.held - v,
                v
            )
        }
        Slack::PerSite { demand } => {
            let cd = &prep.class_demands[demand as usize];
            format!(
                "{} {} GPUs in one site ({}): at most {} can be gathered at any one site{also} (short by {}).",
                cd.gpus,
                cd.written,
                crate::fmt::describe_window(cd.start, cd.end),
                f64::from(cd.gpus) - v,
                v
            )
        }
        Slack::Share { dseg, provider } => {
            let a = prep.policy.max_provider_share.map_or(0.0, |s| s.get());
            let name = &prep.providers[provider as usize];
            format!(
                "Provider share for provider {name} {}: no plan that covers demand{also} keeps {name} at or below {} of your H100e; the best still has {} H100e too many there.",
                prep.describe(d(dseg)),
                pct(a),
                human_h100e(v)
            )
        }
        Slack::NMinus1 { dseg, provider } => {
            let beta = prep
                .policy
                .min_share_after_provider_loss
                .map_or(0.0, |s| s.get());
            let d = d(dseg);
            let need = beta * d.demand;
            let name = &prep.providers[provider as usize];
            format!(
                "N-1 for provider {name} {}: need {} H100e outside {name}, at most {} can be had{also}.",
                prep.describe(d),
                human_h100e(need),
                human_h100e(need - v)
            )
        }
        Slack::Coloc { dseg } => {
            let k = prep.policy.colocated_h100e.map_or(0.0, |k| k.get());
            format!(
                "Co-location {}: need {} H100e at one site, at most {} can be gathered at any one site{also}.",
                prep.describe(d(dseg)),
                human_h100e(k),
                human_h100e(k - v)
            )
        }
        Slack::Rofr { h } => {
            let o = &prep.offers[h as usize];
            let pair = prep
                .rofr
                .iter()
                .find(|p| p.h == h)
                .expect("slack rows come from pairs");
            let short = (v.ceil() as u32).min(o.max_blocks);
            format!(
                "Right of first refusal of {} (until {}): buying from other sellers first requires {}'s offer {} in full ({} GPUs), but at most {} GPUs of it can be bought{also}, and demand cannot be met from {} alone.",
                pair.holder,
                pair.until.date_string(),
                pair.holder,
                o.offer.id,
                o.max_gpus(),
                (o.max_blocks - short) * o.block,
                pair.holder
            )
        }
    })
}

fn budget(prep: &Prep, ledger: &Ledger, before: Families) -> Result<String, PlanError> {
    let (built, run) = solve::solve(prep, before, Mode::Cost)?;
    let b = prep.policy.budget_usd.map_or(Decimal::ZERO, |b| b.get());
    if !run.feasible() {
        return Ok(format!(
            "Budget: no plan meets the budget of {}{}.",
            human_usd(b),
            with(prep, before)
        ));
    }
    let counts = model::counts(prep, &built.n, &run.x);
    let out = outcome(prep, ledger, &counts);
    let cost = out.purchases_usd + out.shortfall_usd;
    Ok(format!(
        "Budget: the cheapest plan that meets {} costs {} (purchases {} + commitment shortfall {}), above the budget of {} by {}.",
        names(prep, before),
        human_usd(cost),
        human_usd(out.purchases_usd),
        human_usd(out.shortfall_usd),
        human_usd(b),
        human_usd(cost - b)
    ))
}

/// The reason an infeasible model is infeasible.
pub(crate) fn diagnose(prep: &Prep, ledger: &Ledger, fams: Families) -> Result<String, PlanError> {
    if let Some(s) = bound_checks(prep, ledger, fams) {
        return Ok(s);
    }
    let mut on = Families::default();
    let (_, run) = solve::solve(prep, on, Mode::Feasibility)?;
    if !run.feasible() {
        return elastic(prep, on, Family::Coverage);
    }
    let steps: [(Family, bool); 5] = [
        (Family::ProviderShare, fams.share),
        (Family::NMinus1, fams.n1),
        (Family::Colocation, fams.coloc),
        (Family::Rofr, fams.rofr),
        (Family::Budget, fams.budget),
    ];
    for (fam, enabled) in steps {
        if !enabled {
            continue;
        }
        let before = on;
        match fam {
            Family::ProviderShare => on.share = true,
            Family::NMinus1 => on.n1 = true,
            Family::Colocation => on.coloc = true,
            Family::Rofr => on.rofr = true,
            Family::Budget => on.budget = true,
            _ => {}
        }
        let (_, run) = solve::solve(prep, on, Mode::Feasibility)?;
        if run.feasible() {
            continue;
        }
        return if fam == Family::Budget {
            budget(prep, ledger, before)
        } else {
            elastic(prep, before, fam)
        };
    }
    Ok(format!(
        "No plan meets every constraint at once ({}), although HiGHS finds each family feasible when added one at a time.",
        names(prep, fams)
    ))
}
