//! The UNIX mound's x86-64 ABI on the real KVM machine: static x86-64
//! programs (`make -C guest/unix x86_64`, Debian's busybox-static) run in a
//! `UnixMound<X86Regs>` on a `RunLoop<KvmMachine>` and print what they print
//! natively. Prints `SKIP: …` and passes where `/dev/kvm` is unusable or a
//! program is missing.

#![cfg(target_arch = "x86_64")]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use spin_kernel::machine::new_guest_ram;
use spin_kernel::{Arch, Kernel, KernelConfig, MoundId};
use spin_scheduler::{Scheduler, SchedulerConfig};
use spin_unix::{HostMount, Stdio, UnixConfig, UnixMound};
use spin_vmm::kvm::{self, KvmMachine, X86Regs};
use spin_vmm::runloop::RunLoop;

struct Run {
    status: Option<i32>,
    out: String,
    err: String,
}

/// What to run: the program (a host path, seen at the same path inside the
/// mound, its directory mounted writable as `spin exec` does), argv, stdin,
/// environment, working directory.
struct Job<'a> {
    program: &'a Path,
    argv: Vec<String>,
    stdin: Vec<u8>,
    env: Vec<String>,
    cwd: &'a Path,
}

/// Runs `job` on a fresh KVM machine with one UNIX mound.
fn run(job: &Job<'_>) -> Option<Run> {
    if let Err(e) = kvm::available() {
        println!("SKIP: /dev/kvm unusable: {e}");
        return None;
    }
    if !job.program.exists() {
        println!(
            "SKIP: {} missing (make -C guest/unix x86_64)",
            job.program.display()
        );
        return None;
    }
    let ram = new_guest_ram(256 << 20).unwrap();
    let (kernel, _auth) = Kernel::boot(
        ram.clone(),
        KernelConfig {
            arch: Arch::X86_64,
            ..KernelConfig::default()
        },
    );
    let machine = Arc::new(KvmMachine::new(ram).expect("KVM machine"));
    let scheduler = Scheduler::new(kernel.id(), SchedulerConfig::default()).unwrap();
    let rl = RunLoop::new(kernel.clone(), machine, scheduler).unwrap();
    let out = Arc::new(Mutex::new(Vec::new()));
    let err = Arc::new(Mutex::new(Vec::new()));
    let bytes = |p: &Path| p.as_os_str().as_encoded_bytes().to_vec();
    let mut cfg = UnixConfig::new(
        "kvm",
        bytes(job.program),
        job.argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
    );
    cfg.envp = job.env.iter().map(|e| e.as_bytes().to_vec()).collect();
    cfg.cwd = bytes(job.cwd);
    cfg.stdin = Stdio::Bytes(job.stdin.clone());
    cfg.stdout = Stdio::Capture(out.clone());
    cfg.stderr = Stdio::Capture(err.clone());
    cfg.realtime_base = Some(1_700_000_000_000_000_000);
    // Unknown calls and kills go to the host's stderr (shown on failure).
    cfg.verbose = true;
    let mut mounts = vec![HostMount {
        guest: bytes(job.cwd),
        host: job.cwd.to_path_buf(),
        writable: true,
    }];
    if let Some(dir) = job.program.parent().filter(|d| *d != job.cwd) {
        mounts.push(HostMount {
            guest: bytes(dir),
            host: dir.to_path_buf(),
            writable: false,
        });
    }
    cfg.mounts = mounts;
    // A network, as `spin exec` gives every program (the `net` case's
    // sockets live on it).
    let network = spin_vmm::net::Network::start(&spin_vmm::net::NetworkConfig::default(), 1)
        .expect("a user-mode network");
    cfg.net = Some(network.handle());
    let waker = rl.waker(MoundId(1));
    let wake: Arc<dyn Fn(u64) + Send + Sync> = Arc::new(move |k| waker.wake(k));
    let mound = UnixMound::<X86Regs>::new(kernel, MoundId(1), cfg, wake).unwrap();
    let shared = rl.add_mound(Box::new(mound));
    rl.with_mound(MoundId(1), |m, host| m.start(host))
        .unwrap()
        .unwrap();
    rl.run(|_| {});
    network.stop();
    let status = shared.lock().unwrap().exit_status();
    let text = |b: &Arc<Mutex<Vec<u8>>>| String::from_utf8_lossy(&b.lock().unwrap()).into_owned();
    Some(Run {
        status,
        out: text(&out),
        err: text(&err),
    })
}

