//! What the KVM machine tests share: a machine over fresh guest RAM, a
//! translation service, spaces with code/data/stack pages, an assembler,
//! guest loops, exit counts.
#![allow(dead_code, unused_imports)]

pub use std::sync::Arc;

pub use iced_x86::code_asm::*;
pub use spin_kernel::machine::{new_guest_ram, Access, Cpu, GuestRam, Machine, RegisterFile, Trap};
pub use spin_kernel::mem::{AddressSpace, PageTable, PhysAddr, Prot, Translation};
pub use spin_kernel::{Cap, MoundId};
pub use spin_vmm::kvm::{self, KvmMachine, X86Regs};
pub use vm_memory::{Bytes, GuestAddress};

pub const CODE: u64 = 0x40_0000;
pub const DATA: u64 = 0x60_0000;
pub const STACK_TOP: u64 = 0x7fff_0000;

pub struct World {
    pub machine: KvmMachine,
    pub ram: Arc<GuestRam>,
    pub t: Translation,
    pub next_frame: std::sync::atomic::AtomicU64,
}

pub fn world() -> Option<World> {
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
    pub fn frame(&self) -> PhysAddr {
        PhysAddr(
            self.next_frame
                .fetch_add(4096, std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// A space with `code` at CODE (r-x), one data page at DATA (rw-) and a
    /// stack page below STACK_TOP (rw-).
    pub fn space(&self, code: &[u8]) -> Cap<AddressSpace> {
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

    pub fn regs(&self) -> X86Regs {
        let mut r = X86Regs {
            rip: CODE,
            ..Default::default()
        };
        r.set_sp(STACK_TOP - 64);
        r
    }
}

pub fn asm(f: impl FnOnce(&mut CodeAssembler) -> Result<(), IcedError>) -> Vec<u8> {
    let mut a = CodeAssembler::new(64).unwrap();
    f(&mut a).unwrap();
    a.assemble(CODE).unwrap()
}

pub const BUDGET: u64 = 1_000_000_000;

pub trait ExitsFor {
    fn exits_for(&self, reason: &str) -> u64;
}

impl ExitsFor for kvm::VcpuTelemetry {
    fn exits_for(&self, reason: &str) -> u64 {
        self.reasons
            .iter()
            .find(|(r, _)| r == reason)
            .map_or(0, |(_, n)| *n)
    }
}

/// Exit counts of vCPU 0 by reason.
pub fn exits(w: &World) -> kvm::VcpuTelemetry {
    w.machine.telemetry().remove(0)
}

/// A guest that counts `n` system calls, passing its counter.
pub fn counter_code() -> Vec<u8> {
    asm(|a| {
        a.xor(ebx, ebx)?;
        let mut top = a.create_label();
        a.set_label(&mut top)?;
        a.add(rbx, 1)?;
        a.mov(rdi, rbx)?;
        a.mov(eax, 9)?;
        a.syscall()?;
        a.jmp(top)
    })
}

/// Reads the quadword at DATA into the first argument of a system call,
/// forever (each `run` returns one `Trap::Syscall`).
pub fn reader_code() -> Vec<u8> {
    asm(|a| {
        let mut top = a.create_label();
        a.set_label(&mut top)?;
        a.mov(rbx, DATA)?;
        a.mov(rdi, qword_ptr(rbx))?;
        a.mov(eax, 39)?;
        a.syscall()?;
        a.jmp(top)
    })
}
