//! Open offers: every caller lists them; their seller creates them.

use axum::extract::State;
use axum::http::StatusCode;
use cascade_core::{Event, ItemRef, Ledger, Offer, format_usd};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Post, Res, json, read};
use crate::check::{Check, ClassIdText, IdText, Money, TimeText};
use crate::extract::{Principal, QueryMap};
use crate::problem::Problem;
use crate::{AppState, access};

/// Open capacity for sale, in whole blocks.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferIn {
    pub id: IdText,
    pub seller: IdText,
    pub gpu: ClassIdText,
    #[schema(minimum = 1, maximum = 4294967295_i64)]
    pub max_gpus: i64,
    /// Default 8.
    #[serde(default)]
    pub block_gpus: Option<i64>,
    pub start: TimeText,
    pub end: TimeText,
    pub price_per_gpu_hour: Money,
    #[serde(default)]
    pub site: Option<IdText>,
    #[serde(default)]
    pub backed_by: Option<IdText>,
}

impl OfferIn {
    pub fn check(&self) -> Result<Offer, Problem> {
        let mut c = Check::new();
        let id = c.id("id", &self.id);
        let seller = c.id("seller", &self.seller);
        let gpu = c.class_id("gpu", &self.gpu);
        let max = c.gpus("max_gpus", self.max_gpus);
        let block = c.gpus("block_gpus", self.block_gpus.unwrap_or(8));
        let window = c.window(&self.start, &self.end);
        let price = c.price("price_per_gpu_hour", self.price_per_gpu_hour);
        let source = c.source(&self.site, &self.backed_by);
        let v = (|| {
            Some(Offer {
                id: id?,
                seller: seller?,
                gpu: gpu?,
                max_gpus: max?,
                block_gpus: block?,
                window: window?,
                price_per_gpu_hour: price?,
                source: source?,
            })
        })();
        c.done(v)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfferView {
    pub id: String,
    pub seller: String,
    pub gpu: String,
    pub max_gpus: u32,
    pub block_gpus: u32,
    pub start: String,
    pub end: String,
    pub price_per_gpu_hour: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Shown to the offer's seller and admins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backed_by: Option<String>,
    pub root_site: String,
    pub physical_provider: String,
    pub region: String,
}

fn offer_view(l: &Ledger, o: &Offer, who: &Principal) -> OfferView {
    let (site, backed_by) = access::shown_source(who, &o.seller, &o.source);
    let (provider, root) = l.offer_root(&o.id).expect("offer of the ledger");
    OfferView {
        id: o.id.to_string(),
        seller: o.seller.to_string(),
        gpu: o.gpu.to_string(),
        max_gpus: o.max_gpus.get(),
        block_gpus: o.block_gpus.get(),
        start: o.window.start().to_string(),
        end: o.window.end().to_string(),
        price_per_gpu_hour: format_usd(o.price_per_gpu_hour.get()),
        site,
        backed_by,
        root_site: root.id.to_string(),
        physical_provider: provider.to_string(),
        region: root.region.clone(),
    }
}

/// Open offers (every caller; `backed_by` only for the offer's seller).
#[utoipa::path(get, path = "/offers", tag = "offers",
    responses((status = 200, description = "Offers", body = Vec<OfferView>)))]
pub async fn list_offers(State(app): State<AppState>, who: Principal, q: QueryMap) -> Res {
    q.only(&[])?;
    let v: Vec<OfferView> = read(&app, |s| {
        s.ledger
            .offers()
            .map(|o| offer_view(&s.ledger, o, &who))
            .collect()
    })
    .await?;
    Ok(json(StatusCode::OK, &v))
}

/// Puts capacity on offer (its seller, or admin).
#[utoipa::path(post, path = "/offers", tag = "offers", request_body = OfferIn,
    responses((status = 201, description = "Created", body = OfferView)))]
pub async fn create_offer(p: Post<OfferIn>) -> Res {
    let o = p.body.value.check()?;
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
