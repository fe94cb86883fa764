//! Whole scenarios: `POST /scenarios` (admin) appends a scenario document
//! atomically. Its body limit is larger than the other routes'.

use axum::Extension;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use cascade_format::ScenarioDoc;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Res, body, write};
use crate::check::Bounds;
use crate::extract::{BodyLimit, IdemKey, Principal, read_json_value};
use crate::problem::{FieldError, Problem};
use crate::{AppState, SCENARIO_LIMIT, access};

#[derive(Debug, Serialize, ToSchema)]
pub struct ScenarioLoaded {
    /// Records appended to the journal.
    pub records: usize,
    /// Journal sequence number after the load.
    pub seq: i64,
}

/// Loads a whole scenario document (the file format as JSON) atomically:
/// every item is appended, or nothing (admin).
#[utoipa::path(post, path = "/scenarios", tag = "directory",
    request_body(content = ScenarioDoc, description = "A scenario document: the scenario format as JSON (same field names; times as strings)"),
    responses((status = 201, description = "Loaded", body = ScenarioLoaded)))]
pub async fn load_scenario(
    State(app): State<AppState>,
    who: Principal,
    key: IdemKey,
    req: Request,
) -> Res {
    access::admin_only(&who, "load scenarios")?;
    let (value, hash) = read_json_value(req).await?;
    let text = value.to_string();
    let s = cascade_format::parse_json(&text, "request").map_err(|e| {
        let errors: Vec<FieldError> = e
            .diagnostics()
            .iter()
            .map(|d| {
                let (field, message) = match d.message.split_once(": ") {
                    Some((p, m)) if !p.contains(' ') => (p.to_string(), m.to_string()),
                    _ => ("(scenario)".to_string(), d.message.clone()),
                };
                FieldError {
                    pointer: (field != "(scenario)").then(|| crate::problem::pointer_of(&field)),
                    field,
                    message,
                }
            })
            .collect();
        Problem::invalid(format!("the scenario document is invalid: {e}"), errors)
    })?;
    let mut bounds = Bounds::default();
    bounds.scenario(&s);
    bounds.done()?;
    let written = cascade_format::written_order(&text).unwrap_or_default();
    let records = cascade_store::scenario_load(&s, &written).map_err(|r| Problem::conflict(&r))?;
    let n = records.len();
    Ok(write(&app, &who, key, hash, move |st| {
        st.apply_scenario(records)
            .map_err(|r| Problem::conflict(&r))?;
        Ok((
            StatusCode::CREATED,
            body(&ScenarioLoaded {
                records: n,
                seq: st.seq_after(),
            }),
        ))
    })
    .await)
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(load_scenario))
        .layer(DefaultBodyLimit::max(SCENARIO_LIMIT))
        // So that a 413 names this route's limit.
        .layer(Extension(BodyLimit(SCENARIO_LIMIT)))
}
