//! The journal's row format: one [`Record`] as `(kind, JSON body)`.
//!
//! Bodies use the scenario format's field names (`seller`, `backed_by`,
//! `price_per_gpu_hour`, ...), times are RFC 3339 strings in UTC and money is
//! a string holding the exact decimal, so a row reads like one item of a
//! scenario document. The one difference: a policy row carries its buyer as
//! a `buyer` field (the file writes it as the key of `[policy.<buyer>]`).

use std::str::FromStr;

use cascade_core::{
    Amendment, AmendmentTarget, Clause, Commitment, Contract, Demand, Event, Expansion, GpuClass,
    GpuDelta, Gpus, Id, Instant, MwDelta, Offer, Outage, OutageScope, Party, Policy, Positive,
    Share, Site, Source, Usd, UsdPerGpuHour, Window,
};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

/// One row of the journal: a ledger event, or one of the scenario items the
/// ledger does not hold but `plan` needs (demands, outages, policies).
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Event(Event),
    Demand(Demand),
    Outage(Outage),
    Policy(Id, Policy),
}

/// A journal row that could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("journal row of kind {kind:?}: {message}")]
pub struct CodecError {
    pub kind: String,
    pub message: String,
}

fn time(t: Instant) -> Value {
    Value::String(t.to_string())
}

fn money(d: Decimal) -> Value {
    Value::String(d.to_string())
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
        _ => unreachable!("json! object literal"),
    }
}

/// The row kind of a record: `gpu`, `party`, `site`, `clause`, `contract`,
/// `amendment`, `commitment`, `offer`, `demand`, `outage` or `policy`.
pub fn kind(r: &Record) -> &'static str {
    match r {
        Record::Event(Event::Gpu(_)) => "gpu",
        Record::Event(Event::Party(_)) => "party",
        Record::Event(Event::Site(_)) => "site",
        Record::Event(Event::Clause(_)) => "clause",
        Record::Event(Event::Contract(_)) => "contract",
        Record::Event(Event::Amendment(_)) => "amendment",
        Record::Event(Event::Commitment(_)) => "commitment",
        Record::Event(Event::Offer(_)) => "offer",
        Record::Event(Event::Expansion(_)) => "expansion",
        Record::Demand(_) => "demand",
        Record::Outage(_) => "outage",
        Record::Policy(..) => "policy",
    }
}

/// The JSON body of a record, with the scenario format's field names.
pub fn to_value(r: &Record) -> Value {
    match r {
        Record::Event(e) => event_value(e),
        Record::Demand(d) => json!({
            "buyer": d.buyer.as_str(),
            "start": time(d.window.start()),
            "end": time(d.window.end()),
            "h100e": d.h100e.get(),
        }),
        Record::Outage(o) => {
            let mut m = match &o.scope {
                OutageScope::Site(id) => obj(json!({"site": id.as_str()})),
                OutageScope::Provider(id) => obj(json!({"provider": id.as_str()})),
            };
            m.insert("start".into(), time(o.window.start()));
            m.insert("end".into(), time(o.window.end()));
            Value::Object(m)
        }
        Record::Policy(buyer, p) => {
            let mut m = obj(json!({"buyer": buyer.as_str()}));
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
            Value::Object(m)
        }
    }
}

/// `(kind, body)` of a record, ready for the `events` table.
pub fn encode(r: &Record) -> (&'static str, String) {
    (kind(r), to_value(r).to_string())
}

