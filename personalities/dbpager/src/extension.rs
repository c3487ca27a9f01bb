//! `spin.db-pager`: the extension that makes a UNIX mound a database pager
//! mound.
//!
//! Linked into a mound through `UnixConfig::extensions`, it lets a program
//! hand the `MAP_SHARED` mapping of its database file to a [`Pager`]: from
//! then on every fault on that file (a page-in, or an access to a page the
//! pager protected) is a reference the pager sees, and the pages it evicts
//! are written back if dirty and unmapped by the mound's memory manager
//! (through spin-unix-mm's `FilePager` hook); `PhysAddr.Reclaim` takes this
//! pager's least valuable page first.
//!
//! What the pager observes depends on the policy. `clock` needs only misses
//! and its simulated reference bits: the pages whose bit the hand cleared
//! are protected (`PROT_NONE`), and the fault on the next access sets the
//! bit again. The others need every reference, so the extension keeps only
//! the most recently touched page of the file accessible: every transition
//! to another page traps (a page-granular reference string, which is also
//! what [`call::RECORD`] records for `opt` to replay).
//!
//! Calls (numbers relative to the first, which `ext_link` returns):
//!
//! | n | call | |
//! |---|---|---|
//! | 0 | `attach(addr, budget, policy)` | the file mapped shared at `addr` gets a pager of `budget` frames (0: the default) run by `policy` ([`PolicyKind::code`]) |
//! | 1 | `hint(addr, len, kind)` | the file's pages under `[addr, addr + len)` are of `kind` ([`PageKind::code`]; `Normal` clears) |
//! | 2 | `mode(kind)` | what the program does next is of `kind` (a scan); 4: nothing special |
//! | 3 | `policy(policy)` | switch policies (`opt` replays the last recorded trace) |
//! | 4 | `stat(which)` | 0 faults, 1 hits, 2 evictions, 3 write-backs, 4 resident pages, 5 the policy's code |
//! | 5 | `record(on)` | 1: start recording the reference string; 0: stop and keep it for `opt` |
//!
//! A call naming an address outside a shared file mapping, or a file not
//! attached, is `EINVAL`; an unknown code `EINVAL`; `opt` with no recorded
//! trace `ENOENT`; a second `attach` of the same file `EBUSY`; a hint past
//! [`crate::MAX_HINTS`] `ENOSPC`. A recording keeps at most
//! [`crate::MAX_RECORDING`] references (`opt` treats the rest as never
//! referenced again).

use std::sync::{Arc, Mutex, MutexGuard, Weak};

use spin_fs::Errno;
use spin_kernel::Prot;
use spin_unix::ext::{ExtCall, ExtError, ExtLinker, ExtSyscall, ExtTable, LinkContext};
use spin_unix_mm::{FilePager, MemoryManager};

use crate::page::{PageKind, PageNo, Ref};
use crate::pager::{Outcome, Pager};
use crate::policy::{PolicyKind, PolicySpec};
use crate::stats::PagerStats;
use crate::trace::Trace;

/// The name programs link it by.
pub const NAME: &str = "spin.db-pager";

/// Call offsets.
pub mod call {
    /// `attach(addr, budget, policy)`.
    pub const ATTACH: u64 = 0;
    /// `hint(addr, len, kind)`.
    pub const HINT: u64 = 1;
    /// `mode(kind)`.
    pub const MODE: u64 = 2;
    /// `policy(policy)`.
    pub const POLICY: u64 = 3;
    /// `stat(which)`.
    pub const STAT: u64 = 4;
    /// `record(on)`.
    pub const RECORD: u64 = 5;
}

/// `mode` code for "no particular pattern".
pub const MODE_NONE: u64 = 4;
/// Largest budget a program may ask for, in frames.
pub const MAX_BUDGET: u64 = 1 << 20;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Defaults of the mounds the extension is linked into.
#[derive(Debug, Clone)]
pub struct DbPagerConfig {
    /// Frame budget when `attach` asks for 0.
    pub budget: usize,
}

impl Default for DbPagerConfig {
    fn default() -> Self {
        DbPagerConfig { budget: 256 }
    }
}

