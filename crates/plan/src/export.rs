//! The preprocessed planning data as JSON, for rebuilding the very same
//! MILP elsewhere (`bench/plan/highs_py.py` builds it with HiGHS's Python
//! interface, row for row in the same order as `model::build`).

use cascade_core::{Id, Ledger, Scenario};
use serde_json::{Value, json};

use crate::PlanError;
use crate::model::decimal_f64;
use crate::prep::Prep;

/// JSON document `cascade-plan-model/1`: offers (cost per block in model
/// money units, bounds, H100e per block, provider, site), free-capacity
/// rows, demand segments with held capacity, commitments, ROFR pairs and
/// the policy. Every index refers to the arrays of the same document.
pub fn export_model(scenario: &Scenario, ledger: &Ledger, buyer: &Id) -> Result<String, PlanError> {
    let prep = Prep::new(scenario, ledger, buyer, None)?;
    let u = prep.money_unit;
    let p = &prep.policy;
    let doc = json!({
        "format": "cascade-plan-model/1",
        "buyer": prep.buyer.as_str(),
        "mip_rel_gap": crate::MIP_REL_GAP,
        "money_unit": u,
        "policy": {
            "max_provider_share": p.max_provider_share.map(|s| s.get()),
            "min_share_after_provider_loss": p.min_share_after_provider_loss.map(|s| s.get()),
            "colocated_h100e": p.colocated_h100e.map(|k| k.get()),
            "budget": p.budget_usd.map(|b| decimal_f64(b.get()) / u),
        },
        "providers": prep.providers.iter().map(Id::as_str).collect::<Vec<_>>(),
        "sites": prep.sites.iter().map(|s| json!({"id": s.id.as_str(), "provider": s.provider})).collect::<Vec<_>>(),
        "offers": prep.offers.iter().map(|o| json!({
            "id": o.offer.id.as_str(),
            "cost": o.cost_block_f / u,
            "max_blocks": o.max_blocks,
            "block": o.block,
            "h_block": o.h_block(),
            "provider": o.provider,
            "site": o.site,
        })).collect::<Vec<_>>(),
        "cap_rows": prep.cap_rows.iter().map(|r| json!({"offers": r.offers, "free": r.free})).collect::<Vec<_>>(),
        "dsegs": prep.dsegs.iter().map(|d| json!({
            "demand": d.demand,
            "held": d.held,
            "held_p": d.held_p,
            "held_site": d.held_site,
            "active": d.active,
        })).collect::<Vec<_>>(),
        "commitments": prep.commitments.iter().map(|c| json!({
            "id": c.id.as_str(),
            "remaining": decimal_f64(c.remaining()) / u,
            "positive": c.remaining() > rust_decimal::Decimal::ZERO,
            "offers": c.offers,
        })).collect::<Vec<_>>(),
        "rofr": prep.rofr.iter().map(|r| json!([r.o, r.h])).collect::<Vec<Value>>(),
    });
    Ok(serde_json::to_string(&doc).expect("JSON of plain values"))
}
