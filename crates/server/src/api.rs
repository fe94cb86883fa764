//! Request and response documents of the HTTP API. Field names are the
//! scenario format's; money is an exact decimal string in responses and a
//! string or a number in requests; times are RFC 3339 strings in responses
//! and a date (`2026-01-01`) or an RFC 3339 date-time in requests.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use cascade_core::{
    Amendment, AmendmentTarget, Clause, Commitment, Contract, GpuClass, Gpus, Id, Instant, Offer,
    Party, Positive, Site, Source, Usd, UsdPerGpuHour, Window, format_usd,
};
use rust_decimal::Decimal;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::problem::{FieldError, Problem, pointer_of};

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

// ---- requests -------------------------------------------------------------

/// A GPU class.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GpuIn {
    #[schema(
        pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        max_length = 64,
        example = "H100"
    )]
    pub id: String,
    /// Throughput relative to one H100 (> 0, at most 1000).
    #[schema(exclusive_minimum = 0.0, maximum = 1000.0)]
    pub h100e: f64,
    /// Board power per GPU in watts (> 0, at most 10^6).
    #[schema(exclusive_minimum = 0.0, maximum = 1000000.0)]
    pub watts: f64,
}

/// A party: provider, reseller, buyer, or all three.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartyIn {
    #[schema(
        pattern = r"^[a-z0-9][a-z0-9._-]*$",
        max_length = 64,
        example = "openai"
    )]
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// A physical campus or region of one provider.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteIn {
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub id: String,
    /// The physical provider (a party).
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub owner: String,
    pub region: String,
    #[serde(default)]
    pub power_mw: Option<f64>,
    /// Installed GPUs by class (class id → GPUs).
    #[schema(value_type = BTreeMap<String, u32>)]
    pub gpus: BTreeMap<String, i64>,
}

/// A contract: `gpus` GPUs of one class for a window, from a site the seller
/// owns (`site`) or resold from a contract the seller holds (`backed_by`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractIn {
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub id: String,
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub seller: String,
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub buyer: String,
    #[schema(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length = 64)]
    pub gpu: String,
    #[schema(minimum = 1, maximum = 4294967295_i64)]
    pub gpus: i64,
    /// A date (`2026-01-01`, midnight UTC) or an RFC 3339 date-time.
    #[schema(
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$",
        example = "2026-01-01"
    )]
    pub start: String,
    #[schema(
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$",
        example = "2026-01-01"
    )]
    pub end: String,
    pub price_per_gpu_hour: Money,
    #[serde(default)]
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub site: Option<String>,
    #[serde(default)]
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub backed_by: Option<String>,
    /// May the buyer resell it? Default false.
    #[serde(default)]
    pub resale: Option<bool>,
}

/// A resale of the contract in the path by its buyer: the seller is the
/// path contract's buyer and `backed_by` the path contract.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResaleIn {
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub id: String,
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub buyer: String,
    #[schema(minimum = 1, maximum = 4294967295_i64)]
    pub gpus: i64,
    #[schema(
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$",
        example = "2026-01-01"
    )]
    pub start: String,
    #[schema(
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$",
        example = "2026-01-01"
    )]
    pub end: String,
    pub price_per_gpu_hour: Money,
    #[serde(default)]
    pub resale: Option<bool>,
}

/// A top-up of a contract: `gpus` more from `effective` to the contract's end.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractAmendmentIn {
    #[schema(minimum = 1, maximum = 4294967295_i64)]
    pub gpus: i64,
    #[schema(
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$",
        example = "2026-01-01"
    )]
    pub effective: String,
}

/// Take-or-pay: the buyer spends at least `usd` with the seller in the window.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitmentIn {
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub id: String,
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub buyer: String,
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub seller: String,
    #[schema(
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$",
        example = "2026-01-01"
    )]
    pub start: String,
    #[schema(
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$",
        example = "2026-01-01"
    )]
    pub end: String,
    pub usd: Money,
}

/// A top-up of a commitment: `usd` more.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitmentAmendmentIn {
    pub usd: Money,
    #[schema(
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$",
        example = "2026-01-01"
    )]
    pub effective: String,
}

