//! Rules about a whole scenario that every reader must apply the same way:
//! the order in which its items enter the ledger, and the instants at which
//! capacity can change. The ledger (`Ledger::from_scenario`), the store's
//! scenario load and the planner's segments all come from here, so that a
//! scenario means one thing wherever it is read.

use std::collections::HashSet;

use crate::ledger::{Event, FxMap};
use crate::model::{AmendmentTarget, Scenario, Source};
use crate::types::{Id, Instant};
use crate::violation::{ItemRef, Violation};

/// A scenario's ledger events in the one order the ledger accepts them, and
/// what was refused before any event could be applied.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadOrder {
    /// GPU classes, parties, sites, expansions (by date), clauses; contracts with every backer
    /// before its resales, each contract followed by its own amendments;
    /// commitments; the other amendments (of commitments, or of contracts
    /// that are not in the scenario); offers.
    pub events: Vec<Event>,
    /// Refused on the scenario's shape alone: duplicate ids, `backed_by`
    /// cycles, and contracts backed (at any depth) by a contract in a cycle.
    pub refused: Vec<Violation>,
}

impl Scenario {
    /// Expansions by effective date, so that each one's check sees exactly
    /// the installed GPUs and power of its own date whatever the file order
    /// (a retirement written before the phase it retires still fits). On one
    /// date, power is added before GPUs that draw it, and GPUs are added
    /// before any are retired; then by id.
    fn expansions_in_order(&self) -> Vec<&crate::model::Expansion> {
        let rank = |x: &crate::model::Expansion| {
            if x.power_mw.is_some_and(|p| p.get() > 0.0) {
                0
            } else if x.gpus.iter().any(|(_, d)| d.get() > 0) {
                1
            } else {
                2
            }
        };
        let mut xs: Vec<_> = self.expansions.iter().collect();
        xs.sort_by(|a, b| (a.effective, rank(a), &a.id).cmp(&(b.effective, rank(b), &b.id)));
        xs
    }

    /// The load order (see [`LoadOrder`]).
    ///
    /// A scenario that uses an id twice for one kind is refused whole: every
    /// copy after the first is reported and no event is returned. Keeping one
    /// copy would be a guess (the two readers of this order used to guess
    /// differently), and every check after it (resales carved from it, its
    /// amendments) would be checked against the guess.
    pub fn load_order(&self) -> LoadOrder {
        let mut refused = self.duplicate_ids();
        if !refused.is_empty() {
            return LoadOrder {
                events: Vec::new(),
                refused,
            };
        }
        let mut events = Vec::with_capacity(
            self.gpus.len()
                + self.parties.len()
                + self.sites.len()
                + self.expansions.len()
                + self.clauses.len()
                + self.contracts.len()
                + self.amendments.len()
                + self.commitments.len()
                + self.offers.len(),
        );
        events.extend(self.gpus.iter().cloned().map(Event::Gpu));
        events.extend(self.parties.iter().cloned().map(Event::Party));
        events.extend(self.sites.iter().cloned().map(Event::Site));
        events.extend(
            self.expansions_in_order()
                .into_iter()
                .cloned()
                .map(Event::Expansion),
        );
        events.extend(self.clauses.iter().cloned().map(Event::Clause));

        let index: FxMap<&Id, usize> = self
            .contracts
            .iter()
            .enumerate()
            .map(|(i, c)| (&c.id, i))
            .collect();
        let mut amends_of: FxMap<&Id, Vec<usize>> = FxMap::default();
        let mut other_amends = Vec::new();
        for (i, a) in self.amendments.iter().enumerate() {
            match &a.target {
                AmendmentTarget::Contract { id, .. } if index.contains_key(id) => {
                    amends_of.entry(id).or_default().push(i)
                }
                _ => other_amends.push(i),
            }
        }

        #[derive(Clone, Copy, PartialEq)]
        enum St {
            New,
            OnPath,
            Done,
            /// In a cycle, or backed by a refused contract.
            Refused,
        }
        let mut state = vec![St::New; self.contracts.len()];
        for start in 0..self.contracts.len() {
            if state[start] != St::New {
                continue;
            }
            // Up the backing chain until a contract already placed, one
            // outside the scenario, a site, or one on the path (a cycle).
            let mut path = vec![start];
            state[start] = St::OnPath;
            loop {
                let cur = *path.last().expect("the path starts non-empty");
                let Source::BackedBy(b) = &self.contracts[cur].source else {
                    break;
                };
                let Some(&bi) = index.get(b) else { break };
                match state[bi] {
                    St::Done | St::Refused => break,
                    St::New => {
                        state[bi] = St::OnPath;
                        path.push(bi);
                    }
                    St::OnPath => {
                        let pos = path.iter().position(|&p| p == bi).expect("on the path");
                        // In path order each member is backed by the next.
                        let members = path.split_off(pos);
                        let mut ids: Vec<Id> = members
                            .iter()
                            .map(|&i| self.contracts[i].id.clone())
                            .collect();
                        ids.push(ids[0].clone());
                        refused.push(Violation::Cycle {
                            item: ItemRef::Contract(self.contracts[members[0]].id.clone()),
                            cycle: ids,
                        });
                        for m in members {
                            state[m] = St::Refused;
                        }
                        break;
                    }
                }
            }
            // Backers first: the path runs from resale to backer.
            for &ci in path.iter().rev() {
                let c = &self.contracts[ci];
                if let Source::BackedBy(b) = &c.source
                    && let Some(&bi) = index.get(b)
                    && state[bi] == St::Refused
                {
                    refused.push(Violation::BackingRejected {
                        item: ItemRef::Contract(c.id.clone()),
                        backing: b.clone(),
                    });
                    state[ci] = St::Refused;
                    continue;
                }
                state[ci] = St::Done;
                events.push(Event::Contract(c.clone()));
                for &a in amends_of.get(&c.id).map(Vec::as_slice).unwrap_or(&[]) {
                    events.push(Event::Amendment(self.amendments[a].clone()));
                }
            }
        }
        events.extend(self.commitments.iter().cloned().map(Event::Commitment));
        events.extend(
            other_amends
                .into_iter()
                .map(|i| Event::Amendment(self.amendments[i].clone())),
        );
        events.extend(self.offers.iter().cloned().map(Event::Offer));
        LoadOrder { events, refused }
    }

