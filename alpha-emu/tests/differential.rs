//! Differential tests: every program in `tests/guest/` must print the same
//! bytes and exit with the same status under qemu-alpha and under our CPU.

mod common;

use common::guest::{build, guest_sources, have, run_ours_with, run_qemu};

#[test]
fn guest_programs_match_qemu() {
    if !have("alpha-linux-gnu-gcc") {
        println!("SKIP: alpha-linux-gnu-gcc not installed (apt-get install gcc-alpha-linux-gnu)");
        return;
    }
    if !have("qemu-alpha") {
        println!("SKIP: qemu-alpha not installed (apt-get install qemu-user)");
        return;
    }
    let out_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("alpha-guest");
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut failures = Vec::new();
    for src in guest_sources() {
        let name = src.file_name().unwrap().to_string_lossy().to_string();
        let bin = match build(&src, &out_dir) {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("{name}: build failed: {e}"));
                continue;
            }
        };
        let want = run_qemu(&bin);
        // Compiled code and the interpreter alone must both match. An odd
        // quantum exercises budget expiry at arbitrary points.
        for jit in [true, false] {
            let (got, insns) = run_ours_with(&bin, 9973, jit);
            println!(
                "{name} (jit {jit}): {insns} instructions, status {}",
                got.status
            );
            if got != want {
                let w = String::from_utf8_lossy(&want.stdout);
                let g = String::from_utf8_lossy(&got.stdout);
                let diff: Vec<String> = w
                    .lines()
                    .zip(g.lines())
                    .filter(|(a, b)| a != b)
                    .take(8)
                    .map(|(a, b)| format!("  qemu: {a}\n  ours: {b}"))
                    .collect();
                failures.push(format!(
                    "{name} (jit {jit}): status qemu {} ours {}; {} vs {} bytes\n{}",
                    want.status,
                    got.status,
                    want.stdout.len(),
                    got.stdout.len(),
                    diff.join("\n")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "differential failures:\n{}",
        failures.join("\n")
    );
}
