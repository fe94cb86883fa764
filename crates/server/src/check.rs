//! Checking request values: money as the API reads it, the service's
//! bounds on values, and [`Check`], which collects every field problem of a
//! request into one 422. Field names are the scenario format's; times are a
//! date (`2026-01-01`) or an RFC 3339 date-time.

use std::fmt;
use std::str::FromStr;

use cascade_core::{Gpus, Id, Instant, Positive, Source, Usd, UsdPerGpuHour, Window};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::problem::{FieldError, Problem, pointer_of};

// ---- ids and times as requests spell them ----------------------------------

/// Strings of a request that name an id or a time. Each carries the rule
/// of its OpenAPI schema once; [`Check`] turns them into core values and
/// reports what does not fit, so the pattern here only documents it.
macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $pattern:expr, $max:expr, $example:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Deserialize, PartialEq)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::String))
                    .pattern(Some($pattern))
                    .max_length($max)
                    .examples([$example])
                    .into()
            }
        }

        impl ToSchema for $name {}
    };
}

text_type!(
    /// An id of a party, site, contract, commitment or offer.
    IdText,
    r"^[a-z0-9][a-z0-9._-]*$",
    Some(64),
    "openai"
);
text_type!(
    /// A GPU class id: like an id, but uppercase letters are allowed (`H100`).
    ClassIdText,
    r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
    Some(64),
    "H100"
);
text_type!(
    /// A date (`2026-01-01`, midnight UTC) or an RFC 3339 date-time.
    TimeText,
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$",
    None,
    "2026-01-01"
);

// ---- money ----------------------------------------------------------------

/// An amount of USD: a string holding a decimal (`"1.85"`) or a JSON number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Money(pub Decimal);

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an amount of USD: a string like \"1.85\" or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Money, E> {
                let ok = !v.is_empty()
                    && v.len() <= 40
                    && v.bytes()
                        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'))
                    && v.bytes().any(|b| b.is_ascii_digit());
                ok.then(|| Decimal::from_str(v).ok())
                    .flatten()
                    .map(Money)
                    .ok_or_else(|| {
                        E::custom(format!(
                            "invalid amount {v:?}: expected a decimal like \"1.85\""
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
                if !v.is_finite() {
                    return Err(E::custom("amount must be finite"));
                }
                Decimal::from_str(&format!("{v}")).map(Money).map_err(|_| {
                    E::custom(format!("amount {v} is out of range; write it as a string"))
                })
            }
        }
        d.deserialize_any(V)
    }
}

impl PartialSchema for Money {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::String))
                    .pattern(Some(r"^[+-]?[0-9]*\.?[0-9]+$"))
                    .examples(["1.85"]),
            )
            .item(ObjectBuilder::new().schema_type(SchemaType::Type(Type::Number)))
            .description(Some(
                "USD as an exact decimal: a string like \"1.85\" (preferred) or a number",
            ))
            .into()
    }
}

impl ToSchema for Money {}

// ---- limits -----------------------------------------------------------------

/// Bounds on values the service accepts, beyond the scenario format's own
/// rules. They keep every amount the ledger computes (value = GPUs × price
/// × hours, sums of those) far from the range of exact decimals, and every
/// H100e sum finite, so that no request can make the service fail.
pub mod limits {
    use cascade_core::Instant;
    use rust_decimal::Decimal;

    /// USD per GPU-hour.
    pub fn max_price() -> Decimal {
        Decimal::from(1_000_000)
    }
    /// USD of a commitment, amendment or budget.
    pub fn max_usd() -> Decimal {
        Decimal::from(1_000_000_000_000_000i64)
    }
    pub const MAX_DECIMALS: u32 = 10;
    /// h100e of a class, and other ratios.
    pub const MAX_RATIO: f64 = 1000.0;
    pub const MAX_WATTS: f64 = 1.0e6;
    pub const MAX_POWER_MW: f64 = 1.0e6;
    /// H100e of a demand or a co-location target.
    pub const MAX_H100E: f64 = 1.0e12;
    pub const EARLIEST: &str = "1970-01-01T00:00:00Z";
    pub const LATEST: &str = "2200-01-01T00:00:00Z";

    pub fn time_ok(t: Instant) -> bool {
        let latest = Instant::from_date(2200, 1, 1).expect("valid date");
        t.unix_seconds() >= 0 && t <= latest
    }
}

