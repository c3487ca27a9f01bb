//! [`DeadlineTree`]: the runnable entities of `fair`, ordered by virtual
//! deadline and augmented with the least vruntime under every child, so the
//! EEVDF pick — the earliest deadline among entities whose vruntime is at
//! most V — is one walk from the root.
//!
//! A B+ tree over dense slots: leaves hold fewer than [`LEAF_CAP`] entries
//! (deadline, vruntime, slot), equal deadlines in insertion order; inner
//! nodes fewer than [`INNER_CAP`] children with, for each, a separating
//! deadline and the least vruntime beneath it. Every leaf is at the same
//! depth and every node but the root at least a quarter full, so the height
//! is O(log n) — four levels at 10 000 entities — and each level is a few
//! adjacent cache lines rather than one pointer chase per binary level. A
//! slot → leaf table finds an entity to remove. Insert, remove and the
//! eligible pick are O(log n) worst case; a new latest deadline (the usual
//! insert) is routed and placed without searching.

/// No node.
const NIL: u32 = u32::MAX;

/// A leaf that reaches this many entries splits.
pub const LEAF_CAP: usize = 32;
/// An inner node that reaches this many children splits.
pub const INNER_CAP: usize = 16;

#[derive(Debug, Clone)]
struct Leaf<const L: usize> {
    len: usize,
    parent: u32,
    /// By deadline; equal deadlines in insertion order.
    entries: [Entry; L],
}

/// One entity in a leaf (an array of these, so a shift is one move).
#[derive(Debug, Clone, Copy)]
struct Entry {
    deadline: u64,
    vruntime: u64,
    slot: u32,
}

impl<const L: usize> Leaf<L> {
    const EMPTY: Self = Leaf {
        len: 0,
        parent: NIL,
        entries: [Entry {
            deadline: 0,
            vruntime: 0,
            slot: 0,
        }; L],
    };
}

#[derive(Debug, Clone)]
struct Inner<const I: usize> {
    len: usize,
    parent: u32,
    child: [u32; I],
    /// Least vruntime under each child.
    min_v: [u64; I],
    /// `sep[i]`, i ≥ 1: every deadline under child i is at least it and
    /// every one under child i − 1 at most it. `sep[0]` is unused.
    sep: [u64; I],
}

impl<const I: usize> Inner<I> {
    const EMPTY: Self = Inner {
        len: 0,
        parent: NIL,
        child: [NIL; I],
        min_v: [u64::MAX; I],
        sep: [0; I],
    };
}

/// Entities by deadline (equal deadlines in insertion order), with
/// subtree-minimum vruntimes.
#[derive(Debug, Clone)]
pub struct DeadlineTree<const L: usize = LEAF_CAP, const I: usize = INNER_CAP> {
    leaves: Vec<Leaf<L>>,
    free_leaves: Vec<u32>,
    inners: Vec<Inner<I>>,
    free_inners: Vec<u32>,
    root: u32,
    /// Inner levels above the leaves (0: the root is a leaf).
    height: usize,
    len: usize,
    /// The leaf holding each slot (meaningless for slots not in the tree).
    leaf_of: Vec<u32>,
}

impl<const L: usize, const I: usize> Default for DeadlineTree<L, I> {
    fn default() -> Self {
        let () = Self::SIZES_OK;
        DeadlineTree {
            leaves: vec![Leaf::EMPTY],
            free_leaves: Vec::new(),
            inners: Vec::new(),
            free_inners: Vec::new(),
            root: 0,
            height: 0,
            len: 0,
            leaf_of: Vec::new(),
        }
    }
}

impl<const L: usize> Leaf<L> {
    fn min_v(&self) -> u64 {
        self.entries[..self.len]
            .iter()
            .map(|e| e.vruntime)
            .min()
            .unwrap_or(u64::MAX)
    }
}

impl<const I: usize> Inner<I> {
    fn min_v(&self) -> u64 {
        self.min_v[..self.len]
            .iter()
            .copied()
            .min()
            .unwrap_or(u64::MAX)
    }

