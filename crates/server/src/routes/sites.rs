//! Sites: `GET /sites` and `GET /sites/{id}` with its expansions (anyone
//! with a token), `POST /sites` (admin), and `GET /sites/{id}/timeline`,
//! the monthly build-out. Bodies are the scenario format's `SiteDoc`;
//! expansions are written through `POST /expansions`.

use cascade_core::{Event, Ledger, Month, Site};
use cascade_format::report::{TimelineDoc, timeline_span};
use cascade_format::{ExpansionDoc, SiteDoc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Extended, Get, GetItem, Post, Res};
use crate::AppState;
use crate::check::Bounds;
use crate::problem::Problem;

/// Sites: physical campuses with their installed GPUs.
#[utoipa::path(get, path = "/sites", tag = "directory",
    responses((status = 200, description = "Every site", body = Vec<SiteDoc>)))]
pub async fn list_sites(r: Get) -> Res {
    r.list(|s, _| -> Vec<SiteDoc> { s.ledger.sites().map(SiteDoc::from).collect() })
        .await
}

/// Adds a site (admin).
#[utoipa::path(post, path = "/sites", tag = "directory", request_body = SiteDoc,
    responses((status = 201, description = "Added", body = SiteDoc)))]
pub async fn create_site(p: Post<SiteDoc>) -> Res {
    p.add_by_admin("add sites", "site", Bounds::site, Event::Site)
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
pub async fn get_site(r: GetItem) -> Res {
    r.read("site", |s, id, _who| {
        s.ledger
            .site(id)
            .map(|site| site_view(&s.ledger, site))
            .ok_or_else(|| Problem::not_found(format!("no site {:?}", id.as_str())))
    })
    .await
}

query! {
    /// The query of `GET /sites/{id}/timeline`.
    pub struct TimelineQuery {
        /// First month, YYYY-MM (default: the first month in which any expansion takes effect or any contract starts or ends)
        from: Option<String>,
        /// Last month, YYYY-MM (default: the last such month)
        to: Option<String>,
        /// Also show what is sold but not yet built as of this instant (a date or RFC 3339 date-time)
        asof: Option<String>,
    }
}

/// The monthly build-out of one site: the document of `cascade buildout
/// --site S --json`. It holds totals per site and GPU class only (installed,
/// sold, free, power) and names no contract or buyer, so every party may
/// read it; nothing in it depends on who asks.
#[utoipa::path(get, path = "/sites/{id}/timeline", tag = "directory",
    params(
        ("id" = String, Path, description = "Site id"),
        TimelineQuery,
    ),
    responses((status = 200, description = "The timeline document, with this one site", body = TimelineDoc)))]
pub async fn site_timeline(r: GetItem<TimelineQuery>) -> Res {
    let q = &r.get.q;
    let id = r.id("site")?;
    let from = q.month("from")?;
    let to = q.month("to")?;
    let asof = q.instant("asof")?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(Problem::bad_param("from", format!("{f} is after to {t}")));
    }
    r.get
        .answer(|s, _| {
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
        .await
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sites, create_site))
        .routes(routes!(get_site))
        .routes(routes!(site_timeline))
}