/// Checks a whole scenario document against [`limits`]: every problem,
/// with the path of the field.
pub fn scenario_limits(s: &cascade_core::Scenario) -> Vec<FieldError> {
    use cascade_core::AmendmentTarget;
    let mut c = Check::new();
    let mut time = |c: &mut Check, f: String, t: Instant| {
        if !limits::time_ok(t) {
            c.fail(
                &f,
                format!(
                    "{t} is outside the supported range {} .. {}",
                    limits::EARLIEST,
                    limits::LATEST
                ),
            );
        }
    };
    let window =
        |c: &mut Check, time: &mut dyn FnMut(&mut Check, String, Instant), p: &str, w: &Window| {
            time(c, format!("{p}.start"), w.start());
            time(c, format!("{p}.end"), w.end());
        };
    let amount = |c: &mut Check, f: String, d: Decimal, max: Decimal| {
        if d > max {
            c.fail(&f, format!("must be at most {max}, got {d}"));
        } else if d.normalize().scale() > limits::MAX_DECIMALS {
            c.fail(
                &f,
                format!("at most {} decimal places, got {d}", limits::MAX_DECIMALS),
            );
        }
    };
    let ratio = |c: &mut Check, f: String, x: f64, max: f64| {
        if x > max {
            c.fail(&f, format!("must be at most {max}, got {x}"));
        }
    };
    for (i, g) in s.gpus.iter().enumerate() {
        ratio(
            &mut c,
            format!("gpu[{i}].h100e"),
            g.h100e.get(),
            limits::MAX_RATIO,
        );
        ratio(
            &mut c,
            format!("gpu[{i}].watts"),
            g.watts.get(),
            limits::MAX_WATTS,
        );
    }
    for (i, x) in s.sites.iter().enumerate() {
        if let Some(p) = x.power_mw {
            ratio(
                &mut c,
                format!("site[{i}].power_mw"),
                p.get(),
                limits::MAX_POWER_MW,
            );
        }
    }
    for (i, x) in s.contracts.iter().enumerate() {
        window(&mut c, &mut time, &format!("contract[{i}]"), &x.window);
        amount(
            &mut c,
            format!("contract[{i}].price_per_gpu_hour"),
            x.price_per_gpu_hour.get(),
            limits::max_price(),
        );
    }
    for (i, x) in s.commitments.iter().enumerate() {
        window(&mut c, &mut time, &format!("commitment[{i}]"), &x.window);
        amount(
            &mut c,
            format!("commitment[{i}].usd"),
            x.usd.get(),
            limits::max_usd(),
        );
    }
    for (i, x) in s.amendments.iter().enumerate() {
        time(&mut c, format!("amendment[{i}].effective"), x.effective);
        if let AmendmentTarget::Commitment { usd, .. } = &x.target {
            amount(
                &mut c,
                format!("amendment[{i}].usd"),
                usd.get(),
                limits::max_usd(),
            );
        }
    }
    for (i, x) in s.offers.iter().enumerate() {
        window(&mut c, &mut time, &format!("offer[{i}]"), &x.window);
        amount(
            &mut c,
            format!("offer[{i}].price_per_gpu_hour"),
            x.price_per_gpu_hour.get(),
            limits::max_price(),
        );
    }
    for (i, x) in s.clauses.iter().enumerate() {
        if let cascade_core::Clause::Exclusive { until, .. }
        | cascade_core::Clause::Rofr { until, .. } = x
        {
            time(&mut c, format!("clause[{i}].until"), *until);
        }
    }
    for (i, x) in s.demands.iter().enumerate() {
        window(&mut c, &mut time, &format!("demand[{i}]"), &x.window);
        ratio(
            &mut c,
            format!("demand[{i}].h100e"),
            x.h100e.get(),
            limits::MAX_H100E,
        );
    }
    for (i, x) in s.outages.iter().enumerate() {
        window(&mut c, &mut time, &format!("outage[{i}]"), &x.window);
    }
    for (b, p) in &s.policies {
        if let Some(x) = p.colocated_h100e {
            ratio(
                &mut c,
                format!("policy.{b}.colocated_h100e"),
                x.get(),
                limits::MAX_H100E,
            );
        }
        if let Some(x) = p.budget_usd {
            amount(
                &mut c,
                format!("policy.{b}.budget_usd"),
                x.get(),
                limits::max_usd(),
            );
        }
    }
    c.errors
}

// ---- checking requests ------------------------------------------------------

/// Collects every field problem of a request, then reports them together.
#[derive(Default)]
pub struct Check {
    errors: Vec<FieldError>,
}

