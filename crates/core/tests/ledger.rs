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

fn date(y: i32, m: u8, d: u8) -> Instant {
    Instant::from_date(y, m, d).unwrap()
}

fn month(y: i32, m: u8) -> Month {
    Month::new(y, m).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// CoreWeave's campus in two phases and one retirement, resold three tiers
/// deep (cw → goog → msft → oai), plus oai's own H100s from msft's site.
///
/// ```text
/// abilene (cw), power 0.6 MW, no GPUs of its own; GB200 = 2.5 H100e, 1200 W
///   phase-1  2026-02-01  +500 GB200                 installed  500, 0.6 MW
///   phase-2  2026-04-15  +1000 GB200, +1.2 MW       installed 1500, 1.8 MW
///   retire   2026-06-01  -200 GB200                 installed 1300
/// d1  cw -> oai   100 GB200 [2026-02-01, 2026-12-01) from abilene
/// t1  cw -> goog 1200 GB200 [2026-05-01, 2026-09-01) from abilene (sold ahead of phase 2)
/// t2  goog -> msft 800      [2026-05-01, 2026-09-01) from t1
/// t3  msft -> oai  500      [2026-06-01, 2026-08-01) from t2
/// q1  msft -> oai  600 H100 [2026-01-01, 2027-01-01) from quincy (msft)
/// ```
fn campus_scenario() -> Scenario {
    let mut l = base();
    campus(&mut l);
    // base() powers abilene with 1 MW; this campus starts at 0.6 MW.
    let mut s = scenario_of(&l);
    s.sites[1].power_mw = Some(Positive::new("power_mw", 0.6).unwrap());
    s.sites.push(Site {
        id: id("quincy"),
        owner: id("msft"),
        region: "us-west".into(),
        power_mw: None,
        gpus: vec![(id("h100"), gpus(1000))],
    });
    let ev = |e: Event| match e {
        Event::Expansion(x) => x,
        _ => unreachable!(),
    };
    let x = |xid, y, m, d, g, p| {
        ev(expansion(xid, "abilene", 0, &[("gb200", g)], p)).with_effective(date(y, m, d))
    };
    s.expansions = vec![
        x("retire", 2026, 6, 1, -200, None),
        x("phase-2", 2026, 4, 15, 1000, Some(1.2)),
        x("phase-1", 2026, 2, 1, 500, None),
    ];
    let w = |a: Instant, b: Instant| Window::new(a, b).unwrap();
    let c = |e: Event| match e {
        Event::Contract(c) => c,
        _ => unreachable!(),
    };
    let (may, sep) = (date(2026, 5, 1), date(2026, 9, 1));
    s.contracts = vec![
        // Written resale-first: order in the file does not matter.
        c(gb200(
            "t3",
            "msft",
            "oai",
            500,
            w(date(2026, 6, 1), date(2026, 8, 1)),
            backed("t2"),
        )),
        c(gb200("t2", "goog", "msft", 800, w(may, sep), backed("t1"))),
        c(gb200("t1", "cw", "goog", 1200, w(may, sep), abilene())),
        c(gb200(
            "d1",
            "cw",
            "oai",
            100,
            w(date(2026, 2, 1), date(2026, 12, 1)),
            abilene(),
        )),
        c(contract(
            "q1",
            "msft",
            "oai",
            600,
            w(date(2026, 1, 1), date(2027, 1, 1)),
            Source::Site(id("quincy")),
            false,
        )),
    ];
    s
}

trait WithEffective {
    fn with_effective(self, t: Instant) -> Self;
}

impl WithEffective for Expansion {
    fn with_effective(mut self, t: Instant) -> Expansion {
        self.effective = t;
        self
    }
}

#[test]
fn build_out_timeline_by_month() {
    let l = Ledger::from_scenario(&campus_scenario()).unwrap();
    let tl = l
        .timeline(
            &id("abilene"),
            month(2026, 1),
            month(2026, 9),
            Some(date(2026, 3, 1)),
        )
        .unwrap();
    assert_eq!((tl.provider.as_str(), tl.months.len()), ("cw", 9));
    // (month, installed, sold, free, min free in the month, unbuilt as of 2026-03-01, power MW, drawn MW)
    let expected = [
        ("2026-01", 0, 0, 0, 0, 0, 0.6, 0.0),
        ("2026-02", 500, 100, 400, 400, 0, 0.6, 0.6),
        ("2026-03", 500, 100, 400, 400, 0, 0.6, 0.6),
        // Phase 2 lands on the 15th: the April row still shows phase 1 only.
        ("2026-04", 500, 100, 400, 400, 0, 0.6, 0.6),
        // t1 is sold ahead of phase 2, which was not built as of March.
        ("2026-05", 1500, 1300, 200, 200, 800, 1.8, 1.8),
        ("2026-06", 1300, 1300, 0, 0, 800, 1.8, 1.56),
        ("2026-07", 1300, 1300, 0, 0, 800, 1.8, 1.56),
        ("2026-08", 1300, 1300, 0, 0, 800, 1.8, 1.56),
        ("2026-09", 1300, 100, 1200, 1200, 0, 1.8, 1.56),
    ];
    for (row, e) in tl.months.iter().zip(expected) {
        assert_eq!(row.month.to_string(), e.0);
        assert_eq!(row.classes.len(), 1, "{}", e.0);
        let k = &row.classes[0];
        assert_eq!(
            (
                k.installed_gpus,
                k.sold_gpus,
                k.free_gpus,
                k.min_free_gpus,
                k.unbuilt_gpus
            ),
            (e.1, e.2, e.3, e.4, Some(e.5)),
            "{}",
            e.0
        );
        assert!(
            close(row.power_mw.unwrap(), e.6) && close(row.drawn_mw, e.7),
            "{}",
            e.0
        );
    }
    // A contract starting mid-month lowers that month's minimum only.
    let mut s = campus_scenario();
    if let Event::Contract(c) = gb200(
        "mid",
        "cw",
        "msft",
        150,
        Window::new(date(2026, 3, 10), date(2026, 4, 10)).unwrap(),
        abilene(),
    ) {
        s.contracts.push(c);
    }
    let l2 = Ledger::from_scenario(&s).unwrap();
    let tl = l2
        .timeline(&id("abilene"), month(2026, 3), month(2026, 4), None)
        .unwrap();
    let k: Vec<_> = tl
        .months
        .iter()
        .map(|m| {
            (
                m.classes[0].free_gpus,
                m.classes[0].min_free_gpus,
                m.classes[0].unbuilt_gpus,
            )
        })
        .collect();
    assert_eq!(k, [(400, 250, None), (250, 250, None)]);
    // Every site, sorted by id; a site without power_mw has none.
    let all = l.timelines(month(2026, 1), month(2026, 1), None);
    let ids: Vec<&str> = all.iter().map(|t| t.site.as_str()).collect();
    assert_eq!(ids, ["abilene", "plano", "quincy"]);
    assert_eq!(all[2].months[0].power_mw, None);
    assert!(close(all[2].months[0].drawn_mw, 0.7));
    assert!(
        l.timeline(&id("abilene"), month(2026, 2), month(2026, 1), None)
            .unwrap()
            .months
            .is_empty()
    );
    assert!(
        l.timeline(&id("nowhere"), month(2026, 1), month(2026, 2), None)
            .is_none()
    );
}

#[test]
fn unbuilt_capacity_is_traced_through_three_tiers_of_resale() {
    let l = Ledger::from_scenario(&campus_scenario()).unwrap();
    let t = date(2026, 6, 15);
    // At t abilene has 1300 installed and 1300 sold (t1 1200 + d1 100). As of
    // 2026-03-01 only phase 1 was built: installed₀ = 500, f₀ = 500/1300 = 5/13.
    // oai holds d1 (100) and t3 (500) there: 600 GB200 = 1500 H100e, of which
    // 1500 × 8/13 = 923.08 are not built; plus 600 built H100 at quincy.
    let e = l.exposure_asof(&id("oai"), t, date(2026, 3, 1));
    assert!(close(e.total_h100e, 2100.0));
    assert!(close(e.unbuilt.h100e, 12000.0 / 13.0));
    assert!(close(e.unbuilt.share, 12000.0 / 13.0 / 2100.0));
    assert_eq!(e.unbuilt.by_provider.len(), 1);
    assert_eq!(e.unbuilt.by_provider[0].id, id("cw"));
    assert!(close(e.unbuilt.by_provider[0].h100e, 12000.0 / 13.0));
    assert_eq!(e.unbuilt.asof, date(2026, 3, 1));
    assert_eq!(
        e.flags,
        [
            "NOT YET BUILT: 923.1 H100e (44.0%) of the capacity held at 2026-06-15T00:00:00Z depends on expansions after 2026-03-01T00:00:00Z: cw 923.1 H100e (44.0%)"
        ]
    );
    // goog keeps 1200 − 800 = 400 of t1: 1000 H100e, 8/13 of it unbuilt.
    let g = l.exposure_asof(&id("goog"), t, date(2026, 3, 1));
    assert!(close(g.unbuilt.h100e, 8000.0 / 13.0));
    assert!(close(g.unbuilt.share, 8.0 / 13.0));
    // Before phase 1 nothing at abilene was built.
    let e = l.exposure_asof(&id("oai"), t, date(2026, 1, 15));
    assert!(close(e.unbuilt.h100e, 1500.0));
    // As of May both phases are built; the June retirement is not a build-out.
    let e = l.exposure_asof(&id("oai"), t, date(2026, 5, 1));
    assert_eq!((e.unbuilt.h100e, e.unbuilt.by_provider.len()), (0.0, 0));
    assert!(e.flags.is_empty());
    // Plain exposure is as of its own instant: nothing is unbuilt.
    let e = l.exposure(&id("oai"), t);
    assert_eq!(e.unbuilt.h100e, 0.0);
    assert!(e.unbuilt.h100e.is_sign_positive(), "prints as 0, not -0");
    assert_eq!(e.unbuilt.asof, t);
}

/// The base ledger's GPU classes, parties and site as a scenario, plus
/// the given contracts.
fn scenario_with(contracts: Vec<Event>) -> Scenario {
    let mut s = Scenario::default();
    for e in base().events().chain(contracts) {
        match e {
            Event::Gpu(g) => s.gpus.push(g),
            Event::Party(p) => s.parties.push(p),
            Event::Site(x) => s.sites.push(x),
            Event::Contract(c) => s.contracts.push(c),
            _ => unreachable!(),
        }
    }
    s
}

fn top_up(contract: &str, n: i64, effective: i64) -> Amendment {
    Amendment {
        target: AmendmentTarget::Contract {
            id: id(contract),
            gpus: gpus(n),
        },
        effective: day(effective),
    }
}

/// "kind:id" per event, amendments as "amendment:<target>".
fn labels(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            Event::Gpu(g) => format!("gpu:{}", g.id),
            Event::Party(p) => format!("party:{}", p.id),
            Event::Site(x) => format!("site:{}", x.id),
            Event::Clause(_) => "clause".into(),
            Event::Contract(c) => format!("contract:{}", c.id),
            Event::Amendment(a) => match &a.target {
                AmendmentTarget::Contract { id, .. } => format!("amendment:{id}"),
                AmendmentTarget::Commitment { id, .. } => format!("amendment:{id}"),
            },
            Event::Commitment(c) => format!("commitment:{}", c.id),
            Event::Offer(o) => format!("offer:{}", o.id),
            Event::Expansion(x) => format!("expansion:{}", x.id),
        })
        .collect()
}

