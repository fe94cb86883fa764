//! Rejections as data: every broken invariant with the facts that show it.

use std::fmt;

use crate::types::{Id, Instant, Window};

/// An item of a scenario, named by kind and id (amendments and clauses by position).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ItemRef {
    Gpu(Id),
    Party(Id),
    Site(Id),
    Contract(Id),
    Commitment(Id),
    Offer(Id),
    Expansion(Id),
    /// The n-th amendment (0-based) and what it amends.
    Amendment(usize, Id),
    /// The n-th clause (0-based) and its kind.
    Clause(usize, &'static str),
    /// The n-th demand (0-based).
    Demand(usize),
    /// The n-th outage (0-based).
    Outage(usize),
    Policy(Id),
}

impl ItemRef {
    /// The kind as written in a scenario file (`contract`, `site`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            ItemRef::Gpu(_) => "gpu",
            ItemRef::Party(_) => "party",
            ItemRef::Site(_) => "site",
            ItemRef::Contract(_) => "contract",
            ItemRef::Commitment(_) => "commitment",
            ItemRef::Offer(_) => "offer",
            ItemRef::Expansion(_) => "expansion",
            ItemRef::Amendment(..) => "amendment",
            ItemRef::Clause(..) => "clause",
            ItemRef::Demand(_) => "demand",
            ItemRef::Outage(_) => "outage",
            ItemRef::Policy(_) => "policy",
        }
    }

    /// The id, for kinds that have one.
    pub fn id(&self) -> Option<&Id> {
        match self {
            ItemRef::Gpu(i)
            | ItemRef::Party(i)
            | ItemRef::Site(i)
            | ItemRef::Contract(i)
            | ItemRef::Commitment(i)
            | ItemRef::Offer(i)
            | ItemRef::Expansion(i)
            | ItemRef::Policy(i) => Some(i),
            _ => None,
        }
    }
}

impl fmt::Display for ItemRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ItemRef::Amendment(n, target) => write!(f, "amendment #{} (of {target})", n + 1),
            ItemRef::Clause(n, kind) => write!(f, "clause #{} ({kind})", n + 1),
            ItemRef::Demand(n) => write!(f, "demand #{}", n + 1),
            ItemRef::Outage(n) => write!(f, "outage #{}", n + 1),
            other => write!(
                f,
                "{} {:?}",
                other.kind(),
                other.id().map(Id::as_str).unwrap_or("")
            ),
        }
    }
}

