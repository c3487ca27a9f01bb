//! One vCPU: entering ring 3 through the shim, and turning every exit into
//! either work done in place (a demand fill, a queue refill, a kick that
//! was not the deadline) or a [`Trap`] for the kernel.

use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

use kvm_bindings::{kvm_fpu, kvm_interrupt, kvm_msr_entry, kvm_regs, kvm_segment, kvm_xsave, Msrs};
use kvm_ioctls::{SyncReg, VcpuExit, VcpuFd};
use spin_kernel::machine::{
    Access, Cpu, FastTraps, MachineError, SyscallFrame, SyscallResult, Trap,
};
use spin_kernel::mem::PageTable;
use vm_memory::{Bytes, GuestAddress};

use super::kick::{self, Running, Timer};
use super::layout::{
    self, cpu, frame, has_error_code, is_user_canonical, port_vector, private, user_rflags,
    PORT_MORE, PORT_SYSCALL, VEC_KICK,
};
use super::machine::{Inner, VcpuShared};
use super::paging::{Entry, Loaded, Op, Tables};
use super::regs::{FxArea, X86Regs, XsaveExt, RSP, XSAVE_BYTES};
use super::shim::GPR_ORDER;
use super::tables;

mod state;
mod trap;

/// `Trap::PalCall` code of an x86 exception that has no `Trap` of its own
/// (#GP, #SS, #NP, ...): `X86_EXCEPTION | vector`. Linux sends SIGSEGV for
/// them; the x86-64 ABI of a mound decides.
pub const X86_EXCEPTION: u32 = 0x8000_0000;

/// Shortest slice a run gets before its timer fires, so a tiny budget
/// still makes progress.
const MIN_SLICE: Duration = Duration::from_micros(50);
/// Demand fills of one page in a row before the fault goes to the kernel.
const FILL_RETRIES: u32 = 4;

vmm_sys_util::ioctl_iow_nr!(KVM_INTERRUPT, 0xae, 0x86, kvm_interrupt);

const MSR_STAR: u32 = 0xc000_0081;
const MSR_LSTAR: u32 = 0xc000_0082;
const MSR_CSTAR: u32 = 0xc000_0083;
const MSR_SFMASK: u32 = 0xc000_0084;
const MSR_FS_BASE: u32 = 0xc000_0100;
const MSR_GS_BASE: u32 = 0xc000_0101;
const MSR_KERNEL_GS_BASE: u32 = 0xc000_0102;

/// The vector [`KvmCpu::on_trap`] is given for a call through the native
/// `syscall` entry.
const VEC_SYSCALL: u64 = 0x100;

/// Exit-reason slots (see [`super::EXIT_REASONS`]).
mod reason {
    pub const SYSCALL: usize = 0;
    pub const PAGE_FAULT: usize = 1;
    pub const DEMAND_FILL: usize = 2;
    pub const EXCEPTION: usize = 3;
    pub const KICK: usize = 4;
    pub const QUEUE: usize = 5;
    pub const INTR: usize = 6;
    pub const IRQ_WINDOW: usize = 7;
    pub const OTHER: usize = 8;
}

/// The fast-trap handler of a [`Cpu::run_fast`] call, and when it began.
struct Fast<'a> {
    traps: &'a mut dyn FastTraps,
    start: Instant,
}

impl Fast<'_> {
    /// Nanoseconds of this call so far (the machine's unit).
    fn ran(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }
}

/// A system call's registers as they sit in the vCPU's sync regs, for a
/// fast-trap handler (no register-file copy).
struct LiveCall<'a>(&'a mut kvm_regs);

impl SyscallFrame for LiveCall<'_> {
    fn number(&self) -> u64 {
        self.0.rax
    }
    fn arg(&self, i: usize) -> u64 {
        let r = &self.0;
        [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9]
            .get(i)
            .copied()
            .unwrap_or(0)
    }
    fn set_result(&mut self, result: SyscallResult) {
        // As X86Regs::set_syscall_result.
        self.0.rax = match result {
            Ok(v) => v,
            Err(errno) => (errno as i64).wrapping_neg() as u64,
        };
    }
    fn set_gpr(&mut self, n: usize, value: u64) {
        let r = &mut *self.0;
        let slot = match n {
            0 => &mut r.rax,
            1 => &mut r.rcx,
            2 => &mut r.rdx,
            3 => &mut r.rbx,
            // RSP travels in the iretq frame; a fast call never moves it.
            5 => &mut r.rbp,
            6 => &mut r.rsi,
            7 => &mut r.rdi,
            8 => &mut r.r8,
            9 => &mut r.r9,
            10 => &mut r.r10,
            11 => &mut r.r11,
            12 => &mut r.r12,
            13 => &mut r.r13,
            14 => &mut r.r14,
            15 => &mut r.r15,
            _ => return,
        };
        *slot = value;
    }
}

