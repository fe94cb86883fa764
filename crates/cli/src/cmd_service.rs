//! `cascade serve`, `cascade load`, `cascade token`, `cascade audit`,
//! `cascade export`, `cascade backup`: the HTTP service and its store (see
//! `docs/service.md`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use cascade_server::routes::audit::AuditEntry;
use cascade_server::routes::tokens::{TokenView, parse_lifetime};
use cascade_server::{AppState, Principal, hash_token, new_token};
use cascade_store::Store;
use clap::{Args, Subcommand};

const DEFAULT_DATABASE: &str = "sqlite://cascade.db";

/// Arguments of `cascade serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The store: sqlite://PATH (created if missing) or postgres://USER@HOST:PORT/DB.
    /// Default: $CASCADE_DATABASE, else sqlite://cascade.db.
    #[arg(long)]
    pub database: Option<String>,
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Admin token file: its token (one line) is accepted as an admin token;
    /// if the file does not exist, a new token is written to it (mode 0600).
    /// Without this flag, a store with no admin token gets one at start,
    /// printed once on stderr.
    #[arg(long)]
    pub admin_token_file: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Log lines on stderr: `json` (one object per line, for collectors) or
    /// `text`. One line per request at `info` (target `cascade::request`);
    /// RUST_LOG overrides the levels (default: warn, requests at info).
    #[arg(long, value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
    /// Plans solved at once (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub plan_workers: Option<u16>,
    /// Plans that may wait for a planning worker; more get 429 (default: 4 per core).
    #[arg(long)]
    pub plan_queue: Option<u16>,
    /// Plans one token may have running or waiting; more get 429.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub plan_per_token: u16,
    /// Solver budget of one plan, in seconds; a plan cut short answers
    /// `feasible` with its gap.
    #[arg(long, default_value_t = 60.0, value_parser = positive_seconds)]
    pub plan_time_limit: f64,
    /// Writes per second per token, sustained; more get 429 (0: no limit).
    #[arg(long, default_value_t = 100.0, value_parser = non_negative_rate)]
    pub write_rate: f64,
    /// Writes one token may send at once after a quiet spell.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    pub write_burst: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 && x <= 86_400.0 => Ok(x),
        _ => Err(format!(
            "{s:?} is not a number of seconds from 0 (excluded) to 86400"
        )),
    }
}

fn non_negative_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && (0.0..=1e6).contains(&x) => Ok(x),
        _ => Err(format!("{s:?} is not a rate from 0 to 1000000 per second")),
    }
}

impl ServeArgs {
    /// The service's limits from the flags (defaults from [`cascade_server::limits::Limits`]).
    pub fn limits(&self) -> cascade_server::limits::Limits {
        let d = cascade_server::limits::Limits::default();
        cascade_server::limits::Limits {
            plan_workers: self.plan_workers.map_or(d.plan_workers, usize::from),
            plan_queue: self.plan_queue.map_or(d.plan_queue, usize::from),
            plan_per_token: usize::from(self.plan_per_token),
            plan_time_limit: std::time::Duration::from_secs_f64(self.plan_time_limit),
            write_rate_per_s: self.write_rate,
            write_burst: f64::from(self.write_burst),
        }
    }
}

/// Arguments of `cascade load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Scenario file (TOML, or JSON when it ends in .json).
    pub file: PathBuf,
    /// Load through a running service (e.g. http://127.0.0.1:8080) with an
    /// admin token, instead of writing to the database directly.
    #[arg(long)]
    pub server: Option<String>,
    /// Admin token for --server (default: $CASCADE_TOKEN).
    #[arg(long)]
    pub token: Option<String>,
    /// The store to write to directly (when --server is not given).
    /// Default: $CASCADE_DATABASE, else sqlite://cascade.db.
    #[arg(long)]
    pub database: Option<String>,
}

/// `cascade token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a bearer token: prints the secret on stdout (once: only its
    /// SHA-256 is stored) and its non-secret id on stderr.
    Create(TokenCreateArgs),
    /// List tokens: id, principal, created, expires, revoked, read-only (never the secret).
    List(TokenListArgs),
    /// Revoke a token by its id: every service instance refuses it within a second.
    Revoke(TokenRevokeArgs),
}

