//! `spin bench`'s KVM section (issue 7), measured on whatever `/dev/kvm`
//! this host has (PVM on the development machines, labelled as such):
//!
//! - the system-call round trip: raw ring 3 → shim → exit → ring 3, the
//!   same through `Cpu::run`, and a guest `getppid` loop through the whole
//!   SPIN path (run loop, the UNIX mound's dispatcher) — target ≤ 1.2× raw;
//! - a CPU-bound guest (cpubench built for x86-64) under KVM vs native —
//!   target ≤ 1.05×;
//! - busybox command lines per second under KVM vs native.

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Result;
use serde_json::{json, Value};
use spin_unix::{HostMount, Stdio, UnixConfig};
use spin_vmm::host::{Host, HostConfig, MachineKind, MoundConfig};
use spin_vmm::kvm::{VcpuTelemetry, EXIT_REASONS};

use crate::bench::{median, verdict, Bench};

const ROUND_TRIP_TARGET: f64 = 1.2;
const CPU_TARGET: f64 = 1.05;
const BUSYBOX: &str = "/bin/busybox";

/// Command lines timed under `busybox sh -c` (a subset of the test suite's).
const LINES: [&str; 10] = [
    "echo hello | tr a-z A-Z",
    "seq 1 200 | sort -rn | head -3",
    "seq 1 500 | awk '{s+=$1} END {print s}'",
    "printf 'b\\na\\nc\\n' | sort | uniq -c",
    "echo abc | sed 's/b/B/'",
    "seq 100 | grep 7 | wc -l",
    "for i in 1 2 3; do echo $i; done | xargs echo",
    "echo $(seq 3)",
    "seq 1000 | md5sum",
    "x=0; while [ $x -lt 50 ]; do x=$((x+1)); done; echo $x",
];

/// One program under KVM as [`Bench::spin_on`] runs it, timed in two
/// phases (building the host — VM, kernel, mound, ELF load — and running
/// it), with the vCPUs' exit counts.
struct Profiled {
    wall: f64,
    build: f64,
    stdout: Vec<u8>,
    vcpus: Vec<VcpuTelemetry>,
}

