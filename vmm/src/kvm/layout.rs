//! Where everything the machine itself owns lives: selectors, the private
//! memory region (shim, descriptor tables, per-vCPU blocks, the page-table
//! pool), its kernel virtual addresses, the hypercall ports and the vectors.
//!
//! Guest physical memory is two memslots: the kernel's RAM at 0 (whose frames
//! the PhysAddr service hands out) and, above it, a private region that only
//! the shim sees — mapped supervisor-only at [`KBASE`] in every address space.

/// Kernel code, 64-bit (Linux's `__KERNEL_CS`).
pub const KERNEL_CS: u16 = 0x10;
/// Kernel data (`__KERNEL_DS`).
pub const KERNEL_DS: u16 = 0x18;
/// User code, 32-bit (`__USER32_CS`); `STAR[63:48]`, so `sysretq` loads 0x33/0x2b.
pub const USER32_CS: u16 = 0x23;
/// User data (`__USER_DS`).
pub const USER_DS: u16 = 0x2b;
/// User code, 64-bit (`__USER_CS`).
pub const USER_CS: u16 = 0x33;
/// The TSS (a 16-byte descriptor at GDT offset 0x40).
pub const TSS_SEL: u16 = 0x40;
/// GDT size in bytes (9 eight-byte slots; the TSS takes two).
pub const GDT_BYTES: u64 = 0x50;
/// TSS limit: 104 bytes, no I/O bitmap inside it.
pub const TSS_LIMIT: u32 = 103;

/// Kernel virtual base of the private region (the first address of PML4 slot 256).
pub const KBASE: u64 = 0xffff_8000_0000_0000;
/// Index of [`KBASE`]'s slot in every PML4.
pub const KBASE_PML4_SLOT: usize = 256;
/// The private region is mapped with 2 MiB pages and must fit one PD (1 GiB).
pub const LARGE_PAGE: u64 = 2 << 20;

/// Offsets inside the private region.
pub mod private {
    /// The IDT (256 16-byte gates).
    pub const IDT: u64 = 0x0000;
    /// The shim's code.
    pub const SHIM: u64 = 0x1000;
    /// Room for the shim's code.
    pub const SHIM_BYTES: u64 = 0x4000;
    /// The PDPT every PML4's kernel slot points to.
    pub const KERNEL_PDPT: u64 = 0x5000;
    /// The PD mapping the private region with 2 MiB pages.
    pub const KERNEL_PD: u64 = 0x6000;
    /// First per-vCPU block.
    pub const CPUS: u64 = 0x10000;
    /// Bytes per vCPU block.
    pub const CPU_BYTES: u64 = 0x10000;
    /// vCPUs a machine supports.
    pub const MAX_CPUS: usize = 64;
    /// First page-table frame of the pool.
    pub const POOL: u64 = CPUS + CPU_BYTES * MAX_CPUS as u64;
}

/// Offsets inside one vCPU block.
pub mod cpu {
    /// The GDT.
    pub const GDT: u64 = 0x0000;
    /// The TSS.
    pub const TSS: u64 = 0x0800;
    /// Per-CPU scratch (`KERNEL_GS_BASE` points at the block): user RSP.
    pub const SCRATCH_USER_RSP: u64 = 0x0c00;
    /// Per-CPU scratch: the kernel stack top (RSP0).
    pub const SCRATCH_KSTACK: u64 = 0x0c08;
    /// Top of the #DF stack (IST1).
    pub const IST_DF: u64 = 0x2000;
    /// Top of the NMI stack (IST2).
    pub const IST_NMI: u64 = 0x3000;
    /// Top of the #MC stack (IST3).
    pub const IST_MC: u64 = 0x4000;
    /// Top of the kernel stack: TSS.RSP0.
    pub const RSP0: u64 = 0x8000;
    /// Ring 3's general registers for a full restore (15 quadwords, RSP skipped).
    pub const GPRS: u64 = RSP0 + 512;
    /// The PTE-store queue.
    pub const QUEUE: u64 = 0x9000;
    /// Bytes of the queue.
    pub const QUEUE_BYTES: u64 = 0x7000;
    /// Bytes per queued operation: PTE kernel address, value, VA to invalidate.
    pub const OP_BYTES: u64 = 24;
    /// Operations one trip through the shim applies.
    pub const QUEUE_OPS: usize = (QUEUE_BYTES / OP_BYTES) as usize;
}

