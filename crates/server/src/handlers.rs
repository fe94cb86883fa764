//! The HTTP handlers. Every write goes through [`write`]: the job runs in
//! the store's writer against the caught-up ledger, so access checks,
//! invariant checks and the append happen atomically.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cascade_core::{
    Amendment, AmendmentTarget, Clause, Contract, Event, Id, Instant, ItemRef, Ledger, Offer,
    Rejection, Source, Violation,
};
use cascade_store::{Idem, Record, Reply, Staging, State as StoreState, WriteOutcome};
use serde::Serialize;

use crate::AppState;
use crate::api::*;
use crate::extract::{IdemKey, JsonBody, Principal, QueryMap, path_id, read_json_value};
use crate::problem::{FieldError, PROBLEM_JSON, Problem};

pub(crate) type Res = Result<Response, Problem>;

/// A JSON response.
pub(crate) fn json<T: Serialize>(status: StatusCode, v: &T) -> Response {
    let body = serde_json::to_string(v).expect("views serialise");
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn reply_response(reply: Reply, replayed: bool) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let ct = if reply.status >= 400 {
        PROBLEM_JSON
    } else {
        "application/json"
    };
    let mut r = (status, reply.body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    if replayed {
        r.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    r
}

/// What a write job returns: the success status and body, or a problem.
pub(crate) type JobResult = Result<(StatusCode, String), Problem>;

/// Runs a write in the store's writer, with idempotency.
pub(crate) async fn write<F>(
    app: &AppState,
    who: &Principal,
    key: IdemKey,
    request_hash: String,
    job: F,
) -> Response
where
    F: FnOnce(&mut Staging<'_>) -> JobResult + Send + 'static,
{
    let idem = key.0.map(|key| Idem { key, request_hash });
    let f: cascade_store::JobFn = Box::new(move |st| match job(st) {
        Ok((status, body)) => Reply {
            status: status.as_u16(),
            body,
        },
        Err(p) => Reply {
            status: p.status,
            body: p.to_json(),
        },
    });
    match app.store.write(&who.as_stored(), idem, f).await {
        Ok(WriteOutcome::Done(r)) => reply_response(r, false),
        Ok(WriteOutcome::Replayed(r)) => reply_response(r, true),
        Ok(WriteOutcome::KeyReused) => Problem::key_reused().into_response(),
        Err(e) => Problem::unavailable(format!("the store could not complete the write: {e}"))
            .into_response(),
    }
}

fn body<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("views serialise")
}

async fn read<T>(app: &AppState, f: impl FnOnce(&StoreState) -> T) -> Result<T, Problem> {
    app.store
        .read(f)
        .await
        .map_err(|e| Problem::unavailable(format!("the store could not be read: {e}")))
}

/// Applies one event; a refusal is a 409 naming every broken invariant
/// (for a party, without the ids of contracts it may not see).
fn apply_one(st: &mut Staging<'_>, e: Event, who: &Principal) -> Result<(), Problem> {
    st.apply(vec![Record::Event(e)]).map_err(|r| {
        if who.is_admin() {
            return Problem::conflict(&r);
        }
        let l = &st.state().ledger;
        let violations = r
            .violations
            .into_iter()
            .map(|v| match v {
                Violation::NoResaleTo {
                    item,
                    seller,
                    party,
                    chain,
                } => {
                    let chain = chain
                        .into_iter()
                        .enumerate()
                        .filter(|(i, c)| {
                            *i == 0
                                || l.contract(c)
                                    .is_some_and(|info| can_see(who, info.contract))
                        })
                        .map(|(_, c)| c)
                        .collect();
                    Violation::NoResaleTo {
                        item,
                        seller,
                        party,
                        chain,
                    }
                }
                other => other,
            })
            .collect();
        Problem::conflict(&Rejection { violations })
    })
}

/// A party may resell (or offer) only from a contract it can see; any
/// other `backed_by` reads as an unknown contract, whether it exists or not.
fn backing_visible(
    l: &Ledger,
    item: ItemRef,
    source: &Source,
    who: &Principal,
) -> Result<(), Problem> {
    if let Source::BackedBy(b) = source
        && !who.is_admin()
        && !l
            .contract(b)
            .is_some_and(|info| can_see(who, info.contract))
    {
        return Err(Problem::conflict(&Rejection {
            violations: vec![Violation::UnknownReference {
                item,
                field: "backed_by",
                kind: "contract",
                id: b.clone(),
            }],
        }));
    }
    Ok(())
}

/// An id from the path; malformed ids are 404s.
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(s)| PathId(s))
            .map_err(|_| Problem::not_found("no such item"))
    }
}

