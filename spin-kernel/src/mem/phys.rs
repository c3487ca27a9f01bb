//! `PhysAddr`: frames of guest RAM, with attributes and per-owner quotas.
//!
//! Frames are handed out by owner (a mound). Each owner may have a quota; an
//! allocation that would exceed it, or that finds RAM exhausted, raises
//! `Reclaim(candidate)`: the kernel names a candidate frame of the owner that
//! must give one up, and that owner's handler may volunteer a different frame of
//! its own (after unmapping it). Pinned frames are never candidates.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use self::free::FreeFrames;
use super::PhysAddr;
use crate::event::{Event, KeyId, Primary};
use crate::machine::GuestRam;
use crate::strand::MoundId;

/// Who owns a frame.
pub type FrameOwner = MoundId;

/// Attributes of an allocation request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FrameAttrs {
    /// Number of physically contiguous frames (0 is taken as 1).
    pub contiguous: u32,
    /// Cache color wanted (frame number modulo the service's color count).
    pub color: Option<u32>,
    /// Never chosen as a reclaim candidate (DMA buffers, video frames).
    pub pinned: bool,
}

/// Arguments of the `PhysAddr.Reclaim` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReclaimArgs {
    /// The owner that must give up a frame.
    pub owner: FrameOwner,
    /// The kernel's suggestion.
    pub candidate: PhysAddr,
}

/// Errors from frame allocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhysError {
    /// The owner is at its quota and reclaim found nothing to give up.
    #[error("{owner} is at its quota of {quota} frames")]
    Quota {
        /// The owner.
        owner: FrameOwner,
        /// Its quota in frames.
        quota: u64,
    },
    /// Guest RAM has no free frame matching the request, and reclaim failed.
    #[error("out of guest memory ({wanted} frames wanted)")]
    Exhausted {
        /// Frames requested.
        wanted: u64,
    },
    /// The frame is not allocated to the caller.
    #[error("frame {0:#x} is not owned by the caller")]
    NotOwner(u64),
    /// Bad request (e.g. an absurd run length).
    #[error("bad frame request: {0}")]
    Bad(String),
}

#[derive(Debug, Clone, Copy)]
struct FrameInfo {
    owner: FrameOwner,
    pinned: bool,
}

#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
struct OwnerUse {
    used: u64,
    quota: Option<u64>,
    reclaimed: u64,
    peak: u64,
}

struct PhysState {
    /// Free frame numbers by color.
    free: FreeFrames,
    /// One bit per frame: handed out at least once since boot (a frame
    /// without it still holds guest RAM's initial zeros).
    touched: Vec<u64>,
    allocated: BTreeMap<u64, FrameInfo>,
    owners: BTreeMap<FrameOwner, OwnerUse>,
    /// Per-owner clock hand for candidate selection.
    hands: BTreeMap<FrameOwner, u64>,
}

/// Per-owner frame accounting, for telemetry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerTelemetry {
    /// The owner.
    pub owner: FrameOwner,
    /// Frames held now.
    pub used: u64,
    /// Quota, if any.
    pub quota: Option<u64>,
    /// Most frames ever held at once.
    pub peak: u64,
    /// Frames taken back through `Reclaim`.
    pub reclaimed: u64,
}

/// The PhysAddr service for one machine's RAM.
pub struct PhysAddrService {
    page_shift: u32,
    frames: u64,
    colors: u32,
    state: Mutex<PhysState>,
    /// `Reclaim(candidate)`: handlers (guarded by owner) return the frame they
    /// volunteer, already unmapped, or `None` to refuse.
    pub reclaim: Event<ReclaimArgs, Option<PhysAddr>>,
    reclaim_primary: Primary<ReclaimArgs, Option<PhysAddr>>,
    owner_key: KeyId,
}

impl std::fmt::Debug for PhysAddrService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhysAddrService")
            .field("frames", &self.frames)
            .field("free", &self.free_frames())
            .finish()
    }
}

impl PhysAddrService {
    /// Manages all of `ram` in `1 << page_shift`-byte frames with `colors` cache
    /// colors. The first `reserved` frames are never handed out.
    pub fn new(
        ram: &Arc<GuestRam>,
        page_shift: u32,
        colors: u32,
        reserved: u64,
    ) -> PhysAddrService {
        use vm_memory::GuestMemoryBackend;
        let bytes: u64 = ram.iter().map(vm_memory::GuestMemoryRegion::len).sum();
        Self::with_frames(bytes >> page_shift, page_shift, colors, reserved)
    }

