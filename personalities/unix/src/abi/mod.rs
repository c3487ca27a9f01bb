//! The Linux ABI, table-driven per architecture. System-call numbers, errno
//! values, signal numbers, flag bits and ioctl numbers differ between Alpha
//! and x86-64; the UNIX mound works with names internally and translates at
//! the boundary through one [`Abi`] per architecture ([`ALPHA`],
//! [`X86_64`]), chosen by the register file's `R::ARCH`.
//!
//! What is not a number — structure layouts (`struct stat`, `sigaction`,
//! `termios`), signal frames, the system-call instruction — is chosen by
//! [`Abi::arch`] where it is built (`syscall::fs`, `signal`, ...).

pub mod alpha;
pub mod x86_64;
mod x86_64_syscalls;

use spin_kernel::Arch;

/// A system-call number in some architecture's numbering.
pub type SyscallNo = u64;
/// An errno value in some architecture's numbering.
pub type Errno = u64;
/// A signal number in some architecture's numbering.
pub type Signal = u32;

/// `open`/`fcntl` flag bits of one architecture.
#[allow(non_snake_case, missing_docs)]
#[derive(Debug, PartialEq, Eq)]
pub struct OpenBits {
    pub WRONLY: u64,
    pub RDWR: u64,
    pub ACCMODE: u64,
    pub NONBLOCK: u64,
    pub APPEND: u64,
    pub CREAT: u64,
    pub TRUNC: u64,
    pub EXCL: u64,
    pub NOCTTY: u64,
    pub DIRECTORY: u64,
    pub NOFOLLOW: u64,
    pub CLOEXEC: u64,
    pub PATH: u64,
    /// Includes `DIRECTORY`.
    pub TMPFILE: u64,
}

/// `mmap`/`mremap`/`madvise` numbers of one architecture.
#[allow(non_snake_case, missing_docs)]
#[derive(Debug, PartialEq, Eq)]
pub struct MapBits {
    pub SHARED: u64,
    pub PRIVATE: u64,
    pub FIXED: u64,
    pub ANONYMOUS: u64,
    pub GROWSDOWN: u64,
    pub NORESERVE: u64,
    pub POPULATE: u64,
    pub STACK: u64,
    pub FIXED_NOREPLACE: u64,
    pub MREMAP_MAYMOVE: u64,
    pub MREMAP_FIXED: u64,
    pub MADV_DONTNEED: u64,
}

/// `sigaction`/`sigaltstack` flag bits of one architecture.
#[allow(non_snake_case, missing_docs)]
#[derive(Debug, PartialEq, Eq)]
pub struct SigFlags {
    pub SA_ONSTACK: u64,
    pub SA_RESTART: u64,
    pub SA_NOCLDSTOP: u64,
    pub SA_NODEFER: u64,
    pub SA_RESETHAND: u64,
    pub SA_NOCLDWAIT: u64,
    pub SA_SIGINFO: u64,
    /// `SA_RESTORER` (0: the architecture has none).
    pub SA_RESTORER: u64,
    pub SS_ONSTACK: u64,
    pub SS_DISABLE: u64,
    pub MINSIGSTKSZ: u64,
    /// `rt_sigprocmask`'s `how`.
    pub SIG_BLOCK: u64,
    pub SIG_UNBLOCK: u64,
    pub SIG_SETMASK: u64,
}

/// Signal numbers of one architecture (0: the architecture has no such
/// signal).
#[allow(non_snake_case, missing_docs)]
#[derive(Debug, PartialEq, Eq)]
pub struct SigNums {
    pub SIGHUP: u32,
    pub SIGINT: u32,
    pub SIGQUIT: u32,
    pub SIGILL: u32,
    pub SIGTRAP: u32,
    pub SIGABRT: u32,
    /// Alpha only.
    pub SIGEMT: u32,
    pub SIGFPE: u32,
    pub SIGKILL: u32,
    pub SIGBUS: u32,
    pub SIGSEGV: u32,
    pub SIGSYS: u32,
    pub SIGPIPE: u32,
    pub SIGALRM: u32,
    pub SIGTERM: u32,
    pub SIGURG: u32,
    pub SIGSTOP: u32,
    pub SIGTSTP: u32,
    pub SIGCONT: u32,
    pub SIGCHLD: u32,
    pub SIGTTIN: u32,
    pub SIGTTOU: u32,
    pub SIGIO: u32,
    pub SIGXCPU: u32,
    pub SIGXFSZ: u32,
    pub SIGVTALRM: u32,
    pub SIGPROF: u32,
    pub SIGWINCH: u32,
    /// Alpha's SIGINFO (x86-64's SIGPWR has no Alpha twin).
    pub SIGPWR: u32,
    pub SIGUSR1: u32,
    pub SIGUSR2: u32,
    /// x86-64 only.
    pub SIGSTKFLT: u32,
}

