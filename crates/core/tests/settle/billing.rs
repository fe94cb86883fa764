//! Settlement: invoices, credits, true-ups, burn-down, margins, conservation.

use proptest::prelude::*;
use proptest::test_runner::RngSeed;

use super::*;

fn month(s: &str) -> BillingMonth {
    BillingMonth::parse(s).unwrap()
}

fn run(n: &Net, from: &str, to: &str) -> Settlement {
    let l = n.ledger();
    let d = n.delivery(&l);
    settle(&l, &d, month(from), month(to)).unwrap()
}

/// (kind, item, GPU-hours, usd) of every line, for compact assertions.
fn lines(inv: &Invoice) -> Vec<(&'static str, String, Decimal, Decimal)> {
    inv.lines
        .iter()
        .map(|l| (l.kind.as_str(), l.item.to_string(), l.gpu_hours, l.usd))
        .collect()
}

#[test]
fn a_mid_month_amendment_is_billed_from_its_date() {
    // 100 GPUs from 2026-03-01 to 2026-05-01 at 1.85, +50 from 2026-03-16.
    // March: 1–16 is 15 days = 360 h × 100 = 36,000 GPU-h;
    //        16–31 is 16 days = 384 h × 150 = 57,600 GPU-h; total 93,600 × 1.85 = 173,160.
    // April: 30 days = 720 h × 150 = 108,000 GPU-h × 1.85 = 199,800.
    let n = Net::new(&["cw", "oai"])
        .site("plano", "cw", 1000)
        .contract(
            "c1",
            "cw",
            "oai",
            100,
            win(at(2026, 3, 1, 0), at(2026, 5, 1, 0)),
            "1.85",
            "site:plano",
        )
        .amend("c1", 50, at(2026, 3, 16, 0));
    let s = run(&n, "2026-03", "2026-04");
    assert_eq!(s.months.len(), 2);
    let mar = &s.months[0].invoices;
    assert_eq!(mar.len(), 1);
    assert_eq!(
        (mar[0].seller.as_str(), mar[0].buyer.as_str()),
        ("cw", "oai")
    );
    assert_eq!(
        lines(&mar[0]),
        vec![("usage", "c1".into(), dec("93600"), dec("173160"))]
    );
    assert_eq!(mar[0].total_usd, dec("173160.00"));
    assert_eq!(
        mar[0].lines[0].period,
        win(at(2026, 3, 1, 0), at(2026, 4, 1, 0))
    );
    let apr = &s.months[1].invoices[0];
    assert_eq!(
        lines(apr),
        vec![("usage", "c1".into(), dec("108000"), dec("199800"))]
    );
    // Nobody resold anything: no margins.
    assert!(s.margins.is_empty());
}

/// cw → goog 800 @ 2.00 (c1), goog → oai 500 @ 3.00 (c2 on c1), oai → msft
/// 200 @ 4.00 (c3 on c2), all for March 2026 (744 h); plano has 1000 GPUs.
fn chain() -> Net {
    let m = win(at(2026, 3, 1, 0), at(2026, 4, 1, 0));
    Net::new(&["cw", "goog", "oai", "msft"])
        .site("plano", "cw", 1000)
        .contract("c1", "cw", "goog", 800, m, "2.00", "site:plano")
        .contract("c2", "goog", "oai", 500, m, "3.00", "c1")
        .contract("c3", "oai", "msft", 200, m, "4.00", "c2")
}

