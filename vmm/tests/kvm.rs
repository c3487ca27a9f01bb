//! The KVM machine on a real KVM VM: ring-3 code assembled here with
//! iced-x86 runs above the shim; system calls, faults, exceptions,
//! preemption, two vCPUs, FS/GS bases and FP/AVX state come back to the
//! host exactly (the page tables: `kvm_paging.rs`). Every test prints
//! `SKIP: /dev/kvm …` and passes where KVM is unusable.

#![cfg(target_arch = "x86_64")]

mod support;

use support::*;

#[test]
fn syscalls_carry_arguments_and_results() {
    let Some(w) = world() else { return };
    let code = asm(|a| {
        a.mov(eax, 39)?;
        a.mov(edi, 1)?;
        a.mov(esi, 2)?;
        a.mov(edx, 3)?;
        a.mov(r10d, 4)?;
        a.mov(r8d, 5)?;
        a.mov(r9d, 6)?;
        a.mov(rbx, 0x1122_3344_5566_7788u64)?;
        a.syscall()?;
        a.mov(rdi, rax)?;
        a.mov(eax, 60)?;
        a.syscall()?;
        a.ud2()
    });
    let space = w.space(&code);
    let mut cpu = w.machine.create_cpu(0).unwrap();
    let mut regs = w.regs();
    assert_eq!(cpu.run(&mut regs, &*space, BUDGET), Trap::Syscall);
    assert_eq!(regs.syscall_number(), 39);
    let args: Vec<u64> = (0..6).map(|i| regs.syscall_arg(i)).collect();
    assert_eq!(args, [1, 2, 3, 4, 5, 6]);
    assert_eq!(regs.gpr[3], 0x1122_3344_5566_7788, "rbx survives");
    // RCX/R11 hold the return address and flags, as Linux leaves them.
    assert_eq!(regs.gpr[1], regs.rip);
    regs.set_syscall_result(Ok(1234));
    assert_eq!(cpu.run(&mut regs, &*space, BUDGET), Trap::Syscall);
    assert_eq!(regs.syscall_number(), 60);
    assert_eq!(regs.syscall_arg(0), 1234);
    assert_eq!(regs.gpr[3], 0x1122_3344_5566_7788);
    let t = &w.machine.telemetry()[0];
    assert_eq!(t.exits_for("syscall"), 2);
}

#[test]
fn page_faults_name_address_access_and_retry() {
    let Some(w) = world() else { return };
    const FAR: u64 = 0x1234_5000;
    let code = asm(|a| {
        a.mov(rbx, FAR)?;
        a.mov(rax, qword_ptr(rbx + 8))?; // read: not present
        a.mov(qword_ptr(rbx + 16), rax)?; // write: read-only
        a.mov(rcx, DATA)?;
        a.call(rcx)?; // execute: not executable
        a.ud2()
    });
    let space = w.space(&code);
    let mut cpu = w.machine.create_cpu(0).unwrap();
    let mut regs = w.regs();
    let t = cpu.run(&mut regs, &*space, BUDGET);
    assert_eq!(
        t,
        Trap::PageFault {
            va: FAR + 8,
            access: Access::Read,
            pc: CODE + 10
        }
    );
    assert_eq!(regs.rip, CODE + 10, "the faulting instruction is retried");
    let f = w.frame();
    w.ram.write_obj(0xabcd_u64, GuestAddress(f.0 + 8)).unwrap();
    space.map(FAR, f, Prot::READ).unwrap();
    let t = cpu.run(&mut regs, &*space, BUDGET);
    let Trap::PageFault { va, access, pc } = t else {
        panic!("{t:?}")
    };
    assert_eq!((va, access), (FAR + 16, Access::Write));
    assert_eq!(regs.gpr[0], 0xabcd, "the read went through");
    space.protect(FAR, Prot::RW).unwrap();
    assert_eq!(
        cpu.run(&mut regs, &*space, BUDGET),
        Trap::PageFault {
            va: DATA,
            access: Access::Execute,
            pc: DATA
        }
    );
    let _ = pc;
    let mut back = 0u64;
    back = w.ram.read_obj(GuestAddress(f.0 + 16)).unwrap_or(back);
    assert_eq!(back, 0xabcd, "the write landed in the kernel's frame");
    assert_eq!(
        regs.sp(),
        STACK_TOP - 64 - 8,
        "the call pushed its return address"
    );
}

