//! GPU classes: `GET /gpus` (anyone with a token), `POST /gpus` (admin).
//! Bodies are the scenario format's `GpuDoc`.

use axum::extract::State;
use axum::http::StatusCode;
use cascade_core::Event;
use cascade_format::GpuDoc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Post, Res, json, read};
use crate::check::{Bounds, accept};
use crate::extract::{Principal, QueryMap};
use crate::{AppState, access};

/// GPU classes.
#[utoipa::path(get, path = "/gpus", tag = "directory",
    responses((status = 200, description = "Every GPU class", body = Vec<GpuDoc>)))]
pub async fn list_gpus(State(app): State<AppState>, _who: Principal, q: QueryMap) -> Res {
    q.only(&[])?;
    let v: Vec<GpuDoc> = read(&app, |s| {
        s.ledger.gpu_classes().iter().map(GpuDoc::from).collect()
    })
    .await?;
    Ok(json(StatusCode::OK, &v))
}

/// Adds a GPU class (admin).
#[utoipa::path(post, path = "/gpus", tag = "directory", request_body = GpuDoc,
    responses((status = 201, description = "Added", body = GpuDoc)))]
pub async fn create_gpu(p: Post<GpuDoc>) -> Res {
    access::admin_only(&p.who, "add GPU classes")?;
    let g = accept(&p.body.value, "gpu", Bounds::gpu)?;
    let view = GpuDoc::from(&g);
    p.append(move |_, _| Ok(Event::Gpu(g)), move |_, _| view)
        .await
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_gpus, create_gpu))
}
