//! The UNIX mound with an x86-64 register file, driven the way the KVM
//! machine will drive it but without a CPU: the test loads real static
//! x86-64 programs (`make -C guest/unix x86_64`, Debian's busybox-static),
//! then plays the CPU — it sets rax/rdi/... and reports `Trap::Syscall`,
//! page faults and exceptions — and checks what the mound leaves in the
//! registers and in guest memory: the ELF load, the initial stack and auxv,
//! system-call results and layouts, signal frames and `rt_sigreturn`,
//! `fork`/`wait4`, faults turned into signals.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use spin_kernel::machine::{new_guest_ram, SyscallResult};
use spin_kernel::mem::AddressSpace;
use spin_kernel::mound::{GuestMound, Resume, StrandHost, TrapOutcome};
use spin_kernel::{
    Access, Arch, Cap, Kernel, KernelConfig, MoundId, Nanos, RegisterFile, SchedParams, SpawnError,
    StrandId, Trap,
};
use spin_unix::abi::X86_64;
use spin_unix::{GuestFile, Stdio, UnixConfig, UnixMound};

// ---- a test x86-64 register file ---------------------------------------

const RAX: usize = 0;
const RCX: usize = 1;
const RDX: usize = 2;
const RSP: usize = 4;
const RSI: usize = 6;
const RDI: usize = 7;
const R10: usize = 10;
const R11: usize = 11;
const R8: usize = 8;
const R9: usize = 9;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Regs {
    gpr: [u64; 16],
    rip: u64,
    rflags: u64,
    fs: u64,
    fx: Vec<u8>,
}

impl Default for Regs {
    fn default() -> Self {
        let mut fx = vec![0u8; 512];
        fx[0..2].copy_from_slice(&0x37fu16.to_le_bytes());
        fx[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        Regs {
            gpr: [0; 16],
            rip: 0,
            rflags: 0x202,
            fs: 0,
            fx,
        }
    }
}

impl RegisterFile for Regs {
    const ARCH: Arch = Arch::X86_64;
    fn pc(&self) -> u64 {
        self.rip
    }
    fn set_pc(&mut self, pc: u64) {
        self.rip = pc;
    }
    fn sp(&self) -> u64 {
        self.gpr[RSP]
    }
    fn set_sp(&mut self, sp: u64) {
        self.gpr[RSP] = sp;
    }
    fn gpr(&self, n: usize) -> u64 {
        self.gpr.get(n).copied().unwrap_or(0)
    }
    fn set_gpr(&mut self, n: usize, v: u64) {
        if let Some(r) = self.gpr.get_mut(n) {
            *r = v;
        }
    }
    fn thread_pointer(&self) -> u64 {
        self.fs
    }
    fn set_thread_pointer(&mut self, tp: u64) {
        self.fs = tp;
    }
    fn syscall_number(&self) -> u64 {
        self.gpr[RAX]
    }
    fn syscall_arg(&self, i: usize) -> u64 {
        [RDI, RSI, RDX, R10, R8, R9]
            .get(i)
            .map_or(0, |&r| self.gpr[r])
    }
    fn set_syscall_result(&mut self, r: SyscallResult) {
        self.gpr[RAX] = match r {
            Ok(v) => v,
            Err(e) => (e as i64).wrapping_neg() as u64,
        };
    }
    fn fpr(&self, n: usize) -> u64 {
        let at = 160 + 16 * (n & 15);
        u64::from_le_bytes(self.fx[at..at + 8].try_into().unwrap())
    }
    fn set_fpr(&mut self, n: usize, v: u64) {
        let at = 160 + 16 * (n & 15);
        self.fx[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
    fn fp_control(&self) -> u64 {
        u64::from(u32::from_le_bytes(self.fx[24..28].try_into().unwrap()))
    }
    fn set_fp_control(&mut self, v: u64) {
        self.fx[24..28].copy_from_slice(&(v as u32).to_le_bytes());
    }
    fn flags_register(&self) -> u64 {
        self.rflags
    }
    fn set_flags_register(&mut self, v: u64) {
        self.rflags = (v & 0x3f_7fd5) | 0x2;
    }
    fn fp_state(&self) -> Vec<u8> {
        self.fx.clone()
    }
    fn set_fp_state(&mut self, image: &[u8]) {
        self.fx = image.to_vec();
    }
}

// ---- a host that records strands ---------------------------------------

struct Strand {
    id: StrandId,
    regs: Regs,
    space: Cap<AddressSpace>,
}

#[derive(Default)]
struct Host {
    now: Nanos,
    next: u32,
    spawned: Vec<Strand>,
}

impl StrandHost<Regs> for Host {
    fn now(&self) -> Nanos {
        self.now
    }
    fn spawn(
        &mut self,
        _name: &str,
        _mound: MoundId,
        _params: SchedParams,
        regs: Regs,
        space: Cap<AddressSpace>,
    ) -> Result<StrandId, SpawnError> {
        self.next += 1;
        let id = StrandId(self.next);
        self.spawned.push(Strand { id, regs, space });
        Ok(id)
    }
    fn unblock(&mut self, _strand: StrandId) {}
}

struct Guest {
    mound: UnixMound<Regs>,
    host: Host,
    out: Arc<Mutex<Vec<u8>>>,
}

/// The x86-64 guest programs, built once into target/guest-unix (as the
/// other end-to-end tests build them).
fn programs_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let build = root.join("target").join("guest-unix");
        let _ = std::process::Command::new("make")
            .args(["-s", "-C"])
            .arg(root.join("guest/unix"))
            .arg(format!("BUILD={}", build.display()))
            .arg("x86_64")
            .status();
        build.join("x86_64")
    })
    .clone()
}

fn program(name: &str) -> Option<Vec<u8>> {
    let p = programs_dir().join(name);
    match std::fs::read(&p) {
        Ok(b) => Some(b),
        Err(_) => {
            println!("SKIP: {} missing (make -C guest/unix x86_64)", p.display());
            None
        }
    }
}

