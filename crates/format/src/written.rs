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

use crate::ItemKind;
use crate::convert::{ItemDoc, Record};
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
        match seen[slot.kind as usize].get_mut(slot.index) {
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
    crate::value::with_native_toml_times(|| {
        let mut out = toml::to_string(&ScenarioDoc {
            name: s.name.clone(),
            ..ScenarioDoc::default()
        })
        .expect("a name serializes");
        for slot in order {
            let record = slot
                .kind
                .record(s, slot.index)
                .expect("covers checked the index");
            let item = |doc: ItemDoc| {
                doc.to_toml_value()
                    .expect("a scenario item serializes as TOML")
            };
            let value = match &record {
                // A policy is a table under its buyer's key, without `buyer`.
                Record::Policy(buyer, p) => {
                    let mut by_buyer = toml::Table::new();
                    by_buyer.insert(buyer.as_str().to_string(), item(ItemDoc::Policy(p.into())));
                    toml::Value::Table(by_buyer)
                }
                r => toml::Value::Array(vec![item(ItemDoc::from(r))]),
            };
            let mut table = toml::Table::new();
            table.insert(slot.kind.name().to_string(), value);
            out.push('\n');
            out.push_str(&toml::to_string(&table).expect("a scenario item serializes as TOML"));
        }
        out
    })
}
