//! The mapping system calls: `mmap`, `munmap`, `mprotect`, `mremap`,
//! `madvise(MADV_DONTNEED)`, `msync` and `brk`, with Linux's argument rules
//! and errors.

use std::sync::Arc;

use spin_fs::{Errno, PageBacking, SysResult};
use spin_kernel::{Access, Prot};

use super::vma::effective;
use super::{Vm, VmCore, VmState, Vma};
use crate::frames::PageRef;
use crate::types::{MapFlags, RegionKind};

impl VmCore {
    fn round_up(&self, len: u64) -> Option<u64> {
        let page = self.page();
        len.checked_add(page - 1).map(|l| l & !(page - 1))
    }

    fn aligned(&self, addr: u64) -> bool {
        addr & (self.page() - 1) == 0
    }

    /// Moves the pages and region of `[src, src_end)` (inside one region) to
    /// `dst`, the region becoming `new_len` bytes long there.
    fn move_range(&self, st: &mut VmState, src: u64, src_end: u64, dst: u64, new_len: u64) {
        let removed = st.remove_vmas(src, src_end);
        for (start, mut vma) in removed {
            let at = dst + (start - src);
            vma.end = if vma.end == src_end {
                dst + new_len
            } else {
                dst + (vma.end - src)
            };
            st.vmas.insert(at, vma);
        }
        let mut moved = st.pages.split_off(&src);
        let mut after = moved.split_off(&src_end);
        st.pages.append(&mut after);
        let mut ft = self.mm.lock_frames();
        for (va, page) in moved {
            let to = dst + (va - src);
            if let PageRef::Frame(f) = page {
                let old = self.space.unmap(va);
                let prot = match (old, st.find(to)) {
                    (Some(m), _) => m.prot,
                    (None, Some((_, vma))) => self.hw_prot(&ft, vma, f),
                    (None, None) => Prot::NONE,
                };
                if let Some(info) = ft.frames.get_mut(&f) {
                    info.rmap.rename(self.id, va, to);
                    info.dirty |= old.is_some_and(|m| m.dirty);
                }
                self.map_hw(to, f, prot);
            }
            st.pages.insert(to, page);
        }
        drop(ft);
        st.merge_around(dst);
        st.merge_around(dst + new_len);
    }
}

impl Vm {
    /// `mmap`: maps `len` bytes (rounded up to pages) of anonymous memory or of
    /// `file` from byte `offset` (page aligned). Without `fixed` the address is
    /// a hint; placement follows the [`crate::Layout`]. Returns the address.
    pub fn mmap(
        &self,
        addr: u64,
        len: u64,
        prot: Prot,
        flags: MapFlags,
        file: Option<(Arc<dyn PageBacking>, u64)>,
    ) -> SysResult<u64> {
        let core = &self.core;
        let layout = *core.layout();
        if len == 0 || flags.shared == flags.private {
            return Err(Errno::EINVAL);
        }
        let len = core.round_up(len).ok_or(Errno::ENOMEM)?;
        if len > layout.user_limit {
            return Err(Errno::ENOMEM);
        }
        let file = if flags.anonymous {
            None
        } else {
            let (file, offset) = file.ok_or(Errno::EBADF)?;
            if !core.aligned(offset) {
                return Err(Errno::EINVAL);
            }
            offset.checked_add(len).ok_or(Errno::EOVERFLOW)?;
            Some((file, offset))
        };
        let fixed = flags.fixed || flags.fixed_noreplace;
        let mut st = core.lock_state();
        let start = if fixed {
            if !core.aligned(addr) {
                return Err(Errno::EINVAL);
            }
            let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
            if end > layout.user_limit {
                return Err(Errno::ENOMEM);
            }
            if addr < layout.mmap_min {
                return Err(Errno::EPERM);
            }
            if flags.fixed_noreplace && !st.is_free(addr, end) {
                return Err(Errno::EEXIST);
            }
            addr
        } else {
            st.find_free(len, addr, &layout, core.page())
                .ok_or(Errno::ENOMEM)?
        };
        let end = start + len;
        let shared = flags.shared.then(|| match &file {
            Some((f, _)) => core.mm.object_for_file(f),
            None => core.mm.anon_object(),
        });
        if let Some(obj) = shared.as_ref().filter(|_| prot.contains(Prot::WRITE)) {
            obj.set_writable();
        }
        let cache = match (&file, flags.shared) {
            (Some((f, _)), false) => Some(core.mm.object_for_file(f)),
            _ => None,
        };
        let vma = Vma {
            end,
            prot,
            kind: if file.is_some() {
                RegionKind::File
            } else {
                RegionKind::Anon
            },
            growsdown: flags.growsdown,
            offset: file.as_ref().map_or(0, |(_, o)| *o),
            file: file.map(|(f, _)| f),
            shared,
            cache,
            limit: None,
        };
        core.unmap_range(&mut st, start, end);
        st.vmas.insert(start, vma);
        st.merge_around(end);
        st.merge_around(start);
        drop(st);
        if flags.populate {
            let access = if flags.private && prot.contains(Prot::WRITE) {
                Access::Write
            } else {
                Access::Read
            };
            for va in (start..end).step_by(core.page() as usize) {
                // As on Linux, population failures are not mmap's error:
                // the access faults again later and reports then.
                let _ = core.handle_fault(va, access);
            }
        }
        Ok(start)
    }

