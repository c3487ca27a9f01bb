//! The x86-64 ABI tables of the UNIX mound against the host's own C
//! definitions: a small C program compiled natively at test time prints
//! sizes, offsets and constants from the UAPI and glibc headers, and every
//! number the mound uses is compared with it. Prints `SKIP:` (and passes)
//! when no C compiler is installed or the host is not x86-64.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use spin_unix::abi::{x86_64 as x, X86_64};

/// Kernel-header view: the structures the kernel itself copies to users.
const KERNEL_C: &str = r#"
#include <stddef.h>
#include <stdio.h>
#include <asm/stat.h>
#include <asm/sigcontext.h>
#include <asm/signal.h>
#include <asm/ucontext.h>
#include <asm/termbits.h>
#include <asm/statfs.h>
#include <asm/prctl.h>
#include <asm/ioctls.h>
#include <asm/fcntl.h>
#include <linux/mman.h>
#include <linux/signal.h>
#include <asm/errno.h>
#include <asm/resource.h>
#include <asm/unistd_64.h>
#define P(n) printf("%s %lld\n", #n, (long long)(n))
#define S(t) printf("sizeof_%s %zu\n", #t, sizeof(struct t))
#define O(t,f) printf("off_%s_%s %zu\n", #t, #f, offsetof(struct t, f))
int main(void) {
  S(stat); O(stat,st_nlink); O(stat,st_mode); O(stat,st_uid); O(stat,st_gid);
  O(stat,st_rdev); O(stat,st_size); O(stat,st_blksize); O(stat,st_blocks);
  O(stat,st_atime); O(stat,st_atime_nsec); O(stat,st_mtime); O(stat,st_mtime_nsec);
  O(stat,st_ctime); O(stat,st_ctime_nsec);
  S(sigcontext); O(sigcontext,r8); O(sigcontext,r9); O(sigcontext,r10); O(sigcontext,r11);
  O(sigcontext,r12); O(sigcontext,r13); O(sigcontext,r14); O(sigcontext,r15);
  O(sigcontext,rdi); O(sigcontext,rsi); O(sigcontext,rbp); O(sigcontext,rbx);
  O(sigcontext,rdx); O(sigcontext,rax); O(sigcontext,rcx); O(sigcontext,rsp);
  O(sigcontext,rip); O(sigcontext,eflags); O(sigcontext,cs); O(sigcontext,ss);
  O(sigcontext,err); O(sigcontext,trapno); O(sigcontext,oldmask); O(sigcontext,cr2);
  O(sigcontext,fpstate);
  S(_fpstate_64); O(_fpstate_64,cwd); O(_fpstate_64,mxcsr); O(_fpstate_64,xmm_space);
  S(ucontext); O(ucontext,uc_flags); O(ucontext,uc_link); O(ucontext,uc_stack);
  O(ucontext,uc_mcontext); O(ucontext,uc_sigmask);
  S(sigaction); O(sigaction,sa_flags); O(sigaction,sa_restorer); O(sigaction,sa_mask);
  S(termios); O(termios,c_line); O(termios,c_cc);
  S(statfs); O(statfs,f_fsid); O(statfs,f_namelen); O(statfs,f_frsize);
  P(SA_NOCLDSTOP); P(SA_NOCLDWAIT); P(SA_SIGINFO); P(SA_ONSTACK); P(SA_RESTART);
  P(SA_NODEFER); P(SA_RESETHAND); P(SA_RESTORER); P(MINSIGSTKSZ); P(SS_ONSTACK); P(SS_DISABLE);
  P(SIGHUP); P(SIGINT); P(SIGQUIT); P(SIGILL); P(SIGTRAP); P(SIGABRT); P(SIGBUS); P(SIGFPE);
  P(SIGKILL); P(SIGUSR1); P(SIGSEGV); P(SIGUSR2); P(SIGPIPE); P(SIGALRM); P(SIGTERM);
  P(SIGSTKFLT); P(SIGCHLD); P(SIGCONT); P(SIGSTOP); P(SIGTSTP); P(SIGTTIN); P(SIGTTOU);
  P(SIGURG); P(SIGXCPU); P(SIGXFSZ); P(SIGVTALRM); P(SIGPROF); P(SIGWINCH); P(SIGIO);
  P(SIGPWR); P(SIGSYS);
  P(ARCH_SET_GS); P(ARCH_SET_FS); P(ARCH_GET_FS); P(ARCH_GET_GS); P(ARCH_GET_CPUID); P(ARCH_SET_CPUID);
  P(TCGETS); P(TCSETS); P(TIOCGWINSZ); P(TIOCGPGRP); P(FIONREAD); P(FIONBIO);
  P(ICRNL); P(IXON); P(OPOST); P(ONLCR); P(B38400); P(CS8); P(CREAD); P(ISIG); P(ICANON);
  P(ECHO); P(ECHOE); P(ECHOK); P(IEXTEN); P(VINTR); P(VQUIT); P(VERASE); P(VKILL); P(VEOF);
  P(VMIN); P(VSTART); P(VSTOP); P(VSUSP);
  P(O_WRONLY); P(O_RDWR); P(O_ACCMODE); P(O_NONBLOCK); P(O_APPEND); P(O_CREAT); P(O_TRUNC);
  P(O_EXCL); P(O_NOCTTY); P(O_DIRECTORY); P(O_NOFOLLOW); P(O_CLOEXEC); P(O_PATH); P(O_TMPFILE);
  P(F_DUPFD); P(F_GETFD); P(F_SETFD); P(F_GETFL); P(F_SETFL); P(F_GETLK); P(F_SETLK);
  P(F_SETLKW); P(F_SETOWN); P(F_GETOWN); P(F_RDLCK); P(F_WRLCK); P(F_UNLCK);
  P(MAP_SHARED); P(MAP_PRIVATE); P(MAP_FIXED); P(MAP_ANONYMOUS); P(MAP_GROWSDOWN);
  P(MAP_NORESERVE); P(MAP_POPULATE); P(MAP_STACK); P(MAP_FIXED_NOREPLACE); P(MADV_DONTNEED);
  P(MREMAP_MAYMOVE); P(MREMAP_FIXED);
  P(RLIMIT_STACK); P(RLIMIT_CORE); P(RLIMIT_NOFILE);
  P(EPERM); P(ENOENT); P(EINTR); P(EBADF); P(EAGAIN); P(ENOMEM); P(EACCES); P(EFAULT);
  P(EEXIST); P(ENOTDIR); P(EISDIR); P(EINVAL); P(ENOTTY); P(ENOSPC); P(ESPIPE); P(EPIPE);
  P(ERANGE); P(EDEADLK); P(ENAMETOOLONG); P(ENOLCK); P(ENOSYS); P(ENOTEMPTY); P(ELOOP);
  P(EOPNOTSUPP); P(ETIMEDOUT); P(ECHILD);
  return 0;
}
"#;