#[test]
fn exceptions_are_reflected_and_the_host_may_rewrite_the_frame() {
    let Some(w) = world() else { return };
    let code = asm(|a| {
        a.ud2()?; // CODE + 0
        a.mov(rdi, rax)?; // CODE + 2: the host skipped here with rax = 77
        a.mov(eax, 1)?;
        a.syscall()?;
        a.xor(ecx, ecx)?;
        a.div(rcx)?; // #DE
        a.int3()?;
        a.hlt()?; // #GP in ring 3
        a.mov(eax, 2)?;
        a.syscall()
    });
    let space = w.space(&code);
    let mut cpu = w.machine.create_cpu(0).unwrap();
    let mut regs = w.regs();
    let t = cpu.run(&mut regs, &*space, BUDGET);
    let Trap::IllegalInstruction { pc, insn } = t else {
        panic!("{t:?}")
    };
    assert_eq!((pc, insn & 0xffff), (CODE, 0x0b0f));
    // Like a signal handler's return: a new PC and a new register.
    regs.rip = CODE + 2;
    regs.gpr[0] = 77;
    assert_eq!(cpu.run(&mut regs, &*space, BUDGET), Trap::Syscall);
    assert_eq!((regs.syscall_number(), regs.syscall_arg(0)), (1, 77));
    let t = cpu.run(&mut regs, &*space, BUDGET);
    let Trap::Arithmetic { pc, summary: 0 } = t else {
        panic!("{t:?}")
    };
    assert_eq!(pc, regs.rip);
    regs.rip += 3; // div rcx is 3 bytes
    let t = cpu.run(&mut regs, &*space, BUDGET);
    let Trap::Breakpoint { pc } = t else {
        panic!("{t:?}")
    };
    assert_eq!(regs.rip, pc + 1, "after int3 the PC is past it");
    let t = cpu.run(&mut regs, &*space, BUDGET);
    assert_eq!(
        t,
        Trap::PalCall {
            pc: regs.rip,
            code: kvm::X86_EXCEPTION | 13
        }
    );
    regs.rip += 1;
    assert_eq!(cpu.run(&mut regs, &*space, BUDGET), Trap::Syscall);
    assert_eq!(regs.syscall_number(), 2);
}

#[test]
fn removed_and_downgraded_mappings_fault_afterwards() {
    let Some(w) = world() else { return };
    let code = asm(|a| {
        a.mov(rbx, DATA)?;
        let mut top = a.create_label();
        a.set_label(&mut top)?;
        a.add(qword_ptr(rbx), 1)?; // CODE + 10
        a.mov(rdi, qword_ptr(rbx))?;
        a.mov(eax, 7)?;
        a.syscall()?;
        a.jmp(top)
    });
    let space = w.space(&code);
    let mut cpu = w.machine.create_cpu(0).unwrap();
    let mut regs = w.regs();
    for i in 1..=3 {
        assert_eq!(cpu.run(&mut regs, &*space, BUDGET), Trap::Syscall);
        assert_eq!(regs.syscall_arg(0), i);
    }
    // Downgrade: the write must fault although the PTE was present and
    // writable (on a shadow-paging host only a guest store takes effect).
    space.protect(DATA, Prot::READ).unwrap();
    let t = cpu.run(&mut regs, &*space, BUDGET);
    assert_eq!(
        t,
        Trap::PageFault {
            va: DATA,
            access: Access::Write,
            pc: CODE + 10
        }
    );
    space.protect(DATA, Prot::RW).unwrap();
    assert_eq!(cpu.run(&mut regs, &*space, BUDGET), Trap::Syscall);
    assert_eq!(regs.syscall_arg(0), 4);
    // Removal (`add` is a read-modify-write: x86 reports it as a write).
    let gone = space.unmap(DATA).unwrap();
    let t = cpu.run(&mut regs, &*space, BUDGET);
    assert_eq!(
        t,
        Trap::PageFault {
            va: DATA,
            access: Access::Write,
            pc: CODE + 10
        }
    );
    // Remapped to another frame: the new frame's contents are seen.
    let f = w.frame();
    w.ram.write_obj(100u64, GuestAddress(f.0)).unwrap();
    space.map(DATA, f, Prot::RW).unwrap();
    assert_eq!(cpu.run(&mut regs, &*space, BUDGET), Trap::Syscall);
    assert_eq!(regs.syscall_arg(0), 101);
    let old: u64 = w.ram.read_obj(GuestAddress(gone.frame.0)).unwrap();
    assert_eq!(old, 4, "the old frame was not written after the removal");
    assert!(w.machine.telemetry()[0].pte_ops >= 2);
}

