//! The ledger's invariants as scenarios, and property tests against a naive
//! from-scratch model.

mod settle;

use cascade_core::*;
use proptest::prelude::*;
use rust_decimal::Decimal;

fn id(s: &str) -> Id {
    Id::new(s).unwrap()
}

fn day(d: i64) -> Instant {
    Instant::from_unix_seconds(1_767_225_600 + d * 86_400) // 2026-01-01 + d days
}

fn win(a: i64, b: i64) -> Window {
    Window::new(day(a), day(b)).unwrap()
}

fn gpus(n: i64) -> Gpus {
    Gpus::new("gpus", n).unwrap()
}

fn price(p: &str) -> UsdPerGpuHour {
    UsdPerGpuHour::new("price", p.parse().unwrap()).unwrap()
}

fn base() -> Ledger {
    let mut l = Ledger::new();
    for (g, h, w) in [("h100", 1.0, 700.0), ("gb200", 2.5, 1200.0)] {
        l.apply(Event::Gpu(GpuClass {
            id: id(g),
            h100e: Positive::new("h100e", h).unwrap(),
            watts: Positive::new("watts", w).unwrap(),
        }))
        .unwrap();
    }
    for p in ["cw", "goog", "oai", "msft"] {
        l.apply(Event::Party(Party {
            id: id(p),
            name: None,
        }))
        .unwrap();
    }
    l.apply(Event::Site(Site {
        id: id("plano"),
        owner: id("cw"),
        region: "us-south".into(),
        power_mw: None,
        gpus: vec![(id("h100"), gpus(1000)), (id("gb200"), gpus(100))],
    }))
    .unwrap();
    l
}

fn contract(
    cid: &str,
    seller: &str,
    buyer: &str,
    n: i64,
    w: Window,
    src: Source,
    resale: bool,
) -> Event {
    Event::Contract(Contract {
        id: id(cid),
        seller: id(seller),
        buyer: id(buyer),
        gpu: id("h100"),
        gpus: gpus(n),
        window: w,
        price_per_gpu_hour: price("2.00"),
        source: src,
        resale,
    })
}

fn site() -> Source {
    Source::Site(id("plano"))
}

fn backed(c: &str) -> Source {
    Source::BackedBy(id(c))
}

#[test]
fn site_oversell_is_refused_with_instant_and_shortfall() {
    let mut l = base();
    l.apply(contract("a", "cw", "goog", 600, win(0, 30), site(), false))
        .unwrap();
    let r = l
        .apply(contract("b", "cw", "oai", 500, win(10, 40), site(), false))
        .unwrap_err();
    assert_eq!(
        r.violations,
        vec![Violation::SiteOversold {
            item: ItemRef::Contract(id("b")),
            site: id("plano"),
            gpu: id("h100"),
            at: day(10),
            requested: 500,
            free: 400,
            installed: 1000,
            shortfall: 100,
        }]
    );
    // The same contract after the first one ends fits.
    l.apply(contract("b", "cw", "oai", 500, win(30, 40), site(), false))
        .unwrap();
}

#[test]
fn resale_chain_of_three_tiers_traces_to_the_site() {
    let mut l = base();
    l.apply(contract("t1", "cw", "goog", 800, win(0, 100), site(), true))
        .unwrap();
    l.apply(contract(
        "t2",
        "goog",
        "msft",
        500,
        win(10, 90),
        backed("t1"),
        true,
    ))
    .unwrap();
    l.apply(contract(
        "t3",
        "msft",
        "oai",
        300,
        win(20, 80),
        backed("t2"),
        false,
    ))
    .unwrap();
    let r = l
        .apply(contract(
            "t3b",
            "msft",
            "oai",
            201,
            win(50, 60),
            backed("t2"),
            false,
        ))
        .unwrap_err();
    assert!(matches!(
        &r.violations[..],
        [Violation::ResaleOversold { backing, requested: 201, free: 200, shortfall: 1, .. }] if backing == &id("t2")
    ));
    let chain = l.chain(&id("t3")).unwrap();
    let ids: Vec<&str> = chain.links.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["t3", "t2", "t1"]);
    assert_eq!(chain.provider, &id("cw"));
    assert_eq!(
        l.sellers_of(&id("t3")).unwrap(),
        vec![&id("msft"), &id("goog"), &id("cw")]
    );
    // Net held at day 30: goog 800-500, msft 500-300, oai 300.
    let held = |p: &str| {
        l.holdings(&id(p), day(30))
            .iter()
            .map(|h| h.gpus)
            .sum::<i64>()
    };
    assert_eq!((held("goog"), held("msft"), held("oai")), (300, 200, 300));
    // Exposure: oai's capacity is from counterparty msft but physically at cw.
    let e = l.exposure(&id("oai"), day(30));
    assert_eq!(e.by_provider[0].id, id("cw"));
    assert_eq!(e.by_counterparty[0].id, id("msft"));
    assert_eq!(e.by_site[0].region, "us-south");
}

