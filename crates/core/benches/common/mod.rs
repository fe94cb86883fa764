//! The seeded event generator of the ledger bench, shared with
//! `examples/ledger_build.rs` (one build under a profiler or callgrind).

#![allow(dead_code)] // each user takes what it needs

use cascade_core::*;

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub const EVENTS: usize = 1_000_000;
pub const SITES: usize = 50;
pub const MONTH_S: i64 = 30 * 86_400;
pub const T0: i64 = 1_767_225_600; // 2026-01-01

pub fn id(s: &str) -> Id {
    Id::new(s).expect("generated ids are valid")
}

pub fn window(a_month: i64, b_month: i64) -> Window {
    Window::new(
        Instant::from_unix_seconds(T0 + a_month * MONTH_S),
        Instant::from_unix_seconds(T0 + b_month * MONTH_S),
    )
    .expect("non-empty")
}

/// Setup events, then `EVENTS` contracts/resales/amendments, of which
/// `expansion_pct` % are expansions of a random site and class (7 in 10 add
/// up to 20,000 GPUs, 3 in 10 retire up to 2,000; a retirement below what is
/// sold is refused).
/// `big` is the buyer of every seventh event that is a contract: about
/// 114,000 contracts.
pub fn generate(expansion_pct: u64) -> (Vec<Event>, Vec<Event>) {
    generate_n(expansion_pct, EVENTS)
}

/// [`generate`] with `count` events instead of `EVENTS` (the same stream, cut).
pub fn generate_n(expansion_pct: u64, count: usize) -> (Vec<Event>, Vec<Event>) {
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    // With expansions, sites start smaller and grow: what is sold at month 12
    // then outgrows what was built by month 0, so `unbuilt` has work to do.
    let base_gpus = if expansion_pct > 0 {
        100_000
    } else {
        2_000_000
    };
    let mut setup = Vec::new();
    let classes = ["h100", "h200", "gb200", "mi300x"];
    for (i, g) in classes.iter().enumerate() {
        setup.push(Event::Gpu(GpuClass {
            id: id(g),
            h100e: Positive::new("h100e", 1.0 + i as f64 * 0.5).expect("positive"),
            watts: Positive::new("watts", 700.0).expect("positive"),
        }));
    }
    let parties: Vec<String> = (0..SITES)
        .map(|i| format!("provider-{i}"))
        .chain((0..150).map(|i| format!("party-{i}")))
        .chain(["big".to_string()])
        .collect();
    for p in &parties {
        setup.push(Event::Party(Party {
            id: id(p),
            name: None,
        }));
    }
    for s in 0..SITES {
        setup.push(Event::Site(Site {
            id: id(&format!("site-{s}")),
            owner: id(&format!("provider-{s}")),
            region: format!("region-{}", s % 7),
            power_mw: None,
            gpus: classes
                .iter()
                .map(|g| (id(g), Gpus::new("gpus", base_gpus).expect("positive")))
                .collect(),
        }));
    }
    // (id, buyer, class, start month, end month, gpus, depth)
    let mut resellable: Vec<(String, String, usize, i64, i64, i64, u32)> = Vec::new();
    let mut all: Vec<(String, i64)> = Vec::new();
    let mut events = Vec::with_capacity(count);
    let price = UsdPerGpuHour::new("price", "2.15".parse().expect("decimal")).expect("price");
    let mut n = 0usize;
    while events.len() < count {
        n += 1;
        let cid = format!("c{n}");
        let buyer = if n.is_multiple_of(7) {
            "big".to_string()
        } else {
            format!("party-{}", rng.below(150))
        };
        // No draw when there are no expansions: the plain run keeps the
        // event stream (and figures) of the bench before expansions existed.
        if expansion_pct > 0 && rng.below(100) < expansion_pct {
            let d = if rng.below(10) < 7 {
                1 + rng.below(20_000) as i64
            } else {
                -1 - rng.below(2000) as i64
            };
            events.push(Event::Expansion(Expansion {
                id: id(&format!("x{n}")),
                site: id(&format!("site-{}", rng.below(SITES as u64))),
                effective: Instant::from_unix_seconds(T0 + rng.below(36) as i64 * MONTH_S),
                gpus: vec![(
                    id(classes[rng.below(4) as usize]),
                    GpuDelta::new("gpus", d).expect("non-zero"),
                )],
                power_mw: None,
            }));
            continue;
        }
        let roll = rng.below(100);
        if roll < 45 || resellable.is_empty() {
            let s = rng.below(SITES as u64) as usize;
            let class = rng.below(4) as usize;
            let start = rng.below(30) as i64;
            let end = start + 1 + rng.below(24) as i64;
            let gpus = 64 + rng.below(512) as i64;
            let resale = buyer != "big";
            events.push(Event::Contract(Contract {
                id: id(&cid),
                seller: id(&format!("provider-{s}")),
                buyer: id(&buyer),
                gpu: id(classes[class]),
                gpus: Gpus::new("gpus", gpus).expect("positive"),
                window: window(start, end),
                price_per_gpu_hour: price,
                source: Source::Site(id(&format!("site-{s}"))),
                resale,
            }));
            if resale {
                resellable.push((cid.clone(), buyer, class, start, end, gpus, 1));
            }
            all.push((cid, end));
        } else if roll < 80 {
            let k = rng.below(resellable.len() as u64) as usize;
            let (bid, holder, class, bs, be, bg, depth) = resellable[k].clone();
            let start = bs + rng.below((be - bs) as u64) as i64;
            let end = start + 1 + rng.below((be - start) as u64) as i64;
            let gpus = 1 + rng.below((bg / 4).max(1) as u64) as i64;
            let buyer = if buyer == holder {
                "party-0".to_string()
            } else {
                buyer
            };
            let resale = depth < 4 && buyer != "big";
            events.push(Event::Contract(Contract {
                id: id(&cid),
                seller: id(&holder),
                buyer: id(&buyer),
                gpu: id(classes[class]),
                gpus: Gpus::new("gpus", gpus).expect("positive"),
                window: window(start, end),
                price_per_gpu_hour: price,
                source: Source::BackedBy(id(&bid)),
                resale,
            }));
            if resale {
                resellable.push((cid.clone(), buyer, class, start, end, gpus, depth + 1));
            }
            all.push((cid, end));
        } else {
            let k = rng.below(all.len() as u64) as usize;
            let (target, end) = &all[k];
            let eff = rng.below(*end as u64) as i64;
            events.push(Event::Amendment(Amendment {
                target: AmendmentTarget::Contract {
                    id: id(target),
                    gpus: Gpus::new("gpus", 1 + rng.below(16) as i64).expect("positive"),
                },
                effective: Instant::from_unix_seconds(T0 + eff * MONTH_S),
            }));
        }
    }
    (setup, events)
}

pub fn build(setup: &[Event], events: Vec<Event>) -> (Ledger, usize) {
    let mut l = Ledger::new();
    l.reserve(events.len());
    for e in setup {
        l.apply(e.clone()).expect("setup is valid");
    }
    let mut accepted = 0;
    for e in events {
        accepted += usize::from(l.apply(e).is_ok());
    }
    (l, accepted)
}
