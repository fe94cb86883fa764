//! Parties: `GET /parties` (anyone with a token), `POST /parties` (admin).
//! Bodies are the scenario format's `PartyDoc`.

use axum::extract::State;
use axum::http::StatusCode;
use cascade_core::Event;
use cascade_format::PartyDoc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Post, Res, json, read};
use crate::check::{Bounds, accept};
use crate::extract::{Principal, QueryMap};
use crate::{AppState, access};

/// Parties (every caller sees the directory).
#[utoipa::path(get, path = "/parties", tag = "directory",
    responses((status = 200, description = "Every party", body = Vec<PartyDoc>)))]
pub async fn list_parties(State(app): State<AppState>, _who: Principal, q: QueryMap) -> Res {
    q.only(&[])?;
    let v: Vec<PartyDoc> = read(&app, |s| {
        s.ledger.parties().iter().map(PartyDoc::from).collect()
    })
    .await?;
    Ok(json(StatusCode::OK, &v))
}

/// Adds a party (admin).
#[utoipa::path(post, path = "/parties", tag = "directory", request_body = PartyDoc,
    responses((status = 201, description = "Added", body = PartyDoc)))]
pub async fn create_party(p: Post<PartyDoc>) -> Res {
    access::admin_only(&p.who, "add parties")?;
    let party = accept(&p.body.value, "party", Bounds::party)?;
    let view = PartyDoc::from(&party);
    p.append(move |_, _| Ok(Event::Party(party)), move |_, _| view)
        .await
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_parties, create_party))
}
