//! `cascade plan` and `cascade offers import-skypilot`, run as the built
//! binary: exact figures, the spec's --json shape, --apply output that
//! validates, bad input with clear messages and non-zero exits.

use std::path::PathBuf;
use std::process::Output;

use crate::common::{cascade, json, root, stderr, stdout, tmp};

#[test]
fn planning_example_json_has_the_spec_shape_and_exact_figures() {
    let o = cascade(&["plan", "examples/planning.toml", "--buyer", "lab", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut doc = json(&o);
    let keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    // The spec's keys, plus `strategy` (the document the API returns too;
    // docs/scenario-format.md, "Report documents").
    assert_eq!(
        sorted,
        [
            "buyer",
            "objective_usd",
            "purchases",
            "purchases_usd",
            "shortfall_usd",
            "solve_seconds",
            "status",
            "strategy",
            "surplus"
        ]
    );
    assert!(doc["solve_seconds"].as_f64().unwrap() >= 0.0);
    doc.as_object_mut().unwrap().remove("solve_seconds");
    let purchase = |offer: &str,
                    gpus: u32,
                    price: &str,
                    cost: &str,
                    seller: &str,
                    site: &str,
                    region: &str| {
        serde_json::json!({
            "offer": offer, "gpu": "h100", "gpus": gpus, "instances": gpus / 500,
            "gpus_per_instance": 500, "h100e": f64::from(gpus),
            "price_per_gpu_hour": price, "cost_usd": cost, "seller": seller,
            "provider": seller, "site": site, "region": region,
            "start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z",
            "accelerator_only": false,
        })
    };
    assert_eq!(
        doc,
        serde_json::json!({
            "buyer": "lab",
            "strategy": "optimal",
            "status": "optimal",
            "objective_usd": "46570000.00",
            "purchases_usd": "32850000.00",
            "shortfall_usd": "13720000.00",
            "purchases": [
                purchase("a-h100", 500, "1.50", "6570000.00", "cloud-a", "a-dc", "us-east"),
                purchase("b-h100", 1500, "2.00", "26280000.00", "cloud-b", "b-dc", "us-central"),
            ],
            "surplus": []
        })
    );
}

/// The model a user rebuilds elsewhere (bench/plan/highs_py.py), written
/// without the wait for a solve when --export-only is given.
#[test]
fn export_only_writes_the_model_and_solves_nothing() {
    let path = tmp("export-only-model.json");
    let _ = std::fs::remove_file(&path);
    let out = path.to_str().unwrap();
    let args = [
        "plan",
        "examples/planning.toml",
        "--buyer",
        "lab",
        "--export-model",
        out,
    ];
    let o = cascade(&[&args[..], &["--export-only", "--json"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "", "no plan is printed");
    assert!(
        stderr(&o).contains("wrote the planning model of lab"),
        "{}",
        stderr(&o)
    );
    let model: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(model["format"], "cascade-plan-model/1");
    assert_eq!(model["buyer"], "lab");
    let ids: Vec<&str> = model["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a-h100", "b-h100"]);
    // The same file and flags without --export-only also solve the plan.
    let o = cascade(&[&args[..], &["--json"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["status"], "optimal");
    // --export-only alone names what it needs.
    let o = cascade(&[
        "plan",
        "examples/planning.toml",
        "--buyer",
        "lab",
        "--export-only",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--export-model"), "{}", stderr(&o));
}

#[test]
fn compute_chain_optimum() {
    // Worked by hand in docs/planning.md: az-h100-2026 must be bought in
    // full (Azure's ROFR), cw-denton-gb200 is free in effect (every dollar
    // cuts the CoreWeave shortfall), and the last 6,000 H100e of 2026-H2 are
    // one Abilene block (5,000) plus one block of gcp-h100-own (1,000).
    let o = cascade(&[
        "plan",
        "examples/compute-chain-2025.toml",
        "--buyer",
        "openai",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = json(&o);
    // HiGHS's branch-and-bound on the whole model finds the same plan.
    let whole = cascade(&[
        "plan",
        "examples/compute-chain-2025.toml",
        "--buyer",
        "openai",
        "--json",
        "--whole-model",
    ]);
    assert_eq!(whole.status.code(), Some(0), "{}", stderr(&whole));
    let mut a = doc.clone();
    let mut b = json(&whole);
    a["solve_seconds"] = serde_json::Value::Null;
    b["solve_seconds"] = serde_json::Value::Null;
    assert_eq!(a, b);
    assert_eq!(doc["status"], "optimal");
    assert_eq!(doc["objective_usd"], "14691417600.00");
    assert_eq!(doc["purchases_usd"], "474009600.00");
    assert_eq!(doc["shortfall_usd"], "14217408000.00");
    let bought: Vec<(String, u64)> = doc["purchases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["offer"].as_str().unwrap().to_string(),
                p["gpus"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        bought,
        vec![
            ("az-h100-2026".to_string(), 4000),
            ("cw-denton-gb200".to_string(), 8000),
            ("oracle-abilene-gb200".to_string(), 2000),
            ("gcp-h100-own".to_string(), 1000),
        ]
    );
}

#[test]
fn human_output_shows_purchases_exposure_and_saving_against_greedy() {
    let o = cascade(&[
        "plan",
        "examples/compute-chain-2025.toml",
        "--buyer",
        "openai",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "Plan for openai (optimal strategy: MILP on HiGHS, relative gap ≤ 1e-4): optimal",
        "cw-denton-gb200",
        "Total (objective):    $14,691,417,600.00",
        "Commitment shortfall: $14,217,408,000.00",
        "Exposure of openai at 2026-01-01T00:00:00Z, before -> after the plan:",
        "Greedy baseline (cheapest H100e-hour first): $14,744,947,200.00",
        "Optimizer saves $53,529,600.00 (0.4%) against greedy.",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
}

#[test]
fn greedy_strategy() {
    let o = cascade(&[
        "plan",
        "examples/planning.toml",
        "--buyer",
        "lab",
        "--strategy",
        "greedy",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["status"], "feasible");
    assert_eq!(doc["objective_usd"], "46570000.00");
    // Greedy breaking N-1: status infeasible with the breaches as reason, exit 3.
    let o = cascade(&[
        "plan",
        "examples/planning-n1-infeasible.toml",
        "--buyer",
        "lab",
        "--strategy",
        "greedy",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(3));
    let doc = json(&o);
    assert_eq!(doc["status"], "infeasible");
    assert!(doc["reason"].as_str().unwrap().starts_with(
        "the greedy plan breaks 2 constraints: N-1 for provider coreweave in 2026-03"
    ));
}

#[test]
fn apply_writes_a_scenario_that_validates() {
    let out = tmp("applied.toml");
    let o = cascade(&[
        "plan",
        "examples/compute-chain-2025.toml",
        "--buyer",
        "openai",
        "--json",
        "--apply",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("4 purchase(s) turned into contracts"));
    let v = cascade(&["validate", out.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(0), "{}{}", stdout(&v), stderr(&v));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("id = \"plan-cw-denton-gb200\""));
    // Planning again on the applied scenario buys nothing more.
    let again = cascade(&["plan", out.to_str().unwrap(), "--buyer", "openai", "--json"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let doc = json(&again);
    assert_eq!(doc["purchases"], serde_json::json!([]));
    assert_eq!(doc["purchases_usd"], "0.00");
    // The exposure now includes the purchases.
    let e = cascade(&[
        "exposure",
        out.to_str().unwrap(),
        "--buyer",
        "openai",
        "--at",
        "2026-08-01",
        "--json",
    ]);
    assert_eq!(e.status.code(), Some(0), "{}", stderr(&e));
    assert_eq!(json(&e)["total"]["h100e"].as_f64(), Some(120000.0));
}

#[test]
fn infeasible_plan_says_why_and_exits_3() {
    let o = cascade(&[
        "plan",
        "examples/planning-n1-infeasible.toml",
        "--buyer",
        "lab",
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stdout(&o).contains(
        "N-1 for provider coreweave in 2026-03: need 12,000 H100e outside coreweave, at most 8,000 on offer"
    ), "{}", stdout(&o));
    let o = cascade(&[
        "plan",
        "examples/planning-n1-infeasible.toml",
        "--buyer",
        "lab",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(3));
    let doc = json(&o);
    assert_eq!(doc["status"], "infeasible");
    assert_eq!(
        doc["reason"],
        "N-1 for provider coreweave in 2026-03: need 12,000 H100e outside coreweave, at most 8,000 on offer (you hold 4,000 outside coreweave and offers add at most 4,000)."
    );
    assert_eq!(doc["purchases"], serde_json::json!([]));
    // --apply writes nothing when there is no plan.
    let out = tmp("never.toml");
    let o = cascade(&[
        "plan",
        "examples/planning-n1-infeasible.toml",
        "--buyer",
        "lab",
        "--apply",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(!out.exists());
}

fn fails_with(args: &[&str], needle: &str) {
    let o = cascade(args);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{args:?}: {}{}",
        stdout(&o),
        stderr(&o)
    );
    assert!(
        stderr(&o).contains(needle),
        "{args:?}: {needle:?} not in {}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn bad_input() {
    fails_with(
        &["plan", "examples/planning.toml", "--buyer", "nobody"],
        "error: --buyer: no party \"nobody\" in the scenario (parties: cloud-a, cloud-b, cloud-c, lab)",
    );
    fails_with(
        &["plan", "examples/planning.toml", "--buyer", "cloud-a"],
        "error: buyer cloud-a has no demand in the scenario",
    );
    fails_with(
        &[
            "plan",
            "examples/planning.toml",
            "--buyer",
            "lab",
            "--offer",
            "c-h100",
        ],
        "error: lab cannot use the requested offer: offer c-h100 is excluded by an avoid_provider clause: its physical provider is cloud-c",
    );
    fails_with(
        &[
            "plan",
            "examples/planning.toml",
            "--buyer",
            "lab",
            "--offer",
            "nope",
        ],
        "error: no offer \"nope\" in the scenario",
    );
    let src = std::fs::read_to_string(root().join("examples/planning.toml")).unwrap();
    let bad = tmp("bad-policy.toml");
    std::fs::write(
        &bad,
        src.replace("max_provider_share = 0.6", "max_provider_share = 1.5")
            .replace("budget_usd = \"50000000\"", "budget_usd = \"-1\""),
    )
    .unwrap();
    let o = cascade(&["plan", bad.to_str().unwrap(), "--buyer", "lab"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("field max_provider_share: is out of range: 1.5 (a share lies in [0, 1])"),
        "{err}"
    );
    assert!(
        err.contains("field budget_usd: must not be negative, got -1"),
        "{err}"
    );
    // Every offer excluded by clauses: each one's reason is named.
    let none = tmp("no-usable.toml");
    std::fs::write(
        &none,
        format!(
            "{src}\n[[clause]]\nkind = \"exclusive\"\nbuyer = \"lab\"\nseller = \"cloud-a\"\nuntil = 2026-06-01\n\n[[clause]]\nkind = \"no_resale_to\"\nseller = \"cloud-a\"\nparty = \"lab\"\n"
        )
        .replace(
            "[[contract]]\nid = \"a-lab-1\"\nseller = \"cloud-a\"\nbuyer = \"lab\"\ngpu = \"h100\"\ngpus = 1000\nstart = 2026-01-01\nend = 2027-01-01\nprice_per_gpu_hour = \"1.40\"\nsite = \"a-dc\"\n",
            "",
        ),
    )
    .unwrap();
    let o = cascade(&["plan", none.to_str().unwrap(), "--buyer", "lab"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("error: lab cannot use any offer:"), "{err}");
    assert!(
        err.contains("offer a-h100 is excluded by a no_resale_to clause"),
        "{err}"
    );
    assert!(
        err.contains("offer b-h100 is excluded by an exclusive clause"),
        "{err}"
    );
    assert!(
        err.contains("offer c-h100 is excluded by an avoid_provider clause"),
        "{err}"
    );
}

const CSV: &str = "\
Cloud,InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,Price,SpotPrice,Region,AvailabilityZone,SourceCatalog
aws,p5.48xlarge,H100,8.0,192.0,2048.0,98.32,,us-east-1,use1-az1,x
aws,p5.48xlarge,H100,8.0,192.0,2048.0,90.00,,us-east-1,use1-az2,x
gcp,,A100,1,,,1.70586,1.3974,asia-northeast1,asia-northeast1-a,x
gcp,,tpu-v2-8,1,,,4.5,,us-central1,us-central1-b,x
lambda,gpu_1x_h100,H100,1.0,26,200,2.49,,us-east-1,,x
shadeform,lambdalabs_H100-sxm5x8,H100,8.0,208.0,1800,31.92,,saltlakecity-usa-1,,x
";

fn import(args: &[&str]) -> Output {
    let mut all = vec!["offers", "import-skypilot"];
    all.extend_from_slice(args);
    cascade(&all)
}

#[test]
fn import_skypilot_writes_a_valid_scenario() {
    let csv = tmp("catalog.csv");
    std::fs::write(&csv, CSV).unwrap();
    let out = tmp("offers.toml");
    let c = csv.to_str().unwrap();
    let o = import(&[c, "--capacity-gpus", "4096", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("6 rows read, 5 used, 1 skipped: 4 offers (1 resold via marketplaces) from 4 sellers, 4 sites, 2 GPU classes; window 2027-01-01T00:00:00Z .. 2028-01-01T00:00:00Z (the fixed default)"),
        "{err}"
    );
    assert!(err.contains("skipped 1 rows, accelerator without an h100e mapping (docs/h100e.md): tpu-v2-8 (1 rows: gcp)"), "{err}");
    assert!(!err.contains("clouds with no offer left"), "{err}");
    assert!(err.contains("shadeform → lambda (1 rows)"), "{err}");
    assert!(
        err.contains(
            "accelerator-only prices (host VM not included, marked in the TOML): 1 offers"
        ),
        "{err}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("id = \"aws-us-east-1-h100-x8\""), "{text}");
    assert!(text.contains("gpu = \"H100\""), "{text}");
    assert!(text.contains("price_per_gpu_hour = \"11.25\""), "{text}");
    assert!(text.contains("block_gpus = 8"), "{text}");
    assert!(text.contains("block_gpus = 1"), "{text}");
    assert!(
        text.contains("# accelerator-only price: the host VM is not included (SkyPilot lists GCP accelerators apart)\n[[offer]]\nid = \"gcp-asia-northeast1-a100-x1\""),
        "{text}"
    );
    assert!(!text.contains("= \"-0"), "{text}");
    let v = cascade(&["validate", out.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(0), "{}", stderr(&v));

    // --strict: the TPU v2 row is a skip, so an error, and nothing written.
    let strict_out = tmp("strict.toml");
    let o = import(&[
        c,
        "--capacity-gpus",
        "4096",
        "--strict",
        "--out",
        strict_out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--strict: 1 rows skipped"),
        "{}",
        stderr(&o)
    );
    assert!(!strict_out.exists());

    // A bad number names file, line and column.
    std::fs::write(&csv, CSV.replace("1.70586", "1.7x")).unwrap();
    let o = import(&[c, "--capacity-gpus", "4096"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("{c}:4:7: Price \"1.7x\" is not a decimal number")),
        "{}",
        stderr(&o)
    );
    // A catalog with none of the needed columns names them.
    std::fs::write(&csv, "a,b\n1,2\n").unwrap();
    let o = import(&[c, "--capacity-gpus", "4096"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o)
            .contains("has no column Cloud, AcceleratorName, AcceleratorCount, Price, Region"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn import_reads_skypilot_catalog_directories() {
    // ~/.sky/catalogs/v8/<cloud>/vms.csv: no Cloud column.
    let dir = tmp("catalogs-v8");
    let _ = std::fs::remove_dir_all(&dir);
    for (cloud, body) in [
        (
            "lambda",
            "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,Price,SpotPrice,Region,AvailabilityZone\ngpu_8x_h100_sxm5,H100,8,208,1800,23.92,,us-east-1,\n",
        ),
        (
            "hyperbolic",
            "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,Price,SpotPrice,Region,AvailabilityZone\n3x-H100-224-2165,H100,3,224,2165,3.87,,default,\n",
        ),
    ] {
        std::fs::create_dir_all(dir.join(cloud)).unwrap();
        std::fs::write(dir.join(cloud).join("vms.csv"), body).unwrap();
    }
    let out = tmp("dir.toml");
    let o = import(&[
        dir.to_str().unwrap(),
        "--capacity-gpus",
        "96",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("(2 catalogs): 2 rows read, 2 used, 0 skipped: 2 offers"),
        "{}",
        stderr(&o)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("id = \"hyperbolic-default-h100-x3\""),
        "{text}"
    );
    let v = cascade(&["validate", out.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(0), "{}", stderr(&v));
    // One per-cloud file needs --cloud; without it the error says so.
    let f = dir.join("lambda").join("vms.csv");
    let o = import(&[f.to_str().unwrap(), "--capacity-gpus", "96"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("has no column Cloud (needed: Cloud (or --cloud"),
        "{}",
        stderr(&o)
    );
    let o = import(&[
        f.to_str().unwrap(),
        "--cloud",
        "lambda",
        "--capacity-gpus",
        "96",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn import_the_real_catalog_when_present() {
    let csv = root().join("../shared/data/gpu-offers/offers.csv");
    if !csv.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{} is missing under CI",
            csv.display()
        );
        eprintln!("skipped: {} not present", csv.display());
        return;
    }
    let out = tmp("real.toml");
    let o = import(&[
        csv.to_str().unwrap(),
        "--capacity-gpus",
        "4096",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = cascade(&["validate", out.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(0), "{}", stderr(&v));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.matches("[[offer]]").count() > 400);
    // The summary names the dropped cloud and class.
    assert!(
        stderr(&o).contains("H100-NVLINK (1 rows: fluidstack)"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("clouds with no offer left: fluidstack"),
        "{}",
        stderr(&o)
    );
}

// ---- --request (issue 14) ----------------------------------------------------------

/// The test catalog imported: aws H100 x8 (us-east-1, $90.00/h: $11.25 per
/// GPU-hour), gcp A100 x1 (accelerator-only, $1.70586), lambda H100 x1
/// ($2.49), shadeform reselling lambda's H100 x8 ($31.92/h: $3.99).
fn imported(tag: &str) -> PathBuf {
    // Tests run in parallel: each its own files.
    let csv = tmp(&format!("request-{tag}.csv"));
    std::fs::write(&csv, CSV).unwrap();
    let out = tmp(&format!("request-{tag}.toml"));
    let o = import(&[
        csv.to_str().unwrap(),
        "--capacity-gpus",
        "64",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    out
}

#[test]
fn request_says_where_in_json_and_in_the_table() {
    let offers = imported("where");
    let f = offers.to_str().unwrap();
    let day = ["--from", "2027-01-01", "--to", "2027-01-02"];
    // 8 H100 in one site: eight of lambda's 1-GPU instances in us-east-1
    // ($2.49; 64 GPUs of capacity there) beat shadeform's 8-GPU one
    // ($3.99). An offer is bought for its whole window (the import's year,
    // 8,760 h), whatever the request's: 8 × $2.49 × 8,760 h = $174,499.20.
    let mut args = vec!["plan", f, "--request", "h100:8", "--json"];
    args.extend_from_slice(&day);
    let o = cascade(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["buyer"], "requester");
    assert_eq!(doc["purchases_usd"], "174499.20");
    let p = &doc["purchases"][0];
    assert_eq!(p["gpu"], "H100");
    assert_eq!(p["gpus"], 8);
    assert_eq!(p["instances"], 8);
    assert_eq!(p["gpus_per_instance"], 1);
    assert_eq!(p["seller"], "lambda");
    assert_eq!(p["provider"], "lambda");
    assert_eq!(p["region"], "us-east-1");
    assert_eq!(p["price_per_gpu_hour"], "2.49");
    assert_eq!(p["accelerator_only"], false);
    assert_eq!(doc["surplus"], serde_json::json!([]));

    // One A100 from GCP: flagged as accelerator-only, in JSON and table.
    let mut args = vec!["plan", f, "--request", "A100", "--json"];
    args.extend_from_slice(&day);
    let doc = json(&cascade(&args));
    assert_eq!(doc["purchases"][0]["accelerator_only"], true);
    let mut args = vec!["plan", f, "--request", "A100:1"];
    args.extend_from_slice(&day);
    let o = cascade(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("1.70586 *"), "{text}");
    assert!(
        text.contains("* accelerator-only price (1 purchase(s))"),
        "{text}"
    );
    assert!(text.contains("1 × 1"), "{text}");
    // No negative zero anywhere (the exposure before the plan is empty).
    assert!(!text.contains(" -0"), "{text}");
}

#[test]
fn request_with_an_unknown_class_lists_the_nearest() {
    let offers = imported("unknown");
    let f = offers.to_str().unwrap();
    fails_with(
        &["plan", f, "--request", "H1000:8"],
        "no GPU class \"H1000\"",
    );
    fails_with(&["plan", f, "--request", "H1000:8"], "nearest: H100, A100");
    fails_with(
        &["plan", f, "--request", "H100:0"],
        "is not a positive whole number of GPUs",
    );
    fails_with(
        &[
            "plan",
            f,
            "--request",
            "H100:8",
            "--from",
            "2027-02-01",
            "--to",
            "2027-01-01",
        ],
        "is not before --to",
    );
    fails_with(&["plan", f], "--buyer is required");
}

#[test]
fn no_negative_zero_in_exposure_plan_or_import_output() {
    let offers = imported("zero");
    let f = offers.to_str().unwrap();
    // A buyer that holds nothing: HHI and totals are 0, never -0.
    for json in [false, true] {
        let mut args = vec!["exposure", f, "--buyer", "aws", "--at", "2027-01-01"];
        if json {
            args.push("--json");
        }
        let o = cascade(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let text = stdout(&o);
        assert!(!text.contains("-0.0") && !text.contains(" -0"), "{text}");
    }
    let o = cascade(&[
        "plan",
        f,
        "--request",
        "H100:8",
        "--from",
        "2027-01-01",
        "--to",
        "2027-01-02",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stdout(&o).contains(" -0"), "{}", stdout(&o));
    let text = std::fs::read_to_string(&offers).unwrap();
    assert!(!text.contains("-0.0") && !text.contains("= -0"), "{text}");
}