#[test]
fn a_resale_chain_of_depth_three_bills_every_tier_and_its_margins_balance() {
    // No outage. Usage: c1 800 × 744 = 595,200 GPU-h × 2 = 1,190,400;
    // c2 500 × 744 = 372,000 × 3 = 1,116,000; c3 200 × 744 = 148,800 × 4 = 595,200.
    // goog: revenue 1,116,000, cost of resold 372,000 × 2 = 744,000, margin 372,000,
    //       idle (595,200 − 372,000) × 2 = 446,400; 744,000 + 446,400 = 1,190,400 paid.
    // oai:  revenue 595,200, cost of resold 148,800 × 3 = 446,400, margin 148,800,
    //       idle (372,000 − 148,800) × 3 = 669,600; 446,400 + 669,600 = 1,116,000 paid.
    let s = run(&chain(), "2026-03", "2026-03");
    let inv = &s.months[0].invoices;
    let who: Vec<_> = inv
        .iter()
        .map(|i| (i.seller.as_str(), i.buyer.as_str(), i.total_usd))
        .collect();
    assert_eq!(
        who,
        vec![
            ("cw", "goog", dec("1190400.00")),
            ("goog", "oai", dec("1116000.00")),
            ("oai", "msft", dec("595200.00")),
        ]
    );
    let m = &s.months[0].margins;
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].party.as_str(), "goog");
    assert_eq!(
        m[0].total,
        MarginFigures {
            revenue_usd: dec("1116000"),
            cost_of_resold_usd: dec("744000"),
            margin_usd: dec("372000"),
            idle_cost_usd: dec("446400"),
        }
    );
    assert_eq!(m[0].chains.len(), 1);
    assert_eq!(
        (
            m[0].chains[0].purchase.as_str(),
            m[0].chains[0].seller.as_str()
        ),
        ("c1", "cw")
    );
    assert_eq!(m[1].party.as_str(), "oai");
    assert_eq!(m[1].total.margin_usd, dec("148800"));
    assert_eq!(m[1].total.idle_cost_usd, dec("669600"));
    // Over a one-month run the range totals are the month's.
    assert_eq!(s.margins, s.months[0].margins);
}

#[test]
fn an_outage_mid_month_is_credited_at_every_tier() {
    // plano half down 2026-03-10 06:00–18:00: f = 500/800 (see delivery tests),
    // not delivered: c1 3,600 GPU-h, c2 2,250, c3 900.
    // cw → goog:  1,190,400 − 3,600 × 2 = 1,190,400 − 7,200 = 1,183,200.00
    // goog → oai: 1,116,000 − 2,250 × 3 = 1,116,000 − 6,750 = 1,109,250.00
    // oai → msft:   595,200 −   900 × 4 =   595,200 − 3,600 =   591,600.00
    // goog: revenue 1,109,250; cost of resold (372,000 − 2,250) × 2 = 739,500;
    //       margin 369,750; idle ((595,200 − 372,000) − (3,600 − 2,250)) × 2 = 443,700;
    //       739,500 + 443,700 = 1,183,200 = what cw billed it.
    // oai:  revenue 591,600; cost of resold (148,800 − 900) × 3 = 443,700; margin 147,900;
    //       idle ((372,000 − 148,800) − (2,250 − 900)) × 3 = 665,550; 443,700 + 665,550 = 1,109,250.
    let n = chain().outage(
        OutageScope::Site(id("plano")),
        win(at(2026, 3, 10, 6), at(2026, 3, 10, 18)),
        "0.5",
    );
    let s = run(&n, "2026-03", "2026-03");
    let inv = &s.months[0].invoices;
    assert_eq!(
        lines(&inv[0]),
        vec![
            ("usage", "c1".into(), dec("595200"), dec("1190400")),
            ("credit", "c1".into(), dec("-3600"), dec("-7200")),
        ]
    );
    assert_eq!(
        lines(&inv[1]),
        vec![
            ("usage", "c2".into(), dec("372000"), dec("1116000")),
            ("credit", "c2".into(), dec("-2250"), dec("-6750")),
        ]
    );
    assert_eq!(
        lines(&inv[2]),
        vec![
            ("usage", "c3".into(), dec("148800"), dec("595200")),
            ("credit", "c3".into(), dec("-900"), dec("-3600")),
        ]
    );
    let totals: Vec<_> = inv.iter().map(|i| i.total_usd).collect();
    assert_eq!(
        totals,
        vec![dec("1183200.00"), dec("1109250.00"), dec("591600.00")]
    );
    let m = &s.months[0].margins;
    assert_eq!(
        m[0].total,
        MarginFigures {
            revenue_usd: dec("1109250"),
            cost_of_resold_usd: dec("739500"),
            margin_usd: dec("369750"),
            idle_cost_usd: dec("443700"),
        }
    );
    assert_eq!(
        m[1].total,
        MarginFigures {
            revenue_usd: dec("591600"),
            cost_of_resold_usd: dec("443700"),
            margin_usd: dec("147900"),
            idle_cost_usd: dec("665550"),
        }
    );
}

