//! The initial process stack, laid out as Linux (and qemu-user) do.
//!
//! From the top down: an 8-byte zero end marker, the executable's path
//! (`AT_EXECFN`), the argument and environment strings (argv first, in
//! order), the platform string (`AT_PLATFORM`, x86-64 only), 16-byte
//! alignment, the 16 `AT_RANDOM` bytes, then — at the 16-byte aligned stack
//! pointer — argc, the argv pointers and NULL, the envp pointers and NULL,
//! and the auxiliary vector ending in `AT_NULL`.
//!
//! The auxiliary vector of an Alpha process has qemu-alpha's keys in
//! qemu-alpha's order (runs are compared byte for byte with it); an x86-64
//! process gets Linux's `create_elf_tables` order with x86's
//! `AT_MINSIGSTKSZ`, `AT_HWCAP2` and `AT_PLATFORM`, and no `AT_SYSINFO_EHDR`
//! (there is no vDSO: libc makes real system calls).

use spin_fs::{Errno, SysResult};
use spin_kernel::{Arch, Prot};

use super::ElfImage;
use crate::types::{MapFlags, RegionKind};
use crate::vm::Vm;

const AT_NULL: u64 = 0;
const AT_PHDR: u64 = 3;
const AT_PHENT: u64 = 4;
const AT_PHNUM: u64 = 5;
const AT_PAGESZ: u64 = 6;
const AT_BASE: u64 = 7;
const AT_FLAGS: u64 = 8;
const AT_ENTRY: u64 = 9;
const AT_UID: u64 = 11;
const AT_EUID: u64 = 12;
const AT_GID: u64 = 13;
const AT_EGID: u64 = 14;
const AT_HWCAP: u64 = 16;
const AT_CLKTCK: u64 = 17;
const AT_SECURE: u64 = 23;
const AT_RANDOM: u64 = 25;
const AT_PLATFORM: u64 = 15;
const AT_HWCAP2: u64 = 26;
const AT_EXECFN: u64 = 31;
const AT_MINSIGSTKSZ: u64 = 51;

/// What the auxiliary vector says about the machine beyond the image and
/// the credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuxvMachine {
    /// The architecture (chooses the keys and their order).
    pub arch: Arch,
    /// `AT_HWCAP` (x86-64: CPUID.1:EDX, or 0).
    pub hwcap: u64,
    /// `AT_HWCAP2` (x86-64 only).
    pub hwcap2: u64,
    /// `AT_MINSIGSTKSZ`: bytes a signal frame needs (x86-64 only).
    pub minsigstksz: u64,
}

/// CPUID leaf 1's EDX (the feature bits Linux puts in an x86-64 process's
/// `AT_HWCAP`) of the CPU the guest's `cpuid` reaches: the host's. Ring-3
/// `cpuid` under PVM returns the host's own leaves, and the KVM machine
/// leaves leaf 1's EDX as KVM supports it (it filters only ECX bits); 0 on
/// hosts that are not x86-64.
pub fn cpuid1_edx() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        u64::from(std::arch::x86_64::__cpuid(1).edx)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        0
    }
}

impl AuxvMachine {
    /// Linux/Alpha as qemu-alpha presents it.
    pub const fn alpha() -> AuxvMachine {
        AuxvMachine {
            arch: Arch::Alpha,
            hwcap: 0,
            hwcap2: 0,
            minsigstksz: 0,
        }
    }

    /// Linux/x86-64: `AT_HWCAP` is CPUID.1:EDX as the guest's own `cpuid`
    /// reports it (see [`cpuid1_edx`]).
    pub fn x86_64() -> AuxvMachine {
        AuxvMachine {
            arch: Arch::X86_64,
            hwcap: cpuid1_edx(),
            hwcap2: 0,
            minsigstksz: 2048,
        }
    }

    /// The default for `arch`.
    pub fn for_arch(arch: Arch) -> AuxvMachine {
        match arch {
            Arch::Alpha => AuxvMachine::alpha(),
            Arch::X86_64 => AuxvMachine::x86_64(),
        }
    }

