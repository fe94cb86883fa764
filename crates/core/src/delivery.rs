//! The delivery rule: what every contract receives when a site delivers
//! less than it sold (second-wave spec, "Delivery when capacity falls short").
//!
//! At instant t, site s delivers `avail(s, k, t) = installed(s, k, t) × (1 −
//! down(s, t))` GPUs of class k, where `down` is the largest fraction of the
//! outages covering s at t (0 when none). `sold(s, k, t)` is Σ amount of the
//! contracts sourced directly from (s, k). Every contract rooted at (s, k),
//! at any depth of resale, receives the same fraction
//! `f = 1 if sold = 0 else min(1, avail / sold)` of its amount, so unsold
//! capacity absorbs a loss first and beyond that the whole resale tree loses
//! the same share; a holder that resold keeps f of its net.
//!
//! Everything is piecewise constant between cut points (outage bounds,
//! contract starts, ends and amendments, changes of installed capacity), so
//! the rule is kept as [`Piece`]s per root. `sold` is an integer and `avail`
//! an exact decimal (installed × (1 − fraction) is not rounded to whole
//! GPUs: the spec's formula, taken literally), so f is an exact ratio. GPU-hours
//! not delivered are exact decimals: one division per piece, exact whenever the
//! quotient has at most 28 significant digits, otherwise rounded at the 28th.

use rust_decimal::Decimal;

use crate::ledger::{FxMap, Ledger};
use crate::model::{Outage, OutageScope, Site, Source};
use crate::types::{Id, Instant, Window};

/// Why the delivery rule could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error("outage {index} names {kind} {id:?}, which is not in the ledger")]
    UnknownScope {
        index: usize,
        kind: &'static str,
        id: Id,
    },
    #[error("contract {0:?} is not in the ledger")]
    UnknownContract(Id),
    #[error("GPU-hours not delivered by contract {contract:?} overflow exact decimal arithmetic")]
    Overflow { contract: Id },
}

/// One stretch of time over which a root (site, GPU class) delivers a
/// constant fraction of what it sold.
#[derive(Clone, Debug, PartialEq)]
pub struct Piece {
    pub window: Window,
    /// Installed GPUs of the class at the site.
    pub installed_gpus: i64,
    /// Largest fraction of the outages covering the site (0 when none).
    pub down_fraction: Decimal,
    /// installed × (1 − down_fraction), exact.
    pub avail_gpus: Decimal,
    /// Σ amount of the contracts sourced directly from the root.
    pub sold_gpus: i64,
}

impl Piece {
    /// Whether contracts rooted here receive less than their amount (f < 1).
    pub fn is_short(&self) -> bool {
        Decimal::from(self.sold_gpus) > self.avail_gpus
    }

    /// f = min(1, avail / sold) as an exact ratio (numerator, denominator).
    pub fn delivered_ratio(&self) -> (Decimal, i64) {
        if self.is_short() {
            (self.avail_gpus, self.sold_gpus)
        } else {
            (Decimal::ONE, 1)
        }
    }

    /// f as a decimal (rounded at the 28th significant digit when it does not terminate).
    pub fn delivered_fraction(&self) -> Decimal {
        let (n, d) = self.delivered_ratio();
        n / Decimal::from(d)
    }

    /// f for the simulator, which works in f64 H100e-hours.
    pub fn delivered_fraction_f64(&self) -> f64 {
        let (n, d) = self.delivered_ratio();
        f64::try_from(n).unwrap_or(0.0) / d as f64
    }
}

/// The delivery rule evaluated for a ledger and a set of outages.
///
/// Holds, per root (site, class), the pieces where the site is down or sells
/// more than it has; everywhere else f = 1.
#[derive(Clone, Debug, Default)]
pub struct Delivery {
    roots: FxMap<(Id, Id), Vec<Piece>>,
}

/// Installed GPUs of `gpu` at `site` as a step function `(from, gpus)`, the
/// first step starting at `Instant::MIN`.
///
/// The only place the delivery rule reads installed capacity. Installed is
/// constant today; when site expansions land (branch `buildout`,
/// `Ledger::installed(site, gpu, t)`), this becomes the site's installed(t)
/// steps: one line here and nothing else in this module.
fn installed_steps(_ledger: &Ledger, site: &Site, gpu: &Id) -> Vec<(Instant, i64)> {
    let n = site
        .gpus
        .iter()
        .find(|(g, _)| g == gpu)
        .map_or(0, |(_, n)| n.as_i64());
    vec![(Instant::MIN, n)]
}

/// A contract's amount as steps `(from, gpus)` over its window, from the
/// ledger's own amount rule (`Ledger::amount`) evaluated at each cut.
#[derive(Clone, Debug)]
pub(crate) struct AmountSteps {
    steps: Vec<(i64, i64)>,
    end: i64,
}

