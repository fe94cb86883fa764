//! The planning MILP, built from the prepared data (`prep`): columns and
//! rows only. Solving is `solve`, proving `proof`, diagnosing `diagnose`;
//! none of them is imported here.
//!
//! Columns: `n_o` (integer blocks per usable offer); `s_c` (commitment
//! shortfall, continuous); when provider share or N-1 is on, per demand
//! segment `N` (new H100e) and `NP_P` (new H100e at provider P); when
//! co-location is on, `y_{s,σ}` (binary: site σ is the co-located one in s);
//! for ROFR, `z_h` (binary: holder offer h is bought in full). Rows are
//! documented in `docs/planning.md`.

use highs::{Col, RowProblem};
use rust_decimal::Decimal;

use crate::prep::Prep;
use crate::{Family, ModelStats};

/// Which optional constraint families are in the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Families {
    pub share: bool,
    pub n1: bool,
    pub coloc: bool,
    pub rofr: bool,
    pub budget: bool,
}

impl Families {
    /// Every family the buyer's policy and clauses switch on.
    pub fn all(prep: &Prep) -> Families {
        Families {
            share: prep.policy.max_provider_share.is_some(),
            n1: prep.policy.min_share_after_provider_loss.is_some(),
            coloc: prep.policy.colocated_h100e.is_some(),
            rofr: !prep.rofr.is_empty(),
            budget: prep.policy.budget_usd.is_some(),
        }
    }
}

/// What the objective minimises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Σ cost + Σ shortfall: the plan.
    Cost,
    /// Nothing: any feasible point will do.
    Feasibility,
    /// Σ slack of the rows of one family (elastic), nothing else.
    Elastic(Family),
}

/// What an elastic slack column relaxes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slack {
    Coverage {
        dseg: u32,
    },
    /// A class's GPUs in a segment (elastic with coverage).
    Class {
        dseg: u32,
        class: u32,
    },
    /// A per-site class demand (elastic with coverage): GPUs missing at
    /// the site it is given.
    PerSite {
        demand: u32,
    },
    Share {
        dseg: u32,
        provider: u32,
    },
    NMinus1 {
        dseg: u32,
        provider: u32,
    },
    Coloc {
        dseg: u32,
    },
    Rofr {
        h: u32,
    },
}

pub(crate) struct Built {
    pub problem: RowProblem,
    /// Per usable offer.
    pub n: Vec<Col>,
    /// The ROFR binaries `z_h`, one per holder offer, with h's index.
    pub z: Vec<(Col, u32)>,
    /// The co-location binaries `y`, with their demand segment and site,
    /// in segment order.
    pub y: Vec<(Col, u32, u32)>,
    pub slacks: Vec<(Col, Slack)>,
    pub stats: ModelStats,
}

impl Built {
    /// The cost of the plan in columns `x`, in the model's money unit,
    /// recomputed exactly from its block counts (`objective_usd`), not
    /// taken from HiGHS.
    pub fn cost(&self, prep: &Prep, x: &[f64]) -> f64 {
        decimal_f64(crate::outcome::objective_usd(
            prep,
            &counts(prep, &self.n, x),
        )) / prep.money_unit
    }
}

struct Rows {
    pb: RowProblem,
    rows: usize,
    nonzeros: usize,
    integer: usize,
    columns: usize,
    mode: Mode,
    /// Every column continuous: the LP relaxation.
    relax: bool,
    slacks: Vec<(Col, Slack)>,
    buf: Vec<(Col, f64)>,
}

impl Rows {
    fn col(&mut self, cost: f64, lo: f64, hi: f64, integer: bool) -> Col {
        let integer = integer && !self.relax;
        self.columns += 1;
        if integer {
            self.integer += 1;
        }
        self.pb.add_column_with_integrality(cost, lo..=hi, integer)
    }

    /// Adds the row in `buf` with bounds `lo..=hi`, plus a slack column
    /// when `slack` is given and the mode relaxes that family (`sign` +1 for
    /// a ≥ row, −1 for a ≤ row).
    fn row(&mut self, lo: f64, hi: f64, slack: Option<(Family, Slack, f64)>) {
        if let Some((fam, what, sign)) = slack
            && self.mode == Mode::Elastic(fam)
        {
            let c = self.col(1.0, 0.0, f64::INFINITY, false);
            self.buf.push((c, sign));
            self.slacks.push((c, what));
        }
        self.rows += 1;
        self.nonzeros += self.buf.len();
        self.pb.add_row(lo..=hi, self.buf.drain(..));
    }
}