/// "an expansion", "a contract": every kind's name is spelt as it sounds.
fn article(kind: &str) -> &'static str {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// One broken invariant. Each variant carries what a reader needs to act.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error("{item}: duplicate id ({} {kind} with this id already exists)", article(item.kind()), kind = item.kind())]
    DuplicateId { item: ItemRef },

    #[error("{item}: field {field} names {kind} {id:?}, which does not exist")]
    UnknownReference {
        item: ItemRef,
        field: &'static str,
        kind: &'static str,
        id: Id,
    },

    #[error("{item}: site {site:?} has no installed {gpu} GPUs")]
    ClassNotAtSite { item: ItemRef, site: Id, gpu: Id },

    #[error("{item}: seller {seller:?} does not own site {site:?} (its owner is {owner:?})")]
    SellerDoesNotOwnSite {
        item: ItemRef,
        seller: Id,
        site: Id,
        owner: Id,
    },

    #[error(
        "{item}: site {site:?} {gpu} oversold at {at}: needs {requested} GPUs, {free} free (installed {installed}), short by {shortfall}"
    )]
    SiteOversold {
        item: ItemRef,
        site: Id,
        gpu: Id,
        at: Instant,
        requested: i64,
        free: i64,
        installed: i64,
        shortfall: i64,
    },

    #[error(
        "{item}: seller {seller:?} is not the buyer of backing contract {backing:?} (its buyer is {holder:?})"
    )]
    ResellerNotHolder {
        item: ItemRef,
        seller: Id,
        backing: Id,
        holder: Id,
    },

    #[error("{item}: backing contract {backing:?} does not allow resale (resale = false)")]
    BackingNotResellable { item: ItemRef, backing: Id },

    #[error("{item}: GPU class {gpu} differs from backing contract {backing:?} ({backing_gpu})")]
    ClassMismatch {
        item: ItemRef,
        gpu: Id,
        backing: Id,
        backing_gpu: Id,
    },

    #[error(
        "{item}: window {window} is not inside backing contract {backing:?}'s window {backing_window}"
    )]
    OutsideBackingWindow {
        item: ItemRef,
        window: Window,
        backing: Id,
        backing_window: Window,
    },

    #[error(
        "{item}: resale of contract {backing:?} oversold at {at}: needs {requested} GPUs, {free} left unsold (amount {amount}), short by {shortfall}"
    )]
    ResaleOversold {
        item: ItemRef,
        backing: Id,
        at: Instant,
        requested: i64,
        free: i64,
        amount: i64,
        shortfall: i64,
    },

    #[error("{item}: backed_by forms a cycle: {}", cycle.iter().map(Id::as_str).collect::<Vec<_>>().join(" -> "))]
    Cycle { item: ItemRef, cycle: Vec<Id> },

    #[error("{item}: backing contract {backing:?} was itself rejected")]
    BackingRejected { item: ItemRef, backing: Id },

    /// `at` is `None` when the site's own figures overrun (at every instant
    /// before its first expansion), else the first instant of the overrun.
    #[error(
        "{item}: power overrun{}: installed GPUs draw {required_w} W, the site allows {limit_w} W (power_mw), over by {over_w} W",
        at_site(site, at)
    )]
    PowerOverrun {
        item: ItemRef,
        site: Id,
        at: Option<Instant>,
        required_w: String,
        limit_w: String,
        over_w: String,
    },

    #[error(
        "{item}: installed {gpu} GPUs at site {site:?} would go below 0 at {at}: {installed} installed, short by {shortfall}"
    )]
    InstalledBelowZero {
        item: ItemRef,
        site: Id,
        gpu: Id,
        at: Instant,
        /// Installed GPUs at `at` had the change been applied (negative).
        installed: i64,
        shortfall: i64,
    },

    #[error(
        "{item}: site {site:?} {gpu} would have {sold} GPUs sold but only {installed} installed at {at}, short by {shortfall} (contracts: {})",
        list_ids(contracts)
    )]
    InstalledBelowSold {
        item: ItemRef,
        site: Id,
        gpu: Id,
        at: Instant,
        /// Installed GPUs at `at` had the change been applied.
        installed: i64,
        sold: i64,
        shortfall: i64,
        /// Contracts sold directly from the site and class, live at `at`.
        contracts: Vec<Id>,
    },

    #[error("{item}: power of site {site:?} would go below 0 at {at}: {power_w} W")]
    PowerBelowZero {
        item: ItemRef,
        site: Id,
        at: Instant,
        power_w: String,
    },

    #[error("{item}: an expansion changes installed GPUs or power_mw; this one changes neither")]
    EmptyExpansion { item: ItemRef },

    #[error(
        "{item}: violates exclusive clause: buyer {buyer:?} buys only from {seller:?} before {until}, but this contract starting {start} is sold by {actual:?}"
    )]
    ExclusiveViolated {
        item: ItemRef,
        buyer: Id,
        seller: Id,
        until: Instant,
        start: Instant,
        actual: Id,
    },

    #[error(
        "{item}: violates no_resale_to clause: capacity sold by {seller:?} may not reach {party:?} (chain: {})",
        chain.iter().map(Id::as_str).collect::<Vec<_>>().join(" <- ")
    )]
    NoResaleTo {
        item: ItemRef,
        seller: Id,
        party: Id,
        chain: Vec<Id>,
    },

    #[error("{item}: effective date {effective} is not before the end of {target:?} ({end})")]
    AmendmentAfterEnd {
        item: ItemRef,
        target: Id,
        effective: Instant,
        end: Instant,
    },

    #[error("{item}: block_gpus {block} exceeds max_gpus {max}")]
    BlockExceedsMax { item: ItemRef, block: u32, max: u32 },

    #[error("{item}: seller {seller:?} may not resell backing contract {backing:?}: {why}")]
    OfferNotResellable {
        item: ItemRef,
        seller: Id,
        backing: Id,
        why: String,
    },

    /// A money sum past the largest amount the ledger holds ([`crate::Usd::MAX`]):
    /// refused rather than saturated, so no figure is ever silently wrong.
    #[error("{item}: {quantity} would be {value} USD, more than the ledger holds ({limit} USD)")]
    TooLarge {
        item: ItemRef,
        /// What the sum is (`contract value`, `commitment total`, ...).
        quantity: &'static str,
        /// The sum, exact, or `more than 7.9e28` past Decimal's range.
        value: String,
        limit: String,
    },
}

