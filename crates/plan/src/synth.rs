//! Large synthetic planning scenarios built from a real price catalog, for
//! benchmarks (`crates/plan/benches/plan.rs`, `bench/plan/run.sh`).
//!
//! From the catalog ([`crate::import_skypilot`]): one base offer per
//! cloud/region/GPU class at its best per-GPU price of any instance size,
//! in blocks of `block_gpus` (the shape the benchmark was first measured
//! on: marketplaces as their own providers, no TPU slices). Then:
//!
//! - **Providers**: a cloud has few physical providers in the catalog, so
//!   each cloud is split by the first word of its region into synthetic
//!   providers (`aws-us`, `aws-eu`, `gcp-asia`, `runpod-se`, …). The sites
//!   (one per cloud/region) are owned by them.
//! - **Offers**: every base offer is sold in `windows_per_offer` staggered
//!   terms of `term_months` months over a horizon of `months` months, at
//!   slightly different prices; terms of one site and class overlap, so they
//!   compete for the site's free capacity.
//! - **Buyer** `frontier-lab` holds contracts at a few H100 sites of one
//!   provider (so those sites have less free), has a monthly ramp of demand
//!   (12,000 to 48,000 H100e),
//!   a commitment, a policy with every field set, and clauses of every kind:
//!   exclusive (ending when the horizon starts, so it binds the held
//!   contracts only), ROFR of the broker (first 6 months), no_resale_to and
//!   avoid_provider.
//! - **Reseller** `broker` holds resellable contracts at a few sites and
//!   offers them on (`backed_by`), so resale sources are in the model too.

use cascade_core::{
    Clause, Commitment, Contract, Demand, Gpus, Id, Instant, Need, Offer, Party, Policy, Positive,
    Scenario, Share, Source, Usd, UsdPerGpuHour, Window,
};
use rust_decimal::Decimal;

use crate::skypilot::normalise_id;
use crate::{ImportError, ImportOptions, import_skypilot};

/// Shape of the synthetic scenario.
#[derive(Clone, Debug)]
pub struct SynthOptions {
    /// Horizon in months (segments are months).
    pub months: u32,
    pub start_year: i32,
    pub start_month: u8,
    /// GPUs installed per site and class.
    pub capacity_gpus: u32,
    /// GPUs per offer.
    pub offer_gpus: u32,
    pub block_gpus: u32,
    /// Offers per catalog cloud/region/class, at staggered starts.
    pub windows_per_offer: u32,
    pub term_months: u32,
}

impl Default for SynthOptions {
    fn default() -> SynthOptions {
        SynthOptions {
            months: 36,
            start_year: 2026,
            start_month: 1,
            capacity_gpus: 1536,
            offer_gpus: 1024,
            block_gpus: 8,
            windows_per_offer: 4,
            term_months: 12,
        }
    }
}

pub const BUYER: &str = "frontier-lab";
pub const BROKER: &str = "broker";

fn month(o: &SynthOptions, m: u32) -> Instant {
    let k = i64::from(o.start_month) - 1 + i64::from(m);
    Instant::from_date(o.start_year + (k / 12) as i32, (k % 12) as u8 + 1, 1).expect("valid date")
}

fn id(s: &str) -> Id {
    Id::new(&normalise_id(s)).expect("normalised")
}

/// One offer per site and GPU class at the best per-GPU price of its
/// instance sizes, in blocks of `o.block_gpus`; TPU classes left out.
fn base_offers(s: &mut Scenario, o: &SynthOptions) {
    let is_tpu = |g: &Id| g.as_str().starts_with("tpu-");
    let block = Gpus::new("block_gpus", i64::from(o.block_gpus)).expect("positive");
    let mut at: std::collections::HashMap<(Id, Id), usize> = std::collections::HashMap::new();
    let mut kept: Vec<Offer> = Vec::new();
    for mut off in std::mem::take(&mut s.offers) {
        let Source::Site(site) = &off.source else {
            continue;
        };
        if is_tpu(&off.gpu) {
            continue;
        }
        match at.get(&(site.clone(), off.gpu.clone())) {
            Some(&i) => {
                if off.price_per_gpu_hour.get() < kept[i].price_per_gpu_hour.get() {
                    kept[i].price_per_gpu_hour = off.price_per_gpu_hour;
                }
            }
            None => {
                at.insert((site.clone(), off.gpu.clone()), kept.len());
                off.id = id(&format!("{}-{}", site, off.gpu));
                off.block_gpus = block;
                kept.push(off);
            }
        }
    }
    s.offers = kept;
    s.contracts.clear();
    s.gpus.retain(|g| !is_tpu(&g.id));
    for site in &mut s.sites {
        site.gpus.retain(|(g, _)| !is_tpu(g));
    }
    s.sites.retain(|x| !x.gpus.is_empty());
}

