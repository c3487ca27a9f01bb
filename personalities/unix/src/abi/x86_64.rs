//! Linux/x86-64 ABI numbers: errno values, signals, flag bits, ioctl
//! requests and the structure layouts the mound writes, from the host's
//! UAPI and glibc headers (`asm/unistd_64.h`, `asm-generic/errno*.h`,
//! `asm/signal.h`, `asm-generic/fcntl.h`, `asm-generic/mman*.h`,
//! `asm-generic/ioctls.h`, `asm/stat.h`, `asm/sigcontext.h`). The system-call
//! table is generated (`x86_64_syscalls.rs`); everything here is checked
//! against the host's C definitions by `tests/x86_64_abi.rs`.

use super::{Errno, Signal};

/// errno values, `(name, number)` (the generic Linux numbering).
pub const ERRNOS: &[(&str, Errno)] = &[
    ("EPERM", 1),
    ("ENOENT", 2),
    ("EINTR", 4),
    ("EBADF", 9),
    ("EAGAIN", 11),
    ("ENOMEM", 12),
    ("EACCES", 13),
    ("EFAULT", 14),
    ("EEXIST", 17),
    ("ENOTDIR", 20),
    ("EISDIR", 21),
    ("EINVAL", 22),
    ("ENOTTY", 25),
    ("ENOSPC", 28),
    ("ESPIPE", 29),
    ("EPIPE", 32),
    ("ERANGE", 34),
    ("EDEADLK", 35),
    ("ENAMETOOLONG", 36),
    ("ENOLCK", 37),
    ("ENOSYS", 38),
    ("ENOTEMPTY", 39),
    ("ELOOP", 40),
    ("EOPNOTSUPP", 95),
    ("ETIMEDOUT", 110),
    ("ECHILD", 10),
];

/// Signal numbers and `sigaction` constants, `(name, number)`.
pub const SIGNALS: &[(&str, Signal)] = &[
    ("SIGHUP", 1),
    ("SIGINT", 2),
    ("SIGQUIT", 3),
    ("SIGILL", 4),
    ("SIGTRAP", 5),
    ("SIGABRT", 6),
    ("SIGBUS", 7),
    ("SIGFPE", 8),
    ("SIGKILL", 9),
    ("SIGUSR1", 10),
    ("SIGSEGV", 11),
    ("SIGUSR2", 12),
    ("SIGPIPE", 13),
    ("SIGALRM", 14),
    ("SIGTERM", 15),
    ("SIGSTKFLT", 16),
    ("SIGCHLD", 17),
    ("SIGCONT", 18),
    ("SIGSTOP", 19),
    ("SIGTSTP", 20),
    ("SIGWINCH", 28),
    ("SIGSYS", 31),
    ("SA_RESTART", 0x1000_0000),
    ("SA_SIGINFO", 4),
    ("SA_NODEFER", 0x4000_0000),
    ("SA_RESETHAND", 0x8000_0000),
    ("SA_ONSTACK", 0x0800_0000),
    ("SA_RESTORER", 0x0400_0000),
    ("SIG_BLOCK", 0),
    ("SIG_UNBLOCK", 1),
    ("SIG_SETMASK", 2),
    ("_NSIG", 65),
];

/// `open`/`fcntl` flag bits (`asm-generic/fcntl.h`).
pub const OPEN: super::OpenBits = super::OpenBits {
    WRONLY: 0o1,
    RDWR: 0o2,
    ACCMODE: 0o3,
    NONBLOCK: 0o4000,
    APPEND: 0o2000,
    CREAT: 0o100,
    TRUNC: 0o1000,
    EXCL: 0o200,
    NOCTTY: 0o400,
    DIRECTORY: 0o200000,
    NOFOLLOW: 0o400000,
    CLOEXEC: 0o2000000,
    PATH: 0o10000000,
    TMPFILE: 0o20000000 | 0o200000,
};

/// `mmap` bits (`asm-generic/mman-common.h`, `asm/mman.h`).
pub const MAP: super::MapBits = super::MapBits {
    SHARED: 0x01,
    PRIVATE: 0x02,
    FIXED: 0x10,
    ANONYMOUS: 0x20,
    GROWSDOWN: 0x0100,
    NORESERVE: 0x4000,
    POPULATE: 0x8000,
    STACK: 0x2_0000,
    FIXED_NOREPLACE: 0x10_0000,
    MREMAP_MAYMOVE: 1,
    MREMAP_FIXED: 2,
    MADV_DONTNEED: 4,
};

