//! The one conversion per kind from a document into core's validated types.
//!
//! Every value problem is collected with the path of the offending field
//! (`contract[3].gpus` in a file, `gpus` in a request body), rather than
//! stopping at the first: files turn paths into `file:line:col`, the API
//! into JSON pointers, the journal into a row error.

use std::fmt;

use cascade_core::{
    Amendment, AmendmentTarget, Clause, Commitment, Contract, Demand, Event, Expansion, GpuClass,
    GpuDelta, Gpus, Id, Instant, MwDelta, Need, Offer, Outage, OutageFraction, OutageScope, Party,
    Policy, Positive, Scenario, Share, Site, Source, Usd, UsdPerGpuHour, ValueError, Window,
};
use rust_decimal::Decimal;

use crate::doc::{
    AmendmentDoc, ClauseDoc, ClauseKind, CommitmentDoc, ContractDoc, DemandDoc, ExpansionDoc,
    GpuDoc, OfferDoc, Ordered, OutageDoc, PartyDoc, PolicyDoc, ScenarioDoc, SiteDoc,
};
use crate::tree::Seg;
use crate::value::{ClassIdText, IdText, Money, TimeText, describe};

/// One value problem: where it is and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Path of the field (or item) from the document root.
    pub path: Vec<Seg>,
    /// The item, as messages name it: `contract "c1"`, `clause[2] (rofr)`.
    pub item: String,
    /// The field, when the problem is one field's (`gpus`, `gpus.h100`).
    pub field: Option<String>,
    /// What is wrong, without the item and field.
    pub detail: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}: field {field}: {}", self.item, self.detail),
            None => write!(f, "{}: {}", self.item, self.detail),
        }
    }
}

impl Problem {
    /// The path as written in messages: `contract[3].gpus`, `gpus.h100`.
    pub fn path_string(&self) -> String {
        let mut s = String::new();
        for seg in &self.path {
            match seg {
                Seg::Key(k) if s.is_empty() => s.push_str(k),
                Seg::Key(k) => {
                    s.push('.');
                    s.push_str(k);
                }
                Seg::Index(i) => s.push_str(&format!("[{i}]")),
            }
        }
        s
    }

    /// The path as an RFC 6901 JSON pointer: `/contract/3/gpus`.
    pub fn pointer(&self) -> String {
        self.path
            .iter()
            .map(|seg| match seg {
                Seg::Key(k) => format!("/{}", k.replace('~', "~0").replace('/', "~1")),
                Seg::Index(i) => format!("/{i}"),
            })
            .collect()
    }
}

/// The item being converted: its label for messages and its path.
#[derive(Clone, Debug)]
pub struct Item {
    pub label: String,
    pub path: Vec<Seg>,
}

impl Item {
    /// The `index`-th item of `kind` in a document, named by its id if it has one.
    pub fn new(kind: &str, index: usize, id: Option<&str>) -> Item {
        let label = match id {
            Some(id) if !id.is_empty() => format!("{kind} {id:?}"),
            _ => format!("{kind}[{index}]"),
        };
        Item {
            label,
            path: vec![Seg::key(kind), Seg::Index(index)],
        }
    }