#[test]
fn resale_rules_are_checked() {
    let mut l = base();
    l.apply(contract(
        "locked",
        "cw",
        "goog",
        100,
        win(0, 10),
        site(),
        false,
    ))
    .unwrap();
    l.apply(contract(
        "open",
        "cw",
        "goog",
        100,
        win(0, 10),
        site(),
        true,
    ))
    .unwrap();
    let codes = |r: Rejection| r.violations.iter().map(|v| v.code()).collect::<Vec<_>>();
    let r = l.apply(contract(
        "x",
        "goog",
        "oai",
        10,
        win(0, 5),
        backed("locked"),
        false,
    ));
    assert_eq!(codes(r.unwrap_err()), ["backing_not_resellable"]);
    let r = l.apply(contract(
        "x",
        "goog",
        "oai",
        10,
        win(5, 11),
        backed("open"),
        false,
    ));
    assert_eq!(codes(r.unwrap_err()), ["outside_backing_window"]);
    let r = l.apply(contract(
        "x",
        "msft",
        "oai",
        10,
        win(0, 5),
        backed("open"),
        false,
    ));
    assert_eq!(codes(r.unwrap_err()), ["reseller_not_holder"]);
    let r = l.apply(contract(
        "x",
        "goog",
        "oai",
        10,
        win(0, 5),
        backed("nope"),
        false,
    ));
    assert_eq!(codes(r.unwrap_err()), ["unknown_reference"]);
    let r = l.apply(contract("x", "goog", "oai", 10, win(0, 5), site(), false));
    assert_eq!(codes(r.unwrap_err()), ["seller_does_not_own_site"]);
    let r = l.apply(contract(
        "open",
        "cw",
        "oai",
        10,
        win(20, 25),
        site(),
        false,
    ));
    assert_eq!(codes(r.unwrap_err()), ["duplicate_id"]);
}

#[test]
fn amendments_vary_amounts_over_time() {
    let mut l = base();
    l.apply(contract("a", "cw", "goog", 400, win(0, 100), site(), true))
        .unwrap();
    l.apply(Event::Amendment(Amendment {
        target: AmendmentTarget::Contract {
            id: id("a"),
            gpus: gpus(200),
        },
        effective: day(50),
    }))
    .unwrap();
    assert_eq!(l.amount(&id("a"), day(49)), Some(400));
    assert_eq!(l.amount(&id("a"), day(50)), Some(600));
    assert_eq!(l.amount(&id("a"), day(100)), Some(0));
    // A resale of 500 fits only after the top-up.
    assert!(
        l.apply(contract(
            "r",
            "goog",
            "oai",
            500,
            win(40, 60),
            backed("a"),
            false
        ))
        .is_err()
    );
    l.apply(contract(
        "r",
        "goog",
        "oai",
        500,
        win(50, 60),
        backed("a"),
        false,
    ))
    .unwrap();
    // The site has 1000 − 600 free from day 50 on: a top-up of 401 is refused.
    let r = l
        .apply(Event::Amendment(Amendment {
            target: AmendmentTarget::Contract {
                id: id("a"),
                gpus: gpus(401),
            },
            effective: day(70),
        }))
        .unwrap_err();
    assert!(matches!(
        &r.violations[..],
        [Violation::SiteOversold { shortfall: 1, .. }]
    ));
    // Value: 400 GPUs × 100 days + 200 × 50 days, at $2/GPU-h.
    let v = l.contract(&id("a")).unwrap().value_usd;
    assert_eq!(v, Decimal::from((400 * 100 + 200 * 50) * 24 * 2));
}

