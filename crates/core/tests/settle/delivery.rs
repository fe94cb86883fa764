//! The delivery rule: one fraction f per root, shared by every tier.

use super::*;

/// cw owns plano (1000 H100). cw → goog 800 (c1), goog → oai 500 (c2, backed
/// by c1), oai → msft 200 (c3, backed by c2): a chain of depth 3. March 2026.
fn chain() -> Net {
    let m = win(at(2026, 3, 1, 0), at(2026, 4, 1, 0));
    Net::new(&["cw", "goog", "oai", "msft"])
        .site("plano", "cw", 1000)
        .contract("c1", "cw", "goog", 800, m, "2.00", "site:plano")
        .contract("c2", "goog", "oai", 500, m, "3.00", "c1")
        .contract("c3", "oai", "msft", 200, m, "4.00", "c2")
}

#[test]
fn half_a_site_down_for_twelve_hours_costs_every_tier_the_same_share() {
    // 2026-03-10 06:00–18:00, fraction 0.5: avail = 1000 × 0.5 = 500, sold = 800,
    // f = 500/800 = 5/8, so each contract loses 3/8 of its amount for 12 h:
    //   c1: 800 × 3/8 × 12 = 3600 GPU-h; c2: 500 × 3/8 × 12 = 2250; c3: 200 × 3/8 × 12 = 900.
    // goog keeps f of its net 300: it loses 300 × 3/8 × 12 = 1350 = 3600 − 2250.
    let down = win(at(2026, 3, 10, 6), at(2026, 3, 10, 18));
    let n = chain().outage(OutageScope::Site(id("plano")), down, "0.5");
    let l = n.ledger();
    let d = n.delivery(&l);
    let p = d.pieces(&id("plano"), &gpu_id("H100"));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].window, down);
    assert_eq!(p[0].delivered_ratio(), (dec("500"), 800));
    assert_eq!(p[0].delivered_fraction(), dec("0.625"));
    assert_eq!(
        d.delivered_fraction_f64_at(&id("plano"), &gpu_id("H100"), at(2026, 3, 10, 12)),
        0.625
    );
    assert_eq!(
        d.delivered_fraction_f64_at(&id("plano"), &gpu_id("H100"), at(2026, 3, 10, 18)),
        1.0
    );
    let march = win(at(2026, 3, 1, 0), at(2026, 4, 1, 0));
    let lost = |c: &str| d.undelivered_gpu_hours(&l, &id(c), &march).unwrap();
    assert_eq!(lost("c1"), dec("3600"));
    assert_eq!(lost("c2"), dec("2250"));
    assert_eq!(lost("c3"), dec("900"));
    let net = |c: &str| d.undelivered_net_gpu_hours(&l, &id(c), &march).unwrap();
    assert_eq!(net("c1"), dec("1350"));
    assert_eq!(net("c2"), dec("1350")); // 300 × 3/8 × 12
    assert_eq!(net("c3"), dec("900"));
    // A window that ends mid-outage counts only its part: 6 h of c3 → 450.
    let half = win(at(2026, 3, 10, 0), at(2026, 3, 10, 12));
    assert_eq!(
        d.undelivered_gpu_hours(&l, &id("c3"), &half).unwrap(),
        dec("450")
    );
}

#[test]
fn unsold_capacity_absorbs_a_loss_first() {
    // fraction 0.2: avail = 800 = sold, f = 1: nobody loses anything.
    let down = win(at(2026, 3, 10, 0), at(2026, 3, 11, 0));
    let n = chain().outage(OutageScope::Site(id("plano")), down, "0.2");
    let l = n.ledger();
    let d = n.delivery(&l);
    let p = d.pieces(&id("plano"), &gpu_id("H100"));
    assert_eq!(p.len(), 1, "the outage is visible even when absorbed");
    assert!(!p[0].is_short());
    assert_eq!(
        d.undelivered_gpu_hours(&l, &id("c1"), &down).unwrap(),
        Decimal::ZERO
    );
}

