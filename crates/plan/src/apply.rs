//! Plans become contracts.

use std::collections::HashSet;

use cascade_core::{Contract, Gpus, Id, Scenario};

use crate::skypilot::unique;
use crate::{PlanError, PlanResult};

/// The scenario with the plan's purchases turned into contracts.
///
/// Each purchase of offer `o` becomes contract `plan-<o>` (a suffix `-2`,
/// `-3`, ... when the id is taken; cut to 64 characters): seller = the
/// offer's seller, buyer = the plan's buyer, the offer's class, window,
/// price and source (`site`, or `backed_by` for a resale), `resale = false`.
/// The offer itself shrinks by what was bought and disappears when less
/// than one block is left, so planning again on the result does not count
/// the same GPUs twice.
pub fn apply(scenario: &Scenario, result: &PlanResult) -> Result<Scenario, PlanError> {
    let mut s = scenario.clone();
    let mut taken: HashSet<String> = s.contracts.iter().map(|c| c.id.to_string()).collect();
    let mut gone: HashSet<Id> = HashSet::new();
    for p in &result.purchases {
        let Some(oi) = s.offers.iter().position(|o| o.id == p.offer) else {
            return Err(PlanError::ApplyUnknownOffer(p.offer.clone()));
        };
        let o = s.offers[oi].clone();
        let gpus = Gpus::new("gpus", i64::from(p.gpus))
            .map_err(|_| PlanError::ApplyUnknownOffer(p.offer.clone()))?;
        let base: String = format!("plan-{}", o.id).chars().take(Id::MAX_LEN).collect();
        let id = unique(base, &mut taken);
        s.contracts.push(Contract {
            id,
            seller: o.seller.clone(),
            buyer: result.buyer.clone(),
            gpu: o.gpu.clone(),
            gpus,
            window: o.window,
            price_per_gpu_hour: o.price_per_gpu_hour,
            source: o.source.clone(),
            resale: false,
        });
        let left = i64::from(o.max_gpus.get()) - i64::from(p.gpus);
        if left >= i64::from(o.block_gpus.get()) {
            s.offers[oi].max_gpus = Gpus::new("max_gpus", left).expect("left ≥ block > 0");
        } else {
            gone.insert(o.id.clone());
        }
    }
    s.offers.retain(|o| !gone.contains(&o.id));
    Ok(s)
}
