//! The items of a scenario, as validated values.
//!
//! These types carry no file positions and no serde: the `cascade-format`
//! crate turns TOML or JSON into them, and the ledger checks how they relate.

use rust_decimal::Decimal;

use crate::types::{
    GpuDelta, Gpus, Id, Instant, MwDelta, Positive, Share, Usd, UsdPerGpuHour, ValueError, Window,
};

/// A GPU class and its throughput relative to one H100.
#[derive(Clone, Debug, PartialEq)]
pub struct GpuClass {
    pub id: Id,
    pub h100e: Positive,
    pub watts: Positive,
}

/// Any company: provider, reseller, buyer, or all three.
#[derive(Clone, Debug, PartialEq)]
pub struct Party {
    pub id: Id,
    pub name: Option<String>,
}

/// A physical campus or region of one provider.
#[derive(Clone, Debug, PartialEq)]
pub struct Site {
    pub id: Id,
    pub owner: Id,
    pub region: String,
    pub power_mw: Option<Positive>,
    /// Installed GPUs by class, in the order written.
    pub gpus: Vec<(Id, Gpus)>,
}

/// Capacity that comes online (or retires) at a site from `effective` on.
///
/// Installed at t = the site's own GPUs + Σ `gpus` of its expansions with
/// `effective ≤ t`; power likewise from `power_mw`.
#[derive(Clone, Debug, PartialEq)]
pub struct Expansion {
    pub id: Id,
    pub site: Id,
    pub effective: Instant,
    /// Installed GPUs added by class (negative: retired), in the order written.
    pub gpus: Vec<(Id, GpuDelta)>,
    /// Power added (negative: removed).
    pub power_mw: Option<MwDelta>,
}

/// Where capacity comes from: a site the seller owns, or a contract the
/// seller holds as buyer (a resale).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    Site(Id),
    BackedBy(Id),
}

/// Capacity sold: `gpus` GPUs of one class for a window.
#[derive(Clone, Debug, PartialEq)]
pub struct Contract {
    pub id: Id,
    pub seller: Id,
    pub buyer: Id,
    pub gpu: Id,
    pub gpus: Gpus,
    pub window: Window,
    pub price_per_gpu_hour: UsdPerGpuHour,
    pub source: Source,
    pub resale: bool,
}

/// Take-or-pay: the buyer spends at least `usd` with the seller in the window.
#[derive(Clone, Debug, PartialEq)]
pub struct Commitment {
    pub id: Id,
    pub buyer: Id,
    pub seller: Id,
    pub window: Window,
    pub usd: Usd,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AmendmentTarget {
    /// Adds GPUs to a contract from `effective` to its end.
    Contract { id: Id, gpus: Gpus },
    /// Adds USD to a commitment.
    Commitment { id: Id, usd: Usd },
}

/// A top-up, effective from a date to the end of its target.
#[derive(Clone, Debug, PartialEq)]
pub struct Amendment {
    pub target: AmendmentTarget,
    pub effective: Instant,
}

/// Open capacity for sale, sold in whole blocks.
#[derive(Clone, Debug, PartialEq)]
pub struct Offer {
    pub id: Id,
    pub seller: Id,
    pub gpu: Id,
    pub max_gpus: Gpus,
    pub block_gpus: Gpus,
    pub window: Window,
    pub price_per_gpu_hour: UsdPerGpuHour,
    pub source: Source,
}

impl Offer {
    /// Whole blocks on sale: ⌊max_gpus / block_gpus⌋.
    pub fn max_blocks(&self) -> u32 {
        self.max_gpus.get() / self.block_gpus.get()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Clause {
    /// Before `until`, every contract of `buyer` starting earlier has `seller` as direct seller.
    Exclusive {
        buyer: Id,
        seller: Id,
        until: Instant,
    },
    /// Right of first refusal for `holder` on `buyer`'s purchases (checked by `plan`).
    Rofr {
        buyer: Id,
        holder: Id,
        until: Instant,
    },
    /// No contract with `seller` anywhere in its chain may have `party` as buyer.
    NoResaleTo { seller: Id, party: Id },
    /// `plan` buys nothing from this physical provider; `exposure` flags holdings.
    AvoidProvider { buyer: Id, provider: Id },
}

impl Clause {
    pub fn kind(&self) -> &'static str {
        match self {
            Clause::Exclusive { .. } => "exclusive",
            Clause::Rofr { .. } => "rofr",
            Clause::NoResaleTo { .. } => "no_resale_to",
            Clause::AvoidProvider { .. } => "avoid_provider",
        }
    }
}

/// What a buyer needs, concurrently, over a window.
#[derive(Clone, Debug, PartialEq)]
pub struct Demand {
    pub buyer: Id,
    pub window: Window,
    pub need: Need,
}

/// The two kinds of demand. Several demands of one buyer add up.
#[derive(Clone, Debug, PartialEq)]
pub enum Need {
    /// H100-equivalents of any class (the spec's demand).
    H100e(Positive),
    /// GPUs of one class (matched case-insensitively against the GPU
    /// classes, displayed as written); with `per_site`, all of them in one
    /// site for the whole window (SkyPilot's single-node request).
    Gpus { gpu: Id, gpus: Gpus, per_site: bool },
}

impl Demand {
    /// The demand in H100e, given the H100e of one GPU of its class.
    pub fn h100e(&self, class_h100e: f64) -> f64 {
        match &self.need {
            Need::H100e(x) => x.get(),
            Need::Gpus { gpus, .. } => f64::from(gpus.get()) * class_h100e,
        }
    }