#[derive(Debug, Args)]
pub struct TokenListArgs {
    /// Only this party's tokens.
    #[arg(long)]
    pub party: Option<String>,
    /// Print JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// The store (sqlite://PATH or postgres://...).
    /// Default: $CASCADE_DATABASE, else sqlite://cascade.db.
    #[arg(long)]
    pub database: Option<String>,
}

#[derive(Debug, Args)]
pub struct TokenRevokeArgs {
    /// The token's id (`tok_...`, from `cascade token list`).
    pub id: String,
    /// The store (sqlite://PATH or postgres://...).
    /// Default: $CASCADE_DATABASE, else sqlite://cascade.db.
    #[arg(long)]
    pub database: Option<String>,
}

/// Arguments of `cascade audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The store (sqlite://PATH or postgres://...).
    /// Default: $CASCADE_DATABASE, else sqlite://cascade.db.
    #[arg(long)]
    pub database: Option<String>,
    /// Rows after this sequence number.
    #[arg(long, default_value_t = 0)]
    pub since: i64,
    /// Most rows to print.
    #[arg(long, default_value_t = 10_000)]
    pub limit: i64,
    /// One JSON object per row (JSON lines) on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `cascade export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The store (sqlite://PATH or postgres://...).
    /// Default: $CASCADE_DATABASE, else sqlite://cascade.db.
    #[arg(long)]
    pub database: Option<String>,
    /// The state as of this sequence number (default: the journal's end).
    #[arg(long)]
    pub at_seq: Option<i64>,
    /// The scenario's name in the file.
    #[arg(long, default_value = "export")]
    pub name: String,
}

/// Arguments of `cascade backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The SQLite store (sqlite://PATH). PostgreSQL: use pg_dump (docs/service.md).
    /// Default: $CASCADE_DATABASE, else sqlite://cascade.db.
    #[arg(long)]
    pub database: Option<String>,
    /// Where to write the copy (must not exist).
    #[arg(long)]
    pub to: PathBuf,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["party", "admin"])))]
pub struct TokenCreateArgs {
    /// The party the token acts for.
    #[arg(long)]
    pub party: Option<String>,
    /// An admin token (manages parties and sites, sees everything).
    #[arg(long)]
    pub admin: bool,
    /// Lifetime: a whole number and a unit s, m, h, d or w (e.g. 90d).
    /// Default: no expiry.
    #[arg(long)]
    pub expires: Option<String>,
    /// The token may read and plan, and write nothing.
    #[arg(long)]
    pub read_only: bool,
    /// The store (sqlite://PATH or postgres://...).
    /// Default: $CASCADE_DATABASE, else sqlite://cascade.db.
    #[arg(long)]
    pub database: Option<String>,
}

