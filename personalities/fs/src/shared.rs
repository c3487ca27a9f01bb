//! State every part of one Vfs shares: identity counter, space quota,
//! record locks, the random generator, the notifier, the owner identity.
//!
//! Open files keep an `Arc<Shared>` (not the Vfs), so a Vfs and its open
//! files never form a reference cycle.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::lock::LockTable;
use crate::{Errno, Notifier, ProcResolver, SysResult};
use spin_kernel::rng::Rng;

/// Locks a mutex, ignoring poisoning: a panic elsewhere must not turn
/// every later guest file operation into a host panic.
pub(crate) fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Now, as `(seconds, nanoseconds)` since the epoch (host clock).
pub(crate) fn now() -> (i64, i64) {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            i64::from(d.subsec_nanos()),
        ),
        Err(_) => (0, 0),
    }
}

/// Default cap on in-memory file contents per Vfs, in bytes (1 GiB).
pub const DEFAULT_SPACE_LIMIT: u64 = 1 << 30;

/// The guest-visible identity of the Vfs's single user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner {
    pub uid: u32,
    pub gid: u32,
}

impl Owner {
    /// The host user this process runs as (read from `/proc/self`, which
    /// the kernel gives the process's effective ids); 1000 if unknown.
    pub fn of_host() -> Owner {
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata("/proc/self") {
            Ok(m) => Owner {
                uid: m.uid(),
                gid: m.gid(),
            },
            Err(_) => Owner {
                uid: 1000,
                gid: 1000,
            },
        }
    }
}

/// State shared by a Vfs and every file opened from it.
pub(crate) struct Shared {
    /// Told whenever an object's readiness may have changed.
    pub notifier: Arc<dyn Notifier>,
    next_id: AtomicU64,
    used: AtomicU64,
    limit: AtomicU64,
    /// Record locks of every file, by file id.
    pub locks: Mutex<LockTable>,
    /// `/dev/urandom` and `getrandom`.
    pub rng: Mutex<Rng>,
    host_ids: Mutex<HashMap<(u64, u64), u64>>,
    owner: RwLock<Owner>,
    /// `/proc/self` provider, if the personality installed one.
    pub proc: RwLock<Option<Arc<dyn ProcResolver>>>,
}

impl Shared {
    pub fn new(notifier: Arc<dyn Notifier>) -> Arc<Shared> {
        Arc::new(Shared {
            notifier,
            next_id: AtomicU64::new(1),
            used: AtomicU64::new(0),
            limit: AtomicU64::new(DEFAULT_SPACE_LIMIT),
            locks: Mutex::new(LockTable::default()),
            rng: Mutex::new(Rng::new(0)),
            host_ids: Mutex::new(HashMap::new()),
            owner: RwLock::new(Owner::of_host()),
            proc: RwLock::new(None),
        })
    }

    /// A fresh identity: inode numbers of in-memory nodes, pipes, consoles
    /// and host files all come from this one counter, so they double as
    /// unique notifier keys and stay deterministic.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The stable identity of the host file `(dev, ino)`.
    pub fn host_id(&self, dev: u64, ino: u64) -> u64 {
        let mut ids = lock(&self.host_ids);
        *ids.entry((dev, ino)).or_insert_with(|| self.next_id())
    }

    /// Reserves `bytes` of in-memory file space; `ENOSPC` past the limit.
    pub fn reserve(&self, bytes: u64) -> SysResult<()> {
        let limit = self.limit.load(Ordering::Relaxed);
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&n| n <= limit)
            })
            .map(|_| ())
            .map_err(|_| Errno::ENOSPC)
    }

    /// Returns `bytes` of in-memory file space.
    pub fn release(&self, bytes: u64) {
        let _ = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                Some(used.saturating_sub(bytes))
            });
    }

    /// Bytes of in-memory file contents currently allocated.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    pub fn set_limit(&self, bytes: u64) {
        self.limit.store(bytes, Ordering::Relaxed);
    }

    pub fn owner(&self) -> Owner {
        *self.owner.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn set_owner(&self, owner: Owner) {
        *self.owner.write().unwrap_or_else(PoisonError::into_inner) = owner;
    }

    pub fn resolver(&self) -> Option<Arc<dyn ProcResolver>> {
        self.proc
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether the owner may access a node with this mode and ownership
    /// (`want` is an `R_OK|W_OK|X_OK` mask). Root passes everything except
    /// execute on a non-directory without any execute bit, as on Linux.
    pub fn permits(&self, mode: u32, uid: u32, gid: u32, want: u32) -> bool {
        let me = self.owner();
        if me.uid == 0 {
            let is_dir = mode & crate::types::S_IFMT == crate::types::S_IFDIR;
            return want & crate::types::X_OK == 0 || is_dir || mode & 0o111 != 0;
        }
        let bits = if uid == me.uid {
            (mode >> 6) & 7
        } else if gid == me.gid {
            (mode >> 3) & 7
        } else {
            mode & 7
        };
        bits & want == want
    }
}