impl Guest {
    /// A mound running `bytes` as /bin/prog with `argv`; its first strand
    /// is `self.host.spawned[0]`.
    fn start(bytes: Vec<u8>, argv: &[&str]) -> Guest {
        let (kernel, _auth) = Kernel::boot(
            new_guest_ram(64 << 20).unwrap(),
            KernelConfig {
                arch: Arch::X86_64,
                ..KernelConfig::default()
            },
        );
        let out = Arc::new(Mutex::new(Vec::new()));
        let mut cfg = UnixConfig::new(
            "x86",
            b"/bin/prog".to_vec(),
            argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
        );
        cfg.envp = vec![b"HOME=/".to_vec(), b"PATH=/bin".to_vec()];
        cfg.files = vec![GuestFile {
            path: b"/bin/prog".to_vec(),
            bytes: bytes.into(),
            mode: 0o755,
        }];
        // Standard output is a terminal (the tty ioctls are tested);
        // standard error a plain capture.
        cfg.stdout = Stdio::Terminal(spin_unix::SharedWriter::new(spin_unix::CaptureWriter(
            out.clone(),
        )));
        cfg.stderr = Stdio::Capture(out.clone());
        cfg.stdin = Stdio::Null;
        cfg.realtime_base = Some(1_700_000_000_000_000_000);
        let mut mound = UnixMound::<Regs>::new(kernel, MoundId(1), cfg, Arc::new(|_| {})).unwrap();
        let mut host = Host::default();
        mound.start(&mut host).unwrap();
        Guest { mound, host, out }
    }

    fn strand(&mut self, i: usize) -> &mut Strand {
        &mut self.host.spawned[i]
    }

    /// Reads guest memory of strand `i`, faulting pages in as a CPU would.
    fn read(&mut self, i: usize, va: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0u8; len];
        for _ in 0..64 {
            match self.host.spawned[i].space.read(va, &mut buf) {
                Ok(()) => return buf,
                Err((at, _)) => {
                    let t = Trap::PageFault {
                        va: at,
                        access: Access::Read,
                        pc: 0,
                    };
                    assert_eq!(self.trap(i, t), TrapOutcome::Continue);
                }
            }
        }
        panic!("cannot read {va:#x}");
    }

    fn write(&mut self, i: usize, va: u64, data: &[u8]) {
        for _ in 0..64 {
            match self.host.spawned[i].space.write(va, data) {
                Ok(()) => return,
                Err((at, _)) => {
                    let t = Trap::PageFault {
                        va: at,
                        access: Access::Write,
                        pc: 0,
                    };
                    assert_eq!(self.trap(i, t), TrapOutcome::Continue);
                }
            }
        }
        panic!("cannot write {va:#x}");
    }

    fn u64_at(&mut self, i: usize, va: u64) -> u64 {
        u64::from_le_bytes(self.read(i, va, 8).try_into().unwrap())
    }

    fn trap(&mut self, i: usize, t: Trap) -> TrapOutcome {
        let s = &mut self.host.spawned[i];
        let (id, mut regs, mut space) = (s.id, s.regs.clone(), s.space.clone());
        let r = self
            .mound
            .trap(id, &mut regs, &mut space, t, &mut self.host);
        let s = &mut self.host.spawned[i];
        s.regs = regs;
        s.space = space;
        r
    }

    fn resume(&mut self, i: usize) -> Resume {
        let s = &mut self.host.spawned[i];
        let (id, mut regs, mut space) = (s.id, s.regs.clone(), s.space.clone());
        let r = self.mound.resume(id, &mut regs, &mut space, &mut self.host);
        let s = &mut self.host.spawned[i];
        s.regs = regs;
        s.space = space;
        r
    }

    /// Strand `i` executes `syscall` (at its rip) for `name` with `args`:
    /// returns the outcome and rax.
    fn sys(&mut self, i: usize, name: &str, args: &[u64]) -> (TrapOutcome, i64) {
        let nr = X86_64
            .syscall(name)
            .unwrap_or_else(|| panic!("{name}: no such x86-64 call"));
        self.sys_nr(i, nr, args)
    }

    fn sys_nr(&mut self, i: usize, nr: u64, args: &[u64]) -> (TrapOutcome, i64) {
        let s = self.strand(i);
        s.regs.gpr[RAX] = nr;
        for (k, &reg) in [RDI, RSI, RDX, R10, R8, R9].iter().enumerate() {
            s.regs.gpr[reg] = args.get(k).copied().unwrap_or(0);
        }
        // `syscall` is 2 bytes; it leaves the return address in rcx and
        // rflags in r11, and the trap reports rip past it.
        s.regs.rip += 2;
        s.regs.gpr[RCX] = s.regs.rip;
        s.regs.gpr[R11] = s.regs.rflags;
        let r = self.trap(i, Trap::Syscall);
        (r, self.host.spawned[i].regs.gpr[RAX] as i64)
    }

    /// `sys` expecting success.
    fn ok(&mut self, i: usize, name: &str, args: &[u64]) -> u64 {
        let (o, v) = self.sys(i, name, args);
        assert_eq!(o, TrapOutcome::Continue, "{name}");
        assert!(v >= 0, "{name} failed: {v}");
        v as u64
    }

    /// Scratch memory for arguments (an anonymous mapping).
    fn scratch(&mut self, i: usize, len: u64) -> u64 {
        // PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS.
        self.ok(i, "mmap", &[0, len, 3, 0x22, u64::MAX, 0])
    }

    fn cstr(&mut self, i: usize, va: u64, s: &str) -> u64 {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.write(i, va, &b);
        va
    }

    fn output(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }
}

fn elf_entry(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes[24..32].try_into().unwrap())
}