/// `--database`, else $CASCADE_DATABASE, else sqlite://cascade.db.
fn database(arg: &Option<String>) -> String {
    arg.clone()
        .or_else(|| {
            std::env::var("CASCADE_DATABASE")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| DEFAULT_DATABASE.to_string())
}

fn runtime(workers: Option<usize>) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers {
        b.worker_threads(n.max(1));
    }
    b.enable_all()
        .build()
        .context("cannot start the async runtime")
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

fn write_secret(path: &Path, token: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(f, "{token}")?;
    Ok(())
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    crate::logs::init(args.log_format);
    let r = serve_logged(args);
    crate::logs::flush();
    r
}

fn serve_logged(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let rt = runtime(args.workers)?;
    let db = database(&args.database);
    rt.block_on(async move {
        let store = Store::open(&db)
            .await
            .with_context(|| format!("cannot open the store {}", redact(&db)))?;
        match &args.admin_token_file {
            Some(path) if path.exists() => {
                let token = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let token = token.trim();
                if token.is_empty() {
                    bail!("{} is empty", path.display());
                }
                store.add_token(&hash_token(token), &Principal::Admin.as_stored()).await?;
            }
            Some(path) => {
                let token = new_token();
                write_secret(path, &token)?;
                store.add_token(&hash_token(&token), &Principal::Admin.as_stored()).await?;
                eprintln!("cascade serve: wrote a new admin token to {}", path.display());
            }
            None => {
                if store.count_tokens(&Principal::Admin.as_stored()).await? == 0 {
                    let token = new_token();
                    store.add_token(&hash_token(&token), &Principal::Admin.as_stored()).await?;
                    eprintln!(
                        "cascade serve: the store had no admin token; created one (shown once, keep it):\n{token}"
                    );
                }
            }
        }
        let seq = store.read(|s| s.seq).await?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        println!(
            "cascade serve: listening on http://{addr} (store {}: {}, journal at seq {seq})",
            store.backend_name(),
            redact(&db)
        );
        use std::io::Write;
        let _ = std::io::stdout().flush();
        cascade_server::serve(listener, AppState::with_limits(store.clone(), args.limits()), shutdown_signal()).await?;
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// A database URL without its password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].find(':') {
            Some(c) => format!("{}:***{}", &url[..s + 3 + c], &url[at..]),
            None => url.to_string(),
        },
        _ => url.to_string(),
    }
}

/// `http://host:port` → a socket address.
async fn server_addr(url: &str) -> anyhow::Result<SocketAddr> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow::anyhow!("--server {url:?}: use http://HOST:PORT"))?;
    let hostport = rest.split('/').next().unwrap_or(rest);
    let hostport = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    tokio::net::lookup_host(&hostport)
        .await
        .with_context(|| format!("--server: cannot resolve {hostport}"))?
        .next()
        .ok_or_else(|| anyhow::anyhow!("--server: {hostport} resolves to nothing"))
}

