//! `POST /plan`: the procurement optimizer on what the store holds, for
//! the buyer itself or an admin; the answer is the plan document of
//! `cascade plan --json`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use cascade_format::IdText;
use cascade_format::report::PlanDoc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Res, json, read};
use crate::extract::{JsonBody, Principal};
use crate::problem::Problem;
use crate::{AppState, access, limits};

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
/// Plans run on a bounded pool with a solver budget; a full pool, or a
/// token with too many plans under way, is a 429 with `Retry-After`.
#[utoipa::path(post, path = "/plan", tag = "analysis", request_body = PlanIn,
    responses(
        (status = 200, description = "The plan (status optimal, feasible — cut short by the solver budget, with its gap — or infeasible)", body = PlanDoc),
        (status = 429, description = "The planner is full, or this token has too many plans under way; see Retry-After"),
    ))]
pub async fn plan(
    State(app): State<AppState>,
    headers: HeaderMap,
    who: Principal,
    b: JsonBody<PlanIn>,
) -> Res {
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
    // A principal came from a bearer token, so there is a key.
    let key = limits::token_key(&headers).unwrap_or_default();
    let ticket = match app.limiter.admit_plan(&key) {
        Ok(t) => t,
        Err(refused) => return Ok(*refused),
    };
    let (scenario, ledger) = read(&app, |s| {
        if s.ledger.party(&buyer).is_none() {
            return Err(Problem::not_found(format!("no party {:?}", buyer.as_str())));
        }
        Ok((s.scenario("store"), s.ledger.clone()))
    })
    .await??;
    let worker = app.limiter.worker().await;
    let options = cascade_plan::PlanOptions {
        strategy,
        time_limit: Some(app.limiter.limits.plan_time_limit.as_secs_f64()),
        ..cascade_plan::PlanOptions::default()
    };
    let b2 = buyer.clone();
    // The ticket and the worker go with the solver, so a caller that hangs
    // up does not free a place while its plan still runs.
    let result = app
        .limiter
        .solvers
        .run(move || {
            let _held = (ticket, worker);
            cascade_plan::plan_with(&scenario, &ledger, &b2, &options)
        })
        .await
        .map_err(|e| Problem::internal(format!("the planner stopped: {e}")))?;
    let r = match result {
        Ok(r) => r,
        Err(cascade_plan::PlanError::UnknownBuyer { buyer, .. }) => {
            return Err(Problem::not_found(format!("no party {buyer:?}")));
        }
        Err(cascade_plan::PlanError::Solver(m)) => {
            return Err(Problem::internal(format!("the solver failed: {m}")));
        }
        Err(e @ cascade_plan::PlanError::NoPlanInTime { .. }) => {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "plan-time-limit",
                "No plan within the solver budget",
                format!("{e} (the service's --plan-time-limit); try strategy \"greedy\""),
            ));
        }
        Err(e @ cascade_plan::PlanError::TooLarge { .. }) => {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "too-large",
                "Sum too large",
                e.to_string(),
            ));
        }
        Err(e) => return Err(Problem::field("buyer", e.to_string())),
    };
    let view = PlanDoc::of(&r);
    Ok(json(StatusCode::OK, &view))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(plan))
}
