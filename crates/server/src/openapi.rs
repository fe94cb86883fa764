//! The OpenAPI 3.1 document: the handlers' own annotations (utoipa), plus
//! what every operation shares (security, the Idempotency-Key header, the
//! problem responses), added here once instead of on every handler.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa::openapi::path::{HttpMethod, Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder};

use crate::{AppState, problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cascade",
        description = "The AI compute supply chain ledger over HTTP: parties, sites, contracts and resales, \
commitments, offers, clauses; exposure, provenance chains and procurement plans. Field names are the scenario \
format's. Errors are RFC 7807 problem documents. Every POST except /plan accepts an Idempotency-Key header: a \
replay with the same key and request returns the first response and changes nothing.",
        license(name = "MIT", identifier = "MIT")
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
        (name = "tokens", description = "API tokens (admin)"),
    )
)]
pub(crate) struct ApiDoc;

/// Routes that need no token.
const PUBLIC: &[&str] = &["/healthz"];

/// POST routes without an Idempotency-Key: plans store nothing, and a
/// replayed token creation would hand out the secret a second time.
const NOT_IDEMPOTENT: &[&str] = &["/plan", "/tokens"];

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
    if post && !NOT_IDEMPOTENT.contains(&path) {
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
    let (_, api) = crate::api_router().split_for_parts();
    finish(api)
}

pub(crate) fn finish(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    for (path, item) in api.paths.paths.iter_mut() {
        let ops = [
            (HttpMethod::Get, &mut item.get),
            (HttpMethod::Post, &mut item.post),
            (HttpMethod::Delete, &mut item.delete),
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

/// `GET /openapi.json`: the document, serialised once.
pub(crate) fn route(api: utoipa::openapi::OpenApi) -> axum::Router<AppState> {
    let doc = serde_json::to_string(&finish(api)).expect("OpenAPI document serialises");
    let doc: Arc<str> = Arc::from(doc);
    axum::Router::new().route(
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
}
