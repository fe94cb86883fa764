//! Monte-Carlo summaries, the metrics JSON document of `second-wave.md`
//! ("Simulation") and the SVG chart.

use std::fmt::Write;

use cascade_core::{Id, Instant, format_usd};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use crate::{RunMetrics, Span};

/// Every run of one policy.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyReport {
    pub policy: String,
    /// The portfolio's cost over the span, before any reprocurement.
    pub base_cost_usd: Decimal,
    pub runs: Vec<RunMetrics>,
}

/// A mean over runs and its 95% confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
}

/// Two-sided 97.5% quantile of Student's t with `df` degrees of freedom.
fn t975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    if df == 0 {
        f64::NAN
    } else if df <= 30 {
        T[df - 1]
    } else {
        1.96
    }
}

impl Summary {
    pub fn of(xs: impl Iterator<Item = f64>) -> Summary {
        let v: Vec<f64> = xs.collect();
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n.max(1) as f64;
        if n < 2 {
            return Summary {
                mean,
                lo: mean,
                hi: mean,
            };
        }
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let half = t975(n - 1) * (var / n as f64).sqrt();
        Summary {
            mean,
            lo: mean - half,
            hi: mean + half,
        }
    }
}

impl PolicyReport {
    pub fn new(policy: &str, base_cost_usd: Decimal, runs: Vec<RunMetrics>) -> PolicyReport {
        PolicyReport {
            policy: policy.to_string(),
            base_cost_usd,
            runs,
        }
    }

    /// Cost of each run: the portfolio plus what it bought during the run.
    pub fn costs(&self) -> Vec<Decimal> {
        self.runs
            .iter()
            .map(|r| self.base_cost_usd + r.extra_cost_usd)
            .collect()
    }

    /// Mean cost, exact.
    pub fn mean_cost(&self) -> Decimal {
        let c = self.costs();
        c.iter().sum::<Decimal>() / Decimal::from(c.len().max(1))
    }

    pub fn summary(&self, f: impl Fn(&RunMetrics) -> f64) -> Summary {
        Summary::of(self.runs.iter().map(f))
    }

    /// Per chart bucket: mean delivered and mean lost (capacity lost to
    /// faults plus work discarded) H100e, as average concurrent H100e.
    pub fn series(&self, span: Span) -> (Vec<f64>, Vec<f64>) {
        let n = self.runs.first().map_or(0, |r| r.delivered_series.len());
        let hours = span.hours() / n.max(1) as f64;
        let k = self.runs.len().max(1) as f64 * hours;
        let mut d = vec![0.0; n];
        let mut l = vec![0.0; n];
        for r in &self.runs {
            for i in 0..n {
                d[i] += r.delivered_series[i] / k;
                l[i] += r.lost_series[i] / k;
            }
        }
        (d, l)
    }
}

fn r6(x: f64) -> f64 {
    (x * 1_000_000.0).round() / 1_000_000.0
}

type Field = (&'static str, fn(&RunMetrics) -> f64);

const FIELDS: [Field; 5] = [
    ("capacity_h100e_hours", |r| r.capacity_h100e_hours),
    ("capacity_lost_h100e_hours", |r| r.capacity_lost_h100e_hours),
    ("delivered_h100e_hours", |r| r.delivered_h100e_hours),
    ("work_lost_h100e_hours", |r| r.work_lost_h100e_hours),
    ("unmet_h100e_hours", |r| r.unmet_h100e_hours),
];

/// The metrics document. With one run the figures are that run's; with
/// more each is a mean with a `_ci95` twin `[lo, hi]`.
pub fn metrics_json(buyer: &Id, seed: u64, span: Span, reports: &[PolicyReport]) -> Value {
    let runs = reports.first().map_or(0, |r| r.runs.len());
    let policies: Vec<Value> = reports.iter().map(|p| policy_json(p, runs)).collect();
    json!({
        "buyer": buyer.as_str(),
        "seed": seed,
        "runs": runs,
        "from": Instant::from_unix_seconds(span.start).to_string(),
        "to": Instant::from_unix_seconds(span.end).to_string(),
        "policies": policies,
    })
}

/// The metrics document with each policy's `series`: per chart bucket
/// (`from` its start), the mean concurrent H100e delivered and lost
/// (capacity lost to faults plus work discarded), as [`PolicyReport::series`]
/// and the SVG chart have them.
pub fn metrics_json_with_series(
    buyer: &Id,
    seed: u64,
    span: Span,
    reports: &[PolicyReport],
) -> Value {
    let mut doc = metrics_json(buyer, seed, span, reports);
    if let Some(Value::Array(policies)) = doc.get_mut("policies") {
        for (p, r) in policies.iter_mut().zip(reports) {
            let (d, l) = r.series(span);
            let n = d.len().max(1) as i64;
            let rows: Vec<Value> = d
                .iter()
                .zip(&l)
                .enumerate()
                .map(|(i, (d, l))| {
                    let from = span.start + (span.end - span.start) * i as i64 / n;
                    json!({
                        "from": Instant::from_unix_seconds(from).to_string(),
                        "delivered_h100e": r6(*d),
                        "lost_h100e": r6(*l),
                    })
                })
                .collect();
            if let Value::Object(o) = p {
                o.insert("series".into(), Value::Array(rows));
            }
        }
    }
    doc
}

fn policy_json(p: &PolicyReport, runs: usize) -> Value {
    let many = runs > 1;
    let mut o = Map::new();
    o.insert("policy".into(), json!(p.policy));
    let cost = p.mean_cost().round_dp(2);
    o.insert("cost_usd".into(), json!(format_usd(cost)));
    if many {
        let s = Summary::of(
            p.costs()
                .iter()
                .map(|c| f64::try_from(*c).unwrap_or(f64::NAN)),
        );
        o.insert(
            "cost_usd_ci95".into(),
            json!([format!("{:.2}", s.lo), format!("{:.2}", s.hi)]),
        );
    }
    let put = |o: &mut Map<String, Value>, name: &str, s: Summary| {
        o.insert(name.into(), json!(r6(s.mean)));
        if many {
            o.insert(format!("{name}_ci95"), json!([r6(s.lo), r6(s.hi)]));
        }
    };
    for (name, f) in FIELDS {
        put(&mut o, name, p.summary(f));
    }
    let mut q = Map::new();
    let qs: [Field; 3] = [
        ("p50", |r| r.queue_delay_p50_s),
        ("p95", |r| r.queue_delay_p95_s),
        ("p99", |r| r.queue_delay_p99_s),
    ];
    for (name, f) in qs {
        put(&mut q, name, p.summary(f));
    }
    o.insert("queue_delay_s".into(), Value::Object(q));
    put(&mut o, "utilization", p.summary(|r| r.utilization));
    let counts: [Field; 3] = [
        ("jobs_total", |r| r.jobs_total as f64),
        ("jobs_finished", |r| r.jobs_finished as f64),
        ("jobs_skipped", |r| r.jobs_skipped as f64),
    ];
    for (name, f) in counts {
        if many {
            put(&mut o, name, p.summary(f));
        } else {
            o.insert(
                name.into(),
                json!(p.runs.first().map_or(0, |r| f(r) as u64)),
            );
        }
    }
    Value::Object(o)
}

const COLORS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
];

