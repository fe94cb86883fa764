//! `cascade serve`'s log lines on stderr.
//!
//! The service logs one line per request. Written one `write(2)` per line,
//! the log was a measurable share of a read's CPU (a few µs of ~60 µs on
//! the service bench) and tied every request to how fast stderr drains.
//! Lines go to a buffer instead, which a thread writes out at most
//! [`FLUSH_EVERY`] later, or at once when it holds [`FLUSH_AT_BYTES`]:
//! a busy service makes a few large writes a second. The buffer never grows
//! without bound: past [`BLOCK_AT_BYTES`] (stderr not draining), a request
//! writes it out itself and waits, as it did before.

use std::io::Write;
use std::sync::{Condvar, Mutex, Once, OnceLock};
use std::time::{Duration, SystemTime};

use cascade_server::observe::{RequestLine, set_request_log};
use tracing_subscriber::fmt::MakeWriter;

use crate::cmd_service::LogFormat;

/// Longest a line waits in the buffer.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// The flusher is woken at once past this many buffered bytes.
const FLUSH_AT_BYTES: usize = 64 * 1024;
/// Past this many buffered bytes a writer flushes the buffer itself.
const BLOCK_AT_BYTES: usize = 4 * 1024 * 1024;

/// Log lines waiting for stderr.
struct Batched {
    buf: Mutex<Vec<u8>>,
    wake: Condvar,
}

static BATCHED: OnceLock<Batched> = OnceLock::new();
static FLUSHER: Once = Once::new();

fn batched() -> &'static Batched {
    let b = BATCHED.get_or_init(|| Batched {
        buf: Mutex::new(Vec::with_capacity(FLUSH_AT_BYTES)),
        wake: Condvar::new(),
    });
    FLUSHER.call_once(|| {
        std::thread::Builder::new()
            .name("cascade-log".into())
            .spawn(move || flusher(b))
            .expect("a thread for the log");
    });
    b
}

fn flusher(b: &'static Batched) {
    let mut out = Vec::with_capacity(FLUSH_AT_BYTES);
    loop {
        {
            let guard = b.buf.lock().unwrap_or_else(|e| e.into_inner());
            let (mut guard, _) = b
                .wake
                .wait_timeout_while(guard, FLUSH_EVERY, |buf| buf.len() < FLUSH_AT_BYTES)
                .unwrap_or_else(|e| e.into_inner());
            std::mem::swap(&mut *guard, &mut out);
        }
        if !out.is_empty() {
            let _ = std::io::stderr().lock().write_all(&out);
            out.clear();
        }
    }
}

/// Writes what is buffered now (at exit, so that no line is lost).
pub fn flush() {
    if let Some(b) = BATCHED.get() {
        let mut buf = b.buf.lock().unwrap_or_else(|e| e.into_inner());
        let _ = std::io::stderr().lock().write_all(&buf);
        buf.clear();
    }
}

/// Appends one line to the buffer: `write` writes it in place.
fn append(write: impl FnOnce(&mut Vec<u8>)) -> std::io::Result<()> {
    let b = batched();
    let mut buf = b.buf.lock().unwrap_or_else(|e| e.into_inner());
    if buf.len() >= BLOCK_AT_BYTES {
        std::io::stderr().lock().write_all(&buf)?;
        buf.clear();
    }
    write(&mut buf);
    if buf.len() >= FLUSH_AT_BYTES {
        b.wake.notify_one();
    }
    Ok(())
}

/// One log line being written (tracing writes a formatted line at once).
pub struct Line;

