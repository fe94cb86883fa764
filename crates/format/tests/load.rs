//! Loading the shipped examples and the broken fixtures, round trips through
//! both writers, and the located errors of small inline documents.

use std::path::{Path, PathBuf};

use cascade_core::{Id, Instant, Ledger, Scenario};
use cascade_format::{load_path, parse_json, parse_toml, to_json_value, to_toml};
use rust_decimal::Decimal;

/// FOCUS 1.3 conformance of the export, rule by rule (tests/focus/mod.rs).
mod focus;

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/broken")
}

fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}

fn id(s: &str) -> Id {
    Id::new(s).unwrap()
}

fn round_trips(s: &Scenario, what: &str) {
    let text = to_toml(s);
    let back = parse_toml(&text, "written.toml").unwrap_or_else(|e| panic!("{what}: {e}\n{text}"));
    assert_eq!(&back, s, "{what}: TOML round trip");
    assert_eq!(to_toml(&back), text, "{what}: writing is stable");

    let json = serde_json::to_string_pretty(&to_json_value(s)).unwrap();
    let back = parse_json(&json, "written.json").unwrap_or_else(|e| panic!("{what}: {e}\n{json}"));
    assert_eq!(&back, s, "{what}: JSON round trip");
}

#[test]
fn every_example_loads_round_trips_and_validates() {
    let files = toml_files(&examples_dir());
    assert!(files.len() >= 6, "examples: {files:?}");
    for f in files {
        let s = load_path(&f).unwrap_or_else(|e| panic!("{e}"));
        let what = f.display().to_string();
        round_trips(&s, &what);
        if let Err(r) = Ledger::from_scenario(&s) {
            panic!("{what} is rejected by the ledger:\n{r}");
        }
    }
}

#[test]
fn compute_chain_exposure_matches_the_header() {
    let s = load_path(&examples_dir().join("compute-chain-2025.toml")).unwrap();
    let ledger = Ledger::from_scenario(&s).unwrap_or_else(|r| panic!("{r}"));
    let at = Instant::from_date(2026, 1, 1).unwrap();
    let e = ledger.exposure(&id("openai"), at);
    assert_eq!(e.total_gpus, 64_000);
    assert_eq!(e.total_h100e, 100_000.0);
    let providers: Vec<(&str, i64, f64)> = e
        .by_provider
        .iter()
        .map(|r| (r.id.as_str(), r.gpus, r.h100e))
        .collect();
    assert_eq!(
        providers,
        [
            ("oracle", 16_000, 40_000.0),
            ("coreweave", 18_000, 30_000.0),
            ("azure", 20_000, 20_000.0),
            ("google", 10_000, 10_000.0),
        ]
    );
    let shares: Vec<f64> = e.by_provider.iter().map(|r| r.share).collect();
    for (got, want) in shares.iter().zip([0.4, 0.3, 0.2, 0.1]) {
        assert!((got - want).abs() < 1e-9, "{shares:?}");
    }
    let counterparties: Vec<(&str, f64)> = e
        .by_counterparty
        .iter()
        .map(|r| (r.id.as_str(), r.h100e))
        .collect();
    assert_eq!(
        counterparties,
        [
            ("oracle", 40_000.0),
            ("azure", 20_000.0),
            ("coreweave", 20_000.0),
            ("google", 20_000.0),
        ]
    );
    let sites: Vec<(&str, i64, f64)> = e
        .by_site
        .iter()
        .map(|r| (r.id.as_str(), r.gpus, r.h100e))
        .collect();
    assert_eq!(
        sites,
        [
            ("stargate-abilene", 16_000, 40_000.0),
            ("cw-plano", 18_000, 30_000.0),
            ("az-west-des-moines", 20_000, 20_000.0),
            ("gcp-council-bluffs", 10_000, 10_000.0),
        ]
    );
    assert!((e.hhi - 0.30).abs() < 1e-9, "hhi {}", e.hhi);
    let mut losses: Vec<(&str, f64)> = e
        .n_minus_1
        .iter()
        .map(|l| (l.lost.as_str(), l.remaining_h100e))
        .collect();
    losses.sort_by(|a, b| a.0.cmp(b.0));
    assert_eq!(
        losses,
        [
            ("azure", 80_000.0),
            ("coreweave", 70_000.0),
            ("google", 90_000.0),
            ("oracle", 60_000.0),
        ]
    );
    let c = &e.commitments[0];
    assert_eq!(c.id.as_str(), "openai-coreweave");
    assert_eq!(c.usd, Decimal::from(15_900_000_000i64));
    assert_eq!(c.spent_usd, Decimal::from(1_367_232_000i64));
    assert_eq!(c.remaining_usd, Decimal::from(14_532_768_000i64));
    // The hidden concentration: two counterparties, one physical provider.
    let cw = e
        .hidden
        .iter()
        .find(|h| h.provider.as_str() == "coreweave")
        .expect("coreweave stands behind coreweave and google");
    let mut cps: Vec<&str> = cw.counterparties.iter().map(Id::as_str).collect();
    cps.sort();
    assert_eq!(cps, ["coreweave", "google"]);
}

