//! `POST /plan`: the procurement optimizer on what the store holds, for
//! the buyer itself or an admin; the answer is the plan document of
//! `cascade plan --json`.

use axum::extract::State;
use axum::http::StatusCode;
use cascade_format::IdText;
use cascade_format::report::PlanDoc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Res, json, read};
use crate::extract::{JsonBody, Principal};
use crate::problem::Problem;
use crate::{AppState, access};

/// `optimal` (default): the MILP on HiGHS; `greedy`: the cheapest-first baseline.
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

/// Plans purchases for a buyer from the open offers (MILP on HiGHS, or
/// greedy), under the demands, policy, clauses and commitments in the store.
#[utoipa::path(post, path = "/plan", tag = "analysis", request_body = PlanIn,
    responses((status = 200, description = "The plan (status optimal, feasible or infeasible)", body = PlanDoc)))]
pub async fn plan(State(app): State<AppState>, who: Principal, b: JsonBody<PlanIn>) -> Res {
    let buyer = b
        .value
        .buyer
        .to_core()
        .map_err(|m| Problem::field("buyer", m))?;
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
        Err(e) => return Err(Problem::field("buyer", e.to_string())),
    };
    let view = PlanDoc::of(&r);
    Ok(json(StatusCode::OK, &view))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(plan))
}
