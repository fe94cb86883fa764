use cascade_core::{AmendmentTarget, Clause, Instant, OutageScope, Source};
use rust_decimal::Decimal;

use super::*;

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn err(src: &str) -> String {
    match parse_toml(src, "t.toml") {
        Ok(_) => panic!("expected an error for:\n{src}"),
        Err(e) => e.to_string(),
    }
}

fn json_err(src: &str) -> String {
    match parse_json(src, "t.json") {
        Ok(_) => panic!("expected an error for:\n{src}"),
        Err(e) => e.to_string(),
    }
}

const HEAD: &str = r#"name = "t"
[[gpu]]
id = "h100"
h100e = 1.0
watts = 700
"#;

fn contract(extra: &str) -> String {
    format!(
        r#"{HEAD}
[[contract]]
id = "c1"
seller = "a"
buyer = "b"
gpu = "h100"
gpus = 10
start = 2026-01-01
end = 2026-02-01
price_per_gpu_hour = "1.85"
{extra}"#
    )
}

#[test]
fn defaults_and_sources() {
    let s = parse_toml(&contract("site = \"s1\""), "t.toml").unwrap();
    let c = &s.contracts[0];
    assert!(!c.resale);
    assert_eq!(c.source, Source::Site(cascade_core::Id::new("s1").unwrap()));
    assert_eq!(c.window.hours(), Decimal::from(31 * 24));
    assert_eq!(c.price_per_gpu_hour.get(), dec("1.85"));

    let src = format!(
        "{HEAD}\n[[offer]]\nid = \"o\"\nseller = \"a\"\ngpu = \"h100\"\nmax_gpus = 64\n\
         start = 2026-01-01\nend = 2026-02-01\nprice_per_gpu_hour = 2\nbacked_by = \"c1\"\n"
    );
    let s = parse_toml(&src, "t.toml").unwrap();
    assert_eq!(s.offers[0].block_gpus.get(), 8);
    assert_eq!(
        s.offers[0].source,
        Source::BackedBy(cascade_core::Id::new("c1").unwrap())
    );
    assert_eq!(s.offers[0].price_per_gpu_hour.get(), Decimal::from(2));
}

#[test]
fn money_forms_are_exact() {
    for (written, expect) in [
        ("\"1.85\"", "1.85"),
        ("1.85", "1.85"),
        ("0.1", "0.1"),
        ("2", "2"),
        ("\"999999.999999\"", "999999.999999"),
        ("1e3", "1000"),
    ] {
        let s = parse_toml(
            &contract("site = \"s\"\n").replace("\"1.85\"", written),
            "t.toml",
        )
        .unwrap();
        assert_eq!(
            s.contracts[0].price_per_gpu_hour.get(),
            dec(expect),
            "{written}"
        );
    }
    // A GPU-hour price is bounded (so contract values stay exact).
    let e = err(&contract("site = \"s\"").replace("\"1.85\"", "\"11900000000\""));
    assert!(
        e.contains("is out of range: 11900000000 (at most 1000000 USD per GPU-hour)"),
        "{e}"
    );
    let e = err(&contract("site = \"s\"").replace("\"1.85\"", "\"-1\""));
    assert!(
        e.contains(
            "t.toml:15:22: contract \"c1\": field price_per_gpu_hour: must not be negative, got -1"
        ),
        "{e}"
    );
    let e = err(&contract("site = \"s\"").replace("\"1.85\"", "\"abc\""));
    assert!(
        e.starts_with("t.toml:15:22: contract[0].price_per_gpu_hour: invalid amount"),
        "{e}"
    );
    let e = err(&contract("site = \"s\"").replace("\"1.85\"", "nan"));
    assert!(e.contains("t.toml:15:22:"), "{e}");
}