#[test]
fn small_examples_match_their_headers() {
    let load = |name: &str| {
        let s = load_path(&examples_dir().join(name)).unwrap();
        Ledger::from_scenario(&s).unwrap_or_else(|r| panic!("{name}: {r}"))
    };
    let day = |y, m, d| Instant::from_date(y, m, d).unwrap();

    let l = load("resale-chain.toml");
    let t = day(2026, 3, 1);
    assert_eq!(l.amount(&id("acme-b1"), t), Some(6000));
    assert_eq!(l.resold(&id("acme-b1"), t), Some(4000));
    assert_eq!(l.resold(&id("b1-b2"), t), Some(3000));
    assert_eq!(l.site_free_at(&id("acme-dc1"), &id("h100"), t), Some(2000));
    let e = l.exposure(&id("lab"), t);
    assert_eq!((e.total_gpus, e.total_h100e), (3000, 3000.0));
    assert_eq!(e.by_provider[0].id.as_str(), "acme-cloud");
    assert_eq!(e.by_counterparty[0].id.as_str(), "broker-two");

    let l = load("amendments.toml");
    let c1 = id("c1");
    assert_eq!(l.amount(&c1, day(2026, 1, 1)), Some(1100));
    assert_eq!(l.amount(&c1, day(2026, 3, 1)), Some(1600));
    assert_eq!(l.amount(&c1, day(2026, 5, 1)), Some(1850));
    assert_eq!(l.amount(&c1, day(2026, 7, 1)), Some(0));
    let e = l.exposure(&id("lab"), day(2026, 2, 1));
    let c = &e.commitments[0];
    assert_eq!(c.usd, Decimal::from(15_000_000));
    assert_eq!(c.spent_usd, Decimal::from(13_216_800));
    assert_eq!(c.remaining_usd, Decimal::from(1_783_200));

    let l = load("clauses.toml");
    let e = l.exposure(&id("lab"), day(2026, 3, 1));
    assert_eq!((e.total_gpus, e.total_h100e), (2000, 2000.0));
    assert_eq!(e.by_provider[0].id.as_str(), "cloud-b");
    assert!((e.by_provider[0].share - 0.75).abs() < 1e-9);
    assert!(
        e.flags.iter().any(|f| f.contains("cloud-c")),
        "flags: {:?}",
        e.flags
    );

    let l = load("power-limited-campus.toml");
    let e = l.exposure(&id("lab-a"), day(2026, 6, 1));
    assert_eq!((e.total_gpus, e.total_h100e), (20_000, 50_000.0));
}

/// The first line of a fixture: `# expect: load error at L:C: text` or
/// `# expect: <violation code>: text`; an optional `# contains: text` line
/// gives a piece of the ledger's message.
#[test]
fn broken_fixtures_fail_as_announced() {
    let files = toml_files(&fixtures_dir());
    assert_eq!(files.len(), 16, "{files:?}");
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        let expect = src
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{}: no expect line", f.display()));
        let contains = src.lines().find_map(|l| l.strip_prefix("# contains: "));
        let file = f.display().to_string();
        if let Some(rest) = expect.strip_prefix("load error at ") {
            let (pos, text) = rest.split_once(": ").unwrap();
            let err = match load_path(&f) {
                Ok(_) => panic!("{file} loads, expected an error at {pos}"),
                Err(e) => e.to_string(),
            };
            let want = format!("{file}:{pos}: ");
            assert!(
                err.starts_with(&want),
                "{file}: got\n{err}\nwanted prefix {want}"
            );
            if !text.starts_with("TOML syntax error") {
                assert!(err.contains(text), "{file}: got\n{err}\nwanted {text}");
            }
        } else {
            let (code, _) = expect.split_once(": ").unwrap();
            let s = load_path(&f).unwrap_or_else(|e| panic!("{file} must parse: {e}"));
            let r = match Ledger::from_scenario(&s) {
                Ok(_) => panic!("{file}: the ledger accepts it, expected {code}"),
                Err(r) => r,
            };
            let codes: Vec<&str> = r.violations.iter().map(|v| v.code()).collect();
            assert!(codes.contains(&code), "{file}: got {codes:?}\n{r}");
            if let Some(c) = contains {
                assert!(r.to_string().contains(c), "{file}: got\n{r}\nwanted {c}");
            }
        }
    }
}

