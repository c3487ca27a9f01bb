//! [`DeadlineTree`]: the runnable entities of `fair`, ordered by virtual
//! deadline and augmented with the least vruntime of every subtree, so the
//! EEVDF pick — the earliest deadline among entities whose vruntime is at
//! most V — is one walk from the root: O(depth).
//!
//! A treap over dense slots (the node of slot `s` is `nodes[s]`), with
//! priorities from a hash of an insertion counter, so its shape, like every
//! decision here, depends only on the sequence of calls. Expected depth
//! O(log n); insertion and removal rotate O(1) times on average and repair
//! the subtree minima along one path, stopping where nothing changed.

/// No node.
const NIL: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Node {
    deadline: u64,
    vruntime: u64,
    /// Least vruntime in this node's subtree.
    min_vruntime: u64,
    left: u32,
    right: u32,
    parent: u32,
    /// Treap priority: a parent's is never above its children's.
    prio: u32,
}

const EMPTY: Node = Node {
    deadline: 0,
    vruntime: 0,
    min_vruntime: u64::MAX,
    left: NIL,
    right: NIL,
    parent: NIL,
    prio: 0,
};

/// Entities by `(deadline, slot)`, with subtree-minimum vruntimes.
#[derive(Debug, Clone)]
pub struct DeadlineTree {
    nodes: Vec<Node>,
    root: u32,
    len: usize,
    /// Counts insertions; hashed into priorities.
    inserts: u64,
}

impl Default for DeadlineTree {
    fn default() -> Self {
        DeadlineTree {
            nodes: Vec::new(),
            root: NIL,
            len: 0,
            inserts: 0,
        }
    }
}

/// SplitMix64's finalizer: a well-mixed priority from a counter.
fn mix(mut z: u64) -> u32 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as u32
}

impl DeadlineTree {
    /// An empty tree.
    pub fn new() -> DeadlineTree {
        DeadlineTree::default()
    }

    /// Number of entities in the tree.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the tree is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Inserts `slot` (not in the tree) with its deadline and vruntime.
    pub fn insert(&mut self, slot: usize, deadline: u64, vruntime: u64) {
        if slot >= self.nodes.len() {
            self.nodes.resize(slot + 1, EMPTY);
        }
        self.inserts += 1;
        let x = slot as u32;
        self.nodes[slot] = Node {
            deadline,
            vruntime,
            min_vruntime: vruntime,
            prio: mix(self.inserts),
            ..EMPTY
        };
        self.len += 1;
        if self.root == NIL {
            self.root = x;
            return;
        }
        // Down to a leaf, lowering the minima of the subtrees x joins.
        let key = (deadline, x);
        let mut p = self.root;
        loop {
            let n = &mut self.nodes[p as usize];
            n.min_vruntime = n.min_vruntime.min(vruntime);
            let next = if key < (n.deadline, p) {
                &mut n.left
            } else {
                &mut n.right
            };
            if *next == NIL {
                *next = x;
                break;
            }
            p = *next;
        }
        self.nodes[slot].parent = p;
        // Up while the heap order on priorities is violated.
        loop {
            let p = self.nodes[slot].parent;
            if p == NIL || self.nodes[p as usize].prio <= self.nodes[slot].prio {
                break;
            }
            self.rotate_up(x);
        }
    }

    /// Removes `slot` (in the tree).
    pub fn remove(&mut self, slot: usize) {
        let x = slot as u32;
        // Down until x has at most one child.
        loop {
            let Node { left, right, .. } = self.nodes[slot];
            if left == NIL || right == NIL {
                break;
            }
            let c = if self.nodes[left as usize].prio < self.nodes[right as usize].prio {
                left
            } else {
                right
            };
            self.rotate_up(c);
        }
        let Node {
            left,
            right,
            parent,
            ..
        } = self.nodes[slot];
        let child = if left != NIL { left } else { right };
        if child != NIL {
            self.nodes[child as usize].parent = parent;
        }
        self.replace_child(parent, x, child);
        self.nodes[slot] = EMPTY;
        self.len -= 1;
        // Every ancestor's minimum counted x; repair them until one is unchanged.
        let mut q = parent;
        while q != NIL {
            let old = self.nodes[q as usize].min_vruntime;
            self.pull(q);
            if self.nodes[q as usize].min_vruntime == old {
                break;
            }
            q = self.nodes[q as usize].parent;
        }
    }

    /// The slot with the earliest `(deadline, slot)` among those whose
    /// vruntime satisfies `eligible` (a predicate true up to some threshold
    /// and false beyond it), if any.
    pub fn earliest_eligible(&self, eligible: impl Fn(u64) -> bool) -> Option<usize> {
        let mut n = self.root;
        if n == NIL || !eligible(self.nodes[n as usize].min_vruntime) {
            return None;
        }
        // Invariant: n's subtree holds an eligible entity.
        loop {
            let node = &self.nodes[n as usize];
            if node.left != NIL && eligible(self.nodes[node.left as usize].min_vruntime) {
                n = node.left;
            } else if eligible(node.vruntime) {
                return Some(n as usize);
            } else {
                n = node.right;
            }
        }
    }

    /// The slot with the least vruntime (earliest deadline among equals).
    pub fn least_vruntime(&self) -> Option<usize> {
        let mut n = self.root;
        if n == NIL {
            return None;
        }
        loop {
            let node = &self.nodes[n as usize];
            let least = node.min_vruntime;
            if node.left != NIL && self.nodes[node.left as usize].min_vruntime == least {
                n = node.left;
            } else if node.vruntime == least {
                return Some(n as usize);
            } else {
                n = node.right;
            }
        }
    }

