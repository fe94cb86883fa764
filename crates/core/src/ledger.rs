//! The capacity ledger: an append-only journal of events that never sells a
//! GPU-hour twice, at any tier.
//!
//! Every event is checked against the invariants before anything changes;
//! a refused event returns every violation it found and leaves the ledger as
//! it was. Capacity checks use per-source step functions (see `stepfn`), so
//! a reseller with many resales is checked in O(log n), not by a scan.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rust_decimal::Decimal;

use crate::model::{
    Amendment, AmendmentTarget, Clause, Commitment, Contract, Expansion, GpuClass, Offer,
    OutageScope, Party, Scenario, Site, Source,
};
use crate::stepfn::{Forest, Tree};
use crate::types::{Id, Instant, Usd, Window};
use crate::violation::{ItemRef, Rejection, Violation};

/// FxHash: ids are short trusted strings and the ledger hashes on every
/// event, so SipHash's DoS resistance buys nothing here.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Little-endian words, the last one zero-padded.
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.add(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let w = rest
                .iter()
                .rev()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            self.add(w);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        // The multiply in `add` leaves the low bits, which hashbrown uses to
        // pick a bucket, depending on the low input bytes only (the same `c`
        // of `c1`, `c2`, ...): finish with a full avalanche (splitmix64).
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl FxHasher {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

fn fx_hash(id: &Id) -> u64 {
    let mut h = FxHasher::default();
    std::hash::Hash::hash(id, &mut h);
    // Unit tests keep 4 bits so that the collision path runs all the time.
    if cfg!(test) {
        h.finish() & 0xF
    } else {
        h.finish()
    }
}

/// Contract id → index: an open-addressing table (linear probing) whose
/// slots hold the id itself when it is short (at most `INLINE` bytes, as
/// generated ids are), so a lookup reads one slot and compares there: one
/// cache miss, where a map of hashes read the map's control bytes, its
/// bucket, the contract and the id's heap string (four). A longer id keeps
/// its first bytes in the slot and is compared in full against the
/// contract it points to. The table never exposes its order.
#[derive(Clone, Debug, Default)]
struct ContractIndex {
    /// Empty, or a power of two long, at most half full.
    slots: Vec<Slot>,
    len: usize,
}

/// Id bytes kept in a slot.
const INLINE: usize = 23;

#[derive(Clone, Copy, Debug)]
struct Slot {
    /// The id's length (0: empty slot; ids are never empty), then its first
    /// `INLINE` bytes, zero-padded.
    key: [u8; INLINE + 1],
    /// The id's hash (its low 32 bits): where the slot's probe starts.
    hash: u32,
    ix: u32,
}

impl Slot {
    const EMPTY: Slot = Slot {
        key: [0; INLINE + 1],
        hash: 0,
        ix: 0,
    };

    fn key_of(id: &str) -> [u8; INLINE + 1] {
        let b = id.as_bytes();
        let mut key = [0u8; INLINE + 1];
        // Ids have at most 64 bytes: their length fits in a byte.
        key[0] = b.len() as u8;
        let n = b.len().min(INLINE);
        key[1..=n].copy_from_slice(&b[..n]);
        key
    }
}

impl ContractIndex {
    fn reserve(&mut self, n: usize) {
        let want = (self.len + n).saturating_mul(2).next_power_of_two();
        if want > self.slots.len() {
            self.rehash(want);
        }
    }

    fn rehash(&mut self, size: usize) {
        let old = std::mem::replace(&mut self.slots, vec![Slot::EMPTY; size]);
        let mask = size - 1;
        for s in old.into_iter().filter(|s| s.key[0] != 0) {
            let mut pos = s.hash as usize & mask;
            while self.slots[pos].key[0] != 0 {
                pos = (pos + 1) & mask;
            }
            self.slots[pos] = s;
        }
    }

    fn get(&self, id: &Id, contracts: &[ContractState]) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let (hash, key) = (fx_hash(id) as u32, Slot::key_of(id.as_str()));
        let mask = self.slots.len() - 1;
        let mut pos = hash as usize & mask;
        loop {
            let s = &self.slots[pos];
            if s.key[0] == 0 {
                return None;
            }
            if s.hash == hash
                && s.key == key
                && (id.as_str().len() <= INLINE || &contracts[s.ix as usize].c.id == id)
            {
                return Some(s.ix);
            }
            pos = (pos + 1) & mask;
        }
    }

    /// Adds an id that is not in the index.
    fn insert(&mut self, id: &Id, ix: u32) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.rehash((self.slots.len() * 2).max(16));
        }
        let hash = fx_hash(id) as u32;
        let mask = self.slots.len() - 1;
        let mut pos = hash as usize & mask;
        while self.slots[pos].key[0] != 0 {
            pos = (pos + 1) & mask;
        }
        self.slots[pos] = Slot {
            key: Slot::key_of(id.as_str()),
            hash,
            ix,
        };
        self.len += 1;
    }
}

/// One change to the ledger.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Gpu(GpuClass),
    Party(Party),
    Site(Site),
    Expansion(Expansion),
    Clause(Clause),
    Contract(Contract),
    Amendment(Amendment),
    Commitment(Commitment),
    Offer(Offer),
}

#[derive(Clone, Copy, Debug)]
enum Entry {
    Gpu(u32),
    Party(u32),
    Site(u32),
    Expansion(u32),
    Clause(u32),
    Contract(u32),
    Amendment(u32),
    Commitment(u32),
    Offer(u32),
}

/// One GPU class at a site: installed and free GPUs as step functions of
/// time (installed(t) = the site's own + expansions effective at or before t;
/// free(t) = installed(t) − Σ amount of contracts sold from it).
#[derive(Clone, Debug)]
pub(crate) struct SiteClass {
    pub gpu: u32,
    pub installed: Tree,
    pub free: Tree,
}

#[derive(Clone, Debug)]
pub(crate) struct SiteState {
    pub site: Site,
    pub owner: u32,
    /// Classes in the site's order, then classes its expansions brought.
    pub classes: Vec<SiteClass>,
    /// Its accepted expansions, by index, in the order accepted.
    pub expansions: Vec<u32>,
    /// The site's own power in W, if it sets power_mw.
    pub power_w: Option<Decimal>,
    /// (effective, W added) of its expansions with power_mw, by effective.
    pub power_changes: Vec<(i64, Decimal)>,
}

impl SiteState {
    pub fn class(&self, gpu: u32) -> Option<&SiteClass> {
        self.classes.iter().find(|k| k.gpu == gpu)
    }

    /// First instant with a known power limit: always, if the site sets
    /// power_mw; else from its first expansion that sets power_mw; else never.
    pub fn power_from(&self) -> Option<i64> {
        if self.power_w.is_some() {
            Some(i64::MIN)
        } else {
            self.power_changes.first().map(|c| c.0)
        }
    }

    /// Power in W at `t`, if a limit is known at `t`.
    pub fn power_w_at(&self, t: i64) -> Option<Decimal> {
        if self.power_from()? > t {
            return None;
        }
        let added = self
            .power_changes
            .iter()
            .take_while(|c| c.0 <= t)
            .fold(Decimal::ZERO, |a, c| a + c.1);
        Some(self.power_w.unwrap_or(Decimal::ZERO) + added)
    }
}

/// A float figure of the model (MW, W per GPU) as an exact decimal, so
/// sums of power do not depend on the order they are added in.
///
/// Why the power sums here use plain `+` and `*`, which would panic on
/// overflow, and neither saturate nor check: every figure is bounded where
/// it is read ([`crate::Positive::MAX`] = 1e9 for MW and W per GPU,
/// [`crate::MwDelta::MAX_ABS`] = 1e6 MW per expansion, u32::MAX GPUs per
/// item). Even 1e8 items (more than memory holds) of the largest GPUs and
/// power sum to about 4e26 W, a hundred times below Decimal's 7.9e28, so an
/// overflow here would be a bug in those bounds, not bad input.
pub(crate) fn dec(x: f64) -> Decimal {
    // |x| <= 1e9 always converts; what fails is a figure finer than
    // Decimal's smallest step (1e-28), which is 0 W to any site.
    Decimal::try_from(x).unwrap_or(Decimal::ZERO)
}

/// Power in W of a figure in MW.
pub(crate) fn mw_to_w(mw: f64) -> Decimal {
    dec(mw) * Decimal::from(1_000_000)
}

/// Watts drawn by `n` GPUs of `watts` each (bounded: see [`dec`]).
pub(crate) fn draw_w(n: i64, watts: Decimal) -> Decimal {
    Decimal::from(n) * watts
}

/// A decimal as violations print it (no trailing zeros).
fn w_text(d: Decimal) -> String {
    d.normalize().to_string()
}

