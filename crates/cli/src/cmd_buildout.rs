//! `cascade buildout`: the monthly build-out timeline of a scenario's sites
//! (installed GPUs and power, power drawn, sold and free; with `--asof` what
//! is sold but not yet built).

use std::path::PathBuf;
use std::process::ExitCode;

use cascade_core::{Id, Month};
use cascade_format::report::{TimelineDoc, timeline_span};

use crate::{emit, load_valid, parse_at, parse_instant_flag, table};

#[derive(Debug, clap::Args)]
pub struct BuildoutArgs {
    /// Scenario file (TOML, or JSON when it ends in .json).
    file: PathBuf,
    /// Only this site (default: every site, by id).
    #[arg(long)]
    site: Option<String>,
    /// First month, YYYY-MM (default: the first month with an expansion or
    /// a contract start or end).
    #[arg(long)]
    from: Option<String>,
    /// Last month, YYYY-MM (default: the last such month).
    #[arg(long)]
    to: Option<String>,
    /// Also show how much of what is sold is not yet built as of this
    /// instant (a date or an RFC 3339 date-time).
    #[arg(long)]
    asof: Option<String>,
    /// Print the timeline document as JSON on stdout.
    #[arg(long)]
    json: bool,
}

fn month_flag(flag: &str, s: &str) -> anyhow::Result<Month> {
    Month::parse(s).map_err(|e| anyhow::anyhow!("{flag} {s:?}: {e} (use YYYY-MM, e.g. 2026-01)"))
}

pub fn buildout(a: BuildoutArgs) -> anyhow::Result<ExitCode> {
    let from = a
        .from
        .as_deref()
        .map(|s| month_flag("--from", s))
        .transpose()?;
    let to = a.to.as_deref().map(|s| month_flag("--to", s)).transpose()?;
    let asof = a
        .asof
        .as_deref()
        .map(|s| parse_instant_flag("--asof", s))
        .transpose()?;
    let (_, ledger) = load_valid(&a.file)?;
    let (span_from, span_to) = match timeline_span(&ledger) {
        Some(span) => span,
        None => {
            let now = Month::of(parse_at(None)?);
            (now, now)
        }
    };
    let from = from.unwrap_or(span_from);
    let to = to.unwrap_or(span_to);
    if from > to {
        anyhow::bail!("--from {from} is after --to {to}");
    }
    let sites = match &a.site {
        None => ledger.timelines(from, to, asof),
        Some(s) => {
            let id = Id::new(s).map_err(|e| anyhow::anyhow!("--site: {e}"))?;
            match ledger.timeline(&id, from, to, asof) {
                Some(t) => vec![t],
                None => {
                    let known: Vec<&str> = ledger.sites().map(|s| s.id.as_str()).collect();
                    anyhow::bail!(
                        "--site: no site {s:?} in {} (sites: {})",
                        a.file.display(),
                        known.join(", ")
                    );
                }
            }
        }
    };
    let doc = TimelineDoc::of(from, to, asof, &sites);
    if a.json {
        emit(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
    } else {
        emit(&text(&doc))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn text(doc: &TimelineDoc) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Build-out {} to {} (figures at each month's first instant; min free = least free during the month){}",
        doc.from,
        doc.to,
        doc.asof
            .as_deref()
            .map(|a| format!("; not yet built as of {a}"))
            .unwrap_or_default()
    );
    for s in &doc.sites {
        let mut header = vec![
            "month",
            "power MW",
            "drawn MW",
            "GPU",
            "installed",
            "sold",
            "free",
            "min free",
        ];
        if doc.asof.is_some() {
            header.push("sold, not built");
        }
        let mut t = table(&header);
        for m in &s.months {
            for (i, c) in m.classes.iter().enumerate() {
                // Month-wide figures once, on the month's first class row.
                let (month, power, drawn) = if i == 0 {
                    (
                        m.month.clone(),
                        m.power_mw.map_or("no limit".to_string(), |p| p.to_string()),
                        m.drawn_mw.to_string(),
                    )
                } else {
                    Default::default()
                };
                let mut row = vec![
                    month,
                    power,
                    drawn,
                    c.gpu.clone(),
                    c.installed_gpus.to_string(),
                    c.sold_gpus.to_string(),
                    c.free_gpus.to_string(),
                    c.min_free_gpus.to_string(),
                ];
                if let Some(u) = c.unbuilt_gpus {
                    row.push(if u > 0 {
                        format!("{u} NOT YET BUILT")
                    } else {
                        "0".to_string()
                    });
                }
                t.add_row(row);
            }
            if m.classes.is_empty() {
                t.add_row(vec![
                    m.month.clone(),
                    m.power_mw.map_or("no limit".to_string(), |p| p.to_string()),
                    m.drawn_mw.to_string(),
                    "(no GPUs)".to_string(),
                ]);
            }
        }
        let _ = writeln!(
            out,
            "\nSite {} (provider {}, region {}):\n{t}",
            s.site, s.provider, s.region
        );
    }
    out
}
