//! Every access rule of the service, in one place: who may see which item,
//! who may create what, and what is redacted from what a party is shown.
//! Handlers ask these functions and never decide access themselves, so a
//! rule changes here or nowhere.
//!
//! The rules, in short: an admin may do everything. A party sees its own
//! contracts (as buyer or seller) and commitments, the clauses naming it,
//! the directory (GPU classes, parties, sites) and the open offers; it may
//! create only what it sells and clauses that bind itself; it asks exposure
//! and plans only for itself. Someone else's contract or commitment is a
//! 404 (its existence is not disclosed), and upstream parties and prices
//! are never shown to a downstream buyer: not in chains, not in contract
//! views, not in refusals.

use cascade_core::{
    Clause, Commitment, Contract, Id, ItemRef, Ledger, Rejection, Source, Violation,
};

use axum::http::Method;
use cascade_format::IdText;
use cascade_format::report::{ChainDoc, Viewer};

use crate::extract::Principal;
use crate::problem::Problem;

/// May `who` see this contract? Its buyer and seller (and admins) may.
pub fn can_see(who: &Principal, c: &Contract) -> bool {
    party_to(who, &c.buyer, &c.seller)
}

fn party_to(who: &Principal, buyer: &Id, seller: &Id) -> bool {
    who.acts_for(buyer) || who.acts_for(seller)
}

/// Does this clause name `p` (so that `p` may see it)?
pub fn clause_names(c: &Clause, p: &Id) -> bool {
    match c {
        Clause::Exclusive { buyer, seller, .. } => buyer == p || seller == p,
        Clause::Rofr { buyer, holder, .. } => buyer == p || holder == p,
        Clause::NoResaleTo { seller, party } => seller == p || party == p,
        Clause::AvoidProvider { buyer, provider } => buyer == p || provider == p,
    }
}

/// Clauses `who` may list: those naming it (admins: all).
pub fn may_see_clause(who: &Principal, c: &Clause) -> bool {
    who.party().is_none_or(|p| clause_names(c, p))
}

/// `Ok` if `who` acts for `party`, else a 403 saying why.
fn acting_for(who: &Principal, party: &Id, why: impl FnOnce() -> String) -> Result<(), Problem> {
    if who.acts_for(party) {
        Ok(())
    } else {
        Err(Problem::forbidden(why()))
    }
}

/// A clause may be added by the party it binds: the buyer of `exclusive`,
/// `rofr` and `avoid_provider`, the seller of `no_resale_to`.
pub fn may_add_clause(who: &Principal, c: &Clause) -> Result<(), Problem> {
    let bound = match c {
        Clause::Exclusive { buyer, .. }
        | Clause::Rofr { buyer, .. }
        | Clause::AvoidProvider { buyer, .. } => buyer,
        Clause::NoResaleTo { seller, .. } => seller,
    };
    acting_for(who, bound, || {
        format!("a party may add only clauses that bind itself (this one binds {bound:?})")
    })
}

/// The directory (GPU classes, parties, sites) and whole scenarios are
/// written by admins only; `what` completes "only an admin token may ...".
pub fn admin_only(who: &Principal, what: &str) -> Result<(), Problem> {
    if who.is_admin() {
        Ok(())
    } else {
        Err(Problem::forbidden(format!(
            "only an admin token may {what}"
        )))
    }
}

/// A read-only token reads: `GET` and `HEAD` anywhere, and `POST` on the
/// plan routes, which compute an answer and store nothing. Everything else
/// (every write, token management included) is a 403 before the body is read.
pub fn read_only_may(method: &Method, route: Option<&str>) -> Result<(), Problem> {
    let computes =
        *method == Method::POST && route.is_some_and(|r| r == "/plan" || r.starts_with("/plan/"));
    if *method == Method::GET || *method == Method::HEAD || computes {
        Ok(())
    } else {
        Err(Problem::forbidden(format!(
            "this token is read-only: it may not {method} {}",
            route.unwrap_or("this route")
        )))
    }
}

/// A party creates only what it sells.
pub fn may_sell(who: &Principal, seller: &Id) -> Result<(), Problem> {
    acting_for(who, seller, || {
        format!(
            "a party creates only what it sells: seller is {seller:?}, the token is {}'s",
            who.party().map(Id::as_str).unwrap_or("?")
        )
    })
}

/// Only the seller of a contract or commitment may top it up.
pub fn may_top_up(who: &Principal, seller: &Id, kind: &str) -> Result<(), Problem> {
    acting_for(who, seller, || {
        format!("only the seller of a {kind} may top it up")
    })
}

/// Only a site's owner builds it out (expansions and retirements).
pub fn may_build(who: &Principal, owner: &Id) -> Result<(), Problem> {
    acting_for(who, owner, || {
        format!("only the site's owner ({owner:?}) or an admin may change its capacity")
    })
}