/// A virtual CPU of a [`super::KvmMachine`].
pub struct KvmCpu {
    fd: VcpuFd,
    m: Arc<Inner>,
    shared: Arc<VcpuShared>,
    /// Private-region offset of this vCPU's block.
    block: u64,
    /// Private-region offset of the trap frame (RSP0 − frame).
    frame: u64,
    /// Its kernel virtual address (RSP at every trap exit).
    frame_kva: u64,
    retired: u64,
    loaded: Loaded,
    ops: Vec<Op>,
    /// Queued stores beyond one trip through the shim.
    pending: Vec<Op>,
    timer: Option<Timer>,
    /// FS/GS bases the vCPU holds.
    bases: (u64, u64),
    /// The last system call came through the native entry (sysretq allowed).
    native_syscall: bool,
    /// Page of the last demand fill and how often in a row.
    last_fill: (u64, u32),
    /// The vCPU sits at the trap path's `out` with ring 3's frame on its
    /// stack: a return needs no full restore.
    at_trap: bool,
    /// The last page fault handed to the kernel: `(va, access, pc, rsp,
    /// asid)`. If the same thread (same space, stack pointer and pc)
    /// resumes and the kernel mapped the page meanwhile,
    /// [`KvmCpu::enter`] installs the leaf before the retry instead of
    /// letting it take a demand-fill exit.
    resolving: Option<(u64, Access, u64, u64, u64)>,
    /// RSP at the last trap exit (the stub's return continues from it).
    trap_rsp: u64,
    /// The FP state the vCPU holds, when known (`fx_valid`): set by
    /// `KVM_SET_FPU` on entry only when the register file's differs.
    fx_live: Box<FxArea>,
    /// The extended XSAVE state the vCPU holds (with `fx_live`).
    ext_live: Box<XsaveExt>,
    fx_valid: bool,
    /// FP state moves with `KVM_GET/SET_XSAVE` (the whole XSAVE image, AVX
    /// and AVX-512 included), not `KVM_GET/SET_FPU` (x87/SSE only).
    xsave: bool,
    /// Test hook: the next FP load fails as a refused `KVM_SET_FPU` would.
    fail_fpu: bool,
}

fn lock(t: &std::sync::Mutex<Tables>) -> MutexGuard<'_, Tables> {
    t.lock().unwrap_or_else(|e| e.into_inner())
}

fn segment(selector: u16, code: bool) -> kvm_segment {
    kvm_segment {
        base: 0,
        limit: 0xffff_ffff,
        selector,
        type_: if code { 11 } else { 3 },
        present: 1,
        dpl: (selector & 3) as u8,
        db: u8::from(!code),
        s: 1,
        l: u8::from(code),
        g: 1,
        avl: 0,
        unusable: 0,
        padding: 0,
    }
}

