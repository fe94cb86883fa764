//! Settlement (second-wave spec, "Settlement"): invoices per seller → buyer
//! per billing month, outage credits from the delivery rule, take-or-pay
//! true-ups and burn-down, reseller margins, and the conservation checks
//! that every run makes before it returns anything.
//!
//! Money stays exact: a line is GPU-seconds × price / 3600 with one division
//! (none when the GPU-seconds are whole hours); only an invoice total is
//! rounded, once, to cents, half away from zero.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::delivery::{AmountSteps, Delivery, DeliveryError, Piece, undelivered};
use crate::ledger::{FxMap, Ledger};
use crate::model::Source;
use crate::types::{Id, Instant, Month, Window};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum LineKind {
    /// GPU-hours of a contract × its price.
    Usage,
    /// GPU-hours the delivery rule did not deliver, credited at the contract's price (negative).
    Credit,
    /// Take-or-pay shortfall of a commitment, settled in its last month.
    TrueUp,
}

impl LineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Usage => "usage",
            LineKind::Credit => "credit",
            LineKind::TrueUp => "true_up",
        }
    }
}

/// One invoice line, exact.
#[derive(Clone, Debug, PartialEq)]
pub struct Line<'a> {
    pub kind: LineKind,
    /// The contract (usage, credit) or the commitment (true-up).
    pub item: &'a Id,
    /// Usage and credit: the contract's window ∩ the month; true-up: the month.
    pub period: Window,
    /// Usage: GPU-hours; credit: minus the GPU-hours not delivered; true-up: 0.
    pub gpu_hours: Decimal,
    /// The contract's price (none on a true-up).
    pub price_usd_per_gpu_hour: Option<Decimal>,
    pub usd: Decimal,
}

/// What a seller bills a buyer for one month.
#[derive(Clone, Debug, PartialEq)]
pub struct Invoice<'a> {
    pub seller: &'a Id,
    pub buyer: &'a Id,
    pub month: Month,
    /// Usage lines with their credit line right after, by contract; then true-ups by commitment.
    pub lines: Vec<Line<'a>>,
    /// Σ lines, exact.
    pub total_exact_usd: Decimal,
    /// The exact total rounded once to cents, half away from zero.
    pub total_usd: Decimal,
}

/// A reseller's figures on one purchase (a chain through it) or in total.
/// Every figure is net of outage credits, so the books balance with credits.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct MarginFigures {
    /// Σ over the resales of (charge − credit).
    pub revenue_usd: Decimal,
    /// Σ over the resales d of (GPU-hours(d) − not delivered(d)) × price(backing(d)).
    pub cost_of_resold_usd: Decimal,
    /// revenue − cost of resold.
    pub margin_usd: Decimal,
    /// (GPU-hours held but not resold, less what was not delivered of them) × purchase price.
    pub idle_cost_usd: Decimal,
}

impl MarginFigures {
    fn add(&mut self, o: &MarginFigures) {
        self.revenue_usd += o.revenue_usd;
        self.cost_of_resold_usd += o.cost_of_resold_usd;
        self.margin_usd += o.margin_usd;
        self.idle_cost_usd += o.idle_cost_usd;
    }
}

/// Margin of a reseller through one of its purchases.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainMargin<'a> {
    /// The purchase the resales are carved from.
    pub purchase: &'a Id,
    /// Who sold it to the reseller.
    pub seller: &'a Id,
    pub figures: MarginFigures,
}

/// Margin of a reseller: per chain (purchase) and in total.
#[derive(Clone, Debug, PartialEq)]
pub struct Margin<'a> {
    pub party: &'a Id,
    pub chains: Vec<ChainMargin<'a>>,
    pub total: MarginFigures,
}

