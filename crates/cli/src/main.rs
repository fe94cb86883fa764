//! `cascade`: the command-line edge of Cascade. Parses flags, loads files,
//! calls the library crates and prints; all logic lives in the libraries.

mod cmd_bill;
mod cmd_buildout;
mod cmd_plan;
mod cmd_service;
mod cmd_sim;
mod logs;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use cascade_core::{Exposure, Id, Instant, ItemRef, Ledger, Rejection, Scenario};
use clap::{Parser, Subcommand};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

/// Cascade models and runs the AI compute supply chain: who owns which GPUs
/// where, who resold what to whom, and what a buyer is really exposed to.
#[derive(Debug, Parser)]
#[command(name = "cascade", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a scenario file: format, references and every ledger invariant.
    ///
    /// Prints every violation found (not only the first), each with the
    /// file:line:col of the item, the instant and the shortfall where they
    /// apply. Exits 1 when anything is wrong.
    Validate {
        /// Scenario file (TOML, or JSON when it ends in .json).
        file: PathBuf,
        /// Print the result as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// A buyer's true concentration at an instant: by physical provider,
    /// counterparty and site, HHI, N-1 per provider, commitments and flags.
    Exposure {
        /// Scenario file (TOML, or JSON when it ends in .json).
        file: PathBuf,
        /// The buyer (party id).
        #[arg(long)]
        buyer: String,
        /// Instant: a date (2026-01-01, midnight UTC) or an RFC 3339 date-time.
        /// Defaults to now.
        #[arg(long)]
        at: Option<String>,
        /// Delivery risk as of this instant: capacity that depends on
        /// expansions effective after it is not yet built. Defaults to now.
        #[arg(long)]
        asof: Option<String>,
        /// Print the spec's JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Provenance of a contract: its chain of resales down to the physical
    /// site and provider, and what was resold from it.
    Chain {
        /// Scenario file (TOML, or JSON when it ends in .json).
        file: PathBuf,
        /// The contract id.
        #[arg(long)]
        contract: String,
        /// Print JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Monthly build-out of sites: installed GPUs per class, installed
    /// power, power drawn, sold and free; with --asof, sold but not yet built.
    Buildout(cmd_buildout::BuildoutArgs),
    /// Invoices of a billing month (outage credits, true-ups, burn-down, margins).
    Bill(cmd_bill::BillArgs),
    /// A reseller's margins over a range of billing months.
    Margins(cmd_bill::MarginsArgs),
    /// Buy the cheapest portfolio under clauses and policy (MILP on HiGHS).
    Plan(cmd_plan::PlanArgs),
    /// Work with offers (import public price catalogs).
    #[command(subcommand)]
    Offers(cmd_plan::OffersCommand),
    /// Replay jobs on a buyer's capacity under outages and late build-out,
    /// through every resale chain, and compare sourcing policies.
    Simulate(cmd_sim::SimArgs),
    /// Run the HTTP service (SQLite by default, or PostgreSQL).
    Serve(cmd_service::ServeArgs),
    /// Import a scenario into the service's store.
    Load(cmd_service::LoadArgs),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(cmd_service::TokenCommand),
    /// The store's journal with who wrote each row (principal, token id, request id).
    Audit(cmd_service::AuditArgs),
    /// Write the store's journal (up to --at-seq) as a scenario file on stdout.
    Export(cmd_service::ExportArgs),
    /// Copy a SQLite store while it serves (PostgreSQL: pg_dump).
    Backup(cmd_service::BackupArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate { file, json } => validate(&file, json),
        Command::Exposure {
            file,
            buyer,
            at,
            asof,
            json,
        } => exposure(&file, &buyer, at.as_deref(), asof.as_deref(), json),
        Command::Chain {
            file,
            contract,
            json,
        } => chain(&file, &contract, json),
        Command::Buildout(a) => cmd_buildout::buildout(a),
        Command::Bill(a) => cmd_bill::bill(a),
        Command::Margins(a) => cmd_bill::margins(a),
        Command::Plan(a) => cmd_plan::plan(a),
        Command::Offers(c) => cmd_plan::offers(c),
        Command::Simulate(a) => cmd_sim::simulate(a),
        Command::Serve(a) => cmd_service::serve(a),
        Command::Load(a) => cmd_service::load(a),
        Command::Token(c) => cmd_service::token(c),
        Command::Audit(a) => cmd_service::audit(a),
        Command::Export(a) => cmd_service::export(a),
        Command::Backup(a) => cmd_service::backup(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Writes to stdout; a closed pipe (`cascade ... | head`) ends quietly
/// instead of panicking.
pub fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        r => Ok(r?),
    }
}

/// Why a scenario could not be used; printed to stderr by the caller.
#[derive(Debug)]
pub enum ScenarioError {
    Load(cascade_format::LoadError),
    Invalid(Vec<String>),
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScenarioError::Load(e) => write!(f, "{e}"),
            ScenarioError::Invalid(lines) => {
                write!(f, "{} violation(s):", lines.len())?;
                for l in lines {
                    write!(f, "\n  {l}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ScenarioError {}

/// Each violation prefixed with the file:line:col of the item it names.
pub fn locate_violations(path: &Path, rejection: &Rejection) -> Vec<String> {
    let src = std::fs::read_to_string(path).unwrap_or_default();
    rejection
        .violations
        .iter()
        .map(|v| {
            let item = v.item();
            let mut also = String::new();
            let position = match item {
                ItemRef::Amendment(n, _)
                | ItemRef::Clause(n, _)
                | ItemRef::Demand(n)
                | ItemRef::Outage(n) => cascade_format::locate_index(&src, item.kind(), *n),
                _ => {
                    let all = item
                        .id()
                        .map(|id| cascade_format::locate_all(&src, item.kind(), id.as_str()))
                        .unwrap_or_default();
                    // A duplicate id points at the later item written and
                    // names where the first one is.
                    if matches!(v, cascade_core::Violation::DuplicateId { .. }) && all.len() > 1 {
                        let (line, col) = all[0];
                        also = format!(" (first written at {}:{line}:{col})", path.display());
                        all.last().copied()
                    } else {
                        all.first().copied()
                    }
                }
            };
            let at = position
                .map(|(line, col)| format!("{}:{line}:{col}: ", path.display()))
                .unwrap_or_else(|| format!("{}: ", path.display()));
            format!("{at}{v}{also}")
        })
        .collect()
}

/// Loads and validates a scenario: the one path every command takes.
pub fn load_valid(path: &Path) -> Result<(Scenario, Ledger), ScenarioError> {
    let scenario = cascade_format::load_path(path).map_err(ScenarioError::Load)?;
    match Ledger::from_scenario(&scenario) {
        Ok(ledger) => Ok((scenario, ledger)),
        Err(r) => Err(ScenarioError::Invalid(locate_violations(path, &r))),
    }
}

fn validate(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let outcome = load_valid(path);
    if json {
        let doc = match &outcome {
            Ok((s, l)) => serde_json::json!({
                "file": path.display().to_string(), "valid": true, "name": s.name,
                "events": l.len(), "errors": [],
            }),
            Err(ScenarioError::Load(e)) => serde_json::json!({
                "file": path.display().to_string(), "valid": false,
                "errors": e.to_string().lines().collect::<Vec<_>>(),
            }),
            Err(ScenarioError::Invalid(lines)) => serde_json::json!({
                "file": path.display().to_string(), "valid": false, "errors": lines,
            }),
        };
        emit(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
        return Ok(if outcome.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    match outcome {
        Ok((s, l)) => {
            emit(&format!(
                "{}: valid: scenario {:?}, {} parties, {} sites, {} contracts, {} amendments, {} offers ({} ledger events)\n",
                path.display(),
                s.name,
                s.parties.len(),
                s.sites.len(),
                s.contracts.len(),
                s.amendments.len(),
                s.offers.len(),
                l.len()
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{}: invalid: {e}", path.display());
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `--at`: a date (midnight UTC) or an RFC 3339 date-time; now when absent.
pub fn parse_at(at: Option<&str>) -> anyhow::Result<Instant> {
    match at {
        // The one clock read of the workspace (the store's), not another copy.
        None => Ok(cascade_store::now()),
        Some(s) => parse_instant_flag("--at", s),
    }
}

/// An instant given to a flag: a date or an RFC 3339 date-time, with the
/// flag named in the error.
pub fn parse_instant_flag(flag: &str, s: &str) -> anyhow::Result<Instant> {
    cascade_format::parse_instant(s)
        .map_err(|e| anyhow::anyhow!("{flag} {s:?}: {e} (use 2026-01-01 or 2026-02-15T00:00:00Z)"))
}

fn party_arg(ledger: &Ledger, flag: &str, id: &str) -> anyhow::Result<Id> {
    let id = Id::new(id).map_err(|e| anyhow::anyhow!("{flag}: {e}"))?;
    if ledger.party(&id).is_none() {
        let known: Vec<&str> = ledger.parties().iter().map(|p| p.id.as_str()).collect();
        anyhow::bail!(
            "{flag}: no party {:?} in the scenario (parties: {})",
            id.as_str(),
            known.join(", ")
        );
    }
    Ok(id)
}

fn exposure(
    path: &Path,
    buyer: &str,
    at: Option<&str>,
    asof: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let now = parse_at(None)?;
    let at = match at {
        None => now,
        Some(s) => parse_instant_flag("--at", s)?,
    };
    let asof = match asof {
        None => now,
        Some(s) => parse_instant_flag("--asof", s)?,
    };
    let (_, ledger) = load_valid(path)?;
    let buyer = party_arg(&ledger, "--buyer", buyer)?;
    let e = ledger.exposure_asof(&buyer, at, asof);
    if json {
        emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&cascade_format::report::ExposureDoc::of(&e))?
        ))?;
    } else {
        emit(&exposure_text(&e))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn pct(x: f64) -> String {
    // Rounded first, so a share of -0.0 or -1e-12 does not print as -0.0%.
    let tenths = cascade_format::report::no_negative_zero((x * 1000.0).round() / 10.0);
    format!("{tenths:.1}%")
}

pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(header.iter().copied());
    t
}

fn exposure_text(e: &Exposure) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Exposure of {} at {}: {} GPUs = {} H100e",
        e.buyer,
        e.at,
        e.total_gpus,
        cascade_format::report::round_h100e(e.total_h100e)
    );
    if e.total_gpus == 0 {
        let _ = writeln!(out, "(holds no capacity at this instant)");
    }
    for h in &e.hidden {
        let _ = writeln!(
            out,
            "\n!! HIDDEN CONCENTRATION: {} different counterparties ({}) are all backed by physical provider {}: {} of your H100e sit with {}.",
            h.counterparties.len(),
            h.counterparties
                .iter()
                .map(Id::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            h.provider,
            pct(h.share),
            h.provider
        );
    }
    for f in &e.flags {
        let _ = writeln!(out, "\n!! FLAG: {f}");
    }
    let mut t = table(&[
        "physical provider",
        "GPUs",
        "H100e",
        "share",
        "if lost: remaining H100e",
        "remaining share",
    ]);
    for (r, l) in e.by_provider.iter().zip(&e.n_minus_1) {
        t.add_row(vec![
            r.id.to_string(),
            r.gpus.to_string(),
            cascade_format::report::round_h100e(r.h100e).to_string(),
            pct(r.share),
            cascade_format::report::round_h100e(l.remaining_h100e).to_string(),
            pct(l.remaining_share),
        ]);
    }
    let _ = writeln!(out, "\nBy physical provider (HHI {:.4}):\n{t}", e.hhi);
    let mut t = table(&[
        "counterparty",
        "GPUs",
        "H100e",
        "share",
        "physical providers behind",
    ]);
    for r in &e.by_counterparty {
        let behind: Vec<&str> = e
            .providers_behind
            .get(&r.id)
            .map(|v| v.iter().map(Id::as_str).collect())
            .unwrap_or_default();
        t.add_row(vec![
            r.id.to_string(),
            r.gpus.to_string(),
            cascade_format::report::round_h100e(r.h100e).to_string(),
            pct(r.share),
            behind.join(", "),
        ]);
    }
    let _ = writeln!(out, "\nBy counterparty (who you contract with):\n{t}");
    let mut t = table(&["site", "provider", "region", "GPUs", "H100e", "share"]);
    for s in &e.by_site {
        t.add_row(vec![
            s.id.to_string(),
            s.provider.to_string(),
            s.region.clone(),
            s.gpus.to_string(),
            cascade_format::report::round_h100e(s.h100e).to_string(),
            pct(s.share),
        ]);
    }
    let _ = writeln!(out, "\nBy site:\n{t}");
    if !e.unbuilt.by_provider.is_empty() {
        let mut t = table(&["physical provider", "unbuilt H100e", "share of yours"]);
        for r in &e.unbuilt.by_provider {
            t.add_row(vec![
                r.id.to_string(),
                cascade_format::report::round_h100e(r.h100e).to_string(),
                pct(r.share),
            ]);
        }
        let _ = writeln!(
            out,
            "\nNOT YET BUILT as of {} (delivery risk): {} H100e = {} of your capacity\n{t}",
            e.unbuilt.asof,
            cascade_format::report::round_h100e(e.unbuilt.h100e),
            pct(e.unbuilt.share)
        );
    }
    if !e.commitments.is_empty() {
        let mut t = table(&[
            "commitment",
            "seller",
            "committed USD",
            "spent USD",
            "remaining USD",
        ]);
        for c in &e.commitments {
            t.add_row(vec![
                c.id.to_string(),
                c.seller.to_string(),
                cascade_core::format_usd(c.usd),
                cascade_core::format_usd(c.spent_usd),
                cascade_core::format_usd(c.remaining_usd),
            ]);
        }
        let _ = writeln!(out, "\nCommitments (take-or-pay):\n{t}");
    }
    out
}

fn chain(path: &Path, contract: &str, json: bool) -> anyhow::Result<ExitCode> {
    let (_, ledger) = load_valid(path)?;
    let id = Id::new(contract).map_err(|e| anyhow::anyhow!("--contract: {e}"))?;
    let (Some(chain), Some(resold)) = (ledger.chain(&id), ledger.resold_tree(&id)) else {
        anyhow::bail!(
            "--contract: no contract {:?} in {}",
            contract,
            path.display()
        );
    };
    if json {
        let doc = cascade_format::report::ChainDoc::of(&ledger, &id)
            .expect("the contract is in the ledger");
        emit(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
    } else {
        emit(&chain_text(&id, &chain, &resold))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn chain_text(id: &Id, chain: &cascade_core::Chain, resold: &cascade_core::Resold) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let site = chain.root_site;
    let _ = writeln!(
        out,
        "{id}: physical provider {}, site {} ({}), {} tier(s)",
        chain.provider,
        site.id,
        site.region,
        chain.links.len()
    );
    let _ = writeln!(out, "Chain, from this contract down to the physical site:");
    for (depth, c) in chain.links.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}{} {} buys from {}: {} x {}, {} .. {}, ${}/GPU-h{}",
            "   ".repeat(depth),
            if depth == 0 { "*" } else { "└─" },
            c.buyer,
            c.seller,
            c.gpus,
            c.gpu,
            c.window.start().date_string(),
            c.window.end().date_string(),
            c.price_per_gpu_hour,
            if c.resale { " (resellable)" } else { "" },
        );
    }
    let _ = writeln!(
        out,
        "{}└─ site {} owned by {}, region {}",
        "   ".repeat(chain.links.len()),
        site.id,
        chain.provider,
        site.region
    );
    if !resold.resold.is_empty() {
        let _ = writeln!(out, "Resold from {id}:");
        // Depth-first without recursion: resale trees come from user files.
        let mut stack: Vec<(&cascade_core::Resold, usize)> =
            resold.resold.iter().rev().map(|r| (r, 1)).collect();
        while let Some((r, depth)) = stack.pop() {
            let c = r.contract;
            let _ = writeln!(
                out,
                "{}└─ {} -> {}: {} x {}, {} .. {} ({})",
                "   ".repeat(depth),
                c.seller,
                c.buyer,
                c.gpus,
                c.gpu,
                c.window.start().date_string(),
                c.window.end().date_string(),
                c.id
            );
            stack.extend(r.resold.iter().rev().map(|x| (x, depth + 1)));
        }
    }
    out
}
