//! The disassembler prints exactly what `alpha-linux-gnu-objdump -d` prints
//! (minus its `<symbol>` annotations) for every instruction of the guest
//! programs, built for EV4 and for EV67.

mod common;

use std::process::Command;

use common::guest::{build, guest_sources, have};

#[test]
fn disassembly_matches_objdump() {
    if !have("alpha-linux-gnu-gcc") || !have("alpha-linux-gnu-objdump") {
        println!("SKIP: alpha-linux-gnu-gcc / alpha-linux-gnu-objdump not installed");
        return;
    }
    let out_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("alpha-disasm");
    std::fs::create_dir_all(&out_dir).unwrap();
    let (mut total, mut bad) = (0usize, Vec::new());
    for src in guest_sources() {
        let Ok(bin) = build(&src, &out_dir) else {
            continue;
        };
        let out = Command::new("alpha-linux-gnu-objdump")
            .arg("-d")
            .arg(&bin)
            .output()
            .unwrap();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Some((addr, rest)) = line.trim_start().split_once(":\t") else {
                continue;
            };
            let Ok(pc) = u64::from_str_radix(addr, 16) else {
                continue;
            };
            let mut parts = rest.splitn(2, '\t');
            let bytes: Vec<u8> = parts
                .next()
                .unwrap_or("")
                .split_whitespace()
                .filter_map(|x| u8::from_str_radix(x, 16).ok())
                .collect();
            let Ok(b) = <[u8; 4]>::try_from(bytes.as_slice()) else {
                continue;
            };
            let w = u32::from_le_bytes(b);
            let mut theirs = parts.next().unwrap_or("").to_string();
            if let Some(i) = theirs.find(" <") {
                theirs.truncate(i);
            }
            let ours = alpha_emu::disasm::disasm(w, pc);
            total += 1;
            if ours.trim_end() != theirs.trim_end() && bad.len() < 20 {
                bad.push(format!("{pc:x} {w:08x}: objdump {theirs:?} ours {ours:?}"));
            }
        }
    }
    println!("{total} instructions compared");
    assert!(total > 1000, "too few instructions compared");
    assert!(bad.is_empty(), "mismatches:\n{}", bad.join("\n"));
}
