//! A minimal HTTP/1.1 client with keep-alive, for the service's tests, the
//! load generator and `cascade load --server`. It speaks just enough HTTP
//! for this service: `Content-Length` or chunked bodies, one request at a
//! time per connection.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// One keep-alive connection to a server (reconnects when the server closes it).
pub struct Client {
    addr: SocketAddr,
    host: String,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    /// Sent as `Authorization: Bearer ...` when set.
    pub token: Option<String>,
    pub timeout: Duration,
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            host: addr.to_string(),
            stream: None,
            buf: Vec::with_capacity(16 * 1024),
            token: None,
            timeout: Duration::from_secs(60),
        }
    }

    pub fn with_token(mut self, token: impl Into<String>) -> Client {
        self.token = Some(token.into());
        self
    }

    pub async fn get(&mut self, path: &str) -> io::Result<HttpResponse> {
        self.send("GET", path, &[], None).await
    }

    /// POST a JSON body, optionally with an Idempotency-Key.
    pub async fn post_json(
        &mut self,
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

    /// Sends a request; retries once on a fresh connection if a kept-alive
    /// one turns out closed before anything was read.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> io::Result<HttpResponse> {
        let mut req = Vec::with_capacity(256 + body.map_or(0, <[u8]>::len));
        req.extend_from_slice(
            format!("{method} {path} HTTP/1.1\r\nhost: {}\r\n", self.host).as_bytes(),
        );
        if let Some(t) = &self.token {
            req.extend_from_slice(format!("authorization: Bearer {t}\r\n").as_bytes());
        }
        for (k, v) in headers {
            req.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        if let Some(b) = body {
            req.extend_from_slice(format!("content-length: {}\r\n", b.len()).as_bytes());
        }
        req.extend_from_slice(b"\r\n");
        if let Some(b) = body {
            req.extend_from_slice(b);
        }
        let reused = self.stream.is_some();
        match tokio::time::timeout(self.timeout, self.roundtrip(&req)).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) if reused && e.kind() == io::ErrorKind::ConnectionAborted => {
                self.stream = None;
                tokio::time::timeout(self.timeout, self.roundtrip(&req))
                    .await
                    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "request timed out"))?
            }
            Ok(Err(e)) => {
                self.stream = None;
                Err(e)
            }
            Err(_) => {
                self.stream = None;
                Err(io::Error::new(io::ErrorKind::TimedOut, "request timed out"))
            }
        }
    }

    async fn roundtrip(&mut self, req: &[u8]) -> io::Result<HttpResponse> {
        if self.stream.is_none() {
            let s = TcpStream::connect(self.addr).await?;
            s.set_nodelay(true)?;
            self.stream = Some(s);
            self.buf.clear();
        }
        let stream = self.stream.as_mut().expect("connected");
        if let Err(e) = stream.write_all(req).await {
            return Err(io::Error::new(io::ErrorKind::ConnectionAborted, e));
        }
        let r = read_response(stream, &mut self.buf).await;
        if let Ok(resp) = &r
            && resp
                .header("connection")
                .is_some_and(|v| v.eq_ignore_ascii_case("close"))
        {
            self.stream = None;
        }
        r
    }
}

async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>, first: bool) -> io::Result<()> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk).await?;
    if n == 0 {
        return Err(if first && buf.is_empty() {
            io::Error::new(io::ErrorKind::ConnectionAborted, "connection closed")
        } else {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed mid-response",
            )
        });
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<HttpResponse> {
    let mut first = true;
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 {
            return Err(bad("response head too large"));
        }
        fill(stream, buf, first).await?;
        first = false;
    };
    let head =
        std::str::from_utf8(&buf[..head_end]).map_err(|_| bad("response head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or_else(|| bad("empty response"))?;
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    buf.drain(..head_end + 4);
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let body = if let Some(len) = get("content-length") {
        let len: usize = len.parse().map_err(|_| bad("bad content-length"))?;
        while buf.len() < len {
            fill(stream, buf, false).await?;
        }
        buf.drain(..len).collect()
    } else if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = find(buf, b"\r\n") {
                    break i;
                }
                fill(stream, buf, false).await?;
            };
            let size_text =
                std::str::from_utf8(&buf[..line_end]).map_err(|_| bad("bad chunk size"))?;
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| bad("bad chunk size"))?;
            buf.drain(..line_end + 2);
            while buf.len() < size + 2 {
                fill(stream, buf, false).await?;
            }
            body.extend_from_slice(&buf[..size]);
            buf.drain(..size + 2);
            if size == 0 {
                break;
            }
        }
        body
    } else if status == 204 || status == 304 || (100..200).contains(&status) {
        Vec::new()
    } else {
        // Body until close.
        loop {
            match fill(stream, buf, false).await {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e),
            }
        }
        std::mem::take(buf)
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}
