//! Site build-out: `POST /expansions` adds capacity (or retires it) at a
//! site from a date on. The body is the scenario format's `ExpansionDoc`;
//! the site's expansions are read back with `GET /sites/{id}` and their
//! effect with `GET /sites/{id}/timeline`.

use cascade_core::Event;
use cascade_format::ExpansionDoc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Post, Res};
use crate::check::accept;
use crate::{AppState, access};

/// Adds an expansion or a retirement to a site (the site's owner, or an
/// admin). The ledger checks it at every instant: a retirement that leaves
/// sold capacity above what is installed, installed GPUs or power below 0,
/// or GPUs drawing more than the site's power is a 409 naming the instant,
/// the contracts and the shortfall.
#[utoipa::path(post, path = "/expansions", tag = "directory", request_body = ExpansionDoc,
    responses((status = 201, description = "Added", body = ExpansionDoc)))]
pub async fn create_expansion(p: Post<ExpansionDoc>) -> Res {
    // Core's GpuDelta and MwDelta already bound every value.
    let x = accept(&p.body.value, "expansion", |_, _| {})?;
    let view = ExpansionDoc::from(&x);
    p.append(
        move |l, w| {
            // An unknown site is left to the ledger: a 409 naming it, as for
            // any unknown reference (sites are public, so nothing leaks).
            if let Some(site) = l.site(&x.site) {
                access::may_build(w, &site.owner)?;
            }
            Ok(Event::Expansion(x))
        },
        move |_, _| view,
    )
    .await
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_expansion))
}
