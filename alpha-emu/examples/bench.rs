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

    let mut ours = Vec::new();
    let mut insns = 0;
    let mut our_out = None;
    for _ in 0..runs {
        let t = Instant::now();
        let (out, n) = run_ours(&bin, 10_000_000);
        let secs = t.elapsed().as_secs_f64();
        insns = n;
        ours.push(n as f64 / secs / 1e6);
        our_out = Some(out);
    }
    let our_mips = median(ours.clone());
    println!("guest instructions: {insns}");
    println!("ours : {our_mips:8.1} MIPS (median of {runs}: {ours:.0?})");
    if !have("qemu-alpha") {
        println!("SKIP: qemu-alpha not installed");
        return;
    }
    let mut qemu = Vec::new();
    let mut q_out = None;
    for _ in 0..runs {
        let t = Instant::now();
        let out = run_qemu(&bin);
        qemu.push(insns as f64 / t.elapsed().as_secs_f64() / 1e6);
        q_out = Some(out);
    }
    let q_mips = median(qemu.clone());
    println!("qemu : {q_mips:8.1} MIPS (median of {runs}: {qemu:.0?})");
    println!("ratio: {:.2}x qemu-alpha", our_mips / q_mips);
    println!("outputs identical: {}", our_out == q_out);
}
