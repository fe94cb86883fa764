//! Ledger throughput and exposure latency at scale.
//!
//! `cargo bench -p cascade-core --bench ledger`
//!
//! - build: 1,000,000 events (site contracts, resales up to depth 4,
//!   amendments) over 50 sites, validated one by one.
//! - build with expansions: the same mix with 10% of the events site
//!   expansions and retirements.
//! - exposure: a buyer holding 100,000 contracts, and the same with
//!   delivery risk (`unbuilt`) as of an earlier date.
//! - timeline: 1,000 sites built out in phases, 60 months each.
//!
//! The generator is seeded, so every run checks the same events.

use std::hint::black_box;

use cascade_core::*;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

mod common;

use common::*;

/// 1,000 campuses of 2 classes, each built out in 3 phases with its power
/// and one retirement, with 12 contracts each (some sold ahead of a phase).
fn timeline_ledger() -> Ledger {
    let mut rng = Rng(0x7133_11ae_0000_0001);
    let mut l = Ledger::new();
    for (g, w) in [("h100", 700.0), ("gb200", 1200.0)] {
        l.apply(Event::Gpu(GpuClass {
            id: id(g),
            h100e: Positive::new("h100e", 1.0).expect("positive"),
            watts: Positive::new("watts", w).expect("positive"),
        }))
        .expect("valid");
    }
    for p in ["owner", "lab"] {
        l.apply(Event::Party(Party {
            id: id(p),
            name: None,
        }))
        .expect("valid");
    }
    let price = UsdPerGpuHour::new("price", "2.15".parse().expect("decimal")).expect("price");
    for s in 0..1000 {
        let site = id(&format!("campus-{s}"));
        l.apply(Event::Site(Site {
            id: site.clone(),
            owner: id("owner"),
            region: format!("region-{}", s % 7),
            power_mw: Some(Positive::new("power_mw", 10.0).expect("positive")),
            gpus: vec![(id("h100"), Gpus::new("gpus", 4000).expect("positive"))],
        }))
        .expect("valid");
        for (p, (month, gb200, mw)) in [(6, 8000, 12.0), (18, 8000, 12.0), (30, 8000, 12.0)]
            .into_iter()
            .enumerate()
        {
            l.apply(Event::Expansion(Expansion {
                id: id(&format!("campus-{s}-phase-{p}")),
                site: site.clone(),
                effective: Instant::from_unix_seconds(T0 + (month + rng.below(3) as i64) * MONTH_S),
                gpus: vec![(id("gb200"), GpuDelta::new("gpus", gb200).expect("non-zero"))],
                power_mw: Some(MwDelta::new("power_mw", mw).expect("non-zero")),
            }))
            .expect("valid");
        }
        l.apply(Event::Expansion(Expansion {
            id: id(&format!("campus-{s}-retire")),
            site: site.clone(),
            effective: Instant::from_unix_seconds(T0 + 48 * MONTH_S),
            gpus: vec![(id("h100"), GpuDelta::new("gpus", -4000).expect("non-zero"))],
            power_mw: None,
        }))
        .expect("valid");
        for c in 0..12 {
            let (gpu, start, end, n) = if c % 2 == 0 {
                ("h100", rng.below(24) as i64, 24 + rng.below(24) as i64, 300)
            } else {
                (
                    "gb200",
                    21 + rng.below(12) as i64,
                    36 + rng.below(24) as i64,
                    2500,
                )
            };
            l.apply(Event::Contract(Contract {
                id: id(&format!("campus-{s}-c{c}")),
                seller: id("owner"),
                buyer: id("lab"),
                gpu: id(gpu),
                gpus: Gpus::new("gpus", n).expect("positive"),
                window: window(start, end),
                price_per_gpu_hour: price,
                source: Source::Site(site.clone()),
                resale: false,
            }))
            .expect("fits");
        }
    }
    l
}

fn benches(c: &mut Criterion) {
    let (setup, events) = generate(0);
    let (ledger, accepted) = build(&setup, events.clone());
    let big = id("big");
    let at = Instant::from_unix_seconds(T0 + 12 * MONTH_S);
    let held = ledger.holdings(&big, at).len();
    eprintln!(
        "ledger bench: {} events, {} accepted, {} refused; buyer 'big' holds {} contracts ({} live at month 12)",
        events.len(),
        accepted,
        events.len() - accepted,
        ledger.contracts_of(&big).len(),
        held
    );

    let mut g = c.benchmark_group("ledger");
    g.sample_size(10);
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("build_1m_events", |b| {
        b.iter_batched(
            || events.clone(),
            |ev| black_box(build(&setup, ev)),
            BatchSize::PerIteration,
        )
    });
    let (xsetup, xevents) = generate(10);
    let (xledger, xaccepted) = build(&xsetup, xevents.clone());
    let expansions = xevents
        .iter()
        .filter(|e| matches!(e, Event::Expansion(_)))
        .count();
    eprintln!(
        "ledger bench with expansions: {} events ({} expansions, {} accepted), {} accepted, {} refused",
        xevents.len(),
        expansions,
        xledger.expansions().len(),
        xaccepted,
        xevents.len() - xaccepted
    );
    g.bench_function("build_1m_events_10pct_expansions", |b| {
        b.iter_batched(
            || xevents.clone(),
            |ev| black_box(build(&xsetup, ev)),
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("exposure");
    g.sample_size(20);
    g.bench_function("buyer_with_100k_contracts", |b| {
        b.iter(|| black_box(ledger.exposure(&big, at)))
    });
    // Delivery risk on the ledger with expansions: as of month 0, the
    // expansions of months 1..12 are not built yet.
    let asof = Instant::from_unix_seconds(T0);
    let e = xledger.exposure_asof(&big, at, asof);
    eprintln!(
        "exposure with unbuilt: {} contracts held at month 12, {:.0} of {:.0} H100e not built as of month 0",
        xledger.holdings(&big, at).len(),
        e.unbuilt.h100e,
        e.total_h100e
    );
    g.bench_function("buyer_with_100k_contracts_unbuilt", |b| {
        b.iter(|| black_box(xledger.exposure_asof(&big, at, asof)))
    });
    g.finish();

    let tl = timeline_ledger();
    let (from, to) = (
        Month::new(2026, 1).expect("valid"),
        Month::new(2030, 12).expect("valid"),
    );
    let rows = tl.timelines(from, to, Some(asof));
    eprintln!(
        "timeline bench: {} sites x {} months",
        rows.len(),
        rows[0].months.len()
    );
    let mut g = c.benchmark_group("timeline");
    g.sample_size(20);
    g.bench_function("1000_sites_60_months", |b| {
        b.iter(|| black_box(tl.timelines(from, to, Some(asof))))
    });
    g.finish();
}

criterion_group!(ledger, benches);
criterion_main!(ledger);