    /// The child a new `key` goes to: the last whose range can hold it, so
    /// it lands after any equal keys.
    #[inline]
    fn route(&self, key: u64) -> usize {
        if key >= self.sep[self.len - 1] {
            // The last child (new deadlines are mostly the latest).
            return self.len - 1;
        }
        self.sep[1..self.len]
            .iter()
            .take_while(|&&s| s <= key)
            .count()
    }

    fn index_of(&self, child: u32) -> usize {
        self.child[..self.len]
            .iter()
            .position(|&c| c == child)
            .expect("a node is among its parent's children")
    }
}

impl<const L: usize, const I: usize> DeadlineTree<L, I> {
    /// Entries per leaf (not the root), at least.
    const LEAF_MIN: usize = L / 4;
    /// Children per inner node (not the root), at least.
    const INNER_MIN: usize = I / 4;

    /// Node sizes that keep every non-root inner node at two children or
    /// more (each leaf then has a sibling to merge with or borrow from).
    const SIZES_OK: () = assert!(
        L >= 4 && I >= 8,
        "leaves of 4+ entries, inner nodes of 8+ children"
    );

    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
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
        if slot >= self.leaf_of.len() {
            self.leaf_of.resize(slot + 1, NIL);
        }
        let k = deadline;
        let mut node = self.root;
        for _ in 0..self.height {
            let inner = &mut self.inners[node as usize];
            let i = inner.route(k);
            inner.min_v[i] = inner.min_v[i].min(vruntime);
            node = inner.child[i];
        }
        let leaf = &mut self.leaves[node as usize];
        // New deadlines mostly go last (ties join the end of their run).
        let at = match leaf.entries[..leaf.len].last() {
            Some(e) if e.deadline > k => {
                leaf.entries[..leaf.len].partition_point(|e| e.deadline <= k)
            }
            _ => leaf.len,
        };
        leaf.entries.copy_within(at..leaf.len, at + 1);
        leaf.entries[at] = Entry {
            deadline,
            vruntime,
            slot: slot as u32,
        };
        leaf.len += 1;
        self.leaf_of[slot] = node;
        self.len += 1;
        if leaf.len == L {
            // Split just after the new entry (within the occupancy bounds):
            // the next entries of a run of appends (ties join the end of
            // theirs) go on filling the left leaf, so leaves end up about
            // three quarters full instead of half.
            self.split_leaf(node, (at + 1).clamp(L / 4, L - L / 4));
        }
    }

    /// Removes `slot` (in the tree).
    pub fn remove(&mut self, slot: usize) {
        let node = self.leaf_of[slot];
        let leaf = &self.leaves[node as usize];
        let at = leaf.entries[..leaf.len]
            .iter()
            .position(|e| e.slot as usize == slot)
            .expect("the slot is in its leaf");
        self.remove_at(node, at);
    }

    /// Removes and returns the slot [`DeadlineTree::earliest_eligible`] would
    /// name, in the same walk.
    pub fn take_earliest_eligible(&mut self, eligible: impl Fn(u64) -> bool) -> Option<usize> {
        let (leaf, at) = self.find_earliest_eligible(&eligible)?;
        let slot = self.leaves[leaf as usize].entries[at].slot as usize;
        self.remove_at(leaf, at);
        Some(slot)
    }

    /// The slot with the earliest deadline (the first inserted among equals)
    /// among those whose vruntime satisfies `eligible`, if any.
    pub fn earliest_eligible(&self, eligible: impl Fn(u64) -> bool) -> Option<usize> {
        self.find_earliest_eligible(&eligible)
            .map(|(leaf, at)| self.leaves[leaf as usize].entries[at].slot as usize)
    }

    /// The slot with the least vruntime (earliest deadline among equals).
    pub fn least_vruntime(&self) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let mut node = self.root;
        for _ in 0..self.height {
            let inner = &self.inners[node as usize];
            let least = inner.min_v();
            let i = inner.min_v[..inner.len]
                .iter()
                .position(|&m| m == least)
                .expect("the least is among the children");
            node = inner.child[i];
        }
        let leaf = &self.leaves[node as usize];
        let least = leaf.min_v();
        let at = leaf.entries[..leaf.len]
            .iter()
            .position(|e| e.vruntime == least)
            .expect("the least is in the leaf");
        Some(leaf.entries[at].slot as usize)
    }

    /// The least vruntime in the tree.
    pub fn min_vruntime(&self) -> Option<u64> {
        if self.len == 0 {
            None
        } else if self.height == 0 {
            Some(self.leaves[self.root as usize].min_v())
        } else {
            Some(self.inners[self.root as usize].min_v())
        }
    }

    /// Every slot in the tree, by deadline.
    pub fn in_order(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.len);
        self.collect(self.root, self.height, &mut out);
        out
    }

    /// Empties the tree.
    pub fn clear(&mut self) {
        self.leaves.clear();
        self.leaves.push(Leaf::EMPTY);
        self.free_leaves.clear();
        self.inners.clear();
        self.free_inners.clear();
        self.root = 0;
        self.height = 0;
        self.len = 0;
    }

    fn collect(&self, node: u32, height: usize, out: &mut Vec<usize>) {
        if height == 0 {
            let leaf = &self.leaves[node as usize];
            out.extend(leaf.entries[..leaf.len].iter().map(|e| e.slot as usize));
        } else {
            let inner = &self.inners[node as usize];
            for &c in &inner.child[..inner.len] {
                self.collect(c, height - 1, out);
            }
        }
    }

    /// The leaf and index of the earliest eligible entry. Children are in key
    /// order, so the first child with an eligible entity beneath it holds
    /// the earliest one.
    #[inline]
    fn find_earliest_eligible(&self, eligible: &impl Fn(u64) -> bool) -> Option<(u32, usize)> {
        let mut node = self.root;
        for _ in 0..self.height {
            let inner = &self.inners[node as usize];
            let i = inner.min_v[..inner.len].iter().position(|&m| eligible(m))?;
            node = inner.child[i];
        }
        let leaf = &self.leaves[node as usize];
        let at = leaf.entries[..leaf.len]
            .iter()
            .position(|e| eligible(e.vruntime))?;
        Some((node, at))
    }

    fn remove_at(&mut self, node: u32, at: usize) {
        let leaf = &mut self.leaves[node as usize];
        let gone = leaf.entries[at].vruntime;
        leaf.entries.copy_within(at + 1..leaf.len, at);
        leaf.len -= 1;
        let len = leaf.len;
        self.len -= 1;
        let parent = leaf.parent;
        if parent != NIL {
            let i = self.inners[parent as usize].index_of(node);
            // The minimum can only have moved if the entry was it.
            if gone <= self.inners[parent as usize].min_v[i] {
                let m = self.leaves[node as usize].min_v();
                self.set_child_min(parent, i, m);
            }
            if len < Self::LEAF_MIN {
                self.rebalance_leaf(node, parent, i);
            }
        }
    }

    /// Raises the least vruntime under child `i` of `node` to `m` (after a
    /// removal) and carries the change up while it changes an ancestor's
    /// minimum.
    fn set_child_min(&mut self, mut node: u32, mut i: usize, mut m: u64) {
        loop {
            let inner = &mut self.inners[node as usize];
            let old = std::mem::replace(&mut inner.min_v[i], m);
            let parent = inner.parent;
            if m == old || parent == NIL {
                return;
            }
            let j = self.inners[parent as usize].index_of(node);
            // `node`'s minimum as its parent knows it; it moves only if the
            // raised child held it.
            let before = self.inners[parent as usize].min_v[j];
            if old > before {
                return;
            }
            let after = self.inners[node as usize].min_v();
            if after == before {
                return;
            }
            node = parent;
            i = j;
            m = after;
        }
    }

    fn new_leaf(&mut self) -> u32 {
        match self.free_leaves.pop() {
            Some(l) => {
                self.leaves[l as usize] = Leaf::EMPTY;
                l
            }
            None => {
                self.leaves.push(Leaf::EMPTY);
                u32::try_from(self.leaves.len() - 1).expect("fewer than 2^32 leaves")
            }
        }
    }

    fn new_inner(&mut self) -> u32 {
        match self.free_inners.pop() {
            Some(n) => {
                self.inners[n as usize] = Inner::EMPTY;
                n
            }
            None => {
                self.inners.push(Inner::EMPTY);
                u32::try_from(self.inners.len() - 1).expect("fewer than 2^32 inner nodes")
            }
        }
    }

    /// Moves the entries of a full leaf from `half` on to a new right sibling.
    fn split_leaf(&mut self, a: u32, half: usize) {
        let b = self.new_leaf();
        let (la, lb) = two_mut(&mut self.leaves, a as usize, b as usize);
        lb.len = la.len - half;
        lb.entries[..lb.len].copy_from_slice(&la.entries[half..la.len]);
        la.len = half;
        lb.parent = la.parent;
        for e in &lb.entries[..lb.len] {
            self.leaf_of[e.slot as usize] = b;
        }
        let sep = self.leaves[b as usize].entries[0].deadline;
        let (min_a, min_b) = (
            self.leaves[a as usize].min_v(),
            self.leaves[b as usize].min_v(),
        );
        self.attach_right(a, b, sep, min_a, min_b, 0);
    }

    /// Moves the upper half of a full inner node to a new right sibling.
    fn split_inner(&mut self, a: u32, level: usize) {
        let b = self.new_inner();
        let half = I / 2;
        let (na, nb) = two_mut(&mut self.inners, a as usize, b as usize);
        nb.len = na.len - half;
        nb.child[..nb.len].copy_from_slice(&na.child[half..na.len]);
        nb.min_v[..nb.len].copy_from_slice(&na.min_v[half..na.len]);
        nb.sep[..nb.len].copy_from_slice(&na.sep[half..na.len]);
        na.len = half;
        nb.parent = na.parent;
        let sep = nb.sep[0];
        let children = nb.child;
        let moved = nb.len;
        for &c in &children[..moved] {
            self.set_parent(c, level - 1, b);
        }
        let (min_a, min_b) = (
            self.inners[a as usize].min_v(),
            self.inners[b as usize].min_v(),
        );
        self.attach_right(a, b, sep, min_a, min_b, level);
    }

    /// Hangs `b` (at `level`) right of its sibling `a` under their parent,
    /// growing a new root if `a` was the root.
    fn attach_right(&mut self, a: u32, b: u32, sep: u64, min_a: u64, min_b: u64, level: usize) {
        let parent = self.parent(a, level);
        if parent == NIL {
            let r = self.new_inner();
            let root = &mut self.inners[r as usize];
            root.len = 2;
            root.child[..2].copy_from_slice(&[a, b]);
            root.min_v[..2].copy_from_slice(&[min_a, min_b]);
            root.sep[1] = sep;
            self.set_parent(a, level, r);
            self.set_parent(b, level, r);
            self.root = r;
            self.height += 1;
            return;
        }
        let p = &mut self.inners[parent as usize];
        let i = p.index_of(a);
        let len = p.len;
        p.child.copy_within(i + 1..len, i + 2);
        p.min_v.copy_within(i + 1..len, i + 2);
        p.sep.copy_within(i + 1..len, i + 2);
        p.child[i + 1] = b;
        p.min_v[i] = min_a;
        p.min_v[i + 1] = min_b;
        p.sep[i + 1] = sep;
        p.len += 1;
        if p.len == I {
            self.split_inner(parent, level + 1);
        }
    }

    fn parent(&self, node: u32, level: usize) -> u32 {
        if level == 0 {
            self.leaves[node as usize].parent
        } else {
            self.inners[node as usize].parent
        }
    }

    fn set_parent(&mut self, node: u32, level: usize, parent: u32) {
        if level == 0 {
            self.leaves[node as usize].parent = parent;
        } else {
            self.inners[node as usize].parent = parent;
        }
    }

    /// Child `i` of `parent`, the leaf `node`, fell below a quarter full:
    /// merge it with a sibling, or borrow an entry if the two would not fit.
    fn rebalance_leaf(&mut self, node: u32, parent: u32, i: usize) {
        let p = &self.inners[parent as usize];
        let (left_i, right_i) = if i > 0 { (i - 1, i) } else { (i, i + 1) };
        let (left, right) = (p.child[left_i], p.child[right_i]);
        let (l, r) = two_mut(&mut self.leaves, left as usize, right as usize);
        if l.len + r.len < L {
            // The left absorbs the right.
            l.entries[l.len..l.len + r.len].copy_from_slice(&r.entries[..r.len]);
            let moved = l.len..l.len + r.len;
            l.len += r.len;
            r.len = 0;
            for e in &self.leaves[left as usize].entries[moved] {
                self.leaf_of[e.slot as usize] = left;
            }
            self.free_leaves.push(right);
            let m = self.leaves[left as usize].min_v();
            self.remove_child(parent, right_i, m);
            return;
        }
        // Borrow one entry across the boundary, towards `node`.
        if node == right {
            let last = l.len - 1;
            r.entries.copy_within(0..r.len, 1);
            r.entries[0] = l.entries[last];
            r.len += 1;
            l.len -= 1;
            self.leaf_of[r.entries[0].slot as usize] = right;
        } else {
            l.entries[l.len] = r.entries[0];
            l.len += 1;
            r.entries.copy_within(1..r.len, 0);
            r.len -= 1;
            self.leaf_of[l.entries[l.len - 1].slot as usize] = left;
        }
        let sep = self.leaves[right as usize].entries[0].deadline;
        let (min_l, min_r) = (
            self.leaves[left as usize].min_v(),
            self.leaves[right as usize].min_v(),
        );
        let p = &mut self.inners[parent as usize];
        p.sep[right_i] = sep;
        p.min_v[left_i] = min_l;
        p.min_v[right_i] = min_r;
    }

    /// Drops child `gone` of `node` (its entries moved to child `gone − 1`,
    /// whose minimum is now `merged_min`); the multiset beneath `node` is
    /// unchanged, so no ancestor's minimum moves.
    fn remove_child(&mut self, node: u32, gone: usize, merged_min: u64) {
        let n = &mut self.inners[node as usize];
        let len = n.len;
        n.child.copy_within(gone + 1..len, gone);
        n.min_v.copy_within(gone + 1..len, gone);
        n.sep.copy_within(gone + 1..len, gone);
        n.len -= 1;
        n.min_v[gone - 1] = merged_min;
        let (len, parent) = (n.len, n.parent);
        if parent == NIL {
            if len == 1 {
                // The root has one child left: it becomes the root.
                let only = n.child[0];
                self.free_inners.push(node);
                self.height -= 1;
                self.set_parent(only, self.height, NIL);
                self.root = only;
            }
        } else if len < Self::INNER_MIN {
            self.rebalance_inner(node, parent);
        }
    }

    /// The inner node `node` fell below a quarter full: merge it
    /// with a sibling, or borrow a child if the two would not fit.
    fn rebalance_inner(&mut self, node: u32, parent: u32) {
        let level = self.level_of(node);
        let p = &self.inners[parent as usize];
        let i = p.index_of(node);
        let (left_i, right_i) = if i > 0 { (i - 1, i) } else { (i, i + 1) };
        let (left, right) = (p.child[left_i], p.child[right_i]);
        let between = p.sep[right_i];
        let (l, r) = two_mut(&mut self.inners, left as usize, right as usize);
        if l.len + r.len < I {
            let at = l.len;
            l.child[at..at + r.len].copy_from_slice(&r.child[..r.len]);
            l.min_v[at..at + r.len].copy_from_slice(&r.min_v[..r.len]);
            l.sep[at..at + r.len].copy_from_slice(&r.sep[..r.len]);
            l.sep[at] = between;
            l.len += r.len;
            r.len = 0;
            let children = l.child;
            for &c in &children[at..l.len] {
                self.set_parent(c, level - 1, left);
            }
            self.free_inners.push(right);
            let m = self.inners[left as usize].min_v();
            self.remove_child(parent, right_i, m);
            return;
        }
        let moved;
        let new_between;
        if node == right {
            // The left's last child moves to the front of the right.
            let last = l.len - 1;
            r.child.copy_within(0..r.len, 1);
            r.min_v.copy_within(0..r.len, 1);
            r.sep.copy_within(0..r.len, 1);
            r.sep[1] = between;
            r.child[0] = l.child[last];
            r.min_v[0] = l.min_v[last];
            r.len += 1;
            new_between = l.sep[last];
            l.len -= 1;
            moved = (r.child[0], right);
        } else {
            // The right's first child moves to the back of the left.
            let at = l.len;
            l.child[at] = r.child[0];
            l.min_v[at] = r.min_v[0];
            l.sep[at] = between;
            l.len += 1;
            new_between = r.sep[1];
            r.child.copy_within(1..r.len, 0);
            r.min_v.copy_within(1..r.len, 0);
            r.sep.copy_within(1..r.len, 0);
            r.len -= 1;
            moved = (l.child[at], left);
        }
        self.set_parent(moved.0, level - 1, moved.1);
        let (min_l, min_r) = (
            self.inners[left as usize].min_v(),
            self.inners[right as usize].min_v(),
        );
        let p = &mut self.inners[parent as usize];
        p.sep[right_i] = new_between;
        p.min_v[left_i] = min_l;
        p.min_v[right_i] = min_r;
    }

    /// How many levels above the leaves an inner node is (1: its children
    /// are leaves).
    fn level_of(&self, mut node: u32) -> usize {
        let mut up = 1;
        while self.inners[node as usize].parent != NIL {
            node = self.inners[node as usize].parent;
            up += 1;
        }
        self.height + 1 - up
    }

    /// Checks every structural invariant (tests).
    #[cfg(test)]
    pub(crate) fn check(&self) {
        fn walk<const L: usize, const I: usize>(
            t: &DeadlineTree<L, I>,
            node: u32,
            height: usize,
            parent: u32,
            lo: Option<u64>,
            hi: Option<u64>,
            out: &mut Vec<(u64, u32)>,
        ) -> u64 {
            let in_range = |k: u64| lo.is_none_or(|lo| k >= lo) && hi.is_none_or(|hi| k <= hi);
            if height == 0 {
                let leaf = &t.leaves[node as usize];
                assert_eq!(leaf.parent, parent);
                assert!(parent == NIL || leaf.len >= L / 4, "leaf underfull");
                assert!(leaf.len < L);
                for e in &leaf.entries[..leaf.len] {
                    assert!(in_range(e.deadline));
                    assert_eq!(t.leaf_of[e.slot as usize], node);
                    out.push((e.deadline, e.slot));
                }
                return leaf.min_v();
            }
            let inner = &t.inners[node as usize];
            assert_eq!(inner.parent, parent);
            assert!(inner.len >= if parent == NIL { 2 } else { I / 4 });
            assert!(inner.len < I);
            let mut min = u64::MAX;
            for i in 0..inner.len {
                let clo = if i == 0 { lo } else { Some(inner.sep[i]) };
                let chi = if i + 1 < inner.len {
                    Some(inner.sep[i + 1])
                } else {
                    hi
                };
                let m = walk(t, inner.child[i], height - 1, node, clo, chi, out);
                assert_eq!(inner.min_v[i], m, "stale child minimum");
                min = min.min(m);
            }
            min
        }
        let mut keys = Vec::new();
        walk(self, self.root, self.height, NIL, None, None, &mut keys);
        assert_eq!(keys.len(), self.len);
        assert!(keys.windows(2).all(|w| w[0].0 <= w[1].0));
        let mut slots: Vec<u32> = keys.iter().map(|k| k.1).collect();
        slots.sort_unstable();
        slots.dedup();
        assert_eq!(slots.len(), self.len, "a slot is in the tree twice");
    }
}

