//! The value newtypes of the document model: ids, instants and money as
//! written, each with its one parser, its one rule and its one schema.
//!
//! Ids and instants keep the text as written, so that reading a document
//! never stops at the first bad id or date: the conversion into core
//! (`to_core`) checks every value and reports all problems, located. Money
//! is checked while reading, because only then is the written form (string
//! or number) known.

use std::cell::Cell;
use std::fmt;
use std::str::FromStr;

use cascade_core::{Id, Instant, ValueError};
use rust_decimal::Decimal;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use toml::value::{Datetime, Offset};

/// The id pattern of the scenario format, written once. GPU class ids may
/// also use uppercase letters ([`CLASS_ID_PATTERN`]).
pub const ID_PATTERN: &str = "^[a-z0-9][a-z0-9._-]*$";
/// GPU class ids: like ids, but `H100` is allowed as in the spec's example.
pub const CLASS_ID_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._-]*$";
/// A date or an RFC 3339 date-time with an offset, written once.
pub const INSTANT_PATTERN: &str =
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}([Zz]|[+-][0-9]{2}:[0-9]{2}))?$";
/// Money as a string: an exact decimal.
pub const MONEY_PATTERN: &str = r"^[+-]?[0-9]*\.?[0-9]+$";

/// The instants the format accepts, in UTC: from the Unix epoch to the
/// start of 2200. Every later computation (hours × price, step functions)
/// stays far inside its range, and every instant prints as a 4-digit year.
pub const EARLIEST: Instant = Instant::from_unix_seconds(0);
/// 2200-01-01T00:00:00Z.
pub const LATEST: Instant = Instant::from_unix_seconds(7_258_118_400);

/// The wording of a core value error, without the field (named by the caller).
pub fn describe(e: &ValueError) -> String {
    match e {
        ValueError::BadId(s) => format!(
            "{s:?} is not a valid id (ids match {} and have at most 64 characters)",
            &ID_PATTERN[1..ID_PATTERN.len() - 1]
        ),
        ValueError::EmptyWindow { start, end } => {
            format!("window is empty: start {start} is not before end {end}")
        }
        ValueError::NotPositive { value, .. } => format!("must be positive, got {value}"),
        ValueError::Negative { value, .. } => format!("must not be negative, got {value}"),
        ValueError::OutOfRange { value, .. } => format!("is out of range: {value}"),
    }
}

