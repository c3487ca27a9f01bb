//! Loading a static ELF executable into a [`Vm`], demand paged, and building
//! its initial stack.
//!
//! Every header field from the file is checked before use (wrong magic,
//! class, byte order, machine or type; truncated headers; segments that are
//! inconsistent, overlap, leave user space or reach past the file; a
//! `PT_INTERP`) and each problem is an [`ExecError`] whose message is one
//! clear sentence — never a panic. `PT_LOAD` segments become private file
//! mappings (pages read on first touch) with the segment's protection; the
//! `.bss` tail of the last file page reads as zeros and the rest of `.bss` is
//! anonymous demand-zero memory.

mod stack;

use std::sync::Arc;

use object::elf;
use object::read::elf::{FileHeader, ProgramHeader};
use object::LittleEndian;
use serde::{Deserialize, Serialize};
use spin_fs::{Errno, PageBacking};
use spin_kernel::Prot;

use crate::manager::read_full;
use crate::types::MapFlags;
use crate::vm::Vm;
pub use stack::{build_stack, build_stack_for, AuxvMachine, Creds};

/// Largest total of segment sizes accepted, in bytes.
pub const MAX_IMAGE_BYTES: u64 = 1 << 30;
/// Most program headers accepted.
pub const MAX_PHNUM: u16 = 256;
/// The program header table must end within this many bytes of the file start.
const MAX_HEADER_BYTES: u64 = 1 << 20;
/// Size of one ELF64 program header.
const PHENT64: u16 = 56;

/// Why an executable could not be loaded. `Display` is one sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// No ELF magic number.
    #[error("not an ELF executable")]
    NotElf,
    /// The file ends inside a header.
    #[error("truncated ELF file: it ends inside {0}")]
    Truncated(&'static str),
    /// A 32-bit ELF file.
    #[error("32-bit ELF executables are not supported")]
    Class32,
    /// A big-endian ELF file.
    #[error("big-endian ELF executables are not supported")]
    BigEndian,
    /// An executable for another machine.
    #[error("ELF machine {found:#x} ({}) does not match this machine ({expected:#x}, {})", machine_name(*.found), machine_name(*.expected))]
    WrongMachine {
        /// `e_machine` in the file.
        found: u16,
        /// The machine we run.
        expected: u16,
    },
    /// Not `ET_EXEC`.
    #[error("ELF type {0} ({name}) is not a static executable", name = type_name(*.0))]
    NotExecutable(u16),
    /// Has a `PT_INTERP`.
    #[error("dynamic executables are not supported (the file names an interpreter)")]
    Dynamic,
    /// A program header is inconsistent, absurd or overlaps another.
    #[error("bad program header {index}: {why}")]
    BadSegment {
        /// Program header index.
        index: usize,
        /// What is wrong.
        why: String,
    },
    /// Any other malformation.
    #[error("malformed ELF file: {0}")]
    Malformed(String),
    /// Reading the file failed.
    #[error("cannot read the executable: {0}")]
    Io(Errno),
    /// Mapping it failed (out of address space or memory).
    #[error("cannot map the executable: {0}")]
    Map(Errno),
}

impl From<ExecError> for Errno {
    fn from(e: ExecError) -> Errno {
        match e {
            ExecError::Io(errno) | ExecError::Map(errno) => errno,
            _ => Errno::ENOEXEC,
        }
    }
}

fn machine_name(m: u16) -> &'static str {
    match m {
        elf::EM_ALPHA => "Alpha",
        elf::EM_X86_64 => "x86-64",
        elf::EM_386 => "i386",
        elf::EM_AARCH64 => "AArch64",
        elf::EM_ARM => "ARM",
        elf::EM_RISCV => "RISC-V",
        elf::EM_MIPS => "MIPS",
        elf::EM_PPC64 => "PowerPC64",
        elf::EM_PPC => "PowerPC",
        elf::EM_SPARCV9 => "SPARC V9",
        elf::EM_S390 => "S/390",
        _ => "unknown machine",
    }
}

fn type_name(t: u16) -> &'static str {
    match t {
        elf::ET_REL => "a relocatable object",
        elf::ET_DYN => "a shared object or position-independent executable",
        elf::ET_CORE => "a core dump",
        _ => "unknown",
    }
}

/// The `PT_TLS` template of an executable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsInfo {
    /// Address of the initialised part (`.tdata`).
    pub vaddr: u64,
    /// Bytes of initialised data.
    pub filesz: u64,
    /// Total bytes (`.tdata` + `.tbss`).
    pub memsz: u64,
    /// Alignment.
    pub align: u64,
}

/// What [`load_elf`] set up; what [`build_stack`] and the CPU start need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElfImage {
    /// Entry point.
    pub entry: u64,
    /// Address of the program headers in memory (`AT_PHDR`; 0 if not loaded).
    pub phdr_va: u64,
    /// Number of program headers (`AT_PHNUM`).
    pub phnum: u16,
    /// Size of one program header (`AT_PHENT`).
    pub phent: u16,
    /// Initial program break: the page after the highest segment.
    pub brk_base: u64,
    /// Lowest address of the image.
    pub start: u64,
    /// The TLS template, if any.
    pub tls: Option<TlsInfo>,
    /// `e_machine`.
    pub machine: u16,
}

