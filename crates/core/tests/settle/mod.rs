//! Delivery and settlement as scenarios: a small network built in code (core
//! has no file parser), the expected figures computed by hand in comments.

mod billing;
mod delivery;

use cascade_core::*;
use rust_decimal::Decimal;

pub fn id(s: &str) -> Id {
    Id::new(s).unwrap()
}

pub fn gpu_id(s: &str) -> Id {
    Id::new_gpu_class(s).unwrap()
}

/// Midnight UTC plus `h` hours.
pub fn at(y: i32, m: u8, d: u8, h: u8) -> Instant {
    Instant::from_datetime(y, m, d, h, 0, 0, 0).unwrap()
}

pub fn win(a: Instant, b: Instant) -> Window {
    Window::new(a, b).unwrap()
}

pub fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// A scenario under construction: one GPU class `H100`, parties on demand.
pub struct Net {
    pub s: Scenario,
}

impl Net {
    pub fn new(parties: &[&str]) -> Net {
        let mut s = Scenario {
            name: "settle".into(),
            ..Scenario::default()
        };
        s.gpus.push(GpuClass {
            id: gpu_id("H100"),
            h100e: Positive::new("h100e", 1.0).unwrap(),
            watts: Positive::new("watts", 700.0).unwrap(),
        });
        for p in parties {
            s.parties.push(Party {
                id: id(p),
                name: None,
            });
        }
        Net { s }
    }

    pub fn site(mut self, site: &str, owner: &str, gpus: i64) -> Net {
        self.s.sites.push(Site {
            id: id(site),
            owner: id(owner),
            region: format!("{site}-region"),
            power_mw: None,
            gpus: vec![(gpu_id("H100"), Gpus::new("gpus", gpus).unwrap())],
        });
        self
    }

    /// `source`: `site:NAME` or the id of the backing contract.
    #[allow(clippy::too_many_arguments)]
    pub fn contract(
        mut self,
        cid: &str,
        seller: &str,
        buyer: &str,
        gpus: i64,
        w: Window,
        price: &str,
        source: &str,
    ) -> Net {
        let source = match source.strip_prefix("site:") {
            Some(s) => Source::Site(id(s)),
            None => Source::BackedBy(id(source)),
        };
        self.s.contracts.push(Contract {
            id: id(cid),
            seller: id(seller),
            buyer: id(buyer),
            gpu: gpu_id("H100"),
            gpus: Gpus::new("gpus", gpus).unwrap(),
            window: w,
            price_per_gpu_hour: UsdPerGpuHour::new("price", dec(price)).unwrap(),
            source,
            resale: true,
        });
        self
    }

    pub fn amend(mut self, cid: &str, gpus: i64, effective: Instant) -> Net {
        self.s.amendments.push(Amendment {
            target: AmendmentTarget::Contract {
                id: id(cid),
                gpus: Gpus::new("gpus", gpus).unwrap(),
            },
            effective,
        });
        self
    }

    pub fn commitment(mut self, cid: &str, buyer: &str, seller: &str, w: Window, usd: &str) -> Net {
        self.s.commitments.push(Commitment {
            id: id(cid),
            buyer: id(buyer),
            seller: id(seller),
            window: w,
            usd: Usd::new("usd", dec(usd)).unwrap(),
        });
        self
    }

    pub fn top_up(mut self, cid: &str, usd: &str, effective: Instant) -> Net {
        self.s.amendments.push(Amendment {
            target: AmendmentTarget::Commitment {
                id: id(cid),
                usd: Usd::new("usd", dec(usd)).unwrap(),
            },
            effective,
        });
        self
    }

    pub fn outage(mut self, scope: OutageScope, w: Window, fraction: &str) -> Net {
        self.s.outages.push(Outage {
            scope,
            window: w,
            fraction: OutageFraction::new("fraction", dec(fraction)).unwrap(),
        });
        self
    }

    pub fn ledger(&self) -> Ledger {
        Ledger::from_scenario(&self.s).unwrap_or_else(|r| panic!("{:?}", r.violations))
    }

    pub fn delivery(&self, l: &Ledger) -> Delivery {
        Delivery::new(l, &self.s.outages).unwrap()
    }
}