// ---- views with access rules ------------------------------------------------

fn can_see(who: &Principal, c: &Contract) -> bool {
    who.acts_for(&c.buyer) || who.acts_for(&c.seller)
}

pub(crate) fn contract_view(l: &Ledger, c: &Contract, who: &Principal) -> ContractView {
    let info = l.contract(&c.id).expect("contract of the ledger");
    let (site, backed_by) = match &c.source {
        Source::Site(s) => (Some(s.to_string()), None),
        // The backing contract belongs to the seller (it is its buyer):
        // shown to the seller, hidden from the buyer.
        Source::BackedBy(b) => (None, who.acts_for(&c.seller).then(|| b.to_string())),
    };
    ContractView {
        id: c.id.to_string(),
        seller: c.seller.to_string(),
        buyer: c.buyer.to_string(),
        gpu: c.gpu.to_string(),
        gpus: c.gpus.get(),
        start: c.window.start().to_string(),
        end: c.window.end().to_string(),
        price_per_gpu_hour: usd_text(c.price_per_gpu_hour.get()),
        resale: c.resale,
        site,
        backed_by,
        amendments: info
            .amendments
            .iter()
            .map(|(e, g)| AmendmentView {
                effective: e.to_string(),
                gpus: *g,
            })
            .collect(),
        root_site: info.root_site.id.to_string(),
        physical_provider: info.provider.to_string(),
        region: info.root_site.region.clone(),
        value_usd: usd_text(info.value_usd),
    }
}

fn offer_view(l: &Ledger, o: &Offer, who: &Principal) -> OfferView {
    let (site, backed_by) = match &o.source {
        Source::Site(s) => (Some(s.to_string()), None),
        Source::BackedBy(b) => (None, who.acts_for(&o.seller).then(|| b.to_string())),
    };
    let (provider, root) = l.offer_root(&o.id).expect("offer of the ledger");
    OfferView {
        id: o.id.to_string(),
        seller: o.seller.to_string(),
        gpu: o.gpu.to_string(),
        max_gpus: o.max_gpus.get(),
        block_gpus: o.block_gpus.get(),
        start: o.window.start().to_string(),
        end: o.window.end().to_string(),
        price_per_gpu_hour: usd_text(o.price_per_gpu_hour.get()),
        site,
        backed_by,
        root_site: root.id.to_string(),
        physical_provider: provider.to_string(),
        region: root.region.clone(),
    }
}

fn commitment_view(l: &Ledger, id: &Id) -> CommitmentView {
    let (c, total) = l.commitment(id).expect("commitment of the ledger");
    CommitmentView {
        id: c.id.to_string(),
        buyer: c.buyer.to_string(),
        seller: c.seller.to_string(),
        start: c.window.start().to_string(),
        end: c.window.end().to_string(),
        usd: usd_text(c.usd.get()),
        usd_total: usd_text(total),
    }
}

fn clause_names(c: &Clause, p: &Id) -> bool {
    match c {
        Clause::Exclusive { buyer, seller, .. } => buyer == p || seller == p,
        Clause::Rofr { buyer, holder, .. } => buyer == p || holder == p,
        Clause::NoResaleTo { seller, party } => seller == p || party == p,
        Clause::AvoidProvider { buyer, provider } => buyer == p || provider == p,
    }
}

