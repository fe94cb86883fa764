//! Settlement (second-wave spec, "Settlement"): invoices per seller → buyer
//! per billing month, outage credits from the delivery rule, take-or-pay
//! true-ups and burn-down, reseller margins, and the conservation checks
//! that every run makes before it returns anything.
//!
//! Money stays exact: a line is GPU-seconds × price / 3600 with one division
//! (none when the GPU-seconds are whole hours); only an invoice total is
//! rounded, once, to cents, half away from zero.

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::delivery::{AmountSteps, Delivery, DeliveryError, Piece, undelivered};
use crate::ledger::{FxMap, Ledger};
use crate::model::Source;
use crate::types::{Id, Instant, Window};

/// A billing month: `[YYYY-MM-01, first day of the next month)` in UTC.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct BillingMonth {
    year: i32,
    month: u8,
}

/// Why a period could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("period {0:?} is not a month: write YYYY-MM with a month from 01 to 12, e.g. 2026-03")]
    Malformed(String),
}

impl BillingMonth {
    pub fn new(year: i32, month: u8) -> Result<BillingMonth, PeriodError> {
        if (1..=12).contains(&month) && (0..=9999).contains(&year) {
            Ok(BillingMonth { year, month })
        } else {
            Err(PeriodError::Malformed(format!("{year:04}-{month:02}")))
        }
    }

    /// Reads exactly `YYYY-MM` (`2026-1` and `2026-13` are refused).
    pub fn parse(s: &str) -> Result<BillingMonth, PeriodError> {
        let bad = || PeriodError::Malformed(s.to_string());
        let b = s.as_bytes();
        if b.len() != 7
            || b[4] != b'-'
            || !b
                .iter()
                .enumerate()
                .all(|(i, c)| i == 4 || c.is_ascii_digit())
        {
            return Err(bad());
        }
        let year: i32 = s[..4].parse().map_err(|_| bad())?;
        let month: u8 = s[5..].parse().map_err(|_| bad())?;
        BillingMonth::new(year, month).map_err(|_| bad())
    }

