//! ELF loading and the initial stack: real Alpha binaries (prebuilt, and a
//! static glibc program compiled here when the cross compiler exists),
//! synthetic images for the corner cases, and malformed files.

mod common;

use std::sync::Arc;

use common::*;
use spin_fs::Errno;
use spin_unix_mm::exec::{build_stack, load_elf, Creds, ElfImage, ExecError};
use spin_unix_mm::{Prot, RegionKind, Vm};

const EM_ALPHA: u16 = 0x9026;
const PRIMES: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../guest/prebuilt/primes.alpha"
));
const CRC: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../guest/prebuilt/crc.alpha"
));

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}
fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// `(type, flags, offset, vaddr, filesz, memsz)` of each program header.
fn phdrs(elf: &[u8]) -> Vec<(u32, u32, u64, u64, u64, u64)> {
    let phoff = le64(elf, 32) as usize;
    (0..le16(elf, 56) as usize)
        .map(|i| {
            let p = phoff + 56 * i;
            (
                le32(elf, p),
                le32(elf, p + 4),
                le64(elf, p + 8),
                le64(elf, p + 16),
                le64(elf, p + 32),
                le64(elf, p + 40),
            )
        })
        .collect()
}

fn load(elf: &[u8]) -> (Vm, Result<ElfImage, ExecError>, Arc<MemFile>) {
    let (_k, mm) = setup(512, None);
    let vm = Vm::new(&mm).unwrap();
    let file = MemFile::new(elf.to_vec());
    let r = load_elf(&vm, &file.backing(), EM_ALPHA);
    (vm, r, file)
}

/// Every `PT_LOAD` reads back as the file's bytes followed by zeros.
fn check_image(vm: &Vm, elf: &[u8]) {
    for (ty, _, offset, vaddr, filesz, memsz) in phdrs(elf) {
        if ty != 1 {
            continue;
        }
        let mut got = vec![0u8; memsz as usize];
        vm.read(vaddr, &mut got).unwrap();
        assert_eq!(
            got[..filesz as usize],
            elf[offset as usize..(offset + filesz) as usize]
        );
        assert!(
            got[filesz as usize..].iter().all(|&b| b == 0),
            "bss at {vaddr:#x} is zero"
        );
    }
}

#[test]
fn prebuilt_alpha_programs_load_demand_paged() {
    for elf in [PRIMES, CRC] {
        let (vm, image, _file) = load(elf);
        let image = image.unwrap();
        assert_eq!(image.entry, le64(elf, 24));
        assert_eq!(image.start, 0x1_2000_0000);
        assert_eq!(vm.resident(), 0, "nothing is read before it is touched");
        let regions = vm.regions();
        let text = &regions[0];
        assert_eq!(
            (text.start, text.prot, text.kind),
            (0x1_2000_0000, Prot::RX, RegionKind::File)
        );
        assert!(
            regions
                .iter()
                .any(|r| r.prot == Prot::RW && r.kind == RegionKind::Anon),
            "bss"
        );
        check_image(&vm, elf);
        assert!(vm
            .space()
            .examine(image.entry)
            .unwrap()
            .prot
            .contains(Prot::EXEC));
        assert_eq!(vm.brk(0), image.brk_base);
        assert_eq!(image.brk_base % PAGE, 0);
        // Text is not writable, even through a user copy.
        assert_eq!(vm.write(image.entry, b"x"), Err(Errno::EFAULT));
    }
}

