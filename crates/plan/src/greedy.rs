//! The greedy baseline: what a spreadsheet planner does.
//!
//! Offers are taken cheapest H100e-hour first (price per GPU-hour over the
//! class's h100e; ties by offer id). Each offer that is active while demand
//! is still uncovered is bought up to the largest uncovered amount over its
//! window, in whole blocks, never beyond what its source has free, and — when
//! the buyer has a provider-share cap — never so much that its provider
//! passes the cap measured against demand. Clauses decide which offers are
//! usable at all, as for the optimizer. Everything else (coverage left
//! short, N-1, co-location, ROFR, budget) is not planned for: the finished
//! plan goes through [`crate::check_plan`] and each breach is reported.

use std::time::Instant as Clock;

use cascade_core::{Id, Ledger, Scenario};
use rust_decimal::Decimal;

use crate::outcome::outcome;
use crate::prep::Prep;
use crate::{PlanError, PlanResult, PlanStatus, Strategy, check_plan};

/// Block counts per usable offer chosen greedily.
pub(crate) fn greedy_counts(prep: &Prep, ledger: &Ledger) -> Vec<u32> {
    let mut order: Vec<u32> = (0..prep.offers.len() as u32).collect();
    let key = |i: u32| {
        let o = &prep.offers[i as usize];
        o.offer.price_per_gpu_hour.get() / Decimal::try_from(o.h).unwrap_or(Decimal::ONE)
    };
    order.sort_by(|&a, &b| {
        key(a).cmp(&key(b)).then_with(|| {
            prep.offers[a as usize]
                .offer
                .id
                .cmp(&prep.offers[b as usize].offer.id)
        })
    });

    let nd = prep.dsegs.len();
    let np = prep.providers.len();
    let mut deficit: Vec<f64> = prep
        .dsegs
        .iter()
        .map(|d| (d.demand - d.held).max(0.0))
        .collect();
    let mut new_total = vec![0.0f64; nd];
    let mut new_p = vec![0.0f64; nd * np];
    let alpha = prep.policy.max_provider_share.map(|s| s.get());

    // Free GPUs left per source and segment, filled lazily from the ledger.
    let mut free: Vec<Option<(u32, Vec<i64>)>> = (0..prep.sources.len()).map(|_| None).collect();
    let mut counts = vec![0u32; prep.offers.len()];
    // GPUs still missing per demand segment and class asked for by name.
    let mut class_deficit: Vec<Vec<(u32, f64)>> = prep
        .dsegs
        .iter()
        .map(|d| {
            d.class_needs
                .iter()
                .map(|n| (n.class, (n.gpus - n.held).max(0.0)))
                .collect()
        })
        .collect();
    let class_of = |o: &crate::prep::POffer| {
        prep.classes
            .iter()
            .position(|c| c.id == o.offer.gpu)
            .map(|c| c as u32)
    };
    // Class demands first (cheapest per GPU of the class), then H100e.
    // Per-site demands are not planned for: the checker reports them.
    let passes = order
        .iter()
        .filter_map(|&oi| class_of(&prep.offers[oi as usize]).map(|c| (oi, Some(c))))
        .chain(order.iter().map(|&oi| (oi, None)))
        .collect::<Vec<_>>();
    for (oi, by_class) in passes {
        let o = &prep.offers[oi as usize];
        let first = prep.dsegs.partition_point(|d| d.lo < o.lo);
        let last = first + prep.dsegs[first..].partition_point(|d| d.lo < o.hi);
        let hb = o.h_block();
        let mut n = match by_class {
            Some(c) => {
                let most = class_deficit[first..last]
                    .iter()
                    .flat_map(|v| v.iter().filter(|x| x.0 == c).map(|x| x.1))
                    .fold(0.0, f64::max);
                if most <= 1e-9 {
                    continue;
                }
                ((most / f64::from(o.block)) - 1e-9).ceil().max(0.0) as u32
            }
            None => {
                let most = deficit[first..last].iter().copied().fold(0.0, f64::max);
                if most <= 1e-9 {
                    continue;
                }
                ((most / hb) - 1e-9).ceil().max(0.0) as u32
            }
        };
        n = n.min(o.max_blocks - counts[oi as usize]);
        // Free capacity.
        let slot = free[o.source as usize].get_or_insert_with(|| {
            let src = &prep.sources[o.source as usize];
            let lo = src
                .offers
                .iter()
                .map(|&x| prep.offers[x as usize].lo)
                .min()
                .unwrap_or(0);
            let hi = src
                .offers
                .iter()
                .map(|&x| prep.offers[x as usize].hi)
                .max()
                .unwrap_or(0);
            let v = (lo..hi)
                .map(|i| {
                    ledger
                        .source_free_at(&src.source, &src.gpu, prep.cuts[i as usize])
                        .unwrap_or(0)
                })
                .collect();
            (lo, v)
        });
        let base = slot.0;
        let room = slot.1[(o.lo - base) as usize..(o.hi - base) as usize]
            .iter()
            .copied()
            .min()
            .unwrap_or(0)
            .max(0);
        n = n.min((room / i64::from(o.block)) as u32);
        // Provider share, measured against demand.
        if let Some(a) = alpha {
            for di in first..last {
                let d = &prep.dsegs[di];
                let denom = d.demand.max(d.held + new_total[di]);
                let used = d.held_of_provider(o.provider) + new_p[di * np + o.provider as usize];
                let cap = ((a * denom - used) / hb + 1e-9).floor().max(0.0) as u32;
                n = n.min(cap);
            }
        }
        if n == 0 {
            continue;
        }
        counts[oi as usize] += n;
        let q = i64::from(n * o.block);
        for v in &mut slot.1[(o.lo - base) as usize..(o.hi - base) as usize] {
            *v -= q;
        }
        let add = hb * f64::from(n);
        let class = class_of(o);
        for di in first..last {
            for x in class_deficit[di].iter_mut().filter(|x| Some(x.0) == class) {
                x.1 = (x.1 - f64::from(n * o.block)).max(0.0);
            }
            deficit[di] = (deficit[di] - add).max(0.0);
            new_total[di] += add;
            new_p[di * np + o.provider as usize] += add;
        }
    }
    counts
}

