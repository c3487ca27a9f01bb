//! The KVM machine on a real KVM VM: ring-3 code assembled here with
//! iced-x86 runs above the shim; system calls, faults, exceptions,
//! preemption, page-table removals, two vCPUs and FS bases come back to the
//! host exactly. Every test prints `SKIP: /dev/kvm …` and passes where KVM
//! is unusable.

#![cfg(target_arch = "x86_64")]

use std::sync::Arc;

use iced_x86::code_asm::*;
use spin_kernel::machine::{new_guest_ram, Access, Cpu, GuestRam, Machine, RegisterFile, Trap};
use spin_kernel::mem::{AddressSpace, PageTable, PhysAddr, Prot, Translation};
use spin_kernel::{Cap, MoundId};
use spin_vmm::kvm::{self, KvmMachine, X86Regs};
use vm_memory::{Bytes, GuestAddress};

const CODE: u64 = 0x40_0000;
const DATA: u64 = 0x60_0000;
const STACK_TOP: u64 = 0x7fff_0000;

struct World {
    machine: KvmMachine,
    ram: Arc<GuestRam>,
    t: Translation,
    next_frame: std::sync::atomic::AtomicU64,
}

fn world() -> Option<World> {
    if let Err(e) = kvm::available() {
        println!("SKIP: /dev/kvm unusable: {e}");
        return None;
    }
    let ram = new_guest_ram(64 << 20).unwrap();
    let machine = KvmMachine::new(ram.clone()).unwrap();
    let t = Translation::new(ram.clone(), 12);
    Some(World {
        machine,
        ram,
        t,
        next_frame: std::sync::atomic::AtomicU64::new(0x10_0000),
    })
}

impl World {
    fn frame(&self) -> PhysAddr {
        PhysAddr(
            self.next_frame
                .fetch_add(4096, std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// A space with `code` at CODE (r-x), one data page at DATA (rw-) and a
    /// stack page below STACK_TOP (rw-).
    fn space(&self, code: &[u8]) -> Cap<AddressSpace> {
        let s = self.t.create(MoundId(1));
        for (i, chunk) in code.chunks(4096).enumerate() {
            let f = self.frame();
            self.ram.write_slice(chunk, GuestAddress(f.0)).unwrap();
            s.map(CODE + 4096 * i as u64, f, Prot::RX).unwrap();
        }
        s.map(DATA, self.frame(), Prot::RW).unwrap();
        s.map(STACK_TOP - 4096, self.frame(), Prot::RW).unwrap();
        s
    }

    fn regs(&self) -> X86Regs {
        let mut r = X86Regs::default();
        r.rip = CODE;
        r.set_sp(STACK_TOP - 64);
        r
    }
}

fn asm(f: impl FnOnce(&mut CodeAssembler) -> Result<(), IcedError>) -> Vec<u8> {
    let mut a = CodeAssembler::new(64).unwrap();
    f(&mut a).unwrap();
    a.assemble(CODE).unwrap()
}

const BUDGET: u64 = 1_000_000_000;

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
    println!("{:?}", w.machine.telemetry());
}