#[test]
fn load_order_puts_backers_first_and_amendments_after_their_contract() {
    // Written grandchild, child, root; the root's top-up is written first,
    // and one amendment names a contract the scenario does not have.
    let mut s = scenario_with(vec![
        contract("gc", "oai", "msft", 10, win(0, 5), backed("ch"), false),
        contract("ch", "goog", "oai", 20, win(0, 10), backed("root"), true),
        contract("root", "cw", "goog", 100, win(0, 30), site(), true),
        contract("solo", "cw", "msft", 5, win(0, 30), site(), false),
    ]);
    s.amendments.push(top_up("elsewhere", 1, 3));
    s.amendments.push(top_up("root", 50, 5));
    s.amendments.push(top_up("ch", 5, 2));
    let order = s.load_order();
    assert!(order.refused.is_empty(), "{:?}", order.refused);
    let got = labels(&order.events);
    assert_eq!(
        got[7..],
        [
            "contract:root",
            "amendment:root",
            "contract:ch",
            "amendment:ch",
            "contract:gc",
            "contract:solo",
            "amendment:elsewhere",
        ]
    );
    assert_eq!(
        got[..7],
        [
            "gpu:h100",
            "gpu:gb200",
            "party:cw",
            "party:goog",
            "party:oai",
            "party:msft",
            "site:plano",
        ]
    );
}

