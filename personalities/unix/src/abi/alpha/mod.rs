//! Linux/Alpha ABI numbers: system calls, errno values and signals, taken
//! from the Alpha cross headers (`alpha-abi-constants.txt` in the planning
//! repository's reference notes). They differ from x86-64's: the UNIX mound
//! translates per architecture through these tables.
//!
//! The system-call table is in `syscalls.rs`; the raw flag and constant
//! values (`o`, `map`, `sig`, `misc`) in `flags.rs`; the mound's
//! per-architecture tables built from them (`OPEN`, `MAP`, `SA`, `SIGNO`,
//! `MISC`, `SOCK`) in `tables.rs`. Errno values and signal names are here.

mod flags;
mod syscalls;
mod tables;

use super::{Errno, Signal};

pub use flags::{map, misc, o, sig};
pub use syscalls::SYSCALLS;
pub use tables::{MAP, MISC, OPEN, SA, SIGNO, SOCK};

/// errno values, `(name, number)`.
pub const ERRNOS: &[(&str, Errno)] = &[
    ("EPERM", 1),
    ("ENOENT", 2),
    ("EINTR", 4),
    ("EBADF", 9),
    ("EAGAIN", 35),
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
    ("EDEADLK", 11),
    ("ENAMETOOLONG", 63),
    ("ENOLCK", 77),
    ("ENOSYS", 78),
    ("ENOTEMPTY", 66),
    ("ELOOP", 62),
    ("EOPNOTSUPP", 45),
    ("ETIMEDOUT", 60),
    ("ECHILD", 10),
];

/// Signal numbers, `(name, number)`.
pub const SIGNALS: &[(&str, Signal)] = &[
    ("SIGHUP", 1),
    ("SIGINT", 2),
    ("SIGQUIT", 3),
    ("SIGILL", 4),
    ("SIGTRAP", 5),
    ("SIGABRT", 6),
    ("SIGBUS", 10),
    ("SIGFPE", 8),
    ("SIGKILL", 9),
    ("SIGUSR1", 30),
    ("SIGSEGV", 11),
    ("SIGUSR2", 31),
    ("SIGPIPE", 13),
    ("SIGALRM", 14),
    ("SIGTERM", 15),
    ("SIGCHLD", 20),
    ("SIGCONT", 19),
    ("SIGSTOP", 17),
    ("SIGTSTP", 18),
    ("SIGWINCH", 28),
    ("SIGSYS", 12),
    ("SA_RESTART", 2),
    ("SA_SIGINFO", 64),
    ("SA_NODEFER", 8),
    ("SA_RESETHAND", 16),
    ("SA_ONSTACK", 1),
    ("SIG_BLOCK", 1),
    ("SIG_UNBLOCK", 2),
    ("SIG_SETMASK", 3),
    ("_NSIG", 65),
];
