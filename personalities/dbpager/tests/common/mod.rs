//! Shared by the mound tests and the mound benchmark: building dbengine
//! for Alpha and running it in a UNIX mound with `spin.db-pager` linked.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use spin_dbpager::DbPagerExt;
use spin_unix::{HostMount, Stdio, UnixConfig};
use spin_vmm::host::{Host, HostConfig, MachineKind, MoundConfig};

pub fn repo() -> PathBuf {
    // Mount paths must be canonical (no `..`).
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository")
}

pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The Alpha build of dbengine (built once), or None with a SKIP line.
pub fn dbengine() -> Option<&'static Path> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        if !have("alpha-linux-gnu-gcc") {
            eprintln!("SKIP: alpha-linux-gnu-gcc not installed");
            return None;
        }
        let build = repo().join("target").join("guest-dbpager");
        let bin = build.join("alpha").join("dbengine");
        let st = Command::new("make")
            .args(["-s", "-C"])
            .arg(repo().join("guest/unix"))
            .arg(format!("BUILD={}", build.display()))
            .arg(&bin)
            .status()
            .expect("make runs");
        assert!(st.success(), "building dbengine failed");
        Some(bin)
    })
    .as_deref()
}

/// A scratch directory for one test's database.
pub fn scratch(name: &str) -> PathBuf {
    let d = repo()
        .join("target")
        .join("dbpager-tests")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

pub struct Run {
    pub status: Option<i32>,
    pub stdout: String,
}

/// Runs `dbengine ARGS` in a mound of the Alpha machine with `ext` linked,
/// the database directory `dir` mounted writable at its host path.
pub fn spin(bin: &Path, dir: &Path, ext: &Arc<DbPagerExt>, args: &[&str]) -> Run {
    spin_on(MachineKind::Alpha, bin, dir, ext, args)
}

/// [`spin`] on `machine` (`bin` must be built for it).
pub fn spin_on(
    machine: MachineKind,
    bin: &Path,
    dir: &Path,
    ext: &Arc<DbPagerExt>,
    args: &[&str],
) -> Run {
    spin_with(machine, None, bin, dir, ext, args)
}

/// [`spin_on`] with the mound's frame quota.
pub fn spin_with(
    machine: MachineKind,
    quota_frames: Option<u64>,
    bin: &Path,
    dir: &Path,
    ext: &Arc<DbPagerExt>,
    args: &[&str],
) -> Run {
    let out = Arc::new(Mutex::new(Vec::new()));
    let prog = bin.as_os_str().as_encoded_bytes().to_vec();
    let mut argv = vec![prog.clone()];
    argv.extend(args.iter().map(|a| a.as_bytes().to_vec()));
    let mut unix = UnixConfig::new("db", prog, argv);
    let mount = |p: &Path, writable| HostMount {
        guest: p.as_os_str().as_encoded_bytes().to_vec(),
        host: p.to_path_buf(),
        writable,
    };
    unix.mounts = vec![
        mount(dir, true),
        mount(bin.parent().expect("bin dir"), false),
    ];
    unix.cwd = dir.as_os_str().as_encoded_bytes().to_vec();
    unix.stdout = Stdio::Capture(out.clone());
    unix.stderr = Stdio::Null;
    unix.extensions = vec![ext.clone()];
    unix.quota_frames = quota_frames;
    let cfg = HostConfig {
        machine,
        ram: 256 << 20,
        mounds: vec![MoundConfig::Unix(unix)],
        ..HostConfig::default()
    };
    let host = Host::build(cfg).expect("host builds");
    let report = host.run(|_| {}).expect("host runs");
    let stdout = String::from_utf8_lossy(&out.lock().unwrap()).into_owned();
    Run {
        status: report.mounds.first().and_then(|m| m.status),
        stdout,
    }
}

pub fn db(dir: &Path) -> String {
    dir.join("test.db").to_string_lossy().into_owned()
}

/// qemu-alpha's output of the same command line on the kernel's paging.
pub fn qemu(bin: &Path, args: &[&str]) -> Option<String> {
    if !have("qemu-alpha") {
        eprintln!("SKIP (oracle): qemu-alpha not installed");
        return None;
    }
    let o = Command::new("qemu-alpha")
        .arg(bin)
        .args(args)
        .output()
        .expect("qemu-alpha runs");
    assert!(o.status.success(), "qemu-alpha {args:?}: {o:?}");
    Some(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// The x86-64 build of dbengine (the conventional reference: Linux's own
/// paging, no hints), or None when gcc is missing.
pub fn native_dbengine() -> Option<PathBuf> {
    if !have("gcc") {
        return None;
    }
    let build = repo().join("target").join("guest-dbpager");
    let bin = build.join("x86_64").join("dbengine");
    let st = Command::new("make")
        .args(["-s", "-C"])
        .arg(repo().join("guest/unix"))
        .arg(format!("BUILD={}", build.display()))
        .arg(&bin)
        .status()
        .ok()?;
    st.success().then_some(bin)
}

/// The build of sqlpager (guest/unix/sqlpager.c, SQLite with its file
/// mapped) for `arch` (`alpha` or `x86_64`), built once per arch; None with
/// a SKIP line when the compiler is missing.
pub fn sqlpager(arch: &str) -> Option<PathBuf> {
    static BINS: Mutex<Vec<(String, Option<PathBuf>)>> = Mutex::new(Vec::new());
    let mut bins = BINS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, b)) = bins.iter().find(|(a, _)| a == arch) {
        return b.clone();
    }
    let cc = if arch == "alpha" {
        "alpha-linux-gnu-gcc"
    } else {
        "gcc"
    };
    let built = if have(cc) {
        let build = repo().join("target").join("guest-dbpager");
        let bin = build.join(arch).join("sqlpager");
        let st = Command::new("make")
            .args(["-s", "-C"])
            .arg(repo().join("guest/unix"))
            .arg(format!("BUILD={}", build.display()))
            .arg(&bin)
            .status()
            .expect("make runs");
        assert!(st.success(), "building sqlpager for {arch} failed");
        Some(bin)
    } else {
        eprintln!("SKIP: {cc} not installed");
        None
    };
    bins.push((arch.to_string(), built.clone()));
    built
}

/// Re-runs this test binary's `child` test (which runs a write workload in
/// a mound, printing `commit N` as the guest acknowledges each) with `env`
/// set to `dir`, reads its output until commit `after`, and kills it with
/// SIGKILL mid-workload. Returns how many commits were acknowledged.
pub fn kill_9_after(child: &str, env: &str, dir: &Path, after: u64) -> u64 {
    use std::io::{BufRead, BufReader};
    let mut kid = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", child, "--nocapture", "--test-threads=1"])
        .env(env, dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the child starts");
    let out = kid.stdout.take().expect("piped");
    let mut last = None;
    for line in BufReader::new(out).lines() {
        let Ok(line) = line else { break };
        if let Some(n) = line.strip_prefix("commit ") {
            last = n.trim().parse::<u64>().ok();
            if last >= Some(after) {
                break;
            }
        }
    }
    kid.kill().expect("kill -9");
    let _ = kid.wait();
    last.expect("the child acknowledged commits") + 1
}
