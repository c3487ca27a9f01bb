//! Linux/Alpha flag bits and constants by their C names, grouped as the
//! headers group them: `open`/`fcntl` flags, `mmap`/`mremap`, signal
//! actions and stacks, and the rest (`*at` flags, `fcntl` commands,
//! ioctls, `wait` options, `clone` flags, `osf_{get,set}sysinfo` keys).

/// `open`/`fcntl` flag bits (Alpha values; they differ from x86-64's).
pub mod o {
    /// O_WRONLY.
    pub const WRONLY: u64 = 0x1;
    /// O_RDWR.
    pub const RDWR: u64 = 0x2;
    /// O_ACCMODE.
    pub const ACCMODE: u64 = 0x3;
    /// O_NONBLOCK.
    pub const NONBLOCK: u64 = 0x4;
    /// O_APPEND.
    pub const APPEND: u64 = 0x8;
    /// O_CREAT.
    pub const CREAT: u64 = 0x200;
    /// O_TRUNC.
    pub const TRUNC: u64 = 0x400;
    /// O_EXCL.
    pub const EXCL: u64 = 0x800;
    /// O_NOCTTY.
    pub const NOCTTY: u64 = 0x1000;
    /// O_DIRECTORY.
    pub const DIRECTORY: u64 = 0x8000;
    /// O_NOFOLLOW.
    pub const NOFOLLOW: u64 = 0x10000;
    /// O_CLOEXEC.
    pub const CLOEXEC: u64 = 0x20_0000;
    /// O_PATH.
    pub const PATH: u64 = 0x80_0000;
    /// O_TMPFILE (includes O_DIRECTORY).
    pub const TMPFILE: u64 = 0x100_8000;
}

/// `mmap` bits (Alpha values).
pub mod map {
    /// MAP_SHARED.
    pub const SHARED: u64 = 0x1;
    /// MAP_PRIVATE.
    pub const PRIVATE: u64 = 0x2;
    /// MAP_FIXED.
    pub const FIXED: u64 = 0x100;
    /// MAP_ANONYMOUS.
    pub const ANONYMOUS: u64 = 0x10;
    /// MAP_GROWSDOWN.
    pub const GROWSDOWN: u64 = 0x1000;
    /// MAP_NORESERVE.
    pub const NORESERVE: u64 = 0x10000;
    /// MAP_POPULATE.
    pub const POPULATE: u64 = 0x20000;
    /// MAP_STACK.
    pub const STACK: u64 = 0x80000;
    /// MAP_FIXED_NOREPLACE.
    pub const FIXED_NOREPLACE: u64 = 0x20_0000;
    /// MREMAP_MAYMOVE.
    pub const MREMAP_MAYMOVE: u64 = 1;
    /// MREMAP_FIXED.
    pub const MREMAP_FIXED: u64 = 2;
}

/// Signal-related constants (Alpha values).
pub mod sig {
    /// SA_ONSTACK.
    pub const SA_ONSTACK: u64 = 0x1;
    /// SA_RESTART.
    pub const SA_RESTART: u64 = 0x2;
    /// SA_NOCLDSTOP.
    pub const SA_NOCLDSTOP: u64 = 0x4;
    /// SA_NODEFER.
    pub const SA_NODEFER: u64 = 0x8;
    /// SA_RESETHAND.
    pub const SA_RESETHAND: u64 = 0x10;
    /// SA_NOCLDWAIT.
    pub const SA_NOCLDWAIT: u64 = 0x20;
    /// SA_SIGINFO.
    pub const SA_SIGINFO: u64 = 0x40;
    /// SS_ONSTACK (sigaltstack flag: currently on it).
    pub const SS_ONSTACK: u64 = 1;
    /// SS_DISABLE.
    pub const SS_DISABLE: u64 = 2;
    /// MINSIGSTKSZ.
    pub const MINSIGSTKSZ: u64 = 4096;
}

