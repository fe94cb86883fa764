//! Clauses (exclusive, ROFR, no-resale-to, avoid-provider): listed to the
//! parties they name, added by the party they bind.

use axum::extract::State;
use axum::http::StatusCode;
use cascade_core::{Clause, Event, Id, Instant};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Post, Res, json, read};
use crate::check::{Check, IdText, TimeText};
use crate::extract::{Principal, QueryMap};
use crate::problem::Problem;
use crate::{AppState, access};

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ClauseKind {
    Exclusive,
    Rofr,
    NoResaleTo,
    AvoidProvider,
}

/// A clause; which fields it needs depends on `kind` (see the scenario format).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClauseIn {
    pub kind: ClauseKind,
    #[serde(default)]
    pub buyer: Option<IdText>,
    #[serde(default)]
    pub seller: Option<IdText>,
    #[serde(default)]
    pub holder: Option<IdText>,
    #[serde(default)]
    pub party: Option<IdText>,
    #[serde(default)]
    pub provider: Option<IdText>,
    #[serde(default)]
    pub until: Option<TimeText>,
}

impl ClauseIn {
    pub fn check(&self) -> Result<Clause, Problem> {
        let mut c = Check::new();
        let need = |c: &mut Check, f: &str, v: &Option<IdText>| -> Option<Id> {
            match v {
                Some(s) => c.id(f, s),
                None => {
                    c.fail(f, format!("required for a {} clause", self.kind_str()));
                    None
                }
            }
        };
        let forbid = |c: &mut Check, f: &str, v: &Option<IdText>| {
            if v.is_some() {
                c.fail(f, format!("not a field of a {} clause", self.kind_str()));
            }
        };
        let until = |c: &mut Check| -> Option<Instant> {
            match &self.until {
                Some(s) => c.time("until", s),
                None => {
                    c.fail(
                        "until",
                        format!("required for a {} clause", self.kind_str()),
                    );
                    None
                }
            }
        };
        let v = match self.kind {
            ClauseKind::Exclusive => {
                let (b, s, u) = (
                    need(&mut c, "buyer", &self.buyer),
                    need(&mut c, "seller", &self.seller),
                    until(&mut c),
                );
                for (f, v) in [
                    ("holder", &self.holder),
                    ("party", &self.party),
                    ("provider", &self.provider),
                ] {
                    forbid(&mut c, f, v);
                }
                (|| {
                    Some(Clause::Exclusive {
                        buyer: b?,
                        seller: s?,
                        until: u?,
                    })
                })()
            }
            ClauseKind::Rofr => {
                let (b, h, u) = (
                    need(&mut c, "buyer", &self.buyer),
                    need(&mut c, "holder", &self.holder),
                    until(&mut c),
                );
                for (f, v) in [
                    ("seller", &self.seller),
                    ("party", &self.party),
                    ("provider", &self.provider),
                ] {
                    forbid(&mut c, f, v);
                }
                (|| {
                    Some(Clause::Rofr {
                        buyer: b?,
                        holder: h?,
                        until: u?,
                    })
                })()
            }
            ClauseKind::NoResaleTo => {
                let (s, p) = (
                    need(&mut c, "seller", &self.seller),
                    need(&mut c, "party", &self.party),
                );
                for (f, v) in [
                    ("buyer", &self.buyer),
                    ("holder", &self.holder),
                    ("provider", &self.provider),
                ] {
                    forbid(&mut c, f, v);
                }
                if self.until.is_some() {
                    c.fail("until", "not a field of a no_resale_to clause");
                }
                (|| {
                    Some(Clause::NoResaleTo {
                        seller: s?,
                        party: p?,
                    })
                })()
            }
            ClauseKind::AvoidProvider => {
                let (b, p) = (
                    need(&mut c, "buyer", &self.buyer),
                    need(&mut c, "provider", &self.provider),
                );
                for (f, v) in [
                    ("seller", &self.seller),
                    ("holder", &self.holder),
                    ("party", &self.party),
                ] {
                    forbid(&mut c, f, v);
                }
                if self.until.is_some() {
                    c.fail("until", "not a field of an avoid_provider clause");
                }
                (|| {
                    Some(Clause::AvoidProvider {
                        buyer: b?,
                        provider: p?,
                    })
                })()
            }
        };
        c.done(v)
    }

    fn kind_str(&self) -> &'static str {
        match self.kind {
            ClauseKind::Exclusive => "exclusive",
            ClauseKind::Rofr => "rofr",
            ClauseKind::NoResaleTo => "no_resale_to",
            ClauseKind::AvoidProvider => "avoid_provider",
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClauseView {
    pub kind: ClauseKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub party: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

impl From<&Clause> for ClauseView {
    fn from(c: &Clause) -> Self {
        let s = |i: &Id| Some(i.to_string());
        let mut v = ClauseView {
            kind: ClauseKind::Exclusive,
            buyer: None,
            seller: None,
            holder: None,
            party: None,
            provider: None,
            until: None,
        };
        match c {
            Clause::Exclusive {
                buyer,
                seller,
                until,
            } => {
                v.buyer = s(buyer);
                v.seller = s(seller);
                v.until = Some(until.to_string());
            }
            Clause::Rofr {
                buyer,
                holder,
                until,
            } => {
                v.kind = ClauseKind::Rofr;
                v.buyer = s(buyer);
                v.holder = s(holder);
                v.until = Some(until.to_string());
            }
            Clause::NoResaleTo { seller, party } => {
                v.kind = ClauseKind::NoResaleTo;
                v.seller = s(seller);
                v.party = s(party);
            }
            Clause::AvoidProvider { buyer, provider } => {
                v.kind = ClauseKind::AvoidProvider;
                v.buyer = s(buyer);
                v.provider = s(provider);
            }
        }
        v
    }
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
            .filter(|c| access::may_see_clause(&p.who, c))
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
pub async fn create_clause(p: Post<ClauseIn>) -> Res {
    let c = p.body.value.check()?;
    access::may_add_clause(&p.who, &c)?;
    let view = ClauseView::from(&c);
    p.append(move |_, _| Ok(Event::Clause(c)), move |_, _| view)
        .await
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_clauses, create_clause))
}