#[test]
fn overlapping_outages_take_the_largest_fraction_and_provider_scope_reaches_every_site() {
    // Provider-wide outage (fraction 1) 10:00–12:00 inside a site outage of
    // 0.5 from 06:00–18:00: 06–10 f = 5/8, 10–12 f = 0, 12–18 f = 5/8.
    // c2 (500 GPUs) loses 500 × 3/8 × (4 + 6) + 500 × 2 = 1875 + 1000 = 2875.
    let n = chain()
        .outage(
            OutageScope::Site(id("plano")),
            win(at(2026, 3, 10, 6), at(2026, 3, 10, 18)),
            "0.5",
        )
        .outage(
            OutageScope::Provider(id("cw")),
            win(at(2026, 3, 10, 10), at(2026, 3, 10, 12)),
            "1",
        );
    let l = n.ledger();
    let d = n.delivery(&l);
    let p = d.pieces(&id("plano"), &gpu_id("H100"));
    let fs: Vec<_> = p.iter().map(|x| x.delivered_ratio()).collect();
    assert_eq!(
        fs,
        vec![(dec("500"), 800), (dec("0"), 800), (dec("500"), 800)]
    );
    let day = win(at(2026, 3, 10, 0), at(2026, 3, 11, 0));
    assert_eq!(
        d.undelivered_gpu_hours(&l, &id("c2"), &day).unwrap(),
        dec("2875")
    );
}

#[test]
fn an_amendment_inside_an_outage_cuts_the_piece() {
    // c1 gains 100 GPUs from 12:00 (sold 900); site down 0.5 (avail 500) 06–18.
    // 06–12: c1 800 × 3/8 × 6 = 1800; 12–18: c1 900 × 4/9 × 6 = 2400. Total 4200.
    // c2 (500): 500 × 3/8 × 6 + 500 × 4/9 × 6 = 1125 + 1333.33… (non-terminating).
    let n = chain().amend("c1", 100, at(2026, 3, 10, 12)).outage(
        OutageScope::Site(id("plano")),
        win(at(2026, 3, 10, 6), at(2026, 3, 10, 18)),
        "0.5",
    );
    let l = n.ledger();
    let d = n.delivery(&l);
    let day = win(at(2026, 3, 10, 0), at(2026, 3, 11, 0));
    assert_eq!(
        d.undelivered_gpu_hours(&l, &id("c1"), &day).unwrap(),
        dec("4200")
    );
    let c2 = d.undelivered_gpu_hours(&l, &id("c2"), &day).unwrap();
    assert!(
        (c2 - dec("2458.3333333333333333")).abs() < dec("0.000000001"),
        "{c2}"
    );
    assert_eq!(d.pieces(&id("plano"), &gpu_id("H100")).len(), 2);
}

#[test]
fn an_outage_fraction_is_validated() {
    assert!(OutageFraction::new("fraction", dec("0")).is_err());
    assert!(OutageFraction::new("fraction", dec("1.01")).is_err());
    assert!(OutageFraction::new("fraction", dec("-0.5")).is_err());
    assert_eq!(
        OutageFraction::new("fraction", dec("1.0")).unwrap(),
        OutageFraction::FULL
    );
    assert_eq!(OutageFraction::default(), OutageFraction::FULL);
}

#[test]
fn an_outage_naming_an_unknown_site_is_an_error_not_a_panic() {
    let n = chain();
    let l = n.ledger();
    let o = Outage {
        scope: OutageScope::Site(id("nowhere")),
        window: win(at(2026, 3, 1, 0), at(2026, 3, 2, 0)),
        fraction: OutageFraction::FULL,
    };
    assert!(matches!(
        Delivery::new(&l, &[o]),
        Err(DeliveryError::UnknownScope {
            index: 0,
            kind: "site",
            ..
        })
    ));
}
