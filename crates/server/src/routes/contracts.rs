//! Contracts: list, create (from a site or resold from a held contract),
//! read one, top up (`/amendments`) and resell (`/resales`). Bodies are the
//! scenario format's documents; `/resales` and `/amendments` take only
//! what the path does not already say.

use axum::http::StatusCode;
use cascade_core::{Contract, Event, Id, ItemRef, Ledger, format_usd};
use cascade_format::report::AmendmentEntry;
use cascade_format::{AmendmentDoc, ContractDoc, IdText, Money, TimeText};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Extended, Get, GetItem, PathId, Post, Res, json, read};
use crate::check::{Bounds, accept};
use crate::extract::{Principal, path_id};
use crate::{AppState, access};

/// A resale of the contract in the path by its buyer: the seller is the
/// path contract's buyer, the GPU class is the path contract's and
/// `backed_by` is the path contract.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResaleIn {
    pub id: IdText,
    pub buyer: IdText,
    #[schema(minimum = 1, maximum = 4294967295_i64)]
    pub gpus: i64,
    pub start: TimeText,
    pub end: TimeText,
    pub price_per_gpu_hour: Money,
    /// May the buyer resell it in turn? Default false.
    #[serde(default)]
    pub resale: bool,
}

impl ResaleIn {
    /// The resale as a contract document, given what the path contract
    /// says (its buyer sells its class); checked by the one conversion.
    fn doc(&self, seller: &Id, gpu: &Id, backing: &Id) -> ContractDoc {
        ContractDoc {
            id: self.id.clone(),
            seller: seller.into(),
            buyer: self.buyer.clone(),
            gpu: gpu.into(),
            gpus: self.gpus,
            start: self.start.clone(),
            end: self.end.clone(),
            price_per_gpu_hour: self.price_per_gpu_hour,
            site: None,
            backed_by: Some(backing.into()),
            resale: self.resale,
        }
    }
}

/// A top-up of the contract in the path: `gpus` more from `effective` to
/// its end.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractAmendmentIn {
    #[schema(minimum = 1, maximum = 4294967295_i64)]
    pub gpus: i64,
    pub effective: TimeText,
}

impl ContractAmendmentIn {
    fn doc(&self, contract: &Id) -> AmendmentDoc {
        AmendmentDoc {
            contract: Some(contract.into()),
            gpus: Some(self.gpus),
            commitment: None,
            usd: None,
            effective: self.effective.clone(),
        }
    }
}

/// What the API adds to a contract document: where its capacity physically
/// is, its top-ups and its value. `backed_by` is shown to the contract's
/// seller and to admins only (to the buyer it is someone else's contract).
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractFacts {
    /// Top-ups in effect from their date.
    pub amendments: Vec<AmendmentEntry>,
    /// Root site of the chain, its owner and region.
    pub root_site: String,
    pub physical_provider: String,
    pub region: String,
    /// Full value: Σ amount × price × hours.
    pub value_usd: String,
}

/// A contract as one of its parties (or an admin) sees it.
pub type ContractView = Extended<ContractDoc, ContractFacts>;

pub(crate) fn contract_view(l: &Ledger, c: &Contract, who: &Principal) -> ContractView {
    let info = l.contract(&c.id).expect("contract of the ledger");
    let mut doc = ContractDoc::from(c);
    access::redact_backing(who, &c.seller, &mut doc.backed_by);
    Extended {
        doc,
        more: ContractFacts {
            amendments: info
                .amendments
                .iter()
                .map(|(e, gpus)| AmendmentEntry {
                    effective: e.to_string(),
                    gpus: *gpus,
                })
                .collect(),
            root_site: info.root_site.id.to_string(),
            physical_provider: info.provider.to_string(),
            region: info.root_site.region.clone(),
            value_usd: format_usd(info.value_usd),
        },
    }
}

/// A contract of the ledger, by id, as `who` sees it.
fn contract_view_of(l: &Ledger, id: &Id, who: &Principal) -> ContractView {
    contract_view(l, l.contract(id).expect("in the ledger").contract, who)
}

query! {
    /// The query of `GET /contracts`: a page.
    pub struct Page {
        /// Skip this many (default 0)
        offset: Option<usize>,
        /// At most this many (default 1000, at most 100000)
        limit: Option<usize>,
    }
}

