//! Linux/Alpha ABI numbers: system calls, errno values and signals, taken
//! from the Alpha cross headers (`alpha-abi-constants.txt` in the planning
//! repository's reference notes). They differ from x86-64's: the UNIX mound
//! translates per architecture through these tables.

use super::{Errno, Signal, SyscallNo};

/// Every Linux/Alpha system call by name, `(name, number)`, sorted by number
/// (from the cross headers' `asm/unistd_32.h`).
pub const SYSCALLS: &[(&str, SyscallNo)] = &[
    ("osf_syscall", 0),
    ("exit", 1),
    ("fork", 2),
    ("read", 3),
    ("write", 4),
    ("osf_old_open", 5),
    ("close", 6),
    ("osf_wait4", 7),
    ("osf_old_creat", 8),
    ("link", 9),
    ("unlink", 10),
    ("osf_execve", 11),
    ("chdir", 12),
    ("fchdir", 13),
    ("mknod", 14),
    ("chmod", 15),
    ("chown", 16),
    ("brk", 17),
    ("osf_getfsstat", 18),
    ("lseek", 19),
    ("getxpid", 20),
    ("osf_mount", 21),
    ("umount2", 22),
    ("setuid", 23),
    ("getxuid", 24),
    ("exec_with_loader", 25),
    ("ptrace", 26),
    ("osf_nrecvmsg", 27),
    ("osf_nsendmsg", 28),
    ("osf_nrecvfrom", 29),
    ("osf_naccept", 30),
    ("osf_ngetpeername", 31),
    ("osf_ngetsockname", 32),
    ("access", 33),
    ("osf_chflags", 34),
    ("osf_fchflags", 35),
    ("sync", 36),
    ("kill", 37),
    ("osf_old_stat", 38),
    ("setpgid", 39),
    ("osf_old_lstat", 40),
    ("dup", 41),
    ("pipe", 42),
    ("osf_set_program_attributes", 43),
    ("osf_profil", 44),
    ("open", 45),
    ("osf_old_sigaction", 46),
    ("getxgid", 47),
    ("osf_sigprocmask", 48),
    ("osf_getlogin", 49),
    ("osf_setlogin", 50),
    ("acct", 51),
    ("sigpending", 52),
    ("ioctl", 54),
    ("osf_reboot", 55),
    ("osf_revoke", 56),
    ("symlink", 57),
    ("readlink", 58),
    ("execve", 59),
    ("umask", 60),
    ("chroot", 61),
    ("osf_old_fstat", 62),
    ("getpgrp", 63),
    ("getpagesize", 64),
    ("osf_mremap", 65),
    ("vfork", 66),
    ("stat", 67),
    ("lstat", 68),
    ("osf_sbrk", 69),
    ("osf_sstk", 70),
    ("mmap", 71),
    ("osf_old_vadvise", 72),
    ("munmap", 73),
    ("mprotect", 74),
    ("madvise", 75),
    ("vhangup", 76),
    ("osf_kmodcall", 77),
    ("osf_mincore", 78),
    ("getgroups", 79),
    ("setgroups", 80),
    ("osf_old_getpgrp", 81),
    ("setpgrp", 82),
    ("osf_setitimer", 83),
    ("osf_old_wait", 84),
    ("osf_table", 85),
    ("osf_getitimer", 86),
    ("gethostname", 87),
    ("sethostname", 88),
    ("getdtablesize", 89),
    ("dup2", 90),
    ("fstat", 91),
    ("fcntl", 92),
    ("osf_select", 93),
    ("poll", 94),
    ("fsync", 95),
    ("setpriority", 96),
    ("socket", 97),
    ("connect", 98),
    ("accept", 99),
    ("getpriority", 100),
    ("send", 101),
    ("recv", 102),
    ("sigreturn", 103),
    ("bind", 104),
    ("setsockopt", 105),
    ("listen", 106),
    ("osf_plock", 107),
    ("osf_old_sigvec", 108),
    ("osf_old_sigblock", 109),
    ("osf_old_sigsetmask", 110),
    ("sigsuspend", 111),
    ("osf_sigstack", 112),
    ("recvmsg", 113),
    ("sendmsg", 114),
    ("osf_old_vtrace", 115),
    ("osf_gettimeofday", 116),
    ("osf_getrusage", 117),
    ("getsockopt", 118),
    ("readv", 120),
    ("writev", 121),
    ("osf_settimeofday", 122),
    ("fchown", 123),
    ("fchmod", 124),
    ("recvfrom", 125),
    ("setreuid", 126),
    ("setregid", 127),
    ("rename", 128),
    ("truncate", 129),
    ("ftruncate", 130),
    ("flock", 131),
    ("setgid", 132),
    ("sendto", 133),
    ("shutdown", 134),
    ("socketpair", 135),
    ("mkdir", 136),
    ("rmdir", 137),
    ("osf_utimes", 138),
    ("osf_old_sigreturn", 139),
    ("osf_adjtime", 140),
    ("getpeername", 141),
    ("osf_gethostid", 142),
    ("osf_sethostid", 143),
    ("getrlimit", 144),
    ("setrlimit", 145),
    ("osf_old_killpg", 146),
    ("setsid", 147),
    ("quotactl", 148),
    ("osf_oldquota", 149),
    ("getsockname", 150),
    ("osf_pid_block", 153),
    ("osf_pid_unblock", 154),
    ("sigaction", 156),
    ("osf_sigwaitprim", 157),
    ("osf_nfssvc", 158),
    ("osf_getdirentries", 159),
    ("osf_statfs", 160),
    ("osf_fstatfs", 161),
    ("osf_asynch_daemon", 163),
    ("osf_getfh", 164),
    ("osf_getdomainname", 165),
    ("setdomainname", 166),
    ("osf_exportfs", 169),
    ("osf_alt_plock", 181),
    ("osf_getmnt", 184),
    ("osf_alt_sigpending", 187),
    ("osf_alt_setsid", 188),
    ("osf_swapon", 199),
    ("msgctl", 200),
    ("msgget", 201),
    ("msgrcv", 202),
    ("msgsnd", 203),
    ("semctl", 204),
    ("semget", 205),
    ("semop", 206),
    ("osf_utsname", 207),
    ("lchown", 208),
    ("shmat", 209),
    ("shmctl", 210),
    ("shmdt", 211),
    ("shmget", 212),
    ("osf_mvalid", 213),
    ("osf_getaddressconf", 214),
    ("osf_msleep", 215),
    ("osf_mwakeup", 216),
    ("msync", 217),
    ("osf_signal", 218),
    ("osf_utc_gettime", 219),
    ("osf_utc_adjtime", 220),
    ("osf_security", 222),
    ("osf_kloadcall", 223),
    ("osf_stat", 224),
    ("osf_lstat", 225),
    ("osf_fstat", 226),
    ("osf_statfs64", 227),
    ("osf_fstatfs64", 228),
    ("getpgid", 233),
    ("getsid", 234),
    ("sigaltstack", 235),
    ("osf_waitid", 236),
    ("osf_priocntlset", 237),
    ("osf_sigsendset", 238),
    ("osf_set_speculative", 239),
    ("osf_msfs_syscall", 240),
    ("osf_sysinfo", 241),
    ("osf_uadmin", 242),
    ("osf_fuser", 243),
    ("osf_proplist_syscall", 244),
    ("osf_ntp_adjtime", 245),
    ("osf_ntp_gettime", 246),
    ("osf_pathconf", 247),
    ("osf_fpathconf", 248),
    ("osf_uswitch", 250),
    ("osf_usleep_thread", 251),
    ("osf_audcntl", 252),
    ("osf_audgen", 253),
    ("sysfs", 254),
    ("osf_subsys_info", 255),
    ("osf_getsysinfo", 256),
    ("osf_setsysinfo", 257),
    ("osf_afs_syscall", 258),
    ("osf_swapctl", 259),
    ("osf_memcntl", 260),
    ("osf_fdatasync", 261),
    ("bdflush", 300),
    ("sethae", 301),
    ("mount", 302),
    ("old_adjtimex", 303),
    ("swapoff", 304),
    ("getdents", 305),
    ("create_module", 306),
    ("init_module", 307),
    ("delete_module", 308),
    ("get_kernel_syms", 309),
    ("syslog", 310),
    ("reboot", 311),
    ("clone", 312),
    ("uselib", 313),
    ("mlock", 314),
    ("munlock", 315),
    ("mlockall", 316),
    ("munlockall", 317),
    ("sysinfo", 318),
    ("_sysctl", 319),
    ("oldumount", 321),
    ("swapon", 322),
    ("times", 323),
    ("personality", 324),
    ("setfsuid", 325),
    ("setfsgid", 326),
    ("ustat", 327),
    ("statfs", 328),
    ("fstatfs", 329),
    ("sched_setparam", 330),
    ("sched_getparam", 331),
    ("sched_setscheduler", 332),
    ("sched_getscheduler", 333),
    ("sched_yield", 334),
    ("sched_get_priority_max", 335),
    ("sched_get_priority_min", 336),
    ("sched_rr_get_interval", 337),
    ("afs_syscall", 338),
    ("uname", 339),
    ("nanosleep", 340),
    ("mremap", 341),
    ("nfsservctl", 342),
    ("setresuid", 343),
    ("getresuid", 344),
    ("pciconfig_read", 345),
    ("pciconfig_write", 346),
    ("query_module", 347),
    ("prctl", 348),
    ("pread64", 349),
    ("pwrite64", 350),
    ("rt_sigreturn", 351),
    ("rt_sigaction", 352),
    ("rt_sigprocmask", 353),
    ("rt_sigpending", 354),
    ("rt_sigtimedwait", 355),
    ("rt_sigqueueinfo", 356),
    ("rt_sigsuspend", 357),
    ("select", 358),
    ("gettimeofday", 359),
    ("settimeofday", 360),
    ("getitimer", 361),
    ("setitimer", 362),
    ("utimes", 363),
    ("getrusage", 364),
    ("wait4", 365),
    ("adjtimex", 366),
    ("getcwd", 367),
    ("capget", 368),
    ("capset", 369),
    ("sendfile", 370),
    ("setresgid", 371),
    ("getresgid", 372),
    ("dipc", 373),
    ("pivot_root", 374),
    ("mincore", 375),
    ("pciconfig_iobase", 376),
    ("getdents64", 377),
    ("gettid", 378),
    ("readahead", 379),
    ("tkill", 381),
    ("setxattr", 382),
    ("lsetxattr", 383),
    ("fsetxattr", 384),
    ("getxattr", 385),
    ("lgetxattr", 386),
    ("fgetxattr", 387),
    ("listxattr", 388),
    ("llistxattr", 389),
    ("flistxattr", 390),
    ("removexattr", 391),
    ("lremovexattr", 392),
    ("fremovexattr", 393),
    ("futex", 394),
    ("sched_setaffinity", 395),
    ("sched_getaffinity", 396),
    ("tuxcall", 397),
    ("io_setup", 398),
    ("io_destroy", 399),
    ("io_getevents", 400),
    ("io_submit", 401),
    ("io_cancel", 402),
    ("exit_group", 405),
    ("lookup_dcookie", 406),
    ("epoll_create", 407),
    ("epoll_ctl", 408),
    ("epoll_wait", 409),
    ("remap_file_pages", 410),
    ("set_tid_address", 411),
    ("restart_syscall", 412),
    ("fadvise64", 413),
    ("timer_create", 414),
    ("timer_settime", 415),
    ("timer_gettime", 416),
    ("timer_getoverrun", 417),
    ("timer_delete", 418),
    ("clock_settime", 419),
    ("clock_gettime", 420),
    ("clock_getres", 421),
    ("clock_nanosleep", 422),
    ("semtimedop", 423),
    ("tgkill", 424),
    ("stat64", 425),
    ("lstat64", 426),
    ("fstat64", 427),
    ("vserver", 428),
    ("mbind", 429),
    ("get_mempolicy", 430),
    ("set_mempolicy", 431),
    ("mq_open", 432),
    ("mq_unlink", 433),
    ("mq_timedsend", 434),
    ("mq_timedreceive", 435),
    ("mq_notify", 436),
    ("mq_getsetattr", 437),
    ("waitid", 438),
    ("add_key", 439),
    ("request_key", 440),
    ("keyctl", 441),
    ("ioprio_set", 442),
    ("ioprio_get", 443),
    ("inotify_init", 444),
    ("inotify_add_watch", 445),
    ("inotify_rm_watch", 446),
    ("fdatasync", 447),
    ("kexec_load", 448),
    ("migrate_pages", 449),
    ("openat", 450),
    ("mkdirat", 451),
    ("mknodat", 452),
    ("fchownat", 453),
    ("futimesat", 454),
    ("fstatat64", 455),
    ("unlinkat", 456),
    ("renameat", 457),
    ("linkat", 458),
    ("symlinkat", 459),
    ("readlinkat", 460),
    ("fchmodat", 461),
    ("faccessat", 462),
    ("pselect6", 463),
    ("ppoll", 464),
    ("unshare", 465),
    ("set_robust_list", 466),
    ("get_robust_list", 467),
    ("splice", 468),
    ("sync_file_range", 469),
    ("tee", 470),
    ("vmsplice", 471),
    ("move_pages", 472),
    ("getcpu", 473),
    ("epoll_pwait", 474),
    ("utimensat", 475),
    ("signalfd", 476),
    ("timerfd", 477),
    ("eventfd", 478),
    ("recvmmsg", 479),
    ("fallocate", 480),
    ("timerfd_create", 481),
    ("timerfd_settime", 482),
    ("timerfd_gettime", 483),
    ("signalfd4", 484),
    ("eventfd2", 485),
    ("epoll_create1", 486),
    ("dup3", 487),
    ("pipe2", 488),
    ("inotify_init1", 489),
    ("preadv", 490),
    ("pwritev", 491),
    ("rt_tgsigqueueinfo", 492),
    ("perf_event_open", 493),
    ("fanotify_init", 494),
    ("fanotify_mark", 495),
    ("prlimit64", 496),
    ("name_to_handle_at", 497),
    ("open_by_handle_at", 498),
    ("clock_adjtime", 499),
    ("syncfs", 500),
    ("setns", 501),
    ("accept4", 502),
    ("sendmmsg", 503),
    ("process_vm_readv", 504),
    ("process_vm_writev", 505),
    ("kcmp", 506),
    ("finit_module", 507),
    ("sched_setattr", 508),
    ("sched_getattr", 509),
    ("renameat2", 510),
    ("getrandom", 511),
    ("memfd_create", 512),
    ("execveat", 513),
    ("seccomp", 514),
    ("bpf", 515),
    ("userfaultfd", 516),
    ("membarrier", 517),
    ("mlock2", 518),
    ("copy_file_range", 519),
    ("preadv2", 520),
    ("pwritev2", 521),
    ("statx", 522),
    ("io_pgetevents", 523),
    ("pkey_mprotect", 524),
    ("pkey_alloc", 525),
    ("pkey_free", 526),
    ("rseq", 527),
    ("statfs64", 528),
    ("fstatfs64", 529),
    ("getegid", 530),
    ("geteuid", 531),
    ("getppid", 532),
    ("pidfd_send_signal", 534),
    ("io_uring_setup", 535),
    ("io_uring_enter", 536),
    ("io_uring_register", 537),
    ("open_tree", 538),
    ("move_mount", 539),
    ("fsopen", 540),
    ("fsconfig", 541),
    ("fsmount", 542),
    ("fspick", 543),
    ("pidfd_open", 544),
    ("close_range", 546),
    ("openat2", 547),
    ("pidfd_getfd", 548),
    ("faccessat2", 549),
    ("process_madvise", 550),
    ("epoll_pwait2", 551),
    ("mount_setattr", 552),
    ("quotactl_fd", 553),
    ("landlock_create_ruleset", 554),
    ("landlock_add_rule", 555),
    ("landlock_restrict_self", 556),
    ("process_mrelease", 558),
    ("futex_waitv", 559),
    ("set_mempolicy_home_node", 560),
];

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

