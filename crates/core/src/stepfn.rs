//! Step functions of time with O(log n) range-min and range-add.
//!
//! The ledger keeps, per capacity source, the *slack* (free GPUs) as a step
//! function of time. Selling `q` GPUs over `[s, e)` is allowed iff
//! `min(slack on [s, e)) >= q`, and then adds `-q` on `[s, e)`. Scanning all
//! contracts of a holder would make a large reseller quadratic, so a large step
//! function is a treap keyed by breakpoint: every node is one piece, starting
//! at `key` and running to the next key, with subtree minimum and a lazy add.
//! Small functions are sorted pieces kept by their owner: in place up to
//! `INLINE_PIECES` (no allocation), then in a vector; large ones are
//! treaps whose nodes all live in one arena (`Forest`).

const NIL: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Node {
    key: i64,
    val: i64,
    min: i64,
    lazy: i64,
    prio: u32,
    left: u32,
    right: u32,
}

/// One step function. Small ones live inline in their owner (the contract
/// or site state the ledger reads anyway: no extra cache miss); large ones
/// are a root into the [`Forest`]'s treap arena.
#[derive(Clone, Debug)]
pub struct Tree(Repr);

/// A step function with few breakpoints is a sorted array: contiguous,
/// so a check touches one or two cache lines. Up to `INLINE_PIECES` pieces
/// it lives in the tree itself (a new contract's function and its first
/// resales: no allocation, and no pointer to follow to another cache
/// line); then in a vector; past `SMALL_MAX` pieces it becomes a treap, so
/// no operation is ever linear in a large function.
#[derive(Clone, Debug)]
enum Repr {
    /// `p[..len]`: pieces (start, value), sorted; the first starts at `i64::MIN`.
    Inline {
        len: u8,
        p: [(i64, i64); INLINE_PIECES],
    },
    /// Pieces as in `Inline`.
    Small(Vec<(i64, i64)>),
    /// Root of a treap in the node arena.
    Big(u32),
}

// A scan of 128 pieces is two dozen cache lines; month-granular windows over
// a decade stay below it, arbitrary timestamps go to the treap.
const SMALL_MAX: usize = 128;

/// Pieces a tree holds in place: 8 make a `Tree` 136 bytes, so that a
/// contract's hot part (its fields and its unsold function) is three cache
/// lines, read together.
const INLINE_PIECES: usize = 8;

/// The sorted pieces of a small function, wherever they live.
trait Pieces {
    fn slice(&self) -> &[(i64, i64)];
    fn slice_mut(&mut self) -> &mut [(i64, i64)];
    /// Inserts at `i`; the caller has made room.
    fn insert(&mut self, i: usize, piece: (i64, i64));
}

impl Pieces for Vec<(i64, i64)> {
    fn slice(&self) -> &[(i64, i64)] {
        self
    }
    fn slice_mut(&mut self) -> &mut [(i64, i64)] {
        self
    }
    fn insert(&mut self, i: usize, piece: (i64, i64)) {
        Vec::insert(self, i, piece);
    }
}

struct InlineMut<'a> {
    len: &'a mut u8,
    p: &'a mut [(i64, i64); INLINE_PIECES],
}

impl Pieces for InlineMut<'_> {
    fn slice(&self) -> &[(i64, i64)] {
        &self.p[..usize::from(*self.len)]
    }
    fn slice_mut(&mut self) -> &mut [(i64, i64)] {
        &mut self.p[..usize::from(*self.len)]
    }
    fn insert(&mut self, i: usize, piece: (i64, i64)) {
        let n = usize::from(*self.len);
        debug_assert!(n < INLINE_PIECES);
        self.p.copy_within(i..n, i + 1);
        self.p[i] = piece;
        *self.len += 1;
    }
}

impl Repr {
    fn inline(pieces: &[(i64, i64)]) -> Repr {
        let mut p = [(0, 0); INLINE_PIECES];
        p[..pieces.len()].copy_from_slice(pieces);
        Repr::Inline {
            len: pieces.len() as u8,
            p,
        }
    }