    /// A lone item at the root of its document (a request body, a journal row).
    pub fn root(label: &str) -> Item {
        Item {
            label: label.to_string(),
            path: Vec::new(),
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

/// Collects every problem of a conversion.
#[derive(Default)]
pub struct Cx {
    pub problems: Vec<Problem>,
}

impl Cx {
    pub fn at_item(&mut self, item: &Item, msg: impl fmt::Display) {
        self.problems.push(Problem {
            path: item.path.clone(),
            item: item.label.clone(),
            field: None,
            detail: msg.to_string(),
        });
    }

    pub fn at_field(&mut self, item: &Item, field: &str, msg: impl fmt::Display) {
        self.problems.push(Problem {
            path: item.field(field),
            item: item.label.clone(),
            field: Some(field.to_string()),
            detail: msg.to_string(),
        });
    }

    fn check<T>(&mut self, item: &Item, field: &str, r: Result<T, ValueError>) -> Option<T> {
        r.map_err(|e| self.at_field(item, field, describe(&e))).ok()
    }

    fn text<T>(&mut self, item: &Item, field: &str, r: Result<T, String>) -> Option<T> {
        r.map_err(|msg| self.at_field(item, field, msg)).ok()
    }

    fn id(&mut self, item: &Item, field: &str, raw: &IdText) -> Option<Id> {
        self.text(item, field, raw.to_core())
    }

    fn class_id(&mut self, item: &Item, field: &str, raw: &ClassIdText) -> Option<Id> {
        self.text(item, field, raw.to_core())
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

    fn time(&mut self, item: &Item, field: &str, t: &TimeText) -> Option<Instant> {
        self.text(item, field, t.to_core())
    }

    fn window(&mut self, item: &Item, start: &TimeText, end: &TimeText) -> Option<Window> {
        let s = self.time(item, "start", start);
        let e = self.time(item, "end", end);
        let (s, e) = (s?, e?);
        Window::new(s, e)
            .map_err(|e| self.at_item(item, describe(&e)))
            .ok()
    }

    /// A `[gpus]` table (class → count), each count checked by `count`.
    /// Sites and expansions share it so that a class listed twice, an
    /// unknown class or a bad count reads the same in both.
    fn class_map<T>(
        &mut self,
        item: &Item,
        map: &Ordered<i64>,
        count: impl Fn(i64) -> Result<T, ValueError>,
    ) -> Option<Vec<(Id, T)>> {
        let mut out: Vec<(Id, T)> = Vec::new();
        let mut ok = true;
        for (class, n) in &map.0 {
            let field = format!("gpus.{class}");
            let class_id = self.class_id(item, &field, &ClassIdText(class.clone()));
            let n = self.check(item, &field, count(*n));
            match (class_id, n) {
                (Some(c), Some(_)) if out.iter().any(|(x, _)| *x == c) => {
                    self.at_field(item, &field, "class is listed twice");
                    ok = false;
                }
                (Some(c), Some(n)) => out.push((c, n)),
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// An optional value: `Some(None)` when absent, `None` when present and bad.
    fn opt<R, T>(
        &mut self,
        raw: Option<&R>,
        f: impl FnOnce(&mut Self, &R) -> Option<T>,
    ) -> Option<Option<T>> {
        match raw {
            None => Some(None),
            Some(r) => f(self, r).map(Some),
        }
    }

    /// Exactly one of two fields that name where something comes from;
    /// `(true, id)` for the first.
    fn one_of(
        &mut self,
        item: &Item,
        (a, a_val): (&str, Option<&IdText>),
        (b, b_val): (&str, Option<&IdText>),
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

    fn source(
        &mut self,
        it: &Item,
        site: Option<&IdText>,
        backed_by: Option<&IdText>,
    ) -> Option<Source> {
        self.one_of(it, ("site", site), ("backed_by", backed_by))
            .map(|(is_site, id)| {
                if is_site {
                    Source::Site(id)
                } else {
                    Source::BackedBy(id)
                }
            })
    }

    /// `Ok(value)` if nothing was reported, else every problem.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, Vec<Problem>> {
        match value {
            Some(v) if self.problems.is_empty() => Ok(v),
            _ => Err(self.problems),
        }
    }
}

/// The one conversion of a document item into its core value.
pub trait ToCore {
    type Core;

    /// Converts, reporting every problem into `cx` under `it`; `None` if any.
    fn convert(&self, cx: &mut Cx, it: &Item) -> Option<Self::Core>;

    /// Converts a lone item (a request body, a journal row): problem paths
    /// are relative to the item, and messages name it `label`.
    fn to_core(&self, label: &str) -> Result<Self::Core, Vec<Problem>> {
        let mut cx = Cx::default();
        let v = self.convert(&mut cx, &Item::root(label));
        cx.finish(v)
    }
}

impl ToCore for GpuDoc {
    type Core = GpuClass;
    fn convert(&self, cx: &mut Cx, it: &Item) -> Option<GpuClass> {
        let id = cx.class_id(it, "id", &self.id);
        let h100e = cx.positive(it, "h100e", self.h100e);
        let watts = cx.positive(it, "watts", self.watts);
        Some(GpuClass {
            id: id?,
            h100e: h100e?,
            watts: watts?,
        })
    }
}

impl ToCore for PartyDoc {
    type Core = Party;
    fn convert(&self, cx: &mut Cx, it: &Item) -> Option<Party> {
        Some(Party {
            id: cx.id(it, "id", &self.id)?,
            name: self.name.clone(),
        })
    }
}

impl ToCore for SiteDoc {
    type Core = Site;
    fn convert(&self, cx: &mut Cx, it: &Item) -> Option<Site> {
        let id = cx.id(it, "id", &self.id);
        let owner = cx.id(it, "owner", &self.owner);
        let power_mw = cx.opt(self.power_mw.as_ref(), |cx, x| {
            cx.positive(it, "power_mw", *x)
        });
        let gpus = cx.class_map(it, &self.gpus, |n| Gpus::new("gpus", n));
        Some(Site {
            id: id?,
            owner: owner?,
            region: self.region.clone(),
            power_mw: power_mw?,
            gpus: gpus?,
        })
    }
}

impl ToCore for ExpansionDoc {
    type Core = Expansion;
    fn convert(&self, cx: &mut Cx, it: &Item) -> Option<Expansion> {
        let id = cx.id(it, "id", &self.id);
        let site = cx.id(it, "site", &self.site);
        let effective = cx.time(it, "effective", &self.effective);
        let power_mw = cx.opt(self.power_mw.as_ref(), |cx, x| {
            cx.check(it, "power_mw", MwDelta::new("power_mw", *x))
        });
        let gpus = cx.class_map(it, &self.gpus, |n| GpuDelta::new("gpus", n));
        Some(Expansion {
            id: id?,
            site: site?,
            effective: effective?,
            gpus: gpus?,
            power_mw: power_mw?,
        })
    }
}

impl ToCore for ContractDoc {
    type Core = Contract;
    fn convert(&self, cx: &mut Cx, it: &Item) -> Option<Contract> {
        let id = cx.id(it, "id", &self.id);
        let seller = cx.id(it, "seller", &self.seller);
        let buyer = cx.id(it, "buyer", &self.buyer);
        let gpu = cx.class_id(it, "gpu", &self.gpu);
        let gpus = cx.gpus(it, "gpus", self.gpus);
        let window = cx.window(it, &self.start, &self.end);
        let price = cx.price(it, "price_per_gpu_hour", &self.price_per_gpu_hour);
        let source = cx.source(it, self.site.as_ref(), self.backed_by.as_ref());
        Some(Contract {
            id: id?,
            seller: seller?,
            buyer: buyer?,
            gpu: gpu?,
            gpus: gpus?,
            window: window?,
            price_per_gpu_hour: price?,
            source: source?,
            resale: self.resale,
        })
    }
}

impl ToCore for CommitmentDoc {
    type Core = Commitment;
    fn convert(&self, cx: &mut Cx, it: &Item) -> Option<Commitment> {
        let id = cx.id(it, "id", &self.id);
        let buyer = cx.id(it, "buyer", &self.buyer);
        let seller = cx.id(it, "seller", &self.seller);
        let window = cx.window(it, &self.start, &self.end);
        let usd = cx.usd(it, "usd", &self.usd);
        Some(Commitment {
            id: id?,
            buyer: buyer?,
            seller: seller?,
            window: window?,
            usd: usd?,
        })
    }
}

impl ToCore for AmendmentDoc {
    type Core = Amendment;
    fn convert(&self, cx: &mut Cx, it: &Item) -> Option<Amendment> {
        let effective = cx.time(it, "effective", &self.effective);
        let target = match (&self.contract, &self.commitment) {
            (Some(c), None) => {
                if self.usd.is_some() {
                    cx.at_field(
                        it,
                        "usd",
                        "belongs with commitment; a contract amendment adds gpus",
                    );
                }
                let id = cx.id(it, "contract", c);
                let gpus = match self.gpus {
                    Some(n) => cx.gpus(it, "gpus", n),
                    None => {
                        cx.at_item(it, "amends a contract but has no gpus");
                        None
                    }
                };
                self.usd
                    .is_none()
                    .then_some(())
                    .and(Some(AmendmentTarget::Contract {
                        id: id?,
                        gpus: gpus?,
                    }))
            }
            (None, Some(c)) => {
                if self.gpus.is_some() {
                    cx.at_field(
                        it,
                        "gpus",
                        "belongs with contract; a commitment amendment adds usd",
                    );
                }
                let id = cx.id(it, "commitment", c);
                let usd = match &self.usd {
                    Some(m) if m.0 <= Decimal::ZERO => {
                        cx.at_field(it, "usd", format!("must be positive, got {}", m.0));
                        None
                    }
                    Some(m) => cx.usd(it, "usd", m),
                    None => {
                        cx.at_item(it, "amends a commitment but has no usd");
                        None
                    }
                };
                self.gpus
                    .is_none()
                    .then_some(())
                    .and(Some(AmendmentTarget::Commitment { id: id?, usd: usd? }))
            }
            (Some(_), Some(_)) => {
                cx.at_item(it, "has both contract and commitment; give exactly one");
                None
            }
            (None, None) => {
                cx.at_item(it, "has neither contract nor commitment; give exactly one");
                None
            }
        };
        Some(Amendment {
            target: target?,
            effective: effective?,
        })
    }
}

/// Block size of an offer that does not say.
pub const DEFAULT_BLOCK_GPUS: i64 = 8;

impl ToCore for OfferDoc {
    type Core = Offer;
    fn convert(&self, cx: &mut Cx, it: &Item) -> Option<Offer> {
        let id = cx.id(it, "id", &self.id);
        let seller = cx.id(it, "seller", &self.seller);
        let gpu = cx.class_id(it, "gpu", &self.gpu);
        let max_gpus = cx.gpus(it, "max_gpus", self.max_gpus);
        let block_gpus = cx.gpus(
            it,
            "block_gpus",
            self.block_gpus.unwrap_or(DEFAULT_BLOCK_GPUS),
        );
        let window = cx.window(it, &self.start, &self.end);
        let price = cx.price(it, "price_per_gpu_hour", &self.price_per_gpu_hour);
        let source = cx.source(it, self.site.as_ref(), self.backed_by.as_ref());
        Some(Offer {
            id: id?,
            seller: seller?,
            gpu: gpu?,
            max_gpus: max_gpus?,
            block_gpus: block_gpus?,
            window: window?,
            price_per_gpu_hour: price?,
            source: source?,
        })
    }
}

impl ToCore for ClauseDoc {
    type Core = Clause;
    fn convert(&self, cx: &mut Cx, it: &Item) -> Option<Clause> {
        let Some(kind) = ClauseKind::parse(&self.kind) else {
            cx.at_field(
                it,
                "kind",
                format!(
                    "unknown clause kind {:?}; expected exclusive, rofr, no_resale_to or avoid_provider",
                    self.kind
                ),
            );
            return None;
        };
        let it = &Item {
            label: format!("{} ({})", it.label, kind.as_str()),
            path: it.path.clone(),
        };
        let ids = [
            ("buyer", self.buyer.as_ref()),
            ("seller", self.seller.as_ref()),
            ("holder", self.holder.as_ref()),
            ("party", self.party.as_ref()),
            ("provider", self.provider.as_ref()),
        ];
        let wanted = kind.fields();
        let mut ok = true;
        let present = ids
            .iter()
            .map(|(f, v)| (*f, v.is_some()))
            .chain([("until", self.until.is_some())]);
        for (f, present) in present {
            let want = wanted.contains(&f);
            if want && !present {
                cx.at_item(
                    it,
                    format!(
                        "missing field {f} (a {} clause needs {})",
                        kind.as_str(),
                        wanted.join(", ")
                    ),
                );
                ok = false;
            } else if !want && present {
                cx.at_field(
                    it,
                    f,
                    format!("does not apply to a {} clause", kind.as_str()),
                );
                ok = false;
            }
        }
        let [buyer, seller, holder, party, provider] =
            ids.map(|(f, v)| cx.opt(v, |cx, raw| cx.id(it, f, raw)));
        let until = cx.opt(self.until.as_ref(), |cx, t| cx.time(it, "until", t));
        ok.then_some(())?;
        let (buyer, seller, holder, party, provider, until) =
            (buyer?, seller?, holder?, party?, provider?, until?);
        Some(match kind {
            ClauseKind::Exclusive => Clause::Exclusive {
                buyer: buyer?,
                seller: seller?,
                until: until?,
            },
            ClauseKind::Rofr => Clause::Rofr {
                buyer: buyer?,
                holder: holder?,
                until: until?,
            },
            ClauseKind::NoResaleTo => Clause::NoResaleTo {
                seller: seller?,
                party: party?,
            },
            ClauseKind::AvoidProvider => Clause::AvoidProvider {
                buyer: buyer?,
                provider: provider?,
            },
        })
    }
}

impl ToCore for DemandDoc {
    type Core = Demand;
    fn convert(&self, cx: &mut Cx, it: &Item) -> Option<Demand> {
        let buyer = cx.id(it, "buyer", &self.buyer);
        let window = cx.window(it, &self.start, &self.end);
        let need = match (self.h100e, &self.gpu, self.gpus) {
            (Some(x), None, None) => {
                if self.per_site.is_some() {
                    cx.at_field(it, "per_site", "goes with gpu and gpus, not with h100e");
                    None
                } else {
                    cx.positive(it, "h100e", x).map(Need::H100e)
                }
            }
            (None, Some(gpu), Some(n)) => {
                let gpu = cx.class_id(it, "gpu", gpu);
                let gpus = cx.gpus(it, "gpus", n);
                Some(Need::Gpus {
                    gpu: gpu?,
                    gpus: gpus?,
                    per_site: self.per_site.unwrap_or(false),
                })
            }
            (None, Some(_), None) => {
                cx.at_item(it, "has gpu but no gpus; give the GPUs of that class");
                None
            }
            (None, None, Some(_)) => {
                cx.at_item(it, "has gpus but no gpu; name the GPU class");
                None
            }
            (None, None, None) => {
                cx.at_item(
                    it,
                    "has neither h100e nor gpu and gpus; give exactly one kind of demand",
                );
                None
            }
            (Some(_), _, _) => {
                cx.at_item(
                    it,
                    "has both h100e and gpu/gpus; give exactly one kind of demand",
                );
                None
            }
        };
        Some(Demand {
            buyer: buyer?,
            window: window?,
            need: need?,
        })
    }
}

impl ToCore for OutageDoc {
    type Core = Outage;
    fn convert(&self, cx: &mut Cx, it: &Item) -> Option<Outage> {
        let scope = cx
            .one_of(
                it,
                ("site", self.site.as_ref()),
                ("provider", self.provider.as_ref()),
            )
            .map(|(is_site, id)| {
                if is_site {
                    OutageScope::Site(id)
                } else {
                    OutageScope::Provider(id)
                }
            });
        let window = cx.window(it, &self.start, &self.end);
        let fraction = match &self.fraction {
            None => Some(OutageFraction::FULL),
            Some(m) => cx.check(it, "fraction", OutageFraction::new("fraction", m.0)),
        };
        Some(Outage {
            scope: scope?,
            window: window?,
            fraction: fraction?,
        })
    }
}

/// A policy and its buyer: the `buyer` field of a standalone policy.
impl ToCore for PolicyDoc {
    type Core = (Id, Policy);
    fn convert(&self, cx: &mut Cx, it: &Item) -> Option<(Id, Policy)> {
        let buyer = match &self.buyer {
            Some(b) => cx.id(it, "buyer", b),
            None => {
                cx.at_item(it, "missing field buyer");
                None
            }
        };
        let policy = self.policy(cx, it);
        Some((buyer?, policy?))
    }
}

impl PolicyDoc {
    /// The policy's values, without its buyer.
    fn policy(&self, cx: &mut Cx, it: &Item) -> Option<Policy> {
        let max_share = cx.opt(self.max_provider_share.as_ref(), |cx, x| {
            cx.share(it, "max_provider_share", *x)
        });
        let min_share = cx.opt(self.min_share_after_provider_loss.as_ref(), |cx, x| {
            cx.share(it, "min_share_after_provider_loss", *x)
        });
        let colocated = cx.opt(self.colocated_h100e.as_ref(), |cx, x| {
            cx.positive(it, "colocated_h100e", *x)
        });
        let budget = cx.opt(self.budget_usd.as_ref(), |cx, m| {
            cx.usd(it, "budget_usd", m)
        });
        Some(Policy {
            max_provider_share: max_share?,
            min_share_after_provider_loss: min_share?,
            colocated_h100e: colocated?,
            budget_usd: budget?,
        })
    }
}

fn each<D: ToCore>(
    cx: &mut Cx,
    kind: &str,
    docs: &[D],
    id: impl Fn(&D) -> Option<&str>,
    out: &mut Vec<D::Core>,
) {
    for (i, d) in docs.iter().enumerate() {
        if let Some(v) = d.convert(cx, &Item::new(kind, i, id(d))) {
            out.push(v);
        }
    }
}

impl ToCore for ScenarioDoc {
    type Core = Scenario;
    fn convert(&self, cx: &mut Cx, _: &Item) -> Option<Scenario> {
        let mut s = Scenario {
            name: self.name.clone(),
            ..Scenario::default()
        };
        each(cx, "gpu", &self.gpu, |d| Some(d.id.as_str()), &mut s.gpus);
        each(
            cx,
            "party",
            &self.party,
            |d| Some(d.id.as_str()),
            &mut s.parties,
        );
        each(
            cx,
            "site",
            &self.site,
            |d| Some(d.id.as_str()),
            &mut s.sites,
        );
        each(
            cx,
            "expansion",
            &self.expansion,
            |d| Some(d.id.as_str()),
            &mut s.expansions,
        );
        each(
            cx,
            "contract",
            &self.contract,
            |d| Some(d.id.as_str()),
            &mut s.contracts,
        );
        each(
            cx,
            "commitment",
            &self.commitment,
            |d| Some(d.id.as_str()),
            &mut s.commitments,
        );
        each(
            cx,
            "amendment",
            &self.amendment,
            |_| None,
            &mut s.amendments,
        );
        each(
            cx,
            "offer",
            &self.offer,
            |d| Some(d.id.as_str()),
            &mut s.offers,
        );
        each(cx, "clause", &self.clause, |_| None, &mut s.clauses);
        each(cx, "demand", &self.demand, |_| None, &mut s.demands);
        each(cx, "outage", &self.outage, |_| None, &mut s.outages);
        for (buyer, p) in &self.policy.0 {
            let it = Item {
                label: format!("policy {buyer:?}"),
                path: vec![Seg::key("policy"), Seg::key(buyer)],
            };
            let id = cx.check(&it, "buyer", Id::new(buyer));
            if let Some(b) = &p.buyer
                && b.as_str() != buyer
            {
                cx.at_field(
                    &it,
                    "buyer",
                    format!("{:?} differs from the table's key {buyer:?}", b.as_str()),
                );
            }
            let policy = p.policy(cx, &it);
            if s.policies.iter().any(|(b, _)| b.as_str() == buyer.as_str()) {
                cx.at_item(&it, "buyer has two policies");
                continue;
            }
            if let (Some(id), Some(policy)) = (id, policy) {
                s.policies.push((id, policy));
            }
        }
        Some(s)
    }
}

// ---- journal rows and single items ------------------------------------------------

/// One stored item: a ledger event, or one of the scenario items the ledger
/// does not hold but planning needs (demands, outages, policies).
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Event(Event),
    Demand(Demand),
    Outage(Outage),
    Policy(Id, Policy),
}

/// Any one item as a document, tagged with its kind (a journal row's body).
#[derive(Clone, Debug, PartialEq)]
pub enum ItemDoc {
    Gpu(GpuDoc),
    Party(PartyDoc),
    Site(SiteDoc),
    Expansion(ExpansionDoc),
    Clause(ClauseDoc),
    Contract(ContractDoc),
    Amendment(AmendmentDoc),
    Commitment(CommitmentDoc),
    Offer(OfferDoc),
    Demand(DemandDoc),
    Outage(OutageDoc),
    Policy(PolicyDoc),
}

/// Why a single item could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} item: {message}")]
pub struct ItemError {
    pub kind: String,
    pub message: String,
}

macro_rules! item_kinds {
    ($($variant:ident => $kind:literal, $field:ident, $core:pat => $doc:expr, $wrap:expr;)*) => {
        /// The item kinds, as the format names its tables and the journal
        /// its rows.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ItemKind {
            $($variant,)*
        }

        impl ItemKind {
            /// Every kind; `kind as usize` is its index here.
            pub const ALL: &'static [ItemKind] = &[$(ItemKind::$variant,)*];

            /// The table's name in a scenario file, and a journal row's kind.
            pub fn name(self) -> &'static str {
                match self {
                    $(ItemKind::$variant => $kind,)*
                }
            }

            pub fn from_name(name: &str) -> Option<ItemKind> {
                match name {
                    $($kind => Some(ItemKind::$variant),)*
                    _ => None,
                }
            }

            /// How many items of this kind `s` has.
            pub fn count(self, s: &Scenario) -> usize {
                match self {
                    $(ItemKind::$variant => s.$field.len(),)*
                }
            }

            /// The `index`-th item of this kind in `s` as a record (a
            /// policy: the `index`-th of `s.policies`). `None` past the end.
            pub fn record(self, s: &Scenario, index: usize) -> Option<Record> {
                match self {
                    $(ItemKind::$variant => s.$field.get(index).cloned().map($wrap),)*
                }
            }
        }

        impl ItemDoc {
            /// The kind of this item.
            pub fn item_kind(&self) -> ItemKind {
                match self {
                    $(ItemDoc::$variant(_) => ItemKind::$variant,)*
                }
            }

            /// Reads an item of `kind` from its JSON text.
            pub fn from_json(kind: &str, body: &str) -> Result<ItemDoc, ItemError> {
                let err = |message: String| ItemError { kind: kind.to_string(), message };
                match kind {
                    $($kind => serde_json::from_str(body).map(ItemDoc::$variant),)*
                    other => return Err(err(format!("unknown kind {other:?}"))),
                }
                .map_err(|e| err(e.to_string()))
            }

            /// The item's JSON text.
            pub fn to_json(&self) -> String {
                match self {
                    $(ItemDoc::$variant(d) => serde_json::to_string(d),)*
                }
                .expect("documents always serialize")
            }

            /// The item as a TOML value (a policy with its `buyer` key).
            pub(crate) fn to_toml_value(&self) -> Result<toml::Value, toml::ser::Error> {
                match self {
                    $(ItemDoc::$variant(d) => toml::Value::try_from(d),)*
                }
            }

            /// The one conversion into core, problems named by the kind.
            pub fn to_core(&self) -> Result<Record, Vec<Problem>> {
                match self {
                    $(ItemDoc::$variant(d) => d.to_core($kind).map($wrap),)*
                }
            }
        }

        impl From<&Record> for ItemDoc {
            fn from(r: &Record) -> ItemDoc {
                match r {
                    $($core => ItemDoc::$variant($doc),)*
                }
            }
        }

        impl Record {
            /// The kind of this record.
            #[allow(unused_variables)]
            pub fn item_kind(&self) -> ItemKind {
                match self {
                    $($core => ItemKind::$variant,)*
                }
            }
        }
    };
}

item_kinds! {
    Gpu => "gpu", gpus, Record::Event(Event::Gpu(x)) => x.into(), |x| Record::Event(Event::Gpu(x));
    Party => "party", parties, Record::Event(Event::Party(x)) => x.into(), |x| Record::Event(Event::Party(x));
    Site => "site", sites, Record::Event(Event::Site(x)) => x.into(), |x| Record::Event(Event::Site(x));
    Expansion => "expansion", expansions, Record::Event(Event::Expansion(x)) => x.into(), |x| Record::Event(Event::Expansion(x));
    Clause => "clause", clauses, Record::Event(Event::Clause(x)) => x.into(), |x| Record::Event(Event::Clause(x));
    Contract => "contract", contracts, Record::Event(Event::Contract(x)) => x.into(), |x| Record::Event(Event::Contract(x));
    Amendment => "amendment", amendments, Record::Event(Event::Amendment(x)) => x.into(), |x| Record::Event(Event::Amendment(x));
    Commitment => "commitment", commitments, Record::Event(Event::Commitment(x)) => x.into(), |x| Record::Event(Event::Commitment(x));
    Offer => "offer", offers, Record::Event(Event::Offer(x)) => x.into(), |x| Record::Event(Event::Offer(x));
    Demand => "demand", demands, Record::Demand(x) => x.into(), Record::Demand;
    Outage => "outage", outages, Record::Outage(x) => x.into(), Record::Outage;
    Policy => "policy", policies, Record::Policy(b, p) => PolicyDoc { buyer: Some(b.into()), ..p.into() }, |(b, p)| Record::Policy(b, p);
}

impl ItemDoc {
    /// The kind, as the scenario format names its tables.
    pub fn kind(&self) -> &'static str {
        self.item_kind().name()
    }
}

impl Record {
    /// The kind, as the scenario format names its tables.
    pub fn kind(&self) -> &'static str {
        self.item_kind().name()
    }
}
