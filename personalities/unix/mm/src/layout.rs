//! Where things go in a process address space, per architecture.

use serde::{Deserialize, Serialize};
use spin_kernel::Arch;

/// The fixed addresses of a process address space (bytes). The page size is
/// not here: it comes from the kernel's translation service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// First address above the initial stack (the stack grows down from here).
    pub stack_top: u64,
    /// Largest size the stack may grow to (the stack rlimit).
    pub stack_limit: u64,
    /// Size of the stack region created at exec (grown on demand after that).
    pub stack_initial: u64,
    /// Where `mmap` starts looking for room when given no usable hint.
    pub mmap_base: u64,
    /// Lowest address `mmap` hands out (Linux's `mmap_min_addr`).
    pub mmap_min: u64,
    /// First address outside user space (Linux's `TASK_SIZE`).
    pub user_limit: u64,
    /// Placement direction: `true` searches down from `mmap_base` (x86-64's
    /// layout), `false` searches up from it (Linux/Alpha's
    /// `arch_get_unmapped_area`, which qemu-alpha also follows).
    pub mmap_top_down: bool,
    /// Pages one demand-zero fault of an anonymous private region maps at
    /// once: the aligned block of this many pages around the faulting one,
    /// inside the region, where nothing is mapped yet (1: only the page).
    /// Worth it where a fault is dear (x86-64 runs under KVM, a VM exit per
    /// fault); Alpha's software-TLB faults are cheap and map one page.
    pub fault_around: u64,
}

impl Layout {
    /// Linux/Alpha: stack below the text at 0x1_2000_0000, `mmap` upwards from
    /// 0x200_0000_0000 (`TASK_UNMAPPED_BASE`), 4 TiB of user space.
    pub const fn alpha() -> Layout {
        Layout {
            stack_top: 0x1_2000_0000,
            stack_limit: 8 << 20,
            stack_initial: 128 << 10,
            mmap_base: 0x200_0000_0000,
            mmap_min: 0x1_0000,
            user_limit: 1 << 42,
            mmap_top_down: false,
            fault_around: 1,
        }
    }

    /// Linux/x86-64 without randomization: stack at the top of the 47-bit user
    /// space, `mmap` downwards from below the stack gap.
    pub const fn x86_64() -> Layout {
        Layout {
            stack_top: 0x7fff_ffff_f000,
            stack_limit: 8 << 20,
            stack_initial: 128 << 10,
            mmap_base: 0x7fff_f7ff_f000,
            mmap_min: 0x1_0000,
            user_limit: 0x7fff_ffff_f000,
            mmap_top_down: true,
            fault_around: 16,
        }
    }

    /// The layout for a machine architecture.
    pub const fn for_arch(arch: Arch) -> Layout {
        match arch {
            Arch::Alpha => Layout::alpha(),
            Arch::X86_64 => Layout::x86_64(),
        }
    }
}

impl Default for Layout {
    fn default() -> Self {
        Layout::alpha()
    }
}