impl AmountSteps {
    /// `None` when the contract is not in the ledger.
    pub(crate) fn of(ledger: &Ledger, contract: &Id) -> Option<AmountSteps> {
        let info = ledger.contract(contract)?;
        let w = info.contract.window;
        let mut cuts: Vec<Instant> = std::iter::once(w.start())
            .chain(info.amendments.iter().map(|&(eff, _)| eff))
            .filter(|t| w.contains(*t))
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        let steps = cuts
            .into_iter()
            .map(|t| {
                let n = ledger.amount(contract, t).unwrap_or(0);
                (t.unix_seconds(), n)
            })
            .collect();
        Some(AmountSteps {
            steps,
            end: w.end().unix_seconds(),
        })
    }

    pub(crate) fn start(&self) -> i64 {
        self.steps[0].0
    }

    pub(crate) fn end(&self) -> i64 {
        self.end
    }

    /// ∫ amount dt over [a, b) ∩ window, in GPU-seconds.
    pub(crate) fn gpu_seconds(&self, a: i64, b: i64) -> i128 {
        let mut total = 0i128;
        for (i, &(from, n)) in self.steps.iter().enumerate() {
            let to = self.steps.get(i + 1).map_or(self.end, |s| s.0);
            let (lo, hi) = (from.max(a), to.min(b));
            if lo < hi {
                total += i128::from(n) * i128::from(hi - lo);
            }
        }
        total
    }
}

/// A step function as sorted `(from, value)` with a value for all time.
fn value_at<T: Copy>(steps: &[(Instant, T)], t: Instant, zero: T) -> T {
    match steps.partition_point(|s| s.0 <= t) {
        0 => zero,
        i => steps[i - 1].1,
    }
}

/// Sums (at, delta) events into steps; times with no net change still cut.
fn sum_steps(mut events: Vec<(Instant, i64)>) -> Vec<(Instant, i64)> {
    events.sort_unstable_by_key(|e| e.0);
    let mut out: Vec<(Instant, i64)> = Vec::new();
    let mut cur = 0i64;
    for (t, d) in events {
        cur += d;
        match out.last_mut() {
            Some(last) if last.0 == t => last.1 = cur,
            _ => out.push((t, cur)),
        }
    }
    out
}

/// The largest fraction among overlapping outages, as steps.
fn down_steps(outages: &[(Window, Decimal)]) -> Vec<(Instant, Decimal)> {
    let mut events: Vec<(Instant, bool, Decimal)> = Vec::with_capacity(outages.len() * 2);
    for &(w, f) in outages {
        events.push((w.start(), true, f));
        events.push((w.end(), false, f));
    }
    events.sort_unstable_by_key(|e| e.0);
    let mut active: std::collections::BTreeMap<Decimal, usize> = Default::default();
    let mut out: Vec<(Instant, Decimal)> = Vec::new();
    let mut i = 0;
    while i < events.len() {
        let t = events[i].0;
        while i < events.len() && events[i].0 == t {
            let (_, open, f) = events[i];
            if open {
                *active.entry(f).or_default() += 1;
            } else if let Some(n) = active.get_mut(&f) {
                *n -= 1;
                if *n == 0 {
                    active.remove(&f);
                }
            }
            i += 1;
        }
        let max = active.keys().next_back().copied().unwrap_or(Decimal::ZERO);
        out.push((t, max));
    }
    out
}

