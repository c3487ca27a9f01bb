//! Shared test fixtures: a real kernel and an in-memory file.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use spin_fs::{Errno, PageBacking, SysResult};
use spin_kernel::machine::new_guest_ram;
use spin_kernel::{Kernel, KernelConfig, MoundId};
use spin_unix_mm::{MapFlags, MemoryManager, Prot, Vm};

pub const PAGE: u64 = 8192;
pub const MOUND: MoundId = MoundId(1);

/// Boots a kernel with `frames` frames of 8 KiB guest RAM.
pub fn kernel(frames: u64) -> Arc<Kernel> {
    Kernel::boot(
        new_guest_ram(frames * PAGE).unwrap(),
        KernelConfig::default(),
    )
    .0
}

/// A kernel plus the mound's memory manager.
pub fn setup(frames: u64, quota: Option<u64>) -> (Arc<Kernel>, Arc<MemoryManager>) {
    let k = kernel(frames);
    let mm = MemoryManager::new(&k, MOUND, quota);
    (k, mm)
}

/// A file held in a vector.
pub struct MemFile {
    id: u64,
    pub data: Mutex<Vec<u8>>,
}

impl MemFile {
    pub fn new(data: Vec<u8>) -> Arc<MemFile> {
        static NEXT: AtomicU64 = AtomicU64::new(100);
        Arc::new(MemFile {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            data: Mutex::new(data),
        })
    }

    pub fn backing(self: &Arc<Self>) -> Arc<dyn PageBacking> {
        self.clone()
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.data.lock().unwrap().clone()
    }
}

impl PageBacking for MemFile {
    fn id(&self) -> u64 {
        self.id
    }
    fn size(&self) -> u64 {
        self.data.lock().unwrap().len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> SysResult<usize> {
        let d = self.data.lock().unwrap();
        let off = usize::try_from(offset).map_err(|_| Errno::EINVAL)?;
        if off >= d.len() {
            return Ok(0);
        }
        let n = buf.len().min(d.len() - off);
        buf[..n].copy_from_slice(&d[off..off + n]);
        Ok(n)
    }
    fn write_at(&self, offset: u64, data: &[u8]) -> SysResult<usize> {
        let mut d = self.data.lock().unwrap();
        let off = offset as usize;
        if off >= d.len() {
            return Ok(0);
        }
        let n = data.len().min(d.len() - off);
        d[off..off + n].copy_from_slice(&data[..n]);
        Ok(n)
    }
}

/// A recognisable page: byte i is `seed + i * 7` (mod 256).
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    (0..len).map(|i| (seed as usize + i * 7) as u8).collect()
}

/// Maps `pages` pages of private anonymous memory with `prot`.
pub fn anon(vm: &Vm, pages: u64, prot: Prot) -> u64 {
    vm.mmap(0, pages * PAGE, prot, MapFlags::private_anon(), None)
        .unwrap()
}

pub fn read_page(vm: &Vm, va: u64) -> Vec<u8> {
    let mut buf = vec![0u8; PAGE as usize];
    vm.read(va, &mut buf).unwrap();
    buf
}