/// A synthetic planning scenario from a SkyPilot catalog CSV.
pub fn bench_scenario<R: std::io::Read>(csv: R, o: &SynthOptions) -> Result<Scenario, ImportError> {
    let horizon = Window::new(month(o, 0), month(o, o.months)).expect("months > 0");
    let imported = import_skypilot(
        csv,
        "catalog",
        None,
        &ImportOptions {
            capacity_gpus: o.capacity_gpus,
            instance_gpus: None,
            window: horizon,
            name: "bench-plan".into(),
            marketplaces_as_resellers: false,
        },
    )?;
    let mut s = imported.scenario;
    base_offers(&mut s, o);
    s.name = format!(
        "bench-plan: {} months, synthetic providers from the SkyPilot catalog",
        o.months
    );

    // Synthetic providers: cloud + first word of the region.
    let mut providers: Vec<Id> = Vec::new();
    for site in &mut s.sites {
        let word = site.region.split(['-', '_', ' ']).next().unwrap_or("x");
        let p = id(&format!("{}-{}", site.owner, word));
        if !providers.contains(&p) {
            providers.push(p.clone());
        }
        site.owner = p;
    }
    s.parties = providers
        .iter()
        .map(|p| Party {
            id: p.clone(),
            name: None,
        })
        .collect();
    for p in [BUYER, BROKER] {
        s.parties.push(Party {
            id: Id::new(p).expect("valid"),
            name: None,
        });
    }
    let owner_of = |s: &Scenario, site: &Id| -> Id {
        s.sites
            .iter()
            .find(|x| &x.id == site)
            .expect("site exists")
            .owner
            .clone()
    };

    // Staggered terms of every base offer.
    let base = std::mem::take(&mut s.offers);
    let w = o.windows_per_offer.max(1);
    let step = (o.months / w).max(1);
    let offer_gpus = Gpus::new("max_gpus", i64::from(o.offer_gpus)).expect("positive");
    for (k, b) in base.iter().enumerate() {
        let Source::Site(site) = &b.source else {
            continue;
        };
        let seller = owner_of(&s, site);
        // Terms every `step` months, shifted per base offer; the first
        // starts at month 0 (cut short), the last ends at the horizon.
        let shift = (k as u32 * 7) % step;
        for j in 0..w {
            let m0 = (j * step).saturating_sub(shift);
            let m1 = (j * step + o.term_months)
                .saturating_sub(shift)
                .min(o.months);
            if m1 <= m0 {
                continue;
            }
            let bump = Decimal::new(100 + 3 * ((k as i64 + i64::from(j)) % 5), 2);
            let price = (b.price_per_gpu_hour.get() * bump).round_dp(6).normalize();
            let stem: String = b.id.as_str().chars().take(58).collect();
            s.offers.push(Offer {
                id: Id::new(&format!("{stem}-t{j}")).expect("valid"),
                seller: seller.clone(),
                gpu: b.gpu.clone(),
                max_gpus: offer_gpus,
                block_gpus: b.block_gpus,
                window: Window::new(month(o, m0), month(o, m1)).expect("m0 < m1"),
                price_per_gpu_hour: UsdPerGpuHour::new("price", price).expect("≥ 0"),
                source: b.source.clone(),
            });
        }
    }

    // Sites with H100s: the buyer holds some at the provider with the most
    // of them (its exclusive seller for the first month), the broker resells
    // capacity of others.
    let h100 = Id::new_gpu_class("H100").expect("valid");
    let h100_sites: Vec<(Id, Id, Decimal)> = base
        .iter()
        .filter(|b| b.gpu == h100)
        .filter_map(|b| match &b.source {
            Source::Site(site) => {
                Some((site.clone(), owner_of(&s, site), b.price_per_gpu_hour.get()))
            }
            Source::BackedBy(_) => None,
        })
        .collect();
    let anchor: Id = {
        let mut best: Option<(usize, Id)> = None;
        for (_, p, _) in &h100_sites {
            let n = h100_sites.iter().filter(|x| &x.1 == p).count();
            if best
                .as_ref()
                .is_none_or(|b| n > b.0 || (n == b.0 && p < &b.1))
            {
                best = Some((n, p.clone()));
            }
        }
        best.map_or_else(|| providers[0].clone(), |b| b.1)
    };
    let buyer = Id::new(BUYER).expect("valid");
    let broker = Id::new(BROKER).expect("valid");
    let held_gpus = Gpus::new("gpus", i64::from(o.capacity_gpus / 3)).expect("positive");
    let block = Gpus::new("block", i64::from(o.block_gpus)).expect("positive");
    // Held since six months before the horizon, under the exclusive clause.
    let before = {
        let k = i64::from(o.start_month) - 1 - 6;
        let (y, m) = (
            o.start_year + k.div_euclid(12) as i32,
            k.rem_euclid(12) as u8 + 1,
        );
        Instant::from_date(y, m, 1).expect("valid date")
    };
    for (site, seller, price) in h100_sites.iter().filter(|x| x.1 == anchor).take(3) {
        s.contracts.push(Contract {
            id: id(&format!("held-{site}")),
            seller: seller.clone(),
            buyer: buyer.clone(),
            gpu: h100.clone(),
            gpus: held_gpus,
            window: Window::new(before, month(o, o.months / 2)).expect("non-empty"),
            price_per_gpu_hour: UsdPerGpuHour::new("price", *price).expect("≥ 0"),
            source: Source::Site(site.clone()),
            resale: false,
        });
    }
    let mut resold_from: Vec<Id> = Vec::new();
    for (site, seller, price) in h100_sites.iter().filter(|x| x.1 != anchor).take(8) {
        let cid = id(&format!("broker-{site}"));
        resold_from.push(seller.clone());
        s.contracts.push(Contract {
            id: cid.clone(),
            seller: seller.clone(),
            buyer: broker.clone(),
            gpu: h100.clone(),
            gpus: held_gpus,
            window: horizon,
            price_per_gpu_hour: UsdPerGpuHour::new("price", *price).expect("≥ 0"),
            source: Source::Site(site.clone()),
            resale: true,
        });
        let half = o.months / 2;
        for (j, (m0, m1)) in [(0, half), (half, o.months)].into_iter().enumerate() {
            s.offers.push(Offer {
                id: id(&format!("broker-{site}-t{j}")),
                seller: broker.clone(),
                gpu: h100.clone(),
                max_gpus: held_gpus,
                block_gpus: block,
                window: Window::new(month(o, m0), month(o, m1)).expect("non-empty"),
                price_per_gpu_hour: UsdPerGpuHour::new(
                    "price",
                    (*price * Decimal::new(108, 2)).round_dp(6).normalize(),
                )
                .expect("≥ 0"),
                source: Source::BackedBy(cid.clone()),
            });
        }
    }

    // Demand: a monthly ramp from 12,000 to 48,000 H100e.
    for m in 0..o.months {
        let x = 12_000.0 + 36_000.0 * f64::from(m) / f64::from(o.months.max(2) - 1);
        s.demands.push(Demand {
            buyer: buyer.clone(),
            window: Window::new(month(o, m), month(o, m + 1)).expect("non-empty"),
            need: Need::H100e(Positive::new("h100e", x.round()).expect("positive")),
        });
    }

    // Avoided: a provider with few offers that is neither the anchor nor a
    // source of the broker.
    let mut count: Vec<(Id, usize)> = providers
        .iter()
        .map(|p| {
            (
                p.clone(),
                s.offers.iter().filter(|x| &x.seller == p).count(),
            )
        })
        .collect();
    count.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    let avoided = count
        .iter()
        .find(|x| x.1 >= 1 && x.0 != anchor && !resold_from.contains(&x.0))
        .map_or(anchor.clone(), |x| x.0.clone());

    s.commitments.push(Commitment {
        id: id(&format!("{BUYER}-{anchor}")),
        buyer: buyer.clone(),
        seller: anchor.clone(),
        window: horizon,
        usd: Usd::new("usd", Decimal::from(400_000_000u64)).expect("≥ 0"),
    });
    // Exclusive with the anchor until the horizon starts: it binds the held
    // contracts (validate checks them); an exclusive period inside the
    // horizon would make a 25% provider-share cap impossible there.
    s.clauses.push(Clause::Exclusive {
        buyer: buyer.clone(),
        seller: anchor.clone(),
        until: month(o, 0),
    });
    // The broker holds a right of first refusal for six months: buying any
    // other offer starting then requires the broker's overlapping offers
    // bought in full (its terms never exceed its contracts, so it can be).
    s.clauses.push(Clause::Rofr {
        buyer: buyer.clone(),
        holder: broker.clone(),
        until: month(o, 6),
    });
    if let Some(p) = resold_from.first() {
        s.clauses.push(Clause::NoResaleTo {
            seller: p.clone(),
            party: buyer.clone(),
        });
    }
    s.clauses.push(Clause::AvoidProvider {
        buyer: buyer.clone(),
        provider: avoided,
    });
    s.policies.push((
        buyer,
        Policy {
            max_provider_share: Some(Share::new("max_provider_share", 0.25).expect("share")),
            min_share_after_provider_loss: Some(
                Share::new("min_share_after_provider_loss", 0.85).expect("share"),
            ),
            colocated_h100e: Some(Positive::new("colocated_h100e", 1500.0).expect("positive")),
            budget_usd: Some(
                Usd::new("budget_usd", Decimal::from(20_000_000_000u64)).expect("≥ 0"),
            ),
        },
    ));
    Ok(s)
}
