//! From a scenario and its ledger to the planning data of one buyer: usable
//! offers, segments, sources with their free capacity, held capacity and
//! demand per segment, commitments and ROFR pairs, all indexed by dense
//! integers so that building the MILP touches no hash map.

use std::collections::HashMap;

use cascade_core::{Clause, Id, Instant, Ledger, Offer, Policy, Scenario, Source};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::{ExcludedOffer, Exclusion, PlanError};

/// A usable offer.
pub(crate) struct POffer<'a> {
    pub offer: &'a Offer,
    pub provider: u32,
    pub site: u32,
    pub source: u32,
    /// H100e per GPU of the offer's class.
    pub h: f64,
    pub block: u32,
    pub max_blocks: u32,
    /// Segments `lo..hi` (indices into `cuts`) are the offer's window.
    pub lo: u32,
    pub hi: u32,
    /// Exact cost of one block for the whole window.
    pub cost_block: Decimal,
    pub cost_block_f: f64,
}

impl POffer<'_> {
    /// H100e of one block.
    pub fn h_block(&self) -> f64 {
        self.h * f64::from(self.block)
    }

    pub fn max_gpus(&self) -> u32 {
        self.block * self.max_blocks
    }
}

pub(crate) struct PSite {
    pub id: Id,
    pub provider: u32,
}

/// A capacity source: a site and class, or a backing contract.
pub(crate) struct PSource {
    pub source: Source,
    pub gpu: Id,
    pub site: u32,
    pub offers: Vec<u32>,
}

/// Σ block × n over `offers` ≤ `free`: one source over a run of segments
/// where the same offers are active.
pub(crate) struct CapRow {
    pub offers: Vec<u32>,
    pub free: i64,
}

/// GPUs of one class a buyer needs in a demand segment.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ClassNeed {
    /// Index into [`Prep::classes`].
    pub class: u32,
    /// Σ GPUs of the class demands active here.
    pub gpus: f64,
    /// GPUs of the class the buyer holds here.
    pub held: f64,
    /// (site, GPUs of the class held there), sorted by site.
    pub held_site: Vec<(u32, f64)>,
}

impl ClassNeed {
    pub fn held_at(&self, s: u32) -> f64 {
        sorted_get(&self.held_site, s)
    }
}

/// The value of `k` in pairs sorted by key, 0 when absent.
fn sorted_get(v: &[(u32, f64)], k: u32) -> f64 {
    v.binary_search_by_key(&k, |x| x.0).map_or(0.0, |i| v[i].1)
}

/// A GPU class some demand of the buyer asks for by name.
pub(crate) struct PClass {
    /// The ledger's class id (offers carry it exactly).
    pub id: Id,
    /// H100e of one GPU.
    pub h: f64,
}

/// A demand for GPUs of one class.
pub(crate) struct PClassDemand {
    /// The class as the demand writes it.
    pub written: Id,
    pub class: u32,
    pub gpus: u32,
    pub per_site: bool,
    /// Sites that could host a per-site demand: a usable offer of the class
    /// overlapping its window is there, or the buyer holds the class there.
    /// Sorted; empty unless `per_site`.
    pub sites: Vec<u32>,
    pub start: Instant,
    pub end: Instant,
}

/// Consecutive segments with demand whose rows are identical, merged.
pub(crate) struct DSeg {
    pub lo: u32,
    pub hi: u32,
    /// Every demand active here in H100e, class demands included
    /// (gpus × the class's H100e).
    pub demand: f64,
    /// Per class asked for by name, sorted by class.
    pub class_needs: Vec<ClassNeed>,
    /// Per-site class demands active here (indices into
    /// [`Prep::class_demands`]), sorted.
    pub per_site: Vec<u32>,
    pub held: f64,
    /// (provider, H100e held), sorted by provider.
    pub held_p: Vec<(u32, f64)>,
    /// (site, H100e held), sorted by site.
    pub held_site: Vec<(u32, f64)>,
    /// Usable offers active over the whole of it, in offer order.
    pub active: Vec<u32>,
}

