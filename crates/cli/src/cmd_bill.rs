//! `cascade bill` and `cascade margins`: settle a scenario's months and print
//! the invoices, burn-down and reseller margins (tables or the spec's JSON).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use cascade_core::{Delivery, Id, Ledger, Month, Settlement, settle};
use cascade_format::focus::{self, FocusError, FocusVersion};
use cascade_format::report::{BillDoc, MarginsDoc, MarginsReport};
use clap::Args;

use crate::{emit, load_valid, party_arg, table};

#[derive(Debug, Args)]
pub struct BillArgs {
    /// Scenario file (TOML, or JSON when it ends in .json).
    file: PathBuf,
    /// The billing month, YYYY-MM (UTC).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    period: Option<String>,
    /// First billing month of a range, YYYY-MM.
    #[arg(long, requires = "to")]
    from: Option<String>,
    /// Last billing month of a range (inclusive), YYYY-MM.
    #[arg(long, requires = "from")]
    to: Option<String>,
    /// Only what this party issues or receives, and its own margins.
    #[arg(long)]
    party: Option<String>,
    /// Print the spec's JSON document (one per month; an array for a range).
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// Output: tables (default), json, focus (FOCUS Cost and Usage CSV) or
    /// focus-commitments (FOCUS Contract Commitment CSV).
    #[arg(long, value_enum)]
    format: Option<BillFormat>,
    /// FOCUS column set: 1.3 (default) or 1.0 (for focus-validator 1.0.0).
    #[arg(long, default_value = "1.3", value_parser = ["1.3", "1.0"])]
    focus_version: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BillFormat {
    Table,
    Json,
    Focus,
    FocusCommitments,
}

#[derive(Debug, Args)]
pub struct MarginsArgs {
    /// Scenario file (TOML, or JSON when it ends in .json).
    file: PathBuf,
    /// The reseller (party id).
    #[arg(long)]
    party: String,
    /// First billing month, YYYY-MM.
    #[arg(long)]
    from: String,
    /// Last billing month (inclusive), YYYY-MM.
    #[arg(long)]
    to: String,
    /// Print JSON on stdout.
    #[arg(long)]
    json: bool,
}

fn month_arg(flag: &str, s: &str) -> anyhow::Result<Month> {
    Month::parse(s).map_err(|e| {
        anyhow::anyhow!("{flag} {s:?}: {e} (a billing month is YYYY-MM, e.g. 2026-03)")
    })
}

/// Loads, validates and settles `from..=to`; the ledger is returned for the
/// settlement to borrow from.
fn with_settlement<T>(
    path: &Path,
    party: Option<&str>,
    from: Month,
    to: Month,
    f: impl FnOnce(&Settlement, &Ledger, Option<&Id>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let (scenario, ledger): (_, Ledger) = load_valid(path)?;
    let party = party
        .map(|p| party_arg(&ledger, "--party", p))
        .transpose()?;
    let delivery = Delivery::new(&ledger, &scenario.outages)
        .with_context(|| format!("{}: outages", path.display()))?;
    let s = settle(&ledger, &delivery, from, to)
        .with_context(|| format!("{}: settling {from} to {to}", path.display()))?;
    f(&s, &ledger, party.as_ref())
}

pub fn bill(a: BillArgs) -> anyhow::Result<ExitCode> {
    let (from, to) = match (&a.period, &a.from, &a.to) {
        (Some(p), None, None) => {
            let m = month_arg("--period", p)?;
            (m, m)
        }
        (None, Some(f), Some(t)) => (month_arg("--from", f)?, month_arg("--to", t)?),
        _ => anyhow::bail!("give --period YYYY-MM, or --from YYYY-MM --to YYYY-MM"),
    };
    if from > to {
        anyhow::bail!("--from {from} is after --to {to}");
    }
    let format = match (a.json, a.format) {
        (true, _) => BillFormat::Json,
        (false, f) => f.unwrap_or(BillFormat::Table),
    };
    if matches!(format, BillFormat::Focus | BillFormat::FocusCommitments) {
        let version = FocusVersion::parse(&a.focus_version)
            .with_context(|| format!("--focus-version {:?}: use 1.3 or 1.0", a.focus_version))?;
        let (scenario, ledger): (_, Ledger) = load_valid(&a.file)?;
        let party = a
            .party
            .as_deref()
            .map(|p| party_arg(&ledger, "--party", p))
            .transpose()?;
        let delivery = Delivery::new(&ledger, &scenario.outages)
            .with_context(|| format!("{}: outages", a.file.display()))?;
        let out = std::io::stdout().lock();
        let mut w = std::io::BufWriter::with_capacity(1 << 16, out);
        let r = if format == BillFormat::Focus {
            focus::stream_cost_and_usage(&mut w, &ledger, &delivery, from, to, version, party.as_ref())
        } else {
            focus::write_contract_commitments(&mut w, &ledger, party.as_ref())
                .map_err(FocusError::from)
        };
        let r = r.and_then(|_| w.flush().map_err(FocusError::from));
        match r {
            // `| head` closing the pipe is not an error.
            Err(FocusError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            r => {
                r.with_context(|| format!("{}: FOCUS export {from} to {to}", a.file.display()))?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let docs = with_settlement(&a.file, a.party.as_deref(), from, to, |s, _, party| {
        Ok(s.months
            .iter()
            .map(|m| {
                let mut d = BillDoc::of(m);
                if let Some(p) = party {
                    d.for_party(p.as_str());
                }
                d
            })
            .collect::<Vec<_>>())
    })?;
    if format == BillFormat::Json {
        let text = if a.period.is_some() {
            serde_json::to_string_pretty(&docs[0])?
        } else {
            serde_json::to_string_pretty(&docs)?
        };
        emit(&format!("{text}\n"))?;
    } else {
        let mut out = String::new();
        for d in &docs {
            out.push_str(&bill_text(d));
        }
        emit(&out)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn margins(a: MarginsArgs) -> anyhow::Result<ExitCode> {
    let from = month_arg("--from", &a.from)?;
    let to = month_arg("--to", &a.to)?;
    if from > to {
        anyhow::bail!("--from {from} is after --to {to}");
    }
    let report = with_settlement(&a.file, Some(&a.party), from, to, |s, _, party| {
        let mut r = MarginsReport::of(s);
        if let Some(p) = party {
            r.margins.retain(|m| m.party == p.as_str());
        }
        Ok(r)
    })?;
    if a.json {
        emit(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        let mut out = format!(
            "Margins of {} from {} to {}\n",
            a.party, report.from, report.to
        );
        if report.margins.is_empty() {
            out.push_str("  (no resales: this party sells nothing backed by a purchase)\n");
        }
        for m in &report.margins {
            out.push_str(&margins_table(m));
        }
        emit(&out)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn bill_text(d: &BillDoc) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Billing month {}: {} invoice(s)",
        d.period,
        d.invoices.len()
    );
    for i in &d.invoices {
        let _ = writeln!(out, "\nInvoice {} → {} ({})", i.seller, i.buyer, d.period);
        let mut t = table(&["kind", "contract / commitment", "GPU-hours", "USD"]);
        for l in &i.lines {
            let item = l
                .contract
                .as_deref()
                .or(l.commitment.as_deref())
                .unwrap_or("");
            t.add_row(vec![
                l.kind.as_str(),
                item,
                l.gpu_hours.as_deref().unwrap_or(""),
                l.usd.as_str(),
            ]);
        }
        t.add_row(vec!["total", "", "", i.total_usd.as_str()]);
        let _ = writeln!(out, "{t}");
    }
    if !d.burn_down.is_empty() {
        let _ = writeln!(out, "\nCommitments (burn-down at the end of {})", d.period);
        let mut t = table(&[
            "commitment",
            "buyer → seller",
            "total USD",
            "spent",
            "remaining",
            "months left",
            "pace/month",
            "projected shortfall",
        ]);
        for b in &d.burn_down {
            t.add_row(vec![
                b.commitment.clone(),
                format!("{} → {}", b.buyer, b.seller),
                b.usd_total.clone(),
                b.spent_to_date_usd.clone(),
                b.remaining_usd.clone(),
                b.months_left.to_string(),
                b.pace_needed_usd_per_month.clone(),
                b.projected_shortfall_usd.clone(),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }
    if !d.margins.is_empty() {
        let _ = writeln!(out, "\nMargins ({})", d.period);
        for m in &d.margins {
            out.push_str(&margins_table(m));
        }
    }
    out
}

fn margins_table(m: &MarginsDoc) -> String {
    let mut t = table(&[
        "party / chain",
        "revenue",
        "cost of resold",
        "margin",
        "idle cost",
    ]);
    for c in &m.chains {
        t.add_row(vec![
            format!("{} via {} (from {})", m.party, c.purchase, c.seller),
            c.revenue_usd.clone(),
            c.cost_of_resold_usd.clone(),
            c.margin_usd.clone(),
            c.idle_cost_usd.clone(),
        ]);
    }
    t.add_row(vec![
        format!("{} total", m.party),
        m.revenue_usd.clone(),
        m.cost_of_resold_usd.clone(),
        m.margin_usd.clone(),
        m.idle_cost_usd.clone(),
    ]);
    format!("{t}\n")
}
