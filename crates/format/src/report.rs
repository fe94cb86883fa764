//! One typed document per report, built here from core's results and used
//! as is by the CLI's `--json` and by the HTTP API. The API adds access
//! rules only, with the documents' `redact` methods.
//!
//! Shapes: the spec's exposure and plan documents (the plan document adds
//! `strategy` and where each purchase comes from; see docs/scenario-format.md)
//! and the provenance (chain) document.

use cascade_core::{Contract, Exposure, Ledger, Month, Resold, SiteTimeline, Source, format_usd};
use serde::Serialize;

/// Shares and ratios are printed with four decimals, as in the spec's examples.
pub fn round4(x: f64) -> f64 {
    no_negative_zero((x * 10_000.0).round() / 10_000.0)
}

/// `-0.0` (an empty float sum, or a tiny negative rounded) prints as `-0`
/// in JSON and text; adding `0.0` turns it into `0.0` and changes nothing else.
pub fn no_negative_zero(x: f64) -> f64 {
    x + 0.0
}

/// H100e keeps what the class ratios give, trimmed of float noise.
pub fn round_h100e(x: f64) -> f64 {
    no_negative_zero((x * 1_000_000.0).round() / 1_000_000.0)
}

/// Who is looking at a document, for the API's access rules.
pub trait Viewer {
    /// Sees everything.
    fn is_admin(&self) -> bool;
    /// May act for this party (an admin acts for every party).
    fn acts_for(&self, party: &str) -> bool;
}

// ---- exposure -----------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExposureTotal {
    pub gpus: i64,
    pub h100e: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExposureRow {
    pub id: String,
    pub gpus: i64,
    pub h100e: f64,
    pub share: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExposureSiteRow {
    pub id: String,
    pub provider: String,
    pub region: String,
    pub gpus: i64,
    pub h100e: f64,
    pub share: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExposureLossRow {
    pub lost: String,
    pub remaining_h100e: f64,
    pub remaining_share: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExposureCommitmentRow {
    pub id: String,
    pub seller: String,
    pub usd: String,
    pub spent_usd: String,
    pub remaining_usd: String,
}

/// A physical provider's share of the buyer's capacity that is not yet built.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExposureUnbuiltRow {
    pub id: String,
    pub h100e: f64,
    pub share: f64,
}

/// Delivery risk: held capacity that depends on expansions effective after
/// `asof` (spec second-wave.md, "Delivery risk").
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExposureUnbuilt {
    pub asof: String,
    pub h100e: f64,
    pub share: f64,
    pub by_provider: Vec<ExposureUnbuiltRow>,
}

/// A buyer's true concentration at an instant: the spec's exposure document
/// (`cascade exposure --json`, `GET /exposure`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExposureDoc {
    pub buyer: String,
    pub at: String,
    pub total: ExposureTotal,
    pub by_provider: Vec<ExposureRow>,
    pub by_counterparty: Vec<ExposureRow>,
    pub by_site: Vec<ExposureSiteRow>,
    /// Σ share² over physical providers, by H100e.
    pub hhi: f64,
    pub n_minus_1: Vec<ExposureLossRow>,
    pub commitments: Vec<ExposureCommitmentRow>,
    pub flags: Vec<String>,
    pub unbuilt: ExposureUnbuilt,
}

impl ExposureDoc {
    pub fn of(e: &Exposure) -> ExposureDoc {
        let row = |r: &cascade_core::Row| ExposureRow {
            id: r.id.to_string(),
            gpus: r.gpus,
            h100e: round_h100e(r.h100e),
            share: round4(r.share),
        };
        ExposureDoc {
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
            unbuilt: ExposureUnbuilt {
                asof: e.unbuilt.asof.to_string(),
                h100e: round_h100e(e.unbuilt.h100e),
                share: round4(e.unbuilt.share),
                by_provider: e
                    .unbuilt
                    .by_provider
                    .iter()
                    .map(|r| ExposureUnbuiltRow {
                        id: r.id.to_string(),
                        h100e: round_h100e(r.h100e),
                        share: round4(r.share),
                    })
                    .collect(),
            },
        }
    }
}

// ---- build-out timeline ---------------------------------------------------------

/// One GPU class of a site in one month (see `cascade_core::ClassMonth`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineClassRow {
    pub gpu: String,
    pub installed_gpus: i64,
    pub sold_gpus: i64,
    pub free_gpus: i64,
    pub min_free_gpus: i64,
    /// Only with `asof`: sold at the month's start but not yet built.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unbuilt_gpus: Option<i64>,
}