#[test]
fn a_take_or_pay_shortfall_is_trued_up_in_the_last_month_with_burn_down_before() {
    // Commitment oai ← cw, 2026-01-01..2026-04-01, 500,000 + 100,000 top-up = 600,000.
    // c1: 100 GPUs 2026-01-01..2026-03-01 at 2.00: Jan 744 h → 148,800; Feb 672 h → 134,400;
    // spend (full value) = 283,200. Shortfall = 600,000 − 283,200 = 316,800, settled in
    // March (the month holding 2026-03-31T23:59:59) on a cw → oai invoice of its own.
    // Burn-down: Jan spent 148,800, remaining 451,200, 2 months left → 225,600 a month;
    //            Feb spent 283,200, remaining 316,800, 1 month left → 316,800.
    let n = Net::new(&["cw", "oai"])
        .site("plano", "cw", 1000)
        .contract(
            "c1",
            "cw",
            "oai",
            100,
            win(at(2026, 1, 1, 0), at(2026, 3, 1, 0)),
            "2.00",
            "site:plano",
        )
        .commitment(
            "oai-cw",
            "oai",
            "cw",
            win(at(2026, 1, 1, 0), at(2026, 4, 1, 0)),
            "500000",
        )
        .top_up("oai-cw", "100000", at(2026, 2, 1, 0));
    let s = run(&n, "2026-01", "2026-03");
    let jan = &s.months[0].burn_down;
    assert_eq!(jan.len(), 1);
    assert_eq!(
        (
            jan[0].usd_total,
            jan[0].spent_to_date_usd,
            jan[0].remaining_usd,
            jan[0].months_left,
            jan[0].pace_needed_usd_per_month
        ),
        (
            dec("600000"),
            dec("148800"),
            dec("451200"),
            2,
            dec("225600")
        )
    );
    assert_eq!(jan[0].contracted_usd, dec("283200"));
    assert_eq!(jan[0].projected_shortfall_usd, dec("316800"));
    let feb = &s.months[1].burn_down[0];
    assert_eq!(
        (feb.spent_to_date_usd, feb.remaining_usd, feb.months_left),
        (dec("283200"), dec("316800"), 1)
    );
    let mar = &s.months[2];
    assert!(mar.burn_down.is_empty());
    assert_eq!(mar.invoices.len(), 1);
    assert_eq!(
        lines(&mar.invoices[0]),
        vec![("true_up", "oai-cw".into(), Decimal::ZERO, dec("316800"))]
    );
    assert_eq!(mar.invoices[0].total_usd, dec("316800.00"));
    // A run starting in February still knows January's spend.
    let s = run(&n, "2026-02", "2026-02");
    assert_eq!(s.months[0].burn_down[0].spent_to_date_usd, dec("283200"));
}

#[test]
fn a_commitment_met_is_trued_up_at_zero() {
    // Spend 283,200 ≥ 200,000: the line is there, at 0, on the invoice with the usage.
    let n = Net::new(&["cw", "oai"])
        .site("plano", "cw", 1000)
        .contract(
            "c1",
            "cw",
            "oai",
            100,
            win(at(2026, 1, 1, 0), at(2026, 3, 1, 0)),
            "2.00",
            "site:plano",
        )
        .commitment(
            "oai-cw",
            "oai",
            "cw",
            win(at(2026, 1, 1, 0), at(2026, 3, 1, 0)),
            "200000",
        );
    let s = run(&n, "2026-02", "2026-02");
    assert_eq!(
        lines(&s.months[0].invoices[0]),
        vec![
            ("usage", "c1".into(), dec("67200"), dec("134400")),
            ("true_up", "oai-cw".into(), Decimal::ZERO, Decimal::ZERO),
        ]
    );
}