impl DSeg {
    pub fn held_of_provider(&self, p: u32) -> f64 {
        sorted_get(&self.held_p, p)
    }

    pub fn held_of_site(&self, s: u32) -> f64 {
        sorted_get(&self.held_site, s)
    }
}

pub(crate) struct PCommit {
    pub id: Id,
    pub seller: Id,
    pub usd: Decimal,
    pub spent: Decimal,
    /// Usable offers of the seller starting inside the commitment window.
    pub offers: Vec<u32>,
}

impl PCommit {
    pub fn remaining(&self) -> Decimal {
        self.usd - self.spent
    }
}

/// Buying `o` requires `h` bought in full.
pub(crate) struct RofrPair {
    pub holder: Id,
    pub until: Instant,
    pub o: u32,
    pub h: u32,
}

pub(crate) struct Prep<'a> {
    pub buyer: Id,
    pub policy: Policy,
    /// Segment i is `[cuts[i], cuts[i + 1])`.
    pub cuts: Vec<Instant>,
    pub offers: Vec<POffer<'a>>,
    pub excluded: Vec<ExcludedOffer>,
    pub providers: Vec<Id>,
    pub sites: Vec<PSite>,
    pub sources: Vec<PSource>,
    pub cap_rows: Vec<CapRow>,
    pub dsegs: Vec<DSeg>,
    pub commitments: Vec<PCommit>,
    pub rofr: Vec<RofrPair>,
    pub classes: Vec<PClass>,
    pub class_demands: Vec<PClassDemand>,
    /// Money in the model is in units of this many USD.
    pub money_unit: f64,
    pub first_demand: Option<Instant>,
    /// Observer and experiments of this plan (`PlanOptions`).
    pub hooks: crate::Hooks,
}

/// Why the buyer may not use an offer, if it may not.
pub(crate) fn exclusion(ledger: &Ledger, buyer: &Id, o: &Offer) -> Option<Exclusion> {
    if &o.seller == buyer {
        return Some(Exclusion::OwnOffer);
    }
    for c in ledger.clauses() {
        match c {
            Clause::AvoidProvider { buyer: b, provider }
                if b == buyer && ledger.offer_root(&o.id).is_some_and(|(p, _)| p == provider) =>
            {
                return Some(Exclusion::AvoidProvider {
                    provider: provider.clone(),
                });
            }
            Clause::Exclusive {
                buyer: b,
                seller,
                until,
            } if b == buyer && o.window.start() < *until && &o.seller != seller => {
                return Some(Exclusion::Exclusive {
                    seller: seller.clone(),
                    until: *until,
                });
            }
            Clause::NoResaleTo { seller, party } if party == buyer => {
                let in_chain = &o.seller == seller
                    || match &o.source {
                        Source::BackedBy(c) => {
                            ledger.sellers_of(c).is_some_and(|ss| ss.contains(&seller))
                        }
                        Source::Site(_) => false,
                    };
                if in_chain {
                    return Some(Exclusion::NoResaleTo {
                        seller: seller.clone(),
                    });
                }
            }
            _ => {}
        }
    }
    None
}

fn policy_of(scenario: &Scenario, buyer: &Id) -> Result<Policy, PlanError> {
    let policy = scenario
        .policies
        .iter()
        .find(|(b, _)| b == buyer)
        .map(|(_, p)| p.clone())
        .unwrap_or_default();
    let bad = |message: String| PlanError::BadPolicy {
        buyer: buyer.clone(),
        message,
    };
    for (name, v) in [
        (
            "max_provider_share",
            policy.max_provider_share.map(|s| s.get()),
        ),
        (
            "min_share_after_provider_loss",
            policy.min_share_after_provider_loss.map(|s| s.get()),
        ),
    ] {
        if let Some(x) = v
            && !(x.is_finite() && (0.0..=1.0).contains(&x))
        {
            return Err(bad(format!("{name} = {x} is outside [0, 1]")));
        }
    }
    if let Some(b) = policy.budget_usd
        && b.get().is_sign_negative()
        && !b.get().is_zero()
    {
        return Err(bad(format!("budget_usd = {} is negative", b.get())));
    }
    if let Some(k) = policy.colocated_h100e
        && !(k.get().is_finite() && k.get() > 0.0)
    {
        return Err(bad(format!(
            "colocated_h100e = {} is not positive",
            k.get()
        )));
    }
    Ok(policy)
}

