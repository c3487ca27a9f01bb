//! The free frames of `PhysAddr`: one two-level bitmap per cache colour.
//!
//! Bit `i` of colour `c`'s bitmap stands for frame `c + i * colors`. A summary
//! word per 64 bitmap words says which of them hold a free frame, so the
//! lowest free frame of a colour is found in O(frames / 4096) word reads and
//! building the structure for all of RAM costs one word store per 64 frames
//! (a `BTreeSet` per colour cost a node insert per frame: ≈12 ms for 1 GiB of
//! 4 KiB frames, paid by every program's `Kernel::boot`).

/// One colour's frames.
#[derive(Debug, Clone, Default)]
struct ColourMap {
    /// Bit `i % 64` of word `i / 64`: frame `colour + i * colors` is free.
    words: Vec<u64>,
    /// Bit `w % 64` of word `w / 64`: `words[w]` is not zero.
    summary: Vec<u64>,
    /// Slots (frames of this colour in RAM).
    slots: u64,
    /// Free frames of this colour.
    count: u64,
}

impl ColourMap {
    /// A map for `slots` frames with slots `lo..hi` free.
    fn new(slots: u64, lo: u64, hi: u64) -> ColourMap {
        let nwords = slots.div_ceil(64) as usize;
        let mut map = ColourMap {
            words: vec![0; nwords],
            summary: vec![0; nwords.div_ceil(64)],
            slots,
            count: 0,
        };
        let (lo, hi) = (lo.min(hi), hi.min(slots));
        let mut i = lo;
        while i < hi {
            let w = (i / 64) as usize;
            let first = i % 64;
            let span = (64 - first).min(hi - i);
            let mask = if span == 64 {
                u64::MAX
            } else {
                ((1u64 << span) - 1) << first
            };
            map.words[w] |= mask;
            map.summary[w / 64] |= 1 << (w % 64);
            i += span;
        }
        map.count = hi.saturating_sub(lo);
        map
    }

    fn get(&self, i: u64) -> bool {
        self.words
            .get((i / 64) as usize)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// Marks slot `i` free; false if it already was (or is out of range).
    fn set(&mut self, i: u64) -> bool {
        if i >= self.slots {
            return false;
        }
        let w = (i / 64) as usize;
        let Some(word) = self.words.get_mut(w) else {
            return false;
        };
        let bit = 1 << (i % 64);
        if *word & bit != 0 {
            return false;
        }
        *word |= bit;
        self.summary[w / 64] |= 1 << (w % 64);
        self.count += 1;
        true
    }

    /// Marks slot `i` used; false if it was not free.
    fn clear(&mut self, i: u64) -> bool {
        let w = (i / 64) as usize;
        let Some(word) = self.words.get_mut(w) else {
            return false;
        };
        let bit = 1 << (i % 64);
        if *word & bit == 0 {
            return false;
        }
        *word &= !bit;
        if *word == 0 {
            self.summary[w / 64] &= !(1 << (w % 64));
        }
        self.count -= 1;
        true
    }

    /// The lowest free slot.
    fn first(&self) -> Option<u64> {
        let (s, sword) = self.summary.iter().enumerate().find(|(_, s)| **s != 0)?;
        let w = s * 64 + sword.trailing_zeros() as usize;
        let word = self.words[w];
        Some(w as u64 * 64 + u64::from(word.trailing_zeros()))
    }
}

/// The free frames of one machine, by cache colour.
#[derive(Debug, Clone)]
pub(super) struct FreeFrames {
    colors: u64,
    maps: Vec<ColourMap>,
    total: u64,
}

impl FreeFrames {
    /// Frames `reserved..frames` free, in `colors` colours (at least one).
    pub(super) fn new(frames: u64, colors: u32, reserved: u64) -> FreeFrames {
        let colors = u64::from(colors.max(1));
        let reserved = reserved.min(frames);
        let maps = (0..colors)
            .map(|c| {
                // Slots of colour c: frames c, c + colors, … below `frames`.
                let slots = frames.saturating_sub(c).div_ceil(colors);
                let lo = reserved.saturating_sub(c).div_ceil(colors);
                ColourMap::new(slots, lo, slots)
            })
            .collect();
        FreeFrames {
            colors,
            maps,
            total: frames - reserved,
        }
    }