/// `sigaction` and `sigaltstack` bits (`asm/signal.h`).
pub const SA: super::SigFlags = super::SigFlags {
    SA_ONSTACK: 0x0800_0000,
    SA_RESTART: 0x1000_0000,
    SA_NOCLDSTOP: 0x1,
    SA_NODEFER: 0x4000_0000,
    SA_RESETHAND: 0x8000_0000,
    SA_NOCLDWAIT: 0x2,
    SA_SIGINFO: 0x4,
    SA_RESTORER: 0x0400_0000,
    SS_ONSTACK: 1,
    SS_DISABLE: 2,
    MINSIGSTKSZ: 2048,
    SIG_BLOCK: 0,
    SIG_UNBLOCK: 1,
    SIG_SETMASK: 2,
};

/// Linux/x86-64 signal numbers (`asm/signal.h`).
pub const SIGNO: super::SigNums = super::SigNums {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGILL: 4,
    SIGTRAP: 5,
    SIGABRT: 6,
    SIGEMT: 0,
    SIGFPE: 8,
    SIGKILL: 9,
    SIGBUS: 7,
    SIGSEGV: 11,
    SIGSYS: 31,
    SIGPIPE: 13,
    SIGALRM: 14,
    SIGTERM: 15,
    SIGURG: 23,
    SIGSTOP: 19,
    SIGTSTP: 20,
    SIGCONT: 18,
    SIGCHLD: 17,
    SIGTTIN: 21,
    SIGTTOU: 22,
    SIGIO: 29,
    SIGXCPU: 24,
    SIGXFSZ: 25,
    SIGVTALRM: 26,
    SIGPROF: 27,
    SIGWINCH: 28,
    SIGPWR: 30,
    SIGUSR1: 10,
    SIGUSR2: 12,
    SIGSTKFLT: 16,
};

/// The other numbers (`asm-generic/fcntl.h`, `asm-generic/ioctls.h`,
/// `asm-generic/resource.h`, `linux/sched.h`).
pub const MISC: super::Misc = super::Misc {
    AT_FDCWD: -100,
    AT_SYMLINK_NOFOLLOW: 0x100,
    AT_REMOVEDIR: 0x200,
    AT_EMPTY_PATH: 0x1000,
    F_DUPFD: 0,
    F_GETFD: 1,
    F_SETFD: 2,
    F_GETFL: 3,
    F_SETFL: 4,
    F_GETLK: 5,
    F_SETLK: 6,
    F_SETLKW: 7,
    F_SETOWN: 8,
    F_GETOWN: 9,
    F_DUPFD_CLOEXEC: 1030,
    F_RDLCK: 0,
    F_WRLCK: 1,
    F_UNLCK: 2,
    TCGETS: 0x5401,
    TCSETS: 0x5402,
    TIOCGWINSZ: 0x5413,
    TIOCGPGRP: 0x540f,
    FIONREAD: 0x541b,
    FIONBIO: 0x5421,
    WNOHANG: 1,
    WUNTRACED: 2,
    CLONE_VM: 0x100,
    CLONE_FS: 0x200,
    CLONE_FILES: 0x400,
    CLONE_SIGHAND: 0x800,
    CLONE_VFORK: 0x4000,
    CLONE_PARENT: 0x8000,
    CLONE_THREAD: 0x1_0000,
    CLONE_SETTLS: 0x8_0000,
    CLONE_PARENT_SETTID: 0x10_0000,
    CLONE_CHILD_CLEARTID: 0x20_0000,
    CLONE_CHILD_SETTID: 0x100_0000,
    RLIMIT_STACK: 3,
    RLIMIT_CORE: 4,
    RLIMIT_NOFILE: 7,
};

/// Socket flags and options (`asm-generic/socket.h`).
pub const SOCK: super::SockBits = super::SockBits {
    SOCK_NONBLOCK: 0o4000,
    SOCK_CLOEXEC: 0o2_000_000,
    SOL_SOCKET: 1,
    SO_REUSEADDR: 2,
    SO_TYPE: 3,
    SO_ERROR: 4,
    SO_BROADCAST: 6,
    SO_SNDBUF: 7,
    SO_RCVBUF: 8,
    SO_KEEPALIVE: 9,
    SO_LINGER: 13,
    SO_REUSEPORT: 15,
    SO_RCVTIMEO: 20,
    SO_SNDTIMEO: 21,
    SO_ACCEPTCONN: 30,
    SO_PROTOCOL: 38,
    SO_DOMAIN: 39,
};

/// `arch_prctl` codes (`asm/prctl.h`).
pub mod arch_prctl {
    /// ARCH_SET_GS.
    pub const SET_GS: u64 = 0x1001;
    /// ARCH_SET_FS.
    pub const SET_FS: u64 = 0x1002;
    /// ARCH_GET_FS.
    pub const GET_FS: u64 = 0x1003;
    /// ARCH_GET_GS.
    pub const GET_GS: u64 = 0x1004;
    /// ARCH_GET_CPUID.
    pub const GET_CPUID: u64 = 0x1011;
    /// ARCH_SET_CPUID.
    pub const SET_CPUID: u64 = 0x1012;
}