/// A commitment before the month that settles it.
#[derive(Clone, Debug, PartialEq)]
pub struct BurnDown<'a> {
    pub commitment: &'a Id,
    pub buyer: &'a Id,
    pub seller: &'a Id,
    /// usd + top-ups.
    pub usd_total: Decimal,
    /// Charges billed from the start of the window to the end of this month
    /// on the contracts that count toward the commitment (before credits, as
    /// spend is defined on contract value).
    pub spent_to_date_usd: Decimal,
    /// max(0, usd_total − spent to date).
    pub remaining_usd: Decimal,
    /// Billing months after this one up to and including the settling month.
    pub months_left: i64,
    /// remaining / months left.
    pub pace_needed_usd_per_month: Decimal,
    /// Full value of the contracts that count (the spend the true-up will use).
    pub contracted_usd: Decimal,
    /// max(0, usd_total − contracted): the true-up if nothing more is bought.
    pub projected_shortfall_usd: Decimal,
}

/// Everything settled for one billing month.
#[derive(Clone, Debug, PartialEq)]
pub struct MonthBill<'a> {
    pub month: Month,
    /// Sorted by seller, then buyer.
    pub invoices: Vec<Invoice<'a>>,
    /// Resellers (parties that sell resales), sorted by party.
    pub margins: Vec<Margin<'a>>,
    /// Commitments running through this month and settled later, sorted by id.
    pub burn_down: Vec<BurnDown<'a>>,
}

/// A settlement run over consecutive months.
#[derive(Clone, Debug, PartialEq)]
pub struct Settlement<'a> {
    pub from: Month,
    pub to: Month,
    pub months: Vec<MonthBill<'a>>,
    /// Margins summed over the months, per reseller and chain.
    pub margins: Vec<Margin<'a>>,
}

/// Why a settlement run failed. A failed conservation check is a bug or an
/// arithmetic limit, never a user error, but it is reported, not hidden.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettlementError {
    #[error("period {from} to {to} is empty: the first month is after the last")]
    EmptyRange { from: Month, to: Month },
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
    #[error("{what} overflows exact decimal arithmetic")]
    Overflow { what: String },
    #[error(
        "conservation failed for {party} in {month}: its purchases cost {purchases_usd} net of credits, but cost of resold {resold_usd} + idle cost {idle_usd} = {sum}",
        sum = resold_usd + idle_usd
    )]
    ResellerImbalance {
        month: Month,
        party: Id,
        purchases_usd: Decimal,
        resold_usd: Decimal,
        idle_usd: Decimal,
    },
    #[error(
        "conservation failed in {month}: invoices add up to {invoices_usd}, but contracts' charges − credits ({contracts_usd}) + true-ups ({true_ups_usd}) differ"
    )]
    InvoiceImbalance {
        month: Month,
        invoices_usd: Decimal,
        contracts_usd: Decimal,
        true_ups_usd: Decimal,
    },
}

/// Two exact sums agree "to the cent" when they differ by less than half a cent.
fn same_to_the_cent(a: Decimal, b: Decimal) -> bool {
    (a - b).abs() < Decimal::new(5, 3)
}

/// Conservation check 2: a month's invoices add up to the contracts'
/// charges net of credits, plus the true-ups.
fn check_invoices(
    month: Month,
    invoices_usd: Decimal,
    contracts_usd: Decimal,
    true_ups_usd: Decimal,
) -> Result<(), SettlementError> {
    if same_to_the_cent(invoices_usd, contracts_usd + true_ups_usd) {
        Ok(())
    } else {
        Err(SettlementError::InvoiceImbalance {
            month,
            invoices_usd,
            contracts_usd,
            true_ups_usd,
        })
    }
}

/// Conservation check 1: what a buyer paid for its purchases (net of
/// credits) is what it resold plus what it kept idle.
fn check_reseller(
    month: Month,
    party: &Id,
    purchases_usd: Decimal,
    figures: &MarginFigures,
) -> Result<(), SettlementError> {
    if same_to_the_cent(
        purchases_usd,
        figures.cost_of_resold_usd + figures.idle_cost_usd,
    ) {
        Ok(())
    } else {
        Err(SettlementError::ResellerImbalance {
            month,
            party: party.clone(),
            purchases_usd,
            resold_usd: figures.cost_of_resold_usd,
            idle_usd: figures.idle_cost_usd,
        })
    }
}

