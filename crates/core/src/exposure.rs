//! Exposure: how concentrated a buyer's capacity really is, once resale
//! chains are traced to the physical provider and site behind them.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::ledger::{FxMap, Ledger};
use crate::model::Clause;
use crate::types::{Id, Instant};

/// One entry of a breakdown (provider or counterparty).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub id: Id,
    pub gpus: i64,
    pub h100e: f64,
    pub share: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SiteRow {
    pub id: Id,
    pub provider: Id,
    pub region: String,
    pub gpus: i64,
    pub h100e: f64,
    pub share: f64,
}

/// What is left after losing one physical provider.
#[derive(Clone, Debug, PartialEq)]
pub struct LossRow {
    pub lost: Id,
    pub remaining_h100e: f64,
    pub remaining_share: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CommitmentRow {
    pub id: Id,
    pub seller: Id,
    pub usd: Decimal,
    pub spent_usd: Decimal,
    pub remaining_usd: Decimal,
}

/// Capacity behind several counterparties that sits with one physical provider.
#[derive(Clone, Debug, PartialEq)]
pub struct HiddenConcentration {
    pub provider: Id,
    pub counterparties: Vec<Id>,
    pub h100e: f64,
    pub share: f64,
}

/// Delivery risk: held capacity that depends on expansions taking effect
/// after `asof`, by the physical provider of the site they are built at.
///
/// With installed₀(s, k, t) = installed from the site and its expansions
/// effective at or before min(t, asof), and sold(s, k, t) = Σ amount of the
/// contracts sold directly from (s, k) at t, every contract rooted at
/// (s, k), at any depth of resale, gets f₀ = min(1, installed₀ / sold)
/// (1 when nothing is sold) of its net; unbuilt = Σ net × (1 − f₀) × h100e.
#[derive(Clone, Debug, PartialEq)]
pub struct Unbuilt {
    pub asof: Instant,
    pub h100e: f64,
    /// Over the buyer's total H100e.
    pub share: f64,
    /// Providers with unbuilt capacity, by H100e descending, then id.
    pub by_provider: Vec<UnbuiltRow>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct UnbuiltRow {
    pub id: Id,
    pub h100e: f64,
    /// Over the buyer's total H100e.
    pub share: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Exposure {
    pub buyer: Id,
    pub at: Instant,
    pub total_gpus: i64,
    pub total_h100e: f64,
    pub by_provider: Vec<Row>,
    pub by_counterparty: Vec<Row>,
    pub by_site: Vec<SiteRow>,
    /// Σ share² over physical providers, by H100e.
    pub hhi: f64,
    pub n_minus_1: Vec<LossRow>,
    pub commitments: Vec<CommitmentRow>,
    pub flags: Vec<String>,
    /// Physical providers that stand behind more than one counterparty.
    pub hidden: Vec<HiddenConcentration>,
    /// Per counterparty, the physical providers its capacity sits with.
    pub providers_behind: BTreeMap<Id, Vec<Id>>,
    pub unbuilt: Unbuilt,
}

/// H100e as the flag line prints it: whole when whole, else one decimal.
fn h100e_text(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

fn pct_text(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

fn share(part: f64, total: f64) -> f64 {
    if total > 0.0 { part / total } else { 0.0 }
}

/// Descending H100e, then id: the order every list of the exposure uses.
fn by_h100e_then_id<T>(v: &mut [T], key: impl Fn(&T) -> (f64, &Id)) {
    v.sort_by(|a, b| {
        let (ha, ia) = key(a);
        let (hb, ib) = key(b);
        hb.total_cmp(&ha).then_with(|| ia.cmp(ib))
    });
}

impl Ledger {
    /// Exposure of `buyer` at `t`, as of `t` itself: nothing held at `t` is
    /// counted as not yet built (every expansion effective by `t` counts as
    /// built). For the spec's delivery risk (as of now) use [`Ledger::exposure_asof`].
    pub fn exposure(&self, buyer: &Id, t: Instant) -> Exposure {
        self.exposure_asof(buyer, t, t)
    }

    /// f₀ of a site's class at `t` as of `asof` (see [`Unbuilt`]).
    fn built_fraction(&self, site: u32, gpu: u32, t: Instant, asof: Instant) -> f64 {
        let Some(k) = self.sites[site as usize].class(gpu) else {
            return 1.0;
        };
        let ts = t.unix_seconds();
        let installed = self.forest.value_at(&k.installed, ts);
        let sold = installed - self.forest.value_at(&k.free, ts);
        if sold <= 0 {
            return 1.0;
        }
        let installed0 = self
            .forest
            .value_at(&k.installed, ts.min(asof.unix_seconds()));
        (installed0 as f64 / sold as f64).min(1.0)
    }

    /// Exposure of `buyer` at `t`, with capacity that depends on expansions
    /// effective after `asof` counted as not yet built. An unknown buyer has
    /// an empty exposure.
    pub fn exposure_asof(&self, buyer: &Id, t: Instant, asof: Instant) -> Exposure {
        // Aggregate by dense index first: exposure of a buyer with 100,000
        // contracts must not clone ids or compare strings per contract.
        let mut by_p: FxMap<u32, (i64, f64)> = FxMap::default();
        let mut by_c: FxMap<u32, (i64, f64)> = FxMap::default();
        let mut by_s: FxMap<u32, (i64, f64)> = FxMap::default();
        let mut pairs: FxMap<(u32, u32), ()> = FxMap::default();
        // f₀ per (site, class): a handful of sources behind 100k contracts.
        let mut built: FxMap<(u32, u32), f64> = FxMap::default();
        let mut unbuilt_by_p: FxMap<u32, f64> = FxMap::default();
        let (mut total_gpus, mut total_h100e) = (0i64, 0f64);
        self.for_each_held(buyer, t, |h| {
            total_gpus += h.gpus;
            total_h100e += h.h100e;
            let f0 = *built
                .entry((h.site, h.gpu))
                .or_insert_with(|| self.built_fraction(h.site, h.gpu, t, asof));
            if f0 < 1.0 {
                *unbuilt_by_p.entry(h.provider).or_default() += h.h100e * (1.0 - f0);
            }
            for (m, k) in [
                (&mut by_p, h.provider),
                (&mut by_c, h.seller),
                (&mut by_s, h.site),
            ] {
                let e = m.entry(k).or_default();
                e.0 += h.gpus;
                e.1 += h.h100e;
            }
            pairs.insert((h.provider, h.seller), ());
        });
        let named = |m: FxMap<u32, (i64, f64)>| -> BTreeMap<&Id, (i64, f64)> {
            m.into_iter().map(|(k, v)| (self.party_id(k), v)).collect()
        };
        let provider = named(by_p);
        let counterparty = named(by_c);
        let site: BTreeMap<&Id, (&Id, &str, i64, f64)> = by_s
            .into_iter()
            .map(|(k, (g, h))| {
                let s = self.site_at(k);
                (&s.id, (&s.owner, s.region.as_str(), g, h))
            })
            .collect();
        let mut behind: BTreeMap<&Id, Vec<&Id>> = BTreeMap::new();
        let mut providers_behind: BTreeMap<Id, Vec<Id>> = BTreeMap::new();
        for &(p, c) in pairs.keys() {
            behind
                .entry(self.party_id(p))
                .or_default()
                .push(self.party_id(c));
            providers_behind
                .entry(self.party_id(c).clone())
                .or_default()
                .push(self.party_id(p).clone());
        }
        for v in providers_behind.values_mut() {
            v.sort();
        }
        let rows = |m: BTreeMap<&Id, (i64, f64)>| {
            let mut v: Vec<Row> = m
                .into_iter()
                .map(|(id, (gpus, h100e))| Row {
                    id: id.clone(),
                    gpus,
                    h100e,
                    share: share(h100e, total_h100e),
                })
                .collect();
            by_h100e_then_id(&mut v, |r| (r.h100e, &r.id));
            v
        };
        let by_provider = rows(provider);
        let by_counterparty = rows(counterparty);
        let mut by_site: Vec<SiteRow> = site
            .into_iter()
            .map(|(id, (p, region, gpus, h100e))| SiteRow {
                id: id.clone(),
                provider: p.clone(),
                region: region.to_string(),
                gpus,
                h100e,
                share: share(h100e, total_h100e),
            })
            .collect();
        by_h100e_then_id(&mut by_site, |r| (r.h100e, &r.id));
        // A float sum of nothing is -0.0, which prints as "-0.0000"; adding
        // 0.0 makes it 0 and changes no other value.
        let hhi = by_provider.iter().map(|r| r.share * r.share).sum::<f64>() + 0.0;
        let n_minus_1 = by_provider
            .iter()
            .map(|r| {
                let remaining = total_h100e - r.h100e;
                LossRow {
                    lost: r.id.clone(),
                    remaining_h100e: remaining,
                    remaining_share: share(remaining, total_h100e),
                }
            })
            .collect();
        let commitments = self
            .commitments_of(buyer)
            .into_iter()
            .map(|(c, usd, spent)| CommitmentRow {
                id: c.id.clone(),
                seller: c.seller.clone(),
                usd,
                spent_usd: spent,
                remaining_usd: (usd - spent).max(Decimal::ZERO),
            })
            .collect();
        let mut flags = Vec::new();
        for c in self.clauses() {
            if let Clause::AvoidProvider {
                buyer: b,
                provider: p,
            } = c
                && b == buyer
                && by_provider.iter().any(|r| &r.id == p)
            {
                flags.push(format!("holds capacity from avoided provider {p}"));
            }
        }
        let hidden = by_provider
            .iter()
            .filter_map(|r| {
                let cps = &behind[&r.id];
                (cps.len() > 1).then(|| {
                    let mut counterparties: Vec<Id> = cps.iter().map(|c| (*c).clone()).collect();
                    counterparties.sort();
                    HiddenConcentration {
                        provider: r.id.clone(),
                        counterparties,
                        h100e: r.h100e,
                        share: r.share,
                    }
                })
            })
            .collect();
        let mut unbuilt_rows: Vec<UnbuiltRow> = unbuilt_by_p
            .into_iter()
            .map(|(p, h100e)| UnbuiltRow {
                id: self.party_id(p).clone(),
                h100e,
                share: share(h100e, total_h100e),
            })
            .collect();
        by_h100e_then_id(&mut unbuilt_rows, |r| (r.h100e, &r.id));
        // fold from +0.0: an empty f64 sum is -0.0, which would print as "-0".
        let unbuilt_h100e = unbuilt_rows.iter().fold(0.0, |a, r| a + r.h100e);
        let unbuilt = Unbuilt {
            asof,
            h100e: unbuilt_h100e,
            share: share(unbuilt_h100e, total_h100e),
            by_provider: unbuilt_rows,
        };
        if unbuilt.h100e > 0.0 {
            flags.push(format!(
                "NOT YET BUILT: {} H100e ({}) of the capacity held at {t} depends on expansions after {asof}: {}",
                h100e_text(unbuilt.h100e),
                pct_text(unbuilt.share),
                unbuilt
                    .by_provider
                    .iter()
                    .map(|r| format!(
                        "{} {} H100e ({})",
                        r.id,
                        h100e_text(r.h100e),
                        pct_text(r.share)
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Exposure {
            buyer: buyer.clone(),
            at: t,
            total_gpus,
            total_h100e,
            by_provider,
            by_counterparty,
            by_site,
            hhi,
            n_minus_1,
            commitments,
            flags,
            hidden,
            providers_behind,
            unbuilt,
        }
    }
}
