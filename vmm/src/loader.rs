//! Loading static ELF executables into an address space.
//!
//! Every header field that comes from the file is checked before use: wrong
//! class, endianness, type or machine, truncated headers, segments whose file
//! range lies outside the file, `filesz > memsz`, overlapping or absurd
//! segments (outside the user range, more than [`MAX_IMAGE_BYTES`]) are each a
//! [`LoadError`] naming the problem, never a panic.

use std::collections::BTreeMap;

use object::elf;
use object::read::elf::{FileHeader, ProgramHeader, SectionHeader};
use object::Endianness;
use spin_kernel::mem::{AddressSpace, FrameAttrs, PhysAddrService};
use spin_kernel::{Arch, Cap, MoundId, PhysAddr, Prot};

/// Largest total of segment sizes we load, in bytes.
pub const MAX_IMAGE_BYTES: u64 = 1 << 30;
/// Highest user address (Linux/Alpha TASK_SIZE: 4 TiB).
pub const USER_LIMIT: u64 = 1 << 42;

/// Why a program could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// Not a well-formed 64-bit little-endian ELF file.
    #[error("not a valid ELF file: {0}")]
    Malformed(String),
    /// An ELF file for another machine.
    #[error("ELF machine {found:#x} does not match the {wanted:?} machine")]
    WrongMachine {
        /// `e_machine` in the file.
        found: u16,
        /// The machine we run.
        wanted: Arch,
    },
    /// Not a static executable.
    #[error("ELF type {0} is not a static executable (ET_EXEC)")]
    NotExecutable(u16),
    /// A segment is inconsistent, overlaps another or lies outside user space.
    #[error("bad segment {index}: {why}")]
    BadSegment {
        /// Program header index.
        index: usize,
        /// What is wrong.
        why: String,
    },
    /// Frames or mappings could not be had.
    #[error("out of memory loading the program: {0}")]
    NoMemory(String),
}

/// What the loader set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    /// Entry point.
    pub entry: u64,
    /// First address past the highest segment (the initial program break).
    pub brk: u64,
    /// Initial stack pointer.
    pub sp: u64,
    /// Frames the image and its stack use.
    pub frames: Vec<PhysAddr>,
}

/// ELF `e_machine` for an architecture.
pub fn elf_machine(arch: Arch) -> u16 {
    match arch {
        Arch::Alpha => elf::EM_ALPHA,
        Arch::X86_64 => elf::EM_X86_64,
    }
}

struct Segment {
    vaddr: u64,
    memsz: u64,
    file: std::ops::Range<usize>,
    prot: Prot,
}