#[test]
fn a_leap_year_february_has_29_days() {
    // 10 GPUs 2028-01-15..2028-03-10 at 1.50.
    // Jan: 17 days = 408 h × 10 = 4,080 GPU-h → 6,120; Feb 2028: 29 days = 696 h → 6,960 → 10,440;
    // Mar: 9 days = 216 h → 2,160 → 3,240.
    let n = Net::new(&["cw", "oai"]).site("plano", "cw", 1000).contract(
        "c1",
        "cw",
        "oai",
        10,
        win(at(2028, 1, 15, 0), at(2028, 3, 10, 0)),
        "1.50",
        "site:plano",
    );
    let s = run(&n, "2028-01", "2028-03");
    let got: Vec<_> = s
        .months
        .iter()
        .map(|m| {
            (
                m.month.to_string(),
                lines(&m.invoices[0])[0].2,
                m.invoices[0].total_usd,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("2028-01".to_string(), dec("4080"), dec("6120.00")),
            ("2028-02".to_string(), dec("6960"), dec("10440.00")),
            ("2028-03".to_string(), dec("2160"), dec("3240.00")),
        ]
    );
}

#[test]
fn lines_stay_exact_and_the_total_is_rounded_once() {
    // Two 10-minute contracts of 1 GPU at 0.03: each 600 s × 0.03 / 3600 = 0.005 exactly.
    // The invoice is 0.010 → 0.01 (rounding each line first would give 0.02).
    let ten = |m: u8| {
        win(
            Instant::from_datetime(2026, 3, 1, 0, m, 0, 0).unwrap(),
            Instant::from_datetime(2026, 3, 1, 0, m + 10, 0, 0).unwrap(),
        )
    };
    let n = Net::new(&["cw", "oai"])
        .site("plano", "cw", 10)
        .contract("a", "cw", "oai", 1, ten(0), "0.03", "site:plano")
        .contract("b", "cw", "oai", 1, ten(20), "0.03", "site:plano");
    let s = run(&n, "2026-03", "2026-03");
    let inv = &s.months[0].invoices[0];
    assert_eq!(inv.lines[0].usd, dec("0.005"));
    assert_eq!(inv.total_exact_usd, dec("0.010"));
    assert_eq!(inv.total_usd, dec("0.01"));
}

#[test]
fn a_period_outside_every_contract_gives_empty_invoices() {
    let s = run(&chain(), "2030-01", "2030-02");
    assert_eq!(s.months.len(), 2);
    assert!(
        s.months
            .iter()
            .all(|m| m.invoices.is_empty() && m.margins.is_empty())
    );
    assert!(s.margins.is_empty());
}

#[test]
fn a_reversed_range_is_an_error() {
    let n = chain();
    let l = n.ledger();
    let d = n.delivery(&l);
    assert!(matches!(
        settle(&l, &d, month("2026-04"), month("2026-03")),
        Err(SettlementError::EmptyRange { .. })
    ));
}

// ---- conservation on random networks ---------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
}

/// A random network of resale chains on two sites of one provider, with
/// amendments and partial outages, built from a seed: contracts the ledger
/// refuses are dropped, so the result is always valid.
fn random_net(seed: u64) -> Net {
    let mut r = Rng(seed.max(1));
    let parties = ["cw", "p1", "p2", "p3", "p4"];
    let mut n = Net::new(&parties)
        .site("s1", "cw", 200)
        .site("s2", "cw", 100);
    let t0 = at(2026, 1, 1, 0).unix_seconds();
    let hour = 3600;
    let day = |r: &mut Rng| t0 + r.below(200) * 86_400 + r.below(24) * hour;
    let mut accepted: Vec<(String, String, i64, i64)> = Vec::new(); // id, buyer, start, end
    for k in 0..14 {
        let trial = Net { s: n.s.clone() };
        let cid = format!("c{k}");
        let price = format!("{}.{:02}", 1 + r.below(4), r.below(100));
        if accepted.is_empty() || r.below(3) == 0 {
            let (a, b) = (day(&mut r), day(&mut r));
            let (a, b) = (a.min(b), a.max(b) + hour);
            let buyer = parties[1 + r.below(4) as usize];
            let site = if r.below(2) == 0 {
                "site:s1"
            } else {
                "site:s2"
            };
            let trial = trial.contract(&cid, "cw", buyer, 1 + r.below(60), w(a, b), &price, site);
            if trial.try_ledger() {
                accepted.push((cid.clone(), buyer.into(), a, b));
                n = trial;
            }
        } else {
            let (bid, seller, bs, be) = accepted[r.below(accepted.len() as u64) as usize].clone();
            let span = (be - bs) / hour;
            let a = bs + r.below(span as u64) * hour;
            let b = a + (1 + r.below(((be - a) / hour) as u64)) * hour;
            let buyer = parties[1 + r.below(4) as usize];
            if buyer == seller {
                continue;
            }
            let trial =
                trial.contract(&cid, &seller, buyer, 1 + r.below(20), w(a, b), &price, &bid);
            if trial.try_ledger() {
                accepted.push((cid.clone(), buyer.into(), a, b));
                n = trial;
            }
        }
        if r.below(4) == 0 {
            let (cid, _, a, b) = accepted[r.below(accepted.len() as u64) as usize].clone();
            let eff = a + r.below(((b - a) / hour) as u64) * hour;
            let trial =
                Net { s: n.s.clone() }.amend(&cid, 1 + r.below(5), Instant::from_unix_seconds(eff));
            if trial.try_ledger() {
                n = trial;
            }
        }
    }
    for _ in 0..r.below(4) {
        let a = day(&mut r);
        let b = a + (1 + r.below(72)) * hour;
        let scope = match r.below(3) {
            0 => OutageScope::Provider(id("cw")),
            1 => OutageScope::Site(id("s1")),
            _ => OutageScope::Site(id("s2")),
        };
        let fraction = ["0.1", "0.25", "0.5", "0.75", "1"][r.below(5) as usize];
        n = n.outage(scope, w(a, b), fraction);
    }
    n
}

