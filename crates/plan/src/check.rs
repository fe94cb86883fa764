//! An independent checker: does a list of purchases satisfy every constraint
//! of the planning model? It reads the scenario and the ledger directly —
//! its own segments, its own usability rules, exact money — and shares no
//! code with the model builder, so tests can hold the solver to it.
//!
//! This file deliberately restates the planning rules that `prep` and
//! `model` also encode (usable offers, coverage, provider share, N-1,
//! co-location, ROFR, budget): it is the planner's twin, written
//! independently, so that a mistake in one shows up as a disagreement with
//! the other instead of being shared. Do not merge it with the model or call
//! into `prep`/`model`/`solve` from here, even where the code looks alike
//! (a duplicate finder will flag it; that is expected). Only the domain
//! facts owned by `cascade-core` (the ledger's walks, the capacity
//! breakpoints) and the formatting helpers are shared.

use std::collections::BTreeMap;

use cascade_core::{Clause, Demand, Id, Instant, Ledger, Need, Offer, Scenario, Source};
use rust_decimal::Decimal;

use crate::fmt::{describe_window, human_h100e, human_usd, pct};
use crate::{Breach, Family};

fn tol(x: f64) -> f64 {
    1e-6 * x.abs().max(1.0)
}

/// Why the buyer may not buy `o`, as a sentence; `None` when it may.
fn unusable(ledger: &Ledger, buyer: &Id, o: &Offer) -> Option<String> {
    if &o.seller == buyer {
        return Some(format!("offer {} is {buyer}'s own offer", o.id));
    }
    let provider = ledger.offer_root(&o.id).map(|(p, _)| p.clone());
    let mut chain: Vec<Id> = vec![o.seller.clone()];
    if let Source::BackedBy(c) = &o.source {
        chain.extend(
            ledger
                .sellers_of(c)
                .unwrap_or_default()
                .into_iter()
                .cloned(),
        );
    }
    for c in ledger.clauses() {
        match c {
            Clause::Exclusive {
                buyer: b,
                seller,
                until,
            } if b == buyer && o.window.start() < *until && &o.seller != seller => {
                return Some(format!(
                    "offer {} breaks the exclusive clause: before {} {buyer} buys only from {seller}",
                    o.id,
                    until.date_string()
                ));
            }
            Clause::NoResaleTo { seller, party } if party == buyer && chain.contains(seller) => {
                return Some(format!(
                    "offer {} breaks no_resale_to: {seller} is in its chain",
                    o.id
                ));
            }
            Clause::AvoidProvider {
                buyer: b,
                provider: p,
            } if b == buyer && provider.as_ref() == Some(p) => {
                return Some(format!(
                    "offer {} breaks avoid_provider: its physical provider is {p}",
                    o.id
                ));
            }
            _ => {}
        }
    }
    None
}

