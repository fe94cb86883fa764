//! The document model: one serde type per item kind, with the scenario
//! format's field names. The same types are read and written by scenario
//! files (TOML and JSON), the store's journal rows and the HTTP API's bodies;
//! OpenAPI schemas derive from them (feature `openapi`).
//!
//! Reading checks only the shape (syntax, types, unknown and missing
//! fields, money). Values (ids, windows, positivity, "exactly one of") are
//! checked by the one conversion into core per kind (`convert.rs`), which
//! reports every problem with its path. The way back, core to document, is
//! the `From<&core>` impls at the end of this file.

use std::fmt;
use std::marker::PhantomData;

use cascade_core::{
    Amendment, AmendmentTarget, Clause, Commitment, Contract, Demand, Expansion, GpuClass, Id,
    Need, Offer, Outage, OutageFraction, OutageScope, Party, Policy, Scenario, Site, Source,
};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::value::{ClassIdText, IdText, Money, TimeText, empty_in_toml};

/// A whole scenario document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScenarioDoc {
    pub name: String,
    #[serde(default, skip_serializing_if = "empty_in_toml")]
    pub gpu: Vec<GpuDoc>,
    #[serde(default, skip_serializing_if = "empty_in_toml")]
    pub party: Vec<PartyDoc>,
    #[serde(default, skip_serializing_if = "empty_in_toml")]
    pub site: Vec<SiteDoc>,
    #[serde(default, skip_serializing_if = "empty_in_toml")]
    pub expansion: Vec<ExpansionDoc>,
    #[serde(default, skip_serializing_if = "empty_in_toml")]
    pub contract: Vec<ContractDoc>,
    #[serde(default, skip_serializing_if = "empty_in_toml")]
    pub commitment: Vec<CommitmentDoc>,
    #[serde(default, skip_serializing_if = "empty_in_toml")]
    pub amendment: Vec<AmendmentDoc>,
    #[serde(default, skip_serializing_if = "empty_in_toml")]
    pub offer: Vec<OfferDoc>,
    #[serde(default, skip_serializing_if = "empty_in_toml")]
    pub clause: Vec<ClauseDoc>,
    #[serde(default, skip_serializing_if = "empty_in_toml")]
    pub demand: Vec<DemandDoc>,
    #[serde(default, skip_serializing_if = "empty_in_toml")]
    pub outage: Vec<OutageDoc>,
    /// Policies by buyer (`[policy.<buyer>]`).
    #[serde(default, skip_serializing_if = "Ordered::empty_in_toml")]
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::BTreeMap<String, PolicyDoc>))]
    pub policy: Ordered<PolicyDoc>,
}