impl Delivery {
    /// Evaluates the rule for every root of the ledger under `outages`.
    ///
    /// Fails only when an outage names a site or provider the ledger does
    /// not know (`Ledger::from_scenario` reports those first).
    pub fn new(ledger: &Ledger, outages: &[Outage]) -> Result<Delivery, DeliveryError> {
        // Outages per site, provider scopes expanded to the provider's sites.
        let mut by_site: FxMap<Id, Vec<(Window, Decimal)>> = FxMap::default();
        for (index, o) in outages.iter().enumerate() {
            let sites: Vec<&Site> = match &o.scope {
                OutageScope::Site(id) => {
                    vec![ledger.site(id).ok_or(DeliveryError::UnknownScope {
                        index,
                        kind: "site",
                        id: id.clone(),
                    })?]
                }
                OutageScope::Provider(id) => {
                    if ledger.party(id).is_none() {
                        return Err(DeliveryError::UnknownScope {
                            index,
                            kind: "provider",
                            id: id.clone(),
                        });
                    }
                    ledger.sites_of(id)
                }
            };
            for s in sites {
                by_site
                    .entry(s.id.clone())
                    .or_default()
                    .push((o.window, o.fraction.get()));
            }
        }

        // Amount events of the contracts sold directly from each root.
        let mut sold: FxMap<(Id, Id), Vec<(Instant, i64)>> = FxMap::default();
        for c in ledger.contracts() {
            let Source::Site(site) = &c.source else {
                continue;
            };
            let Some(steps) = AmountSteps::of(ledger, &c.id) else {
                continue;
            };
            let ev = sold.entry((site.clone(), c.gpu.clone())).or_default();
            let mut prev = 0;
            for &(t, n) in &steps.steps {
                ev.push((Instant::from_unix_seconds(t), n - prev));
                prev = n;
            }
            ev.push((Instant::from_unix_seconds(steps.end), -prev));
        }

        let mut roots: FxMap<(Id, Id), Vec<Piece>> = FxMap::default();
        for site in ledger.sites() {
            let down = by_site
                .get(&site.id)
                .map(|o| down_steps(o))
                .unwrap_or_default();
            for (gpu, _) in &site.gpus {
                let key = (site.id.clone(), gpu.clone());
                let sold_steps = sold.remove(&key).map(sum_steps).unwrap_or_default();
                let installed = installed_steps(ledger, site, gpu);
                let pieces = Self::root_pieces(&installed, &down, &sold_steps);
                if !pieces.is_empty() {
                    roots.insert(key, pieces);
                }
            }
        }
        Ok(Delivery { roots })
    }

    /// Pieces of one root where it is down or short, between consecutive cuts.
    fn root_pieces(
        installed: &[(Instant, i64)],
        down: &[(Instant, Decimal)],
        sold: &[(Instant, i64)],
    ) -> Vec<Piece> {
        let mut cuts: Vec<Instant> = installed
            .iter()
            .map(|s| s.0)
            .chain(down.iter().map(|s| s.0))
            .chain(sold.iter().map(|s| s.0))
            .filter(|&t| t != Instant::MIN)
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut out: Vec<Piece> = Vec::new();
        for pair in cuts.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let installed_gpus = value_at(installed, a, 0);
            let down_fraction = value_at(down, a, Decimal::ZERO);
            let sold_gpus = value_at(sold, a, 0);
            let avail_gpus = Decimal::from(installed_gpus) * (Decimal::ONE - down_fraction);
            let piece = Piece {
                window: Window::new(a, b).expect("cuts are sorted and distinct"),
                installed_gpus,
                down_fraction,
                avail_gpus,
                sold_gpus,
            };
            if down_fraction.is_zero() && !piece.is_short() {
                continue;
            }
            // Merge with the previous piece when nothing changed across the cut.
            if let Some(last) = out.last_mut()
                && last.window.end() == a
                && (last.installed_gpus, last.down_fraction, last.sold_gpus)
                    == (installed_gpus, down_fraction, sold_gpus)
            {
                last.window = Window::new(last.window.start(), b).expect("grows");
                continue;
            }
            out.push(piece);
        }
        out
    }

    /// Pieces of a root (site, class) where it is down or short, in time
    /// order; f = 1 outside them.
    pub fn pieces(&self, site: &Id, gpu: &Id) -> &[Piece] {
        self.roots
            .get(&(site.clone(), gpu.clone()))
            .map_or(&[], Vec::as_slice)
    }

    /// Every root with pieces, sorted by site then class.
    pub fn roots(&self) -> Vec<(&Id, &Id, &[Piece])> {
        let mut v: Vec<_> = self
            .roots
            .iter()
            .map(|((s, g), p)| (s, g, p.as_slice()))
            .collect();
        v.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        v
    }

    /// The piece covering `t` at a root, if the root is down or short then.
    pub fn piece_at(&self, site: &Id, gpu: &Id, t: Instant) -> Option<&Piece> {
        let p = self.pieces(site, gpu);
        let i = p.partition_point(|x| x.window.start() <= t);
        p[..i].last().filter(|x| x.window.contains(t))
    }

    /// f(s, k, t) as an exact ratio (numerator, denominator).
    pub fn delivered_ratio_at(&self, site: &Id, gpu: &Id, t: Instant) -> (Decimal, i64) {
        self.piece_at(site, gpu, t)
            .map_or((Decimal::ONE, 1), Piece::delivered_ratio)
    }

    /// f(s, k, t) as f64, for the simulator.
    pub fn delivered_fraction_f64_at(&self, site: &Id, gpu: &Id, t: Instant) -> f64 {
        self.piece_at(site, gpu, t)
            .map_or(1.0, Piece::delivered_fraction_f64)
    }

    /// GPU-hours a contract does not receive over `window` (its own window
    /// clips it): ∫ amount × (1 − f) dt, exact decimal. Whatever the contract
    /// resold is included: each resale is owed the same share of it.
    pub fn undelivered_gpu_hours(
        &self,
        ledger: &Ledger,
        contract: &Id,
        window: &Window,
    ) -> Result<Decimal, DeliveryError> {
        let steps = AmountSteps::of(ledger, contract)
            .ok_or_else(|| DeliveryError::UnknownContract(contract.clone()))?;
        let info = ledger.contract(contract).expect("steps found it");
        let pieces = self.pieces(&info.root_site.id, &info.contract.gpu);
        undelivered(
            pieces,
            &steps,
            window.start().unix_seconds(),
            window.end().unix_seconds(),
        )
        .ok_or_else(|| DeliveryError::Overflow {
            contract: contract.clone(),
        })
    }

    /// GPU-hours of its net (amount − resold) a holder does not receive over
    /// `window`: f of the net is delivered, as for everyone in the tree.
    pub fn undelivered_net_gpu_hours(
        &self,
        ledger: &Ledger,
        contract: &Id,
        window: &Window,
    ) -> Result<Decimal, DeliveryError> {
        let mut total = self.undelivered_gpu_hours(ledger, contract, window)?;
        let resales: Vec<Id> = ledger
            .resold_tree(contract)
            .map(|t| t.resold.iter().map(|r| r.contract.id.clone()).collect())
            .unwrap_or_default();
        for d in resales {
            total -= self.undelivered_gpu_hours(ledger, &d, window)?;
        }
        Ok(total)
    }
}