/// Builds an ELF64 Alpha executable whose bytes after the headers are a
/// non-zero pattern, so zero fill is observable.
fn synth_elf(entry: u64, segs: &[(u32, u32, u64, u64, u64, u64)], size: usize) -> Vec<u8> {
    let mut b = pattern(1, size);
    for x in b.iter_mut().filter(|x| **x == 0) {
        *x = 0x55;
    }
    b[..64].fill(0);
    b[..4].copy_from_slice(b"\x7fELF");
    b[4] = 2;
    b[5] = 1;
    b[6] = 1;
    b[16..18].copy_from_slice(&2u16.to_le_bytes());
    b[18..20].copy_from_slice(&EM_ALPHA.to_le_bytes());
    b[20..24].copy_from_slice(&1u32.to_le_bytes());
    b[24..32].copy_from_slice(&entry.to_le_bytes());
    b[32..40].copy_from_slice(&64u64.to_le_bytes());
    b[52..54].copy_from_slice(&64u16.to_le_bytes());
    b[54..56].copy_from_slice(&56u16.to_le_bytes());
    b[56..58].copy_from_slice(&(segs.len() as u16).to_le_bytes());
    for (i, &(ty, flags, offset, vaddr, filesz, memsz)) in segs.iter().enumerate() {
        let p = 64 + 56 * i;
        b[p..p + 56].fill(0);
        b[p..p + 4].copy_from_slice(&ty.to_le_bytes());
        b[p + 4..p + 8].copy_from_slice(&flags.to_le_bytes());
        b[p + 8..p + 16].copy_from_slice(&offset.to_le_bytes());
        b[p + 16..p + 24].copy_from_slice(&vaddr.to_le_bytes());
        b[p + 24..p + 32].copy_from_slice(&vaddr.to_le_bytes());
        b[p + 32..p + 40].copy_from_slice(&filesz.to_le_bytes());
        b[p + 40..p + 48].copy_from_slice(&memsz.to_le_bytes());
        b[p + 48..p + 56].copy_from_slice(&0x2000u64.to_le_bytes());
    }
    b
}

const RX: u32 = 5;
const RW: u32 = 6;

#[test]
fn data_sharing_a_page_with_text_and_bss_tail_are_exact() {
    let base = 0x1_2000_0000;
    let elf = synth_elf(
        base + 0x100,
        &[
            (1, RX, 0, base, 0x1100, 0x1100),
            (1, RW, 0x1100, base + 0x1100, 0x200, 0x3000),
            (7, 4, 0x1100, base + 0x1100, 0x10, 0x40), // PT_TLS
        ],
        0x3000,
    );
    let (vm, image, _f) = load(&elf);
    let image = image.unwrap();
    check_image(&vm, &elf);
    let r = vm.regions();
    assert_eq!(
        (r[0].start, r[0].end, r[0].prot),
        (base, base + PAGE, Prot::RWX),
        "the shared page gets both"
    );
    assert_eq!(image.brk_base, base + 0x6000);
    let tls = image.tls.unwrap();
    assert_eq!(
        (tls.vaddr, tls.filesz, tls.memsz),
        (base + 0x1100, 0x10, 0x40)
    );
    assert_eq!(
        image.phdr_va,
        base + 64,
        "the headers lie in the first segment"
    );
    // The phdr table is where AT_PHDR says.
    let mut table = vec![0u8; 3 * 56];
    vm.read(image.phdr_va, &mut table).unwrap();
    assert_eq!(table, elf[64..64 + 3 * 56]);
    // Writing the data does not change the file.
    vm.write(base + 0x1100, b"data").unwrap();
}

