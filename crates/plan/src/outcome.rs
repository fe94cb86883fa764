//! What given block counts buy and cost, exactly in decimal: the one place
//! the plan's money is computed (the MILP, the LP-bound proof, the greedy
//! plan and the budget diagnosis all score plans here). Depends on `prep`
//! only, not on the model.

use cascade_core::Ledger;
use rust_decimal::Decimal;

use crate::prep::Prep;
use crate::{CommitmentOutcome, Purchase};

/// Purchases, money and commitment outcomes of given block counts, exactly.
pub(crate) struct Outcome {
    pub purchases: Vec<Purchase>,
    pub purchases_usd: Decimal,
    pub shortfall_usd: Decimal,
    pub commitments: Vec<CommitmentOutcome>,
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
    }
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
