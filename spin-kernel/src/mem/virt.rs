//! `VirtAddr`: allocation of virtual address ranges within one address space.
//!
//! The service only hands out ranges; mapping them is `Translation`'s job and
//! deciding what they mean is the mound's.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::cap::Cap;

/// A virtual address range `[start, start + len)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtRange {
    /// First byte.
    pub start: u64,
    /// Length in bytes (a multiple of the page size).
    pub len: u64,
}

impl VirtRange {
    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.start + self.len
    }
}

/// Errors from range allocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VirtError {
    /// No free range of that size (and alignment) remains.
    #[error("no free virtual range of {0:#x} bytes")]
    Exhausted(u64),
    /// The requested fixed range is (partly) allocated or outside the space.
    #[error("range {start:#x}+{len:#x} is not free")]
    NotFree {
        /// Start.
        start: u64,
        /// Length.
        len: u64,
    },
    /// Zero length, unaligned or overflowing request.
    #[error("bad range {start:#x}+{len:#x}")]
    Bad {
        /// Start.
        start: u64,
        /// Length.
        len: u64,
    },
}

/// The allocator for one address space: free ranges kept coalesced.
#[derive(Debug)]
pub struct VirtAddrService {
    page: u64,
    base: u64,
    limit: u64,
    free: Mutex<BTreeMap<u64, u64>>,
}

impl VirtAddrService {
    /// A space covering `[base, limit)` with `page`-byte granularity.
    pub fn create(base: u64, limit: u64, page: u64) -> Cap<VirtAddrService> {
        let mut free = BTreeMap::new();
        if limit > base {
            free.insert(base, limit - base);
        }
        Cap::new(VirtAddrService {
            page,
            base,
            limit,
            free: Mutex::new(free),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, u64>> {
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn round(&self, len: u64) -> Option<u64> {
        len.checked_add(self.page - 1).map(|l| l & !(self.page - 1))
    }

    /// Allocates `len` bytes (rounded up to pages) aligned to `align` (a power
    /// of two ≥ the page size), lowest address first.
    pub fn allocate(&self, len: u64, align: u64) -> Result<VirtRange, VirtError> {
        let bad = VirtError::Bad { start: 0, len };
        let len = self.round(len).filter(|l| *l > 0).ok_or(bad.clone())?;
        let align = align.max(self.page);
        if !align.is_power_of_two() {
            return Err(bad);
        }
        let mut free = self.lock();
        let found = free.iter().find_map(|(&s, &l)| {
            let start = s.checked_add(align - 1)? & !(align - 1);
            (start.checked_add(len)? <= s + l).then_some(start)
        });
        let start = found.ok_or(VirtError::Exhausted(len))?;
        Self::take(&mut free, start, len);
        Ok(VirtRange { start, len })
    }

    /// Allocates exactly `[start, start + len)`.
    pub fn allocate_at(&self, start: u64, len: u64) -> Result<VirtRange, VirtError> {
        let len = self
            .round(len)
            .filter(|l| *l > 0)
            .ok_or(VirtError::Bad { start, len })?;
        if !start.is_multiple_of(self.page) || start.checked_add(len).is_none() {
            return Err(VirtError::Bad { start, len });
        }
        let mut free = self.lock();
        let covering = free
            .range(..=start)
            .next_back()
            .is_some_and(|(&s, &l)| start + len <= s + l);
        if !covering {
            return Err(VirtError::NotFree { start, len });
        }
        Self::take(&mut free, start, len);
        Ok(VirtRange { start, len })
    }

    fn take(free: &mut BTreeMap<u64, u64>, start: u64, len: u64) {
        let (&s, &l) = free
            .range(..=start)
            .next_back()
            .expect("caller checked that a free range covers the request");
        free.remove(&s);
        if start > s {
            free.insert(s, start - s);
        }
        if start + len < s + l {
            free.insert(start + len, s + l - (start + len));
        }
    }

    /// Returns `[start, start + len)` to the free pool; parts already free are
    /// ignored, so double frees cannot corrupt the allocator.
    pub fn deallocate(&self, start: u64, len: u64) -> Result<(), VirtError> {
        let len = self.round(len).ok_or(VirtError::Bad { start, len })?;
        let end = start
            .checked_add(len)
            .ok_or(VirtError::Bad { start, len })?;
        if !start.is_multiple_of(self.page) || start < self.base || end > self.limit {
            return Err(VirtError::Bad { start, len });
        }
        let mut free = self.lock();
        let (mut s, mut e) = (start, end);
        // Absorb every free range that overlaps or touches [s, e).
        let touching: Vec<(u64, u64)> = free
            .range(..=e)
            .rev()
            .take_while(|(&fs, &fl)| fs + fl >= s)
            .map(|(&fs, &fl)| (fs, fl))
            .collect();
        for (fs, fl) in touching {
            free.remove(&fs);
            s = s.min(fs);
            e = e.max(fs + fl);
        }
        free.insert(s, e - s);
        Ok(())
    }

    /// Free bytes remaining.
    pub fn free_bytes(&self) -> u64 {
        self.lock().values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Allocated ranges never overlap and free + allocated == total.
        #[test]
        fn ranges_disjoint_and_conserved(ops in proptest::collection::vec((any::<bool>(), 1u64..5, 0usize..50), 1..100)) {
            let page = 8192;
            let v = VirtAddrService::create(0x10000, 0x10000 + 64 * page, page);
            let mut held: Vec<VirtRange> = Vec::new();
            for (alloc, pages, pick) in ops {
                if alloc || held.is_empty() {
                    if let Ok(r) = v.allocate(pages * page, page) {
                        for h in &held { prop_assert!(r.end() <= h.start || h.end() <= r.start); }
                        held.push(r);
                    }
                } else {
                    let r = held.remove(pick % held.len());
                    v.deallocate(r.start, r.len).unwrap();
                }
                let used: u64 = held.iter().map(|r| r.len).sum();
                prop_assert_eq!(used + v.free_bytes(), 64 * page);
            }
        }
    }

    #[test]
    fn fixed_and_aligned() {
        let page = 4096;
        let v = VirtAddrService::create(0, 1 << 20, page);
        let r = v.allocate_at(0x3000, 0x2000).unwrap();
        assert_eq!(
            r,
            VirtRange {
                start: 0x3000,
                len: 0x2000
            }
        );
        assert!(v.allocate_at(0x4000, 0x1000).is_err());
        let a = v.allocate(0x1000, 0x10000).unwrap();
        assert_eq!(a.start % 0x10000, 0);
        assert!(v.allocate(0, page).is_err());
        v.deallocate(0x3000, 0x2000).unwrap();
        v.deallocate(0x3000, 0x2000).unwrap(); // double free is harmless
        assert_eq!(v.free_bytes(), (1 << 20) - 0x1000);
    }
}