    /// The pieces of a small function; `None` for a treap.
    fn small(&self) -> Option<&[(i64, i64)]> {
        match self {
            Repr::Inline { len, p } => Some(&p[..usize::from(*len)]),
            Repr::Small(v) => Some(v),
            Repr::Big(_) => None,
        }
    }

    /// Before an update that may add two breakpoints: pieces in place that
    /// could not take them move to a vector.
    fn make_room(&mut self) {
        if let Repr::Inline { len, p } = self
            && usize::from(*len) + 2 > INLINE_PIECES
        {
            let mut v = Vec::with_capacity(2 * INLINE_PIECES);
            v.extend_from_slice(&p[..usize::from(*len)]);
            *self = Repr::Small(v);
        }
    }
}

/// Subtracts `q` on `[s, e)` of a small function if its minimum there is
/// at least `q` (see [`Forest::try_take`]).
fn small_try_take(v: &mut impl Pieces, s: i64, e: i64, q: i64) -> Result<(), RangeMin> {
    let ps = v.slice();
    let (i, j) = (small_piece(ps, s), ps.partition_point(|p| p.0 < e));
    let (mut min, mut at) = (i64::MAX, s);
    for p in &ps[i..j] {
        if p.1 < min {
            (min, at) = (p.1, p.0.max(s));
        }
    }
    if min < q {
        return Err(RangeMin { min, at });
    }
    small_add(v, s, e, -q);
    Ok(())
}

/// Adds `d` on `[s, e)` of a small function.
fn small_add(v: &mut impl Pieces, s: i64, e: i64, d: i64) {
    let i = small_ensure(v, s);
    let j = small_ensure(v, e);
    for p in &mut v.slice_mut()[i..j] {
        p.1 += d;
    }
}

#[derive(Clone, Debug, Default)]
pub struct Forest {
    nodes: Vec<Node>,
    rng: u64,
}

fn small_piece(v: &[(i64, i64)], t: i64) -> usize {
    v.partition_point(|p| p.0 <= t) - 1
}

/// Index of the piece starting at `t`, splitting the piece that covers it.
fn small_ensure(v: &mut impl Pieces, t: i64) -> usize {
    let ps = v.slice();
    let i = ps.partition_point(|p| p.0 < t);
    if i < ps.len() && ps[i].0 == t {
        return i;
    }
    let val = ps[i - 1].1;
    v.insert(i, (t, val));
    i
}

/// Where a range minimum is reached: the first instant with the minimum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangeMin {
    pub min: i64,
    pub at: i64,
}

impl Forest {
    pub fn new() -> Forest {
        Forest {
            nodes: Vec::new(),
            rng: 0x9E37_79B9_7F4A_7C15,
        }
    }

    /// Turns a small function that grew past `SMALL_MAX` into a treap.
    fn promote(&mut self, tree: &mut Tree) {
        let Repr::Small(v) = &mut tree.0 else {
            return;
        };
        if v.len() <= SMALL_MAX {
            return;
        }
        let pieces = std::mem::take(v);
        let mut root = NIL;
        for (k, val) in pieces {
            let n = self.alloc(k, val);
            root = self.merge(root, n);
        }
        tree.0 = Repr::Big(root);
    }