#[test]
fn a_duplicate_id_refuses_the_whole_scenario_and_reports_every_copy() {
    // Three contracts called c1 and two parties called oai: 2 + 1 copies
    // too many. A resale of c1 would be carved from a guess, so nothing is
    // applied, not even the first copy.
    let mut s = scenario_with(vec![
        contract("c1", "cw", "goog", 100, win(0, 30), site(), true),
        contract("c1", "cw", "oai", 100, win(0, 30), site(), true),
        contract("r", "goog", "msft", 10, win(0, 5), backed("c1"), false),
        contract("c1", "cw", "msft", 100, win(0, 30), site(), true),
    ]);
    s.parties.push(Party {
        id: id("oai"),
        name: None,
    });
    let order = s.load_order();
    assert!(order.events.is_empty());
    let dup = |item| Violation::DuplicateId { item };
    let expected = vec![
        dup(ItemRef::Party(id("oai"))),
        dup(ItemRef::Contract(id("c1"))),
        dup(ItemRef::Contract(id("c1"))),
    ];
    assert_eq!(order.refused, expected);
    assert_eq!(Ledger::from_scenario(&s).unwrap_err().violations, expected);
}

#[test]
fn a_cycle_is_refused_with_its_resales_before_anything_is_applied() {
    let s = scenario_with(vec![
        contract("a", "goog", "oai", 5, win(0, 5), backed("b"), true),
        contract("b", "oai", "goog", 5, win(0, 5), backed("a"), true),
        contract("c", "goog", "msft", 1, win(0, 5), backed("a"), false),
        contract("ok", "cw", "goog", 5, win(0, 5), site(), false),
    ]);
    let order = s.load_order();
    assert_eq!(labels(&order.events)[7..], ["contract:ok"]);
    let codes: Vec<&str> = order.refused.iter().map(|v| v.code()).collect();
    assert_eq!(codes, ["cycle", "backing_rejected"]);
    assert_eq!(
        order.refused[0].to_string(),
        "contract \"a\": backed_by forms a cycle: a -> b -> a"
    );
}