impl KvmCpu {
    pub(super) fn new(m: Arc<Inner>, index: usize) -> Result<KvmCpu, MachineError> {
        let err = |what: &str, e: kvm_ioctls::Error| MachineError::Cpu {
            index,
            reason: format!("{what}: {e}"),
        };
        if index >= private::MAX_CPUS {
            return Err(MachineError::Cpu {
                index,
                reason: format!("at most {} vCPUs", private::MAX_CPUS),
            });
        }
        let mut fd =
            m.vm.create_vcpu(index as u64)
                .map_err(|e| err("KVM_CREATE_VCPU", e))?;
        // CPUID first: KVM checks CR4 against it.
        fd.set_cpuid2(&m.cpuid)
            .map_err(|e| err("KVM_SET_CPUID2", e))?;

        let mem = &m.private;
        let block = private::CPUS + private::CPU_BYTES * index as u64;
        // Real host memory behind the block before anything is written to
        // it or the vCPU can use it (backing.rs).
        lock(&m.tables).back_private(block, private::CPU_BYTES);
        let tss_kva = mem.kva(block + cpu::TSS);
        let gdt: Vec<u8> = tables::gdt(tss_kva)
            .iter()
            .flat_map(|d| d.to_le_bytes())
            .collect();
        mem.write(block + cpu::GDT, &gdt);
        mem.write(
            block + cpu::TSS,
            &tables::tss(
                mem.kva(block + cpu::RSP0),
                [
                    mem.kva(block + cpu::IST_DF),
                    mem.kva(block + cpu::IST_NMI),
                    mem.kva(block + cpu::IST_MC),
                ],
            ),
        );
        mem.store(block + cpu::SCRATCH_KSTACK, mem.kva(block + cpu::RSP0));

        let mut s = fd.get_sregs().map_err(|e| err("KVM_GET_SREGS", e))?;
        s.cs = segment(layout::KERNEL_CS, true);
        s.ss = segment(layout::KERNEL_DS, false);
        s.ds = segment(layout::KERNEL_DS, false);
        s.es = segment(layout::KERNEL_DS, false);
        s.fs = segment(layout::KERNEL_DS, false);
        s.gs = segment(layout::KERNEL_DS, false);
        s.tr = kvm_segment {
            base: tss_kva,
            limit: layout::TSS_LIMIT,
            selector: layout::TSS_SEL,
            type_: 11,
            present: 1,
            ..Default::default()
        };
        s.ldt = kvm_segment {
            type_: 2,
            unusable: 1,
            ..Default::default()
        };
        s.gdt.base = mem.kva(block + cpu::GDT);
        s.gdt.limit = (layout::GDT_BYTES - 1) as u16;
        s.idt.base = mem.kva(private::IDT);
        s.idt.limit = 4095;
        s.cr0 = layout::CR0;
        s.cr3 = mem.phys(m.boot_pml4);
        s.cr4 = layout::CR4;
        s.efer = layout::EFER;
        fd.set_sregs(&s).map_err(|e| err("KVM_SET_SREGS", e))?;

        let entries = [
            (
                MSR_STAR,
                (u64::from(layout::USER32_CS) << 48) | (u64::from(layout::KERNEL_CS) << 32),
            ),
            (MSR_LSTAR, m.shim.syscall_entry),
            (MSR_CSTAR, m.shim.syscall_entry),
            (MSR_SFMASK, layout::SFMASK),
            (MSR_KERNEL_GS_BASE, mem.kva(block)),
            (MSR_FS_BASE, 0),
            (MSR_GS_BASE, 0),
        ]
        .map(|(index, data)| kvm_msr_entry {
            index,
            data,
            ..Default::default()
        });
        let msrs = Msrs::from_entries(&entries).map_err(|e| MachineError::Cpu {
            index,
            reason: format!("MSR list: {e:?}"),
        })?;
        let n = fd.set_msrs(&msrs).map_err(|e| err("KVM_SET_MSRS", e))?;
        if n != entries.len() {
            return Err(MachineError::Cpu {
                index,
                reason: format!(
                    "KVM_SET_MSRS took {n} of {} MSRs (MSR {:#x} refused)",
                    entries.len(),
                    entries[n].index
                ),
            });
        }
        let frame = block + cpu::RSP0 - frame::BYTES;
        fd.set_regs(&kvm_regs {
            rflags: 2,
            rip: m.shim.resume,
            rsp: mem.kva(frame),
            ..Default::default()
        })
        .map_err(|e| err("KVM_SET_REGS", e))?;
        fd.set_sync_valid_reg(SyncReg::Register);
        // CR2 of a page fault comes with the exit (no KVM_GET_SREGS, which
        // costs a vCPU load/put on PVM).
        fd.set_sync_valid_reg(SyncReg::SystemRegister);

        // The whole XSAVE image where KVM has it in one `struct kvm_xsave`
        // (KVM_CAP_XSAVE2 names a larger one only with AMX-like state).
        let xsave_size = m.xsave_size;
        let xsave = xsave_size > 0 && xsave_size <= XSAVE_BYTES && fd.get_xsave().is_ok();

        let shared = Arc::new(VcpuShared {
            index,
            ..Default::default()
        });
        m.vcpus
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(shared.clone());
        Ok(KvmCpu {
            frame_kva: mem.kva(frame),
            frame,
            block,
            fd,
            m,
            shared,
            retired: 0,
            loaded: Loaded::default(),
            ops: Vec::new(),
            pending: Vec::new(),
            timer: None,
            bases: (0, 0),
            native_syscall: false,
            last_fill: (u64::MAX, 0),
            at_trap: false,
            resolving: None,
            trap_rsp: 0,
            fx_live: Box::default(),
            ext_live: Box::default(),
            fx_valid: false,
            xsave,
            fail_fpu: false,
        })
    }

