//! `POST /plan`: the procurement optimizer on what the store holds, for
//! the buyer itself or an admin.

use axum::extract::State;
use axum::http::StatusCode;
use cascade_core::format_usd;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Res, json, read};
use crate::check::{Check, IdText};
use crate::extract::{JsonBody, Principal};
use crate::problem::{FieldError, Problem};
use crate::{AppState, access};

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum StrategyIn {
    #[default]
    Optimal,
    Greedy,
}

/// What to plan: purchases for `buyer` from the open offers, under the
/// demands, policy, clauses and commitments in the store.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanIn {
    pub buyer: IdText,
    #[serde(default)]
    pub strategy: Option<StrategyIn>,
}

/// One purchase of a plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseView {
    pub offer: String,
    pub gpus: u32,
    pub cost_usd: String,
    pub seller: String,
    pub provider: String,
    pub site: String,
    pub region: String,
    pub start: String,
    pub end: String,
}

/// The plan document (the spec's `cascade plan --json` shape).
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    pub buyer: String,
    pub strategy: String,
    /// `optimal`, `feasible` (greedy) or `infeasible`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub objective_usd: String,
    pub purchases_usd: String,
    pub shortfall_usd: String,
    pub purchases: Vec<PurchaseView>,
    pub solve_seconds: f64,
}

/// Plans purchases for a buyer from the open offers (MILP on HiGHS, or
/// greedy), under the demands, policy, clauses and commitments in the store.
#[utoipa::path(post, path = "/plan", tag = "analysis", request_body = PlanIn,
    responses((status = 200, description = "The plan (status optimal, feasible or infeasible)", body = PlanView)))]
pub async fn plan(State(app): State<AppState>, who: Principal, b: JsonBody<PlanIn>) -> Res {
    let mut c = Check::new();
    let buyer = c.id("buyer", &b.value.buyer);
    let buyer = c.done(buyer)?;
    access::own_analysis(&who, &buyer, "plan only its own purchases")?;
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
        objective_usd: format_usd(r.objective_usd),
        purchases_usd: format_usd(r.purchases_usd),
        shortfall_usd: format_usd(r.shortfall_usd),
        purchases: r
            .purchases
            .iter()
            .map(|p| PurchaseView {
                offer: p.offer.to_string(),
                gpus: p.gpus,
                cost_usd: format_usd(p.cost_usd),
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

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(plan))
}
