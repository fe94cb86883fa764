//! The dashboard: the built front end of `web/` (committed in `web/dist`),
//! embedded in the binary so that `cargo build` needs no Node, and served
//! at `/` outside the OpenAPI document.
//!
//! The page gets all its data from the API with the token its user signs
//! in with, so it serves no data itself and needs no token.
//!
//! Routing: the service's router hands every path it does not know to
//! [`router`]. `/` and `/assets/*` are the page and its files. Any other
//! unknown path answers the page too when a browser navigates to it
//! (`GET`/`HEAD` accepting `text/html`), so the page's own URLs
//! (`/ui/exposure`, ...) survive a reload; everything else — API clients,
//! other methods, missing assets — gets the API's JSON 404 problem.

use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use include_dir::{Dir, include_dir};

static DIST: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../web/dist");

// include_dir! reads the folder while the macro expands, which cargo does
// not track. Asset names carry a hash of their content and index.html names
// them, so any change to the bundle changes index.html: including it with
// include_bytes! makes cargo rebuild this crate, and re-embed the folder,
// whenever the bundle changes.
const INDEX_HTML: &[u8] = include_bytes!("../../../web/dist/index.html");

/// Content Security Policy of the page: everything from this origin only,
/// so the page can fetch nothing from anywhere else at run time.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json" | "map") => "application/json",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn file(bytes: &'static [u8], path: &str, cache: &'static str) -> Response {
    let mut r = (StatusCode::OK, bytes).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if path.ends_with(".html") {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    r
}

/// The page itself; revalidated on every load so a new build shows at once.
fn index() -> Response {
    file(INDEX_HTML, "index.html", "no-cache")
}

/// A browser navigating (as opposed to a script or an API client asking
/// for JSON) says so in `Accept`.
fn wants_html(method: &Method, headers: &HeaderMap) -> bool {
    (method == Method::GET || method == Method::HEAD)
        && headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(',').any(|t| t.trim().starts_with("text/html")))
}

/// The dashboard as a fallback service: the page, its assets, and
/// `api_not_found` (the API's JSON 404) for paths that are neither the
/// page's nor a browser navigation.
pub fn router<H, T>(api_not_found: H) -> Router
where
    H: Handler<T, ()>,
    T: 'static,
{
    let serve = move |req: Request| {
        let api_not_found = api_not_found.clone();
        async move {
            let (method, path) = (req.method().clone(), req.uri().path().to_owned());
            let read = method == Method::GET || method == Method::HEAD;
            if read && (path == "/" || path == "/index.html") {
                return index();
            }
            if let Some(name) = path.strip_prefix('/').filter(|p| p.starts_with("assets/")) {
                if let Some(f) = DIST.get_file(name).filter(|_| read) {
                    return file(f.contents(), name, "public, max-age=31536000, immutable");
                }
            } else if wants_html(&method, req.headers()) {
                return index();
            }
            api_not_found.call(req, ()).await
        }
    };
    Router::new().fallback(serve)
}

