//! One build of the ledger bench's events, outside criterion: for
//! profilers and instruction counts.
//!
//! `cargo run --release -p cascade-core --example ledger_build -- [EVENTS] [EXPANSION_PCT]`
//!
//! Under callgrind, count only the timed part (what criterion times):
//! `valgrind --tool=callgrind --toggle-collect='ledger_build::common::build' target/release/examples/ledger_build 200000`

#[path = "../benches/common/mod.rs"]
mod common;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map_or(common::EVENTS, |a| a.parse().expect("EVENTS is a number"));
    let pct: u64 = args
        .next()
        .map_or(0, |a| a.parse().expect("EXPANSION_PCT is a number"));
    let (setup, events) = common::generate_n(pct, n);
    let (t, cpu) = (std::time::Instant::now(), cpu_ns());
    let (ledger, accepted) = std::hint::black_box(common::build(&setup, events));
    let s = t.elapsed().as_secs_f64();
    // On a shared machine the thread's own run time (Linux schedstat) says
    // more than the wall clock: waiting for a core is not counted.
    let cpu = cpu_ns().zip(cpu).map(|(b, a)| (b - a) as f64 / 1e9);
    println!(
        "{n} events, {accepted} accepted, ledger len {}: {s:.3} s wall, {:.0} events/s; {}",
        ledger.len(),
        n as f64 / s,
        cpu.map_or("no schedstat".into(), |c| format!(
            "{c:.3} s on cpu, {:.0} events/s",
            n as f64 / c
        ))
    );
}

/// Nanoseconds this thread has run, from /proc/thread-self/schedstat.
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
