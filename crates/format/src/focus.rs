//! FOCUS export of a settlement (FinOps Open Cost and Usage Specification):
//! the 1.3 Cost and Usage dataset, its 1.0 projection for the official
//! validator, and the 1.3 Contract Commitment dataset. Column by column
//! choices, with the rule each one follows, are in docs/focus.md.
//!
//! Rows are exactly the lines of `cascade_core::settle` (usage, credit,
//! true-up), so the CSV and the invoices cannot disagree. Each row is
//! written as soon as it is formed: the writer holds one row at a time.

use std::collections::HashMap;
use std::io::{self, Write};

use cascade_core::{
    Commitment, Delivery, Id, Invoice, Ledger, Line, LineKind, Month, Settlement, SettlementError,
    settle,
};
use rust_decimal::Decimal;

/// Why a streamed export stopped: a month failed to settle (a conservation
/// check, an overflow), or the writer failed (a closed pipe, a full disk).
#[derive(Debug, thiserror::Error)]
pub enum FocusError {
    #[error("settling {month}: {source}")]
    Settlement {
        month: Month,
        source: SettlementError,
    },
    #[error("writing the FOCUS CSV: {0}")]
    Io(#[from] io::Error),
}

/// Which FOCUS column set to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FocusVersion {
    /// FOCUS 1.3, Cost and Usage dataset (the spec's target).
    V1_3,
    /// FOCUS 1.0 column set, spelled as `focus-validator` 1.0.0 expects.
    V1_0,
}

impl FocusVersion {
    pub fn parse(s: &str) -> Option<FocusVersion> {
        match s {
            "1.3" => Some(FocusVersion::V1_3),
            "1.0" => Some(FocusVersion::V1_0),
            _ => None,
        }
    }
}

/// Every column the writer knows: (1.3 name, 1.0 name). `None` means the
/// column does not exist in that version. The 1.0 names follow
/// `focus-validator` 1.0.0 (`InvoiceIssuer`, `Provider`, `Publisher`,
/// `ResourceID`), which differ from the 1.0 text; see docs/focus.md.
const COLUMNS: &[(Option<&str>, Option<&str>)] = &[
    (None, Some("AvailabilityZone")),
    (Some("BilledCost"), Some("BilledCost")),
    (Some("BillingAccountId"), Some("BillingAccountId")),
    (Some("BillingAccountName"), Some("BillingAccountName")),
    (Some("BillingCurrency"), Some("BillingCurrency")),
    (Some("BillingPeriodEnd"), Some("BillingPeriodEnd")),
    (Some("BillingPeriodStart"), Some("BillingPeriodStart")),
    (Some("ChargeCategory"), Some("ChargeCategory")),
    (Some("ChargeClass"), Some("ChargeClass")),
    (Some("ChargeDescription"), Some("ChargeDescription")),
    (Some("ChargeFrequency"), Some("ChargeFrequency")),
    (Some("ChargePeriodEnd"), Some("ChargePeriodEnd")),
    (Some("ChargePeriodStart"), Some("ChargePeriodStart")),
    // Not a FOCUS 1.0 column (1.0-preview's name for ChargeCategory), but
    // the validator's 1.0 rule SkuPriceId_Nullable still reads it; without
    // it that rule fails on any file instead of checking the rows.
    (None, Some("ChargeType")),
    (None, Some("CommitmentDiscountCategory")),
    (None, Some("CommitmentDiscountId")),
    (None, Some("CommitmentDiscountName")),
    (None, Some("CommitmentDiscountStatus")),
    (None, Some("CommitmentDiscountType")),
    (Some("ConsumedQuantity"), Some("ConsumedQuantity")),
    (Some("ConsumedUnit"), Some("ConsumedUnit")),
    (Some("ContractApplied"), None),
    (Some("ContractedCost"), Some("ContractedCost")),
    (Some("ContractedUnitPrice"), Some("ContractedUnitPrice")),
    (Some("EffectiveCost"), Some("EffectiveCost")),
    (Some("HostProviderName"), None),
    (Some("InvoiceId"), None),
    (Some("InvoiceIssuerName"), Some("InvoiceIssuer")),
    (Some("ListCost"), Some("ListCost")),
    (Some("ListUnitPrice"), Some("ListUnitPrice")),
    (Some("PricingCategory"), Some("PricingCategory")),
    (Some("PricingQuantity"), Some("PricingQuantity")),
    (Some("PricingUnit"), Some("PricingUnit")),
    (Some("ProviderName"), Some("Provider")),
    (Some("PublisherName"), Some("Publisher")),
    (Some("RegionId"), Some("RegionId")),
    (Some("RegionName"), Some("RegionName")),
    (Some("ResourceId"), Some("ResourceID")),
    (Some("ResourceName"), Some("ResourceName")),
    (Some("ResourceType"), Some("ResourceType")),
    (Some("ServiceCategory"), Some("ServiceCategory")),
    (Some("ServiceName"), Some("ServiceName")),
    (Some("ServiceProviderName"), None),
    (Some("SkuId"), Some("SkuId")),
    (Some("SkuPriceId"), Some("SkuPriceId")),
    (None, Some("SubAccountId")),
    (None, Some("SubAccountName")),
    (None, Some("Tags")),
    (Some("x_SupplyChain"), Some("x_SupplyChain")),
];

