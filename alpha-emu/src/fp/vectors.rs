//! Differential vectors recorded from qemu-alpha 7.2.
//!
//! Each line of `qemu_vectors.txt` is
//! `opcode func a b c_old fpcr  outcome c_new fpcr_new exc` (hex), produced by
//! running the instruction under qemu-alpha with Fa=a, Fb=b, Fc=c_old after
//! `mt_fpcr fpcr`, then reading Fc and `mf_fpcr` back (from the signal
//! context when it trapped). `outcome` is `OK`, `FPE` (SIGFPE) or `SIG4`
//! (SIGILL). qemu does not report EXC_SUM to user code, so `exc` is unused.
//! When the low half of `fpcr` (the SWCR control bits of the state word) is
//! nonzero, the recorder first called `osf_setsysinfo(SSI_IEEE_FP_CONTROL)`
//! with it, then `mt_fpcr` with the high half; it reports the state word
//! back the same way.
//! Set `FP_VECTORS=<file>` to check an additional, larger file of the same
//! format.

use super::{fp_operate, FpOutcome};

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s, 16).expect("hex field")
}

/// Checks every vector in `text`; returns the mismatching lines.
pub(super) fn check(text: &str) -> (usize, Vec<String>) {
    let mut bad = Vec::new();
    let mut n = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert!(f.len() >= 9, "malformed vector line: {line}");
        n += 1;
        let (op, func) = (hex(f[0]) as u32, hex(f[1]) as u32);
        let (a, b, c, fpcr0) = (hex(f[2]), hex(f[3]), hex(f[4]), hex(f[5]));
        let (want_c, want_fpcr) = (hex(f[7]), hex(f[8]));
        let mut fpcr = fpcr0;
        let got = fp_operate(op, func, a, b, c, &mut fpcr);
        let (kind, got_c) = match got {
            Ok(FpOutcome::Write(v)) => ("OK", v),
            Ok(FpOutcome::NoWrite) => ("OK", c),
            Ok(FpOutcome::Trap { write, .. }) => ("FPE", write.unwrap_or(c)),
            Err(_) => ("SIG4", 0),
        };
        let ok = kind == f[6] && (kind == "SIG4" || (got_c == want_c && fpcr == want_fpcr));
        if !ok {
            bad.push(format!(
                "{line}  => got {kind} {got_c:016x} {fpcr:016x} ({got:?})"
            ));
        }
    }
    (n, bad)
}

fn report(name: &str, (n, bad): (usize, Vec<String>)) {
    for l in bad.iter().take(40) {
        eprintln!("{l}");
    }
    assert!(
        bad.is_empty(),
        "{name}: {} of {n} vectors differ from qemu-alpha",
        bad.len()
    );
}

#[test]
fn qemu_recorded_vectors() {
    report("qemu_vectors.txt", check(include_str!("qemu_vectors.txt")));
}

#[test]
fn extra_vectors_from_env() {
    if let Ok(path) = std::env::var("FP_VECTORS") {
        let text = std::fs::read_to_string(&path).expect("read FP_VECTORS file");
        report(&path, check(&text));
    }
}