#[test]
fn clauses_bind_contracts() {
    let mut l = base();
    l.apply(Event::Clause(Clause::Exclusive {
        buyer: id("oai"),
        seller: id("msft"),
        until: day(100),
    }))
    .unwrap();
    let r = l
        .apply(contract("x", "cw", "oai", 10, win(99, 120), site(), false))
        .unwrap_err();
    assert_eq!(r.violations[0].code(), "exclusive_violated");
    l.apply(contract("x", "cw", "oai", 10, win(100, 120), site(), false))
        .unwrap();

    l.apply(Event::Clause(Clause::NoResaleTo {
        seller: id("cw"),
        party: id("msft"),
    }))
    .unwrap();
    l.apply(contract("g", "cw", "goog", 100, win(0, 50), site(), true))
        .unwrap();
    let r = l
        .apply(contract(
            "gm",
            "goog",
            "msft",
            10,
            win(0, 10),
            backed("g"),
            false,
        ))
        .unwrap_err();
    assert!(
        matches!(&r.violations[..], [Violation::NoResaleTo { chain, .. }] if chain == &vec![id("gm"), id("g")])
    );
    // A clause that existing contracts break is itself refused.
    let r = l
        .apply(Event::Clause(Clause::NoResaleTo {
            seller: id("cw"),
            party: id("goog"),
        }))
        .unwrap_err();
    assert_eq!(r.violations[0].code(), "no_resale_to_violated");
}

#[test]
fn power_limit_is_checked() {
    let mut l = base();
    let r = l
        .apply(Event::Site(Site {
            id: id("abilene"),
            owner: id("msft"),
            region: "us-central".into(),
            power_mw: Some(Positive::new("power_mw", 0.7).unwrap()),
            gpus: vec![(id("h100"), gpus(1001))],
        }))
        .unwrap_err();
    assert!(
        matches!(&r.violations[..], [Violation::PowerOverrun { over_w, .. }] if over_w == "700")
    );
}

#[test]
fn scenario_reports_every_violation_and_cycles_once() {
    let mut s = Scenario {
        name: "broken".into(),
        ..Default::default()
    };
    let l = base();
    for e in l.events() {
        match e {
            Event::Gpu(g) => s.gpus.push(g),
            Event::Party(p) => s.parties.push(p),
            Event::Site(x) => s.sites.push(x),
            _ => unreachable!(),
        }
    }
    let c = |e: Event| match e {
        Event::Contract(c) => c,
        _ => unreachable!(),
    };
    s.contracts.push(c(contract(
        "r2",
        "goog",
        "oai",
        5,
        win(0, 5),
        backed("r1"),
        true,
    )));
    s.contracts.push(c(contract(
        "r1",
        "oai",
        "goog",
        5,
        win(0, 5),
        backed("r2"),
        true,
    )));
    s.contracts.push(c(contract(
        "child",
        "oai",
        "msft",
        5,
        win(0, 5),
        backed("r1"),
        false,
    )));
    s.contracts.push(c(contract(
        "big",
        "cw",
        "goog",
        1001,
        win(0, 5),
        site(),
        false,
    )));
    s.contracts.push(c(contract(
        "ghost",
        "cw",
        "nobody",
        1,
        win(0, 5),
        site(),
        false,
    )));
    let r = Ledger::from_scenario(&s).unwrap_err();
    let codes: Vec<&str> = r.violations.iter().map(|v| v.code()).collect();
    assert_eq!(
        codes,
        [
            "cycle",
            "backing_rejected",
            "site_oversold",
            "unknown_reference"
        ]
    );
    assert_eq!(
        r.violations[0].to_string(),
        "contract \"r2\": backed_by forms a cycle: r2 -> r1 -> r2"
    );
}

#[test]
fn backer_top_up_lets_a_resale_fit_whatever_the_file_order() {
    let l = base();
    let mut s = Scenario::default();
    for e in l.events() {
        match e {
            Event::Gpu(g) => s.gpus.push(g),
            Event::Party(p) => s.parties.push(p),
            Event::Site(x) => s.sites.push(x),
            _ => unreachable!(),
        }
    }
    // The resale is written first and needs the backer's amendment.
    for e in [
        contract("r", "goog", "oai", 150, win(10, 20), backed("b"), false),
        contract("b", "cw", "goog", 100, win(0, 30), site(), true),
    ] {
        if let Event::Contract(c) = e {
            s.contracts.push(c);
        }
    }
    s.amendments.push(Amendment {
        target: AmendmentTarget::Contract {
            id: id("b"),
            gpus: gpus(50),
        },
        effective: day(5),
    });
    let l = Ledger::from_scenario(&s).unwrap();
    assert_eq!(l.resold(&id("b"), day(15)), Some(150));
    assert_eq!(l.contract_free_at(&id("b"), day(15)), Some(0));
    assert_eq!(l.contract_free_at(&id("b"), day(25)), Some(150));
}

// ---- site build-out ---------------------------------------------------------

