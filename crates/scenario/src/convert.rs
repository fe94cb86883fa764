//! From the raw document to core's validated [`Scenario`], collecting every
//! value problem (with the path of the offending item or field) rather than
//! stopping at the first.

use cascade_core::{
    Amendment, AmendmentTarget, Clause, Commitment, Contract, Demand, GpuClass, Gpus, Id, Instant,
    Offer, Outage, OutageScope, Party, Policy, Positive, Scenario, Share, Site, Source, Usd,
    UsdPerGpuHour, ValueError, Window,
};
use rust_decimal::Decimal;
use toml::value::{Datetime, Offset};

use crate::raw::{Money, RawDoc, RawTime};
use crate::tree::Seg;

/// One value problem: where it is and what is wrong.
pub(crate) struct Problem {
    pub path: Vec<Seg>,
    pub message: String,
}

/// Field-free wording of a core value error (the field is named by the caller).
pub(crate) fn describe(e: &ValueError) -> String {
    match e {
        ValueError::BadId(s) => format!(
            "{s:?} is not a valid id (ids match [a-z0-9][a-z0-9._-]* and have at most 64 characters)"
        ),
        ValueError::EmptyWindow { start, end } => {
            format!("window is empty: start {start} is not before end {end}")
        }
        ValueError::NotPositive { value, .. } => format!("must be positive, got {value}"),
        ValueError::Negative { value, .. } => format!("must not be negative, got {value}"),
        ValueError::OutOfRange { value, .. } => format!("is out of range: {value}"),
    }
}

/// The item being converted: its label for messages and its path.
struct Item {
    label: String,
    path: Vec<Seg>,
}

impl Item {
    fn new(kind: &str, index: usize, id: Option<&str>) -> Item {
        let label = match id {
            Some(id) if !id.is_empty() => format!("{kind} {id:?}"),
            _ => format!("{kind}[{index}]"),
        };
        Item {
            label,
            path: vec![Seg::key(kind), Seg::Index(index)],
        }
    }

    fn field(&self, f: &str) -> Vec<Seg> {
        let mut p = self.path.clone();
        for part in f.split('.') {
            p.push(Seg::key(part));
        }
        p
    }
}

#[derive(Default)]
struct Ctx {
    problems: Vec<Problem>,
}

impl Ctx {
    fn at_item(&mut self, item: &Item, msg: impl std::fmt::Display) {
        self.problems.push(Problem {
            path: item.path.clone(),
            message: format!("{}: {msg}", item.label),
        });
    }

    fn at_field(&mut self, item: &Item, field: &str, msg: impl std::fmt::Display) {
        self.problems.push(Problem {
            path: item.field(field),
            message: format!("{}: field {field}: {msg}", item.label),
        });
    }

    fn check<T>(&mut self, item: &Item, field: &str, r: Result<T, ValueError>) -> Option<T> {
        r.map_err(|e| self.at_field(item, field, describe(&e))).ok()
    }

    fn id(&mut self, item: &Item, field: &str, raw: &str) -> Option<Id> {
        self.check(item, field, Id::new(raw))
    }

    fn gpu_id(&mut self, item: &Item, field: &str, raw: &str) -> Option<Id> {
        self.check(item, field, Id::new_gpu_class(raw))
    }

    fn opt_id(&mut self, item: &Item, field: &str, raw: Option<&String>) -> Option<Option<Id>> {
        match raw {
            None => Some(None),
            Some(s) => self.id(item, field, s).map(Some),
        }
    }

    fn gpus(&mut self, item: &Item, field: &'static str, n: i64) -> Option<Gpus> {
        self.check(item, field, Gpus::new(field, n))
    }

    fn positive(&mut self, item: &Item, field: &'static str, x: f64) -> Option<Positive> {
        self.check(item, field, Positive::new(field, x))
    }

    fn share(&mut self, item: &Item, field: &'static str, x: f64) -> Option<Share> {
        self.check(item, field, Share::new(field, x))
    }

    fn usd(&mut self, item: &Item, field: &'static str, m: &Money) -> Option<Usd> {
        self.check(item, field, Usd::new(field, m.0))
    }