/// [`o`] as the mound's per-architecture table.
pub const OPEN: super::OpenBits = super::OpenBits {
    WRONLY: o::WRONLY,
    RDWR: o::RDWR,
    ACCMODE: o::ACCMODE,
    NONBLOCK: o::NONBLOCK,
    APPEND: o::APPEND,
    CREAT: o::CREAT,
    TRUNC: o::TRUNC,
    EXCL: o::EXCL,
    NOCTTY: o::NOCTTY,
    DIRECTORY: o::DIRECTORY,
    NOFOLLOW: o::NOFOLLOW,
    CLOEXEC: o::CLOEXEC,
    PATH: o::PATH,
    TMPFILE: o::TMPFILE,
};

/// [`map`] as the mound's per-architecture table.
pub const MAP: super::MapBits = super::MapBits {
    SHARED: map::SHARED,
    PRIVATE: map::PRIVATE,
    FIXED: map::FIXED,
    ANONYMOUS: map::ANONYMOUS,
    GROWSDOWN: map::GROWSDOWN,
    NORESERVE: map::NORESERVE,
    POPULATE: map::POPULATE,
    STACK: map::STACK,
    FIXED_NOREPLACE: map::FIXED_NOREPLACE,
    MREMAP_MAYMOVE: map::MREMAP_MAYMOVE,
    MREMAP_FIXED: map::MREMAP_FIXED,
    MADV_DONTNEED: 6,
};

