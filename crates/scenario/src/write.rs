//! Writing a [`Scenario`] back out: as a TOML scenario file, or as the JSON
//! document the HTTP service exchanges. Both read back to an equal scenario.

use std::fmt::Write as _;

use cascade_core::{AmendmentTarget, Clause, Instant, OutageScope, Scenario, Source, format_usd};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

/// A TOML basic string, quoted and escaped.
fn toml_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(o, "\\u{:04X}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A TOML key: bare when it can be, quoted otherwise (a `.` would nest).
fn toml_key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare { k.to_string() } else { toml_str(k) }
}

/// A float as TOML: Rust's shortest round-trip form (`700.0`, `2.5`, `1e-7`).
fn toml_float(x: f64) -> String {
    format!("{x:?}")
}

/// Money as a TOML string holding the exact decimal as stored.
fn toml_money(d: Decimal) -> String {
    toml_str(&d.to_string())
}

/// A date when the instant is midnight UTC, else an offset date-time in Z.
fn toml_time(t: Instant) -> String {
    if t.unix_seconds().rem_euclid(86_400) == 0 {
        t.date_string()
    } else {
        t.to_string()
    }
}

struct Out(String);

impl Out {
    fn header(&mut self, h: &str) {
        if !self.0.is_empty() {
            self.0.push('\n');
        }
        self.0.push_str(h);
        self.0.push('\n');
    }

    fn kv(&mut self, k: &str, v: impl AsRef<str>) {
        self.0.push_str(k);
        self.0.push_str(" = ");
        self.0.push_str(v.as_ref());
        self.0.push('\n');
    }

    fn window(&mut self, w: &cascade_core::Window) {
        self.kv("start", toml_time(w.start()));
        self.kv("end", toml_time(w.end()));
    }

    fn source(&mut self, s: &Source) {
        match s {
            Source::Site(id) => self.kv("site", toml_str(id.as_str())),
            Source::BackedBy(id) => self.kv("backed_by", toml_str(id.as_str())),
        }
    }
}

/// The scenario as a TOML scenario file in the spec's format.
///
/// Money is written as strings, times as TOML dates when they fall on
/// midnight UTC and as `Z` date-times otherwise. Parsing the result gives
/// back an equal [`Scenario`].
pub fn to_toml(s: &Scenario) -> String {
    let mut o = Out(String::new());
    o.kv("name", toml_str(&s.name));

    for g in &s.gpus {
        o.header("[[gpu]]");
        o.kv("id", toml_str(g.id.as_str()));
        o.kv("h100e", toml_float(g.h100e.get()));
        o.kv("watts", toml_float(g.watts.get()));
    }
    for p in &s.parties {
        o.header("[[party]]");
        o.kv("id", toml_str(p.id.as_str()));
        if let Some(name) = &p.name {
            o.kv("name", toml_str(name));
        }
    }
    for site in &s.sites {
        o.header("[[site]]");
        o.kv("id", toml_str(site.id.as_str()));
        o.kv("owner", toml_str(site.owner.as_str()));
        o.kv("region", toml_str(&site.region));
        if let Some(p) = site.power_mw {
            o.kv("power_mw", toml_float(p.get()));
        }
        let gpus: Vec<String> = site
            .gpus
            .iter()
            .map(|(c, n)| format!("{} = {n}", toml_key(c.as_str())))
            .collect();
        if gpus.is_empty() {
            o.kv("gpus", "{}");
        } else {
            o.kv("gpus", format!("{{ {} }}", gpus.join(", ")));
        }
    }
    for c in &s.contracts {
        o.header("[[contract]]");
        o.kv("id", toml_str(c.id.as_str()));
        o.kv("seller", toml_str(c.seller.as_str()));
        o.kv("buyer", toml_str(c.buyer.as_str()));
        o.kv("gpu", toml_str(c.gpu.as_str()));
        o.kv("gpus", c.gpus.to_string());
        o.window(&c.window);
        o.kv("price_per_gpu_hour", toml_money(c.price_per_gpu_hour.get()));
        o.source(&c.source);
        if c.resale {
            o.kv("resale", "true");
        }
    }
    for c in &s.commitments {
        o.header("[[commitment]]");
        o.kv("id", toml_str(c.id.as_str()));
        o.kv("buyer", toml_str(c.buyer.as_str()));
        o.kv("seller", toml_str(c.seller.as_str()));
        o.window(&c.window);
        o.kv("usd", toml_money(c.usd.get()));
    }
    for a in &s.amendments {
        o.header("[[amendment]]");
        match &a.target {
            AmendmentTarget::Contract { id, gpus } => {
                o.kv("contract", toml_str(id.as_str()));
                o.kv("gpus", gpus.to_string());
            }
            AmendmentTarget::Commitment { id, usd } => {
                o.kv("commitment", toml_str(id.as_str()));
                o.kv("usd", toml_money(usd.get()));
            }
        }
        o.kv("effective", toml_time(a.effective));
    }
    for f in &s.offers {
        o.header("[[offer]]");
        o.kv("id", toml_str(f.id.as_str()));
        o.kv("seller", toml_str(f.seller.as_str()));
        o.kv("gpu", toml_str(f.gpu.as_str()));
        o.kv("max_gpus", f.max_gpus.to_string());
        o.kv("block_gpus", f.block_gpus.to_string());
        o.window(&f.window);
        o.kv("price_per_gpu_hour", toml_money(f.price_per_gpu_hour.get()));
        o.source(&f.source);
    }
    for c in &s.clauses {
        o.header("[[clause]]");
        o.kv("kind", toml_str(c.kind()));
        match c {
            Clause::Exclusive {
                buyer,
                seller,
                until,
            } => {
                o.kv("buyer", toml_str(buyer.as_str()));
                o.kv("seller", toml_str(seller.as_str()));
                o.kv("until", toml_time(*until));
            }
            Clause::Rofr {
                buyer,
                holder,
                until,
            } => {
                o.kv("buyer", toml_str(buyer.as_str()));
                o.kv("holder", toml_str(holder.as_str()));
                o.kv("until", toml_time(*until));
            }
            Clause::NoResaleTo { seller, party } => {
                o.kv("seller", toml_str(seller.as_str()));
                o.kv("party", toml_str(party.as_str()));
            }
            Clause::AvoidProvider { buyer, provider } => {
                o.kv("buyer", toml_str(buyer.as_str()));
                o.kv("provider", toml_str(provider.as_str()));
            }
        }
    }
    for d in &s.demands {
        o.header("[[demand]]");
        o.kv("buyer", toml_str(d.buyer.as_str()));
        o.window(&d.window);
        o.kv("h100e", toml_float(d.h100e.get()));
    }
    for u in &s.outages {
        o.header("[[outage]]");
        match &u.scope {
            OutageScope::Site(id) => o.kv("site", toml_str(id.as_str())),
            OutageScope::Provider(id) => o.kv("provider", toml_str(id.as_str())),
        }
        o.window(&u.window);
    }
    for (buyer, p) in &s.policies {
        o.header(&format!("[policy.{}]", toml_key(buyer.as_str())));
        if let Some(x) = p.max_provider_share {
            o.kv("max_provider_share", toml_float(x.get()));
        }
        if let Some(x) = p.min_share_after_provider_loss {
            o.kv("min_share_after_provider_loss", toml_float(x.get()));
        }
        if let Some(x) = p.colocated_h100e {
            o.kv("colocated_h100e", toml_float(x.get()));
        }
        if let Some(x) = p.budget_usd {
            o.kv("budget_usd", toml_money(x.get()));
        }
    }
    o.0
}

