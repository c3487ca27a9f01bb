//! Guest-MIPS benchmark: runs a loop-heavy freestanding Alpha program under
//! our emulator and under qemu-alpha in the same run and prints both rates.
//!
//! `cargo run --release -p alpha-emu --example bench [-- RUNS]`

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
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/guest/bench.c");
    let out_dir = std::env::temp_dir().join("alpha-emu-bench");
    std::fs::create_dir_all(&out_dir).expect("temp dir");
    let bin = build(&src, &out_dir).expect("bench program builds");

    let with_qemu = have("qemu-alpha");
    if !with_qemu {
        println!("SKIP qemu: qemu-alpha not installed");
    }
    // Interleave the two emulators so background load hits both alike;
    // the ratio is the median of the per-pair ratios.
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
    println!("guest instructions: {insns}");
    println!(
        "ours : {:8.1} MIPS (median of {runs}: {ours:.0?})",
        median(ours.clone())
    );
    if with_qemu {
        println!(
            "qemu : {:8.1} MIPS (median of {runs}: {qemu:.0?})",
            median(qemu.clone())
        );
        println!(
            "ratio: {:.2}x qemu-alpha (median of per-run ratios {ratios:.2?})",
            median(ratios.clone())
        );
        println!("outputs identical: {identical}");
    }
}