fn expansion(xid: &str, site: &str, d: i64, g: &[(&str, i64)], power_mw: Option<f64>) -> Event {
    Event::Expansion(Expansion {
        id: id(xid),
        site: id(site),
        effective: day(d),
        gpus: g
            .iter()
            .map(|&(k, n)| (id(k), GpuDelta::new("gpus", n).unwrap()))
            .collect(),
        power_mw: power_mw.map(|p| MwDelta::new("power_mw", p).unwrap()),
    })
}

/// A campus of cw with nothing installed yet and 1 MW of power to start.
fn campus(l: &mut Ledger) {
    l.apply(Event::Site(Site {
        id: id("abilene"),
        owner: id("cw"),
        region: "us-central".into(),
        power_mw: Some(Positive::new("power_mw", 1.0).unwrap()),
        gpus: vec![],
    }))
    .unwrap();
}

fn gb200(cid: &str, seller: &str, buyer: &str, n: i64, w: Window, src: Source) -> Event {
    match contract(cid, seller, buyer, n, w, src, true) {
        Event::Contract(mut c) => {
            c.gpu = id("gb200");
            Event::Contract(c)
        }
        _ => unreachable!(),
    }
}

fn abilene() -> Source {
    Source::Site(id("abilene"))
}

#[test]
fn selling_ahead_of_construction_is_checked_at_every_instant() {
    let mut l = base();
    campus(&mut l);
    // Phase 1 from day 10: 500 GB200 (600 kW); phase 2 from day 40: +1000 GB200 and +1.5 MW.
    l.apply(expansion("p1", "abilene", 10, &[("gb200", 500)], None))
        .unwrap();
    l.apply(expansion(
        "p2",
        "abilene",
        40,
        &[("gb200", 1000)],
        Some(1.5),
    ))
    .unwrap();
    let at = |d| l.installed(&id("abilene"), &id("gb200"), day(d)).unwrap();
    assert_eq!((at(9), at(10), at(39), at(40)), (0, 500, 500, 1500));
    assert_eq!(l.power_mw(&id("abilene"), day(39)), Some(1.0));
    assert_eq!(l.power_mw(&id("abilene"), day(40)), Some(2.5));
    // 1500 × 1200 W = 1.8 MW drawn from day 40.
    assert_eq!(l.drawn_mw(&id("abilene"), day(40)), Some(1.8));
    // Sold before it is built: 1200 GPUs from day 40 fit, from day 39 they do not.
    let r = l
        .apply(gb200("early", "cw", "goog", 1200, win(39, 100), abilene()))
        .unwrap_err();
    assert_eq!(
        r.violations,
        vec![Violation::SiteOversold {
            item: ItemRef::Contract(id("early")),
            site: id("abilene"),
            gpu: id("gb200"),
            at: day(39),
            requested: 1200,
            free: 500,
            installed: 500,
            shortfall: 700,
        }]
    );
    l.apply(gb200("ahead", "cw", "goog", 1200, win(40, 100), abilene()))
        .unwrap();
    assert_eq!(l.sold(&id("abilene"), &id("gb200"), day(50)), Some(1200));
    assert_eq!(
        l.site_free_at(&id("abilene"), &id("gb200"), day(50)),
        Some(300)
    );
    assert_eq!(l.expansions_of(&id("abilene")).len(), 2);
}

#[test]
fn a_retirement_below_what_is_sold_is_refused_with_the_contracts() {
    let mut l = base();
    campus(&mut l);
    l.apply(expansion("p1", "abilene", 0, &[("gb200", 800)], None))
        .unwrap();
    l.apply(gb200("a", "cw", "goog", 300, win(0, 60), abilene()))
        .unwrap();
    l.apply(gb200("b", "cw", "oai", 400, win(20, 50), abilene()))
        .unwrap();
    // Retiring 200 from day 30: 600 installed, 700 sold on [30, 50).
    let before: Vec<Event> = l.events().collect();
    let r = l
        .apply(expansion("r", "abilene", 30, &[("gb200", -200)], None))
        .unwrap_err();
    assert_eq!(
        r.violations,
        vec![Violation::InstalledBelowSold {
            item: ItemRef::Expansion(id("r")),
            site: id("abilene"),
            gpu: id("gb200"),
            at: day(30),
            installed: 600,
            sold: 700,
            shortfall: 100,
            contracts: vec![id("a"), id("b")],
        }]
    );
    assert_eq!(
        r.violations[0].to_string(),
        "expansion \"r\": site \"abilene\" gb200 would have 700 GPUs sold but only 600 installed at 2026-01-31T00:00:00Z, short by 100 (contracts: a, b)"
    );
    // Nothing changed.
    assert_eq!(l.events().collect::<Vec<_>>(), before);
    assert_eq!(
        l.installed(&id("abilene"), &id("gb200"), day(45)),
        Some(800)
    );
    assert_eq!(
        l.site_free_at(&id("abilene"), &id("gb200"), day(45)),
        Some(100)
    );
    // From day 50 on only "a" (300) is sold: retiring 500 then fits.
    l.apply(expansion("r", "abilene", 50, &[("gb200", -500)], None))
        .unwrap();
    assert_eq!(
        l.installed(&id("abilene"), &id("gb200"), day(50)),
        Some(300)
    );
    assert_eq!(
        l.site_free_at(&id("abilene"), &id("gb200"), day(55)),
        Some(0)
    );
    // And a later contract cannot use what was retired.
    let r = l
        .apply(gb200("c", "cw", "oai", 1, win(55, 56), abilene()))
        .unwrap_err();
    assert_eq!(r.violations[0].code(), "site_oversold");
}