fn name(
    col: &(Option<&'static str>, Option<&'static str>),
    v: FocusVersion,
) -> Option<&'static str> {
    match v {
        FocusVersion::V1_3 => col.0,
        FocusVersion::V1_0 => col.1,
    }
}

/// The header of the Cost and Usage dataset in `version`.
pub fn columns(version: FocusVersion) -> Vec<&'static str> {
    COLUMNS.iter().filter_map(|c| name(c, version)).collect()
}

/// Writes one CSV field (RFC 4180): quoted when it holds a comma, quote or
/// line break; null is the empty field.
fn field(w: &mut impl Write, v: Option<&str>) -> io::Result<()> {
    match v {
        None => Ok(()),
        Some(s) if s.contains([',', '"', '\n', '\r']) => {
            write!(w, "\"{}\"", s.replace('"', "\"\""))
        }
        Some(s) => w.write_all(s.as_bytes()),
    }
}

fn exact(d: Decimal) -> String {
    d.normalize().to_string()
}

/// A numeric column: exact, with at least two decimal places. FOCUS's
/// NumericFormat allows either form; the validator reads a column whose
/// values all look like integers as an integer column and refuses it as
/// Decimal, so whole figures are written `148800.00`.
fn decimal(d: Decimal) -> String {
    cascade_core::format_usd(d)
}

/// What a row needs from the ledger beyond the invoice line.
struct Cx<'a> {
    ledger: &'a Ledger,
    /// Commitments by (buyer, seller), sorted by id.
    commitments: HashMap<(&'a Id, &'a Id), Vec<&'a Commitment>>,
}