/// Other numbers that differ: `*at` flags, `fcntl` commands and lock types,
/// `ioctl` requests, `wait4` options, `clone` flags, resource limits.
#[allow(non_snake_case, missing_docs)]
#[derive(Debug, PartialEq, Eq)]
pub struct Misc {
    pub AT_FDCWD: i64,
    pub AT_SYMLINK_NOFOLLOW: u64,
    pub AT_REMOVEDIR: u64,
    pub AT_EMPTY_PATH: u64,
    pub F_DUPFD: u64,
    pub F_GETFD: u64,
    pub F_SETFD: u64,
    pub F_GETFL: u64,
    pub F_SETFL: u64,
    pub F_GETLK: u64,
    pub F_SETLK: u64,
    pub F_SETLKW: u64,
    pub F_SETOWN: u64,
    pub F_GETOWN: u64,
    pub F_DUPFD_CLOEXEC: u64,
    pub F_RDLCK: u16,
    pub F_WRLCK: u16,
    pub F_UNLCK: u16,
    pub TCGETS: u64,
    pub TCSETS: u64,
    pub TIOCGWINSZ: u64,
    pub TIOCGPGRP: u64,
    pub FIONREAD: u64,
    pub FIONBIO: u64,
    pub WNOHANG: u64,
    pub WUNTRACED: u64,
    pub CLONE_VM: u64,
    pub CLONE_FS: u64,
    pub CLONE_FILES: u64,
    pub CLONE_SIGHAND: u64,
    pub CLONE_VFORK: u64,
    pub CLONE_PARENT: u64,
    pub CLONE_THREAD: u64,
    pub CLONE_SETTLS: u64,
    pub CLONE_PARENT_SETTID: u64,
    pub CLONE_CHILD_CLEARTID: u64,
    pub CLONE_CHILD_SETTID: u64,
    pub RLIMIT_STACK: u64,
    pub RLIMIT_CORE: u64,
    pub RLIMIT_NOFILE: u64,
}

/// Socket numbers that differ (`SOCK_*` flags, `SOL_SOCKET`, `SO_*`);
/// `AF_*`, `SOCK_STREAM`/`SOCK_DGRAM`, `MSG_*` and `IPPROTO_*` are the
/// same on both architectures.
#[allow(non_snake_case, missing_docs)]
#[derive(Debug, PartialEq, Eq)]
pub struct SockBits {
    pub SOCK_NONBLOCK: u64,
    pub SOCK_CLOEXEC: u64,
    pub SOL_SOCKET: u64,
    pub SO_REUSEADDR: u64,
    pub SO_TYPE: u64,
    pub SO_ERROR: u64,
    pub SO_BROADCAST: u64,
    pub SO_SNDBUF: u64,
    pub SO_RCVBUF: u64,
    pub SO_KEEPALIVE: u64,
    pub SO_LINGER: u64,
    pub SO_REUSEPORT: u64,
    pub SO_RCVTIMEO: u64,
    pub SO_SNDTIMEO: u64,
    pub SO_ACCEPTCONN: u64,
    pub SO_PROTOCOL: u64,
    pub SO_DOMAIN: u64,
}

/// One architecture's ABI tables.
#[derive(Debug, Clone, Copy)]
pub struct Abi {
    /// The architecture.
    pub arch: Arch,
    syscalls: &'static [(&'static str, SyscallNo)],
    errnos: &'static [(&'static str, Errno)],
    signals: &'static [(&'static str, Signal)],
    /// `O_*` bits.
    pub o: &'static OpenBits,
    /// `MAP_*`, `MREMAP_*`, `MADV_DONTNEED`.
    pub map: &'static MapBits,
    /// `SA_*`, `SS_*`, `MINSIGSTKSZ`.
    pub sa: &'static SigFlags,
    /// Signal numbers.
    pub signo: &'static SigNums,
    /// The rest.
    pub misc: &'static Misc,
    /// Socket flags and options.
    pub sock: &'static SockBits,
}

