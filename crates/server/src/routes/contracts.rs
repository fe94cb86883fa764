//! Contracts: list, create (from a site or resold from a held contract),
//! read one, top up (`/amendments`) and resell (`/resales`).

use axum::extract::State;
use axum::http::StatusCode;
use cascade_core::{
    Amendment, AmendmentTarget, Contract, ContractInfo, Event, Gpus, Id, ItemRef, Ledger, Source,
    UsdPerGpuHour, Window, format_usd,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{PathId, Post, Res, json, read, read_item};
use crate::check::{Check, ClassIdText, IdText, Money, TimeText};
use crate::extract::{Principal, QueryMap, path_id};
use crate::problem::Problem;
use crate::{AppState, access};

/// A contract: `gpus` GPUs of one class for a window, from a site the seller
/// owns (`site`) or resold from a contract the seller holds (`backed_by`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractIn {
    pub id: IdText,
    pub seller: IdText,
    pub buyer: IdText,
    pub gpu: ClassIdText,
    #[schema(minimum = 1, maximum = 4294967295_i64)]
    pub gpus: i64,
    /// A date (`2026-01-01`, midnight UTC) or an RFC 3339 date-time.
    pub start: TimeText,
    pub end: TimeText,
    pub price_per_gpu_hour: Money,
    #[serde(default)]
    pub site: Option<IdText>,
    #[serde(default)]
    pub backed_by: Option<IdText>,
    /// May the buyer resell it? Default false.
    #[serde(default)]
    pub resale: Option<bool>,
}

/// A resale of the contract in the path by its buyer: the seller is the
/// path contract's buyer and `backed_by` the path contract.
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
    #[serde(default)]
    pub resale: Option<bool>,
}

/// A top-up of a contract: `gpus` more from `effective` to the contract's end.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractAmendmentIn {
    #[schema(minimum = 1, maximum = 4294967295_i64)]
    pub gpus: i64,
    pub effective: TimeText,
}

impl ContractIn {
    pub fn check(&self) -> Result<Contract, Problem> {
        let mut c = Check::new();
        let id = c.id("id", &self.id);
        let seller = c.id("seller", &self.seller);
        let buyer = c.id("buyer", &self.buyer);
        let gpu = c.class_id("gpu", &self.gpu);
        let gpus = c.gpus("gpus", self.gpus);
        let window = c.window(&self.start, &self.end);
        let price = c.price("price_per_gpu_hour", self.price_per_gpu_hour);
        let source = c.source(&self.site, &self.backed_by);
        let v = (|| {
            Some(Contract {
                id: id?,
                seller: seller?,
                buyer: buyer?,
                gpu: gpu?,
                gpus: gpus?,
                window: window?,
                price_per_gpu_hour: price?,
                source: source?,
                resale: self.resale.unwrap_or(false),
            })
        })();
        c.done(v)
    }
}

impl ResaleIn {
    /// What the resale adds to the path contract (whose buyer sells and
    /// whose GPU class is kept): id, buyer, GPUs, window, price, resale.
    #[allow(clippy::type_complexity)]
    pub fn check(&self) -> Result<(Id, Id, Gpus, Window, UsdPerGpuHour, bool), Problem> {
        let mut c = Check::new();
        let id = c.id("id", &self.id);
        let buyer = c.id("buyer", &self.buyer);
        let gpus = c.gpus("gpus", self.gpus);
        let window = c.window(&self.start, &self.end);
        let price = c.price("price_per_gpu_hour", self.price_per_gpu_hour);
        let v = (|| {
            Some((
                id?,
                buyer?,
                gpus?,
                window?,
                price?,
                self.resale.unwrap_or(false),
            ))
        })();
        c.done(v)
    }
}

impl ContractAmendmentIn {
    pub fn check(&self, contract: Id) -> Result<Amendment, Problem> {
        let mut c = Check::new();
        let gpus = c.gpus("gpus", self.gpus);
        let eff = c.time("effective", &self.effective);
        let v = (|| {
            Some(Amendment {
                target: AmendmentTarget::Contract {
                    id: contract,
                    gpus: gpus?,
                },
                effective: eff?,
            })
        })();
        c.done(v)
    }
}

/// A top-up: GPUs added from `effective` to the contract's end.
#[derive(Debug, Serialize, ToSchema)]
pub struct AmendmentView {
    pub effective: String,
    pub gpus: i64,
}

impl AmendmentView {
    pub(crate) fn of(info: &ContractInfo<'_>) -> Vec<AmendmentView> {
        info.amendments
            .iter()
            .map(|(e, g)| AmendmentView {
                effective: e.to_string(),
                gpus: *g,
            })
            .collect()
    }
}