/// A validated `PT_LOAD`.
#[derive(Debug, Clone, Copy)]
struct Segment {
    vaddr: u64,
    memsz: u64,
    offset: u64,
    filesz: u64,
    prot: Prot,
}

fn prot_of(flags: u32) -> Prot {
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
    prot
}

/// The parsed, validated headers.
struct Parsed {
    entry: u64,
    phdr_va: u64,
    phnum: u16,
    segments: Vec<Segment>,
    tls: Option<TlsInfo>,
    machine: u16,
}

fn parse(
    file: &dyn PageBacking,
    expect_machine: u16,
    page: u64,
    layout: &crate::Layout,
) -> Result<Parsed, ExecError> {
    let size = file.size();
    let mut head = [0u8; 64];
    let got = read_full(file, 0, &mut head).map_err(ExecError::Io)?;
    if got < 4 || head[..4] != elf::ELFMAG {
        return Err(ExecError::NotElf);
    }
    if got < 6 {
        return Err(ExecError::Truncated("the ELF header"));
    }
    match head[4] {
        elf::ELFCLASS64 => {}
        elf::ELFCLASS32 => return Err(ExecError::Class32),
        c => return Err(ExecError::Malformed(format!("unknown ELF class {c}"))),
    }
    match head[5] {
        elf::ELFDATA2LSB => {}
        elf::ELFDATA2MSB => return Err(ExecError::BigEndian),
        d => return Err(ExecError::Malformed(format!("unknown data encoding {d}"))),
    }
    if got < head.len() {
        return Err(ExecError::Truncated("the ELF header"));
    }
    let header = elf::FileHeader64::<LittleEndian>::parse(&head[..])
        .map_err(|e| ExecError::Malformed(e.to_string()))?;
    let endian = LittleEndian;
    let machine = header.e_machine(endian);
    if machine != expect_machine {
        return Err(ExecError::WrongMachine {
            found: machine,
            expected: expect_machine,
        });
    }
    let kind = header.e_type(endian);
    if kind != elf::ET_EXEC {
        return Err(ExecError::NotExecutable(kind));
    }
    let phnum = header.e_phnum(endian);
    if phnum == 0 || header.e_phoff(endian) == 0 {
        return Err(ExecError::Malformed("no program headers".into()));
    }
    if phnum > MAX_PHNUM {
        return Err(ExecError::Malformed(format!(
            "{phnum} program headers (at most {MAX_PHNUM} accepted)"
        )));
    }
    if header.e_phentsize(endian) != PHENT64 {
        return Err(ExecError::Malformed(format!(
            "program header size {} (expected {PHENT64})",
            header.e_phentsize(endian)
        )));
    }
    let phoff = header.e_phoff(endian);
    let table_end = phoff
        .checked_add(u64::from(phnum) * u64::from(PHENT64))
        .ok_or_else(|| ExecError::Malformed("program header table offset overflows".into()))?;
    if table_end > size {
        return Err(ExecError::Truncated("the program header table"));
    }
    if table_end > MAX_HEADER_BYTES {
        return Err(ExecError::Malformed(format!(
            "program header table at an absurd offset {phoff:#x}"
        )));
    }
    let mut buf = vec![0u8; table_end as usize];
    let got = read_full(file, 0, &mut buf).map_err(ExecError::Io)?;
    if got < buf.len() {
        return Err(ExecError::Truncated("the program header table"));
    }
    let phdrs = header
        .program_headers(endian, &buf[..])
        .map_err(|e| ExecError::Malformed(e.to_string()))?;

    let mut segments: Vec<(usize, Segment)> = Vec::new();
    let mut tls = None;
    let mut phdr_va = None;
    let mut total = 0u64;
    for (index, ph) in phdrs.iter().enumerate() {
        let bad = |why: String| ExecError::BadSegment { index, why };
        match ph.p_type(endian) {
            elf::PT_INTERP => return Err(ExecError::Dynamic),
            elf::PT_PHDR => phdr_va = Some(ph.p_vaddr(endian)),
            elf::PT_TLS => {
                let (filesz, memsz) = (ph.p_filesz(endian), ph.p_memsz(endian));
                if filesz > memsz {
                    return Err(bad("TLS file size exceeds its memory size".into()));
                }
                tls = Some(TlsInfo {
                    vaddr: ph.p_vaddr(endian),
                    filesz,
                    memsz,
                    align: ph.p_align(endian),
                });
            }
            elf::PT_LOAD => {
                let seg = Segment {
                    vaddr: ph.p_vaddr(endian),
                    memsz: ph.p_memsz(endian),
                    offset: ph.p_offset(endian),
                    filesz: ph.p_filesz(endian),
                    prot: prot_of(ph.p_flags(endian)),
                };
                if seg.filesz > seg.memsz {
                    return Err(bad("file size exceeds memory size".into()));
                }
                let end = seg
                    .vaddr
                    .checked_add(seg.memsz)
                    .ok_or_else(|| bad("address range overflows".into()))?;
                if seg.vaddr < layout.mmap_min || end > layout.user_limit {
                    return Err(bad(format!(
                        "{:#x}..{end:#x} lies outside user space",
                        seg.vaddr
                    )));
                }
                if seg.offset.checked_add(seg.filesz).is_none_or(|e| e > size) {
                    return Err(bad(format!(
                        "its file data ({} bytes at {:#x}) lies beyond the end of the {size}-byte file",
                        seg.filesz, seg.offset
                    )));
                }
                if seg.vaddr % page != seg.offset % page {
                    return Err(bad(format!(
                        "address {:#x} and file offset {:#x} differ modulo the {page}-byte page",
                        seg.vaddr, seg.offset
                    )));
                }
                total = total.saturating_add(seg.memsz);
                if total > MAX_IMAGE_BYTES {
                    return Err(bad("the image exceeds 1 GiB".into()));
                }
                if let Some((other, _)) = segments
                    .iter()
                    .find(|(_, s)| seg.vaddr < s.vaddr + s.memsz && s.vaddr < end)
                {
                    return Err(bad(format!("overlaps program header {other}")));
                }
                segments.push((index, seg));
            }
            _ => {}
        }
    }
    if segments.is_empty() {
        return Err(ExecError::Malformed("no loadable segment".into()));
    }
    let entry = header.e_entry(endian);
    if !segments
        .iter()
        .any(|(_, s)| entry >= s.vaddr && entry < s.vaddr + s.memsz && s.prot.contains(Prot::EXEC))
    {
        return Err(ExecError::Malformed(format!(
            "entry point {entry:#x} is not in an executable segment"
        )));
    }
    // AT_PHDR: PT_PHDR if present, else where a segment loads the table.
    let table_len = table_end - phoff;
    let phdr_va = phdr_va.unwrap_or_else(|| {
        segments
            .iter()
            .find(|(_, s)| phoff >= s.offset && phoff + table_len <= s.offset + s.filesz)
            .map_or(0, |(_, s)| s.vaddr + (phoff - s.offset))
    });
    let mut segments: Vec<Segment> = segments.into_iter().map(|(_, s)| s).collect();
    segments.sort_by_key(|s| s.vaddr);
    Ok(Parsed {
        entry,
        phdr_va,
        phnum,
        segments,
        tls,
        machine,
    })
}

