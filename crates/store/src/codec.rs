//! The journal's row format: one [`Record`] as `(kind, JSON body)`.
//!
//! A body is the item's document (`cascade_format::ItemDoc`): the scenario
//! format's field names, times as RFC 3339 strings in UTC, money as a
//! string holding the exact decimal, so a row reads like one item of a
//! scenario document. A policy row carries its buyer as a `buyer` field (a
//! file writes it as the key of `[policy.<buyer>]`).
//!
//! Rows written before the document model read the same: the only change
//! is that money is now written with at least two decimals (`"5.00"` where
//! it was `"5"`), which both old and new readers take as the same amount.

pub use cascade_format::Record;
use cascade_format::{ItemDoc, Problem};

/// A journal row that could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("journal row of kind {kind:?}: {message}")]
pub struct CodecError {
    pub kind: String,
    pub message: String,
}

/// `(kind, body)` of a record, ready for the `events` table.
pub fn encode(r: &Record) -> (&'static str, String) {
    let doc = ItemDoc::from(r);
    (doc.kind(), doc.to_json())
}

/// Reads a journal row back.
pub fn decode(kind: &str, body: &str) -> Result<Record, CodecError> {
    let err = |message: String| CodecError {
        kind: kind.to_string(),
        message,
    };
    let doc = ItemDoc::from_json(kind, body).map_err(|e| err(e.message))?;
    doc.to_core().map_err(|problems| {
        err(problems
            .iter()
            .map(Problem::to_string)
            .collect::<Vec<_>>()
            .join("; "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cascade_core::{
        Amendment, AmendmentTarget, Clause, Contract, Demand, Event, Expansion, GpuClass, GpuDelta,
        Gpus, Id, Instant, MwDelta, Need, Offer, Outage, OutageFraction, OutageScope, Party,
        Policy, Positive, Share, Site, Source, Usd, UsdPerGpuHour, Window,
    };
    use rust_decimal::Decimal;

    fn id(s: &str) -> Id {
        Id::new(s).unwrap()
    }

    fn day(y: i32, m: u8, d: u8) -> Instant {
        Instant::from_date(y, m, d).unwrap()
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
                need: Need::H100e(Positive::new("h100e", 0.1).unwrap()),
            }),
            Record::Outage(Outage {
                scope: OutageScope::Provider(id("p")),
                window: w,
                fraction: OutageFraction::FULL,
            }),
            Record::Outage(Outage {
                scope: OutageScope::Site(id("s")),
                window: w,
                fraction: OutageFraction::new("fraction", Decimal::new(25, 2)).unwrap(),
            }),
            Record::Event(Event::Expansion(Expansion {
                id: id("phase-2"),
                site: id("s"),
                effective: day(2026, 6, 1),
                gpus: vec![
                    (
                        Id::new_gpu_class("H100").unwrap(),
                        GpuDelta::new("gpus", -100).unwrap(),
                    ),
                    (
                        Id::new_gpu_class("GB200").unwrap(),
                        GpuDelta::new("gpus", 4000).unwrap(),
                    ),
                ],
                power_mw: Some(MwDelta::new("power_mw", 12.5).unwrap()),
            })),
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

    /// Rows as the codec wrote them before the document model still read.
    #[test]
    fn rows_of_the_previous_codec_read() {
        let rows = [
            (
                "contract",
                r#"{"id":"c","seller":"p","buyer":"q","gpu":"h100","gpus":8,"start":"2026-01-01T00:00:00Z","end":"2027-01-01T00:00:00Z","price_per_gpu_hour":"1.85","resale":true,"backed_by":"b"}"#,
            ),
            (
                "policy",
                r#"{"buyer":"q","max_provider_share":0.6,"budget_usd":"5"}"#,
            ),
            (
                "amendment",
                r#"{"commitment":"k","usd":"123456.789","effective":"2026-05-01T00:00:00Z"}"#,
            ),
            (
                "site",
                r#"{"id":"s","owner":"p","region":"us","gpus":{"a100":3,"h100":8},"power_mw":12.5}"#,
            ),
        ];
        for (kind, body) in rows {
            let r = decode(kind, body).unwrap_or_else(|e| panic!("{e}"));
            let (k2, again) = encode(&r);
            assert_eq!(k2, kind);
            assert_eq!(decode(kind, &again).unwrap(), r, "{again}");
        }
        let r = decode("policy", rows[1].1).unwrap();
        assert_eq!(
            encode(&r).1,
            r#"{"buyer":"q","max_provider_share":0.6,"budget_usd":"5.00"}"#
        );
    }

    #[test]
    fn bad_rows_are_errors() {
        assert!(decode("contract", "{").is_err());
        assert!(decode("contract", "{}").is_err());
        assert!(decode("nope", "{}").is_err());
        let e = decode("party", r#"{"id":"UPPER"}"#).unwrap_err();
        assert!(
            e.message
                .contains("party: field id: \"UPPER\" is not a valid id"),
            "{e}"
        );
        assert!(decode("party", r#"{"id":"p","extra":1}"#).is_err());
    }
}
