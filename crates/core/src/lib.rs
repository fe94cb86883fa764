//! Cascade's pure core: domain types, the capacity ledger, provenance,
//! exposure, the delivery rule and settlement.
//!
//! Architecture invariant: this crate does no IO, reads no clock, spawns no
//! threads and knows nothing of serde or file formats. Everything here is a
//! function of its inputs.

pub mod billing;
pub mod delivery;
pub mod exposure;
pub mod ledger;
pub mod model;
mod stepfn;
pub mod types;
pub mod violation;

pub use billing::{
    BillingMonth, BurnDown, ChainMargin, Invoice, Line, LineKind, Margin, MarginFigures, MonthBill,
    PeriodError, Settlement, SettlementError, settle,
};
pub use delivery::{Delivery, DeliveryError, Piece};
pub use exposure::{CommitmentRow, Exposure, HiddenConcentration, LossRow, Row, SiteRow};
pub use ledger::{Chain, ContractInfo, Event, Holding, Ledger, Resold};
pub use model::*;
pub use types::*;
pub use violation::{ItemRef, Rejection, Violation};
