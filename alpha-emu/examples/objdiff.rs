//! Development helper: compares our disassembly with objdump's for a binary.
//! `cargo run -p alpha-emu --example objdiff -- PROG`

use std::process::Command;

fn main() {
    let path = std::env::args().nth(1).expect("usage: objdiff PROG");
    let out = Command::new("alpha-linux-gnu-objdump")
        .args(["-d", &path])
        .output()
        .expect("objdump");
    let text = String::from_utf8_lossy(&out.stdout);
    let (mut n, mut bad) = (0, 0);
    let mut seen = std::collections::HashSet::new();
    for line in text.lines() {
        let Some((addr, rest)) = line.trim_start().split_once(":\t") else {
            continue;
        };
        let Ok(pc) = u64::from_str_radix(addr, 16) else {
            continue;
        };
        let mut parts = rest.splitn(2, '\t');
        let bytes = parts.next().unwrap_or("");
        let b: Vec<u8> = bytes
            .split_whitespace()
            .filter_map(|x| u8::from_str_radix(x, 16).ok())
            .collect();
        if b.len() != 4 {
            continue;
        }
        let w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let mut theirs = parts.next().unwrap_or("").to_string();
        if let Some(i) = theirs.find(" <") {
            theirs.truncate(i);
        }
        let ours = alpha_emu::disasm::disasm(w, pc);
        n += 1;
        if ours.trim_end() != theirs.trim_end() {
            bad += 1;
            let key = theirs.split('\t').next().unwrap_or("").to_string();
            if seen.insert(key) {
                println!("{pc:x} {w:08x} objdump={theirs:?} ours={ours:?}");
            }
        }
    }
    println!("{n} instructions, {bad} mismatches");
}
