//! Traps: page faults through the memory manager, the machine's
//! exceptions as signals, and system-call dispatch (the Linux table and the
//! mound's extension calls).

use spin_fs::Errno;
use spin_kernel::mem::AddressSpace;
use spin_kernel::mound::{StrandHost, TrapOutcome};
use spin_kernel::{Access, Cap, RegisterFile, Trap};
use spin_unix_mm::Fault;

use super::{fast, UnixMound};
use crate::process::{Blocked, Pid};
use crate::signal::{code, SigInfo};
use crate::syscall;

impl<R: RegisterFile> UnixMound<R> {
    pub(super) fn fault(&mut self, tid: Pid, va: u64, access: Access, pc: u64) -> TrapOutcome {
        let Some(pid) = self.threads.get(&tid).map(|t| t.pid) else {
            return TrapOutcome::Exit(-1);
        };
        let vm = self.procs[&pid].vm.clone();
        // Extensions first: a protection fault on a range one registered.
        if fast::resolve_by_extension(&self.ext, &self.kernel.translation, vm.space(), va, access) {
            return TrapOutcome::Continue;
        }
        match vm.handle_fault(va, access) {
            Ok(()) => {
                self.stats.faults += 1;
                TrapOutcome::Continue
            }
            Err(f) => {
                let s = self.abi.signo;
                let info = match f {
                    Fault::MapErr => SigInfo::fault(s.SIGSEGV, code::SEGV_MAPERR, va),
                    Fault::AccErr => SigInfo::fault(s.SIGSEGV, code::SEGV_ACCERR, va),
                    Fault::Bus => SigInfo::fault(s.SIGBUS, code::BUS_ADRERR, va),
                    Fault::Oom => SigInfo::fault(s.SIGKILL, code::SI_KERNEL, va),
                };
                if self.cfg.verbose || self.cfg.trace_syscalls {
                    self.log(format_args!(
                        "[{tid}] {f:?} fault at {va:#x} ({access:?}, pc {pc:#x}): signal {}",
                        info.signo
                    ));
                }
                self.force_signal(tid, info);
                TrapOutcome::Continue
            }
        }
    }

    pub(super) fn arch_trap(&mut self, tid: Pid, regs: &mut R, trap: Trap) -> TrapOutcome {
        let info = match self.abi.arch {
            spin_kernel::Arch::Alpha => match Self::alpha_trap_signal(regs, trap) {
                Some(info) => info,
                None => return TrapOutcome::Continue,
            },
            spin_kernel::Arch::X86_64 => {
                match crate::signal::x86_64::trap_signal(&self.abi, regs, trap) {
                    Some(info) => info,
                    None => return TrapOutcome::Continue,
                }
            }
        };
        self.force_signal(tid, info);
        TrapOutcome::Continue
    }

    /// The signal a Linux/Alpha kernel sends for `trap` (None: not a fault).
    fn alpha_trap_signal(regs: &R, trap: Trap) -> Option<SigInfo> {
        use crate::signal::num;
        Some(match trap {
            Trap::Unaligned { va, .. } => SigInfo::fault(num::SIGBUS, code::BUS_ADRALN, va),
            Trap::IllegalInstruction { pc, .. } => {
                SigInfo::fault(num::SIGILL, code::ILL_ILLOPC, pc)
            }
            Trap::Breakpoint { pc } => SigInfo::fault(num::SIGTRAP, code::TRAP_BRKPT, pc),
            Trap::Arithmetic { pc, summary } => {
                // EXC_SUM: bit 6 integer overflow, 5 inexact, 4 underflow, 3 overflow, 2 div by zero, 1 invalid.
                let c = if summary & (1 << 6) != 0 {
                    code::FPE_INTOVF
                } else if summary & (1 << 2) != 0 {
                    code::FPE_FLTDIV
                } else if summary & (1 << 3) != 0 {
                    code::FPE_FLTOVF
                } else if summary & (1 << 4) != 0 {
                    code::FPE_FLTUND
                } else if summary & (1 << 5) != 0 {
                    code::FPE_FLTRES
                } else {
                    code::FPE_FLTINV
                };
                SigInfo::fault(num::SIGFPE, c, pc)
            }
            Trap::PalCall { pc, code: 0xaa } => {
                // gentrap: a0 says what happened (Linux arch/alpha traps.c).
                let (sig, c) = match regs.gpr(16) as i64 {
                    -1 => (num::SIGFPE, code::FPE_INTOVF),
                    -2 => (num::SIGFPE, code::FPE_INTDIV),
                    -3 => (num::SIGFPE, code::FPE_FLTOVF),
                    -4 => (num::SIGFPE, code::FPE_FLTDIV),
                    -5 => (num::SIGFPE, code::FPE_FLTUND),
                    -6 => (num::SIGFPE, code::FPE_FLTINV),
                    -7 => (num::SIGFPE, code::FPE_FLTRES),
                    -12..=-8 => (num::SIGFPE, code::FPE_FLTINV),
                    _ => (num::SIGTRAP, code::SI_KERNEL),
                };
                SigInfo::fault(sig, c, pc)
            }
            Trap::PalCall {
                pc,
                code: 0x80 | 0x81,
            } => SigInfo::fault(num::SIGTRAP, code::TRAP_BRKPT, pc),
            Trap::PalCall { pc, .. } | Trap::Halt { pc } => {
                SigInfo::fault(num::SIGILL, code::ILL_ILLOPC, pc)
            }
            Trap::Syscall | Trap::PageFault { .. } | Trap::BudgetExpired => return None,
        })
    }