/// Open capacity for sale, in whole blocks.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferIn {
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub id: String,
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub seller: String,
    #[schema(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length = 64)]
    pub gpu: String,
    #[schema(minimum = 1, maximum = 4294967295_i64)]
    pub max_gpus: i64,
    /// Default 8.
    #[serde(default)]
    pub block_gpus: Option<i64>,
    #[schema(
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$",
        example = "2026-01-01"
    )]
    pub start: String,
    #[schema(
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$",
        example = "2026-01-01"
    )]
    pub end: String,
    pub price_per_gpu_hour: Money,
    #[serde(default)]
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub site: Option<String>,
    #[serde(default)]
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub backed_by: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ClauseKind {
    Exclusive,
    Rofr,
    NoResaleTo,
    AvoidProvider,
}

/// A clause; which fields it needs depends on `kind` (see the scenario format).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClauseIn {
    pub kind: ClauseKind,
    #[serde(default)]
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub buyer: Option<String>,
    #[serde(default)]
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub seller: Option<String>,
    #[serde(default)]
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub holder: Option<String>,
    #[serde(default)]
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub party: Option<String>,
    #[serde(default)]
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub provider: Option<String>,
    #[serde(default)]
    #[schema(
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$",
        example = "2026-01-01"
    )]
    pub until: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum StrategyIn {
    #[default]
    Optimal,
    Greedy,
}