#[test]
fn times_accept_dates_and_offset_datetimes_only() {
    let s = parse_toml(
        &contract("site = \"s\"")
            .replace("start = 2026-01-01", "start = 2026-01-01T06:00:00+01:00")
            .replace("end = 2026-02-01", "end = \"2026-02-01T00:00:00Z\""),
        "t.toml",
    )
    .unwrap();
    assert_eq!(
        s.contracts[0].window.start().to_string(),
        "2026-01-01T05:00:00Z"
    );
    assert_eq!(
        s.contracts[0].window.end(),
        Instant::from_date(2026, 2, 1).unwrap()
    );

    let e =
        err(&contract("site = \"s\"").replace("start = 2026-01-01", "start = 2026-01-01T06:00:00"));
    assert!(e.contains("t.toml:13:9: contract \"c1\": field start: 2026-01-01T06:00:00 is a local date-time without an offset"), "{e}");
    let e = err(&contract("site = \"s\"").replace("end = 2026-02-01", "end = 06:00:00"));
    assert!(
        e.contains(
            "t.toml:14:7: contract \"c1\": field end: 06:00:00 is a time of day without a date"
        ),
        "{e}"
    );
    let e = err(&contract("site = \"s\"").replace("end = 2026-02-01", "end = 5"));
    assert!(
        e.starts_with("t.toml:14:7: contract[0].end: invalid type: integer `5`"),
        "{e}"
    );
    let e = err(&contract("site = \"s\"").replace("end = 2026-02-01", "end = 2026-01-01"));
    assert!(e.contains("t.toml:7:1: contract \"c1\": window is empty: start 2026-01-01T00:00:00Z is not before end 2026-01-01T00:00:00Z"), "{e}");
}

#[test]
fn every_value_error_is_reported() {
    let src = contract("site = \"s\"\nbacked_by = \"x\"")
        .replace("gpus = 10", "gpus = 0")
        .replace("buyer = \"b\"", "buyer = \"B\"");
    let e = parse_toml(&src, "t.toml").unwrap_err();
    let lines: Vec<String> = e.diagnostics().iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        vec![
            "t.toml:10:9: contract \"c1\": field buyer: \"B\" is not a valid id (ids match [a-z0-9][a-z0-9._-]* and have at most 64 characters)",
            "t.toml:12:8: contract \"c1\": field gpus: must be positive, got 0",
            "t.toml:7:1: contract \"c1\": has both site and backed_by; give exactly one",
        ]
    );
    assert_eq!(e.to_string(), lines.join("\n"));
    let e = err(&contract(""));
    assert!(
        e.contains("t.toml:7:1: contract \"c1\": has neither site nor backed_by"),
        "{e}"
    );
}

#[test]
fn shape_errors_have_positions_and_paths() {
    let e = err(&contract("site = \"s\"\nsitee = \"x\""));
    assert!(
        e.starts_with("t.toml:17:1: contract[0].sitee: unknown field `sitee`"),
        "{e}"
    );
    let e = err(&contract("site = \"s\"").replace("gpus = 10", "gpus = \"10\""));
    assert!(
        e.starts_with("t.toml:12:8: contract[0].gpus: invalid type: string \"10\", expected i64"),
        "{e}"
    );
    let e = err(&contract("site = \"s\"").replace("gpu = \"h100\"\n", ""));
    assert!(
        e.starts_with("t.toml:7:1: contract[0]: missing field `gpu`"),
        "{e}"
    );
    let e = err("name = \"x\"\n[[gpu]\n");
    assert!(e.starts_with("t.toml:2:"), "{e}");
    let e = err("[[gpu]]\nid = \"h100\"\nh100e = 1\nwatts = 1\n");
    assert!(e.starts_with("t.toml:1:1: missing field `name`"), "{e}");
    let e = err("name = \"x\"\nsites = []\n");
    assert!(
        e.starts_with("t.toml:2:1: sites: unknown field `sites`"),
        "{e}"
    );
}

#[test]
fn amendments_need_exactly_one_target() {
    let base = contract("site = \"s\"");
    let ok = format!(
        "{base}\n[[amendment]]\ncontract = \"c1\"\ngpus = 5\neffective = 2026-01-15\n\
         [[amendment]]\ncommitment = \"k\"\nusd = 100\neffective = 2026-01-15\n"
    );
    let s = parse_toml(&ok, "t.toml").unwrap();
    assert!(
        matches!(&s.amendments[0].target, AmendmentTarget::Contract { gpus, .. } if gpus.get() == 5)
    );
    assert!(
        matches!(&s.amendments[1].target, AmendmentTarget::Commitment { usd, .. } if usd.get() == Decimal::from(100))
    );

    let bad = format!(
        "{base}\n[[amendment]]\ncontract = \"c1\"\ncommitment = \"k\"\ngpus = 5\neffective = 2026-01-15\n\
         [[amendment]]\ncontract = \"c1\"\nusd = 1\neffective = 2026-01-15\n\
         [[amendment]]\ncommitment = \"k\"\nusd = \"0\"\neffective = 2026-01-15\n"
    );
    let e = err(&bad);
    assert!(
        e.contains("amendment[0]: has both contract and commitment"),
        "{e}"
    );
    assert!(
        e.contains("amendment[1]: field usd: belongs with commitment"),
        "{e}"
    );
    assert!(
        e.contains("amendment[1]: amends a contract but has no gpus"),
        "{e}"
    );
    assert!(
        e.contains("amendment[2]: field usd: must be positive, got 0"),
        "{e}"
    );
}