/// The chain of a contract as `who` may see it.
pub(crate) fn chain_view(l: &Ledger, id: &Id, who: &Principal) -> Option<ChainView> {
    let chain = l.chain(id)?;
    let links = chain
        .links
        .iter()
        .enumerate()
        .map(|(tier, c)| {
            if can_see(who, c) {
                let info = l.contract(&c.id).expect("in ledger");
                let (site, backed_by) = match &c.source {
                    Source::Site(s) => (Some(s.to_string()), None),
                    Source::BackedBy(b) => (None, who.acts_for(&c.seller).then(|| b.to_string())),
                };
                ChainLinkView {
                    tier,
                    id: Some(c.id.to_string()),
                    seller: Some(c.seller.to_string()),
                    buyer: Some(c.buyer.to_string()),
                    gpu: c.gpu.to_string(),
                    gpus: c.gpus.get(),
                    start: c.window.start().to_string(),
                    end: c.window.end().to_string(),
                    price_per_gpu_hour: Some(usd_text(c.price_per_gpu_hour.get())),
                    resale: Some(c.resale),
                    site,
                    backed_by,
                    amendments: Some(
                        info.amendments
                            .iter()
                            .map(|(e, g)| AmendmentView {
                                effective: e.to_string(),
                                gpus: *g,
                            })
                            .collect(),
                    ),
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
    // Resales, depth first, without recursion (resale trees are user-made).
    let mut children: HashMap<&Id, Vec<&Contract>> = HashMap::new();
    for c in l.contracts() {
        if let Source::BackedBy(b) = &c.source {
            children.entry(b).or_default().push(c);
        }
    }
    let mut resold = Vec::new();
    let mut stack: Vec<(&Contract, usize)> = children
        .get(id)
        .map(|v| v.iter().rev().map(|c| (*c, 1)).collect())
        .unwrap_or_default();
    while let Some((c, depth)) = stack.pop() {
        if !can_see(who, c) {
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
            price_per_gpu_hour: Some(usd_text(c.price_per_gpu_hour.get())),
        });
        if let Some(kids) = children.get(&c.id) {
            stack.extend(kids.iter().rev().map(|k| (*k, depth + 1)));
        }
    }
    Some(ChainView {
        contract: id.to_string(),
        physical_provider: chain.provider.to_string(),
        root_site: chain.root_site.id.to_string(),
        region: chain.root_site.region.clone(),
        tiers: chain.links.len(),
        sellers: who
            .is_admin()
            .then(|| chain.links.iter().map(|c| c.seller.to_string()).collect()),
        chain: links,
        resold,
    })
}

// ---- health and documents ---------------------------------------------------

/// Liveness and the journal position of this instance. No token needed.
#[utoipa::path(get, path = "/healthz", tag = "service",
    responses((status = 200, description = "The service answers", body = Health)))]
pub async fn healthz(State(app): State<AppState>) -> Res {
    let seq = read(&app, |s| s.seq).await?;
    Ok(json(
        StatusCode::OK,
        &Health {
            status: "ok".into(),
            backend: app.store.backend_name().into(),
            seq,
        },
    ))
}

// ---- GPU classes, parties, sites -------------------------------------------

/// GPU classes.
#[utoipa::path(get, path = "/gpus", tag = "directory",
    responses((status = 200, description = "Every GPU class", body = Vec<GpuView>)))]
pub async fn list_gpus(State(app): State<AppState>, _who: Principal, q: QueryMap) -> Res {
    q.only(&[])?;
    let v: Vec<GpuView> = read(&app, |s| {
        s.ledger.gpu_classes().iter().map(GpuView::from).collect()
    })
    .await?;
    Ok(json(StatusCode::OK, &v))
}

/// Adds a GPU class (admin).
#[utoipa::path(post, path = "/gpus", tag = "directory", request_body = GpuIn,
    responses((status = 201, description = "Added", body = GpuView)))]