impl Write for Line {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        append(|buf| buf.extend_from_slice(data))?;
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct MakeLine;

impl<'a> MakeWriter<'a> for MakeLine {
    type Writer = Line;
    fn make_writer(&'a self) -> Line {
        Line
    }
}

/// `2026-12-02T03:58:01.123456Z`: now, in UTC, to the microsecond.
fn timestamp(buf: &mut Vec<u8>) {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = cascade_core::Instant::from_unix_seconds(now.as_secs() as i64);
    // Instant's RFC 3339 form ends in `Z`: the microseconds go before it.
    let _ = write!(buf, "{secs}");
    buf.pop();
    let _ = write!(buf, ".{:06}Z", now.subsec_micros());
}

/// A request's line in `--log-format json`: the flat object the `tracing`
/// JSON formatter writes for an event, with the same keys (docs/service.md).
fn json_line(buf: &mut Vec<u8>, l: &RequestLine<'_>) {
    // Request ids are printable ASCII (observe::valid_request_id) but may
    // hold `"` or `\`: every string goes through serde_json.
    let field = |buf: &mut Vec<u8>, key: &[u8], value: &str| {
        buf.extend_from_slice(key);
        let _ = serde_json::to_writer(&mut *buf, value);
    };
    buf.extend_from_slice(b"{\"timestamp\":\"");
    timestamp(buf);
    buf.extend_from_slice(b"\",\"level\":\"INFO\",\"message\":\"request\"");
    field(buf, b",\"request_id\":", l.request_id);
    field(buf, b",\"token_id\":", l.token_id.unwrap_or("-"));
    field(buf, b",\"method\":", l.method);
    field(buf, b",\"route\":", l.route);
    let _ = writeln!(
        buf,
        ",\"status\":{},\"latency_ms\":{:.3},\"target\":\"cascade::request\"}}",
        l.status,
        l.latency.as_secs_f64() * 1000.0
    );
}

/// A request's line in `--log-format text`, as `tracing`'s text formatter
/// writes an event (`key=value`; the route quoted).
fn text_line(buf: &mut Vec<u8>, l: &RequestLine<'_>) {
    timestamp(buf);
    let _ = writeln!(
        buf,
        "  INFO cascade::request: request request_id={} token_id={} method={} route={:?} status={} latency_ms={:.3}",
        l.request_id,
        l.token_id.unwrap_or("-"),
        l.method,
        l.route,
        l.status,
        l.latency.as_secs_f64() * 1000.0
    );
}

/// Installs the subscriber: `RUST_LOG` or `warn,cascade::request=info`, in
/// `format`, to stderr through the buffer. Request lines are written by
/// hand (about 6 µs less per request than through the subscriber's
/// formatter), when the filter lets `cascade::request` at `info` through.
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,cascade::request=info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(MakeLine);
    let _ = match format {
        // The event's fields at the top level: one flat object per request.
        LogFormat::Json => b
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => b.with_ansi(false).try_init(),
    };
    if tracing::enabled!(target: "cascade::request", tracing::Level::INFO) {
        set_request_log(match format {
            LogFormat::Json => |l| drop(append(|buf| json_line(buf, l))),
            LogFormat::Text => |l| drop(append(|buf| text_line(buf, l))),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(request_id: &'a str, token_id: Option<&'a str>) -> RequestLine<'a> {
        RequestLine {
            request_id,
            token_id,
            method: "GET",
            route: "/contracts/{id}",
            status: 200,
            latency: Duration::from_micros(412_345),
        }
    }

    #[test]
    fn a_json_line_is_one_object_with_the_documented_keys() {
        let mut buf = Vec::new();
        json_line(&mut buf, &line(r#"odd"id\x"#, Some("tok_1")));
        assert_eq!(buf.last(), Some(&b'\n'));
        assert_eq!(buf.iter().filter(|&&b| b == b'\n').count(), 1);
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        // In docs/service.md's order, as tracing wrote them.
        assert_eq!(
            keys,
            [
                "timestamp",
                "level",
                "message",
                "request_id",
                "token_id",
                "method",
                "route",
                "status",
                "latency_ms",
                "target"
            ]
        );
        assert_eq!(v["request_id"], r#"odd"id\x"#);
        assert_eq!(v["token_id"], "tok_1");
        assert_eq!(v["route"], "/contracts/{id}");
        assert_eq!(v["status"], 200);
        assert_eq!(v["latency_ms"], 412.345);
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["target"], "cascade::request");
        // 2026-12-02T03:58:01.123456Z
        let t = v["timestamp"].as_str().unwrap();
        assert_eq!(
            (t.len(), &t[10..11], &t[19..20], &t[26..]),
            (27, "T", ".", "Z"),
            "{t}"
        );
    }

    #[test]
    fn a_text_line_has_key_value_pairs_and_no_token_is_a_dash() {
        let mut buf = Vec::new();
        text_line(&mut buf, &line("req_1", None));
        let s = String::from_utf8(buf).unwrap();
        assert!(
            s.ends_with(
                "Z  INFO cascade::request: request request_id=req_1 token_id=- method=GET route=\"/contracts/{id}\" status=200 latency_ms=412.345\n"
            ),
            "{s}"
        );
    }
}