struct Interner {
    ids: Vec<Id>,
    ix: HashMap<Id, u32>,
}

impl Interner {
    fn new() -> Interner {
        Interner {
            ids: Vec::new(),
            ix: HashMap::new(),
        }
    }

    fn get(&mut self, id: &Id) -> (u32, bool) {
        if let Some(&i) = self.ix.get(id) {
            return (i, false);
        }
        let i = self.ids.len() as u32;
        self.ids.push(id.clone());
        self.ix.insert(id.clone(), i);
        (i, true)
    }
}

/// The providers and sites met so far, each numbered once.
struct Places {
    providers: Interner,
    site_ix: Interner,
    sites: Vec<PSite>,
}

impl Places {
    /// The indices of a provider and of a site it owns.
    fn get(&mut self, provider: &Id, site: &Id) -> (u32, u32) {
        let (p, _) = self.providers.get(provider);
        let (s, new_site) = self.site_ix.get(site);
        if new_site {
            self.sites.push(PSite {
                id: site.clone(),
                provider: p,
            });
        }
        (p, s)
    }
}

impl<'a> Prep<'a> {
    pub fn new(
        scenario: &'a Scenario,
        ledger: &'a Ledger,
        buyer: &Id,
        only: Option<&[Id]>,
    ) -> Result<Prep<'a>, PlanError> {
        if ledger.party(buyer).is_none() {
            let known: Vec<&str> = ledger.parties().iter().map(|p| p.id.as_str()).collect();
            return Err(PlanError::UnknownBuyer {
                buyer: buyer.to_string(),
                known: known.join(", "),
            });
        }
        let demands: Vec<_> = scenario
            .demands
            .iter()
            .filter(|d| &d.buyer == buyer)
            .collect();
        if demands.is_empty() {
            return Err(PlanError::NoDemand(buyer.clone()));
        }
        let policy = policy_of(scenario, buyer)?;
        // Class demands name their class as the user wrote it; the ledger
        // resolves it (case-insensitively) to the id offers carry.
        let mut classes: Vec<PClass> = Vec::new();
        let mut demand_class: Vec<Option<u32>> = Vec::with_capacity(demands.len());
        let mut demand_h100e: Vec<f64> = Vec::with_capacity(demands.len());
        for d in &demands {
            match d.gpu() {
                None => {
                    demand_class.push(None);
                    demand_h100e.push(d.h100e(0.0));
                }
                Some(name) => {
                    let g = ledger.gpu_class_named(name.as_str()).ok_or_else(|| {
                        PlanError::UnknownClass {
                            class: name.to_string(),
                            known: ledger
                                .gpu_classes()
                                .iter()
                                .map(|g| g.id.to_string())
                                .collect::<Vec<_>>()
                                .join(", "),
                        }
                    })?;
                    let c = match classes.iter().position(|c| c.id == g.id) {
                        Some(c) => c,
                        None => {
                            classes.push(PClass {
                                id: g.id.clone(),
                                h: g.h100e.get(),
                            });
                            classes.len() - 1
                        }
                    };
                    demand_class.push(Some(c as u32));
                    demand_h100e.push(d.h100e(g.h100e.get()));
                }
            }
        }
        let all_offers: Vec<&'a Offer> = ledger.offers().collect();
        if all_offers.is_empty() {
            return Err(PlanError::NoOffers);
        }

