//! Development helper: runs a freestanding Alpha ELF (write/exit system
//! calls only) under our emulator and reports its speed, for profiling and
//! `perf stat` comparisons with `qemu-alpha PROG`.
//!
//! `cargo run --release -p alpha-emu --example run -- PROG [--interp]`

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::Write;
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("usage: run PROG [--interp]");
    let interp = std::env::args().any(|a| a == "--interp");
    let image = std::fs::read(&path).expect("readable program");
    let mut vm = common::Vm::new();
    vm.cpu.set_jit(!interp);
    common::guest::load_elf(&mut vm, &image);
    let t = Instant::now();
    let out = common::guest::run_loaded(&mut vm, 10_000_000);
    let secs = t.elapsed().as_secs_f64();
    std::io::stdout().write_all(&out.stdout).expect("stdout");
    let s = vm.cpu.stats();
    eprintln!(
        "{} instructions in {:.3} s: {:.0} MIPS; {} blocks compiled, {} exits to the dispatcher; status {}",
        s.retired,
        secs,
        s.retired as f64 / secs / 1e6,
        s.compiled_blocks,
        s.jit_exits,
        out.status
    );
}
