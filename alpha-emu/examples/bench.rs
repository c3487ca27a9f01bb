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

use common::guest::{build, have, run_ours, run_qemu};

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
    }
}
