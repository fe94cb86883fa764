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
pub mod limits;
pub mod metrics;
pub mod observe;
pub mod openapi;
pub mod problem;
pub mod routes;
pub mod ui;

use std::collections::HashMap;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use cascade_store::Store;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use extract::{Principal, TOKEN_CACHE_TTL, hash_token, new_token};
pub use metrics::Metrics;
pub use openapi::openapi;
pub use problem::Problem;

/// Largest request body, except for `POST /scenarios`.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// Largest scenario document `POST /scenarios` takes.
pub const SCENARIO_LIMIT: usize = 32 * 1024 * 1024;
/// Longest path and query the service reads. Longer ones are a 414
/// problem; past hyper's own limit (64 KiB) hyper answers a bare 414
/// before the request reaches the service.
pub const URI_LIMIT: usize = 8 * 1024;

/// What every handler shares. One `Arc`: axum clones the state for each
/// extractor of each request, and one reference count is cheaper to touch
/// than one per field (a measurable share of a read on the service bench).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The fields of [`AppState`].
pub struct Shared {
    pub store: Store,
    /// Token hash → the stored token, as read at most [`TOKEN_CACHE_TTL`]
    /// ago (see [`extract::CachedToken`]).
    pub tokens: Arc<RwLock<HashMap<String, extract::CachedToken>>>,
    /// Request counts and latencies, and the gauges `GET /metrics` shows.
    pub metrics: Arc<Metrics>,
    /// The planning pool and the write rate (see [`limits`]).
    pub limiter: Arc<limits::Limiter>,
    /// Plans waiting for a planning worker (a gauge for `/metrics`).
    pub plan_queue: Arc<AtomicI64>,
}

impl AppState {
    pub fn new(store: Store) -> AppState {
        AppState::with_limits(store, limits::Limits::default())
    }

    pub fn with_limits(store: Store, limits: limits::Limits) -> AppState {
        let limiter = Arc::new(limits::Limiter::new(limits));
        AppState(Arc::new(Shared {
            store,
            tokens: Arc::new(RwLock::new(HashMap::new())),
            metrics: Arc::new(Metrics::default()),
            plan_queue: limiter.plan_queue.clone(),
            limiter,
        }))
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
        .merge(expansions::router())
        .merge(contracts::router())
        .merge(chain::router())
        .merge(commitments::router())
        .merge(offers::router())
        .merge(clauses::router())
        .merge(exposure::router())
        .merge(billing::router())
        .merge(plan::router())
        .merge(tokens::router())
        .merge(audit::router())
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

/// A request whose URI is longer than [`URI_LIMIT`]: its 414 answer.
pub(crate) fn uri_refusal(req: &axum::extract::Request) -> Option<Response> {
    let len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    (len > URI_LIMIT).then(|| Problem::uri_too_long(len, URI_LIMIT).into_response())
}

fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    Problem::internal(format!("a handler panicked: {message}")).into_response()
}

/// Logs a 5xx answer with its cause and the request id (the caller's
/// `X-Request-Id` or the one generated), so an operator can find what a
/// caller reports.
pub(crate) fn log_server_error(request_id: &str, method: &str, path: &str, r: &Response) {
    let cause = r
        .extensions()
        .get::<problem::ServerErrorCause>()
        .map_or("(no cause recorded)", |c| c.0.as_str());
    tracing::error!(
        request_id,
        method,
        path,
        status = r.status().as_u16(),
        cause,
        "request failed"
    );
}

/// The whole service: API routes, `/openapi.json`, `/metrics`, problem
/// fallbacks; every answer gets a request id, a log line and a count
/// ([`observe`]), caught panics included.
pub fn router(state: AppState) -> Router {
    let (router, api) = api_router().split_for_parts();
    router
        .merge(openapi::route(api))
        .route("/metrics", axum::routing::get(metrics::metrics))
        .fallback_service(ui::router(not_found))
        .method_not_allowed_fallback(method_not_allowed)
        // One middleware of our own (each layer costs a boxed service clone
        // per request): `observe` also refuses long URIs and writes over
        // the rate, and logs 5xx answers, a caught panic's included.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::observe,
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

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    /// A panic in a handler is a 500 problem (its message logged, not sent),
    /// and the service keeps serving.
    #[tokio::test]
    async fn a_caught_panic_is_a_500_problem() {
        let app: Router = Router::new()
            .route(
                "/boom",
                axum::routing::get(|| async {
                    if true {
                        panic!("secret detail");
                    }
                }),
            )
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(
                panic_response,
            ));
        let req = Request::get("/boom")
            .header("x-request-id", "req-1")
            .body(Body::empty())
            .unwrap();
        let r = app.oneshot(req).await.unwrap();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            r.headers()[axum::http::header::CONTENT_TYPE],
            problem::PROBLEM_JSON
        );
        let cause = r.extensions().get::<problem::ServerErrorCause>().unwrap();
        assert!(cause.0.contains("secret detail"));
        let body = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["type"], "urn:cascade:problem:internal");
        assert!(!v.to_string().contains("secret detail"));
    }
}
