//! JSON renderings of the core's reports (exposure, chain) in the exact shapes
//! of the spec; shared by the CLI and the HTTP service.

use cascade_core::{Chain, Exposure, Ledger, Resold, format_usd};
use serde_json::{Value, json};

/// Shares and ratios are printed with four decimals, as in the spec's examples.
pub fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// H100e keeps what the class ratios give, trimmed of float noise.
pub fn round_h100e(x: f64) -> f64 {
    (x * 1_000_000.0).round() / 1_000_000.0
}

pub fn exposure_json(e: &Exposure) -> Value {
    let row = |r: &cascade_core::Row| json!({"id": r.id.as_str(), "gpus": r.gpus, "h100e": round_h100e(r.h100e), "share": round4(r.share)});
    json!({
        "buyer": e.buyer.as_str(),
        "at": e.at.to_string(),
        "total": {"gpus": e.total_gpus, "h100e": round_h100e(e.total_h100e)},
        "by_provider": e.by_provider.iter().map(row).collect::<Vec<_>>(),
        "by_counterparty": e.by_counterparty.iter().map(row).collect::<Vec<_>>(),
        "by_site": e.by_site.iter().map(|s| json!({
            "id": s.id.as_str(), "provider": s.provider.as_str(), "region": s.region,
            "gpus": s.gpus, "h100e": round_h100e(s.h100e), "share": round4(s.share)
        })).collect::<Vec<_>>(),
        "hhi": round4(e.hhi),
        "n_minus_1": e.n_minus_1.iter().map(|l| json!({
            "lost": l.lost.as_str(), "remaining_h100e": round_h100e(l.remaining_h100e),
            "remaining_share": round4(l.remaining_share)
        })).collect::<Vec<_>>(),
        "commitments": e.commitments.iter().map(|c| json!({
            "id": c.id.as_str(), "seller": c.seller.as_str(), "usd": format_usd(c.usd),
            "spent_usd": format_usd(c.spent_usd), "remaining_usd": format_usd(c.remaining_usd)
        })).collect::<Vec<_>>(),
        "flags": e.flags,
    })
}

fn contract_json(l: &Ledger, c: &cascade_core::Contract) -> Value {
    let mut v = json!({
        "id": c.id.as_str(),
        "seller": c.seller.as_str(),
        "buyer": c.buyer.as_str(),
        "gpu": c.gpu.as_str(),
        "gpus": c.gpus.get(),
        "start": c.window.start().to_string(),
        "end": c.window.end().to_string(),
        "price_per_gpu_hour": format_usd(c.price_per_gpu_hour.get()),
        "resale": c.resale,
    });
    if let Some(info) = l.contract(&c.id)
        && !info.amendments.is_empty()
    {
        v["amendments"] = info
            .amendments
            .iter()
            .map(|(eff, g)| json!({"effective": eff.to_string(), "gpus": g}))
            .collect();
    }
    match &c.source {
        cascade_core::Source::Site(s) => v["site"] = json!(s.as_str()),
        cascade_core::Source::BackedBy(b) => v["backed_by"] = json!(b.as_str()),
    }
    v
}

/// Nesting deeper than this is cut (and said so): JSON values are built,
/// printed and dropped recursively, and resale trees come from user files.
const MAX_JSON_DEPTH: usize = 64;

fn resold_json(l: &Ledger, r: &Resold, depth: usize) -> Value {
    let mut v = contract_json(l, r.contract);
    if depth >= MAX_JSON_DEPTH && !r.resold.is_empty() {
        v["resold_truncated"] = json!(r.resold.len());
        return v;
    }
    v["resold"] = r
        .resold
        .iter()
        .map(|x| resold_json(l, x, depth + 1))
        .collect();
    v
}

pub fn chain_json(l: &Ledger, chain: &Chain, resold: &Resold) -> Value {
    json!({
        "contract": chain.links[0].id.as_str(),
        "physical_provider": chain.provider.as_str(),
        "root_site": chain.root_site.id.as_str(),
        "region": chain.root_site.region,
        "sellers": chain.links.iter().map(|c| c.seller.as_str()).collect::<Vec<_>>(),
        "chain": chain.links.iter().map(|c| contract_json(l, c)).collect::<Vec<_>>(),
        "resold": resold.resold.iter().map(|x| resold_json(l, x, 1)).collect::<Vec<_>>(),
    })
}