/// Every constraint of the planning model that `purchases` (offer id, GPUs)
/// break, for `buyer`. Empty when the plan is feasible.
pub fn check_plan(
    scenario: &Scenario,
    ledger: &Ledger,
    buyer: &Id,
    purchases: &[(Id, u32)],
) -> Vec<Breach> {
    let mut out = Vec::new();
    let policy = scenario
        .policies
        .iter()
        .find(|(b, _)| b == buyer)
        .map(|(_, p)| p.clone())
        .unwrap_or_default();

    // Offers bought, summed per offer.
    let mut bought: BTreeMap<&Id, u32> = BTreeMap::new();
    let mut offers: Vec<(&Offer, u32)> = Vec::new();
    for (id, gpus) in purchases {
        if *gpus == 0 {
            continue;
        }
        let Some(o) = ledger.offer(id) else {
            out.push(Breach {
                family: Family::Clause,
                at: None,
                message: format!("offer {id} does not exist"),
            });
            continue;
        };
        *bought.entry(&o.id).or_default() += gpus;
    }
    for (id, &gpus) in &bought {
        let o = ledger.offer(id).expect("looked up above");
        if let Some(why) = unusable(ledger, buyer, o) {
            out.push(Breach {
                family: Family::Clause,
                at: Some(o.window.start()),
                message: why,
            });
        }
        let block = o.block_gpus.get();
        let full = block * (o.max_gpus.get() / block);
        if gpus % block != 0 || gpus > full {
            out.push(Breach {
                family: Family::Blocks,
                at: Some(o.window.start()),
                message: format!(
                    "offer {}: {gpus} GPUs is not a whole number of blocks of {block} up to {full}",
                    o.id
                ),
            });
        }
        offers.push((o, gpus));
    }

    // Every instant where anything changes: capacity (core's one list, a
    // domain rule rather than the model's), offers and demands.
    let mut cuts: Vec<Instant> = scenario.capacity_breakpoints();
    for o in &scenario.offers {
        cuts.extend([o.window.start(), o.window.end()]);
    }
    for d in &scenario.demands {
        cuts.extend([d.window.start(), d.window.end()]);
    }
    cuts.sort_unstable();
    cuts.dedup();

    let h100e = |gpu: &Id| ledger.gpu_class(gpu).map_or(0.0, |g| g.h100e.get());
    // A class demand names its class as the user typed it.
    let class_h100e = |name: &Id| {
        ledger
            .gpu_class_named(name.as_str())
            .map_or(0.0, |g| g.h100e.get())
    };
    let class_of = |d: &Demand| {
        d.gpu()
            .and_then(|g| ledger.gpu_class_named(g.as_str()))
            .map(|g| &g.id)
    };
    for w in cuts.windows(2) {
        let (t, t_end) = (w[0], w[1]);
        let when = describe_window(t, t_end);
        let active: Vec<&(&Offer, u32)> = offers
            .iter()
            .filter(|(o, _)| o.window.contains(t))
            .collect();

        // Free capacity per source.
        let mut per_source: BTreeMap<(String, &Id), (i64, &Source)> = BTreeMap::new();
        for (o, q) in &active {
            let key = match &o.source {
                Source::Site(s) => (format!("site {s}"), &o.gpu),
                Source::BackedBy(c) => (format!("contract {c}"), &o.gpu),
            };
            per_source.entry(key).or_insert((0, &o.source)).0 += i64::from(*q);
        }
        for ((label, gpu), (q, source)) in &per_source {
            let free = ledger.source_free_at(source, gpu, t).unwrap_or(0);
            if *q > free {
                out.push(Breach {
                    family: Family::FreeCapacity,
                    at: Some(t),
                    message: format!(
                        "free capacity {when}: {q} {gpu} GPUs bought from {label}, only {free} free"
                    ),
                });
            }
        }

        let here: Vec<&Demand> = scenario
            .demands
            .iter()
            .filter(|d| &d.buyer == buyer && d.window.contains(t))
            .collect();
        let demand: f64 = here
            .iter()
            .map(|d| d.h100e(d.gpu().map_or(0.0, &class_h100e)))
            .sum();
        if demand <= 0.0 {
            continue;
        }
        // GPUs of each class asked for by name: held plus bought.
        let mut asked: BTreeMap<Id, (u32, &Id)> = BTreeMap::new();
        for d in &here {
            if let (Need::Gpus { gpu, gpus, .. }, Some(c)) = (&d.need, class_of(d)) {
                asked.entry(c.clone()).or_insert((0, gpu)).0 += gpus.get();
            }
        }
        for (class, (need, written)) in &asked {
            let held: i64 = ledger
                .holdings(buyer, t)
                .iter()
                .filter(|h| &h.gpu == class)
                .map(|h| h.gpus.max(0))
                .sum();
            let bought: i64 = active
                .iter()
                .filter(|(o, _)| &o.gpu == class)
                .map(|(_, q)| i64::from(*q))
                .sum();
            if held + bought < i64::from(*need) {
                out.push(Breach {
                    family: Family::ClassDemand,
                    at: Some(t),
                    message: format!(
                        "class demand {when}: {} {written} GPUs held and bought, demand is {need} (short by {})",
                        held + bought,
                        i64::from(*need) - held - bought
                    ),
                });
            }
        }
        let mut by_provider: BTreeMap<Id, f64> = BTreeMap::new();
        let mut by_site: BTreeMap<Id, f64> = BTreeMap::new();
        let mut total = 0.0;
        for h in ledger.holdings(buyer, t) {
            total += h.h100e;
            *by_provider.entry(h.provider.clone()).or_default() += h.h100e;
            *by_site.entry(h.site.clone()).or_default() += h.h100e;
        }
        for (o, q) in &active {
            let x = f64::from(*q) * h100e(&o.gpu);
            let Some((p, site)) = ledger.offer_root(&o.id) else {
                continue;
            };
            total += x;
            *by_provider.entry(p.clone()).or_default() += x;
            *by_site.entry(site.id.clone()).or_default() += x;
        }
        if total < demand - tol(demand) {
            out.push(Breach {
                family: Family::Coverage,
                at: Some(t),
                message: format!(
                    "coverage {when}: {} H100e held and bought, demand is {} (short by {})",
                    human_h100e(total),
                    human_h100e(demand),
                    human_h100e(demand - total)
                ),
            });
        }
        if let Some(a) = policy.max_provider_share.map(|s| s.get()) {
            for (p, x) in &by_provider {
                if *x > a * total + tol(total) {
                    out.push(Breach {
                        family: Family::ProviderShare,
                        at: Some(t),
                        message: format!(
                            "provider share {when}: {p} holds {} of {} H100e ({}), above the {} cap",
                            human_h100e(*x),
                            human_h100e(total),
                            pct(x / total),
                            pct(a)
                        ),
                    });
                }
            }
        }
        if let Some(b) = policy.min_share_after_provider_loss.map(|s| s.get()) {
            for (p, x) in &by_provider {
                let left = total - x;
                if left < b * demand - tol(demand) {
                    out.push(Breach {
                        family: Family::NMinus1,
                        at: Some(t),
                        message: format!(
                            "N-1 for provider {p} {when}: losing {p} leaves {} H100e, need {} ({} of demand)",
                            human_h100e(left),
                            human_h100e(b * demand),
                            pct(b)
                        ),
                    });
                }
            }
        }
        if let Some(k) = policy.colocated_h100e.map(|k| k.get()) {
            let best = by_site
                .iter()
                .max_by(|a, b| a.1.total_cmp(b.1).then_with(|| b.0.cmp(a.0)));
            let best_v = best.map_or(0.0, |x| *x.1);
            if best_v < k - tol(k) {
                out.push(Breach {
                    family: Family::Colocation,
                    at: Some(t),
                    message: format!(
                        "co-location {when}: the largest site ({}) has {} H100e, need {} at one site",
                        best.map_or("none".to_string(), |x| x.0.to_string()),
                        human_h100e(best_v),
                        human_h100e(k)
                    ),
                });
            }
        }
    }

    out.extend(per_site_breaches(scenario, ledger, buyer, &offers, &cuts));

    // Right of first refusal.
    for c in ledger.clauses() {
        let Clause::Rofr {
            buyer: b,
            holder,
            until,
        } = c
        else {
            continue;
        };
        if b != buyer || holder == buyer {
            continue;
        }
        for (o, _) in &offers {
            if &o.seller == holder || o.window.start() >= *until {
                continue;
            }
            for h in ledger.offers() {
                if &h.seller != holder
                    || !h.window.overlaps(&o.window)
                    || unusable(ledger, buyer, h).is_some()
                {
                    continue;
                }
                let full = h.block_gpus.get() * (h.max_gpus.get() / h.block_gpus.get());
                let got = bought.get(&h.id).copied().unwrap_or(0);
                if got != full {
                    out.push(Breach {
                        family: Family::Rofr,
                        at: Some(o.window.start()),
                        message: format!(
                            "right of first refusal of {holder}: offer {} (seller {}) is bought while {holder}'s overlapping offer {} is bought {got} of {full} GPUs",
                            o.id, o.seller, h.id
                        ),
                    });
                }
            }
        }
    }

    // Budget: purchases + commitment shortfall, exactly.
    if let Some(budget) = policy.budget_usd {
        let cost_of =
            |o: &Offer, q: u32| Decimal::from(q) * o.price_per_gpu_hour.get() * o.window.hours();
        let spend: Decimal = offers.iter().map(|(o, q)| cost_of(o, *q)).sum();
        let mut shortfall = Decimal::ZERO;
        for (c, usd, spent) in ledger.commitments_of(buyer) {
            let new: Decimal = offers
                .iter()
                .filter(|(o, _)| o.seller == c.seller && c.window.contains(o.window.start()))
                .map(|(o, q)| cost_of(o, *q))
                .sum();
            shortfall += (usd - spent - new).max(Decimal::ZERO);
        }
        if spend + shortfall > budget.get() {
            out.push(Breach {
                family: Family::Budget,
                at: None,
                message: format!(
                    "budget: purchases {} + commitment shortfall {} = {}, above the budget of {}",
                    human_usd(spend),
                    human_usd(shortfall),
                    human_usd(spend + shortfall),
                    human_usd(budget.get())
                ),
            });
        }
    }
    out
}