    /// This vCPU's index.
    pub fn index(&self) -> usize {
        self.shared.index
    }

    /// Fault injection for tests: the next entry's FP-state load fails as
    /// if `KVM_SET_FPU` had been refused (the entry ends in
    /// [`Trap::Halt`]).
    #[doc(hidden)]
    pub fn fail_next_fp_load(&mut self) {
        self.fail_fpu = true;
    }

    fn immediate_exit_ptr(&mut self) -> *mut u8 {
        &mut self.fd.get_kvm_run().immediate_exit as *mut u8
    }

    /// Arms this thread's preemption timer for `at`.
    fn arm(&mut self, at: Instant) {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        if self.timer.as_ref().map(Timer::tid) != Some(tid) {
            self.timer = Timer::for_this_thread().ok();
        }
        if let Some(t) = &self.timer {
            t.arm(at);
        }
    }

    /// The CR3 the shim loads after the queued `ops`: `cr3`, or when it is
    /// 0 and a queued store unlinked a whole page table, the loaded
    /// mirror's own (a reload is the flush that covers the table's range).
    fn flush_cr3(&self, cr3: u64) -> u64 {
        if cr3 == 0 && self.ops.iter().any(|o| o.full_flush) {
            self.m.private.phys(self.loaded.pml4)
        } else {
            cr3
        }
    }

    /// Loads up to one queue's worth of `ops` (the rest wait in `pending`)
    /// and points the vCPU at the full-restore path.
    fn enter_resume(&mut self, cr3: u64) {
        let ops = std::mem::take(&mut self.ops);
        self.pending.clear();
        let n = ops.len().min(cpu::QUEUE_OPS);
        self.write_queue(&ops[..n]);
        self.pending.extend_from_slice(&ops[n..]);
        self.ops = ops;
        self.ops.clear();
        let more = !self.pending.is_empty();
        let queue = self.m.private.kva(self.block + cpu::QUEUE);
        let frame_kva = self.frame_kva;
        let resume = self.m.shim.resume;
        let r = &mut self.fd.sync_regs_mut().regs;
        r.rip = resume;
        r.rsp = frame_kva;
        r.rflags = 2;
        r.rdi = queue;
        r.rsi = n as u64;
        r.r8 = cr3;
        r.r9 = u64::from(more);
        self.fd.set_sync_dirty_reg(SyncReg::Register);
    }

    fn write_queue(&self, ops: &[Op]) {
        let mem = &self.m.private;
        let mut bytes = Vec::with_capacity(ops.len() * cpu::OP_BYTES as usize);
        for op in ops {
            bytes.extend_from_slice(&mem.kva(op.pte).to_le_bytes());
            bytes.extend_from_slice(&op.value.to_le_bytes());
            bytes.extend_from_slice(&op.va.to_le_bytes());
        }
        mem.write(self.block + cpu::QUEUE, &bytes);
        self.shared
            .pte_ops
            .fetch_add(ops.len() as u64, Ordering::Relaxed);
    }

    /// The shim finished a queue load and the host has more.
    fn refill(&mut self) {
        let n = self.pending.len().min(cpu::QUEUE_OPS);
        let batch: Vec<Op> = self.pending.drain(..n).collect();
        self.write_queue(&batch);
        let more = !self.pending.is_empty();
        let queue = self.m.private.kva(self.block + cpu::QUEUE);
        let r = &mut self.fd.sync_regs_mut().regs;
        r.rdi = queue;
        r.rsi = n as u64;
        r.r9 = u64::from(more);
        self.fd.set_sync_dirty_reg(SyncReg::Register);
    }

