//! A trap stub's exit: the vector, the frame and CR2 turned into a
//! [`Trap`] for the kernel, or handled in place.

use super::*;

impl KvmCpu {
    /// Up to 8 bytes of the instruction at `pc` (0 where unreadable).
    pub(super) fn insn_bytes(&self, space: &dyn PageTable, pc: u64) -> u64 {
        let Ok(pte) = space.walk(pc, Access::Execute) else {
            return 0;
        };
        let mask = (1u64 << space.page_shift()) - 1;
        let n = (mask + 1 - (pc & mask)).min(8) as usize;
        let mut b = [0u8; 8];
        let _ = self
            .m
            .ram
            .read_slice(&mut b[..n], GuestAddress(pte.frame.0 + (pc & mask)));
        u64::from_le_bytes(b)
    }

    /// Handles the exit of the trap stub for `vector` (or [`VEC_SYSCALL`]):
    /// `Some(trap)` for the kernel, `None` when handled in place (the vCPU
    /// continues).
    pub(super) fn on_trap(
        &mut self,
        vector: u64,
        regs: &mut X86Regs,
        space: &dyn PageTable,
        deadline: Option<Instant>,
        mut fast: Option<&mut Fast<'_>>,
    ) -> Option<Trap> {
        let r = self.fd.sync_regs().regs;
        self.at_trap = false;
        let error_code = vector < 32 && has_error_code(vector as u8);
        let expected = self.frame_kva + frame::RIP - if error_code { 8 } else { 0 };
        if r.rsp != expected {
            // A trap taken inside the shim (or on an IST stack): not the
            // guest's doing, and nothing to resume.
            self.shared.count(reason::OTHER);
            return Some(Trap::Halt { pc: r.rip });
        }
        let mut raw = [0u8; 64];
        self.m.private.read(self.frame, &mut raw);
        let q = |i: u64| {
            let i = i as usize;
            let mut b = [0u8; 8];
            b.copy_from_slice(&raw[i..i + 8]);
            u64::from_le_bytes(b)
        };
        let err = if error_code { q(frame::ERROR) } else { 0 };
        let (rip, cs, rflags, rsp) = (q(frame::RIP), q(frame::CS), q(frame::RFLAGS), q(frame::RSP));
        if cs & 3 != 3 {
            self.shared.count(reason::OTHER);
            return Some(Trap::Halt { pc: rip });
        }
        let syscall = vector == VEC_SYSCALL || (vector == 14 && rip == self.m.shim.syscall_entry);
        // From here on every trap leaves the vCPU at the `out` with ring 3's frame.
        self.at_trap = true;
        self.trap_rsp = r.rsp;
        if syscall {
            self.shared.count(reason::SYSCALL);
            if let Some(f) = fast.as_deref_mut() {
                let ran = f.ran();
                let answered = f
                    .traps
                    .syscall(&mut LiveCall(&mut self.fd.sync_regs_mut().regs), ran);
                if answered {
                    return self.after_fast_call(regs, space, deadline);
                }
            }
            let r = self.fd.sync_regs().regs;
            self.native_syscall = vector == VEC_SYSCALL;
            self.capture(regs, &r, r.rcx, r.r11, rsp);
            return Some(Trap::Syscall);
        }
        match vector {
            v if v == u64::from(VEC_KICK) => {
                self.shared.count(reason::KICK);
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    self.capture(regs, &r, rip, rflags, rsp);
                    return Some(Trap::BudgetExpired);
                }
                self.resume_in_place(space);
                None
            }
            14 => {
                let cr2 = self.fd.sync_regs().sregs.cr2;
                let access = if err & 0x10 != 0 {
                    Access::Execute
                } else if err & 2 != 0 {
                    Access::Write
                } else {
                    Access::Read
                };
                if is_user_canonical(cr2) && err & 8 == 0 {
                    if let Ok(pte) = space.walk(cr2, access) {
                        let page = cr2 & !0xfff;
                        self.last_fill = match self.last_fill {
                            (p, n) if p == page => (p, n + 1),
                            _ => (page, 1),
                        };
                        if self.last_fill.1 <= FILL_RETRIES {
                            let filled = lock(&self.m.tables).fill(
                                &self.m.private,
                                space,
                                cr2,
                                pte,
                                access,
                                &mut self.ops,
                            );
                            if filled.is_ok() {
                                lock(&self.m.tables).fill_around(
                                    &self.m.private,
                                    space,
                                    cr2,
                                    &mut self.ops,
                                );
                                self.shared.count(reason::DEMAND_FILL);
                                self.resume_in_place(space);
                                return None;
                            }
                        }
                    }
                }
                self.last_fill = (u64::MAX, 0);
                self.shared.count(reason::PAGE_FAULT);
                if let Some(f) = fast {
                    let ran = f.ran();
                    if f.traps.page_fault(cr2, access, ran) {
                        // Resolved: install the leaf now if the kernel
                        // mapped it (else the retry faults again), resume.
                        if let Ok(pte) = space.walk(cr2, access) {
                            let mut tables = lock(&self.m.tables);
                            if tables
                                .fill(&self.m.private, space, cr2, pte, access, &mut self.ops)
                                .is_ok()
                            {
                                tables.fill_around(&self.m.private, space, cr2, &mut self.ops);
                            }
                        }
                        self.resume_in_place(space);
                        return None;
                    }
                }
                self.resolving = Some((cr2, access, rip, rsp, space.asid()));
                self.capture(regs, &r, rip, rflags, rsp);
                Some(Trap::PageFault {
                    va: cr2,
                    access,
                    pc: rip,
                })
            }
            v => {
                self.shared.count(reason::EXCEPTION);
                self.capture(regs, &r, rip, rflags, rsp);
                Some(match v {
                    0 => Trap::Arithmetic {
                        pc: rip,
                        summary: 0,
                    },
                    16 | 19 => Trap::Arithmetic {
                        pc: rip,
                        summary: v,
                    },
                    1 => Trap::Breakpoint { pc: rip },
                    3 => Trap::Breakpoint {
                        pc: rip.wrapping_sub(1),
                    },
                    6 | 7 => Trap::IllegalInstruction {
                        pc: rip,
                        insn: self.insn_bytes(space, rip),
                    },
                    17 => Trap::Unaligned { va: 0, pc: rip },
                    v => Trap::PalCall {
                        pc: rip,
                        code: X86_EXCEPTION | v as u32,
                    },
                })
            }
        }
    }
}