    /// `mmap` of an ELF segment's file part: private, fixed, and reading as
    /// zeros from file offset `limit` on (the `.bss` start inside the last
    /// file page).
    pub(crate) fn map_segment(
        &self,
        start: u64,
        len: u64,
        prot: Prot,
        file: &Arc<dyn PageBacking>,
        offset: u64,
        limit: Option<u64>,
    ) -> SysResult<()> {
        self.mmap(
            start,
            len,
            prot,
            MapFlags::private_file().with_fixed(),
            Some((file.clone(), offset)),
        )?;
        if limit.is_some() {
            let mut st = self.core.lock_state();
            st.split_at(start);
            st.split_at(start + len);
            if let Some(v) = st.vmas.get_mut(&start) {
                v.limit = limit;
            }
        }
        Ok(())
    }

    /// `munmap`: removes every mapping in `[addr, addr + len)`; holes are fine.
    pub fn munmap(&self, addr: u64, len: u64) -> SysResult<()> {
        let core = &self.core;
        if !core.aligned(addr) || len == 0 {
            return Err(Errno::EINVAL);
        }
        let end = core
            .round_up(len)
            .and_then(|l| addr.checked_add(l))
            .filter(|e| *e <= core.layout().user_limit)
            .ok_or(Errno::EINVAL)?;
        let mut st = core.lock_state();
        core.unmap_range(&mut st, addr, end);
        Ok(())
    }