#[test]
fn budget_preempts_a_spinning_guest() {
    let Some(w) = world() else { return };
    let code = asm(|a| {
        let mut top = a.create_label();
        a.set_label(&mut top)?;
        a.add(rbx, 1)?;
        a.jmp(top)
    });
    let space = w.space(&code);
    let mut cpu = w.machine.create_cpu(0).unwrap();
    let mut regs = w.regs();
    for _ in 0..3 {
        let before = cpu.retired();
        let t0 = std::time::Instant::now();
        assert_eq!(cpu.run(&mut regs, &*space, 5_000_000), Trap::BudgetExpired);
        let wall = t0.elapsed();
        let ran = cpu.retired() - before;
        assert!(ran >= 5_000_000, "retired {ran} ns");
        assert!(wall < std::time::Duration::from_millis(500), "{wall:?}");
        assert!(regs.rip == CODE || regs.rip == CODE + 4, "{regs:?}");
    }
    assert!(
        regs.gpr[3] > 1000,
        "the guest made progress: {}",
        regs.gpr[3]
    );
    assert!(w.machine.telemetry()[0].exits_for("kick") >= 3);
}

#[test]
fn fs_base_and_sse_state_follow_each_guest_thread() {
    let Some(w) = world() else { return };
    let code = asm(|a| {
        a.mov(rdi, qword_ptr(0u64).fs())?;
        a.movq(xmm3, rdi)?;
        a.mov(eax, 1)?;
        a.syscall()?; // the host switches threads here
        a.movq(rdi, xmm3)?;
        a.mov(rsi, qword_ptr(8u64).fs())?;
        a.mov(eax, 2)?;
        a.syscall()
    });
    let space = w.space(&code);
    w.ram.write_obj(0xaaaa_u64, GuestAddress(0)).ok();
    // Thread-local blocks in the data page: A at DATA, B at DATA + 0x100.
    let data = space.walk(DATA, Access::Read).unwrap().frame.0;
    for (off, v) in [(0u64, 0xa0u64), (8, 0xa8), (0x100, 0xb0), (0x108, 0xb8)] {
        w.ram.write_obj(v, GuestAddress(data + off)).unwrap();
    }
    let mut cpu = w.machine.create_cpu(0).unwrap();
    let mut a = w.regs();
    a.set_thread_pointer(DATA);
    let mut b = w.regs();
    b.set_thread_pointer(DATA + 0x100);
    b.set_sp(STACK_TOP - 512);
    assert_eq!(cpu.run(&mut a, &*space, BUDGET), Trap::Syscall);
    assert_eq!(a.syscall_arg(0), 0xa0);
    assert_eq!(cpu.run(&mut b, &*space, BUDGET), Trap::Syscall);
    assert_eq!(b.syscall_arg(0), 0xb0);
    assert_eq!(a.fpr(3), 0xa0, "xmm3 saved in A's register file");
    assert_eq!(cpu.run(&mut a, &*space, BUDGET), Trap::Syscall);
    assert_eq!((a.syscall_arg(0), a.syscall_arg(1)), (0xa0, 0xa8));
    assert_eq!(cpu.run(&mut b, &*space, BUDGET), Trap::Syscall);
    assert_eq!((b.syscall_arg(0), b.syscall_arg(1)), (0xb0, 0xb8));
}