    /// Free frames in all colours.
    pub(super) fn len(&self) -> u64 {
        self.total
    }

    /// Free frames of `colour` (0 for a colour out of range).
    pub(super) fn count(&self, colour: usize) -> u64 {
        self.maps.get(colour).map_or(0, |m| m.count)
    }

    fn slot(&self, f: u64) -> (usize, u64) {
        ((f % self.colors) as usize, f / self.colors)
    }

    /// Whether frame `f` is free.
    pub(super) fn contains(&self, f: u64) -> bool {
        let (c, i) = self.slot(f);
        self.maps[c].get(i)
    }

    /// Frees `f`; false if it was already free or beyond RAM.
    pub(super) fn insert(&mut self, f: u64) -> bool {
        let (c, i) = self.slot(f);
        let added = self.maps[c].set(i);
        self.total += u64::from(added);
        added
    }

    /// Takes `f`; false if it was not free.
    pub(super) fn remove(&mut self, f: u64) -> bool {
        let (c, i) = self.slot(f);
        let taken = self.maps[c].clear(i);
        self.total -= u64::from(taken);
        taken
    }

    /// Takes the lowest free frame of `colour`.
    pub(super) fn pop_first(&mut self, colour: usize) -> Option<u64> {
        let i = self.maps.get(colour)?.first()?;
        let f = i * self.colors + colour as u64;
        self.remove(f).then_some(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn boot_leaves_reserved_frames_out() {
        let mut f = FreeFrames::new(1000, 8, 13);
        assert_eq!(f.len(), 987);
        assert!(!f.contains(12) && f.contains(13) && f.contains(999));
        assert_eq!(f.pop_first(5), Some(13));
        assert_eq!(f.pop_first(0), Some(16));
        assert_eq!(f.len(), 985);
        assert_eq!((0..8).map(|c| f.count(c)).sum::<u64>(), 985);
        assert!(!f.insert(1000), "beyond RAM");
        assert_eq!(FreeFrames::new(10, 4, 50).len(), 0);
        assert_eq!(FreeFrames::new(3, 8, 0).count(7), 0);
    }

    proptest! {
        /// The bitmap behaves as the per-colour ordered sets it replaced.
        #[test]
        fn matches_ordered_sets(
            frames in 0u64..9000,
            colors in 1u32..10,
            reserved in 0u64..200,
            ops in proptest::collection::vec((0u8..3, any::<u64>()), 1..300),
        ) {
            let mut f = FreeFrames::new(frames, colors, reserved);
            let c = u64::from(colors);
            let mut sets = vec![BTreeSet::new(); colors as usize];
            for x in reserved.min(frames)..frames {
                sets[(x % c) as usize].insert(x);
            }
            for (op, x) in ops {
                let colour = (x % c) as usize;
                let frame = if frames == 0 { 0 } else { x % frames };
                match op {
                    0 => prop_assert_eq!(f.pop_first(colour), sets[colour].pop_first()),
                    1 if frames > 0 => prop_assert_eq!(f.insert(frame), sets[(frame % c) as usize].insert(frame)),
                    _ if frames > 0 => prop_assert_eq!(f.remove(frame), sets[(frame % c) as usize].remove(&frame)),
                    _ => {}
                }
                prop_assert_eq!(f.len(), sets.iter().map(|s| s.len() as u64).sum::<u64>());
                prop_assert_eq!(f.count(colour), sets[colour].len() as u64);
                prop_assert_eq!(f.contains(frame), frames > 0 && sets[(frame % c) as usize].contains(&frame));
            }
        }
    }
}
