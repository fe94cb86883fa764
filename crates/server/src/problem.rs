//! RFC 7807 problem documents (`application/problem+json`): every error the
//! service returns is one, naming the field or the broken invariant.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cascade_core::{ItemRef, Rejection, Violation};
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem with one field of the request.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct FieldError {
    /// Where: the field's path as written in the body (`gpus`,
    /// `gpus.h100`, `items[2].id`), a query parameter or a header name.
    pub field: String,
    /// The same place as a JSON pointer (`/gpus`), for body fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    pub message: String,
}

/// The item a broken invariant is about.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ItemView {
    /// `contract`, `site`, `amendment`, ...
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// One broken ledger invariant, with the facts that show it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ViolationView {
    /// Stable machine-readable code (`site_oversold`, `resale_oversold`, ...).
    pub code: String,
    pub item: ItemView,
    /// The whole story in a sentence.
    pub message: String,
    /// The facts: the instant, requested, free, shortfall, ... (depends on the code).
    #[schema(value_type = Object)]
    pub facts: Map<String, Value>,
}

/// An RFC 7807 problem document.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`urn:cascade:problem:validation`, ...).
    #[serde(rename = "type", serialize_with = "urn")]
    #[schema(value_type = String)]
    pub kind: &'static str,
    #[schema(value_type = String)]
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// Problems with single fields of the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// Broken ledger invariants (409).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub violations: Option<Vec<ViolationView>>,
    /// What went wrong inside (5xx): logged, never sent.
    #[serde(skip)]
    pub cause: Option<Box<String>>,
}

/// The cause of a 5xx answer, for the log line of [`crate::log_server_error`].
#[derive(Clone, Debug)]
pub struct ServerErrorCause(pub String);

fn urn<S: serde::Serializer>(slug: &&'static str, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("urn:cascade:problem:{slug}"))
}

impl Problem {
    pub fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Problem {
        Problem {
            kind: slug,
            title,
            status: status.as_u16(),
            detail: detail.into(),
            errors: None,
            violations: None,
            cause: None,
        }
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Problem {
        self.errors = Some(errors);
        self
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("problem serialises")
    }

    // ---- the problems the service returns ----

    pub fn unauthorized(detail: &str) -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            detail,
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn malformed(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed",
            "Malformed request",
            detail,
        )
    }

    pub fn invalid(detail: impl Into<String>, errors: Vec<FieldError>) -> Problem {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid request",
            detail,
        )
        .with_errors(errors)
    }

    pub fn field(field: &str, message: impl Into<String>) -> Problem {
        let message = message.into();
        Problem::invalid(
            format!("{field}: {message}"),
            vec![FieldError {
                field: field.to_string(),
                pointer: Some(pointer_of(field)),
                message,
            }],
        )
    }

    pub fn bad_param(field: &str, message: impl Into<String>) -> Problem {
        let message = message.into();
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-parameter",
            "Bad parameter",
            format!("{field}: {message}"),
        )
        .with_errors(vec![FieldError {
            field: field.to_string(),
            pointer: None,
            message,
        }])
    }

    pub fn too_large(limit: usize) -> Problem {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Request body too large",
            format!("the request body exceeds the limit of {limit} bytes"),
        )
    }

    pub fn uri_too_long(len: usize, limit: usize) -> Problem {
        Problem::new(
            StatusCode::URI_TOO_LONG,
            "uri-too-long",
            "URI too long",
            format!("the path and query are {len} bytes; the limit is {limit}"),
        )
    }

    pub fn unsupported_media(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            detail,
        )
    }

    pub fn conflict(rejection: &Rejection) -> Problem {
        Problem::conflict_views(rejection.violations.iter().map(violation_view).collect())
    }

    /// A 409 from violations as the caller may see them (see
    /// [`crate::access::refusal`]).
    pub fn conflict_views(views: Vec<ViolationView>) -> Problem {
        let n = views.len();
        let first = views.first().map(|v| v.message.clone()).unwrap_or_default();
        let detail = if n == 1 {
            first
        } else {
            format!("{n} ledger invariants would break; the first: {first}")
        };
        let mut p = Problem::new(
            StatusCode::CONFLICT,
            "invariant",
            "Ledger invariant would break",
            detail,
        );
        p.violations = Some(views);
        p
    }

    pub fn key_reused() -> Problem {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency-key-reused",
            "Idempotency key reused",
            "this Idempotency-Key was already used with a different request; use a new key for a new request",
        )
        .with_errors(vec![FieldError {
            field: "Idempotency-Key".into(),
            pointer: None,
            message: "already used with a different request".into(),
        }])
    }

    pub fn unavailable(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            detail,
        )
    }

    /// A store error: a passing condition (the database unreachable or
    /// busy) is a 503 to retry; anything else (a corrupt journal, a refused
    /// statement, a panic in the writer) is a 500 for an operator, its cause
    /// logged with the request id (see [`crate::log_server_error`]), not shown.
    pub fn store(what: &str, e: &cascade_store::StoreError) -> Problem {
        if e.is_transient() {
            Problem::unavailable(format!("{what}: {e}; nothing was stored, retry later"))
        } else {
            Problem::internal(format!("{what}: {e}"))
        }
    }

    /// A 500: a bug or a journal that needs an operator. `cause` goes to the
    /// log only; the caller learns that nothing was stored.
    pub fn internal(cause: impl Into<String>) -> Problem {
        let mut p = Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the service failed on this request; nothing was stored. \
             The cause is logged with the request id (X-Request-Id)",
        );
        p.cause = Some(Box::new(cause.into()));
        p
    }

    pub fn method_not_allowed() -> Problem {
        Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            "this path does not accept this method (see /openapi.json)",
        )
    }

    pub fn not_implemented(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::NOT_IMPLEMENTED,
            "not-implemented",
            "Not implemented",
            detail,
        )
    }
}