    fn next_prio(&mut self) -> u32 {
        // xorshift64*: deterministic, so the same events give the same trees.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }

    fn alloc(&mut self, key: i64, val: i64) -> u32 {
        let prio = self.next_prio();
        let ix = u32::try_from(self.nodes.len()).expect("step-function arena exceeds u32 nodes");
        self.nodes.push(Node {
            key,
            val,
            min: val,
            lazy: 0,
            prio,
            left: NIL,
            right: NIL,
        });
        ix
    }

    /// A new step function equal to `value` everywhere.
    pub fn constant(&mut self, value: i64) -> Tree {
        Tree(Repr::inline(&[(i64::MIN, value)]))
    }

    /// A new step function: `value` on `[s, e)`, 0 elsewhere.
    pub fn pulse(&mut self, s: i64, e: i64, value: i64) -> Tree {
        debug_assert!(i64::MIN < s && s < e);
        Tree(Repr::inline(&[(i64::MIN, 0), (s, value), (e, 0)]))
    }

    /// Subtracts `q` on `[s, e)` if the minimum there is at least `q`;
    /// otherwise changes nothing and says where the minimum is.
    pub fn try_take(&mut self, tree: &mut Tree, s: i64, e: i64, q: i64) -> Result<(), RangeMin> {
        debug_assert!(s < e);
        tree.0.make_room();
        let root = match &mut tree.0 {
            Repr::Big(root) => *root,
            Repr::Inline { len, p } => return small_try_take(&mut InlineMut { len, p }, s, e, q),
            Repr::Small(v) => {
                small_try_take(v, s, e, q)?;
                self.promote(tree);
                return Ok(());
            }
        };
        let (before, middle, after) = self.carve(root, s, e);
        let min = self.min_of(middle);
        let result = if min >= q {
            self.apply(middle, -q);
            Ok(())
        } else {
            let at = self.first_at_most(middle, min).unwrap_or(s);
            Err(RangeMin { min, at })
        };
        self.join(tree, before, middle, after);
        result
    }

    fn min_of(&self, n: u32) -> i64 {
        if n == NIL {
            i64::MAX
        } else {
            self.nodes[n as usize].min
        }
    }

    fn apply(&mut self, n: u32, d: i64) {
        if n != NIL {
            let node = &mut self.nodes[n as usize];
            node.val += d;
            node.min += d;
            node.lazy += d;
        }
    }

    #[inline]
    fn push(&mut self, n: u32) {
        let lazy = self.nodes[n as usize].lazy;
        if lazy != 0 {
            let (l, r) = (self.nodes[n as usize].left, self.nodes[n as usize].right);
            self.apply(l, lazy);
            self.apply(r, lazy);
            self.nodes[n as usize].lazy = 0;
        }
    }

    fn pull(&mut self, n: u32) {
        let node = self.nodes[n as usize];
        let m = node
            .val
            .min(self.min_of(node.left))
            .min(self.min_of(node.right));
        self.nodes[n as usize].min = m;
    }

    /// Splits into (keys < key, keys >= key).
    fn split(&mut self, n: u32, key: i64) -> (u32, u32) {
        if n == NIL {
            return (NIL, NIL);
        }
        self.push(n);
        if self.nodes[n as usize].key < key {
            let (l, r) = self.split(self.nodes[n as usize].right, key);
            self.nodes[n as usize].right = l;
            self.pull(n);
            (n, r)
        } else {
            let (l, r) = self.split(self.nodes[n as usize].left, key);
            self.nodes[n as usize].left = r;
            self.pull(n);
            (l, n)
        }
    }

    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.nodes[a as usize].prio > self.nodes[b as usize].prio {
            self.push(a);
            let r = self.merge(self.nodes[a as usize].right, b);
            self.nodes[a as usize].right = r;
            self.pull(a);
            a
        } else {
            self.push(b);
            let l = self.merge(a, self.nodes[b as usize].left);
            self.nodes[b as usize].left = l;
            self.pull(b);
            b
        }
    }

    /// Value at `t` without restructuring.
    pub fn value_at(&self, tree: &Tree, t: i64) -> i64 {
        match (&tree.0, tree.0.small()) {
            (Repr::Big(root), _) => self.treap_value_at(*root, t),
            (_, v) => {
                let v = v.expect("not a treap: small");
                v[small_piece(v, t)].1
            }
        }
    }

    fn treap_value_at(&self, root: u32, t: i64) -> i64 {
        let mut cur = root;
        let mut acc = 0i64;
        let mut best = 0i64;
        while cur != NIL {
            let node = &self.nodes[cur as usize];
            if node.key <= t {
                best = node.val + acc;
                acc += node.lazy;
                cur = node.right;
            } else {
                acc += node.lazy;
                cur = node.left;
            }
        }
        best
    }