/// The extension: what the host keeps (to read telemetry, switch policies
/// and hand traces between runs) and what mounds link.
#[derive(Debug)]
pub struct DbPagerExt {
    cfg: DbPagerConfig,
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    /// The files attached in mounds linking this extension: those of live
    /// mounds, and of mounds that ended until another attaches (so the
    /// host can read a finished run's counters).
    files: Mutex<Vec<Arc<Attached>>>,
    /// The last recorded reference string (what `opt` replays).
    trace: Mutex<Option<Arc<Trace>>>,
    /// The policy the host (the operator) chose last: files attached
    /// afterwards get it instead of the one their program asks for, so a
    /// switch from the dashboard outlives the program's next attach.
    operator: Mutex<Option<PolicyKind>>,
}

impl DbPagerExt {
    /// The extension with `cfg`.
    pub fn new(cfg: DbPagerConfig) -> Arc<DbPagerExt> {
        Arc::new(DbPagerExt {
            cfg,
            shared: Arc::default(),
        })
    }

    /// Telemetry of every attached file (of live mounds, or of the last
    /// mound if it ended).
    pub fn stats(&self) -> Vec<PagerStats> {
        self.attached().iter().map(|a| a.stats()).collect()
    }

    /// Switches every attached file to `kind`, and every file attached
    /// later (from the host: the dashboard's policy switch, which outlives
    /// the program's next attach).
    pub fn set_policy(&self, kind: PolicyKind) -> Result<(), Errno> {
        let spec = self.spec(kind)?;
        for a in self.attached() {
            a.set_policy(&spec);
        }
        *lock(&self.shared.operator) = Some(kind);
        Ok(())
    }

    /// The policy the host set last (files attached from now on get it).
    pub fn operator_policy(&self) -> Option<PolicyKind> {
        *lock(&self.shared.operator)
    }

    /// The last recorded reference string.
    pub fn trace(&self) -> Option<Arc<Trace>> {
        lock(&self.shared.trace).clone()
    }

    /// Sets the reference string `opt` replays (a recording of an earlier
    /// run of the same workload).
    pub fn set_trace(&self, t: Trace) {
        *lock(&self.shared.trace) = Some(Arc::new(t));
    }

    fn attached(&self) -> Vec<Arc<Attached>> {
        lock(&self.shared.files).clone()
    }

    fn spec(&self, kind: PolicyKind) -> Result<PolicySpec, Errno> {
        match PolicySpec::of(kind) {
            Some(s) => Ok(s),
            None => {
                let t = self.trace().ok_or(Errno::ENOENT)?;
                Ok(PolicySpec::Opt {
                    trace: t.pages(),
                    from: 0,
                })
            }
        }
    }
}

impl ExtLinker for DbPagerExt {
    fn name(&self) -> &str {
        NAME
    }

    fn link(&self, table: &ExtTable, cx: &LinkContext<'_>) -> Result<u64, ExtError> {
        let m = Arc::new(MoundExt {
            ext: DbPagerExt {
                cfg: self.cfg.clone(),
                shared: self.shared.clone(),
            },
            mm: Arc::downgrade(cx.mm),
            files: Mutex::new(Vec::new()),
        });
        let op = |n| Arc::new(Op(m.clone(), n)) as Arc<dyn ExtSyscall>;
        table.register(
            cx.auth,
            vec![
                ("dbp_attach", op(call::ATTACH)),
                ("dbp_hint", op(call::HINT)),
                ("dbp_mode", op(call::MODE)),
                ("dbp_policy", op(call::POLICY)),
                ("dbp_stat", op(call::STAT)),
                ("dbp_record", op(call::RECORD)),
            ],
        )
    }
}

/// The extension as linked into one mound.
struct MoundExt {
    ext: DbPagerExt,
    mm: Weak<MemoryManager>,
    files: Mutex<Vec<Arc<Attached>>>,
}

/// One attached file: the pager and what the mound must do for it.
#[derive(Debug)]
struct Attached {
    file_id: u64,
    mm: Weak<MemoryManager>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    pager: Pager,
    /// Trap every page transition (the policy needs every reference, or a
    /// recording is on).
    trap_all: bool,
    /// In that mode, the one page left accessible.
    current: Option<PageNo>,
}

impl State {
    fn wants_all(&self) -> bool {
        self.pager.needs_every_reference() || self.pager.is_recording()
    }
}

impl Attached {
    fn stats(&self) -> PagerStats {
        lock(&self.state).pager.stats()
    }

    /// Switches policy; entering the trap-every-transition mode protects
    /// every resident page but the current one.
    fn set_policy(&self, spec: &PolicySpec) {
        let protect = {
            let mut s = lock(&self.state);
            s.pager.set_policy(spec);
            self.retrap(&mut s)
        };
        self.protect(&protect);
    }