/// Per-site class demands: is there a site for each, for its whole window,
/// such that at every instant the GPUs of the class held and bought at each
/// site cover the demands placed there? A search over placements (class
/// demands are few); GPUs beyond the per-site ones are the class check's.
fn per_site_breaches(
    scenario: &Scenario,
    ledger: &Ledger,
    buyer: &Id,
    offers: &[(&Offer, u32)],
    cuts: &[Instant],
) -> Vec<Breach> {
    let mut out = Vec::new();
    let mut by_class: BTreeMap<Id, Vec<(&Demand, u32)>> = BTreeMap::new();
    for d in scenario.demands.iter().filter(|d| &d.buyer == buyer) {
        if let Need::Gpus {
            gpu,
            gpus,
            per_site: true,
        } = &d.need
            && let Some(c) = ledger.gpu_class_named(gpu.as_str())
        {
            by_class
                .entry(c.id.clone())
                .or_default()
                .push((d, gpus.get()));
        }
    }
    for (class, mut demands) in by_class {
        demands.sort_by_key(|d| std::cmp::Reverse(d.1));
        // GPUs of the class at each site and instant where a demand runs.
        let times: Vec<Instant> = cuts
            .iter()
            .copied()
            .filter(|&t| demands.iter().any(|(d, _)| d.window.contains(t)))
            .collect();
        let mut avail: BTreeMap<Id, Vec<i64>> = BTreeMap::new();
        for (i, &t) in times.iter().enumerate() {
            for h in ledger.holdings(buyer, t) {
                if h.gpu == class {
                    avail
                        .entry(h.site.clone())
                        .or_insert_with(|| vec![0; times.len()])[i] += h.gpus.max(0);
                }
            }
            for (o, q) in offers {
                if o.gpu == class
                    && o.window.contains(t)
                    && let Some((_, site)) = ledger.offer_root(&o.id)
                {
                    avail
                        .entry(site.id.clone())
                        .or_insert_with(|| vec![0; times.len()])[i] += i64::from(*q);
                }
            }
        }
        let sites: Vec<(Id, Vec<i64>)> = avail.into_iter().collect();
        let runs: Vec<Vec<bool>> = demands
            .iter()
            .map(|(d, _)| times.iter().map(|&t| d.window.contains(t)).collect())
            .collect();
        let mut left: Vec<Vec<i64>> = sites.iter().map(|s| s.1.clone()).collect();
        let mut budget = 1_000_000u32;
        if place(&demands, &runs, 0, &mut left, &mut budget) {
            continue;
        }
        let (d, gpus) = demands[0];
        let best = sites
            .iter()
            .map(|(id, v)| {
                let m = v
                    .iter()
                    .zip(&runs[0])
                    .filter(|x| *x.1)
                    .map(|x| *x.0)
                    .min()
                    .unwrap_or(0);
                (id, m)
            })
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)));
        let written = d.gpu().expect("a class demand");
        let message = if demands.len() == 1 {
            format!(
                "one site {}: {gpus} {written} GPUs must sit in one site; the best ({}) has {} held and bought",
                describe_window(d.window.start(), d.window.end()),
                best.map_or("none".to_string(), |b| b.0.to_string()),
                best.map_or(0, |b| b.1)
            )
        } else if budget == 0 {
            format!(
                "one site: the {} per-site demands for {written} GPUs could not be placed within the search limit",
                demands.len()
            )
        } else {
            format!(
                "one site: the {} per-site demands for {written} GPUs ({}) cannot each be placed in one site",
                demands.len(),
                demands
                    .iter()
                    .map(|(_, g)| g.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        out.push(Breach {
            family: Family::PerSite,
            at: Some(d.window.start()),
            message,
        });
    }
    out
}

/// Depth-first placement of demands `k..` into sites with `left` GPUs.
fn place(
    demands: &[(&Demand, u32)],
    runs: &[Vec<bool>],
    k: usize,
    left: &mut [Vec<i64>],
    budget: &mut u32,
) -> bool {
    if k == demands.len() {
        return true;
    }
    let need = i64::from(demands[k].1);
    for s in 0..left.len() {
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        let fits = left[s]
            .iter()
            .zip(&runs[k])
            .all(|(l, on)| !*on || *l >= need);
        if !fits {
            continue;
        }
        for (l, on) in left[s].iter_mut().zip(&runs[k]) {
            if *on {
                *l -= need;
            }
        }
        if place(demands, runs, k + 1, left, budget) {
            return true;
        }
        for (l, on) in left[s].iter_mut().zip(&runs[k]) {
            if *on {
                *l += need;
            }
        }
    }
    false
}