pub async fn create_gpu(
    State(app): State<AppState>,
    who: Principal,
    key: IdemKey,
    b: JsonBody<GpuIn>,
) -> Res {
    if !who.is_admin() {
        return Err(Problem::forbidden(
            "only an admin token may add GPU classes",
        ));
    }
    let g = b.value.check()?;
    Ok(write(&app, &who, key, b.request_hash, move |st| {
        let view = GpuView::from(&g);
        apply_one(st, Event::Gpu(g), &Principal::Admin)?;
        Ok((StatusCode::CREATED, body(&view)))
    })
    .await)
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
pub async fn create_party(
    State(app): State<AppState>,
    who: Principal,
    key: IdemKey,
    b: JsonBody<PartyIn>,
) -> Res {
    if !who.is_admin() {
        return Err(Problem::forbidden("only an admin token may add parties"));
    }
    let p = b.value.check()?;
    Ok(write(&app, &who, key, b.request_hash, move |st| {
        let view = PartyView::from(&p);
        apply_one(st, Event::Party(p), &Principal::Admin)?;
        Ok((StatusCode::CREATED, body(&view)))
    })
    .await)
}

/// Sites: physical campuses with their installed GPUs.
#[utoipa::path(get, path = "/sites", tag = "directory",
    responses((status = 200, description = "Every site", body = Vec<SiteView>)))]
pub async fn list_sites(State(app): State<AppState>, _who: Principal, q: QueryMap) -> Res {
    q.only(&[])?;
    let v: Vec<SiteView> = read(&app, |s| s.ledger.sites().map(SiteView::from).collect()).await?;
    Ok(json(StatusCode::OK, &v))
}

/// Adds a site (admin).
#[utoipa::path(post, path = "/sites", tag = "directory", request_body = SiteIn,
    responses((status = 201, description = "Added", body = SiteView)))]
pub async fn create_site(
    State(app): State<AppState>,
    who: Principal,
    key: IdemKey,
    b: JsonBody<SiteIn>,
) -> Res {
    if !who.is_admin() {
        return Err(Problem::forbidden("only an admin token may add sites"));
    }
    let s = b.value.check()?;
    Ok(write(&app, &who, key, b.request_hash, move |st| {
        let view = SiteView::from(&s);
        apply_one(st, Event::Site(s), &Principal::Admin)?;
        Ok((StatusCode::CREATED, body(&view)))
    })
    .await)
}

// ---- contracts -------------------------------------------------------------

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

fn sell_check(who: &Principal, seller: &Id) -> Result<(), Problem> {
    if who.acts_for(seller) {
        Ok(())
    } else {
        Err(Problem::forbidden(format!(
            "a party creates only what it sells: seller is {seller:?}, the token is {}'s",
            who.party().map(Id::as_str).unwrap_or("?")
        )))
    }
}

/// Creates a contract sold from the seller's site (`site`) or resold from a
/// contract the seller holds (`backed_by`). A party may only sell.
#[utoipa::path(post, path = "/contracts", tag = "contracts", request_body = ContractIn,
    responses((status = 201, description = "Created", body = ContractView)))]
pub async fn create_contract(
    State(app): State<AppState>,
    who: Principal,
    key: IdemKey,
    b: JsonBody<ContractIn>,
) -> Res {
    let c = b.value.check()?;
    sell_check(&who, &c.seller)?;
    let w = who.clone();
    Ok(write(&app, &who, key, b.request_hash, move |st| {
        let id = c.id.clone();
        backing_visible(
            &st.state().ledger,
            ItemRef::Contract(id.clone()),
            &c.source,
            &w,
        )?;
        apply_one(st, Event::Contract(c), &w)?;
        let l = &st.state().ledger;
        let view = contract_view(l, l.contract(&id).expect("just added").contract, &w);
        Ok((StatusCode::CREATED, body(&view)))
    })
    .await)
}

fn visible_contract<'a>(l: &'a Ledger, id: &Id, who: &Principal) -> Result<&'a Contract, Problem> {
    match l.contract(id) {
        Some(info) if can_see(who, info.contract) => Ok(info.contract),
        _ => Err(Problem::not_found(format!(
            "no contract {:?} that this token may see",
            id.as_str()
        ))),
    }
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
    q.only(&[])?;
    let id = path_id("contract", &raw)?;
    let v = read(&app, |s| {
        visible_contract(&s.ledger, &id, &who).map(|c| contract_view(&s.ledger, c, &who))
    })
    .await??;
    Ok(json(StatusCode::OK, &v))
}

