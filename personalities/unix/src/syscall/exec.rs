//! `execve` and program loading: resolve the file through the mound's file
//! system, let the memory manager map the ELF image and build the initial
//! stack, and point the registers at the entry.

use std::sync::Arc;

use spin_fs::{Errno, OpenFlags, SysResult};
use spin_kernel::RegisterFile;
use spin_unix_mm::Vm;

use super::{Call, Done};
use crate::mound::{UnixMound, KEY_VFORK};
use crate::signal::{SigAction, SIG_IGN};

/// Most `#!` interpreters followed before giving up (Linux: 4).
const MAX_INTERP_DEPTH: usize = 4;
/// Most argv + envp bytes accepted (Linux's ARG_MAX-like bound).
const MAX_ARG_BYTES: usize = 2 << 20;

/// Loads `path` (resolved against `cwd`) into the empty `vm` with `argv` and
/// `envp`, and sets `regs` to start it. Handles `#!` scripts.
pub(crate) fn load_program<R: RegisterFile>(
    m: &UnixMound<R>,
    vm: &Arc<Vm>,
    cwd: &[u8],
    path: &[u8],
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    regs: &mut R,
) -> Result<(), String> {
    load(m, vm, cwd, path, argv, envp, regs, 0).map_err(|e| e.1)
}

#[allow(clippy::too_many_arguments)]
fn load<R: RegisterFile>(
    m: &UnixMound<R>,
    vm: &Arc<Vm>,
    cwd: &[u8],
    path: &[u8],
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    regs: &mut R,
    depth: usize,
) -> Result<(), (Errno, String)> {
    let size: usize = argv.iter().chain(envp).map(|a| a.len() + 1).sum();
    if size > MAX_ARG_BYTES {
        return Err((Errno::E2BIG, "argument list too long".into()));
    }
    let flags = OpenFlags {
        read: true,
        ..OpenFlags::default()
    };
    let file = m
        .vfs
        .open(cwd, path, flags, 0, 0)
        .map_err(|e| (e, format!("cannot open: {e}")))?;
    if file.is_dir() {
        return Err((Errno::EACCES, "is a directory".into()));
    }
    m.vfs
        .access(cwd, path, 1)
        .map_err(|e| (e, format!("not executable: {e}")))?;
    let mut head = [0u8; 256];
    let n = file
        .pread(&mut head, 0)
        .map_err(|e| (e, format!("cannot read: {e}")))?;
    if n >= 2 && &head[..2] == b"#!" {
        if depth >= MAX_INTERP_DEPTH {
            return Err((Errno::ELOOP, "too many levels of #! interpreters".into()));
        }
        let line_end = head[..n].iter().position(|&b| b == b'\n').unwrap_or(n);
        let line = &head[2..line_end];
        let line: Vec<u8> = line
            .iter()
            .copied()
            .skip_while(|b| *b == b' ' || *b == b'\t')
            .collect();
        let mut parts = line.splitn(2, |b| *b == b' ' || *b == b'\t');
        let interp = parts.next().unwrap_or_default().to_vec();
        if interp.is_empty() {
            return Err((Errno::ENOEXEC, "empty #! line".into()));
        }
        let opt = parts
            .next()
            .map(|o| o.trim_ascii().to_vec())
            .filter(|o| !o.is_empty());
        let mut new_argv = vec![interp.clone()];
        new_argv.extend(opt);
        new_argv.push(path.to_vec());
        new_argv.extend(argv.iter().skip(1).cloned());
        return load(m, vm, cwd, &interp, &new_argv, envp, regs, depth + 1);
    }
    let backing = file
        .backing()
        .ok_or_else(|| (Errno::EACCES, "not a regular file".into()))?;
    let image = spin_unix_mm::load_elf(vm, &backing, m.abi.elf_machine())
        .map_err(|e| (Errno::from(e.clone()), e.to_string()))?;
    let mut random = [0u8; 16];
    m.vfs.random_bytes(&mut random);
    let exe = absolute(cwd, path);
    let creds = spin_unix_mm::Creds {
        uid: m.cfg.uid,
        euid: m.cfg.uid,
        gid: m.cfg.gid,
        egid: m.cfg.gid,
    };
    let page = m.kernel.translation.page_size();
    let mach = spin_unix_mm::AuxvMachine::for_arch(m.abi.arch);
    let sp =
        spin_unix_mm::build_stack_for(vm, &image, argv, envp, &exe, random, page, creds, &mach)
            .map_err(|e| (e, format!("cannot build the stack: {e}")))?;
    *regs = R::default();
    regs.set_pc(image.entry);
    regs.set_sp(sp);
    if m.abi.arch == spin_kernel::Arch::Alpha {
        // Linux/Alpha enters with t12 (pv) = entry, as for any procedure call.
        regs.set_gpr(27, image.entry);
    }
    // x86-64 enters with every general register 0 (rdx: no atexit hook).
    Ok(())
}

