//! `GET /healthz`: liveness and journal position, no token needed.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Res, json, read};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the service answers.
    pub status: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// Journal sequence number this instance has applied.
    pub seq: i64,
}

/// Liveness and the journal position of this instance. No token needed.
#[utoipa::path(get, path = "/healthz", tag = "service",
    responses((status = 200, description = "The service answers", body = Health)))]
pub async fn healthz(State(app): State<AppState>) -> Res {
    let seq = read(&app, |s| s.seq).await?;
    Ok(json(
        StatusCode::OK,
        &Health {
            status: "ok".into(),
            backend: app.store.backend_name().into(),
            seq,
        },
    ))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz))
}