/// Tops up a contract from `effective` to its end (its seller, or admin).
#[utoipa::path(post, path = "/contracts/{id}/amendments", tag = "contracts",
    params(("id" = String, Path, description = "Contract id")),
    request_body = ContractAmendmentIn,
    responses((status = 201, description = "Amended; the contract as it is now", body = ContractView)))]
pub async fn amend_contract(
    State(app): State<AppState>,
    who: Principal,
    key: IdemKey,
    PathId(raw): PathId,
    b: JsonBody<ContractAmendmentIn>,
) -> Res {
    let id = path_id("contract", &raw)?;
    let a: Amendment = b.value.check(id.clone())?;
    let w = who.clone();
    Ok(write(&app, &who, key, b.request_hash, move |st| {
        let c = visible_contract(&st.state().ledger, &id, &w)?;
        if !w.acts_for(&c.seller) {
            return Err(Problem::forbidden(
                "only the seller of a contract may top it up",
            ));
        }
        apply_one(st, Event::Amendment(a), &w)?;
        let l = &st.state().ledger;
        Ok((
            StatusCode::CREATED,
            body(&contract_view(
                l,
                l.contract(&id).expect("exists").contract,
                &w,
            )),
        ))
    })
    .await)
}

/// Resells part of a contract: the caller must be its buyer (or admin);
/// the new contract's seller is that buyer and it is backed by this one.
#[utoipa::path(post, path = "/contracts/{id}/resales", tag = "contracts",
    params(("id" = String, Path, description = "The contract to resell from")),
    request_body = ResaleIn,
    responses((status = 201, description = "The resale", body = ContractView)))]
pub async fn resell_contract(
    State(app): State<AppState>,
    who: Principal,
    key: IdemKey,
    PathId(raw): PathId,
    b: JsonBody<ResaleIn>,
) -> Res {
    let backing = path_id("contract", &raw)?;
    let (id, buyer, gpus, window, price, resale) = b.value.check(&backing)?;
    let w = who.clone();
    Ok(write(&app, &who, key, b.request_hash, move |st| {
        let held = visible_contract(&st.state().ledger, &backing, &w)?;
        if !w.acts_for(&held.buyer) {
            return Err(Problem::forbidden(
                "only the buyer of a contract may resell it",
            ));
        }
        let c = Contract {
            id: id.clone(),
            seller: held.buyer.clone(),
            buyer,
            gpu: held.gpu.clone(),
            gpus: cascade_core::Gpus::new("gpus", gpus).expect("checked"),
            window,
            price_per_gpu_hour: price,
            source: Source::BackedBy(backing.clone()),
            resale,
        };
        apply_one(st, Event::Contract(c), &w)?;
        let l = &st.state().ledger;
        Ok((
            StatusCode::CREATED,
            body(&contract_view(
                l,
                l.contract(&id).expect("added").contract,
                &w,
            )),
        ))
    })
    .await)
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
    q.only(&[])?;
    let id = path_id("contract", &raw)?;
    let v = read(&app, |s| {
        visible_contract(&s.ledger, &id, &who)?;
        Ok::<_, Problem>(chain_view(&s.ledger, &id, &who).expect("visible contract has a chain"))
    })
    .await??;
    Ok(json(StatusCode::OK, &v))
}

// ---- commitments -------------------------------------------------------------

/// Commitments the caller is buyer or seller of (admin: all).
#[utoipa::path(get, path = "/commitments", tag = "commitments",
    responses((status = 200, description = "Commitments", body = Vec<CommitmentView>)))]
pub async fn list_commitments(State(app): State<AppState>, who: Principal, q: QueryMap) -> Res {
    q.only(&[])?;
    let v: Vec<CommitmentView> = read(&app, |s| {
        s.ledger
            .commitments()
            .filter(|c| who.acts_for(&c.buyer) || who.acts_for(&c.seller))
            .map(|c| commitment_view(&s.ledger, &c.id))
            .collect()
    })
    .await?;
    Ok(json(StatusCode::OK, &v))
}