#[test]
fn malformed_elves_are_clear_one_line_errors() {
    let err = |elf: &[u8]| load(elf).1.unwrap_err();
    let patched = |at: usize, bytes: &[u8]| {
        let mut e = PRIMES.to_vec();
        e[at..at + bytes.len()].copy_from_slice(bytes);
        e
    };
    let ph = |i: usize, field: usize| 64 + 56 * i + field;
    let cases: Vec<(Vec<u8>, ExecError)> = vec![
        (vec![], ExecError::NotElf),
        (b"#!/bin/sh\n".to_vec(), ExecError::NotElf),
        (
            PRIMES[..40].to_vec(),
            ExecError::Truncated("the ELF header"),
        ),
        (
            PRIMES[..100].to_vec(),
            ExecError::Truncated("the program header table"),
        ),
        (patched(4, &[1]), ExecError::Class32),
        (patched(5, &[2]), ExecError::BigEndian),
        (
            patched(18, &62u16.to_le_bytes()),
            ExecError::WrongMachine {
                found: 62,
                expected: EM_ALPHA,
            },
        ),
        (
            patched(16, &3u16.to_le_bytes()),
            ExecError::NotExecutable(3),
        ),
        (patched(ph(2, 0), &3u32.to_le_bytes()), ExecError::Dynamic),
    ];
    for (elf, want) in cases {
        let got = err(&elf);
        assert_eq!(got, want);
        let msg = got.to_string();
        assert!(!msg.contains('\n') && !msg.is_empty(), "{msg:?}");
        assert_eq!(Errno::from(got), Errno::ENOEXEC);
    }
    let wrong = err(&patched(18, &62u16.to_le_bytes())).to_string();
    assert!(
        wrong.contains("x86-64") && wrong.contains("Alpha"),
        "{wrong}"
    );
    assert!(err(&patched(16, &3u16.to_le_bytes()))
        .to_string()
        .contains("position-independent"));

    let bad_segment = |elf: Vec<u8>, needle: &str| match err(&elf) {
        ExecError::BadSegment { index, why } => {
            assert_eq!(index, 1);
            assert!(why.contains(needle), "{why:?} should mention {needle:?}");
        }
        other => panic!("expected a bad segment ({needle}), got {other}"),
    };
    // Overlapping: the data segment moved onto the text.
    bad_segment(
        patched(ph(1, 16), &0x1_2000_0000u64.to_le_bytes()),
        "overlaps program header 0",
    );
    bad_segment(
        patched(ph(1, 16), &(1u64 << 43).to_le_bytes()),
        "outside user space",
    );
    bad_segment(
        patched(ph(1, 16), &(u64::MAX - 0x1fff).to_le_bytes()),
        "overflows",
    );
    bad_segment(
        patched(ph(1, 32), &0x100000u64.to_le_bytes()),
        "file size exceeds memory size",
    );
    bad_segment(
        patched(ph(1, 40), &(4u64 << 30).to_le_bytes()),
        "exceeds 1 GiB",
    );
    bad_segment(
        patched(ph(1, 16), &0x1_2001_0008u64.to_le_bytes()),
        "modulo",
    );
    bad_segment(PRIMES[..0x10008].to_vec(), "beyond the end");
    assert!(
        matches!(err(&patched(24, &0x1_2001_0000u64.to_le_bytes())), ExecError::Malformed(m) if m.contains("entry point"))
    );
    assert!(matches!(
        err(&patched(54, &[32, 0])),
        ExecError::Malformed(_)
    ));
    assert!(
        matches!(err(&patched(56, &[0, 0])), ExecError::Malformed(m) if m.contains("no program headers"))
    );
}

#[test]
fn random_corruption_never_panics() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let (_k, mm) = setup(512, None);
    for _ in 0..400 {
        let mut elf = PRIMES.to_vec();
        for _ in 0..6 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let i = (seed >> 33) as usize % 400;
            elf[i] = (seed >> 20) as u8;
        }
        let vm = Vm::new(&mm).unwrap();
        let file = MemFile::new(elf);
        if let Err(e) = load_elf(&vm, &file.backing(), EM_ALPHA) {
            assert!(!e.to_string().contains('\n'));
        }
    }
}

/// Reads the initial stack back: (argc, argv, envp, auxv).
#[allow(clippy::type_complexity)]
fn parse_stack(vm: &Vm, sp: u64) -> (u64, Vec<Vec<u8>>, Vec<Vec<u8>>, Vec<(u64, u64)>) {
    let argc = vm.read_u64(sp).unwrap();
    let mut at = sp + 8;
    let strings = |at: &mut u64| {
        let mut out = Vec::new();
        loop {
            let p = vm.read_u64(*at).unwrap();
            *at += 8;
            if p == 0 {
                return out;
            }
            out.push(vm.read_cstr(p, 4096).unwrap());
        }
    };
    let argv = strings(&mut at);
    let envp = strings(&mut at);
    let mut auxv = Vec::new();
    loop {
        let (k, v) = (vm.read_u64(at).unwrap(), vm.read_u64(at + 8).unwrap());
        at += 16;
        auxv.push((k, v));
        if k == 0 {
            return (argc, argv, envp, auxv);
        }
    }
}