/// Miscellaneous numbers (Alpha values).
pub mod misc {
    /// AT_FDCWD.
    pub const AT_FDCWD: i64 = -100;
    /// AT_SYMLINK_NOFOLLOW.
    pub const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
    /// AT_REMOVEDIR.
    pub const AT_REMOVEDIR: u64 = 0x200;
    /// AT_EMPTY_PATH.
    pub const AT_EMPTY_PATH: u64 = 0x1000;
    /// F_DUPFD.
    pub const F_DUPFD: u64 = 0;
    /// F_GETFD.
    pub const F_GETFD: u64 = 1;
    /// F_SETFD.
    pub const F_SETFD: u64 = 2;
    /// F_GETFL.
    pub const F_GETFL: u64 = 3;
    /// F_SETFL.
    pub const F_SETFL: u64 = 4;
    /// F_GETLK.
    pub const F_GETLK: u64 = 7;
    /// F_SETLK.
    pub const F_SETLK: u64 = 8;
    /// F_SETLKW.
    pub const F_SETLKW: u64 = 9;
    /// F_DUPFD_CLOEXEC.
    pub const F_DUPFD_CLOEXEC: u64 = 1030;
    /// F_RDLCK.
    pub const F_RDLCK: u16 = 1;
    /// F_WRLCK.
    pub const F_WRLCK: u16 = 2;
    /// F_UNLCK.
    pub const F_UNLCK: u16 = 8;
    /// TCGETS.
    pub const TCGETS: u64 = 0x402c_7413;
    /// TCSETS.
    pub const TCSETS: u64 = 0x802c_7414;
    /// TIOCGWINSZ.
    pub const TIOCGWINSZ: u64 = 0x4008_7468;
    /// TIOCGPGRP.
    pub const TIOCGPGRP: u64 = 0x4004_7477;
    /// FIONREAD.
    pub const FIONREAD: u64 = 0x4004_667f;
    /// FIONBIO.
    pub const FIONBIO: u64 = 0x8004_667e;
    /// WNOHANG.
    pub const WNOHANG: u64 = 1;
    /// WUNTRACED.
    pub const WUNTRACED: u64 = 2;
    /// CLONE_VM.
    pub const CLONE_VM: u64 = 0x100;
    /// CLONE_FS.
    pub const CLONE_FS: u64 = 0x200;
    /// CLONE_FILES.
    pub const CLONE_FILES: u64 = 0x400;
    /// CLONE_SIGHAND.
    pub const CLONE_SIGHAND: u64 = 0x800;
    /// CLONE_VFORK.
    pub const CLONE_VFORK: u64 = 0x4000;
    /// CLONE_PARENT.
    pub const CLONE_PARENT: u64 = 0x8000;
    /// CLONE_THREAD.
    pub const CLONE_THREAD: u64 = 0x10000;
    /// CLONE_SETTLS.
    pub const CLONE_SETTLS: u64 = 0x80000;
    /// CLONE_PARENT_SETTID.
    pub const CLONE_PARENT_SETTID: u64 = 0x10_0000;
    /// CLONE_CHILD_CLEARTID.
    pub const CLONE_CHILD_CLEARTID: u64 = 0x20_0000;
    /// CLONE_CHILD_SETTID.
    pub const CLONE_CHILD_SETTID: u64 = 0x100_0000;
    /// GSI_IEEE_FP_CONTROL (osf_getsysinfo).
    pub const GSI_IEEE_FP_CONTROL: u64 = 45;
    /// SSI_IEEE_FP_CONTROL (osf_setsysinfo).
    pub const SSI_IEEE_FP_CONTROL: u64 = 14;
    /// GSI_UACPROC.
    pub const GSI_UACPROC: u64 = 8;
    /// SSI_NVPAIRS.
    pub const SSI_NVPAIRS: u64 = 1;
    /// SSI_IEEE_STATE_AT_SIGNAL.
    pub const SSI_IEEE_STATE_AT_SIGNAL: u64 = 15;
    /// SSI_IEEE_IGNORE_STATE_AT_SIGNAL.
    pub const SSI_IEEE_IGNORE_STATE_AT_SIGNAL: u64 = 16;
}
