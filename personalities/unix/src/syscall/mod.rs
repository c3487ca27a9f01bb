//! The Linux system-call layer, table-driven per architecture.
//!
//! Each handler is a plain function over a [`Call`] (the mound, the calling
//! thread, its registers and the loop) returning [`Done`] or an [`Errno`].
//! The table maps the guest architecture's numbers to handlers by name
//! (`abi::alpha::SYSCALLS`, `abi::x86_64_syscalls::SYSCALLS`), so a call the guest makes by number reaches the
//! handler of the same name; numbers without a handler return `ENOSYS` and
//! are logged once with their name.

pub(crate) mod exec;
mod fd;
mod fs;
mod io;
mod mem;
mod net;
mod proc;
mod sig;
mod time;

use std::sync::Arc;

use spin_fs::{Errno, OpenFile, SysResult};
use spin_kernel::mem::AddressSpace;
use spin_kernel::mound::StrandHost;
use spin_kernel::{Cap, Nanos, RegisterFile};
use spin_unix_mm::Vm;

use crate::abi::Abi;
use crate::mound::UnixMound;
use crate::process::{Pid, Process, Thread};

/// Longest path a call accepts (Linux's PATH_MAX).
pub(crate) const PATH_MAX: usize = 4096;

/// How a call finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Done {
    /// Success with this value.
    Val(u64),
    /// Success with two values (Alpha's `getxpid`: the second goes to a4).
    Val2(u64, u64),
    /// The handler set the registers itself (`sigreturn`, `execve`).
    Raw,
    /// Success with this value, then the thread waits (a `vfork` parent).
    ValBlock(u64),
    /// The thread waits; the call runs again when it is woken.
    Block {
        /// Whether `SA_RESTART` restarts it after a signal handler.
        restartable: bool,
    },
    /// The calling thread is gone.
    Exit,
}

/// One system call in progress.
pub(crate) struct Call<'a, R: RegisterFile> {
    pub m: &'a mut UnixMound<R>,
    pub tid: Pid,
    pub pid: Pid,
    pub regs: &'a mut R,
    pub space: &'a mut Cap<AddressSpace>,
    pub host: &'a mut dyn StrandHost<R>,
    pub args: [u64; 6],
}

/// A handler.
pub(crate) type SysFn<R> = for<'a, 'b> fn(&'b mut Call<'a, R>) -> SysResult<Done>;

impl<R: RegisterFile> Call<'_, R> {
    pub fn arg(&self, i: usize) -> u64 {
        self.args[i]
    }
    pub fn proc(&self) -> &Process {
        &self.m.procs[&self.pid]
    }
    pub fn proc_mut(&mut self) -> &mut Process {
        self.m
            .procs
            .get_mut(&self.pid)
            .expect("the caller's process exists")
    }
    pub fn thread(&self) -> &Thread {
        &self.m.threads[&self.tid]
    }
    pub fn thread_mut(&mut self) -> &mut Thread {
        self.m
            .threads
            .get_mut(&self.tid)
            .expect("the calling thread exists")
    }
    pub fn vm(&self) -> Arc<Vm> {
        self.proc().vm.clone()
    }
    pub fn now(&self) -> Nanos {
        self.host.now()
    }
    /// The PC of the system-call instruction being served.
    pub fn call_pc(&self) -> u64 {
        self.regs.pc().wrapping_sub(self.m.abi.syscall_insn_len())
    }
    /// The open file behind descriptor `fd`.
    pub fn fd(&self, fd: u64) -> SysResult<Arc<OpenFile>> {
        self.proc().fds.get(fd as i32)
    }
    /// A NUL-terminated path argument.
    pub fn path(&self, va: u64) -> SysResult<Vec<u8>> {
        if va == 0 {
            return Err(Errno::EFAULT);
        }
        let p = self.proc().vm.read_cstr(va, PATH_MAX)?;
        if p.is_empty() {
            return Err(Errno::ENOENT);
        }
        Ok(p)
    }
    /// Reads `len` guest bytes at `va` (bounded by the caller).
    pub fn read_bytes(&self, va: u64, len: usize) -> SysResult<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.proc().vm.read(va, &mut buf)?;
        Ok(buf)
    }
    pub fn write_bytes(&self, va: u64, data: &[u8]) -> SysResult<()> {
        self.proc().vm.write(va, data)
    }
    /// Fails with EFAULT unless `len` bytes at `va` are writable, without
    /// changing them (each page is read and written back).
    pub fn probe_writable(&self, va: u64, len: usize) -> SysResult<()> {
        if len == 0 {
            return Ok(());
        }
        let vm = &self.proc().vm;
        let mut b = vec![0u8; len];
        vm.read(va, &mut b)?;
        vm.write(va, &b)
    }
    pub fn read_u64(&self, va: u64) -> SysResult<u64> {
        self.proc().vm.read_u64(va)
    }
    pub fn write_u64(&self, va: u64, v: u64) -> SysResult<()> {
        self.proc().vm.write_u64(va, v)
    }
    pub fn write_u32(&self, va: u64, v: u32) -> SysResult<()> {
        self.proc().vm.write_u32(va, v)
    }
    pub fn read_u32(&self, va: u64) -> SysResult<u32> {
        self.proc().vm.read_u32(va)
    }
    /// Waits on `key` (the call runs again when it is woken).
    pub fn block_on(&mut self, key: u64) -> SysResult<Done> {
        self.m.wait_on(self.tid, key);
        Ok(Done::Block { restartable: true })
    }
    /// Waits on `key` until `timeout` ns after the call first blocked;
    /// returns `Ok(None)` once the time is up.
    pub fn block_until(
        &mut self,
        key: Option<u64>,
        timeout: Nanos,
        restartable: bool,
    ) -> SysResult<Option<Done>> {
        let now = self.now();
        let pc = self.call_pc();
        let deadline = self.m.deadline(self.tid, pc, now, timeout);
        if now >= deadline {
            return Ok(None);
        }
        if let Some(k) = key {
            self.m.wait_on(self.tid, k);
        }
        self.m.wait_until(self.tid, deadline);
        Ok(Some(Done::Block { restartable }))
    }
    /// Whether a signal is waiting for this thread (an interruptible wait
    /// should end with EINTR rather than block again).
    pub fn signal_pending(&self) -> bool {
        self.m.has_deliverable(self.tid)
    }
}