/// One site in one month; figures at the month's first instant.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineMonthRow {
    pub month: String,
    /// `null` where no power limit is known.
    pub power_mw: Option<f64>,
    pub drawn_mw: f64,
    pub installed_gpus: i64,
    pub sold_gpus: i64,
    pub free_gpus: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unbuilt_gpus: Option<i64>,
    pub classes: Vec<TimelineClassRow>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineSite {
    pub site: String,
    pub provider: String,
    pub region: String,
    pub months: Vec<TimelineMonthRow>,
}

/// The monthly build-out of sites (`cascade buildout --json`,
/// `GET /sites/{id}/timeline`). Totals per site and class only: it names no
/// contract, so every party may see it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineDoc {
    pub from: String,
    pub to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asof: Option<String>,
    pub sites: Vec<TimelineSite>,
}

/// MW as documents print it: three decimals (kW), trimmed of float noise.
fn round_mw(x: f64) -> f64 {
    no_negative_zero((x * 1000.0).round() / 1000.0)
}

impl TimelineDoc {
    pub fn of(
        from: Month,
        to: Month,
        asof: Option<cascade_core::Instant>,
        sites: &[SiteTimeline],
    ) -> TimelineDoc {
        TimelineDoc {
            from: from.to_string(),
            to: to.to_string(),
            asof: asof.map(|t| t.to_string()),
            sites: sites
                .iter()
                .map(|s| TimelineSite {
                    site: s.site.to_string(),
                    provider: s.provider.to_string(),
                    region: s.region.clone(),
                    months: s
                        .months
                        .iter()
                        .map(|m| {
                            let sum = |f: fn(&cascade_core::ClassMonth) -> i64| {
                                m.classes.iter().map(f).sum::<i64>()
                            };
                            TimelineMonthRow {
                                month: m.month.to_string(),
                                power_mw: m.power_mw.map(round_mw),
                                drawn_mw: round_mw(m.drawn_mw),
                                installed_gpus: sum(|c| c.installed_gpus),
                                sold_gpus: sum(|c| c.sold_gpus),
                                free_gpus: sum(|c| c.free_gpus),
                                unbuilt_gpus: s.asof.map(|_| sum(|c| c.unbuilt_gpus.unwrap_or(0))),
                                classes: m
                                    .classes
                                    .iter()
                                    .map(|c| TimelineClassRow {
                                        gpu: c.gpu.to_string(),
                                        installed_gpus: c.installed_gpus,
                                        sold_gpus: c.sold_gpus,
                                        free_gpus: c.free_gpus,
                                        min_free_gpus: c.min_free_gpus,
                                        unbuilt_gpus: c.unbuilt_gpus,
                                    })
                                    .collect(),
                            }
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// The months a timeline shows when none are asked for: from the first to
/// the last month in which any expansion takes effect or any contract starts
/// or ends; `None` when the scenario has neither.
pub fn timeline_span(ledger: &Ledger) -> Option<(Month, Month)> {
    let dates = ledger.expansions().iter().map(|e| e.effective).chain(
        ledger
            .contracts()
            .flat_map(|c| [c.window.start(), c.window.end()]),
    );
    let (lo, hi) = dates.fold(
        None,
        |acc: Option<(cascade_core::Instant, cascade_core::Instant)>, t| {
            Some(match acc {
                None => (t, t),
                Some((lo, hi)) => (lo.min(t), hi.max(t)),
            })
        },
    )?;
    Some((Month::of(lo), Month::of(hi)))
}

// ---- chain ----------------------------------------------------------------------

/// A top-up of a contract: GPUs added from `effective` to its end.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AmendmentEntry {
    pub effective: String,
    pub gpus: i64,
}

/// One link of a chain. Redacted for a viewer who is not a party to it:
/// only its tier, class, GPUs and window remain.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainLink {
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
    /// The seller's site, for a contract sold from a site.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// The contract this one is resold from (its seller's; hidden from its buyer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backed_by: Option<String>,
    /// Top-ups: (effective, GPUs added).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amendments: Option<Vec<AmendmentEntry>>,
}

/// A resale carved (directly or further down) from the contract asked about.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResoldEntry {
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
    pub price_per_gpu_hour: String,
}

/// Provenance of a contract (`cascade chain --json`, `GET /contracts/{id}/chain`):
/// its chain down to the physical provider, site and region, and every
/// resale carved from it, depth first.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainDoc {
    pub contract: String,
    pub physical_provider: String,
    pub root_site: String,
    pub region: String,
    /// Number of contracts from this one down to the site.
    pub tiers: usize,
    /// Sellers along the chain (hidden from everyone but admins by the API:
    /// upstream parties are not disclosed to a buyer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sellers: Option<Vec<String>>,
    pub chain: Vec<ChainLink>,
    /// Resales of this contract, depth first (a flat list: resale trees
    /// are user-made and may be deep).
    pub resold: Vec<ResoldEntry>,
}

fn amendments(l: &Ledger, c: &Contract) -> Vec<AmendmentEntry> {
    l.contract(&c.id)
        .map(|info| {
            info.amendments
                .iter()
                .map(|(effective, gpus)| AmendmentEntry {
                    effective: effective.to_string(),
                    gpus: *gpus,
                })
                .collect()
        })
        .unwrap_or_default()
}

impl ChainDoc {
    /// The whole document, or `None` if the ledger has no such contract.
    pub fn of(l: &Ledger, id: &cascade_core::Id) -> Option<ChainDoc> {
        let chain = l.chain(id)?;
        let tree = l.resold_tree(id)?;
        let chain_links = chain
            .links
            .iter()
            .enumerate()
            .map(|(tier, c)| {
                let (site, backed_by) = match &c.source {
                    Source::Site(s) => (Some(s.to_string()), None),
                    Source::BackedBy(b) => (None, Some(b.to_string())),
                };
                ChainLink {
                    tier,
                    id: Some(c.id.to_string()),
                    seller: Some(c.seller.to_string()),
                    buyer: Some(c.buyer.to_string()),
                    gpu: c.gpu.to_string(),
                    gpus: c.gpus.get(),
                    start: c.window.start().to_string(),
                    end: c.window.end().to_string(),
                    price_per_gpu_hour: Some(format_usd(c.price_per_gpu_hour.get())),
                    resale: Some(c.resale),
                    site,
                    backed_by,
                    amendments: Some(amendments(l, c)),
                }
            })
            .collect();
        let mut resold = Vec::new();
        let mut stack: Vec<(&Resold, usize)> = tree.resold.iter().rev().map(|r| (r, 1)).collect();
        while let Some((r, depth)) = stack.pop() {
            let c = r.contract;
            resold.push(ResoldEntry {
                id: c.id.to_string(),
                seller: c.seller.to_string(),
                buyer: c.buyer.to_string(),
                gpu: c.gpu.to_string(),
                gpus: c.gpus.get(),
                start: c.window.start().to_string(),
                end: c.window.end().to_string(),
                backed_by: match &c.source {
                    Source::BackedBy(b) | Source::Site(b) => b.to_string(),
                },
                depth,
                price_per_gpu_hour: format_usd(c.price_per_gpu_hour.get()),
            });
            stack.extend(r.resold.iter().rev().map(|x| (x, depth + 1)));
        }
        Some(ChainDoc {
            contract: id.to_string(),
            physical_provider: chain.provider.to_string(),
            root_site: chain.root_site.id.to_string(),
            region: chain.root_site.region.clone(),
            tiers: chain.links.len(),
            sellers: Some(chain.links.iter().map(|c| c.seller.to_string()).collect()),
            chain: chain_links,
            resold,
        })
    }

    /// What `viewer` may see: links it is not a party to keep only their
    /// tier, class, GPUs and window; a backing contract shows to the
    /// link's seller only; resales it is not a party to are left out with
    /// everything carved from them; the sellers list is for admins.
    pub fn redact(&mut self, viewer: &impl Viewer) {
        let party_to =
            |seller: &str, buyer: &str| viewer.acts_for(seller) || viewer.acts_for(buyer);
        if !viewer.is_admin() {
            self.sellers = None;
        }
        for link in &mut self.chain {
            let (Some(seller), Some(buyer)) = (&link.seller, &link.buyer) else {
                continue;
            };
            if !party_to(seller, buyer) {
                *link = ChainLink {
                    tier: link.tier,
                    id: None,
                    seller: None,
                    buyer: None,
                    gpu: std::mem::take(&mut link.gpu),
                    gpus: link.gpus,
                    start: std::mem::take(&mut link.start),
                    end: std::mem::take(&mut link.end),
                    price_per_gpu_hour: None,
                    resale: None,
                    site: None,
                    backed_by: None,
                    amendments: None,
                };
            } else if !viewer.acts_for(seller) {
                link.backed_by = None;
            }
        }
        let mut hidden_below: Option<usize> = None;
        self.resold.retain(|r| {
            if let Some(d) = hidden_below {
                if r.depth > d {
                    return false;
                }
                hidden_below = None;
            }
            let visible = party_to(&r.seller, &r.buyer);
            if !visible {
                hidden_below = Some(r.depth);
            }
            visible
        });
    }
}

// ---- plan -------------------------------------------------------------------------

/// One purchase of a plan, and where its capacity physically is.
#[cfg(feature = "plan")]
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PurchaseEntry {
    pub offer: String,
    /// GPU class, as the scenario writes it.
    pub gpu: String,
    pub gpus: u32,
    /// Whole instances bought (`gpus / gpus_per_instance`).
    pub instances: u32,
    pub gpus_per_instance: u32,
    /// H100-equivalents bought (gpus × the class's H100e), to 4 places.
    pub h100e: f64,
    /// Exact decimal, as the offer states it.
    pub price_per_gpu_hour: String,
    pub cost_usd: String,
    pub seller: String,
    /// Physical provider: the owner of the site (through any resale).
    pub provider: String,
    pub site: String,
    pub region: String,
    pub start: String,
    pub end: String,
    /// True when the price leaves out the host VM (an accelerator-only
    /// catalog row, as GCP lists GPUs): the real cost is higher.
    pub accelerator_only: bool,
}

/// Capacity bought beyond demand because offers sell whole instances.
#[cfg(feature = "plan")]
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SurplusEntry {
    pub start: String,
    pub end: String,
    /// The class asked for by name; absent: the demand in H100e as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<String>,
    /// `gpus` for a class, `h100e` otherwise.
    pub unit: String,
    /// Still needed beyond holdings.
    pub needed: f64,
    pub bought: f64,
    /// bought − needed.
    pub surplus: f64,
}

/// The plan document (`cascade plan --json`, `POST /plan`): the spec's keys,
/// plus `strategy`, each purchase's class, instances, price, seller,
/// provider, site, region and window, and the surplus of whole instances.
#[cfg(feature = "plan")]
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanDoc {
    pub buyer: String,
    /// `optimal` or `greedy`.
    pub strategy: String,
    /// `optimal`, `feasible` or `infeasible`.
    pub status: String,
    /// Why the plan is infeasible, in a sentence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub objective_usd: String,
    pub purchases_usd: String,
    pub shortfall_usd: String,
    pub purchases: Vec<PurchaseEntry>,
    /// Bought beyond demand because of instance sizes (empty: none).
    pub surplus: Vec<SurplusEntry>,
    /// Wall-clock seconds of the solve, to the microsecond.
    pub solve_seconds: f64,
    /// Relative gap between the plan's cost and the proven lower bound, when
    /// a time limit stopped the optimizer before it closed the gap (status
    /// `feasible`, strategy `optimal`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mip_gap: Option<f64>,
}

#[cfg(feature = "plan")]
impl PlanDoc {
    /// The document of a plan whose prices all include the host.
    pub fn of(r: &cascade_plan::PlanResult) -> PlanDoc {
        Self::of_flagged(r, |_| false)
    }

    /// The document, flagging purchases of offers priced from
    /// accelerator-only rows (`accelerator_only(offer)`).
    pub fn of_flagged(
        r: &cascade_plan::PlanResult,
        accelerator_only: impl Fn(&cascade_core::Id) -> bool,
    ) -> PlanDoc {
        // Figures of whole GPUs or H100e to 4 places; `+ 0.0` turns -0 into 0.
        let tidy = |x: f64| (x * 1e4).round() / 1e4 + 0.0;
        PlanDoc {
            buyer: r.buyer.to_string(),
            strategy: r.strategy.as_str().to_string(),
            status: r.status.as_str().to_string(),
            reason: match &r.status {
                cascade_plan::PlanStatus::Infeasible { reason } => Some(reason.clone()),
                _ => None,
            },
            objective_usd: format_usd(r.objective_usd),
            purchases_usd: format_usd(r.purchases_usd),
            shortfall_usd: format_usd(r.shortfall_usd),
            purchases: r
                .purchases
                .iter()
                .map(|p| PurchaseEntry {
                    offer: p.offer.to_string(),
                    gpu: p.gpu.to_string(),
                    gpus: p.gpus,
                    instances: p.blocks,
                    gpus_per_instance: p.block_gpus,
                    h100e: tidy(p.h100e),
                    price_per_gpu_hour: p.price_per_gpu_hour.to_string(),
                    cost_usd: format_usd(p.cost_usd),
                    seller: p.seller.to_string(),
                    provider: p.provider.to_string(),
                    site: p.site.to_string(),
                    region: p.region.clone(),
                    start: p.window.start().to_string(),
                    end: p.window.end().to_string(),
                    accelerator_only: accelerator_only(&p.offer),
                })
                .collect(),
            surplus: r
                .surplus
                .iter()
                .map(|s| SurplusEntry {
                    start: s.window.start().to_string(),
                    end: s.window.end().to_string(),
                    gpu: s.gpu.as_ref().map(ToString::to_string),
                    unit: if s.gpu.is_some() { "gpus" } else { "h100e" }.to_string(),
                    needed: tidy(s.needed),
                    bought: tidy(s.bought),
                    surplus: tidy(s.extra()),
                })
                .collect(),
            solve_seconds: (r.solve_seconds * 1e6).round() / 1e6,
            mip_gap: r
                .mip_gap
                .filter(|_| {
                    r.strategy == cascade_plan::Strategy::Optimal
                        && r.status == cascade_plan::PlanStatus::Feasible
                })
                .map(|g| (g * 1e8).round() / 1e8),
        }
    }
}

// ---- settlement (`cascade bill`, `cascade margins`) -----------------------------

/// GPU-hours as an exact string without trailing zeros (`"7440000"`, `"-12.5"`).
fn exact(d: rust_decimal::Decimal) -> String {
    d.normalize().to_string()
}

/// One invoice line: `contract` on usage and credit lines, `commitment` on a
/// true-up (which has no GPU-hours).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BillLineDoc {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_hours: Option<String>,
    pub usd: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceDoc {
    pub seller: String,
    pub buyer: String,
    pub lines: Vec<BillLineDoc>,
    /// Rounded once to cents, half away from zero.
    pub total_usd: String,
}

/// A commitment running through the month and settled later.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BurnDownDoc {
    pub commitment: String,
    pub buyer: String,
    pub seller: String,
    pub usd_total: String,
    pub spent_to_date_usd: String,
    pub remaining_usd: String,
    pub months_left: i64,
    pub pace_needed_usd_per_month: String,
    pub contracted_usd: String,
    pub projected_shortfall_usd: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainMarginDoc {
    /// The purchase the resales are carved from.
    pub purchase: String,
    pub seller: String,
    pub revenue_usd: String,
    pub cost_of_resold_usd: String,
    pub margin_usd: String,
    pub idle_cost_usd: String,
}

/// A reseller's margin, net of outage credits: totals, then per chain.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MarginsDoc {
    pub party: String,
    pub revenue_usd: String,
    pub cost_of_resold_usd: String,
    pub margin_usd: String,
    pub idle_cost_usd: String,
    pub chains: Vec<ChainMarginDoc>,
}

impl MarginsDoc {
    pub fn of(m: &cascade_core::Margin) -> MarginsDoc {
        let f = &m.total;
        MarginsDoc {
            party: m.party.to_string(),
            revenue_usd: format_usd(f.revenue_usd),
            cost_of_resold_usd: format_usd(f.cost_of_resold_usd),
            margin_usd: format_usd(f.margin_usd),
            idle_cost_usd: format_usd(f.idle_cost_usd),
            chains: m
                .chains
                .iter()
                .map(|c| ChainMarginDoc {
                    purchase: c.purchase.to_string(),
                    seller: c.seller.to_string(),
                    revenue_usd: format_usd(c.figures.revenue_usd),
                    cost_of_resold_usd: format_usd(c.figures.cost_of_resold_usd),
                    margin_usd: format_usd(c.figures.margin_usd),
                    idle_cost_usd: format_usd(c.figures.idle_cost_usd),
                })
                .collect(),
        }
    }
}

/// The spec's `cascade bill --json` document for one month, plus the
/// burn-down of commitments not yet settled.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BillDoc {
    pub period: String,
    /// Sorted by seller, buyer; lines by contract, then true-ups by commitment.
    pub invoices: Vec<InvoiceDoc>,
    pub burn_down: Vec<BurnDownDoc>,
    pub margins: Vec<MarginsDoc>,
}

impl BillDoc {
    pub fn of(m: &cascade_core::MonthBill) -> BillDoc {
        BillDoc {
            period: m.month.to_string(),
            invoices: m.invoices.iter().map(invoice_doc).collect(),
            burn_down: m
                .burn_down
                .iter()
                .map(|b| BurnDownDoc {
                    commitment: b.commitment.to_string(),
                    buyer: b.buyer.to_string(),
                    seller: b.seller.to_string(),
                    usd_total: format_usd(b.usd_total),
                    spent_to_date_usd: format_usd(b.spent_to_date_usd),
                    remaining_usd: format_usd(b.remaining_usd),
                    months_left: b.months_left,
                    pace_needed_usd_per_month: format_usd(b.pace_needed_usd_per_month),
                    contracted_usd: format_usd(b.contracted_usd),
                    projected_shortfall_usd: format_usd(b.projected_shortfall_usd),
                })
                .collect(),
            margins: m.margins.iter().map(MarginsDoc::of).collect(),
        }
    }