    /// Asks KVM to deliver the kick interrupt as soon as ring 3 can take it.
    fn inject_kick(&mut self) {
        let run = self.fd.get_kvm_run();
        run.immediate_exit = 0;
        if run.ready_for_interrupt_injection != 0 && run.if_flag != 0 {
            run.request_interrupt_window = 0;
            let irq = kvm_interrupt {
                irq: u32::from(VEC_KICK),
            };
            // SAFETY: KVM_INTERRUPT reads one kvm_interrupt from the
            // pointer; `fd` is a vCPU fd.
            let rc =
                unsafe { vmm_sys_util::ioctl::ioctl_with_ref(&self.fd, KVM_INTERRUPT(), &irq) };
            if rc != 0 {
                self.fd.get_kvm_run().request_interrupt_window = 1;
            }
        } else {
            run.request_interrupt_window = 1;
        }
    }

    /// Brings the mirror up to date after work done in place; if that
    /// queued stores, the return goes through the full-restore path.
    fn resume_in_place(&mut self, space: &dyn PageTable) {
        let shootdown =
            lock(&self.m.tables).refresh(&self.m.private, space, &mut self.loaded, &mut self.ops);
        if shootdown {
            self.m.shootdown(space.asid(), self.shared.index);
        }
        if !self.ops.is_empty() {
            self.write_live_gprs();
            let cr3 = self.flush_cr3(0);
            self.enter_resume(cr3);
        }
    }

    /// After a page fault the kernel resolved: if ring 3 retries the
    /// faulting instruction, walks the page with the fault's access (the
    /// walk the retry's demand fill would make, setting the same accessed
    /// and dirty bits) and installs the leaf now, saving that exit. Then
    /// catches the mirror up again, in case the space moved during the walk.
    fn prefill(&mut self, regs: &X86Regs, space: &dyn PageTable) {
        let Some((va, access, pc, sp, asid)) = self.resolving.take() else {
            return;
        };
        if regs.rip != pc || regs.gpr[RSP] != sp || space.asid() != asid {
            return;
        }
        let Ok(pte) = space.walk(va, access) else {
            return;
        };
        let mut tables = lock(&self.m.tables);
        if tables
            .fill(&self.m.private, space, va, pte, access, &mut self.ops)
            .is_ok()
        {
            tables.fill_around(&self.m.private, space, va, &mut self.ops);
        }
        if tables.refresh(&self.m.private, space, &mut self.loaded, &mut self.ops) {
            drop(tables);
            self.m.shootdown(space.asid(), self.shared.index);
        }
    }

    /// A system call the fast path answered: ring 3 continues after it
    /// (return address and flags from RCX/R11 into the `iretq` frame; the
    /// trap stub's own return), unless the budget ran out meanwhile — then
    /// the registers as they stand after the call go to the kernel with
    /// [`Trap::BudgetExpired`].
    fn after_fast_call(
        &mut self,
        regs: &mut X86Regs,
        space: &dyn PageTable,
        deadline: Option<Instant>,
    ) -> Option<Trap> {
        let r = self.fd.sync_regs().regs;
        self.fd.set_sync_dirty_reg(SyncReg::Register);
        let mem = &self.m.private;
        mem.store(self.frame + frame::RIP, r.rcx);
        mem.store(self.frame + frame::CS, u64::from(layout::USER_CS));
        mem.store(self.frame + frame::RFLAGS, user_rflags(r.r11));
        if !is_user_canonical(r.rcx) || deadline.is_some_and(|d| Instant::now() >= d) {
            let rsp = mem.load(self.frame + frame::RSP);
            self.capture(regs, &r, r.rcx, r.r11, rsp);
            return Some(if is_user_canonical(r.rcx) {
                Trap::BudgetExpired
            } else {
                Trap::PageFault {
                    va: r.rcx,
                    access: Access::Execute,
                    pc: r.rcx,
                }
            });
        }
        self.at_trap = false;
        // The handler may have changed the space (an extension's call).
        self.resume_in_place(space);
        None
    }