    fn price(&mut self, item: &Item, field: &'static str, m: &Money) -> Option<UsdPerGpuHour> {
        self.check(item, field, UsdPerGpuHour::new(field, m.0))
    }

    fn time(&mut self, item: &Item, field: &str, t: &RawTime) -> Option<Instant> {
        to_instant(&t.0)
            .map_err(|msg| self.at_field(item, field, msg))
            .ok()
    }

    fn window(&mut self, item: &Item, start: &RawTime, end: &RawTime) -> Option<Window> {
        let s = self.time(item, "start", start);
        let e = self.time(item, "end", end);
        let (s, e) = (s?, e?);
        Window::new(s, e)
            .map_err(|e| self.at_item(item, describe(&e)))
            .ok()
    }

    /// Exactly one of two fields that name where something comes from.
    fn one_of(
        &mut self,
        item: &Item,
        (a, a_val): (&str, Option<&String>),
        (b, b_val): (&str, Option<&String>),
    ) -> Option<(bool, Id)> {
        match (a_val, b_val) {
            (Some(x), None) => self.id(item, a, x).map(|id| (true, id)),
            (None, Some(y)) => self.id(item, b, y).map(|id| (false, id)),
            (Some(_), Some(_)) => {
                self.at_item(item, format!("has both {a} and {b}; give exactly one"));
                None
            }
            (None, None) => {
                self.at_item(item, format!("has neither {a} nor {b}; give exactly one"));
                None
            }
        }
    }
}

/// A TOML date or offset date-time as an instant, or a sentence saying why not.
pub(crate) fn to_instant(d: &Datetime) -> Result<Instant, String> {
    let Some(date) = d.date else {
        return Err(format!(
            "{d} is a time of day without a date; write a date (2026-01-01) \
             or an offset date-time (2026-01-01T06:00:00Z)"
        ));
    };
    let Some(time) = d.time else {
        return Instant::from_date(i32::from(date.year), date.month, date.day)
            .ok_or_else(|| format!("{d} is not a valid date"));
    };
    let Some(offset) = d.offset else {
        return Err(format!(
            "{d} is a local date-time without an offset; write it in UTC with Z \
             ({d}Z) or with an offset like +01:00"
        ));
    };
    if time.nanosecond.unwrap_or(0) != 0 {
        return Err(format!(
            "{d} has fractional seconds; times are whole seconds"
        ));
    }
    let offset_seconds = match offset {
        Offset::Z => 0,
        Offset::Custom { minutes } => i32::from(minutes) * 60,
    };
    let t = Instant::from_datetime(
        i32::from(date.year),
        date.month,
        date.day,
        time.hour,
        time.minute,
        time.second.unwrap_or(0),
        offset_seconds,
    )
    .ok_or_else(|| format!("{d} is not a valid date-time"))?;
    // Keep every instant writable back as a four-digit-year UTC time.
    let year = t.to_civil().0;
    if !(0..=9999).contains(&year) {
        return Err(format!("{d} falls outside the years 0000-9999 in UTC"));
    }
    Ok(t)
}