    /// Re-evaluates the trap mode; the pages to protect if it was entered.
    fn retrap(&self, s: &mut State) -> Vec<PageNo> {
        let all = s.wants_all();
        let entered = all && !s.trap_all;
        s.trap_all = all;
        if !entered {
            return Vec::new();
        }
        let current = s.current;
        s.pager
            .resident_pages()
            .into_iter()
            .filter(|&p| Some(p) != current)
            .collect()
    }

    fn protect(&self, pages: &[PageNo]) {
        if pages.is_empty() {
            return;
        }
        let Some(mm) = self.mm.upgrade() else { return };
        for &p in pages {
            mm.protect_file_page(self.file_id, p, Prot::NONE);
        }
    }
}

impl FilePager for Attached {
    fn faulted(&self, pg: u64, write: bool) -> Vec<u64> {
        let (victims, protect) = {
            let mut s = lock(&self.state);
            let mut victims = Vec::new();
            if let Outcome::Miss { evicted: Some(e) } = s.pager.reference(pg, write) {
                victims.push(e.page);
            }
            let mut protect = s.pager.take_protect();
            if s.trap_all {
                if let Some(prev) = s.current.replace(pg) {
                    protect.push(prev);
                }
            }
            protect.retain(|p| *p != pg && !victims.contains(p));
            (victims, protect)
        };
        // No lock of ours is held while the memory manager works.
        self.protect(&protect);
        victims
    }

    fn dropped(&self, pg: u64) {
        let mut s = lock(&self.state);
        s.pager.drop_page(pg);
        if s.current == Some(pg) {
            s.current = None;
        }
    }

    fn volunteer(&self) -> Option<u64> {
        let mut s = lock(&self.state);
        let e = s.pager.volunteer()?;
        if s.current == Some(e.page) {
            s.current = None;
        }
        Some(e.page)
    }
}

impl MoundExt {
    fn mm(&self) -> Result<Arc<MemoryManager>, Errno> {
        self.mm.upgrade().ok_or(Errno::ESRCH)
    }

    /// The attached file mapped at `addr` and its file page there.
    fn file_at(&self, c: &ExtCall<'_>, addr: u64) -> Result<(Arc<Attached>, PageNo), Errno> {
        let mm = self.mm()?;
        let m = mm.file_mapping(c.space, addr).ok_or(Errno::EINVAL)?;
        let a = lock(&self.files)
            .iter()
            .find(|a| a.file_id == m.file_id)
            .cloned()
            .ok_or(Errno::EINVAL)?;
        let pg = m.first_page + (addr - m.start) / mm.page_size();
        Ok((a, pg))
    }

    fn only_file(&self) -> Result<Arc<Attached>, Errno> {
        let files = lock(&self.files);
        files.first().cloned().ok_or(Errno::EINVAL)
    }

    fn attach(&self, c: &ExtCall<'_>) -> Result<u64, Errno> {
        let (addr, budget, code) = (c.args[0], c.args[1], c.args[2]);
        let kind = PolicyKind::ALL
            .get(usize::try_from(code).map_err(|_| Errno::EINVAL)?)
            .copied()
            .ok_or(Errno::EINVAL)?;
        // The operator's choice wins over the program's.
        let kind = self.ext.operator_policy().unwrap_or(kind);
        if budget > MAX_BUDGET {
            return Err(Errno::EINVAL);
        }
        let budget = if budget == 0 {
            self.ext.cfg.budget
        } else {
            budget as usize
        };
        let spec = self.ext.spec(kind)?;
        let mm = self.mm()?;
        let m = mm.file_mapping(c.space, addr).ok_or(Errno::EINVAL)?;
        let mut files = lock(&self.files);
        // Files whose last mapping went (their process exited or unmapped
        // them) are attached no more: the file can be attached afresh.
        files.retain(|a| mm.has_file_pager(a.file_id));
        if files.iter().any(|a| a.file_id == m.file_id) {
            return Err(Errno::EBUSY);
        }
        let pager = Pager::new(budget, &spec).map_err(|_| Errno::EINVAL)?;
        let a = Arc::new(Attached {
            file_id: m.file_id,
            mm: Arc::downgrade(&mm),
            state: Mutex::new(State {
                pager,
                trap_all: false,
                current: None,
            }),
        });
        if !mm.set_file_pager(m.file_id, Some(a.clone())) {
            return Err(Errno::EINVAL);
        }
        files.push(a.clone());
        drop(files);
        {
            let mut all = lock(&self.ext.shared.files);
            // Forget the files of mounds that ended and files no longer
            // mapped (what the host shows is what is attached now).
            all.retain(|f| {
                let replaced = f.file_id == a.file_id && Weak::ptr_eq(&f.mm, &a.mm);
                !replaced
                    && f.mm
                        .upgrade()
                        .is_some_and(|mm| mm.has_file_pager(f.file_id))
            });
            all.push(a.clone());
        }
        // Pages already cached are unknown to the pager: protect them so
        // their next access is a reference it sees.
        let page = mm.page_size();
        let pages = (m.end - m.start) / page;
        for pg in m.first_page..m.first_page + pages {
            if mm.file_page_resident(m.file_id, pg) {
                mm.protect_file_page(m.file_id, pg, Prot::NONE);
            }
        }
        let protect = {
            let mut s = lock(&a.state);
            a.retrap(&mut s)
        };
        a.protect(&protect);
        Ok(0)
    }