fn money(d: Decimal) -> Value {
    Value::String(format_usd(d))
}

fn time(t: Instant) -> Value {
    Value::String(t.to_string())
}

fn window_into(m: &mut Map<String, Value>, w: &cascade_core::Window) {
    m.insert("start".into(), time(w.start()));
    m.insert("end".into(), time(w.end()));
}

fn source_into(m: &mut Map<String, Value>, s: &Source) {
    match s {
        Source::Site(id) => m.insert("site".into(), json!(id.as_str())),
        Source::BackedBy(id) => m.insert("backed_by".into(), json!(id.as_str())),
    };
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The scenario as a JSON document with the TOML format's field names:
/// money as exact decimal strings (`"1.85"`, at least two places), times as
/// RFC 3339 strings in UTC. [`crate::parse_json`] reads it back to an equal
/// [`Scenario`].
pub fn to_json_value(s: &Scenario) -> Value {
    let mut doc = Map::new();
    doc.insert("name".into(), json!(s.name));

    let gpus: Vec<Value> = s
        .gpus
        .iter()
        .map(|g| json!({"id": g.id.as_str(), "h100e": g.h100e.get(), "watts": g.watts.get()}))
        .collect();
    let parties: Vec<Value> = s
        .parties
        .iter()
        .map(|p| {
            let mut m = obj(json!({"id": p.id.as_str()}));
            if let Some(n) = &p.name {
                m.insert("name".into(), json!(n));
            }
            Value::Object(m)
        })
        .collect();
    let sites: Vec<Value> = s
        .sites
        .iter()
        .map(|site| {
            let installed: Map<String, Value> = site
                .gpus
                .iter()
                .map(|(c, n)| (c.as_str().to_string(), json!(n.get())))
                .collect();
            let mut m = obj(json!({
                "id": site.id.as_str(),
                "owner": site.owner.as_str(),
                "region": site.region,
                "gpus": installed,
            }));
            if let Some(p) = site.power_mw {
                m.insert("power_mw".into(), json!(p.get()));
            }
            Value::Object(m)
        })
        .collect();
    let contracts: Vec<Value> = s
        .contracts
        .iter()
        .map(|c| {
            let mut m = obj(json!({
                "id": c.id.as_str(),
                "seller": c.seller.as_str(),
                "buyer": c.buyer.as_str(),
                "gpu": c.gpu.as_str(),
                "gpus": c.gpus.get(),
                "price_per_gpu_hour": money(c.price_per_gpu_hour.get()),
                "resale": c.resale,
            }));
            window_into(&mut m, &c.window);
            source_into(&mut m, &c.source);
            Value::Object(m)
        })
        .collect();
    let commitments: Vec<Value> = s
        .commitments
        .iter()
        .map(|c| {
            let mut m = obj(json!({
                "id": c.id.as_str(),
                "buyer": c.buyer.as_str(),
                "seller": c.seller.as_str(),
                "usd": money(c.usd.get()),
            }));
            window_into(&mut m, &c.window);
            Value::Object(m)
        })
        .collect();
    let amendments: Vec<Value> = s
        .amendments
        .iter()
        .map(|a| {
            let mut m = match &a.target {
                AmendmentTarget::Contract { id, gpus } => {
                    obj(json!({"contract": id.as_str(), "gpus": gpus.get()}))
                }
                AmendmentTarget::Commitment { id, usd } => {
                    obj(json!({"commitment": id.as_str(), "usd": money(usd.get())}))
                }
            };
            m.insert("effective".into(), time(a.effective));
            Value::Object(m)
        })
        .collect();
    let offers: Vec<Value> = s
        .offers
        .iter()
        .map(|f| {
            let mut m = obj(json!({
                "id": f.id.as_str(),
                "seller": f.seller.as_str(),
                "gpu": f.gpu.as_str(),
                "max_gpus": f.max_gpus.get(),
                "block_gpus": f.block_gpus.get(),
                "price_per_gpu_hour": money(f.price_per_gpu_hour.get()),
            }));
            window_into(&mut m, &f.window);
            source_into(&mut m, &f.source);
            Value::Object(m)
        })
        .collect();
    let clauses: Vec<Value> = s
        .clauses
        .iter()
        .map(|c| match c {
            Clause::Exclusive {
                buyer,
                seller,
                until,
            } => json!({"kind": c.kind(), "buyer": buyer.as_str(), "seller": seller.as_str(), "until": time(*until)}),
            Clause::Rofr {
                buyer,
                holder,
                until,
            } => json!({"kind": c.kind(), "buyer": buyer.as_str(), "holder": holder.as_str(), "until": time(*until)}),
            Clause::NoResaleTo { seller, party } => {
                json!({"kind": c.kind(), "seller": seller.as_str(), "party": party.as_str()})
            }
            Clause::AvoidProvider { buyer, provider } => {
                json!({"kind": c.kind(), "buyer": buyer.as_str(), "provider": provider.as_str()})
            }
        })
        .collect();
    let demands: Vec<Value> = s
        .demands
        .iter()
        .map(|d| {
            let mut m = obj(json!({"buyer": d.buyer.as_str(), "h100e": d.h100e.get()}));
            window_into(&mut m, &d.window);
            Value::Object(m)
        })
        .collect();
    let outages: Vec<Value> = s
        .outages
        .iter()
        .map(|u| {
            let mut m = match &u.scope {
                OutageScope::Site(id) => obj(json!({"site": id.as_str()})),
                OutageScope::Provider(id) => obj(json!({"provider": id.as_str()})),
            };
            window_into(&mut m, &u.window);
            Value::Object(m)
        })
        .collect();
    let policies: Map<String, Value> = s
        .policies
        .iter()
        .map(|(buyer, p)| {
            let mut m = Map::new();
            if let Some(x) = p.max_provider_share {
                m.insert("max_provider_share".into(), json!(x.get()));
            }
            if let Some(x) = p.min_share_after_provider_loss {
                m.insert("min_share_after_provider_loss".into(), json!(x.get()));
            }
            if let Some(x) = p.colocated_h100e {
                m.insert("colocated_h100e".into(), json!(x.get()));
            }
            if let Some(x) = p.budget_usd {
                m.insert("budget_usd".into(), money(x.get()));
            }
            (buyer.as_str().to_string(), Value::Object(m))
        })
        .collect();

    for (k, v) in [
        ("gpu", gpus),
        ("party", parties),
        ("site", sites),
        ("contract", contracts),
        ("commitment", commitments),
        ("amendment", amendments),
        ("offer", offers),
        ("clause", clauses),
        ("demand", demands),
        ("outage", outages),
    ] {
        doc.insert(k.into(), Value::Array(v));
    }
    doc.insert("policy".into(), Value::Object(policies));
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_keys_are_escaped() {
        assert_eq!(
            toml_str("a\"b\\c\n\u{1}\u{7f}é"),
            "\"a\\\"b\\\\c\\n\\u0001\\u007Fé\""
        );
        assert_eq!(toml_key("h100"), "h100");
        assert_eq!(toml_key("a.b"), "\"a.b\"");
    }

    #[test]
    fn floats_and_times_are_written_exactly() {
        assert_eq!(toml_float(700.0), "700.0");
        assert_eq!(toml_float(2.5), "2.5");
        assert_eq!(toml_float(1e-7), "1e-7");
        let day = Instant::from_date(2026, 1, 1).unwrap();
        assert_eq!(toml_time(day), "2026-01-01");
        let t = Instant::from_datetime(2026, 2, 1, 6, 0, 0, 3600).unwrap();
        assert_eq!(toml_time(t), "2026-02-01T05:00:00Z");
    }
}