        // ---- usable offers ------------------------------------------------
        let mut usable: Vec<&'a Offer> = Vec::with_capacity(all_offers.len());
        let mut excluded = Vec::new();
        for o in &all_offers {
            match exclusion(ledger, buyer, o) {
                None => usable.push(o),
                Some(why) => excluded.push(ExcludedOffer {
                    offer: o.id.clone(),
                    seller: o.seller.clone(),
                    start: o.window.start(),
                    why,
                }),
            }
        }
        if let Some(only) = only {
            for id in only {
                if ledger.offer(id).is_none() {
                    return Err(PlanError::UnknownOffer(id.to_string()));
                }
                if let Some(x) = excluded.iter().find(|x| &x.offer == id) {
                    return Err(PlanError::OfferNotUsable {
                        buyer: buyer.clone(),
                        excluded: x.clone(),
                    });
                }
            }
            usable.retain(|o| only.contains(&o.id));
        }
        if usable.is_empty() {
            return Err(PlanError::NoUsableOffer {
                buyer: buyer.clone(),
                excluded,
            });
        }

        // ---- segments -----------------------------------------------------
        let mut lo_t = Instant::MAX;
        let mut hi_t = Instant::MIN;
        for w in usable
            .iter()
            .map(|o| o.window)
            .chain(demands.iter().map(|d| d.window))
        {
            lo_t = lo_t.min(w.start());
            hi_t = hi_t.max(w.end());
        }
        let mut cuts: Vec<Instant> = Vec::with_capacity(2 * (usable.len() + demands.len()) + 2);
        for o in &usable {
            cuts.push(o.window.start());
            cuts.push(o.window.end());
        }
        for d in &demands {
            cuts.push(d.window.start());
            cuts.push(d.window.end());
        }
        // Held capacity and free capacity change only at these instants.
        cuts.extend(
            scenario
                .capacity_breakpoints()
                .into_iter()
                .filter(|&t| lo_t < t && t < hi_t),
        );
        cuts.sort_unstable();
        cuts.dedup();
        let nseg = cuts.len() - 1;
        let seg_of = |t: Instant| cuts.binary_search(&t).expect("every window end is a cut") as u32;

        // ---- offers, providers, sites, sources -----------------------------
        let mut places = Places {
            providers: Interner::new(),
            site_ix: Interner::new(),
            sites: Vec::new(),
        };
        let mut source_ix: HashMap<(Source, Id), u32> = HashMap::new();
        let mut sources: Vec<PSource> = Vec::new();
        let mut offers: Vec<POffer<'a>> = Vec::with_capacity(usable.len());
        let mut is_boundary = vec![false; cuts.len()];
        for o in &usable {
            let (provider_id, site) = ledger.offer_root(&o.id).expect("offer in ledger");
            let (p, s) = places.get(provider_id, &site.id);
            let key = (o.source.clone(), o.gpu.clone());
            let src = match source_ix.get(&key) {
                Some(&i) => i,
                None => {
                    let i = sources.len() as u32;
                    sources.push(PSource {
                        source: o.source.clone(),
                        gpu: o.gpu.clone(),
                        site: s,
                        offers: Vec::new(),
                    });
                    source_ix.insert(key, i);
                    i
                }
            };
            let ix = offers.len() as u32;
            sources[src as usize].offers.push(ix);
            let h = ledger
                .gpu_class(&o.gpu)
                .expect("class in ledger")
                .h100e
                .get();
            let cost_block =
                Decimal::from(o.block_gpus.get()) * o.price_per_gpu_hour.get() * o.window.hours();
            let (lo, hi) = (seg_of(o.window.start()), seg_of(o.window.end()));
            is_boundary[lo as usize] = true;
            is_boundary[hi as usize] = true;
            offers.push(POffer {
                offer: o,
                provider: p,
                site: s,
                source: src,
                h,
                block: o.block_gpus.get(),
                max_blocks: o.max_blocks(),
                lo,
                hi,
                cost_block,
                cost_block_f: cost_block.to_f64().unwrap_or(f64::MAX),
            });
        }