/// glibc view: what libc and busybox put in and take out of memory.
const LIBC_C: &str = r#"
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <signal.h>
#include <fcntl.h>
#include <dirent.h>
#include <poll.h>
#include <sched.h>
#include <elf.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <time.h>
#define P(n) printf("%s %lld\n", #n, (long long)(n))
#define S(t) printf("sizeof_%s %zu\n", #t, sizeof(t))
#define O(t,f) printf("off_%s_%s %zu\n", #t, #f, offsetof(t, f))
int main(void) {
  S(siginfo_t); O(siginfo_t,si_signo); O(siginfo_t,si_code); O(siginfo_t,si_pid);
  O(siginfo_t,si_uid); O(siginfo_t,si_status); O(siginfo_t,si_addr);
  S(stack_t); O(stack_t,ss_sp); O(stack_t,ss_flags); O(stack_t,ss_size);
  S(struct utsname); S(struct sysinfo); O(struct sysinfo,uptime); O(struct sysinfo,totalram);
  O(struct sysinfo,freeram); O(struct sysinfo,procs); O(struct sysinfo,mem_unit);
  S(struct rusage); S(struct timespec); S(struct timeval); S(struct itimerval);
  S(struct rlimit); S(struct pollfd); S(struct winsize); S(struct flock);
  O(struct flock,l_type); O(struct flock,l_whence); O(struct flock,l_start);
  O(struct flock,l_len); O(struct flock,l_pid);
  S(struct dirent64); O(struct dirent64,d_ino); O(struct dirent64,d_off);
  O(struct dirent64,d_reclen); O(struct dirent64,d_type); O(struct dirent64,d_name);
  S(struct stat); S(Elf64_auxv_t);
  P(AT_FDCWD); P(AT_SYMLINK_NOFOLLOW); P(AT_REMOVEDIR); P(AT_EMPTY_PATH);
  P(F_DUPFD_CLOEXEC); P(WNOHANG); P(WUNTRACED);
  P(CLONE_VM); P(CLONE_FS); P(CLONE_FILES); P(CLONE_SIGHAND); P(CLONE_VFORK);
  P(CLONE_PARENT); P(CLONE_THREAD); P(CLONE_SETTLS); P(CLONE_PARENT_SETTID);
  P(CLONE_CHILD_CLEARTID); P(CLONE_CHILD_SETTID);
  P(POLLIN); P(POLLOUT); P(POLLERR); P(POLLHUP); P(POLLNVAL);
  P(PR_SET_NAME); P(PR_GET_NAME);
  P(AT_PHDR); P(AT_PAGESZ); P(AT_HWCAP); P(AT_CLKTCK); P(AT_PLATFORM); P(AT_SECURE);
  P(AT_RANDOM); P(AT_HWCAP2); P(AT_EXECFN); P(AT_MINSIGSTKSZ);
  P(SIG_BLOCK); P(SIG_UNBLOCK); P(SIG_SETMASK);
  return 0;
}
"#;

