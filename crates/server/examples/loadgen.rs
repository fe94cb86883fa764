//! Load generator for `cascade serve` (see bench/service/run.sh).
//!
//! ```text
//! loadgen --addr 127.0.0.1:8080 --token T --mode write --seconds 10 --concurrency 64
//! loadgen --addr 127.0.0.1:8080 --token T --mode read  --seconds 10 --concurrency 64 \
//!         --buyer openai --at 2026-01-01
//! ```
//!
//! `plan`: each request is `POST /plan` for `--buyer` (strategy
//! `--strategy`, default optimal), the flood test's load. A client told
//! 429 waits the `Retry-After` it was given (at most until the run ends),
//! as a well-behaved client does; `--no-backoff` retries at once instead
//! (a hostile flood of refused requests).
//! `write`: each request creates one contract of 1..4 GPUs for a random
//! month window from site `--site` (seller `--seller`) to one of the
//! `--buyers` buyers, with a fresh Idempotency-Key (so every write stores
//! a journal row and an idempotency row). `read`: GET /exposure for
//! `--buyer` at `--at` (or GET `--path`). Keep-alive connections, one per client
//! (`client::Conn`: no pool, IO driven in the client's own task); prints
//! throughput, status counts and latency percentiles as one JSON line.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cascade_server::client::{Conn, json_headers};

struct Args {
    addr: SocketAddr,
    token: String,
    mode: String,
    seconds: f64,
    concurrency: usize,
    buyer: String,
    at: String,
    seller: String,
    site: String,
    buyers: usize,
    prefix: String,
    threads: usize,
    idempotency: bool,
    path: Option<String>,
    strategy: String,
    backoff: bool,
}

