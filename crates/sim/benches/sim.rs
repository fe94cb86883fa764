//! One simulated year of a 100,000-GPU fleet over 24 sites of 6 providers,
//! 1,000,000 jobs, random site and provider outages and GPU failures.
//! Goal: under 10 s per run on one core (≥ 1M events/s).
//!
//! `cargo bench -p cascade-sim --bench sim` (release profile). Runs the
//! simulation `SIM_BENCH_REPS` times (default 3) on one thread and prints
//! wall time and events per second of each run.

use std::fmt::Write;
use std::time::Instant as Clock;

use cascade_core::{Id, Ledger};
use cascade_sim::{
    Config, EngineParams, FaultParams, Outages, Policy, Span, Synthetic, simulate, synthetic,
};

const SITES: usize = 24;
const PROVIDERS: usize = 6;
const FLEET_GPUS: usize = 100_000;

/// The fleet: each provider owns 4 sites; the lab buys every site's GPUs,
/// a third of them through a reseller (`neocloud`) that resells them.
fn scenario() -> String {
    let mut s = String::from(
        "name = \"bench-fleet\"\n\n[[gpu]]\nid = \"h100\"\nh100e = 1.0\nwatts = 700\n\n[[gpu]]\nid = \"gb200\"\nh100e = 2.5\nwatts = 1200\n\n[[party]]\nid = \"lab\"\n\n[[party]]\nid = \"neocloud\"\n",
    );
    for p in 0..PROVIDERS {
        let _ = write!(s, "\n[[party]]\nid = \"p{p}\"\n");
    }
    let per_site = FLEET_GPUS / SITES;
    for i in 0..SITES {
        let class = if i % 3 == 2 { "gb200" } else { "h100" };
        let _ = write!(
            s,
            "\n[[site]]\nid = \"s{i}\"\nowner = \"p{}\"\nregion = \"r{}\"\ngpus = {{ {class} = {per_site} }}\n",
            i % PROVIDERS,
            i % 4
        );
        let resold = i % 3 == 1;
        let buyer = if resold { "neocloud" } else { "lab" };
        let _ = write!(
            s,
            "\n[[contract]]\nid = \"c{i}\"\nseller = \"p{}\"\nbuyer = \"{buyer}\"\ngpu = \"{class}\"\ngpus = {per_site}\nstart = 2025-01-01\nend = 2028-01-01\nprice_per_gpu_hour = \"2.00\"\nsite = \"s{i}\"\nresale = {resold}\n",
            i % PROVIDERS
        );
        if resold {
            let _ = write!(
                s,
                "\n[[contract]]\nid = \"r{i}\"\nseller = \"neocloud\"\nbuyer = \"lab\"\ngpu = \"{class}\"\ngpus = {per_site}\nstart = 2025-06-01\nend = 2027-06-01\nprice_per_gpu_hour = \"2.40\"\nbacked_by = \"c{i}\"\n"
            );
        }
    }
    s
}

fn main() {
    let reps: usize = std::env::var("SIM_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let src = scenario();
    let sc = cascade_format::parse_toml(&src, "bench.toml").expect("bench scenario parses");
    let ledger = Ledger::from_scenario(&sc).expect("bench scenario is valid");
    let span = Span {
        start: 1_767_225_600, // 2026-01-01
        end: 1_767_225_600 + 365 * 86_400,
    };
    let cfg = Config {
        span,
        seed: 7,
        runs: 1,
        outages: Outages::Random,
        slips: false,
        faults: FaultParams::default(),
        engine: EngineParams::default(),
        reprocure_after_s: i64::MAX,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("one thread");
    let lab = Id::new("lab").expect("id");
    let policy = Policy {
        name: "held".into(),
        ledger: &ledger,
        reprocure: None,
    };
    // 1 % training gangs leave the fleet about a third busy; 2.5 % keep
    // it over four-fifths busy, so queues, EASY reservations, backfill and preemption all work.
    for (label, training_share) in [("moderate", 0.01), ("busy", 0.025)] {
        let t0 = Clock::now();
        let w = synthetic(&Synthetic {
            jobs: 1_000_000,
            horizon_s: span.end - span.start,
            training_gpus_max: 4096,
            training_share,
            ..Synthetic::default()
        });
        println!(
            "{label} workload: {} jobs ({:.1} % training) generated in {:.2} s",
            w.jobs.len(),
            training_share * 100.0,
            t0.elapsed().as_secs_f64()
        );
        for rep in 0..reps {
            let t = Clock::now();
            let r = pool
                .install(|| simulate(&policy, &lab, &[], &w, &cfg, &|| {}))
                .expect("simulation passes its self-check");
            let secs = t.elapsed().as_secs_f64();
            let m = &r.runs[0];
            println!(
                "  run {rep}: {:.2} s wall, {} events, {:.2} M events/s; {} of {} jobs finished, utilization {:.1}%, queue p95 {:.1} h, {} interruptions, {} preemptions, capacity lost {:.0} H100e-h",
                secs,
                m.events,
                m.events as f64 / secs / 1e6,
                m.jobs_finished,
                m.jobs_total,
                100.0 * m.utilization,
                m.queue_delay_p95_s / 3600.0,
                m.interruptions,
                m.preemptions,
                m.capacity_lost_h100e_hours
            );
        }
    }
}
