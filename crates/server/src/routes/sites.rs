//! Sites: `GET /sites` (anyone with a token), `POST /sites` (admin).
//! Bodies are the scenario format's `SiteDoc`.

use axum::extract::State;
use axum::http::StatusCode;
use cascade_core::Event;
use cascade_format::SiteDoc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Post, Res, json, read};
use crate::check::{Bounds, accept};
use crate::extract::{Principal, QueryMap};
use crate::{AppState, access};

/// Sites: physical campuses with their installed GPUs.
#[utoipa::path(get, path = "/sites", tag = "directory",
    responses((status = 200, description = "Every site", body = Vec<SiteDoc>)))]
pub async fn list_sites(State(app): State<AppState>, _who: Principal, q: QueryMap) -> Res {
    q.only(&[])?;
    let v: Vec<SiteDoc> = read(&app, |s| s.ledger.sites().map(SiteDoc::from).collect()).await?;
    Ok(json(StatusCode::OK, &v))
}

/// Adds a site (admin).
#[utoipa::path(post, path = "/sites", tag = "directory", request_body = SiteDoc,
    responses((status = 201, description = "Added", body = SiteDoc)))]
pub async fn create_site(p: Post<SiteDoc>) -> Res {
    access::admin_only(&p.who, "add sites")?;
    let site = accept(&p.body.value, "site", Bounds::site)?;
    let view = SiteDoc::from(&site);
    p.append(move |_, _| Ok(Event::Site(site)), move |_, _| view)
        .await
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_sites, create_site))
}