    fn has_key(&self, mut n: u32, t: i64) -> bool {
        while n != NIL {
            let node = &self.nodes[n as usize];
            if node.key == t {
                return true;
            }
            n = if t < node.key { node.left } else { node.right };
        }
        false
    }

    /// Makes `t` a breakpoint of the subtree `root` (the function is unchanged).
    fn ensure(&mut self, root: u32, t: i64) -> u32 {
        // Breakpoints repeat (month starts, shared windows): look before restructuring.
        if self.has_key(root, t) {
            return root;
        }
        let (l, r) = self.split(root, t);
        // The piece before `t` continues up to `t`: copy its value.
        let v = self.treap_value_at(l, t);
        let node = self.alloc(t, v);
        let l = self.merge(l, node);
        self.merge(l, r)
    }

    /// Splits out the pieces covering `[s, e)`: (before, middle, after).
    fn carve(&mut self, root: u32, s: i64, e: i64) -> (u32, u32, u32) {
        let root = self.ensure(root, s);
        let root = self.ensure(root, e);
        let (before, rest) = self.split(root, s);
        let (middle, after) = self.split(rest, e);
        (before, middle, after)
    }

    fn join(&mut self, tree: &mut Tree, before: u32, middle: u32, after: u32) {
        let m = self.merge(before, middle);
        let root = self.merge(m, after);
        tree.0 = Repr::Big(root);
    }

    /// Minimum over `[s, e)` and the first instant where it is reached.
    #[cfg(test)]
    pub fn range_min(&mut self, tree: &mut Tree, s: i64, e: i64) -> RangeMin {
        match self.try_take(tree, s, e, i64::MAX) {
            Err(m) => m,
            Ok(()) => unreachable!("nothing holds i64::MAX"),
        }
    }

    /// Key of the leftmost node in `n` whose value is at most `bound`.
    fn first_at_most(&mut self, mut n: u32, bound: i64) -> Option<i64> {
        while n != NIL {
            self.push(n);
            let node = self.nodes[n as usize];
            if self.min_of(node.left) <= bound {
                n = node.left;
            } else if node.val <= bound {
                return Some(node.key);
            } else {
                n = node.right;
            }
        }
        None
    }

    /// The pieces covering `[from, to)`, in order, into `out` (cleared
    /// first): the piece holding `from` (starting at `from`), then every
    /// breakpoint before `to`. Read-only, so queries can share the ledger.
    pub fn pieces(&self, tree: &Tree, from: i64, to: i64, out: &mut Vec<(i64, i64)>) {
        out.clear();
        match (&tree.0, tree.0.small()) {
            (Repr::Big(root), _) => {
                out.push((from, self.treap_value_at(*root, from)));
                self.collect(*root, from, to, 0, out);
            }
            (_, v) => {
                let v = v.expect("not a treap: small");
                let i = small_piece(v, from);
                out.push((from, v[i].1));
                out.extend(v[i + 1..].iter().take_while(|p| p.0 < to).copied());
            }
        }
    }

    /// In-order pieces of subtree `n` with keys in `(lo, hi)`; `acc` is the
    /// lazy add of the ancestors, which the node's own value does not hold yet.
    fn collect(&self, n: u32, lo: i64, hi: i64, acc: i64, out: &mut Vec<(i64, i64)>) {
        if n == NIL {
            return;
        }
        let node = &self.nodes[n as usize];
        let below = acc + node.lazy;
        if node.key > lo {
            self.collect(node.left, lo, hi, below, out);
        }
        if lo < node.key && node.key < hi {
            out.push((node.key, node.val + acc));
        }
        if node.key < hi {
            self.collect(node.right, lo, hi, below, out);
        }
    }

