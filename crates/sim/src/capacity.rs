//! The buyer's capacity over time, per pool (root site × GPU class), from the
//! ledger, and what the pools deliver once faults are known.

use cascade_core::{Id, Ledger, OutageScope, Scenario};
use rust_decimal::Decimal;

use crate::rule;
use crate::{SimError, Span};

/// Where a gang job runs: the GPUs of one class at one root site.
#[derive(Clone, Debug, PartialEq)]
pub struct Pool {
    pub site: Id,
    pub provider: Id,
    pub gpu: Id,
    pub h100e: f64,
    pub(crate) site_ix: usize,
    pub(crate) class_ix: u16,
}

/// A site or provider going down (wholly or in part) for a span.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    pub scope: OutageScope,
    pub span: Span,
    /// Share of installed GPUs down: 1.0 for a whole-site outage.
    pub fraction: f64,
}

/// Capacity bought while the simulation runs (reprocurement): `gpus` of a
/// class at a root site for a span.
#[derive(Clone, Debug, PartialEq)]
pub struct Extra {
    pub site: Id,
    pub gpu: Id,
    pub gpus: i64,
    pub span: Span,
}

/// The part of a portfolio that does not depend on faults: net held and
/// sold per pool, piecewise constant between cuts.
#[derive(Clone, Debug)]
pub struct BaseCapacity {
    pub pools: Vec<Pool>,
    pub(crate) sites: Vec<(Id, Id)>,
    pub(crate) classes: Vec<Id>,
    pub(crate) span: Span,
    /// Segment starts (ascending, first = span.start).
    cuts: Vec<i64>,
    /// `[segment][pool]`.
    net: Vec<Vec<i64>>,
    sold: Vec<Vec<i64>>,
    installed: Vec<i64>,
    /// The buyer's cost over the span (exact).
    pub cost_usd: Decimal,
}

impl BaseCapacity {
    /// Reads the buyer's net holdings (amendments and resales counted) and
    /// what each (site, class) has sold, at every instant where either can
    /// change inside `span`.
    pub fn from_ledger(ledger: &Ledger, buyer: &Id, span: Span) -> Result<BaseCapacity, SimError> {
        if ledger.party(buyer).is_none() {
            return Err(SimError::UnknownBuyer(buyer.clone()));
        }
        let classes: Vec<Id> = ledger.gpu_classes().iter().map(|g| g.id.clone()).collect();
        let mut sites = Vec::new();
        let mut pools = Vec::new();
        let mut installed = Vec::new();
        for (si, site) in ledger.sites().enumerate() {
            sites.push((site.id.clone(), site.owner.clone()));
            for (gpu, n) in &site.gpus {
                let class_ix = classes
                    .iter()
                    .position(|c| c == gpu)
                    .expect("validated class");
                pools.push(Pool {
                    site: site.id.clone(),
                    provider: site.owner.clone(),
                    gpu: gpu.clone(),
                    h100e: ledger.gpu_class(gpu).expect("validated").h100e.get(),
                    site_ix: si,
                    class_ix: class_ix as u16,
                });
                installed.push(n.as_i64());
            }
        }
        let mut cuts = vec![span.start];
        let mut add = |t: i64| {
            if t > span.start && t < span.end {
                cuts.push(t);
            }
        };
        for c in ledger.contracts() {
            add(c.window.start().unix_seconds());
            add(c.window.end().unix_seconds());
        }
        for a in ledger.amendments() {
            add(a.effective.unix_seconds());
        }
        cuts.sort_unstable();
        cuts.dedup();
        let mut net = Vec::with_capacity(cuts.len());
        let mut sold = Vec::with_capacity(cuts.len());
        for &t in &cuts {
            let at = cascade_core::Instant::from_unix_seconds(t);
            let mut n = vec![0i64; pools.len()];
            for h in ledger.holdings(buyer, at) {
                let p = pools
                    .iter()
                    .position(|p| p.site == h.site && p.gpu == h.gpu)
                    .expect("a holding's root site has its class installed");
                n[p] += h.gpus;
            }
            let s: Vec<i64> = pools
                .iter()
                .zip(&installed)
                .map(|(p, inst)| inst - ledger.site_free_at(&p.site, &p.gpu, at).unwrap_or(*inst))
                .collect();
            net.push(n);
            sold.push(s);
        }
        Ok(BaseCapacity {
            pools,
            sites,
            classes,
            span,
            cuts,
            net,
            sold,
            installed,
            cost_usd: cost_over(ledger, buyer, span),
        })
    }

    /// Sites a fault scope takes down.
    pub(crate) fn sites_of(&self, scope: &OutageScope) -> Vec<usize> {
        self.sites
            .iter()
            .enumerate()
            .filter(|(_, (s, owner))| match scope {
                OutageScope::Site(id) => s == id,
                OutageScope::Provider(id) => owner == id,
            })
            .map(|(i, _)| i)
            .collect()
    }

    pub(crate) fn pool_of(&self, site: &Id, gpu: &Id) -> Option<usize> {
        self.pools
            .iter()
            .position(|p| &p.site == site && &p.gpu == gpu)
    }

    /// Largest number of GPUs a pool ever holds over the span (before faults).
    pub(crate) fn max_net(&self, pool: usize) -> i64 {
        self.net.iter().map(|n| n[pool]).max().unwrap_or(0)
    }