/// `a.b[2].c` → `/a/b/2/c`.
pub fn pointer_of(path: &str) -> String {
    if path.is_empty() || path == "." {
        return String::new();
    }
    let mut out = String::new();
    for part in path.split('.') {
        let (name, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            out.push('/');
            out.push_str(&name.replace('~', "~0").replace('/', "~1"));
        }
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            out.push('/');
            out.push_str(idx.trim_end_matches(']'));
        }
    }
    out
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let mut r = (status, self.to_json()).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status.is_server_error() {
            r.extensions_mut()
                .insert(ServerErrorCause(self.cause.map_or(self.detail, |c| *c)));
        }
        r
    }
}

fn item_view(item: &ItemRef) -> ItemView {
    let id = match item {
        ItemRef::Amendment(_, target) => Some(target.to_string()),
        other => other.id().map(ToString::to_string),
    };
    ItemView {
        kind: item.kind().to_string(),
        id,
    }
}

/// The facts of a violation as JSON (ids as strings, instants in RFC 3339).
pub fn violation_view(v: &Violation) -> ViolationView {
    // Every variant, no catch-all: a new variant must say which facts it shows.
    let facts = match v {
        Violation::DuplicateId { item } => json!({"kind": item.kind(), "id": item_view(item).id}),
        Violation::UnknownReference {
            field, kind, id, ..
        } => {
            json!({"field": field, "kind": kind, "id": id.as_str()})
        }
        Violation::ClassNotAtSite { site, gpu, .. } => {
            json!({"site": site.as_str(), "gpu": gpu.as_str()})
        }
        Violation::SellerDoesNotOwnSite {
            seller,
            site,
            owner,
            ..
        } => {
            json!({"seller": seller.as_str(), "site": site.as_str(), "owner": owner.as_str()})
        }
        Violation::SiteOversold {
            site,
            gpu,
            at,
            requested,
            free,
            installed,
            shortfall,
            ..
        } => json!({
            "site": site.as_str(), "gpu": gpu.as_str(), "at": at.to_string(),
            "requested": requested, "free": free, "installed": installed, "shortfall": shortfall,
        }),
        Violation::ResellerNotHolder {
            seller,
            backing,
            holder,
            ..
        } => {
            json!({"seller": seller.as_str(), "backing": backing.as_str(), "holder": holder.as_str()})
        }
        Violation::BackingNotResellable { backing, .. } => json!({"backing": backing.as_str()}),
        Violation::ClassMismatch {
            gpu,
            backing,
            backing_gpu,
            ..
        } => {
            json!({"gpu": gpu.as_str(), "backing": backing.as_str(), "backing_gpu": backing_gpu.as_str()})
        }
        Violation::OutsideBackingWindow {
            window,
            backing,
            backing_window,
            ..
        } => json!({
            "start": window.start().to_string(), "end": window.end().to_string(),
            "backing": backing.as_str(),
            "backing_start": backing_window.start().to_string(), "backing_end": backing_window.end().to_string(),
        }),
        Violation::ResaleOversold {
            backing,
            at,
            requested,
            free,
            amount,
            shortfall,
            ..
        } => json!({
            "backing": backing.as_str(), "at": at.to_string(), "requested": requested,
            "free": free, "amount": amount, "shortfall": shortfall,
        }),
        Violation::Cycle { cycle, .. } => {
            json!({"cycle": cycle.iter().map(|c| c.as_str()).collect::<Vec<_>>()})
        }
        Violation::BackingRejected { backing, .. } => json!({"backing": backing.as_str()}),
        Violation::PowerOverrun {
            site,
            at,
            required_w,
            limit_w,
            over_w,
            ..
        } => json!({
            "site": site.as_str(), "at": at.map(|t| t.to_string()),
            "required_w": required_w, "limit_w": limit_w, "over_w": over_w,
        }),
        Violation::InstalledBelowZero {
            site,
            gpu,
            at,
            installed,
            shortfall,
            ..
        } => json!({
            "site": site.as_str(), "gpu": gpu.as_str(), "at": at.to_string(),
            "installed": installed, "shortfall": shortfall,
        }),
        Violation::InstalledBelowSold {
            site,
            gpu,
            at,
            installed,
            sold,
            shortfall,
            contracts,
            ..
        } => json!({
            "site": site.as_str(), "gpu": gpu.as_str(), "at": at.to_string(),
            "installed": installed, "sold": sold, "shortfall": shortfall,
            "contracts": contracts.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        }),
        Violation::PowerBelowZero {
            site, at, power_w, ..
        } => json!({"site": site.as_str(), "at": at.to_string(), "power_w": power_w}),
        Violation::EmptyExpansion { item } => json!({"expansion": item_view(item).id}),
        Violation::ExclusiveViolated {
            buyer,
            seller,
            until,
            start,
            actual,
            ..
        } => json!({
            "buyer": buyer.as_str(), "seller": seller.as_str(), "until": until.to_string(),
            "start": start.to_string(), "actual_seller": actual.as_str(),
        }),
        Violation::NoResaleTo {
            seller,
            party,
            chain,
            ..
        } => json!({
            "seller": seller.as_str(), "party": party.as_str(),
            "chain": chain.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        }),
        Violation::AmendmentAfterEnd {
            target,
            effective,
            end,
            ..
        } => {
            json!({"target": target.as_str(), "effective": effective.to_string(), "end": end.to_string()})
        }
        Violation::BlockExceedsMax { block, max, .. } => {
            json!({"block_gpus": block, "max_gpus": max})
        }
        Violation::OfferNotResellable {
            seller,
            backing,
            why,
            ..
        } => {
            json!({"seller": seller.as_str(), "backing": backing.as_str(), "why": why})
        }
        Violation::TooLarge {
            quantity,
            value,
            limit,
            ..
        } => json!({"quantity": quantity, "value_usd": value, "limit_usd": limit}),
    };
    ViolationView {
        code: v.code().to_string(),
        item: item_view(v.item()),
        message: v.to_string(),
        facts: match facts {
            Value::Object(m) => m,
            _ => Map::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant ships facts: none maps to an empty object.
    #[test]
    fn every_violation_carries_facts() {
        use cascade_core::{Instant, Window};
        let id = |s: &str| cascade_core::Id::new(s).unwrap();
        let t = Instant::from_unix_seconds(1_767_225_600);
        let w = Window::new(t, Instant::from_unix_seconds(1_767_312_000)).unwrap();
        let item = ItemRef::Contract(id("c1"));
        let all = vec![
            Violation::DuplicateId { item: item.clone() },
            Violation::UnknownReference {
                item: item.clone(),
                field: "buyer",
                kind: "party",
                id: id("p"),
            },
            Violation::ClassNotAtSite {
                item: item.clone(),
                site: id("s"),
                gpu: id("h100"),
            },
            Violation::SellerDoesNotOwnSite {
                item: item.clone(),
                seller: id("a"),
                site: id("s"),
                owner: id("b"),
            },
            Violation::SiteOversold {
                item: item.clone(),
                site: id("s"),
                gpu: id("h100"),
                at: t,
                requested: 2,
                free: 1,
                installed: 1,
                shortfall: 1,
            },
            Violation::ResellerNotHolder {
                item: item.clone(),
                seller: id("a"),
                backing: id("c0"),
                holder: id("b"),
            },
            Violation::BackingNotResellable {
                item: item.clone(),
                backing: id("c0"),
            },
            Violation::ClassMismatch {
                item: item.clone(),
                gpu: id("h100"),
                backing: id("c0"),
                backing_gpu: id("h200"),
            },
            Violation::OutsideBackingWindow {
                item: item.clone(),
                window: w,
                backing: id("c0"),
                backing_window: w,
            },
            Violation::ResaleOversold {
                item: item.clone(),
                backing: id("c0"),
                at: t,
                requested: 2,
                free: 1,
                amount: 1,
                shortfall: 1,
            },
            Violation::Cycle {
                item: item.clone(),
                cycle: vec![id("c1"), id("c0")],
            },
            Violation::BackingRejected {
                item: item.clone(),
                backing: id("c0"),
            },
            Violation::PowerOverrun {
                item: item.clone(),
                site: id("s"),
                at: Some(t),
                required_w: "2".into(),
                limit_w: "1".into(),
                over_w: "1".into(),
            },
            Violation::InstalledBelowZero {
                item: item.clone(),
                site: id("s"),
                gpu: id("h100"),
                at: t,
                installed: -1,
                shortfall: 1,
            },
            Violation::InstalledBelowSold {
                item: item.clone(),
                site: id("s"),
                gpu: id("h100"),
                at: t,
                installed: 1,
                sold: 2,
                shortfall: 1,
                contracts: vec![id("c0")],
            },
            Violation::PowerBelowZero {
                item: item.clone(),
                site: id("s"),
                at: t,
                power_w: "-1".into(),
            },
            Violation::EmptyExpansion {
                item: ItemRef::Expansion(id("x")),
            },
            Violation::ExclusiveViolated {
                item: item.clone(),
                buyer: id("b"),
                seller: id("a"),
                until: t,
                start: t,
                actual: id("z"),
            },
            Violation::NoResaleTo {
                item: item.clone(),
                seller: id("a"),
                party: id("b"),
                chain: vec![id("c1")],
            },
            Violation::AmendmentAfterEnd {
                item: item.clone(),
                target: id("c1"),
                effective: t,
                end: t,
            },
            Violation::BlockExceedsMax {
                item: item.clone(),
                block: 8,
                max: 4,
            },
            Violation::OfferNotResellable {
                item: item.clone(),
                seller: id("a"),
                backing: id("c0"),
                why: "resale = false".into(),
            },
            Violation::TooLarge {
                item: item.clone(),
                quantity: "contract value",
                value: "2e18".into(),
                limit: "1e18".into(),
            },
        ];
        for v in &all {
            let view = violation_view(v);
            assert!(!view.facts.is_empty(), "{} has no facts", view.code);
            assert!(
                view.facts
                    .values()
                    .all(|f| !f.is_null() || view.code == "power_overrun"),
                "{view:?}"
            );
        }
    }

    #[test]
    fn pointers() {
        assert_eq!(pointer_of("gpus"), "/gpus");
        assert_eq!(pointer_of("gpus.h100"), "/gpus/h100");
        assert_eq!(pointer_of("contract[3].gpus"), "/contract/3/gpus");
        assert_eq!(pointer_of("[0]"), "/0");
        assert_eq!(pointer_of("."), "");
        assert_eq!(pointer_of("a/b"), "/a~1b");
    }
}