const ENOENT: i64 = -2;
const EBADF: i64 = -9;
const EINVAL: i64 = -22;
const ENOTTY: i64 = -25;
const EPERM: i64 = -1;
const EFAULT: i64 = -14;
const ENOSYS: i64 = -38;

// ---- the tests ---------------------------------------------------------

#[test]
fn elf_load_and_initial_stack_follow_linux_x86_64() {
    let Some(bytes) = program("hello") else {
        return;
    };
    let entry = elf_entry(&bytes);
    let mut g = Guest::start(bytes, &["prog", "one", "two"]);
    assert_eq!(g.host.spawned.len(), 1);
    let regs = g.strand(0).regs.clone();
    assert_eq!(regs.rip, entry);
    let sp = regs.gpr[RSP];
    assert_eq!(sp % 16, 0, "rsp 16-byte aligned at _start");
    assert_eq!(regs.gpr[RDX], 0, "no atexit hook in rdx");
    assert!(sp < 0x7fff_ffff_f000 && sp > 0x7fff_0000_0000, "{sp:#x}");
    // argc, argv, envp.
    assert_eq!(g.u64_at(0, sp), 3);
    let mut strs = Vec::new();
    for k in 0..3 {
        let p = g.u64_at(0, sp + 8 + 8 * k);
        let s = g.read(0, p, 3);
        strs.push(String::from_utf8_lossy(&s).into_owned());
    }
    assert_eq!(strs, ["pro", "one", "two"]);
    assert_eq!(g.u64_at(0, sp + 32), 0);
    let env0 = g.u64_at(0, sp + 40);
    assert_eq!(g.read(0, env0, 7), b"HOME=/\0");
    assert_eq!(g.u64_at(0, sp + 56), 0);
    // auxv in Linux's order.
    let mut at = sp + 64;
    let mut aux = Vec::new();
    loop {
        let k = g.u64_at(0, at);
        let v = g.u64_at(0, at + 8);
        aux.push((k, v));
        at += 16;
        if k == 0 {
            break;
        }
    }
    let keys: Vec<u64> = aux.iter().map(|a| a.0).collect();
    assert_eq!(
        keys,
        [51, 16, 6, 17, 3, 4, 5, 7, 8, 9, 11, 12, 13, 14, 23, 25, 26, 31, 15, 0],
        "MINSIGSTKSZ HWCAP PAGESZ CLKTCK PHDR PHENT PHNUM BASE FLAGS ENTRY UID EUID GID EGID SECURE RANDOM HWCAP2 EXECFN PLATFORM NULL"
    );
    let get = |k: u64| aux.iter().find(|a| a.0 == k).unwrap().1;
    assert_eq!(get(6), 4096);
    assert_eq!(get(9), entry);
    assert_eq!(get(4), 56);
    assert_eq!(get(11), 1000);
    assert_eq!(get(23), 0);
    assert_eq!(get(17), 100);
    let platform = get(15);
    assert_eq!(g.read(0, platform, 7), b"x86_64\0");
    let execfn = get(31);
    assert_eq!(g.read(0, execfn, 10), b"/bin/prog\0");
    let random = get(25);
    assert_eq!(random % 16, 0);
    assert_ne!(g.read(0, random, 16), [0u8; 16]);
    // AT_PHDR points at the program headers in memory.
    let phdr = get(3);
    let ph = g.read(0, phdr, 4);
    assert!(ph[0] <= 7, "a PT_* type: {ph:?}");
}