    fn platform(&self) -> Option<&'static [u8]> {
        match self.arch {
            Arch::Alpha => None,
            Arch::X86_64 => Some(b"x86_64"),
        }
    }

    /// The keys and values (`AT_RANDOM`, `AT_EXECFN`, `AT_PLATFORM` are
    /// patched with addresses later).
    fn auxv(&self, image: &ElfImage, page_size: u64, creds: Creds) -> Vec<(u64, u64)> {
        match self.arch {
            Arch::Alpha => vec![
                (AT_PHDR, image.phdr_va),
                (AT_PHENT, u64::from(image.phent)),
                (AT_PHNUM, u64::from(image.phnum)),
                (AT_PAGESZ, page_size),
                (AT_BASE, 0),
                (AT_FLAGS, 0),
                (AT_ENTRY, image.entry),
                (AT_UID, u64::from(creds.uid)),
                (AT_EUID, u64::from(creds.euid)),
                (AT_GID, u64::from(creds.gid)),
                (AT_EGID, u64::from(creds.egid)),
                (AT_HWCAP, self.hwcap),
                (AT_CLKTCK, CLKTCK),
                (AT_RANDOM, 0),
                (AT_SECURE, 0),
                (AT_EXECFN, 0),
                (AT_NULL, 0),
            ],
            Arch::X86_64 => vec![
                (AT_MINSIGSTKSZ, self.minsigstksz),
                (AT_HWCAP, self.hwcap),
                (AT_PAGESZ, page_size),
                (AT_CLKTCK, CLKTCK),
                (AT_PHDR, image.phdr_va),
                (AT_PHENT, u64::from(image.phent)),
                (AT_PHNUM, u64::from(image.phnum)),
                (AT_BASE, 0),
                (AT_FLAGS, 0),
                (AT_ENTRY, image.entry),
                (AT_UID, u64::from(creds.uid)),
                (AT_EUID, u64::from(creds.euid)),
                (AT_GID, u64::from(creds.gid)),
                (AT_EGID, u64::from(creds.egid)),
                (AT_SECURE, 0),
                (AT_RANDOM, 0),
                (AT_HWCAP2, self.hwcap2),
                (AT_EXECFN, 0),
                (AT_PLATFORM, 0),
                (AT_NULL, 0),
            ],
        }
    }
}

/// Clock ticks per second reported in `AT_CLKTCK` (Linux's `USER_HZ`).
const CLKTCK: u64 = 100;

/// The process credentials the auxiliary vector reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Creds {
    /// Real user id.
    pub uid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective group id.
    pub egid: u32,
}

/// Maps the stack region (a grows-down region of `Layout::stack_initial`
/// bytes ending at `Layout::stack_top`, growing on demand up to
/// `Layout::stack_limit`) and writes argc, argv, envp, the auxiliary vector
/// (`AT_PAGESZ` = `page_size`) and the strings; returns the initial stack
/// pointer. `E2BIG` if the arguments and environment exceed a quarter of the
/// stack limit, as on Linux.
///
/// The auxiliary vector is Linux/Alpha's; [`build_stack_for`] takes the
/// machine.
#[allow(clippy::too_many_arguments)]
pub fn build_stack(
    vm: &Vm,
    image: &ElfImage,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    exe_path: &[u8],
    random: [u8; 16],
    page_size: u64,
    creds: Creds,
) -> SysResult<u64> {
    build_stack_for(
        vm,
        image,
        argv,
        envp,
        exe_path,
        random,
        page_size,
        creds,
        &AuxvMachine::alpha(),
    )
}

