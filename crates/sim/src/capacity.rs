//! The buyer's capacity over time, per pool (root site × GPU class), from the
//! ledger, and what the pools deliver once a run's faults are known.
//!
//! The delivery rule is core's ([`cascade_core::Piece`]): for each stretch
//! of time this module states the root's installed, down and sold GPUs and
//! asks the piece for f. It builds the pieces itself, rather than through
//! [`cascade_core::Delivery`], because a run changes two inputs the ledger
//! does not hold: installed capacity lowered by a build-out slip, and
//! capacity bought during the run (reprocurement), which counts as sold.

use cascade_core::{Id, Instant, Ledger, Outage, OutageScope, Piece, Window};
use rust_decimal::Decimal;

use crate::{SimError, Span};

/// A fault: core's outage (a site, or every site of a provider, wholly or
/// in part, for a window).
pub type Fault = Outage;

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

/// Capacity bought while the simulation runs (reprocurement): `gpus` of a
/// class at a root site for a span.
#[derive(Clone, Debug, PartialEq)]
pub struct Extra {
    /// The offer it was bought from, if any (so later purchases in the same
    /// run do not buy the same GPUs again).
    pub offer: Option<Id>,
    pub site: Id,
    pub gpu: Id,
    pub gpus: i64,
    pub span: Span,
}

/// A build-out phase that comes online late: the expansion's GPUs are not
/// installed during `[effective, effective + delay_s)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Slip {
    pub expansion: Id,
    pub delay_s: i64,
}

/// The part of a portfolio that does not depend on faults: net held,
/// installed and sold per pool, piecewise constant between cuts.
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
    installed: Vec<Vec<i64>>,
    sold: Vec<Vec<i64>>,
    /// Per pool: `(effective, gpus added)` of the expansions that add GPUs,
    /// with the expansion's id (what a slip delays).
    phases: Vec<Vec<(Id, i64, i64)>>,
    /// The buyer's cost over the span (exact).
    pub cost_usd: Decimal,
}