/// `path` made absolute against `cwd` (not normalized further).
pub(crate) fn absolute(cwd: &[u8], path: &[u8]) -> Vec<u8> {
    if path.first() == Some(&b'/') {
        path.to_vec()
    } else {
        let mut p = cwd.to_vec();
        if p.last() != Some(&b'/') {
            p.push(b'/');
        }
        p.extend_from_slice(path);
        p
    }
}

/// Reads a NULL-terminated array of string pointers.
fn string_array<R: RegisterFile>(c: &Call<'_, R>, mut va: u64) -> SysResult<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    if va == 0 {
        return Ok(out);
    }
    let mut total = 0usize;
    loop {
        let p = c.read_u64(va)?;
        if p == 0 {
            return Ok(out);
        }
        let s = c.proc().vm.read_cstr(p, MAX_ARG_BYTES)?;
        total += s.len() + 1;
        if total > MAX_ARG_BYTES || out.len() > 100_000 {
            return Err(Errno::E2BIG);
        }
        out.push(s);
        va += 8;
    }
}

/// `execve(path, argv, envp)`.
pub(crate) fn sys_execve<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let path = c.path(c.arg(0))?;
    let argv = string_array(c, c.arg(1))?;
    let envp = string_array(c, c.arg(2))?;
    let cwd = c.proc().cwd.clone();
    let target = if path == b"/proc/self/exe" {
        c.proc().exe.clone()
    } else {
        path.clone()
    };
    let vm = Arc::new(Vm::new(&c.m.mm)?);
    let mut regs = R::default();
    load(c.m, &vm, &cwd, &target, &argv, &envp, &mut regs, 0).map_err(|(e, _)| e)?;
    // Point of no return: the old image is gone.
    c.m.stats.execs += 1;
    let pid = c.pid;
    let tid = c.tid;
    let others: Vec<_> = c
        .proc()
        .threads
        .iter()
        .copied()
        .filter(|&t| t != tid)
        .collect();
    for t in others {
        if let Some(th) = c.m.threads.get_mut(&t) {
            th.killed = true;
        }
        c.m.wake_thread(t, c.host);
    }
    let p = c.proc_mut();
    p.vm = vm.clone();
    p.exe = absolute(&cwd, &target);
    for f in p.fds.close_on_exec() {
        f.release_locks(pid);
    }
    for a in p.actions.iter_mut() {
        if a.handler != SIG_IGN {
            *a = SigAction::default();
        }
    }
    let vfork_parent = p.vfork_parent.take();
    let disable = c.m.abi.sa.SS_DISABLE;
    let th = c.thread_mut();
    th.altstack = crate::process::AltStack {
        flags: disable,
        ..Default::default()
    };
    th.clear_child_tid = 0;
    if vfork_parent.is_some() {
        c.m.wake_key(KEY_VFORK + u64::from(pid), c.host);
    }
    *c.regs = regs;
    *c.space = vm.space().clone();
    Ok(Done::Raw)
}