pub fn load(args: LoadArgs) -> anyhow::Result<ExitCode> {
    let scenario = match cascade_format::load_path(&args.file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}: invalid: {e}", args.file.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    let rt = runtime(Some(2))?;
    rt.block_on(async move {
        if let Some(url) = &args.server {
            let token = args
                .token
                .clone()
                .or_else(|| {
                    std::env::var("CASCADE_TOKEN")
                        .ok()
                        .filter(|s| !s.is_empty())
                })
                .ok_or_else(|| {
                    anyhow::anyhow!("--server needs an admin token: --token or CASCADE_TOKEN")
                })?;
            let addr = server_addr(url).await?;
            let doc = cascade_format::to_json_value(&scenario).to_string();
            // The same file loads once: a repeated load replays the first answer.
            let key = format!("load:{}", &hash_token(&doc)[..32]);
            let client = cascade_server::client::Client::new(addr).with_token(token);
            let r = client
                .post_json("/scenarios", &doc, Some(&key))
                .await
                .with_context(|| format!("cannot reach {url}"))?;
            if r.status == 201 {
                let v = r.json();
                let replay = r.header("idempotent-replayed").is_some();
                println!(
                    "{}: {} {} records (journal at seq {}) via {url}",
                    args.file.display(),
                    if replay { "already loaded:" } else { "loaded" },
                    v["records"],
                    v["seq"]
                );
                return Ok(ExitCode::SUCCESS);
            }
            let v = r.json();
            eprintln!(
                "{}: refused ({}): {}",
                args.file.display(),
                r.status,
                v["detail"].as_str().unwrap_or(&r.text())
            );
            if let Some(vs) = v["violations"].as_array() {
                for x in vs {
                    eprintln!("  {}", x["message"].as_str().unwrap_or(""));
                }
            }
            return Ok(ExitCode::FAILURE);
        }
        let db = database(&args.database);
        let store = Store::open(&db)
            .await
            .with_context(|| format!("cannot open the store {}", redact(&db)))?;
        // The file's order, so that an exported journal loads back row for row.
        let written = std::fs::read_to_string(&args.file)
            .ok()
            .and_then(|src| cascade_format::written_order(&src))
            .unwrap_or_default();
        let (n, outcome) = match cascade_store::scenario_load(&scenario, &written) {
            Ok(records) => (
                records.len(),
                store.append_scenario("admin", records).await?,
            ),
            Err(r) => (0, Err(r)),
        };
        let seq = store.read(|s| s.seq).await?;
        store.close().await;
        match outcome {
            Ok(()) => {
                println!(
                    "{}: loaded {n} records into {} (journal at seq {seq})",
                    args.file.display(),
                    redact(&db)
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(r) => {
                eprintln!(
                    "{}: refused, nothing stored: {} violation(s) against the store's ledger:",
                    args.file.display(),
                    r.violations.len()
                );
                // Located in the file, as `validate` does.
                for v in crate::locate_violations(&args.file, &r) {
                    eprintln!("  {v}");
                }
                Ok(ExitCode::FAILURE)
            }
        }
    })
}

pub fn token(cmd: TokenCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TokenCommand::Create(a) => token_create(a),
        TokenCommand::List(a) => token_list(a),
        TokenCommand::Revoke(a) => token_revoke(a),
    }
}

async fn open(db: &str) -> anyhow::Result<Store> {
    Store::open(db)
        .await
        .with_context(|| format!("cannot open the store {}", redact(db)))
}

fn token_create(a: TokenCreateArgs) -> anyhow::Result<ExitCode> {
    let principal = match (&a.party, a.admin) {
        (_, true) => Principal::Admin,
        (Some(p), false) => {
            Principal::Party(cascade_core::Id::new(p).map_err(|e| anyhow::anyhow!("--party: {e}"))?)
        }
        (None, false) => bail!("give --party ID or --admin"),
    };
    let lifetime_s = match &a.expires {
        Some(e) => Some(parse_lifetime(e).map_err(|m| anyhow::anyhow!("--expires: {m}"))?),
        None => None,
    };
    let rt = runtime(Some(1))?;
    rt.block_on(async move {
        let db = database(&a.database);
        let store = open(&db).await?;
        if let Principal::Party(p) = &principal {
            let known = store.read(|s| s.ledger.party(p).is_some()).await?;
            if !known {
                eprintln!("note: no party {p:?} in the store yet; the token works once it exists");
            }
        }
        let expires_at = lifetime_s.map(|s| {
            cascade_core::Instant::from_unix_seconds(cascade_store::now().unix_seconds() + s)
        });
        let token = new_token();
        let info = store
            .create_token(
                &hash_token(&token),
                &principal.as_stored(),
                expires_at,
                a.read_only,
            )
            .await?;
        store.close().await;
        println!("{token}");
        eprintln!(
            "token id {} for {}{}{} (the secret above is shown once)",
            info.id,
            info.principal,
            info.expires_at
                .map(|e| format!(", expires {e}"))
                .unwrap_or_default(),
            if info.read_only { ", read-only" } else { "" }
        );
        Ok(ExitCode::SUCCESS)
    })
}

fn token_list(a: TokenListArgs) -> anyhow::Result<ExitCode> {
    let principal = match &a.party {
        Some(p) => Some(
            Principal::Party(
                cascade_core::Id::new(p).map_err(|e| anyhow::anyhow!("--party: {e}"))?,
            )
            .as_stored(),
        ),
        None => None,
    };
    let rt = runtime(Some(1))?;
    rt.block_on(async move {
        let db = database(&a.database);
        let store = open(&db).await?;
        let tokens = store.list_tokens(principal.as_deref()).await?;
        store.close().await;
        let now = cascade_store::now();
        let views: Vec<TokenView> = tokens.iter().map(|t| TokenView::of(t, now)).collect();
        if a.json {
            crate::emit(&format!("{}\n", serde_json::to_string_pretty(&views)?))?;
            return Ok(ExitCode::SUCCESS);
        }
        let mut t = comfy_table::Table::new();
        t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
        t.set_header([
            "id",
            "principal",
            "created",
            "expires",
            "revoked",
            "read-only",
            "status",
        ]);
        for v in &views {
            t.add_row([
                v.id.clone(),
                v.principal.clone(),
                v.created_at.clone(),
                v.expires_at.clone().unwrap_or_else(|| "never".into()),
                v.revoked_at.clone().unwrap_or_else(|| "-".into()),
                if v.read_only { "yes" } else { "no" }.to_string(),
                v.status.clone(),
            ]);
        }
        crate::emit(&format!("{t}\n"))?;
        Ok(ExitCode::SUCCESS)
    })
}

fn token_revoke(a: TokenRevokeArgs) -> anyhow::Result<ExitCode> {
    let rt = runtime(Some(1))?;
    rt.block_on(async move {
        let db = database(&a.database);
        let store = open(&db).await?;
        let r = store.revoke_token(&a.id).await;
        store.close().await;
        match r {
            Ok(info) => {
                println!(
                    "revoked {} ({}) at {}",
                    info.id,
                    info.principal,
                    info.revoked_at.map(|t| t.to_string()).unwrap_or_default()
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(cascade_store::StoreError::NotFound { .. }) => {
                eprintln!(
                    "no token {:?} in {} (see `cascade token list`)",
                    a.id,
                    redact(&db)
                );
                Ok(ExitCode::FAILURE)
            }
            Err(e) => Err(e.into()),
        }
    })
}

/// `cascade audit`: the journal with who wrote each row.
pub fn audit(a: AuditArgs) -> anyhow::Result<ExitCode> {
    if a.since < 0 {
        bail!("--since: {} is not 0 or more", a.since);
    }
    let rt = runtime(Some(1))?;
    rt.block_on(async move {
        let db = database(&a.database);
        let store = open(&db).await?;
        let rows = store
            .audit_since(cascade_store::AuditSince::Seq(a.since), a.limit)
            .await
            .map_err(|e| match e {
                cascade_store::StoreError::Invalid { field, problem } => {
                    anyhow::anyhow!("--{field}: {problem}")
                }
                e => e.into(),
            })?;
        store.close().await;
        let mut out = String::new();
        for r in rows {
            let e = AuditEntry::from(r);
            if a.json {
                out.push_str(&serde_json::to_string(&e)?);
            } else {
                let item_id = e.item.get("id").and_then(|v| v.as_str()).unwrap_or("-");
                out.push_str(&format!(
                    "{:>8}  {}  {:<12} {:<28} {:<18} {:<22} {}",
                    e.seq,
                    e.at,
                    e.kind,
                    item_id,
                    e.principal.as_deref().unwrap_or("-"),
                    e.token_id.as_deref().unwrap_or("-"),
                    e.request_id.as_deref().unwrap_or("-"),
                ));
            }
            out.push('\n');
        }
        crate::emit(&out)?;
        Ok(ExitCode::SUCCESS)
    })
}

/// `cascade export`: the journal (up to `--at-seq`) as a scenario file on stdout.
pub fn export(a: ExportArgs) -> anyhow::Result<ExitCode> {
    let rt = runtime(Some(1))?;
    rt.block_on(async move {
        let db = database(&a.database);
        let store = open(&db).await?;
        let at = match a.at_seq {
            Some(n) => n,
            None => store.read(|s| s.seq).await?,
        };
        let (state, written) = store.export_at(at).await.map_err(|e| match e {
            cascade_store::StoreError::Invalid { problem, .. } => {
                anyhow::anyhow!("--at-seq: {problem}")
            }
            e => e.into(),
        })?;
        store.close().await;
        let text = cascade_format::to_toml_in_order(&state.scenario(&a.name), &written);
        crate::emit(&format!(
            "# Exported from {} at journal seq {at}.\n{text}",
            redact(&db)
        ))?;
        Ok(ExitCode::SUCCESS)
    })
}

/// `cascade backup`: a consistent copy of a SQLite store, taken online.
pub fn backup(a: BackupArgs) -> anyhow::Result<ExitCode> {
    if a.to.exists() {
        bail!(
            "--to {}: the file exists (a backup never overwrites)",
            a.to.display()
        );
    }
    let rt = runtime(Some(1))?;
    rt.block_on(async move {
        let db = database(&a.database);
        let store = open(&db).await?;
        let seq = store.read(|s| s.seq).await?;
        let r = store.backup_to(&a.to).await;
        store.close().await;
        match r {
            Ok(()) => {
                println!(
                    "backed up {} to {} (journal at seq {seq} or later)",
                    redact(&db),
                    a.to.display()
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(cascade_store::StoreError::Unsupported(_)) => {
                eprintln!(
                    "{}: cascade backup copies SQLite stores; back up PostgreSQL with pg_dump (see docs/service.md)",
                    redact(&db)
                );
                Ok(ExitCode::FAILURE)
            }
            Err(e) => Err(anyhow::Error::new(e).context(format!("cannot back up to {}", a.to.display()))),
        }
    })
}