/// The same job natively.
fn native(job: &Job<'_>) -> Run {
    use std::io::Write;
    let mut cmd = std::process::Command::new(job.program);
    cmd.args(&job.argv[1..])
        .env_clear()
        .current_dir(job.cwd)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for e in &job.env {
        if let Some((k, v)) = e.split_once('=') {
            cmd.env(k, v);
        }
    }
    let mut child = cmd.spawn().unwrap();
    let mut sin = child.stdin.take().unwrap();
    let input = job.stdin.clone();
    let feeder = std::thread::spawn(move || {
        let _ = sin.write_all(&input);
    });
    let o = child.wait_with_output().unwrap();
    let _ = feeder.join();
    use std::os::unix::process::ExitStatusExt;
    let status = o.status.code().or(o.status.signal().map(|s| 128 + s));
    Run {
        status,
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Builds the x86-64 guest programs once (as tests/unix.rs builds the Alpha
/// ones) into target/guest-unix/x86_64; a missing compiler leaves the
/// directory empty and the tests print SKIP.
fn build_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let build = root.join("target").join("guest-unix");
        let made = std::process::Command::new("make")
            .args(["-s", "-C"])
            .arg(root.join("guest/unix"))
            .arg(format!("BUILD={}", build.display()))
            .arg("x86_64")
            .status()
            .is_ok_and(|s| s.success());
        if !made {
            println!("SKIP: cannot build the x86-64 guest programs (gcc, make)");
        }
        build.join("x86_64").canonicalize().unwrap_or_default()
    })
    .clone()
}

/// The tests of this file run one at a time: each boots a VM, and the
/// busybox lines are sensitive to load (see `busybox_command_lines_match_native`).
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn hello_runs_under_kvm() {
    let _one = one_at_a_time();
    let dir = build_dir();
    let p = dir.join("hello");
    let job = Job {
        program: &p,
        argv: vec![p.display().to_string(), "one".into(), "two".into()],
        stdin: Vec::new(),
        env: vec!["SPIN_TEST=kvm".into()],
        cwd: &dir,
    };
    let Some(r) = run(&job) else {
        return;
    };
    let n = native(&job);
    assert_eq!(r.out, n.out);
    assert_eq!(r.err, n.err);
    assert_eq!(r.status, n.status);
    assert!(r.out.contains("Hello"), "{}", r.out);
}

/// Every core case of guest/unix/cases.txt (but the benchmark-sized ones)
/// under KVM against the same binary natively: stdout+stderr and status.
#[test]
fn guest_programs_match_native() {
    let _one = one_at_a_time();
    let dir = build_dir();
    if run(&Job {
        program: &dir.join("hello"),
        argv: vec!["hello".into()],
        stdin: Vec::new(),
        env: Vec::new(),
        cwd: &dir,
    })
    .is_none()
    {
        return;
    }
    let cases = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../guest/unix/cases.txt"),
    )
    .unwrap();
    let mut failed = Vec::new();
    let mut ran = 0;
    for line in cases.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split(" | ").map(str::trim).collect();
        let (name, flags, stdin, env, cmd) = (f[0], f[2], f[3], f[4], f[5]);
        if !flags.split(',').any(|x| x == "core") || flags.contains("slow") {
            continue;
        }
        let mut words = cmd.split(' ').filter(|w| !w.is_empty());
        let prog = dir.join(words.next().unwrap());
        let mut argv = vec![prog.display().to_string()];
        argv.extend(words.map(str::to_string));
        let stdin = if stdin == "-" {
            Vec::new()
        } else {
            std::fs::read(dir.join(stdin)).unwrap()
        };
        let env: Vec<String> = if env == "-" {
            Vec::new()
        } else {
            env.split(' ').map(str::to_string).collect()
        };
        let job = Job {
            program: &prog,
            argv,
            stdin,
            env,
            cwd: &dir,
        };
        let n = native(&job);
        let Some(r) = run(&job) else {
            continue;
        };
        ran += 1;
        if r.out != n.out || r.err != n.err || r.status != n.status {
            failed.push(format!(
                "{name}: status {:?} vs native {:?}\n--- kvm\n{}{}\n--- native\n{}{}",
                r.status, n.status, r.out, r.err, n.out, n.err
            ));
        }
    }
    println!("{ran} cases ran");
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