/// The upper halves of the YMM registers (and every other piece of
/// extended state) belong to each guest thread, as the XMM halves do: a
/// ring-3 `CPUID` on PVM shows the host's AVX/AVX-512 (kvm.md quirk 3),
/// so glibc copies memory through YMM/ZMM registers, and a thread switched
/// out mid-`memcpy` must get its whole registers back (issue 7: a forked
/// child's TLS block copied with the other process's upper halves — zeros
/// after its `vzeroupper` — read its locale pointer as 0).
#[test]
fn avx_state_follows_each_guest_thread() {
    let Some(w) = world() else { return };
    let code = asm(|a| {
        a.vmovq(xmm3, rdi)?;
        a.vinsertf128(ymm3, ymm3, xmm3, 1)?;
        a.mov(eax, 1)?;
        a.syscall()?; // the host switches threads here
        a.vextractf128(xmm4, ymm3, 1)?;
        a.vmovq(rdi, xmm4)?;
        a.mov(eax, 2)?;
        a.syscall()
    });
    let space = w.space(&code);
    let mut cpu = w.machine.create_cpu(0).unwrap();
    let mut a = w.regs();
    a.gpr[7] = 0xaaaa_0001;
    let mut b = w.regs();
    b.gpr[7] = 0xbbbb_0002;
    b.set_sp(STACK_TOP - 512);
    match cpu.run(&mut a, &*space, BUDGET) {
        Trap::Syscall => {}
        Trap::IllegalInstruction { .. } => {
            println!("SKIP: ring 3 has no AVX here (the guest CPUID hides it)");
            return;
        }
        t => panic!("unexpected {t:?}"),
    }
    assert_eq!(cpu.run(&mut b, &*space, BUDGET), Trap::Syscall);
    assert_eq!(cpu.run(&mut a, &*space, BUDGET), Trap::Syscall);
    assert_eq!(a.syscall_arg(0), 0xaaaa_0001, "A's upper YMM half");
    assert_eq!(cpu.run(&mut b, &*space, BUDGET), Trap::Syscall);
    assert_eq!(b.syscall_arg(0), 0xbbbb_0002, "B's upper YMM half");
}

#[test]
fn two_vcpus_on_two_threads() {
    let Some(w) = world() else { return };
    let code = counter_code();
    let spaces = [w.space(&code), w.space(&code)];
    let w = &w;
    std::thread::scope(|s| {
        let handles: Vec<_> = spaces
            .iter()
            .enumerate()
            .map(|(i, space)| {
                let mut cpu = w.machine.create_cpu(i).unwrap();
                s.spawn(move || {
                    let mut regs = w.regs();
                    for n in 1..=200 {
                        assert_eq!(cpu.run(&mut regs, &**space, BUDGET), Trap::Syscall);
                        assert_eq!(regs.syscall_arg(0), n);
                    }
                    cpu.index()
                })
            })
            .collect();
        let done: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(done, [0, 1]);
    });
    let t = w.machine.telemetry();
    assert_eq!(t.len(), 2);
    assert!(t.iter().all(|v| v.exits_for("syscall") == 200));
}

#[test]
fn a_removal_on_one_vcpu_shoots_down_the_other() {
    let Some(w) = world() else { return };
    // vCPU 1 spins reading DATA in ring 3 without exits; vCPU 0 runs the
    // same space and is the one to notice the unmap.
    let spin = asm(|a| {
        a.mov(rbx, DATA)?;
        let mut top = a.create_label();
        a.set_label(&mut top)?;
        a.mov(rax, qword_ptr(rbx))?; // CODE + 10
        a.jmp(top)
    });
    let space = w.space(&spin);
    let w = &w;
    let mut cpu0 = w.machine.create_cpu(0).unwrap();
    let mut cpu1 = w.machine.create_cpu(1).unwrap();
    let started = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        let h = s.spawn(|| {
            let mut regs = w.regs();
            // Fault the page in first, then spin.
            started.wait();
            let t0 = std::time::Instant::now();
            let t = cpu1.run(&mut regs, &*space, 5_000_000_000);
            (t, t0.elapsed())
        });
        started.wait();
        std::thread::sleep(std::time::Duration::from_millis(50));
        space.unmap(DATA).unwrap();
        // vCPU 0 enters the same space: it catches the mirror up and kicks vCPU 1.
        let mut regs = w.regs();
        let t = cpu0.run(&mut regs, &*space, 1_000_000);
        assert!(
            matches!(t, Trap::PageFault { va: DATA, .. } | Trap::BudgetExpired),
            "{t:?}"
        );
        let (t, took) = h.join().unwrap();
        assert_eq!(
            t,
            Trap::PageFault {
                va: DATA,
                access: Access::Read,
                pc: CODE + 10
            }
        );
        assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    });
}