/// Delivered (solid) and lost (dashed) H100e over time, one colour per
/// policy, as a self-contained SVG.
pub fn svg_chart(title: &str, span: Span, reports: &[PolicyReport]) -> String {
    let (w, h, left, right, top, bottom) = (960.0, 480.0, 80.0, 200.0, 40.0, 50.0);
    let pw = w - left - right;
    let ph = h - top - bottom;
    let series: Vec<(Vec<f64>, Vec<f64>)> = reports.iter().map(|r| r.series(span)).collect();
    let ymax = series
        .iter()
        .flat_map(|(d, l)| d.iter().chain(l))
        .fold(0.0f64, |m, x| m.max(*x))
        .max(1.0);
    let ymax = nice(ymax);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{left}" y="24" font-size="15">{}</text>
"#,
        esc(title)
    );
    for i in 0..=5 {
        let v = ymax * i as f64 / 5.0;
        let y = top + ph - ph * i as f64 / 5.0;
        let _ = writeln!(
            s,
            r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            left + pw,
            left - 6.0,
            y + 4.0,
            group(v)
        );
    }
    let _ = writeln!(
        s,
        r#"<text transform="translate(18,{:.1}) rotate(-90)" text-anchor="middle">H100e (mean over runs)</text>"#,
        top + ph / 2.0
    );
    // Month ticks on the time axis.
    let mut t = span.start;
    let (mut y0, mut m0, ..) = Instant::from_unix_seconds(t).to_civil();
    loop {
        let x = left + pw * (t - span.start) as f64 / (span.end - span.start) as f64;
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#999"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            top + ph,
            top + ph + 5.0,
            top + ph + 18.0,
            Instant::from_unix_seconds(t).month_string()
        );
        m0 += 1;
        if m0 > 12 {
            m0 = 1;
            y0 += 1;
        }
        let Some(next) = Instant::from_date(y0 as i32, m0, 1) else {
            break;
        };
        t = next.unix_seconds();
        if t >= span.end {
            break;
        }
    }
    let _ = writeln!(
        s,
        r##"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>"##
    );
    for (i, (r, (d, l))) in reports.iter().zip(&series).enumerate() {
        let c = COLORS[i % COLORS.len()];
        for (vals, dash) in [(d, ""), (l, r#" stroke-dasharray="6 4""#)] {
            let n = vals.len().max(1);
            let mut pts = String::new();
            for (k, v) in vals.iter().enumerate() {
                let x0 = left + pw * k as f64 / n as f64;
                let x1 = left + pw * (k + 1) as f64 / n as f64;
                let y = top + ph - ph * v / ymax;
                let _ = write!(pts, "{x0:.1},{y:.1} {x1:.1},{y:.1} ");
            }
            let _ = writeln!(
                s,
                r#"<polyline fill="none" stroke="{c}" stroke-width="1.6"{dash} points="{}"/>"#,
                pts.trim_end()
            );
        }
        let ly = top + 16.0 + 36.0 * i as f64;
        let lx = left + pw + 14.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{ly}" x2="{:.1}" y2="{ly}" stroke="{c}" stroke-width="2"/><text x="{:.1}" y="{:.1}">{} delivered</text>"#,
            lx + 24.0,
            lx + 30.0,
            ly + 4.0,
            esc(&r.policy)
        );
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{c}" stroke-width="2" stroke-dasharray="6 4"/><text x="{:.1}" y="{:.1}">{} lost</text>"#,
            ly + 16.0,
            lx + 24.0,
            ly + 16.0,
            lx + 30.0,
            ly + 20.0,
            esc(&r.policy)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn nice(x: f64) -> f64 {
    let e = 10f64.powf(x.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * e >= x {
            return m * e;
        }
    }
    10.0 * e
}

fn group(v: f64) -> String {
    let n = v.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