fn event_value(e: &Event) -> Value {
    match e {
        Event::Expansion(x) => {
            let gpus: Map<String, Value> = x
                .gpus
                .iter()
                .map(|(c, d)| (c.as_str().to_string(), json!(d.get())))
                .collect();
            let mut m = obj(json!({
                "id": x.id.as_str(), "site": x.site.as_str(), "effective": time(x.effective), "gpus": gpus,
            }));
            if let Some(p) = x.power_mw {
                m.insert("power_mw".into(), json!(p.get()));
            }
            Value::Object(m)
        }
        Event::Gpu(g) => {
            json!({"id": g.id.as_str(), "h100e": g.h100e.get(), "watts": g.watts.get()})
        }
        Event::Party(p) => {
            let mut m = obj(json!({"id": p.id.as_str()}));
            if let Some(n) = &p.name {
                m.insert("name".into(), json!(n));
            }
            Value::Object(m)
        }
        Event::Site(s) => {
            let gpus: Map<String, Value> = s
                .gpus
                .iter()
                .map(|(c, n)| (c.as_str().to_string(), json!(n.get())))
                .collect();
            let mut m = obj(json!({
                "id": s.id.as_str(), "owner": s.owner.as_str(), "region": s.region, "gpus": gpus,
            }));
            if let Some(p) = s.power_mw {
                m.insert("power_mw".into(), json!(p.get()));
            }
            Value::Object(m)
        }
        Event::Contract(c) => {
            let mut m = obj(json!({
                "id": c.id.as_str(),
                "seller": c.seller.as_str(),
                "buyer": c.buyer.as_str(),
                "gpu": c.gpu.as_str(),
                "gpus": c.gpus.get(),
                "start": time(c.window.start()),
                "end": time(c.window.end()),
                "price_per_gpu_hour": money(c.price_per_gpu_hour.get()),
                "resale": c.resale,
            }));
            source_into(&mut m, &c.source);
            Value::Object(m)
        }
        Event::Amendment(a) => {
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
        }
        Event::Commitment(c) => json!({
            "id": c.id.as_str(),
            "buyer": c.buyer.as_str(),
            "seller": c.seller.as_str(),
            "start": time(c.window.start()),
            "end": time(c.window.end()),
            "usd": money(c.usd.get()),
        }),
        Event::Offer(o) => {
            let mut m = obj(json!({
                "id": o.id.as_str(),
                "seller": o.seller.as_str(),
                "gpu": o.gpu.as_str(),
                "max_gpus": o.max_gpus.get(),
                "block_gpus": o.block_gpus.get(),
                "start": time(o.window.start()),
                "end": time(o.window.end()),
                "price_per_gpu_hour": money(o.price_per_gpu_hour.get()),
            }));
            source_into(&mut m, &o.source);
            Value::Object(m)
        }
        Event::Clause(c) => match c {
            Clause::Exclusive {
                buyer,
                seller,
                until,
            } => {
                json!({"kind": c.kind(), "buyer": buyer.as_str(), "seller": seller.as_str(), "until": time(*until)})
            }
            Clause::Rofr {
                buyer,
                holder,
                until,
            } => {
                json!({"kind": c.kind(), "buyer": buyer.as_str(), "holder": holder.as_str(), "until": time(*until)})
            }
            Clause::NoResaleTo { seller, party } => {
                json!({"kind": c.kind(), "seller": seller.as_str(), "party": party.as_str()})
            }
            Clause::AvoidProvider { buyer, provider } => {
                json!({"kind": c.kind(), "buyer": buyer.as_str(), "provider": provider.as_str()})
            }
        },
    }
}

// ---- decoding ---------------------------------------------------------

struct Body<'a> {
    kind: &'a str,
    m: &'a Map<String, Value>,
}

impl Body<'_> {
    fn err(&self, message: impl Into<String>) -> CodecError {
        CodecError {
            kind: self.kind.to_string(),
            message: message.into(),
        }
    }

    fn opt(&self, f: &str) -> Option<&Value> {
        self.m.get(f).filter(|v| !v.is_null())
    }

    fn req(&self, f: &str) -> Result<&Value, CodecError> {
        self.opt(f)
            .ok_or_else(|| self.err(format!("missing field {f}")))
    }

    fn str(&self, f: &str) -> Result<&str, CodecError> {
        self.req(f)?
            .as_str()
            .ok_or_else(|| self.err(format!("field {f} is not a string")))
    }

    fn id(&self, f: &str) -> Result<Id, CodecError> {
        Id::new(self.str(f)?).map_err(|e| self.err(format!("field {f}: {e}")))
    }

    /// A GPU class id (uppercase letters allowed, as in `H100`).
    fn class_id(&self, f: &str) -> Result<Id, CodecError> {
        Id::new_gpu_class(self.str(f)?).map_err(|e| self.err(format!("field {f}: {e}")))
    }

    fn opt_id(&self, f: &str) -> Result<Option<Id>, CodecError> {
        match self.opt(f) {
            None => Ok(None),
            Some(_) => self.id(f).map(Some),
        }
    }

    fn int(&self, f: &str) -> Result<i64, CodecError> {
        self.req(f)?
            .as_i64()
            .ok_or_else(|| self.err(format!("field {f} is not an integer")))
    }

    fn gpus(&self, f: &'static str) -> Result<Gpus, CodecError> {
        Gpus::new(f, self.int(f)?).map_err(|e| self.err(e.to_string()))
    }

    fn float(&self, f: &str) -> Result<f64, CodecError> {
        self.req(f)?
            .as_f64()
            .ok_or_else(|| self.err(format!("field {f} is not a number")))
    }

    fn positive(&self, f: &'static str) -> Result<Positive, CodecError> {
        Positive::new(f, self.float(f)?).map_err(|e| self.err(e.to_string()))
    }

    fn decimal(&self, f: &str) -> Result<Decimal, CodecError> {
        match self.req(f)? {
            Value::String(s) => {
                Decimal::from_str(s).map_err(|e| self.err(format!("field {f}: {e}")))
            }
            Value::Number(n) => {
                Decimal::from_str(&n.to_string()).map_err(|e| self.err(format!("field {f}: {e}")))
            }
            _ => Err(self.err(format!("field {f} is not an amount"))),
        }
    }

    fn usd(&self, f: &'static str) -> Result<Usd, CodecError> {
        Usd::new(f, self.decimal(f)?).map_err(|e| self.err(e.to_string()))
    }

    fn price(&self, f: &'static str) -> Result<UsdPerGpuHour, CodecError> {
        UsdPerGpuHour::new(f, self.decimal(f)?).map_err(|e| self.err(e.to_string()))
    }

    fn time(&self, f: &str) -> Result<Instant, CodecError> {
        let s = self.str(f)?;
        parse_time(s).ok_or_else(|| self.err(format!("field {f}: {s:?} is not a time")))
    }

    fn window(&self) -> Result<Window, CodecError> {
        Window::new(self.time("start")?, self.time("end")?).map_err(|e| self.err(e.to_string()))
    }

    fn source(&self) -> Result<Source, CodecError> {
        match (self.opt_id("site")?, self.opt_id("backed_by")?) {
            (Some(s), None) => Ok(Source::Site(s)),
            (None, Some(b)) => Ok(Source::BackedBy(b)),
            _ => Err(self.err("exactly one of site and backed_by is required")),
        }
    }
}