    /// What every pool delivers once the faults of one run (and any capacity
    /// bought during it) are known.
    pub fn deliver(&self, faults: &[Fault], extras: &[Extra], buckets: usize) -> Delivered {
        let span = self.span;
        let mut per_site: Vec<Vec<(i64, i64, f64)>> = vec![Vec::new(); self.sites.len()];
        for f in faults {
            for s in self.sites_of(&f.scope) {
                per_site[s].push((f.span.start, f.span.end, f.fraction));
            }
        }
        let mut extra_per_pool: Vec<Vec<(i64, i64, i64)>> = vec![Vec::new(); self.pools.len()];
        for e in extras {
            if let Some(p) = self.pool_of(&e.site, &e.gpu) {
                extra_per_pool[p].push((e.span.start, e.span.end, e.gpus));
            }
        }
        let mut out = Delivered {
            changes: Vec::new(),
            capacity_h100e_hours: 0.0,
            lost_h100e_hours: 0.0,
            usable_h100e_hours: 0.0,
            lost_series: vec![0.0; buckets],
            down: per_site.clone(),
        };
        let mut times = Vec::new();
        for (p, pool) in self.pools.iter().enumerate() {
            times.clear();
            times.extend_from_slice(&self.cuts);
            for &(s, e, _) in &per_site[pool.site_ix] {
                times.push(s.clamp(span.start, span.end));
                times.push(e.clamp(span.start, span.end));
            }
            for &(s, e, _) in &extra_per_pool[p] {
                times.push(s.clamp(span.start, span.end));
                times.push(e.clamp(span.start, span.end));
            }
            times.retain(|&t| t < span.end);
            times.sort_unstable();
            times.dedup();
            let mut last = -1i64;
            for (i, &a) in times.iter().enumerate() {
                let b = times.get(i + 1).copied().unwrap_or(span.end);
                let seg = self.cuts.partition_point(|&c| c <= a) - 1;
                let extra: i64 = extra_per_pool[p]
                    .iter()
                    .filter(|(s, e, _)| *s <= a && a < *e)
                    .map(|x| x.2)
                    .sum();
                let net = self.net[seg][p] + extra;
                let frac = per_site[pool.site_ix]
                    .iter()
                    .filter(|(s, e, _)| *s <= a && a < *e)
                    .fold(0.0f64, |m, x| m.max(x.2));
                let avail = self.installed[p] as f64 * (1.0 - frac);
                let (usable, lost) = rule::deliver(net, avail, self.sold[seg][p] + extra);
                let hours = (b - a) as f64 / 3600.0;
                out.capacity_h100e_hours += net as f64 * pool.h100e * hours;
                out.lost_h100e_hours += lost * pool.h100e * hours;
                out.usable_h100e_hours += usable as f64 * pool.h100e * hours;
                spread(&mut out.lost_series, span, a, b, lost * pool.h100e * hours);
                if usable != last {
                    out.changes.push((a, p as u32, usable));
                    last = usable;
                }
            }
        }
        out.changes.sort_unstable();
        out
    }
}

/// What the pools deliver in one run.
#[derive(Clone, Debug)]
pub struct Delivered {
    /// `(t, pool, usable GPUs from t on)`, sorted by time.
    pub changes: Vec<(i64, u32, i64)>,
    pub capacity_h100e_hours: f64,
    pub lost_h100e_hours: f64,
    /// Whole GPUs the scheduler may use, integrated (≤ capacity − lost).
    pub usable_h100e_hours: f64,
    pub lost_series: Vec<f64>,
    /// Per site: `(start, end, fraction)` of every fault, for the self-check.
    pub(crate) down: Vec<Vec<(i64, i64, f64)>>,
}

/// Adds `amount`, spread evenly over `[a, b)`, to equal-width buckets of `span`.
pub(crate) fn spread(series: &mut [f64], span: Span, a: i64, b: i64, amount: f64) {
    let n = series.len();
    if n == 0 || b <= a || amount == 0.0 {
        return;
    }
    let width = (span.end - span.start) as f64 / n as f64;
    let per_s = amount / (b - a) as f64;
    let mut t = a;
    while t < b {
        let k = (((t - span.start) as f64 / width) as usize).min(n - 1);
        let edge = if k + 1 == n {
            b
        } else {
            (span.start as f64 + (k + 1) as f64 * width).ceil() as i64
        };
        let end = edge.clamp(t + 1, b);
        series[k] += per_s * (end - t) as f64;
        t = end;
    }
}

/// What the buyer pays for its contracts inside `span`: Σ amount × price ×
/// hours over each contract's pieces (cut at amendments), exact.
pub fn cost_over(ledger: &Ledger, buyer: &Id, span: Span) -> Decimal {
    let mut total = Decimal::ZERO;
    for c in ledger.contracts().filter(|c| &c.buyer == buyer) {
        let info = ledger.contract(&c.id).expect("listed contract");
        let s = c.window.start().unix_seconds().max(span.start);
        let e = c.window.end().unix_seconds().min(span.end);
        if s >= e {
            continue;
        }
        let mut pts: Vec<i64> = vec![s, e];
        pts.extend(
            info.amendments
                .iter()
                .map(|(t, _)| t.unix_seconds())
                .filter(|t| *t > s && *t < e),
        );
        pts.sort_unstable();
        pts.dedup();
        for w in pts.windows(2) {
            let amount = ledger
                .amount(&c.id, cascade_core::Instant::from_unix_seconds(w[0]))
                .unwrap_or(0);
            total +=
                Decimal::from(amount) * c.price_per_gpu_hour.get() * Decimal::from(w[1] - w[0])
                    / Decimal::from(3600);
        }
    }
    total
}

/// The scenario's own outages as faults (whole sites).
pub fn scenario_faults(s: &Scenario) -> Vec<Fault> {
    s.outages
        .iter()
        .map(|o| Fault {
            scope: o.scope.clone(),
            span: Span {
                start: o.window.start().unix_seconds(),
                end: o.window.end().unix_seconds(),
            },
            fraction: 1.0,
        })
        .collect()
}
