//! Test-only ELF loader and system-call shim (write, exit) for freestanding
//! guest programs, and the build/run plumbing shared by the differential
//! tests and the benchmark.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use spin_kernel::machine::Trap;
use spin_kernel::mem::Prot;

use super::Vm;

/// Stack top for guest programs (below the usual text address, as Linux does).
const STACK_TOP: u64 = 0x1_1fff_0000;
const STACK_SIZE: u64 = 256 * 1024;

/// What a guest run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Bytes written to fd 1.
    pub stdout: Vec<u8>,
    /// Exit status (128 + signal when killed).
    pub status: i32,
}

fn u16le(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32le(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64le(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

/// Loads a static ELF64 Alpha executable into `vm` and sets up the stack.
pub fn load_elf(vm: &mut Vm, image: &[u8]) {
    assert_eq!(&image[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(u16le(image, 18), 0x9026, "not an Alpha executable");
    let entry = u64le(image, 24);
    let phoff = u64le(image, 32) as usize;
    let phentsize = u16le(image, 54) as usize;
    let phnum = u16le(image, 56) as usize;
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        if u32le(image, ph) != 1 {
            continue; // PT_LOAD only
        }
        let off = u64le(image, ph + 8) as usize;
        let vaddr = u64le(image, ph + 16);
        let filesz = u64le(image, ph + 32) as usize;
        let memsz = u64le(image, ph + 40);
        vm.map(vaddr, memsz.max(1), Prot::RWX);
        vm.space.write(vaddr, &image[off..off + filesz]).unwrap();
    }
    vm.map(STACK_TOP - STACK_SIZE, STACK_SIZE, Prot::RW);
    // argc = 1, argv = {"prog", NULL}, envp = {NULL}, auxv = {AT_NULL}.
    let sp = STACK_TOP - 4096;
    let name = sp + 512;
    vm.space.write(name, b"prog\0").unwrap();
    for (i, v) in [1u64, name, 0, 0, 0, 0].iter().enumerate() {
        vm.write_u64(sp + 8 * i as u64, *v);
    }
    vm.regs.r[30] = sp;
    vm.regs.pc = entry;
}

/// Runs the loaded program to exit with the write/exit shim, in `quantum`-sized budgets.
pub fn run_loaded(vm: &mut Vm, quantum: u64) -> Outcome {
    let mut stdout = Vec::new();
    loop {
        match vm.run(quantum) {
            Trap::BudgetExpired => {}
            Trap::Syscall => {
                let (nr, a0, a1, a2) = (vm.regs.r[0], vm.regs.r[16], vm.regs.r[17], vm.regs.r[18]);
                match nr {
                    4 => {
                        let mut buf = vec![0u8; a2 as usize];
                        match vm.space.read(a1, &mut buf) {
                            Ok(()) => {
                                if a0 == 1 {
                                    stdout.extend_from_slice(&buf);
                                } else {
                                    eprint!("{}", String::from_utf8_lossy(&buf));
                                }
                                vm.regs.r[0] = a2;
                                vm.regs.r[19] = 0;
                            }
                            Err(_) => {
                                vm.regs.r[0] = 14;
                                vm.regs.r[19] = 1;
                            }
                        }
                    }
                    1 | 405 => {
                        return Outcome {
                            stdout,
                            status: (a0 & 0xff) as i32,
                        }
                    }
                    _ => {
                        vm.regs.r[0] = 78; // ENOSYS
                        vm.regs.r[19] = 1;
                    }
                }
            }
            Trap::Arithmetic { .. } => {
                return Outcome {
                    stdout,
                    status: 128 + 8,
                }
            }
            Trap::PalCall { code: 0xaa, .. } => {
                return Outcome {
                    stdout,
                    status: 128 + 8,
                }
            }
            Trap::IllegalInstruction { .. } | Trap::PalCall { .. } | Trap::Halt { .. } => {
                return Outcome {
                    stdout,
                    status: 128 + 4,
                }
            }
            Trap::PageFault { .. } => {
                return Outcome {
                    stdout,
                    status: 128 + 11,
                }
            }
            Trap::Unaligned { .. } => {
                return Outcome {
                    stdout,
                    status: 128 + 7,
                }
            }
            Trap::Breakpoint { .. } => {
                return Outcome {
                    stdout,
                    status: 128 + 5,
                }
            }
        }
    }
}

/// Runs an ELF file under our emulator.
pub fn run_ours(path: &Path, quantum: u64) -> (Outcome, u64) {
    run_ours_with(path, quantum, true)
}

/// Runs an ELF file under our emulator, compiling to host code or not.
pub fn run_ours_with(path: &Path, quantum: u64, jit: bool) -> (Outcome, u64) {
    let image = std::fs::read(path).unwrap();
    let mut vm = Vm::new();
    vm.cpu.set_jit(jit);
    load_elf(&mut vm, &image);
    let out = run_loaded(&mut vm, quantum);
    if std::env::var_os("ALPHA_EMU_STATS").is_some() {
        eprintln!("{:?} {:?}", vm.cpu.stats(), vm.cpu.jit_counts());
    }
    use spin_kernel::machine::Cpu;
    (out, vm.cpu.retired())
}

/// Runs an ELF file under qemu-alpha.
pub fn run_qemu(path: &Path) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    let out = Command::new("qemu-alpha")
        .arg(path)
        .output()
        .expect("qemu-alpha runs");
    let status = out
        .status
        .code()
        .unwrap_or_else(|| 128 + out.status.signal().unwrap_or(0));
    Outcome {
        stdout: out.stdout,
        status,
    }
}

/// Whether a tool is on PATH.
pub fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

/// The guest-program source directory.
pub fn guest_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guest")
}

/// Builds one guest program (`.c` or `.S`); extra flags come from a first
/// line `// CFLAGS: ...` (or `# CFLAGS:` in assembly).
pub fn build(src: &Path, out_dir: &Path) -> Result<PathBuf, String> {
    let text = std::fs::read_to_string(src).map_err(|e| e.to_string())?;
    let extra: Vec<String> = text
        .lines()
        .next()
        .and_then(|l| l.split_once("CFLAGS:"))
        .map(|(_, f)| {
            f.trim()
                .trim_end_matches("*/")
                .split_whitespace()
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let stem = src.file_stem().unwrap().to_string_lossy().to_string();
    let out = out_dir.join(&stem);
    let inc = guest_dir().join("include");
    let res = Command::new("alpha-linux-gnu-gcc")
        .args([
            "-nostdlib",
            "-static",
            "-O2",
            "-Wl,--no-relax",
            "-fno-builtin",
        ])
        .arg("-I")
        .arg(&inc)
        .args(&extra)
        .arg(src)
        .arg("-lgcc")
        .arg("-o")
        .arg(&out)
        .output()
        .map_err(|e| e.to_string())?;
    if !res.status.success() {
        return Err(format!(
            "{}: {}",
            src.display(),
            String::from_utf8_lossy(&res.stderr)
        ));
    }
    Ok(out)
}

/// Every guest program source in the directory, sorted.
pub fn guest_sources() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(guest_dir())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("c" | "S")))
        .collect();
    v.sort();
    v
}