fn profiled(program: &Path, dir: &Path, args: &[&str]) -> Result<Profiled> {
    let bytes = |p: &Path| p.as_os_str().as_bytes().to_vec();
    let mut argv = vec![bytes(program)];
    argv.extend(args.iter().map(|a| a.as_bytes().to_vec()));
    let mut unix = UnixConfig::new("guest", bytes(program), argv);
    unix.cwd = bytes(dir);
    unix.mounts = vec![HostMount {
        guest: bytes(dir),
        host: dir.to_path_buf(),
        writable: true,
    }];
    let stdout = Arc::new(Mutex::new(Vec::new()));
    unix.stdin = Stdio::Null;
    unix.stdout = Stdio::Capture(stdout.clone());
    unix.stderr = Stdio::Null;
    let mut cfg = HostConfig {
        machine: MachineKind::Kvm,
        mounds: vec![MoundConfig::Unix(unix)],
        ..HostConfig::default()
    };
    cfg.scheduler.params.quantum = 10_000_000;
    let started = Instant::now();
    let host = Host::build(cfg)?;
    let build = started.elapsed().as_secs_f64();
    host.run(|_| {})?;
    let wall = started.elapsed().as_secs_f64();
    let vcpus = host.vcpus();
    drop(host);
    let stdout = std::mem::take(&mut *stdout.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(Profiled {
        wall,
        build,
        stdout,
        vcpus,
    })
}

/// Exits per reason summed over vCPUs, in [`EXIT_REASONS`] order, and PTE
/// stores the shim made.
fn exit_counts(vcpus: &[VcpuTelemetry]) -> (Vec<(String, u64)>, u64, u64) {
    let mut sum: Vec<(String, u64)> = EXIT_REASONS.iter().map(|r| (r.to_string(), 0)).collect();
    let (mut exits, mut ptes) = (0, 0);
    for v in vcpus {
        exits += v.exits;
        ptes += v.pte_ops;
        for (i, (_, n)) in v.reasons.iter().enumerate() {
            if let Some(s) = sum.get_mut(i) {
                s.1 += n;
            }
        }
    }
    (sum, exits, ptes)
}

pub fn run(b: &Bench, out: &mut impl Write, json: bool, calls: u64) -> Result<Value> {
    if let Err(why) = spin_vmm::kvm::available() {
        if !json {
            writeln!(out, "KVM: SKIP: /dev/kvm unusable here: {why}\n")?;
        }
        return Ok(json!({ "skip": why }));
    }
    let mut report = serde_json::Map::new();
    let pvm = Path::new("/sys/module/kvm_pvm").exists();
    if !json {
        writeln!(
            out,
            "KVM machine, measured on {}",
            if pvm {
                "PVM (kvm_pvm: software virtualization, 5-20x slower exits than VT-x/SVM)"
            } else {
                "hardware KVM"
            }
        )?;
    }
    // 1. Round trips.
    let rt = spin_vmm::kvm::bench::syscall_round_trip(2000, b.runs.max(2) + 1)
        .map_err(anyhow::Error::msg)?;
    let guest_calls = (calls / 100).clamp(200, 20_000);
    let nullsys = b.native.join("nullsys");
    let mound_ns = if nullsys.is_file() {
        let n = |k: u64| k.to_string();
        Some(b.per_call(guest_calls, |k| {
            b.spin_on(MachineKind::Kvm, &nullsys, &b.native, &[&n(k)], false)
        })?)
    } else {
        None
    };
    let raw = rt.raw_ns as f64;
    // The guest loop gives a mean per call (whole-program wall time), so it
    // is compared with the raw loop's mean, not its median.
    let raw_mean = rt.raw_mean_ns as f64;
    if !json {
        writeln!(
            out,
            "system call round trip                          µs/call   vs raw   target"
        )?;
        writeln!(
            out,
            "  raw: ring 3 → shim → PIO exit → ring 3      {:>9.2}             (mean {:.2} µs)",
            raw / 1e3,
            raw_mean / 1e3
        )?;
        writeln!(
            out,
            "  machine: Cpu::run → Trap::Syscall → run     {:>9.2}   {:>5.2}×",
            rt.machine_ns as f64 / 1e3,
            rt.machine_ns as f64 / raw
        )?;
        match mound_ns {
            Some(m) => writeln!(
                out,
                "  SPIN: guest getppid via the UNIX mound      {:>9.2}   {:>5.2}×   ≤ {ROUND_TRIP_TARGET}× of the raw mean {}",
                m / 1e3,
                m / raw_mean,
                verdict(m / raw_mean <= ROUND_TRIP_TARGET)
            )?,
            None => writeln!(out, "  SPIN: SKIP: {} not built", nullsys.display())?,
        }
    }
    report.insert(
        "round_trip".into(),
        json!({
            "raw_ns": rt.raw_ns,
            "machine_ns": rt.machine_ns,
            "raw_mean_ns": rt.raw_mean_ns,
            "mound_ns": mound_ns,
            "ratio": mound_ns.map(|m| m / raw_mean),
            "target": ROUND_TRIP_TARGET,
            "pvm": pvm,
        }),
    );
    // 2. CPU-bound guest: KVM and native runs alternating; the KVM side
    // split into host build (VM + kernel + mound + ELF load) and run, with
    // the exits of the median run.
    let cpubench = b.native.join("cpubench");
    if cpubench.is_file() {
        let (mut ours, mut native, mut runs) = (Vec::new(), Vec::new(), Vec::new());
        let (mut hello_kvm, mut hello_native) = (Vec::new(), Vec::new());
        let hello = b.native.join("hello");
        let expected = b.native("cpubench", &["5"])?.stdout;
        for _ in 0..b.runs {
            // The floor: a program that touches a few pages and exits —
            // what every KVM run pays besides its own work.
            if hello.is_file() {
                hello_kvm.push(profiled(&hello, &b.native, &[])?.wall);
                hello_native.push(b.native("hello", &[])?.wall.as_secs_f64());
            }
            let p = profiled(&cpubench, &b.native, &["5"])?;
            if p.stdout != expected {
                anyhow::bail!(
                    "cpubench under KVM printed {:?}, natively {:?}",
                    String::from_utf8_lossy(&p.stdout),
                    String::from_utf8_lossy(&expected)
                );
            }
            ours.push(p.wall);
            runs.push(p);
            native.push(b.native("cpubench", &["5"])?.wall.as_secs_f64());
        }
        let (o, n) = (median(ours), median(native.clone()));
        runs.sort_by(|a, b| a.wall.total_cmp(&b.wall));
        let mid = &runs[runs.len() / 2];
        let (reasons, exits, ptes) = exit_counts(&mid.vcpus);
        let build = median(runs.iter().map(|r| r.build).collect());
        if !json {
            writeln!(
                out,
                "cpubench 5 (x86-64): KVM {o:.3} s, native {n:.3} s: {:.3}×   ≤ {CPU_TARGET}× {}",
                o / n,
                verdict(o / n <= CPU_TARGET)
            )?;
            let shown: Vec<String> = reasons
                .iter()
                .filter(|(_, c)| *c > 0)
                .map(|(r, c)| format!("{r} {c}"))
                .collect();
            writeln!(
                out,
                "  KVM median run: host build {:.3} s, run {:.3} s; {exits} exits ({}), {ptes} PTE stores by the shim",
                build,
                mid.wall - mid.build,
                shown.join(", ")
            )?;
        }
        let floor = (!hello_kvm.is_empty())
            .then(|| (median(hello_kvm), median(hello_native)))
            .map(|(k, h)| (k, h, (k - h).max(0.0)));
        if let (Some((k, h, fixed)), false) = (floor, json) {
            writeln!(
                out,
                "  floor: hello (a few pages, then exit) KVM {:.1} ms vs native {:.1} ms: {:.1} ms per program, so cpubench ≥ {:.3}× here",
                k * 1e3,
                h * 1e3,
                fixed * 1e3,
                (n + fixed) / n
            )?;
        }
        report.insert(
            "cpubench".into(),
            json!({
                "kvm_s": o,
                "native_s": n,
                "ratio": o / n,
                "target": CPU_TARGET,
                "build_s": build,
                "exits": exits,
                "reasons": reasons,
                "pte_ops": ptes,
                "floor": floor.map(|(k, h, fixed)| json!({
                    "hello_kvm_s": k,
                    "hello_native_s": h,
                    "fixed_s": fixed,
                    "ratio_floor": (n + fixed) / n,
                })),
            }),
        );
    } else if !json {
        writeln!(out, "cpubench: SKIP: {} not built", cpubench.display())?;
    }
    // 3. busybox command lines per second.
    let busybox = Path::new(BUSYBOX);
    let cwd = std::env::temp_dir();
    if busybox.is_file() {
        let (mut ours, mut native, mut wrong) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..b.runs {
            let (mut o, mut n) = (0.0, 0.0);
            for line in LINES {
                let r = b.spin_on(MachineKind::Kvm, busybox, &cwd, &["sh", "-c", line], false)?;
                let h = b.host(None, &cwd, BUSYBOX, &["sh", "-c", line])?;
                if r.stdout != h.stdout || r.status != h.status {
                    // Wrong output is reported (and fails the run), but the
                    // rest of the table is still measured.
                    let why = format!(
                        "`{line}` printed {:?} (status {}) under KVM, {:?} (status {}) natively",
                        String::from_utf8_lossy(&r.stdout),
                        r.status,
                        String::from_utf8_lossy(&h.stdout),
                        h.status
                    );
                    if !json {
                        writeln!(out, "busybox: MISMATCH: {why}")?;
                    }
                    wrong.push(why);
                }
                o += r.wall.as_secs_f64();
                n += h.wall.as_secs_f64();
            }
            ours.push(LINES.len() as f64 / o);
            native.push(LINES.len() as f64 / n);
        }
        let (o, n) = (median(ours), median(native));
        if !json {
            writeln!(
                out,
                "busybox sh -c: {o:.1} command lines/s under KVM (VM + load + run each), native {n:.1}/s: {:.2}×\n",
                o / n
            )?;
        }
        report.insert(
            "busybox".into(),
            json!({
                "kvm_lines_per_s": o,
                "native_lines_per_s": n,
                "lines": LINES.len(),
                "mismatches": wrong,
            }),
        );
    } else if !json {
        writeln!(
            out,
            "busybox: SKIP: {BUSYBOX} missing (apt-get install busybox-static)\n"
        )?;
    }
    Ok(Value::Object(report))
}
