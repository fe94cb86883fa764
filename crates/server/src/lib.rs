//! Cascade's HTTP service: the ledger over HTTP, with bearer tokens per
//! party, idempotent atomic writes, RFC 7807 problems and an OpenAPI 3.1
//! document generated from the handlers (`GET /openapi.json`).
//!
//! The service is stateless over its store: every instance keeps an
//! in-memory ledger that it brings up to date from the journal before each
//! write (under the database's writer lock) and each read, so several
//! instances can serve one PostgreSQL database (see `cascade-store`).
//!
//! Access rules, in short: `GET /healthz` and `GET /openapi.json` need no
//! token; every other route needs `Authorization: Bearer <token>`. An admin
//! token may do everything. A party token sees its own contracts (as buyer
//! or seller) and commitments, the clauses naming it, the directory
//! (parties, sites, GPU classes) and the open offers; it may create only
//! what it sells (contracts, resales, offers, commitments, top-ups) and
//! clauses that bind itself; it asks exposure and plans only for itself.
//! Someone else's contract is a 404: its existence is not disclosed.

pub mod api;
pub mod client;
pub mod extract;
pub mod handlers;
pub mod problem;
pub mod ui;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cascade_store::Store;
use utoipa::OpenApi;
use utoipa::openapi::path::{HttpMethod, Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use extract::{Principal, hash_token, new_token};
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

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cascade",
        description = "The AI compute supply chain ledger over HTTP: parties, sites, contracts and resales, \
commitments, offers, clauses; exposure, provenance chains and procurement plans. Field names are the scenario \
format's. Errors are RFC 7807 problem documents. Every POST except /plan accepts an Idempotency-Key header: a \
replay with the same key and request returns the first response and changes nothing.",
        license(name = "Apache-2.0")
    ),
    components(schemas(
        problem::Problem, problem::FieldError, problem::ViolationView, problem::ItemView
    )),
    tags(
        (name = "service", description = "Health"),
        (name = "directory", description = "GPU classes, parties, sites, whole scenarios"),
        (name = "contracts", description = "Contracts, resales, top-ups and provenance"),
        (name = "commitments", description = "Take-or-pay commitments"),
        (name = "offers", description = "Open capacity for sale"),
        (name = "clauses", description = "Contract clauses"),
        (name = "analysis", description = "Exposure and procurement plans"),
    )
)]
struct ApiDoc;

fn api_router() -> OpenApiRouter<AppState> {
    use handlers::*;
    let main = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(list_gpus, create_gpu))
        .routes(routes!(list_parties, create_party))
        .routes(routes!(list_sites, create_site))
        .routes(routes!(list_contracts, create_contract))
        .routes(routes!(get_contract))
        .routes(routes!(amend_contract))
        .routes(routes!(resell_contract))
        .routes(routes!(get_chain))
        .routes(routes!(list_commitments, create_commitment))
        .routes(routes!(get_commitment))
        .routes(routes!(amend_commitment))
        .routes(routes!(list_offers, create_offer))
        .routes(routes!(list_clauses, create_clause))
        .routes(routes!(exposure))
        .routes(routes!(plan))
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    let scenarios = OpenApiRouter::new()
        .routes(routes!(load_scenario))
        .layer(DefaultBodyLimit::max(SCENARIO_LIMIT));
    main.merge(scenarios)
}

/// Routes that need no token.
const PUBLIC: &[&str] = &["/healthz"];

fn problem_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            problem::PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
        .into()
}

/// Adds what every operation shares: security, the Idempotency-Key header
/// and the problem responses.
fn complete(op: &mut Operation, path: &str, method: HttpMethod) {
    let public = PUBLIC.contains(&path);
    let post = method == HttpMethod::Post;
    let mut add = |code: &str, description: &str| {
        op.responses
            .responses
            .entry(code.to_string())
            .or_insert_with(|| problem_response(description));
    };
    add(
        "400",
        "Malformed request: bad JSON, bad query parameter or header",
    );
    if !public {
        add("401", "No token, or an unknown token");
        add("403", "The token may not do this");
    }
    if path.contains('{') || path == "/exposure" || path == "/plan" {
        add("404", "No such item (or not one this token may see)");
    }
    if post {
        add(
            "409",
            "A ledger invariant would break; nothing was changed (see `violations`)",
        );
        add("413", "Request body too large");
        add("415", "The body is not JSON");
        add(
            "422",
            "The body does not fit the schema or a value is invalid (see `errors`)",
        );
    }
    add("503", "The store is unavailable; retry");
    if !public {
        op.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
    if post && path != "/plan" {
        let p = ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "Makes the request idempotent: a replay with the same key and request returns the first \
response (header Idempotent-Replayed: true) and changes nothing; the same key with another request is a 422.",
            ))
            .schema(Some(
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::SchemaType::Type(utoipa::openapi::Type::String))
                    .min_length(Some(1))
                    .max_length(Some(255))
                    .pattern(Some("^[ -~]+$")),
            ))
            .build();
        op.parameters.get_or_insert_with(Vec::new).push(p.into());
    }
}

/// The OpenAPI 3.1 document of the service.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = api_router().split_for_parts();
    finish(api)
}

fn finish(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    for (path, item) in api.paths.paths.iter_mut() {
        let ops = [
            (HttpMethod::Get, &mut item.get),
            (HttpMethod::Post, &mut item.post),
        ];
        for (m, op) in ops {
            if let Some(op) = op.as_mut() {
                complete(op, path, m);
            }
        }
    }
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "A token from `cascade token create --party ID` (or `--admin`)",
                ))
                .build(),
        ),
    );
    api
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
    let doc = serde_json::to_string(&finish(api)).expect("OpenAPI document serialises");
    let doc: Arc<str> = Arc::from(doc);
    router
        .route(
            "/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move {
                    let mut r = (StatusCode::OK, doc.to_string()).into_response();
                    r.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                    r
                }
            }),
        )
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