    /// `mprotect`: changes the protection of `[addr, addr + len)`, which must
    /// be wholly mapped (`ENOMEM` otherwise, and nothing changes).
    pub fn mprotect(&self, addr: u64, len: u64, prot: Prot) -> SysResult<()> {
        let core = &self.core;
        if !core.aligned(addr) {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        let end = core
            .round_up(len)
            .and_then(|l| addr.checked_add(l))
            .ok_or(Errno::ENOMEM)?;
        let mut st = core.lock_state();
        if end > core.layout().user_limit || !st.covered(addr, end) {
            return Err(Errno::ENOMEM);
        }
        st.split_at(addr);
        st.split_at(end);
        for (_, v) in st.vmas.range_mut(addr..end) {
            v.prot = prot;
            if let Some(obj) = v.shared.as_ref().filter(|_| prot.contains(Prot::WRITE)) {
                obj.set_writable();
            }
        }
        let eff = effective(prot);
        if eff.contains(Prot::WRITE) {
            // Private frames still shared copy-on-write stay read-only.
            let ft = core.mm.lock_frames();
            for (&va, page) in st.pages.range(addr..end) {
                let (PageRef::Frame(f), Some((_, vma))) = (*page, st.find(va)) else {
                    continue;
                };
                let _ = core.space.protect(va, core.hw_prot(&ft, vma, f));
            }
        } else {
            core.space.protect_range(addr, end - addr, eff);
        }
        st.merge_around(end);
        st.merge_around(addr);
        Ok(())
    }

    /// `mremap`: resizes the mapping at `old` (which must lie inside one
    /// region, `EFAULT` otherwise), in place if it can, else moving it when
    /// `may_move`; with `fixed`, moves it to exactly that address.
    pub fn mremap(
        &self,
        old: u64,
        old_len: u64,
        new_len: u64,
        may_move: bool,
        fixed: Option<u64>,
    ) -> SysResult<u64> {
        let core = &self.core;
        let layout = *core.layout();
        if !core.aligned(old) || (fixed.is_some() && !may_move) {
            return Err(Errno::EINVAL);
        }
        let old_len = core.round_up(old_len).ok_or(Errno::EINVAL)?;
        let new_len = core.round_up(new_len).ok_or(Errno::EINVAL)?;
        if old_len == 0 || new_len == 0 {
            return Err(Errno::EINVAL);
        }
        let old_end = old.checked_add(old_len).ok_or(Errno::EINVAL)?;
        if let Some(dst) = fixed {
            let dst_end = dst.checked_add(new_len).ok_or(Errno::EINVAL)?;
            let bad_target =
                !core.aligned(dst) || dst_end > layout.user_limit || dst < layout.mmap_min;
            if bad_target || (dst < old_end && old < dst_end) {
                return Err(Errno::EINVAL);
            }
        }
        let mut st = core.lock_state();
        let (vstart, vend) = match st.find(old) {
            Some((s, v)) if v.end >= old_end => (s, v.end),
            _ => return Err(Errno::EFAULT),
        };
        if let Some(dst) = fixed {
            let dst_end = dst + new_len;
            core.unmap_range(&mut st, dst, dst_end);
            let keep = old_len.min(new_len);
            if keep < old_len {
                core.unmap_range(&mut st, old + keep, old_end);
            }
            core.move_range(&mut st, old, old + keep, dst, new_len);
            return Ok(dst);
        }
        if new_len <= old_len {
            if new_len < old_len {
                core.unmap_range(&mut st, old + new_len, old_end);
            }
            return Ok(old);
        }
        let grow_end = old.checked_add(new_len).ok_or(Errno::ENOMEM)?;
        if vend == old_end && grow_end <= layout.user_limit && st.is_free(old_end, grow_end) {
            if let Some(v) = st.vmas.get_mut(&vstart) {
                v.end = grow_end;
            }
            st.merge_around(grow_end);
            return Ok(old);
        }
        if !may_move {
            return Err(Errno::ENOMEM);
        }
        let dst = st
            .find_free(new_len, 0, &layout, core.page())
            .ok_or(Errno::ENOMEM)?;
        core.move_range(&mut st, old, old_end, dst, new_len);
        Ok(dst)
    }

    /// `madvise(MADV_DONTNEED)`: drops the pages of `[addr, addr + len)` from
    /// this space. Private pages read back as zeros (anonymous) or as the
    /// file's contents; shared pages keep their contents in the object.
    /// `ENOMEM` if part of the range is unmapped (the rest is still dropped).
    pub fn madvise_dontneed(&self, addr: u64, len: u64) -> SysResult<()> {
        let core = &self.core;
        if !core.aligned(addr) {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        let end = core
            .round_up(len)
            .and_then(|l| addr.checked_add(l))
            .ok_or(Errno::EINVAL)?;
        let mut st = core.lock_state();
        let covered = st.covered(addr, end);
        core.clear_pages(&mut st, addr, end);
        if covered {
            Ok(())
        } else {
            Err(Errno::ENOMEM)
        }
    }

    /// `msync`: writes the dirty shared file pages of `[addr, addr + len)` back
    /// to their files (synchronously; `MS_ASYNC` may call it too).
    pub fn msync(&self, addr: u64, len: u64) -> SysResult<()> {
        let core = &self.core;
        if !core.aligned(addr) {
            return Err(Errno::EINVAL);
        }
        let end = core
            .round_up(len)
            .and_then(|l| addr.checked_add(l))
            .ok_or(Errno::ENOMEM)?;
        let page = core.page();
        let work: Vec<_> = {
            let st = core.lock_state();
            if !st.covered(addr, end) {
                return Err(Errno::ENOMEM);
            }
            st.vmas
                .range(..end)
                .filter(|(_, v)| v.end > addr)
                .filter_map(|(&s, v)| {
                    let obj = v.shared.clone().filter(|o| o.file.is_some())?;
                    let lo = s.max(addr);
                    let hi = v.end.min(end);
                    let first = (v.offset + (lo - s)) / page;
                    let last = (v.offset + (hi - s)) / page;
                    Some((obj, first, last))
                })
                .collect()
        };
        for (obj, first, last) in &work {
            core.mm.writeback_pages(obj, *first, *last);
        }
        drop(work);
        Ok(())
    }

    /// `brk`: moves the program break to `new` and returns the break now in
    /// effect. Linux's rules: 0, a value below the heap start, or a range
    /// that would collide with another mapping leaves it unchanged; the value
    /// need not be page aligned. Shrinking frees the pages above it.
    pub fn brk(&self, new: u64) -> u64 {
        let core = &self.core;
        let page = core.page();
        let layout = *core.layout();
        let mut st = core.lock_state();
        let cur = st.brk;
        // No heap before an executable set its start; below it: unchanged.
        if new == 0 || st.brk_base == 0 || new < st.brk_base {
            return cur;
        }
        let old_top = core.round_up(cur).unwrap_or(cur);
        let Some(new_top) = core.round_up(new).filter(|t| *t <= layout.user_limit) else {
            return cur;
        };
        if new_top > old_top {
            let guard_end = new_top.saturating_add(page).min(layout.user_limit);
            if !st.is_free(old_top, guard_end) {
                return cur;
            }
            let heap = st
                .vmas
                .range_mut(..old_top)
                .next_back()
                .filter(|(_, v)| v.kind == RegionKind::Heap && v.end == old_top);
            match heap {
                Some((_, v)) => v.end = new_top,
                None => {
                    st.vmas
                        .insert(old_top, Vma::anon(new_top, Prot::RW, RegionKind::Heap));
                }
            }
        } else if new_top < old_top {
            core.unmap_range(&mut st, new_top, old_top);
        }
        st.brk = new;
        new
    }
}

impl Vm {
    /// Labels the region starting at `start` (the stack, for `/proc/self/maps`).
    pub(crate) fn set_region_kind(&self, start: u64, kind: RegionKind) {
        if let Some(v) = self.core.lock_state().vmas.get_mut(&start) {
            v.kind = kind;
        }
    }
}