#[test]
fn capacity_breakpoints_are_contract_dates_and_top_ups_sorted_once() {
    let mut s = scenario_with(vec![
        contract("late", "cw", "goog", 10, win(10, 30), site(), false),
        contract("early", "cw", "oai", 10, win(0, 10), site(), false),
    ]);
    s.amendments.push(top_up("late", 5, 20));
    // A commitment top-up adds money, not capacity: no breakpoint.
    s.amendments.push(Amendment {
        target: AmendmentTarget::Commitment {
            id: id("k"),
            usd: Usd::new("usd", Decimal::from(1)).unwrap(),
        },
        effective: day(25),
    });
    assert_eq!(
        s.capacity_breakpoints(),
        [day(0), day(10), day(20), day(30)]
    );
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
    /// Accepted expansions of the site: (effective day, GPUs added or retired).
    expansions: Vec<(i64, i64)>,
}

const INSTALLED: i64 = 1000;
/// Every day the generated windows can touch, and one on each side.
const DAYS: std::ops::RangeInclusive<i64> = -6..=75;

impl Naive {
    fn installed(&self, t: i64) -> i64 {
        INSTALLED
            + self
                .expansions
                .iter()
                .filter(|(eff, _)| *eff <= t)
                .map(|(_, d)| d)
                .sum::<i64>()
    }

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
            let installed = self.installed(t);
            installed >= 0 && site <= installed && resold.iter().zip(&amounts).all(|(r, a)| r <= a)
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
    /// GPUs added to (or retired from) the site from a day on.
    Expand {
        eff: i64,
        gpus: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (proptest::option::of(0usize..64), 0i64..50, 1i64..20, 1i64..600, any::<bool>())
            .prop_map(|(backer, start, len, gpus, resale)| Op::Contract { backer, start, len, gpus, resale }),
        1 => (0usize..64, -5i64..55, 1i64..300).prop_map(|(target, eff, gpus)| Op::Amend { target, eff, gpus }),
        1 => (-5i64..75, -600i64..400).prop_map(|(eff, gpus)| Op::Expand { eff, gpus: if gpus == 0 { 1 } else { gpus } }),
    ]
}

