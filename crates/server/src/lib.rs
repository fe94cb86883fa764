//! Cascade's HTTP service: the ledger over HTTP, with bearer tokens per
//! party, idempotent atomic writes, RFC 7807 problems and an OpenAPI 3.1
//! document generated from the handlers (`GET /openapi.json`).
//!
//! The service is stateless over its store: every instance keeps an
//! in-memory ledger that it brings up to date from the journal before each
//! write (under the database's writer lock) and each read, so several
//! instances can serve one PostgreSQL database (see `cascade-store`).
//!
//! The code is split by resource (`routes/<resource>.rs`: types, handlers
//! and router of one resource); every access rule is in [`access`].

pub mod access;
pub mod check;
pub mod client;
pub mod extract;
pub mod openapi;
pub mod problem;
pub mod routes;
pub mod ui;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cascade_store::Store;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use extract::{Principal, hash_token, new_token};
pub use openapi::openapi;
pub use problem::Problem;

/// Largest request body, except for `POST /scenarios`.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// Largest scenario document `POST /scenarios` takes.
pub const SCENARIO_LIMIT: usize = 32 * 1024 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Token → principal, for tokens seen before (tokens are never revoked
    /// while the service runs; restart to forget them).
    pub tokens: Arc<RwLock<HashMap<String, Principal>>>,
}

impl AppState {
    pub fn new(store: Store) -> AppState {
        AppState {
            store,
            tokens: Arc::new(RwLock::new(HashMap::new())),
        }
    }
}

/// Every resource's routes: one line per resource module.
fn api_router() -> OpenApiRouter<AppState> {
    use routes::*;
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(health::router())
        .merge(gpus::router())
        .merge(parties::router())
        .merge(sites::router())
        .merge(contracts::router())
        .merge(chain::router())
        .merge(commitments::router())
        .merge(offers::router())
        .merge(clauses::router())
        .merge(exposure::router())
        .merge(billing::router())
        .merge(plan::router())
        .merge(simulations::router())
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Last, with its own (larger) body limit.
        .merge(scenarios::router())
}

async fn not_found() -> Problem {
    Problem::not_found("no such route (see /openapi.json)")
}

async fn method_not_allowed() -> Problem {
    Problem::method_not_allowed()
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Internal error",
        "the request hit a bug in the service; nothing was stored",
    )
    .into_response()
}

/// The whole service: API routes, `/openapi.json`, problem fallbacks.
pub fn router(state: AppState) -> Router {
    let (router, api) = api_router().split_for_parts();
    router
        .merge(openapi::route(api))
        .fallback_service(ui::router(not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        .with_state(state)
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
