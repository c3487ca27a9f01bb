//! The Linux ABI, table-driven per architecture. System-call numbers, errno
//! values and signal numbers differ between Alpha and x86-64; the UNIX mound
//! works with names internally and translates at the boundary.

pub mod alpha;

use spin_kernel::Arch;

/// A system-call number in some architecture's numbering.
pub type SyscallNo = u64;
/// An errno value in some architecture's numbering.
pub type Errno = u64;
/// A signal number in some architecture's numbering.
pub type Signal = u32;

/// One architecture's ABI tables.
#[derive(Debug, Clone, Copy)]
pub struct Abi {
    /// The architecture.
    pub arch: Arch,
    syscalls: &'static [(&'static str, SyscallNo)],
    errnos: &'static [(&'static str, Errno)],
    signals: &'static [(&'static str, Signal)],
}

/// The Linux/Alpha ABI.
pub const ALPHA: Abi = Abi {
    arch: Arch::Alpha,
    syscalls: alpha::SYSCALLS,
    errnos: alpha::ERRNOS,
    signals: alpha::SIGNALS,
};

impl Abi {
    /// The ABI of `arch`, if the UNIX mound has its tables.
    pub fn of(arch: Arch) -> Option<Abi> {
        match arch {
            Arch::Alpha => Some(ALPHA),
            Arch::X86_64 => None,
        }
    }

    /// The name of system call `no` (for the "unknown call, logged once" path).
    pub fn syscall_name(&self, no: SyscallNo) -> Option<&'static str> {
        self.syscalls
            .iter()
            .find(|(_, n)| *n == no)
            .map(|(name, _)| *name)
    }

    /// The number of the system call called `name`.
    pub fn syscall(&self, name: &str) -> Option<SyscallNo> {
        self.syscalls
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, no)| *no)
    }

    /// The guest's number for `e`.
    pub fn errno_value(&self, e: spin_fs::Errno) -> Errno {
        match self.arch {
            Arch::Alpha => e.alpha(),
            Arch::X86_64 => e.x86_64(),
        }
    }

    /// The ELF `e_machine` of programs for this ABI.
    pub fn elf_machine(&self) -> u16 {
        match self.arch {
            Arch::Alpha => 0x9026,
            Arch::X86_64 => 62,
        }
    }

    /// The highest system-call number in the table.
    pub fn max_syscall(&self) -> SyscallNo {
        self.syscalls.iter().map(|(_, n)| *n).max().unwrap_or(0)
    }

    /// The errno value called `name` (`"EFAULT"`).
    pub fn errno(&self, name: &str) -> Option<Errno> {
        self.errnos
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    /// The signal called `name` (`"SIGSEGV"`).
    pub fn signal(&self, name: &str) -> Option<Signal> {
        self.signals
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_numbers_differ_from_x86_64_where_linux_says_so() {
        assert_eq!(ALPHA.syscall("write"), Some(4));
        assert_eq!(ALPHA.syscall("exit_group"), Some(405));
        assert_eq!(ALPHA.syscall_name(20), Some("getxpid"));
        assert_eq!(ALPHA.errno("EFAULT"), Some(14));
        assert_eq!(ALPHA.errno("ENOSYS"), Some(78)); // 38 on x86-64
        assert_eq!(ALPHA.errno("EAGAIN"), Some(35)); // 11 on x86-64
        assert_eq!(ALPHA.signal("SIGBUS"), Some(10)); // 7 on x86-64
        assert_eq!(ALPHA.signal("SIGUSR1"), Some(30));
        assert!(ALPHA.syscall_name(9999).is_none());
    }

    #[test]
    fn tables_have_unique_names_and_sorted_syscalls() {
        let mut names: Vec<&str> = alpha::SYSCALLS.iter().map(|(n, _)| *n).collect();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before);
        assert!(alpha::SYSCALLS.windows(2).all(|w| w[0].1 <= w[1].1));
    }
}
