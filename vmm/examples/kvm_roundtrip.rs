//! The KVM machine's system-call round trip, two ways in one run:
//!
//! - **raw**: ring 3 `syscall` → shim → one PIO exit → the host writes the
//!   return address into the frame → ring 3 (`KvmCpu::raw_syscalls`: no
//!   register file, no page-table check, no timer);
//! - **full**: the same guest through `Cpu::run` → `Trap::Syscall` → the
//!   host stores a result in the register file → `Cpu::run` again (timer
//!   armed, mirror checked, every register restored).
//!
//! Prints medians of interleaved rounds and the ratio (target ≤ 1.2×).
//! Absolute numbers depend on the host's KVM: this machine's is PVM
//! (software virtualization), 5–20× slower than VT-x/SVM.
//!
//! `cargo run --release -p spin-vmm --example kvm_roundtrip [calls per round] [rounds]`

#[cfg(target_arch = "x86_64")]
fn main() {
    use iced_x86::code_asm::*;
    use spin_kernel::machine::{new_guest_ram, Cpu, Machine, RegisterFile, Trap};
    use spin_kernel::mem::{PhysAddr, Prot, Translation};
    use spin_kernel::MoundId;
    use spin_vmm::kvm::{self, KvmMachine, X86Regs};
    use std::time::Instant;
    use vm_memory::{Bytes, GuestAddress};

    if let Err(e) = kvm::available() {
        println!("SKIP: /dev/kvm unusable: {e}");
        return;
    }
    let mut args = std::env::args().skip(1);
    let calls: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);

    const CODE: u64 = 0x40_0000;
    let mut a = CodeAssembler::new(64).expect("64-bit assembler");
    let mut top = a.create_label();
    a.set_label(&mut top).expect("label");
    a.mov(eax, 39).expect("mov");
    a.syscall().expect("syscall");
    a.jmp(top).expect("jmp");
    let code = a.assemble(CODE).expect("assembles");

    let ram = new_guest_ram(16 << 20).expect("guest RAM");
    let machine = KvmMachine::new(ram.clone()).expect("KVM machine");
    let t = Translation::new(ram.clone(), 12);
    let space = t.create(MoundId(1));
    ram.write_slice(&code, GuestAddress(0x10_0000))
        .expect("code");
    space
        .map(CODE, PhysAddr(0x10_0000), Prot::RX)
        .expect("map code");
    space
        .map(0x7fff_f000, PhysAddr(0x11_0000), Prot::RW)
        .expect("map stack");
    let mut cpu = machine.create_cpu(0).expect("vCPU");
    let mut regs = X86Regs {
        rip: CODE,
        ..Default::default()
    };
    regs.set_sp(0x7fff_ff00);

    let median = |v: &mut Vec<u64>| {
        v.sort_unstable();
        v[v.len() / 2]
    };
    let (mut raw_all, mut full_all) = (Vec::new(), Vec::new());
    let budget = 1_000_000_000;
    for round in 0..rounds {
        let mut raw = cpu
            .raw_syscalls(&mut regs, &*space, calls)
            .expect("raw round trips");
        let mut full = Vec::with_capacity(calls);
        let mut last = Instant::now();
        for i in 0..=calls {
            let trap = cpu.run(&mut regs, &*space, budget);
            assert_eq!(trap, Trap::Syscall, "{regs:?}");
            regs.set_syscall_result(Ok(i as u64));
            let now = Instant::now();
            if i > 0 {
                full.push(now.duration_since(last).as_nanos() as u64);
            }
            last = now;
        }
        let (r, f) = (median(&mut raw), median(&mut full));
        println!(
            "round {round}: raw {:.2} µs  full {:.2} µs  ratio {:.3}",
            r as f64 / 1e3,
            f as f64 / 1e3,
            f as f64 / r as f64
        );
        if round > 0 {
            raw_all.push(r);
            full_all.push(f);
        }
    }
    let pvm = std::path::Path::new("/sys/module/kvm_pvm").exists();
    let (r, f) = (median(&mut raw_all), median(&mut full_all));
    println!();
    println!(
        "KVM system-call round trip, {calls} calls x {} rounds (first round is warm-up), measured on {}",
        rounds.saturating_sub(1),
        if pvm { "PVM (kvm_pvm, software virtualization)" } else { "hardware KVM" }
    );
    println!("| path | median per call |");
    println!("|---|---:|");
    println!(
        "| raw: ring 3 → shim → PIO exit → ring 3 | {:.2} µs |",
        r as f64 / 1e3
    );
    println!(
        "| full: Cpu::run → Trap::Syscall → Cpu::run | {:.2} µs |",
        f as f64 / 1e3
    );
    println!(
        "| ratio full / raw (target ≤ 1.2) | {:.3} |",
        f as f64 / r as f64
    );
    println!(
        "guest MSR filter (deny all): {}",
        if machine.msr_filter() {
            "on"
        } else {
            "not supported by this host"
        }
    );
    let tel = &machine.telemetry()[0];
    println!("vCPU 0 exits: {} {:?}", tel.exits, tel.reasons);
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    println!("SKIP: /dev/kvm: the KVM machine needs an x86-64 host");
}
