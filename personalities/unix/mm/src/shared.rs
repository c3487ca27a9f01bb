//! Shared objects: the pages behind `MAP_SHARED` mappings.
//!
//! A `MAP_SHARED` file mapping maps the mound's one object for that file (the
//! page cache: every process mapping the file shares its frames); a
//! `MAP_SHARED | MAP_ANONYMOUS` mapping gets an object of its own, shared with
//! the children that inherit it across `fork`. Private file mappings use the
//! file's object too, as Linux uses its page cache: their untouched pages map
//! the cached frames read-only, and a write copies the page. The object lives as long as a
//! region maps it; when the last one goes, its dirty file pages are written
//! back and its frames and swap slots freed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use spin_fs::PageBacking;

use crate::frames::PageRef;
use crate::manager::MemoryManager;

/// The pages of one shared object.
pub(crate) struct SharedObj {
    /// The file's id, or a unique id for an anonymous object.
    pub id: u64,
    /// The file, if file-backed.
    pub file: Option<Arc<dyn PageBacking>>,
    /// The manager whose frames hold the pages.
    pub mm: Arc<MemoryManager>,
    /// Page index in the object → where the page is.
    pages: Mutex<BTreeMap<u64, PageRef>>,
    /// Bumped (under the page-map lock) when the file's contents change, so
    /// a page read before the change is not installed after it.
    epoch: AtomicU64,
    /// Whether any `MAP_SHARED` region of it was ever writable (only then can
    /// its pages be dirty, and write-back has work).
    writable: AtomicBool,
}

impl SharedObj {
    /// An empty object.
    pub fn new(id: u64, file: Option<Arc<dyn PageBacking>>, mm: Arc<MemoryManager>) -> SharedObj {
        SharedObj {
            id,
            file,
            mm,
            pages: Mutex::new(BTreeMap::new()),
            epoch: AtomicU64::new(0),
            writable: AtomicBool::new(false),
        }
    }

    /// Notes that a writable shared region maps the object.
    pub fn set_writable(&self) {
        self.writable.store(true, Ordering::Release);
    }

    /// Whether a writable shared region ever mapped the object.
    pub fn writable(&self) -> bool {
        self.writable.load(Ordering::Acquire)
    }

    /// The contents epoch (read it under the page-map lock).
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Marks the file's contents changed (call under the page-map lock).
    pub fn bump_epoch(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Locks the page map (lock order: after Vm states and the object
    /// registry, before the frame table).
    pub fn pages(&self) -> MutexGuard<'_, BTreeMap<u64, PageRef>> {
        // Every update of the map is a single insert/remove: a panic elsewhere
        // under the lock leaves it consistent.
        self.pages.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for SharedObj {
    fn drop(&mut self) {
        let pages = std::mem::take(self.pages.get_mut().unwrap_or_else(|e| e.into_inner()));
        self.mm.finalize_object(self.id, self.file.as_ref(), pages);
    }
}
