//! What given block counts buy and cost, exactly in decimal: the one place
//! the plan's money is computed (the MILP, the LP-bound proof, the greedy
//! plan and the budget diagnosis all score plans here). Depends on `prep`
//! only, not on the model.

use cascade_core::Ledger;
use rust_decimal::Decimal;

use crate::prep::Prep;
use cascade_core::Window;

use crate::{CommitmentOutcome, Purchase, Surplus};

/// Purchases, money and commitment outcomes of given block counts, exactly.
pub(crate) struct Outcome {
    pub purchases: Vec<Purchase>,
    pub purchases_usd: Decimal,
    pub shortfall_usd: Decimal,
    pub commitments: Vec<CommitmentOutcome>,
    pub surplus: Vec<Surplus>,
}

pub(crate) fn outcome(prep: &Prep, ledger: &Ledger, counts: &[u32]) -> Outcome {
    let mut purchases = Vec::new();
    let mut purchases_usd = Decimal::ZERO;
    for (o, &blocks) in prep.offers.iter().zip(counts) {
        if blocks == 0 {
            continue;
        }
        let gpus = blocks * o.block;
        let cost = o.cost_block * Decimal::from(blocks);
        purchases_usd += cost;
        let site = &prep.sites[o.site as usize].id;
        purchases.push(Purchase {
            offer: o.offer.id.clone(),
            seller: o.offer.seller.clone(),
            provider: prep.providers[o.provider as usize].clone(),
            site: site.clone(),
            region: ledger
                .site(site)
                .map(|s| s.region.clone())
                .unwrap_or_default(),
            gpu: o.offer.gpu.clone(),
            gpus,
            blocks,
            block_gpus: o.block,
            window: o.offer.window,
            price_per_gpu_hour: o.offer.price_per_gpu_hour.get(),
            cost_usd: cost,
            h100e: f64::from(gpus) * o.h,
        });
    }
    purchases.sort_by(|a, b| {
        a.window
            .start()
            .cmp(&b.window.start())
            .then_with(|| a.offer.cmp(&b.offer))
    });
    let commitments = commitment_outcomes(prep, counts);
    Outcome {
        purchases,
        purchases_usd,
        shortfall_usd: commitments.iter().map(|c| c.shortfall_usd).sum(),
        commitments,
        surplus: surplus(prep, counts),
    }
}

/// Per demand segment: GPUs of each class asked for by name, and H100e as
/// a whole, bought beyond what was needed; equal neighbours merged.
fn surplus(prep: &Prep, counts: &[u32]) -> Vec<Surplus> {
    const EPS: f64 = 1e-9;
    let mut out: Vec<Surplus> = Vec::new();
    let mut push = |s: Surplus| {
        if s.extra() <= EPS {
            return;
        }
        if let Some(prev) = out.iter_mut().rev().find(|p| p.gpu == s.gpu)
            && prev.window.end() == s.window.start()
            && prev.needed == s.needed
            && prev.bought == s.bought
        {
            prev.window = Window::new(prev.window.start(), s.window.end()).expect("non-empty");
            return;
        }
        out.push(s);
    };
    for d in &prep.dsegs {
        let window = Window::new(prep.seg_start(d), prep.seg_end(d)).expect("non-empty");
        let bought = |pick: &dyn Fn(&crate::prep::POffer) -> bool, per_gpu: bool| -> f64 {
            d.active
                .iter()
                .map(|&oi| (&prep.offers[oi as usize], counts[oi as usize]))
                .filter(|(o, n)| *n > 0 && pick(o))
                .map(|(o, n)| {
                    let g = f64::from(n * o.block);
                    if per_gpu { g } else { g * o.h }
                })
                .sum()
        };
        for cn in &d.class_needs {
            let c = &prep.classes[cn.class as usize];
            // Displayed as the first demand of the class writes it.
            let written = prep
                .class_demands
                .iter()
                .find(|k| k.class == cn.class)
                .map_or(c.id.clone(), |k| k.written.clone());
            push(Surplus {
                window,
                gpu: Some(written),
                needed: (cn.gpus - cn.held).max(0.0),
                bought: bought(&|o| o.offer.gpu == c.id, true),
            });
        }
        // The H100e line only where some demand is in H100e: for class
        // demands alone it would restate the class lines.
        let by_class: f64 = d
            .class_needs
            .iter()
            .map(|n| n.gpus * prep.classes[n.class as usize].h)
            .sum();
        if d.demand - by_class <= EPS * d.demand.max(1.0) {
            continue;
        }
        push(Surplus {
            window,
            gpu: None,
            needed: (d.demand - d.held).max(0.0),
            bought: bought(&|_| true, false),
        });
    }
    out
}

/// New spend with each commitment's seller, and the shortfall left, exactly.
fn commitment_outcomes(prep: &Prep, counts: &[u32]) -> Vec<CommitmentOutcome> {
    prep.commitments
        .iter()
        .map(|c| {
            let new: Decimal = c
                .offers
                .iter()
                .map(|&oi| prep.offers[oi as usize].cost_block * Decimal::from(counts[oi as usize]))
                .sum();
            CommitmentOutcome {
                id: c.id.clone(),
                seller: c.seller.clone(),
                usd: c.usd,
                spent_usd: c.spent,
                new_spend_usd: new,
                shortfall_usd: (c.remaining() - new).max(Decimal::ZERO),
            }
        })
        .collect()
}

/// The objective of given block counts, exactly: purchases plus shortfall.
pub(crate) fn objective_usd(prep: &Prep, counts: &[u32]) -> Decimal {
    let purchases: Decimal = prep
        .offers
        .iter()
        .zip(counts)
        .map(|(o, &b)| o.cost_block * Decimal::from(b))
        .sum();
    purchases
        + commitment_outcomes(prep, counts)
            .iter()
            .map(|c| c.shortfall_usd)
            .sum::<Decimal>()
}
