//! `GET /metrics`: the service's counters in the Prometheus text format
//! (version 0.0.4), written by hand: a few counters, gauges and histograms
//! do not need a metrics library.
//!
//! Labels are bounded: routes are the matched path templates
//! (`/contracts/{id}`), never raw paths, and unmatched requests share one
//! label, so a client cannot grow the series without bound.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cascade_store::{BATCH_BUCKETS, BatchSizes};

use crate::AppState;

/// Upper bounds of the latency histogram's buckets, in seconds.
pub const LATENCY_BUCKETS_S: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

/// The content type of the exposition format.
pub const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Clone, Debug, Default)]
struct Histogram {
    /// Per bucket, not cumulative; the last slot is `+Inf`.
    counts: [u64; LATENCY_BUCKETS_S.len() + 1],
    count: u64,
    sum_us: u128,
}

impl Histogram {
    fn observe(&mut self, d: Duration) {
        let s = d.as_secs_f64();
        let i = LATENCY_BUCKETS_S
            .iter()
            .position(|&b| s <= b)
            .unwrap_or(LATENCY_BUCKETS_S.len());
        self.counts[i] += 1;
        self.count += 1;
        self.sum_us += d.as_micros();
    }
}

/// The service's metrics, shared by every handler through [`AppState`].
#[derive(Debug, Default)]
pub struct Metrics {
    /// Plan requests waiting for a solver slot, copied from the plan pool
    /// ([`crate::limits::Limiter`]) when the metrics are read.
    pub plan_queue: AtomicI64,
    /// Plans being solved now, copied like `plan_queue`.
    pub plan_running: AtomicI64,
    /// method → route → answers; nested so that counting a request looks
    /// its labels up without allocating.
    routes: Mutex<BTreeMap<String, BTreeMap<String, RouteStats>>>,
}

/// The answers to one (method, route).
#[derive(Debug, Default)]
struct RouteStats {
    /// status → requests answered.
    statuses: BTreeMap<u16, u64>,
    latency: Histogram,
}

impl Metrics {
    /// Counts one answered request.
    pub fn record(&self, method: &str, route: &str, status: u16, latency: Duration) {
        let mut routes = self.routes.lock().expect("not poisoned");
        if !routes.contains_key(method) {
            routes.insert(method.to_string(), BTreeMap::new());
        }
        let by_route = routes.get_mut(method).expect("inserted above");
        if !by_route.contains_key(route) {
            by_route.insert(route.to_string(), RouteStats::default());
        }
        let stats = by_route.get_mut(route).expect("inserted above");
        *stats.statuses.entry(status).or_insert(0) += 1;
        stats.latency.observe(latency);
    }

