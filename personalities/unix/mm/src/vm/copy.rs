//! User copies: the system-call layer's way into guest memory. They go through
//! the kernel context's permission-checked copy and resolve a missing or
//! read-only page exactly as a guest access would (demand paging,
//! copy-on-write, stack growth); what a guest access could not reach is
//! `EFAULT`. The copy itself runs under the Vm lock (see `user_copy`).

use spin_fs::{Errno, SysResult};
use spin_kernel::Access;

use super::Vm;
use crate::types::Fault;

/// Times one page may be faulted in and lost again (to reclaim by another
/// thread) within one copy before the copy gives up.
const MAX_REFAULTS: u32 = 16;

fn errno(f: Fault) -> Errno {
    match f {
        Fault::Oom => Errno::ENOMEM,
        Fault::MapErr | Fault::AccErr | Fault::Bus => Errno::EFAULT,
    }
}

impl Vm {
    /// Runs `copy` (a kernel-context read or write from `va + done`) until it
    /// succeeds, faulting in each page it stops at.
    fn user_copy(
        &self,
        va: u64,
        len: usize,
        access: Access,
        mut copy: impl FnMut(u64, usize) -> Result<(), u64>,
    ) -> SysResult<()> {
        if len == 0 {
            return Ok(());
        }
        let end = va.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        if end > self.layout().user_limit {
            return Err(Errno::EFAULT);
        }
        let mut done = 0usize;
        let (mut last, mut tries) = (u64::MAX, 0);
        loop {
            // The Vm lock keeps eviction and fork from changing a page while
            // the copy is inside it (they unmap or write-protect under this
            // lock); without it a copy could write into a frame that is
            // being swapped out, or into one fork just shared.
            let copied = {
                let _st = self.core.lock_state();
                copy(va + done as u64, done)
            };
            match copied {
                Ok(()) => return Ok(()),
                Err(at) => {
                    // Everything before `at` was copied.
                    done = (at.max(va) - va) as usize;
                    if at == last {
                        tries += 1;
                        if tries > MAX_REFAULTS {
                            return Err(Errno::EFAULT);
                        }
                    } else {
                        (last, tries) = (at, 0);
                    }
                    self.handle_fault(at, access).map_err(errno)?;
                }
            }
        }
    }

    /// Copies `buf.len()` bytes from guest address `va`. A page that is
    /// unmapped, `PROT_NONE` or beyond its file is `EFAULT`.
    pub fn read(&self, va: u64, buf: &mut [u8]) -> SysResult<()> {
        let space = self.space().clone();
        self.user_copy(va, buf.len(), Access::Read, |at, done| {
            space.read(at, &mut buf[done..]).map_err(|(f, _)| f)
        })
    }

    /// Copies `data` to guest address `va`; needs write permission (a
    /// copy-on-write page is copied first).
    pub fn write(&self, va: u64, data: &[u8]) -> SysResult<()> {
        let space = self.space().clone();
        self.user_copy(va, data.len(), Access::Write, |at, done| {
            space.write(at, &data[done..]).map_err(|(f, _)| f)
        })
    }

    /// Reads a little-endian `u32`.
    pub fn read_u32(&self, va: u64) -> SysResult<u32> {
        let mut b = [0u8; 4];
        self.read(va, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Reads a little-endian `u64`.
    pub fn read_u64(&self, va: u64) -> SysResult<u64> {
        let mut b = [0u8; 8];
        self.read(va, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Writes a little-endian `u32`.
    pub fn write_u32(&self, va: u64, value: u32) -> SysResult<()> {
        self.write(va, &value.to_le_bytes())
    }

    /// Writes a little-endian `u64`.
    pub fn write_u64(&self, va: u64, value: u64) -> SysResult<()> {
        self.write(va, &value.to_le_bytes())
    }

    /// Reads a NUL-terminated string of at most `max` bytes (not counting the
    /// NUL), without the NUL. `ENAMETOOLONG` if no NUL comes within `max + 1`
    /// bytes; pages after the NUL are never touched.
    pub fn read_cstr(&self, va: u64, max: usize) -> SysResult<Vec<u8>> {
        let page = self.page_size();
        let mut out = Vec::new();
        let mut cur = va;
        loop {
            let in_page = (page - (cur & (page - 1))) as usize;
            let want = in_page.min(max + 1 - out.len());
            let from = out.len();
            out.resize(from + want, 0);
            self.read(cur, &mut out[from..])?;
            if let Some(nul) = out[from..].iter().position(|&b| b == 0) {
                out.truncate(from + nul);
                return Ok(out);
            }
            if out.len() > max {
                return Err(Errno::ENAMETOOLONG);
            }
            cur = cur.checked_add(want as u64).ok_or(Errno::EFAULT)?;
        }
    }
}