/// Only the buyer of a contract may resell it.
pub fn may_resell(who: &Principal, held: &Contract) -> Result<(), Problem> {
    acting_for(who, &held.buyer, || {
        "only the buyer of a contract may resell it".into()
    })
}

/// Exposure and plans: a party asks only for itself; `what` completes
/// "a party may ...".
pub fn own_analysis(who: &Principal, buyer: &Id, what: &str) -> Result<(), Problem> {
    acting_for(who, buyer, || format!("a party may {what}"))
}

/// `found` if `who` may see it; otherwise a 404 that does not say whether
/// it exists.
fn visible<'a, T>(
    kind: &str,
    id: &Id,
    found: Option<&'a T>,
    may_see: impl FnOnce(&T) -> bool,
) -> Result<&'a T, Problem> {
    found.filter(|x| may_see(x)).ok_or_else(|| {
        Problem::not_found(format!(
            "no {kind} {:?} that this token may see",
            id.as_str()
        ))
    })
}

/// The contract, if `who` may see it; otherwise a 404.
pub fn visible_contract<'a>(
    l: &'a Ledger,
    id: &Id,
    who: &Principal,
) -> Result<&'a Contract, Problem> {
    visible("contract", id, l.contract(id).map(|i| i.contract), |c| {
        can_see(who, c)
    })
}

/// The commitment, if `who` may see it; otherwise a 404.
pub fn visible_commitment<'a>(
    l: &'a Ledger,
    id: &Id,
    who: &Principal,
) -> Result<&'a Commitment, Problem> {
    visible("commitment", id, l.commitment(id).map(|(c, _)| c), |c| {
        may_see_commitment(who, c)
    })
}

/// Commitments `who` may list: as contracts, their buyer and seller.
pub fn may_see_commitment(who: &Principal, c: &Commitment) -> bool {
    party_to(who, &c.buyer, &c.seller)
}

/// A party may resell (or offer) only from a contract it can see; any
/// other `backed_by` reads as an unknown contract, whether it exists or not.
pub fn backing_visible(
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

/// What a contract or offer is resold from is the seller's own holding:
/// shown to the seller (and admins), hidden from the buyer and everyone
/// else.
pub fn redact_backing(who: &Principal, seller: &Id, backed_by: &mut Option<IdText>) {
    if !who.acts_for(seller) {
        *backed_by = None;
    }
}

/// A chain as `who` may see it: the rule itself is the chain document's
/// (`ChainDoc::redact`: links `who` is not a party to keep only tier,
/// class, GPUs and window; backing contracts for their seller; resales
/// `who` is not a party to are left out; sellers for admins).
pub fn redact_chain(doc: &mut ChainDoc, who: &Principal) {
    doc.redact(who);
}

impl Viewer for Principal {
    fn is_admin(&self) -> bool {
        Principal::is_admin(self)
    }
    fn acts_for(&self, party: &str) -> bool {
        match self {
            Principal::Admin => true,
            Principal::Party(p) => p.as_str() == party,
        }
    }
}

/// A refusal as `who` may see it, as the chain view shows chains:
/// `no_resale_to` chains keep only the first link (the caller's own
/// request) and contracts `who` is a party to, and the clause's seller is
/// named only when `who` can know it is in this chain (a party to one of
/// the visible links, or the physical provider, which contract views show).
/// An upstream reseller stays unnamed.
pub fn refusal(l: &Ledger, r: Rejection, who: &Principal) -> Problem {
    if who.is_admin() {
        return Problem::conflict(&r);
    }
    let views = r
        .violations
        .into_iter()
        .map(|v| match v {
            Violation::NoResaleTo {
                item,
                seller,
                party,
                chain,
            } => {
                let mut known: Vec<&Id> = vec![&party];
                known.extend(who.party());
                let mut visible = Vec::new();
                for (i, c) in chain.into_iter().enumerate() {
                    let info = l.contract(&c);
                    if let Some(info) = &info {
                        known.push(info.provider);
                    }
                    match info {
                        Some(info) if can_see(who, info.contract) => {
                            known.push(&info.contract.seller);
                            known.push(&info.contract.buyer);
                            visible.push(c);
                        }
                        // The caller's own request, not in the ledger.
                        None if i == 0 => visible.push(c),
                        _ => {}
                    }
                }
                let seller_known = known.contains(&&seller);
                let v = Violation::NoResaleTo {
                    item,
                    seller,
                    party,
                    chain: visible,
                };
                let mut view = crate::problem::violation_view(&v);
                if !seller_known {
                    let Violation::NoResaleTo {
                        item, party, chain, ..
                    } = &v
                    else {
                        unreachable!("built above")
                    };
                    view.facts.remove("seller");
                    view.message = format!(
                        "{item}: violates a no_resale_to clause of a party upstream: this capacity may not reach {party:?} (chain: {})",
                        chain.iter().map(Id::as_str).collect::<Vec<_>>().join(" <- ")
                    );
                }
                view
            }
            other => crate::problem::violation_view(&other),
        })
        .collect();
    Problem::conflict_views(views)
}