    pub(super) fn dispatch(
        &mut self,
        tid: Pid,
        regs: &mut R,
        space: &mut Cap<AddressSpace>,
        host: &mut dyn StrandHost<R>,
    ) -> TrapOutcome {
        let nr = regs.syscall_number();
        self.stats.syscalls += 1;
        let f = self.table.get(nr as usize).copied().flatten();
        let pid = self.threads[&tid].pid;
        let args = [0, 1, 2, 3, 4, 5].map(|i| regs.syscall_arg(i));
        let result = match f {
            None if crate::ext::is_ext(nr) => self.ext_syscall(nr, pid, args, space),
            Some(f) => {
                let mut call = syscall::Call {
                    m: self,
                    tid,
                    pid,
                    regs,
                    space,
                    host,
                    args,
                };
                f(&mut call)
            }
            None => {
                if self.unknown_logged.insert(nr) {
                    let name = self.abi.syscall_name(nr).unwrap_or("?");
                    self.log(format_args!(
                        "unimplemented system call {name} ({nr}): ENOSYS"
                    ));
                }
                Err(Errno::ENOSYS)
            }
        };
        if self.cfg.trace_syscalls {
            let name = self.abi.syscall_name(nr).unwrap_or("?");
            self.log(format_args!(
                "[{tid}] {name}({:#x}, {:#x}, {:#x}, {:#x}) = {result:?}",
                args[0], args[1], args[2], args[3]
            ));
        }
        let outcome = match result {
            Ok(syscall::Done::Val(v)) => {
                regs.set_syscall_result(Ok(v));
                TrapOutcome::Continue
            }
            Ok(syscall::Done::Val2(v, w)) => {
                regs.set_syscall_result(Ok(v));
                // Only Alpha has two-value calls (the second in a4).
                if self.abi.arch == spin_kernel::Arch::Alpha {
                    regs.set_gpr(20, w);
                }
                TrapOutcome::Continue
            }
            Ok(syscall::Done::Raw) => TrapOutcome::Continue,
            Ok(syscall::Done::ValBlock(v)) => {
                regs.set_syscall_result(Ok(v));
                return TrapOutcome::Block;
            }
            Ok(syscall::Done::Block { restartable }) => {
                regs.set_pc(regs.pc().wrapping_sub(self.abi.syscall_insn_len()));
                // A signal already waiting interrupts the call at the next
                // Resume instead of the thread sleeping.
                let interrupted = self.has_deliverable(tid);
                if let Some(t) = self.threads.get_mut(&tid) {
                    t.blocked = Some(Blocked::Syscall {
                        nr,
                        restartable,
                        interrupted,
                    });
                }
                if interrupted {
                    self.clear_waits(tid);
                    return TrapOutcome::Continue;
                }
                self.stats.blocks += 1;
                return TrapOutcome::Block;
            }
            Ok(syscall::Done::Exit) => return TrapOutcome::Exit(0),
            Err(e) => {
                regs.set_syscall_result(Err(self.abi.errno_value(e)));
                TrapOutcome::Continue
            }
        };
        if let Some(t) = self.threads.get_mut(&tid) {
            if t.deadline.is_some() {
                let d = t.deadline.take();
                if let Some((_, at)) = d {
                    self.timers.remove(&(at, tid));
                }
            }
            t.futex_woken = false;
        }
        outcome
    }

    /// An extension system call on the slow path: the link call, or a
    /// registered call the fast path could not take.
    fn ext_syscall(
        &mut self,
        nr: u64,
        pid: Pid,
        args: [u64; 6],
        space: &Cap<AddressSpace>,
    ) -> Result<syscall::Done, Errno> {
        if nr == crate::ext::EXT_LINK {
            let vm = self.procs.get(&pid).ok_or(Errno::ESRCH)?.vm.clone();
            if args[0] == 0 {
                return Err(Errno::EFAULT);
            }
            let name = vm.read_cstr(args[0], 128)?;
            let cx = crate::ext::LinkContext {
                auth: &self.ext_auth,
                kernel: &self.kernel,
                mound: self.id,
                epoch: self.host_epoch,
                mm: &self.mm,
                external: &self.cfg.extensions,
            };
            let first = self.ext.link(&name, &cx).map_err(|e| {
                let err = Errno::from(e.clone());
                self.log(format_args!("ext_link: {e}"));
                err
            })?;
            return Ok(syscall::Done::Val(first));
        }
        let c = crate::ext::ExtCall { pid, space, args };
        match self.ext.call(nr, &c) {
            Some(r) => r.map(syscall::Done::Val),
            None => {
                if self.unknown_logged.insert(nr) {
                    self.log(format_args!("unregistered extension call {nr:#x}: ENOSYS"));
                }
                Err(Errno::ENOSYS)
            }
        }
    }
}
