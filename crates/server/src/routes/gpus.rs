//! GPU classes: `GET /gpus` (anyone with a token), `POST /gpus` (admin).

use axum::extract::State;
use axum::http::StatusCode;
use cascade_core::{Event, GpuClass};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Post, Res, json, read};
use crate::check::{Check, ClassIdText, limits};
use crate::extract::{Principal, QueryMap};
use crate::problem::Problem;
use crate::{AppState, access};

/// A GPU class.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GpuIn {
    pub id: ClassIdText,
    /// Throughput relative to one H100 (> 0, at most 1000).
    #[schema(exclusive_minimum = 0.0, maximum = 1000.0)]
    pub h100e: f64,
    /// Board power per GPU in watts (> 0, at most 10^6).
    #[schema(exclusive_minimum = 0.0, maximum = 1000000.0)]
    pub watts: f64,
}

impl GpuIn {
    pub fn check(&self) -> Result<GpuClass, Problem> {
        let mut c = Check::new();
        let id = c.class_id("id", &self.id);
        let h = c.positive("h100e", self.h100e);
        let w = c.positive_max("watts", self.watts, limits::MAX_WATTS);
        let v = (|| {
            Some(GpuClass {
                id: id?,
                h100e: h?,
                watts: w?,
            })
        })();
        c.done(v)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GpuView {
    pub id: String,
    pub h100e: f64,
    pub watts: f64,
}

impl From<&GpuClass> for GpuView {
    fn from(g: &GpuClass) -> Self {
        GpuView {
            id: g.id.to_string(),
            h100e: g.h100e.get(),
            watts: g.watts.get(),
        }
    }
}

/// GPU classes.
#[utoipa::path(get, path = "/gpus", tag = "directory",
    responses((status = 200, description = "Every GPU class", body = Vec<GpuView>)))]
pub async fn list_gpus(State(app): State<AppState>, _who: Principal, q: QueryMap) -> Res {
    q.only(&[])?;
    let v: Vec<GpuView> = read(&app, |s| {
        s.ledger.gpu_classes().iter().map(GpuView::from).collect()
    })
    .await?;
    Ok(json(StatusCode::OK, &v))
}

/// Adds a GPU class (admin).
#[utoipa::path(post, path = "/gpus", tag = "directory", request_body = GpuIn,
    responses((status = 201, description = "Added", body = GpuView)))]
pub async fn create_gpu(p: Post<GpuIn>) -> Res {
    access::admin_only(&p.who, "add GPU classes")?;
    let g = p.body.value.check()?;
    let view = GpuView::from(&g);
    p.append(move |_, _| Ok(Event::Gpu(g)), move |_, _| view)
        .await
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_gpus, create_gpu))
}