    /// The exposition text, with the journal position `seq` and the store's
    /// batch sizes.
    pub fn render(&self, seq: i64, batches: &BatchSizes) -> String {
        let mut out = String::with_capacity(4096);
        let w = &mut out;
        let _ = writeln!(
            w,
            "# HELP cascade_http_requests_total HTTP requests answered, by method, route template and status."
        );
        let _ = writeln!(w, "# TYPE cascade_http_requests_total counter");
        let routes = self.routes.lock().expect("not poisoned");
        for (m, by_route) in routes.iter() {
            for (r, stats) in by_route {
                for (s, n) in &stats.statuses {
                    let _ = writeln!(
                        w,
                        "cascade_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{s}\"}} {n}",
                        escape(r)
                    );
                }
            }
        }
        let _ = writeln!(
            w,
            "# HELP cascade_http_request_duration_seconds Time from the request to the response's head, by method and route template."
        );
        let _ = writeln!(w, "# TYPE cascade_http_request_duration_seconds histogram");
        for (m, r, h) in routes
            .iter()
            .flat_map(|(m, rs)| rs.iter().map(move |(r, st)| (m, r, &st.latency)))
        {
            let labels = format!("method=\"{m}\",route=\"{}\"", escape(r));
            let mut cum = 0;
            for (i, b) in LATENCY_BUCKETS_S.iter().enumerate() {
                cum += h.counts[i];
                let _ = writeln!(
                    w,
                    "cascade_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {cum}"
                );
            }
            let _ = writeln!(
                w,
                "cascade_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                w,
                "cascade_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum_us as f64 / 1e6
            );
            let _ = writeln!(
                w,
                "cascade_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        let _ = writeln!(
            w,
            "# HELP cascade_journal_seq Sequence number of the last journal row this instance has applied."
        );
        let _ = writeln!(w, "# TYPE cascade_journal_seq gauge");
        let _ = writeln!(w, "cascade_journal_seq {seq}");
        let _ = writeln!(
            w,
            "# HELP cascade_write_batch_size Requests per group commit run by this instance."
        );
        let _ = writeln!(w, "# TYPE cascade_write_batch_size histogram");
        let mut cum = 0;
        for (i, b) in BATCH_BUCKETS.iter().enumerate() {
            cum += batches.counts[i];
            let _ = writeln!(w, "cascade_write_batch_size_bucket{{le=\"{b}\"}} {cum}");
        }
        let _ = writeln!(
            w,
            "cascade_write_batch_size_bucket{{le=\"+Inf\"}} {}",
            batches.count
        );
        let _ = writeln!(w, "cascade_write_batch_size_sum {}", batches.sum);
        let _ = writeln!(w, "cascade_write_batch_size_count {}", batches.count);
        let _ = writeln!(
            w,
            "# HELP cascade_plan_queue_length Plan requests waiting for a solver slot."
        );
        let _ = writeln!(w, "# TYPE cascade_plan_queue_length gauge");
        let _ = writeln!(
            w,
            "cascade_plan_queue_length {}",
            self.plan_queue.load(Ordering::Relaxed)
        );
        let _ = writeln!(w, "# HELP cascade_plans_running Plans being solved now.");
        let _ = writeln!(w, "# TYPE cascade_plans_running gauge");
        let _ = writeln!(
            w,
            "cascade_plans_running {}",
            self.plan_running.load(Ordering::Relaxed)
        );
        out
    }
}

/// A label value as the text format writes it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /metrics`. No token: the figures name no party and no item.
pub(crate) async fn metrics(State(app): State<AppState>) -> Response {
    let seq = match app.store.read(|s| s.seq).await {
        Ok(s) => s,
        Err(e) => {
            return crate::Problem::unavailable(format!("the store could not be read: {e}"))
                .into_response();
        }
    };
    // The plan pool owns the two gauges; copy them in as they are now.
    app.metrics
        .plan_queue
        .store(app.limiter.queued(), Ordering::Relaxed);
    app.metrics
        .plan_running
        .store(app.limiter.running(), Ordering::Relaxed);
    let text = app.metrics.render(seq, &app.store.write_batches());
    let mut r = (StatusCode::OK, text).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_counts_and_is_cumulative() {
        let m = Metrics::default();
        m.record("GET", "/contracts/{id}", 200, Duration::from_millis(3));
        m.record("GET", "/contracts/{id}", 200, Duration::from_millis(30));
        m.record("GET", "/contracts/{id}", 404, Duration::from_millis(1));
        m.plan_queue.store(4, Ordering::Relaxed);
        let mut b = BatchSizes::default();
        b.counts[0] = 2;
        b.counts[3] = 1;
        b.count = 3;
        b.sum = 9;
        let t = m.render(17, &b);
        assert!(t.contains(
            "cascade_http_requests_total{method=\"GET\",route=\"/contracts/{id}\",status=\"200\"} 2"
        ));
        assert!(t.contains(
            "cascade_http_requests_total{method=\"GET\",route=\"/contracts/{id}\",status=\"404\"} 1"
        ));
        // 1 ms, 3 ms and 30 ms: one under 1 ms (inclusive), two under 5 ms, three under 50 ms.
        let l =
            "cascade_http_request_duration_seconds_bucket{method=\"GET\",route=\"/contracts/{id}\"";
        assert!(t.contains(&format!("{l},le=\"0.001\"}} 1")));
        assert!(t.contains(&format!("{l},le=\"0.005\"}} 2")));
        assert!(t.contains(&format!("{l},le=\"0.05\"}} 3")));
        assert!(t.contains(&format!("{l},le=\"+Inf\"}} 3")));
        assert!(t.contains("cascade_http_request_duration_seconds_sum{method=\"GET\",route=\"/contracts/{id}\"} 0.034"));
        assert!(t.contains("cascade_journal_seq 17"));
        assert!(t.contains("cascade_write_batch_size_bucket{le=\"4\"} 2"));
        assert!(t.contains("cascade_write_batch_size_bucket{le=\"8\"} 3"));
        assert!(t.contains("cascade_write_batch_size_sum 9"));
        assert!(t.contains("cascade_plan_queue_length 4"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
