//! End to end: the UNIX mound's extension system calls and the SPIN-way VM
//! benchmark extension (`spin.vm-workload`), run by real Alpha programs
//! under `spin exec`.
//!
//! * `vmbench -x` (protections through the extension, faults handled in
//!   the kernel, no signal frames) prints exactly what `vmbench` (mprotect +
//!   SIGSEGV handler) prints under qemu-alpha.
//! * `extcalls` misuses every extension call and gets an errno each time
//!   (the host never crashes), then checks faults, the ring policy and fork.
//! * `spin bench` runs end to end on a tiny configuration (no timing is
//!   asserted: performance lives in the benchmark's own output).
//!
//! Needs the Alpha cross compiler and qemu-alpha; prints SKIP without them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The build directory (alpha/ and x86_64/), built once per test binary.
fn build() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        if !have("alpha-linux-gnu-gcc") || !have("qemu-alpha") || !have("gcc") {
            eprintln!("SKIP: alpha-linux-gnu-gcc, gcc or qemu-alpha not installed");
            return None;
        }
        let build = repo().join("target").join("guest-unix-ext");
        let st = Command::new("make")
            .args(["-s", "-C"])
            .arg(repo().join("guest/unix"))
            .arg(format!("BUILD={}", build.display()))
            .args(["alpha", "x86_64"])
            .status()
            .expect("make runs");
        assert!(st.success(), "building the guest programs failed");
        Some(build)
    })
    .as_deref()
}

fn spin(dir: &Path, prog: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spin"))
        .arg("exec")
        .arg(dir.join(prog))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("spin runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_spin_way_prints_what_the_posix_way_prints_under_qemu() {
    let Some(build) = build() else { return };
    let dir = build.join("alpha");
    let ours = spin(&dir, "vmbench", &["-x", "-n", "1000"]);
    let theirs = Command::new("qemu-alpha")
        .arg(dir.join("vmbench"))
        .args(["-n", "1000"])
        .current_dir(&dir)
        .output()
        .expect("qemu-alpha runs");
    assert_eq!(ours.status.code(), Some(0), "{}", text(&ours.stdout));
    assert_eq!(text(&ours.stdout), text(&theirs.stdout));
    // And the POSIX way under spin still matches too (the fast paths and
    // the per-page TLB drops under a signal-heavy program).
    let posix = spin(&dir, "vmbench", &["-n", "1000"]);
    assert_eq!(text(&posix.stdout), text(&theirs.stdout));
}

#[test]
fn bad_extension_calls_are_errnos_and_faults_resolve_in_the_kernel() {
    let Some(build) = build() else { return };
    let o = spin(&build.join("alpha"), "extcalls", &[]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    let expect = "\
link(NULL): EFAULT
link(\"nope\"): ENOENT
unregistered call: ENOSYS
protect before register: EINVAL
register unaligned: EINVAL
register 0 pages: EINVAL
register absurd size: EINVAL
register wrapping: EINVAL
register not resident: EFAULT
register 4 resident: OK
register overlapping: EBUSY
protect past the end: EINVAL
protect with write: EINVAL
policy ring too big: EINVAL
stat 9: EINVAL
protect after fork: EINVAL
extcalls: all 15 checks passed
";
    assert_eq!(out, expect);
}

#[test]
fn extension_calls_are_enosys_under_qemu() {
    // The numbers are outside every Linux table: a real kernel says ENOSYS,
    // and the program says it needs spin.
    let Some(build) = build() else { return };
    let dir = build.join("alpha");
    let o = Command::new("qemu-alpha")
        .arg(dir.join("extcalls"))
        .current_dir(&dir)
        .output()
        .expect("qemu-alpha runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stdout).contains("no SPIN extensions here (ENOSYS)"));
}

#[test]
fn spin_bench_runs_end_to_end() {
    let Some(build) = build() else { return };
    let o = Command::new(env!("CARGO_BIN_EXE_spin"))
        .args([
            "bench",
            "--runs",
            "1",
            "--calls",
            "20000",
            "--vm-iters",
            "200",
        ])
        .args(["--only", "nullsys,vm", "--json", "--build"])
        .arg(build)
        .output()
        .expect("spin bench runs");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert!(v["null_syscall"]["spin_ns"].is_number(), "{v}");
    let rows = v["vm_table"]["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 7);
    for r in rows {
        assert!(r["spin_us"].is_number() && r["posix_us"].is_number(), "{r}");
    }
    // Missing binaries are a SKIP line, not an error.
    let empty = repo().join("target").join("guest-unix-empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let o = Command::new(env!("CARGO_BIN_EXE_spin"))
        .args([
            "bench",
            "--runs",
            "1",
            "--only",
            "workloads,nullsys,vm",
            "--build",
        ])
        .arg(&empty)
        .output()
        .expect("spin bench runs");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("SKIP") && out.contains("make -C guest/unix"),
        "{out}"
    );
}

#[test]
fn spin_bench_net_measures_every_row() {
    let Some(build) = build() else { return };
    let o = Command::new(env!("CARGO_BIN_EXE_spin"))
        .args(["bench", "--only", "net", "--net-round-trips", "400"])
        .args(["--net-bandwidth-mib", "1", "--json", "--build"])
        .arg(build)
        .output()
        .expect("spin bench runs");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let net = &v["net"];
    let cases = net["cases"].as_array().expect("cases");
    let names: Vec<&str> = cases.iter().filter_map(|c| c["case"].as_str()).collect();
    for want in [
        "(a) in-kernel client -> in-kernel echo",
        "(a') host client -> user-mode fwd -> in-kernel echo",
        "(b) guest process echo, Alpha mound",
        "(c) Linux UDP pair over loopback",
    ] {
        assert!(names.contains(&want), "{want} missing: {names:?}");
    }
    for c in cases {
        assert!(c["samples"].as_u64().unwrap_or(0) >= 380, "{c}");
        assert!(c["median_us"].as_f64().is_some_and(|m| m > 0.0), "{c}");
    }
    let bw = net["receive_bandwidth"].as_array().expect("bandwidth rows");
    assert_eq!(bw.len(), 6, "{bw:?}");
    for r in bw {
        // The windowed sender loses nothing on an idle link; a loaded
        // machine may drop a few host datagrams, never most.
        assert!(
            r["received"].as_u64().unwrap_or(0) * 10 >= r["sent"].as_u64().unwrap_or(0) * 9,
            "{r}"
        );
        assert!(r["mbit_s"].as_f64().is_some_and(|m| m > 0.0), "{r}");
    }
}