/// Command lines for `busybox sh -c`: pipelines, substitution, loops,
/// text tools, archives, files, signals and exit statuses.
const BUSYBOX_LINES: &[&str] = &[
    "echo hello world",
    "echo c a b | tr ' ' '\\n' | sort -r",
    "for i in 1 2 3 4 5; do echo $((i*i)); done | awk '{s+=$1} END {print s}'",
    "x=$(echo foo | sed s/o/0/g); echo \"got $x\"",
    "seq 1 20 | grep 1 | wc -l",
    "cat data.txt | cut -d, -f1 | sort | uniq -c | sort -rn | head -3",
    "md5sum data.txt",
    "sed -n '2,4p' data.txt | awk -F, '{print $2 * 2}'",
    "find . -name '*.txt' | sort",
    "mkdir -p d/e && echo x > d/e/f && find d | sort && rm -r d && echo removed",
    "tar cf t.tar data.txt && tar tf t.tar && tar xOf t.tar | md5sum && rm t.tar",
    "gzip -c data.txt | gzip -dc | md5sum",
    "seq 1 10 | xargs echo",
    "seq 1 6 | xargs -n 2 echo pair",
    "i=0; while [ $i -lt 5 ]; do i=$((i+1)); done; echo $i",
    "printf '%s-%d\\n' a 1 b 2",
    "echo $(( 7 * 6 )) $(( 100 / 7 )) $(( -5 % 3 ))",
    "ls -1 | sort",
    "wc -c < data.txt; wc -l data.txt",
    "(echo sub; exit 3); echo \"status $?\"",
    "false || echo alt; true && echo yes",
    "case foo in f*) echo match;; *) echo no;; esac",
    "basename /a/b/c.txt .txt; dirname /a/b/c.txt",
    "head -c 100 /dev/zero | wc -c",
    "awk 'BEGIN{for(i=0;i<3;i++) printf \"%d \", i; print \"\"}'",
    "dd if=data.txt bs=5 count=2 2>/dev/null; echo",
    "cp data.txt c.tmp && cmp data.txt c.tmp && echo same; rm c.tmp",
    "exit 7",
    "sh -c 'echo nested $0 $1' zero one",
    "test -f data.txt && echo file; test -d . && echo dir; test -e nope || echo none",
    "yes | head -3",
    "sort -t, -k2 -n data.txt",
    "trap 'echo trapped' EXIT; echo body",
    "kill -USR1 $$; echo not reached",
    "sleep 0.01; echo slept",
    "expr 3 + 4",
    "stat -c '%s %F' data.txt",
    "ln -s data.txt lnk && readlink lnk && cat lnk | head -1 && rm lnk",
    "touch newf && ls newf && rm newf",
    "umask 077; echo x > um; stat -c %a um; rm um",
    "uname -s -m",
    "echo one > f1; echo two >> f1; cat f1; mv f1 f2; cat f2; rm f2",
    "grep -c , data.txt; grep -v apple data.txt | wc -l",
    "echo abc | sed 's/\\(b\\)/[\\1]/'",
    "seq 3 | while read n; do echo line $n; done",
    "v=$(seq 5 | tail -1); [ \"$v\" = 5 ] && echo ok",
    "ls nope; echo status $?",
    "cat data.txt | tee t1 | wc -l; md5sum t1 | cut -c1-8; rm t1",
    "od -An -tx1 -N8 data.txt",
    "echo b > x1; echo a > x2; cat x1 x2 | sort; rm x1 x2",
];

const DATA: &str = "apple,3\nbanana,12\ncherry,7\napple,5\ndate,1\nbanana,2\nelder,30\n";

#[test]
fn busybox_command_lines_match_native() {
    let _one = one_at_a_time();
    let Ok(bb) = Path::new("/bin/busybox").canonicalize() else {
        println!("SKIP: /bin/busybox missing (apt install busybox-static)");
        return;
    };
    // One directory per test process: two runs of this file at once (a
    // stress run) must not share the files the command lines make.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("kvm_busybox.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("data.txt"), DATA).unwrap();
    std::fs::write(dir.join("notes.txt"), "notes\n").unwrap();
    let dir = dir.canonicalize().unwrap();
    let mut failed = Vec::new();
    let mut ran = 0;
    // KVM_BUSYBOX_LINES="a;;b" runs other command lines (debugging).
    let custom = std::env::var("KVM_BUSYBOX_LINES").ok();
    let lines: Vec<&str> = match &custom {
        Some(c) => c.split(";;").collect(),
        None => BUSYBOX_LINES.to_vec(),
    };
    for line in lines {
        let job = Job {
            program: &bb,
            argv: vec![
                bb.display().to_string(),
                "sh".into(),
                "-c".into(),
                line.to_string(),
            ],
            stdin: Vec::new(),
            env: vec!["PATH=/usr/bin".into(), "HOME=/".into()],
            cwd: &dir,
        };
        let n = native(&job);
        let Some(r) = run(&job) else {
            return;
        };
        ran += 1;
        if r.out != n.out || r.err != n.err || r.status != n.status {
            failed.push(format!(
                "{line}\n  kvm:    {:?} {:?} {:?}\n  native: {:?} {:?} {:?}",
                r.status, r.out, r.err, n.status, n.out, n.err
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("{ran} busybox command lines, {} differ", failed.len());
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