#[test]
fn clauses_check_fields_per_kind() {
    let ok = format!(
        "{HEAD}\n[[clause]]\nkind = \"exclusive\"\nbuyer = \"o\"\nseller = \"a\"\nuntil = 2024-07-01\n\
         [[clause]]\nkind = \"rofr\"\nbuyer = \"o\"\nholder = \"a\"\nuntil = 2027-01-01\n\
         [[clause]]\nkind = \"no_resale_to\"\nseller = \"a\"\nparty = \"x\"\n\
         [[clause]]\nkind = \"avoid_provider\"\nbuyer = \"o\"\nprovider = \"p\"\n"
    );
    let s = parse_toml(&ok, "t.toml").unwrap();
    let kinds: Vec<&str> = s.clauses.iter().map(Clause::kind).collect();
    assert_eq!(
        kinds,
        ["exclusive", "rofr", "no_resale_to", "avoid_provider"]
    );

    let bad = format!(
        "{HEAD}\n[[clause]]\nkind = \"exclusive\"\nbuyer = \"o\"\nholder = \"a\"\nuntil = 2024-07-01\n\
         [[clause]]\nkind = \"exclusiv\"\nbuyer = \"o\"\n"
    );
    let e = err(&bad);
    assert!(e.contains("t.toml:7:1: clause[0] (exclusive): missing field seller (a exclusive clause needs buyer, seller, until)"), "{e}");
    assert!(e.contains("t.toml:10:10: clause[0] (exclusive): field holder: does not apply to a exclusive clause"), "{e}");
    assert!(
        e.contains("t.toml:13:8: clause[1]: field kind: unknown clause kind \"exclusiv\""),
        "{e}"
    );
}

#[test]
fn outages_policies_demands() {
    let src = format!(
        "{HEAD}\n[[outage]]\nprovider = \"cw\"\nstart = 2026-02-01T06:00:00Z\nend = 2026-02-01T18:00:00Z\n\
         [[demand]]\nbuyer = \"o\"\nstart = 2026-01-01\nend = 2026-07-01\nh100e = 40000\n\
         [policy.zz]\nbudget_usd = 5.5\n[policy.openai]\nmax_provider_share = 0.6\ncolocated_h100e = 16000\n"
    );
    let s = parse_toml(&src, "t.toml").unwrap();
    assert!(matches!(&s.outages[0].scope, OutageScope::Provider(p) if p.as_str() == "cw"));
    assert_eq!(s.outages[0].window.seconds(), 12 * 3600);
    assert_eq!(
        s.demands[0].need,
        cascade_core::Need::H100e(cascade_core::Positive::new("h100e", 40000.0).unwrap())
    );
    let names: Vec<&str> = s.policies.iter().map(|(b, _)| b.as_str()).collect();
    assert_eq!(names, ["openai", "zz"]);
    assert_eq!(s.policies[1].1.budget_usd.unwrap().get(), dec("5.5"));

    let bad = src
        .replace("provider = \"cw\"", "provider = \"cw\"\nsite = \"s\"")
        .replace("max_provider_share = 0.6", "max_provider_share = 1.5")
        .replace("h100e = 40000", "h100e = -1");
    let e = err(&bad);
    assert!(e.contains("outage[0]: has both site and provider"), "{e}");
    assert!(
        e.contains("demand[0]: field h100e: must be positive, got -1"),
        "{e}"
    );
    assert!(
        e.contains("policy \"openai\": field max_provider_share: is out of range: 1.5"),
        "{e}"
    );
}

