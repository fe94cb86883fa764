//! Open offers: every caller lists them; their seller creates them. Bodies
//! are the scenario format's `OfferDoc`.

use cascade_core::{Event, ItemRef, Ledger, Offer};
use cascade_format::OfferDoc;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Extended, Get, Post, Res};
use crate::check::{Bounds, accept};
use crate::extract::Principal;
use crate::{AppState, access};

/// What the API adds to an offer document: where its capacity physically
/// is. `backed_by` is shown to the offer's seller and to admins only.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferFacts {
    pub root_site: String,
    pub physical_provider: String,
    pub region: String,
}

/// An offer as the API shows it.
pub type OfferView = Extended<OfferDoc, OfferFacts>;

fn offer_view(l: &Ledger, o: &Offer, who: &Principal) -> OfferView {
    let (provider, root) = l.offer_root(&o.id).expect("offer of the ledger");
    let mut doc = OfferDoc::from(o);
    access::redact_backing(who, &o.seller, &mut doc.backed_by);
    Extended {
        doc,
        more: OfferFacts {
            root_site: root.id.to_string(),
            physical_provider: provider.to_string(),
            region: root.region.clone(),
        },
    }
}

/// Open offers (every caller; `backed_by` only for the offer's seller).
#[utoipa::path(get, path = "/offers", tag = "offers",
    responses((status = 200, description = "Offers", body = Vec<OfferView>)))]
pub async fn list_offers(r: Get) -> Res {
    r.list(|s, who| -> Vec<OfferView> {
        s.ledger
            .offers()
            .map(|o| offer_view(&s.ledger, o, who))
            .collect()
    })
    .await
}

/// Puts capacity on offer (its seller, or admin).
#[utoipa::path(post, path = "/offers", tag = "offers", request_body = OfferDoc,
    responses((status = 201, description = "Created", body = OfferView)))]
pub async fn create_offer(p: Post<OfferDoc>) -> Res {
    let o = accept(&p.body.value, "offer", Bounds::offer)?;
    access::may_sell(&p.who, &o.seller)?;
    let id = o.id.clone();
    p.append(
        move |l, w| {
            access::backing_visible(l, ItemRef::Offer(o.id.clone()), &o.source, w)?;
            Ok(Event::Offer(o))
        },
        move |l, w| offer_view(l, l.offer(&id).expect("added"), w),
    )
    .await
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_offers, create_offer))
}