#[test]
fn installed_gpus_and_power_never_go_below_zero() {
    let mut l = base();
    campus(&mut l);
    l.apply(expansion("p1", "abilene", 10, &[("gb200", 100)], None))
        .unwrap();
    // Retiring 150 from day 5: installed would be −150 on [5, 10) and −50 after.
    let r = l
        .apply(expansion("r", "abilene", 5, &[("gb200", -150)], None))
        .unwrap_err();
    assert_eq!(
        r.violations,
        vec![Violation::InstalledBelowZero {
            item: ItemRef::Expansion(id("r")),
            site: id("abilene"),
            gpu: id("gb200"),
            at: day(5),
            installed: -150,
            shortfall: 150,
        }]
    );
    // A class the site never had cannot be retired either.
    let r = l
        .apply(expansion("r", "abilene", 20, &[("h100", -1)], None))
        .unwrap_err();
    assert_eq!(r.violations[0].code(), "installed_below_zero");
    assert_eq!(l.installed(&id("abilene"), &id("h100"), day(30)), Some(0));
    let r = l
        .apply(expansion("r", "abilene", 20, &[], Some(-1.5)))
        .unwrap_err();
    assert_eq!(
        r.violations,
        vec![Violation::PowerBelowZero {
            item: ItemRef::Expansion(id("r")),
            site: id("abilene"),
            at: day(20),
            power_w: "-500000".into(),
        }]
    );
}

#[test]
fn a_power_overrun_at_any_instant_is_refused() {
    let mut l = base();
    campus(&mut l);
    // 1 MW holds 833 GB200 (999,600 W); 834 draw 1,000,800 W.
    l.apply(expansion("p1", "abilene", 10, &[("gb200", 833)], None))
        .unwrap();
    let r = l
        .apply(expansion("p2", "abilene", 20, &[("gb200", 1)], None))
        .unwrap_err();
    assert_eq!(
        r.violations,
        vec![Violation::PowerOverrun {
            item: ItemRef::Expansion(id("p2")),
            site: id("abilene"),
            at: Some(day(20)),
            required_w: "1000800".into(),
            limit_w: "1000000".into(),
            over_w: "800".into(),
        }]
    );
    // Power delivered late: GPUs from day 20, power only from day 30.
    l.apply(expansion("pw", "abilene", 30, &[], Some(0.5)))
        .unwrap();
    let r = l
        .apply(expansion("p2", "abilene", 20, &[("gb200", 400)], None))
        .unwrap_err();
    assert!(
        matches!(&r.violations[..], [Violation::PowerOverrun { at: Some(t), .. }] if *t == day(20))
    );
    l.apply(expansion("p2", "abilene", 30, &[("gb200", 400)], None))
        .unwrap();
    // Removing the power later would strand installed GPUs.
    let r = l
        .apply(expansion("cut", "abilene", 60, &[], Some(-0.3)))
        .unwrap_err();
    assert!(matches!(
        &r.violations[..],
        [Violation::PowerOverrun { at: Some(t), over_w, .. }] if *t == day(60) && over_w == "279600"
    ));
    // A site with no power_mw has no limit until an expansion sets one.
    l.apply(expansion("x", "plano", 5, &[("h100", 10)], None))
        .unwrap();
    assert_eq!(l.power_mw(&id("plano"), day(5)), None);
}