#[test]
fn json_reads_the_same_fields() {
    let src = r#"{
  "name": "t",
  "gpu": [{"id": "h100", "h100e": 1.0, "watts": 700}],
  "contract": [{"id": "c1", "seller": "a", "buyer": "b", "gpu": "h100", "gpus": 10,
                "start": "2026-01-01", "end": "2026-02-01T00:00:00Z",
                "price_per_gpu_hour": "1.85", "site": "s"}]
}"#;
    let j = parse_json(src, "t.json").unwrap();
    let t = parse_toml(&contract("site = \"s\""), "t.toml").unwrap();
    assert_eq!(j, t);

    let e = json_err(&src.replace("\"gpus\": 10", "\"gpus\": \"10\""));
    assert!(
        e.starts_with("t.json:4:84: contract[0].gpus: invalid type: string \"10\", expected i64"),
        "{e}"
    );
    let e = json_err(&src.replace("\"site\": \"s\"", "\"site\": \"s\", \"x\": 1"));
    assert!(
        e.starts_with("t.json:6:62: contract[0].x: unknown field `x`"),
        "{e}"
    );
    let e = json_err(&src.replace("\"gpus\": 10", "\"gpus\": 0"));
    assert!(
        e.starts_with("t.json:4:81: contract \"c1\": field gpus: must be positive, got 0"),
        "{e}"
    );
    let e = json_err(&src.replace("\"2026-01-01\"", "\"2026-01-01T00:00:00\""));
    assert!(
        e.starts_with("t.json:5:26: contract \"c1\": field start:"),
        "{e}"
    );
    let e = json_err("{\"name\": \"x\"} x");
    assert!(e.starts_with("t.json:1:15: trailing characters"), "{e}");
    let e = json_err("{\"name\": ");
    assert!(e.starts_with("t.json:1:"), "{e}");
}

#[test]
fn locate_finds_items_in_toml_and_json() {
    let src = contract("site = \"s\"")
        + "\n[[amendment]]\ncontract = \"c1\"\ngpus = 1\neffective = 2026-01-02\n[policy.o]\nbudget_usd = 1\n";
    assert_eq!(locate(&src, "contract", "c1"), Some((7, 1)));
    assert_eq!(locate(&src, "gpu", "h100"), Some((2, 1)));
    assert_eq!(locate(&src, "amendment", "c1"), Some((17, 1)));
    assert_eq!(locate(&src, "policy", "o"), Some((21, 1)));
    assert_eq!(locate(&src, "contract", "nope"), None);
    assert_eq!(locate(&src, "site", "s"), None);
    assert_eq!(locate_index(&src, "amendment", 0), Some((17, 1)));
    assert_eq!(locate_index(&src, "amendment", 1), None);

    let j = "{\"name\": \"x\",\n \"contract\": [\n  {\"id\": \"a\"},\n  {\"id\": \"c1\"}]}";
    assert_eq!(locate(j, "contract", "c1"), Some((4, 3)));
    assert_eq!(locate_index(j, "contract", 0), Some((3, 3)));
    assert_eq!(locate("not [ toml", "contract", "c1"), None);
}

#[test]
fn writers_round_trip() {
    let src = format!(
        "{}\n[[party]]\nid = \"a\"\nname = \"A \\\"quoted\\\" Co.\"\n\
         [[site]]\nid = \"s\"\nowner = \"a\"\nregion = \"us-south\"\npower_mw = 12.5\ngpus = {{ h100 = 100, \"b.2\" = 3 }}\n\
         [[commitment]]\nid = \"k\"\nbuyer = \"b\"\nseller = \"a\"\nstart = 2026-01-01\nend = 2027-01-01\nusd = \"1000.50\"\n\
         [[amendment]]\ncommitment = \"k\"\nusd = 0.1\neffective = 2026-03-01T12:30:00-02:00\n\
         [[clause]]\nkind = \"rofr\"\nbuyer = \"b\"\nholder = \"a\"\nuntil = 2027-01-01\n\
         [[demand]]\nbuyer = \"b\"\nstart = 2026-01-01\nend = 2026-07-01\nh100e = 0.25\n\
         [[outage]]\nsite = \"s\"\nstart = 2026-01-01\nend = 2026-01-02\n\
         [policy.b]\nmax_provider_share = 0.6\nmin_share_after_provider_loss = 0.5\ncolocated_h100e = 50\nbudget_usd = \"30000000000\"\n",
        contract("site = \"s\"\nresale = true")
    );
    let s = parse_toml(&src, "t.toml").unwrap();
    let out = to_toml(&s);
    let back = parse_toml(&out, "out.toml").unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert_eq!(back, s);
    assert_eq!(to_toml(&back), out);
    assert!(out.contains("effective = 2026-03-01T14:30:00Z"), "{out}");
    assert!(out.contains("usd = \"1000.50\""), "{out}");

    let v = to_json_value(&s);
    assert_eq!(v["contract"][0]["price_per_gpu_hour"], "1.85");
    assert_eq!(v["commitment"][0]["start"], "2026-01-01T00:00:00Z");
    let text = serde_json::to_string_pretty(&v).unwrap();
    let back = parse_json(&text, "out.json").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back, s);
}

