//! Guest-MIPS benchmark: runs loop-heavy freestanding Alpha programs (an
//! integer one and a floating-point one) under our emulator and under
//! qemu-alpha in the same run and prints a table of both rates.
//!
//! `cargo run --release -p alpha-emu --example bench [-- RUNS]`
//!
//! The two emulators alternate run by run so background load hits both
//! alike; the ratio is the median of the per-pair ratios.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::time::Instant;

use common::guest::{build, have, load_elf, run_ours, run_qemu};
use common::Vm;
use spin_kernel::machine::{Cpu, Trap};
use spin_kernel::MoundId;

/// Two copies of a program in separate address spaces taking turns on one
/// CPU every `quantum` instructions (write/exit only); returns the total
/// instructions retired.
fn run_two(image: &[u8], quantum: u64) -> u64 {
    let mut vm = Vm::new();
    load_elf(&mut vm, image);
    let first = (vm.regs.clone(), vm.space.clone());
    vm.space = vm.tr.create(MoundId(2));
    vm.regs = Default::default();
    load_elf(&mut vm, image);
    let mut procs = [first, (vm.regs.clone(), vm.space.clone())];
    let mut done = [false; 2];
    while !done.iter().all(|d| *d) {
        for (i, (regs, space)) in procs.iter_mut().enumerate() {
            if done[i] {
                continue;
            }
            let s: &spin_kernel::mem::AddressSpace = space;
            loop {
                match vm.cpu.run(regs, s, quantum) {
                    Trap::BudgetExpired => break,
                    Trap::Syscall if regs.r[0] == 4 => {
                        regs.r[0] = regs.r[18];
                        regs.r[19] = 0;
                    }
                    _ => {
                        done[i] = true;
                        break;
                    }
                }
            }
        }
    }
    vm.cpu.retired()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    if !have("alpha-linux-gnu-gcc") {
        println!("SKIP: alpha-linux-gnu-gcc not installed");
        return;
    }
    let with_qemu = have("qemu-alpha");
    if !with_qemu {
        println!("SKIP qemu: qemu-alpha not installed");
    }
    let out_dir = std::env::temp_dir().join("alpha-emu-bench");
    std::fs::create_dir_all(&out_dir).expect("temp dir");
    println!(
        "{:<10} {:>12} {:>10} {:>10} {:>7}  outputs",
        "workload", "instructions", "ours MIPS", "qemu MIPS", "ratio"
    );
    for name in ["bench", "bench_fp"] {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("benches/guest")
            .join(format!("{name}.c"));
        let bin = build(&src, &out_dir).expect("benchmark program builds");
        let (mut ours, mut qemu, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        let mut insns = 0;
        let mut identical = true;
        for _ in 0..runs {
            let t = Instant::now();
            let (out, n) = run_ours(&bin, 10_000_000);
            let mips = n as f64 / t.elapsed().as_secs_f64() / 1e6;
            insns = n;
            ours.push(mips);
            if with_qemu {
                let t = Instant::now();
                let q_out = run_qemu(&bin);
                let q = insns as f64 / t.elapsed().as_secs_f64() / 1e6;
                qemu.push(q);
                ratios.push(mips / q);
                identical &= q_out == out;
            }
        }
        let (q, r) = if with_qemu {
            (median(qemu.clone()), median(ratios.clone()))
        } else {
            (f64::NAN, f64::NAN)
        };
        println!(
            "{name:<10} {insns:>12} {:>10.0} {q:>10.0} {r:>6.2}x  {}",
            median(ours.clone()),
            if !with_qemu {
                "-"
            } else if identical {
                "identical"
            } else {
                "DIFFER"
            }
        );
        println!("           per-run ratios: {ratios:.2?}");
        if name == "bench" {
            let image = std::fs::read(&bin).expect("built program");
            let mut two = Vec::new();
            let mut n = 0;
            for _ in 0..runs {
                let t = Instant::now();
                n = run_two(&image, 200_000);
                two.push(n as f64 / t.elapsed().as_secs_f64() / 1e6);
            }
            println!(
                "{:<10} {n:>12} {:>10.0} {:>10} {:>7}  (2 processes, 200k-instruction quanta)",
                "bench x2",
                median(two),
                "-",
                "-"
            );
        }
    }
}
