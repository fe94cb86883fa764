//! Take-or-pay commitments: list, read one, create, top up. Bodies are the
//! scenario format's `CommitmentDoc`; a top-up takes only what the path
//! does not already say.

use cascade_core::{Event, Id, Ledger, format_usd};
use cascade_format::{AmendmentDoc, CommitmentDoc, Money, TimeText};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Extended, Get, GetItem, PathId, Post, Res};
use crate::check::{Bounds, accept};
use crate::extract::path_id;
use crate::{AppState, access};

/// A top-up of the commitment in the path: `usd` more from `effective`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitmentAmendmentIn {
    pub usd: Money,
    pub effective: TimeText,
}

impl CommitmentAmendmentIn {
    fn doc(&self, commitment: &Id) -> AmendmentDoc {
        AmendmentDoc {
            contract: None,
            gpus: None,
            commitment: Some(commitment.into()),
            usd: Some(self.usd),
            effective: self.effective.clone(),
        }
    }
}

/// What the API adds to a commitment document.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommitmentFacts {
    /// `usd` plus amendments.
    pub usd_total: String,
}

/// A commitment as one of its parties (or an admin) sees it.
pub type CommitmentView = Extended<CommitmentDoc, CommitmentFacts>;

fn commitment_view(l: &Ledger, id: &Id) -> CommitmentView {
    let (c, total) = l.commitment(id).expect("commitment of the ledger");
    Extended {
        doc: CommitmentDoc::from(c),
        more: CommitmentFacts {
            usd_total: format_usd(total),
        },
    }
}

/// Commitments the caller is buyer or seller of (admin: all).
#[utoipa::path(get, path = "/commitments", tag = "commitments",
    responses((status = 200, description = "Commitments", body = Vec<CommitmentView>)))]
pub async fn list_commitments(r: Get) -> Res {
    r.list(|s, who| -> Vec<CommitmentView> {
        s.ledger
            .commitments()
            .filter(|c| access::may_see_commitment(who, c))
            .map(|c| commitment_view(&s.ledger, &c.id))
            .collect()
    })
    .await
}

/// One commitment.
#[utoipa::path(get, path = "/commitments/{id}", tag = "commitments",
    params(("id" = String, Path, description = "Commitment id")),
    responses((status = 200, description = "The commitment", body = CommitmentView)))]
pub async fn get_commitment(r: GetItem) -> Res {
    r.read("commitment", |s, id, who| {
        access::visible_commitment(&s.ledger, id, who).map(|_| commitment_view(&s.ledger, id))
    })
    .await
}

/// Records a take-or-pay commitment (its seller, or admin).
#[utoipa::path(post, path = "/commitments", tag = "commitments", request_body = CommitmentDoc,
    responses((status = 201, description = "Created", body = CommitmentView)))]
pub async fn create_commitment(p: Post<CommitmentDoc>) -> Res {
    let c = accept(&p.body.value, "commitment", Bounds::commitment)?;
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
    let doc = p.body.value.doc(&id);
    let target = id.clone();
    p.top_up(
        "commitment",
        &doc,
        move |l, w| Ok(access::visible_commitment(l, &target, w)?.seller.clone()),
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
