//! `GET /exposure`: a buyer's true concentration at an instant (the
//! exposure document of `cascade exposure --json`), for the buyer itself or
//! an admin.

use axum::http::StatusCode;
use cascade_core::Instant;
use cascade_format::report::ExposureDoc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Get, Res, json, read};
use crate::problem::Problem;
use crate::{AppState, access};

/// Now, for defaults (`at`, `asof`, the timeline's month): the store's
/// clock read, the same one token expiry is checked against.
pub(crate) fn now() -> Instant {
    cascade_store::now()
}

query! {
    /// The query of `GET /exposure`.
    pub struct ExposureQuery {
        /// The buyer (party id)
        buyer: String,
        /// A date (2026-01-01) or RFC 3339 date-time; default now
        at: Option<String>,
        /// Delivery risk as of this instant (expansions after it are not yet built); default now
        asof: Option<String>,
    }
}

/// A buyer's true concentration at an instant (a party: only itself).
#[utoipa::path(get, path = "/exposure", tag = "analysis",
    params(ExposureQuery),
    responses((status = 200, description = "The exposure document", body = ExposureDoc)))]
pub async fn exposure(r: Get<ExposureQuery>) -> Res {
    let (app, who, q) = r.parts();
    let buyer = q.party("buyer")?;
    // One reading of the clock, so the default `at` and `asof` agree.
    let now = now();
    let at = q.instant("at")?.unwrap_or(now);
    let asof = q.instant("asof")?.unwrap_or(now);
    access::own_analysis(&who, &buyer, "see only its own exposure")?;
    let v = read(&app, |s| {
        if s.ledger.party(&buyer).is_none() {
            return Err(Problem::not_found(format!("no party {:?}", buyer.as_str())));
        }
        Ok(ExposureDoc::of(&s.ledger.exposure_asof(&buyer, at, asof)))
    })
    .await??;
    Ok(json(StatusCode::OK, &v))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(exposure))
}