#[test]
fn the_host_builds_and_runs_on_the_kvm_machine() {
    if let Err(e) = kvm::available() {
        println!("SKIP: /dev/kvm unusable: {e}");
        return;
    }
    use spin_vmm::host::{Host, HostConfig, MachineKind};
    let host = Host::build(HostConfig {
        machine: MachineKind::Kvm,
        ram: 64 << 20,
        ..HostConfig::default()
    })
    .expect("a KVM host builds");
    let report = host.run(|_| {}).expect("and runs");
    assert!(report.mounds.is_empty());
    let t = host.telemetry();
    assert_eq!(t.machine, "kvm");
    assert_eq!(t.vcpus.len(), 1, "vCPU 0 is listed: {:?}", t.vcpus);
    assert_eq!(t.vcpus[0].reasons.len(), kvm::EXIT_REASONS.len());
}

/// Answers getppid (39) with 7 + the number of calls so far; declines the rest.
struct Answer(u64);

impl spin_kernel::machine::FastTraps for Answer {
    fn syscall(&mut self, frame: &mut dyn spin_kernel::machine::SyscallFrame, _ran: u64) -> bool {
        if frame.number() != 39 {
            return false;
        }
        frame.set_result(Ok(7 + self.0));
        self.0 += 1;
        true
    }
}

#[test]
fn run_fast_answers_calls_without_leaving_and_keeps_the_budget() {
    let Some(w) = world() else { return };
    // 100 getppid calls summed into rbx, then exit(rbx); then a getppid
    // loop that never ends.
    let code = asm(|a| {
        a.xor(ebx, ebx)?;
        a.mov(r12d, 100)?;
        let mut top = a.create_label();
        a.set_label(&mut top)?;
        a.mov(eax, 39)?;
        a.syscall()?;
        a.add(rbx, rax)?;
        a.dec(r12)?;
        a.jnz(top)?;
        a.mov(rdi, rbx)?;
        a.mov(eax, 60)?;
        a.syscall()?;
        let mut spin = a.create_label();
        a.set_label(&mut spin)?;
        a.mov(eax, 39)?;
        a.syscall()?;
        a.jmp(spin)
    });
    let space = w.space(&code);
    let mut cpu = w.machine.create_cpu(0).unwrap();
    let mut regs = w.regs();
    let mut fast = Answer(0);
    let t = cpu.run_fast(&mut regs, &*space, BUDGET, &mut fast);
    assert_eq!(t, Trap::Syscall);
    assert_eq!(regs.syscall_number(), 60);
    assert_eq!(regs.syscall_arg(0), (0..100).map(|i| 7 + i).sum::<u64>());
    assert_eq!(exits(&w).exits_for("syscall"), 101);
    // The endless loop of answered calls still ends with its budget.
    regs.set_syscall_result(Ok(0));
    let before = cpu.retired();
    let t = cpu.run_fast(&mut regs, &*space, 20_000_000, &mut fast);
    assert_eq!(t, Trap::BudgetExpired);
    assert!(cpu.retired() - before >= 20_000_000);
    assert!(fast.0 > 100, "calls were answered in the loop");
    assert!(
        (CODE..CODE + code.len() as u64).contains(&regs.rip),
        "{:#x}",
        regs.rip
    );
    assert_eq!(
        regs.gpr[0] >> 32,
        0,
        "rax holds a result or the call number"
    );
}

