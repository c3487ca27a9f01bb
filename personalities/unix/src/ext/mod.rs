//! Extension system calls: SPIN's way for an application to put its own
//! code in the kernel's path.
//!
//! Each UNIX mound keeps an [`ExtTable`]: system-call numbers in a range no
//! Linux architecture uses (from [`EXT_BASE`]) that extensions linked into
//! the mound export to its programs. A program links an extension by name
//! with the call [`EXT_LINK`] (`syscall(EXT_LINK, "spin.vm-workload")`),
//! which returns the number of the extension's first call; its other calls
//! follow consecutively. Linking is idempotent per mound.
//!
//! Only code holding the mound's [`ExtAuthority`] can add calls to its table
//! — the mound hands it to the extensions it links, nobody else can make
//! one. An extension's calls run on the calling thread with the caller's
//! address-space capability and nothing else of the mound (no mound lock is
//! held, so they can be answered on the CPU's fast path). A bad argument is
//! an errno; an extension that panics is contained by the caller.
//!
//! Built-in extensions: [`vm_workload`] (`spin.vm-workload`, the SPIN
//! paper's VM benchmark extension). Extensions from other crates are
//! linked the same way once the mound's configuration lists them
//! ([`ExtLinker`], `UnixConfig::extensions`).

pub mod vm_workload;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use spin_fs::Errno;
use spin_kernel::mem::AddressSpace;
use spin_kernel::{Cap, Kernel, MoundId};
use spin_unix_mm::MemoryManager;

/// First extension system-call number ("SP" followed by the call): far above
/// any Linux system call on any architecture.
pub const EXT_BASE: u64 = 0x5350_0000;
/// Extension numbers per mound (the link call included).
pub const EXT_CALLS: u64 = 256;
/// `ext_link(const char *name)`: links the built-in extension `name` into
/// the mound (once) and returns the number of its first call.
pub const EXT_LINK: u64 = EXT_BASE;

/// Whether `nr` is an extension system-call number.
pub fn is_ext(nr: u64) -> bool {
    (EXT_BASE..EXT_BASE + EXT_CALLS).contains(&nr)
}

/// The authority to add calls to one mound's extension table. Only the
/// mound makes one (there is no public constructor); it lends it to the
/// extensions it links.
#[derive(Debug)]
pub struct ExtAuthority {
    mound: MoundId,
}

impl ExtAuthority {
    pub(crate) fn new(mound: MoundId) -> ExtAuthority {
        ExtAuthority { mound }
    }
}

/// One call of an extension, as its handler sees it.
#[derive(Debug)]
pub struct ExtCall<'a> {
    /// The calling process.
    pub pid: u32,
    /// The caller's address space (the authority to change its mappings).
    pub space: &'a Cap<AddressSpace>,
    /// The six argument registers.
    pub args: [u64; 6],
}