#[test]
fn junk_never_panics() {
    let inputs = [
        "",
        "\u{0}",
        "name",
        "name = 1",
        "[[contract]]\n",
        "{",
        "{}",
        "[]",
        "\"x\"",
        "name = \"x\"\ngpu = 3\n",
        "name = \"x\"\n[policy]\nx = 1\n",
        "name = \"x\"\npolicy = 1\n",
        "name = \"x\"\n[[site]]\nid = \"s\"\nowner = \"a\"\nregion = \"r\"\ngpus = { h100 = 99999999999 }\n",
        "{\"name\": \"x\", \"policy\": {\"a\": {}, \"a\": {}}}",
        "{\"name\": \"x\", \"site\": [{\"id\": \"s\", \"owner\": \"a\", \"region\": \"r\", \"gpus\": {\"h100\": 1, \"h100\": 2}}]}",
    ];
    for i in inputs {
        let _ = parse_toml(i, "x");
        let _ = parse_json(i, "x");
        let _ = locate(i, "contract", "c");
    }
    // JSON is read strictly: a key given twice is refused before the
    // document's own rules (two policies, a class listed twice) are asked.
    let e = json_err(inputs[13]);
    assert!(e.contains("key \"a\" is given more than once"), "{e}");
    let e = json_err(inputs[14]);
    assert!(e.contains("key \"h100\" is given more than once"), "{e}");
    let e = err(inputs[12]);
    assert!(
        e.contains("field gpus.h100: is out of range: 99999999999"),
        "{e}"
    );
}

#[test]
fn io_errors_name_the_path() {
    let e = load_path(Path::new("/nonexistent/dir/x.toml")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("cannot read /nonexistent/dir/x.toml: "),
        "{e}"
    );
    assert!(e.diagnostics().is_empty());
}

#[test]
fn figures_past_a_billion_are_refused_at_their_field() {
    // Power sums are exact decimals: a figure this large would have
    // saturated them silently; it is refused where it is written.
    let src = format!("{HEAD}\n[[site]]\nid = \"s\"\nowner = \"a\"\nregion = \"r\"\npower_mw = 1e300\ngpus = {{ h100 = 8 }}\n")
        .replace("watts = 700", "watts = 2e9");
    let e = parse_toml(&src, "t.toml").unwrap_err();
    let lines: Vec<String> = e.diagnostics().iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("t.toml:5:9: gpu \"h100\": field watts: ")
            && lines[0].contains("2e9 (at most 1e9)"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("t.toml:11:12: site \"s\": field power_mw: ")
            && lines[1].contains("1e300 (at most 1e9)"),
        "{lines:?}"
    );
}

/// A journal's order survives a scenario file: kinds may interleave
/// (`[[party]]` after `[[contract]]`), `written_order` reads each item's
/// place, and `to_toml_in_order` writes that place back.
#[test]
fn written_order_survives_a_toml_round_trip() {
    let src = format!(
        "{}\n[[party]]\nid = \"a\"\n\n[policy.b]\nbudget_usd = \"5\"\n\n[[party]]\nid = \"b\"\n\n\
         [policy.a]\nbudget_usd = \"7\"\n",
        contract("site = \"s1\"")
    );
    let s = parse_toml(&src, "t.toml").unwrap();
    let order = written_order(&src).unwrap();
    let slot = |kind, index| Slot { kind, index };
    assert_eq!(
        order,
        vec![
            slot(ItemKind::Gpu, 0),
            slot(ItemKind::Contract, 0),
            slot(ItemKind::Party, 0),
            // Policies index the buyer-sorted list: b is the second.
            slot(ItemKind::Policy, 1),
            slot(ItemKind::Party, 1),
            slot(ItemKind::Policy, 0),
        ]
    );
    assert!(covers(&s, &order));
    let text = to_toml_in_order(&s, &order);
    assert_eq!(parse_toml(&text, "back.toml").unwrap(), s, "{text}");
    assert_eq!(written_order(&text).unwrap(), order, "{text}");
    // The same document as JSON: arrays keep their order, kinds come in key order.
    let json = to_json_value(&s).to_string();
    assert_eq!(parse_json(&json, "t.json").unwrap(), s);
    assert!(covers(&s, &written_order(&json).unwrap()));
    // An order that misses an item, or names one twice, is not used.
    assert!(!covers(&s, &order[1..]));
    let mut twice = order.clone();
    twice[0] = slot(ItemKind::Party, 0);
    assert!(!covers(&s, &twice));
    assert_eq!(to_toml_in_order(&s, &order[1..]), to_toml(&s));
}