        // ---- free capacity rows, one per run of a constant active set -------
        let mut cap_rows = Vec::new();
        let mut bounds: Vec<u32> = Vec::new();
        let mut free: Vec<i64> = Vec::new();
        for src in &sources {
            bounds.clear();
            for &oi in &src.offers {
                bounds.push(offers[oi as usize].lo);
                bounds.push(offers[oi as usize].hi);
            }
            bounds.sort_unstable();
            bounds.dedup();
            let (first, last) = (bounds[0], bounds[bounds.len() - 1]);
            free.clear();
            free.extend((first..last).map(|i| {
                ledger
                    .source_free_at(&src.source, &src.gpu, cuts[i as usize])
                    .unwrap_or(0)
            }));
            for w in bounds.windows(2) {
                let (lo, hi) = (w[0], w[1]);
                let active: Vec<u32> = src
                    .offers
                    .iter()
                    .copied()
                    .filter(|&oi| {
                        let o = &offers[oi as usize];
                        o.lo <= lo && hi <= o.hi
                    })
                    .collect();
                if active.is_empty() {
                    continue;
                }
                let most: i64 = active
                    .iter()
                    .map(|&oi| i64::from(offers[oi as usize].max_gpus()))
                    .sum();
                let min_free = free[(lo - first) as usize..(hi - first) as usize]
                    .iter()
                    .copied()
                    .min()
                    .unwrap_or(0)
                    .max(0);
                if most > min_free {
                    cap_rows.push(CapRow {
                        offers: active,
                        free: min_free,
                    });
                }
            }
        }

        // ---- demand and held capacity per segment ---------------------------
        let mut class_demands: Vec<PClassDemand> = Vec::new();
        for (d, c) in demands.iter().zip(&demand_class) {
            if let (
                Some(c),
                cascade_core::Need::Gpus {
                    gpu,
                    gpus,
                    per_site,
                },
            ) = (c, &d.need)
            {
                let mut cand: Vec<u32> = Vec::new();
                if *per_site {
                    let id = &classes[*c as usize].id;
                    cand.extend(
                        offers
                            .iter()
                            .filter(|o| &o.offer.gpu == id && o.offer.window.overlaps(&d.window))
                            .map(|o| o.site),
                    );
                    for t in scenario
                        .capacity_breakpoints()
                        .into_iter()
                        .filter(|&t| d.window.contains(t))
                        .chain([d.window.start()])
                    {
                        for h in ledger.holdings(buyer, t) {
                            if &h.gpu == id && h.gpus > 0 {
                                cand.push(places.get(&h.provider, &h.site).1);
                            }
                        }
                    }
                    cand.sort_unstable();
                    cand.dedup();
                }
                class_demands.push(PClassDemand {
                    written: gpu.clone(),
                    class: *c,
                    gpus: gpus.get(),
                    per_site: *per_site,
                    sites: cand,
                    start: d.window.start(),
                    end: d.window.end(),
                });
            }
        }
        let mut dsegs: Vec<DSeg> = Vec::new();
        let mut first_demand = None;
        for (i, &t) in cuts.iter().enumerate().take(nseg) {
            let demand: f64 = demands
                .iter()
                .zip(&demand_h100e)
                .filter(|(d, _)| d.window.contains(t))
                .map(|(_, h)| h)
                .sum();
            if demand <= 0.0 {
                continue;
            }
            let mut class_needs: Vec<ClassNeed> = Vec::new();
            let mut per_site: Vec<u32> = Vec::new();
            for (k, cd) in class_demands.iter().enumerate() {
                if !(cd.start <= t && t < cd.end) {
                    continue;
                }
                if cd.per_site {
                    per_site.push(k as u32);
                }
                match class_needs.iter_mut().find(|n| n.class == cd.class) {
                    Some(n) => n.gpus += f64::from(cd.gpus),
                    None => class_needs.push(ClassNeed {
                        class: cd.class,
                        gpus: f64::from(cd.gpus),
                        held: 0.0,
                        held_site: Vec::new(),
                    }),
                }
            }
            class_needs.sort_by_key(|n| n.class);
            first_demand.get_or_insert(t);
            let mut held = 0.0;
            let mut held_p: Vec<(u32, f64)> = Vec::new();
            let mut held_site: Vec<(u32, f64)> = Vec::new();
            for h in ledger.holdings(buyer, t) {
                held += h.h100e;
                let (p, s) = places.get(&h.provider, &h.site);
                match held_p.iter_mut().find(|x| x.0 == p) {
                    Some(x) => x.1 += h.h100e,
                    None => held_p.push((p, h.h100e)),
                }
                match held_site.iter_mut().find(|x| x.0 == s) {
                    Some(x) => x.1 += h.h100e,
                    None => held_site.push((s, h.h100e)),
                }
                if let Some(n) = class_needs
                    .iter_mut()
                    .find(|n| classes[n.class as usize].id == h.gpu)
                {
                    let g = h.gpus.max(0) as f64;
                    n.held += g;
                    match n.held_site.iter_mut().find(|x| x.0 == s) {
                        Some(x) => x.1 += g,
                        None => n.held_site.push((s, g)),
                    }
                }
            }
            held_p.sort_by_key(|x| x.0);
            held_site.sort_by_key(|x| x.0);
            for n in &mut class_needs {
                n.held_site.sort_by_key(|x| x.0);
            }
            let i = i as u32;
            if let Some(prev) = dsegs.last_mut()
                && prev.hi == i
                && !is_boundary[i as usize]
                && prev.demand == demand
                && prev.held_p == held_p
                && prev.held_site == held_site
                && prev.class_needs == class_needs
                && prev.per_site == per_site
            {
                prev.hi = i + 1;
                continue;
            }
            dsegs.push(DSeg {
                lo: i,
                hi: i + 1,
                demand,
                class_needs,
                per_site,
                held,
                held_p,
                held_site,
                active: Vec::new(),
            });
        }
        for (oi, o) in offers.iter().enumerate() {
            let start = dsegs.partition_point(|d| d.lo < o.lo);
            for d in dsegs[start..].iter_mut() {
                if d.lo >= o.hi {
                    break;
                }
                debug_assert!(
                    d.hi <= o.hi,
                    "demand segments never cross an offer boundary"
                );
                d.active.push(oi as u32);
            }
        }