#[test]
fn system_calls_answer_with_x86_64_numbers_and_layouts() {
    let Some(bytes) = program("hello") else {
        return;
    };
    let size = bytes.len() as u64;
    let mut g = Guest::start(bytes, &["prog"]);
    let buf = g.scratch(0, 0x4000);
    assert_eq!(buf % 4096, 0);
    assert!(
        buf > 0x7000_0000_0000 && buf < 0x7fff_f7ff_f000,
        "mmap top-down below the stack: {buf:#x}"
    );

    // write(1, ...) reaches the captured stdout.
    g.cstr(0, buf, "hi from x86-64\n");
    assert_eq!(g.ok(0, "write", &[1, buf, 15]), 15);
    assert_eq!(g.output(), "hi from x86-64\n");

    // Errors are -errno in rax, x86-64 numbers.
    let path = g.cstr(0, buf + 0x100, "/nonexistent");
    assert_eq!(
        g.sys(0, "openat", &[(-100i64) as u64, path, 0, 0]).1,
        ENOENT
    );
    assert_eq!(g.sys(0, "close", &[77]).1, EBADF);
    assert_eq!(g.sys_nr(0, 4000, &[]).1, ENOSYS);
    assert_eq!(g.sys(0, "rseq", &[0, 32, 0, 0]).1, ENOSYS);
    assert_eq!(g.sys(0, "clone3", &[0, 0]).1, ENOSYS);
    assert_eq!(g.sys(0, "write", &[1, 8, 4]).1, EFAULT);

    // uname: machine x86_64.
    g.ok(0, "uname", &[buf + 0x1000]);
    let u = g.read(0, buf + 0x1000 + 4 * 65, 7);
    assert_eq!(u, b"x86_64\0");

    // newfstatat / stat / fstat: the 144-byte x86-64 struct stat.
    let prog = g.cstr(0, buf + 0x200, "/bin/prog");
    g.ok(0, "newfstatat", &[(-100i64) as u64, prog, buf + 0x2000, 0]);
    let st = g.read(0, buf + 0x2000, 144);
    let q = |off: usize| u64::from_le_bytes(st[off..off + 8].try_into().unwrap());
    let d = |off: usize| u32::from_le_bytes(st[off..off + 4].try_into().unwrap());
    assert_eq!(q(48), size, "st_size");
    assert_eq!(d(24) & 0o170000, 0o100000, "S_IFREG");
    assert_eq!(d(24) & 0o777, 0o755);
    assert_eq!(q(16), 1, "st_nlink (8 bytes)");
    g.ok(0, "stat", &[prog, buf + 0x2100]);
    assert_eq!(g.read(0, buf + 0x2100, 144), st);
    let fd = g.ok(0, "open", &[prog, 0, 0]);
    g.ok(0, "fstat", &[fd, buf + 0x2200]);
    let st2 = g.read(0, buf + 0x2200, 144);
    assert_eq!(st2[48..56], st[48..56]);
    assert_eq!(g.ok(0, "lseek", &[fd, 0, 2]), size);
    g.ok(0, "close", &[fd]);
    // fcntl with x86-64 numbers: F_GETFL after O_RDWR|O_CREAT|O_APPEND.
    let tmp = g.cstr(0, buf + 0x300, "/tmp/f");
    let fd = g.ok(0, "open", &[tmp, 0o2 | 0o100 | 0o2000, 0o644]);
    assert_eq!(g.ok(0, "fcntl", &[fd, 3, 0]) & 0o2003, 0o2002);
    assert_eq!(g.ok(0, "fcntl", &[fd, 1030, 10]), 10, "F_DUPFD_CLOEXEC");
    assert_eq!(g.ok(0, "fcntl", &[10, 1, 0]), 1, "FD_CLOEXEC set");
    // ioctl: TCGETS on a file, or on a stream that is not a terminal
    // (stderr here: a capture, like a pipe), is ENOTTY.
    assert_eq!(g.sys(0, "ioctl", &[fd, 0x5401, buf + 0x3000]).1, ENOTTY);
    assert_eq!(g.sys(0, "ioctl", &[2, 0x5401, buf + 0x3000]).1, ENOTTY);
    // The console is a terminal: TIOCGWINSZ and the 36-byte termios.
    g.ok(0, "ioctl", &[1, 0x5413, buf + 0x3000]);
    assert_eq!(g.read(0, buf + 0x3000, 4), [24, 0, 80, 0]);
    g.write(0, buf + 0x3000, &[0xaa; 64]);
    g.ok(0, "ioctl", &[1, 0x5401, buf + 0x3000]);
    let t = g.read(0, buf + 0x3000, 40);
    assert_eq!(t[12..16], 0o100073u32.to_le_bytes(), "c_lflag");
    assert_eq!(t[17], 3, "VINTR ^C");
    assert_eq!(t[36..40], [0xaa; 4], "36 bytes written, no more");
    // dup2, access, mkdir, rename, symlink, readlink, chmod, umask, unlink.
    assert_eq!(g.ok(0, "dup2", &[fd, 20]), 20);
    g.ok(0, "access", &[tmp, 4]);
    let dir = g.cstr(0, buf + 0x400, "/tmp/d");
    g.ok(0, "mkdir", &[dir, 0o755]);
    let tmp2 = g.cstr(0, buf + 0x500, "/tmp/d/g");
    g.ok(0, "rename", &[tmp, tmp2]);
    let link = g.cstr(0, buf + 0x600, "/tmp/l");
    g.ok(0, "symlink", &[tmp2, link]);
    assert_eq!(g.ok(0, "readlink", &[link, buf + 0x3000, 100]), 8);
    assert_eq!(g.read(0, buf + 0x3000, 8), b"/tmp/d/g");
    g.ok(0, "chmod", &[tmp2, 0o600]);
    assert_eq!(g.ok(0, "umask", &[0o077]), 0o022);
    g.ok(0, "unlink", &[link]);
    let exe = g.cstr(0, buf + 0x700, "/proc/self/exe");
    assert_eq!(g.ok(0, "readlink", &[exe, buf + 0x3000, 100]), 9);
    // getdents64 of /tmp/d finds g.
    let dfd = g.ok(0, "open", &[dir, 0o200000, 0]);
    let n = g.ok(0, "getdents64", &[dfd, buf + 0x3000, 4096]);
    let ents = g.read(0, buf + 0x3000, n as usize);
    assert!(ents.windows(2).any(|w| w == b"g\0"));

    // pipe (x86-64: into memory) and pipe2 with O_CLOEXEC.
    g.ok(0, "pipe", &[buf + 0x3800]);
    let fds = g.read(0, buf + 0x3800, 8);
    let (r, w) = (
        u32::from_le_bytes(fds[0..4].try_into().unwrap()),
        u32::from_le_bytes(fds[4..8].try_into().unwrap()),
    );
    assert!(r > 2 && w == r + 1, "{r} {w}");
    g.ok(0, "pipe2", &[buf + 0x3808, 0o2000000]);
    let rfd2 = u64::from(u32::from_le_bytes(
        g.read(0, buf + 0x3808, 4).try_into().unwrap(),
    ));
    assert_eq!(g.ok(0, "fcntl", &[rfd2, 1, 0]), 1);
    assert_eq!(g.sys(0, "pipe2", &[buf + 0x3808, 1]).1, EINVAL);
    // sendfile from the program into the pipe.
    let pfd = g.ok(0, "open", &[prog, 0, 0]);
    assert_eq!(g.ok(0, "sendfile", &[u64::from(w), pfd, 0, 4]), 4);
    assert_eq!(g.ok(0, "read", &[u64::from(r), buf + 0x3900, 16]), 4);
    assert_eq!(g.read(0, buf + 0x3900, 4), b"\x7fELF");

    // ids, limits, time, system information.
    let pid = g.ok(0, "getpid", &[]);
    assert!(pid >= 100);
    assert_eq!(g.ok(0, "gettid", &[]), pid);
    assert_eq!(g.ok(0, "getuid", &[]), 1000);
    assert_eq!(g.ok(0, "geteuid", &[]), 1000);
    assert_eq!(g.ok(0, "getgid", &[]), 1000);
    assert_eq!(g.ok(0, "getegid", &[]), 1000);
    assert_eq!(g.ok(0, "getppid", &[]), 0);
    assert_eq!(g.ok(0, "getgroups", &[0, 0]), 0);
    assert_eq!(g.ok(0, "set_tid_address", &[buf]), pid);
    g.ok(0, "set_robust_list", &[buf, 24]);
    g.ok(0, "prlimit64", &[0, 7, 0, buf + 0x3a00]);
    let nofile = g.u64_at(0, buf + 0x3a00);
    assert!(
        nofile >= 64,
        "RLIMIT_NOFILE (7 on x86-64) soft limit {nofile}"
    );
    g.ok(0, "prlimit64", &[0, 3, 0, buf + 0x3a00]);
    assert_eq!(g.u64_at(0, buf + 0x3a00), 8 << 20, "RLIMIT_STACK");
    assert_eq!(g.ok(0, "getrandom", &[buf + 0x3b00, 16, 0]), 16);
    let t = g.ok(0, "time", &[buf + 0x3c00]);
    assert_eq!(t, 1_700_000_000);
    assert_eq!(g.u64_at(0, buf + 0x3c00), t);
    g.ok(0, "clock_gettime", &[0, buf + 0x3c00]);
    assert_eq!(g.u64_at(0, buf + 0x3c00), 1_700_000_000);
    g.ok(0, "gettimeofday", &[buf + 0x3c00, 0]);
    g.ok(0, "sysinfo", &[buf + 0x3d00]);
    assert_eq!(
        u32::from_le_bytes(g.read(0, buf + 0x3d00 + 104, 4).try_into().unwrap()),
        4096,
        "mem_unit"
    );
    // prctl names.
    g.ok(0, "prctl", &[15, buf, 0, 0, 0]);
    g.ok(0, "prctl", &[16, buf + 0x3e00, 0, 0, 0]);
    assert_eq!(g.sys(0, "prctl", &[0x5999, 0, 0, 0, 0]).1, EINVAL);
    g.ok(0, "statfs", &[prog, buf + 0x3e00]);
    assert_eq!(g.u64_at(0, buf + 0x3e00 + 8), 4096, "f_bsize");
}

