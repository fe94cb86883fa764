//! `cascade simulate` on the example scenario: the figures that follow from
//! the file by the delivery rule, the outage lesson, bad input, determinism.

use serde_json::Value;

use crate::common::{CHAIN, cascade, json_of};

const JOBS: &str = "crates/cli/tests/fixtures/sim-jobs.csv";

fn base<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "simulate",
        CHAIN,
        "--buyer",
        "openai",
        "--trace",
        JOBS,
        "--trace-start",
        "2026-01-01",
    ];
    v.extend_from_slice(extra);
    v
}

/// The file's one outage (cw-plano, 2026-02-01 06:00–18:00) shorts every
/// contract rooted at cw-plano: 8000 GB200 bought from CoreWeave directly
/// (8000 × 2.5 × 12 = 240,000 H100e-h) and 10000 H100 bought from Google,
/// which resold them from CoreWeave (10000 × 1.0 × 12 = 120,000).
#[test]
fn held_figures_follow_from_the_file() {
    let doc = json_of(&cascade(&base(&["--json"])));
    assert_eq!(doc["buyer"], "openai");
    assert_eq!(doc["runs"], 1);
    assert_eq!(doc["from"], "2026-01-01T00:00:00Z");
    assert_eq!(doc["to"], "2027-01-01T00:00:00Z");
    let p = &doc["policies"][0];
    assert_eq!(p["policy"], "held");
    // (20000 + 8000×2.5 + 10000 + 16000×2.5) × 8760 h + 10000 × 4344 h (gcp-openai-2 ends 2026-07-01).
    assert_eq!(p["capacity_h100e_hours"], 831_840_000.0);
    assert_eq!(p["capacity_lost_h100e_hours"], 360_000.0);
    // 20000×2.00×8760 + 8000×4.00×8760 + 10000×2.50×8760 + 10000×2.60×4344 + 16000×4.00×8760.
    assert_eq!(p["cost_usd"], "1523304000.00");
    assert_eq!(p["jobs_total"], 5);
    assert_eq!(p["jobs_skipped"], 0);
    assert_eq!(p["jobs_finished"], 5);
    assert_eq!(p["unmet_h100e_hours"], 0.0);
}

#[test]
fn text_output_shows_both_counterparties_failing_together() {
    let o = cascade(&base(&[]));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("outage of site cw-plano"), "{out}");
    assert!(
        out.contains("360,000 H100e-hours through 2 contract(s)"),
        "{out}"
    );
    assert!(out.contains("bought from coreweave directly"), "{out}");
    assert!(
        out.contains("bought from google, resold from coreweave"),
        "{out}"
    );
}

#[test]
fn same_seed_same_bytes() {
    let args = base(&[
        "--outages",
        "random",
        "--runs",
        "4",
        "--seed",
        "11",
        "--json",
    ]);
    let a = cascade(&args);
    let b = cascade(&args);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert_eq!(a.stdout, b.stdout);
    let doc: Value = serde_json::from_slice(&a.stdout).unwrap();
    let p = &doc["policies"][0];
    assert!(p["delivered_h100e_hours_ci95"].is_array());
    assert!(p["cost_usd_ci95"].is_array());
}

#[test]
fn policies_compare_and_draw() {
    let svg = std::env::temp_dir().join(format!("cascade-sim-{}.svg", std::process::id()));
    let svg_s = svg.to_str().unwrap();
    let doc = json_of(&cascade(&base(&[
        "--compare",
        "held,optimal,greedy,single:oracle,reprocure",
        "--json",
        "--svg",
        svg_s,
    ])));
    let names: Vec<&str> = doc["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["policy"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["held", "optimal", "greedy", "single:oracle", "reprocure"]
    );
    let cost = |i: usize| -> f64 {
        doc["policies"][i]["cost_usd"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    // Planned purchases add to the held cost; reprocure pays for replacements.
    assert!(cost(1) > cost(0));
    assert!(cost(4) > cost(0));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.contains("single:oracle delivered"));
    let _ = std::fs::remove_file(&svg);
}

#[test]
fn bad_input_is_named_and_fails() {
    let o = cascade(&[
        "simulate",
        CHAIN,
        "--buyer",
        "openai",
        "--trace",
        "crates/cli/tests/fixtures/sim-bad-jobs.csv",
        "--trace-start",
        "2026-01-01",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("sim-bad-jobs.csv:line 3: column gpus: -4 is negative"),
        "{err}"
    );

    let o = cascade(
        &base(&[])
            .iter()
            .map(|s| if *s == "openai" { "nobody" } else { s })
            .collect::<Vec<_>>(),
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--buyer: no party \"nobody\""));

    let o = cascade(&base(&["--compare", "held,cheapest"]));
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown policy \"cheapest\""));

    let o = cascade(&[
        "simulate",
        CHAIN,
        "--buyer",
        "openai",
        "--trace",
        CHAIN,
        "--trace-start",
        "2026-01-01",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 1"));
}
