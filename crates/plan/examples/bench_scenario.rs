//! Writes the synthetic benchmark scenario (see `cascade_plan::synth`) as
//! TOML to stdout.
//!
//! cargo run --release -p cascade-plan --example bench_scenario -- \
//!     ../shared/data/gpu-offers/offers.csv [MONTHS] > bench.toml

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| "../shared/data/gpu-offers/offers.csv".to_string());
    let mut opts = cascade_plan::synth::SynthOptions::default();
    if let Some(m) = args.next() {
        opts.months = m.parse().expect("MONTHS is a whole number");
    }
    let file = std::fs::File::open(&path).unwrap_or_else(|e| {
        eprintln!("cannot read {path}: {e}");
        std::process::exit(1)
    });
    let s = cascade_plan::synth::bench_scenario(std::io::BufReader::new(file), &opts)
        .unwrap_or_else(|e| {
            eprintln!("{path}: {e}");
            std::process::exit(1)
        });
    eprintln!(
        "{}: {} offers, {} parties, {} sites, {} contracts, {} demand windows",
        s.name,
        s.offers.len(),
        s.parties.len(),
        s.sites.len(),
        s.contracts.len(),
        s.demands.len()
    );
    print!("{}", cascade_format::to_toml(&s));
}