#[test]
fn initial_stack_has_linux_layout() {
    let (vm, image, _f) = load(PRIMES);
    let image = image.unwrap();
    let argv = vec![b"/bin/primes".to_vec(), b"100".to_vec()];
    let envp = vec![b"HOME=/".to_vec(), b"PATH=/bin".to_vec()];
    let random = *b"0123456789abcdef";
    let creds = Creds {
        uid: 1000,
        euid: 1000,
        gid: 100,
        egid: 100,
    };
    let sp = build_stack(
        &vm,
        &image,
        &argv,
        &envp,
        b"/bin/primes",
        random,
        8192,
        creds,
    )
    .unwrap();
    assert_eq!(sp % 16, 0);
    assert!(sp < 0x1_2000_0000 && sp > 0x1_2000_0000 - 4096);
    let (argc, got_argv, got_envp, auxv) = parse_stack(&vm, sp);
    assert_eq!((argc, got_argv, got_envp), (2, argv, envp));
    let aux = |k: u64| auxv.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
    assert_eq!(aux(6), Some(8192), "AT_PAGESZ");
    assert_eq!(aux(9), Some(image.entry), "AT_ENTRY");
    assert_eq!(aux(3), Some(image.phdr_va), "AT_PHDR");
    assert_eq!((aux(4), aux(5)), (Some(56), Some(u64::from(image.phnum))));
    assert_eq!(
        (aux(11), aux(12), aux(13), aux(14)),
        (Some(1000), Some(1000), Some(100), Some(100))
    );
    assert_eq!((aux(7), aux(23), aux(17)), (Some(0), Some(0), Some(100)));
    let mut r = [0u8; 16];
    vm.read(aux(25).unwrap(), &mut r).unwrap();
    assert_eq!(r, random, "AT_RANDOM");
    assert_eq!(
        vm.read_cstr(aux(31).unwrap(), 4096).unwrap(),
        b"/bin/primes",
        "AT_EXECFN"
    );
    // The same order as qemu-alpha (and Linux minus its cache-shape entries).
    let keys: Vec<u64> = auxv.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        keys,
        [3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 16, 17, 25, 23, 31, 0]
    );
    let stack = vm
        .regions()
        .into_iter()
        .find(|r| r.kind == RegionKind::Stack)
        .unwrap();
    assert_eq!(stack.end, 0x1_2000_0000);
    // The stack grows on demand below its initial region.
    vm.write_u64(stack.start - 3 * PAGE, 1).unwrap();
    // Too much: E2BIG.
    let huge = vec![vec![b'x'; 4096]; 1024];
    assert_eq!(
        build_stack(&vm, &image, &huge, &[], b"/x", random, 8192, creds),
        Err(Errno::E2BIG)
    );
}

#[test]
fn static_glibc_program_loads_when_the_cross_compiler_exists() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("t.c");
    std::fs::write(
        &src,
        r#"#include <stdio.h>
const char marker[] = "SPIN-MM-MARKER";
int counter = 0x12345678;
static char big[300000];
__thread int tls_var = 7;
int main(int argc, char **argv) { big[argc] = 1; printf("%s %d %d\n", marker, counter, tls_var); return big[0]; }
"#,
    )
    .unwrap();
    let out = dir.path().join("t.alpha");
    let built = std::process::Command::new("alpha-linux-gnu-gcc")
        .args(["-static", "-O2", "-Wl,--no-relax", "-o"])
        .arg(&out)
        .arg(&src)
        .status();
    if !built.is_ok_and(|s| s.success()) {
        println!("SKIP: alpha-linux-gnu-gcc is not installed");
        return;
    }
    let elf = std::fs::read(&out).unwrap();
    let (vm, image, file) = load(&elf);
    let image = image.unwrap();
    check_image(&vm, &elf);
    assert!(image.tls.is_some(), "glibc static binaries carry PT_TLS");
    assert_eq!(image.phdr_va, 0x1_2000_0040);
    // The marker string, found through the file-backed region it lives in.
    let at = elf
        .windows(14)
        .position(|w| w == b"SPIN-MM-MARKER")
        .unwrap() as u64;
    let r = vm
        .regions()
        .into_iter()
        .find(|r| {
            r.file_id == Some(file.backing().id())
                && at >= r.offset
                && at < r.offset + (r.end - r.start)
        })
        .unwrap();
    assert_eq!(
        vm.read_cstr(r.start + (at - r.offset), 64).unwrap(),
        b"SPIN-MM-MARKER"
    );
    let sp = build_stack(
        &vm,
        &image,
        &[b"t".to_vec()],
        &[],
        b"/t",
        [7; 16],
        8192,
        Creds::default(),
    )
    .unwrap();
    assert_eq!(parse_stack(&vm, sp).0, 1);
    // glibc's startup: brk(0), then an unaligned brk.
    let b = vm.brk(0);
    assert_eq!(b, image.brk_base);
    assert_eq!(vm.brk(b + 0x1234), b + 0x1234);
    vm.write(b, &[1u8; 0x1234]).unwrap();
    let stats = vm.manager().stats();
    assert!(stats.file_reads > 0 && stats.major_faults > 0);
}