    /// Sets the vCPU up to enter ring 3 with `regs` in `space`; `None` when
    /// it can, or the trap that stops it first.
    fn enter(&mut self, regs: &X86Regs, space: &dyn PageTable) -> Option<Trap> {
        if !is_user_canonical(regs.rip) {
            // iretq to it would fault in ring 0; Linux's answer is SIGSEGV.
            return Some(Trap::PageFault {
                va: regs.rip,
                access: Access::Execute,
                pc: regs.rip,
            });
        }
        // Every step that can fail comes before `Tables::enter`: once it
        // has run, `loaded` names the CR3 this entry loads and `ops` holds
        // stores (a recycled mirror's clears, removals) that exist nowhere
        // else — both must reach the shim.
        if self.set_bases(regs.fs_base, regs.gs_base).is_err() {
            return Some(Trap::Halt { pc: regs.rip });
        }
        if self.load_fp(regs).is_err() {
            return Some(Trap::Halt { pc: regs.rip });
        }
        self.ops.clear();
        let entry: Entry = match lock(&self.m.tables).enter(
            &self.m.private,
            space,
            &mut self.loaded,
            &mut self.ops,
        ) {
            Ok(e) => e,
            Err(_) => return Some(Trap::Halt { pc: regs.rip }),
        };
        if entry.shootdown {
            self.m.shootdown(space.asid(), self.shared.index);
        }
        self.prefill(regs, space);
        self.write_frame(regs);
        let cr3 = self.flush_cr3(entry.cr3);
        let quiet = cr3 == 0 && self.ops.is_empty();
        let sysret = quiet
            && self.at_trap
            && self.native_syscall
            && regs.gpr[1] == regs.rip
            && regs.gpr[11] == user_rflags(regs.rflags);
        if sysret {
            // RCX/R11 are the return RIP and RFLAGS sysretq wants (checked
            // canonical and sanitized above).
            self.load_gprs(regs, self.m.shim.sysret, self.frame_kva);
        } else if quiet && self.at_trap {
            // The trap stub's own return: `iretq` through the frame just
            // written, registers straight from sync regs. (The full
            // restore's loads from memory cost ~15 µs more on PVM.)
            let rip = self.fd.sync_regs().regs.rip;
            self.load_gprs(regs, rip, self.trap_rsp);
        } else {
            self.write_gprs(regs);
            self.enter_resume(cr3);
        }
        self.at_trap = false;
        self.native_syscall = false;
        None
    }

    /// Runs until a trap for the kernel.
    fn exits(
        &mut self,
        regs: &mut X86Regs,
        space: &dyn PageTable,
        deadline: Option<Instant>,
        mut fast: Option<&mut Fast<'_>>,
    ) -> Trap {
        // The guest is about to run: its FP state is known again only once
        // a trap reads it.
        self.fx_valid = false;
        loop {
            let port = match self.fd.run() {
                Ok(VcpuExit::IoOut(port, _)) => Ok(port),
                Ok(VcpuExit::IrqWindowOpen) => Err(reason::IRQ_WINDOW),
                Ok(_) => Err(reason::OTHER),
                Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => {
                    Err(reason::INTR)
                }
                Err(_) => Err(usize::MAX),
            };
            let vector = match port {
                Ok(p) if p == u16::from(PORT_SYSCALL) => Some(VEC_SYSCALL),
                Ok(p) => port_vector(p).map(u64::from),
                Err(_) => None,
            };
            if let Some(v) = vector {
                if let Some(trap) = self.on_trap(v, regs, space, deadline, fast.as_deref_mut()) {
                    return trap;
                }
                continue;
            }
            match port {
                Ok(p) if p == u16::from(PORT_MORE) => {
                    self.shared.count(reason::QUEUE);
                    self.refill();
                }
                Err(reason::IRQ_WINDOW) => {
                    self.shared.count(reason::IRQ_WINDOW);
                    self.inject_kick();
                }
                Err(reason::INTR) => {
                    self.shared.count(reason::INTR);
                    self.inject_kick();
                }
                _ => {
                    self.shared.count(reason::OTHER);
                    self.at_trap = false;
                    return Trap::Halt {
                        pc: self.fd.sync_regs().regs.rip,
                    };
                }
            }
        }
    }