/// The last second an expansion can take effect: [effective, ∞) must be
/// non-empty in the step functions.
const LAST_EFFECTIVE: i64 = i64::MAX - 1;

/// What the checks of a resale or top-up read of the contract it draws
/// from, together: three adjacent cache lines (its unsold function's
/// pieces are in place while they are few), so that a random contract among
/// a million costs one round trip to memory, not a chain of them. The rest
/// of the contract ([`ContractState`]) is read by queries, top-ups and
/// refusals.
#[derive(Clone, Debug)]
#[repr(align(64))]
struct ContractHot {
    /// The window, as unix seconds.
    start: i64,
    end: i64,
    /// The contract's GPUs (before top-ups).
    gpus: i64,
    /// amount − resold over time; only resellable contracts have one.
    unsold: Option<Tree>,
    seller: u32,
    buyer: u32,
    gpu: u32,
    root_site: u32,
    /// The contract it is carved from, or `NONE` (sold from its site).
    backer: u32,
    /// Its latest resale, or `NONE`; the earlier ones are linked through
    /// [`ContractState::prev_resale`] (no vector per contract to grow).
    last_resale: u32,
    /// Its latest top-up in [`Ledger::top_ups`], or `NONE`.
    last_top_up: u32,
}

/// No contract (contract indexes are below `u32::MAX`).
const NONE: u32 = u32::MAX;

const _: () = assert!(std::mem::size_of::<ContractHot>() == 192);

impl ContractHot {
    fn backer(&self) -> Option<u32> {
        (self.backer != NONE).then_some(self.backer)
    }

    fn contains(&self, t: Instant) -> bool {
        self.start <= t.unix_seconds() && t.unix_seconds() < self.end
    }
}

/// The rest of a contract: the contract as written, its top-ups and resales.
#[derive(Clone, Debug)]
struct ContractState {
    c: Contract,
    /// The resale of the same backer accepted just before this one, or `NONE`.
    prev_resale: u32,
    /// Σ GPUs × seconds over the contract and its top-ups; value = this ×
    /// price / 3600, divided only when asked (a Decimal division per event
    /// would cost more than the capacity check).
    gpu_seconds: i128,
}

/// A contract's accepted top-up: from `effective` (clamped to the
/// contract's start) on, `gpus` more. A contract's top-ups are linked
/// latest first, so a top-up allocates nothing.
#[derive(Clone, Copy, Debug)]
struct TopUp {
    effective: Instant,
    gpus: i64,
    /// The contract's top-up before this one, or `NONE`.
    prev: u32,
}

impl ContractState {
    /// Full value: GPU-hours (with top-ups) × price, exact. Never more than
    /// [`Usd::MAX`]: a contract or top-up that would pass it is refused.
    fn value_usd(&self) -> Decimal {
        value_usd(self.gpu_seconds, self.c.price_per_gpu_hour.get())
            .expect("contract values are checked against Usd::MAX when added")
    }
}

/// GPU-seconds × price per GPU-hour in USD, exact; `None` past Decimal's range.
fn value_usd(gpu_seconds: i128, price: Decimal) -> Option<Decimal> {
    Decimal::try_from_i128_with_scale(gpu_seconds, 0)
        .ok()?
        .checked_mul(price)
        .map(|v| v / Decimal::from(3600))
}

/// A [`Violation::TooLarge`] when `value` (`None`: past Decimal's range)
/// is more than [`Usd::MAX`].
fn money_bound(
    item: &ItemRef,
    quantity: &'static str,
    value: Option<Decimal>,
) -> Option<Violation> {
    match value {
        Some(v) if v <= Usd::MAX => None,
        _ => Some(Violation::TooLarge {
            item: item.clone(),
            quantity,
            value: value.map_or_else(
                || format!("more than {}", Decimal::MAX),
                |v| v.round_dp(2).normalize().to_string(),
            ),
            limit: Usd::MAX.to_string(),
        }),
    }
}

#[derive(Clone, Debug)]
struct CommitmentState {
    c: Commitment,
    buyer: u32,
    seller: u32,
    usd_total: Decimal,
}

#[derive(Clone, Debug)]
struct OfferState {
    o: Offer,
    root_site: u32,
}

/// Capacity a party holds through one contract at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Holding {
    pub contract: Id,
    pub seller: Id,
    pub provider: Id,
    pub site: Id,
    pub region: String,
    pub gpu: Id,
    /// Net held: amount − resold.
    pub gpus: i64,
    pub h100e: f64,
}

/// Net capacity held through one contract, by dense indexes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Held {
    pub contract: u32,
    pub seller: u32,
    pub gpu: u32,
    pub site: u32,
    pub provider: u32,
    pub gpus: i64,
    pub h100e: f64,
}

/// One contract as the ledger knows it, with its resolved provenance.
#[derive(Clone, Debug, PartialEq)]
pub struct ContractInfo<'a> {
    pub contract: &'a Contract,
    pub root_site: &'a Site,
    pub provider: &'a Id,
    pub value_usd: Decimal,
    pub amendments: Vec<(Instant, i64)>,
}

/// A contract's provenance: its chain up to the root site.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain<'a> {
    /// The contract first, then its backing contract, and so on.
    pub links: Vec<&'a Contract>,
    pub root_site: &'a Site,
    pub provider: &'a Id,
}

/// Resales carved from a contract, recursively.
#[derive(Clone, Debug, PartialEq)]
pub struct Resold<'a> {
    pub contract: &'a Contract,
    pub resold: Vec<Resold<'a>>,
}

/// The ledger. Cheap to query; every mutation goes through [`Ledger::apply`].
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    pub(crate) forest: Forest,
    pub(crate) gpus: Vec<GpuClass>,
    gpu_ix: FxMap<Id, u32>,
    parties: Vec<Party>,
    party_ix: FxMap<Id, u32>,
    pub(crate) sites: Vec<SiteState>,
    site_ix: FxMap<Id, u32>,
    expansions: Vec<Expansion>,
    expansion_ix: FxMap<Id, u32>,
    sites_by_owner: FxMap<u32, Vec<u32>>,
    /// Contracts by index: the hot part of each, and the rest.
    hot: Vec<ContractHot>,
    contracts: Vec<ContractState>,
    contract_ix: ContractIndex,
    by_buyer: FxMap<u32, Vec<u32>>,
    by_seller: FxMap<u32, Vec<u32>>,
    /// (buyer, seller) → their contracts, for the pairs with a commitment
    /// (what a commitment's spend reads); other pairs cost nothing to add.
    committed: FxMap<(u32, u32), Vec<u32>>,
    commitments: Vec<CommitmentState>,
    commitment_ix: FxMap<Id, u32>,
    amendments: Vec<Amendment>,
    /// Contract top-ups, in the order accepted (see [`TopUp`]).
    top_ups: Vec<TopUp>,
    offers: Vec<OfferState>,
    offer_ix: FxMap<Id, u32>,
    clauses: Vec<Clause>,
    /// buyer → (seller, until)
    exclusive: FxMap<u32, Vec<(u32, Instant)>>,
    /// party (buyer) → sellers whose capacity may not reach it
    no_resale_to: FxMap<u32, Vec<u32>>,
    journal: Vec<Entry>,
}

type Checked<T> = Result<T, Vec<Violation>>;

fn unknown(item: &ItemRef, field: &'static str, kind: &'static str, id: &Id) -> Violation {
    Violation::UnknownReference {
        item: item.clone(),
        field,
        kind,
        id: id.clone(),
    }
}

/// Adds an item that refers to no other (a GPU class, a party): only a
/// duplicate id refuses it.
fn add_unlinked<T>(
    ix: &mut FxMap<Id, u32>,
    items: &mut Vec<T>,
    id: Id,
    item: T,
    refer: fn(Id) -> ItemRef,
) -> Checked<u32> {
    if ix.contains_key(&id) {
        return Err(vec![Violation::DuplicateId { item: refer(id) }]);
    }
    let n = items.len() as u32;
    ix.insert(id, n);
    items.push(item);
    Ok(n)
}

/// How every check of a new item starts: its reference, and the list of
/// what is wrong with it, holding a duplicate id already if `taken`.
fn opening(item: ItemRef, taken: bool) -> (ItemRef, Vec<Violation>) {
    let mut v = Vec::new();
    if taken {
        v.push(Violation::DuplicateId { item: item.clone() });
    }
    (item, v)
}

/// The index of the `kind` item `id` that `item`'s `field` names; when
/// there is none, an unknown reference is added to `v`.
fn lookup(
    ix: &FxMap<Id, u32>,
    (item, field, kind): (&ItemRef, &'static str, &'static str),
    id: &Id,
    v: &mut Vec<Violation>,
) -> Option<u32> {
    let r = ix.get(id).copied();
    if r.is_none() {
        v.push(unknown(item, field, kind, id));
    }
    r
}