/// Converts the raw document; `Err` holds every problem found.
pub(crate) fn convert(raw: &RawDoc) -> Result<Scenario, Vec<Problem>> {
    let mut cx = Ctx::default();
    let mut s = Scenario {
        name: raw.name.clone(),
        ..Scenario::default()
    };

    for (i, g) in raw.gpu.iter().enumerate() {
        let it = Item::new("gpu", i, Some(&g.id));
        let id = cx.gpu_id(&it, "id", &g.id);
        let h100e = cx.positive(&it, "h100e", g.h100e);
        let watts = cx.positive(&it, "watts", g.watts);
        if let (Some(id), Some(h100e), Some(watts)) = (id, h100e, watts) {
            s.gpus.push(GpuClass { id, h100e, watts });
        }
    }

    for (i, p) in raw.party.iter().enumerate() {
        let it = Item::new("party", i, Some(&p.id));
        if let Some(id) = cx.id(&it, "id", &p.id) {
            s.parties.push(Party {
                id,
                name: p.name.clone(),
            });
        }
    }

    for (i, site) in raw.site.iter().enumerate() {
        let it = Item::new("site", i, Some(&site.id));
        let id = cx.id(&it, "id", &site.id);
        let owner = cx.id(&it, "owner", &site.owner);
        let power_mw = match site.power_mw {
            None => Some(None),
            Some(x) => cx.positive(&it, "power_mw", x).map(Some),
        };
        let mut gpus = Vec::new();
        let mut ok = true;
        for (class, n) in &site.gpus.0 {
            let field = format!("gpus.{class}");
            let class_id = cx.gpu_id(&it, &field, class);
            let n = cx.check(&it, &field, Gpus::new("gpus", *n));
            match (class_id, n) {
                (Some(c), Some(n)) => {
                    if gpus.iter().any(|(x, _): &(Id, Gpus)| *x == c) {
                        cx.at_field(&it, &field, "class is listed twice");
                        ok = false;
                    } else {
                        gpus.push((c, n));
                    }
                }
                _ => ok = false,
            }
        }
        if let (Some(id), Some(owner), Some(power_mw), true) = (id, owner, power_mw, ok) {
            s.sites.push(Site {
                id,
                owner,
                region: site.region.clone(),
                power_mw,
                gpus,
            });
        }
    }

    for (i, c) in raw.contract.iter().enumerate() {
        let it = Item::new("contract", i, Some(&c.id));
        let id = cx.id(&it, "id", &c.id);
        let seller = cx.id(&it, "seller", &c.seller);
        let buyer = cx.id(&it, "buyer", &c.buyer);
        let gpu = cx.gpu_id(&it, "gpu", &c.gpu);
        let gpus = cx.gpus(&it, "gpus", c.gpus);
        let window = cx.window(&it, &c.start, &c.end);
        let price = cx.price(&it, "price_per_gpu_hour", &c.price_per_gpu_hour);
        let source = source(&mut cx, &it, c.site.as_ref(), c.backed_by.as_ref());
        if let (Some(id), Some(seller), Some(buyer), Some(gpu), Some(gpus), Some(window)) =
            (id, seller, buyer, gpu, gpus, window)
            && let (Some(price_per_gpu_hour), Some(source)) = (price, source)
        {
            s.contracts.push(Contract {
                id,
                seller,
                buyer,
                gpu,
                gpus,
                window,
                price_per_gpu_hour,
                source,
                resale: c.resale,
            });
        }
    }

    for (i, c) in raw.commitment.iter().enumerate() {
        let it = Item::new("commitment", i, Some(&c.id));
        let id = cx.id(&it, "id", &c.id);
        let buyer = cx.id(&it, "buyer", &c.buyer);
        let seller = cx.id(&it, "seller", &c.seller);
        let window = cx.window(&it, &c.start, &c.end);
        let usd = cx.usd(&it, "usd", &c.usd);
        if let (Some(id), Some(buyer), Some(seller), Some(window), Some(usd)) =
            (id, buyer, seller, window, usd)
        {
            s.commitments.push(Commitment {
                id,
                buyer,
                seller,
                window,
                usd,
            });
        }
    }

    for (i, a) in raw.amendment.iter().enumerate() {
        let it = Item::new("amendment", i, None);
        let effective = cx.time(&it, "effective", &a.effective);
        let target = match (&a.contract, &a.commitment) {
            (Some(c), None) => {
                if a.usd.is_some() {
                    cx.at_field(
                        &it,
                        "usd",
                        "belongs with commitment; a contract amendment adds gpus",
                    );
                }
                let id = cx.id(&it, "contract", c);
                let gpus = match a.gpus {
                    Some(n) => cx.gpus(&it, "gpus", n),
                    None => {
                        cx.at_item(&it, "amends a contract but has no gpus");
                        None
                    }
                };
                match (id, gpus, a.usd.is_none()) {
                    (Some(id), Some(gpus), true) => Some(AmendmentTarget::Contract { id, gpus }),
                    _ => None,
                }
            }
            (None, Some(c)) => {
                if a.gpus.is_some() {
                    cx.at_field(
                        &it,
                        "gpus",
                        "belongs with contract; a commitment amendment adds usd",
                    );
                }
                let id = cx.id(&it, "commitment", c);
                let usd = match &a.usd {
                    Some(m) => positive_usd(&mut cx, &it, "usd", m),
                    None => {
                        cx.at_item(&it, "amends a commitment but has no usd");
                        None
                    }
                };
                match (id, usd, a.gpus.is_none()) {
                    (Some(id), Some(usd), true) => Some(AmendmentTarget::Commitment { id, usd }),
                    _ => None,
                }
            }
            (Some(_), Some(_)) => {
                cx.at_item(&it, "has both contract and commitment; give exactly one");
                None
            }
            (None, None) => {
                cx.at_item(&it, "has neither contract nor commitment; give exactly one");
                None
            }
        };
        if let (Some(target), Some(effective)) = (target, effective) {
            s.amendments.push(Amendment { target, effective });
        }
    }

    for (i, o) in raw.offer.iter().enumerate() {
        let it = Item::new("offer", i, Some(&o.id));
        let id = cx.id(&it, "id", &o.id);
        let seller = cx.id(&it, "seller", &o.seller);
        let gpu = cx.gpu_id(&it, "gpu", &o.gpu);
        let max_gpus = cx.gpus(&it, "max_gpus", o.max_gpus);
        let block_gpus = cx.gpus(&it, "block_gpus", o.block_gpus.unwrap_or(8));
        let window = cx.window(&it, &o.start, &o.end);
        let price = cx.price(&it, "price_per_gpu_hour", &o.price_per_gpu_hour);
        let source = source(&mut cx, &it, o.site.as_ref(), o.backed_by.as_ref());
        if let (Some(id), Some(seller), Some(gpu), Some(max_gpus), Some(block_gpus)) =
            (id, seller, gpu, max_gpus, block_gpus)
            && let (Some(window), Some(price_per_gpu_hour), Some(source)) = (window, price, source)
        {
            s.offers.push(Offer {
                id,
                seller,
                gpu,
                max_gpus,
                block_gpus,
                window,
                price_per_gpu_hour,
                source,
            });
        }
    }

    for (i, c) in raw.clause.iter().enumerate() {
        let it = Item::new("clause", i, None);
        if let Some(clause) = clause(&mut cx, &it, c) {
            s.clauses.push(clause);
        }
    }

    for (i, d) in raw.demand.iter().enumerate() {
        let it = Item::new("demand", i, None);
        let buyer = cx.id(&it, "buyer", &d.buyer);
        let window = cx.window(&it, &d.start, &d.end);
        let h100e = cx.positive(&it, "h100e", d.h100e);
        if let (Some(buyer), Some(window), Some(h100e)) = (buyer, window, h100e) {
            s.demands.push(Demand {
                buyer,
                window,
                h100e,
            });
        }
    }

    for (i, o) in raw.outage.iter().enumerate() {
        let it = Item::new("outage", i, None);
        let scope = cx
            .one_of(
                &it,
                ("site", o.site.as_ref()),
                ("provider", o.provider.as_ref()),
            )
            .map(|(is_site, id)| {
                if is_site {
                    OutageScope::Site(id)
                } else {
                    OutageScope::Provider(id)
                }
            });
        let window = cx.window(&it, &o.start, &o.end);
        if let (Some(scope), Some(window)) = (scope, window) {
            // `fraction` is parsed in phase 2 (issue 12); until then every outage is whole.
            s.outages.push(Outage {
                scope,
                window,
                fraction: cascade_core::OutageFraction::FULL,
            });
        }
    }

    for (buyer, p) in &raw.policy.0 {
        let it = Item {
            label: format!("policy {buyer:?}"),
            path: vec![Seg::key("policy"), Seg::key(buyer)],
        };
        let id = cx.check(&it, "buyer", Id::new(buyer));
        let max_share = p
            .max_provider_share
            .map(|x| cx.share(&it, "max_provider_share", x));
        let min_share = p
            .min_share_after_provider_loss
            .map(|x| cx.share(&it, "min_share_after_provider_loss", x));
        let colocated = p
            .colocated_h100e
            .map(|x| cx.positive(&it, "colocated_h100e", x));
        let budget = p.budget_usd.as_ref().map(|m| cx.usd(&it, "budget_usd", m));
        if s.policies.iter().any(|(b, _)| b.as_str() == buyer.as_str()) {
            cx.at_item(&it, "buyer has two policies");
            continue;
        }
        let all_ok = [
            max_share.is_none_or(|x| x.is_some()),
            min_share.is_none_or(|x| x.is_some()),
            colocated.is_none_or(|x| x.is_some()),
            budget.is_none_or(|x| x.is_some()),
        ]
        .iter()
        .all(|ok| *ok);
        if let (Some(id), true) = (id, all_ok) {
            s.policies.push((
                id,
                Policy {
                    max_provider_share: max_share.flatten(),
                    min_share_after_provider_loss: min_share.flatten(),
                    colocated_h100e: colocated.flatten(),
                    budget_usd: budget.flatten(),
                },
            ));
        }
    }

    if cx.problems.is_empty() {
        Ok(s)
    } else {
        Err(cx.problems)
    }
}