/// Declares a document type. Every one derives the same traits, refuses
/// unknown fields (a misspelt key is an error, never ignored) and, with the
/// `openapi` feature, has an OpenAPI schema. An optional field (`Option<_>`)
/// may be left out when read and is left out when written, in every
/// document: that rule is stated here once, not on each field.
macro_rules! document {
    ($(#[$attr:meta])* pub struct $name:ident { $($fields:tt)* }) => {
        document!(@field [$(#[$attr])*] $name [] $($fields)*);
    };
    // An optional field: absent when `None`.
    (@field $attrs:tt $name:ident [$($done:tt)*]
        $(#[$f:meta])* pub $field:ident: Option<$t:ty>, $($rest:tt)*) => {
        document!(@field $attrs $name [$($done)*
            $(#[$f])*
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub $field: Option<$t>,
        ] $($rest)*);
    };
    (@field $attrs:tt $name:ident [$($done:tt)*]
        $(#[$f:meta])* pub $field:ident: $t:ty, $($rest:tt)*) => {
        document!(@field $attrs $name [$($done)* $(#[$f])* pub $field: $t,] $($rest)*);
    };
    (@field [$($attr:tt)*] $name:ident [$($done:tt)*]) => {
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        $($attr)*
        pub struct $name { $($done)* }
    };
}

document! {
    /// A GPU class and its throughput relative to one H100.
    pub struct GpuDoc {
        pub id: ClassIdText,
        /// Throughput relative to one H100 (> 0).
        #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0.0, maximum = 1e9))]
        pub h100e: f64,
        /// Board power per GPU in watts (> 0).
        #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0.0, maximum = 1e9))]
        pub watts: f64,
    }
}

document! {
    /// Any company: provider, reseller, buyer, or all three.
    pub struct PartyDoc {
        pub id: IdText,
        /// Display name.
        pub name: Option<String>,
    }
}

document! {
    /// A physical campus or region of one provider.
    pub struct SiteDoc {
        pub id: IdText,
        /// The physical provider (a party).
        pub owner: IdText,
        pub region: String,
        #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0.0, maximum = 1e9))]
        pub power_mw: Option<f64>,
        /// Installed GPUs by class (class id → GPUs), in the order written.
        #[cfg_attr(feature = "openapi", schema(value_type = std::collections::BTreeMap<String, u32>))]
        pub gpus: Ordered<i64>,
    }
}

document! {
    /// Capacity that comes online (or retires, with negative counts) at a site
    /// from a date on: site build-out in phases as power is delivered.
    pub struct ExpansionDoc {
        pub id: IdText,
        pub site: IdText,
        pub effective: TimeText,
        /// Installed GPUs added by class (negative: retired), in the order written.
        #[cfg_attr(feature = "openapi", schema(value_type = std::collections::BTreeMap<String, i64>))]
        pub gpus: Ordered<i64>,
        /// Power added from `effective` on (negative: removed).
        pub power_mw: Option<f64>,
    }
}

document! {
    /// Capacity sold: `gpus` GPUs of one class for a window, from a site the
    /// seller owns (`site`) or resold from a contract it holds (`backed_by`).
    pub struct ContractDoc {
        pub id: IdText,
        pub seller: IdText,
        pub buyer: IdText,
        pub gpu: ClassIdText,
        #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 4294967295_i64))]
        pub gpus: i64,
        pub start: TimeText,
        pub end: TimeText,
        pub price_per_gpu_hour: Money,
        pub site: Option<IdText>,
        pub backed_by: Option<IdText>,
        /// May the buyer resell it? Default false.
        #[serde(default)]
        pub resale: bool,
    }
}

document! {
    /// Take-or-pay: the buyer spends at least `usd` with the seller in the window.
    pub struct CommitmentDoc {
        pub id: IdText,
        pub buyer: IdText,
        pub seller: IdText,
        pub start: TimeText,
        pub end: TimeText,
        pub usd: Money,
    }
}

document! {
    /// A top-up from `effective`: `gpus` more on a contract, or `usd` more on a
    /// commitment (exactly one target).
    pub struct AmendmentDoc {
        pub contract: Option<IdText>,
        #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 4294967295_i64))]
        pub gpus: Option<i64>,
        pub commitment: Option<IdText>,
        pub usd: Option<Money>,
        pub effective: TimeText,
    }
}

document! {
    /// Open capacity for sale, in whole blocks.
    pub struct OfferDoc {
        pub id: IdText,
        pub seller: IdText,
        pub gpu: ClassIdText,
        #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 4294967295_i64))]
        pub max_gpus: i64,
        /// Default 8.
        #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 4294967295_i64))]
        pub block_gpus: Option<i64>,
        pub start: TimeText,
        pub end: TimeText,
        pub price_per_gpu_hour: Money,
        pub site: Option<IdText>,
        pub backed_by: Option<IdText>,
    }
}

/// The kinds of clause (for the schema; documents carry the kind as text so
/// that an unknown kind is reported with the item's other problems).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ClauseKind {
    Exclusive,
    Rofr,
    NoResaleTo,
    AvoidProvider,
}

impl ClauseKind {
    pub const ALL: [ClauseKind; 4] = [
        ClauseKind::Exclusive,
        ClauseKind::Rofr,
        ClauseKind::NoResaleTo,
        ClauseKind::AvoidProvider,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClauseKind::Exclusive => "exclusive",
            ClauseKind::Rofr => "rofr",
            ClauseKind::NoResaleTo => "no_resale_to",
            ClauseKind::AvoidProvider => "avoid_provider",
        }
    }

    pub fn parse(s: &str) -> Option<ClauseKind> {
        ClauseKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The fields a clause of this kind needs; every other one is refused.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            ClauseKind::Exclusive => &["buyer", "seller", "until"],
            ClauseKind::Rofr => &["buyer", "holder", "until"],
            ClauseKind::NoResaleTo => &["seller", "party"],
            ClauseKind::AvoidProvider => &["buyer", "provider"],
        }
    }
}

document! {
    /// A clause; which fields it needs depends on `kind` ([`ClauseKind::fields`]).
    pub struct ClauseDoc {
        #[cfg_attr(feature = "openapi", schema(value_type = ClauseKind))]
        pub kind: String,
        pub buyer: Option<IdText>,
        pub seller: Option<IdText>,
        pub holder: Option<IdText>,
        pub party: Option<IdText>,
        pub provider: Option<IdText>,
        pub until: Option<TimeText>,
    }
}

document! {
    /// Concurrent H100-equivalents a buyer needs over a window.
    pub struct DemandDoc {
        pub buyer: IdText,
        pub start: TimeText,
        pub end: TimeText,
        /// H100-equivalents of any class; give this or `gpu` and `gpus`.
        #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0.0, maximum = 1e9))]
        pub h100e: Option<f64>,
        /// Version-1 extension: a GPU class (case-insensitive), with `gpus`.
        pub gpu: Option<ClassIdText>,
        /// GPUs of class `gpu`.
        #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 4294967295_i64))]
        pub gpus: Option<i64>,
        /// All `gpus` in one site for the whole window (default false).
        pub per_site: Option<bool>,
    }
}

document! {
    /// A site or a whole provider is down over a window (exactly one of them).
    pub struct OutageDoc {
        pub site: Option<IdText>,
        pub provider: Option<IdText>,
        pub start: TimeText,
        pub end: TimeText,
        /// The share of installed GPUs taken down, exact, in (0, 1]; absent: 1
        /// (the whole site). Read by the same exact-decimal parser as money.
        pub fraction: Option<Money>,
    }
}

document! {
    /// A buyer's planning policy; every field optional.
    #[derive(Default)]
    pub struct PolicyDoc {
        /// The buyer, where the policy stands alone (a journal row, a request
        /// body). In a scenario document the buyer is the key
        /// (`[policy.<buyer>]`) and this field, if given, must equal it.
        pub buyer: Option<IdText>,
        #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
        pub max_provider_share: Option<f64>,
        #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
        pub min_share_after_provider_loss: Option<f64>,
        #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0.0, maximum = 1e9))]
        pub colocated_h100e: Option<f64>,
        pub budget_usd: Option<Money>,
    }
}

// ---- ordered tables -------------------------------------------------------------

/// A table read and written as a list of entries, in document order (JSON;
/// TOML hands entries over sorted, and its order is not needed: installed
/// GPUs and policies are sorted by key after loading).
#[derive(Clone, Debug, PartialEq)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl Ordered<i64> {
    /// A `[gpus]` table from a core class list, in the core's order.
    pub fn classes<T>(v: &[(Id, T)], count: impl Fn(&T) -> i64) -> Self {
        Ordered(
            v.iter()
                .map(|(c, n)| (c.as_str().to_string(), count(n)))
                .collect(),
        )
    }
}

impl<T> Ordered<T> {
    fn empty_in_toml(&self) -> bool {
        empty_in_toml(&self.0)
    }
}

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<T: Serialize> Serialize for Ordered<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
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

// ---- core to document ---------------------------------------------------------

fn source_fields(s: &Source) -> (Option<IdText>, Option<IdText>) {
    match s {
        Source::Site(id) => (Some(id.into()), None),
        Source::BackedBy(id) => (None, Some(id.into())),
    }
}

impl From<&GpuClass> for GpuDoc {
    fn from(g: &GpuClass) -> Self {
        GpuDoc {
            id: (&g.id).into(),
            h100e: g.h100e.get(),
            watts: g.watts.get(),
        }
    }
}

impl From<&Party> for PartyDoc {
    fn from(p: &Party) -> Self {
        PartyDoc {
            id: (&p.id).into(),
            name: p.name.clone(),
        }
    }
}

impl From<&Site> for SiteDoc {
    fn from(s: &Site) -> Self {
        SiteDoc {
            id: (&s.id).into(),
            owner: (&s.owner).into(),
            region: s.region.clone(),
            power_mw: s.power_mw.map(|p| p.get()),
            gpus: Ordered::classes(&s.gpus, |n| n.as_i64()),
        }
    }
}

impl From<&Expansion> for ExpansionDoc {
    fn from(x: &Expansion) -> Self {
        ExpansionDoc {
            id: (&x.id).into(),
            site: (&x.site).into(),
            effective: x.effective.into(),
            power_mw: x.power_mw.map(|p| p.get()),
            gpus: Ordered::classes(&x.gpus, |n| n.get()),
        }
    }
}

impl From<&Contract> for ContractDoc {
    fn from(c: &Contract) -> Self {
        let (site, backed_by) = source_fields(&c.source);
        ContractDoc {
            id: (&c.id).into(),
            seller: (&c.seller).into(),
            buyer: (&c.buyer).into(),
            gpu: (&c.gpu).into(),
            gpus: c.gpus.as_i64(),
            start: c.window.start().into(),
            end: c.window.end().into(),
            price_per_gpu_hour: c.price_per_gpu_hour.get().into(),
            site,
            backed_by,
            resale: c.resale,
        }
    }
}

impl From<&Commitment> for CommitmentDoc {
    fn from(c: &Commitment) -> Self {
        CommitmentDoc {
            id: (&c.id).into(),
            buyer: (&c.buyer).into(),
            seller: (&c.seller).into(),
            start: c.window.start().into(),
            end: c.window.end().into(),
            usd: c.usd.get().into(),
        }
    }
}

impl From<&Amendment> for AmendmentDoc {
    fn from(a: &Amendment) -> Self {
        let mut d = AmendmentDoc {
            contract: None,
            gpus: None,
            commitment: None,
            usd: None,
            effective: a.effective.into(),
        };
        match &a.target {
            AmendmentTarget::Contract { id, gpus } => {
                d.contract = Some(id.into());
                d.gpus = Some(gpus.as_i64());
            }
            AmendmentTarget::Commitment { id, usd } => {
                d.commitment = Some(id.into());
                d.usd = Some(usd.get().into());
            }
        }
        d
    }
}

impl From<&Offer> for OfferDoc {
    fn from(o: &Offer) -> Self {
        let (site, backed_by) = source_fields(&o.source);
        OfferDoc {
            id: (&o.id).into(),
            seller: (&o.seller).into(),
            gpu: (&o.gpu).into(),
            max_gpus: o.max_gpus.as_i64(),
            block_gpus: Some(o.block_gpus.as_i64()),
            start: o.window.start().into(),
            end: o.window.end().into(),
            price_per_gpu_hour: o.price_per_gpu_hour.get().into(),
            site,
            backed_by,
        }
    }
}

impl From<&Clause> for ClauseDoc {
    fn from(c: &Clause) -> Self {
        let mut d = ClauseDoc {
            kind: c.kind().to_string(),
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
                d.buyer = Some(buyer.into());
                d.seller = Some(seller.into());
                d.until = Some((*until).into());
            }
            Clause::Rofr {
                buyer,
                holder,
                until,
            } => {
                d.buyer = Some(buyer.into());
                d.holder = Some(holder.into());
                d.until = Some((*until).into());
            }
            Clause::NoResaleTo { seller, party } => {
                d.seller = Some(seller.into());
                d.party = Some(party.into());
            }
            Clause::AvoidProvider { buyer, provider } => {
                d.buyer = Some(buyer.into());
                d.provider = Some(provider.into());
            }
        }
        d
    }
}

impl From<&Demand> for DemandDoc {
    fn from(d: &Demand) -> Self {
        let (h100e, gpu, gpus, per_site) = match &d.need {
            Need::H100e(x) => (Some(x.get()), None, None, None),
            Need::Gpus {
                gpu,
                gpus,
                per_site,
            } => (
                None,
                Some(gpu.into()),
                Some(i64::from(gpus.get())),
                per_site.then_some(true),
            ),
        };
        DemandDoc {
            buyer: (&d.buyer).into(),
            start: d.window.start().into(),
            end: d.window.end().into(),
            h100e,
            gpu,
            gpus,
            per_site,
        }
    }
}

impl From<&Outage> for OutageDoc {
    fn from(o: &Outage) -> Self {
        let (site, provider) = match &o.scope {
            OutageScope::Site(id) => (Some(id.into()), None),
            OutageScope::Provider(id) => (None, Some(id.into())),
        };
        OutageDoc {
            site,
            provider,
            start: o.window.start().into(),
            end: o.window.end().into(),
            fraction: (o.fraction != OutageFraction::FULL).then(|| Money(o.fraction.get())),
        }
    }
}

impl From<&Policy> for PolicyDoc {
    fn from(p: &Policy) -> Self {
        PolicyDoc {
            buyer: None,
            max_provider_share: p.max_provider_share.map(|x| x.get()),
            min_share_after_provider_loss: p.min_share_after_provider_loss.map(|x| x.get()),
            colocated_h100e: p.colocated_h100e.map(|x| x.get()),
            budget_usd: p.budget_usd.map(|x| x.get().into()),
        }
    }
}

impl From<&Scenario> for ScenarioDoc {
    fn from(s: &Scenario) -> Self {
        fn all<'a, C: 'a, D: From<&'a C>>(v: &'a [C]) -> Vec<D> {
            v.iter().map(D::from).collect()
        }
        ScenarioDoc {
            name: s.name.clone(),
            gpu: all(&s.gpus),
            party: all(&s.parties),
            site: all(&s.sites),
            expansion: all(&s.expansions),
            contract: all(&s.contracts),
            commitment: all(&s.commitments),
            amendment: all(&s.amendments),
            offer: all(&s.offers),
            clause: all(&s.clauses),
            demand: all(&s.demands),
            outage: all(&s.outages),
            policy: Ordered(
                s.policies
                    .iter()
                    .map(|(b, p)| (b.as_str().to_string(), p.into()))
                    .collect(),
            ),
        }
    }
}
