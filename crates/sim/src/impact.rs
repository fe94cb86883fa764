//! Who a fault hits: per fault, the buyer's contracts it shorts, with their
//! counterparty and physical provider, by core's delivery rule. This is the
//! table that shows concentration hidden behind resellers.

use cascade_core::{Delivery, Id, Instant, Ledger, Outage, Window};

use crate::{SimError, Span};

/// Capacity one fault takes from one of the buyer's contracts.
#[derive(Clone, Debug, PartialEq)]
pub struct Impact {
    /// Index of the fault in the list given.
    pub fault: usize,
    pub contract: Id,
    /// The buyer's counterparty (the contract's seller).
    pub seller: Id,
    /// The physical provider behind the contract's chain.
    pub provider: Id,
    pub site: Id,
    /// Net (amount − resold) GPU-hours not delivered × the class's h100e.
    pub lost_h100e_hours: f64,
}

/// Every contract of `buyer` each fault shorts inside `span`, each fault
/// taken alone (where faults overlap, their rows overlap too).
pub fn fault_impact(
    ledger: &Ledger,
    buyer: &Id,
    faults: &[Outage],
    span: Span,
) -> Result<Vec<Impact>, SimError> {
    let mut out = Vec::new();
    for (i, f) in faults.iter().enumerate() {
        let s = f.window.start().unix_seconds().max(span.start);
        let e = f.window.end().unix_seconds().min(span.end);
        if s >= e {
            continue;
        }
        let w = Window::new(Instant::from_unix_seconds(s), Instant::from_unix_seconds(e))
            .expect("non-empty");
        let rule = Delivery::new(ledger, std::slice::from_ref(f))
            .map_err(|e| SimError::Delivery(e.to_string()))?;
        for c in ledger.contracts().filter(|c| &c.buyer == buyer) {
            let info = ledger.contract(&c.id).expect("listed");
            let gh = rule
                .undelivered_net_gpu_hours(ledger, &c.id, &w)
                .map_err(|e| SimError::Delivery(e.to_string()))?;
            if gh.is_zero() {
                continue;
            }
            let h = ledger.gpu_class(&c.gpu).expect("validated").h100e.get();
            out.push(Impact {
                fault: i,
                contract: c.id.clone(),
                seller: c.seller.clone(),
                provider: info.provider.clone(),
                site: info.root_site.id.clone(),
                lost_h100e_hours: f64::try_from(gh).unwrap_or(f64::NAN) * h,
            });
        }
    }
    Ok(out)
}