macro_rules! id_text {
    ($(#[$doc:meta])* $name:ident, $pattern:expr, $example:expr, $ctor:path, $what:expr, $whats:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The validated core id, or a sentence saying why not.
            pub fn to_core(&self) -> Result<Id, String> {
                $ctor(&self.0).map_err(|_| {
                    format!(
                        "{:?} is not a valid {} ({} match {} and have at most 64 characters)",
                        self.0,
                        $what,
                        $whats,
                        &$pattern[1..$pattern.len() - 1]
                    )
                })
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<&Id> for $name {
            fn from(id: &Id) -> Self {
                $name(id.as_str().to_string())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::String))
                    .pattern(Some($pattern))
                    .max_length(Some(Id::MAX_LEN))
                    .examples([$example])
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

id_text!(
    /// An id as written (party, site, contract, ...): `[a-z0-9][a-z0-9._-]*`,
    /// at most 64 characters, checked by [`IdText::to_core`].
    IdText,
    ID_PATTERN,
    "coreweave",
    Id::new,
    "id",
    "ids"
);

id_text!(
    /// A GPU class id as written: like [`IdText`], uppercase allowed (`H100`).
    ClassIdText,
    CLASS_ID_PATTERN,
    "H100",
    Id::new_gpu_class,
    "GPU class id",
    "GPU class ids"
);

// ---- instants -----------------------------------------------------------------

/// An instant as written: a date (`2026-01-01`, midnight UTC) or an RFC 3339
/// date-time with an offset (`2026-02-01T06:00:00Z`, `...+01:00`), in TOML
/// also the native date and date-time values. [`TimeText::to_core`] applies
/// the one rule ([`parse_instant`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeText(pub String);

impl TimeText {
    pub fn to_core(&self) -> Result<Instant, String> {
        parse_instant(&self.0)
    }
}

impl From<Instant> for TimeText {
    fn from(t: Instant) -> Self {
        TimeText(t.to_string())
    }
}

impl fmt::Display for TimeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The field name under which the `toml` deserializer passes a datetime.
const TOML_DATETIME_FIELD: &str = "$__toml_private_datetime";

impl<'de> Deserialize<'de> for TimeText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TimeText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date (2026-01-01) or an offset date-time (2026-02-01T06:00:00Z)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TimeText, E> {
                // Shape errors stop here, as for any wrong type; whether the
                // time is usable is decided by `to_core`, for every field.
                Datetime::from_str(v)
                    .map(|_| TimeText(v.to_string()))
                    .map_err(|e| {
                        E::custom(format!(
                            "invalid time {v:?} ({e}): expected a date (2026-01-01) \
                             or an offset date-time (2026-02-01T06:00:00Z)"
                        ))
                    })
            }
            // TOML hands its native dates and date-times over as a one-entry map.
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TimeText, A::Error> {
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

thread_local! {
    /// Set while [`crate::to_toml`] serializes: times are then written as
    /// TOML's native dates and date-times instead of strings.
    static NATIVE_TOML_TIMES: Cell<bool> = const { Cell::new(false) };
}

/// While writing TOML, kinds without items are left out (JSON keeps them).
pub(crate) fn empty_in_toml<T>(v: &[T]) -> bool {
    v.is_empty() && NATIVE_TOML_TIMES.with(Cell::get)
}

/// Runs `f` with times serialized as native TOML values.
pub(crate) fn with_native_toml_times<T>(f: impl FnOnce() -> T) -> T {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            NATIVE_TOML_TIMES.with(|c| c.set(self.0));
        }
    }
    let _reset = Reset(NATIVE_TOML_TIMES.with(|c| c.replace(true)));
    f()
}

impl Serialize for TimeText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if NATIVE_TOML_TIMES.with(Cell::get) {
            // A date when the instant is midnight UTC, else a `Z` date-time.
            let text = match parse_instant(&self.0) {
                Ok(t) if t.unix_seconds().rem_euclid(86_400) == 0 => t.date_string(),
                Ok(t) => t.to_string(),
                Err(_) => self.0.clone(),
            };
            if let Ok(d) = Datetime::from_str(&text) {
                return d.serialize(s);
            }
        }
        s.serialize_str(&self.0)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for TimeText {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .pattern(Some(INSTANT_PATTERN))
            .description(Some(
                "A date (midnight UTC) or an RFC 3339 date-time with an offset, \
                 from 1970-01-01 to 2200-01-01 (UTC); whole seconds",
            ))
            .examples(["2026-01-01"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for TimeText {}

/// The one instant rule, for files, API bodies, query strings and flags: a
/// date (`2026-01-01`, midnight UTC) or an RFC 3339 date-time with an
/// offset, in whole seconds, no leap second, between [`EARLIEST`] and
/// [`LATEST`] in UTC. `Err` is a sentence naming the problem.
pub fn parse_instant(s: &str) -> Result<Instant, String> {
    let d = Datetime::from_str(s.trim())
        .map_err(|_| format!("{s:?} is neither a date nor an RFC 3339 date-time"))?;
    let Some(date) = d.date else {
        return Err(format!(
            "{d} is a time of day without a date; write a date (2026-01-01) \
             or an offset date-time (2026-01-01T06:00:00Z)"
        ));
    };
    let t = match d.time {
        None => Instant::from_date(i32::from(date.year), date.month, date.day)
            .ok_or_else(|| format!("{d} is not a valid date"))?,
        Some(time) => {
            let Some(offset) = d.offset else {
                return Err(format!(
                    "{d} is a local date-time without an offset; write it in UTC with Z \
                     ({d}Z) or with an offset like +01:00"
                ));
            };
            if time.nanosecond.unwrap_or(0) != 0 {
                return Err(format!(
                    "{d} has fractional seconds; times are whole seconds"
                ));
            }
            let second = time.second.unwrap_or(0);
            if second > 59 {
                return Err(format!(
                    "{d} is a leap second; Cascade counts whole seconds without them (use :59 or the next minute)"
                ));
            }
            let offset_seconds = match offset {
                Offset::Z => 0,
                Offset::Custom { minutes } => i32::from(minutes) * 60,
            };
            Instant::from_datetime(
                i32::from(date.year),
                date.month,
                date.day,
                time.hour,
                time.minute,
                second,
                offset_seconds,
            )
            .ok_or_else(|| format!("{d} is not a valid date-time"))?
        }
    };
    if t < EARLIEST || t > LATEST {
        return Err(format!(
            "{d} is outside the supported range {EARLIEST} .. {LATEST}"
        ));
    }
    Ok(t)
}

// ---- money --------------------------------------------------------------------

/// An amount of USD, exact. Read from a string (`"1.85"`, preferred) or a
/// number; written as a string with at least two decimals (`"1.85"`,
/// `"5.00"`), the spec's form of money in JSON output.
///
/// A number is accepted only when it is certainly the decimal that was
/// written: finite, not zero from an underflow, and with at most 15
/// significant digits (every such decimal survives the trip through a
/// binary float; longer ones may not, and must be strings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(pub Decimal);

/// The longest money string read: more is never a real amount.
const MONEY_MAX_CHARS: usize = 40;

impl Money {
    /// The one money parser for strings, in files and request bodies.
    pub fn parse(s: &str) -> Result<Money, String> {
        let bad = || format!("invalid amount {s:?}: expected a decimal number like \"1.85\"");
        let ok = !s.is_empty()
            && s.len() <= MONEY_MAX_CHARS
            && s.bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'))
            && s.bytes().any(|b| b.is_ascii_digit());
        if !ok {
            return Err(bad());
        }
        let places = s
            .split_once('.')
            .map_or(0, |(_, f)| f.trim_end_matches('0').len());
        if places > 28 {
            return Err(format!(
                "amount {s:?} has more than 28 decimal places and cannot be held exactly"
            ));
        }
        Decimal::from_str(s).map(Money).map_err(|_| bad())
    }

    /// A number read as a float: the decimal it was written as, when that is certain.
    pub fn from_f64(v: f64) -> Result<Money, String> {
        if !v.is_finite() {
            return Err(format!("amount {v} is not a finite number"));
        }
        if v == 0.0 {
            // 0.0 and an underflow such as 1e-400 read the same; 0 or "0" cannot.
            return Err(
                "amount 0.0 as a float may be an underflow (like 1e-400); write 0 or \"0.00\""
                    .into(),
            );
        }
        // Rust prints a float as its shortest round-trip decimal, without exponent.
        let text = format!("{v}");
        let significant = text
            .replace(['-', '.'], "")
            .trim_start_matches('0')
            .trim_end_matches('0')
            .len();
        if significant > 15 {
            return Err(format!(
                "amount {v} has more digits than a binary float holds exactly; write it as a string (\"{v}\")"
            ));
        }
        Decimal::from_str(&text)
            .map(Money)
            .map_err(|_| format!("amount {v} is out of range; write it as a string"))
    }
}

impl From<Decimal> for Money {
    fn from(d: Decimal) -> Self {
        Money(d)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&cascade_core::format_usd(self.0))
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an amount of USD: a string like \"1.85\" or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Money, E> {
                Money::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Money, E> {
                Ok(Money(Decimal::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Money, E> {
                Ok(Money(Decimal::from(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Money, E> {
                Money::from_f64(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Money {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, SchemaType, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::String))
                    .pattern(Some(MONEY_PATTERN))
                    .examples(["1.85"]),
            )
            .item(ObjectBuilder::new().schema_type(SchemaType::Type(Type::Number)))
            .description(Some(
                "USD as an exact decimal: a string like \"1.85\" (preferred; responses always use it) or a number with at most 15 significant digits",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Money {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_is_2200() {
        assert_eq!(LATEST, Instant::from_date(2200, 1, 1).unwrap());
    }

    #[test]
    fn instants_follow_one_rule() {
        assert_eq!(
            parse_instant("2026-01-01"),
            Ok(Instant::from_date(2026, 1, 1).unwrap())
        );
        assert_eq!(
            parse_instant("2026-02-01T06:00:00+01:00")
                .unwrap()
                .to_string(),
            "2026-02-01T05:00:00Z"
        );
        for bad in [
            "2026-06-30T23:59:60Z",
            "1969-12-31",
            "2200-01-01T00:00:01Z",
            "2026-01-01T00:00:00.5Z",
            "2026-01-01T06:00:00",
            "06:00:00",
            "2026-02-30",
            "x",
        ] {
            assert!(parse_instant(bad).is_err(), "{bad}");
        }
        assert!(
            parse_instant("2026-06-30T23:59:60Z")
                .unwrap_err()
                .contains("leap second")
        );
    }

    #[test]
    fn money_is_exact_or_refused() {
        let m = |s: &str| serde_json::from_str::<Money>(s).map(|m| m.0.to_string());
        assert_eq!(m("\"1.85\"").unwrap(), "1.85");
        assert_eq!(m("1.85").unwrap(), "1.85");
        assert_eq!(m("7").unwrap(), "7");
        assert_eq!(m("0").unwrap(), "0");
        assert_eq!(m("123456789012.345").unwrap(), "123456789012.345");
        for bad in [
            "1e-400",
            "0.0",
            "0.30000000000000004",
            "1e300",
            "\"1e5\"",
            "\"\"",
            "\"NaN\"",
            "true",
            "\"0.00000000000000000000000000001\"",
        ] {
            assert!(m(bad).is_err(), "{bad}");
        }
        assert_eq!(Money(Decimal::from(5)).to_string(), "5.00");
    }
}
