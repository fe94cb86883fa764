//! `GET /contracts/{id}/chain`: a contract's provenance down to the
//! physical provider, site and region, and the resales carved from it,
//! walked on the ledger's own resale tree. Links the caller is not a party
//! to show no id, parties or price.

use axum::extract::State;
use cascade_core::{Id, Ledger, Resold, Source, format_usd};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::contracts::AmendmentView;
use super::{PathId, Res, read_item};
use crate::extract::{Principal, QueryMap};
use crate::problem::Problem;
use crate::{AppState, access};

/// One link of a chain. Links the caller is not a direct party to show only
/// their tier, class, GPUs and window.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainLinkView {
    /// 0 for the contract asked about, 1 for its backing contract, ...
    pub tier: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer: Option<String>,
    pub gpu: String,
    pub gpus: u32,
    pub start: String,
    pub end: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_per_gpu_hour: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resale: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amendments: Option<Vec<AmendmentView>>,
}

/// A resale carved (directly or further down) from the contract asked about.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResoldView {
    pub id: String,
    pub seller: String,
    pub buyer: String,
    pub gpu: String,
    pub gpus: u32,
    pub start: String,
    pub end: String,
    pub backed_by: String,
    /// 1 for a direct resale, 2 for a resale of a resale, ...
    pub depth: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_per_gpu_hour: Option<String>,
}

/// Provenance of a contract: its chain down to the physical provider, site
/// and region, and what was resold from it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainView {
    pub contract: String,
    pub physical_provider: String,
    pub root_site: String,
    pub region: String,
    /// Number of contracts from this one down to the site.
    pub tiers: usize,
    /// Sellers along the chain (admins only: upstream parties are not
    /// disclosed to a buyer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sellers: Option<Vec<String>>,
    pub chain: Vec<ChainLinkView>,
    /// Resales of this contract the caller is a party to (admins: all), in
    /// depth-first order.
    pub resold: Vec<ResoldView>,
}

/// The chain of a contract as `who` may see it.
pub(crate) fn chain_view(l: &Ledger, id: &Id, who: &Principal) -> Option<ChainView> {
    let chain = l.chain(id)?;
    let links = chain
        .links
        .iter()
        .enumerate()
        .map(|(tier, c)| {
            if access::can_see(who, c) {
                let info = l.contract(&c.id).expect("in ledger");
                let (site, backed_by) = access::shown_source(who, &c.seller, &c.source);
                ChainLinkView {
                    tier,
                    id: Some(c.id.to_string()),
                    seller: Some(c.seller.to_string()),
                    buyer: Some(c.buyer.to_string()),
                    gpu: c.gpu.to_string(),
                    gpus: c.gpus.get(),
                    start: c.window.start().to_string(),
                    end: c.window.end().to_string(),
                    price_per_gpu_hour: Some(format_usd(c.price_per_gpu_hour.get())),
                    resale: Some(c.resale),
                    site,
                    backed_by,
                    amendments: Some(AmendmentView::of(&info)),
                }
            } else {
                ChainLinkView {
                    tier,
                    id: None,
                    seller: None,
                    buyer: None,
                    gpu: c.gpu.to_string(),
                    gpus: c.gpus.get(),
                    start: c.window.start().to_string(),
                    end: c.window.end().to_string(),
                    price_per_gpu_hour: None,
                    resale: None,
                    site: None,
                    backed_by: None,
                    amendments: None,
                }
            }
        })
        .collect();
    // The ledger's resale tree, depth first, without recursion (resale
    // trees are user-made and may be deep). A resale the caller is not a
    // party to is left out with everything carved from it.
    let tree = l.resold_tree(id)?;
    let mut resold = Vec::new();
    let mut stack: Vec<(&Resold<'_>, usize)> = tree.resold.iter().rev().map(|r| (r, 1)).collect();
    while let Some((r, depth)) = stack.pop() {
        let c = r.contract;
        if !access::can_see(who, c) {
            continue;
        }
        resold.push(ResoldView {
            id: c.id.to_string(),
            seller: c.seller.to_string(),
            buyer: c.buyer.to_string(),
            gpu: c.gpu.to_string(),
            gpus: c.gpus.get(),
            start: c.window.start().to_string(),
            end: c.window.end().to_string(),
            backed_by: match &c.source {
                Source::BackedBy(b) => b.to_string(),
                Source::Site(s) => s.to_string(),
            },
            depth,
            price_per_gpu_hour: Some(format_usd(c.price_per_gpu_hour.get())),
        });
        stack.extend(r.resold.iter().rev().map(|k| (k, depth + 1)));
    }
    Some(ChainView {
        contract: id.to_string(),
        physical_provider: chain.provider.to_string(),
        root_site: chain.root_site.id.to_string(),
        region: chain.root_site.region.clone(),
        tiers: chain.links.len(),
        sellers: access::may_see_sellers(who)
            .then(|| chain.links.iter().map(|c| c.seller.to_string()).collect()),
        chain: links,
        resold,
    })
}

/// Provenance: the chain down to physical provider, site and region, and
/// the resales carved from it. Upstream contracts the caller is not a party
/// to show no id, parties or price.
#[utoipa::path(get, path = "/contracts/{id}/chain", tag = "contracts",
    params(("id" = String, Path, description = "Contract id")),
    responses((status = 200, description = "The chain", body = ChainView)))]
pub async fn get_chain(
    State(app): State<AppState>,
    who: Principal,
    PathId(raw): PathId,
    q: QueryMap,
) -> Res {
    read_item(&app, q, "contract", &raw, |s, id| {
        access::visible_contract(&s.ledger, id, &who)?;
        Ok(chain_view(&s.ledger, id, &who).expect("visible contract has a chain"))
    })
    .await
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_chain))
}
