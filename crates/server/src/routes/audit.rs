//! `GET /audit`: the journal with who wrote each row (principal, token id,
//! request id) and when. Admin only: it shows every party's items.

use axum::http::StatusCode;
use cascade_store::{AuditRow, AuditSince};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Get, Res, json};
use crate::problem::Problem;
use crate::{AppState, access};

/// Rows one page holds unless `limit` says otherwise.
pub const DEFAULT_AUDIT_LIMIT: usize = 1000;
/// Most rows one page holds.
pub const MAX_AUDIT_LIMIT: usize = 10_000;

/// One journal row and its author.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    /// When the row was committed (UTC, to the second).
    pub at: String,
    /// What the row holds: `party`, `contract`, `top_up`, `demand`, ...
    pub kind: String,
    /// The item as stored, with the scenario format's field names.
    #[schema(value_type = Object)]
    pub item: serde_json::Value,
    /// `admin` or `party:<id>`; absent for rows written before the audit trail existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The id of the token the write came with (absent for direct loads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// The `X-Request-Id` of the write (absent for direct loads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> AuditEntry {
        AuditEntry {
            seq: r.seq,
            at: r.created_at.to_string(),
            kind: r.kind,
            // Rows are checked JSON when written; one that is not is shown as text.
            item: serde_json::from_str(&r.body).unwrap_or(serde_json::Value::String(r.body)),
            principal: r.principal,
            token_id: r.token_id,
            request_id: r.request_id,
        }
    }
}

/// A page of the audit trail.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub rows: Vec<AuditEntry>,
    /// Pass as `since` for the next page (the last row's seq, or `since` when empty).
    pub next_since: i64,
}

query! {
    /// The query of `GET /audit`.
    pub struct AuditQuery {
        /// Rows after this sequence number (default 0)
        since: Option<i64>,
        /// Most rows (default 1000, at most 10000)
        limit: Option<usize>,
    }
}

/// The journal rows after `since` (default 0), oldest first, at most
/// `limit` (default 1000, at most 10000). Admin only.
#[utoipa::path(get, path = "/audit", tag = "service",
    params(AuditQuery),
    responses((status = 200, description = "Journal rows with their authors", body = AuditPage)))]
pub async fn audit(r: Get<AuditQuery>) -> Res {
    let (app, who, q) = r.parts();
    access::admin_only(&who, "read the audit trail")?;
    let since = match q.get("since") {
        None => 0,
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| Problem::bad_param("since", "must be a whole number, 0 or more"))?,
    };
    let limit = q.usize("limit", DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT)?;
    if limit == 0 {
        return Err(Problem::bad_param(
            "limit",
            format!("must be a whole number from 1 to {MAX_AUDIT_LIMIT}"),
        ));
    }
    let rows = app
        .store
        .audit_since(AuditSince::Seq(since), limit as i64)
        .await
        .map_err(|e| Problem::unavailable(format!("the store could not be read: {e}")))?;
    let next_since = rows.last().map(|r| r.seq).unwrap_or(since);
    let page = AuditPage {
        rows: rows.into_iter().map(AuditEntry::from).collect(),
        next_since,
    };
    Ok(json(StatusCode::OK, &page))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit))
}