fn round_cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// One contract, resolved once for the whole run.
struct View<'a, 'd> {
    id: &'a Id,
    seller: &'a Id,
    buyer: &'a Id,
    /// Dense party indexes, numbered in id order.
    seller_ix: u32,
    buyer_ix: u32,
    price: Decimal,
    window: Window,
    steps: AmountSteps,
    pieces: &'d [Piece],
    backer: Option<usize>,
    resales: Vec<usize>,
}

/// A contract's figures in the month being settled.
#[derive(Clone, Copy, Default)]
struct Fig {
    gpu_hours: Decimal,
    charge: Decimal,
    undelivered: Decimal,
    credit: Decimal,
}

impl Fig {
    fn net_usd(&self) -> Decimal {
        self.charge - self.credit
    }
}

const SECONDS_PER_HOUR: i128 = 3600;

/// GPU-hours and charge of `gs` GPU-seconds at `price`: exact, at most one division.
fn hours_and_charge(gs: i128, price: Decimal) -> Option<(Decimal, Decimal)> {
    if gs % SECONDS_PER_HOUR == 0 {
        let h = Decimal::try_from_i128_with_scale(gs / SECONDS_PER_HOUR, 0).ok()?;
        Some((h, h.checked_mul(price)?))
    } else {
        let s = Decimal::try_from_i128_with_scale(gs, 0).ok()?;
        let per_hour = Decimal::from(3600);
        Some((
            s.checked_div(per_hour)?,
            s.checked_mul(price)?.checked_div(per_hour)?,
        ))
    }
}

fn overflow(what: String) -> SettlementError {
    SettlementError::Overflow { what }
}