    fn hint(&self, c: &ExtCall<'_>) -> Result<u64, Errno> {
        let (addr, len, code) = (c.args[0], c.args[1], c.args[2]);
        let kind = PageKind::from_code(code).ok_or(Errno::EINVAL)?;
        if len == 0 {
            return Ok(0);
        }
        let last = addr.checked_add(len - 1).ok_or(Errno::EINVAL)?;
        let (a, first) = self.file_at(c, addr)?;
        let (b, end) = self.file_at(c, last)?;
        if !Arc::ptr_eq(&a, &b) {
            return Err(Errno::EINVAL);
        }
        if lock(&a.state).pager.hint(first..end + 1, kind) {
            Ok(0)
        } else {
            Err(Errno::ENOSPC)
        }
    }

    fn mode(&self, c: &ExtCall<'_>) -> Result<u64, Errno> {
        let mode = match c.args[0] {
            MODE_NONE => None,
            k => Some(PageKind::from_code(k).ok_or(Errno::EINVAL)?),
        };
        for a in lock(&self.files).iter() {
            lock(&a.state).pager.set_mode(mode);
        }
        Ok(0)
    }

    fn policy(&self, c: &ExtCall<'_>) -> Result<u64, Errno> {
        let kind = PolicyKind::ALL
            .get(usize::try_from(c.args[0]).map_err(|_| Errno::EINVAL)?)
            .copied()
            .ok_or(Errno::EINVAL)?;
        let spec = self.ext.spec(kind)?;
        let files: Vec<Arc<Attached>> = lock(&self.files).clone();
        if files.is_empty() {
            return Err(Errno::EINVAL);
        }
        for a in files {
            a.set_policy(&spec);
        }
        Ok(0)
    }

    fn stat(&self, c: &ExtCall<'_>) -> Result<u64, Errno> {
        let a = self.only_file()?;
        let s = a.stats();
        Ok(match c.args[0] {
            0 => s.total.faults,
            1 => s.total.hits,
            2 => s.total.evictions,
            3 => s.total.writebacks,
            4 => s.resident,
            5 => PolicyKind::ALL
                .iter()
                .find(|k| k.name() == s.policy)
                .map_or(0, |k| k.code()),
            _ => return Err(Errno::EINVAL),
        })
    }

    fn record(&self, c: &ExtCall<'_>) -> Result<u64, Errno> {
        let a = self.only_file()?;
        let protect = {
            let mut s = lock(&a.state);
            match c.args[0] {
                1 => s.pager.start_recording(),
                0 => {
                    let refs: Vec<Ref> = s.pager.take_recording().ok_or(Errno::EINVAL)?;
                    self.ext.set_trace(Trace::new(refs));
                }
                _ => return Err(Errno::EINVAL),
            }
            a.retrap(&mut s)
        };
        a.protect(&protect);
        Ok(0)
    }
}

/// One exported call.
struct Op(Arc<MoundExt>, u64);

impl ExtSyscall for Op {
    fn call(&self, c: &ExtCall<'_>) -> Result<u64, Errno> {
        match self.1 {
            call::ATTACH => self.0.attach(c),
            call::HINT => self.0.hint(c),
            call::MODE => self.0.mode(c),
            call::POLICY => self.0.policy(c),
            call::STAT => self.0.stat(c),
            _ => self.0.record(c),
        }
    }
}
