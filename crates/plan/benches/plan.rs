//! Planning benchmark on a synthetic scenario generated from the real
//! SkyPilot catalog in `../shared/data/gpu-offers/offers.csv` (see
//! `cascade_plan::synth`): 2,000 offers, 50+ synthetic physical providers,
//! 36 monthly segments, every constraint family on.
//!
//! - `plan/build`: planning data + MILP + hand-over to HiGHS (no solve);
//! - `plan/greedy`: the greedy baseline with its independent check;
//! - `plan/solve`: the whole optimal plan (build + HiGHS to gap 1e-4).
//!
//! Skips gracefully when the catalog is absent. `CASCADE_BENCH_MONTHS`
//! shortens the horizon (default 36).

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use cascade_core::{Id, Ledger};
use cascade_plan::{Strategy, synth};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let csv =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/gpu-offers/offers.csv");
    let Ok(file) = std::fs::File::open(&csv) else {
        eprintln!("plan bench skipped: {} not found", csv.display());
        return;
    };
    let mut opts = synth::SynthOptions::default();
    if let Some(m) = std::env::var("CASCADE_BENCH_MONTHS")
        .ok()
        .and_then(|m| m.parse().ok())
    {
        opts.months = m;
    }
    let scenario =
        synth::bench_scenario(std::io::BufReader::new(file), &opts).expect("catalog imports");
    let ledger = Ledger::from_scenario(&scenario).expect("synthetic scenario validates");
    let buyer = Id::new(synth::BUYER).expect("valid id");
    let stats = cascade_plan::build_only(&scenario, &ledger, &buyer).expect("plannable");
    eprintln!(
        "plan bench: {} offers ({} usable), {} providers, {} demand segments; MILP {} columns ({} integer), {} rows, {} nonzeros",
        scenario.offers.len(),
        stats.usable_offers,
        stats.providers,
        stats.demand_segments,
        stats.columns,
        stats.integer_columns,
        stats.rows,
        stats.nonzeros
    );

    let mut g = c.benchmark_group("plan");
    g.bench_function("build", |b| {
        b.iter(|| black_box(cascade_plan::build_only(&scenario, &ledger, &buyer).unwrap()))
    });
    g.bench_function("greedy", |b| {
        b.iter(|| {
            black_box(cascade_plan::plan(&scenario, &ledger, &buyer, Strategy::Greedy).unwrap())
        })
    });
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(1));
    g.bench_function("solve", |b| {
        b.iter(|| {
            let r = cascade_plan::plan(&scenario, &ledger, &buyer, Strategy::Optimal).unwrap();
            assert_eq!(r.status, cascade_plan::PlanStatus::Optimal);
            black_box(r)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
