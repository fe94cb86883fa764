//! The scenario document as written: serde structs with the spec's field
//! names, before any value is checked.
//!
//! Everything that serde can check (syntax, types, unknown and missing
//! fields) fails here with a position. Everything else (ids, windows,
//! positivity, "exactly one of") is checked in `convert`, which reports every
//! problem instead of the first.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::value::Datetime;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDoc {
    pub name: String,
    #[serde(default)]
    pub gpu: Vec<RawGpu>,
    #[serde(default)]
    pub party: Vec<RawParty>,
    #[serde(default)]
    pub site: Vec<RawSite>,
    #[serde(default)]
    pub contract: Vec<RawContract>,
    #[serde(default)]
    pub commitment: Vec<RawCommitment>,
    #[serde(default)]
    pub amendment: Vec<RawAmendment>,
    #[serde(default)]
    pub offer: Vec<RawOffer>,
    #[serde(default)]
    pub clause: Vec<RawClause>,
    #[serde(default)]
    pub demand: Vec<RawDemand>,
    #[serde(default)]
    pub outage: Vec<RawOutage>,
    #[serde(default)]
    pub policy: Ordered<RawPolicy>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGpu {
    pub id: String,
    pub h100e: f64,
    pub watts: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawParty {
    pub id: String,
    pub name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSite {
    pub id: String,
    pub owner: String,
    pub region: String,
    pub power_mw: Option<f64>,
    pub gpus: Ordered<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawContract {
    pub id: String,
    pub seller: String,
    pub buyer: String,
    pub gpu: String,
    pub gpus: i64,
    pub start: RawTime,
    pub end: RawTime,
    pub price_per_gpu_hour: Money,
    pub site: Option<String>,
    pub backed_by: Option<String>,
    #[serde(default)]
    pub resale: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCommitment {
    pub id: String,
    pub buyer: String,
    pub seller: String,
    pub start: RawTime,
    pub end: RawTime,
    pub usd: Money,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAmendment {
    pub contract: Option<String>,
    pub gpus: Option<i64>,
    pub commitment: Option<String>,
    pub usd: Option<Money>,
    pub effective: RawTime,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOffer {
    pub id: String,
    pub seller: String,
    pub gpu: String,
    pub max_gpus: i64,
    pub block_gpus: Option<i64>,
    pub start: RawTime,
    pub end: RawTime,
    pub price_per_gpu_hour: Money,
    pub site: Option<String>,
    pub backed_by: Option<String>,
}

/// All clause fields; which ones a clause needs depends on `kind` and is
/// checked in `convert`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClause {
    pub kind: String,
    pub buyer: Option<String>,
    pub seller: Option<String>,
    pub holder: Option<String>,
    pub party: Option<String>,
    pub provider: Option<String>,
    pub until: Option<RawTime>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDemand {
    pub buyer: String,
    pub start: RawTime,
    pub end: RawTime,
    pub h100e: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOutage {
    pub site: Option<String>,
    pub provider: Option<String>,
    pub start: RawTime,
    pub end: RawTime,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    pub max_provider_share: Option<f64>,
    pub min_share_after_provider_loss: Option<f64>,
    pub colocated_h100e: Option<f64>,
    pub budget_usd: Option<Money>,
}

/// A table read as a list of entries, in the order the deserializer hands
/// them over (document order for JSON; TOML order is restored in `lib`).
pub(crate) struct Ordered<T>(pub Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, T>()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// An amount of money, exact. Written as a string (`"1.85"`) or a number.
///
/// A float is converted through its shortest round-trip text (Rust's `{}`
/// for `f64`), so `1.85` becomes the decimal 1.85, not the binary value
/// nearest to it.
pub(crate) struct Money(pub Decimal);

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an amount of USD: a string like \"1.85\" or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Money, E> {
                parse_decimal(v).map(Money).ok_or_else(|| {
                    E::custom(format!(
                        "invalid amount {v:?}: expected a decimal number like \"1.85\""
                    ))
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Money, E> {
                Ok(Money(Decimal::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Money, E> {
                Ok(Money(Decimal::from(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Money, E> {
                float_to_decimal(v).map(Money).ok_or_else(|| {
                    E::custom(format!(
                        "amount {v} cannot be held as an exact decimal; write it as a string"
                    ))
                })
            }
        }
        d.deserialize_any(V)
    }
}

fn parse_decimal(s: &str) -> Option<Decimal> {
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'))
        && s.bytes().any(|b| b.is_ascii_digit());
    if !ok {
        return None;
    }
    Decimal::from_str(s).ok()
}

/// The decimal a float was written as: its shortest round-trip text.
pub(crate) fn float_to_decimal(v: f64) -> Option<Decimal> {
    if !v.is_finite() {
        return None;
    }
    Decimal::from_str(&format!("{v}")).ok()
}

/// A time as written: a TOML date / date-time, or a string in the same forms.
/// Whether it is a usable instant (has a date, has an offset) is decided in
/// `convert`, so that every such problem is reported.
pub(crate) struct RawTime(pub Datetime);

/// The field name under which the `toml` deserializer passes a datetime.
const TOML_DATETIME_FIELD: &str = "$__toml_private_datetime";

impl<'de> Deserialize<'de> for RawTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date (2026-01-01) or an offset date-time (2026-02-01T06:00:00Z)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawTime, E> {
                Datetime::from_str(v).map(RawTime).map_err(|e| {
                    E::custom(format!(
                        "invalid time {v:?} ({e}): expected a date (2026-01-01) \
                         or an offset date-time (2026-02-01T06:00:00Z)"
                    ))
                })
            }
            // TOML hands its native dates and date-times over as a one-entry map.
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawTime, A::Error> {
                match map.next_key::<String>()? {
                    Some(k) if k == TOML_DATETIME_FIELD => {}
                    _ => return Err(de::Error::invalid_type(de::Unexpected::Map, &self)),
                }
                let text: String = map.next_value()?;
                if map.next_key::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_type(de::Unexpected::Map, &self));
                }
                self.visit_str(&text)
            }
        }
        d.deserialize_any(V)
    }
}