    /// The raw round trip, for benchmarks: enters ring 3 like
    /// [`Cpu::run`], then answers `count` system calls with the least
    /// possible work (return address and flags into the frame, `rax`
    /// untouched, no register file, no page-table check) and returns the
    /// host nanoseconds between consecutive calls. Other traps end it early.
    pub fn raw_syscalls(
        &mut self,
        regs: &mut X86Regs,
        space: &dyn PageTable,
        count: usize,
    ) -> Result<Vec<u64>, Trap> {
        if let Some(t) = self.enter(regs, space) {
            return Err(t);
        }
        let asid = space.asid();
        let mut times = Vec::with_capacity(count);
        let mut last = None;
        let entry = self.m.shim.syscall_entry;
        self.fx_valid = false;
        while times.len() < count {
            let vector = match self.fd.run() {
                Ok(VcpuExit::IoOut(p, _)) if p == u16::from(PORT_SYSCALL) => VEC_SYSCALL,
                Ok(VcpuExit::IoOut(p, _)) if port_vector(p).is_some() => {
                    u64::from(port_vector(p).unwrap_or(0))
                }
                _ => {
                    lock(&self.m.tables).leave(asid);
                    return Err(Trap::Halt { pc: 0 });
                }
            };
            let r = self.fd.sync_regs().regs;
            let rip = self.m.private.load(self.frame + frame::RIP);
            if vector == VEC_SYSCALL || (vector == 14 && rip == entry) {
                let now = Instant::now();
                if let Some(l) = last {
                    times.push(now.duration_since(l).as_nanos() as u64);
                }
                last = Some(now);
                self.m.private.store(self.frame + frame::RIP, r.rcx);
                self.m
                    .private
                    .store(self.frame + frame::CS, u64::from(layout::USER_CS));
                self.m
                    .private
                    .store(self.frame + frame::RFLAGS, user_rflags(r.r11));
            } else if let Some(t) = self.on_trap(vector, regs, space, None, None) {
                lock(&self.m.tables).leave(asid);
                return Err(t);
            }
        }
        lock(&self.m.tables).leave(asid);
        Ok(times)
    }
}

impl KvmCpu {
    /// [`Cpu::run`] and [`Cpu::run_fast`]: one timer, one entry, and every
    /// trap `fast` answers handled without leaving the exit loop.
    fn run_with(
        &mut self,
        regs: &mut X86Regs,
        space: &dyn PageTable,
        budget: u64,
        fast: Option<&mut dyn FastTraps>,
    ) -> Trap {
        let start = Instant::now();
        if budget == 0 {
            return Trap::BudgetExpired;
        }
        let flag = self.immediate_exit_ptr();
        let _running = Running::new(flag);
        self.shared.target.enter(flag);
        self.shared.asid.store(space.asid(), Ordering::Release);
        self.fd.get_kvm_run().immediate_exit = 0;
        let deadline = start.checked_add(Duration::from_nanos(budget));
        if let Some(d) = deadline {
            self.arm(d.max(start + MIN_SLICE));
        }
        let trap = match self.enter(regs, space) {
            Some(t) => t,
            None => {
                let mut fast = fast.map(|traps| Fast { traps, start });
                let t = self.exits(regs, space, deadline, fast.as_mut());
                lock(&self.m.tables).leave(space.asid());
                t
            }
        };
        self.shared.asid.store(0, Ordering::Release);
        self.shared.target.leave();
        let ns = start.elapsed().as_nanos() as u64;
        self.retired += ns;
        self.shared.run_ns.fetch_add(ns, Ordering::Relaxed);
        trap
    }
}

impl Cpu for KvmCpu {
    type Regs = X86Regs;

    fn run(&mut self, regs: &mut X86Regs, space: &dyn PageTable, budget: u64) -> Trap {
        self.run_with(regs, space, budget, None)
    }

    /// System calls and page faults `fast` answers stay inside the exit
    /// loop: no register-file copy, no FP read, no re-entry, no timer
    /// re-arm; the budget's deadline covers the whole call.
    fn run_fast(
        &mut self,
        regs: &mut X86Regs,
        space: &dyn PageTable,
        budget: u64,
        fast: &mut dyn FastTraps,
    ) -> Trap {
        self.run_with(regs, space, budget, Some(fast))
    }

    fn retired(&self) -> u64 {
        self.retired
    }
}

#[allow(dead_code)]
fn _assert_send() {
    fn is_send<T: Send>() {}
    is_send::<KvmCpu>();
    let _ = kick::signal;
}