fn visible_commitment(l: &Ledger, id: &Id, who: &Principal) -> Result<(), Problem> {
    match l.commitment(id) {
        Some((c, _)) if who.acts_for(&c.buyer) || who.acts_for(&c.seller) => Ok(()),
        _ => Err(Problem::not_found(format!(
            "no commitment {:?} that this token may see",
            id.as_str()
        ))),
    }
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
    q.only(&[])?;
    let id = path_id("commitment", &raw)?;
    let v = read(&app, |s| {
        visible_commitment(&s.ledger, &id, &who).map(|_| commitment_view(&s.ledger, &id))
    })
    .await??;
    Ok(json(StatusCode::OK, &v))
}

/// Records a take-or-pay commitment (its seller, or admin).
#[utoipa::path(post, path = "/commitments", tag = "commitments", request_body = CommitmentIn,
    responses((status = 201, description = "Created", body = CommitmentView)))]
pub async fn create_commitment(
    State(app): State<AppState>,
    who: Principal,
    key: IdemKey,
    b: JsonBody<CommitmentIn>,
) -> Res {
    let c = b.value.check()?;
    sell_check(&who, &c.seller)?;
    let w = who.clone();
    Ok(write(&app, &who, key, b.request_hash, move |st| {
        let id = c.id.clone();
        apply_one(st, Event::Commitment(c), &w)?;
        Ok((
            StatusCode::CREATED,
            body(&commitment_view(&st.state().ledger, &id)),
        ))
    })
    .await)
}

/// Adds USD to a commitment (its seller, or admin).
#[utoipa::path(post, path = "/commitments/{id}/amendments", tag = "commitments",
    params(("id" = String, Path, description = "Commitment id")),
    request_body = CommitmentAmendmentIn,
    responses((status = 201, description = "Amended; the commitment as it is now", body = CommitmentView)))]
pub async fn amend_commitment(
    State(app): State<AppState>,
    who: Principal,
    key: IdemKey,
    PathId(raw): PathId,
    b: JsonBody<CommitmentAmendmentIn>,
) -> Res {
    let id = path_id("commitment", &raw)?;
    let a = b.value.check(id.clone())?;
    let w = who.clone();
    Ok(write(&app, &who, key, b.request_hash, move |st| {
        visible_commitment(&st.state().ledger, &id, &w)?;
        let (c, _) = st.state().ledger.commitment(&id).expect("visible");
        if !w.acts_for(&c.seller) {
            return Err(Problem::forbidden(
                "only the seller of a commitment may amend it",
            ));
        }
        debug_assert!(matches!(a.target, AmendmentTarget::Commitment { .. }));
        apply_one(st, Event::Amendment(a), &w)?;
        Ok((
            StatusCode::CREATED,
            body(&commitment_view(&st.state().ledger, &id)),
        ))
    })
    .await)
}

// ---- offers and clauses --------------------------------------------------------

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
pub async fn create_offer(
    State(app): State<AppState>,
    who: Principal,
    key: IdemKey,
    b: JsonBody<OfferIn>,
) -> Res {
    let o = b.value.check()?;
    sell_check(&who, &o.seller)?;
    let w = who.clone();
    Ok(write(&app, &who, key, b.request_hash, move |st| {
        let id = o.id.clone();
        backing_visible(
            &st.state().ledger,
            ItemRef::Offer(id.clone()),
            &o.source,
            &w,
        )?;
        apply_one(st, Event::Offer(o), &w)?;
        let l = &st.state().ledger;
        Ok((
            StatusCode::CREATED,
            body(&offer_view(l, l.offer(&id).expect("added"), &w)),
        ))
    })
    .await)
}

/// Clauses naming the caller (admin: all).
#[utoipa::path(get, path = "/clauses", tag = "clauses",
    responses((status = 200, description = "Clauses", body = Vec<ClauseView>)))]
pub async fn list_clauses(State(app): State<AppState>, who: Principal, q: QueryMap) -> Res {
    q.only(&[])?;
    let v: Vec<ClauseView> = read(&app, |s| {
        s.ledger
            .clauses()
            .iter()
            .filter(|c| who.party().is_none_or(|p| clause_names(c, p)))
            .map(ClauseView::from)
            .collect()
    })
    .await?;
    Ok(json(StatusCode::OK, &v))
}