/// A call that succeeds with 0 and has no effect here (ownership changes,
/// advice, locking pages in memory).
pub(crate) fn sys_ok<R: RegisterFile>(_c: &mut Call<'_, R>) -> SysResult<Done> {
    Ok(Done::Val(0))
}

/// Reads a `struct timespec` as nanoseconds (EINVAL if malformed).
pub(crate) fn read_timespec<R: RegisterFile>(c: &Call<'_, R>, va: u64) -> SysResult<u64> {
    let b = c.read_bytes(va, 16)?;
    let s = i64::from_le_bytes(b[0..8].try_into().expect("8 bytes"));
    let ns = i64::from_le_bytes(b[8..16].try_into().expect("8 bytes"));
    if s < 0 || !(0..1_000_000_000).contains(&ns) {
        return Err(Errno::EINVAL);
    }
    Ok((s as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ns as u64))
}

/// Writes `ns` as a `struct timespec`.
pub(crate) fn put_timespec<R: RegisterFile>(c: &Call<'_, R>, va: u64, ns: u64) -> SysResult<()> {
    let mut b = [0u8; 16];
    b[0..8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
    b[8..16].copy_from_slice(&(ns % 1_000_000_000).to_le_bytes());
    c.write_bytes(va, &b)
}

/// Every handler of `arch`, by Linux name: the common ones, then those
/// only one architecture's table names (on x86-64: `stat`/`fstat`/`lstat`/
/// `newfstatat`, `getpid`, `arch_prctl`, `time`, ...).
fn handlers<R: RegisterFile>(arch: spin_kernel::Arch) -> Vec<(&'static str, SysFn<R>)> {
    let mut v: Vec<(&'static str, SysFn<R>)> = Vec::new();
    fd::register(&mut v);
    fs::register(&mut v);
    io::register(&mut v);
    mem::register(&mut v);
    net::register(&mut v);
    proc::register(&mut v);
    sig::register(&mut v);
    time::register(&mut v);
    if arch == spin_kernel::Arch::X86_64 {
        fd::register_x86_64(&mut v);
        fs::register_x86_64(&mut v);
        proc::register_x86_64(&mut v);
        time::register_x86_64(&mut v);
        sig::register_x86_64(&mut v);
    }
    v
}

/// The dispatch table for `abi`: handler by call number.
pub(crate) fn table<R: RegisterFile>(abi: &Abi) -> Vec<Option<SysFn<R>>> {
    let hs = handlers::<R>(abi.arch);
    let max = abi.max_syscall() as usize;
    let mut t: Vec<Option<SysFn<R>>> = vec![None; max + 1];
    for (name, f) in hs {
        if let Some(nr) = abi.syscall(name) {
            t[nr as usize] = Some(f);
        }
    }
    t
}

/// Reads an `iovec` array: (base, len) pairs.
pub(crate) fn iovecs<R: RegisterFile>(
    c: &Call<'_, R>,
    va: u64,
    count: u64,
) -> SysResult<Vec<(u64, u64)>> {
    if count > 1024 {
        return Err(Errno::EINVAL);
    }
    let raw = c.read_bytes(va, count as usize * 16)?;
    let mut out = Vec::with_capacity(count as usize);
    let mut total: u64 = 0;
    for ch in raw.chunks_exact(16) {
        let base = u64::from_le_bytes(ch[0..8].try_into().expect("8 bytes"));
        let len = u64::from_le_bytes(ch[8..16].try_into().expect("8 bytes"));
        total = total.checked_add(len).ok_or(Errno::EINVAL)?;
        if total > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        out.push((base, len));
    }
    Ok(out)
}