impl Ledger {
    pub fn new() -> Ledger {
        Ledger {
            forest: Forest::new(),
            ..Ledger::default()
        }
    }

    /// Reserves room for `contracts` more contracts (bulk loads: one
    /// allocation instead of repeated growth of every index).
    pub fn reserve(&mut self, contracts: usize) {
        self.hot.reserve(contracts);
        self.contracts.reserve(contracts);
        self.contract_ix.reserve(contracts);
        self.journal.reserve(contracts);
    }

    /// Number of accepted events.
    pub fn len(&self) -> usize {
        self.journal.len()
    }

    pub fn is_empty(&self) -> bool {
        self.journal.is_empty()
    }

    /// Applies one event, or refuses it with every violation and changes nothing.
    /// Returns the event's sequence number (0-based) in the journal.
    pub fn apply(&mut self, event: Event) -> Result<usize, Rejection> {
        let result = match event {
            Event::Gpu(g) => self.add_gpu(g),
            Event::Party(p) => self.add_party(p),
            Event::Site(s) => self.add_site(s),
            Event::Expansion(x) => self.add_expansion(x),
            Event::Clause(c) => self.add_clause(c),
            Event::Contract(c) => self.add_contract(c),
            Event::Amendment(a) => self.add_amendment(a),
            Event::Commitment(c) => self.add_commitment(c),
            Event::Offer(o) => self.add_offer(o),
        };
        match result {
            Ok(entry) => {
                self.journal.push(entry);
                Ok(self.journal.len() - 1)
            }
            Err(violations) => Err(Rejection { violations }),
        }
    }

