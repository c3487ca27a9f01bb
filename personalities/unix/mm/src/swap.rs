//! The swap store: page-sized slots in an unlinked host temp file.
//!
//! A slot carries a reference count: one per software page-table entry (or
//! shared-object page) that names it, plus one per in-flight swap-in that
//! pinned it. The slot is free again when the count reaches zero. Free slots
//! are reused lowest first, so the file stays as small as the peak need.

use std::collections::BTreeSet;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// A swap slot number.
pub(crate) type Slot = u32;

pub(crate) struct SwapStore {
    page: u64,
    max_slots: u32,
    file: Option<Arc<File>>,
    refs: Vec<u32>,
    free: BTreeSet<Slot>,
    used: u64,
}

impl SwapStore {
    /// A store of at most `max_slots` pages of `page` bytes; the file is
    /// created on first use.
    pub fn new(page: u64, max_slots: u32) -> SwapStore {
        SwapStore {
            page,
            max_slots,
            file: None,
            refs: Vec::new(),
            free: BTreeSet::new(),
            used: 0,
        }
    }

    /// Slots in use.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Takes a free slot with reference count `refs` (≥ 1), growing the store
    /// if none is free.
    pub fn alloc(&mut self, refs: u32) -> io::Result<(Slot, Arc<File>)> {
        let file = match &self.file {
            Some(f) => f.clone(),
            None => {
                let f = Arc::new(tempfile::tempfile()?);
                self.file = Some(f.clone());
                f
            }
        };
        let slot = match self.free.pop_first() {
            Some(s) => s,
            None => {
                let s = u32::try_from(self.refs.len())
                    .ok()
                    .filter(|s| *s < self.max_slots)
                    .ok_or_else(|| io::Error::other("swap store full"))?;
                self.refs.push(0);
                s
            }
        };
        self.refs[slot as usize] = refs.max(1);
        self.used += 1;
        Ok((slot, file))
    }

    /// Adds `n` references to a slot in use.
    pub fn add_ref(&mut self, slot: Slot, n: u32) {
        if let Some(r) = self.refs.get_mut(slot as usize) {
            debug_assert!(*r > 0, "add_ref on a free swap slot");
            *r += n;
        }
    }

    /// Drops one reference; frees the slot at zero.
    pub fn release(&mut self, slot: Slot) {
        let Some(r) = self.refs.get_mut(slot as usize) else {
            return;
        };
        debug_assert!(*r > 0, "release of a free swap slot");
        *r = r.saturating_sub(1);
        if *r == 0 && self.free.insert(slot) {
            self.used -= 1;
        }
    }

    /// The backing file, for reading a slot without holding the store's lock.
    pub fn file(&self) -> Option<Arc<File>> {
        self.file.clone()
    }

    /// Byte offset of a slot in the file.
    pub fn offset(&self, slot: Slot) -> u64 {
        u64::from(slot) * self.page
    }
}

/// Writes one page to `slot` of `file`.
pub(crate) fn write_slot(file: &File, offset: u64, data: &[u8]) -> io::Result<()> {
    file.write_all_at(data, offset)
}

/// Reads one page from `slot` of `file`.
pub(crate) fn read_slot(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<()> {
    file.read_exact_at(buf, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_reused_lowest_first_and_refcounted() {
        let mut s = SwapStore::new(8192, 4);
        let (a, f) = s.alloc(1).unwrap();
        let (b, _) = s.alloc(2).unwrap();
        assert_eq!((a, b), (0, 1));
        write_slot(&f, s.offset(b), &[7u8; 8192]).unwrap();
        let mut back = vec![0u8; 8192];
        read_slot(&f, s.offset(b), &mut back).unwrap();
        assert!(back.iter().all(|&x| x == 7));
        s.release(b);
        assert_eq!(s.used(), 2, "one reference left");
        s.release(b);
        s.release(a);
        assert_eq!(s.used(), 0);
        assert_eq!(s.alloc(1).unwrap().0, 0);
        s.alloc(1).unwrap();
        s.alloc(1).unwrap();
        s.alloc(1).unwrap();
        assert!(s.alloc(1).is_err(), "store full at max_slots");
    }
}