const DOC: &str = r#"name = "inline"

[[gpu]]
id = "h100"
h100e = 1.0
watts = 700

[[site]]
id = "s1"
owner = "p"
region = "us-east"
gpus = { h100 = 100 }

[[contract]]
id = "c1"
seller = "p"
buyer = "b"
gpu = "h100"
gpus = 10
start = 2026-01-01
end = 2026-02-01T12:00:00+02:00
price_per_gpu_hour = 1.85
site = "s1"
"#;

#[test]
fn the_same_document_as_json_gives_the_same_scenario() {
    let json = r#"{
      "name": "inline",
      "gpu": [{"id": "h100", "h100e": 1.0, "watts": 700}],
      "site": [{"id": "s1", "owner": "p", "region": "us-east", "gpus": {"h100": 100}}],
      "contract": [{"id": "c1", "seller": "p", "buyer": "b", "gpu": "h100", "gpus": 10,
                    "start": "2026-01-01", "end": "2026-02-01T10:00:00Z",
                    "price_per_gpu_hour": "1.85", "site": "s1"}]
    }"#;
    let t = parse_toml(DOC, "doc.toml").unwrap();
    let j = parse_json(json, "doc.json").unwrap();
    assert_eq!(t, j);
    assert_eq!(
        t.contracts[0].price_per_gpu_hour.get(),
        "1.85".parse::<Decimal>().unwrap()
    );
    round_trips(&t, "inline");
}

