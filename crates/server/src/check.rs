//! Request bodies into core values. A body is a document of the scenario
//! format (`cascade_format`: one serde type per kind, read with the format's
//! field names, money and time rules); its one conversion into core
//! (`ToCore`) reports every bad value with its path. On top of that the
//! service bounds some values ([`Bounds`]), so that no request can make a
//! sum the service computes leave the range of exact decimals or finite
//! floats.

use cascade_core::{
    Amendment, AmendmentTarget, Commitment, Contract, GpuClass, Offer, Party, Scenario, Site,
};
use cascade_format::{Problem as ValueProblem, ToCore};
use rust_decimal::Decimal;

use crate::problem::{FieldError, Problem, pointer_of};

/// The service's bounds on values, beyond the scenario format's own rules
/// (times are already bounded to 1970..2200 by the format).
pub mod limits {
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
    /// h100e of a class.
    pub const MAX_RATIO: f64 = 1000.0;
    pub const MAX_WATTS: f64 = 1.0e6;
    pub const MAX_POWER_MW: f64 = 1.0e6;
    /// H100e of a demand or a co-location target.
    pub const MAX_H100E: f64 = 1.0e12;
    /// Characters of a name or a region.
    pub const MAX_TEXT: usize = 200;
}

/// A 422 listing every value problem of a body (paths relative to it).
pub fn invalid(problems: Vec<ValueProblem>) -> Problem {
    let errors: Vec<FieldError> = problems
        .iter()
        .map(|p| {
            let field = p.path_string();
            FieldError {
                pointer: Some(p.pointer()),
                field: if field.is_empty() {
                    "(body)".into()
                } else {
                    field
                },
                message: p.detail.clone(),
            }
        })
        .collect();
    invalid_errors(errors)
}

fn invalid_errors(errors: Vec<FieldError>) -> Problem {
    let detail = errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ");
    Problem::invalid(detail, errors)
}

/// A body document into its core value, within the service's bounds.
pub fn accept<D: ToCore>(
    doc: &D,
    label: &str,
    bound: impl FnOnce(&mut Bounds, &D::Core),
) -> Result<D::Core, Problem> {
    let core = doc.to_core(label).map_err(invalid)?;
    let mut b = Bounds::default();
    bound(&mut b, &core);
    b.done()?;
    Ok(core)
}

/// Collects values outside the service's bounds, each with its path.
#[derive(Default)]
pub struct Bounds {
    /// Prepended to every field (`contract[3].`), empty for a lone body.
    prefix: String,
    pub errors: Vec<FieldError>,
}

impl Bounds {
    fn fail(&mut self, field: &str, message: String) {
        let field = format!("{}{field}", self.prefix);
        self.errors.push(FieldError {
            pointer: Some(pointer_of(&field)),
            field,
            message,
        });
    }

    /// `Ok` if every value was within bounds, else a 422 listing them.
    pub fn done(self) -> Result<(), Problem> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(invalid_errors(self.errors))
        }
    }

    fn at_most(&mut self, field: &str, x: f64, max: f64) {
        if x > max {
            self.fail(field, format!("must be at most {max}, got {x}"));
        }
    }

    fn amount(&mut self, field: &str, d: Decimal, max: Decimal) {
        if d > max {
            self.fail(field, format!("must be at most {max}, got {d}"));
        } else if d.normalize().scale() > limits::MAX_DECIMALS {
            self.fail(
                field,
                format!("at most {} decimal places, got {d}", limits::MAX_DECIMALS),
            );
        }
    }

    fn text(&mut self, field: &str, s: &str, min: usize) {
        let n = s.chars().count();
        if n < min || n > limits::MAX_TEXT {
            self.fail(
                field,
                format!("must have {min} to {} characters", limits::MAX_TEXT),
            );
        }
    }

    pub fn gpu(&mut self, g: &GpuClass) {
        self.at_most("h100e", g.h100e.get(), limits::MAX_RATIO);
        self.at_most("watts", g.watts.get(), limits::MAX_WATTS);
    }

    pub fn party(&mut self, p: &Party) {
        if let Some(n) = &p.name {
            self.text("name", n, 0);
        }
    }

    pub fn site(&mut self, s: &Site) {
        self.text("region", &s.region, 1);
        if let Some(p) = s.power_mw {
            self.at_most("power_mw", p.get(), limits::MAX_POWER_MW);
        }
        if s.gpus.is_empty() {
            self.fail(
                "gpus",
                "a site needs at least one installed GPU class".into(),
            );
        }
    }

    pub fn contract(&mut self, c: &Contract) {
        self.amount(
            "price_per_gpu_hour",
            c.price_per_gpu_hour.get(),
            limits::max_price(),
        );
    }

    pub fn commitment(&mut self, c: &Commitment) {
        self.amount("usd", c.usd.get(), limits::max_usd());
    }

    pub fn amendment(&mut self, a: &Amendment) {
        if let AmendmentTarget::Commitment { usd, .. } = &a.target {
            self.amount("usd", usd.get(), limits::max_usd());
        }
    }

    pub fn offer(&mut self, o: &Offer) {
        self.amount(
            "price_per_gpu_hour",
            o.price_per_gpu_hour.get(),
            limits::max_price(),
        );
    }

    /// A whole scenario document: every item, with its path.
    pub fn scenario(&mut self, s: &Scenario) {
        fn each<T>(b: &mut Bounds, kind: &str, items: &[T], f: impl Fn(&mut Bounds, &T)) {
            for (i, x) in items.iter().enumerate() {
                b.prefix = format!("{kind}[{i}].");
                f(b, x);
            }
        }
        each(self, "gpu", &s.gpus, Bounds::gpu);
        each(self, "party", &s.parties, Bounds::party);
        each(self, "site", &s.sites, Bounds::site);
        each(self, "contract", &s.contracts, Bounds::contract);
        each(self, "commitment", &s.commitments, Bounds::commitment);
        each(self, "amendment", &s.amendments, Bounds::amendment);
        each(self, "offer", &s.offers, Bounds::offer);
        each(self, "demand", &s.demands, |b, d| match &d.need {
            // A class demand's GPUs are bounded by their type (u32).
            cascade_core::Need::H100e(x) => b.at_most("h100e", x.get(), limits::MAX_H100E),
            cascade_core::Need::Gpus { .. } => {}
        });
        for (buyer, p) in &s.policies {
            self.prefix = format!("policy.{buyer}.");
            if let Some(x) = p.colocated_h100e {
                self.at_most("colocated_h100e", x.get(), limits::MAX_H100E);
            }
            if let Some(x) = p.budget_usd {
                self.amount("budget_usd", x.get(), limits::max_usd());
            }
        }
        self.prefix.clear();
    }
}
