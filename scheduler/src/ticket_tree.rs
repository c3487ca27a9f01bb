//! [`TicketTree`]: a ticket count per dense slot, with the weighted draw
//! ("whose ticket is number r?") and updates in O(log₈ n).
//!
//! An 8-ary sum tree stored level by level: level 0 holds each slot's
//! tickets, and each entry of level k+1 is the sum of eight consecutive
//! entries of level k. A draw scans at most eight sums per level from the
//! top; an update adds the change to one entry per level. Eight `u64` sums
//! are one cache line, so at 10 000 slots either touches five lines, and a
//! draw followed by an update of the same slot finds them all in cache.

/// Children per node (eight `u64`s: one cache line).
const FANOUT: usize = 8;

/// Tickets per slot with a weighted draw. See the module docs.
#[derive(Debug, Clone)]
pub struct TicketTree {
    /// `levels[0][slot]` is a slot's tickets; `levels[k + 1][i]` is the sum
    /// of `levels[k][8i .. 8i + 8]`; the last level has at most 8 entries.
    levels: Vec<Vec<u64>>,
}

impl Default for TicketTree {
    fn default() -> Self {
        TicketTree::with_capacity(FANOUT)
    }
}

impl TicketTree {
    /// Room for `slots` slots (grown on demand), all at zero tickets.
    pub fn with_capacity(slots: usize) -> TicketTree {
        let mut t = TicketTree { levels: Vec::new() };
        t.rebuild(vec![0; slots.max(FANOUT).next_power_of_two()]);
        t
    }

    /// The tickets of `slot`.
    pub fn get(&self, slot: usize) -> u64 {
        self.levels[0].get(slot).copied().unwrap_or(0)
    }

    /// Sets the tickets of `slot`.
    pub fn set(&mut self, slot: usize, tickets: u64) {
        if slot >= self.levels[0].len() {
            if tickets == 0 {
                return;
            }
            let mut leaves = std::mem::take(&mut self.levels[0]);
            leaves.resize((slot + 1).next_power_of_two(), 0);
            self.rebuild(leaves);
        }
        // Modular arithmetic: adding (new - old) mod 2^64 is exact as long as
        // the true sums fit in a u64.
        let delta = tickets.wrapping_sub(self.levels[0][slot]);
        if delta == 0 {
            return;
        }
        let mut i = slot;
        for level in &mut self.levels {
            level[i] = level[i].wrapping_add(delta);
            i /= FANOUT;
        }
    }

    /// Total tickets.
    pub fn total(&self) -> u64 {
        self.levels
            .last()
            .map_or(0, |top| top.iter().fold(0u64, |a, &b| a.wrapping_add(b)))
    }

    /// The slot holding ticket number `r` (0 ≤ r < [`TicketTree::total`]),
    /// counting slot by slot from slot 0.
    pub fn find(&self, mut r: u64) -> usize {
        let mut idx = 0;
        for level in self.levels.iter().rev() {
            let start = idx * FANOUT;
            let end = (start + FANOUT).min(level.len());
            // Count the children whose running sum stays ≤ r, branch-free
            // (the winner is random: a branch per child would mispredict).
            let mut sum = 0u64;
            let mut before = 0u64;
            let mut skip = 0;
            for &c in &level[start..end - 1] {
                sum = sum.wrapping_add(c);
                let le = sum <= r;
                skip += usize::from(le);
                let mask = u64::from(le).wrapping_neg();
                before = (sum & mask) | (before & !mask);
            }
            r -= before;
            idx = start + skip;
        }
        idx
    }

    /// Every slot back to zero tickets.
    pub fn clear(&mut self) {
        for level in &mut self.levels {
            level.fill(0);
        }
    }

    /// Rebuilds the sums above `leaves`: O(n).
    fn rebuild(&mut self, leaves: Vec<u64>) {
        self.levels.clear();
        self.levels.push(leaves);
        while let Some(below) = self.levels.last().filter(|l| l.len() > FANOUT) {
            let above: Vec<u64> = below
                .chunks(FANOUT)
                .map(|c| c.iter().fold(0u64, |a, &b| a.wrapping_add(b)))
                .collect();
            self.levels.push(above);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_follow_the_counts_and_growth_keeps_them() {
        let mut t = TicketTree::default();
        let counts = [3u64, 0, 5, 1, 0, 0, 7, 2, 4, 9, 0, 1];
        for (slot, &c) in counts.iter().enumerate() {
            t.set(slot, c);
        }
        t.set(100, 6); // grows past the first capacity
        assert_eq!(t.total(), counts.iter().sum::<u64>() + 6);
        let mut expected = Vec::new();
        for (slot, &c) in counts.iter().enumerate() {
            expected.extend(std::iter::repeat_n(slot, c as usize));
        }
        expected.extend(std::iter::repeat_n(100, 6));
        let drawn: Vec<usize> = (0..t.total()).map(|r| t.find(r)).collect();
        assert_eq!(drawn, expected);
        t.set(2, 0);
        t.set(100, 1);
        assert_eq!(t.get(2), 0);
        assert_eq!(t.total(), counts.iter().sum::<u64>() - 5 + 1);
        assert_eq!(t.find(t.total() - 1), 100);
        t.clear();
        assert_eq!(t.total(), 0);
    }

    #[test]
    fn large_trees_stay_consistent() {
        let mut t = TicketTree::with_capacity(5000);
        let mut model = vec![0u64; 20_000];
        let mut x: u64 = 7;
        for _ in 0..50_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let slot = (x >> 33) as usize % model.len();
            let tickets = (x >> 10) % 4 * ((x >> 20) % 300);
            t.set(slot, tickets);
            model[slot] = tickets;
        }
        let total: u64 = model.iter().sum();
        assert_eq!(t.total(), total);
        let mut acc = 0;
        for (slot, &c) in model.iter().enumerate() {
            if c > 0 {
                assert_eq!(t.find(acc), slot);
                assert_eq!(t.find(acc + c - 1), slot);
            }
            acc += c;
        }
    }
}