#[test]
fn expansion_references_and_ids_are_checked() {
    let mut l = base();
    campus(&mut l);
    let codes = |r: Rejection| r.violations.iter().map(|v| v.code()).collect::<Vec<_>>();
    let r = l.apply(expansion("x", "nowhere", 0, &[("gb200", 1)], None));
    assert_eq!(codes(r.unwrap_err()), ["unknown_reference"]);
    let r = l.apply(expansion("x", "abilene", 0, &[("tpu", 1)], None));
    assert_eq!(codes(r.unwrap_err()), ["unknown_reference"]);
    let r = l.apply(expansion("x", "abilene", 0, &[], None));
    assert_eq!(codes(r.unwrap_err()), ["empty_expansion"]);
    let r = l.apply(expansion(
        "x",
        "abilene",
        0,
        &[("gb200", 1), ("gb200", 2)],
        None,
    ));
    assert_eq!(codes(r.unwrap_err()), ["duplicate_id"]);
    l.apply(expansion("x", "abilene", 0, &[("gb200", 1)], None))
        .unwrap();
    let r = l.apply(expansion("x", "abilene", 5, &[("gb200", 1)], None));
    assert_eq!(codes(r.unwrap_err()), ["duplicate_id"]);
    assert!(GpuDelta::new("gpus", 0).is_err());
    assert!(MwDelta::new("power_mw", 0.0).is_err());
    assert!(MwDelta::new("power_mw", f64::NAN).is_err());
    // The journal replays the expansion.
    assert!(
        l.events()
            .any(|e| matches!(e, Event::Expansion(x) if x.id == id("x")))
    );
}

#[test]
fn file_order_of_expansions_does_not_matter() {
    // A retirement written before the phases it retires, and GPUs written
    // before the power they need on the same date.
    let mut l = base();
    campus(&mut l);
    let mut s = scenario_of(&l);
    for e in [
        expansion("retire", "abilene", 90, &[("gb200", -300)], None),
        expansion("gpus", "abilene", 30, &[("gb200", 1200)], None),
        expansion("p1", "abilene", 10, &[("gb200", 500)], None),
        expansion("power", "abilene", 30, &[], Some(1.5)),
    ] {
        if let Event::Expansion(x) = e {
            s.expansions.push(x);
        }
    }
    if let Event::Contract(c) = gb200("c", "cw", "goog", 1500, win(40, 80), abilene()) {
        s.contracts.push(c);
    }
    let l = Ledger::from_scenario(&s).unwrap();
    let at = |d| l.installed(&id("abilene"), &id("gb200"), day(d)).unwrap();
    assert_eq!((at(10), at(30), at(90)), (500, 1700, 1400));
    // The retirement comes after the contract ends. Retiring while it runs
    // leaves the file invalid; a file loads build-out before contracts, so
    // the contract is the one refused, at the retirement's date.
    s.expansions[0].effective = day(79);
    let r = Ledger::from_scenario(&s).unwrap_err();
    assert!(matches!(
        &r.violations[..],
        [Violation::SiteOversold { item, at, shortfall: 100, .. }]
            if *item == ItemRef::Contract(id("c")) && *at == day(79)
    ));
}

// ---- property tests -------------------------------------------------------

/// One accepted contract in the naive model: (id, backer index or None for
/// the site, window in days, base GPUs, amendments (effective day, GPUs),
/// resellable).
type NaiveContract = (
    String,
    Option<usize>,
    (i64, i64),
    i64,
    Vec<(i64, i64)>,
    bool,
);

/// A naive model: the accepted contracts, with amounts recomputed from scratch.
#[derive(Clone, Default, Debug)]
struct Naive {
    contracts: Vec<NaiveContract>,
}

const INSTALLED: i64 = 1000;
/// Every day the generated windows can touch, and one on each side.
const DAYS: std::ops::RangeInclusive<i64> = -6..=75;

impl Naive {
    fn amount(&self, i: usize, t: i64) -> i64 {
        let (_, _, (s, e), g, am, _) = &self.contracts[i];
        if t < *s || t >= *e {
            return 0;
        }
        g + am
            .iter()
            .filter(|(eff, _)| *eff <= t)
            .map(|(_, x)| x)
            .sum::<i64>()
    }