/// Hardening, checked from ring 3: no I/O ports (the TSS's I/O map lies
/// beyond its limit and IOPL is 0: `in`/`out` raise #GP), no MSRs
/// (`rdmsr` raises #GP; the host's deny-all MSR filter for ring 0 is in
/// place where KVM offers it), a CPUID without VMX or SVM, and leaf 1's
/// EDX as the UNIX mound reports it in `AT_HWCAP` (the host's, on PVM).
#[test]
fn ring_3_gets_no_io_ports_no_msrs_and_no_virtualization_in_cpuid() {
    let Some(w) = world() else { return };
    let gp = Trap::PalCall {
        pc: CODE,
        code: kvm::X86_EXCEPTION | 13,
    };
    let mut cpu = w.machine.create_cpu(0).unwrap();
    for (what, code) in [
        (
            "in",
            asm(|a| {
                a.mov(edx, 0x3f8)?;
                a.in_(al, dx)
            }),
        ),
        ("out", asm(|a| a.out(0x80, al))),
        (
            "rdmsr",
            asm(|a| {
                a.mov(ecx, 0xc000_0080u32)?;
                a.rdmsr()
            }),
        ),
    ] {
        let space = w.space(&code);
        let mut regs = w.regs();
        let t = cpu.run(&mut regs, &*space, BUDGET);
        let t = match t {
            Trap::PalCall { pc, code } => Trap::PalCall {
                pc: pc & !0xf,
                code,
            },
            t => t,
        };
        assert_eq!(t, gp, "{what}");
    }
    let kvm_fd = kvm_ioctls::Kvm::new().unwrap();
    if kvm_fd.check_extension(kvm_ioctls::Cap::X86MsrFilter) {
        assert!(
            w.machine.msr_filter(),
            "the deny-all MSR filter was refused"
        );
    }
    // cpuid 1 → (ecx, edx); cpuid 0x80000001 → ecx.
    let code = asm(|a| {
        a.mov(eax, 1)?;
        a.xor(ecx, ecx)?;
        a.cpuid()?;
        a.mov(edi, ecx)?;
        a.mov(esi, edx)?;
        a.mov(eax, 0x8000_0001u32)?;
        a.xor(ecx, ecx)?;
        a.cpuid()?;
        a.mov(edx, ecx)?;
        a.mov(eax, 39)?;
        a.syscall()?;
        a.ud2()
    });
    let space = w.space(&code);
    let mut regs = w.regs();
    assert_eq!(cpu.run(&mut regs, &*space, BUDGET), Trap::Syscall);
    let (ecx1, edx1, ecx8) = (
        regs.syscall_arg(0),
        regs.syscall_arg(1),
        regs.syscall_arg(2),
    );
    assert_eq!(ecx1 & (1 << 5), 0, "VMX visible: {ecx1:#x}");
    assert_eq!(ecx8 & (1 << 2), 0, "SVM visible: {ecx8:#x}");
    let host = u64::from(std::arch::x86_64::__cpuid(1).edx);
    if std::path::Path::new("/sys/module/kvm_pvm").exists() {
        assert_eq!(
            edx1, host,
            "AT_HWCAP (host CPUID.1:EDX) is what the guest sees"
        );
    } else {
        assert_eq!(edx1 & (1 << 26), host & (1 << 26), "SSE2");
    }
}

/// GS base, like FS base, belongs to each guest thread: two threads on one
/// vCPU each read their own `gs:[0]`.
#[test]
fn gs_base_follows_each_guest_thread() {
    let Some(w) = world() else { return };
    let code = asm(|a| {
        let mut top = a.create_label();
        a.set_label(&mut top)?;
        a.mov(rdi, qword_ptr(0u64).gs())?;
        a.mov(rsi, qword_ptr(0u64).fs())?;
        a.mov(eax, 39)?;
        a.syscall()?;
        a.jmp(top)
    });
    let space = w.space(&code);
    let data = space.walk(DATA, Access::Read).unwrap().frame.0;
    for (off, v) in [(0u64, 0x6a), (0x100, 0x6b), (0x200, 0xfa), (0x300, 0xfb)] {
        w.ram.write_obj(v as u64, GuestAddress(data + off)).unwrap();
    }
    let mut cpu = w.machine.create_cpu(0).unwrap();
    let mut a = w.regs();
    a.gs_base = DATA;
    a.fs_base = DATA + 0x200;
    let mut b = w.regs();
    b.gs_base = DATA + 0x100;
    b.fs_base = DATA + 0x300;
    b.set_sp(STACK_TOP - 512);
    for _ in 0..3 {
        assert_eq!(cpu.run(&mut a, &*space, BUDGET), Trap::Syscall);
        assert_eq!((a.syscall_arg(0), a.syscall_arg(1)), (0x6a, 0xfa));
        assert_eq!(cpu.run(&mut b, &*space, BUDGET), Trap::Syscall);
        assert_eq!((b.syscall_arg(0), b.syscall_arg(1)), (0x6b, 0xfb));
    }
}