/// [`build_stack`] for the machine `mach` (its auxiliary-vector keys and
/// order, `AT_PLATFORM`).
#[allow(clippy::too_many_arguments)]
pub fn build_stack_for(
    vm: &Vm,
    image: &ElfImage,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    exe_path: &[u8],
    random: [u8; 16],
    page_size: u64,
    creds: Creds,
    mach: &AuxvMachine,
) -> SysResult<u64> {
    let layout = *vm.layout();
    let page = vm.page_size();
    let top = layout.stack_top;
    let auxv = mach.auxv(image, page_size, creds);
    let platform = mach.platform().unwrap_or_default();
    let platform_len = if platform.is_empty() {
        0
    } else {
        platform.len() as u64 + 1
    };
    let strings: u64 = argv
        .iter()
        .chain(envp)
        .map(|s| s.len() as u64 + 1)
        .sum::<u64>();
    let words = 1 + argv.len() as u64 + 1 + envp.len() as u64 + 1 + 2 * auxv.len() as u64;
    // Marker + path + strings + alignment + random + table + alignment.
    let need = 8 + exe_path.len() as u64 + 1 + strings + platform_len + 16 + 16 + words * 8 + 16;
    if need > layout.stack_limit / 4 {
        return Err(Errno::E2BIG);
    }

    let initial = layout.stack_initial.max((need + 2 * page) & !(page - 1));
    let base = top - initial;
    vm.mmap(
        base,
        initial,
        Prot::RW,
        MapFlags {
            growsdown: true,
            ..MapFlags::private_anon().with_fixed()
        },
        None,
    )?;
    vm.set_region_kind(base, RegionKind::Stack);

    let execfn = top - 8 - (exe_path.len() as u64 + 1);
    let strings_at = execfn - strings;
    let platform_at = strings_at - platform_len;
    let random_at = (platform_at & !15) - 16;
    let sp = (random_at - words * 8) & !15;
    let mut block = vec![0u8; (top - sp) as usize];
    let at = |va: u64| (va - sp) as usize;
    let put = |block: &mut Vec<u8>, va: u64, bytes: &[u8]| {
        block[at(va)..at(va) + bytes.len()].copy_from_slice(bytes);
    };
    put(&mut block, execfn, exe_path);
    put(&mut block, random_at, &random);
    if platform_len > 0 {
        put(&mut block, platform_at, platform);
    }
    let mut table: Vec<u64> = Vec::with_capacity(words as usize);
    table.push(argv.len() as u64);
    let mut cursor = strings_at;
    for list in [argv, envp] {
        for s in list {
            put(&mut block, cursor, s);
            table.push(cursor);
            cursor += s.len() as u64 + 1;
        }
        table.push(0);
    }
    for (key, value) in auxv {
        let value = match key {
            AT_RANDOM => random_at,
            AT_EXECFN => execfn,
            AT_PLATFORM => platform_at,
            _ => value,
        };
        table.extend([key, value]);
    }
    for (i, word) in table.iter().enumerate() {
        put(&mut block, sp + 8 * i as u64, &word.to_le_bytes());
    }
    vm.write(sp, &block)?;
    Ok(sp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_64_hwcap_is_cpuid_leaf_1_edx_and_reaches_the_auxv() {
        let m = AuxvMachine::x86_64();
        #[cfg(target_arch = "x86_64")]
        {
            let edx = u64::from(std::arch::x86_64::__cpuid(1).edx);
            assert_eq!(m.hwcap, edx);
            // Every x86-64 CPU has FPU (0), TSC (4), CX8 (8), CMOV (15),
            // FXSR (24), SSE (25) and SSE2 (26).
            for bit in [0, 4, 8, 15, 24, 25, 26] {
                assert_ne!(m.hwcap & (1 << bit), 0, "bit {bit} of {:#x}", m.hwcap);
            }
        }
        let image = ElfImage {
            entry: 0x40_1000,
            phdr_va: 0x40_0040,
            phnum: 4,
            phent: 56,
            brk_base: 0x50_0000,
            start: 0x40_0000,
            tls: None,
            machine: 62,
        };
        let creds = Creds {
            uid: 0,
            euid: 0,
            gid: 0,
            egid: 0,
        };
        let aux = m.auxv(&image, 4096, creds);
        assert!(aux.contains(&(AT_HWCAP, m.hwcap)));
        assert_eq!(AuxvMachine::alpha().hwcap, 0, "Alpha unchanged");
    }
}