#[test]
fn arch_prctl_sets_the_thread_pointer() {
    let Some(bytes) = program("hello") else {
        return;
    };
    let mut g = Guest::start(bytes, &["prog"]);
    let buf = g.scratch(0, 0x1000);
    g.ok(0, "arch_prctl", &[0x1002, 0x4c_0000]);
    assert_eq!(g.strand(0).regs.fs, 0x4c_0000);
    g.ok(0, "arch_prctl", &[0x1003, buf]);
    assert_eq!(g.u64_at(0, buf), 0x4c_0000);
    assert_eq!(g.sys(0, "arch_prctl", &[0x1002, 1 << 47]).1, EPERM);
    assert_eq!(g.sys(0, "arch_prctl", &[0x1001, 0x1000]).1, EINVAL);
    assert_eq!(g.sys(0, "arch_prctl", &[0x1003, 8]).1, EFAULT);
    assert_eq!(g.sys(0, "arch_prctl", &[0x9999, 0]).1, EINVAL);
    assert_eq!(g.strand(0).regs.fs, 0x4c_0000);
}

#[test]
fn brk_follows_x86_64_semantics() {
    let Some(bytes) = program("hello") else {
        return;
    };
    let mut g = Guest::start(bytes, &["prog"]);
    let b0 = g.ok(0, "brk", &[0]);
    assert_eq!(b0 % 4096, 0);
    assert_eq!(g.ok(0, "brk", &[b0 + 0x21000]), b0 + 0x21000);
    g.write(0, b0 + 0x20000, b"x");
    // A refused move returns the current break (not ENOMEM as on Alpha).
    assert_eq!(g.ok(0, "brk", &[0x7fff_ffff_0000]), b0 + 0x21000);
}

/// Registers with a value in every general register, flags and SSE state.
fn busy_regs(base: &Regs) -> Regs {
    let mut r = base.clone();
    for (k, v) in r.gpr.iter_mut().enumerate() {
        if k != RSP {
            *v = 0x1111_0000_0000_0000 * (k as u64 % 15 + 1) + k as u64;
        }
    }
    r.rflags = 0x2c7; // CF PF ZF SF IF + bit 1
    for n in 0..16 {
        let at = 160 + 16 * n;
        r.fx[at..at + 16].copy_from_slice(&[n as u8 + 0x40; 16]);
    }
    r.fx[24..28].copy_from_slice(&0x1fa0u32.to_le_bytes());
    r
}