/// [`sig`] as the mound's per-architecture table.
pub const SA: super::SigFlags = super::SigFlags {
    SA_ONSTACK: sig::SA_ONSTACK,
    SA_RESTART: sig::SA_RESTART,
    SA_NOCLDSTOP: sig::SA_NOCLDSTOP,
    SA_NODEFER: sig::SA_NODEFER,
    SA_RESETHAND: sig::SA_RESETHAND,
    SA_NOCLDWAIT: sig::SA_NOCLDWAIT,
    SA_SIGINFO: sig::SA_SIGINFO,
    SA_RESTORER: 0,
    SS_ONSTACK: sig::SS_ONSTACK,
    SS_DISABLE: sig::SS_DISABLE,
    MINSIGSTKSZ: sig::MINSIGSTKSZ,
    SIG_BLOCK: 1,
    SIG_UNBLOCK: 2,
    SIG_SETMASK: 3,
};

/// Linux/Alpha signal numbers (`asm/signal.h`).
pub const SIGNO: super::SigNums = super::SigNums {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGILL: 4,
    SIGTRAP: 5,
    SIGABRT: 6,
    SIGEMT: 7,
    SIGFPE: 8,
    SIGKILL: 9,
    SIGBUS: 10,
    SIGSEGV: 11,
    SIGSYS: 12,
    SIGPIPE: 13,
    SIGALRM: 14,
    SIGTERM: 15,
    SIGURG: 16,
    SIGSTOP: 17,
    SIGTSTP: 18,
    SIGCONT: 19,
    SIGCHLD: 20,
    SIGTTIN: 21,
    SIGTTOU: 22,
    SIGIO: 23,
    SIGXCPU: 24,
    SIGXFSZ: 25,
    SIGVTALRM: 26,
    SIGPROF: 27,
    SIGWINCH: 28,
    SIGPWR: 29,
    SIGUSR1: 30,
    SIGUSR2: 31,
    SIGSTKFLT: 0,
};