fn load_err(src: &str) -> String {
    match parse_toml(src, "doc.toml") {
        Ok(_) => panic!("expected an error for\n{src}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn errors_name_file_line_and_column() {
    assert!(parse_toml(DOC, "doc.toml").is_ok());
    let cases: [(&str, &str, &str); 10] = [
        // (replace, with, expected piece of the message)
        (
            "gpus = 10",
            "gpus = [",
            "doc.toml:20:7: unexpected `=` in array",
        ),
        (
            "gpus = 10",
            "gpus = \"ten\"",
            "doc.toml:19:8: contract[0].gpus: invalid type",
        ),
        (
            "site = \"s1\"\n",
            "site = \"s1\"\nnote = \"x\"\n",
            "doc.toml:24:1: contract[0].note: unknown field `note`",
        ),
        (
            "buyer = \"b\"\n",
            "",
            "doc.toml:14:1: contract[0]: missing field `buyer`",
        ),
        (
            "site = \"s1\"\n",
            "site = \"s1\"\nbacked_by = \"c0\"\n",
            "doc.toml:14:1: contract \"c1\": has both site and backed_by; give exactly one",
        ),
        (
            "gpus = 10",
            "gpus = 0",
            "doc.toml:19:8: contract \"c1\": field gpus: must be positive, got 0",
        ),
        (
            "price_per_gpu_hour = 1.85",
            "price_per_gpu_hour = -1.85",
            "doc.toml:22:22: contract \"c1\": field price_per_gpu_hour: must not be negative, got -1.85",
        ),
        (
            "end = 2026-02-01T12:00:00+02:00",
            "end = 2026-01-01",
            "doc.toml:14:1: contract \"c1\": window is empty",
        ),
        (
            "id = \"c1\"",
            "id = \"C 1\"",
            "doc.toml:15:6: contract \"C 1\": field id: \"C 1\" is not a valid id",
        ),
        (
            "end = 2026-02-01T12:00:00+02:00",
            "end = 2026-02-01T12:00:00",
            "doc.toml:21:7: contract \"c1\": field end: 2026-02-01T12:00:00 is a local date-time without an offset",
        ),
    ];
    for (from, to, want) in cases {
        assert!(DOC.contains(from), "{from}");
        let err = load_err(&DOC.replacen(from, to, 1));
        assert!(err.contains(want), "got\n{err}\nwanted {want}");
    }
    // Several value errors at once are all reported.
    let err = load_err(
        &DOC.replace("gpus = 10", "gpus = 0")
            .replace("h100 = 100", "h100 = -5")
            .replace("watts = 700", "watts = 0"),
    );
    assert_eq!(err.lines().count(), 3, "{err}");
    assert!(
        err.contains("doc.toml:6:9: gpu \"h100\": field watts: must be positive, got 0"),
        "{err}"
    );
    assert!(
        err.contains("doc.toml:12:17: site \"s1\": field gpus.h100: must be positive, got -5"),
        "{err}"
    );
}

/// Every prefix of a real document, as TOML and as JSON: errors, never panics.
#[test]
fn truncated_documents_never_panic() {
    let src = std::fs::read_to_string(examples_dir().join("resale-chain.toml")).unwrap();
    let s = parse_toml(&src, "x.toml").unwrap();
    let json = serde_json::to_string_pretty(&to_json_value(&s)).unwrap();
    for doc in [&src, &json] {
        for (i, _) in doc.char_indices() {
            let part = &doc[..i];
            let _ = parse_toml(part, "x.toml");
            let _ = parse_json(part, "x.json");
            let _ = cascade_format::locate(part, "contract", "b2-lab");
        }
    }
    let e = parse_json(r#"{"name": "x", "demand": [{"buyer": "b", "start": "9999-12-31T23:00:00-05:00", "end": "2026-01-01", "h100e": 1}]}"#, "x.json").unwrap_err();
    assert!(
        e.to_string().contains(
            "is outside the supported range 1970-01-01T00:00:00Z .. 2200-01-01T00:00:00Z"
        ),
        "{e}"
    );
}

// ---- report documents against committed snapshots ------------------------------

fn snapshots_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots")
}

/// Compares `doc` (pretty JSON, newline-terminated, as the CLI prints it)
/// with `tests/snapshots/<name>.json` byte for byte. `UPDATE_SNAPSHOTS=1`
/// rewrites the file instead; a missing file fails.
fn snapshot(name: &str, doc: &impl serde::Serialize) {
    let text = format!("{}\n", serde_json::to_string_pretty(doc).unwrap());
    let path = snapshots_dir().join(format!("{name}.json"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(snapshots_dir()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_SNAPSHOTS=1 to write it)",
            path.display()
        )
    });
    assert!(
        want == text,
        "{} differs from the document built now:\n{text}",
        path.display()
    );
}

fn ledger_of(example: &str) -> Ledger {
    let s = load_path(&examples_dir().join(example)).unwrap_or_else(|e| panic!("{e}"));
    Ledger::from_scenario(&s).unwrap_or_else(|r| panic!("{r}"))
}

#[test]
fn exposure_documents_match_their_snapshots() {
    use cascade_format::report::ExposureDoc;
    let at = Instant::from_date(2026, 1, 1).unwrap();
    let l = ledger_of("compute-chain-2025.toml");
    snapshot(
        "exposure-compute-chain-openai-2026-01-01",
        &ExposureDoc::of(&l.exposure(&id("openai"), at)),
    );
    let l = ledger_of("resale-chain.toml");
    snapshot(
        "exposure-resale-chain-lab-2026-01-01",
        &ExposureDoc::of(&l.exposure(&id("lab"), at)),
    );
}

struct PartyViewer(&'static str);

impl cascade_format::report::Viewer for PartyViewer {
    fn is_admin(&self) -> bool {
        false
    }
    fn acts_for(&self, party: &str) -> bool {
        party == self.0
    }
}

#[test]
fn chain_documents_match_their_snapshots() {
    use cascade_format::report::ChainDoc;
    let l = ledger_of("resale-chain.toml");
    let full = ChainDoc::of(&l, &id("b2-lab")).unwrap();
    snapshot("chain-resale-chain-b2-lab", &full);
    let top = ChainDoc::of(&l, &id("acme-b1")).unwrap();
    snapshot("chain-resale-chain-acme-b1", &top);
    assert!(ChainDoc::of(&l, &id("nope")).is_none());

    // The lab sees its own link whole, the links above it only as capacity,
    // and no sellers list.
    let mut seen = full.clone();
    seen.redact(&PartyViewer("lab"));
    snapshot("chain-resale-chain-b2-lab-seen-by-lab", &seen);
    assert!(seen.sellers.is_none());
    assert!(seen.chain[0].id.is_some() && seen.chain[0].backed_by.is_none());
    assert!(seen.chain[1..].iter().all(|c| c.id.is_none()));

    // A resale the viewer is not a party to hides everything carved from
    // it, even a resale the viewer is a party to (it would reveal the
    // hidden tier's seller).
    let resold_ids = |doc: &ChainDoc| -> Vec<(String, usize)> {
        doc.resold.iter().map(|r| (r.id.clone(), r.depth)).collect()
    };
    let pair = |id: &str, depth| (id.to_string(), depth);
    assert_eq!(resold_ids(&top), [pair("b1-b2", 1), pair("b2-lab", 2)]);
    let mut by_lab = top.clone();
    by_lab.redact(&PartyViewer("lab"));
    assert!(by_lab.resold.is_empty());
    let mut by_broker = top.clone();
    by_broker.redact(&PartyViewer("broker-two"));
    assert_eq!(
        resold_ids(&by_broker),
        [pair("b1-b2", 1), pair("b2-lab", 2)]
    );
    assert!(by_broker.chain[0].id.is_none());
}

#[test]
fn plan_document_matches_its_snapshot() {
    use cascade_format::report::PlanDoc;
    let s = load_path(&examples_dir().join("planning.toml")).unwrap();
    let l = Ledger::from_scenario(&s).unwrap();
    let r = cascade_plan::plan(&s, &l, &id("lab"), cascade_plan::Strategy::Optimal).unwrap();
    let mut doc = PlanDoc::of(&r);
    assert!(doc.solve_seconds >= 0.0);
    // The only figure that depends on the machine.
    doc.solve_seconds = 0.0;
    snapshot("plan-planning-lab", &doc);
    assert_eq!(doc.objective_usd, "46570000.00");
    // No gap on an optimal plan; a plan cut short by the solver budget
    // carries the gap it reached.
    assert!(serde_json::to_value(&doc).unwrap().get("mip_gap").is_none());
    let mut cut = r.clone();
    cut.status = cascade_plan::PlanStatus::Feasible;
    cut.mip_gap = Some(0.0125);
    let v = serde_json::to_value(PlanDoc::of(&cut)).unwrap();
    assert_eq!(v["status"], "feasible");
    assert_eq!(v["mip_gap"], 0.0125);
}

/// Hostile values in files: a leap second, a price that underflows to 0
/// and (JSON) a key written twice are refused, located.
#[test]
fn leap_seconds_underflows_and_duplicate_keys_are_refused_in_files() {
    let leap = DOC.replacen(
        "end = 2026-02-01T12:00:00+02:00",
        "end = 2026-06-30T23:59:60Z",
        1,
    );
    let err = load_err(&leap);
    assert!(
        err.contains("doc.toml:21:7:") && err.contains("leap second"),
        "{err}"
    );
    let tiny = DOC.replacen(
        "price_per_gpu_hour = 1.85",
        "price_per_gpu_hour = 1e-400",
        1,
    );
    let err = load_err(&tiny);
    assert!(err.contains("underflow"), "{err}");

    // The same document as JSON, with one field replaced by raw text.
    let with = |field: &str, raw: &str| {
        let mut v = to_json_value(&parse_toml(DOC, "doc.toml").unwrap());
        v["contract"][0][field] = serde_json::Value::String("@RAW@".into());
        serde_json::to_string_pretty(&v)
            .unwrap()
            .replace("\"@RAW@\"", raw)
    };
    assert!(parse_json(&with("gpus", "10"), "doc.json").is_ok());
    let err = parse_json(&with("gpus", "10, \"gpus\": 20"), "doc.json")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("doc.json:")
            && err.contains("contract[0].gpus")
            && err.contains("more than once"),
        "{err}"
    );
    let err = parse_json(&with("end", "\"2026-06-30T23:59:60Z\""), "doc.json")
        .unwrap_err()
        .to_string();
    assert!(err.contains("leap second"), "{err}");
    let err = parse_json(&with("price_per_gpu_hour", "1e-400"), "doc.json")
        .unwrap_err()
        .to_string();
    assert!(err.contains("underflow"), "{err}");
}