/// A contract as one of its parties (or an admin) sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractView {
    pub id: String,
    pub seller: String,
    pub buyer: String,
    pub gpu: String,
    pub gpus: u32,
    pub start: String,
    pub end: String,
    pub price_per_gpu_hour: String,
    pub resale: bool,
    /// The seller's site, for a contract sold from a site.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// The contract this one is resold from; shown to its seller and to
    /// admins only (to the buyer it is someone else's contract).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backed_by: Option<String>,
    /// Top-ups in effect from their date: (effective, GPUs added).
    pub amendments: Vec<AmendmentView>,
    /// Root site of the chain, its owner and region.
    pub root_site: String,
    pub physical_provider: String,
    pub region: String,
    /// Full value: Σ amount × price × hours.
    pub value_usd: String,
}

/// A contract of the ledger, by id, as `who` sees it.
fn contract_view_of(l: &Ledger, id: &Id, who: &Principal) -> ContractView {
    contract_view(l, l.contract(id).expect("in the ledger").contract, who)
}

pub(crate) fn contract_view(l: &Ledger, c: &Contract, who: &Principal) -> ContractView {
    let info = l.contract(&c.id).expect("contract of the ledger");
    let (site, backed_by) = access::shown_source(who, &c.seller, &c.source);
    ContractView {
        id: c.id.to_string(),
        seller: c.seller.to_string(),
        buyer: c.buyer.to_string(),
        gpu: c.gpu.to_string(),
        gpus: c.gpus.get(),
        start: c.window.start().to_string(),
        end: c.window.end().to_string(),
        price_per_gpu_hour: format_usd(c.price_per_gpu_hour.get()),
        resale: c.resale,
        site,
        backed_by,
        amendments: AmendmentView::of(&info),
        root_site: info.root_site.id.to_string(),
        physical_provider: info.provider.to_string(),
        region: info.root_site.region.clone(),
        value_usd: format_usd(info.value_usd),
    }
}

/// Contracts the caller is buyer or seller of (admin: all), in journal order.
#[utoipa::path(get, path = "/contracts", tag = "contracts",
    params(
        ("offset" = Option<usize>, Query, description = "Skip this many (default 0)"),
        ("limit" = Option<usize>, Query, description = "At most this many (default 1000, at most 100000)"),
    ),
    responses((status = 200, description = "Contracts", body = Vec<ContractView>)))]
pub async fn list_contracts(State(app): State<AppState>, who: Principal, q: QueryMap) -> Res {
    q.only(&["offset", "limit"])?;
    let offset = q.usize("offset", 0, usize::MAX / 2)?;
    let limit = q.usize("limit", 1000, 100_000)?;
    let v: Vec<ContractView> = read(&app, |s| {
        let l = &s.ledger;
        match who.party() {
            None => l
                .contracts()
                .skip(offset)
                .take(limit)
                .map(|c| contract_view(l, c, &who))
                .collect(),
            Some(p) => l
                .contracts_of(p)
                .into_iter()
                .skip(offset)
                .take(limit)
                .map(|c| contract_view(l, c, &who))
                .collect(),
        }
    })
    .await?;
    Ok(json(StatusCode::OK, &v))
}

/// Creates a contract sold from the seller's site (`site`) or resold from a
/// contract the seller holds (`backed_by`). A party may only sell.
#[utoipa::path(post, path = "/contracts", tag = "contracts", request_body = ContractIn,
    responses((status = 201, description = "Created", body = ContractView)))]
pub async fn create_contract(p: Post<ContractIn>) -> Res {
    let c = p.body.value.check()?;
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
pub async fn get_contract(
    State(app): State<AppState>,
    who: Principal,
    PathId(raw): PathId,
    q: QueryMap,
) -> Res {
    read_item(&app, q, "contract", &raw, |s, id| {
        access::visible_contract(&s.ledger, id, &who).map(|c| contract_view(&s.ledger, c, &who))
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
    let a: Amendment = p.body.value.check(id.clone())?;
    let target = id.clone();
    p.append(
        move |l, w| {
            let c = access::visible_contract(l, &target, w)?;
            access::may_top_up(w, &c.seller, "contract")?;
            Ok(Event::Amendment(a))
        },
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
    let (id, buyer, gpus, window, price, resale) = p.body.value.check()?;
    let new_id = id.clone();
    p.append(
        move |l, w| {
            let held = access::visible_contract(l, &backing, w)?;
            access::may_resell(w, held)?;
            Ok(Event::Contract(Contract {
                id,
                seller: held.buyer.clone(),
                buyer,
                gpu: held.gpu.clone(),
                gpus,
                window,
                price_per_gpu_hour: price,
                source: Source::BackedBy(backing.clone()),
                resale,
            }))
        },
        move |l, w| contract_view_of(l, &new_id, w),
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
