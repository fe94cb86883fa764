//! `GET /contracts/{id}/chain`: a contract's provenance down to the
//! physical provider, site and region, and the resales carved from it (the
//! chain document of `cascade chain --json`, walked on the ledger's own
//! resale tree), as the caller may see it.

use cascade_format::report::ChainDoc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{GetItem, Res};
use crate::{AppState, access};

/// Provenance: the chain down to physical provider, site and region, and
/// the resales carved from it. Upstream contracts the caller is not a party
/// to show no id, parties or price.
#[utoipa::path(get, path = "/contracts/{id}/chain", tag = "contracts",
    params(("id" = String, Path, description = "Contract id")),
    responses((status = 200, description = "The chain", body = ChainDoc)))]
pub async fn get_chain(r: GetItem) -> Res {
    r.read("contract", |s, id, who| {
        access::visible_contract(&s.ledger, id, who)?;
        let mut doc = ChainDoc::of(&s.ledger, id).expect("a visible contract has a chain");
        access::redact_chain(&mut doc, who);
        Ok(doc)
    })
    .await
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_chain))
}