fn source(
    cx: &mut Ctx,
    it: &Item,
    site: Option<&String>,
    backed_by: Option<&String>,
) -> Option<Source> {
    cx.one_of(it, ("site", site), ("backed_by", backed_by))
        .map(|(is_site, id)| {
            if is_site {
                Source::Site(id)
            } else {
                Source::BackedBy(id)
            }
        })
}

fn positive_usd(cx: &mut Ctx, it: &Item, field: &'static str, m: &Money) -> Option<Usd> {
    if m.0 <= Decimal::ZERO {
        cx.at_field(it, field, format!("must be positive, got {}", m.0));
        return None;
    }
    cx.usd(it, field, m)
}

fn clause(cx: &mut Ctx, it: &Item, c: &crate::raw::RawClause) -> Option<Clause> {
    // (field, present) for every optional clause field.
    let fields: [(&str, bool); 6] = [
        ("buyer", c.buyer.is_some()),
        ("seller", c.seller.is_some()),
        ("holder", c.holder.is_some()),
        ("party", c.party.is_some()),
        ("provider", c.provider.is_some()),
        ("until", c.until.is_some()),
    ];
    let wanted: &[&str] = match c.kind.as_str() {
        "exclusive" => &["buyer", "seller", "until"],
        "rofr" => &["buyer", "holder", "until"],
        "no_resale_to" => &["seller", "party"],
        "avoid_provider" => &["buyer", "provider"],
        other => {
            cx.at_field(
                it,
                "kind",
                format!(
                    "unknown clause kind {other:?}; expected exclusive, rofr, no_resale_to or avoid_provider"
                ),
            );
            return None;
        }
    };
    let it = Item {
        label: format!("{} ({})", it.label, c.kind),
        path: it.path.clone(),
    };
    let mut ok = true;
    for (f, present) in fields {
        let want = wanted.contains(&f);
        if want && !present {
            cx.at_item(
                &it,
                format!(
                    "missing field {f} (a {} clause needs {})",
                    c.kind,
                    wanted.join(", ")
                ),
            );
            ok = false;
        } else if !want && present {
            cx.at_field(&it, f, format!("does not apply to a {} clause", c.kind));
            ok = false;
        }
    }
    let buyer = cx.opt_id(&it, "buyer", c.buyer.as_ref());
    let seller = cx.opt_id(&it, "seller", c.seller.as_ref());
    let holder = cx.opt_id(&it, "holder", c.holder.as_ref());
    let party = cx.opt_id(&it, "party", c.party.as_ref());
    let provider = cx.opt_id(&it, "provider", c.provider.as_ref());
    let until = match &c.until {
        None => Some(None),
        Some(t) => cx.time(&it, "until", t).map(Some),
    };
    if !ok {
        return None;
    }
    let (buyer, seller, holder, party, provider, until) =
        (buyer?, seller?, holder?, party?, provider?, until?);
    match c.kind.as_str() {
        "exclusive" => Some(Clause::Exclusive {
            buyer: buyer?,
            seller: seller?,
            until: until?,
        }),
        "rofr" => Some(Clause::Rofr {
            buyer: buyer?,
            holder: holder?,
            until: until?,
        }),
        "no_resale_to" => Some(Clause::NoResaleTo {
            seller: seller?,
            party: party?,
        }),
        _ => Some(Clause::AvoidProvider {
            buyer: buyer?,
            provider: provider?,
        }),
    }
}
