//! Clauses (exclusive, ROFR, no-resale-to, avoid-provider): listed to the
//! parties they name, added by the party they bind. Bodies are the scenario
//! format's `ClauseDoc`.

use cascade_core::Event;
use cascade_format::ClauseDoc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Get, Post, Res};
use crate::check::accept;
use crate::{AppState, access};

/// Clauses naming the caller (admin: all).
#[utoipa::path(get, path = "/clauses", tag = "clauses",
    responses((status = 200, description = "Clauses", body = Vec<ClauseDoc>)))]
pub async fn list_clauses(r: Get) -> Res {
    r.list(|s, who| -> Vec<ClauseDoc> {
        s.ledger
            .clauses()
            .iter()
            .filter(|c| access::may_see_clause(who, c))
            .map(ClauseDoc::from)
            .collect()
    })
    .await
}

/// Adds a clause. Admin, or the party it binds: the buyer of `exclusive`,
/// `rofr` and `avoid_provider`, the seller of `no_resale_to`.
#[utoipa::path(post, path = "/clauses", tag = "clauses", request_body = ClauseDoc,
    responses((status = 201, description = "Created", body = ClauseDoc)))]
pub async fn create_clause(p: Post<ClauseDoc>) -> Res {
    let c = accept(&p.body.value, "clause", |_, _| {})?;
    access::may_add_clause(&p.who, &c)?;
    let view = ClauseDoc::from(&c);
    p.append(move |_, _| Ok(Event::Clause(c)), move |_, _| view)
        .await
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_clauses, create_clause))
}
