//! The `cascade` binary on real files: examples, broken fixtures and small
//! scenarios written here, with the exact figures expected.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::common::{CHAIN, cascade, json_of, root, scenario_file, stderr, stdout};

#[test]
fn every_example_validates() {
    let mut n = 0;
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "toml") {
            let o = cascade(&["validate", p.to_str().unwrap()]);
            assert!(o.status.success(), "{}: {}", p.display(), stderr(&o));
            assert!(stdout(&o).contains(": valid: scenario"));
            n += 1;
        }
    }
    assert!(
        n >= 4,
        "expected the main example and several small ones, found {n}"
    );
}

#[test]
fn exposure_of_openai_at_2026_matches_the_hand_computed_figures() {
    let e = json_of(&cascade(&[
        "exposure",
        CHAIN,
        "--buyer",
        "openai",
        "--at",
        "2026-01-01",
        "--json",
    ]));
    assert_eq!(e["buyer"], "openai");
    assert_eq!(e["at"], "2026-01-01T00:00:00Z");
    assert_eq!(e["total"], json!({"gpus": 64000, "h100e": 100000.0}));
    assert_eq!(
        e["by_provider"],
        json!([
            {"id": "oracle", "gpus": 16000, "h100e": 40000.0, "share": 0.4},
            {"id": "coreweave", "gpus": 18000, "h100e": 30000.0, "share": 0.3},
            {"id": "azure", "gpus": 20000, "h100e": 20000.0, "share": 0.2},
            {"id": "google", "gpus": 10000, "h100e": 10000.0, "share": 0.1},
        ])
    );
    // Counterparties tie at 0.2 and are ordered by id.
    let cps: Vec<(&str, f64)> = e["by_counterparty"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["share"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        cps,
        [
            ("oracle", 0.4),
            ("azure", 0.2),
            ("coreweave", 0.2),
            ("google", 0.2)
        ]
    );
    assert_eq!(e["by_site"][1]["id"], "cw-plano");
    assert_eq!(e["by_site"][1]["provider"], "coreweave");
    assert_eq!(e["by_site"][1]["region"], "us-south");
    assert_eq!(e["by_site"][1]["gpus"], 18000);
    assert_eq!(e["hhi"], 0.3);
    assert_eq!(
        e["n_minus_1"][1],
        json!({"lost": "coreweave", "remaining_h100e": 70000.0, "remaining_share": 0.7})
    );
    assert_eq!(
        e["commitments"],
        json!([{
            "id": "openai-coreweave", "seller": "coreweave", "usd": "15900000000.00",
            "spent_usd": "1367232000.00", "remaining_usd": "14532768000.00"
        }])
    );
    assert_eq!(e["flags"], json!([]));
}

#[test]
fn human_exposure_calls_out_hidden_concentration() {
    let o = cascade(&["exposure", CHAIN, "--buyer", "openai", "--at", "2026-01-01"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("HIDDEN CONCENTRATION: 2 different counterparties (coreweave, google) are all backed by physical provider coreweave: 30.0%"),
        "{out}"
    );
    assert!(out.contains("HHI 0.3000"), "{out}");
}

#[test]
fn chain_traces_a_resale_to_the_physical_site() {
    let c = json_of(&cascade(&[
        "chain",
        CHAIN,
        "--contract",
        "gcp-openai-1",
        "--json",
    ]));
    assert_eq!(c["physical_provider"], "coreweave");
    assert_eq!(c["root_site"], "cw-plano");
    assert_eq!(c["region"], "us-south");
    assert_eq!(c["sellers"], json!(["google", "coreweave"]));
    assert_eq!(c["chain"][1]["id"], "cw-google-1");
    assert_eq!(c["chain"][1]["site"], "cw-plano");
    let o = cascade(&["chain", CHAIN, "--contract", "cw-google-1"]);
    let out = stdout(&o);
    assert!(out.contains("Resold from cw-google-1:"), "{out}");
    assert!(out.contains("google -> openai: 10000 x h100"), "{out}");
}

const TIERS: &str = r#"
name = "three tiers"
[[gpu]]
id = "h100"
h100e = 1.0
watts = 700
[[gpu]]
id = "gb200"
h100e = 2.5
watts = 1200
[[party]]
id = "cw"
[[party]]
id = "hyper"
[[party]]
id = "broker"
[[party]]
id = "lab"
[[site]]
id = "plano"
owner = "cw"
region = "us-south"
gpus = { h100 = 1000, gb200 = 400 }
[[site]]
id = "dallas"
owner = "hyper"
region = "us-south"
gpus = { h100 = 500 }
[[contract]]
id = "t1"
seller = "cw"
buyer = "hyper"
gpu = "h100"
gpus = 800
start = 2026-01-01
end = 2027-01-01
price_per_gpu_hour = "2.00"
site = "plano"
resale = true
[[contract]]
id = "t2"
seller = "hyper"
buyer = "broker"
gpu = "h100"
gpus = 600
start = 2026-01-01
end = 2026-07-01
price_per_gpu_hour = 2.5
backed_by = "t1"
resale = true
[[contract]]
id = "t3"
seller = "broker"
buyer = "lab"
gpu = "h100"
gpus = 400
start = 2026-02-01
end = 2026-06-01
price_per_gpu_hour = "3.10"
backed_by = "t2"
[[contract]]
id = "own"
seller = "hyper"
buyer = "lab"
gpu = "h100"
gpus = 100
start = 2026-01-01
end = 2027-01-01
price_per_gpu_hour = "2.75"
site = "dallas"
[[contract]]
id = "gb"
seller = "cw"
buyer = "lab"
gpu = "gb200"
gpus = 200
start = 2026-01-01
end = 2027-01-01
price_per_gpu_hour = "6.00"
site = "plano"
[[amendment]]
contract = "t3"
gpus = 100
effective = 2026-03-01
[[commitment]]
id = "lab-broker"
buyer = "lab"
seller = "broker"
start = 2026-01-01
end = 2027-01-01
usd = "10000000"
[[clause]]
kind = "avoid_provider"
buyer = "lab"
provider = "cw"
"#;

#[test]
fn three_tier_exposure_counts_net_holdings_at_each_instant() {
    let f = scenario_file("tiers.toml", TIERS);
    let f = f.to_str().unwrap();
    // 2026-03-15: t3 is 400 + 100 = 500 H100 at plano via broker; own 100 at dallas; gb 200 GB200 = 500 H100e.
    let e = json_of(&cascade(&[
        "exposure",
        f,
        "--buyer",
        "lab",
        "--at",
        "2026-03-15T12:00:00Z",
        "--json",
    ]));
    assert_eq!(e["total"], json!({"gpus": 800, "h100e": 1100.0}));
    assert_eq!(
        e["by_provider"],
        json!([
            {"id": "cw", "gpus": 700, "h100e": 1000.0, "share": 0.9091},
            {"id": "hyper", "gpus": 100, "h100e": 100.0, "share": 0.0909},
        ])
    );
    assert_eq!(
        e["by_counterparty"],
        json!([
            {"id": "broker", "gpus": 500, "h100e": 500.0, "share": 0.4545},
            {"id": "cw", "gpus": 200, "h100e": 500.0, "share": 0.4545},
            {"id": "hyper", "gpus": 100, "h100e": 100.0, "share": 0.0909},
        ])
    );
    assert_eq!(e["hhi"], 0.8347);
    assert_eq!(
        e["flags"],
        json!(["holds capacity from avoided provider cw"])
    );
    // Spend with broker: t3 starts in the window: 400 × 120 days × 24 h × 3.10
    // plus the top-up 100 × 92 days × 24 h × 3.10.
    assert_eq!(e["commitments"][0]["spent_usd"], "4255680.00");
    assert_eq!(e["commitments"][0]["remaining_usd"], "5744320.00");

    // The broker holds t2 net of what it resold: 600 − 500 on 2026-03-15.
    let b = json_of(&cascade(&[
        "exposure",
        f,
        "--buyer",
        "broker",
        "--at",
        "2026-03-15",
        "--json",
    ]));
    assert_eq!(b["total"]["gpus"], 100);
    // The hyperscaler: t1 800 − 600 resold, plus nothing else.
    let h = json_of(&cascade(&[
        "exposure",
        f,
        "--buyer",
        "hyper",
        "--at",
        "2026-08-01",
        "--json",
    ]));
    assert_eq!(h["total"]["gpus"], 800);
}

#[test]
fn the_same_scenario_loads_from_json() {
    let toml_path = scenario_file("tiers-for-json.toml", TIERS);
    let s = cascade_format::load_path(&toml_path).unwrap();
    let json_path = toml_path.with_extension("json");
    std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&cascade_format::to_json_value(&s)).unwrap(),
    )
    .unwrap();
    let a = json_of(&cascade(&[
        "exposure",
        toml_path.to_str().unwrap(),
        "--buyer",
        "lab",
        "--at",
        "2026-03-15",
        // Not the default (now): two runs a second apart would differ.
        "--asof",
        "2026-03-15",
        "--json",
    ]));
    let b = json_of(&cascade(&[
        "exposure",
        json_path.to_str().unwrap(),
        "--buyer",
        "lab",
        "--at",
        "2026-03-15",
        // Not the default (now): two runs a second apart would differ.
        "--asof",
        "2026-03-15",
        "--json",
    ]));
    assert_eq!(a, b);
}

