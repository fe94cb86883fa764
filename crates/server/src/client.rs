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
        let h = json_headers(idempotency_key);
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
        let req = request(
            &format!("{}{path}", self.base),
            self.token.as_deref(),
            method,
            headers,
            body,
        )?;
        let exchange = async {
            let resp = self.pool.request(req).await.map_err(io::Error::other)?;
            read_response(resp).await
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "request timed out"))?
    }
}

/// The headers of a JSON body, with an Idempotency-Key if given.
pub fn json_headers(idempotency_key: Option<&str>) -> Vec<(&str, &str)> {
    let mut h = vec![("content-type", "application/json")];
    if let Some(k) = idempotency_key {
        h.push(("idempotency-key", k));
    }
    h
}

/// A request to `uri` with the token as a bearer and these headers.
fn request(
    uri: &str,
    token: Option<&str>,
    method: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> io::Result<Request<Full<Bytes>>> {
    let method = Method::from_bytes(method.as_bytes()).map_err(invalid)?;
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body = Full::new(Bytes::copy_from_slice(body.unwrap_or_default()));
    req.body(body).map_err(invalid)
}

/// Status, headers and the whole body of a response.
async fn read_response(resp: hyper::Response<hyper::body::Incoming>) -> io::Result<HttpResponse> {
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
}

type Connection = hyper::client::conn::http1::Connection<
    hyper_util::rt::TokioIo<tokio::net::TcpStream>,
    Full<Bytes>,
>;

/// A connection's sending half, and its IO future (polled by `Conn::send`).
type Open = (
    hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    std::pin::Pin<Box<Connection>>,
);

/// One kept-alive connection, for a caller that sends one request at a time
/// (the load generator's clients): no pool and no extra task. The
/// connection's IO is driven inside [`Conn::send`] itself, so a request
/// costs no hand-off between tasks. On the service bench's reads it took
/// 23–28 µs of CPU per request against the pooled [`Client`]'s 28–35 µs
/// (paired runs, bench/README.md), CPU the server it measures shares. A
/// closed connection is opened again on the next request.
pub struct Conn {
    addr: SocketAddr,
    token: Option<String>,
    open: Option<Open>,
    /// For the whole exchange, from connecting to the last byte of the body.
    pub timeout: Duration,
}

impl Conn {
    pub fn new(addr: SocketAddr, token: Option<String>) -> Conn {
        Conn {
            addr,
            token,
            open: None,
            timeout: Duration::from_secs(60),
        }
    }

    /// Sends a request with these extra headers (for a JSON body,
    /// [`json_headers`]); `path` includes the query.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> io::Result<HttpResponse> {
        let addr = self.addr;
        let token = self.token.as_deref();
        let open = &mut self.open;
        let exchange = async move {
            // A kept-alive connection the server closed while it was idle
            // shows it only now: then the request was not read, and goes
            // again once on a new connection (as the pooled client does).
            let mut reused = false;
            loop {
                if open.as_ref().is_none_or(|(s, _)| s.is_closed()) {
                    let stream = tokio::net::TcpStream::connect(addr).await?;
                    stream.set_nodelay(true)?;
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let (sender, conn) = hyper::client::conn::http1::handshake(io)
                        .await
                        .map_err(io::Error::other)?;
                    *open = Some((sender, Box::pin(conn)));
                } else {
                    reused = true;
                }
                let mut req = request(path, token, method, headers, body)?;
                // HTTP/1.1 wants a Host; the pooled client adds it, a bare
                // connection does not.
                req.headers_mut().insert(
                    header::HOST,
                    header::HeaderValue::from_str(&addr.to_string()).map_err(invalid)?,
                );
                let (sender, conn) = open.as_mut().expect("opened above");
                let answer = async {
                    sender.ready().await.map_err(io::Error::other)?;
                    let resp = sender.send_request(req).await.map_err(io::Error::other)?;
                    read_response(resp).await
                };
                // The connection makes progress only while polled: poll it
                // beside the exchange, in this task.
                let r = tokio::select! {
                    // An answer that arrived is taken before a close.
                    biased;
                    r = answer => r.map_err(Some),
                    _ = conn.as_mut() => Err(None),
                };
                match r {
                    Ok(resp) => return Ok(resp),
                    Err(None) if reused => {
                        *open = None;
                        reused = false;
                    }
                    Err(e) => {
                        *open = None;
                        return Err(e.unwrap_or_else(|| {
                            io::Error::new(
                                io::ErrorKind::ConnectionAborted,
                                "the server closed the connection",
                            )
                        }));
                    }
                }
            }
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "request timed out"))?
    }
}