impl<'a> Cx<'a> {
    fn new(ledger: &'a Ledger) -> Cx<'a> {
        let mut commitments: HashMap<(&Id, &Id), Vec<&Commitment>> = HashMap::new();
        for c in ledger.commitments() {
            commitments
                .entry((&c.buyer, &c.seller))
                .or_default()
                .push(c);
        }
        for v in commitments.values_mut() {
            v.sort_by(|a, b| a.id.cmp(&b.id));
        }
        Cx {
            ledger,
            commitments,
        }
    }

    /// Commitments a contract counts toward: same buyer and seller, start
    /// inside the commitment's window (the spend rule of scenario.md).
    fn applied(&self, c: &cascade_core::Contract) -> Vec<&'a Commitment> {
        self.commitments
            .get(&(&c.buyer, &c.seller))
            .map(|v| {
                v.iter()
                    .filter(|m| m.window.contains(c.window.start()))
                    .copied()
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// JSON string literal (ids and descriptions may hold any character).
fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Values of one row, in `COLUMNS` order.
fn row(cx: &Cx, inv: &Invoice, l: &Line) -> Vec<Option<String>> {
    let month = inv.month;
    let seller = inv.seller.as_str().to_string();
    let buyer = inv.buyer.as_str().to_string();
    let buyer_name = cx
        .ledger
        .party(inv.buyer)
        .and_then(|p| p.name.clone())
        .unwrap_or_else(|| buyer.clone());
    let cost = decimal(l.usd);
    let item = l.item.as_str().to_string();
    let (contract, chain) = match l.kind {
        LineKind::TrueUp => (None, None),
        _ => (
            cx.ledger.contract(l.item).map(|i| i.contract),
            cx.ledger.chain(l.item),
        ),
    };
    let supply_chain = match &chain {
        Some(ch) => {
            let mut parties: Vec<&str> = vec![ch.provider.as_str()];
            for link in ch.links.iter().rev() {
                if parties.last() != Some(&link.seller.as_str()) {
                    parties.push(link.seller.as_str());
                }
            }
            parties.push(inv.buyer.as_str());
            parties.join(">")
        }
        None => format!("{seller}>{buyer}"),
    };
    let usage = l.kind == LineKind::Usage;
    let gpu = contract.map(|c| c.gpu.as_str().to_string());
    let price = l.price_usd_per_gpu_hour.map(decimal);
    let qty = usage.then(|| decimal(l.gpu_hours));
    let (category, frequency, description) = match l.kind {
        LineKind::Usage => (
            "Usage",
            "Usage-Based",
            match &chain {
                Some(ch) => format!(
                    "{} GPU capacity at {} ({})",
                    gpu.as_deref().unwrap_or(""),
                    ch.root_site.id.as_str(),
                    supply_chain
                ),
                None => format!("GPU capacity under contract {item}"),
            },
        ),
        LineKind::Credit => (
            "Credit",
            "Usage-Based",
            format!(
                "Outage credit: {} GPU-hours not delivered",
                exact(-l.gpu_hours)
            ),
        ),
        LineKind::TrueUp => (
            "Adjustment",
            "One-Time",
            format!("Take-or-pay shortfall of commitment {item}"),
        ),
    };
    // Spend toward a commitment is contract value (scenario.md), so only
    // usage rows apply to it; credits do not reduce spend.
    let applied = match (usage, contract) {
        (true, Some(c)) => {
            let mut entries: Vec<String> = cx
                .applied(c)
                .iter()
                .map(|m| {
                    format!(
                        "{{\"ContractCommitmentID\":{},\"ContractCommitmentAppliedCost\":{},\"ContractCommitmentAppliedQuantity\":null,\"ContractCommitmentAppliedUnit\":null}}",
                        json_str(m.id.as_str()),
                        cost
                    )
                })
                .collect();
            // KeyValueFormat wants one JSON object with scalar values
            // (attributes/key_value_format.md@0942b25c:22-25): that is the
            // column whenever one commitment applies, as it does unless
            // commitments of one pair overlap. Then no object can hold them
            // all, and the entries go in an array, the form of the stored
            // ContractApplied example (docs/focus.md).
            match entries.len() {
                0 => None,
                1 => entries.pop(),
                _ => Some(format!("[{}]", entries.join(","))),
            }
        }
        _ => None,
    };
    let region = chain.as_ref().map(|ch| ch.root_site.region.clone());
    let host = match &chain {
        Some(ch) => ch.provider.as_str().to_string(),
        None => seller.clone(),
    };
    let not_true_up = l.kind != LineKind::TrueUp;
    let s = |x: &str| Some(x.to_string());
    vec![
        None,                                                     // AvailabilityZone
        Some(cost.clone()),                                       // BilledCost
        Some(buyer.clone()),                                      // BillingAccountId
        Some(buyer_name),                                         // BillingAccountName
        s("USD"),                                                 // BillingCurrency
        Some(month.end().to_string()),                            // BillingPeriodEnd
        Some(month.start().to_string()),                          // BillingPeriodStart
        s(category),                                              // ChargeCategory
        None,                                                     // ChargeClass
        Some(description),                                        // ChargeDescription
        s(frequency),                                             // ChargeFrequency
        Some(l.period.end().to_string()),                         // ChargePeriodEnd
        Some(l.period.start().to_string()),                       // ChargePeriodStart
        s(category),                                              // ChargeType (1.0 only)
        None,                                                     // CommitmentDiscountCategory
        None,                                                     // CommitmentDiscountId
        None,                                                     // CommitmentDiscountName
        None,                                                     // CommitmentDiscountStatus
        None,                                                     // CommitmentDiscountType
        qty.clone(),                                              // ConsumedQuantity
        usage.then(|| "GPU-Hours".to_string()),                   // ConsumedUnit
        applied,                                                  // ContractApplied
        Some(cost.clone()),                                       // ContractedCost
        if usage { price.clone() } else { None },                 // ContractedUnitPrice
        Some(cost.clone()),                                       // EffectiveCost
        Some(host),                                               // HostProviderName
        Some(format!("{seller}:{buyer}:{month}")),                // InvoiceId
        Some(seller.clone()),                                     // InvoiceIssuerName
        Some(cost),                                               // ListCost
        if usage { price } else { None },                         // ListUnitPrice
        usage.then(|| "Standard".to_string()),                    // PricingCategory
        qty,                                                      // PricingQuantity
        usage.then(|| "GPU-Hours".to_string()),                   // PricingUnit
        Some(seller.clone()),                                     // ProviderName
        Some(seller.clone()),                                     // PublisherName
        region.clone(),                                           // RegionId
        region,                                                   // RegionName
        Some(item.clone()),                                       // ResourceId
        Some(item),                                               // ResourceName
        not_true_up.then(|| "GPU Capacity Contract".to_string()), // ResourceType
        s("AI and Machine Learning"),                             // ServiceCategory
        s("GPU Capacity"),                                        // ServiceName
        Some(seller.clone()),                                     // ServiceProviderName
        if not_true_up { gpu.clone() } else { None },             // SkuId
        if usage {
            gpu.map(|g| format!("{seller}/{g}"))
        } else {
            None
        }, // SkuPriceId
        None,                                                     // SubAccountId
        None,                                                     // SubAccountName
        None,                                                     // Tags
        Some(supply_chain),                                       // x_SupplyChain
    ]
}

fn write_row(
    w: &mut impl Write,
    values: &[Option<String>],
    version: FocusVersion,
) -> io::Result<()> {
    debug_assert_eq!(values.len(), COLUMNS.len(), "one value per known column");
    let mut first = true;
    for (col, v) in COLUMNS.iter().zip(values) {
        if name(col, version).is_none() {
            continue;
        }
        if !first {
            w.write_all(b",")?;
        }
        first = false;
        field(w, v.as_deref())?;
    }
    w.write_all(b"\n")
}

/// Writes the Cost and Usage dataset of `s`: a header, then one row per
/// invoice line, months in order, invoices by seller and buyer. With
/// `party`, only the invoices it issues or receives. Returns the rows written.
pub fn write_cost_and_usage(
    w: &mut impl Write,
    ledger: &Ledger,
    s: &Settlement,
    version: FocusVersion,
    party: Option<&Id>,
) -> io::Result<u64> {
    let cx = Cx::new(ledger);
    writeln!(w, "{}", columns(version).join(","))?;
    let mut n = 0;
    for m in &s.months {
        n += write_month(w, &cx, m, version, party)?;
    }
    Ok(n)
}

fn write_month(
    w: &mut impl Write,
    cx: &Cx,
    m: &cascade_core::MonthBill,
    version: FocusVersion,
    party: Option<&Id>,
) -> io::Result<u64> {
    let mut n = 0;
    for inv in &m.invoices {
        if party.is_some_and(|p| p != inv.seller && p != inv.buyer) {
            continue;
        }
        for l in &inv.lines {
            write_row(w, &row(cx, inv, l), version)?;
            n += 1;
        }
    }
    Ok(n)
}

/// The export for a range of any length in flat memory: settles one month
/// at a time (conservation checks included) and writes its rows before
/// settling the next, so what is held is the ledger and one month's
/// invoices, however many months and rows the range has. The bytes are
/// those of [`write_cost_and_usage`] on the whole range: a month's invoices,
/// true-ups and burn-down do not depend on the other months of the run.
pub fn stream_cost_and_usage(
    w: &mut impl Write,
    ledger: &Ledger,
    delivery: &Delivery,
    from: Month,
    to: Month,
    version: FocusVersion,
    party: Option<&Id>,
) -> Result<u64, FocusError> {
    let cx = Cx::new(ledger);
    writeln!(w, "{}", columns(version).join(","))?;
    let mut n = 0;
    // Months outside every contract and commitment have no rows: skip them,
    // so a range of centuries costs what the contracts' years cost.
    let Some((first, last)) = billed_span(ledger) else {
        return Ok(0);
    };
    let mut month = from.max(first);
    let to = to.min(last);
    while month <= to {
        let s = settle(ledger, delivery, month, month)
            .map_err(|source| FocusError::Settlement { month, source })?;
        for m in &s.months {
            n += write_month(w, &cx, m, version, party)?;
        }
        month = month.next();
    }
    Ok(n)
}

/// The first and last months any contract or commitment of `ledger` runs in.
fn billed_span(ledger: &Ledger) -> Option<(Month, Month)> {
    let windows = ledger
        .contracts()
        .map(|c| c.window)
        .chain(ledger.commitments().map(|c| c.window));
    let (mut first, mut last) = (None::<Month>, None::<Month>);
    for w in windows {
        let a = Month::of(w.start());
        // The month holding the window's last instant.
        let b = Month::of(cascade_core::Instant::from_unix_seconds(
            w.end().unix_seconds() - 1,
        ));
        first = Some(first.map_or(a, |f| f.min(a)));
        last = Some(last.map_or(b, |l| l.max(b)));
    }
    first.zip(last)
}

/// Columns of the 1.3 Contract Commitment dataset.
pub const COMMITMENT_COLUMNS: &[&str] = &[
    "BillingCurrency",
    "ContractCommitmentCategory",
    "ContractCommitmentCost",
    "ContractCommitmentDescription",
    "ContractCommitmentId",
    "ContractCommitmentPeriodEnd",
    "ContractCommitmentPeriodStart",
    "ContractCommitmentQuantity",
    "ContractCommitmentType",
    "ContractCommitmentUnit",
    "ContractId",
    "ContractPeriodEnd",
    "ContractPeriodStart",
];

/// Writes the Contract Commitment dataset: one row per take-or-pay
/// commitment (of `party`, as buyer or seller, when given), sorted by id.
pub fn write_contract_commitments(
    w: &mut impl Write,
    ledger: &Ledger,
    party: Option<&Id>,
) -> io::Result<u64> {
    writeln!(w, "{}", COMMITMENT_COLUMNS.join(","))?;
    let mut cs: Vec<&Commitment> = ledger
        .commitments()
        .filter(|c| party.is_none_or(|p| *p == c.buyer || *p == c.seller))
        .collect();
    cs.sort_by(|a, b| a.id.cmp(&b.id));
    for c in &cs {
        let total = ledger.commitment(&c.id).map_or(c.usd.get(), |(_, t)| t);
        let start = c.window.start().to_string();
        let end = c.window.end().to_string();
        let values = [
            Some("USD".to_string()),
            Some("Spend".to_string()),
            Some(decimal(total)),
            Some(format!(
                "take-or-pay: {} spends at least {} USD with {}",
                c.buyer.as_str(),
                exact(total),
                c.seller.as_str()
            )),
            Some(c.id.as_str().to_string()),
            Some(end.clone()),
            Some(start.clone()),
            None,
            Some("Take-or-Pay".to_string()),
            None,
            Some(c.id.as_str().to_string()),
            Some(end),
            Some(start),
        ];
        let mut first = true;
        for v in &values {
            if !first {
                w.write_all(b",")?;
            }
            first = false;
            field(w, v.as_deref())?;
        }
        w.write_all(b"\n")?;
    }
    Ok(cs.len() as u64)
}