    fn with_frames(frames: u64, page_shift: u32, colors: u32, reserved: u64) -> PhysAddrService {
        let colors = colors.max(1);
        let (reclaim, reclaim_primary) = Event::define("PhysAddr.Reclaim");
        let owner_key =
            reclaim_primary.declare_key("owner", |a: &ReclaimArgs| u64::from(a.owner.0));
        PhysAddrService {
            page_shift,
            frames,
            colors,
            state: Mutex::new(PhysState {
                free: FreeFrames::new(frames, colors, reserved),
                touched: vec![0; frames.div_ceil(64) as usize],
                allocated: BTreeMap::new(),
                owners: BTreeMap::new(),
                hands: BTreeMap::new(),
            }),
            reclaim,
            reclaim_primary,
            owner_key,
        }
    }

    /// The key reclaim handlers guard on (`Guard::eq(key, owner.0)`).
    pub fn owner_key(&self) -> KeyId {
        self.owner_key
    }

    /// The authority over the Reclaim event (kernel boot code only).
    pub fn reclaim_primary(&self) -> &Primary<ReclaimArgs, Option<PhysAddr>> {
        &self.reclaim_primary
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PhysState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Total frames of RAM.
    pub fn total_frames(&self) -> u64 {
        self.frames
    }

    /// Free frames.
    pub fn free_frames(&self) -> u64 {
        self.lock().free.len()
    }

    /// Frame size in bytes.
    pub fn frame_size(&self) -> u64 {
        1 << self.page_shift
    }

    /// Sets (or clears) `owner`'s quota in frames.
    pub fn set_quota(&self, owner: FrameOwner, quota: Option<u64>) {
        self.lock().owners.entry(owner).or_default().quota = quota;
    }

    /// Frames `owner` holds.
    pub fn used_by(&self, owner: FrameOwner) -> u64 {
        self.lock().owners.get(&owner).map_or(0, |u| u.used)
    }

    /// Allocates frames for `owner`. With `attrs.contiguous = n > 1` the result
    /// is one run of `n` frames (its first address is returned once per frame).
    pub fn allocate(
        &self,
        owner: FrameOwner,
        attrs: FrameAttrs,
    ) -> Result<Vec<PhysAddr>, PhysError> {
        Ok(self
            .allocate_tracked(owner, attrs)?
            .into_iter()
            .map(|(f, _)| f)
            .collect())
    }

    /// As [`Self::allocate`], saying of each frame whether it is handed out
    /// for the first time since boot — its contents are then still guest
    /// RAM's initial zeros, and a caller that wants a zeroed frame need not
    /// write it (nor make the host page behind it real).
    pub fn allocate_tracked(
        &self,
        owner: FrameOwner,
        attrs: FrameAttrs,
    ) -> Result<Vec<(PhysAddr, bool)>, PhysError> {
        let n = u64::from(attrs.contiguous.max(1));
        if n > self.frames {
            return Err(PhysError::Bad(format!("{n} contiguous frames exceed RAM")));
        }
        // Each round either allocates or reclaims at least one frame; a bounded
        // number of rounds keeps a handler that volunteers nothing useful from
        // spinning us forever.
        for _ in 0..=n + 2 {
            let need = {
                let mut st = self.lock();
                let usage = st.owners.entry(owner).or_default();
                let over_quota = usage.quota.is_some_and(|q| usage.used + n > q);
                if !over_quota {
                    if let Some(frames) = self.take(&mut st, n, attrs) {
                        let mut out = Vec::with_capacity(frames.len());
                        for &f in &frames {
                            let (w, bit) = ((f / 64) as usize, 1u64 << (f % 64));
                            let fresh = st.touched.get(w).is_some_and(|t| t & bit == 0);
                            if let Some(t) = st.touched.get_mut(w) {
                                *t |= bit;
                            }
                            out.push((PhysAddr(f << self.page_shift), fresh));
                            st.allocated.insert(
                                f,
                                FrameInfo {
                                    owner,
                                    pinned: attrs.pinned,
                                },
                            );
                        }
                        let u = st.owners.entry(owner).or_default();
                        u.used += n;
                        u.peak = u.peak.max(u.used);
                        return Ok(out);
                    }
                }
                let victim = if over_quota {
                    Some(owner)
                } else {
                    Self::largest_owner(&st)
                };
                victim.and_then(|v| Self::candidate(&mut st, v).map(|c| (v, c)))
            };
            let Some((victim, candidate)) = need else {
                return Err(self.failure(owner, n));
            };
            if !self.run_reclaim(victim, candidate) {
                return Err(self.failure(owner, n));
            }
        }
        Err(self.failure(owner, n))
    }

    fn failure(&self, owner: FrameOwner, n: u64) -> PhysError {
        let st = self.lock();
        match st
            .owners
            .get(&owner)
            .and_then(|u| u.quota.filter(|q| u.used + n > *q))
        {
            Some(quota) => PhysError::Quota { owner, quota },
            None => PhysError::Exhausted { wanted: n },
        }
    }

    /// Raises Reclaim for `victim`'s `candidate`; frees what is volunteered.
    fn run_reclaim(&self, victim: FrameOwner, candidate: u64) -> bool {
        let args = ReclaimArgs {
            owner: victim,
            candidate: PhysAddr(candidate << self.page_shift),
        };
        let Some(Some(given)) = self.reclaim.raise(&args) else {
            return false;
        };
        let mut st = self.lock();
        let f = given.0 >> self.page_shift;
        match st.allocated.get(&f) {
            Some(info) if info.owner == victim && !info.pinned => {
                st.allocated.remove(&f);
                self.put(&mut st, f);
                let u = st.owners.entry(victim).or_default();
                u.used -= 1;
                u.reclaimed += 1;
                true
            }
            // A handler volunteering a frame it does not own is ignored.
            _ => false,
        }
    }

    fn largest_owner(st: &PhysState) -> Option<FrameOwner> {
        st.owners
            .iter()
            .filter(|(_, u)| u.used > 0)
            .max_by_key(|(o, u)| (u.used, std::cmp::Reverse(**o)))
            .map(|(o, _)| *o)
    }

    /// The owner's next unpinned frame after its clock hand.
    fn candidate(st: &mut PhysState, owner: FrameOwner) -> Option<u64> {
        let hand = st.hands.get(&owner).copied().unwrap_or(0);
        let pick = st
            .allocated
            .range(hand..)
            .chain(st.allocated.range(..hand))
            .find(|(_, i)| i.owner == owner && !i.pinned)
            .map(|(f, _)| *f)?;
        st.hands.insert(owner, pick + 1);
        Some(pick)
    }

    fn take(&self, st: &mut PhysState, n: u64, attrs: FrameAttrs) -> Option<Vec<u64>> {
        if st.free.len() < n {
            return None;
        }
        let colors = u64::from(self.colors);
        if n == 1 {
            let color = match attrs.color {
                Some(c) => (u64::from(c) % colors) as usize,
                None => (0..self.colors as usize).max_by_key(|&c| st.free.count(c))?,
            };
            return st.free.pop_first(color).map(|f| vec![f]);
        }
        // A run of n: scan candidate starts in address order.
        let is_free = |st: &PhysState, f: u64| st.free.contains(f);
        let mut start = 0;
        while start + n <= self.frames {
            if attrs
                .color
                .is_some_and(|c| start % colors != u64::from(c) % colors)
                || !is_free(st, start)
            {
                start += 1;
                continue;
            }
            match (start..start + n).find(|&f| !is_free(st, f)) {
                Some(busy) => start = busy + 1,
                None => {
                    for f in start..start + n {
                        st.free.remove(f);
                    }
                    return Some((start..start + n).collect());
                }
            }
        }
        None
    }

    fn put(&self, st: &mut PhysState, f: u64) {
        st.free.insert(f);
    }

    /// Returns a frame. Only its owner may free it.
    pub fn deallocate(&self, owner: FrameOwner, frame: PhysAddr) -> Result<(), PhysError> {
        let f = frame.0 >> self.page_shift;
        let mut st = self.lock();
        match st.allocated.get(&f) {
            Some(info) if info.owner == owner => {
                st.allocated.remove(&f);
                self.put(&mut st, f);
                st.owners.entry(owner).or_default().used -= 1;
                Ok(())
            }
            _ => Err(PhysError::NotOwner(frame.0)),
        }
    }

    /// The owner of a frame, if allocated.
    pub fn owner_of(&self, frame: PhysAddr) -> Option<FrameOwner> {
        self.lock()
            .allocated
            .get(&(frame.0 >> self.page_shift))
            .map(|i| i.owner)
    }

    /// Per-owner accounting.
    pub fn owners(&self) -> Vec<OwnerTelemetry> {
        self.lock()
            .owners
            .iter()
            .map(|(o, u)| OwnerTelemetry {
                owner: *o,
                used: u.used,
                quota: u.quota,
                peak: u.peak,
                reclaimed: u.reclaimed,
            })
            .collect()
    }

    /// The physical frame map in `buckets` equal slices: for each, the owner
    /// holding most of its allocated frames (`None` only if the slice is
    /// entirely free, so a small mound on a large machine still shows).
    pub fn frame_map(&self, buckets: usize) -> Vec<Option<FrameOwner>> {
        let st = self.lock();
        let buckets = buckets.max(1) as u64;
        let per = self.frames.div_ceil(buckets).max(1);
        let mut out = Vec::with_capacity(buckets as usize);
        let mut counts: BTreeMap<FrameOwner, u64> = BTreeMap::new();
        for b in 0..buckets {
            counts.clear();
            let lo = (b * per).min(self.frames);
            let hi = ((b + 1) * per).min(self.frames);
            for (_, info) in st.allocated.range(lo..hi) {
                *counts.entry(info.owner).or_default() += 1;
            }
            out.push(counts.iter().max_by_key(|(_, c)| **c).map(|(o, _)| *o));
        }
        out
    }
}

mod free;
#[cfg(test)]
mod tests;