/// Adds a clause. Admin, or the party it binds: the buyer of `exclusive`,
/// `rofr` and `avoid_provider`, the seller of `no_resale_to`.
#[utoipa::path(post, path = "/clauses", tag = "clauses", request_body = ClauseIn,
    responses((status = 201, description = "Created", body = ClauseView)))]
pub async fn create_clause(
    State(app): State<AppState>,
    who: Principal,
    key: IdemKey,
    b: JsonBody<ClauseIn>,
) -> Res {
    let c = b.value.check()?;
    let bound = match &c {
        Clause::Exclusive { buyer, .. }
        | Clause::Rofr { buyer, .. }
        | Clause::AvoidProvider { buyer, .. } => buyer,
        Clause::NoResaleTo { seller, .. } => seller,
    };
    if !who.acts_for(bound) {
        return Err(Problem::forbidden(format!(
            "a party may add only clauses that bind itself (this one binds {bound:?})"
        )));
    }
    let w = who.clone();
    Ok(write(&app, &who, key, b.request_hash, move |st| {
        let view = ClauseView::from(&c);
        apply_one(st, Event::Clause(c), &w)?;
        Ok((StatusCode::CREATED, body(&view)))
    })
    .await)
}

// ---- exposure and plan -------------------------------------------------------------

fn now() -> Instant {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Instant::from_unix_seconds(secs)
}

/// A buyer's true concentration at an instant (a party: only itself).
#[utoipa::path(get, path = "/exposure", tag = "analysis",
    params(
        ("buyer" = String, Query, description = "The buyer (party id)"),
        ("at" = Option<String>, Query, description = "A date (2026-01-01) or RFC 3339 date-time; default now"),
    ),
    responses((status = 200, description = "The exposure document", body = ExposureView)))]
pub async fn exposure(State(app): State<AppState>, who: Principal, q: QueryMap) -> Res {
    q.only(&["buyer", "at"])?;
    let raw = q
        .get("buyer")
        .ok_or_else(|| Problem::bad_param("buyer", "required: the buyer's party id"))?;
    let buyer = Id::new(raw)
        .map_err(|_| Problem::bad_param("buyer", format!("{raw:?} is not a valid party id")))?;
    let at = match q.get("at") {
        None => now(),
        Some(s) => cascade_format::parse_instant(s).map_err(|e| {
            Problem::bad_param(
                "at",
                format!("{e} (use 2026-01-01 or 2026-02-15T00:00:00Z)"),
            )
        })?,
    };
    if !who.acts_for(&buyer) {
        return Err(Problem::forbidden("a party may see only its own exposure"));
    }
    let v = read(&app, |s| {
        if s.ledger.party(&buyer).is_none() {
            return Err(Problem::not_found(format!("no party {:?}", buyer.as_str())));
        }
        Ok(ExposureView::of(&s.ledger.exposure(&buyer, at)))
    })
    .await??;
    Ok(json(StatusCode::OK, &v))
}

/// Plans purchases for a buyer from the open offers (MILP on HiGHS, or
/// greedy), under the demands, policy, clauses and commitments in the store.
#[utoipa::path(post, path = "/plan", tag = "analysis", request_body = PlanIn,
    responses((status = 200, description = "The plan (status optimal, feasible or infeasible)", body = PlanView)))]
