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
use std::time::Duration;

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

/// One log line being written (tracing writes a formatted line at once).
pub struct Line;

impl Write for Line {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let b = batched();
        let mut buf = b.buf.lock().unwrap_or_else(|e| e.into_inner());
        if buf.len() >= BLOCK_AT_BYTES {
            std::io::stderr().lock().write_all(&buf)?;
            buf.clear();
        }
        buf.extend_from_slice(data);
        if buf.len() >= FLUSH_AT_BYTES {
            b.wake.notify_one();
        }
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

/// Installs the subscriber: `RUST_LOG` or `warn,cascade::request=info`, in
/// `format`, to stderr through the buffer.
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
}