/// A system call an extension exports.
pub trait ExtSyscall: Send + Sync {
    /// Runs the call; the value is returned to the guest, an error as its
    /// errno.
    fn call(&self, c: &ExtCall<'_>) -> Result<u64, Errno>;
}

/// What an extension hears about the address spaces of the mound.
pub trait SpaceHook: Send + Sync {
    /// `space` is about to be copied by `fork` (its writable private pages
    /// become copy-on-write).
    fn before_fork(&self, space: &Cap<AddressSpace>);
}

/// An extension from another crate that a mound can link by name (listed
/// in `UnixConfig::extensions`).
pub trait ExtLinker: Send + Sync + std::fmt::Debug {
    /// The name programs link it by.
    fn name(&self) -> &str;
    /// Links it into `table` (once per mound): registers its calls with
    /// `cx.auth` and returns the number of the first.
    fn link(&self, table: &ExtTable, cx: &LinkContext<'_>) -> Result<u64, ExtError>;
}

/// Why a table refused a registration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtError {
    /// The authority belongs to another mound.
    #[error("the authority is for mound {0}, not this one")]
    WrongMound(MoundId),
    /// No room for that many calls.
    #[error("the extension table is full")]
    Full,
    /// No built-in extension of that name.
    #[error("no extension named {0}")]
    Unknown(String),
}

impl From<ExtError> for Errno {
    fn from(e: ExtError) -> Errno {
        match e {
            ExtError::WrongMound(_) => Errno::EPERM,
            ExtError::Full => Errno::ENOSPC,
            ExtError::Unknown(_) => Errno::ENOENT,
        }
    }
}

/// A registered call.
struct Registered {
    name: &'static str,
    handler: Arc<dyn ExtSyscall>,
}

/// One mound's extension system calls.
pub struct ExtTable {
    mound: MoundId,
    /// Slot `i` is number `EXT_BASE + i` (slot 0 is the link call).
    calls: RwLock<Vec<Option<Registered>>>,
    /// Extensions linked so far: name → first call number.
    linked: Mutex<Vec<(String, u64)>>,
    /// Whether any extension was linked (faults are offered to extensions
    /// only then).
    any: AtomicBool,
    hooks: RwLock<Vec<Arc<dyn SpaceHook>>>,
}

impl std::fmt::Debug for ExtTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtTable")
            .field("mound", &self.mound)
            .field("linked", &*lock(&self.linked))
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ExtTable {
    /// An empty table of `mound`.
    pub fn new(mound: MoundId) -> ExtTable {
        ExtTable {
            mound,
            calls: RwLock::new(Vec::new()),
            linked: Mutex::new(Vec::new()),
            any: AtomicBool::new(false),
            hooks: RwLock::new(Vec::new()),
        }
    }

    /// Registers `calls` under consecutive numbers and returns the first.
    pub fn register(
        &self,
        auth: &ExtAuthority,
        calls: Vec<(&'static str, Arc<dyn ExtSyscall>)>,
    ) -> Result<u64, ExtError> {
        if auth.mound != self.mound {
            return Err(ExtError::WrongMound(auth.mound));
        }
        let mut t = self.calls.write().unwrap_or_else(|e| e.into_inner());
        let first = t.len().max(1);
        if (first + calls.len()) as u64 > EXT_CALLS {
            return Err(ExtError::Full);
        }
        t.resize_with(first, || None);
        t.extend(
            calls
                .into_iter()
                .map(|(name, handler)| Some(Registered { name, handler })),
        );
        Ok(EXT_BASE + first as u64)
    }

    /// Adds an extension's [`SpaceHook`].
    pub fn add_hook(&self, auth: &ExtAuthority, hook: Arc<dyn SpaceHook>) -> Result<(), ExtError> {
        if auth.mound != self.mound {
            return Err(ExtError::WrongMound(auth.mound));
        }
        self.hooks
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(hook);
        Ok(())
    }

    /// Tells the extensions `space` is about to be forked.
    pub fn before_fork(&self, space: &Cap<AddressSpace>) {
        let hooks = self.hooks.read().unwrap_or_else(|e| e.into_inner()).clone();
        for h in hooks {
            h.before_fork(space);
        }
    }

    /// Whether any extension is linked.
    pub fn linked_any(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }

    /// Runs extension call `nr`; `None` if nothing is registered there.
    pub fn call(&self, nr: u64, c: &ExtCall<'_>) -> Option<Result<u64, Errno>> {
        let slot = usize::try_from(nr.checked_sub(EXT_BASE)?).ok()?;
        let handler = {
            let t = self.calls.read().unwrap_or_else(|e| e.into_inner());
            t.get(slot)?.as_ref()?.handler.clone()
        };
        Some(handler.call(c))
    }

    /// The name of call `nr`, if registered (for `strace`).
    pub fn name(&self, nr: u64) -> Option<&'static str> {
        let slot = usize::try_from(nr.checked_sub(EXT_BASE)?).ok()?;
        let t = self.calls.read().unwrap_or_else(|e| e.into_inner());
        Some(t.get(slot)?.as_ref()?.name)
    }

    /// Links the built-in extension `name` (once per mound) and returns the
    /// number of its first call.
    pub(crate) fn link(&self, name: &[u8], cx: &LinkContext<'_>) -> Result<u64, ExtError> {
        let name = String::from_utf8_lossy(name).into_owned();
        let mut linked = lock(&self.linked);
        if let Some(&(_, first)) = linked.iter().find(|(n, _)| *n == name) {
            return Ok(first);
        }
        let first = match name.as_str() {
            vm_workload::NAME => vm_workload::link(self, cx)?,
            other => match cx.external.iter().find(|e| e.name() == other) {
                Some(e) => e.link(self, cx)?,
                None => return Err(ExtError::Unknown(name)),
            },
        };
        linked.push((name, first));
        self.any.store(true, Ordering::Release);
        Ok(first)
    }
}

/// What the mound lends an extension it links.
pub struct LinkContext<'a> {
    /// The authority over the mound's table.
    pub auth: &'a ExtAuthority,
    /// The kernel (its Translation service and events).
    pub kernel: &'a Arc<Kernel>,
    /// The mound.
    pub mound: MoundId,
    /// The start of the mound's host clock (what `CLOCK_MONOTONIC` counts
    /// from when the mound reads the host's clock).
    pub epoch: Instant,
    /// The mound's memory manager (its file mappings, their pagers).
    pub mm: &'a Arc<MemoryManager>,
    /// The extensions the mound's configuration lists.
    pub external: &'a [Arc<dyn ExtLinker>],
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Answer(u64);
    impl ExtSyscall for Answer {
        fn call(&self, c: &ExtCall<'_>) -> Result<u64, Errno> {
            match c.args[0] {
                0 => Ok(self.0),
                _ => Err(Errno::EINVAL),
            }
        }
    }

