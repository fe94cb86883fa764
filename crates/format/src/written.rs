//! The order in which a scenario's items were written.
//!
//! A [`Scenario`] holds its items by kind, which is all that validity needs
//! (the spec's invariants do not depend on order). A journal is a sequence,
//! though, and a scenario file may interleave kinds (`[[party]]` after
//! `[[contract]]` is valid TOML). So that a journal exported as a scenario
//! file loads back row for row, the file is written in journal order and
//! read back with each item's position; the store loads a scenario in this
//! order when the ledger accepts it that way, and in core's load order
//! otherwise.

use cascade_core::Scenario;

use crate::doc::ScenarioDoc;
use crate::tree::{self, Node, NodeKind};

/// One item of a scenario: its kind and its index among the scenario's
/// items of that kind (policies: among the policies sorted by buyer, as
/// loading leaves them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Slot {
    pub kind: ItemKind,
    pub index: usize,
}

/// The item kinds, as the format names its tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ItemKind {
    Gpu,
    Party,
    Site,
    Expansion,
    Contract,
    Commitment,
    Amendment,
    Offer,
    Clause,
    Demand,
    Outage,
    Policy,
}

impl ItemKind {
    pub const ALL: [ItemKind; 12] = [
        ItemKind::Gpu,
        ItemKind::Party,
        ItemKind::Site,
        ItemKind::Expansion,
        ItemKind::Contract,
        ItemKind::Commitment,
        ItemKind::Amendment,
        ItemKind::Offer,
        ItemKind::Clause,
        ItemKind::Demand,
        ItemKind::Outage,
        ItemKind::Policy,
    ];

    /// The table's name in a scenario file, and a journal row's kind.
    pub fn name(self) -> &'static str {
        match self {
            ItemKind::Gpu => "gpu",
            ItemKind::Party => "party",
            ItemKind::Site => "site",
            ItemKind::Expansion => "expansion",
            ItemKind::Contract => "contract",
            ItemKind::Commitment => "commitment",
            ItemKind::Amendment => "amendment",
            ItemKind::Offer => "offer",
            ItemKind::Clause => "clause",
            ItemKind::Demand => "demand",
            ItemKind::Outage => "outage",
            ItemKind::Policy => "policy",
        }
    }

    pub fn from_name(name: &str) -> Option<ItemKind> {
        ItemKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// How many items of this kind `s` has.
    pub fn count(self, s: &Scenario) -> usize {
        match self {
            ItemKind::Gpu => s.gpus.len(),
            ItemKind::Party => s.parties.len(),
            ItemKind::Site => s.sites.len(),
            ItemKind::Expansion => s.expansions.len(),
            ItemKind::Contract => s.contracts.len(),
            ItemKind::Commitment => s.commitments.len(),
            ItemKind::Amendment => s.amendments.len(),
            ItemKind::Offer => s.offers.len(),
            ItemKind::Clause => s.clauses.len(),
            ItemKind::Demand => s.demands.len(),
            ItemKind::Outage => s.outages.len(),
            ItemKind::Policy => s.policies.len(),
        }
    }
}

/// Whether `order` names every item of `s` exactly once.
pub fn covers(s: &Scenario, order: &[Slot]) -> bool {
    let mut seen: Vec<Vec<bool>> = ItemKind::ALL
        .iter()
        .map(|k| vec![false; k.count(s)])
        .collect();
    if order.len() != seen.iter().map(Vec::len).sum::<usize>() {
        return false;
    }
    for slot in order {
        let kind = ItemKind::ALL
            .iter()
            .position(|k| *k == slot.kind)
            .expect("ALL lists every kind");
        match seen[kind].get_mut(slot.index) {
            Some(b) if !*b => *b = true,
            _ => return false,
        }
    }
    true
}

