//! Sites: `GET /sites` and `GET /sites/{id}` with its expansions (anyone
//! with a token), `POST /sites` (admin), and `GET /sites/{id}/timeline`,
//! the monthly build-out. Bodies are the scenario format's `SiteDoc`;
//! expansions are written through `POST /expansions`.

use axum::extract::State;
use axum::http::StatusCode;
use cascade_core::{Event, Ledger, Month, Site};
use cascade_format::report::{TimelineDoc, timeline_span};
use cascade_format::{ExpansionDoc, SiteDoc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Extended, PathId, Post, Res, json, read, read_item};
use crate::check::{Bounds, accept};
use crate::extract::{Principal, QueryMap, path_id};
use crate::problem::Problem;
use crate::{AppState, access};

/// Sites: physical campuses with their installed GPUs.
#[utoipa::path(get, path = "/sites", tag = "directory",
    responses((status = 200, description = "Every site", body = Vec<SiteDoc>)))]
pub async fn list_sites(State(app): State<AppState>, _who: Principal, q: QueryMap) -> Res {
    q.only(&[])?;
    let v: Vec<SiteDoc> = read(&app, |s| s.ledger.sites().map(SiteDoc::from).collect()).await?;
    Ok(json(StatusCode::OK, &v))
}

/// Adds a site (admin).
#[utoipa::path(post, path = "/sites", tag = "directory", request_body = SiteDoc,
    responses((status = 201, description = "Added", body = SiteDoc)))]
pub async fn create_site(p: Post<SiteDoc>) -> Res {
    access::admin_only(&p.who, "add sites")?;
    let site = accept(&p.body.value, "site", Bounds::site)?;
    let view = SiteDoc::from(&site);
    p.append(move |_, _| Ok(Event::Site(site)), move |_, _| view)
        .await
}

/// What the API adds to a site document: its build-out, so that a reader
/// sees what the site will have, not only what it started with.
#[derive(Debug, Serialize, ToSchema)]
pub struct SiteFacts {
    /// Its expansions (and retirements) in the order accepted.
    pub expansions: Vec<ExpansionDoc>,
}

/// A site as `GET /sites/{id}` shows it.
pub type SiteView = Extended<SiteDoc, SiteFacts>;

fn site_view(l: &Ledger, site: &Site) -> SiteView {
    Extended {
        doc: SiteDoc::from(site),
        more: SiteFacts {
            expansions: l
                .expansions_of(&site.id)
                .into_iter()
                .map(ExpansionDoc::from)
                .collect(),
        },
    }
}

/// One site with its expansions (anyone with a token: sites are the
/// directory).
#[utoipa::path(get, path = "/sites/{id}", tag = "directory",
    params(("id" = String, Path, description = "Site id")),
    responses((status = 200, description = "The site and its expansions", body = SiteView)))]
pub async fn get_site(
    State(app): State<AppState>,
    _who: Principal,
    PathId(raw): PathId,
    q: QueryMap,
) -> Res {
    read_item(&app, q, "site", &raw, |s, id| {
        s.ledger
            .site(id)
            .map(|site| site_view(&s.ledger, site))
            .ok_or_else(|| Problem::not_found(format!("no site {:?}", id.as_str())))
    })
    .await
}

fn month_param(q: &QueryMap, name: &str) -> Result<Option<Month>, Problem> {
    q.get(name)
        .map(|s| {
            Month::parse(s)
                .map_err(|e| Problem::bad_param(name, format!("{e} (use YYYY-MM, e.g. 2026-01)")))
        })
        .transpose()
}

/// The monthly build-out of one site: the document of `cascade buildout
/// --site S --json`. It holds totals per site and GPU class only (installed,
/// sold, free, power) and names no contract or buyer, so every party may
/// read it; nothing in it depends on who asks.
#[utoipa::path(get, path = "/sites/{id}/timeline", tag = "directory",
    params(
        ("id" = String, Path, description = "Site id"),
        ("from" = Option<String>, Query, description = "First month, YYYY-MM (default: the first month in which any expansion takes effect or any contract starts or ends)"),
        ("to" = Option<String>, Query, description = "Last month, YYYY-MM (default: the last such month)"),
        ("asof" = Option<String>, Query, description = "Also show what is sold but not yet built as of this instant (a date or RFC 3339 date-time)"),
    ),
    responses((status = 200, description = "The timeline document, with this one site", body = TimelineDoc)))]
pub async fn site_timeline(
    State(app): State<AppState>,
    _who: Principal,
    PathId(raw): PathId,
    q: QueryMap,
) -> Res {
    q.only(&["from", "to", "asof"])?;
    let id = path_id("site", &raw)?;
    let from = month_param(&q, "from")?;
    let to = month_param(&q, "to")?;
    let asof = q
        .get("asof")
        .map(|s| {
            cascade_format::parse_instant(s).map_err(|e| {
                Problem::bad_param(
                    "asof",
                    format!("{e} (use 2026-01-01 or 2026-02-15T00:00:00Z)"),
                )
            })
        })
        .transpose()?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(Problem::bad_param("from", format!("{f} is after to {t}")));
    }
    let v = read(&app, |s| {
        let l = &s.ledger;
        if l.site(&id).is_none() {
            return Err(Problem::not_found(format!("no site {:?}", id.as_str())));
        }
        // The CLI's defaults: the scenario's span, or this month.
        let (span_from, span_to) = timeline_span(l).unwrap_or_else(|| {
            let m = Month::of(super::exposure::now());
            (m, m)
        });
        let from = from.unwrap_or(span_from);
        let to = to.unwrap_or(span_to);
        if from > to {
            return Err(Problem::bad_param(
                "from",
                format!("{from} is after to {to} (one of them is the default span)"),
            ));
        }
        let tl = l.timeline(&id, from, to, asof).expect("site checked above");
        Ok(TimelineDoc::of(from, to, asof, &[tl]))
    })
    .await??;
    Ok(json(StatusCode::OK, &v))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sites, create_site))
        .routes(routes!(get_site))
        .routes(routes!(site_timeline))
}