    /// Every copy after the first of an id used twice within one kind, in
    /// kind order (GPU classes, parties, sites, contracts, commitments,
    /// offers), then file order.
    fn duplicate_ids(&self) -> Vec<Violation> {
        fn scan<'a, T: 'a>(
            items: &'a [T],
            id: impl Fn(&'a T) -> &'a Id,
            item: impl Fn(&Id) -> ItemRef,
            out: &mut Vec<Violation>,
        ) {
            let mut seen: HashSet<&Id> = HashSet::with_capacity(items.len());
            for x in items {
                if !seen.insert(id(x)) {
                    out.push(Violation::DuplicateId { item: item(id(x)) });
                }
            }
        }
        let mut v = Vec::new();
        scan(&self.gpus, |g| &g.id, |i| ItemRef::Gpu(i.clone()), &mut v);
        scan(
            &self.parties,
            |p| &p.id,
            |i| ItemRef::Party(i.clone()),
            &mut v,
        );
        scan(&self.sites, |s| &s.id, |i| ItemRef::Site(i.clone()), &mut v);
        scan(
            &self.expansions,
            |x| &x.id,
            |i| ItemRef::Expansion(i.clone()),
            &mut v,
        );
        scan(
            &self.contracts,
            |c| &c.id,
            |i| ItemRef::Contract(i.clone()),
            &mut v,
        );
        scan(
            &self.commitments,
            |c| &c.id,
            |i| ItemRef::Commitment(i.clone()),
            &mut v,
        );
        scan(
            &self.offers,
            |o| &o.id,
            |i| ItemRef::Offer(i.clone()),
            &mut v,
        );
        v
    }

    /// Every instant at which some capacity can change, sorted, once each:
    /// each contract's start and end, the effective date of each contract
    /// amendment and of each site expansion. (Offers and demands are not capacity; the planner
    /// adds the ones it uses.) A new dated kind adds its dates here.
    pub fn capacity_breakpoints(&self) -> Vec<Instant> {
        let mut t: Vec<Instant> =
            Vec::with_capacity(2 * self.contracts.len() + self.amendments.len());
        for c in &self.contracts {
            t.push(c.window.start());
            t.push(c.window.end());
        }
        for a in &self.amendments {
            if let AmendmentTarget::Contract { .. } = a.target {
                t.push(a.effective);
            }
        }
        // Installed capacity changes at every expansion (second-wave spec:
        // plan segments are also cut at every `effective`).
        t.extend(self.expansions.iter().map(|x| x.effective));
        t.sort_unstable();
        t.dedup();
        t
    }
}