    /// The month an instant falls in.
    pub fn of(t: Instant) -> BillingMonth {
        let (y, m, ..) = t.to_civil();
        BillingMonth {
            year: y as i32,
            month: m,
        }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn start(self) -> Instant {
        Instant::from_date(self.year, self.month, 1).expect("a valid month has a first day")
    }

    pub fn end(self) -> Instant {
        self.next().start()
    }

    pub fn window(self) -> Window {
        Window::new(self.start(), self.end()).expect("a month is not empty")
    }

    pub fn next(self) -> BillingMonth {
        if self.month == 12 {
            BillingMonth {
                year: self.year + 1,
                month: 1,
            }
        } else {
            BillingMonth {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// Months from `self` to `later` (0 when equal, negative when earlier).
    pub fn months_until(self, later: BillingMonth) -> i64 {
        (i64::from(later.year) - i64::from(self.year)) * 12 + i64::from(later.month)
            - i64::from(self.month)
    }
}

impl fmt::Display for BillingMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

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
pub struct Line {
    pub kind: LineKind,
    /// The contract (usage, credit) or the commitment (true-up).
    pub item: Id,
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
pub struct Invoice {
    pub seller: Id,
    pub buyer: Id,
    pub month: BillingMonth,
    /// Usage lines with their credit line right after, by contract; then true-ups by commitment.
    pub lines: Vec<Line>,
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
pub struct ChainMargin {
    /// The purchase the resales are carved from.
    pub purchase: Id,
    /// Who sold it to the reseller.
    pub seller: Id,
    pub figures: MarginFigures,
}

/// Margin of a reseller: per chain (purchase) and in total.
#[derive(Clone, Debug, PartialEq)]
pub struct Margin {
    pub party: Id,
    pub chains: Vec<ChainMargin>,
    pub total: MarginFigures,
}

/// A commitment before the month that settles it.
#[derive(Clone, Debug, PartialEq)]
pub struct BurnDown {
    pub commitment: Id,
    pub buyer: Id,
    pub seller: Id,
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
pub struct MonthBill {
    pub month: BillingMonth,
    /// Sorted by seller, then buyer.
    pub invoices: Vec<Invoice>,
    /// Resellers (parties that sell resales), sorted by party.
    pub margins: Vec<Margin>,
    /// Commitments running through this month and settled later, sorted by id.
    pub burn_down: Vec<BurnDown>,
}

/// A settlement run over consecutive months.
#[derive(Clone, Debug, PartialEq)]
pub struct Settlement {
    pub from: BillingMonth,
    pub to: BillingMonth,
    pub months: Vec<MonthBill>,
    /// Margins summed over the months, per reseller and chain.
    pub margins: Vec<Margin>,
}

/// Why a settlement run failed. A failed conservation check is a bug or an
/// arithmetic limit, never a user error, but it is reported, not hidden.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettlementError {
    #[error("period {from} to {to} is empty: the first month is after the last")]
    EmptyRange {
        from: BillingMonth,
        to: BillingMonth,
    },
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
    #[error("{what} overflows exact decimal arithmetic")]
    Overflow { what: String },
    #[error(
        "conservation failed for {party} in {month}: its purchases cost {purchases_usd} net of credits, but cost of resold {resold_usd} + idle cost {idle_usd} = {sum}",
        sum = resold_usd + idle_usd
    )]
    ResellerImbalance {
        month: BillingMonth,
        party: Id,
        purchases_usd: Decimal,
        resold_usd: Decimal,
        idle_usd: Decimal,
    },
    #[error(
        "conservation failed in {month}: invoices add up to {invoices_usd}, but contracts' charges − credits ({contracts_usd}) + true-ups ({true_ups_usd}) differ"
    )]
    InvoiceImbalance {
        month: BillingMonth,
        invoices_usd: Decimal,
        contracts_usd: Decimal,
        true_ups_usd: Decimal,
    },
}

/// Two exact sums agree "to the cent" when they differ by less than half a cent.
fn same_to_the_cent(a: Decimal, b: Decimal) -> bool {
    (a - b).abs() < Decimal::new(5, 3)
}

fn round_cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// One contract, resolved once for the whole run.
struct View<'a> {
    id: &'a Id,
    seller: &'a Id,
    buyer: &'a Id,
    price: Decimal,
    window: Window,
    steps: AmountSteps,
    pieces: &'a [Piece],
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
pub fn settle(
    ledger: &Ledger,
    delivery: &Delivery,
    from: BillingMonth,
    to: BillingMonth,
) -> Result<Settlement, SettlementError> {
    if from > to {
        return Err(SettlementError::EmptyRange { from, to });
    }
    let n_months = from.months_until(to) as usize + 1;
    let months: Vec<BillingMonth> = std::iter::successors(Some(from), |m| Some(m.next()))
        .take(n_months)
        .collect();

    // ---- resolve every contract once ------------------------------------
    let mut views: Vec<View> = Vec::new();
    let mut index: FxMap<&Id, usize> = FxMap::default();
    for c in ledger.contracts() {
        let info = ledger
            .contract(&c.id)
            .expect("contracts() yields ledger contracts");
        let steps = AmountSteps::of(ledger, &c.id).expect("in the ledger");
        index.insert(&c.id, views.len());
        views.push(View {
            id: &c.id,
            seller: &c.seller,
            buyer: &c.buyer,
            price: c.price_per_gpu_hour.get(),
            window: c.window,
            steps,
            pieces: delivery.pieces(&info.root_site.id, &c.gpu),
            backer: None,
            resales: Vec::new(),
        });
    }
    for i in 0..views.len() {
        let c = ledger
            .contract(views[i].id)
            .expect("in the ledger")
            .contract;
        if let Source::BackedBy(b) = &c.source {
            let bi = index[b];
            views[i].backer = Some(bi);
            views[bi].resales.push(i);
        }
    }
    let resellers: std::collections::BTreeSet<&Id> = views
        .iter()
        .filter(|v| v.backer.is_some())
        .map(|v| v.seller)
        .collect();

    // ---- contracts active in each month, in invoice order ---------------
    let mut order: Vec<usize> = (0..views.len()).collect();
    order.sort_unstable_by(|&a, &b| {
        let (x, y) = (&views[a], &views[b]);
        (x.seller, x.buyer, x.id).cmp(&(y.seller, y.buyer, y.id))
    });
    let mut active: Vec<Vec<usize>> = vec![Vec::new(); n_months];
    let range = Window::new(from.start(), to.end()).expect("from ≤ to");
    for &ci in &order {
        let w = views[ci].window;
        if !w.overlaps(&range) {
            continue;
        }
        let first = BillingMonth::of(w.start()).max(from);
        let last = BillingMonth::of(Instant::from_unix_seconds(w.end().unix_seconds() - 1)).min(to);
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
        settles: BillingMonth,
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
                settles: BillingMonth::of(Instant::from_unix_seconds(
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
    let mut total_margins: BTreeMap<&Id, (MarginFigures, BTreeMap<Id, ChainMargin>)> =
        BTreeMap::new();

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
        let mut net_by_buyer: BTreeMap<&Id, Decimal> = BTreeMap::new();
        let mut contracts_net = Decimal::ZERO;
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
            *net_by_buyer.entry(v.buyer).or_default() += f.net_usd();

            let period = Window::new(
                v.window.start().max(month.start()),
                v.window.end().min(month.end()),
            )
            .expect("an active contract overlaps its month");
            let same = invoices
                .last()
                .is_some_and(|inv| &inv.seller == v.seller && &inv.buyer == v.buyer);
            if !same {
                invoices.push(Invoice {
                    seller: v.seller.clone(),
                    buyer: v.buyer.clone(),
                    month,
                    lines: Vec::new(),
                    total_exact_usd: Decimal::ZERO,
                    total_usd: Decimal::ZERO,
                });
            }
            let inv = invoices.last_mut().expect("pushed above");
            inv.lines.push(Line {
                kind: LineKind::Usage,
                item: v.id.clone(),
                period,
                gpu_hours,
                price_usd_per_gpu_hour: Some(v.price),
                usd: charge,
            });
            if !und.is_zero() {
                inv.lines.push(Line {
                    kind: LineKind::Credit,
                    item: v.id.clone(),
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
                    .binary_search_by(|inv| (&inv.seller, &inv.buyer).cmp(&(c.seller, c.buyer)));
                let pos = match pos {
                    Ok(p) => p,
                    Err(p) => {
                        invoices.insert(
                            p,
                            Invoice {
                                seller: c.seller.clone(),
                                buyer: c.buyer.clone(),
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
                    item: c.id.clone(),
                    period: mwin,
                    gpu_hours: Decimal::ZERO,
                    price_usd_per_gpu_hour: None,
                    usd,
                });
            } else if c.settles > month {
                let remaining = (c.usd_total - c.spent_so_far).max(Decimal::ZERO);
                let months_left = month.months_until(c.settles);
                burn_down.push(BurnDown {
                    commitment: c.id.clone(),
                    buyer: c.buyer.clone(),
                    seller: c.seller.clone(),
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
        if !same_to_the_cent(invoices_sum, contracts_net + true_ups) {
            return Err(SettlementError::InvoiceImbalance {
                month,
                invoices_usd: invoices_sum,
                contracts_usd: contracts_net,
                true_ups_usd: true_ups,
            });
        }

        // Margins and the per-buyer check: what a party's purchases cost it
        // (from the invoices it received) against what it resold and kept.
        let mut purchases_of: BTreeMap<&Id, Vec<usize>> = BTreeMap::new();
        for &ci in &active[k] {
            if stamp[ci] == k + 1 {
                purchases_of.entry(views[ci].buyer).or_default().push(ci);
            }
        }
        let mut margins = Vec::new();
        for (party, purchases) in &purchases_of {
            let mut total = MarginFigures::default();
            let mut chains = Vec::new();
            for &c in purchases {
                let (vc, fc) = (&views[c], fig(c, &figs, &stamp));
                let mut m = MarginFigures::default();
                let (mut resold_h, mut resold_und) = (Decimal::ZERO, Decimal::ZERO);
                for &d in &vc.resales {
                    let fd = fig(d, &figs, &stamp);
                    m.revenue_usd += fd.net_usd();
                    m.cost_of_resold_usd += (fd.gpu_hours - fd.undelivered) * vc.price;
                    resold_h += fd.gpu_hours;
                    resold_und += fd.undelivered;
                }
                m.margin_usd = m.revenue_usd - m.cost_of_resold_usd;
                m.idle_cost_usd =
                    ((fc.gpu_hours - resold_h) - (fc.undelivered - resold_und)) * vc.price;
                total.add(&m);
                chains.push(ChainMargin {
                    purchase: vc.id.clone(),
                    seller: vc.seller.clone(),
                    figures: m,
                });
            }
            let paid = net_by_buyer.get(party).copied().unwrap_or_default();
            if !same_to_the_cent(paid, total.cost_of_resold_usd + total.idle_cost_usd) {
                return Err(SettlementError::ResellerImbalance {
                    month,
                    party: (*party).clone(),
                    purchases_usd: paid,
                    resold_usd: total.cost_of_resold_usd,
                    idle_usd: total.idle_cost_usd,
                });
            }
            if !resellers.contains(party) {
                continue;
            }
            chains.sort_by(|a, b| a.purchase.cmp(&b.purchase));
            let acc = total_margins.entry(party).or_default();
            acc.0.add(&total);
            for ch in &chains {
                acc.1
                    .entry(ch.purchase.clone())
                    .and_modify(|x| x.figures.add(&ch.figures))
                    .or_insert_with(|| ch.clone());
            }
            margins.push(Margin {
                party: (*party).clone(),
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

    let margins = total_margins
        .into_iter()
        .map(|(party, (total, chains))| Margin {
            party: party.clone(),
            chains: chains.into_values().collect(),
            total,
        })
        .collect();
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

    #[test]
    fn periods_are_exactly_year_dash_month() {
        assert_eq!(
            BillingMonth::parse("2026-03").unwrap().to_string(),
            "2026-03"
        );
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
                BillingMonth::parse(bad),
                Err(PeriodError::Malformed(bad.to_string())),
                "{bad}"
            );
        }
    }

    #[test]
    fn months_are_calendar_months_in_utc() {
        let feb = BillingMonth::parse("2028-02").unwrap();
        assert_eq!(feb.window().hours(), Decimal::from(29 * 24));
        assert_eq!(
            BillingMonth::parse("2026-02").unwrap().window().hours(),
            Decimal::from(28 * 24)
        );
        let dec = BillingMonth::parse("2026-12").unwrap();
        assert_eq!(dec.next().to_string(), "2027-01");
        assert_eq!(dec.end(), Instant::from_date(2027, 1, 1).unwrap());
        assert_eq!(
            feb.months_until(BillingMonth::parse("2029-01").unwrap()),
            11
        );
        assert_eq!(
            BillingMonth::of(Instant::from_date(2026, 3, 31).unwrap()).to_string(),
            "2026-03"
        );
    }

    #[test]
    fn invoice_totals_round_half_away_from_zero() {
        assert_eq!(round_cents(Decimal::new(12345, 3)), Decimal::new(1235, 2));
        assert_eq!(round_cents(Decimal::new(-12345, 3)), Decimal::new(-1235, 2));
        assert_eq!(round_cents(Decimal::new(12344, 3)), Decimal::new(1234, 2));
    }
}