impl Check {
    pub fn new() -> Check {
        Check::default()
    }

    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.to_string(),
            pointer: Some(pointer_of(field)),
            message: message.into(),
        });
    }

    pub fn id(&mut self, field: &str, v: &str) -> Option<Id> {
        match Id::new(v) {
            Ok(id) => Some(id),
            Err(_) => {
                self.fail(
                    field,
                    format!("{v:?} is not a valid id (ids match [a-z0-9][a-z0-9._-]* and have at most 64 characters)"),
                );
                None
            }
        }
    }

    /// A GPU class id: like an id, but uppercase letters are allowed (`H100`).
    pub fn class_id(&mut self, field: &str, v: &str) -> Option<Id> {
        match Id::new_gpu_class(v) {
            Ok(id) => Some(id),
            Err(_) => {
                self.fail(
                    field,
                    format!("{v:?} is not a valid GPU class id (it matches [A-Za-z0-9][A-Za-z0-9._-]* and has at most 64 characters)"),
                );
                None
            }
        }
    }

    pub fn opt_id(&mut self, field: &str, v: &Option<IdText>) -> Option<Option<Id>> {
        match v {
            None => Some(None),
            Some(s) => self.id(field, s).map(Some),
        }
    }

    pub fn gpus(&mut self, field: &'static str, n: i64) -> Option<Gpus> {
        match Gpus::new(field, n) {
            Ok(g) => Some(g),
            Err(_) if n <= 0 => {
                self.fail(field, format!("must be a positive number of GPUs, got {n}"));
                None
            }
            Err(_) => {
                self.fail(field, format!("{n} is out of range (at most {})", u32::MAX));
                None
            }
        }
    }

    /// A positive number up to `max` (bounds keep every sum the service
    /// computes finite).
    pub fn positive_max(&mut self, field: &'static str, x: f64, max: f64) -> Option<Positive> {
        match Positive::new(field, x) {
            Ok(p) if x <= max => Some(p),
            _ => {
                self.fail(
                    field,
                    format!("must be a number > 0 and at most {max}, got {x}"),
                );
                None
            }
        }
    }

    pub fn positive(&mut self, field: &'static str, x: f64) -> Option<Positive> {
        self.positive_max(field, x, limits::MAX_RATIO)
    }

    pub fn time(&mut self, field: &str, s: &str) -> Option<Instant> {
        match cascade_scenario::parse_instant(s) {
            Ok(t) if limits::time_ok(t) => Some(t),
            Ok(t) => {
                self.fail(
                    field,
                    format!(
                        "{t} is outside the supported range {} .. {}",
                        limits::EARLIEST,
                        limits::LATEST
                    ),
                );
                None
            }
            Err(e) => {
                self.fail(
                    field,
                    format!("{e} (use 2026-01-01 or 2026-02-01T06:00:00Z)"),
                );
                None
            }
        }
    }

    pub fn window(&mut self, start: &str, end: &str) -> Option<Window> {
        let (s, e) = (self.time("start", start), self.time("end", end));
        let (s, e) = (s?, e?);
        match Window::new(s, e) {
            Ok(w) => Some(w),
            Err(_) => {
                self.fail(
                    "end",
                    format!("the window is empty: end {e} is not after start {s}"),
                );
                None
            }
        }
    }

    fn amount(&mut self, field: &'static str, d: Decimal, max: Decimal) -> bool {
        if d.is_sign_negative() && !d.is_zero() {
            self.fail(field, format!("must not be negative, got {d}"));
            false
        } else if d > max {
            self.fail(field, format!("must be at most {max}, got {d}"));
            false
        } else if d.normalize().scale() > limits::MAX_DECIMALS {
            self.fail(
                field,
                format!("at most {} decimal places, got {d}", limits::MAX_DECIMALS),
            );
            false
        } else {
            true
        }
    }

    pub fn price(&mut self, field: &'static str, m: Money) -> Option<UsdPerGpuHour> {
        if !self.amount(field, m.0, limits::max_price()) {
            return None;
        }
        UsdPerGpuHour::new(field, m.0).ok()
    }

    pub fn usd(&mut self, field: &'static str, m: Money) -> Option<Usd> {
        if !self.amount(field, m.0, limits::max_usd()) {
            return None;
        }
        Usd::new(field, m.0).ok()
    }

    pub fn source(&mut self, site: &Option<IdText>, backed_by: &Option<IdText>) -> Option<Source> {
        let site = self.opt_id("site", site);
        let backed = self.opt_id("backed_by", backed_by);
        match (site?, backed?) {
            (Some(s), None) => Some(Source::Site(s)),
            (None, Some(b)) => Some(Source::BackedBy(b)),
            (Some(_), Some(_)) => {
                self.fail("backed_by", "give either site or backed_by, not both");
                None
            }
            (None, None) => {
                self.fail("site", "give either site (the seller's site) or backed_by (a contract the seller holds)");
                None
            }
        }
    }

    /// `Ok(value)` if no field failed, else a 422 problem listing every failure.
    pub fn done<T>(self, value: Option<T>) -> Result<T, Problem> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ => {
                let detail = if self.errors.is_empty() {
                    "the request is invalid".to_string()
                } else {
                    self.errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                Err(Problem::invalid(detail, self.errors))
            }
        }
    }
}