/// The items of the scenario document `src` (TOML or JSON) in the order
/// they are written, by where each starts. `None` when the document does
/// not parse. Meant for a document that [`crate::parse_toml`] or
/// [`crate::parse_json`] accepted, whose scenario the slots index.
pub fn written_order(src: &str) -> Option<Vec<Slot>> {
    let root = if tree::looks_like_json(src) {
        tree::from_json(src)?
    } else {
        tree::from_toml(src)?
    };
    let NodeKind::Table(entries) = &root.kind else {
        return None;
    };
    let mut placed: Vec<(usize, Slot)> = Vec::new();
    for (key, node) in entries {
        let Some(kind) = ItemKind::from_name(key) else {
            continue;
        };
        match (&node.kind, kind) {
            (NodeKind::Table(buyers), ItemKind::Policy) => {
                // Loading sorts policies by buyer; the slot indexes that order.
                let mut sorted: Vec<&str> = buyers.iter().map(|(b, _)| b.as_str()).collect();
                sorted.sort_unstable();
                for (buyer, n) in buyers {
                    let index = sorted.binary_search(&buyer.as_str()).ok()?;
                    placed.push((n.start, Slot { kind, index }));
                }
            }
            (NodeKind::Array(items), _) => {
                placed.extend(
                    items
                        .iter()
                        .enumerate()
                        .map(|(index, n): (usize, &Node)| (n.start, Slot { kind, index })),
                );
            }
            _ => {}
        }
    }
    // Stable: items that start at one offset (never, in a real document)
    // keep their kind's order.
    placed.sort_by_key(|(start, _)| *start);
    Some(placed.into_iter().map(|(_, s)| s).collect())
}

/// [`crate::to_toml`] with the items in `order`, each under its own
/// `[[kind]]` header (`[policy.<buyer>]` for a policy), so that
/// [`written_order`] reads the same order back. When `order` does not name
/// every item exactly once, the items are written by kind, as `to_toml`
/// does.
pub fn to_toml_in_order(s: &Scenario, order: &[Slot]) -> String {
    if !covers(s, order) {
        return crate::to_toml(s);
    }
    let doc = ScenarioDoc::from(s);
    crate::value::with_native_toml_times(|| {
        let mut out = toml::to_string(&ScenarioDoc {
            name: doc.name.clone(),
            ..ScenarioDoc::default()
        })
        .expect("a name serializes");
        for slot in order {
            let item = match slot.kind {
                ItemKind::Gpu => toml::Value::try_from(&doc.gpu[slot.index]),
                ItemKind::Party => toml::Value::try_from(&doc.party[slot.index]),
                ItemKind::Site => toml::Value::try_from(&doc.site[slot.index]),
                ItemKind::Expansion => toml::Value::try_from(&doc.expansion[slot.index]),
                ItemKind::Contract => toml::Value::try_from(&doc.contract[slot.index]),
                ItemKind::Commitment => toml::Value::try_from(&doc.commitment[slot.index]),
                ItemKind::Amendment => toml::Value::try_from(&doc.amendment[slot.index]),
                ItemKind::Offer => toml::Value::try_from(&doc.offer[slot.index]),
                ItemKind::Clause => toml::Value::try_from(&doc.clause[slot.index]),
                ItemKind::Demand => toml::Value::try_from(&doc.demand[slot.index]),
                ItemKind::Outage => toml::Value::try_from(&doc.outage[slot.index]),
                ItemKind::Policy => toml::Value::try_from(&doc.policy.0[slot.index].1),
            }
            .expect("a scenario item serializes as TOML");
            let mut table = toml::Table::new();
            let value = match slot.kind {
                ItemKind::Policy => {
                    let mut by_buyer = toml::Table::new();
                    by_buyer.insert(doc.policy.0[slot.index].0.clone(), item);
                    toml::Value::Table(by_buyer)
                }
                _ => toml::Value::Array(vec![item]),
            };
            table.insert(slot.kind.name().to_string(), value);
            out.push('\n');
            out.push_str(&toml::to_string(&table).expect("a scenario item serializes as TOML"));
        }
        out
    })
}
