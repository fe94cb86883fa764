//! Random faults: site and provider outages as Poisson processes with
//! exponential durations, and build-out slips. Defaults and their sources:
//! `docs/simulation.md`.

use cascade_core::{Instant, Outage, OutageFraction, OutageScope, Window};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;

use crate::capacity::{BaseCapacity, Slip};
use crate::jobs::unit;

#[derive(Clone, Debug, PartialEq)]
pub struct FaultParams {
    /// Outages of one whole site, per site-year.
    pub site_outages_per_year: f64,
    pub site_outage_mean_h: f64,
    /// Outages taking down every site of one provider, per provider-year.
    pub provider_outages_per_year: f64,
    pub provider_outage_mean_h: f64,
    /// Share of a site's installed GPUs an outage takes down, in (0, 1].
    pub outage_fraction: f64,
    /// GPU failures interrupting running jobs, per 1000 GPU-days.
    pub gpu_failures_per_1000_gpu_days: f64,
    /// Chance that a build-out phase comes online late.
    pub slip_probability: f64,
    /// Mean delay of a late phase, in days (exponential).
    pub slip_mean_days: f64,
}

impl Default for FaultParams {
    fn default() -> Self {
        FaultParams {
            site_outages_per_year: 2.0,
            site_outage_mean_h: 12.0,
            provider_outages_per_year: 0.5,
            provider_outage_mean_h: 6.0,
            outage_fraction: 1.0,
            // Llama 3 405B pre-training: 419 unexpected interruptions in 54
            // days on 16,384 H100s (Llama Team, arXiv:2407.21783, §3.3.4).
            gpu_failures_per_1000_gpu_days: 0.4736,
            slip_probability: 0.5,
            slip_mean_days: 60.0,
        }
    }
}

fn exp(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    -(1.0 - unit(rng)).ln() * mean
}

/// Samples the outages of one run, sites first then providers, in the
/// ledger's order, so the same seed gives the same faults to every policy.
pub fn sample(base: &BaseCapacity, p: &FaultParams, rng: &mut ChaCha8Rng) -> Vec<Outage> {
    let span = base.span;
    let year_s = 365.0 * 86_400.0;
    let fraction = Decimal::try_from(p.outage_fraction.clamp(1e-6, 1.0))
        .ok()
        .and_then(|d| OutageFraction::new("outage_fraction", d.round_dp(6)).ok())
        .unwrap_or(OutageFraction::FULL);
    let mut out = Vec::new();
    let mut process = |scope: OutageScope, rate: f64, mean_h: f64, out: &mut Vec<Outage>| {
        if rate <= 0.0 || mean_h <= 0.0 {
            return;
        }
        let mut t = span.start as f64;
        loop {
            t += exp(rng, year_s / rate);
            if t >= span.end as f64 {
                return;
            }
            let d = exp(rng, mean_h * 3600.0).max(60.0);
            let s = Instant::from_unix_seconds(t as i64);
            let e = Instant::from_unix_seconds((t + d) as i64);
            out.push(Outage {
                scope: scope.clone(),
                window: Window::new(s, e).expect("a duration of at least a minute"),
                fraction,
            });
        }
    };
    for (site, _) in &base.sites {
        process(
            OutageScope::Site(site.clone()),
            p.site_outages_per_year,
            p.site_outage_mean_h,
            &mut out,
        );
    }
    let mut providers: Vec<_> = base.sites.iter().map(|(_, o)| o.clone()).collect();
    providers.sort();
    providers.dedup();
    for prov in providers {
        process(
            OutageScope::Provider(prov),
            p.provider_outages_per_year,
            p.provider_outage_mean_h,
            &mut out,
        );
    }
    out
}

/// Samples which build-out phases come online late, and by how much.
pub fn sample_slips(base: &BaseCapacity, p: &FaultParams, rng: &mut ChaCha8Rng) -> Vec<Slip> {
    let mut out = Vec::new();
    for (id, _) in base.phases() {
        let late = unit(rng) < p.slip_probability;
        let delay_s = (exp(rng, p.slip_mean_days * 86_400.0)) as i64;
        if late && delay_s > 0 {
            out.push(Slip {
                expansion: id,
                delay_s,
            });
        }
    }
    out
}
