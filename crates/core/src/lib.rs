//! Cascade's pure core: domain types, the capacity ledger, provenance and exposure.
//!
//! Architecture invariant: this crate does no IO, reads no clock, spawns no
//! threads and knows nothing of serde or file formats. Everything here is a
//! function of its inputs.

pub mod exposure;
pub mod ledger;
pub mod model;
mod order;
mod stepfn;
pub mod types;
pub mod violation;

pub use exposure::{CommitmentRow, Exposure, HiddenConcentration, LossRow, Row, SiteRow};
pub use ledger::{Chain, ContractInfo, Event, Holding, Ledger, Resold};
pub use model::*;
pub use order::LoadOrder;
pub use types::*;
pub use violation::{ItemRef, Rejection, Violation};