/// Parses the times the codec writes (`2026-01-01T00:00:00Z`) and, for rows
/// written by hand, plain dates (`2026-01-01`).
pub fn parse_time(s: &str) -> Option<Instant> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        if part.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(part).ok()?.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b.len() == 10 {
        return Instant::from_date(y as i32, mo as u8, d as u8);
    }
    if b.len() != 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
        return None;
    }
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if se > 59 {
        return None;
    }
    Instant::from_datetime(y as i32, mo as u8, d as u8, h as u8, mi as u8, se as u8, 0)
}

/// Reads a journal row back.
pub fn decode(kind: &str, body: &str) -> Result<Record, CodecError> {
    let v: Value = serde_json::from_str(body).map_err(|e| CodecError {
        kind: kind.to_string(),
        message: format!("body is not JSON: {e}"),
    })?;
    from_value(kind, &v)
}

/// Reads a record from its kind and JSON body.
pub fn from_value(kind: &str, v: &Value) -> Result<Record, CodecError> {
    let Some(m) = v.as_object() else {
        return Err(CodecError {
            kind: kind.to_string(),
            message: "body is not a JSON object".into(),
        });
    };
    let b = Body { kind, m };
    let event = match kind {
        "gpu" => Event::Gpu(GpuClass {
            id: b.class_id("id")?,
            h100e: b.positive("h100e")?,
            watts: b.positive("watts")?,
        }),
        "party" => Event::Party(Party {
            id: b.id("id")?,
            name: match b.opt("name") {
                None => None,
                Some(_) => Some(b.str("name")?.to_string()),
            },
        }),
        "site" => {
            let gpus = b
                .req("gpus")?
                .as_object()
                .ok_or_else(|| b.err("field gpus is not an object"))?
                .iter()
                .map(|(k, n)| {
                    let id = Id::new_gpu_class(k).map_err(|e| b.err(format!("gpus: {e}")))?;
                    let n = n
                        .as_i64()
                        .ok_or_else(|| b.err(format!("gpus.{k} is not an integer")))?;
                    let n = Gpus::new("gpus", n).map_err(|e| b.err(e.to_string()))?;
                    Ok((id, n))
                })
                .collect::<Result<Vec<_>, CodecError>>()?;
            Event::Site(Site {
                id: b.id("id")?,
                owner: b.id("owner")?,
                region: b.str("region")?.to_string(),
                power_mw: match b.opt("power_mw") {
                    None => None,
                    Some(_) => Some(b.positive("power_mw")?),
                },
                gpus,
            })
        }
        "contract" => Event::Contract(Contract {
            id: b.id("id")?,
            seller: b.id("seller")?,
            buyer: b.id("buyer")?,
            gpu: b.class_id("gpu")?,
            gpus: b.gpus("gpus")?,
            window: b.window()?,
            price_per_gpu_hour: b.price("price_per_gpu_hour")?,
            source: b.source()?,
            resale: match b.opt("resale") {
                None => false,
                Some(v) => v
                    .as_bool()
                    .ok_or_else(|| b.err("field resale is not a boolean"))?,
            },
        }),
        "amendment" => {
            let target = match (b.opt_id("contract")?, b.opt_id("commitment")?) {
                (Some(id), None) => AmendmentTarget::Contract {
                    id,
                    gpus: b.gpus("gpus")?,
                },
                (None, Some(id)) => AmendmentTarget::Commitment {
                    id,
                    usd: b.usd("usd")?,
                },
                _ => return Err(b.err("exactly one of contract and commitment is required")),
            };
            Event::Amendment(Amendment {
                target,
                effective: b.time("effective")?,
            })
        }
        "expansion" => {
            let gpus = b
                .req("gpus")?
                .as_object()
                .ok_or_else(|| b.err("field gpus is not an object"))?
                .iter()
                .map(|(k, n)| {
                    let id = Id::new_gpu_class(k).map_err(|e| b.err(format!("gpus: {e}")))?;
                    let n = n
                        .as_i64()
                        .ok_or_else(|| b.err(format!("gpus.{k} is not an integer")))?;
                    let d =
                        GpuDelta::new("gpus", n).map_err(|e| b.err(format!("gpus.{k}: {e}")))?;
                    Ok((id, d))
                })
                .collect::<Result<Vec<_>, CodecError>>()?;
            let power_mw = match b.opt("power_mw") {
                None => None,
                Some(v) => Some(
                    v.as_f64()
                        .ok_or_else(|| b.err("power_mw is not a number"))
                        .and_then(|x| {
                            MwDelta::new("power_mw", x).map_err(|e| b.err(e.to_string()))
                        })?,
                ),
            };
            Event::Expansion(Expansion {
                id: b.id("id")?,
                site: b.id("site")?,
                effective: b.time("effective")?,
                gpus,
                power_mw,
            })
        }
        "commitment" => Event::Commitment(Commitment {
            id: b.id("id")?,
            buyer: b.id("buyer")?,
            seller: b.id("seller")?,
            window: b.window()?,
            usd: b.usd("usd")?,
        }),
        "offer" => Event::Offer(Offer {
            id: b.id("id")?,
            seller: b.id("seller")?,
            gpu: b.class_id("gpu")?,
            max_gpus: b.gpus("max_gpus")?,
            block_gpus: b.gpus("block_gpus")?,
            window: b.window()?,
            price_per_gpu_hour: b.price("price_per_gpu_hour")?,
            source: b.source()?,
        }),
        "clause" => Event::Clause(match b.str("kind")? {
            "exclusive" => Clause::Exclusive {
                buyer: b.id("buyer")?,
                seller: b.id("seller")?,
                until: b.time("until")?,
            },
            "rofr" => Clause::Rofr {
                buyer: b.id("buyer")?,
                holder: b.id("holder")?,
                until: b.time("until")?,
            },
            "no_resale_to" => Clause::NoResaleTo {
                seller: b.id("seller")?,
                party: b.id("party")?,
            },
            "avoid_provider" => Clause::AvoidProvider {
                buyer: b.id("buyer")?,
                provider: b.id("provider")?,
            },
            other => return Err(b.err(format!("unknown clause kind {other:?}"))),
        }),
        "demand" => {
            return Ok(Record::Demand(Demand {
                buyer: b.id("buyer")?,
                window: b.window()?,
                h100e: b.positive("h100e")?,
            }));
        }
        "outage" => {
            let scope = match (b.opt_id("site")?, b.opt_id("provider")?) {
                (Some(s), None) => OutageScope::Site(s),
                (None, Some(p)) => OutageScope::Provider(p),
                _ => return Err(b.err("exactly one of site and provider is required")),
            };
            return Ok(Record::Outage(Outage {
                scope,
                window: b.window()?,
                fraction: cascade_core::OutageFraction::FULL,
            }));
        }
        "policy" => {
            let share = |f: &'static str| -> Result<Option<Share>, CodecError> {
                match b.opt(f) {
                    None => Ok(None),
                    Some(_) => Share::new(f, b.float(f)?)
                        .map(Some)
                        .map_err(|e| b.err(e.to_string())),
                }
            };
            let policy = Policy {
                max_provider_share: share("max_provider_share")?,
                min_share_after_provider_loss: share("min_share_after_provider_loss")?,
                colocated_h100e: match b.opt("colocated_h100e") {
                    None => None,
                    Some(_) => Some(b.positive("colocated_h100e")?),
                },
                budget_usd: match b.opt("budget_usd") {
                    None => None,
                    Some(_) => Some(b.usd("budget_usd")?),
                },
            };
            return Ok(Record::Policy(b.id("buyer")?, policy));
        }
        other => {
            return Err(CodecError {
                kind: other.to_string(),
                message: "unknown row kind".into(),
            });
        }
    };
    Ok(Record::Event(event))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Id {
        Id::new(s).unwrap()
    }

    fn day(y: i32, m: u8, d: u8) -> Instant {
        Instant::from_date(y, m, d).unwrap()
    }

    #[test]
    fn times_parse() {
        assert_eq!(parse_time("2026-01-01"), Some(day(2026, 1, 1)));
        let t = Instant::from_datetime(2026, 2, 1, 6, 30, 5, 0).unwrap();
        assert_eq!(parse_time(&t.to_string()), Some(t));
        assert_eq!(parse_time("2026-13-01"), None);
        assert_eq!(parse_time("2026-01-01T00:00:00+01:00"), None);
        assert_eq!(parse_time("x"), None);
    }

    #[test]
    fn every_kind_round_trips() {
        let w = Window::new(day(2026, 1, 1), day(2027, 1, 1)).unwrap();
        let records = vec![
            Record::Event(Event::Gpu(GpuClass {
                id: Id::new_gpu_class("H100").unwrap(),
                h100e: Positive::new("h100e", 1.0).unwrap(),
                watts: Positive::new("watts", 700.0).unwrap(),
            })),
            Record::Event(Event::Party(Party {
                id: id("p"),
                name: Some("P \"quoted\"".into()),
            })),
            Record::Event(Event::Party(Party {
                id: id("q"),
                name: None,
            })),
            Record::Event(Event::Site(Site {
                id: id("s"),
                owner: id("p"),
                region: "us".into(),
                power_mw: Some(Positive::new("power_mw", 12.5).unwrap()),
                gpus: vec![
                    (id("a100"), Gpus::new("g", 3).unwrap()),
                    (id("h100"), Gpus::new("g", 8).unwrap()),
                ],
            })),
            Record::Event(Event::Contract(Contract {
                id: id("c"),
                seller: id("p"),
                buyer: id("q"),
                gpu: id("h100"),
                gpus: Gpus::new("gpus", 8).unwrap(),
                window: w,
                price_per_gpu_hour: UsdPerGpuHour::new("p", Decimal::new(185, 2)).unwrap(),
                source: Source::BackedBy(id("b")),
                resale: true,
            })),
            Record::Event(Event::Amendment(Amendment {
                target: AmendmentTarget::Commitment {
                    id: id("k"),
                    usd: Usd::new("usd", Decimal::new(123456789, 3)).unwrap(),
                },
                effective: day(2026, 5, 1),
            })),
            Record::Event(Event::Offer(Offer {
                id: id("o"),
                seller: id("p"),
                gpu: id("h100"),
                max_gpus: Gpus::new("m", 100).unwrap(),
                block_gpus: Gpus::new("b", 8).unwrap(),
                window: w,
                price_per_gpu_hour: UsdPerGpuHour::new("p", Decimal::new(2, 0)).unwrap(),
                source: Source::Site(id("s")),
            })),
            Record::Event(Event::Clause(Clause::Rofr {
                buyer: id("q"),
                holder: id("p"),
                until: day(2026, 6, 1),
            })),
            Record::Demand(Demand {
                buyer: id("q"),
                window: w,
                h100e: Positive::new("h100e", 0.1).unwrap(),
            }),
            Record::Outage(Outage {
                scope: OutageScope::Provider(id("p")),
                window: w,
                fraction: cascade_core::OutageFraction::FULL,
            }),
            Record::Policy(
                id("q"),
                Policy {
                    max_provider_share: Some(Share::new("s", 0.6).unwrap()),
                    budget_usd: Some(Usd::new("u", Decimal::from(5)).unwrap()),
                    ..Policy::default()
                },
            ),
        ];
        for r in records {
            let (kind, body) = encode(&r);
            assert_eq!(decode(kind, &body).unwrap(), r, "{kind}: {body}");
        }
    }

    #[test]
    fn bad_rows_are_errors() {
        assert!(decode("contract", "{").is_err());
        assert!(decode("contract", "{}").is_err());
        assert!(decode("nope", "{}").is_err());
        assert!(decode("party", r#"{"id":"UPPER"}"#).is_err());
    }
}