/// [`misc`] as the mound's per-architecture table.
pub const MISC: super::Misc = super::Misc {
    AT_FDCWD: misc::AT_FDCWD,
    AT_SYMLINK_NOFOLLOW: misc::AT_SYMLINK_NOFOLLOW,
    AT_REMOVEDIR: misc::AT_REMOVEDIR,
    AT_EMPTY_PATH: misc::AT_EMPTY_PATH,
    F_DUPFD: misc::F_DUPFD,
    F_GETFD: misc::F_GETFD,
    F_SETFD: misc::F_SETFD,
    F_GETFL: misc::F_GETFL,
    F_SETFL: misc::F_SETFL,
    F_GETLK: misc::F_GETLK,
    F_SETLK: misc::F_SETLK,
    F_SETLKW: misc::F_SETLKW,
    F_SETOWN: 5,
    F_GETOWN: 6,
    F_DUPFD_CLOEXEC: misc::F_DUPFD_CLOEXEC,
    F_RDLCK: misc::F_RDLCK,
    F_WRLCK: misc::F_WRLCK,
    F_UNLCK: misc::F_UNLCK,
    TCGETS: misc::TCGETS,
    TCSETS: misc::TCSETS,
    TIOCGWINSZ: misc::TIOCGWINSZ,
    TIOCGPGRP: misc::TIOCGPGRP,
    FIONREAD: misc::FIONREAD,
    FIONBIO: misc::FIONBIO,
    WNOHANG: misc::WNOHANG,
    WUNTRACED: misc::WUNTRACED,
    CLONE_VM: misc::CLONE_VM,
    CLONE_FS: misc::CLONE_FS,
    CLONE_FILES: misc::CLONE_FILES,
    CLONE_SIGHAND: misc::CLONE_SIGHAND,
    CLONE_VFORK: misc::CLONE_VFORK,
    CLONE_PARENT: misc::CLONE_PARENT,
    CLONE_THREAD: misc::CLONE_THREAD,
    CLONE_SETTLS: misc::CLONE_SETTLS,
    CLONE_PARENT_SETTID: misc::CLONE_PARENT_SETTID,
    CLONE_CHILD_CLEARTID: misc::CLONE_CHILD_CLEARTID,
    CLONE_CHILD_SETTID: misc::CLONE_CHILD_SETTID,
    RLIMIT_STACK: 3,
    RLIMIT_CORE: 4,
    RLIMIT_NOFILE: 6,
};

/// Socket flags and options (`bits/socket_type.h`, `asm/socket.h`).
pub const SOCK: super::SockBits = super::SockBits {
    SOCK_NONBLOCK: 0x4000_0000,
    SOCK_CLOEXEC: 0o10_000_000,
    SOL_SOCKET: 0xffff,
    SO_REUSEADDR: 0x0004,
    SO_TYPE: 0x1008,
    SO_ERROR: 0x1007,
    SO_BROADCAST: 0x0020,
    SO_SNDBUF: 0x1001,
    SO_RCVBUF: 0x1002,
    SO_KEEPALIVE: 0x0008,
    SO_LINGER: 0x0080,
    SO_REUSEPORT: 0x0200,
    SO_RCVTIMEO: 0x1012,
    SO_SNDTIMEO: 0x1013,
    SO_ACCEPTCONN: 0x1014,
    SO_PROTOCOL: 0x1028,
    SO_DOMAIN: 0x1029,
};