/// ∫ amount × (1 − f) over [a, b) in GPU-hours, given the root's pieces:
/// per short piece, GPU-seconds × (sold − avail) / (sold × 3600), one
/// division each. `None` on decimal overflow.
pub(crate) fn undelivered(
    pieces: &[Piece],
    steps: &AmountSteps,
    a: i64,
    b: i64,
) -> Option<Decimal> {
    let (a, b) = (a.max(steps.start()), b.min(steps.end()));
    if a >= b || pieces.is_empty() {
        return Some(Decimal::ZERO);
    }
    let first = pieces.partition_point(|p| p.window.end().unix_seconds() <= a);
    let mut total = Decimal::ZERO;
    for p in &pieces[first..] {
        let (ps, pe) = (
            p.window.start().unix_seconds(),
            p.window.end().unix_seconds(),
        );
        if ps >= b {
            break;
        }
        if !p.is_short() {
            continue;
        }
        let gs = steps.gpu_seconds(ps.max(a), pe.min(b));
        if gs == 0 {
            continue;
        }
        let lost = Decimal::from(p.sold_gpus) - p.avail_gpus;
        let num = Decimal::try_from_i128_with_scale(gs, 0)
            .ok()?
            .checked_mul(lost)?;
        let den = Decimal::from(p.sold_gpus).checked_mul(Decimal::from(3600))?;
        total = total.checked_add(num.checked_div(den)?)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Instant {
        Instant::from_unix_seconds(s)
    }

    #[test]
    fn overlapping_outages_take_the_largest_fraction() {
        let w = |a, b| Window::new(t(a), t(b)).unwrap();
        let d = down_steps(&[
            (w(0, 10), Decimal::new(25, 2)),
            (w(5, 20), Decimal::new(5, 1)),
            (w(8, 12), Decimal::new(25, 2)),
        ]);
        let at = |x| value_at(&d, t(x), Decimal::ZERO);
        assert_eq!(at(-1), Decimal::ZERO);
        assert_eq!(at(0), Decimal::new(25, 2));
        assert_eq!(at(5), Decimal::new(5, 1));
        assert_eq!(at(12), Decimal::new(5, 1));
        assert_eq!(at(20), Decimal::ZERO);
    }

    #[test]
    fn pieces_cut_where_anything_changes_and_merge_where_nothing_does() {
        // installed 100; sold 80 on [0, 10), 120-impossible is not needed:
        // down 50% on [5, 15) → avail 50 < sold 80 on [5, 10), f = 5/8;
        // on [10, 15) sold 0, down but not short.
        let installed = vec![(Instant::MIN, 100)];
        let down = vec![(t(5), Decimal::new(5, 1)), (t(15), Decimal::ZERO)];
        let sold = vec![(t(0), 80), (t(10), 0)];
        let p = Delivery::root_pieces(&installed, &down, &sold);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].window, Window::new(t(5), t(10)).unwrap());
        assert_eq!(p[0].delivered_ratio(), (Decimal::from(50), 80));
        assert_eq!(p[0].delivered_fraction(), Decimal::new(625, 3));
        assert_eq!(p[1].window, Window::new(t(10), t(15)).unwrap());
        assert!(!p[1].is_short());
        assert_eq!(p[1].delivered_fraction_f64(), 1.0);
    }
}
