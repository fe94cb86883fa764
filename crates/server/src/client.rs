//! An HTTP/1.1 client for the service, on the same hyper stack the server
//! runs on (hyper-util's pooled client): used by `cascade load --server`,
//! the load generator and the tests. It keeps connections alive in its own
//! pool and retries a request hyper could not send on a pooled connection
//! the server had closed.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Method, Request, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as Pool;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// A response: status, headers (names lowercased) and body.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (`Value::Null` if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A client of one server, with its own pool of kept-alive connections.
/// Cloning it shares the pool.
#[derive(Clone)]
pub struct Client {
    base: String,
    pool: Pool<HttpConnector, Full<Bytes>>,
    /// Sent as `Authorization: Bearer ...` when set.
    pub token: Option<String>,
    /// For the whole exchange, from connecting to the last byte of the body.
    pub timeout: Duration,
}

fn invalid(e: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e)
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Client {
            base: format!("http://{addr}"),
            pool: Pool::builder(TokioExecutor::new()).build(connector),
            token: None,
            timeout: Duration::from_secs(60),
        }
    }

    pub fn with_token(mut self, token: impl Into<String>) -> Client {
        self.token = Some(token.into());
        self
    }

    pub async fn get(&self, path: &str) -> io::Result<HttpResponse> {
        self.send("GET", path, &[], None).await
    }

    /// POST a JSON body, optionally with an Idempotency-Key.
    pub async fn post_json(
        &self,
        path: &str,
        body: &str,
        idempotency_key: Option<&str>,
    ) -> io::Result<HttpResponse> {
        let mut h: Vec<(&str, &str)> = vec![("content-type", "application/json")];
        if let Some(k) = idempotency_key {
            h.push(("idempotency-key", k));
        }
        self.send("POST", path, &h, Some(body.as_bytes())).await
    }

    /// Sends a request with these extra headers; `path` includes the query.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> io::Result<HttpResponse> {
        let method = Method::from_bytes(method.as_bytes()).map_err(invalid)?;
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = Full::new(Bytes::copy_from_slice(body.unwrap_or_default()));
        let req = req.body(body).map_err(invalid)?;
        let exchange = async {
            let resp = self.pool.request(req).await.map_err(io::Error::other)?;
            let (parts, body) = resp.into_parts();
            let body = body.collect().await.map_err(io::Error::other)?.to_bytes();
            let headers = parts
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            Ok(HttpResponse {
                status: parts.status.as_u16(),
                headers,
                body: body.to_vec(),
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "request timed out"))?
    }
}