/// Structure layouts (sizes and offsets in bytes) the mound reads or
/// writes for x86-64 guests.
pub mod layout {
    /// `struct stat` (`asm/stat.h`; `stat`, `fstat`, `lstat`, `newfstatat`).
    pub const STAT_SIZE: usize = 144;
    /// `st_nlink` (8 bytes on x86-64).
    pub const ST_NLINK: usize = 16;
    /// `st_mode`.
    pub const ST_MODE: usize = 24;
    /// `st_uid`.
    pub const ST_UID: usize = 28;
    /// `st_gid`.
    pub const ST_GID: usize = 32;
    /// `st_rdev`.
    pub const ST_RDEV: usize = 40;
    /// `st_size`.
    pub const ST_SIZE: usize = 48;
    /// `st_blksize`.
    pub const ST_BLKSIZE: usize = 56;
    /// `st_blocks`.
    pub const ST_BLOCKS: usize = 64;
    /// `st_atime` (`st_atime_nsec` follows; then mtime, ctime).
    pub const ST_ATIME: usize = 72;

    /// The kernel's `struct sigaction` (`asm/signal.h`): handler, flags,
    /// restorer, mask.
    pub const SIGACTION_SIZE: usize = 32;
    /// `sa_flags`.
    pub const SA_FLAGS: usize = 8;
    /// `sa_restorer`.
    pub const SA_RESTORER: usize = 16;
    /// `sa_mask`.
    pub const SA_MASK: usize = 24;

    /// `struct sigcontext` (`asm/sigcontext.h`, 64-bit).
    pub const SIGCONTEXT_SIZE: usize = 256;
    /// Offsets in `struct sigcontext`, in the order of the structure: r8..r15,
    /// rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags.
    pub const SC_R8: usize = 0;
    /// `rip`.
    pub const SC_RIP: usize = 128;
    /// `eflags`.
    pub const SC_EFLAGS: usize = 136;
    /// `cs` (u16), then gs, fs, ss.
    pub const SC_CS: usize = 144;
    /// `ss` (u16).
    pub const SC_SS: usize = 150;
    /// `err`.
    pub const SC_ERR: usize = 152;
    /// `trapno`.
    pub const SC_TRAPNO: usize = 160;
    /// `oldmask`.
    pub const SC_OLDMASK: usize = 168;
    /// `cr2`.
    pub const SC_CR2: usize = 176;
    /// `fpstate` (pointer to the FXSAVE image).
    pub const SC_FPSTATE: usize = 184;

    /// The kernel's `struct ucontext` (`asm/ucontext.h`).
    pub const UC_FLAGS: usize = 0;
    /// `uc_link`.
    pub const UC_LINK: usize = 8;
    /// `uc_stack` (`stack_t`: sp, flags, size).
    pub const UC_STACK: usize = 16;
    /// `uc_mcontext`.
    pub const UC_MCONTEXT: usize = 40;
    /// `uc_sigmask`.
    pub const UC_SIGMASK: usize = 296;
    /// `sizeof(struct ucontext)`.
    pub const UCONTEXT_SIZE: usize = 304;

    /// `struct rt_sigframe` (`arch/x86/include/asm/sigframe.h`): the return
    /// address (`sa_restorer`), the ucontext, the siginfo.
    pub const RT_UC: usize = 8;
    /// Offset of `info`.
    pub const RT_INFO: usize = RT_UC + UCONTEXT_SIZE;
    /// `sizeof(struct rt_sigframe)`.
    pub const RT_FRAME_SIZE: usize = RT_INFO + 128;
    /// The FXSAVE image (`struct _fpstate_64`).
    pub const FPSTATE_SIZE: usize = 512;
    /// `uc_flags` Linux sets without XSAVE: `UC_SIGCONTEXT_SS |
    /// UC_STRICT_RESTORE_SS`.
    pub const UC_FLAGS_VALUE: u64 = 0x2 | 0x4;

    /// The kernel's `struct termios` (`asm/termbits.h`): four u32 flags,
    /// `c_line`, `c_cc[19]`.
    pub const TERMIOS_SIZE: usize = 36;

    /// `struct statfs` (`asm/statfs.h`).
    pub const STATFS_SIZE: usize = 120;
}

/// Selectors of a 64-bit user thread (Linux's GDT: `__USER_CS`, `__USER_DS`).
pub const USER_CS: u16 = 0x33;
/// `__USER_DS`.
pub const USER_DS: u16 = 0x2b;

/// RFLAGS bits a signal handler's `rt_sigreturn` may change (Linux's
/// `FIX_EFLAGS`: AC OF DF TF SF ZF AF PF CF RF).
pub const FIX_EFLAGS: u64 = (1 << 18)
    | (1 << 11)
    | (1 << 10)
    | (1 << 8)
    | (1 << 7)
    | (1 << 6)
    | (1 << 4)
    | (1 << 2)
    | 1
    | (1 << 16);
