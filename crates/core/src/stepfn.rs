//! Step functions of time with O(log n) range-min and range-add.
//!
//! The ledger keeps, per capacity source, the *slack* (free GPUs) as a step
//! function of time. Selling `q` GPUs over `[s, e)` is allowed iff
//! `min(slack on [s, e)) >= q`, and then adds `-q` on `[s, e)`. Scanning all
//! contracts of a holder would make a large reseller quadratic, so each step
//! function is a treap keyed by breakpoint: every node is one piece, starting
//! at `key` and running to the next key, with subtree minimum and a lazy add.
//! All trees live in one arena (`Forest`) to keep allocation flat.

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

/// Handle of one step function inside a [`Forest`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tree(u32);

#[derive(Clone, Debug, Default)]
pub struct Forest {
    nodes: Vec<Node>,
    rng: u64,
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
        Tree(self.alloc(i64::MIN, value))
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

    fn push(&mut self, n: u32) {
        let node = self.nodes[n as usize];
        if node.lazy != 0 {
            self.apply(node.left, node.lazy);
            self.apply(node.right, node.lazy);
            self.nodes[n as usize].lazy = 0;
        }
    }

    fn pull(&mut self, n: u32) {
        let node = self.nodes[n as usize];
        let m = node.val.min(self.min_of(node.left)).min(self.min_of(node.right));
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

    fn leftmost_key(&self, mut n: u32) -> Option<i64> {
        if n == NIL {
            return None;
        }
        while self.nodes[n as usize].left != NIL {
            n = self.nodes[n as usize].left;
        }
        Some(self.nodes[n as usize].key)
    }

    /// Value at `t` without restructuring.
    pub fn value_at(&self, tree: Tree, t: i64) -> i64 {
        let mut cur = tree.0;
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

    /// Makes `t` a breakpoint of the subtree `root` (the function is unchanged).
    fn ensure(&mut self, root: u32, t: i64) -> u32 {
        let (l, r) = self.split(root, t);
        if self.leftmost_key(r) == Some(t) {
            return self.merge(l, r);
        }
        // The piece before `t` continues up to `t`: copy its value.
        let v = self.value_at(Tree(l), t);
        let node = self.alloc(t, v);
        let l = self.merge(l, node);
        self.merge(l, r)
    }

    /// Splits out the pieces covering `[s, e)`: (before, middle, after).
    fn carve(&mut self, tree: Tree, s: i64, e: i64) -> (u32, u32, u32) {
        let root = self.ensure(tree.0, s);
        let root = self.ensure(root, e);
        let (before, rest) = self.split(root, s);
        let (middle, after) = self.split(rest, e);
        (before, middle, after)
    }

    fn join(&mut self, tree: &mut Tree, before: u32, middle: u32, after: u32) {
        let m = self.merge(before, middle);
        tree.0 = self.merge(m, after);
    }

    /// Minimum over `[s, e)` and the first instant where it is reached.
    pub fn range_min(&mut self, tree: &mut Tree, s: i64, e: i64) -> RangeMin {
        debug_assert!(s < e);
        let (before, middle, after) = self.carve(*tree, s, e);
        let min = self.min_of(middle);
        let at = self.first_at_most(middle, min).unwrap_or(s);
        self.join(tree, before, middle, after);
        RangeMin { min, at }
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

    /// Adds `d` on `[s, e)`.
    pub fn range_add(&mut self, tree: &mut Tree, s: i64, e: i64, d: i64) {
        debug_assert!(s < e);
        let (before, middle, after) = self.carve(*tree, s, e);
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
        assert_eq!(f.value_at(t, 4), 10);
        assert_eq!(f.value_at(t, 5), 6);
        assert_eq!(f.value_at(t, 8), 3);
        assert_eq!(f.value_at(t, 10), 7);
        assert_eq!(f.value_at(t, 20), 10);
        assert_eq!(f.range_min(&mut t, 0, 100), RangeMin { min: 3, at: 8 });
        assert_eq!(f.range_min(&mut t, 10, 100), RangeMin { min: 7, at: 10 });
        assert_eq!(f.range_min(&mut t, 0, 5), RangeMin { min: 10, at: 0 });
        assert_eq!(f.range_min(&mut t, 9, 10), RangeMin { min: 3, at: 9 });
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
                    prop_assert_eq!(f.value_at(t, i as i64), *v);
                }
            }
        }
    }
}
