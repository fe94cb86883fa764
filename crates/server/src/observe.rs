//! What happens around every request: its id (`X-Request-Id`, accepted or
//! generated, echoed on every response), its log line and its metrics.
//!
//! One middleware ([`observe`]) wraps the whole router, outside the panic
//! catcher, so problems, 404s, 405s and caught panics get an id, a log line
//! and a count like any other answer. The request's context lives in a
//! task-local while the handler runs: the bearer-token extractor records the
//! token's id in it, and the store's writes take their author (token id,
//! request id) from it, so no handler has to pass them along.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cascade_store::Author;

use crate::AppState;
use crate::extract::Principal;
use crate::problem::Problem;

/// The header that carries a request's id, both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// Longest `X-Request-Id` accepted (ids are logged and stored with every
/// journal row the request writes).
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The route label of requests no route matched (404s, the dashboard's files).
pub const UNMATCHED: &str = "(unmatched)";

/// What the service knows about the request being served.
#[derive(Debug)]
pub struct RequestCtx {
    pub request_id: String,
    token_id: OnceLock<String>,
}

impl RequestCtx {
    /// The non-secret id of the token that authenticated the request.
    pub fn token_id(&self) -> Option<&str> {
        self.token_id.get().map(String::as_str)
    }
}

/// One answered request, as its log line tells it.
#[derive(Clone, Copy, Debug)]
pub struct RequestLine<'a> {
    pub request_id: &'a str,
    /// The non-secret id of the token that authenticated it, if any.
    pub token_id: Option<&'a str>,
    pub method: &'a str,
    /// The matched route template (`/contracts/{id}`), or [`UNMATCHED`].
    pub route: &'a str,
    pub status: u16,
    /// To the response's head.
    pub latency: Duration,
}

/// Where request lines go: set once by the binary (`cascade serve`), which
/// also formats them. Written through `tracing`'s formatter, the line cost
/// about 6 µs of the ~50 µs of CPU a read takes (bench/README.md, "The
/// request log line by hand"); no sink, no lines.
static REQUEST_LOG: OnceLock<fn(&RequestLine<'_>)> = OnceLock::new();

/// Sends every request's line to `sink` from now on (false if a sink was
/// set already: the first one stays).
pub fn set_request_log(sink: fn(&RequestLine<'_>)) -> bool {
    REQUEST_LOG.set(sink).is_ok()
}

tokio::task_local! {
    static CURRENT: Arc<RequestCtx>;
}

/// Records which token authenticated the current request (for the log
/// line and the journal's author columns).
pub(crate) fn set_token_id(id: &str) {
    let _ = CURRENT.try_with(|c| c.token_id.set(id.to_string()));
}

/// Who writes on behalf of the current request: the principal, its token
/// and the request id (outside a request, the principal alone).
pub(crate) fn author(who: &Principal) -> Author {
    let mut a = Author::from(who.as_stored().as_str());
    let _ = CURRENT.try_with(|c| {
        a.request_id = Some(c.request_id.clone());
        a.token_id = c.token_id().map(str::to_string);
    });
    a
}

/// A request id the caller may choose: 1 to [`MAX_REQUEST_ID_LEN`] printable
/// ASCII characters without spaces (so that it fits a log line, a header
/// and the journal unchanged).
pub fn valid_request_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_REQUEST_ID_LEN && s.bytes().all(|b| b.is_ascii_graphic())
}

/// A new request id: `req_` and 16 random hex digits.
pub fn new_request_id() -> String {
    format!("req_{:016x}", rand::random::<u64>())
}

/// The middleware: id, then the request, then header, metrics and log line.
pub(crate) async fn observe(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let given = req.headers().get(REQUEST_ID).map(|v| {
        v.to_str()
            .ok()
            .filter(|s| valid_request_id(s))
            .map(str::to_string)
    });
    let (request_id, refused) = match given {
        Some(Some(id)) => (id, None),
        None => (new_request_id(), None),
        Some(None) => (
            new_request_id(),
            Some(Problem::bad_param(
                "X-Request-Id",
                format!(
                    "must be 1 to {MAX_REQUEST_ID_LEN} printable ASCII characters without spaces"
                ),
            )),
        ),
    };
    let ctx = Arc::new(RequestCtx {
        request_id,
        token_id: OnceLock::new(),
    });
    // For the log line of a 5xx (a clone of the URI shares its bytes).
    let uri = req.uri().clone();
    let mut resp = match refused {
        Some(p) => p.into_response(),
        None => {
            let refusal =
                crate::uri_refusal(&req).or_else(|| crate::limits::write_refusal(&app, &req));
            match refusal {
                Some(r) => r,
                None => CURRENT.scope(ctx.clone(), next.run(req)).await,
            }
        }
    };
    let latency = started.elapsed();
    if resp.status().is_server_error() {
        crate::log_server_error(&ctx.request_id, method.as_str(), uri.path(), &resp);
    }
    resp.headers_mut().insert(
        REQUEST_ID,
        HeaderValue::from_str(&ctx.request_id).expect("request ids are printable ASCII"),
    );
    let status = resp.status().as_u16();
    let route = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    app.metrics.record(method.as_str(), route, status, latency);
    if let Some(sink) = REQUEST_LOG.get() {
        sink(&RequestLine {
            request_id: &ctx.request_id,
            token_id: ctx.token_id(),
            method: method.as_str(),
            route,
            status,
            latency,
        });
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids() {
        assert!(valid_request_id("abc-123_X.y:z"));
        assert!(!valid_request_id(""));
        assert!(!valid_request_id("a b"));
        assert!(!valid_request_id("é"));
        assert!(!valid_request_id(&"a".repeat(MAX_REQUEST_ID_LEN + 1)));
        assert!(valid_request_id(&"a".repeat(MAX_REQUEST_ID_LEN)));
        let id = new_request_id();
        assert!(valid_request_id(&id) && id.starts_with("req_") && id.len() == 20);
    }
}
