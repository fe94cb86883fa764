//! Parties: `GET /parties` (anyone with a token), `POST /parties` (admin).
//! Bodies are the scenario format's `PartyDoc`.

use cascade_core::Event;
use cascade_format::PartyDoc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Get, Post, Res};
use crate::AppState;
use crate::check::Bounds;

/// Parties (every caller sees the directory).
#[utoipa::path(get, path = "/parties", tag = "directory",
    responses((status = 200, description = "Every party", body = Vec<PartyDoc>)))]
pub async fn list_parties(r: Get) -> Res {
    r.list(|s, _| -> Vec<PartyDoc> { s.ledger.parties().iter().map(PartyDoc::from).collect() })
        .await
}

/// Adds a party (admin).
#[utoipa::path(post, path = "/parties", tag = "directory", request_body = PartyDoc,
    responses((status = 201, description = "Added", body = PartyDoc)))]
pub async fn create_party(p: Post<PartyDoc>) -> Res {
    p.add_by_admin("add parties", "party", Bounds::party, Event::Party)
        .await
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_parties, create_party))
}