#[test]
fn every_broken_fixture_fails_with_a_located_message() {
    let dir = root().join("crates/format/tests/fixtures/broken");
    // (file, what stderr must contain)
    let cases = [
        ("bad-toml.toml", "bad-toml.toml:8:8:"),
        (
            "wrong-type.toml",
            "wrong-type.toml:29:8: contract[0].gpus: invalid type",
        ),
        ("unknown-field.toml", "unknown field `prize_per_gpu_hour`"),
        (
            "missing-reference.toml",
            "names site \"cw-dallas\", which does not exist",
        ),
        ("cycle.toml", "backed_by forms a cycle: a -> b -> a"),
        (
            "oversold-site.toml",
            "oversold at 2026-01-01T00:00:00Z: needs 700 GPUs, 200 free (installed 1000), short by 500",
        ),
        (
            "oversold-resale.toml",
            "needs 400 GPUs, 300 left unsold (amount 800), short by 100",
        ),
        ("resale-not-resellable.toml", "does not allow resale"),
        (
            "resale-outside-window.toml",
            "is not inside backing contract \"cw-g\"'s window",
        ),
        (
            "power-overrun.toml",
            "draw 1300000 W, the site allows 1200000 W (power_mw), over by 100000 W",
        ),
        ("exclusive-violated.toml", "violates exclusive clause"),
        (
            "no-resale-to-violated.toml",
            "capacity sold by \"cw\" may not reach \"o\" (chain: g-o <- cw-g)",
        ),
        (
            "zero-gpus.toml",
            "zero-gpus.toml:29:8: contract \"c1\": field gpus: must be positive, got 0",
        ),
        ("negative-price.toml", "must not be negative, got -1.85"),
        ("empty-window.toml", "window is empty"),
        ("duplicate-id.toml", "duplicate id"),
    ];
    for (file, expect) in cases {
        let p = dir.join(file);
        let o = cascade(&["validate", p.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{file}: {err}");
        assert!(
            err.contains(expect),
            "{file}: expected {expect:?} in\n{err}"
        );
        assert!(!err.contains("panicked"), "{file}: {err}");
        // Invariant violations carry the item's line and column.
        assert!(
            err.contains(&format!("{file}:")) && err.matches(':').count() >= 3,
            "{file}: {err}"
        );
        // Every command refuses the file the same way.
        let o = cascade(&[
            "exposure",
            p.to_str().unwrap(),
            "--buyer",
            "o",
            "--at",
            "2026-01-01",
        ]);
        assert_eq!(o.status.code(), Some(1), "{file}");
    }
}

#[test]
fn all_violations_are_reported_together() {
    let broken = TIERS
        .replace("gpus = 600", "gpus = 900") // t2 oversells t1 (800)
        .replace("gpus = { h100 = 500 }", "gpus = { h100 = 50 }") // own oversells dallas
        .replace(
            "buyer = \"lab\"\nprovider = \"cw\"",
            "buyer = \"lab\"\nprovider = \"nobody\"",
        );
    let f = scenario_file("many-errors.toml", &broken);
    let o = cascade(&["validate", f.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let errors: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(errors.len(), 4, "{errors:#?}");
    assert!(
        errors[0].contains("clause #1 (avoid_provider): field provider names party \"nobody\"")
    );
    assert!(errors[1].contains("contract \"t2\": resale of contract \"t1\" oversold at 2026-01-01T00:00:00Z: needs 900 GPUs, 800 left unsold (amount 800), short by 100"));
    assert!(errors[2].contains("contract \"t3\": backing contract \"t2\" was itself rejected"));
    assert!(errors[3].contains("contract \"own\": site \"dallas\" h100 oversold at 2026-01-01T00:00:00Z: needs 100 GPUs, 50 free (installed 50), short by 50"));
}

#[test]
fn bad_flags_are_refused_clearly() {
    let o = cascade(&[
        "exposure",
        CHAIN,
        "--buyer",
        "openai",
        "--at",
        "next tuesday",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--at \"next tuesday\""),
        "{}",
        stderr(&o)
    );
    let o = cascade(&["exposure", CHAIN, "--buyer", "nobody", "--at", "2026-01-01"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--buyer: no party \"nobody\""),
        "{}",
        stderr(&o)
    );
    let o = cascade(&["chain", CHAIN, "--contract", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--contract: no contract \"nope\""));
    let o = cascade(&["validate", "does/not/exist.toml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("does/not/exist.toml"));
    let o = cascade(&["exposure", CHAIN]);
    assert_eq!(o.status.code(), Some(2), "clap usage errors exit 2");
}

#[test]
fn help_explains_every_command() {
    let o = cascade(&["--help"]);
    let out = stdout(&o);
    for cmd in ["validate", "exposure", "chain", "plan", "serve"] {
        assert!(out.contains(cmd), "{out}");
    }
    let o = cascade(&["exposure", "--help"]);
    assert!(stdout(&o).contains("RFC 3339"));
}

#[test]
fn the_specs_own_example_with_uppercase_class_ids_is_valid() {
    let o = cascade(&["validate", "crates/cli/tests/fixtures/spec-example.toml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = json_of(&cascade(&[
        "exposure",
        "crates/cli/tests/fixtures/spec-example.toml",
        "--buyer",
        "google",
        "--at",
        "2026-01-01",
        "--json",
    ]));
    assert_eq!(e["total"], json!({"gpus": 8000, "h100e": 8000.0}));
}

// ---- bill and margins (figures hand-computed in the fixtures' headers) -----------

const BILL: &str = "crates/cli/tests/fixtures/bill";

fn bill_json(args: &[&str]) -> Value {
    let mut a = vec!["bill"];
    a.extend_from_slice(args);
    a.push("--json");
    json_of(&cascade(&a))
}

#[test]
fn bill_credits_an_outage_at_every_tier_of_a_depth_three_chain() {
    let f = format!("{BILL}/chain-outage.toml");
    let d = bill_json(&[&f, "--period", "2026-03"]);
    assert_eq!(d["period"], "2026-03");
    let inv = d["invoices"].as_array().unwrap();
    let summary: Vec<_> = inv
        .iter()
        .map(|i| {
            (
                i["seller"].clone(),
                i["buyer"].clone(),
                i["total_usd"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (json!("cw"), json!("goog"), json!("1183200.00")),
            (json!("goog"), json!("oai"), json!("1109250.00")),
            (json!("oai"), json!("msft"), json!("591600.00")),
        ]
    );
    assert_eq!(
        inv[1]["lines"],
        json!([
            {"kind": "usage", "contract": "c2", "gpu_hours": "372000", "usd": "1116000.00"},
            {"kind": "credit", "contract": "c2", "gpu_hours": "-2250", "usd": "-6750.00"}
        ])
    );
    let m = d["margins"].as_array().unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[0]["party"], "goog");
    assert_eq!(m[0]["revenue_usd"], "1109250.00");
    assert_eq!(m[0]["cost_of_resold_usd"], "739500.00");
    assert_eq!(m[0]["margin_usd"], "369750.00");
    assert_eq!(m[0]["idle_cost_usd"], "443700.00");
    assert_eq!(m[1]["margin_usd"], "147900.00");
    assert_eq!(m[1]["idle_cost_usd"], "665550.00");
}

#[test]
fn bill_for_a_party_shows_its_invoices_and_only_its_own_margins() {
    let f = format!("{BILL}/chain-outage.toml");
    let d = bill_json(&[&f, "--period", "2026-03", "--party", "oai"]);
    let pairs: Vec<_> = d["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}>{}",
                i["seller"].as_str().unwrap(),
                i["buyer"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(pairs, vec!["goog>oai", "oai>msft"]);
    let m = d["margins"].as_array().unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["party"], "oai");
}

#[test]
fn margins_of_a_reseller_per_chain_and_in_total() {
    let f = format!("{BILL}/chain-outage.toml");
    let o = cascade(&[
        "margins", &f, "--party", "goog", "--from", "2026-03", "--to", "2026-03", "--json",
    ]);
    let d = json_of(&o);
    assert_eq!(d["from"], "2026-03");
    let m = &d["margins"][0];
    assert_eq!(m["margin_usd"], "369750.00");
    assert_eq!(m["chains"][0]["purchase"], "c1");
    assert_eq!(m["chains"][0]["seller"], "cw");
    assert_eq!(m["chains"][0]["margin_usd"], "369750.00");
    let text = stdout(&cascade(&[
        "margins", &f, "--party", "goog", "--from", "2026-03", "--to", "2026-03",
    ]));
    assert!(text.contains("369750.00"), "{text}");
}

#[test]
fn bill_charges_a_mid_month_amendment_from_its_date_and_29_days_of_a_leap_february() {
    let f = format!("{BILL}/amend-leap.toml");
    let d = bill_json(&[&f, "--period", "2026-03"]);
    assert_eq!(
        d["invoices"][0]["lines"],
        json!([{"kind": "usage", "contract": "c1", "gpu_hours": "93600", "usd": "173160.00"}])
    );
    let d = bill_json(&[&f, "--period", "2028-02"]);
    assert_eq!(
        d["invoices"][0]["lines"],
        json!([{"kind": "usage", "contract": "leap", "gpu_hours": "6960", "usd": "17400.00"}])
    );
    assert_eq!(d["invoices"][0]["total_usd"], "17400.00");
}

#[test]
fn bill_trues_up_a_take_or_pay_shortfall_and_shows_the_burn_down_before() {
    let f = format!("{BILL}/take-or-pay.toml");
    let jan = bill_json(&[&f, "--period", "2026-01"]);
    let b = &jan["burn_down"][0];
    assert_eq!(b["commitment"], "oai-cw");
    assert_eq!(b["usd_total"], "600000.00");
    assert_eq!(b["spent_to_date_usd"], "148800.00");
    assert_eq!(b["remaining_usd"], "451200.00");
    assert_eq!(b["months_left"], 2);
    assert_eq!(b["pace_needed_usd_per_month"], "225600.00");
    // The table shows the same burn-down mid-window.
    let text = stdout(&cascade(&["bill", &f, "--period", "2026-01"]));
    for want in ["oai-cw", "148800.00", "451200.00", "225600.00"] {
        assert!(text.contains(want), "{want} missing from:\n{text}");
    }
    let mar = bill_json(&[&f, "--period", "2026-03"]);
    assert_eq!(
        mar["invoices"][0]["lines"],
        json!([{"kind": "true_up", "commitment": "oai-cw", "usd": "316800.00"}])
    );
    assert_eq!(mar["invoices"][0]["total_usd"], "316800.00");
}

#[test]
fn bill_refuses_malformed_periods_and_unknown_parties_but_not_an_empty_month() {
    let f = format!("{BILL}/take-or-pay.toml");
    for bad in ["2026-13", "2026-1", "March"] {
        let o = cascade(&["bill", &f, "--period", bad]);
        assert!(!o.status.success(), "{bad} accepted");
        assert!(stderr(&o).contains("--period"), "{}", stderr(&o));
        assert!(o.stdout.is_empty());
    }
    let o = cascade(&["bill", &f, "--period", "2026-03", "--party", "nobody"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("nobody"), "{}", stderr(&o));
    let d = bill_json(&[&f, "--period", "2030-01"]);
    assert_eq!(d["invoices"], json!([]));
}

/// Fields of one CSV line (no quoted commas in these rows but ContractApplied).
fn csv_rows(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rows = text.lines().map(|l| {
        let mut out = Vec::new();
        let (mut cur, mut quoted, mut chars) = (String::new(), false, l.chars().peekable());
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    cur.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => out.push(std::mem::take(&mut cur)),
                _ => cur.push(c),
            }
        }
        out.push(cur);
        out
    });
    let header = rows.next().unwrap();
    (header, rows.collect())
}

#[test]
fn focus_export_has_one_row_per_invoice_line_with_the_supply_chain() {
    let f = format!("{BILL}/chain-outage.toml");
    let o = cascade(&[
        "bill", &f, "--from", "2026-03", "--to", "2026-03", "--format", "focus",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (h, rows) = csv_rows(&stdout(&o));
    let col = |n: &str| {
        h.iter()
            .position(|c| c == n)
            .unwrap_or_else(|| panic!("no {n}"))
    };
    assert_eq!(rows.len(), 6);
    let r = &rows[3]; // goog → oai credit
    assert_eq!(r[col("ChargeCategory")], "Credit");
    assert_eq!(r[col("BilledCost")], "-6750.00");
    assert_eq!(r[col("x_SupplyChain")], "cw>goog>oai");
    assert_eq!(r[col("InvoiceId")], "goog:oai:2026-03");
    let u = &rows[4]; // oai → msft usage
    assert_eq!(u[col("ChargeCategory")], "Usage");
    assert_eq!(u[col("PricingQuantity")], "148800.00");
    assert_eq!(u[col("ContractedUnitPrice")], "4.00");
    assert_eq!(u[col("x_SupplyChain")], "cw>goog>oai>msft");
    assert_eq!(u[col("HostProviderName")], "cw");
    assert_eq!(u[col("BillingPeriodStart")], "2026-03-01T00:00:00Z");
    // The 1.0 projection spells the validator's columns.
    let o = cascade(&[
        "bill",
        &f,
        "--from",
        "2026-03",
        "--to",
        "2026-03",
        "--format",
        "focus",
        "--focus-version",
        "1.0",
    ]);
    let (h, rows) = csv_rows(&stdout(&o));
    assert!(h.iter().any(|c| c == "InvoiceIssuer") && !h.iter().any(|c| c == "HostProviderName"));
    assert_eq!(rows.len(), 6);
}

#[test]
fn focus_commitments_apply_usage_rows_and_list_the_commitment() {
    let f = format!("{BILL}/take-or-pay.toml");
    let o = cascade(&[
        "bill", &f, "--from", "2026-01", "--to", "2026-03", "--format", "focus",
    ]);
    let (h, rows) = csv_rows(&stdout(&o));
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    assert_eq!(rows.len(), 3);
    let applied: Value = serde_json::from_str(&rows[0][col("ContractApplied")]).unwrap();
    assert_eq!(applied["ContractCommitmentID"], "oai-cw");
    assert_eq!(
        applied["ContractCommitmentAppliedCost"].as_f64(),
        Some(148800.0)
    );
    assert_eq!(rows[2][col("ChargeCategory")], "Adjustment");
    assert_eq!(rows[2][col("BilledCost")], "316800.00");
    let o = cascade(&[
        "bill",
        &f,
        "--from",
        "2026-01",
        "--to",
        "2026-03",
        "--format",
        "focus-commitments",
    ]);
    let (h, rows) = csv_rows(&stdout(&o));
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][col("ContractCommitmentCost")], "600000.00");
    assert_eq!(
        rows[0][col("ContractCommitmentPeriodEnd")],
        "2026-04-01T00:00:00Z"
    );
}

// ---- site build-out ------------------------------------------------------------

/// crates/cli/tests/fixtures/buildout/: valid.toml and one broken copy per
/// rule of issue 10's "Bad input".
fn buildout_fixture(name: &str) -> PathBuf {
    root().join("crates/cli/tests/fixtures/buildout").join(name)
}

#[test]
fn build_out_bad_input_is_located_and_applies_nothing() {
    // (file, what stderr must contain, starting with file:line:col)
    let cases = [
        (
            "unknown-site.toml",
            "unknown-site.toml:22:1: expansion \"phase-2\": field site names site \"abilen\", which does not exist",
        ),
        (
            "unknown-class.toml",
            "unknown-class.toml:22:1: expansion \"phase-2\": field gpus names gpu \"gb300\", which does not exist",
        ),
        (
            "installed-below-zero.toml",
            "installed-below-zero.toml:40:1: expansion \"retire\": installed gb200 GPUs at site \"abilene\" would go below 0 at 2026-10-01T00:00:00Z: -100 installed, short by 100",
        ),
        (
            "power-below-zero.toml",
            "power-below-zero.toml:40:1: expansion \"unplug\": power of site \"abilene\" would go below 0 at 2026-10-01T00:00:00Z: -500000 W",
        ),
        (
            "duplicate-id.toml",
            "duplicate-id.toml:40:1: expansion \"phase-2\": duplicate id (an expansion with this id already exists) (first written at ",
        ),
        (
            "effective-out-of-range.toml",
            "effective-out-of-range.toml:25:13: expansion \"phase-2\": field effective: 2201-01-01 is outside the supported range 1970-01-01T00:00:00Z .. 2200-01-01T00:00:00Z",
        ),
        (
            "effective-before-1970.toml",
            "effective-before-1970.toml:25:13: expansion \"phase-2\": field effective: 1969-12-31 is outside the supported range",
        ),
        (
            "fractional-gpus.toml",
            "fractional-gpus.toml:26:18: expansion[0].gpus.gb200: invalid type: floating point `300.5`, expected i64",
        ),
    ];
    let dir = std::env::temp_dir().join(format!("cascade-cli-buildout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (file, expect) in cases {
        let p = buildout_fixture(file);
        let f = p.to_str().unwrap();
        for args in [
            vec!["validate", f],
            vec!["buildout", f],
            vec!["exposure", f, "--buyer", "oai", "--at", "2026-06-01"],
        ] {
            let o = cascade(&args);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
            assert!(
                err.contains(expect),
                "{args:?}: expected {expect:?} in\n{err}"
            );
            assert!(!err.contains("panicked"), "{file}: {err}");
            assert!(stdout(&o).is_empty(), "{args:?} printed a result");
        }
        // Nothing is stored: the valid file then loads into the same store
        // (a partial load would collide with its ids).
        let db = format!("sqlite://{}", dir.join(format!("{file}.db")).display());
        let o = cascade(&["load", f, "--database", &db]);
        assert_eq!(o.status.code(), Some(1), "load {file}: {}", stderr(&o));
        assert!(stderr(&o).contains(expect), "load {file}: {}", stderr(&o));
        let valid = buildout_fixture("valid.toml");
        let o = cascade(&["load", valid.to_str().unwrap(), "--database", &db]);
        assert!(
            o.status.success(),
            "load valid.toml after {file}: {}",
            stderr(&o)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// valid.toml: 500 GB200 (0.6 MW) on 1 MW, phase 2 (+300, +0.5 MW) on
/// 2026-04-15, 700 sold to oai for [2026-05-01, 2026-09-01).
#[test]
fn build_out_timeline_by_hand_and_in_any_file_order() {
    let p = buildout_fixture("valid.toml");
    let run = |p: &Path| {
        json_of(&cascade(&[
            "buildout",
            p.to_str().unwrap(),
            "--from",
            "2026-04",
            "--to",
            "2026-09",
            "--asof",
            "2026-03-01",
            "--json",
        ]))
    };
    let v = run(&p);
    let rows: Vec<Value> = v["sites"][0]["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let c = &m["classes"][0];
            json!([
                m["month"],
                m["power_mw"],
                m["drawn_mw"],
                c["installed_gpus"],
                c["sold_gpus"],
                c["free_gpus"],
                c["min_free_gpus"],
                c["unbuilt_gpus"]
            ])
        })
        .collect();
    // (month, power MW, drawn MW, installed, sold, free, min free, sold but
    // not built as of 2026-03-01). Phase 2 lands on April 15th: the April
    // row is phase 1 only. May: 800 installed (800 × 1200 W = 0.96 MW), 700
    // sold, of which 700 − 500 = 200 stand on phase 2, not built as of
    // March. September: the contract has ended.
    assert_eq!(
        rows,
        [
            json!(["2026-04", 1.0, 0.6, 500, 0, 500, 500, 0]),
            json!(["2026-05", 1.5, 0.96, 800, 700, 100, 100, 200]),
            json!(["2026-06", 1.5, 0.96, 800, 700, 100, 100, 200]),
            json!(["2026-07", 1.5, 0.96, 800, 700, 100, 100, 200]),
            json!(["2026-08", 1.5, 0.96, 800, 700, 100, 100, 200]),
            json!(["2026-09", 1.5, 0.96, 800, 0, 800, 800, 0]),
        ]
    );
    // oai holds 700 GB200 = 1750 H100e at 2026-06-01; f₀ = 500/700, so
    // 1750 × 2/7 = 500 H100e are not built as of March.
    let e = json_of(&cascade(&[
        "exposure",
        p.to_str().unwrap(),
        "--buyer",
        "oai",
        "--at",
        "2026-06-01",
        "--asof",
        "2026-03-01",
        "--json",
    ]));
    assert_eq!(
        e["unbuilt"],
        json!({"asof": "2026-03-01T00:00:00Z", "h100e": 500.0, "share": 0.2857,
               "by_provider": [{"id": "cw", "h100e": 500.0, "share": 0.2857}]})
    );
    // The same file with the expansion written after the contract that
    // needs it gives the same document.
    let src = std::fs::read_to_string(&p).unwrap();
    let (x0, x1) = (
        src.find("[[expansion]]").unwrap(),
        src.find("[[contract]]").unwrap(),
    );
    let reordered = format!("{}{}\n{}", &src[..x0], &src[x1..], &src[x0..x1]);
    let f = scenario_file("buildout-reordered.toml", &reordered);
    assert_eq!(run(&f), v);
}

/// examples/stargate-buildout.toml: the figures of its header, from the
/// commands the header names.
#[test]
fn stargate_buildout_example_figures_hold() {
    const FILE: &str = "examples/stargate-buildout.toml";
    let v = json_of(&cascade(&[
        "buildout",
        FILE,
        "--asof",
        "2026-01-01",
        "--json",
    ]));
    assert_eq!(
        (v["from"].as_str(), v["to"].as_str()),
        (Some("2025-07"), Some("2031-07"))
    );
    // (site, month, power MW, drawn MW, [(class, installed, sold, free, not built)])
    type Row<'a> = (
        &'a str,
        &'a str,
        f64,
        f64,
        Vec<(&'a str, i64, i64, i64, i64)>,
    );
    let header: Vec<Row> = vec![
        (
            "cw-fleet",
            "2025-07",
            420.0,
            350.0,
            vec![("gb200", 0, 0, 0, 0), ("h100", 250_000, 0, 250_000, 0)],
        ),
        (
            "cw-fleet",
            "2026-01",
            850.0,
            755.0,
            vec![("gb200", 150_000, 100_000, 50_000, 0)],
        ),
        (
            "cw-fleet",
            "2026-03",
            900.0,
            803.6,
            vec![("gb200", 168_000, 160_000, 8_000, 10_000)],
        ),
        (
            "cw-fleet",
            "2027-01",
            3150.0,
            2963.6,
            vec![("gb200", 968_000, 160_000, 808_000, 10_000)],
        ),
        (
            "cw-fleet",
            "2028-03",
            3150.0,
            2963.6,
            vec![("gb200", 968_000, 100_000, 868_000, 0)],
        ),
        (
            "cw-fleet",
            "2030-03",
            3150.0,
            2963.6,
            vec![
                ("gb200", 968_000, 0, 968_000, 0),
                ("h100", 250_000, 0, 250_000, 0),
            ],
        ),
        (
            "stargate-abilene",
            "2025-07",
            200.0,
            172.8,
            vec![("gb200", 64_000, 64_000, 0, 0)],
        ),
        (
            "stargate-abilene",
            "2026-06",
            200.0,
            172.8,
            vec![("gb200", 64_000, 64_000, 0, 0)],
        ),
        (
            "stargate-abilene",
            "2026-07",
            1200.0,
            1080.0,
            vec![("gb200", 400_000, 400_000, 0, 336_000)],
        ),
        (
            "stargate-abilene",
            "2030-07",
            1200.0,
            1080.0,
            vec![("gb200", 400_000, 336_000, 64_000, 272_000)],
        ),
        (
            "stargate-abilene",
            "2031-07",
            1200.0,
            1080.0,
            vec![("gb200", 400_000, 0, 400_000, 0)],
        ),
    ];
    for (site, month, power, drawn, classes) in header {
        let s = v["sites"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["site"] == site)
            .unwrap();
        let m = s["months"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["month"] == month)
            .unwrap();
        assert_eq!(
            (m["power_mw"].as_f64(), m["drawn_mw"].as_f64()),
            (Some(power), Some(drawn)),
            "{site} {month}"
        );
        for (gpu, installed, sold, free, unbuilt) in classes {
            let c = m["classes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["gpu"] == gpu)
                .unwrap();
            assert_eq!(
                c,
                &json!({"gpu": gpu, "installed_gpus": installed, "sold_gpus": sold, "free_gpus": free,
                        "min_free_gpus": free, "unbuilt_gpus": unbuilt}),
                "{site} {month}"
            );
        }
    }
    let exposure = |buyer: &str, json: bool| {
        let mut args = vec![
            "exposure",
            FILE,
            "--buyer",
            buyer,
            "--at",
            "2026-09-01",
            "--asof",
            "2026-01-01",
        ];
        if json {
            args.push("--json");
        }
        cascade(&args)
    };
    let e = json_of(&exposure("openai", true));
    assert_eq!(e["total"], json!({"gpus": 550000, "h100e": 1375000.0}));
    assert_eq!(
        e["unbuilt"],
        json!({"asof": "2026-01-01T00:00:00Z", "h100e": 863437.5, "share": 0.628,
               "by_provider": [{"id": "oracle", "h100e": 840000.0, "share": 0.6109},
                               {"id": "coreweave", "h100e": 23437.5, "share": 0.017}]})
    );
    let text = stdout(&exposure("openai", false));
    assert!(text.contains("HIDDEN CONCENTRATION"), "{text}");
    assert!(
        text.contains("NOT YET BUILT: 863437.5 H100e (62.8%) of the capacity held at 2026-09-01T00:00:00Z depends on expansions after 2026-01-01T00:00:00Z: oracle 840000 H100e (61.1%), coreweave 23437.5 H100e (1.7%)"),
        "{text}"
    );
    let g = json_of(&exposure("google", true));
    assert_eq!(
        g["unbuilt"],
        json!({"asof": "2026-01-01T00:00:00Z", "h100e": 1562.5, "share": 0.0625,
               "by_provider": [{"id": "coreweave", "h100e": 1562.5, "share": 0.0625}]})
    );
}

/// Money past the ledger's bound (1e18 USD) is refused where it is
/// written, with the figure, not saturated: a contract worth 3.8e20 USD and
/// a commitment topped up past the bound.
#[test]
fn money_past_the_bound_is_refused_with_its_place() {
    let src = r#"name = "huge"

[[gpu]]
id = "h100"
h100e = 1.0
watts = 700

[[party]]
id = "p"
[[party]]
id = "b"

[[site]]
id = "s"
owner = "p"
region = "us"
gpus = { h100 = 4294967295 }

[[contract]]
id = "huge"
seller = "p"
buyer = "b"
gpu = "h100"
gpus = 4294967295
start = 2030-01-01
end = 2040-01-01
price_per_gpu_hour = "1000000"
site = "s"

[[commitment]]
id = "k"
buyer = "b"
seller = "p"
usd = "900000000000000000"
start = 2026-01-01
end = 2027-01-01

[[amendment]]
commitment = "k"
effective = 2026-06-01
usd = "200000000000000000"
"#;
    let f = scenario_file("huge.toml", src);
    let o = cascade(&["validate", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        err.contains(
            ": contract \"huge\": contract value would be 376445293472160000000 USD, more than the ledger holds (1000000000000000000 USD)"
        ) && err.contains("huge.toml:"),
        "{err}"
    );
    assert!(
        err.contains("commitment total with this top-up would be 1100000000000000000 USD"),
        "{err}"
    );
}
