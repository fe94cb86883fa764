//! End-to-end tests of `cascade serve` as a real process on 127.0.0.1:
//! `cascade load --server`, tokens and restarts, the 64-client oversell
//! race through three tiers on two instances (SQLite file and PostgreSQL),
//! crash safety under SIGKILL, and the operator's commands: tokens, request
//! logs, the audit trail, export round trips and online backups.
//!
//! PostgreSQL tests need `CASCADE_TEST_PG_URL` (set by
//! `scripts/with-postgres`); without it they print a notice and pass,
//! except under `CI=true`, where they fail.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cascade_server::client::{Client, HttpResponse};
use cascade_store::testing::{self, Db, fresh_database};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_cascade");

fn temp_dir() -> PathBuf {
    testing::temp_dir("cascade_service_test")
}

/// Runs the CLI and returns stdout (panics on failure).
fn cli(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().expect("run cascade");
    assert!(
        out.status.success(),
        "cascade {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn token(db: &str, who: &str) -> String {
    let out = if who == "admin" {
        cli(&["token", "create", "--admin", "--database", db])
    } else {
        cli(&["token", "create", "--party", who, "--database", db])
    };
    out.trim().to_string()
}

/// A `cascade serve` child process; killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(db: &str, admin_token_file: &Path) -> Server {
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--database",
                db,
                "--listen",
                "127.0.0.1:0",
                // These tests write as fast as they can with one token.
                "--write-rate",
                "0",
                "--admin-token-file",
            ])
            .arg(admin_token_file)
            // One log line per request would flood the test output.
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn cascade serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap().to_string();
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("cascade serve did not report its address")
            .parse()
            .unwrap();
        Server { child, addr }
    }

    fn client(&self, token: &str) -> Client {
        Client::new(self.addr).with_token(token)
    }

    /// SIGKILL, no goodbye.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn examples() -> PathBuf {
    crate::common::root().join("examples")
}

fn problem(r: &HttpResponse, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{}",
        r.text()
    );
    let v = r.json();
    assert_eq!(v["status"], status);
    assert!(v["title"].is_string() && v["detail"].is_string() && v["type"].is_string());
    v
}

// ---- the CLI around the service ------------------------------------------------
//
// The HTTP rules themselves (access, bad input, idempotency, ...) are
// tested one by one in-process in crates/server/tests/server.rs; here is
// what only the binary does.