pub async fn plan(State(app): State<AppState>, who: Principal, b: JsonBody<PlanIn>) -> Res {
    let mut c = Check::new();
    let buyer = c.id("buyer", &b.value.buyer);
    let buyer = c.done(buyer)?;
    if !who.acts_for(&buyer) {
        return Err(Problem::forbidden(
            "a party may plan only its own purchases",
        ));
    }
    let strategy = match b.value.strategy.unwrap_or_default() {
        StrategyIn::Optimal => cascade_plan::Strategy::Optimal,
        StrategyIn::Greedy => cascade_plan::Strategy::Greedy,
    };
    let (scenario, ledger) = read(&app, |s| {
        if s.ledger.party(&buyer).is_none() {
            return Err(Problem::not_found(format!("no party {:?}", buyer.as_str())));
        }
        Ok((s.scenario("store"), s.ledger.clone()))
    })
    .await??;
    let b2 = buyer.clone();
    let result =
        tokio::task::spawn_blocking(move || cascade_plan::plan(&scenario, &ledger, &b2, strategy))
            .await
            .map_err(|_| Problem::unavailable("the planner stopped unexpectedly"))?;
    let r = match result {
        Ok(r) => r,
        Err(cascade_plan::PlanError::UnknownBuyer { buyer, .. }) => {
            return Err(Problem::not_found(format!("no party {buyer:?}")));
        }
        Err(cascade_plan::PlanError::Solver(m)) => {
            return Err(Problem::unavailable(format!("the solver failed: {m}")));
        }
        Err(e) => {
            return Err(Problem::invalid(
                e.to_string(),
                vec![FieldError {
                    field: "buyer".into(),
                    pointer: Some("/buyer".into()),
                    message: e.to_string(),
                }],
            ));
        }
    };
    let reason = match &r.status {
        cascade_plan::PlanStatus::Infeasible { reason } => Some(reason.clone()),
        _ => None,
    };
    let view = PlanView {
        buyer: r.buyer.to_string(),
        strategy: r.strategy.as_str().to_string(),
        status: r.status.as_str().to_string(),
        reason,
        objective_usd: usd_text(r.objective_usd),
        purchases_usd: usd_text(r.purchases_usd),
        shortfall_usd: usd_text(r.shortfall_usd),
        purchases: r
            .purchases
            .iter()
            .map(|p| PurchaseView {
                offer: p.offer.to_string(),
                gpus: p.gpus,
                cost_usd: usd_text(p.cost_usd),
                seller: p.seller.to_string(),
                provider: p.provider.to_string(),
                site: p.site.to_string(),
                region: p.region.clone(),
                start: p.window.start().to_string(),
                end: p.window.end().to_string(),
            })
            .collect(),
        solve_seconds: r.solve_seconds,
    };
    Ok(json(StatusCode::OK, &view))
}

// ---- whole scenarios -------------------------------------------------------------

/// Loads a whole scenario document (the file format as JSON) atomically:
/// every item is appended, or nothing (admin).
#[utoipa::path(post, path = "/scenarios", tag = "directory",
    request_body(content = Object, description = "A scenario document: the scenario format as JSON (same field names; times as strings)"),
    responses((status = 201, description = "Loaded", body = ScenarioLoaded)))]
pub async fn load_scenario(
    State(app): State<AppState>,
    who: Principal,
    key: IdemKey,
    req: Request,
) -> Res {
    if !who.is_admin() {
        return Err(Problem::forbidden("only an admin token may load scenarios"));
    }
    let (value, hash) = read_json_value(req).await?;
    let text = value.to_string();
    let s = cascade_format::parse_json(&text, "request").map_err(|e| {
        let errors: Vec<FieldError> = e
            .diagnostics()
            .iter()
            .map(|d| {
                let (field, message) = match d.message.split_once(": ") {
                    Some((p, m)) if !p.contains(' ') => (p.to_string(), m.to_string()),
                    _ => ("(scenario)".to_string(), d.message.clone()),
                };
                FieldError {
                    pointer: (field != "(scenario)").then(|| crate::problem::pointer_of(&field)),
                    field,
                    message,
                }
            })
            .collect();
        Problem::invalid(format!("the scenario document is invalid: {e}"), errors)
    })?;
    let errors = scenario_limits(&s);
    if !errors.is_empty() {
        return Err(Problem::invalid(
            format!(
                "{} value(s) outside the service's limits (see errors)",
                errors.len()
            ),
            errors,
        ));
    }
    let records = cascade_store::scenario_records(&s).map_err(|r| Problem::conflict(&r))?;
    let n = records.len();
    Ok(write(&app, &who, key, hash, move |st| {
        st.apply(records).map_err(|r| Problem::conflict(&r))?;
        Ok((
            StatusCode::CREATED,
            body(&ScenarioLoaded {
                records: n,
                seq: st.seq_after(),
            }),
        ))
    })
    .await)
}
