//! Site build-out over time: a monthly timeline per site of what is
//! installed, what it draws, what is sold and what is free.

use rust_decimal::Decimal;

use crate::ledger::{Ledger, dec, draw_w};
use crate::types::{Id, Instant, Month};

/// One GPU class of a site in one month.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassMonth {
    pub gpu: Id,
    /// Installed at the month's start.
    pub installed_gpus: i64,
    /// Sold directly from the site at the month's start (resales are carved
    /// from these and add nothing).
    pub sold_gpus: i64,
    /// installed − sold at the month's start.
    pub free_gpus: i64,
    /// The least free at any instant of the month: what could be sold for
    /// the whole month.
    pub min_free_gpus: i64,
    /// With an `asof` instant: of what is sold at the month's start, how
    /// many GPUs are not built yet, max(0, sold − installed₀), installed₀
    /// counting only expansions effective at or before min(month start, asof).
    pub unbuilt_gpus: Option<i64>,
}

/// One site in one month `[YYYY-MM-01, first day of the next month)` UTC.
#[derive(Clone, Debug, PartialEq)]
pub struct SiteMonth {
    pub month: Month,
    /// Power at the month's start; `None` where no limit is known (a site
    /// without power_mw before its first expansion that sets one).
    pub power_mw: Option<f64>,
    /// Power drawn by the GPUs installed at the month's start (installed ×
    /// watts, every class).
    pub drawn_mw: f64,
    /// Every class the site has or gains, by class id.
    pub classes: Vec<ClassMonth>,
}

/// The monthly build-out timeline of one site.
///
/// Every figure of a month is its value at the month's first instant,
/// except `min_free_gpus`, the minimum over the whole month: so a phase
/// that comes online on the 15th shows in the next month's row, and a
/// contract that starts on the 15th lowers this month's `min_free_gpus`.
#[derive(Clone, Debug, PartialEq)]
pub struct SiteTimeline {
    pub site: Id,
    pub provider: Id,
    pub region: String,
    pub asof: Option<Instant>,
    pub months: Vec<SiteMonth>,
}

/// The value of a step function given as pieces at `t`, advancing `at`
/// (instants only grow, so a whole timeline is one pass over the pieces).
fn value_at(pieces: &[(i64, i64)], at: &mut usize, t: i64) -> i64 {
    while *at + 1 < pieces.len() && pieces[*at + 1].0 <= t {
        *at += 1;
    }
    pieces[*at].1
}

/// W to MW for display: one correctly rounded f64 division (a Decimal
/// division per row would dominate the timeline's cost).
fn to_mw(w: Decimal) -> f64 {
    f64::try_from(w).unwrap_or(f64::MAX) / 1e6
}

impl Ledger {
    /// The timeline of one site for the months `from..=to` (none when
    /// `from > to`); `None` for an unknown site. With `asof`, each class
    /// also says how much of what is sold is not yet built at that date.
    pub fn timeline(
        &self,
        site: &Id,
        from: Month,
        to: Month,
        asof: Option<Instant>,
    ) -> Option<SiteTimeline> {
        let si = self.site_index(site)?;
        Some(self.site_timeline(si as usize, from, to, asof))
    }

    /// Timelines of every site, sorted by site id.
    pub fn timelines(&self, from: Month, to: Month, asof: Option<Instant>) -> Vec<SiteTimeline> {
        let mut order: Vec<usize> = (0..self.sites.len()).collect();
        order.sort_by(|&a, &b| self.sites[a].site.id.cmp(&self.sites[b].site.id));
        order
            .into_iter()
            .map(|si| self.site_timeline(si, from, to, asof))
            .collect()
    }

    fn site_timeline(
        &self,
        si: usize,
        from: Month,
        to: Month,
        asof: Option<Instant>,
    ) -> SiteTimeline {
        let st = &self.sites[si];
        let (lo, hi) = (
            from.start().unix_seconds(),
            to.next().start().unix_seconds(),
        );
        let mut order: Vec<usize> = (0..st.classes.len()).collect();
        order.sort_by(|&a, &b| {
            let id = |k: usize| &self.gpus[st.classes[k].gpu as usize].id;
            id(a).cmp(id(b))
        });
        // Per class: its pieces over the whole span, read once, and cursors
        // into them that only move forward, month after month.
        struct Class<'a> {
            gpu: &'a Id,
            watts: Decimal,
            installed: Vec<(i64, i64)>,
            free: Vec<(i64, i64)>,
            at: (usize, usize),
            installed_asof: Option<i64>,
        }
        let mut classes: Vec<Class> = order
            .into_iter()
            .map(|k| {
                let slot = &st.classes[k];
                let gpu = &self.gpus[slot.gpu as usize];
                let (mut installed, mut free) = (Vec::new(), Vec::new());
                if lo < hi {
                    self.forest.pieces(&slot.installed, lo, hi, &mut installed);
                    self.forest.pieces(&slot.free, lo, hi, &mut free);
                }
                Class {
                    gpu: &gpu.id,
                    watts: dec(gpu.watts.get()),
                    installed,
                    free,
                    at: (0, 0),
                    installed_asof: asof
                        .map(|a| self.forest.value_at(&slot.installed, a.unix_seconds())),
                }
            })
            .collect();
        let power_from = st.power_from();
        let (mut power_w, mut next_change) = (st.power_w.unwrap_or(Decimal::ZERO), 0usize);
        let mut out = Vec::new();
        let mut m = from;
        while m <= to {
            let (s, e) = (m.start().unix_seconds(), m.next().start().unix_seconds());
            while next_change < st.power_changes.len() && st.power_changes[next_change].0 <= s {
                power_w += st.power_changes[next_change].1;
                next_change += 1;
            }
            let mut drawn = Decimal::ZERO;
            let mut rows = Vec::with_capacity(classes.len());
            for c in &mut classes {
                let installed_gpus = value_at(&c.installed, &mut c.at.0, s);
                let free_gpus = value_at(&c.free, &mut c.at.1, s);
                // The minimum over [s, e): this piece and every one starting inside.
                let min_free_gpus = c.free[c.at.1 + 1..]
                    .iter()
                    .take_while(|p| p.0 < e)
                    .fold(free_gpus, |a, p| a.min(p.1));
                let sold_gpus = installed_gpus - free_gpus;
                let unbuilt_gpus = asof.zip(c.installed_asof).map(|(a, i0)| {
                    // Up to asof everything installed counts as built.
                    let installed0 = if s <= a.unix_seconds() {
                        installed_gpus
                    } else {
                        i0
                    };
                    (sold_gpus - installed0).max(0)
                });
                drawn += draw_w(installed_gpus, c.watts);
                rows.push(ClassMonth {
                    gpu: c.gpu.clone(),
                    installed_gpus,
                    sold_gpus,
                    free_gpus,
                    min_free_gpus,
                    unbuilt_gpus,
                });
            }
            out.push(SiteMonth {
                month: m,
                power_mw: power_from.filter(|&f| f <= s).map(|_| to_mw(power_w)),
                drawn_mw: to_mw(drawn),
                classes: rows,
            });
            m = m.next();
        }
        SiteTimeline {
            site: st.site.id.clone(),
            provider: st.site.owner.clone(),
            region: st.site.region.clone(),
            asof,
            months: out,
        }
    }
}