/// Two distinct elements of a slice, both mutable.
fn two_mut<T>(v: &mut [T], a: usize, b: usize) -> (&mut T, &mut T) {
    assert_ne!(a, b, "two distinct nodes");
    if a < b {
        let (x, y) = v.split_at_mut(b);
        (&mut x[a], &mut y[0])
    } else {
        let (x, y) = v.split_at_mut(a);
        (&mut y[0], &mut x[b])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn churn<const L: usize, const I: usize>(slots: usize, steps: usize, seed: u64) {
        let mut t = DeadlineTree::<L, I>::new();
        // slot -> (deadline, vruntime, insertion number)
        let mut model: std::collections::BTreeMap<usize, (u64, u64, u64)> = Default::default();
        let mut x: u64 = seed;
        for step in 0..steps {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let slot = (x >> 40) as usize % slots;
            // Phases of growth and shrinkage exercise splits and merges.
            let grow = (step / 3000) % 2 == 0;
            if model.contains_key(&slot) && (!grow || x >> 63 == 1) {
                model.remove(&slot);
                t.remove(slot);
            } else if !model.contains_key(&slot) && (grow || x >> 62 == 0) {
                let v = (x >> 8) % 1000;
                // Few distinct deadlines: plenty of ties across leaves.
                let d = v / 8 + (x >> 30) % 60;
                t.insert(slot, d, v);
                model.insert(slot, (d, v, step as u64));
            }
            if step % 101 == 0 {
                t.check();
            }
            let threshold = (x >> 50) % 1100;
            let want = model
                .iter()
                .filter(|(_, &(_, v, _))| v <= threshold)
                .min_by_key(|(_, &(d, _, seq))| (d, seq))
                .map(|(&s, _)| s);
            assert_eq!(t.earliest_eligible(|v| v <= threshold), want);
            if step % 7 == 0 {
                if let Some(s) = want {
                    assert_eq!(t.take_earliest_eligible(|v| v <= threshold), Some(s));
                    model.remove(&s);
                }
            }
            let least = model.values().map(|&(_, v, _)| v).min();
            assert_eq!(t.least_vruntime().map(|s| model[&s].1), least);
            assert_eq!(t.min_vruntime(), least);
            assert_eq!(t.len(), model.len());
        }
        t.check();
        let mut by_deadline: Vec<_> = model.iter().map(|(&s, &(d, _, seq))| (d, seq, s)).collect();
        by_deadline.sort_unstable();
        assert_eq!(
            t.in_order(),
            by_deadline
                .into_iter()
                .map(|(_, _, s)| s)
                .collect::<Vec<_>>()
        );
        t.clear();
        assert!(t.is_empty() && t.earliest_eligible(|_| true).is_none());
        t.check();
    }

    #[test]
    fn queries_match_brute_force_small() {
        churn::<LEAF_CAP, INNER_CAP>(40, 20_000, 99);
    }

    #[test]
    fn queries_match_brute_force_narrow_nodes() {
        // Tiny nodes: splits, merges, borrows and root changes all the time.
        churn::<4, 8>(300, 30_000, 5);
        churn::<8, 8>(1_000, 30_000, 6);
        churn::<16, 8>(1_000, 30_000, 8);
    }

    #[test]
    fn queries_match_brute_force_deep() {
        // Enough entities for four levels, and phases that empty it again.
        churn::<LEAF_CAP, INNER_CAP>(5_000, 60_000, 7);
    }

    #[test]
    fn stays_shallow() {
        let mut t = DeadlineTree::<LEAF_CAP, INNER_CAP>::new();
        for s in 0..10_000 {
            t.insert(s, (s as u64 * 7919) % 10_007, s as u64);
        }
        t.check();
        assert!(t.height <= 3, "height {}", t.height);
        for s in (0..10_000).filter(|s| s % 10 != 0) {
            t.remove(s);
        }
        t.check();
        assert!(t.height <= 3, "height {}", t.height);
        for s in (0..10_000).filter(|s| s % 10 == 0) {
            t.remove(s);
        }
        t.check();
        assert_eq!((t.height, t.len()), (0, 0));
    }
}