/// Contracts the caller is buyer or seller of (admin: all), in journal order.
#[utoipa::path(get, path = "/contracts", tag = "contracts",
    params(Page),
    responses((status = 200, description = "Contracts", body = Vec<ContractView>)))]
pub async fn list_contracts(r: Get<Page>) -> Res {
    let (app, who, q) = r.parts();
    let offset = q.usize("offset", 0, usize::MAX / 2)?;
    let limit = q.usize("limit", 1000, 100_000)?;
    let v: Vec<ContractView> = read(&app, |s| {
        let l = &s.ledger;
        let view = |c: &Contract| contract_view(l, c, &who);
        match who.party() {
            None => l.contracts().skip(offset).take(limit).map(view).collect(),
            Some(p) => l
                .contracts_of(p)
                .into_iter()
                .skip(offset)
                .take(limit)
                .map(view)
                .collect(),
        }
    })
    .await?;
    Ok(json(StatusCode::OK, &v))
}

/// Creates a contract sold from the seller's site (`site`) or resold from a
/// contract the seller holds (`backed_by`). A party may only sell.
#[utoipa::path(post, path = "/contracts", tag = "contracts", request_body = ContractDoc,
    responses((status = 201, description = "Created", body = ContractView)))]
pub async fn create_contract(p: Post<ContractDoc>) -> Res {
    let c = accept(&p.body.value, "contract", Bounds::contract)?;
    access::may_sell(&p.who, &c.seller)?;
    let id = c.id.clone();
    p.append(
        move |l, w| {
            access::backing_visible(l, ItemRef::Contract(c.id.clone()), &c.source, w)?;
            Ok(Event::Contract(c))
        },
        move |l, w| contract_view_of(l, &id, w),
    )
    .await
}

/// One contract (404 unless the caller is its buyer or seller, or admin).
#[utoipa::path(get, path = "/contracts/{id}", tag = "contracts",
    params(("id" = String, Path, description = "Contract id")),
    responses((status = 200, description = "The contract", body = ContractView)))]
pub async fn get_contract(r: GetItem) -> Res {
    r.read("contract", |s, id, who| {
        access::visible_contract(&s.ledger, id, who).map(|c| contract_view(&s.ledger, c, who))
    })
    .await
}

/// Tops up a contract from `effective` to its end (its seller, or admin).
#[utoipa::path(post, path = "/contracts/{id}/amendments", tag = "contracts",
    params(("id" = String, Path, description = "Contract id")),
    request_body = ContractAmendmentIn,
    responses((status = 201, description = "Amended; the contract as it is now", body = ContractView)))]
pub async fn amend_contract(PathId(raw): PathId, p: Post<ContractAmendmentIn>) -> Res {
    let id = path_id("contract", &raw)?;
    let doc = p.body.value.doc(&id);
    let target = id.clone();
    p.top_up(
        "contract",
        &doc,
        move |l, w| Ok(access::visible_contract(l, &target, w)?.seller.clone()),
        move |l, w| contract_view_of(l, &id, w),
    )
    .await
}

/// Resells part of a contract: the caller must be its buyer (or admin);
/// the new contract's seller is that buyer and it is backed by this one.
#[utoipa::path(post, path = "/contracts/{id}/resales", tag = "contracts",
    params(("id" = String, Path, description = "The contract to resell from")),
    request_body = ResaleIn,
    responses((status = 201, description = "The resale", body = ContractView)))]
pub async fn resell_contract(PathId(raw): PathId, p: Post<ResaleIn>) -> Res {
    let backing = path_id("contract", &raw)?;
    // Checked before the store is asked, so that a 422 is never stored;
    // seller and class are the held contract's, known only in the writer.
    let unknown = Id::new("unknown").expect("a valid id");
    let doc = p.body.value.doc(&unknown, &unknown, &backing);
    let mut resale = accept(&doc, "resale", Bounds::contract)?;
    let id = resale.id.clone();
    p.append(
        move |l, w| {
            let held = access::visible_contract(l, &backing, w)?;
            access::may_resell(w, held)?;
            resale.seller = held.buyer.clone();
            resale.gpu = held.gpu.clone();
            Ok(Event::Contract(resale))
        },
        move |l, w| contract_view_of(l, &id, w),
    )
    .await
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_contracts, create_contract))
        .routes(routes!(get_contract))
        .routes(routes!(amend_contract))
        .routes(routes!(resell_contract))
}