    /// The least vruntime in the tree.
    pub fn min_vruntime(&self) -> Option<u64> {
        (self.root != NIL).then(|| self.nodes[self.root as usize].min_vruntime)
    }

    /// Every slot in the tree, by `(deadline, slot)`.
    pub fn in_order(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.len);
        let mut stack = Vec::new();
        let mut n = self.root;
        while n != NIL || !stack.is_empty() {
            while n != NIL {
                stack.push(n);
                n = self.nodes[n as usize].left;
            }
            let Some(top) = stack.pop() else { break };
            out.push(top as usize);
            n = self.nodes[top as usize].right;
        }
        out
    }

    /// Empties the tree.
    pub fn clear(&mut self) {
        self.nodes.fill(EMPTY);
        self.root = NIL;
        self.len = 0;
    }

    /// Recomputes `n`'s subtree minimum from its children.
    #[inline]
    fn pull(&mut self, n: u32) {
        let Node {
            vruntime,
            left,
            right,
            ..
        } = self.nodes[n as usize];
        let mut m = vruntime;
        if left != NIL {
            m = m.min(self.nodes[left as usize].min_vruntime);
        }
        if right != NIL {
            m = m.min(self.nodes[right as usize].min_vruntime);
        }
        self.nodes[n as usize].min_vruntime = m;
    }

    /// Points `parent`'s link to `old` (or the root) at `new`.
    fn replace_child(&mut self, parent: u32, old: u32, new: u32) {
        if parent == NIL {
            self.root = new;
        } else {
            let p = &mut self.nodes[parent as usize];
            if p.left == old {
                p.left = new;
            } else {
                p.right = new;
            }
        }
    }

    /// Rotates `x` above its parent, keeping the in-order sequence.
    fn rotate_up(&mut self, x: u32) {
        let p = self.nodes[x as usize].parent;
        let g = self.nodes[p as usize].parent;
        if self.nodes[p as usize].left == x {
            let b = self.nodes[x as usize].right;
            self.nodes[p as usize].left = b;
            if b != NIL {
                self.nodes[b as usize].parent = p;
            }
            self.nodes[x as usize].right = p;
        } else {
            let b = self.nodes[x as usize].left;
            self.nodes[p as usize].right = b;
            if b != NIL {
                self.nodes[b as usize].parent = p;
            }
            self.nodes[x as usize].left = p;
        }
        self.nodes[p as usize].parent = x;
        self.nodes[x as usize].parent = g;
        self.replace_child(g, p, x);
        self.pull(p);
        self.pull(x);
    }

    /// Checks every structural invariant (tests).
    #[cfg(test)]
    pub(crate) fn check(&self) {
        fn walk(t: &DeadlineTree, n: u32, parent: u32) -> (usize, u64) {
            if n == NIL {
                return (0, u64::MAX);
            }
            let node = t.nodes[n as usize];
            assert_eq!(node.parent, parent);
            let mut min = node.vruntime;
            let mut count = 1;
            for c in [node.left, node.right] {
                if c != NIL {
                    assert!(t.nodes[c as usize].prio >= node.prio);
                    let (k, m) = walk(t, c, n);
                    count += k;
                    min = min.min(m);
                }
            }
            if node.left != NIL {
                assert!((t.nodes[node.left as usize].deadline, node.left) < (node.deadline, n));
            }
            if node.right != NIL {
                assert!((t.nodes[node.right as usize].deadline, node.right) > (node.deadline, n));
            }
            assert_eq!(node.min_vruntime, min);
            (count, min)
        }
        let (count, _) = walk(self, self.root, NIL);
        assert_eq!(count, self.len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_match_brute_force_under_churn() {
        let mut t = DeadlineTree::new();
        let mut model: std::collections::BTreeMap<usize, (u64, u64)> = Default::default();
        let mut x: u64 = 99;
        for step in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let slot = (x >> 40) as usize % 200;
            if model.remove(&slot).is_some() {
                t.remove(slot);
            } else {
                let v = (x >> 8) % 1000;
                let d = v + (x >> 30) % 500;
                t.insert(slot, d, v);
                model.insert(slot, (d, v));
            }
            if step % 97 == 0 {
                t.check();
            }
            let threshold = (x >> 50) % 1100;
            let want = model
                .iter()
                .filter(|(_, &(_, v))| v <= threshold)
                .min_by_key(|(&s, &(d, _))| (d, s))
                .map(|(&s, _)| s);
            assert_eq!(t.earliest_eligible(|v| v <= threshold), want);
            let least = model
                .iter()
                .min_by_key(|(&s, &(d, v))| (v, d, s))
                .map(|(&s, _)| s);
            let got = t.least_vruntime();
            assert_eq!(got.map(|s| model[&s].1), least.map(|s| model[&s].1));
            assert_eq!(t.len(), model.len());
        }
        let mut by_deadline: Vec<_> = model.iter().map(|(&s, &(d, _))| (d, s)).collect();
        by_deadline.sort_unstable();
        assert_eq!(
            t.in_order(),
            by_deadline.into_iter().map(|(_, s)| s).collect::<Vec<_>>()
        );
        t.clear();
        assert!(t.is_empty() && t.earliest_eligible(|_| true).is_none());
    }
}
