//! The initial process stack, laid out as Linux (and qemu-user) do.
//!
//! From the top down: an 8-byte zero end marker, the executable's path
//! (`AT_EXECFN`), the argument and environment strings (argv first, in
//! order), 16-byte alignment, the 16 `AT_RANDOM` bytes, then — at the 16-byte
//! aligned stack pointer — argc, the argv pointers and NULL, the envp pointers
//! and NULL, and the auxiliary vector ending in `AT_NULL`.

use spin_fs::{Errno, SysResult};
use spin_kernel::Prot;

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
const AT_EXECFN: u64 = 31;

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
    let layout = *vm.layout();
    let page = vm.page_size();
    let top = layout.stack_top;
    let auxv: [(u64, u64); 17] = [
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
        (AT_HWCAP, 0),
        (AT_CLKTCK, CLKTCK),
        (AT_RANDOM, 0), // patched below
        (AT_SECURE, 0),
        (AT_EXECFN, 0), // patched below
        (AT_NULL, 0),
    ];
    let strings: u64 = argv
        .iter()
        .chain(envp)
        .map(|s| s.len() as u64 + 1)
        .sum::<u64>();
    let words = 1 + argv.len() as u64 + 1 + envp.len() as u64 + 1 + 2 * auxv.len() as u64;
    // Marker + path + strings + alignment + random + table + alignment.
    let need = 8 + exe_path.len() as u64 + 1 + strings + 16 + 16 + words * 8 + 16;
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
    let random_at = (strings_at & !15) - 16;
    let sp = (random_at - words * 8) & !15;
    let mut block = vec![0u8; (top - sp) as usize];
    let at = |va: u64| (va - sp) as usize;
    let put = |block: &mut Vec<u8>, va: u64, bytes: &[u8]| {
        block[at(va)..at(va) + bytes.len()].copy_from_slice(bytes);
    };
    put(&mut block, execfn, exe_path);
    put(&mut block, random_at, &random);
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