    /// What `party` may see: invoices it issues or receives, burn-down of
    /// its commitments as buyer or seller, and only its own margins (a
    /// reseller's margin reveals its seller's price).
    pub fn for_party(&mut self, party: &str) {
        self.invoices
            .retain(|i| i.seller == party || i.buyer == party);
        self.burn_down
            .retain(|b| b.seller == party || b.buyer == party);
        self.margins.retain(|m| m.party == party);
    }

    /// The API's access rule: an admin sees all; anyone else sees what
    /// concerns the parties it acts for.
    pub fn redact(&mut self, viewer: &impl Viewer) {
        if viewer.is_admin() {
            return;
        }
        self.invoices
            .retain(|i| viewer.acts_for(&i.seller) || viewer.acts_for(&i.buyer));
        self.burn_down
            .retain(|b| viewer.acts_for(&b.seller) || viewer.acts_for(&b.buyer));
        self.margins.retain(|m| viewer.acts_for(&m.party));
    }
}

fn invoice_doc(i: &cascade_core::Invoice) -> InvoiceDoc {
    use cascade_core::LineKind;
    InvoiceDoc {
        seller: i.seller.to_string(),
        buyer: i.buyer.to_string(),
        lines: i
            .lines
            .iter()
            .map(|l| {
                let item = Some(l.item.to_string());
                let (contract, commitment, gpu_hours) = match l.kind {
                    LineKind::TrueUp => (None, item, None),
                    LineKind::Usage | LineKind::Credit => (item, None, Some(exact(l.gpu_hours))),
                };
                BillLineDoc {
                    kind: l.kind.as_str().to_string(),
                    contract,
                    commitment,
                    gpu_hours,
                    usd: format_usd(l.usd),
                }
            })
            .collect(),
        total_usd: format_usd(i.total_usd),
    }
}

/// Margins of resellers summed over `from..=to` (`cascade margins`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MarginsReport {
    pub from: String,
    pub to: String,
    pub margins: Vec<MarginsDoc>,
}

impl MarginsReport {
    pub fn of(s: &cascade_core::Settlement) -> MarginsReport {
        MarginsReport {
            from: s.from.to_string(),
            to: s.to.to_string(),
            margins: s.margins.iter().map(MarginsDoc::of).collect(),
        }
    }

    /// A reseller's margins only to itself; an admin sees all.
    pub fn redact(&mut self, viewer: &impl Viewer) {
        if !viewer.is_admin() {
            self.margins.retain(|m| viewer.acts_for(&m.party));
        }
    }
}