fn w(a: i64, b: i64) -> Window {
    win(Instant::from_unix_seconds(a), Instant::from_unix_seconds(b))
}

impl Net {
    fn try_ledger(&self) -> bool {
        Ledger::from_scenario(&self.s).is_ok()
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        rng_seed: RngSeed::Fixed(12),
        ..ProptestConfig::default()
    })]

    /// On any network: the run's own checks pass (each reseller's purchases =
    /// cost of resold + idle; invoices = charges − credits + true-ups), credits
    /// computed independently through the delivery API match the invoices,
    /// and the same seed gives the same settlement.
    #[test]
    fn settlement_conserves_money_on_random_chains(seed in 1u64..u64::MAX) {
        let n = random_net(seed);
        let l = n.ledger();
        let d = n.delivery(&l);
        let s = settle(&l, &d, month("2026-01"), month("2026-08")).unwrap();
        for mb in &s.months {
            let mw = mb.month.window();
            for inv in &mb.invoices {
                for line in inv.lines.iter().filter(|x| x.kind == LineKind::Credit) {
                    let lost = d.undelivered_gpu_hours(&l, &line.item, &mw).unwrap();
                    prop_assert_eq!(line.gpu_hours, -lost);
                }
                // A credit never exceeds its usage.
                for pair in inv.lines.windows(2) {
                    if pair[1].kind == LineKind::Credit {
                        prop_assert!(pair[0].usd + pair[1].usd >= Decimal::ZERO);
                    }
                }
            }
            // Margin identity per reseller: margin = revenue − cost of resold.
            for m in &mb.margins {
                prop_assert_eq!(m.total.margin_usd, m.total.revenue_usd - m.total.cost_of_resold_usd);
            }
        }
        let again = settle(&l, &n.delivery(&l), month("2026-01"), month("2026-08")).unwrap();
        prop_assert_eq!(s, again);
    }
}

#[test]
fn the_random_networks_reach_credits_resales_and_deep_chains() {
    // Guards the property test against a generator that only makes easy cases.
    let (mut credits, mut resales, mut deep) = (0, 0, 0);
    for seed in 1..=48u64 {
        let n = random_net(seed * 7919);
        let l = n.ledger();
        let s = settle(&l, &n.delivery(&l), month("2026-01"), month("2026-08")).unwrap();
        let all = s
            .months
            .iter()
            .flat_map(|m| &m.invoices)
            .flat_map(|i| &i.lines);
        credits += usize::from(all.clone().any(|x| x.kind == LineKind::Credit));
        resales += usize::from(!s.margins.is_empty());
        deep += usize::from(
            l.contracts()
                .any(|c| l.chain(&c.id).unwrap().links.len() >= 3),
        );
    }
    assert!(
        credits >= 10 && resales >= 20 && deep >= 10,
        "{credits} {resales} {deep}"
    );
}