fn parse(bytes: &[u8], arch: Arch) -> Result<(u64, Vec<Segment>), LoadError> {
    let header = elf::FileHeader64::<Endianness>::parse(bytes)
        .map_err(|e| LoadError::Malformed(e.to_string()))?;
    let endian = header
        .endian()
        .map_err(|e| LoadError::Malformed(e.to_string()))?;
    if endian != Endianness::Little {
        return Err(LoadError::Malformed("big-endian file".into()));
    }
    let machine = header.e_machine(endian);
    if machine != elf_machine(arch) {
        return Err(LoadError::WrongMachine {
            found: machine,
            wanted: arch,
        });
    }
    let kind = header.e_type(endian);
    if kind != elf::ET_EXEC {
        return Err(LoadError::NotExecutable(kind));
    }
    let phdrs = header
        .program_headers(endian, bytes)
        .map_err(|e| LoadError::Malformed(e.to_string()))?;
    let mut segments = Vec::new();
    let mut total = 0u64;
    for (index, ph) in phdrs.iter().enumerate() {
        if ph.p_type(endian) != elf::PT_LOAD {
            continue;
        }
        let bad = |why: &str| LoadError::BadSegment {
            index,
            why: why.to_string(),
        };
        let (vaddr, memsz) = (ph.p_vaddr(endian), ph.p_memsz(endian));
        let (offset, filesz) = (ph.p_offset(endian), ph.p_filesz(endian));
        if filesz > memsz {
            return Err(bad("file size exceeds memory size"));
        }
        let end = vaddr
            .checked_add(memsz)
            .ok_or_else(|| bad("address range overflows"))?;
        if end > USER_LIMIT || vaddr == 0 {
            return Err(bad("outside the user address range"));
        }
        let file_end = offset
            .checked_add(filesz)
            .filter(|e| *e <= bytes.len() as u64);
        let file_end = file_end.ok_or_else(|| bad("file range lies outside the file"))?;
        total = total.saturating_add(memsz);
        if total > MAX_IMAGE_BYTES {
            return Err(bad("image larger than 1 GiB"));
        }
        if segments
            .iter()
            .any(|s: &Segment| vaddr < s.vaddr + s.memsz && s.vaddr < end)
        {
            return Err(bad("overlaps another segment"));
        }
        let flags = ph.p_flags(endian);
        let mut prot = Prot::NONE;
        for (bit, p) in [
            (elf::PF_R, Prot::READ),
            (elf::PF_W, Prot::WRITE),
            (elf::PF_X, Prot::EXEC),
        ] {
            if flags & bit != 0 {
                prot = prot.union(p);
            }
        }
        segments.push(Segment {
            vaddr,
            memsz,
            file: offset as usize..file_end as usize,
            prot,
        });
    }
    if segments.is_empty() {
        return Err(LoadError::Malformed("no loadable segment".into()));
    }
    let entry = header.e_entry(endian);
    if !segments
        .iter()
        .any(|s| entry >= s.vaddr && entry < s.vaddr + s.memsz && s.prot.contains(Prot::EXEC))
    {
        return Err(LoadError::Malformed(format!(
            "entry point {entry:#x} is not in an executable segment"
        )));
    }
    Ok((entry, segments))
}

/// One code section of an executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeSection<'a> {
    /// Section name (`.text`, ...).
    pub name: String,
    /// Load address.
    pub addr: u64,
    /// Its bytes in the file.
    pub bytes: &'a [u8],
}

/// The code sections (`SHF_EXECINSTR`) of a valid executable, as objdump -d
/// shows them.
pub fn code_sections(bytes: &[u8], arch: Arch) -> Result<Vec<CodeSection<'_>>, LoadError> {
    parse(bytes, arch)?;
    let bad = |e: object::read::Error| LoadError::Malformed(e.to_string());
    let header = elf::FileHeader64::<Endianness>::parse(bytes).map_err(bad)?;
    let endian = header.endian().map_err(bad)?;
    let sections = header.sections(endian, bytes).map_err(bad)?;
    let mut out = Vec::new();
    for section in sections.iter() {
        if section.sh_flags(endian) & u64::from(elf::SHF_EXECINSTR) == 0
            || section.sh_type(endian) != elf::SHT_PROGBITS
        {
            continue;
        }
        let name = sections.section_name(endian, section).map_err(bad)?;
        let data = section.data(endian, bytes).map_err(bad)?;
        out.push(CodeSection {
            name: String::from_utf8_lossy(name).into_owned(),
            addr: section.sh_addr(endian),
            bytes: data,
        });
    }
    Ok(out)
}