/// The trap frame on the kernel stack, from `RSP0 - BYTES` up: two scratch
/// quadwords, the error code (where the CPU pushes one), then the CPU's
/// `iretq` frame (RIP, CS, RFLAGS, RSP, SS) — always at `RSP0 - 40`, as
/// RSP0 is 16-byte aligned. The full-restore path starts at `RSP0 - BYTES`.
pub mod frame {
    /// Bytes of the frame.
    pub const BYTES: u64 = 64;
    /// The error code.
    pub const ERROR: u64 = 16;
    /// Interrupted RIP.
    pub const RIP: u64 = 24;
    /// Interrupted CS.
    pub const CS: u64 = 32;
    /// Interrupted RFLAGS.
    pub const RFLAGS: u64 = 40;
    /// Interrupted RSP.
    pub const RSP: u64 = 48;
    /// Interrupted SS.
    pub const SS: u64 = 56;
}

/// The port the shim's queue loop exits on when the host has more stores.
pub const PORT_MORE: u8 = 0x91;
/// The port the native `syscall` entry exits on.
pub const PORT_SYSCALL: u8 = 0x92;
/// Trap ports: vector `v` (0..=[`VEC_KICK`]) exits on `PORT_TRAPS + v`.
pub const PORT_TRAPS: u8 = 0xa0;

/// The port a trap stub for `vector` exits on.
pub const fn trap_port(vector: u8) -> u8 {
    PORT_TRAPS + vector
}

/// The vector a trap port names, if it is one.
pub const fn port_vector(port: u16) -> Option<u8> {
    if port >= PORT_TRAPS as u16 && port <= (PORT_TRAPS + VEC_KICK) as u16 {
        Some((port - PORT_TRAPS as u16) as u8)
    } else {
        None
    }
}

/// The vector of the kick interrupt (preemption, shootdowns).
pub const VEC_KICK: u8 = 0x20;

/// Exceptions for which the CPU pushes an error code.
pub const fn has_error_code(vector: u8) -> bool {
    matches!(vector, 8 | 10..=14 | 17 | 21 | 29 | 30)
}

/// CR0: PE MP ET NE WP PG.
pub const CR0: u64 = 0x8001_0033;
/// CR4: PAE OSFXSR OSXMMEXCPT (no FSGSBASE: ring 3 cannot move its FS base
/// behind the host's back, so the saved thread pointer is always exact).
pub const CR4: u64 = 0x0620;
/// EFER: SCE LME LMA NXE.
pub const EFER: u64 = 0xd01;
/// SFMASK: TF IF DF IOPL NT AC cleared on `syscall`.
pub const SFMASK: u64 = 0x4_7700;
/// RFLAGS bits ring 3 may hold: CF PF AF ZF SF DF OF AC ID (plus the fixed
/// bit 1 and IF, always set).
pub const USER_RFLAGS: u64 = 0x24_0cd5;
/// RFLAGS ring 3 always has.
pub const RFLAGS_FIXED: u64 = 0x202;

/// Largest canonical user address + 1 (47-bit virtual addresses).
pub const USER_TOP: u64 = 0x0000_8000_0000_0000;

/// Sanitizes RFLAGS for ring 3.
pub const fn user_rflags(rflags: u64) -> u64 {
    (rflags & USER_RFLAGS) | RFLAGS_FIXED
}

/// Whether `va` is a canonical ring-3 address (sysretq to anything else
/// would fault in ring 0 on Intel).
pub const fn is_user_canonical(va: u64) -> bool {
    va < USER_TOP
}
