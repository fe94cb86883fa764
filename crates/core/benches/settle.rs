//! Settlement at scale: a year of invoices for 100,000 contracts.
//!
//! `cargo bench -p cascade-core --bench settle`
//!
//! 100,000 contracts over 50 sites (40 % site contracts, 45 % resales one
//! tier down, 15 % two tiers down, so chains reach depth 3), 5 % of site
//! contracts topped up mid-window, and 40 partial outages that leave sites
//! short, so credit lines are computed too. Timed: the delivery rule plus
//! `settle` for the twelve months of 2026, conservation checks included.
//! The generator is seeded: every run settles the same network.

use std::hint::black_box;

use cascade_core::*;
use criterion::{Criterion, criterion_group, criterion_main};

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

const CONTRACTS: usize = 100_000;
const SITES: usize = 50;
const PARTIES: usize = 200;

fn id(s: &str) -> Id {
    Id::new(s).expect("generated ids are valid")
}

/// The first day of month `m` counted from 2026-01.
fn month_start(m: i64) -> Instant {
    Instant::from_date(2026 + (m / 12) as i32, (m % 12) as u8 + 1, 1).expect("valid month")
}

fn generate() -> (Ledger, Vec<Outage>) {
    let mut r = Rng(0x005e_771e_b111);
    let mut l = Ledger::new();
    l.reserve(CONTRACTS);
    let h100 = Id::new_gpu_class("H100").expect("valid");
    l.apply(Event::Gpu(GpuClass {
        id: h100.clone(),
        h100e: Positive::new("h100e", 1.0).expect("positive"),
        watts: Positive::new("watts", 700.0).expect("positive"),
    }))
    .expect("first class");
    let parties: Vec<Id> = (0..PARTIES).map(|i| id(&format!("p{i}"))).collect();
    for p in &parties {
        l.apply(Event::Party(Party {
            id: p.clone(),
            name: None,
        }))
        .expect("unique party");
    }
    for s in 0..SITES {
        l.apply(Event::Site(Site {
            id: id(&format!("site-{s}")),
            owner: parties[s % 10].clone(),
            region: format!("region-{}", s % 7),
            power_mw: None,
            gpus: vec![(h100.clone(), Gpus::new("gpus", 100_000).expect("positive"))],
        }))
        .expect("valid site");
    }
    // (id, buyer, start month, end month, tier, resales so far)
    let mut held: Vec<(Id, usize, i64, i64, u32, u32)> = Vec::new();
    let mut n = 0;
    while held.len() < CONTRACTS {
        n += 1;
        let cid = id(&format!("c{n}"));
        let price = UsdPerGpuHour::new(
            "price",
            format!("{}.{:02}", 1 + r.below(3), r.below(100))
                .parse()
                .expect("decimal"),
        )
        .expect("price");
        let roll = r.below(100);
        let backer = (roll >= 40 && !held.is_empty())
            .then(|| r.below(held.len() as u64) as usize)
            .filter(|&b| held[b].4 < 2 && held[b].5 < 9);
        let (seller, start, end, gpus, source, tier) = match backer {
            None => {
                let s = r.below(SITES as u64) as usize;
                let start = r.below(12);
                let end = (start + 1 + r.below(12)).min(18);
                (
                    s % 10,
                    start,
                    end,
                    100,
                    Source::Site(id(&format!("site-{s}"))),
                    0,
                )
            }
            Some(b) => {
                let (bid, bbuyer, bs, be, bt, _) = held[b].clone();
                held[b].5 += 1;
                let start = bs + r.below((be - bs) as u64);
                let end = start + 1 + r.below((be - start) as u64);
                let gpus = if bt == 0 { 10 } else { 1 };
                (bbuyer, start, end, gpus, Source::BackedBy(bid), bt + 1)
            }
        };
        let mut buyer = 10 + r.below((PARTIES - 10) as u64) as usize;
        if buyer == seller {
            buyer = (buyer + 1 - 10) % (PARTIES - 10) + 10;
        }
        let accepted = l
            .apply(Event::Contract(Contract {
                id: cid.clone(),
                seller: parties[seller].clone(),
                buyer: parties[buyer].clone(),
                gpu: h100.clone(),
                gpus: Gpus::new("gpus", gpus).expect("positive"),
                window: Window::new(month_start(start), month_start(end)).expect("non-empty"),
                price_per_gpu_hour: price,
                source,
                resale: tier < 2,
            }))
            .is_ok();
        if !accepted {
            continue;
        }
        if tier == 0 && r.below(20) == 0 && end - start >= 2 {
            let eff = month_start(start + 1);
            let _ = l.apply(Event::Amendment(Amendment {
                target: AmendmentTarget::Contract {
                    id: cid.clone(),
                    gpus: Gpus::new("gpus", 1).expect("positive"),
                },
                effective: Instant::from_unix_seconds(eff.unix_seconds() + 15 * 86_400),
            }));
        }
        held.push((cid, buyer, start, end, tier, 0));
    }
    let outages = (0..40)
        .map(|_| {
            let s = r.below(SITES as u64);
            let start = month_start(r.below(12)).unix_seconds() + r.below(27 * 24) * 3600;
            let end = start + (1 + r.below(72)) * 3600;
            Outage {
                scope: OutageScope::Site(id(&format!("site-{s}"))),
                window: Window::new(
                    Instant::from_unix_seconds(start),
                    Instant::from_unix_seconds(end),
                )
                .expect("non-empty"),
                fraction: OutageFraction::new("fraction", "0.9".parse().expect("decimal"))
                    .expect("valid"),
            }
        })
        .collect();
    (l, outages)
}

fn benches(c: &mut Criterion) {
    let (ledger, outages) = generate();
    let (from, to) = (
        Month::parse("2026-01").expect("valid"),
        Month::parse("2026-12").expect("valid"),
    );
    let run = || {
        let d = Delivery::new(&ledger, &outages).expect("known sites");
        settle(&ledger, &d, from, to).expect("conserves")
    };
    let s = run();
    let lines: usize = s
        .months
        .iter()
        .flat_map(|m| &m.invoices)
        .map(|i| i.lines.len())
        .sum();
    let credits = s
        .months
        .iter()
        .flat_map(|m| &m.invoices)
        .flat_map(|i| &i.lines)
        .filter(|l| l.kind == LineKind::Credit)
        .count();
    let invoices: usize = s.months.iter().map(|m| m.invoices.len()).sum();
    eprintln!(
        "settle bench: {} contracts, {invoices} invoices, {lines} lines ({credits} credits), {} resellers",
        ledger.contracts().count(),
        s.margins.len()
    );
    let mut g = c.benchmark_group("settle");
    g.sample_size(10);
    g.bench_function("year_100k_contracts", |b| b.iter(|| black_box(run())));
    g.finish();
}

criterion_group!(settle_bench, benches);
criterion_main!(settle_bench);
