//! Settlement over HTTP: `GET /invoices?period=`, `GET /margins?from=&to=`
//! and `GET /focus?from=&to=` (FOCUS 1.3 Cost and Usage CSV). The documents
//! are `cascade bill --json` and `cascade margins --json`; the access rule
//! is theirs (`BillDoc::redact`, `MarginsReport::redact`): a party sees the
//! invoices it issues or receives and only its own margins (a reseller's
//! margin would reveal its seller's price); an admin sees all.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use cascade_core::{Delivery, Id, Month, settle};
use cascade_format::focus::{FocusVersion, write_cost_and_usage};
use cascade_format::report::{BillDoc, MarginsReport};
use cascade_store::State as StoreState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Res, json, read};
use crate::AppState;
use crate::extract::{Principal, QueryMap};
use crate::problem::Problem;

fn month_param(q: &QueryMap, name: &str) -> Result<Month, Problem> {
    let raw = q
        .get(name)
        .ok_or_else(|| Problem::bad_param(name, "required: a billing month, YYYY-MM"))?;
    Month::parse(raw)
        .map_err(|e| Problem::bad_param(name, format!("{e} (use YYYY-MM, e.g. 2026-03)")))
}

fn range(q: &QueryMap) -> Result<(Month, Month), Problem> {
    let (from, to) = (month_param(q, "from")?, month_param(q, "to")?);
    if from > to {
        return Err(Problem::bad_param(
            "to",
            format!("{to} is before from {from}"),
        ));
    }
    Ok((from, to))
}

/// Settles `from..=to` on the stored state; a failed conservation check is a
/// 500 naming it (a bug, never the caller's fault).
fn settled<T>(
    s: &StoreState,
    from: Month,
    to: Month,
    f: impl FnOnce(&cascade_core::Settlement) -> T,
) -> Result<T, Problem> {
    let delivery = Delivery::new(&s.ledger, &s.outages).map_err(|e| {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "settlement",
            "Settlement failed",
            e.to_string(),
        )
    })?;
    let st = settle(&s.ledger, &delivery, from, to).map_err(|e| {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "settlement",
            "Settlement failed",
            e.to_string(),
        )
    })?;
    Ok(f(&st))
}

/// Invoices of one billing month, with burn-down and margins, as the caller may see them.
#[utoipa::path(get, path = "/invoices", tag = "billing",
    params(("period" = String, Query, description = "Billing month, YYYY-MM (UTC)")),
    responses((status = 200, description = "The `cascade bill --json` document", body = BillDoc)))]
pub async fn invoices(State(app): State<AppState>, who: Principal, q: QueryMap) -> Res {
    q.only(&["period"])?;
    let m = month_param(&q, "period")?;
    let mut doc = read(&app, |s| settled(s, m, m, |st| BillDoc::of(&st.months[0]))).await??;
    doc.redact(&who);
    Ok(json(StatusCode::OK, &doc))
}

/// Resellers' margins summed over a range of months: a party sees only its own.
#[utoipa::path(get, path = "/margins", tag = "billing",
    params(
        ("from" = String, Query, description = "First billing month, YYYY-MM"),
        ("to" = String, Query, description = "Last billing month (inclusive), YYYY-MM"),
    ),
    responses((status = 200, description = "Margins per reseller and chain", body = MarginsReport)))]
pub async fn margins(State(app): State<AppState>, who: Principal, q: QueryMap) -> Res {
    q.only(&["from", "to"])?;
    let (from, to) = range(&q)?;
    let mut doc = read(&app, |s| settled(s, from, to, MarginsReport::of)).await??;
    doc.redact(&who);
    Ok(json(StatusCode::OK, &doc))
}

/// FOCUS 1.3 Cost and Usage CSV of the range: for a party, the rows of the
/// invoices it issues or receives; for an admin, all.
#[utoipa::path(get, path = "/focus", tag = "billing",
    params(
        ("from" = String, Query, description = "First billing month, YYYY-MM"),
        ("to" = String, Query, description = "Last billing month (inclusive), YYYY-MM"),
    ),
    responses((status = 200, description = "FOCUS 1.3 Cost and Usage dataset (CSV)", body = String, content_type = "text/csv")))]
pub async fn focus(State(app): State<AppState>, who: Principal, q: QueryMap) -> Res {
    q.only(&["from", "to"])?;
    let (from, to) = range(&q)?;
    let party: Option<Id> = match &who {
        Principal::Admin => None,
        Principal::Party(p) => Some(p.clone()),
    };
    let csv = read(&app, |s| {
        settled(s, from, to, |st| {
            let mut buf = Vec::new();
            write_cost_and_usage(&mut buf, &s.ledger, st, FocusVersion::V1_3, party.as_ref())
                .map(|_| buf)
        })
    })
    .await??
    .map_err(|e| {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "settlement",
            "Settlement failed",
            e.to_string(),
        )
    })?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response())
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(invoices))
        .routes(routes!(margins))
        .routes(routes!(focus))
}