#[test]
fn signal_frame_and_rt_sigreturn_round_trip() {
    let Some(bytes) = program("hello") else {
        return;
    };
    let mut g = Guest::start(bytes, &["prog"]);
    let buf = g.scratch(0, 0x2000);
    let pid = g.ok(0, "getpid", &[]);
    // sigaction(SIGUSR1, {handler, SA_SIGINFO|SA_RESTORER, restorer, mask SIGUSR2}).
    let (handler, restorer) = (0x40_1000u64, 0x40_2000u64);
    let mut act = Vec::new();
    act.extend(handler.to_le_bytes());
    act.extend((0x4u64 | 0x0400_0000).to_le_bytes());
    act.extend(restorer.to_le_bytes());
    act.extend((1u64 << 11).to_le_bytes());
    g.write(0, buf, &act);
    g.ok(0, "rt_sigaction", &[10, buf, 0, 8]);
    // Read it back: same kernel layout.
    g.ok(0, "rt_sigaction", &[10, 0, buf + 0x40, 8]);
    assert_eq!(g.read(0, buf + 0x40, 32), act);
    // Bad sizes and unblockable signals.
    assert_eq!(g.sys(0, "rt_sigaction", &[10, buf, 0, 16]).1, EINVAL);
    assert_eq!(g.sys(0, "rt_sigaction", &[9, buf, 0, 8]).1, EINVAL);
    assert_eq!(g.sys(0, "rt_sigaction", &[19, buf, 0, 8]).1, EINVAL);
    // Block SIGTERM (15) with SIG_BLOCK = 0.
    g.write(0, buf + 0x80, &(1u64 << 14).to_le_bytes());
    g.ok(0, "rt_sigprocmask", &[0, buf + 0x80, 0, 8]);
    g.ok(0, "rt_sigprocmask", &[2, 0, buf + 0x88, 8]);
    assert_eq!(g.u64_at(0, buf + 0x88), 1 << 14);

    // kill(self, SIGUSR1): delivered at the next Resume.
    let before = busy_regs(&g.strand(0).regs);
    g.strand(0).regs = before.clone();
    g.ok(0, "kill", &[pid, 10]);
    let interrupted = g.strand(0).regs.clone();
    assert_eq!(g.resume(0), Resume::Run);
    let r = g.strand(0).regs.clone();
    assert_eq!(r.rip, handler);
    assert_eq!(r.gpr[RDI], 10);
    let frame = r.gpr[RSP];
    assert_eq!(frame % 16, 8, "rsp as after a call");
    assert!(
        frame + 440 + 512 < interrupted.gpr[RSP] - 128,
        "below the red zone"
    );
    assert_eq!(r.gpr[RSI], frame + 312, "&info");
    assert_eq!(r.gpr[RDX], frame + 8, "&uc");
    assert_eq!(r.gpr[RAX], 0);
    assert_eq!(r.rflags & (1 << 10), 0, "DF clear");
    assert_eq!(r.fx[24..28], 0x1f80u32.to_le_bytes(), "fresh FP state");
    // The frame.
    let f = g.read(0, frame, 440);
    let q = |off: usize| u64::from_le_bytes(f[off..off + 8].try_into().unwrap());
    assert_eq!(q(0), restorer, "pretcode");
    assert_eq!(q(8), 6, "uc_flags");
    let sc = 8 + 40;
    let order = [8, 9, 10, 11, 12, 13, 14, 15, 7, 6, 5, 3, 2, 0, 1, 4];
    for (k, &reg) in order.iter().enumerate() {
        assert_eq!(q(sc + 8 * k), interrupted.gpr[reg], "sigcontext slot {k}");
    }
    assert_eq!(q(sc + 128), interrupted.rip);
    assert_eq!(q(sc + 136), interrupted.rflags);
    assert_eq!(u16::from_le_bytes([f[sc + 144], f[sc + 145]]), 0x33);
    assert_eq!(u16::from_le_bytes([f[sc + 150], f[sc + 151]]), 0x2b);
    assert_eq!(q(sc + 168), 1 << 14, "oldmask");
    let fp = q(sc + 184);
    assert_eq!(fp % 64, 0);
    assert_eq!(g.read(0, fp, 512), interrupted.fx, "FXSAVE image");
    assert_eq!(q(8 + 296), 1 << 14, "uc_sigmask");
    // siginfo.
    let si = 312;
    assert_eq!(u32::from_le_bytes(f[si..si + 4].try_into().unwrap()), 10);
    assert_eq!(
        i32::from_le_bytes(f[si + 8..si + 12].try_into().unwrap()),
        0,
        "SI_USER"
    );
    assert_eq!(
        u32::from_le_bytes(f[si + 16..si + 20].try_into().unwrap()),
        pid as u32
    );
    // While the handler runs, SIGUSR1 and sa_mask (SIGUSR2) are blocked too.
    g.ok(0, "rt_sigprocmask", &[0, 0, buf + 0x90, 8]);
    assert_eq!(g.u64_at(0, buf + 0x90), (1 << 14) | (1 << 9) | (1 << 11));

    // The handler clobbers everything, then returns into the restorer.
    let s = g.strand(0);
    s.regs.gpr = [0xdead; 16];
    s.regs.gpr[RSP] = frame + 8;
    s.regs.rip = restorer;
    s.regs.rflags = 0x202 | (1 << 10);
    s.regs.fx = vec![0xee; 512];
    s.regs.fx[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
    let (o, _) = g.sys(0, "rt_sigreturn", &[]);
    assert_eq!(o, TrapOutcome::Continue);
    let back = g.strand(0).regs.clone();
    assert_eq!(back.gpr, interrupted.gpr);
    assert_eq!(back.rip, interrupted.rip);
    assert_eq!(back.rflags, interrupted.rflags);
    assert_eq!(back.fx, interrupted.fx);
    g.ok(0, "rt_sigprocmask", &[0, 0, buf + 0x98, 8]);
    assert_eq!(g.u64_at(0, buf + 0x98), 1 << 14);
}

impl Guest {
    /// Strand `i` runs the `syscall` at its rip again (after a restart).
    fn reexec(&mut self, i: usize) -> (TrapOutcome, i64) {
        let s = self.strand(i);
        s.regs.rip += 2;
        let r = self.trap(i, Trap::Syscall);
        (r, self.host.spawned[i].regs.gpr[RAX] as i64)
    }

    /// Installs `handler` for `sig` with `flags | SA_RESTORER`.
    fn handle(&mut self, i: usize, buf: u64, sig: u64, flags: u64) {
        let mut act = Vec::new();
        act.extend(0x40_1000u64.to_le_bytes());
        act.extend((flags | 0x0400_0000).to_le_bytes());
        act.extend(0x40_2000u64.to_le_bytes());
        act.extend(0u64.to_le_bytes());
        self.write(i, buf, &act);
        self.ok(i, "rt_sigaction", &[sig, buf, 0, 8]);
    }

    /// Plays the handler's return into the restorer and `rt_sigreturn`.
    fn handler_returns(&mut self, i: usize) {
        let s = self.strand(i);
        assert_eq!(s.regs.rip, 0x40_1000, "in the handler");
        s.regs.gpr[RSP] += 8;
        s.regs.rip = 0x40_2000;
        let (o, _) = self.sys(i, "rt_sigreturn", &[]);
        assert_eq!(o, TrapOutcome::Continue);
    }
}

#[test]
fn blocked_calls_restart_or_fail_with_eintr_after_a_handler() {
    let Some(bytes) = program("hello") else {
        return;
    };
    let mut g = Guest::start(bytes, &["prog"]);
    let buf = g.scratch(0, 0x1000);
    let parent = g.ok(0, "getpid", &[]);
    g.handle(0, buf, 14, 0x1000_0000); // SIGALRM, SA_RESTART
    g.handle(0, buf, 12, 0); // SIGUSR2, no SA_RESTART
    g.ok(0, "pipe", &[buf + 0x100]);
    let fds = g.read(0, buf + 0x100, 8);
    let rfd = u64::from(u32::from_le_bytes(fds[0..4].try_into().unwrap()));
    let wfd = u64::from(u32::from_le_bytes(fds[4..8].try_into().unwrap()));
    let child = g.ok(0, "fork", &[]);
    assert_eq!(g.ok(1, "getpid", &[]), child);

    // read() on the empty pipe blocks; rip goes back to the `syscall`.
    let call_at = g.strand(0).regs.rip;
    let (o, _) = g.sys(0, "read", &[rfd, buf + 0x200, 10]);
    assert_eq!(o, TrapOutcome::Block);
    assert_eq!(
        g.strand(0).regs.rip,
        call_at,
        "rewound by the 2-byte syscall"
    );
    assert_eq!(
        g.strand(0).regs.gpr[RAX],
        0,
        "rax still the call number (read)"
    );

    // SA_RESTART: the handler runs, then the read runs again.
    g.ok(1, "kill", &[parent, 14]);
    assert_eq!(g.resume(0), Resume::Run);
    let (o, _) = g.reexec(0);
    assert_eq!(
        o,
        TrapOutcome::Continue,
        "would block again: the signal interrupts"
    );
    assert_eq!(g.resume(0), Resume::Run);
    let uc = g.strand(0).regs.gpr[RDX];
    assert_eq!(
        g.u64_at(0, uc + 40 + 128),
        call_at,
        "saved rip: the syscall again"
    );
    assert_eq!(g.u64_at(0, uc + 40 + 104), 0, "saved rax: the call number");
    g.handler_returns(0);
    assert_eq!(g.strand(0).regs.rip, call_at);
    g.cstr(1, buf + 0x300, "x");
    assert_eq!(g.ok(1, "write", &[wfd, buf + 0x300, 1]), 1);
    assert_eq!(g.reexec(0), (TrapOutcome::Continue, 1));
    assert_eq!(g.strand(0).regs.rip, call_at + 2);

    // No SA_RESTART: the read fails with EINTR after the handler.
    let call_at = g.strand(0).regs.rip;
    assert_eq!(
        g.sys(0, "read", &[rfd, buf + 0x200, 10]).0,
        TrapOutcome::Block
    );
    g.ok(1, "kill", &[parent, 12]);
    assert_eq!(g.resume(0), Resume::Run);
    assert_eq!(g.reexec(0).0, TrapOutcome::Continue);
    assert_eq!(g.resume(0), Resume::Run);
    g.handler_returns(0);
    assert_eq!(g.strand(0).regs.rip, call_at + 2, "past the syscall");
    assert_eq!(g.strand(0).regs.gpr[RAX] as i64, -4, "EINTR");
}

#[test]
fn fork_and_wait4_use_x86_64_sigchld() {
    let Some(bytes) = program("hello") else {
        return;
    };
    let mut g = Guest::start(bytes, &["prog"]);
    let buf = g.scratch(0, 0x1000);
    let parent = g.ok(0, "getpid", &[]);
    let child = g.ok(0, "fork", &[]);
    assert_ne!(child, parent);
    assert_eq!(g.host.spawned.len(), 2);
    let c = g.strand(1).regs.clone();
    assert_eq!(c.gpr[RAX], 0, "the child sees 0");
    assert_eq!(c.rip, g.strand(0).regs.rip);
    assert_eq!(g.ok(1, "getppid", &[]), parent);
    assert_eq!(g.ok(1, "getpid", &[]), child);
    // The child's memory is a copy.
    g.write(1, buf, b"child");
    assert_ne!(g.read(0, buf, 5), b"child");
    // wait4 blocks until the child exits.
    let (o, _) = g.sys(0, "wait4", &[u64::MAX, buf + 0x10, 0, 0]);
    assert_eq!(o, TrapOutcome::Block);
    let (o, _) = g.sys(1, "exit_group", &[7]);
    assert_eq!(o, TrapOutcome::Exit(0));
    // The parent runs the call again.
    assert_eq!(g.resume(0), Resume::Run);
    assert_eq!(g.ok(0, "wait4", &[u64::MAX, buf + 0x10, 0, 0]), child);
    assert_eq!(
        u32::from_le_bytes(g.read(0, buf + 0x10, 4).try_into().unwrap()),
        7 << 8
    );
    // SIGCHLD (17) is pending and ignored by default: the mask query shows
    // nothing blocked, and the parent is not killed at its next Resume.
    assert_eq!(g.resume(0), Resume::Run);
    assert_eq!(
        g.sys(0, "wait4", &[u64::MAX, buf + 0x10, 1, 0]).1,
        -10,
        "ECHILD"
    );
    // vfork: the parent waits until the child exits.
    let (o, child2) = g.sys(0, "vfork", &[]);
    assert_eq!(o, TrapOutcome::Block);
    assert!(child2 > 0);
    assert_eq!(g.sys(2, "exit", &[0]).0, TrapOutcome::Exit(0));
    assert_eq!(g.resume(0), Resume::Run);
    assert_eq!(g.strand(0).regs.gpr[RAX] as i64, child2);
}

#[test]
fn faults_become_x86_64_signals() {
    let Some(bytes) = program("hello") else {
        return;
    };
    // (trap, expected exit status 128 + signal).
    let cases: [(Trap, i32); 6] = [
        (
            Trap::PageFault {
                va: 8,
                access: Access::Write,
                pc: 0x40_1234,
            },
            128 + 11,
        ),
        (
            Trap::IllegalInstruction {
                pc: 0x40_1234,
                insn: 0x0b0f,
            },
            128 + 4,
        ),
        (
            Trap::Arithmetic {
                pc: 0x40_1234,
                summary: 0,
            },
            128 + 8,
        ),
        (Trap::Breakpoint { pc: 0x40_1235 }, 128 + 5),
        (
            Trap::PalCall {
                pc: 0x40_1234,
                code: 13,
            },
            128 + 11,
        ),
        (
            Trap::Unaligned {
                va: 0x40_0001,
                pc: 0x40_1234,
            },
            128 + 7,
        ),
    ];
    for (trap, status) in cases {
        let mut g = Guest::start(bytes.clone(), &["prog"]);
        assert_eq!(g.trap(0, trap), TrapOutcome::Continue, "{trap:?}");
        assert_eq!(g.resume(0), Resume::Exit(0), "{trap:?}");
        assert_eq!(g.mound.exit_status(), Some(status), "{trap:?}");
    }
}

#[test]
fn a_segv_handler_sees_the_faulting_address() {
    let Some(bytes) = program("hello") else {
        return;
    };
    let mut g = Guest::start(bytes, &["prog"]);
    let buf = g.scratch(0, 0x1000);
    let mut act = Vec::new();
    act.extend(0x40_1000u64.to_le_bytes());
    act.extend((0x4u64 | 0x0400_0000).to_le_bytes());
    act.extend(0x40_2000u64.to_le_bytes());
    act.extend(0u64.to_le_bytes());
    g.write(0, buf, &act);
    g.ok(0, "rt_sigaction", &[11, buf, 0, 8]);
    g.strand(0).regs.rip = 0x40_1234;
    let t = Trap::PageFault {
        va: 0x10,
        access: Access::Read,
        pc: 0x40_1234,
    };
    assert_eq!(g.trap(0, t), TrapOutcome::Continue);
    assert_eq!(g.resume(0), Resume::Run);
    let r = g.strand(0).regs.clone();
    assert_eq!(r.rip, 0x40_1000);
    assert_eq!(r.gpr[RDI], 11);
    let si = g.read(0, r.gpr[RSI], 24);
    assert_eq!(
        i32::from_le_bytes(si[8..12].try_into().unwrap()),
        1,
        "SEGV_MAPERR"
    );
    assert_eq!(
        u64::from_le_bytes(si[16..24].try_into().unwrap()),
        0x10,
        "si_addr"
    );
    let uc = r.gpr[RDX];
    assert_eq!(
        g.u64_at(0, uc + 40 + 128),
        0x40_1234,
        "saved rip: the faulting instruction"
    );
    assert_eq!(g.u64_at(0, uc + 40 + 160), 14, "trapno #PF");
    assert_eq!(g.u64_at(0, uc + 40 + 176), 0x10, "cr2");
}

#[test]
fn a_handler_without_sa_restorer_is_fatal_as_on_linux() {
    let Some(bytes) = program("hello") else {
        return;
    };
    let mut g = Guest::start(bytes, &["prog"]);
    let buf = g.scratch(0, 0x1000);
    let pid = g.ok(0, "getpid", &[]);
    let mut act = Vec::new();
    act.extend(0x40_1000u64.to_le_bytes());
    act.extend(0u64.to_le_bytes());
    act.extend(0u64.to_le_bytes());
    act.extend(0u64.to_le_bytes());
    g.write(0, buf, &act);
    g.ok(0, "rt_sigaction", &[10, buf, 0, 8]);
    g.ok(0, "kill", &[pid, 10]);
    assert_eq!(g.resume(0), Resume::Exit(0));
    assert_eq!(g.mound.exit_status(), Some(128 + 11));
}

#[test]
fn the_exit_status_of_a_signal_uses_x86_64_numbers() {
    let Some(bytes) = program("hello") else {
        return;
    };
    let mut g = Guest::start(bytes, &["prog"]);
    let pid = g.ok(0, "getpid", &[]);
    g.ok(0, "kill", &[pid, 10]); // SIGUSR1 on x86-64 (SIGBUS on Alpha)
    assert_eq!(g.resume(0), Resume::Exit(0));
    assert_eq!(g.mound.exit_status(), Some(128 + 10));
}

#[test]
fn busybox_static_loads() {
    let Ok(bytes) = std::fs::read("/bin/busybox") else {
        println!("SKIP: /bin/busybox missing (apt install busybox-static)");
        return;
    };
    if bytes.get(18..20) != Some(&[62, 0]) || bytes.get(16..18) != Some(&[2, 0]) {
        println!("SKIP: /bin/busybox is not a static x86-64 executable");
        return;
    }
    let entry = elf_entry(&bytes);
    let mut g = Guest::start(bytes, &["echo", "hi"]);
    assert_eq!(g.strand(0).regs.rip, entry);
    // The first bytes at the entry are readable code (faulted in on demand).
    let code = g.read(0, entry, 4);
    assert_ne!(code, [0u8; 4]);
    // Writing through a read-only text page is a SIGSEGV (ACCERR).
    let t = Trap::PageFault {
        va: entry,
        access: Access::Write,
        pc: entry,
    };
    assert_eq!(g.trap(0, t), TrapOutcome::Continue);
    assert_eq!(g.resume(0), Resume::Exit(0));
    assert_eq!(g.mound.exit_status(), Some(139));
}
