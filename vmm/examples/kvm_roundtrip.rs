//! The KVM machine's system-call round trip, raw vs through `Cpu::run`, in
//! one run (see `spin_vmm::kvm::bench`; `spin bench --only kvm` adds the
//! path through the UNIX mound's dispatcher). Absolute numbers depend on the
//! host's KVM: this machine's is PVM (software virtualization), 5–20× slower
//! than VT-x/SVM.
//!
//! `cargo run --release -p spin-vmm --example kvm_roundtrip [calls per round] [rounds]`

#[cfg(target_arch = "x86_64")]
fn main() {
    let mut args = std::env::args().skip(1);
    let calls: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
    match spin_vmm::kvm::bench::syscall_round_trip(calls, rounds) {
        Err(e) => println!("SKIP: /dev/kvm: {e}"),
        Ok(r) => {
            println!(
                "KVM system-call round trip, {calls} calls x {} rounds (medians; first round warm-up), measured on {}",
                rounds.max(2) - 1,
                if r.pvm { "PVM (kvm_pvm, software virtualization)" } else { "hardware KVM" }
            );
            println!(
                "raw: ring 3 → shim → PIO exit → ring 3   {:>8.2} µs",
                r.raw_ns as f64 / 1e3
            );
            println!(
                "Cpu::run → Trap::Syscall → Cpu::run       {:>8.2} µs",
                r.machine_ns as f64 / 1e3
            );
            println!(
                "ratio (target ≤ 1.2)                      {:>8.3}",
                r.machine_ns as f64 / r.raw_ns.max(1) as f64
            );
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    println!("SKIP: /dev/kvm: the KVM machine needs an x86-64 host");
}
