//! GPU classes: `GET /gpus` (anyone with a token), `POST /gpus` (admin).
//! Bodies are the scenario format's `GpuDoc`.

use cascade_core::Event;
use cascade_format::GpuDoc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Get, Post, Res};
use crate::AppState;
use crate::check::Bounds;

/// GPU classes.
#[utoipa::path(get, path = "/gpus", tag = "directory",
    responses((status = 200, description = "Every GPU class", body = Vec<GpuDoc>)))]
pub async fn list_gpus(r: Get) -> Res {
    r.list(|s, _| -> Vec<GpuDoc> { s.ledger.gpu_classes().iter().map(GpuDoc::from).collect() })
        .await
}

/// Adds a GPU class (admin).
#[utoipa::path(post, path = "/gpus", tag = "directory", request_body = GpuDoc,
    responses((status = 201, description = "Added", body = GpuDoc)))]
pub async fn create_gpu(p: Post<GpuDoc>) -> Res {
    p.add_by_admin("add GPU classes", "gpu", Bounds::gpu, Event::Gpu)
        .await
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_gpus, create_gpu))
}
