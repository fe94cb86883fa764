//! Parties: `GET /parties` (anyone with a token), `POST /parties` (admin).

use axum::extract::State;
use axum::http::StatusCode;
use cascade_core::{Event, Party};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Post, Res, json, read};
use crate::check::{Check, IdText};
use crate::extract::{Principal, QueryMap};
use crate::problem::Problem;
use crate::{AppState, access};

/// A party: provider, reseller, buyer, or all three.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartyIn {
    pub id: IdText,
    #[serde(default)]
    pub name: Option<String>,
}

impl PartyIn {
    pub fn check(&self) -> Result<Party, Problem> {
        let mut c = Check::new();
        let id = c.id("id", &self.id);
        if let Some(n) = &self.name
            && n.chars().count() > 200
        {
            c.fail("name", "at most 200 characters");
        }
        let v = id.map(|id| Party {
            id,
            name: self.name.clone(),
        });
        c.done(v)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartyView {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl From<&Party> for PartyView {
    fn from(p: &Party) -> Self {
        PartyView {
            id: p.id.to_string(),
            name: p.name.clone(),
        }
    }
}

/// Parties (every caller sees the directory).
#[utoipa::path(get, path = "/parties", tag = "directory",
    responses((status = 200, description = "Every party", body = Vec<PartyView>)))]
pub async fn list_parties(State(app): State<AppState>, _who: Principal, q: QueryMap) -> Res {
    q.only(&[])?;
    let v: Vec<PartyView> = read(&app, |s| {
        s.ledger.parties().iter().map(PartyView::from).collect()
    })
    .await?;
    Ok(json(StatusCode::OK, &v))
}

/// Adds a party (admin).
#[utoipa::path(post, path = "/parties", tag = "directory", request_body = PartyIn,
    responses((status = 201, description = "Added", body = PartyView)))]
pub async fn create_party(p: Post<PartyIn>) -> Res {
    access::admin_only(&p.who, "add parties")?;
    let p = p.body.value.check()?;
    let view = PartyView::from(&p);
    p.append(move |_, _| Ok(Event::Party(p)), move |_, _| view)
        .await
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_parties, create_party))
}