/// Everything observable about capacity: free GPUs of every source at every day.
fn snapshot(l: &Ledger, naive: &Naive) -> Vec<i64> {
    let mut v = Vec::new();
    for t in DAYS {
        v.push(l.site_free_at(&id("plano"), &id("h100"), day(t)).unwrap());
        v.push(l.installed(&id("plano"), &id("h100"), day(t)).unwrap());
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
                Op::Expand { eff, gpus: g } => {
                    candidate.expansions.push((eff, g));
                    let ev = Event::Expansion(Expansion {
                        id: id(&format!("x{n}")),
                        site: id("plano"),
                        effective: day(eff),
                        gpus: vec![(id("h100"), GpuDelta::new("gpus", g).unwrap())],
                        power_mw: None,
                    });
                    (ev, true)
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
                prop_assert_eq!(l.installed(&id("plano"), &id("h100"), day(t)).unwrap(), naive.installed(t));
                prop_assert_eq!(l.site_free_at(&id("plano"), &id("h100"), day(t)).unwrap(), naive.installed(t) - used);
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
            Op::Expand { eff, gpus: g } => Event::Expansion(Expansion {
                id: id(&format!("x{n}")),
                site: id("plano"),
                effective: day(eff),
                gpus: vec![(id("h100"), GpuDelta::new("gpus", g).unwrap())],
                power_mw: None,
            }),
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
        for i in (1..s.expansions.len()).rev() { let j = next(i + 1); s.expansions.swap(i, j); }
        let shuffled = Ledger::from_scenario(&s).map_err(|r| TestCaseError::fail(r.to_string()))?;
        for t in DAYS {
            prop_assert_eq!(
                shuffled.site_free_at(&id("plano"), &id("h100"), day(t)),
                l.site_free_at(&id("plano"), &id("h100"), day(t))
            );
            prop_assert_eq!(
                shuffled.installed(&id("plano"), &id("h100"), day(t)),
                l.installed(&id("plano"), &id("h100"), day(t))
            );
            for c in l.contracts() {
                prop_assert_eq!(shuffled.contract_free_at(&c.id, day(t)), l.contract_free_at(&c.id, day(t)));
                prop_assert_eq!(shuffled.amount(&c.id, day(t)), l.amount(&c.id, day(t)));
            }
        }
        prop_assert_eq!(shuffled.len(), l.len());
    }
}