/// Compiles and runs `src`; `None` (with a SKIP line) when that is not possible.
fn c_values(name: &str, src: &str) -> Option<HashMap<String, i64>> {
    if !cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        println!("SKIP: the host is not x86-64 Linux");
        return None;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("x86_64_abi");
    std::fs::create_dir_all(&dir).ok()?;
    let c = dir.join(format!("{name}.c"));
    let exe = dir.join(name);
    std::fs::write(&c, src).ok()?;
    let out = match Command::new("gcc").arg("-o").arg(&exe).arg(&c).output() {
        Ok(o) => o,
        Err(e) => {
            println!("SKIP: gcc not available: {e}");
            return None;
        }
    };
    assert!(
        out.status.success(),
        "{name}.c does not compile:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().expect("run the probe");
    assert!(run.status.success());
    Some(
        String::from_utf8(run.stdout)
            .expect("ASCII")
            .lines()
            .map(|l| {
                let (k, v) = l.rsplit_once(" ").expect("NAME value");
                (k.to_string(), v.parse().expect("a number"))
            })
            .collect(),
    )
}

fn check(c: &HashMap<String, i64>, expect: &[(&str, i64)]) {
    let mut bad = Vec::new();
    for (name, ours) in expect {
        match c.get(*name) {
            Some(v) if v == ours => {}
            Some(v) => bad.push(format!("{name}: C says {v}, the mound {ours}")),
            None => bad.push(format!("{name}: not printed by the probe")),
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn kernel_structures_and_constants_match_the_host_headers() {
    let Some(c) = c_values("kernel", KERNEL_C) else {
        return;
    };
    use x::layout as l;
    let (o, m, sa, s, misc) = (X86_64.o, X86_64.map, X86_64.sa, X86_64.signo, X86_64.misc);
    let i = |v: u64| v as i64;
    let u = |v: usize| v as i64;
    let mut e: Vec<(&str, i64)> = vec![
        ("sizeof_stat", u(l::STAT_SIZE)),
        ("off_stat_st_nlink", u(l::ST_NLINK)),
        ("off_stat_st_mode", u(l::ST_MODE)),
        ("off_stat_st_uid", u(l::ST_UID)),
        ("off_stat_st_gid", u(l::ST_GID)),
        ("off_stat_st_rdev", u(l::ST_RDEV)),
        ("off_stat_st_size", u(l::ST_SIZE)),
        ("off_stat_st_blksize", u(l::ST_BLKSIZE)),
        ("off_stat_st_blocks", u(l::ST_BLOCKS)),
        ("off_stat_st_atime", u(l::ST_ATIME)),
        ("off_stat_st_atime_nsec", u(l::ST_ATIME + 8)),
        ("off_stat_st_mtime", u(l::ST_ATIME + 16)),
        ("off_stat_st_mtime_nsec", u(l::ST_ATIME + 24)),
        ("off_stat_st_ctime", u(l::ST_ATIME + 32)),
        ("off_stat_st_ctime_nsec", u(l::ST_ATIME + 40)),
        ("sizeof_sigcontext", u(l::SIGCONTEXT_SIZE)),
        ("off_sigcontext_r8", u(l::SC_R8)),
        ("off_sigcontext_rip", u(l::SC_RIP)),
        ("off_sigcontext_eflags", u(l::SC_EFLAGS)),
        ("off_sigcontext_cs", u(l::SC_CS)),
        ("off_sigcontext_ss", u(l::SC_SS)),
        ("off_sigcontext_err", u(l::SC_ERR)),
        ("off_sigcontext_trapno", u(l::SC_TRAPNO)),
        ("off_sigcontext_oldmask", u(l::SC_OLDMASK)),
        ("off_sigcontext_cr2", u(l::SC_CR2)),
        ("off_sigcontext_fpstate", u(l::SC_FPSTATE)),
        ("sizeof__fpstate_64", u(l::FPSTATE_SIZE)),
        ("off__fpstate_64_cwd", 0),
        ("off__fpstate_64_mxcsr", 24),
        ("off__fpstate_64_xmm_space", 160),
        ("sizeof_ucontext", u(l::UCONTEXT_SIZE)),
        ("off_ucontext_uc_flags", u(l::UC_FLAGS)),
        ("off_ucontext_uc_link", u(l::UC_LINK)),
        ("off_ucontext_uc_stack", u(l::UC_STACK)),
        ("off_ucontext_uc_mcontext", u(l::UC_MCONTEXT)),
        ("off_ucontext_uc_sigmask", u(l::UC_SIGMASK)),
        ("sizeof_sigaction", u(l::SIGACTION_SIZE)),
        ("off_sigaction_sa_flags", u(l::SA_FLAGS)),
        ("off_sigaction_sa_restorer", u(l::SA_RESTORER)),
        ("off_sigaction_sa_mask", u(l::SA_MASK)),
        ("sizeof_termios", u(l::TERMIOS_SIZE)),
        ("off_termios_c_line", 16),
        ("off_termios_c_cc", 17),
        ("sizeof_statfs", u(l::STATFS_SIZE)),
        ("off_statfs_f_fsid", 56),
        ("off_statfs_f_namelen", 64),
        ("off_statfs_f_frsize", 72),
        ("SA_NOCLDSTOP", i(sa.SA_NOCLDSTOP)),
        ("SA_NOCLDWAIT", i(sa.SA_NOCLDWAIT)),
        ("SA_SIGINFO", i(sa.SA_SIGINFO)),
        ("SA_ONSTACK", i(sa.SA_ONSTACK)),
        ("SA_RESTART", i(sa.SA_RESTART)),
        ("SA_NODEFER", i(sa.SA_NODEFER)),
        ("SA_RESETHAND", i(sa.SA_RESETHAND)),
        ("SA_RESTORER", i(sa.SA_RESTORER)),
        ("MINSIGSTKSZ", i(sa.MINSIGSTKSZ)),
        ("SS_ONSTACK", i(sa.SS_ONSTACK)),
        ("SS_DISABLE", i(sa.SS_DISABLE)),
        ("ARCH_SET_GS", i(x::arch_prctl::SET_GS)),
        ("ARCH_SET_FS", i(x::arch_prctl::SET_FS)),
        ("ARCH_GET_FS", i(x::arch_prctl::GET_FS)),
        ("ARCH_GET_GS", i(x::arch_prctl::GET_GS)),
        ("ARCH_GET_CPUID", i(x::arch_prctl::GET_CPUID)),
        ("ARCH_SET_CPUID", i(x::arch_prctl::SET_CPUID)),
        ("TCGETS", i(misc.TCGETS)),
        ("TCSETS", i(misc.TCSETS)),
        ("TIOCGWINSZ", i(misc.TIOCGWINSZ)),
        ("TIOCGPGRP", i(misc.TIOCGPGRP)),
        ("FIONREAD", i(misc.FIONREAD)),
        ("FIONBIO", i(misc.FIONBIO)),
        ("O_WRONLY", i(o.WRONLY)),
        ("O_RDWR", i(o.RDWR)),
        ("O_ACCMODE", i(o.ACCMODE)),
        ("O_NONBLOCK", i(o.NONBLOCK)),
        ("O_APPEND", i(o.APPEND)),
        ("O_CREAT", i(o.CREAT)),
        ("O_TRUNC", i(o.TRUNC)),
        ("O_EXCL", i(o.EXCL)),
        ("O_NOCTTY", i(o.NOCTTY)),
        ("O_DIRECTORY", i(o.DIRECTORY)),
        ("O_NOFOLLOW", i(o.NOFOLLOW)),
        ("O_CLOEXEC", i(o.CLOEXEC)),
        ("O_PATH", i(o.PATH)),
        ("O_TMPFILE", i(o.TMPFILE)),
        ("F_DUPFD", i(misc.F_DUPFD)),
        ("F_GETFD", i(misc.F_GETFD)),
        ("F_SETFD", i(misc.F_SETFD)),
        ("F_GETFL", i(misc.F_GETFL)),
        ("F_SETFL", i(misc.F_SETFL)),
        ("F_GETLK", i(misc.F_GETLK)),
        ("F_SETLK", i(misc.F_SETLK)),
        ("F_SETLKW", i(misc.F_SETLKW)),
        ("F_SETOWN", i(misc.F_SETOWN)),
        ("F_GETOWN", i(misc.F_GETOWN)),
        ("F_RDLCK", i64::from(misc.F_RDLCK)),
        ("F_WRLCK", i64::from(misc.F_WRLCK)),
        ("F_UNLCK", i64::from(misc.F_UNLCK)),
        ("MAP_SHARED", i(m.SHARED)),
        ("MAP_PRIVATE", i(m.PRIVATE)),
        ("MAP_FIXED", i(m.FIXED)),
        ("MAP_ANONYMOUS", i(m.ANONYMOUS)),
        ("MAP_GROWSDOWN", i(m.GROWSDOWN)),
        ("MAP_NORESERVE", i(m.NORESERVE)),
        ("MAP_POPULATE", i(m.POPULATE)),
        ("MAP_STACK", i(m.STACK)),
        ("MAP_FIXED_NOREPLACE", i(m.FIXED_NOREPLACE)),
        ("MADV_DONTNEED", i(m.MADV_DONTNEED)),
        ("MREMAP_MAYMOVE", i(m.MREMAP_MAYMOVE)),
        ("MREMAP_FIXED", i(m.MREMAP_FIXED)),
        ("RLIMIT_STACK", i(misc.RLIMIT_STACK)),
        ("RLIMIT_CORE", i(misc.RLIMIT_CORE)),
        ("RLIMIT_NOFILE", i(misc.RLIMIT_NOFILE)),
    ];
    let sigs: [(&str, u32); 31] = [
        ("SIGHUP", s.SIGHUP),
        ("SIGINT", s.SIGINT),
        ("SIGQUIT", s.SIGQUIT),
        ("SIGILL", s.SIGILL),
        ("SIGTRAP", s.SIGTRAP),
        ("SIGABRT", s.SIGABRT),
        ("SIGBUS", s.SIGBUS),
        ("SIGFPE", s.SIGFPE),
        ("SIGKILL", s.SIGKILL),
        ("SIGUSR1", s.SIGUSR1),
        ("SIGSEGV", s.SIGSEGV),
        ("SIGUSR2", s.SIGUSR2),
        ("SIGPIPE", s.SIGPIPE),
        ("SIGALRM", s.SIGALRM),
        ("SIGTERM", s.SIGTERM),
        ("SIGSTKFLT", s.SIGSTKFLT),
        ("SIGCHLD", s.SIGCHLD),
        ("SIGCONT", s.SIGCONT),
        ("SIGSTOP", s.SIGSTOP),
        ("SIGTSTP", s.SIGTSTP),
        ("SIGTTIN", s.SIGTTIN),
        ("SIGTTOU", s.SIGTTOU),
        ("SIGURG", s.SIGURG),
        ("SIGXCPU", s.SIGXCPU),
        ("SIGXFSZ", s.SIGXFSZ),
        ("SIGVTALRM", s.SIGVTALRM),
        ("SIGPROF", s.SIGPROF),
        ("SIGWINCH", s.SIGWINCH),
        ("SIGIO", s.SIGIO),
        ("SIGPWR", s.SIGPWR),
        ("SIGSYS", s.SIGSYS),
    ];
    e.extend(sigs.iter().map(|(n, v)| (*n, i64::from(*v))));
    // Every errno name the table has, and the sigaction constants it lists.
    let errnos = [
        "EPERM",
        "ENOENT",
        "EINTR",
        "EBADF",
        "EAGAIN",
        "ENOMEM",
        "EACCES",
        "EFAULT",
        "EEXIST",
        "ENOTDIR",
        "EISDIR",
        "EINVAL",
        "ENOTTY",
        "ENOSPC",
        "ESPIPE",
        "EPIPE",
        "ERANGE",
        "EDEADLK",
        "ENAMETOOLONG",
        "ENOLCK",
        "ENOSYS",
        "ENOTEMPTY",
        "ELOOP",
        "EOPNOTSUPP",
        "ETIMEDOUT",
        "ECHILD",
    ];
    for n in errnos {
        e.push((n, X86_64.errno(n).expect("named errno") as i64));
    }
    for n in [
        "SIGBUS",
        "SIGCHLD",
        "SIGUSR1",
        "SA_RESTORER",
        "SA_ONSTACK",
        "SA_RESTART",
    ] {
        e.push((n, i64::from(X86_64.signal(n).expect("named signal"))));
    }
    check(&c, &e);

    // The cooked terminal TCGETS returns uses the generic termios bits.
    let want_iflag = c["ICRNL"] | c["IXON"];
    let want_oflag = c["OPOST"] | c["ONLCR"];
    let want_cflag = c["B38400"] | c["CS8"] | c["CREAD"];
    let want_lflag = c["ISIG"] | c["ICANON"] | c["ECHO"] | c["ECHOE"] | c["ECHOK"] | c["IEXTEN"];
    assert_eq!(
        (want_iflag, want_oflag, want_cflag, want_lflag),
        (0o2400, 0o5, 0o277, 0o100073)
    );
    assert_eq!(
        [
            c["VINTR"],
            c["VQUIT"],
            c["VERASE"],
            c["VKILL"],
            c["VEOF"],
            c["VMIN"],
            c["VSTART"],
            c["VSTOP"],
            c["VSUSP"]
        ],
        [0, 1, 2, 3, 4, 6, 8, 9, 10]
    );
}

#[test]
fn every_busybox_system_call_is_in_the_generated_table() {
    // reference/kvm.md "What busybox needs" (53 calls), plus the old forms.
    let names = [
        "execve",
        "brk",
        "arch_prctl",
        "set_tid_address",
        "set_robust_list",
        "rseq",
        "prlimit64",
        "readlink",
        "getrandom",
        "mprotect",
        "prctl",
        "getuid",
        "read",
        "write",
        "newfstatat",
        "close",
        "openat",
        "clone",
        "wait4",
        "pipe2",
        "dup2",
        "rt_sigaction",
        "rt_sigreturn",
        "rt_sigprocmask",
        "rt_sigsuspend",
        "kill",
        "fcntl",
        "getdents64",
        "getpid",
        "getppid",
        "uname",
        "sendfile",
        "ioctl",
        "access",
        "lseek",
        "mmap",
        "munmap",
        "mremap",
        "unlink",
        "mkdir",
        "rmdir",
        "umask",
        "sysinfo",
        "clock_nanosleep",
        "rename",
        "chmod",
        "symlink",
        "utimensat",
        "chdir",
        "getgroups",
        "geteuid",
        "getgid",
        "getegid",
        "exit_group",
        "fork",
        "vfork",
        "pipe",
        "open",
        "stat",
        "lstat",
        "fstat",
        "time",
        "gettimeofday",
        "clock_gettime",
        "clone3",
    ];
    let src = {
        let mut s =
            String::from("#include <stdio.h>\n#include <asm/unistd_64.h>\nint main(void) {\n");
        for n in names {
            s.push_str(&format!("  printf(\"{n} %d\\n\", __NR_{n});\n"));
        }
        s.push_str("  return 0;\n}\n");
        s
    };
    let Some(c) = c_values("unistd", &src) else {
        return;
    };
    let e: Vec<(&str, i64)> = names
        .iter()
        .map(|n| (*n, X86_64.syscall(n).map_or(-1, |v| v as i64)))
        .collect();
    check(&c, &e);
}

#[test]
fn libc_structures_match_what_the_mound_writes() {
    let Some(c) = c_values("libc", LIBC_C) else {
        return;
    };
    let misc = X86_64.misc;
    let i = |v: u64| v as i64;
    check(
        &c,
        &[
            // siginfo: signo, code, then the union at 16 (SigInfo::to_bytes).
            ("sizeof_siginfo_t", 128),
            ("off_siginfo_t_si_signo", 0),
            ("off_siginfo_t_si_code", 8),
            ("off_siginfo_t_si_pid", 16),
            ("off_siginfo_t_si_uid", 20),
            ("off_siginfo_t_si_status", 24),
            ("off_siginfo_t_si_addr", 16),
            // stack_t (sigaltstack, uc_stack).
            ("sizeof_stack_t", 24),
            ("off_stack_t_ss_sp", 0),
            ("off_stack_t_ss_flags", 8),
            ("off_stack_t_ss_size", 16),
            // sysinfo as sys_sysinfo fills it.
            ("sizeof_struct utsname", 390),
            ("sizeof_struct sysinfo", 112),
            ("off_struct sysinfo_uptime", 0),
            ("off_struct sysinfo_totalram", 32),
            ("off_struct sysinfo_freeram", 40),
            ("off_struct sysinfo_procs", 80),
            ("off_struct sysinfo_mem_unit", 104),
            ("sizeof_struct rusage", 144),
            ("sizeof_struct timespec", 16),
            ("sizeof_struct timeval", 16),
            ("sizeof_struct itimerval", 32),
            ("sizeof_struct rlimit", 16),
            ("sizeof_struct pollfd", 8),
            ("sizeof_struct winsize", 8),
            ("sizeof_struct flock", 32),
            ("off_struct flock_l_type", 0),
            ("off_struct flock_l_whence", 2),
            ("off_struct flock_l_start", 8),
            ("off_struct flock_l_len", 16),
            ("off_struct flock_l_pid", 24),
            ("off_struct dirent64_d_ino", 0),
            ("off_struct dirent64_d_off", 8),
            ("off_struct dirent64_d_reclen", 16),
            ("off_struct dirent64_d_type", 18),
            ("off_struct dirent64_d_name", 19),
            // glibc's x86-64 struct stat is the kernel's.
            ("sizeof_struct stat", x::layout::STAT_SIZE as i64),
            ("sizeof_Elf64_auxv_t", 16),
            ("AT_FDCWD", misc.AT_FDCWD),
            ("AT_SYMLINK_NOFOLLOW", i(misc.AT_SYMLINK_NOFOLLOW)),
            ("AT_REMOVEDIR", i(misc.AT_REMOVEDIR)),
            ("AT_EMPTY_PATH", i(misc.AT_EMPTY_PATH)),
            ("F_DUPFD_CLOEXEC", i(misc.F_DUPFD_CLOEXEC)),
            ("WNOHANG", i(misc.WNOHANG)),
            ("WUNTRACED", i(misc.WUNTRACED)),
            ("CLONE_VM", i(misc.CLONE_VM)),
            ("CLONE_FS", i(misc.CLONE_FS)),
            ("CLONE_FILES", i(misc.CLONE_FILES)),
            ("CLONE_SIGHAND", i(misc.CLONE_SIGHAND)),
            ("CLONE_VFORK", i(misc.CLONE_VFORK)),
            ("CLONE_PARENT", i(misc.CLONE_PARENT)),
            ("CLONE_THREAD", i(misc.CLONE_THREAD)),
            ("CLONE_SETTLS", i(misc.CLONE_SETTLS)),
            ("CLONE_PARENT_SETTID", i(misc.CLONE_PARENT_SETTID)),
            ("CLONE_CHILD_CLEARTID", i(misc.CLONE_CHILD_CLEARTID)),
            ("CLONE_CHILD_SETTID", i(misc.CLONE_CHILD_SETTID)),
            // poll bits the mound hard-codes (the same on Alpha).
            ("POLLIN", 1),
            ("POLLOUT", 4),
            ("POLLERR", 8),
            ("POLLHUP", 0x10),
            ("POLLNVAL", 0x20),
            ("PR_SET_NAME", 15),
            ("PR_GET_NAME", 16),
            // auxv keys build_stack_for writes.
            ("AT_PHDR", 3),
            ("AT_PAGESZ", 6),
            ("AT_HWCAP", 16),
            ("AT_CLKTCK", 17),
            ("AT_PLATFORM", 15),
            ("AT_SECURE", 23),
            ("AT_RANDOM", 25),
            ("AT_HWCAP2", 26),
            ("AT_EXECFN", 31),
            ("AT_MINSIGSTKSZ", 51),
            ("SIG_BLOCK", X86_64.sa.SIG_BLOCK as i64),
            ("SIG_UNBLOCK", X86_64.sa.SIG_UNBLOCK as i64),
            ("SIG_SETMASK", X86_64.sa.SIG_SETMASK as i64),
            (
                "SIG_BLOCK",
                i64::from(X86_64.signal("SIG_BLOCK").expect("named")),
            ),
            (
                "SIG_UNBLOCK",
                i64::from(X86_64.signal("SIG_UNBLOCK").expect("named")),
            ),
            (
                "SIG_SETMASK",
                i64::from(X86_64.signal("SIG_SETMASK").expect("named")),
            ),
        ],
    );
}
