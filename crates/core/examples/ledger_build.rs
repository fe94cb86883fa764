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
    let t = std::time::Instant::now();
    let (ledger, accepted) = std::hint::black_box(common::build(&setup, events));
    let s = t.elapsed().as_secs_f64();
    println!(
        "{n} events, {accepted} accepted, ledger len {}: {s:.3} s, {:.0} events/s",
        ledger.len(),
        n as f64 / s
    );
}