/// The Linux/Alpha ABI.
pub const ALPHA: Abi = Abi {
    arch: Arch::Alpha,
    syscalls: alpha::SYSCALLS,
    errnos: alpha::ERRNOS,
    signals: alpha::SIGNALS,
    o: &alpha::OPEN,
    map: &alpha::MAP,
    sa: &alpha::SA,
    signo: &alpha::SIGNO,
    misc: &alpha::MISC,
    sock: &alpha::SOCK,
};

/// The Linux/x86-64 ABI.
pub const X86_64: Abi = Abi {
    arch: Arch::X86_64,
    syscalls: x86_64_syscalls::SYSCALLS,
    errnos: x86_64::ERRNOS,
    signals: x86_64::SIGNALS,
    o: &x86_64::OPEN,
    map: &x86_64::MAP,
    sa: &x86_64::SA,
    signo: &x86_64::SIGNO,
    misc: &x86_64::MISC,
    sock: &x86_64::SOCK,
};

impl Abi {
    /// The ABI of `arch`, if the UNIX mound has its tables.
    pub fn of(arch: Arch) -> Option<Abi> {
        match arch {
            Arch::Alpha => Some(ALPHA),
            Arch::X86_64 => Some(X86_64),
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

    /// Every system call of the architecture, `(name, number)`.
    pub fn syscalls(&self) -> &'static [(&'static str, SyscallNo)] {
        self.syscalls
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

    /// Bytes of the system-call instruction (Alpha `call_pal callsys` 4,
    /// x86-64 `syscall` 2): after a `Trap::Syscall` the PC is past it, and a
    /// call that blocks rewinds by this much to run again.
    pub fn syscall_insn_len(&self) -> u64 {
        match self.arch {
            Arch::Alpha => 4,
            Arch::X86_64 => 2,
        }
    }

    /// The `uname` machine field.
    pub fn uname_machine(&self) -> &'static [u8] {
        match self.arch {
            Arch::Alpha => b"alpha",
            Arch::X86_64 => b"x86_64",
        }
    }

    /// Signals that can be neither caught nor blocked, as a mask.
    pub fn unblockable(&self) -> u64 {
        crate::signal::unblockable(self.signo)
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
        let mut names: Vec<&str> = x86_64_syscalls::SYSCALLS.iter().map(|(n, _)| *n).collect();
        let before = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), before);
        assert!(x86_64_syscalls::SYSCALLS
            .windows(2)
            .all(|w| w[0].1 < w[1].1));
    }

    #[test]
    fn x86_64_numbers() {
        assert_eq!(X86_64.syscall("read"), Some(0));
        assert_eq!(X86_64.syscall("write"), Some(1));
        assert_eq!(X86_64.syscall("rt_sigreturn"), Some(15));
        assert_eq!(X86_64.syscall("arch_prctl"), Some(158));
        assert_eq!(X86_64.syscall("newfstatat"), Some(262));
        assert_eq!(X86_64.syscall("exit_group"), Some(231));
        assert_eq!(X86_64.syscall("rseq"), Some(334));
        assert_eq!(X86_64.syscall("getxpid"), None);
        assert_eq!(X86_64.errno("ENOSYS"), Some(38));
        assert_eq!(X86_64.errno("EAGAIN"), Some(11));
        assert_eq!(X86_64.signal("SIGBUS"), Some(7));
        assert_eq!(X86_64.signal("SIGCHLD"), Some(17));
        assert_eq!(Abi::of(Arch::X86_64).map(|a| a.arch), Some(Arch::X86_64));
        // Every named errno agrees with spin-fs's numbering.
        for e in [
            spin_fs::Errno::ENOSYS,
            spin_fs::Errno::EAGAIN,
            spin_fs::Errno::EFAULT,
        ] {
            assert_eq!(X86_64.errno_value(e), e.x86_64());
        }
    }

    #[test]
    fn signal_tables_agree_with_the_structs() {
        for abi in [ALPHA, X86_64] {
            let s = abi.signo;
            for (name, v) in [
                ("SIGBUS", s.SIGBUS),
                ("SIGCHLD", s.SIGCHLD),
                ("SIGUSR1", s.SIGUSR1),
                ("SIGSTOP", s.SIGSTOP),
                ("SIGSYS", s.SIGSYS),
                ("SIGCONT", s.SIGCONT),
            ] {
                assert_eq!(abi.signal(name), Some(v), "{:?} {name}", abi.arch);
            }
            assert_eq!(abi.signal("SA_SIGINFO"), Some(abi.sa.SA_SIGINFO as u32));
            assert_eq!(abi.signal("SA_RESTART"), Some(abi.sa.SA_RESTART as u32));
        }
    }
}