/// `cascade load --server` goes through the API (a second load of the same
/// file is an idempotent replay), a token made by `cascade token create`
/// while the service runs works at once, and everything survives a
/// restart of `cascade serve` (the journal is the truth).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_through_the_server_tokens_and_restart() {
    let dir = temp_dir();
    let db = fresh_database(Db::Sqlite, &dir).await.unwrap();
    let admin_file = dir.join("admin.token");
    let server = Server::start(&db, &admin_file);
    let admin = std::fs::read_to_string(&admin_file)
        .unwrap()
        .trim()
        .to_string();
    let file = examples().join("compute-chain-2025.toml");
    let url = format!("http://{}", server.addr);
    for expect in ["loaded", "already loaded"] {
        let out = Command::new(BIN)
            .args([
                "load",
                file.to_str().unwrap(),
                "--server",
                &url,
                "--token",
                &admin,
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains(expect),
            "{text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A refused load says why and exits non-zero.
    let out = Command::new(BIN)
        .args([
            "load",
            file.to_str().unwrap(),
            "--server",
            &url,
            "--token",
            "cascade_not-a-token",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("401"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let openai = token(&db, "openai");
    let o = server.client(&openai);
    let mine = o.get("/contracts").await.unwrap();
    assert_eq!(mine.status, 200, "{}", mine.text());
    assert!(
        mine.json()
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["buyer"] == "openai" || c["seller"] == "openai")
    );
    problem(&o.get("/contracts/cw-google-1").await.unwrap(), 404);

    let before = server
        .client(&admin)
        .get("/contracts?limit=100000")
        .await
        .unwrap()
        .body;
    drop(server);
    let server = Server::start(&db, &admin_file);
    let after = server
        .client(&admin)
        .get("/contracts?limit=100000")
        .await
        .unwrap()
        .body;
    assert_eq!(before, after);
    // The party token outlives the restart too.
    let r = server.client(&openai).get("/contracts").await.unwrap();
    assert_eq!(r.status, 200);
}

// ---- the race -------------------------------------------------------------

/// Independent oversell check over what the API reports (admin view):
/// per source and at every instant where anything changes, Σ amount sold
/// from it ≤ what it has. Returns the peak fill of `t1`.
fn assert_no_oversell(contracts: &[Value], sites: &[Value]) -> i64 {
    let t = |s: &Value| cascade_format::parse_instant(s.as_str().unwrap()).unwrap();
    let mut installed: HashMap<(String, String), i64> = HashMap::new();
    for s in sites {
        for (g, n) in s["gpus"].as_object().unwrap() {
            installed.insert(
                (s["id"].as_str().unwrap().to_string(), g.clone()),
                n.as_i64().unwrap(),
            );
        }
    }
    let by_id: HashMap<&str, &Value> = contracts
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c))
        .collect();
    let amount = |c: &Value, at: cascade_core::Instant| -> i64 {
        if !(t(&c["start"]) <= at && at < t(&c["end"])) {
            return 0;
        }
        c["gpus"].as_i64().unwrap()
            + c["amendments"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| t(&a["effective"]) <= at)
                .map(|a| a["gpus"].as_i64().unwrap())
                .sum::<i64>()
    };
    let mut cuts = BTreeSet::new();
    let mut groups: HashMap<String, Vec<&Value>> = HashMap::new();
    for c in contracts {
        cuts.insert(t(&c["start"]));
        cuts.insert(t(&c["end"]));
        for a in c["amendments"].as_array().unwrap() {
            cuts.insert(t(&a["effective"]));
        }
        let key = match c["site"].as_str() {
            Some(s) => format!("site:{s}:{}", c["gpu"].as_str().unwrap()),
            None => format!(
                "contract:{}",
                c["backed_by"].as_str().expect("admin sees backed_by")
            ),
        };
        groups.entry(key).or_default().push(c);
    }
    let mut peak = 0;
    for (key, sold) in &groups {
        for &at in &cuts {
            let used: i64 = sold.iter().map(|c| amount(c, at)).sum();
            let cap = match key.strip_prefix("site:") {
                Some(rest) => {
                    let (s, g) = rest.split_once(':').unwrap();
                    installed[&(s.to_string(), g.to_string())]
                }
                None => amount(by_id[&key["contract:".len()..]], at),
            };
            assert!(
                used <= cap,
                "OVERSOLD: {key} at {at}: {used} sold > {cap} available"
            );
            if key == "contract:t1" {
                peak = peak.max(used);
            }
        }
    }
    peak
}

/// The same capacity as the store's race tests.
const RACE_SCENARIO: &str = include_str!("../../../store/tests/fixtures/race-3-tiers.toml");

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn month(m: u64) -> String {
    format!("{:04}-{:02}-01", 2026 + m / 12, m % 12 + 1)
}

#[derive(Clone)]
struct Held {
    id: String,
    buyer: String,
    from: u64,
    to: u64,
}

/// 64 clients race, over HTTP, to sell overlapping slices of one site's
/// capacity through three tiers (site → t1 → tier 2 → tier 3, plus
/// top-ups), each request going to one of two `cascade serve` instances
/// on the same database. Afterwards the admin view must show no source
/// oversold at any instant, and every refusal must be for capacity.
///
/// The guard is the store's writer transaction (lock, catch up with every
/// committed row, check against the ledger, append; see cascade-store). It
/// was checked once, on both backends, that this test fails without it:
/// skipping the catch-up in `Shared::try_batch` (crates/store/src/lib.rs,
/// `let rows = Vec::new()` instead of `tx.events_after(..)`) makes each
/// instance decide on its own stale ledger, and the test fails with
/// `unexpected outcome "404 ... no contract "t1" that this token may see"`
/// and 503s from duplicate sequence numbers. The store's own race test
/// (crates/store/tests/store.rs) shows the other half: ignoring the
/// ledger's verdict fails `assert_no_oversell` with "OVERSOLD: ...".
async fn race(db: Db) {
    let dir = temp_dir();
    let Some(url) = fresh_database(db, &dir).await else {
        return;
    };
    let file = dir.join("race.toml");
    std::fs::write(&file, RACE_SCENARIO).unwrap();
    cli(&["load", file.to_str().unwrap(), "--database", &url]);
    let tokens: HashMap<&str, String> = ["prov", "r1", "r2a", "r2b", "admin"]
        .into_iter()
        .map(|p| (p, token(&url, p)))
        .collect();
    let admin_file = dir.join("admin.token");
    let servers = [
        Server::start(&url, &admin_file),
        Server::start(&url, &admin_file),
    ];
    let addrs = [servers[0].addr, servers[1].addr];
    let held: Arc<Mutex<Vec<Held>>> = Arc::new(Mutex::new(Vec::new()));
    let tally: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let mut tasks = Vec::new();
    for client in 0..64u64 {
        let (held, tally, tokens) = (held.clone(), tally.clone(), tokens.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (client + 1).wrapping_mul(0x1000_0000_01B3));
            let mut clients: HashMap<(&str, usize), Client> = HashMap::new();
            for i in 0..8u64 {
                let id = format!("c{client}-{i}");
                let from = rng.below(11);
                let to = (from + 1 + rng.below(4)).min(12);
                let gpus = 40 + rng.below(220);
                let buyer2 = ["r2a", "r2b"][((client + i) % 2) as usize];
                let pick = rng.below(10);
                let backing = {
                    let h = held.lock().unwrap();
                    (!h.is_empty()).then(|| h[rng.below(h.len() as u64) as usize].clone())
                };
                // (who sends, path, body, is a tier-2 holding to remember)
                let (who, path, body, remember): (&str, String, String, bool) = match (pick, &backing) {
                    (0, _) => (
                        "prov",
                        "/contracts".into(),
                        json!({"id": id, "seller": "prov", "buyer": buyer2, "gpu": "h100", "gpus": gpus,
                            "start": month(from), "end": month(to), "price_per_gpu_hour": "2.10",
                            "site": "s1", "resale": true})
                        .to_string(),
                        true,
                    ),
                    (1, Some(b)) if b.to > b.from + 1 => {
                        // r1 tops up one of its tier-2 sales from its second month on.
                        (
                            "r1",
                            format!("/contracts/{}/amendments", b.id),
                            json!({"gpus": gpus / 2, "effective": month(b.from + 1)}).to_string(),
                            false,
                        )
                    }
                    (1..=5, _) | (_, None) => (
                        "r1",
                        "/contracts/t1/resales".into(),
                        json!({"id": id, "buyer": buyer2, "gpus": gpus, "start": month(from),
                            "end": month(to), "price_per_gpu_hour": "2.40", "resale": true})
                        .to_string(),
                        true,
                    ),
                    (_, Some(b)) => {
                        let f = b.from + rng.below(b.to - b.from);
                        let t = (f + 1 + rng.below(3)).min(b.to);
                        let who = if b.buyer == "r2a" { "r2a" } else { "r2b" };
                        (
                            who,
                            format!("/contracts/{}/resales", b.id),
                            json!({"id": id, "buyer": (["c1", "c2"][(i % 2) as usize]), "gpus": gpus / 2,
                                "start": month(f), "end": month(t), "price_per_gpu_hour": "2.90"})
                            .to_string(),
                            false,
                        )
                    }
                };
                let inst = ((client + i) % 2) as usize;
                let c = clients
                    .entry((who, inst))
                    .or_insert_with(|| Client::new(addrs[inst]).with_token(tokens[who].clone()));
                let r = c.post_json(&path, &body, None).await.expect("request");
                let key = if r.status == 201 {
                    if remember {
                        let v = r.json();
                        // Remember r1's tier-2 sales (prov's site sales are not topped up or resold here).
                        if v["seller"] == "r1" {
                            held.lock().unwrap().push(Held {
                                id: v["id"].as_str().unwrap().to_string(),
                                buyer: v["buyer"].as_str().unwrap().to_string(),
                                from,
                                to,
                            });
                        }
                    }
                    "201".to_string()
                } else {
                    let v = r.json();
                    let codes: Vec<&str> = v["violations"]
                        .as_array()
                        .map(|a| a.iter().map(|x| x["code"].as_str().unwrap_or("?")).collect())
                        .unwrap_or_default();
                    format!("{} {codes:?} {}", r.status, if codes.is_empty() { v["detail"].to_string() } else { String::new() })
                };
                *tally.lock().unwrap().entry(key).or_default() += 1;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // First the promise, on the admin view of the second instance.
    let admin = Client::new(addrs[1]).with_token(tokens["admin"].clone());
    let contracts = admin.get("/contracts?limit=100000").await.unwrap().json();
    let sites = admin.get("/sites").await.unwrap().json();
    let peak = assert_no_oversell(contracts.as_array().unwrap(), sites.as_array().unwrap());
    let tally = tally.lock().unwrap().clone();
    for k in tally.keys() {
        let capacity =
            k == "201" || k == "409 [\"resale_oversold\"] " || k == "409 [\"site_oversold\"] ";
        assert!(capacity, "unexpected outcome {k:?} in {tally:?}");
    }
    let accepted = tally.get("201").copied().unwrap_or(0);
    let refused: usize = tally
        .iter()
        .filter(|(k, _)| k.starts_with("409"))
        .map(|(_, n)| n)
        .sum();
    assert!(
        accepted >= 60 && refused >= 60,
        "not much of a race: {tally:?}"
    );
    assert!(peak >= 900, "t1 never came close to full: {peak}");
    // Both instances agree.
    let admin0 = Client::new(addrs[0]).with_token(tokens["admin"].clone());
    assert_eq!(
        admin0.get("/contracts?limit=100000").await.unwrap().json(),
        contracts
    );
    eprintln!(
        "race on {db:?}, 2 instances: {accepted} accepted, {refused} refused for capacity, t1 peak {peak}/1000"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_oversell_race_sqlite_two_instances() {
    race(Db::Sqlite).await;
}

/// Also the scale-out test: two stateless instances over one PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_oversell_race_postgres_two_instances() {
    race(Db::Postgres).await;
}

// ---- crash safety -----------------------------------------------------------

const CRASH_SCENARIO: &str = r#"
name = "crash"
[[gpu]]
id = "h100"
h100e = 1.0
watts = 700
[[party]]
id = "prov"
[[party]]
id = "buyer"
[[site]]
id = "big"
owner = "prov"
region = "us-east"
gpus = { h100 = 2000000000 }
"#;

#[derive(Clone, Debug)]
struct Sent {
    path: &'static str,
    body: String,
    key: String,
    ids: Vec<String>,
    acked: bool,
}

fn crash_contract(id: &str) -> Value {
    json!({"id": id, "seller": "prov", "buyer": "buyer", "gpu": "h100", "gpus": 1,
        "start": "2026-01-01", "end": "2026-07-01", "price_per_gpu_hour": "1.00", "site": "big"})
}

/// Kills `cascade serve` with SIGKILL in the middle of a write load,
/// restarts it, and checks that every write acknowledged with 2xx is there
/// exactly once, that multi-contract writes are all there or not at all,
/// and that retrying the unacknowledged writes with their keys completes
/// them exactly once.
async fn crash(db: Db) {
    let dir = temp_dir();
    let Some(url) = fresh_database(db, &dir).await else {
        return;
    };
    let file = dir.join("crash.toml");
    std::fs::write(&file, CRASH_SCENARIO).unwrap();
    cli(&["load", file.to_str().unwrap(), "--database", &url]);
    let admin_file = dir.join("admin.token");
    let server = Server::start(&url, &admin_file);
    let admin = std::fs::read_to_string(&admin_file)
        .unwrap()
        .trim()
        .to_string();
    let base_seq = Client::new(server.addr)
        .get("/healthz")
        .await
        .unwrap()
        .json()["seq"]
        .as_i64()
        .unwrap();
    let sent: Arc<Mutex<Vec<Sent>>> = Arc::default();
    let mut tasks = Vec::new();
    for w in 0..16 {
        let (sent, admin, addr) = (sent.clone(), admin.clone(), server.addr);
        tasks.push(tokio::spawn(async move {
            let mut c = Client::new(addr).with_token(admin);
            c.timeout = Duration::from_secs(5);
            for n in 0.. {
                let s = if n % 4 == 3 {
                    // Three contracts in one scenario document: all or nothing.
                    let ids: Vec<String> = (0..3).map(|k| format!("b{w}-{n}-{k}")).collect();
                    let body = json!({"name": "bundle", "contract": ids.iter().map(|i| crash_contract(i)).collect::<Vec<_>>()});
                    Sent { path: "/scenarios", body: body.to_string(), key: format!("k{w}-{n}"), ids, acked: false }
                } else {
                    let id = format!("c{w}-{n}");
                    Sent { path: "/contracts", body: crash_contract(&id).to_string(), key: format!("k{w}-{n}"), ids: vec![id], acked: false }
                };
                let i = {
                    let mut v = sent.lock().unwrap();
                    v.push(s.clone());
                    v.len() - 1
                };
                match c.post_json(s.path, &s.body, Some(&s.key)).await {
                    Ok(r) if r.status == 201 => sent.lock().unwrap()[i].acked = true,
                    Ok(r) => panic!("unexpected {} {}", r.status, r.text()),
                    Err(_) => return, // the server is gone
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    server.kill();
    for t in tasks {
        t.await.unwrap();
    }
    let sent = sent.lock().unwrap().clone();
    let acked = sent.iter().filter(|s| s.acked).count();
    assert!(acked > 100, "too few writes before the kill: {acked}");
    assert!(
        sent.iter().any(|s| !s.acked),
        "the kill hit no write in flight"
    );

    let server = Server::start(&url, &admin_file);
    let a = server.client(&admin);
    let count = |v: &Value| -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for c in v.as_array().unwrap() {
            *m.entry(c["id"].as_str().unwrap().to_string()).or_insert(0) += 1;
        }
        m
    };
    let seen = count(&a.get("/contracts?limit=100000").await.unwrap().json());
    assert!(seen.values().all(|&n| n == 1), "a contract appears twice");
    let ours: BTreeSet<&str> = sent
        .iter()
        .flat_map(|s| s.ids.iter().map(String::as_str))
        .collect();
    assert!(
        seen.keys().all(|k| ours.contains(k.as_str())),
        "a contract nobody sent"
    );
    for s in &sent {
        let present = s.ids.iter().filter(|i| seen.contains_key(*i)).count();
        if s.acked {
            assert_eq!(present, s.ids.len(), "acknowledged write lost: {:?}", s.ids);
        } else {
            assert!(
                present == 0 || present == s.ids.len(),
                "half-written: {:?}",
                s.ids
            );
        }
    }
    let seq = a.get("/healthz").await.unwrap().json()["seq"]
        .as_i64()
        .unwrap();
    assert_eq!(
        seq,
        base_seq + seen.len() as i64,
        "journal rows and contracts disagree"
    );
    // Retrying every unacknowledged write with its key completes it once:
    // a committed one replays, a lost one is applied now.
    let mut replayed = 0;
    for s in sent.iter().filter(|s| !s.acked) {
        let r = a.post_json(s.path, &s.body, Some(&s.key)).await.unwrap();
        assert_eq!(r.status, 201, "retry of {:?}: {}", s.ids, r.text());
        replayed += usize::from(r.header("idempotent-replayed").is_some());
    }
    let seen = count(&a.get("/contracts?limit=100000").await.unwrap().json());
    assert_eq!(seen.len(), ours.len());
    assert!(seen.values().all(|&n| n == 1));
    eprintln!(
        "crash on {db:?}: {} writes sent, {acked} acknowledged before SIGKILL, {} in flight ({replayed} of them had committed)",
        sent.len(),
        sent.len() - acked
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_sigkill_sqlite() {
    crash(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_sigkill_postgres() {
    crash(Db::Postgres).await;
}

// ---- tokens, logs, audit, export and backups ----------------------------------

/// Runs the CLI; returns (success, stdout, stderr).
fn cli_out(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().expect("run cascade");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn token_id(secret: &str) -> String {
    cascade_store::token_id_of(&cascade_server::hash_token(secret))
}

async fn tokens_from_the_command_line(db: Db) {
    let dir = temp_dir();
    let Some(url) = fresh_database(db, &dir).await else {
        return;
    };
    let example = examples().join("compute-chain-2025.toml");
    cli(&["load", example.to_str().unwrap(), "--database", &url]);
    let (ok, secret, err) = cli_out(&[
        "token",
        "create",
        "--party",
        "openai",
        "--expires",
        "90d",
        "--read-only",
        "--database",
        &url,
    ]);
    assert!(ok, "{err}");
    let secret = secret.trim().to_string();
    let id = token_id(&secret);
    assert!(
        err.contains(&format!("token id {id}")) && err.contains("read-only"),
        "{err}"
    );
    let listed: Value =
        serde_json::from_str(&cli(&["token", "list", "--json", "--database", &url])).unwrap();
    let mine = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .expect("listed");
    assert_eq!(mine["principal"], "party:openai");
    assert_eq!(mine["read_only"], true);
    assert_eq!(mine["status"], "active");
    assert!(mine["expires_at"].is_string());
    let text = cli(&["token", "list", "--database", &url]);
    assert!(text.contains(&id) && !text.contains(&secret), "{text}");
    assert!(!listed.to_string().contains(&secret));

    let server = Server::start(&url, &dir.join("admin.token"));
    let c = server.client(&secret);
    assert_eq!(c.get("/contracts").await.unwrap().status, 200);
    problem(&c.post_json("/contracts", "{}", None).await.unwrap(), 403);

    let out = cli(&["token", "revoke", &id, "--database", &url]);
    assert!(out.contains(&format!("revoked {id}")), "{out}");
    let revoked = std::time::Instant::now();
    while c.get("/contracts").await.unwrap().status != 401 {
        assert!(
            revoked.elapsed() < Duration::from_secs(1),
            "still accepted 1 s after revocation"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let listed: Value = serde_json::from_str(&cli(&[
        "token",
        "list",
        "--json",
        "--party",
        "openai",
        "--database",
        &url,
    ]))
    .unwrap();
    let mine = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap();
    assert_eq!(mine["status"], "revoked");
    assert!(mine["revoked_at"].is_string());

    let (ok, _, err) = cli_out(&[
        "token",
        "revoke",
        "tok_0000000000000000",
        "--database",
        &url,
    ]);
    assert!(!ok && err.contains("no token"), "{err}");
    let (ok, _, err) = cli_out(&[
        "token",
        "create",
        "--party",
        "openai",
        "--expires",
        "1y",
        "--database",
        &url,
    ]);
    assert!(!ok && err.contains("--expires"), "{err}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_from_the_command_line_sqlite() {
    tokens_from_the_command_line(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_from_the_command_line_postgres() {
    tokens_from_the_command_line(Db::Postgres).await;
}

/// `cascade serve --log-format json`: one JSON object per request on
/// stderr, with the request id, the token id (never the secret), the route
/// template, the status and the latency.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_logs_are_json_lines() {
    let dir = temp_dir();
    let url = fresh_database(Db::Sqlite, &dir).await.unwrap();
    let example = examples().join("compute-chain-2025.toml");
    cli(&["load", example.to_str().unwrap(), "--database", &url]);
    let admin_file = dir.join("admin.token");
    for format in ["json", "text"] {
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--database",
                &url,
                "--listen",
                "127.0.0.1:0",
                "--log-format",
                format,
                "--admin-token-file",
            ])
            .arg(&admin_file)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap().to_string());
                }
            }
        });
        let (ltx, lrx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = ltx.send(line);
            }
        });
        let addr: SocketAddr = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap()
            .parse()
            .unwrap();
        let admin = std::fs::read_to_string(&admin_file)
            .unwrap()
            .trim()
            .to_string();
        let rid = format!("log-test-{format}");
        let r = Client::new(addr)
            .with_token(&admin)
            .send(
                "GET",
                "/contracts/cw-google-1",
                &[("x-request-id", &rid)],
                None,
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        let mut seen = Vec::new();
        let line = loop {
            let l = lrx
                .recv_timeout(Duration::from_secs(10))
                .expect("a log line for the request");
            seen.push(l.clone());
            if l.contains(&rid) {
                break l;
            }
        };
        assert!(
            seen.iter().all(|l| !l.contains(&admin)),
            "a log line holds the secret"
        );
        if format == "json" {
            let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert_eq!(v["request_id"], rid.as_str(), "{v}");
            assert_eq!(v["token_id"], token_id(&admin).as_str(), "{v}");
            assert_eq!(v["route"], "/contracts/{id}", "{v}");
            assert_eq!(v["method"], "GET", "{v}");
            assert_eq!(v["status"], 200, "{v}");
            assert!(v["latency_ms"].as_f64().is_some_and(|l| l >= 0.0), "{v}");
            assert_eq!(v["level"], "INFO", "{v}");
        } else {
            assert!(serde_json::from_str::<Value>(&line).is_err(), "{line}");
            assert!(
                line.contains("route=\"/contracts/{id}\"")
                    || line.contains("route=/contracts/{id}"),
                "{line}"
            );
            assert!(line.contains("status=200"), "{line}");
            // A 5xx (last: the corrupt row stays) is logged with its cause,
            // which the caller does not see, under the caller's request id.
            let seq = journal_rows(&url).await.len() as i64;
            testing::insert_raw_event(&url, seq + 1, "contract", "{not json").await;
            let rid = "log-test-500";
            let r = Client::new(addr)
                .with_token(&admin)
                .send("GET", "/contracts", &[("x-request-id", rid)], None)
                .await
                .unwrap();
            assert_eq!(r.status, 500, "{}", r.text());
            assert!(!r.text().contains("not json"), "{}", r.text());
            let line = loop {
                let l = lrx
                    .recv_timeout(Duration::from_secs(10))
                    .expect("a log line for the 5xx");
                if l.contains(rid) && l.contains("request failed") {
                    break l;
                }
            };
            assert!(line.contains("ERROR"), "{line}");
            assert!(line.contains("status=500"), "{line}");
            assert!(
                line.contains("path=\"/contracts\"") || line.contains("path=/contracts"),
                "{line}"
            );
            assert!(
                line.contains("cause=") && !line.contains("no cause recorded"),
                "{line}"
            );
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The journal's (kind, body) rows.
async fn journal_rows(url: &str) -> Vec<(String, String)> {
    let store = cascade_store::Store::open(url).await.unwrap();
    let rows = store.journal(0).await.unwrap();
    store.close().await;
    rows.into_iter().map(|r| (r.kind, r.body)).collect()
}

/// The export without its first line (which names the database).
fn body_of_export(text: &str) -> String {
    assert!(text.starts_with("# Exported from "), "{text}");
    text.split_once('\n').unwrap().1.to_string()
}

async fn audit_and_export_round_trip(db: Db) {
    let dir = temp_dir();
    let Some(a) = fresh_database(db, &dir).await else {
        return;
    };
    let admin_file = dir.join("admin.token");
    let server = Server::start(&a, &admin_file);
    let admin = std::fs::read_to_string(&admin_file)
        .unwrap()
        .trim()
        .to_string();
    let example = examples().join("compute-chain-2025.toml");
    let url = format!("http://{}", server.addr);
    cli(&[
        "load",
        example.to_str().unwrap(),
        "--server",
        &url,
        "--token",
        &admin,
    ]);
    let loaded = journal_rows(&a).await.len() as i64;
    // Writes through the API after the load: a resale by google, a top-up.
    let google = token(&a, "google");
    let g = server.client(&google);
    let r = g
        .post_json(
            "/contracts",
            r#"{"id":"exported-resale","seller":"google","buyer":"openai","gpu":"h100","gpus":100,"start":"2026-01-01","end":"2026-02-01","price_per_gpu_hour":"2.5","backed_by":"cw-google-1","resale":false}"#,
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.text());
    let google_request = r.header("x-request-id").unwrap().to_string();
    drop(server);

    // The audit trail: who wrote each row, from the database.
    let lines = cli(&["audit", "--database", &a, "--json"]);
    let rows: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len() as i64, loaded + 1);
    assert!(
        rows[..loaded as usize]
            .iter()
            .all(|r| r["principal"] == "admin"
                && r["token_id"] == token_id(&admin).as_str()
                && r["request_id"].is_string())
    );
    let last = rows.last().unwrap();
    assert_eq!(last["kind"], "contract");
    assert_eq!(last["item"]["id"], "exported-resale");
    assert_eq!(last["principal"], "party:google");
    assert_eq!(last["token_id"], token_id(&google).as_str());
    assert_eq!(last["request_id"], google_request.as_str());
    let tail = cli(&["audit", "--database", &a, "--since", &loaded.to_string()]);
    assert_eq!(tail.lines().count(), 1, "{tail}");
    assert!(
        tail.contains("exported-resale")
            && tail.contains("party:google")
            && tail.contains(&google_request),
        "{tail}"
    );
    let (ok, _, err) = cli_out(&["audit", "--database", &a, "--since=-1"]);
    assert!(!ok && err.contains("--since"), "{err}");

    // Export, validate, load into a fresh store: the same journal, the same export.
    let exported = cli(&["export", "--database", &a]);
    let file = dir.join("exported.toml");
    std::fs::write(&file, &exported).unwrap();
    cli(&["validate", file.to_str().unwrap()]);
    let b = match db {
        Db::Sqlite => format!("sqlite://{}", dir.join("b.db").display()),
        Db::Postgres => fresh_database(db, &dir).await.unwrap(),
    };
    cli(&["load", file.to_str().unwrap(), "--database", &b]);
    // The same journal: the same rows, byte for byte, in the same order (the
    // resale written last stays last; core's load order would put it among
    // the contracts, before the commitments).
    assert_eq!(
        journal_rows(&b).await,
        journal_rows(&a).await,
        "the reloaded journal differs"
    );
    assert_eq!(
        body_of_export(&cli(&["export", "--database", &b])),
        body_of_export(&exported)
    );

    // As of an earlier sequence number: the journal up to there.
    let early = cli(&["export", "--database", &a, "--at-seq", &loaded.to_string()]);
    assert!(!early.contains("exported-resale"));
    let file = dir.join("early.toml");
    std::fs::write(&file, &early).unwrap();
    let c = match db {
        Db::Sqlite => format!("sqlite://{}", dir.join("c.db").display()),
        Db::Postgres => fresh_database(db, &dir).await.unwrap(),
    };
    cli(&["load", file.to_str().unwrap(), "--database", &c]);
    // As of --at-seq: the journal up to there, row for row.
    assert_eq!(
        journal_rows(&c).await,
        journal_rows(&a).await[..loaded as usize].to_vec()
    );
    let (ok, _, err) = cli_out(&["export", "--database", &a, "--at-seq", "99999"]);
    assert!(!ok && err.contains("--at-seq"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_and_export_round_trip_sqlite() {
    audit_and_export_round_trip(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_and_export_round_trip_postgres() {
    audit_and_export_round_trip(Db::Postgres).await;
}

/// `cascade backup` while the service writes: the copy opens as a store and
/// holds every write acknowledged before the backup began.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_serving_holds_every_acknowledged_write() {
    let dir = temp_dir();
    let url = fresh_database(Db::Sqlite, &dir).await.unwrap();
    let admin_file = dir.join("admin.token");
    let server = Server::start(&url, &admin_file);
    let admin = server.client(std::fs::read_to_string(&admin_file).unwrap().trim());
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (acked, stop, admin) = (acked.clone(), stop.clone(), admin.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let id = format!("p-{i}");
                let r = admin
                    .post_json(
                        "/parties",
                        &format!(r#"{{"id":"{id}","name":"P {i}"}}"#),
                        None,
                    )
                    .await
                    .unwrap();
                assert_eq!(r.status, 201, "{}", r.text());
                acked.lock().unwrap().push(id);
                i += 1;
            }
        })
    };
    while acked.lock().unwrap().len() < 30 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before: Vec<String> = acked.lock().unwrap().clone();
    let to = dir.join("backup.db");
    let (u, t) = (url.clone(), to.clone());
    let out = tokio::task::spawn_blocking(move || {
        cli_out(&["backup", "--database", &u, "--to", t.to_str().unwrap()])
    })
    .await
    .unwrap();
    assert!(out.0, "{}", out.2);
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    let during = acked.lock().unwrap().len();
    let copy = cascade_store::Store::open(&format!("sqlite://{}", to.display()))
        .await
        .unwrap();
    let parties: BTreeSet<String> = copy
        .read(|s| {
            s.ledger
                .parties()
                .iter()
                .map(|p| p.id.as_str().to_string())
                .collect()
        })
        .await
        .unwrap();
    copy.close().await;
    for id in &before {
        assert!(
            parties.contains(id),
            "{id} was acknowledged before the backup but is not in it"
        );
    }
    assert!(during > before.len(), "writes went on during the backup");
    eprintln!(
        "backup: {} writes acknowledged before it began, {} in it, {during} in the end",
        before.len(),
        parties.len()
    );
    // Never over an existing file.
    let (ok, _, err) = cli_out(&["backup", "--database", &url, "--to", to.to_str().unwrap()]);
    assert!(!ok && err.contains("exists"), "{err}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// PostgreSQL is backed up with pg_dump: `cascade backup` says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_of_postgres_points_to_pg_dump() {
    let dir = temp_dir();
    let Some(url) = fresh_database(Db::Postgres, &dir).await else {
        return;
    };
    let (ok, _, err) = cli_out(&[
        "backup",
        "--database",
        &url,
        "--to",
        dir.join("x.db").to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("pg_dump"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