/// Validates `file` as a static executable for `expect_machine` (ELF
/// `e_machine`: 0x9026 Alpha, 62 x86-64) and maps its `PT_LOAD` segments into
/// `vm` as private, demand-paged file mappings; sets the heap start after the
/// highest segment.
pub fn load_elf(
    vm: &Vm,
    file: &Arc<dyn PageBacking>,
    expect_machine: u16,
) -> Result<ElfImage, ExecError> {
    let page = vm.page_size();
    let parsed = parse(&**file, expect_machine, page, vm.layout())?;
    let mask = page - 1;
    let round_up = |a: u64| (a + mask) & !mask;
    let mut prev_last: Option<(u64, Prot)> = None;
    let mut top = 0;
    for s in &parsed.segments {
        if s.memsz == 0 {
            continue;
        }
        let first = s.vaddr & !mask;
        let mem_end = round_up(s.vaddr + s.memsz);
        let file_end = if s.filesz > 0 {
            round_up(s.vaddr + s.filesz)
        } else {
            first
        };
        let shares_page = prev_last.is_some_and(|(p, _)| p == first);
        if file_end > first {
            // The file page holding the start also holds the tail of the
            // previous segment when they share a page (offsets are congruent).
            let limit = (s.memsz > s.filesz).then_some(s.offset + s.filesz);
            vm.map_segment(
                first,
                file_end - first,
                s.prot,
                file,
                s.offset - (s.vaddr - first),
                limit,
            )
            .map_err(ExecError::Map)?;
        }
        // A segment with no file part must not wipe a page it shares.
        let anon_start = if file_end == first && shares_page {
            first + page
        } else {
            file_end
        };
        if mem_end > anon_start {
            vm.mmap(
                anon_start,
                mem_end - anon_start,
                s.prot,
                MapFlags::private_anon().with_fixed(),
                None,
            )
            .map_err(ExecError::Map)?;
        }
        if let Some((_, prev_prot)) = prev_last.filter(|_| shares_page) {
            vm.mprotect(first, page, s.prot.union(prev_prot))
                .map_err(ExecError::Map)?;
        }
        prev_last = Some((mem_end - page, s.prot));
        top = top.max(mem_end);
    }
    vm.set_brk_base(top);
    Ok(ElfImage {
        entry: parsed.entry,
        phdr_va: parsed.phdr_va,
        phnum: parsed.phnum,
        phent: PHENT64,
        brk_base: top,
        start: parsed.segments.first().map_or(0, |s| s.vaddr & !mask),
        tls: parsed.tls,
        machine: parsed.machine,
    })
}