    fn valid(&self) -> bool {
        DAYS.clone().all(|t| {
            let amounts: Vec<i64> = (0..self.contracts.len())
                .map(|i| self.amount(i, t))
                .collect();
            let mut resold = vec![0i64; self.contracts.len()];
            let mut site = 0;
            for (i, c) in self.contracts.iter().enumerate() {
                match c.1 {
                    Some(b) => resold[b] += amounts[i],
                    None => site += amounts[i],
                }
            }
            site <= INSTALLED && resold.iter().zip(&amounts).all(|(r, a)| r <= a)
        })
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// backer: None = site, Some(k) = the k-th accepted contract (mod len)
    Contract {
        backer: Option<usize>,
        start: i64,
        len: i64,
        gpus: i64,
        resale: bool,
    },
    Amend {
        target: usize,
        eff: i64,
        gpus: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (proptest::option::of(0usize..64), 0i64..50, 1i64..20, 1i64..600, any::<bool>())
            .prop_map(|(backer, start, len, gpus, resale)| Op::Contract { backer, start, len, gpus, resale }),
        1 => (0usize..64, -5i64..55, 1i64..300).prop_map(|(target, eff, gpus)| Op::Amend { target, eff, gpus }),
    ]
}

/// Everything observable about capacity: free GPUs of every source at every day.
fn snapshot(l: &Ledger, naive: &Naive) -> Vec<i64> {
    let mut v = Vec::new();
    for t in DAYS {
        v.push(l.site_free_at(&id("plano"), &id("h100"), day(t)).unwrap());
        for c in &naive.contracts {
            v.push(l.contract_free_at(&id(&c.0), day(t)).unwrap());
            v.push(l.amount(&id(&c.0), day(t)).unwrap());
        }
    }
    v.push(l.len() as i64);
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// (a) no accepted state oversells, (b) a refused op changes nothing,
    /// (c) the incremental ledger accepts exactly what a from-scratch check accepts.
    #[test]
    fn ledger_agrees_with_naive_model(ops in proptest::collection::vec(op(), 1..40)) {
        let mut l = base();
        let mut naive = Naive::default();
        let sellers = ["cw", "goog", "msft", "oai"];
        for (n, o) in ops.into_iter().enumerate() {
            let before = snapshot(&l, &naive);
            let mut candidate = naive.clone();
            let event = match o {
                Op::Contract { backer, start, len, gpus: g, resale } => {
                    let backer = backer.filter(|_| !naive.contracts.is_empty()).map(|k| k % naive.contracts.len());
                    // The seller of a resale is the holder of its backer: tiers follow the party list.
                    let depth = {
                        let mut d = 0; let mut b = backer;
                        while let Some(x) = b { d += 1; b = naive.contracts[x].1; }
                        d
                    };
                    let seller = sellers[depth.min(3)];
                    let buyer = sellers[(depth + 1).min(3)];
                    let (s, e) = match backer {
                        // Resales stay inside the backer's window when they can, so capacity is what is tested.
                        Some(b) => {
                            let (bs, be) = naive.contracts[b].2;
                            let s = (bs + start % (be - bs)).min(be - 1);
                            (s, (s + len).min(be))
                        }
                        None => (start, start + len),
                    };
                    let cid = format!("c{n}");
                    candidate.contracts.push((cid.clone(), backer, (s, e), g, vec![], resale));
                    let structurally_ok = backer.is_none_or(|b| naive.contracts[b].5);
                    let src = backer.map_or(site(), |b| backed(&naive.contracts[b].0));
                    let ev = contract(&cid, seller, buyer, g, win(s, e), src, resale);
                    (ev, structurally_ok)
                }
                Op::Amend { target, eff, gpus: g } => {
                    if naive.contracts.is_empty() { continue; }
                    let t = target % naive.contracts.len();
                    let (s, e) = naive.contracts[t].2;
                    let ok = eff < e;
                    if ok { candidate.contracts[t].4.push((eff.max(s), g)); }
                    let ev = Event::Amendment(Amendment {
                        target: AmendmentTarget::Contract { id: id(&naive.contracts[t].0), gpus: gpus(g) },
                        effective: day(eff),
                    });
                    (ev, ok)
                }
            };
            let (ev, structurally_ok) = event;
            let expect_ok = structurally_ok && candidate.valid();
            match l.apply(ev) {
                Ok(_) => {
                    prop_assert!(expect_ok, "ledger accepted what the naive model refuses");
                    naive = candidate;
                    // (a) never oversold, recomputed from scratch
                    prop_assert!(naive.valid());
                }
                Err(_) => {
                    prop_assert!(!expect_ok, "ledger refused what the naive model accepts");
                    // (b) nothing changed
                    prop_assert_eq!(snapshot(&l, &naive), before);
                }
            }
            // (c) the incremental free capacity equals the from-scratch one
            for t in DAYS {
                let amounts: Vec<i64> = (0..naive.contracts.len()).map(|i| naive.amount(i, t)).collect();
                let mut resold = vec![0i64; naive.contracts.len()];
                let mut used = 0;
                for (i, c) in naive.contracts.iter().enumerate() {
                    match c.1 { Some(b) => resold[b] += amounts[i], None => used += amounts[i] }
                }
                prop_assert_eq!(l.site_free_at(&id("plano"), &id("h100"), day(t)).unwrap(), INSTALLED - used);
                for (i, c) in naive.contracts.iter().enumerate() {
                    if c.5 {
                        prop_assert_eq!(l.contract_free_at(&id(&c.0), day(t)).unwrap(), amounts[i] - resold[i]);
                    }
                }
            }
        }
    }
}

/// Builds a ledger from random operations, keeping what is accepted.
fn accepted_ledger(ops: Vec<Op>) -> Ledger {
    let mut l = base();
    let mut ids: Vec<(String, bool, Window)> = Vec::new();
    for (n, o) in ops.into_iter().enumerate() {
        let ev = match o {
            Op::Contract {
                backer,
                start,
                len,
                gpus: g,
                resale,
            } => {
                let backer = backer.filter(|_| !ids.is_empty()).map(|k| k % ids.len());
                let cid = format!("c{n}");
                let (src, w, seller) = match backer {
                    Some(b) if ids[b].1 => {
                        let bw = ids[b].2;
                        let holder = l.contract(&id(&ids[b].0)).unwrap().contract.buyer.clone();
                        (backed(&ids[b].0), bw, holder)
                    }
                    _ => (site(), win(start, start + len), id("cw")),
                };
                let buyers = ["goog", "msft", "oai"];
                let buyer = buyers[n % 3];
                let ev = Event::Contract(Contract {
                    id: id(&cid),
                    seller,
                    buyer: id(buyer),
                    gpu: id("h100"),
                    gpus: gpus(g),
                    window: w,
                    price_per_gpu_hour: price("2.00"),
                    source: src,
                    resale,
                });
                if l.apply(ev).is_ok() {
                    ids.push((cid, resale, w));
                }
                continue;
            }
            Op::Amend {
                target,
                eff,
                gpus: g,
            } => {
                if ids.is_empty() {
                    continue;
                }
                Event::Amendment(Amendment {
                    target: AmendmentTarget::Contract {
                        id: id(&ids[target % ids.len()].0),
                        gpus: gpus(g),
                    },
                    effective: day(eff),
                })
            }
        };
        let _ = l.apply(ev);
    }
    l
}

fn scenario_of(l: &Ledger) -> Scenario {
    let mut s = Scenario {
        name: "replayed".into(),
        ..Default::default()
    };
    for e in l.events() {
        match e {
            Event::Gpu(g) => s.gpus.push(g),
            Event::Party(p) => s.parties.push(p),
            Event::Site(x) => s.sites.push(x),
            Event::Expansion(x) => s.expansions.push(x),
            Event::Contract(c) => s.contracts.push(c),
            Event::Amendment(a) => s.amendments.push(a),
            other => panic!("unexpected {other:?}"),
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Validity is a property of the whole file, not of its order: any
    /// shuffle of an accepted journal's contracts and amendments is valid
    /// and yields the same capacity everywhere.
    #[test]
    fn validation_does_not_depend_on_file_order(
        ops in proptest::collection::vec(op(), 1..40),
        seed in any::<u64>(),
    ) {
        let l = accepted_ledger(ops);
        let mut s = scenario_of(&l);
        // Fisher-Yates with a seeded xorshift: deterministic per case.
        let mut x = seed | 1;
        let mut next = |n: usize| { x ^= x << 13; x ^= x >> 7; x ^= x << 17; (x % n as u64) as usize };
        for i in (1..s.contracts.len()).rev() { let j = next(i + 1); s.contracts.swap(i, j); }
        for i in (1..s.amendments.len()).rev() { let j = next(i + 1); s.amendments.swap(i, j); }
        let shuffled = Ledger::from_scenario(&s).map_err(|r| TestCaseError::fail(r.to_string()))?;
        for t in DAYS {
            prop_assert_eq!(
                shuffled.site_free_at(&id("plano"), &id("h100"), day(t)),
                l.site_free_at(&id("plano"), &id("h100"), day(t))
            );
            for c in l.contracts() {
                prop_assert_eq!(shuffled.contract_free_at(&c.id, day(t)), l.contract_free_at(&c.id, day(t)));
                prop_assert_eq!(shuffled.amount(&c.id, day(t)), l.amount(&c.id, day(t)));
            }
        }
        prop_assert_eq!(shuffled.len(), l.len());
    }
}