/// What to plan: purchases for `buyer` from the open offers, under the
/// demands, policy, clauses and commitments in the store.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanIn {
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub buyer: String,
    #[serde(default)]
    pub strategy: Option<StrategyIn>,
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

    pub fn opt_id(&mut self, field: &str, v: &Option<String>) -> Option<Option<Id>> {
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
        match cascade_format::parse_instant(s) {
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

    pub fn source(&mut self, site: &Option<String>, backed_by: &Option<String>) -> Option<Source> {
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

impl GpuIn {
    pub fn check(&self) -> Result<GpuClass, Problem> {
        let mut c = Check::new();
        let id = c.class_id("id", &self.id);
        let h = c.positive("h100e", self.h100e);
        let w = c.positive_max("watts", self.watts, limits::MAX_WATTS);
        let v = (|| {
            Some(GpuClass {
                id: id?,
                h100e: h?,
                watts: w?,
            })
        })();
        c.done(v)
    }
}

impl PartyIn {
    pub fn check(&self) -> Result<Party, Problem> {
        let mut c = Check::new();
        let id = c.id("id", &self.id);
        if let Some(n) = &self.name
            && n.chars().count() > 200
        {
            c.fail("name", "at most 200 characters");
        }
        let v = id.map(|id| Party {
            id,
            name: self.name.clone(),
        });
        c.done(v)
    }
}

impl SiteIn {
    pub fn check(&self) -> Result<Site, Problem> {
        let mut c = Check::new();
        let id = c.id("id", &self.id);
        let owner = c.id("owner", &self.owner);
        if self.region.is_empty() || self.region.chars().count() > 200 {
            c.fail("region", "must have 1 to 200 characters");
        }
        let power = match self.power_mw {
            None => Some(None),
            Some(p) => c
                .positive_max("power_mw", p, limits::MAX_POWER_MW)
                .map(Some),
        };
        if self.gpus.is_empty() {
            c.fail("gpus", "a site needs at least one installed GPU class");
        }
        let mut gpus = Vec::new();
        for (k, &n) in &self.gpus {
            let f = format!("gpus.{k}");
            let cls = c.class_id(&f, k);
            let n = match Gpus::new("gpus", n) {
                Ok(g) => Some(g),
                Err(_) => {
                    c.fail(
                        &f,
                        format!(
                            "must be a positive number of GPUs (at most {}), got {n}",
                            u32::MAX
                        ),
                    );
                    None
                }
            };
            if let (Some(cls), Some(n)) = (cls, n) {
                gpus.push((cls, n));
            }
        }
        let v = (|| {
            Some(Site {
                id: id?,
                owner: owner?,
                region: self.region.clone(),
                power_mw: power?,
                gpus,
            })
        })();
        c.done(v)
    }
}

impl ContractIn {
    pub fn check(&self) -> Result<Contract, Problem> {
        let mut c = Check::new();
        let id = c.id("id", &self.id);
        let seller = c.id("seller", &self.seller);
        let buyer = c.id("buyer", &self.buyer);
        let gpu = c.class_id("gpu", &self.gpu);
        let gpus = c.gpus("gpus", self.gpus);
        let window = c.window(&self.start, &self.end);
        let price = c.price("price_per_gpu_hour", self.price_per_gpu_hour);
        let source = c.source(&self.site, &self.backed_by);
        let v = (|| {
            Some(Contract {
                id: id?,
                seller: seller?,
                buyer: buyer?,
                gpu: gpu?,
                gpus: gpus?,
                window: window?,
                price_per_gpu_hour: price?,
                source: source?,
                resale: self.resale.unwrap_or(false),
            })
        })();
        c.done(v)
    }
}

impl ResaleIn {
    /// The contract, given the path contract (its buyer sells, its GPU class is kept).
    pub fn check(
        &self,
        backing: &Id,
    ) -> Result<(Id, Id, i64, Window, UsdPerGpuHour, bool), Problem> {
        let mut c = Check::new();
        let id = c.id("id", &self.id);
        let buyer = c.id("buyer", &self.buyer);
        let gpus = c.gpus("gpus", self.gpus);
        let window = c.window(&self.start, &self.end);
        let price = c.price("price_per_gpu_hour", self.price_per_gpu_hour);
        let _ = backing;
        let v = (|| {
            Some((
                id?,
                buyer?,
                gpus?.as_i64(),
                window?,
                price?,
                self.resale.unwrap_or(false),
            ))
        })();
        c.done(v)
    }
}

impl ContractAmendmentIn {
    pub fn check(&self, contract: Id) -> Result<Amendment, Problem> {
        let mut c = Check::new();
        let gpus = c.gpus("gpus", self.gpus);
        let eff = c.time("effective", &self.effective);
        let v = (|| {
            Some(Amendment {
                target: AmendmentTarget::Contract {
                    id: contract,
                    gpus: gpus?,
                },
                effective: eff?,
            })
        })();
        c.done(v)
    }
}

impl CommitmentIn {
    pub fn check(&self) -> Result<Commitment, Problem> {
        let mut c = Check::new();
        let id = c.id("id", &self.id);
        let buyer = c.id("buyer", &self.buyer);
        let seller = c.id("seller", &self.seller);
        let window = c.window(&self.start, &self.end);
        let usd = c.usd("usd", self.usd);
        let v = (|| {
            Some(Commitment {
                id: id?,
                buyer: buyer?,
                seller: seller?,
                window: window?,
                usd: usd?,
            })
        })();
        c.done(v)
    }
}

impl CommitmentAmendmentIn {
    pub fn check(&self, commitment: Id) -> Result<Amendment, Problem> {
        let mut c = Check::new();
        let usd = c.usd("usd", self.usd);
        let eff = c.time("effective", &self.effective);
        let v = (|| {
            Some(Amendment {
                target: AmendmentTarget::Commitment {
                    id: commitment,
                    usd: usd?,
                },
                effective: eff?,
            })
        })();
        c.done(v)
    }
}

impl OfferIn {
    pub fn check(&self) -> Result<Offer, Problem> {
        let mut c = Check::new();
        let id = c.id("id", &self.id);
        let seller = c.id("seller", &self.seller);
        let gpu = c.class_id("gpu", &self.gpu);
        let max = c.gpus("max_gpus", self.max_gpus);
        let block = c.gpus("block_gpus", self.block_gpus.unwrap_or(8));
        let window = c.window(&self.start, &self.end);
        let price = c.price("price_per_gpu_hour", self.price_per_gpu_hour);
        let source = c.source(&self.site, &self.backed_by);
        let v = (|| {
            Some(Offer {
                id: id?,
                seller: seller?,
                gpu: gpu?,
                max_gpus: max?,
                block_gpus: block?,
                window: window?,
                price_per_gpu_hour: price?,
                source: source?,
            })
        })();
        c.done(v)
    }
}

impl ClauseIn {
    pub fn check(&self) -> Result<Clause, Problem> {
        let mut c = Check::new();
        let need = |c: &mut Check, f: &str, v: &Option<String>| -> Option<Id> {
            match v {
                Some(s) => c.id(f, s),
                None => {
                    c.fail(f, format!("required for a {} clause", self.kind_str()));
                    None
                }
            }
        };
        let forbid = |c: &mut Check, f: &str, v: &Option<String>| {
            if v.is_some() {
                c.fail(f, format!("not a field of a {} clause", self.kind_str()));
            }
        };
        let until = |c: &mut Check| -> Option<Instant> {
            match &self.until {
                Some(s) => c.time("until", s),
                None => {
                    c.fail(
                        "until",
                        format!("required for a {} clause", self.kind_str()),
                    );
                    None
                }
            }
        };
        let v = match self.kind {
            ClauseKind::Exclusive => {
                let (b, s, u) = (
                    need(&mut c, "buyer", &self.buyer),
                    need(&mut c, "seller", &self.seller),
                    until(&mut c),
                );
                for (f, v) in [
                    ("holder", &self.holder),
                    ("party", &self.party),
                    ("provider", &self.provider),
                ] {
                    forbid(&mut c, f, v);
                }
                (|| {
                    Some(Clause::Exclusive {
                        buyer: b?,
                        seller: s?,
                        until: u?,
                    })
                })()
            }
            ClauseKind::Rofr => {
                let (b, h, u) = (
                    need(&mut c, "buyer", &self.buyer),
                    need(&mut c, "holder", &self.holder),
                    until(&mut c),
                );
                for (f, v) in [
                    ("seller", &self.seller),
                    ("party", &self.party),
                    ("provider", &self.provider),
                ] {
                    forbid(&mut c, f, v);
                }
                (|| {
                    Some(Clause::Rofr {
                        buyer: b?,
                        holder: h?,
                        until: u?,
                    })
                })()
            }
            ClauseKind::NoResaleTo => {
                let (s, p) = (
                    need(&mut c, "seller", &self.seller),
                    need(&mut c, "party", &self.party),
                );
                for (f, v) in [
                    ("buyer", &self.buyer),
                    ("holder", &self.holder),
                    ("provider", &self.provider),
                ] {
                    forbid(&mut c, f, v);
                }
                if self.until.is_some() {
                    c.fail("until", "not a field of a no_resale_to clause");
                }
                (|| {
                    Some(Clause::NoResaleTo {
                        seller: s?,
                        party: p?,
                    })
                })()
            }
            ClauseKind::AvoidProvider => {
                let (b, p) = (
                    need(&mut c, "buyer", &self.buyer),
                    need(&mut c, "provider", &self.provider),
                );
                for (f, v) in [
                    ("seller", &self.seller),
                    ("holder", &self.holder),
                    ("party", &self.party),
                ] {
                    forbid(&mut c, f, v);
                }
                if self.until.is_some() {
                    c.fail("until", "not a field of an avoid_provider clause");
                }
                (|| {
                    Some(Clause::AvoidProvider {
                        buyer: b?,
                        provider: p?,
                    })
                })()
            }
        };
        c.done(v)
    }

    fn kind_str(&self) -> &'static str {
        match self.kind {
            ClauseKind::Exclusive => "exclusive",
            ClauseKind::Rofr => "rofr",
            ClauseKind::NoResaleTo => "no_resale_to",
            ClauseKind::AvoidProvider => "avoid_provider",
        }
    }
}

// ---- responses ------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct GpuView {
    pub id: String,
    pub h100e: f64,
    pub watts: f64,
}

impl From<&GpuClass> for GpuView {
    fn from(g: &GpuClass) -> Self {
        GpuView {
            id: g.id.to_string(),
            h100e: g.h100e.get(),
            watts: g.watts.get(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartyView {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl From<&Party> for PartyView {
    fn from(p: &Party) -> Self {
        PartyView {
            id: p.id.to_string(),
            name: p.name.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SiteView {
    pub id: String,
    pub owner: String,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power_mw: Option<f64>,
    pub gpus: BTreeMap<String, u32>,
}

impl From<&Site> for SiteView {
    fn from(s: &Site) -> Self {
        SiteView {
            id: s.id.to_string(),
            owner: s.owner.to_string(),
            region: s.region.clone(),
            power_mw: s.power_mw.map(Positive::get),
            gpus: s
                .gpus
                .iter()
                .map(|(c, n)| (c.to_string(), n.get()))
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AmendmentView {
    pub effective: String,
    pub gpus: i64,
}

/// A contract as one of its parties (or an admin) sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractView {
    pub id: String,
    pub seller: String,
    pub buyer: String,
    pub gpu: String,
    pub gpus: u32,
    pub start: String,
    pub end: String,
    pub price_per_gpu_hour: String,
    pub resale: bool,
    /// The seller's site, for a contract sold from a site.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// The contract this one is resold from; shown to its seller and to
    /// admins only (to the buyer it is someone else's contract).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backed_by: Option<String>,
    /// Top-ups in effect from their date: (effective, GPUs added).
    pub amendments: Vec<AmendmentView>,
    /// Root site of the chain, its owner and region.
    pub root_site: String,
    pub physical_provider: String,
    pub region: String,
    /// Full value: Σ amount × price × hours.
    pub value_usd: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommitmentView {
    pub id: String,
    pub buyer: String,
    pub seller: String,
    pub start: String,
    pub end: String,
    pub usd: String,
    /// `usd` plus amendments.
    pub usd_total: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfferView {
    pub id: String,
    pub seller: String,
    pub gpu: String,
    pub max_gpus: u32,
    pub block_gpus: u32,
    pub start: String,
    pub end: String,
    pub price_per_gpu_hour: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Shown to the offer's seller and admins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backed_by: Option<String>,
    pub root_site: String,
    pub physical_provider: String,
    pub region: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClauseView {
    pub kind: ClauseKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub party: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

impl From<&Clause> for ClauseView {
    fn from(c: &Clause) -> Self {
        let s = |i: &Id| Some(i.to_string());
        let mut v = ClauseView {
            kind: ClauseKind::Exclusive,
            buyer: None,
            seller: None,
            holder: None,
            party: None,
            provider: None,
            until: None,
        };
        match c {
            Clause::Exclusive {
                buyer,
                seller,
                until,
            } => {
                v.buyer = s(buyer);
                v.seller = s(seller);
                v.until = Some(until.to_string());
            }
            Clause::Rofr {
                buyer,
                holder,
                until,
            } => {
                v.kind = ClauseKind::Rofr;
                v.buyer = s(buyer);
                v.holder = s(holder);
                v.until = Some(until.to_string());
            }
            Clause::NoResaleTo { seller, party } => {
                v.kind = ClauseKind::NoResaleTo;
                v.seller = s(seller);
                v.party = s(party);
            }
            Clause::AvoidProvider { buyer, provider } => {
                v.kind = ClauseKind::AvoidProvider;
                v.buyer = s(buyer);
                v.provider = s(provider);
            }
        }
        v
    }
}

pub fn usd_text(d: Decimal) -> String {
    format_usd(d)
}

// Exposure (the shape of `cascade exposure --json`; documented here).

#[derive(Debug, Serialize, ToSchema)]
pub struct ExposureTotal {
    pub gpus: i64,
    pub h100e: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExposureRow {
    pub id: String,
    pub gpus: i64,
    pub h100e: f64,
    pub share: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExposureSiteRow {
    pub id: String,
    pub provider: String,
    pub region: String,
    pub gpus: i64,
    pub h100e: f64,
    pub share: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExposureLossRow {
    pub lost: String,
    pub remaining_h100e: f64,
    pub remaining_share: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExposureCommitmentRow {
    pub id: String,
    pub seller: String,
    pub usd: String,
    pub spent_usd: String,
    pub remaining_usd: String,
}

/// A buyer's true concentration at an instant (the spec's exposure document).
#[derive(Debug, Serialize, ToSchema)]
pub struct ExposureView {
    pub buyer: String,
    pub at: String,
    pub total: ExposureTotal,
    pub by_provider: Vec<ExposureRow>,
    pub by_counterparty: Vec<ExposureRow>,
    pub by_site: Vec<ExposureSiteRow>,
    pub hhi: f64,
    pub n_minus_1: Vec<ExposureLossRow>,
    pub commitments: Vec<ExposureCommitmentRow>,
    pub flags: Vec<String>,
}

impl ExposureView {
    /// The spec's exposure document, as `cascade_format::report::ExposureDoc`
    /// writes it (same fields, same rounding; a test pins the equality),
    /// built as a typed value because it is serialised on every read.
    pub fn of(e: &cascade_core::Exposure) -> ExposureView {
        use cascade_format::report::{round_h100e, round4};
        let row = |r: &cascade_core::Row| ExposureRow {
            id: r.id.to_string(),
            gpus: r.gpus,
            h100e: round_h100e(r.h100e),
            share: round4(r.share),
        };
        ExposureView {
            buyer: e.buyer.to_string(),
            at: e.at.to_string(),
            total: ExposureTotal {
                gpus: e.total_gpus,
                h100e: round_h100e(e.total_h100e),
            },
            by_provider: e.by_provider.iter().map(row).collect(),
            by_counterparty: e.by_counterparty.iter().map(row).collect(),
            by_site: e
                .by_site
                .iter()
                .map(|s| ExposureSiteRow {
                    id: s.id.to_string(),
                    provider: s.provider.to_string(),
                    region: s.region.clone(),
                    gpus: s.gpus,
                    h100e: round_h100e(s.h100e),
                    share: round4(s.share),
                })
                .collect(),
            hhi: round4(e.hhi),
            n_minus_1: e
                .n_minus_1
                .iter()
                .map(|l| ExposureLossRow {
                    lost: l.lost.to_string(),
                    remaining_h100e: round_h100e(l.remaining_h100e),
                    remaining_share: round4(l.remaining_share),
                })
                .collect(),
            commitments: e
                .commitments
                .iter()
                .map(|c| ExposureCommitmentRow {
                    id: c.id.to_string(),
                    seller: c.seller.to_string(),
                    usd: format_usd(c.usd),
                    spent_usd: format_usd(c.spent_usd),
                    remaining_usd: format_usd(c.remaining_usd),
                })
                .collect(),
            flags: e.flags.clone(),
        }
    }
}

/// One link of a chain. Links the caller is not a direct party to show only
/// their tier, class, GPUs and window.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainLinkView {
    /// 0 for the contract asked about, 1 for its backing contract, ...
    pub tier: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer: Option<String>,
    pub gpu: String,
    pub gpus: u32,
    pub start: String,
    pub end: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_per_gpu_hour: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resale: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amendments: Option<Vec<AmendmentView>>,
}

/// A resale carved (directly or further down) from the contract asked about.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResoldView {
    pub id: String,
    pub seller: String,
    pub buyer: String,
    pub gpu: String,
    pub gpus: u32,
    pub start: String,
    pub end: String,
    pub backed_by: String,
    /// 1 for a direct resale, 2 for a resale of a resale, ...
    pub depth: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_per_gpu_hour: Option<String>,
}

/// Provenance of a contract: its chain down to the physical provider, site
/// and region, and what was resold from it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainView {
    pub contract: String,
    pub physical_provider: String,
    pub root_site: String,
    pub region: String,
    /// Number of contracts from this one down to the site.
    pub tiers: usize,
    /// Sellers along the chain (admins only: upstream parties are not
    /// disclosed to a buyer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sellers: Option<Vec<String>>,
    pub chain: Vec<ChainLinkView>,
    /// Resales of this contract the caller is a party to (admins: all), in
    /// depth-first order.
    pub resold: Vec<ResoldView>,
}

/// One purchase of a plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseView {
    pub offer: String,
    pub gpus: u32,
    pub cost_usd: String,
    pub seller: String,
    pub provider: String,
    pub site: String,
    pub region: String,
    pub start: String,
    pub end: String,
}

/// The plan document (the spec's `cascade plan --json` shape).
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    pub buyer: String,
    pub strategy: String,
    /// `optimal`, `feasible` (greedy) or `infeasible`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub objective_usd: String,
    pub purchases_usd: String,
    pub shortfall_usd: String,
    pub purchases: Vec<PurchaseView>,
    pub solve_seconds: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScenarioLoaded {
    /// Records appended to the journal.
    pub records: usize,
    /// Journal sequence number after the load.
    pub seq: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the service answers.
    pub status: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// Journal sequence number this instance has applied.
    pub seq: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The typed exposure document is exactly the shared one (CLI `--json`).
    #[test]
    fn exposure_view_equals_the_shared_document() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let mut n = 0;
        for f in std::fs::read_dir(path).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let s = cascade_format::load_path(&f).unwrap();
            let Ok(l) = cascade_core::Ledger::from_scenario(&s) else {
                continue;
            };
            for p in l.parties() {
                for at in [
                    "2024-01-01",
                    "2025-06-15T12:00:00Z",
                    "2026-01-01",
                    "2027-03-01",
                ] {
                    let e = l.exposure(&p.id, cascade_format::parse_instant(at).unwrap());
                    assert_eq!(
                        serde_json::to_value(ExposureView::of(&e)).unwrap(),
                        serde_json::to_value(cascade_format::report::ExposureDoc::of(&e)).unwrap(),
                        "{} {} {at}",
                        f.display(),
                        p.id
                    );
                    n += 1;
                }
            }
        }
        assert!(n > 20);
    }

    #[test]
    fn money_reads_strings_and_numbers() {
        let m: Money = serde_json::from_str("\"1.85\"").unwrap();
        assert_eq!(m.0.to_string(), "1.85");
        let m: Money = serde_json::from_str("1.85").unwrap();
        assert_eq!(m.0.to_string(), "1.85");
        let m: Money = serde_json::from_str("7").unwrap();
        assert_eq!(m.0.to_string(), "7");
        assert!(serde_json::from_str::<Money>("\"1e5\"").is_err());
        assert!(serde_json::from_str::<Money>("\"\"").is_err());
        assert!(serde_json::from_str::<Money>("true").is_err());
        assert!(serde_json::from_str::<Money>("1e300").is_err());
    }
}
