//! Settlement over HTTP: `GET /invoices?period=`, `GET /margins?from=&to=`
//! and `GET /focus?from=&to=` (FOCUS 1.3 Cost and Usage CSV). The documents
//! are `cascade bill --json` and `cascade margins --json`; the access rule
//! is theirs (`BillDoc::redact`, `MarginsReport::redact`): a party sees the
//! invoices it issues or receives and only its own margins (a reseller's
//! margin would reveal its seller's price); an admin sees all.

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use cascade_core::{Delivery, Id, Month, settle};
use cascade_format::focus::{FocusError, FocusVersion, stream_cost_and_usage};
use cascade_format::report::{BillDoc, MarginsReport};
use cascade_store::State as StoreState;
use http_body_util::channel::{Channel, Sender};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Get, Res, json, read};
use crate::AppState;
use crate::extract::{Principal, QueryMap};
use crate::problem::Problem;

fn month_param(q: &QueryMap, name: &str) -> Result<Month, Problem> {
    q.month(name)?
        .ok_or_else(|| Problem::bad_param(name, "required: a billing month, YYYY-MM"))
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

/// A settlement that failed: a 500 naming why (a failed conservation check
/// is a bug, never the caller's fault).
fn failed(e: impl std::fmt::Display) -> Problem {
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "settlement",
        "Settlement failed",
        e.to_string(),
    )
}

/// Settles `from..=to` on the stored state; a failed conservation check is a
/// 500 naming it.
fn settled<T>(
    s: &StoreState,
    from: Month,
    to: Month,
    f: impl FnOnce(&cascade_core::Settlement) -> T,
) -> Result<T, Problem> {
    let delivery = Delivery::new(&s.ledger, &s.outages).map_err(failed)?;
    let st = settle(&s.ledger, &delivery, from, to).map_err(failed)?;
    Ok(f(&st))
}

query! {
    /// The query of `GET /invoices`.
    pub struct PeriodQuery {
        /// Billing month, YYYY-MM (UTC)
        period: String,
    }
}

query! {
    /// The query of `GET /margins` and `GET /focus`: a range of billing months.
    pub struct MonthRange {
        /// First billing month, YYYY-MM
        from: String,
        /// Last billing month (inclusive), YYYY-MM
        to: String,
    }
}

/// Invoices of one billing month, with burn-down and margins, as the caller may see them.
#[utoipa::path(get, path = "/invoices", tag = "billing",
    params(PeriodQuery),
    responses((status = 200, description = "The `cascade bill --json` document", body = BillDoc)))]
pub async fn invoices(r: Get<PeriodQuery>) -> Res {
    let (app, who, q) = r.parts();
    let m = month_param(&q, "period")?;
    let mut doc = read(&app, |s| settled(s, m, m, |st| BillDoc::of(&st.months[0]))).await??;
    doc.redact(&who);
    Ok(json(StatusCode::OK, &doc))
}

/// Resellers' margins summed over a range of months: a party sees only its own.
#[utoipa::path(get, path = "/margins", tag = "billing",
    params(MonthRange),
    responses((status = 200, description = "Margins per reseller and chain", body = MarginsReport)))]
pub async fn margins(r: Get<MonthRange>) -> Res {
    let (app, who, q) = r.parts();
    let (from, to) = range(&q)?;
    let mut doc = read(&app, |s| settled(s, from, to, MarginsReport::of)).await??;
    doc.redact(&who);
    Ok(json(StatusCode::OK, &doc))
}

/// FOCUS 1.3 Cost and Usage CSV of the range: for a party, the rows of the
/// invoices it issues or receives; for an admin, all. The body is streamed:
/// a blocking task settles one month at a time and sends its rows in 64 KiB
/// chunks, so memory holds a copy of the ledger and one month however long
/// the range. A month failing to settle after the first bytes aborts the
/// body (the client sees a broken transfer, never a short CSV that looks whole).
#[utoipa::path(get, path = "/focus", tag = "billing",
    params(MonthRange),
    responses((status = 200, description = "FOCUS 1.3 Cost and Usage dataset (CSV, streamed)", body = String, content_type = "text/csv")))]
pub async fn focus(r: Get<MonthRange>) -> Res {
    let (app, who, q) = r.parts();
    let (from, to) = range(&q)?;
    let party: Option<Id> = match &who {
        Principal::Admin => None,
        Principal::Party(p) => Some(p.clone()),
    };
    // A snapshot, so the store's lock is not held while the body streams.
    let (ledger, outages) = read(&app, |s| (s.ledger.clone(), s.outages.clone())).await?;
    let delivery = Delivery::new(&ledger, &outages).map_err(failed)?;
    let (tx, body) = Channel::<Bytes, std::io::Error>::new(4);
    let rt = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut w = ChunkWriter {
            buf: Vec::with_capacity(CHUNK_BYTES),
            tx: Some(tx),
            rt,
        };
        let r = stream_cost_and_usage(
            &mut w,
            &ledger,
            &delivery,
            from,
            to,
            FocusVersion::V1_3,
            party.as_ref(),
        )
        .and_then(|_| w.flush().map_err(FocusError::from));
        match r {
            Ok(_) => {}
            // The client went away: nothing to tell anyone.
            Err(FocusError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            Err(e) => {
                tracing::error!(error = %e, "GET /focus stopped");
                if let Some(tx) = w.tx.take() {
                    tx.abort(std::io::Error::other(e.to_string()));
                }
            }
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        Body::new(body),
    )
        .into_response())
}

const CHUNK_BYTES: usize = 1 << 16;

/// `std::io::Write` over the response body, for the blocking export task.
struct ChunkWriter {
    buf: Vec<u8>,
    tx: Option<Sender<Bytes, std::io::Error>>,
    rt: tokio::runtime::Handle,
}

impl ChunkWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(CHUNK_BYTES),
        ));
        let tx = self.tx.as_mut().ok_or(std::io::ErrorKind::BrokenPipe)?;
        self.rt
            .block_on(tx.send_data(chunk))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(invoices))
        .routes(routes!(margins))
        .routes(routes!(focus))
}