/// Every file of the embedded bundle, for tests and for a size report.
pub fn files() -> impl Iterator<Item = (&'static str, &'static [u8])> {
    fn walk(d: &'static Dir<'static>, out: &mut Vec<(&'static str, &'static [u8])>) {
        for f in d.files() {
            if let Some(p) = f.path().to_str() {
                out.push((p, f.contents()));
            }
        }
        for sub in d.dirs() {
            walk(sub, out);
        }
    }
    let mut out = Vec::new();
    walk(&DIST, &mut out);
    out.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    async fn api_404() -> Response {
        crate::Problem::not_found("no such route (see /openapi.json)").into_response()
    }

    async fn send(
        method: &str,
        path: &str,
        accept: Option<&str>,
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut req = axum::http::Request::builder().method(method).uri(path);
        if let Some(a) = accept {
            req = req.header(header::ACCEPT, a);
        }
        let r = router(api_404)
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let body = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, headers, body.to_vec())
    }

    const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

    #[tokio::test]
    async fn the_page_is_at_the_root_with_a_policy_that_allows_only_this_origin() {
        let (s, h, b) = send("GET", "/", Some(BROWSER)).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(b, INDEX_HTML);
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("default-src 'self'") && csp.contains("connect-src 'self'"));
        // A client that asks for anything also gets the page at `/`.
        let (s, _, b) = send("GET", "/", None).await;
        assert_eq!((s, b.as_slice()), (StatusCode::OK, INDEX_HTML));
    }

    #[tokio::test]
    async fn every_asset_the_page_names_is_served_with_its_type_and_cached_for_good() {
        let html = std::str::from_utf8(INDEX_HTML).unwrap();
        let named: Vec<&str> = html
            .split('"')
            .filter(|s| s.starts_with("/assets/"))
            .collect();
        assert!(named.iter().any(|p| p.ends_with(".js")), "{html}");
        assert!(named.iter().any(|p| p.ends_with(".css")), "{html}");
        for p in named {
            let (s, h, b) = send("GET", p, Some("*/*")).await;
            assert_eq!(s, StatusCode::OK, "{p}");
            let want = files()
                .find(|(f, _)| format!("/{f}") == p)
                .map(|(_, c)| c)
                .unwrap();
            assert_eq!(b, want, "{p}");
            assert_eq!(
                h[header::CACHE_CONTROL],
                "public, max-age=31536000, immutable"
            );
            let ct = h[header::CONTENT_TYPE].to_str().unwrap();
            assert!(
                (p.ends_with(".js") && ct.starts_with("text/javascript"))
                    || (p.ends_with(".css") && ct.starts_with("text/css")),
                "{p}: {ct}"
            );
        }
    }

    #[tokio::test]
    async fn a_browser_reloading_a_page_url_gets_the_page() {
        for path in ["/ui/exposure", "/ui/plan?x=1", "/anything/else"] {
            let (s, h, b) = send("GET", path, Some(BROWSER)).await;
            assert_eq!(s, StatusCode::OK, "{path}");
            assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
            assert_eq!(b, INDEX_HTML, "{path}");
        }
        let (s, _, b) = send("HEAD", "/ui/graph", Some("text/html")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(b.is_empty());
    }

    #[tokio::test]
    async fn api_clients_other_methods_and_missing_assets_get_the_json_problem() {
        for (method, path, accept) in [
            ("GET", "/no/such/route", Some("application/json")),
            ("GET", "/no/such/route", None),
            ("GET", "/no/such/route", Some("*/*")),
            ("POST", "/ui/graph", Some(BROWSER)),
            ("POST", "/", Some(BROWSER)),
            ("DELETE", "/", None),
            ("GET", "/assets/missing-0000.js", Some(BROWSER)),
            ("GET", "/assets/", Some("*/*")),
        ] {
            let (s, h, b) = send(method, path, accept).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path} {accept:?}");
            assert_eq!(
                h[header::CONTENT_TYPE],
                "application/problem+json",
                "{method} {path}"
            );
            let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
            assert_eq!(v["status"], 404);
        }
    }

    #[test]
    fn the_bundle_stays_small_and_fetches_nothing_from_elsewhere() {
        let total: usize = files().map(|(_, c)| c.len()).sum();
        // The compressed limit is 500 KB (measured in the browser test);
        // uncompressed the bundle is well under it too.
        assert!(total < 500 * 1024, "{total} bytes");
        for (name, c) in files() {
            let text = String::from_utf8_lossy(c);
            for bad in ["http://", "https://", "//fonts.", "//cdn"] {
                // SVG and XHTML namespaces are names, not fetches.
                let hits = text
                    .match_indices(bad)
                    .filter(|(i, _)| !text[*i..].starts_with("http://www.w3.org/"))
                    .count();
                assert_eq!(hits, 0, "{name} mentions {bad}");
            }
        }
    }
}