const INF: f64 = f64::INFINITY;

/// Builds the MILP for the given families and objective.
pub(crate) fn build(prep: &Prep, fams: Families, mode: Mode) -> Built {
    build_with(prep, fams, mode, false)
}

/// The same model; with `relax`, every column is continuous (same columns,
/// same rows, same order).
pub(crate) fn build_with(prep: &Prep, fams: Families, mode: Mode, relax: bool) -> Built {
    let cost_on = mode == Mode::Cost;
    let unit = prep.money_unit;
    let mut r = Rows {
        pb: RowProblem::default(),
        rows: 0,
        nonzeros: 0,
        integer: 0,
        columns: 0,
        mode,
        relax,
        slacks: Vec::new(),
        buf: Vec::with_capacity(256),
    };

    // n_o
    let n: Vec<Col> = prep
        .offers
        .iter()
        .map(|o| {
            let cost = if cost_on { o.cost_block_f / unit } else { 0.0 };
            r.col(cost, 0.0, f64::from(o.max_blocks), true)
        })
        .collect();

    // s_c
    let shortfall: Vec<Option<Col>> = prep
        .commitments
        .iter()
        .map(|c| {
            (c.remaining() > Decimal::ZERO)
                .then(|| r.col(if cost_on { 1.0 } else { 0.0 }, 0.0, INF, false))
        })
        .collect();

    // Free capacity.
    for cr in &prep.cap_rows {
        for &oi in &cr.offers {
            r.buf
                .push((n[oi as usize], f64::from(prep.offers[oi as usize].block)));
        }
        r.row(-INF, cr.free as f64, None);
    }

    // Per demand segment.
    let alpha = prep
        .policy
        .max_provider_share
        .map(|s| s.get())
        .filter(|_| fams.share);
    let beta = prep
        .policy
        .min_share_after_provider_loss
        .map(|s| s.get())
        .filter(|_| fams.n1);
    let k = prep
        .policy
        .colocated_h100e
        .map(|k| k.get())
        .filter(|_| fams.coloc);
    // w_{k,σ}: binary, per-site class demand k sits at site σ (Σ_σ w = 1).
    // Elastic coverage gives each such demand one slack of GPUs, shared by
    // its site rows, like co-location's.
    let elastic_cov = mode == Mode::Elastic(Family::Coverage);
    let mut w: Vec<Vec<(u32, Col)>> = Vec::with_capacity(prep.class_demands.len());
    let mut w_slack: Vec<Option<Col>> = Vec::with_capacity(prep.class_demands.len());
    for (k, cd) in prep.class_demands.iter().enumerate() {
        if !cd.per_site {
            w.push(Vec::new());
            w_slack.push(None);
            continue;
        }
        let cols: Vec<(u32, Col)> = cd
            .sites
            .iter()
            .map(|&s| (s, r.col(0.0, 0.0, 1.0, true)))
            .collect();
        r.buf.extend(cols.iter().map(|&(_, c)| (c, 1.0)));
        r.row(1.0, 1.0, None);
        w.push(cols);
        w_slack.push(elastic_cov.then(|| {
            let c = r.col(1.0, 0.0, INF, false);
            r.slacks.push((c, Slack::PerSite { demand: k as u32 }));
            c
        }));
    }
    let mut class_sites: Vec<u32> = Vec::new();

    let mut by_provider: Vec<Vec<u32>> = vec![Vec::new(); prep.providers.len()];
    let mut by_site: Vec<Vec<u32>> = vec![Vec::new(); prep.sites.len()];
    let mut np: Vec<Option<Col>> = vec![None; prep.providers.len()];
    let mut y_cols: Vec<(Col, u32, u32)> = Vec::new();
    for (di, d) in prep.dsegs.iter().enumerate() {
        let di = di as u32;
        let need = d.demand - d.held;
        // Class demand: Σ block n over the class's active offers ≥ GPUs
        // asked − held. With the H100e row over every demand, this is
        // exactly "each GPU serves one demand" (docs/planning.md).
        for cn in &d.class_needs {
            let id = &prep.classes[cn.class as usize].id;
            let short = cn.gpus - cn.held;
            if short <= 0.0 {
                continue;
            }
            for &oi in &d.active {
                let o = &prep.offers[oi as usize];
                if &o.offer.gpu == id {
                    r.buf.push((n[oi as usize], f64::from(o.block)));
                }
            }
            r.row(
                short,
                INF,
                Some((
                    Family::Coverage,
                    Slack::Class {
                        dseg: di,
                        class: cn.class,
                    },
                    1.0,
                )),
            );
        }
        // One site: per class and candidate site, Σ block n there + held
        // there ≥ Σ GPUs of the per-site demands placed there.
        for cn in &d.class_needs {
            let id = &prep.classes[cn.class as usize].id;
            class_sites.clear();
            for &k in &d.per_site {
                let cd = &prep.class_demands[k as usize];
                if cd.class == cn.class {
                    class_sites.extend(cd.sites.iter().copied());
                }
            }
            class_sites.sort_unstable();
            class_sites.dedup();
            for &s in &class_sites {
                for &oi in &d.active {
                    let o = &prep.offers[oi as usize];
                    if o.site == s && &o.offer.gpu == id {
                        r.buf.push((n[oi as usize], f64::from(o.block)));
                    }
                }
                for &k in &d.per_site {
                    let cd = &prep.class_demands[k as usize];
                    if cd.class != cn.class {
                        continue;
                    }
                    if let Some(&(_, c)) = w[k as usize].iter().find(|x| x.0 == s) {
                        r.buf.push((c, -f64::from(cd.gpus)));
                    }
                    if let Some(v) = w_slack[k as usize] {
                        r.buf.push((v, 1.0));
                    }
                }
                r.row(-cn.held_at(s), INF, None);
            }
        }
        if alpha.is_some() || beta.is_some() {
            let provs = prep.providers_in(d);
            for &oi in &d.active {
                by_provider[prep.offers[oi as usize].provider as usize].push(oi);
            }
            // NP_P = Σ H q over P's active offers.
            let mut nps: Vec<Col> = Vec::with_capacity(provs.len());
            for &p in &provs {
                let list = &by_provider[p as usize];
                if list.is_empty() {
                    continue;
                }
                let c = r.col(0.0, 0.0, INF, false);
                np[p as usize] = Some(c);
                nps.push(c);
                r.buf.push((c, 1.0));
                for &oi in list {
                    r.buf
                        .push((n[oi as usize], -prep.offers[oi as usize].h_block()));
                }
                r.row(0.0, 0.0, None);
            }
            // N = Σ NP_P.
            let total = r.col(0.0, 0.0, INF, false);
            r.buf.push((total, 1.0));
            r.buf.extend(nps.iter().map(|&c| (c, -1.0)));
            r.row(0.0, 0.0, None);
            if need > 0.0 {
                r.buf.push((total, 1.0));
                r.row(
                    need,
                    INF,
                    Some((Family::Coverage, Slack::Coverage { dseg: di }, 1.0)),
                );
            }
            for &p in &provs {
                let held_p = d.held_of_provider(p);
                let npc = np[p as usize];
                if let Some(a) = alpha {
                    // held_P + NP_P ≤ α (held + N)
                    let rhs = a * d.held - held_p;
                    if npc.is_some() || rhs < 0.0 {
                        if let Some(c) = npc {
                            r.buf.push((c, 1.0));
                        }
                        r.buf.push((total, -a));
                        r.row(
                            -INF,
                            rhs,
                            Some((
                                Family::ProviderShare,
                                Slack::Share {
                                    dseg: di,
                                    provider: p,
                                },
                                -1.0,
                            )),
                        );
                    }
                }
                if let Some(b) = beta {
                    // (held + N) − (held_P + NP_P) ≥ β d
                    let rhs = b * d.demand - d.held + held_p;
                    if rhs > 0.0 {
                        r.buf.push((total, 1.0));
                        if let Some(c) = npc {
                            r.buf.push((c, -1.0));
                        }
                        r.row(
                            rhs,
                            INF,
                            Some((
                                Family::NMinus1,
                                Slack::NMinus1 {
                                    dseg: di,
                                    provider: p,
                                },
                                1.0,
                            )),
                        );
                    }
                }
            }
            for &p in &provs {
                by_provider[p as usize].clear();
                np[p as usize] = None;
            }
        } else if need > 0.0 {
            for &oi in &d.active {
                r.buf
                    .push((n[oi as usize], prep.offers[oi as usize].h_block()));
            }
            r.row(
                need,
                INF,
                Some((Family::Coverage, Slack::Coverage { dseg: di }, 1.0)),
            );
        }

        if let Some(k) = k {
            let best_held = d.held_site.iter().map(|x| x.1).fold(0.0, f64::max);
            if best_held >= k {
                continue;
            }
            let elastic = mode == Mode::Elastic(Family::Colocation);
            let sites = prep.sites_in(d);
            for &oi in &d.active {
                by_site[prep.offers[oi as usize].site as usize].push(oi);
            }
            let v = elastic.then(|| {
                let c = r.col(1.0, 0.0, INF, false);
                r.slacks.push((c, Slack::Coloc { dseg: di }));
                c
            });
            let mut ys: Vec<Col> = Vec::new();
            for &s in &sites {
                let held_s = d.held_of_site(s);
                let list = &by_site[s as usize];
                let most: f64 = list
                    .iter()
                    .map(|&oi| {
                        let o = &prep.offers[oi as usize];
                        o.h_block() * f64::from(o.max_blocks)
                    })
                    .sum();
                if !elastic && held_s + most < k {
                    continue;
                }
                let y = r.col(0.0, 0.0, 1.0, true);
                ys.push(y);
                y_cols.push((y, di, s));
                for &oi in list {
                    r.buf
                        .push((n[oi as usize], prep.offers[oi as usize].h_block()));
                }
                r.buf.push((y, -(k - held_s)));
                if let Some(v) = v {
                    r.buf.push((v, 1.0));
                }
                r.row(0.0, INF, None);
            }
            for &s in &sites {
                by_site[s as usize].clear();
            }
            if elastic && ys.is_empty() {
                continue;
            }
            r.buf.extend(ys.iter().map(|&y| (y, 1.0)));
            r.row(1.0, INF, None);
        }
    }

    // Right of first refusal.
    let mut z_cols = Vec::new();
    if fams.rofr && !prep.rofr.is_empty() {
        let mut z: Vec<Option<Col>> = vec![None; prep.offers.len()];
        for pair in &prep.rofr {
            let h = pair.h as usize;
            if z[h].is_none() {
                let c = r.col(0.0, 0.0, 1.0, true);
                z[h] = Some(c);
                z_cols.push((c, pair.h));
                let full = f64::from(prep.offers[h].max_blocks);
                r.buf.push((n[h], 1.0));
                r.buf.push((c, -full));
                r.row(
                    0.0,
                    INF,
                    Some((Family::Rofr, Slack::Rofr { h: pair.h }, 1.0)),
                );
            }
            let zc = z[h].expect("set above");
            let m = f64::from(prep.offers[pair.o as usize].max_blocks);
            r.buf.push((n[pair.o as usize], 1.0));
            r.buf.push((zc, -m));
            r.row(-INF, 0.0, None);
        }
    }

    // Commitment shortfall: s_c + Σ cost n ≥ remaining.
    for (c, s) in prep.commitments.iter().zip(&shortfall) {
        let Some(s) = *s else { continue };
        r.buf.push((s, 1.0));
        for &oi in &c.offers {
            r.buf
                .push((n[oi as usize], prep.offers[oi as usize].cost_block_f / unit));
        }
        let rem = decimal_f64(c.remaining()) / unit;
        r.row(rem, INF, None);
    }

    // Budget: Σ cost n + Σ s ≤ budget.
    if fams.budget
        && let Some(b) = prep.policy.budget_usd
    {
        for (o, &c) in prep.offers.iter().zip(&n) {
            r.buf.push((c, o.cost_block_f / unit));
        }
        r.buf.extend(shortfall.iter().flatten().map(|&s| (s, 1.0)));
        r.row(-INF, decimal_f64(b.get()) / unit, None);
    }

    let stats = ModelStats {
        columns: r.columns,
        integer_columns: r.integer,
        rows: r.rows,
        nonzeros: r.nonzeros,
        demand_segments: prep.dsegs.len(),
        usable_offers: prep.offers.len(),
        excluded_offers: prep.excluded.len(),
        sources: prep.sources.len(),
        providers: prep.providers.len(),
    };
    Built {
        problem: r.pb,
        n,
        z: z_cols,
        y: y_cols,
        slacks: r.slacks,
        stats,
    }
}

/// A decimal amount as the solver's float (money is recomputed exactly
/// from block counts after solving).
pub(crate) fn decimal_f64(d: Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    d.to_f64().unwrap_or(f64::MAX)
}

/// Block counts per usable offer from a solution's columns (`n` from
/// [`Built::n`]).
pub(crate) fn counts(prep: &Prep, n: &[Col], x: &[f64]) -> Vec<u32> {
    prep.offers
        .iter()
        .zip(n)
        .map(|(o, c)| {
            let v = x.get(c.index()).copied().unwrap_or(0.0).round();
            (v.max(0.0) as u32).min(o.max_blocks)
        })
        .collect()
}