impl BaseCapacity {
    /// Reads the buyer's net holdings (amendments and resales counted) and
    /// each root's installed and sold GPUs, at every instant inside `span`
    /// where one of them can change.
    pub fn from_ledger(ledger: &Ledger, buyer: &Id, span: Span) -> Result<BaseCapacity, SimError> {
        if ledger.party(buyer).is_none() {
            return Err(SimError::UnknownBuyer(buyer.clone()));
        }
        let classes: Vec<Id> = ledger.gpu_classes().iter().map(|g| g.id.clone()).collect();
        let mut sites = Vec::new();
        let mut pools = Vec::new();
        let mut phases = Vec::new();
        for (si, site) in ledger.sites().enumerate() {
            sites.push((site.id.clone(), site.owner.clone()));
            // A site's classes: those installed at the start and those its
            // expansions bring.
            let mut here: Vec<Id> = site.gpus.iter().map(|(g, _)| g.clone()).collect();
            for x in ledger.expansions_of(&site.id) {
                for (g, _) in &x.gpus {
                    if !here.contains(g) {
                        here.push(g.clone());
                    }
                }
            }
            for gpu in here {
                let class_ix = classes
                    .iter()
                    .position(|c| *c == gpu)
                    .expect("validated class");
                pools.push(Pool {
                    site: site.id.clone(),
                    provider: site.owner.clone(),
                    gpu: gpu.clone(),
                    h100e: ledger.gpu_class(&gpu).expect("validated").h100e.get(),
                    site_ix: si,
                    class_ix: class_ix as u16,
                });
                phases.push(
                    ledger
                        .expansions_of(&site.id)
                        .into_iter()
                        .flat_map(|x| {
                            x.gpus
                                .iter()
                                .filter(|(g, d)| *g == gpu && d.get() > 0)
                                .map(|(_, d)| (x.id.clone(), x.effective.unix_seconds(), d.get()))
                        })
                        .collect(),
                );
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
        for x in ledger.expansions() {
            add(x.effective.unix_seconds());
        }
        cuts.sort_unstable();
        cuts.dedup();
        let (mut net, mut installed, mut sold) = (Vec::new(), Vec::new(), Vec::new());
        for &t in &cuts {
            let at = Instant::from_unix_seconds(t);
            let mut n = vec![0i64; pools.len()];
            for h in ledger.holdings(buyer, at) {
                let p = pools
                    .iter()
                    .position(|p| p.site == h.site && p.gpu == h.gpu)
                    .expect("a holding's root site has its class");
                n[p] += h.gpus;
            }
            net.push(n);
            installed.push(
                pools
                    .iter()
                    .map(|p| ledger.installed(&p.site, &p.gpu, at).unwrap_or(0))
                    .collect(),
            );
            sold.push(
                pools
                    .iter()
                    .map(|p| ledger.sold(&p.site, &p.gpu, at).unwrap_or(0))
                    .collect(),
            );
        }
        Ok(BaseCapacity {
            pools,
            sites,
            classes,
            span,
            cuts,
            net,
            installed,
            sold,
            phases,
            cost_usd: cost_over(ledger, buyer, span),
        })
    }

    /// Sites a fault scope takes down.
    pub(crate) fn sites_of(&self, scope: &OutageScope) -> impl Iterator<Item = usize> + '_ {
        let scope = scope.clone();
        self.sites
            .iter()
            .enumerate()
            .filter(move |(_, (s, owner))| match &scope {
                OutageScope::Site(id) => s == id,
                OutageScope::Provider(id) => owner == id,
            })
            .map(|(i, _)| i)
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

    /// Net GPU-hours held over the span, before faults (every class counted
    /// as GPUs, not H100e: what a workload of GPU gangs can fill).
    pub fn held_gpu_hours(&self) -> f64 {
        let mut total = 0.0;
        for (i, &t) in self.cuts.iter().enumerate() {
            let end = self.cuts.get(i + 1).copied().unwrap_or(self.span.end);
            let gpus: i64 = self.net[i].iter().sum();
            total += gpus as f64 * (end - t) as f64 / 3600.0;
        }
        total
    }

    /// Per pool that holds anything over the span, the most GPUs it holds
    /// at some instant (the largest gang it can ever run), ascending.
    pub fn pool_peaks(&self) -> Vec<i64> {
        let mut v: Vec<i64> = (0..self.pools.len())
            .map(|p| self.max_net(p))
            .filter(|&n| n > 0)
            .collect();
        v.sort_unstable();
        v
    }

    /// Ids of the expansions that add GPUs and take effect before the span ends.
    pub fn phases(&self) -> Vec<(Id, i64)> {
        let mut v: Vec<(Id, i64)> = self
            .phases
            .iter()
            .flatten()
            .filter(|(_, e, _)| *e < self.span.end)
            .map(|(id, e, _)| (id.clone(), *e))
            .collect();
        v.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        v.dedup();
        v
    }

    /// What every pool delivers once the faults and slips of one run (and
    /// any capacity bought during it) are known.
    pub fn deliver(
        &self,
        faults: &[Fault],
        slips: &[Slip],
        extras: &[Extra],
        buckets: usize,
    ) -> Delivered {
        let span = self.span;
        let mut down: Vec<Vec<(i64, i64, Decimal)>> = vec![Vec::new(); self.sites.len()];
        for f in faults {
            for s in self.sites_of(&f.scope) {
                down[s].push((
                    f.window.start().unix_seconds(),
                    f.window.end().unix_seconds(),
                    f.fraction.get(),
                ));
            }
        }
        // Per pool: (start, end, gpus) intervals that add (extras) or remove
        // (slipped phases) capacity.
        let mut extra: Vec<Vec<(i64, i64, i64)>> = vec![Vec::new(); self.pools.len()];
        for e in extras {
            if let Some(p) = self.pool_of(&e.site, &e.gpu) {
                extra[p].push((e.span.start, e.span.end, e.gpus));
            }
        }
        let mut slipped: Vec<Vec<(i64, i64, i64)>> = vec![Vec::new(); self.pools.len()];
        for s in slips {
            for (p, ph) in self.phases.iter().enumerate() {
                for (id, eff, gpus) in ph {
                    if *id == s.expansion {
                        slipped[p].push((*eff, eff + s.delay_s, *gpus));
                    }
                }
            }
        }
        let mut out = Delivered {
            changes: Vec::new(),
            capacity_h100e_hours: 0.0,
            lost_h100e_hours: 0.0,
            usable_h100e_hours: 0.0,
            lost_series: vec![0.0; buckets],
            down: down
                .iter()
                .map(|v| {
                    v.iter()
                        .map(|&(s, e, f)| (s, e, f == Decimal::ONE))
                        .collect()
                })
                .collect(),
        };
        let active = |v: &[(i64, i64, i64)], a: i64| -> i64 {
            v.iter()
                .filter(|(s, e, _)| *s <= a && a < *e)
                .map(|x| x.2)
                .sum()
        };
        let mut times = Vec::new();
        for (p, pool) in self.pools.iter().enumerate() {
            times.clear();
            times.extend_from_slice(&self.cuts);
            let bounds = down[pool.site_ix]
                .iter()
                .map(|&(s, e, _)| (s, e))
                .chain(extra[p].iter().chain(&slipped[p]).map(|&(s, e, _)| (s, e)));
            for (s, e) in bounds {
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
                let bought = active(&extra[p], a);
                let net = self.net[seg][p] + bought;
                let installed = self.installed[seg][p] - active(&slipped[p], a);
                let down_fraction = down[pool.site_ix]
                    .iter()
                    .filter(|(s, e, _)| *s <= a && a < *e)
                    .fold(Decimal::ZERO, |m, x| m.max(x.2));
                let piece = Piece {
                    window: Window::new(
                        Instant::from_unix_seconds(a),
                        Instant::from_unix_seconds(b),
                    )
                    .expect("times are sorted and distinct"),
                    installed_gpus: installed,
                    down_fraction,
                    avail_gpus: Decimal::from(installed.max(0)) * (Decimal::ONE - down_fraction),
                    sold_gpus: self.sold[seg][p] + bought,
                };
                let f = piece.delivered_fraction_f64();
                // Gangs need whole GPUs: the scheduler gets ⌊net × f⌋.
                let usable = if f >= 1.0 {
                    net
                } else {
                    ((net as f64) * f).floor() as i64
                };
                let lost = net as f64 * (1.0 - f);
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
    /// Per site: `(start, end, whole site down)` of every fault, for the self-check.
    pub(crate) down: Vec<Vec<(i64, i64, bool)>>,
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
/// hours over each contract's pieces (cut at amendments), exact. Gross:
/// revenue from capacity the buyer resold is not netted out.
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
                .amount(&c.id, Instant::from_unix_seconds(w[0]))
                .unwrap_or(0);
            total +=
                Decimal::from(amount) * c.price_per_gpu_hour.get() * Decimal::from(w[1] - w[0])
                    / Decimal::from(3600);
        }
    }
    total
}
