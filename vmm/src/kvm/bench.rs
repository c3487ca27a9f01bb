//! The KVM machine's system-call round trip measured two ways in one run
//! (used by `spin bench` and `examples/kvm_roundtrip.rs`):
//!
//! - **raw**: ring 3 `syscall` → shim → one PIO exit → the host writes the
//!   return address into the frame → ring 3 ([`KvmCpu::raw_syscalls`]: no
//!   register file, no page-table check, no timer);
//! - **machine**: the same guest through `Cpu::run` → `Trap::Syscall` → the
//!   host stores a result in the register file → `Cpu::run` again (timer
//!   armed, mirror checked, every register restored).

use std::time::Instant;

use iced_x86::code_asm::*;
use spin_kernel::machine::{new_guest_ram, Cpu, Machine, RegisterFile, Trap};
use spin_kernel::mem::{PhysAddr, Prot, Translation};
use spin_kernel::MoundId;
use vm_memory::{Bytes, GuestAddress};

use super::{KvmMachine, X86Regs};

/// Medians of one measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoundTrip {
    /// ns per call, raw.
    pub raw_ns: u64,
    /// ns per call through `Cpu::run` and `Trap::Syscall`.
    pub machine_ns: u64,
    /// Mean ns per call, raw (median over rounds of each round's mean): the
    /// like-for-like reference for a whole-program measurement, which can
    /// only give a mean (it includes every stall of a loaded machine).
    pub raw_mean_ns: u64,
    /// Whether the host's KVM is PVM (software virtualization).
    pub pvm: bool,
}

/// Measures `rounds` interleaved rounds of `calls` calls each (the first is
/// a warm-up); returns the medians of the rest.
pub fn syscall_round_trip(calls: usize, rounds: usize) -> Result<RoundTrip, String> {
    super::available()?;
    let err = |e: &dyn std::fmt::Display| e.to_string();
    const CODE: u64 = 0x40_0000;
    let mut a = CodeAssembler::new(64).map_err(|e| err(&e))?;
    let mut top = a.create_label();
    a.set_label(&mut top).map_err(|e| err(&e))?;
    a.mov(eax, 39).map_err(|e| err(&e))?;
    a.syscall().map_err(|e| err(&e))?;
    a.jmp(top).map_err(|e| err(&e))?;
    let code = a.assemble(CODE).map_err(|e| err(&e))?;

    let ram = new_guest_ram(16 << 20).map_err(|e| err(&e))?;
    let machine = KvmMachine::new(ram.clone()).map_err(|e| err(&e))?;
    let t = Translation::new(ram.clone(), 12);
    let space = t.create(MoundId(1));
    ram.write_slice(&code, GuestAddress(0x10_0000))
        .map_err(|e| err(&e))?;
    space
        .map(CODE, PhysAddr(0x10_0000), Prot::RX)
        .map_err(|e| err(&e))?;
    space
        .map(0x7fff_f000, PhysAddr(0x11_0000), Prot::RW)
        .map_err(|e| err(&e))?;
    let mut cpu = machine.create_cpu(0).map_err(|e| err(&e))?;
    let mut regs = X86Regs {
        rip: CODE,
        ..Default::default()
    };
    regs.set_sp(0x7fff_ff00);

    let median = |v: &mut Vec<u64>| {
        v.sort_unstable();
        v.get(v.len() / 2).copied().unwrap_or(0)
    };
    let (mut raw_all, mut full_all, mut raw_means) = (Vec::new(), Vec::new(), Vec::new());
    let mean = |v: &[u64]| v.iter().sum::<u64>() / v.len().max(1) as u64;
    let budget = 1_000_000_000;
    for round in 0..rounds.max(2) {
        let mut raw = cpu
            .raw_syscalls(&mut regs, &*space, calls.max(1))
            .map_err(|t| format!("the raw loop stopped with {t:?}"))?;
        let mut full = Vec::with_capacity(calls);
        let mut last = Instant::now();
        for i in 0..=calls.max(1) {
            let trap = cpu.run(&mut regs, &*space, budget);
            if trap != Trap::Syscall {
                return Err(format!("the benchmark guest stopped with {trap:?}"));
            }
            regs.set_syscall_result(Ok(i as u64));
            let now = Instant::now();
            if i > 0 {
                full.push(now.duration_since(last).as_nanos() as u64);
            }
            last = now;
        }
        if round > 0 {
            raw_means.push(mean(&raw));
            raw_all.push(median(&mut raw));
            full_all.push(median(&mut full));
        }
    }
    Ok(RoundTrip {
        raw_ns: median(&mut raw_all),
        machine_ns: median(&mut full_all),
        raw_mean_ns: median(&mut raw_means),
        pvm: std::path::Path::new("/sys/module/kvm_pvm").exists(),
    })
}