        // ---- commitments ---------------------------------------------------
        let commitments = ledger
            .commitments_of(buyer)
            .into_iter()
            .map(|(c, usd, spent)| PCommit {
                id: c.id.clone(),
                seller: c.seller.clone(),
                usd,
                spent,
                offers: offers
                    .iter()
                    .enumerate()
                    .filter(|(_, o)| {
                        o.offer.seller == c.seller && c.window.contains(o.offer.window.start())
                    })
                    .map(|(i, _)| i as u32)
                    .collect(),
            })
            .collect();

        // ---- right of first refusal ------------------------------------------
        let mut rofr = Vec::new();
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
            let held_offers: Vec<u32> = (0..offers.len() as u32)
                .filter(|&i| &offers[i as usize].offer.seller == holder)
                .collect();
            for (oi, o) in offers.iter().enumerate() {
                if &o.offer.seller == holder || o.offer.window.start() >= *until {
                    continue;
                }
                for &h in &held_offers {
                    if offers[h as usize].offer.window.overlaps(&o.offer.window) {
                        rofr.push(RofrPair {
                            holder: holder.clone(),
                            until: *until,
                            o: oi as u32,
                            h,
                        });
                    }
                }
            }
        }

        let max_cost = offers.iter().map(|o| o.cost_block_f).fold(0.0f64, f64::max);
        // The largest block cost becomes 10^3..10^4 units. HiGHS's
        // primal heuristics found near-optimal plans about twice as fast
        // with costs there than with costs up to 10^5 and row bounds near
        // 10^9 (bench/README.md, "Scaling"), and HiGHS's absolute
        // feasibility tolerance (1e-6) stays below a cent per row.
        // Plain USD (`CASCADE_PLAN_EXPERIMENT=usd`) was measured on the hard
        // family of issue 15 and was not better: bench/README.md.
        let money_unit = if max_cost > 1e4 {
            10f64.powi(max_cost.log10().floor() as i32 - 3)
        } else {
            1.0
        };

        Ok(Prep {
            buyer: buyer.clone(),
            policy,
            cuts,
            offers,
            excluded,
            providers: places.providers.ids,
            sites: places.sites,
            sources,
            cap_rows,
            dsegs,
            commitments,
            rofr,
            classes,
            class_demands,
            money_unit,
            first_demand,
            hooks: crate::Hooks::default(),
        })
    }

    /// Sets the observer and experiments of one plan (the `usd`
    /// experiment puts money in plain USD).
    pub fn set_hooks(&mut self, hooks: crate::Hooks) {
        if hooks.experiment("usd") {
            self.money_unit = 1.0;
        }
        self.hooks = hooks;
    }

    pub fn seg_start(&self, d: &DSeg) -> Instant {
        self.cuts[d.lo as usize]
    }

    pub fn seg_end(&self, d: &DSeg) -> Instant {
        self.cuts[d.hi as usize]
    }

    pub fn describe(&self, d: &DSeg) -> String {
        crate::fmt::describe_window(self.seg_start(d), self.seg_end(d))
    }

    /// Providers that matter in a demand segment: held there, or with an
    /// active usable offer. Sorted, unique.
    pub fn providers_in(&self, d: &DSeg) -> Vec<u32> {
        let mut v: Vec<u32> = d.held_p.iter().map(|x| x.0).collect();
        v.extend(d.active.iter().map(|&o| self.offers[o as usize].provider));
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Sites that matter in a demand segment. Sorted, unique.
    pub fn sites_in(&self, d: &DSeg) -> Vec<u32> {
        let mut v: Vec<u32> = d.held_site.iter().map(|x| x.0).collect();
        v.extend(d.active.iter().map(|&o| self.offers[o as usize].site));
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Upper bound of the H100e that can be bought per source in a demand
    /// segment: min(Σ max GPUs of its active offers, free) × H.
    pub fn max_new_by_source(&self, ledger: &Ledger, d: &DSeg) -> Vec<(u32, f64)> {
        self.max_new_gpus_by_source(ledger, d, |_| true)
            .into_iter()
            .map(|(s, gpus)| {
                // A source holds one class, so its first offer's H is every offer's.
                let h = self.offers[self.sources[s as usize].offers[0] as usize].h;
                (s, gpus as f64 * h)
            })
            .collect()
    }

    /// Most GPUs the buyer can still buy per source in a demand segment from
    /// the active offers `keep` accepts: min(Σ max GPUs of those offers,
    /// the source's least free capacity over the segment).
    pub fn max_new_gpus_by_source(
        &self,
        ledger: &Ledger,
        d: &DSeg,
        keep: impl Fn(&POffer) -> bool,
    ) -> Vec<(u32, i64)> {
        let mut per: Vec<(u32, i64)> = Vec::new();
        for &oi in &d.active {
            let o = &self.offers[oi as usize];
            if !keep(o) {
                continue;
            }
            match per.iter_mut().find(|x| x.0 == o.source) {
                Some(x) => x.1 += i64::from(o.max_gpus()),
                None => per.push((o.source, i64::from(o.max_gpus()))),
            }
        }
        per.into_iter()
            .map(|(s, most)| {
                let src = &self.sources[s as usize];
                let free = (d.lo..d.hi)
                    .map(|i| {
                        ledger
                            .source_free_at(&src.source, &src.gpu, self.cuts[i as usize])
                            .unwrap_or(0)
                    })
                    .min()
                    .unwrap_or(0)
                    .max(0);
                (s, most.min(free))
            })
            .collect()
    }
}