    /// The journal, replayed as events in the order they were accepted.
    pub fn events(&self) -> impl Iterator<Item = Event> + '_ {
        self.journal.iter().map(|e| match *e {
            Entry::Gpu(i) => Event::Gpu(self.gpus[i as usize].clone()),
            Entry::Party(i) => Event::Party(self.parties[i as usize].clone()),
            Entry::Site(i) => Event::Site(self.sites[i as usize].site.clone()),
            Entry::Expansion(i) => Event::Expansion(self.expansions[i as usize].clone()),
            Entry::Clause(i) => Event::Clause(self.clauses[i as usize].clone()),
            Entry::Contract(i) => Event::Contract(self.contracts[i as usize].c.clone()),
            Entry::Amendment(i) => Event::Amendment(self.amendments[i as usize].clone()),
            Entry::Commitment(i) => Event::Commitment(self.commitments[i as usize].c.clone()),
            Entry::Offer(i) => Event::Offer(self.offers[i as usize].o.clone()),
        })
    }

    // ---- adding items -------------------------------------------------

    fn add_gpu(&mut self, g: GpuClass) -> Checked<Entry> {
        let id = g.id.clone();
        add_unlinked(&mut self.gpu_ix, &mut self.gpus, id, g, ItemRef::Gpu).map(Entry::Gpu)
    }

    fn add_party(&mut self, p: Party) -> Checked<Entry> {
        let id = p.id.clone();
        add_unlinked(&mut self.party_ix, &mut self.parties, id, p, ItemRef::Party).map(Entry::Party)
    }

    fn add_site(&mut self, s: Site) -> Checked<Entry> {
        let (item, mut v) = opening(
            ItemRef::Site(s.id.clone()),
            self.site_ix.contains_key(&s.id),
        );
        let owner = self.party_ref(&item, "owner", &s.owner, &mut v);
        let classes = self.class_table(&item, &s.gpus, |n| n.as_i64(), &mut v);
        let watts: Decimal = classes
            .iter()
            .map(|&(g, n)| draw_w(n, dec(self.gpus[g as usize].watts.get())))
            .sum();
        let power_w = s.power_mw.map(|mw| mw_to_w(mw.get()));
        if let Some(limit) = power_w
            && watts > limit
        {
            v.push(Violation::PowerOverrun {
                item: item.clone(),
                site: s.id.clone(),
                at: None,
                required_w: w_text(watts),
                limit_w: w_text(limit),
                over_w: w_text(watts - limit),
            });
        }
        if !v.is_empty() {
            return Err(v);
        }
        let owner = owner.expect("checked above");
        let classes = classes
            .into_iter()
            .map(|(gpu, n)| SiteClass {
                gpu,
                installed: self.forest.constant(n),
                free: self.forest.constant(n),
            })
            .collect();
        let ix = self.sites.len() as u32;
        self.site_ix.insert(s.id.clone(), ix);
        self.sites_by_owner.entry(owner).or_default().push(ix);
        self.sites.push(SiteState {
            site: s,
            owner,
            classes,
            expansions: Vec::new(),
            power_w,
            power_changes: Vec::new(),
        });
        Ok(Entry::Site(ix))
    }

    /// Changes a site's installed GPUs and power from `effective` on.
    ///
    /// Each class's change is a range-add over [effective, ∞) on its
    /// installed and free step functions; a retirement first checks that the
    /// minimum over that range stays ≥ 0 (installed ≥ 0, and installed ≥
    /// sold, i.e. free ≥ 0). Every class is tried, so one refusal lists every
    /// shortfall; anything tried is undone unless all of it holds.
    fn add_expansion(&mut self, x: Expansion) -> Checked<Entry> {
        let (item, mut v) = opening(
            ItemRef::Expansion(x.id.clone()),
            self.expansion_ix.contains_key(&x.id),
        );
        let site = lookup(&self.site_ix, (&item, "site", "site"), &x.site, &mut v);
        if x.gpus.is_empty() && x.power_mw.is_none() {
            v.push(Violation::EmptyExpansion { item: item.clone() });
        }
        let changes = self.class_table(&item, &x.gpus, |d| d.get(), &mut v);
        if !v.is_empty() {
            return Err(v);
        }
        let si = site.expect("checked above");
        let e = x.effective.unix_seconds().min(LAST_EFFECTIVE);
        let first_new = self.sites[si as usize].classes.len();
        let mut applied: Vec<(usize, i64)> = Vec::new();
        for &(g, d) in &changes {
            let st = &mut self.sites[si as usize];
            let k = match st.classes.iter().position(|k| k.gpu == g) {
                Some(k) => k,
                None => {
                    // A site may gain a class it never had: 0 until now.
                    st.classes.push(SiteClass {
                        gpu: g,
                        installed: self.forest.constant(0),
                        free: self.forest.constant(0),
                    });
                    st.classes.len() - 1
                }
            };
            let slot = &mut st.classes[k];
            if d > 0 {
                self.forest.range_add(&mut slot.installed, e, i64::MAX, d);
                self.forest.range_add(&mut slot.free, e, i64::MAX, d);
                applied.push((k, d));
                continue;
            }
            let q = -d;
            if let Err(m) = self.forest.try_take(&mut slot.installed, e, i64::MAX, q) {
                v.push(Violation::InstalledBelowZero {
                    item: item.clone(),
                    site: x.site.clone(),
                    gpu: self.gpus[g as usize].id.clone(),
                    at: Instant::from_unix_seconds(m.at),
                    installed: m.min - q,
                    shortfall: q - m.min,
                });
                continue;
            }
            match self.forest.try_take(&mut slot.free, e, i64::MAX, q) {
                Ok(()) => applied.push((k, d)),
                Err(m) => {
                    let installed = self.forest.value_at(&slot.installed, m.at);
                    self.forest.range_add(&mut slot.installed, e, i64::MAX, q);
                    let at = Instant::from_unix_seconds(m.at);
                    v.push(Violation::InstalledBelowSold {
                        item: item.clone(),
                        site: x.site.clone(),
                        gpu: self.gpus[g as usize].id.clone(),
                        at,
                        installed,
                        sold: installed + q - m.min,
                        shortfall: q - m.min,
                        contracts: self.sold_from(si, g, at),
                    });
                }
            }
        }
        let power_w = x.power_mw.map(|mw| mw_to_w(mw.get()));
        if let Some(w) = power_w {
            let pc = &mut self.sites[si as usize].power_changes;
            let at = pc.partition_point(|c| c.0 <= e);
            pc.insert(at, (e, w));
        }
        if v.is_empty()
            && let Some(p) = self.power_violation(si, e, &item, x.effective)
        {
            v.push(p);
        }
        if v.is_empty() {
            let ix = self.expansions.len() as u32;
            self.expansion_ix.insert(x.id.clone(), ix);
            self.sites[si as usize].expansions.push(ix);
            self.expansions.push(x);
            return Ok(Entry::Expansion(ix));
        }
        // Undo in reverse: the step functions take back exactly what was added.
        let st = &mut self.sites[si as usize];
        for &(k, d) in applied.iter().rev() {
            let slot = &mut st.classes[k];
            self.forest.range_add(&mut slot.installed, e, i64::MAX, -d);
            self.forest.range_add(&mut slot.free, e, i64::MAX, -d);
        }
        st.classes.truncate(first_new);
        if let Some(w) = power_w {
            let pos = st
                .power_changes
                .iter()
                .rposition(|c| *c == (e, w))
                .expect("inserted above");
            st.power_changes.remove(pos);
        }
        Err(v)
    }

    /// Contracts sold directly from a site's class, live at `t`.
    fn sold_from(&self, si: u32, gpu: u32, t: Instant) -> Vec<Id> {
        let owner = self.sites[si as usize].owner;
        self.by_seller
            .get(&owner)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter(|&&ci| {
                let h = &self.hot[ci as usize];
                h.backer == NONE && h.root_site == si && h.gpu == gpu
            })
            .filter(|&&ci| self.amount_of(ci, t) > 0)
            .map(|&ci| self.contracts[ci as usize].c.id.clone())
            .collect()
    }

    /// Checks a site's power from `from` on, at every instant its power or
    /// installed GPUs change: power ≥ 0 and installed × watts ≤ power.
    /// Linear in the site's expansions (a campus has a few dozen phases,
    /// not thousands); sites with no power limit cost nothing.
    fn power_violation(
        &self,
        si: u32,
        from: i64,
        item: &ItemRef,
        effective: Instant,
    ) -> Option<Violation> {
        let st = &self.sites[si as usize];
        let start = from.max(st.power_from()?);
        let mut instants: Vec<i64> = st
            .expansions
            .iter()
            .map(|&x| self.expansions[x as usize].effective.unix_seconds())
            .chain(st.power_changes.iter().map(|c| c.0))
            .filter(|&t| t > start)
            .collect();
        instants.push(start);
        instants.sort_unstable();
        instants.dedup();
        let at = |t: i64| {
            if t == from {
                effective
            } else {
                Instant::from_unix_seconds(t)
            }
        };
        for t in instants {
            let power = st.power_w_at(t).expect("limit known from start on");
            if power.is_sign_negative() && !power.is_zero() {
                return Some(Violation::PowerBelowZero {
                    item: item.clone(),
                    site: st.site.id.clone(),
                    at: at(t),
                    power_w: w_text(power),
                });
            }
            let drawn = self.draw_at(si, t);
            if drawn > power {
                return Some(Violation::PowerOverrun {
                    item: item.clone(),
                    site: st.site.id.clone(),
                    at: Some(at(t)),
                    required_w: w_text(drawn),
                    limit_w: w_text(power),
                    over_w: w_text(drawn - power),
                });
            }
        }
        None
    }

    /// A `gpus` table (class id → count) as dense class indexes with their
    /// counts: each class must be known and listed once.
    fn class_table<N>(
        &self,
        item: &ItemRef,
        gpus: &[(Id, N)],
        count: impl Fn(&N) -> i64,
        v: &mut Vec<Violation>,
    ) -> Vec<(u32, i64)> {
        let mut out: Vec<(u32, i64)> = Vec::with_capacity(gpus.len());
        for (gpu, n) in gpus {
            match self.gpu_ix.get(gpu) {
                Some(&g) => {
                    if out.iter().any(|&(c, _)| c == g) {
                        v.push(Violation::DuplicateId {
                            item: ItemRef::Gpu(gpu.clone()),
                        });
                    }
                    out.push((g, count(n)));
                }
                None => v.push(unknown(item, "gpus", "gpu", gpu)),
            }
        }
        out
    }

    fn party_ref(
        &self,
        item: &ItemRef,
        field: &'static str,
        id: &Id,
        v: &mut Vec<Violation>,
    ) -> Option<u32> {
        lookup(&self.party_ix, (item, field, "party"), id, v)
    }

    fn add_clause(&mut self, c: Clause) -> Checked<Entry> {
        let n = self.clauses.len();
        let item = ItemRef::Clause(n, c.kind());
        let mut v = Vec::new();
        match &c {
            Clause::Exclusive {
                buyer,
                seller,
                until,
            } => {
                let b = self.party_ref(&item, "buyer", buyer, &mut v);
                let s = self.party_ref(&item, "seller", seller, &mut v);
                if let (Some(b), Some(s)) = (b, s) {
                    for &ci in self.by_buyer.get(&b).map(Vec::as_slice).unwrap_or(&[]) {
                        let cs = &self.contracts[ci as usize];
                        if cs.c.window.start() < *until && self.hot[ci as usize].seller != s {
                            v.push(Violation::ExclusiveViolated {
                                item: ItemRef::Contract(cs.c.id.clone()),
                                buyer: buyer.clone(),
                                seller: seller.clone(),
                                until: *until,
                                start: cs.c.window.start(),
                                actual: cs.c.seller.clone(),
                            });
                        }
                    }
                }
            }
            Clause::Rofr { buyer, holder, .. } => {
                self.party_ref(&item, "buyer", buyer, &mut v);
                self.party_ref(&item, "holder", holder, &mut v);
            }
            Clause::NoResaleTo { seller, party } => {
                let s = self.party_ref(&item, "seller", seller, &mut v);
                let p = self.party_ref(&item, "party", party, &mut v);
                if let (Some(s), Some(p)) = (s, p) {
                    for &ci in self.by_buyer.get(&p).map(Vec::as_slice).unwrap_or(&[]) {
                        let chain = self.chain_sellers(ci);
                        if chain.contains(&s) {
                            v.push(self.no_resale_violation(ci, s, p));
                        }
                    }
                }
            }
            Clause::AvoidProvider { buyer, provider } => {
                self.party_ref(&item, "buyer", buyer, &mut v);
                self.party_ref(&item, "provider", provider, &mut v);
            }
        }
        if !v.is_empty() {
            return Err(v);
        }
        match &c {
            Clause::Exclusive {
                buyer,
                seller,
                until,
            } => {
                let (b, s) = (self.party_ix[buyer], self.party_ix[seller]);
                self.exclusive.entry(b).or_default().push((s, *until));
            }
            Clause::NoResaleTo { seller, party } => {
                let (s, p) = (self.party_ix[seller], self.party_ix[party]);
                self.no_resale_to.entry(p).or_default().push(s);
            }
            _ => {}
        }
        self.clauses.push(c);
        Ok(Entry::Clause(n as u32))
    }

    /// The one walk up a resale chain: a contract, then its backer, and so
    /// on up to the contract sold from a site. Every chain question (sellers,
    /// ids, `chain`) goes through it.
    fn up_chain(&self, ci: u32) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors(Some(ci), |&c| self.hot[c as usize].backer())
    }

    /// Sellers along a contract's chain, the contract's own seller first.
    fn chain_sellers(&self, ci: u32) -> Vec<u32> {
        self.up_chain(ci)
            .map(|c| self.hot[c as usize].seller)
            .collect()
    }

    /// Ids along a contract's chain, its own first.
    fn chain_ids(&self, ci: u32) -> impl Iterator<Item = Id> + '_ {
        self.up_chain(ci)
            .map(|c| self.contracts[c as usize].c.id.clone())
    }

    fn no_resale_violation(&self, ci: u32, seller: u32, party: u32) -> Violation {
        let cs = &self.contracts[ci as usize];
        let chain = self.chain_ids(ci).collect();
        Violation::NoResaleTo {
            item: ItemRef::Contract(cs.c.id.clone()),
            seller: self.parties[seller as usize].id.clone(),
            party: self.parties[party as usize].id.clone(),
            chain,
        }
    }

    /// The index of a source's backing contract, if it is one the ledger has.
    fn backing_ix(&self, source: &Source) -> Option<u32> {
        match source {
            Source::BackedBy(b) => self.contract_ix.get(b, &self.contracts),
            Source::Site(_) => None,
        }
    }

    /// Resolves a contract's or offer's source: (backer, root site, site
    /// class slot). `backing` is [`Ledger::backing_ix`] of the source.
    #[allow(clippy::too_many_arguments)]
    fn resolve_source(
        &self,
        item: &ItemRef,
        (seller, seller_id): (Option<u32>, &Id),
        (gpu, gpu_id): (Option<u32>, &Id),
        window: &Window,
        source: &Source,
        backing: Option<u32>,
        v: &mut Vec<Violation>,
    ) -> Option<(Option<u32>, u32)> {
        match source {
            Source::Site(site_id) => {
                let Some(&si) = self.site_ix.get(site_id) else {
                    v.push(unknown(item, "site", "site", site_id));
                    return None;
                };
                let st = &self.sites[si as usize];
                if seller.is_some_and(|s| st.owner != s) {
                    v.push(Violation::SellerDoesNotOwnSite {
                        item: item.clone(),
                        seller: seller_id.clone(),
                        site: site_id.clone(),
                        owner: st.site.owner.clone(),
                    });
                }
                if gpu.is_some_and(|g| st.class(g).is_none()) {
                    v.push(Violation::ClassNotAtSite {
                        item: item.clone(),
                        site: site_id.clone(),
                        gpu: gpu_id.clone(),
                    });
                }
                Some((None, si))
            }
            Source::BackedBy(b_id) => {
                let Some(bi) = backing else {
                    v.push(unknown(item, "backed_by", "contract", b_id));
                    return None;
                };
                let b = &self.hot[bi as usize];
                if seller.is_some_and(|s| b.buyer != s) {
                    v.push(Violation::ResellerNotHolder {
                        item: item.clone(),
                        seller: seller_id.clone(),
                        backing: b_id.clone(),
                        holder: self.parties[b.buyer as usize].id.clone(),
                    });
                }
                // Only resellable contracts have an unsold function.
                if b.unsold.is_none() {
                    v.push(Violation::BackingNotResellable {
                        item: item.clone(),
                        backing: b_id.clone(),
                    });
                }
                if gpu.is_some_and(|g| b.gpu != g) {
                    v.push(Violation::ClassMismatch {
                        item: item.clone(),
                        gpu: gpu_id.clone(),
                        backing: b_id.clone(),
                        backing_gpu: self.gpus[b.gpu as usize].id.clone(),
                    });
                }
                if window.start().unix_seconds() < b.start || window.end().unix_seconds() > b.end {
                    v.push(Violation::OutsideBackingWindow {
                        item: item.clone(),
                        window: *window,
                        backing: b_id.clone(),
                        backing_window: self.contracts[bi as usize].c.window,
                    });
                }
                Some((Some(bi), b.root_site))
            }
        }
    }

    /// Draws `gpus` from a source over `window`, or refuses with the facts
    /// and changes nothing.
    // A Violation carries its facts inline (the power figures made it pass
    // clippy's 128 bytes); refusals are the rare path, and every caller
    // moves the violation straight into a Vec.
    #[allow(clippy::result_large_err)]
    fn take_capacity(
        &mut self,
        item: &ItemRef,
        backer: Option<u32>,
        site: u32,
        gpu: u32,
        window: &Window,
        gpus: i64,
    ) -> Result<(), Violation> {
        let (s, e) = (window.start().unix_seconds(), window.end().unix_seconds());
        match backer {
            None => {
                let st = &mut self.sites[site as usize];
                let slot = st
                    .classes
                    .iter_mut()
                    .find(|k| k.gpu == gpu)
                    .expect("class at site is checked before capacity");
                self.forest
                    .try_take(&mut slot.free, s, e, gpus)
                    .map_err(|m| Violation::SiteOversold {
                        item: item.clone(),
                        site: st.site.id.clone(),
                        gpu: self.gpus[gpu as usize].id.clone(),
                        at: Instant::from_unix_seconds(m.at),
                        requested: gpus,
                        free: m.min,
                        installed: self.forest.value_at(&slot.installed, m.at),
                        shortfall: gpus - m.min,
                    })
            }
            Some(b) => {
                let tree = self.hot[b as usize]
                    .unsold
                    .as_mut()
                    .expect("resellable backer is checked before capacity");
                let m = match self.forest.try_take(tree, s, e, gpus) {
                    Ok(()) => return Ok(()),
                    Err(m) => m,
                };
                let at = Instant::from_unix_seconds(m.at);
                Err(Violation::ResaleOversold {
                    item: item.clone(),
                    backing: self.contracts[b as usize].c.id.clone(),
                    at,
                    requested: gpus,
                    free: m.min,
                    amount: self.amount_of(b, at),
                    shortfall: gpus - m.min,
                })
            }
        }
    }

    fn add_contract(&mut self, c: Contract) -> Checked<Entry> {
        let item = ItemRef::Contract(c.id.clone());
        let mut v = Vec::new();
        let duplicate = self.contract_ix.get(&c.id, &self.contracts).is_some();
        // Right after: the two probes do not depend on each other, so their
        // cache misses overlap.
        let backing = self.backing_ix(&c.source);
        if duplicate {
            v.push(Violation::DuplicateId { item: item.clone() });
        }
        let seller = self.party_ref(&item, "seller", &c.seller, &mut v);
        let buyer = self.party_ref(&item, "buyer", &c.buyer, &mut v);
        let gpu = lookup(&self.gpu_ix, (&item, "gpu", "gpu"), &c.gpu, &mut v);
        let resolved = self.resolve_source(
            &item,
            (seller, &c.seller),
            (gpu, &c.gpu),
            &c.window,
            &c.source,
            backing,
            &mut v,
        );
        let gpu_seconds = i128::from(c.gpus.get()) * i128::from(c.window.seconds());
        v.extend(money_bound(
            &item,
            "contract value",
            value_usd(gpu_seconds, c.price_per_gpu_hour.get()),
        ));
        if let Some(b) = buyer {
            for &(s, until) in self.exclusive.get(&b).map(Vec::as_slice).unwrap_or(&[]) {
                if c.window.start() < until && Some(s) != seller {
                    v.push(Violation::ExclusiveViolated {
                        item: item.clone(),
                        buyer: c.buyer.clone(),
                        seller: self.parties[s as usize].id.clone(),
                        until,
                        start: c.window.start(),
                        actual: c.seller.clone(),
                    });
                }
            }
            if let Some(banned) = self.no_resale_to.get(&b) {
                let mut chain_sellers: Vec<u32> = seller.into_iter().collect();
                let mut chain_ids = vec![c.id.clone()];
                if let Some((Some(bi), _)) = resolved {
                    chain_sellers.extend(self.chain_sellers(bi));
                    chain_ids.extend(self.chain_ids(bi));
                }
                for &s in banned {
                    if chain_sellers.contains(&s) {
                        v.push(Violation::NoResaleTo {
                            item: item.clone(),
                            seller: self.parties[s as usize].id.clone(),
                            party: c.buyer.clone(),
                            chain: chain_ids.clone(),
                        });
                    }
                }
            }
        }
        // Capacity is checked only when every reference resolved: the
        // shortfall of a contract with a wrong class would be noise.
        // It is the last check, so a successful one may draw at once.
        if !v.is_empty() {
            return Err(v);
        }
        let (backer, root_site) = resolved.expect("no violations means resolved");
        let (seller, buyer, gpu) = (
            seller.expect("checked"),
            buyer.expect("checked"),
            gpu.expect("checked"),
        );
        self.take_capacity(&item, backer, root_site, gpu, &c.window, c.gpus.as_i64())
            .map_err(|x| vec![x])?;
        let unsold = c.resale.then(|| {
            self.forest.pulse(
                c.window.start().unix_seconds(),
                c.window.end().unix_seconds(),
                c.gpus.as_i64(),
            )
        });
        let ix = u32::try_from(self.contracts.len())
            .ok()
            .filter(|&ix| ix != NONE)
            .expect("fewer than u32::MAX contracts");
        let prev_resale = match backer {
            Some(b) => std::mem::replace(&mut self.hot[b as usize].last_resale, ix),
            None => NONE,
        };
        self.hot.push(ContractHot {
            start: c.window.start().unix_seconds(),
            end: c.window.end().unix_seconds(),
            unsold,
            seller,
            buyer,
            gpu,
            root_site,
            backer: backer.unwrap_or(NONE),
            last_resale: NONE,
            last_top_up: NONE,
            gpus: c.gpus.as_i64(),
        });
        self.contract_ix.insert(&c.id, ix);
        self.by_buyer.entry(buyer).or_default().push(ix);
        self.by_seller.entry(seller).or_default().push(ix);
        if let Some(pair) = self.committed.get_mut(&(buyer, seller)) {
            pair.push(ix);
        }
        self.contracts.push(ContractState {
            c,
            prev_resale,
            gpu_seconds,
        });
        Ok(Entry::Contract(ix))
    }

    fn add_amendment(&mut self, a: Amendment) -> Checked<Entry> {
        let n = self.amendments.len();
        match &a.target {
            AmendmentTarget::Contract { id, gpus } => {
                let item = ItemRef::Amendment(n, id.clone());
                let Some(ci) = self.contract_ix.get(id, &self.contracts) else {
                    return Err(vec![unknown(&item, "contract", "contract", id)]);
                };
                let h = &self.hot[ci as usize];
                let (start, end) = (
                    Instant::from_unix_seconds(h.start),
                    Instant::from_unix_seconds(h.end),
                );
                let Ok(window) = Window::new(start.max(a.effective), end) else {
                    return Err(vec![Violation::AmendmentAfterEnd {
                        item,
                        target: id.clone(),
                        effective: a.effective,
                        end,
                    }]);
                };
                let (backer, site, gpu) = (h.backer(), h.root_site, h.gpu);
                let cs = &self.contracts[ci as usize];
                let g = gpus.as_i64();
                let gpu_seconds = cs.gpu_seconds + i128::from(g) * i128::from(window.seconds());
                if let Some(x) = money_bound(
                    &item,
                    "contract value with this top-up",
                    value_usd(gpu_seconds, cs.c.price_per_gpu_hour.get()),
                ) {
                    return Err(vec![x]);
                }
                self.take_capacity(&item, backer, site, gpu, &window, g)
                    .map_err(|x| vec![x])?;
                if let Some(t) = self.hot[ci as usize].unsold.as_mut() {
                    self.forest.range_add(
                        t,
                        window.start().unix_seconds(),
                        window.end().unix_seconds(),
                        g,
                    );
                }
                let cs = &mut self.contracts[ci as usize];
                let top_up = u32::try_from(self.top_ups.len())
                    .ok()
                    .filter(|&ix| ix != NONE)
                    .expect("fewer than u32::MAX top-ups");
                self.top_ups.push(TopUp {
                    effective: window.start(),
                    gpus: g,
                    prev: std::mem::replace(&mut self.hot[ci as usize].last_top_up, top_up),
                });
                cs.gpu_seconds = gpu_seconds;
            }
            AmendmentTarget::Commitment { id, usd } => {
                let item = ItemRef::Amendment(n, id.clone());
                let Some(&ci) = self.commitment_ix.get(id) else {
                    return Err(vec![unknown(&item, "commitment", "commitment", id)]);
                };
                let cs = &mut self.commitments[ci as usize];
                if a.effective >= cs.c.window.end() {
                    return Err(vec![Violation::AmendmentAfterEnd {
                        item,
                        target: id.clone(),
                        effective: a.effective,
                        end: cs.c.window.end(),
                    }]);
                }
                let total = cs.usd_total.checked_add(usd.get());
                if let Some(x) = money_bound(&item, "commitment total with this top-up", total) {
                    return Err(vec![x]);
                }
                self.commitments[ci as usize].usd_total = total.expect("checked above");
            }
        }
        self.amendments.push(a);
        Ok(Entry::Amendment(n as u32))
    }

    fn add_commitment(&mut self, c: Commitment) -> Checked<Entry> {
        let (item, mut v) = opening(
            ItemRef::Commitment(c.id.clone()),
            self.commitment_ix.contains_key(&c.id),
        );
        let buyer = self.party_ref(&item, "buyer", &c.buyer, &mut v);
        let seller = self.party_ref(&item, "seller", &c.seller, &mut v);
        if !v.is_empty() {
            return Err(v);
        }
        let ix = self.commitments.len() as u32;
        let (b, s) = (buyer.expect("checked"), seller.expect("checked"));
        if let std::collections::hash_map::Entry::Vacant(e) = self.committed.entry((b, s)) {
            // The pair's contracts so far, in index order; later ones are
            // added as they are accepted.
            let of_buyer = self.by_buyer.get(&b).map(Vec::as_slice).unwrap_or(&[]);
            e.insert(
                of_buyer
                    .iter()
                    .copied()
                    .filter(|&ci| self.hot[ci as usize].seller == s)
                    .collect(),
            );
        }
        self.commitment_ix.insert(c.id.clone(), ix);
        self.commitments.push(CommitmentState {
            buyer: buyer.expect("checked"),
            seller: seller.expect("checked"),
            usd_total: c.usd.get(),
            c,
        });
        Ok(Entry::Commitment(ix))
    }

    fn add_offer(&mut self, o: Offer) -> Checked<Entry> {
        let (item, mut v) = opening(
            ItemRef::Offer(o.id.clone()),
            self.offer_ix.contains_key(&o.id),
        );
        let seller = self.party_ref(&item, "seller", &o.seller, &mut v);
        let gpu = lookup(&self.gpu_ix, (&item, "gpu", "gpu"), &o.gpu, &mut v);
        v.extend(money_bound(
            &item,
            "offer value (max_gpus over the whole window)",
            value_usd(
                i128::from(o.max_gpus.get()) * i128::from(o.window.seconds()),
                o.price_per_gpu_hour.get(),
            ),
        ));
        if o.block_gpus > o.max_gpus {
            v.push(Violation::BlockExceedsMax {
                item: item.clone(),
                block: o.block_gpus.get(),
                max: o.max_gpus.get(),
            });
        }
        let resolved = self.resolve_source(
            &item,
            (seller, &o.seller),
            (gpu, &o.gpu),
            &o.window,
            &o.source,
            self.backing_ix(&o.source),
            &mut v,
        );
        if !v.is_empty() {
            return Err(v);
        }
        let (_, root_site) = resolved.expect("checked");
        let ix = self.offers.len() as u32;
        self.offer_ix.insert(o.id.clone(), ix);
        self.offers.push(OfferState { o, root_site });
        Ok(Entry::Offer(ix))
    }

    // ---- whole scenarios ----------------------------------------------

    /// Builds a ledger from a whole scenario, or reports every violation.
    ///
    /// Contracts are applied backers first, each followed by its own
    /// amendments, so a resale that fits only thanks to its backer's top-up
    /// is accepted, as the final state allows it.
    pub fn from_scenario(s: &Scenario) -> Result<Ledger, Rejection> {
        let order = s.load_order();
        let mut v = order.refused;
        if order.events.is_empty() && !v.is_empty() {
            // Refused whole (duplicate ids): nothing to check references against.
            return Err(Rejection { violations: v });
        }
        let mut l = Ledger::new();
        l.reserve(s.contracts.len());
        // Contracts refused here; their resales and amendments follow them in
        // the load order and are reported (or skipped) instead of failing on
        // a missing reference.
        let mut rejected: std::collections::HashSet<Id> = Default::default();
        for e in order.events {
            match &e {
                Event::Contract(c) => {
                    if let Source::BackedBy(b) = &c.source
                        && rejected.contains(b)
                    {
                        v.push(Violation::BackingRejected {
                            item: ItemRef::Contract(c.id.clone()),
                            backing: b.clone(),
                        });
                        rejected.insert(c.id.clone());
                        continue;
                    }
                }
                Event::Amendment(Amendment {
                    target: AmendmentTarget::Contract { id, .. },
                    ..
                }) if rejected.contains(id) => continue,
                _ => {}
            }
            let contract = match &e {
                Event::Contract(c) => Some(c.id.clone()),
                _ => None,
            };
            if let Err(r) = l.apply(e) {
                v.extend(r.violations);
                rejected.extend(contract);
            }
        }
        l.check_references(s, &mut v);
        if v.is_empty() {
            Ok(l)
        } else {
            Err(Rejection { violations: v })
        }
    }

    /// References of the items that are not ledger events: demands, outages, policies.
    fn check_references(&self, s: &Scenario, v: &mut Vec<Violation>) {
        for (i, d) in s.demands.iter().enumerate() {
            if !self.party_ix.contains_key(&d.buyer) {
                v.push(unknown(&ItemRef::Demand(i), "buyer", "party", &d.buyer));
            }
            if let Some(gpu) = d.gpu()
                && self.gpu_class_named(gpu.as_str()).is_none()
            {
                v.push(unknown(&ItemRef::Demand(i), "gpu", "gpu", gpu));
            }
        }
        for (i, o) in s.outages.iter().enumerate() {
            match &o.scope {
                OutageScope::Site(id) if !self.site_ix.contains_key(id) => {
                    v.push(unknown(&ItemRef::Outage(i), "site", "site", id))
                }
                OutageScope::Provider(id) if !self.party_ix.contains_key(id) => {
                    v.push(unknown(&ItemRef::Outage(i), "provider", "party", id))
                }
                _ => {}
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (buyer, _) in &s.policies {
            if !self.party_ix.contains_key(buyer) {
                v.push(unknown(
                    &ItemRef::Policy(buyer.clone()),
                    "policy",
                    "party",
                    buyer,
                ));
            }
            if !seen.insert(buyer) {
                v.push(Violation::DuplicateId {
                    item: ItemRef::Policy(buyer.clone()),
                });
            }
        }
    }

    // ---- queries --------------------------------------------------------

    fn amount_of(&self, ci: u32, t: Instant) -> i64 {
        let h = &self.hot[ci as usize];
        if !h.contains(t) {
            return 0;
        }
        h.gpus
            + self
                .top_ups_of(h)
                .filter(|u| u.effective <= t)
                .map(|u| u.gpus)
                .sum::<i64>()
    }

    /// A contract's top-ups, latest first.
    fn top_ups_of(&self, h: &ContractHot) -> impl Iterator<Item = &TopUp> + '_ {
        let at = |u: u32| (u != NONE).then(|| &self.top_ups[u as usize]);
        std::iter::successors(at(h.last_top_up), move |u| at(u.prev))
    }

    /// Amount of a contract at `t`: its GPUs plus amendments in effect, 0 outside its window.
    pub fn amount(&self, contract: &Id, t: Instant) -> Option<i64> {
        self.contract_ix
            .get(contract, &self.contracts)
            .map(|ci| self.amount_of(ci, t))
    }

    /// Σ amount of the resales carved from a contract, at `t`.
    pub fn resold(&self, contract: &Id, t: Instant) -> Option<i64> {
        let ci = self.contract_ix.get(contract, &self.contracts)?;
        Some(self.resold_of(ci, t))
    }

    fn resold_of(&self, ci: u32, t: Instant) -> i64 {
        match &self.hot[ci as usize].unsold {
            Some(tree) => self.amount_of(ci, t) - self.forest.value_at(tree, t.unix_seconds()),
            None => 0,
        }
    }

    fn net_of(&self, ci: u32, t: Instant) -> i64 {
        match &self.hot[ci as usize].unsold {
            Some(tree) => self.forest.value_at(tree, t.unix_seconds()),
            None => self.amount_of(ci, t),
        }
    }

    /// GPUs of a class still unsold at a site at `t`.
    pub fn site_free_at(&self, site: &Id, gpu: &Id, t: Instant) -> Option<i64> {
        let st = &self.sites[*self.site_ix.get(site)? as usize];
        let slot = st.class(*self.gpu_ix.get(gpu)?)?;
        Some(self.forest.value_at(&slot.free, t.unix_seconds()))
    }

    /// Installed GPUs of a class at a site at `t`: the site's own plus its
    /// expansions effective at or before `t` (0 for a class the site never
    /// had). `None` for an unknown site or class.
    pub fn installed(&self, site: &Id, gpu: &Id, t: Instant) -> Option<i64> {
        let st = &self.sites[*self.site_ix.get(site)? as usize];
        let g = *self.gpu_ix.get(gpu)?;
        Some(
            st.class(g)
                .map_or(0, |k| self.forest.value_at(&k.installed, t.unix_seconds())),
        )
    }

    /// GPUs of a class sold directly from a site, live at `t` (resales are
    /// carved from these and add nothing).
    pub fn sold(&self, site: &Id, gpu: &Id, t: Instant) -> Option<i64> {
        let st = &self.sites[*self.site_ix.get(site)? as usize];
        let g = *self.gpu_ix.get(gpu)?;
        Some(st.class(g).map_or(0, |k| {
            let t = t.unix_seconds();
            self.forest.value_at(&k.installed, t) - self.forest.value_at(&k.free, t)
        }))
    }

    /// Power of a site at `t` in MW: its own power_mw plus the power_mw of
    /// its expansions effective at or before `t`. `None` for an unknown site
    /// and where no limit is known: a site without power_mw has a limit only
    /// from its first expansion that sets power_mw on (counting from 0 MW).
    pub fn power_mw(&self, site: &Id, t: Instant) -> Option<f64> {
        let st = &self.sites[*self.site_ix.get(site)? as usize];
        let w = st.power_w_at(t.unix_seconds())?;
        Some(f64::try_from(w / Decimal::from(1_000_000)).unwrap_or(f64::MAX))
    }

    /// Power in MW drawn by the GPUs installed at a site at `t` (each class's
    /// installed GPUs × its watts).
    pub fn drawn_mw(&self, site: &Id, t: Instant) -> Option<f64> {
        let si = *self.site_ix.get(site)?;
        let w = self.draw_at(si, t.unix_seconds());
        Some(f64::try_from(w / Decimal::from(1_000_000)).unwrap_or(f64::MAX))
    }

    pub(crate) fn draw_at(&self, si: u32, t: i64) -> Decimal {
        self.sites[si as usize]
            .classes
            .iter()
            .fold(Decimal::ZERO, |a, k| {
                let n = self.forest.value_at(&k.installed, t);
                a + draw_w(n, dec(self.gpus[k.gpu as usize].watts.get()))
            })
    }

    pub fn expansions(&self) -> &[Expansion] {
        &self.expansions
    }

    pub fn expansion(&self, id: &Id) -> Option<&Expansion> {
        self.expansion_ix
            .get(id)
            .map(|&x| &self.expansions[x as usize])
    }

    /// Expansions of a site in the order accepted.
    pub fn expansions_of(&self, site: &Id) -> Vec<&Expansion> {
        let Some(&si) = self.site_ix.get(site) else {
            return Vec::new();
        };
        self.sites[si as usize]
            .expansions
            .iter()
            .map(|&x| &self.expansions[x as usize])
            .collect()
    }

    /// GPUs of a resellable contract not yet resold at `t` (0 outside its window).
    pub fn contract_free_at(&self, contract: &Id, t: Instant) -> Option<i64> {
        let h = &self.hot[self.contract_ix.get(contract, &self.contracts)? as usize];
        Some(
            h.unsold
                .as_ref()
                .map_or(0, |tree| self.forest.value_at(tree, t.unix_seconds())),
        )
    }

    /// What a source (site + class, or backing contract) has free at `t`.
    pub fn source_free_at(&self, source: &Source, gpu: &Id, t: Instant) -> Option<i64> {
        match source {
            Source::Site(s) => self.site_free_at(s, gpu, t),
            Source::BackedBy(c) => self.contract_free_at(c, t),
        }
    }

    /// The capacity a party holds at `t`, one entry per contract with net held > 0.
    pub fn holdings(&self, buyer: &Id, t: Instant) -> Vec<Holding> {
        let mut out = Vec::new();
        self.for_each_held(buyer, t, |h| {
            let cs = &self.contracts[h.contract as usize];
            let site = &self.sites[h.site as usize].site;
            out.push(Holding {
                contract: cs.c.id.clone(),
                seller: cs.c.seller.clone(),
                provider: site.owner.clone(),
                site: site.id.clone(),
                region: site.region.clone(),
                gpu: cs.c.gpu.clone(),
                gpus: h.gpus,
                h100e: h.h100e,
            });
        });
        out
    }

    /// Calls `f` for every contract through which `buyer` holds capacity at
    /// `t`, by dense index: the allocation-free core of holdings and exposure.
    pub(crate) fn for_each_held(&self, buyer: &Id, t: Instant, mut f: impl FnMut(Held)) {
        let Some(&b) = self.party_ix.get(buyer) else {
            return;
        };
        for &ci in self.by_buyer.get(&b).map(Vec::as_slice).unwrap_or(&[]) {
            let net = self.net_of(ci, t);
            if net <= 0 {
                continue;
            }
            let h = &self.hot[ci as usize];
            f(Held {
                contract: ci,
                seller: h.seller,
                gpu: h.gpu,
                site: h.root_site,
                provider: self.sites[h.root_site as usize].owner,
                gpus: net,
                h100e: net as f64 * self.gpus[h.gpu as usize].h100e.get(),
            });
        }
    }

    pub(crate) fn site_index(&self, id: &Id) -> Option<u32> {
        self.site_ix.get(id).copied()
    }

    pub(crate) fn party_id(&self, ix: u32) -> &Id {
        &self.parties[ix as usize].id
    }

    pub(crate) fn site_at(&self, ix: u32) -> &Site {
        &self.sites[ix as usize].site
    }

    /// Contracts a party takes part in, as buyer or seller, in journal order.
    pub fn contracts_of(&self, party: &Id) -> Vec<&Contract> {
        let Some(&p) = self.party_ix.get(party) else {
            return Vec::new();
        };
        let mut ix: Vec<u32> = self
            .by_buyer
            .get(&p)
            .into_iter()
            .chain(self.by_seller.get(&p))
            .flatten()
            .copied()
            .collect();
        ix.sort_unstable();
        ix.dedup();
        ix.into_iter()
            .map(|i| &self.contracts[i as usize].c)
            .collect()
    }

    pub fn contract(&self, id: &Id) -> Option<ContractInfo<'_>> {
        let ci = self.contract_ix.get(id, &self.contracts)? as usize;
        let (cs, site) = (
            &self.contracts[ci],
            &self.sites[self.hot[ci].root_site as usize].site,
        );
        Some(ContractInfo {
            contract: &cs.c,
            root_site: site,
            provider: &site.owner,
            value_usd: cs.value_usd(),
            amendments: {
                let mut a: Vec<(Instant, i64)> = self
                    .top_ups_of(&self.hot[ci])
                    .map(|u| (u.effective, u.gpus))
                    .collect();
                a.reverse();
                a
            },
        })
    }

    /// The chain of a contract up to its root site.
    pub fn chain(&self, id: &Id) -> Option<Chain<'_>> {
        let ci = self.contract_ix.get(id, &self.contracts)?;
        let links: Vec<&Contract> = self
            .up_chain(ci)
            .map(|c| &self.contracts[c as usize].c)
            .collect();
        let site = &self.sites[self.hot[ci as usize].root_site as usize].site;
        Some(Chain {
            links,
            root_site: site,
            provider: &site.owner,
        })
    }

    /// The resales carved from a contract, as a tree.
    pub fn resold_tree(&self, id: &Id) -> Option<Resold<'_>> {
        let ci = self.contract_ix.get(id, &self.contracts)?;
        // Iterative build: resale trees can be deep and user-made.
        fn build<'a>(l: &'a Ledger, ci: u32) -> Resold<'a> {
            // Resales of `c`, latest first: popped, they come in the order accepted.
            let resales = |c: u32| -> Vec<u32> {
                let some = |r: u32| (r != NONE).then_some(r);
                std::iter::successors(some(l.hot[c as usize].last_resale), |&r| {
                    some(l.contracts[r as usize].prev_resale)
                })
                .collect()
            };
            let mut stack: Vec<(u32, Vec<Resold<'a>>, Vec<u32>)> =
                vec![(ci, Vec::new(), resales(ci))];
            loop {
                let (_, _, todo) = stack.last_mut().expect("non-empty");
                if let Some(child) = todo.pop() {
                    stack.push((child, Vec::new(), resales(child)));
                    continue;
                }
                let (done, kids, _) = stack.pop().expect("non-empty");
                let node = Resold {
                    contract: &l.contracts[done as usize].c,
                    resold: kids,
                };
                match stack.last_mut() {
                    Some(parent) => parent.1.push(node),
                    None => return node,
                }
            }
        }
        Some(build(self, ci))
    }

    /// Physical provider and root site of an offer.
    pub fn offer_root(&self, offer: &Id) -> Option<(&Id, &Site)> {
        let os = &self.offers[*self.offer_ix.get(offer)? as usize];
        let site = &self.sites[os.root_site as usize].site;
        Some((&site.owner, site))
    }

    /// Root site of a source (a site, or the root site of a backing contract).
    pub fn source_root(&self, source: &Source) -> Option<&Site> {
        match source {
            Source::Site(s) => Some(&self.sites[*self.site_ix.get(s)? as usize].site),
            Source::BackedBy(c) => {
                let h = &self.hot[self.contract_ix.get(c, &self.contracts)? as usize];
                Some(&self.sites[h.root_site as usize].site)
            }
        }
    }

    /// Sellers along a contract's chain, its own seller first.
    pub fn sellers_of(&self, contract: &Id) -> Option<Vec<&Id>> {
        let ci = self.contract_ix.get(contract, &self.contracts)?;
        Some(
            self.chain_sellers(ci)
                .into_iter()
                .map(|p| &self.parties[p as usize].id)
                .collect(),
        )
    }

    /// Commitments of a buyer with their total (usd + amendments) and spend.
    pub fn commitments_of(&self, buyer: &Id) -> Vec<(&Commitment, Decimal, Decimal)> {
        let Some(&b) = self.party_ix.get(buyer) else {
            return Vec::new();
        };
        self.commitments
            .iter()
            .filter(|cs| cs.buyer == b)
            .map(|cs| (&cs.c, cs.usd_total, self.spend(cs)))
            .collect()
    }

    fn spend(&self, cs: &CommitmentState) -> Decimal {
        self.committed
            .get(&(cs.buyer, cs.seller))
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(|&ci| &self.contracts[ci as usize])
            .filter(|c| cs.c.window.contains(c.c.window.start()))
            .map(ContractState::value_usd)
            // Cannot overflow: fewer than 2^32 contracts (u32 indexes), each
            // worth at most Usd::MAX = 10^18, sum to under 4.3·10^27, inside
            // Decimal's 7.9·10^28.
            .sum()
    }

    pub fn gpu_class(&self, id: &Id) -> Option<&GpuClass> {
        self.gpu_ix.get(id).map(|&g| &self.gpus[g as usize])
    }

    /// The GPU class a user typed, matched ASCII case-insensitively (`h100`
    /// finds `H100`); an exact match wins over a case-folded one.
    pub fn gpu_class_named(&self, name: &str) -> Option<&GpuClass> {
        self.gpus
            .iter()
            .find(|g| g.id.as_str() == name)
            .or_else(|| {
                self.gpus
                    .iter()
                    .find(|g| g.id.as_str().eq_ignore_ascii_case(name))
            })
    }

    pub fn gpu_classes(&self) -> &[GpuClass] {
        &self.gpus
    }

    pub fn party(&self, id: &Id) -> Option<&Party> {
        self.party_ix.get(id).map(|&p| &self.parties[p as usize])
    }

    pub fn parties(&self) -> &[Party] {
        &self.parties
    }

    pub fn site(&self, id: &Id) -> Option<&Site> {
        self.site_ix.get(id).map(|&s| &self.sites[s as usize].site)
    }

    pub fn sites(&self) -> impl Iterator<Item = &Site> {
        self.sites.iter().map(|s| &s.site)
    }

    /// Sites owned by a party.
    pub fn sites_of(&self, owner: &Id) -> Vec<&Site> {
        let Some(&p) = self.party_ix.get(owner) else {
            return Vec::new();
        };
        self.sites_by_owner
            .get(&p)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(|&s| &self.sites[s as usize].site)
            .collect()
    }

    pub fn contracts(&self) -> impl Iterator<Item = &Contract> {
        self.contracts.iter().map(|c| &c.c)
    }

    pub fn commitments(&self) -> impl Iterator<Item = &Commitment> {
        self.commitments.iter().map(|c| &c.c)
    }

    pub fn commitment(&self, id: &Id) -> Option<(&Commitment, Decimal)> {
        let cs = &self.commitments[*self.commitment_ix.get(id)? as usize];
        Some((&cs.c, cs.usd_total))
    }

    pub fn amendments(&self) -> &[Amendment] {
        &self.amendments
    }

    pub fn offers(&self) -> impl Iterator<Item = &Offer> {
        self.offers.iter().map(|o| &o.o)
    }

    pub fn offer(&self, id: &Id) -> Option<&Offer> {
        self.offer_ix.get(id).map(|&o| &self.offers[o as usize].o)
    }

    pub fn clauses(&self) -> &[Clause] {
        &self.clauses
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Gpus, Positive, UsdPerGpuHour};

    #[test]
    fn contract_index_survives_hash_collisions() {
        // fx_hash keeps 4 bits under cfg(test): 200 ids share 16 hashes.
        let mut l = Ledger::new();
        let id = |s: &str| Id::new(s).unwrap();
        l.apply(Event::Gpu(GpuClass {
            id: id("h100"),
            h100e: Positive::new("h", 1.0).unwrap(),
            watts: Positive::new("w", 700.0).unwrap(),
        }))
        .unwrap();
        for p in ["cw", "lab"] {
            l.apply(Event::Party(Party {
                id: id(p),
                name: None,
            }))
            .unwrap();
        }
        l.apply(Event::Site(Site {
            id: id("s"),
            owner: id("cw"),
            region: "r".into(),
            power_mw: None,
            gpus: vec![(id("h100"), Gpus::new("g", 1000).unwrap())],
        }))
        .unwrap();
        let w = Window::new(
            Instant::from_unix_seconds(0),
            Instant::from_unix_seconds(3600),
        )
        .unwrap();
        // A 1-GPU contract is accepted once; its second copy is a duplicate.
        let once = |l: &mut Ledger, cid: Id| {
            let c = Contract {
                id: cid,
                seller: id("cw"),
                buyer: id("lab"),
                gpu: id("h100"),
                gpus: Gpus::new("g", 1).unwrap(),
                window: w,
                price_per_gpu_hour: UsdPerGpuHour::new("p", Decimal::ONE).unwrap(),
                source: Source::Site(id("s")),
                resale: false,
            };
            l.apply(Event::Contract(c.clone())).unwrap();
            assert_eq!(
                l.apply(Event::Contract(c)).unwrap_err().violations[0].code(),
                "duplicate_id"
            );
        };
        for n in 0..200 {
            once(&mut l, id(&format!("c{n}")));
        }
        for n in 0..200 {
            assert_eq!(
                l.contract(&id(&format!("c{n}"))).unwrap().contract.id,
                id(&format!("c{n}"))
            );
        }
        assert!(l.contract(&id("c200")).is_none());
        // Ids longer than a slot holds, alike in their first bytes and
        // length: told apart by the full comparison.
        let long = |n: u32| id(&format!("a-contract-id-longer-than-a-slot-{n:03}"));
        for n in 0..40 {
            once(&mut l, long(n));
        }
        for n in 0..40 {
            assert_eq!(l.contract(&long(n)).unwrap().contract.id, long(n));
        }
        assert!(l.contract(&long(40)).is_none());
        assert_eq!(
            l.site_free_at(&id("s"), &id("h100"), Instant::from_unix_seconds(0)),
            Some(760)
        );
    }
}