    fn space() -> Cap<AddressSpace> {
        let ram = spin_kernel::machine::new_guest_ram(8 * 8192).unwrap();
        spin_kernel::mem::Translation::new(ram, 13).create(MoundId(1))
    }

    #[test]
    fn calls_get_consecutive_numbers_in_the_extension_range() {
        let t = ExtTable::new(MoundId(1));
        let auth = ExtAuthority::new(MoundId(1));
        let a = t
            .register(
                &auth,
                vec![
                    ("a", Arc::new(Answer(7)) as Arc<dyn ExtSyscall>),
                    ("b", Arc::new(Answer(8))),
                ],
            )
            .unwrap();
        assert_eq!(a, EXT_BASE + 1);
        let c = t
            .register(
                &auth,
                vec![("c", Arc::new(Answer(9)) as Arc<dyn ExtSyscall>)],
            )
            .unwrap();
        assert_eq!(c, EXT_BASE + 3);
        assert!(is_ext(a) && is_ext(c) && !is_ext(EXT_BASE + EXT_CALLS));
        let sp = space();
        let call = |nr, arg| {
            t.call(
                nr,
                &ExtCall {
                    pid: 1,
                    space: &sp,
                    args: [arg, 0, 0, 0, 0, 0],
                },
            )
        };
        assert_eq!(call(a, 0), Some(Ok(7)));
        assert_eq!(call(a + 1, 0), Some(Ok(8)));
        assert_eq!(call(c, 1), Some(Err(Errno::EINVAL)));
        assert_eq!(call(c + 1, 0), None, "nothing registered there");
        assert_eq!(call(EXT_LINK, 0), None, "the link call is the mound's");
        assert_eq!(call(1, 0), None, "not an extension number");
        assert_eq!(t.name(a + 1), Some("b"));
    }

    #[test]
    fn another_mounds_authority_is_refused() {
        let t = ExtTable::new(MoundId(1));
        let err = t
            .register(
                &ExtAuthority::new(MoundId(2)),
                vec![("x", Arc::new(Answer(1)) as Arc<dyn ExtSyscall>)],
            )
            .unwrap_err();
        assert_eq!(err, ExtError::WrongMound(MoundId(2)));
        assert_eq!(Errno::from(err), Errno::EPERM);
    }

    #[test]
    fn the_table_fills_up_cleanly() {
        let t = ExtTable::new(MoundId(1));
        let auth = ExtAuthority::new(MoundId(1));
        let many: Vec<(&'static str, Arc<dyn ExtSyscall>)> = (0..EXT_CALLS)
            .map(|_| ("x", Arc::new(Answer(1)) as Arc<dyn ExtSyscall>))
            .collect();
        assert_eq!(t.register(&auth, many).unwrap_err(), ExtError::Full);
    }
}