    /// Adds `d` on `[s, e)`.
    pub fn range_add(&mut self, tree: &mut Tree, s: i64, e: i64, d: i64) {
        debug_assert!(s < e);
        tree.0.make_room();
        let root = match &mut tree.0 {
            Repr::Big(root) => *root,
            Repr::Inline { len, p } => return small_add(&mut InlineMut { len, p }, s, e, d),
            Repr::Small(v) => {
                small_add(v, s, e, d);
                self.promote(tree);
                return;
            }
        };
        let (before, middle, after) = self.carve(root, s, e);
        self.apply(middle, d);
        self.join(tree, before, middle, after);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn range_add_and_min() {
        let mut f = Forest::new();
        let mut t = f.constant(10);
        f.range_add(&mut t, 5, 10, -4);
        f.range_add(&mut t, 8, 20, -3);
        assert_eq!(f.value_at(&t, 4), 10);
        assert_eq!(f.value_at(&t, 5), 6);
        assert_eq!(f.value_at(&t, 8), 3);
        assert_eq!(f.value_at(&t, 10), 7);
        assert_eq!(f.value_at(&t, 20), 10);
        assert_eq!(f.range_min(&mut t, 0, 100), RangeMin { min: 3, at: 8 });
        assert_eq!(f.range_min(&mut t, 10, 100), RangeMin { min: 7, at: 10 });
        assert_eq!(f.range_min(&mut t, 0, 5), RangeMin { min: 10, at: 0 });
        assert_eq!(f.range_min(&mut t, 9, 10), RangeMin { min: 3, at: 9 });
    }

    #[test]
    fn large_functions_agree_with_an_array() {
        // Enough breakpoints to leave the inline vector for the treap.
        let mut f = Forest::new();
        let mut t = f.constant(0);
        let mut arr = vec![0i64; 1000];
        let mut x = 0x2545_f491_u64;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n) as i64
        };
        for _ in 0..400 {
            let s = next(990);
            let e = s + 1 + next(999 - s as u64);
            let d = next(11) - 5;
            f.range_add(&mut t, s, e, d);
            for v in &mut arr[s as usize..e as usize] {
                *v += d;
            }
        }
        assert!(matches!(t.0, Repr::Big(_)));
        let mut pieces = Vec::new();
        for _ in 0..50 {
            let s = next(990);
            let e = s + 1 + next(999 - s as u64);
            f.pieces(&t, s, e, &mut pieces);
            assert!(pieces.windows(2).all(|w| w[0].0 < w[1].0));
            for i in s..e {
                let k = pieces.partition_point(|p| p.0 <= i) - 1;
                assert_eq!(pieces[k].1, arr[i as usize], "at {i}");
            }
        }
        for (i, v) in arr.iter().enumerate() {
            assert_eq!(f.value_at(&t, i as i64), *v);
        }
    }

    proptest! {
        // The treap agrees with a plain array on a small time axis.
        #[test]
        fn agrees_with_array(ops in proptest::collection::vec((0i64..40, 1i64..40, -5i64..5, any::<bool>()), 1..60)) {
            let mut f = Forest::new();
            let mut t = f.constant(0);
            let mut arr = [0i64; 80];
            for (s, len, d, query) in ops {
                let e = s + len;
                if query {
                    let naive_min = arr[s as usize..e as usize].iter().copied().min().unwrap();
                    let naive_at = s + arr[s as usize..e as usize].iter().position(|&v| v == naive_min).unwrap() as i64;
                    prop_assert_eq!(f.range_min(&mut t, s, e), RangeMin { min: naive_min, at: naive_at });
                } else {
                    f.range_add(&mut t, s, e, d);
                    for v in &mut arr[s as usize..e as usize] { *v += d; }
                }
                for (i, v) in arr.iter().enumerate() {
                    prop_assert_eq!(f.value_at(&t, i as i64), *v);
                }
                // The pieces of [s, e) give back the array's values there.
                let mut pieces = Vec::new();
                f.pieces(&t, s, e, &mut pieces);
                for x in s..e {
                    let k = pieces.partition_point(|p| p.0 <= x) - 1;
                    prop_assert_eq!(pieces[k].1, arr[x as usize]);
                }
            }
        }
    }
}
