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

fn to_mw(w: Decimal) -> f64 {
    f64::try_from(w / Decimal::from(1_000_000)).unwrap_or(f64::MAX)
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
        let mut months: Vec<Month> = Vec::new();
        let mut m = from;
        while m <= to {
            months.push(m);
            m = m.next();
        }
        let (lo, hi) = (
            from.start().unix_seconds(),
            to.next().start().unix_seconds(),
        );
        let mut classes: Vec<usize> = (0..st.classes.len()).collect();
        classes.sort_by(|&a, &b| {
            let id = |k: usize| &self.gpus[st.classes[k].gpu as usize].id;
            id(a).cmp(id(b))
        });
        // Per class, its installed and free pieces over the whole span, read once.
        let (mut inst, mut free) = (Vec::new(), Vec::new());
        let mut per_class: Vec<Vec<ClassMonth>> = Vec::with_capacity(classes.len());
        let mut watts: Vec<Decimal> = Vec::with_capacity(classes.len());
        for &k in &classes {
            let slot = &st.classes[k];
            let gpu = &self.gpus[slot.gpu as usize];
            watts.push(dec(gpu.watts.get()));
            if months.is_empty() {
                per_class.push(Vec::new());
                continue;
            }
            self.forest.pieces(&slot.installed, lo, hi, &mut inst);
            self.forest.pieces(&slot.free, lo, hi, &mut free);
            let installed_asof =
                asof.map(|a| self.forest.value_at(&slot.installed, a.unix_seconds()));
            let (mut ii, mut fi) = (0usize, 0usize);
            let mut rows = Vec::with_capacity(months.len());
            for &m in &months {
                let (s, e) = (m.start().unix_seconds(), m.next().start().unix_seconds());
                let installed_gpus = value_at(&inst, &mut ii, s);
                let free_gpus = value_at(&free, &mut fi, s);
                // The minimum over [s, e): this piece and every one starting inside.
                let mut min_free_gpus = free_gpus;
                let mut j = fi + 1;
                while j < free.len() && free[j].0 < e {
                    min_free_gpus = min_free_gpus.min(free[j].1);
                    j += 1;
                }
                let sold_gpus = installed_gpus - free_gpus;
                let unbuilt_gpus = asof.zip(installed_asof).map(|(a, i0)| {
                    // Before asof everything installed counts as built.
                    let installed0 = if s <= a.unix_seconds() {
                        installed_gpus
                    } else {
                        i0
                    };
                    (sold_gpus - installed0).max(0)
                });
                rows.push(ClassMonth {
                    gpu: gpu.id.clone(),
                    installed_gpus,
                    sold_gpus,
                    free_gpus,
                    min_free_gpus,
                    unbuilt_gpus,
                });
            }
            per_class.push(rows);
        }
        let mut out = Vec::with_capacity(months.len());
        for (n, &m) in months.iter().enumerate() {
            let s = m.start().unix_seconds();
            let classes: Vec<ClassMonth> = per_class.iter().map(|rows| rows[n].clone()).collect();
            let drawn = classes.iter().zip(&watts).fold(Decimal::ZERO, |a, (c, w)| {
                a.saturating_add(draw_w(c.installed_gpus, *w))
            });
            out.push(SiteMonth {
                month: m,
                power_mw: st.power_w_at(s).map(to_mw),
                drawn_mw: to_mw(drawn),
                classes,
            });
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
