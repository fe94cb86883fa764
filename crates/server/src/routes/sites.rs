//! Sites: `GET /sites` (anyone with a token), `POST /sites` (admin).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use cascade_core::{Event, Gpus, Positive, Site};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Post, Res, json, read};
use crate::check::{Check, IdText, limits};
use crate::extract::{Principal, QueryMap};
use crate::problem::Problem;
use crate::{AppState, access};

/// A physical campus or region of one provider.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteIn {
    pub id: IdText,
    /// The physical provider (a party).
    pub owner: IdText,
    pub region: String,
    #[serde(default)]
    pub power_mw: Option<f64>,
    /// Installed GPUs by class (class id → GPUs).
    #[schema(value_type = BTreeMap<String, u32>)]
    pub gpus: BTreeMap<String, i64>,
}

impl SiteIn {
    pub fn check(&self) -> Result<Site, Problem> {
        let mut c = Check::new();
        let id = c.id("id", &self.id);
        let owner = c.id("owner", &self.owner);
        if self.region.is_empty() || self.region.chars().count() > 200 {
            c.fail("region", "must have 1 to 200 characters");
        }
        let power = match self.power_mw {
            None => Some(None),
            Some(p) => c
                .positive_max("power_mw", p, limits::MAX_POWER_MW)
                .map(Some),
        };
        if self.gpus.is_empty() {
            c.fail("gpus", "a site needs at least one installed GPU class");
        }
        let mut gpus = Vec::new();
        for (k, &n) in &self.gpus {
            let f = format!("gpus.{k}");
            let cls = c.class_id(&f, k);
            let n = match Gpus::new("gpus", n) {
                Ok(g) => Some(g),
                Err(_) => {
                    c.fail(
                        &f,
                        format!(
                            "must be a positive number of GPUs (at most {}), got {n}",
                            u32::MAX
                        ),
                    );
                    None
                }
            };
            if let (Some(cls), Some(n)) = (cls, n) {
                gpus.push((cls, n));
            }
        }
        let v = (|| {
            Some(Site {
                id: id?,
                owner: owner?,
                region: self.region.clone(),
                power_mw: power?,
                gpus,
            })
        })();
        c.done(v)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SiteView {
    pub id: String,
    pub owner: String,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power_mw: Option<f64>,
    pub gpus: BTreeMap<String, u32>,
}

impl From<&Site> for SiteView {
    fn from(s: &Site) -> Self {
        SiteView {
            id: s.id.to_string(),
            owner: s.owner.to_string(),
            region: s.region.clone(),
            power_mw: s.power_mw.map(Positive::get),
            gpus: s
                .gpus
                .iter()
                .map(|(c, n)| (c.to_string(), n.get()))
                .collect(),
        }
    }
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
pub async fn create_site(p: Post<SiteIn>) -> Res {
    access::admin_only(&p.who, "add sites")?;
    let s = p.body.value.check()?;
    let view = SiteView::from(&s);
    p.append(move |_, _| Ok(Event::Site(s)), move |_, _| view)
        .await
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_sites, create_site))
}