    /// The class of a class demand.
    pub fn gpu(&self) -> Option<&Id> {
        match &self.need {
            Need::H100e(_) => None,
            Need::Gpus { gpu, .. } => Some(gpu),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutageScope {
    Site(Id),
    Provider(Id),
}

/// Capacity taken down for a window: a whole site, or all sites of a provider.
#[derive(Clone, Debug, PartialEq)]
pub struct Outage {
    pub scope: OutageScope,
    pub window: Window,
    /// Share of installed GPUs that is down; the whole site unless the file says less.
    pub fraction: OutageFraction,
}

/// The share of a site's installed GPUs an outage takes down: 0 < fraction ≤ 1.
///
/// Exact decimal, not f64: it scales installed capacity in the delivery
/// rule, whose credits are money.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct OutageFraction(Decimal);

impl OutageFraction {
    /// The default: the whole site is down.
    pub const FULL: OutageFraction = OutageFraction(Decimal::ONE);

    pub fn new(field: &'static str, d: Decimal) -> Result<OutageFraction, ValueError> {
        if d <= Decimal::ZERO || d > Decimal::ONE {
            return Err(ValueError::OutOfRange {
                field,
                value: format!("{d} (an outage takes down a fraction in (0, 1])"),
            });
        }
        Ok(OutageFraction(d.normalize()))
    }

    pub fn get(self) -> Decimal {
        self.0
    }
}

impl Default for OutageFraction {
    fn default() -> Self {
        OutageFraction::FULL
    }
}

/// A buyer's planning policy; every field optional.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Policy {
    pub max_provider_share: Option<Share>,
    pub min_share_after_provider_loss: Option<Share>,
    pub colocated_h100e: Option<Positive>,
    pub budget_usd: Option<Usd>,
}

/// A whole scenario document.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Scenario {
    pub name: String,
    pub gpus: Vec<GpuClass>,
    pub parties: Vec<Party>,
    pub sites: Vec<Site>,
    pub expansions: Vec<Expansion>,
    pub contracts: Vec<Contract>,
    pub commitments: Vec<Commitment>,
    pub amendments: Vec<Amendment>,
    pub offers: Vec<Offer>,
    pub clauses: Vec<Clause>,
    pub demands: Vec<Demand>,
    pub outages: Vec<Outage>,
    /// Policies by buyer, in the order written.
    pub policies: Vec<(Id, Policy)>,
}