pub(crate) fn greedy_plan(
    prep: &Prep,
    scenario: &Scenario,
    ledger: &Ledger,
    t0: Clock,
) -> Result<PlanResult, PlanError> {
    let model_build_seconds = t0.elapsed().as_secs_f64();
    let ts = Clock::now();
    let counts = greedy_counts(prep, ledger);
    let out = outcome(prep, ledger, &counts);
    let bought: Vec<(Id, u32)> = out
        .purchases
        .iter()
        .map(|p| (p.offer.clone(), p.gpus))
        .collect();
    let breaches = check_plan(scenario, ledger, &prep.buyer, &bought);
    let status = if breaches.is_empty() {
        PlanStatus::Feasible
    } else {
        let shown: Vec<&str> = breaches
            .iter()
            .take(3)
            .map(|b| b.message.as_str())
            .collect();
        let more = breaches.len().saturating_sub(3);
        let mut reason = format!(
            "the greedy plan breaks {} constraint{}: {}",
            breaches.len(),
            if breaches.len() == 1 { "" } else { "s" },
            shown.join("; ")
        );
        if more > 0 {
            reason.push_str(&format!("; and {more} more"));
        }
        PlanStatus::Infeasible { reason }
    };
    Ok(PlanResult {
        buyer: prep.buyer.clone(),
        strategy: Strategy::Greedy,
        status,
        objective_usd: out.purchases_usd + out.shortfall_usd,
        purchases: out.purchases,
        purchases_usd: out.purchases_usd,
        shortfall_usd: out.shortfall_usd,
        commitments: out.commitments,
        surplus: out.surplus,
        breaches,
        excluded: prep.excluded.clone(),
        first_demand: prep.first_demand,
        model_build_seconds,
        solve_seconds: ts.elapsed().as_secs_f64(),
        stats: crate::ModelStats {
            demand_segments: prep.dsegs.len(),
            usable_offers: prep.offers.len(),
            excluded_offers: prep.excluded.len(),
            sources: prep.sources.len(),
            providers: prep.providers.len(),
            ..Default::default()
        },
        mip_gap: None,
        bound: None,
    })
}
