//! Take-or-pay commitments: list, read one, create, top up.

use axum::extract::State;
use axum::http::StatusCode;
use cascade_core::{Amendment, AmendmentTarget, Commitment, Event, Id, Ledger, format_usd};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{PathId, Post, Res, json, read, read_item};
use crate::check::{Check, IdText, Money, TimeText};
use crate::extract::{Principal, QueryMap, path_id};
use crate::problem::Problem;
use crate::{AppState, access};

/// Take-or-pay: the buyer spends at least `usd` with the seller in the window.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitmentIn {
    pub id: IdText,
    pub buyer: IdText,
    pub seller: IdText,
    pub start: TimeText,
    pub end: TimeText,
    pub usd: Money,
}

/// A top-up of a commitment: `usd` more.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitmentAmendmentIn {
    pub usd: Money,
    pub effective: TimeText,
}

impl CommitmentIn {
    pub fn check(&self) -> Result<Commitment, Problem> {
        let mut c = Check::new();
        let id = c.id("id", &self.id);
        let buyer = c.id("buyer", &self.buyer);
        let seller = c.id("seller", &self.seller);
        let window = c.window(&self.start, &self.end);
        let usd = c.usd("usd", self.usd);
        let v = (|| {
            Some(Commitment {
                id: id?,
                buyer: buyer?,
                seller: seller?,
                window: window?,
                usd: usd?,
            })
        })();
        c.done(v)
    }
}

impl CommitmentAmendmentIn {
    pub fn check(&self, commitment: Id) -> Result<Amendment, Problem> {
        let mut c = Check::new();
        let usd = c.usd("usd", self.usd);
        let eff = c.time("effective", &self.effective);
        let v = (|| {
            Some(Amendment {
                target: AmendmentTarget::Commitment {
                    id: commitment,
                    usd: usd?,
                },
                effective: eff?,
            })
        })();
        c.done(v)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommitmentView {
    pub id: String,
    pub buyer: String,
    pub seller: String,
    pub start: String,
    pub end: String,
    pub usd: String,
    /// `usd` plus amendments.
    pub usd_total: String,
}

fn commitment_view(l: &Ledger, id: &Id) -> CommitmentView {
    let (c, total) = l.commitment(id).expect("commitment of the ledger");
    CommitmentView {
        id: c.id.to_string(),
        buyer: c.buyer.to_string(),
        seller: c.seller.to_string(),
        start: c.window.start().to_string(),
        end: c.window.end().to_string(),
        usd: format_usd(c.usd.get()),
        usd_total: format_usd(total),
    }
}

/// Commitments the caller is buyer or seller of (admin: all).
#[utoipa::path(get, path = "/commitments", tag = "commitments",
    responses((status = 200, description = "Commitments", body = Vec<CommitmentView>)))]
pub async fn list_commitments(State(app): State<AppState>, who: Principal, q: QueryMap) -> Res {
    q.only(&[])?;
    let v: Vec<CommitmentView> = read(&app, |s| {
        s.ledger
            .commitments()
            .filter(|c| access::may_see_commitment(&p.who, c))
            .map(|c| commitment_view(&s.ledger, &c.id))
            .collect()
    })
    .await?;
    Ok(json(StatusCode::OK, &v))
}

/// One commitment.
#[utoipa::path(get, path = "/commitments/{id}", tag = "commitments",
    params(("id" = String, Path, description = "Commitment id")),
    responses((status = 200, description = "The commitment", body = CommitmentView)))]
pub async fn get_commitment(
    State(app): State<AppState>,
    who: Principal,
    PathId(raw): PathId,
    q: QueryMap,
) -> Res {
    read_item(&app, q, "commitment", &raw, |s, id| {
        access::visible_commitment(&s.ledger, id, &who).map(|_| commitment_view(&s.ledger, id))
    })
    .await
}

/// Records a take-or-pay commitment (its seller, or admin).
#[utoipa::path(post, path = "/commitments", tag = "commitments", request_body = CommitmentIn,
    responses((status = 201, description = "Created", body = CommitmentView)))]
pub async fn create_commitment(p: Post<CommitmentIn>) -> Res {
    let c = p.body.value.check()?;
    access::may_sell(&p.who, &c.seller)?;
    let id = c.id.clone();
    p.append(
        move |_, _| Ok(Event::Commitment(c)),
        move |l, _| commitment_view(l, &id),
    )
    .await
}

/// Adds USD to a commitment (its seller, or admin).
#[utoipa::path(post, path = "/commitments/{id}/amendments", tag = "commitments",
    params(("id" = String, Path, description = "Commitment id")),
    request_body = CommitmentAmendmentIn,
    responses((status = 201, description = "Amended; the commitment as it is now", body = CommitmentView)))]
pub async fn amend_commitment(PathId(raw): PathId, p: Post<CommitmentAmendmentIn>) -> Res {
    let id = path_id("commitment", &raw)?;
    let a = p.body.value.check(id.clone())?;
    let target = id.clone();
    p.append(
        move |l, w| {
            let c = access::visible_commitment(l, &target, w)?;
            access::may_top_up(w, &c.seller, "commitment")?;
            Ok(Event::Amendment(a))
        },
        move |l, _| commitment_view(l, &id),
    )
    .await
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_commitments, create_commitment))
        .routes(routes!(get_commitment))
        .routes(routes!(amend_commitment))
}
