//! Host memory behind guest physical memory, made real lazily.
//!
//! Under PVM's shadow paging a vCPU was seen to keep reading a stale host
//! page when the host replaced the page behind guest memory (a transparent
//! huge page collapsing or splitting; the shared zero page turning into a
//! private copy on the host's first write): a forked child read a zeroed
//! TLS page, a pipeline lost its data. The rule that fixed it: every host
//! page behind a guest-visible frame is a private, written, 4 KiB page
//! *before* any guest page-table entry can point at it, and stays so.
//!
//! Populating all of guest RAM up front (1 GiB: ~1.7 s of system time on
//! these machines) kept that rule at a price every VM paid at start. Here
//! the regions are `MADV_NOHUGEPAGE` from the start (cheap) and populated
//! by `MADV_POPULATE_WRITE` one chunk at a time (RAM: [`RAM_CHUNK`]; the
//! private region: [`PRIVATE_CHUNK`]), the first time a leaf the machine
//! installs (a page-table frame it hands out, a vCPU block it sets up)
//! lies in the chunk. The guest reaches RAM only through those leaves, so the rule
//! holds with only the chunks a program uses made real.

/// Bytes of RAM populated at once (frames are handed out roughly in
/// address order, so a chunk is mostly used once any of it is).
pub const RAM_CHUNK: u64 = 512 << 10;
/// Bytes of the private region populated at once (page-table frames one
/// after another; a vCPU's 64 KiB block).
pub const PRIVATE_CHUNK: u64 = 64 << 10;

/// `MADV_POPULATE_WRITE` (Linux 5.14), spelled out for older libc crates.
const MADV_POPULATE_WRITE: libc::c_int = 23;

/// One host mapping behind guest physical `[gpa, gpa + len)`.
struct Region {
    gpa: u64,
    len: u64,
    /// Host virtual address of `gpa`.
    host: usize,
    /// Bytes populated at once.
    chunk: u64,
    /// One bit per chunk: populated.
    done: Vec<u64>,
}

/// The host mappings of a machine's memslots and which chunks are real.
#[derive(Default)]
pub struct Backing {
    regions: Vec<Region>,
    /// Chunks populated so far.
    populated: u64,
    /// `MADV_POPULATE_WRITE` is refused (older host): nothing to do.
    unsupported: bool,
}

impl Backing {
    /// Adds the host mapping `host..host + len` behind guest `gpa`, advised
    /// off transparent huge pages, populated `chunk` bytes at a time.
    ///
    /// # Safety
    /// `host..host + len` must be a private anonymous mapping that stays
    /// valid as long as this `Backing` is used.
    pub unsafe fn add(&mut self, gpa: u64, len: u64, host: u64, chunk: u64) {
        // SAFETY: advice on a mapping the caller guarantees valid; it
        // neither changes its contents nor moves it.
        unsafe {
            libc::madvise(
                host as *mut libc::c_void,
                len as usize,
                libc::MADV_NOHUGEPAGE,
            );
        }
        let chunk = chunk.max(4096);
        let chunks = len.div_ceil(chunk) as usize;
        self.regions.push(Region {
            gpa,
            len,
            host: host as usize,
            chunk,
            done: vec![0; chunks.div_ceil(64)],
        });
    }

    /// Chunks populated so far.
    pub fn populated(&self) -> u64 {
        self.populated
    }

    /// Whether the chunk holding guest physical `gpa` is populated
    /// (addresses outside every region: false).
    pub fn is_populated(&self, gpa: u64) -> bool {
        self.regions.iter().any(|r| {
            gpa >= r.gpa && gpa - r.gpa < r.len && {
                let c = ((gpa - r.gpa) / r.chunk) as usize;
                r.done[c / 64] & (1 << (c % 64)) != 0
            }
        })
    }

    /// Makes the host pages behind guest `[gpa, gpa + len)` real (every
    /// chunk it touches), if they are not yet.
    pub fn ensure(&mut self, gpa: u64, len: u64) {
        let end = gpa.saturating_add(len.max(1));
        for r in &mut self.regions {
            let (lo, hi) = (gpa.max(r.gpa), end.min(r.gpa + r.len));
            if lo >= hi {
                continue;
            }
            for c in ((lo - r.gpa) / r.chunk)..(hi - r.gpa).div_ceil(r.chunk) {
                let c = c as usize;
                if r.done[c / 64] & (1 << (c % 64)) != 0 {
                    continue;
                }
                r.done[c / 64] |= 1 << (c % 64);
                self.populated += 1;
                if self.unsupported {
                    continue;
                }
                let off = c as u64 * r.chunk;
                let n = r.chunk.min(r.len - off) as usize;
                // SAFETY: inside a mapping `add`'s caller guarantees valid;
                // populating writes no data (the pages keep their contents:
                // a page already there is left as is, a missing one becomes
                // a private zero-filled page).
                let rc = unsafe {
                    libc::madvise(
                        (r.host + off as usize) as *mut libc::c_void,
                        n,
                        MADV_POPULATE_WRITE,
                    )
                };
                if rc != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
                    self.unsupported = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resident pages of `host..host + len` (mincore).
    fn resident(host: u64, len: u64) -> usize {
        let mut v = vec![0u8; (len / 4096) as usize];
        // SAFETY: `host` is page aligned and mapped for `len` bytes; `v`
        // has one byte per page.
        let rc = unsafe { libc::mincore(host as *mut libc::c_void, len as usize, v.as_mut_ptr()) };
        assert_eq!(rc, 0);
        v.iter().filter(|b| **b & 1 != 0).count()
    }

    #[test]
    fn populates_only_the_chunks_asked_for_and_each_once() {
        const CHUNK: u64 = RAM_CHUNK;
        let len = 4 * CHUNK;
        // SAFETY: a fresh private anonymous mapping, unmapped below.
        let host = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        assert_ne!(host, libc::MAP_FAILED);
        let host = host as u64;
        let mut b = Backing::default();
        // SAFETY: the mapping lives until the munmap at the end.
        unsafe { b.add(1 << 30, len, host, CHUNK) };
        assert_eq!(resident(host, len), 0, "nothing populated at start");
        assert!(!b.is_populated((1 << 30) + CHUNK));
        b.ensure((1 << 30) + CHUNK + 4096, 4096);
        assert!(b.is_populated((1 << 30) + CHUNK));
        assert!(!b.is_populated(1 << 30));
        assert_eq!(b.populated(), 1);
        if !b.unsupported {
            assert_eq!(resident(host, len), (CHUNK / 4096) as usize);
            assert_eq!(resident(host + CHUNK, CHUNK), (CHUNK / 4096) as usize);
        }
        // Again, and a range across two chunks (one new).
        b.ensure((1 << 30) + CHUNK, 8);
        b.ensure((1 << 30) + 2 * CHUNK - 4096, 8192);
        assert_eq!(b.populated(), 2);
        // Outside every region: nothing.
        b.ensure(0, 4096);
        assert_eq!(b.populated(), 2);
        // SAFETY: the mapping made above, no longer used.
        unsafe { libc::munmap(host as *mut libc::c_void, len as usize) };
    }
}
