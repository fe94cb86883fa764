//! `GET /exposure`: a buyer's true concentration at an instant (the
//! shape of `cascade exposure --json`), for the buyer itself or an admin.

use axum::extract::State;
use axum::http::StatusCode;
use cascade_core::{Id, Instant, format_usd};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Res, json, read};
use crate::extract::{Principal, QueryMap};
use crate::problem::Problem;
use crate::{AppState, access};

#[derive(Debug, Serialize, ToSchema)]
pub struct ExposureTotal {
    pub gpus: i64,
    pub h100e: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExposureRow {
    pub id: String,
    pub gpus: i64,
    pub h100e: f64,
    pub share: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExposureSiteRow {
    pub id: String,
    pub provider: String,
    pub region: String,
    pub gpus: i64,
    pub h100e: f64,
    pub share: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExposureLossRow {
    pub lost: String,
    pub remaining_h100e: f64,
    pub remaining_share: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExposureCommitmentRow {
    pub id: String,
    pub seller: String,
    pub usd: String,
    pub spent_usd: String,
    pub remaining_usd: String,
}

/// A buyer's true concentration at an instant (the spec's exposure document).
#[derive(Debug, Serialize, ToSchema)]
pub struct ExposureView {
    pub buyer: String,
    pub at: String,
    pub total: ExposureTotal,
    pub by_provider: Vec<ExposureRow>,
    pub by_counterparty: Vec<ExposureRow>,
    pub by_site: Vec<ExposureSiteRow>,
    pub hhi: f64,
    pub n_minus_1: Vec<ExposureLossRow>,
    pub commitments: Vec<ExposureCommitmentRow>,
    pub flags: Vec<String>,
}

impl ExposureView {
    /// The spec's exposure document, as `cascade_scenario::report::exposure_json`
    /// writes it (same fields, same rounding; a test pins the equality),
    /// built as a typed value because it is serialised on every read.
    pub fn of(e: &cascade_core::Exposure) -> ExposureView {
        use cascade_scenario::report::{round_h100e, round4};
        let row = |r: &cascade_core::Row| ExposureRow {
            id: r.id.to_string(),
            gpus: r.gpus,
            h100e: round_h100e(r.h100e),
            share: round4(r.share),
        };
        ExposureView {
            buyer: e.buyer.to_string(),
            at: e.at.to_string(),
            total: ExposureTotal {
                gpus: e.total_gpus,
                h100e: round_h100e(e.total_h100e),
            },
            by_provider: e.by_provider.iter().map(row).collect(),
            by_counterparty: e.by_counterparty.iter().map(row).collect(),
            by_site: e
                .by_site
                .iter()
                .map(|s| ExposureSiteRow {
                    id: s.id.to_string(),
                    provider: s.provider.to_string(),
                    region: s.region.clone(),
                    gpus: s.gpus,
                    h100e: round_h100e(s.h100e),
                    share: round4(s.share),
                })
                .collect(),
            hhi: round4(e.hhi),
            n_minus_1: e
                .n_minus_1
                .iter()
                .map(|l| ExposureLossRow {
                    lost: l.lost.to_string(),
                    remaining_h100e: round_h100e(l.remaining_h100e),
                    remaining_share: round4(l.remaining_share),
                })
                .collect(),
            commitments: e
                .commitments
                .iter()
                .map(|c| ExposureCommitmentRow {
                    id: c.id.to_string(),
                    seller: c.seller.to_string(),
                    usd: format_usd(c.usd),
                    spent_usd: format_usd(c.spent_usd),
                    remaining_usd: format_usd(c.remaining_usd),
                })
                .collect(),
            flags: e.flags.clone(),
        }
    }
}

fn now() -> Instant {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Instant::from_unix_seconds(secs)
}

/// A buyer's true concentration at an instant (a party: only itself).
#[utoipa::path(get, path = "/exposure", tag = "analysis",
    params(
        ("buyer" = String, Query, description = "The buyer (party id)"),
        ("at" = Option<String>, Query, description = "A date (2026-01-01) or RFC 3339 date-time; default now"),
    ),
    responses((status = 200, description = "The exposure document", body = ExposureView)))]
pub async fn exposure(State(app): State<AppState>, who: Principal, q: QueryMap) -> Res {
    q.only(&["buyer", "at"])?;
    let raw = q
        .get("buyer")
        .ok_or_else(|| Problem::bad_param("buyer", "required: the buyer's party id"))?;
    let buyer = Id::new(raw)
        .map_err(|_| Problem::bad_param("buyer", format!("{raw:?} is not a valid party id")))?;
    let at = match q.get("at") {
        None => now(),
        Some(s) => cascade_scenario::parse_instant(s).map_err(|e| {
            Problem::bad_param(
                "at",
                format!("{e} (use 2026-01-01 or 2026-02-15T00:00:00Z)"),
            )
        })?,
    };
    access::own_analysis(&who, &buyer, "see only its own exposure")?;
    let v = read(&app, |s| {
        if s.ledger.party(&buyer).is_none() {
            return Err(Problem::not_found(format!("no party {:?}", buyer.as_str())));
        }
        Ok(ExposureView::of(&s.ledger.exposure(&buyer, at)))
    })
    .await??;
    Ok(json(StatusCode::OK, &v))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(exposure))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The typed exposure document is exactly the shared one (CLI `--json`).
    #[test]
    fn exposure_view_equals_the_shared_document() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let mut n = 0;
        for f in std::fs::read_dir(path).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let s = cascade_scenario::load_path(&f).unwrap();
            let Ok(l) = cascade_core::Ledger::from_scenario(&s) else {
                continue;
            };
            for p in l.parties() {
                for at in [
                    "2024-01-01",
                    "2025-06-15T12:00:00Z",
                    "2026-01-01",
                    "2027-03-01",
                ] {
                    let e = l.exposure(&p.id, cascade_scenario::parse_instant(at).unwrap());
                    assert_eq!(
                        serde_json::to_value(ExposureView::of(&e)).unwrap(),
                        cascade_scenario::report::exposure_json(&e),
                        "{} {} {at}",
                        f.display(),
                        p.id
                    );
                    n += 1;
                }
            }
        }
        assert!(n > 20);
    }

    #[test]
    fn money_reads_strings_and_numbers() {
        let m: Money = serde_json::from_str("\"1.85\"").unwrap();
        assert_eq!(m.0.to_string(), "1.85");
        let m: Money = serde_json::from_str("1.85").unwrap();
        assert_eq!(m.0.to_string(), "1.85");
        let m: Money = serde_json::from_str("7").unwrap();
        assert_eq!(m.0.to_string(), "7");
        assert!(serde_json::from_str::<Money>("\"1e5\"").is_err());
        assert!(serde_json::from_str::<Money>("\"\"").is_err());
        assert!(serde_json::from_str::<Money>("true").is_err());
        assert!(serde_json::from_str::<Money>("1e300").is_err());
    }
}