/// Loads `bytes` into `space` for `owner`, eagerly (every page backed by a
/// zeroed frame), plus a `stack_bytes` stack ending at `stack_top`.
pub fn load_static(
    phys: &PhysAddrService,
    owner: MoundId,
    space: &Cap<AddressSpace>,
    arch: Arch,
    bytes: &[u8],
    stack_top: u64,
    stack_bytes: u64,
) -> Result<LoadedImage, LoadError> {
    let (entry, segments) = parse(bytes, arch)?;
    let page = space.page_size();
    // Page → (frame, protection); pages shared by two segments get the union.
    let mut pages: BTreeMap<u64, Prot> = BTreeMap::new();
    for s in &segments {
        let mut va = s.vaddr & !(page - 1);
        while va < s.vaddr + s.memsz {
            let p = pages.entry(va).or_insert(Prot::NONE);
            *p = p.union(s.prot);
            va += page;
        }
    }
    let stack_base = stack_top.saturating_sub(stack_bytes) & !(page - 1);
    let mut va = stack_base;
    while va < stack_top {
        pages.insert(va, Prot::RW);
        va += page;
    }
    let mut frames = Vec::with_capacity(pages.len());
    let zero = vec![0u8; page as usize];
    for &va in pages.keys() {
        let frame = phys
            .allocate(owner, FrameAttrs::default())
            .map_err(|e| LoadError::NoMemory(e.to_string()))?[0];
        frames.push(frame);
        // Writable while we fill it; final protections below.
        space
            .map(va, frame, Prot::RW)
            .map_err(|e| LoadError::NoMemory(e.to_string()))?;
        space
            .write(va, &zero)
            .map_err(|(a, f)| LoadError::NoMemory(format!("{f:?} at {a:#x}")))?;
    }
    for s in &segments {
        space
            .write(s.vaddr, &bytes[s.file.clone()])
            .map_err(|(a, f)| LoadError::NoMemory(format!("{f:?} at {a:#x}")))?;
    }
    for (&va, &prot) in &pages {
        space
            .protect(va, prot)
            .map_err(|e| LoadError::NoMemory(e.to_string()))?;
    }
    let brk = segments
        .iter()
        .map(|s| s.vaddr + s.memsz)
        .max()
        .unwrap_or(0);
    // A minimal initial stack: argc = 0, argv NULL, envp NULL, auxv AT_NULL.
    let sp = (stack_top - 64) & !15;
    space
        .write(sp, &[0u8; 32])
        .map_err(|(a, f)| LoadError::NoMemory(format!("{f:?} at {a:#x}")))?;
    Ok(LoadedImage {
        entry,
        brk,
        sp,
        frames,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use spin_kernel::machine::new_guest_ram;
    use spin_kernel::{Kernel, KernelConfig};

    const PRIMES: &[u8] = include_bytes!("../../guest/prebuilt/primes.alpha");

    fn kernel() -> std::sync::Arc<Kernel> {
        Kernel::boot(new_guest_ram(8 << 20).unwrap(), KernelConfig::default()).0
    }

    #[test]
    fn loads_the_demo_program() {
        let k = kernel();
        let space = k.translation.create(MoundId(1));
        let img = load_static(
            &k.phys,
            MoundId(1),
            &space,
            Arch::Alpha,
            PRIMES,
            0x1_2000_0000,
            65536,
        )
        .unwrap();
        assert!(img.entry >= 0x1_2000_0000);
        assert!(space.examine(img.entry).unwrap().prot.contains(Prot::EXEC));
        assert_eq!(k.phys.used_by(MoundId(1)), img.frames.len() as u64);
    }

    #[test]
    fn malformed_elves_are_clear_errors() {
        let k = kernel();
        let space = k.translation.create(MoundId(1));
        let load = |b: &[u8]| {
            load_static(
                &k.phys,
                MoundId(1),
                &space,
                Arch::Alpha,
                b,
                0x1_2000_0000,
                65536,
            )
        };
        assert!(matches!(load(b""), Err(LoadError::Malformed(_))));
        assert!(matches!(load(&PRIMES[..40]), Err(LoadError::Malformed(_))));
        assert!(matches!(
            load(&PRIMES[..200]),
            Err(LoadError::BadSegment { .. }) | Err(LoadError::Malformed(_))
        ));
        let mut wrong = PRIMES.to_vec();
        wrong[18] = 0x3e; // e_machine = x86-64
        wrong[19] = 0;
        assert!(matches!(
            load(&wrong),
            Err(LoadError::WrongMachine { found: 0x3e, .. })
        ));
        let mut dynamic = PRIMES.to_vec();
        dynamic[16] = 3; // ET_DYN
        assert!(matches!(load(&dynamic), Err(LoadError::NotExecutable(3))));
        // Random garbage never panics.
        let mut seed = 1u64;
        for _ in 0..200 {
            let mut b = PRIMES[..512].to_vec();
            for _ in 0..8 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let i = (seed >> 33) as usize % b.len();
                b[i] = (seed >> 20) as u8;
            }
            let _ = load(&b);
        }
    }
}