/// Settles the months `from..=to`: invoices, margins, burn-down, and the
/// conservation checks. Outage credits come from `delivery` (built from the
/// scenario's outages).
pub fn settle<'a>(
    ledger: &'a Ledger,
    delivery: &Delivery,
    from: Month,
    to: Month,
) -> Result<Settlement<'a>, SettlementError> {
    if from > to {
        return Err(SettlementError::EmptyRange { from, to });
    }
    let n_months = from.months_until(to) as usize + 1;
    let months: Vec<Month> = std::iter::successors(Some(from), |m| Some(m.next()))
        .take(n_months)
        .collect();

    // ---- resolve every contract once ------------------------------------
    // Parties get dense indexes in id order, so per-party sums are vectors
    // and a party's index order is the output order.
    let mut party_ids: Vec<&Id> = ledger
        .contracts()
        .flat_map(|c| [&c.seller, &c.buyer])
        .collect();
    party_ids.sort_unstable();
    party_ids.dedup();
    let party_ix: FxMap<&Id, u32> = party_ids
        .iter()
        .enumerate()
        .map(|(i, p)| (*p, i as u32))
        .collect();
    let mut views: Vec<View> = Vec::new();
    let mut index: FxMap<&Id, usize> = FxMap::default();
    for c in ledger.contracts() {
        let info = ledger
            .contract(&c.id)
            .expect("contracts() yields ledger contracts");
        let steps = AmountSteps::from_info(ledger, &info);
        index.insert(&c.id, views.len());
        views.push(View {
            id: &c.id,
            seller: &c.seller,
            buyer: &c.buyer,
            seller_ix: party_ix[&c.seller],
            buyer_ix: party_ix[&c.buyer],
            price: c.price_per_gpu_hour.get(),
            window: c.window,
            steps,
            pieces: delivery.pieces(&info.root_site.id, &c.gpu),
            backer: None,
            resales: Vec::new(),
        });
    }
    for (i, c) in ledger.contracts().enumerate() {
        if let Source::BackedBy(b) = &c.source {
            let bi = index[b];
            views[i].backer = Some(bi);
            views[bi].resales.push(i);
        }
    }
    let mut is_reseller = vec![false; party_ids.len()];
    for v in views.iter().filter(|v| v.backer.is_some()) {
        is_reseller[v.seller_ix as usize] = true;
    }

    // ---- contracts active in each month, in invoice order ---------------
    // Ids are compared once, here; every later sort is on integers.
    let mut by_id: Vec<usize> = (0..views.len()).collect();
    by_id.sort_unstable_by(|&a, &b| views[a].id.cmp(views[b].id));
    let mut id_rank = vec![0u32; views.len()];
    for (r, &i) in by_id.iter().enumerate() {
        id_rank[i] = r as u32;
    }
    let mut order: Vec<usize> = (0..views.len()).collect();
    order.sort_unstable_by_key(|&i| (views[i].seller_ix, views[i].buyer_ix, id_rank[i]));
    let mut active: Vec<Vec<usize>> = vec![Vec::new(); n_months];
    let range = Window::new(from.start(), to.end()).expect("from ≤ to");
    for &ci in &order {
        let w = views[ci].window;
        if !w.overlaps(&range) {
            continue;
        }
        let first = Month::of(w.start()).max(from);
        let last = Month::of(Instant::from_unix_seconds(w.end().unix_seconds() - 1)).min(to);
        for k in from.months_until(first)..=from.months_until(last) {
            active[k as usize].push(ci);
        }
    }

    // ---- commitments -------------------------------------------------------
    struct Commit<'a> {
        id: &'a Id,
        buyer: &'a Id,
        seller: &'a Id,
        window: Window,
        usd_total: Decimal,
        spend: Decimal,
        counting: Vec<usize>,
        settles: Month,
        spent_so_far: Decimal,
    }
    let mut by_pair: FxMap<(&Id, &Id), Vec<usize>> = FxMap::default();
    for (i, v) in views.iter().enumerate() {
        by_pair.entry((v.buyer, v.seller)).or_default().push(i);
    }
    let mut commits: Vec<Commit> = Vec::new();
    let mut seen_buyers: std::collections::BTreeSet<&Id> = Default::default();
    for c in ledger.commitments() {
        if !seen_buyers.insert(&c.buyer) {
            continue;
        }
        for (c, usd_total, spend) in ledger.commitments_of(&c.buyer) {
            let counting: Vec<usize> = by_pair
                .get(&(&c.buyer, &c.seller))
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .copied()
                .filter(|&i| c.window.contains(views[i].window.start()))
                .collect();
            // Charges billed before the first month of the run.
            let mut before = Decimal::ZERO;
            for &i in &counting {
                let v = &views[i];
                let gs = v.steps.gpu_seconds(i64::MIN, from.start().unix_seconds());
                if gs > 0 {
                    let (_, charge) = hours_and_charge(gs, v.price)
                        .ok_or_else(|| overflow(format!("spend of commitment {}", c.id)))?;
                    before += charge;
                }
            }
            commits.push(Commit {
                id: &c.id,
                buyer: &c.buyer,
                seller: &c.seller,
                window: c.window,
                usd_total,
                spend,
                counting,
                settles: Month::of(Instant::from_unix_seconds(
                    c.window.end().unix_seconds() - 1,
                )),
                spent_so_far: before,
            });
        }
    }
    commits.sort_by(|a, b| a.id.cmp(b.id));

    // ---- month by month ---------------------------------------------------
    let mut figs: Vec<Fig> = vec![Fig::default(); views.len()];
    // figs[i] holds month k's figures iff stamp[i] == k + 1.
    let mut stamp: Vec<usize> = vec![0; views.len()];
    let mut bills: Vec<MonthBill> = Vec::with_capacity(n_months);
    // Margins over the run: per reseller, and per purchase (chain) by contract index.
    let mut party_total: Vec<Option<MarginFigures>> = vec![None; party_ids.len()];
    let mut chain_total: Vec<Option<MarginFigures>> = vec![None; views.len()];
    // Per party, for the month: what its purchases cost it net of credits,
    // and which of its purchases were active. Reset for the parties touched.
    let mut paid: Vec<Decimal> = vec![Decimal::ZERO; party_ids.len()];
    let mut purchases_of: Vec<Vec<usize>> = vec![Vec::new(); party_ids.len()];
    let mut buyers: Vec<u32> = Vec::new();

    for (k, &month) in months.iter().enumerate() {
        let (ms, me) = (month.start().unix_seconds(), month.end().unix_seconds());
        let mwin = month.window();
        let fig = |i: usize, figs: &[Fig], stamp: &[usize]| -> Fig {
            if stamp[i] == k + 1 {
                figs[i]
            } else {
                Fig::default()
            }
        };

        // Figures and invoices.
        let mut invoices: Vec<Invoice> = Vec::new();
        for &b in &buyers {
            paid[b as usize] = Decimal::ZERO;
            purchases_of[b as usize].clear();
        }
        buyers.clear();
        let mut contracts_net = Decimal::ZERO;
        let mut last_pair: Option<(u32, u32)> = None;
        for &ci in &active[k] {
            let v = &views[ci];
            let gs = v.steps.gpu_seconds(ms, me);
            if gs <= 0 {
                continue;
            }
            let what = || format!("charge of contract {} in {month}", v.id);
            let (gpu_hours, charge) =
                hours_and_charge(gs, v.price).ok_or_else(|| overflow(what()))?;
            let und = undelivered(v.pieces, &v.steps, ms, me).ok_or_else(|| overflow(what()))?;
            let credit = und.checked_mul(v.price).ok_or_else(|| overflow(what()))?;
            let f = Fig {
                gpu_hours,
                charge,
                undelivered: und,
                credit,
            };
            figs[ci] = f;
            stamp[ci] = k + 1;
            contracts_net += f.net_usd();
            let b = v.buyer_ix as usize;
            if purchases_of[b].is_empty() {
                buyers.push(v.buyer_ix);
            }
            paid[b] += f.net_usd();
            purchases_of[b].push(ci);

            let period = Window::new(
                v.window.start().max(month.start()),
                v.window.end().min(month.end()),
            )
            .expect("an active contract overlaps its month");
            // `active` is in (seller, buyer, contract) order: a new pair starts a new invoice.
            let pair = (v.seller_ix, v.buyer_ix);
            if last_pair != Some(pair) {
                last_pair = Some(pair);
                invoices.push(Invoice {
                    seller: v.seller,
                    buyer: v.buyer,
                    month,
                    lines: Vec::new(),
                    total_exact_usd: Decimal::ZERO,
                    total_usd: Decimal::ZERO,
                });
            }
            let inv = invoices.last_mut().expect("pushed above");
            inv.lines.push(Line {
                kind: LineKind::Usage,
                item: v.id,
                period,
                gpu_hours,
                price_usd_per_gpu_hour: Some(v.price),
                usd: charge,
            });
            if !und.is_zero() {
                inv.lines.push(Line {
                    kind: LineKind::Credit,
                    item: v.id,
                    period,
                    gpu_hours: -und,
                    price_usd_per_gpu_hour: Some(v.price),
                    usd: -credit,
                });
            }
        }

        // True-ups on the invoice of their pair, and burn-down before that.
        let mut true_ups = Decimal::ZERO;
        let mut burn_down = Vec::new();
        for c in commits.iter_mut() {
            if !c.window.overlaps(&mwin) {
                continue;
            }
            for &i in &c.counting {
                c.spent_so_far += fig(i, &figs, &stamp).charge;
            }
            if c.settles == month {
                let usd = (c.usd_total - c.spend).max(Decimal::ZERO);
                true_ups += usd;
                let pos = invoices
                    .binary_search_by(|inv| (inv.seller, inv.buyer).cmp(&(c.seller, c.buyer)));
                let pos = match pos {
                    Ok(p) => p,
                    Err(p) => {
                        invoices.insert(
                            p,
                            Invoice {
                                seller: c.seller,
                                buyer: c.buyer,
                                month,
                                lines: Vec::new(),
                                total_exact_usd: Decimal::ZERO,
                                total_usd: Decimal::ZERO,
                            },
                        );
                        p
                    }
                };
                invoices[pos].lines.push(Line {
                    kind: LineKind::TrueUp,
                    item: c.id,
                    period: mwin,
                    gpu_hours: Decimal::ZERO,
                    price_usd_per_gpu_hour: None,
                    usd,
                });
            } else if c.settles > month {
                let remaining = (c.usd_total - c.spent_so_far).max(Decimal::ZERO);
                let months_left = month.months_until(c.settles);
                burn_down.push(BurnDown {
                    commitment: c.id,
                    buyer: c.buyer,
                    seller: c.seller,
                    usd_total: c.usd_total,
                    spent_to_date_usd: c.spent_so_far,
                    remaining_usd: remaining,
                    months_left,
                    pace_needed_usd_per_month: remaining / Decimal::from(months_left),
                    contracted_usd: c.spend,
                    projected_shortfall_usd: (c.usd_total - c.spend).max(Decimal::ZERO),
                });
            }
        }

        let mut invoices_sum = Decimal::ZERO;
        for inv in &mut invoices {
            inv.total_exact_usd = inv.lines.iter().map(|l| l.usd).sum();
            inv.total_usd = round_cents(inv.total_exact_usd);
            invoices_sum += inv.total_exact_usd;
        }
        check_invoices(month, invoices_sum, contracts_net, true_ups)?;

        // Margins and the per-buyer check: what a party's purchases cost it
        // (from the invoices it received) against what it resold and kept.
        buyers.sort_unstable();
        let mut margins = Vec::new();
        for &b in &buyers {
            let party = party_ids[b as usize];
            let reseller = is_reseller[b as usize];
            let mut total = MarginFigures::default();
            let mut chains = Vec::new();
            let purchases = &mut purchases_of[b as usize];
            if reseller {
                purchases.sort_unstable_by_key(|&c| id_rank[c]);
            }
            for &c in purchases.iter() {
                let (vc, fc) = (&views[c], fig(c, &figs, &stamp));
                let mut m = MarginFigures::default();
                let (mut resold_h, mut resold_und) = (Decimal::ZERO, Decimal::ZERO);
                for &d in &vc.resales {
                    if stamp[d] != k + 1 {
                        continue;
                    }
                    let fd = figs[d];
                    m.revenue_usd += fd.net_usd();
                    m.cost_of_resold_usd += (fd.gpu_hours - fd.undelivered) * vc.price;
                    resold_h += fd.gpu_hours;
                    resold_und += fd.undelivered;
                }
                m.margin_usd = m.revenue_usd - m.cost_of_resold_usd;
                m.idle_cost_usd =
                    ((fc.gpu_hours - resold_h) - (fc.undelivered - resold_und)) * vc.price;
                total.add(&m);
                if reseller {
                    chain_total[c].get_or_insert_with(Default::default).add(&m);
                    chains.push(ChainMargin {
                        purchase: vc.id,
                        seller: vc.seller,
                        figures: m,
                    });
                }
            }
            check_reseller(month, party, paid[b as usize], &total)?;
            if !reseller {
                continue;
            }
            party_total[b as usize]
                .get_or_insert_with(Default::default)
                .add(&total);
            margins.push(Margin {
                party,
                chains,
                total,
            });
        }

        bills.push(MonthBill {
            month,
            invoices,
            margins,
            burn_down,
        });
    }

    let mut chained: Vec<usize> = (0..views.len())
        .filter(|&c| chain_total[c].is_some())
        .collect();
    chained.sort_unstable_by_key(|&c| (views[c].buyer_ix, id_rank[c]));
    let mut margins: Vec<Margin> = Vec::new();
    let mut at: Vec<usize> = vec![usize::MAX; party_ids.len()];
    for (b, total) in party_total.into_iter().enumerate() {
        if let Some(total) = total {
            at[b] = margins.len();
            margins.push(Margin {
                party: party_ids[b],
                chains: Vec::new(),
                total,
            });
        }
    }
    for c in chained {
        let v = &views[c];
        margins[at[v.buyer_ix as usize]].chains.push(ChainMargin {
            purchase: v.id,
            seller: v.seller,
            figures: chain_total[c].take().expect("filtered"),
        });
    }
    Ok(Settlement {
        from,
        to,
        months: bills,
        margins,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::PeriodError;

    #[test]
    fn periods_are_exactly_year_dash_month() {
        assert_eq!(Month::parse("2026-03").unwrap().to_string(), "2026-03");
        for bad in [
            "2026-13",
            "2026-1",
            "2026-00",
            "26-03",
            "2026/03",
            "2026-03-01",
            "",
            "2026-0a",
        ] {
            assert_eq!(
                Month::parse(bad),
                Err(PeriodError::Malformed(bad.to_string())),
                "{bad}"
            );
        }
    }

    #[test]
    fn months_are_calendar_months_in_utc() {
        let feb = Month::parse("2028-02").unwrap();
        assert_eq!(feb.window().hours(), Decimal::from(29 * 24));
        assert_eq!(
            Month::parse("2026-02").unwrap().window().hours(),
            Decimal::from(28 * 24)
        );
        let dec = Month::parse("2026-12").unwrap();
        assert_eq!(dec.next().to_string(), "2027-01");
        assert_eq!(dec.end(), Instant::from_date(2027, 1, 1).unwrap());
        assert_eq!(feb.months_until(Month::parse("2029-01").unwrap()), 11);
        assert_eq!(
            Month::of(Instant::from_date(2026, 3, 31).unwrap()).to_string(),
            "2026-03"
        );
    }

    #[test]
    fn invoice_totals_round_half_away_from_zero() {
        assert_eq!(round_cents(Decimal::new(12345, 3)), Decimal::new(1235, 2));
        assert_eq!(round_cents(Decimal::new(-12345, 3)), Decimal::new(-1235, 2));
        assert_eq!(round_cents(Decimal::new(12344, 3)), Decimal::new(1234, 2));
    }

    /// The checks `settle` runs every month: a sum off by a cent is an
    /// error naming the month, the party and the figures; a difference in
    /// the 28th digit (sums of exact lines in another order) is not.
    #[test]
    fn a_failed_conservation_check_is_an_error_with_the_figures() {
        let march = Month::parse("2026-03").unwrap();
        let usd = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(
            check_invoices(march, usd("1183200.00"), usd("1183200.00"), usd("0")),
            Ok(())
        );
        let e = check_invoices(march, usd("1183200.01"), usd("1183200.00"), usd("0")).unwrap_err();
        assert_eq!(
            e,
            SettlementError::InvoiceImbalance {
                month: march,
                invoices_usd: usd("1183200.01"),
                contracts_usd: usd("1183200.00"),
                true_ups_usd: usd("0"),
            }
        );
        assert!(e.to_string().contains("2026-03"), "{e}");

        let goog = Id::new("goog").unwrap();
        let figures = MarginFigures {
            revenue_usd: usd("1109250"),
            cost_of_resold_usd: usd("739500"),
            margin_usd: usd("369750"),
            idle_cost_usd: usd("443700"),
        };
        assert_eq!(check_reseller(march, &goog, usd("1183200"), &figures), Ok(()));
        assert_eq!(
            check_reseller(
                march,
                &goog,
                usd("1183200.000000000000000000001"),
                &figures
            ),
            Ok(())
        );
        let e = check_reseller(march, &goog, usd("1183201"), &figures).unwrap_err();
        assert!(
            matches!(&e, SettlementError::ResellerImbalance { party, .. } if party == &goog),
            "{e:?}"
        );
        let text = e.to_string();
        assert!(
            text.contains("goog") && text.contains("1183201") && text.contains("1183200"),
            "{text}"
        );
    }
}