impl Violation {
    /// The item the violation is about.
    pub fn item(&self) -> &ItemRef {
        match self {
            Violation::DuplicateId { item }
            | Violation::UnknownReference { item, .. }
            | Violation::ClassNotAtSite { item, .. }
            | Violation::SellerDoesNotOwnSite { item, .. }
            | Violation::SiteOversold { item, .. }
            | Violation::ResellerNotHolder { item, .. }
            | Violation::BackingNotResellable { item, .. }
            | Violation::ClassMismatch { item, .. }
            | Violation::OutsideBackingWindow { item, .. }
            | Violation::ResaleOversold { item, .. }
            | Violation::Cycle { item, .. }
            | Violation::BackingRejected { item, .. }
            | Violation::PowerOverrun { item, .. }
            | Violation::InstalledBelowZero { item, .. }
            | Violation::InstalledBelowSold { item, .. }
            | Violation::PowerBelowZero { item, .. }
            | Violation::EmptyExpansion { item }
            | Violation::ExclusiveViolated { item, .. }
            | Violation::NoResaleTo { item, .. }
            | Violation::AmendmentAfterEnd { item, .. }
            | Violation::BlockExceedsMax { item, .. }
            | Violation::OfferNotResellable { item, .. }
            | Violation::TooLarge { item, .. } => item,
        }
    }

    /// A short machine-readable code (`site_oversold`, ...), stable for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            Violation::DuplicateId { .. } => "duplicate_id",
            Violation::UnknownReference { .. } => "unknown_reference",
            Violation::ClassNotAtSite { .. } => "class_not_at_site",
            Violation::SellerDoesNotOwnSite { .. } => "seller_does_not_own_site",
            Violation::SiteOversold { .. } => "site_oversold",
            Violation::ResellerNotHolder { .. } => "reseller_not_holder",
            Violation::BackingNotResellable { .. } => "backing_not_resellable",
            Violation::ClassMismatch { .. } => "class_mismatch",
            Violation::OutsideBackingWindow { .. } => "outside_backing_window",
            Violation::ResaleOversold { .. } => "resale_oversold",
            Violation::Cycle { .. } => "cycle",
            Violation::BackingRejected { .. } => "backing_rejected",
            Violation::PowerOverrun { .. } => "power_overrun",
            Violation::InstalledBelowZero { .. } => "installed_below_zero",
            Violation::InstalledBelowSold { .. } => "installed_below_sold",
            Violation::PowerBelowZero { .. } => "power_below_zero",
            Violation::EmptyExpansion { .. } => "empty_expansion",
            Violation::ExclusiveViolated { .. } => "exclusive_violated",
            Violation::NoResaleTo { .. } => "no_resale_to_violated",
            Violation::AmendmentAfterEnd { .. } => "amendment_after_end",
            Violation::BlockExceedsMax { .. } => "block_exceeds_max",
            Violation::OfferNotResellable { .. } => "offer_not_resellable",
            Violation::TooLarge { .. } => "too_large",
        }
    }
}

fn at_site(site: &Id, at: &Option<Instant>) -> String {
    match at {
        Some(t) => format!(" at {t} (site {site:?})"),
        None => String::new(),
    }
}

/// Ids for a message: all of a few, the first ones of many (the violation
/// itself keeps every id).
fn list_ids(ids: &[Id]) -> String {
    const SHOWN: usize = 5;
    let mut s = ids
        .iter()
        .take(SHOWN)
        .map(Id::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > SHOWN {
        s.push_str(&format!(" and {} more", ids.len() - SHOWN));
    }
    s
}

/// Why an event or a scenario was refused: every violation found, never only the first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub violations: Vec<Violation>,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejection {}