fn parse() -> Args {
    let mut a = Args {
        addr: "127.0.0.1:8080".parse().unwrap(),
        token: String::new(),
        mode: "read".into(),
        seconds: 10.0,
        concurrency: 64,
        buyer: "openai".into(),
        at: "2026-01-01".into(),
        seller: "bench-provider".into(),
        site: "bench-site".into(),
        buyers: 16,
        prefix: format!("w{}", std::process::id()),
        threads: 1,
        idempotency: true,
        path: None,
        strategy: "optimal".into(),
        backoff: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--addr" => a.addr = v().parse().expect("--addr HOST:PORT"),
            "--token" => a.token = v(),
            "--mode" => a.mode = v(),
            "--seconds" => a.seconds = v().parse().expect("--seconds"),
            "--concurrency" => a.concurrency = v().parse().expect("--concurrency"),
            "--buyer" => a.buyer = v(),
            "--at" => a.at = v(),
            "--seller" => a.seller = v(),
            "--site" => a.site = v(),
            "--buyers" => a.buyers = v().parse().expect("--buyers"),
            "--prefix" => a.prefix = v(),
            "--threads" => a.threads = v().parse().expect("--threads"),
            "--no-idempotency" => a.idempotency = false,
            "--path" => a.path = Some(v()),
            "--strategy" => a.strategy = v(),
            "--no-backoff" => a.backoff = false,
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

#[derive(Default)]
struct Tally {
    lat_us: Vec<u32>,
    statuses: BTreeMap<u16, u64>,
    errors: u64,
}

fn month(m: u64) -> String {
    format!("{:04}-{:02}-01", 2026 + m / 12, m % 12 + 1)
}

/// CPU time of this process so far, in seconds (Linux; 0 elsewhere).
fn own_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) close with ')'.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|x| x.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn main() {
    let a = parse();
    let cpu0 = own_cpu_seconds();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(a.threads.max(1))
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let deadline = Instant::now() + Duration::from_secs_f64(a.seconds);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..a.concurrency {
            let mut client = Conn::new(a.addr, Some(a.token.clone()));
            let custom = a.path.clone();
            let strategy = a.strategy.clone();
            let (mode, buyer, at, seller, site, buyers, prefix, idem) = (
                a.mode.clone(),
                a.buyer.clone(),
                a.at.clone(),
                a.seller.clone(),
                a.site.clone(),
                a.buyers,
                a.prefix.clone(),
                a.idempotency,
            );
            let backoff = a.backoff;
            tasks.push(tokio::spawn(async move {
                let mut t = Tally::default();
                let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ ((w as u64 + 1) * 0x1000_0000_01B3);
                let mut next = move || {
                    rng ^= rng >> 12;
                    rng ^= rng << 25;
                    rng ^= rng >> 27;
                    rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
                };
                let plan_body = format!(r#"{{"buyer":"{buyer}","strategy":"{strategy}"}}"#);
                let read_path = custom.unwrap_or_else(|| format!("/exposure?buyer={buyer}&at={at}"));
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let t0 = Instant::now();
                    let r = if mode == "write" {
                        n += 1;
                        let id = format!("{prefix}-{w}-{n}");
                        let from = next() % 12;
                        let to = from + 1 + next() % 12;
                        let body = format!(
                            r#"{{"id":"{id}","seller":"{seller}","buyer":"bench-buyer-{}","gpu":"h100","gpus":{},"start":"{}","end":"{}","price_per_gpu_hour":"2.10","site":"{site}"}}"#,
                            next() % buyers as u64,
                            1 + next() % 4,
                            month(from),
                            month(to)
                        );
                        let key = format!("k-{id}");
                        let h = json_headers(idem.then_some(key.as_str()));
                        client.send("POST", "/contracts", &h, Some(body.as_bytes())).await
                    } else if mode == "plan" {
                        let h = json_headers(None);
                        client.send("POST", "/plan", &h, Some(plan_body.as_bytes())).await
                    } else {
                        client.send("GET", &read_path, &[], None).await
                    };
                    match r {
                        Ok(r) => {
                            t.lat_us.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
                            *t.statuses.entry(r.status).or_default() += 1;
                            let wait = r
                                .header("retry-after")
                                .and_then(|v| v.parse::<f64>().ok())
                                .filter(|_| backoff && r.status == 429);
                            if let Some(secs) = wait {
                                let left = deadline.saturating_duration_since(Instant::now());
                                tokio::time::sleep(Duration::from_secs_f64(secs).min(left)).await;
                            }
                        }
                        Err(_) => t.errors += 1,
                    }
                }
                t
            }));
        }
        let mut all = Tally::default();
        for t in tasks {
            let t = t.await.unwrap();
            all.lat_us.extend(t.lat_us);
            for (k, v) in t.statuses {
                *all.statuses.entry(k).or_default() += v;
            }
            all.errors += t.errors;
        }
        let secs = started.elapsed().as_secs_f64();
        all.lat_us.sort_unstable();
        let pct = |p: f64| -> f64 {
            if all.lat_us.is_empty() {
                return 0.0;
            }
            let i = ((all.lat_us.len() as f64 * p).ceil() as usize).clamp(1, all.lat_us.len()) - 1;
            all.lat_us[i] as f64 / 1000.0
        };
        let ok: u64 = all.statuses.iter().filter(|(k, _)| (200..300).contains(*k)).map(|(_, v)| v).sum();
        let total: u64 = all.statuses.values().sum();
        let statuses: BTreeMap<String, u64> = all.statuses.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        println!(
            "{}",
            serde_json::json!({
                "mode": a.mode,
                "concurrency": a.concurrency,
                "seconds": (secs * 100.0).round() / 100.0,
                "requests": total,
                "ok": ok,
                "ok_per_second": (ok as f64 / secs).round(),
                "statuses": statuses,
                "errors": all.errors,
                "latency_ms": {"p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99), "max": pct(1.0)},
                "client_cpu_us_per_request": if total > 0 {
                    ((own_cpu_seconds() - cpu0) * 1e6 / total as f64).round()
                } else {
                    0.0
                },
            })
        );
    });
}
