//! `spin bench`: the UNIX mound's benchmarks, each side by side with its
//! reference measured in the same run (issue 5).
//!
//! * **Workloads** — wall time of the CPU benchmark, the SQLite driver and
//!   Lua under the UNIX mound vs under `qemu-alpha`, runs alternating.
//! * **Null system call** — the guest's `getxpid` loop (`nullsys`) vs the
//!   host's `getppid` (the same program built for x86-64, run natively).
//!   Per-call cost is isolated by subtracting a run of 0 calls.
//! * **The SPIN VM table** (Appel & Li; reference/spin-paper.md, Table 4) —
//!   `vmbench -t` natively on Linux vs under the mound the POSIX way
//!   (mprotect + a SIGSEGV handler through our signal delivery) and the SPIN
//!   way (`vmbench -x`: an in-kernel extension handles the faults and
//!   exports protect/unprotect as its own system calls).
//!
//! Times are host wall-clock time. Mound runs are timed in-process around
//! building and running the host (no `spin` process start-up); `vmbench`
//! times itself per operation, so its mound runs read the host's clock
//! (`UnixConfig::host_clock`) instead of machine time. Every figure is the
//! median of `--runs` runs.

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio as ProcStdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use spin_unix::{HostMount, Stdio, UnixConfig};
use spin_vmm::host::{Host, HostConfig, MachineKind, MoundConfig};

/// Run the UNIX mound's benchmarks against qemu-alpha and native Linux
/// (workloads, null system call, the SPIN VM table).
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Runs per measurement; the table shows medians.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// The guest programs' build directory (holding alpha/ and x86_64/);
    /// default: guest/unix/build here or in the source tree.
    #[arg(long)]
    build: Option<PathBuf>,
    /// The qemu-alpha to compare with.
    #[arg(long, default_value = "qemu-alpha")]
    qemu: String,
    /// Null system calls per run.
    #[arg(long, default_value_t = 2_000_000)]
    calls: u64,
    /// Iterations of the VM benchmark (Trap, Fault, Prot*; Appel* do 1/100
    /// as many rounds of 100 pages).
    #[arg(long, default_value_t = 10_000)]
    vm_iters: u64,
    /// Only these sections (comma-separated): workloads, nullsys, vm, kvm, net.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// UDP round trips per case in the network section.
    #[arg(long, default_value_t = 20_000)]
    net_round_trips: usize,
    /// MiB of payload per row of the network section's bandwidth table.
    #[arg(long, default_value_t = 32)]
    net_bandwidth_mib: u64,
    /// µs the network pump busy-polls in the network section's busy row.
    #[arg(long, default_value_t = 200)]
    busy_poll_us: u64,
    /// Print the results as JSON instead of tables.
    #[arg(long)]
    json: bool,
}

/// How to build what is missing.
const BUILD_HINT: &str = "make -C guest/unix alpha x86_64 && make -C guest/unix third-party ARCHS=alpha (see guest/unix/README.md)";

/// The workloads: name, program, arguments.
const WORKLOADS: [(&str, &str, &[&str]); 3] = [
    ("cpubench 10", "cpubench", &["10"]),
    ("sqlite (100k inserts)", "sqlite_driver", &[]),
    ("lua bench.lua", "lua", &["bench.lua"]),
];

/// The VM table's rows, with the SOSP'95 figures (µs): OSF/1, SPIN.
const VM_ROWS: [(&str, f64, f64); 7] = [
    ("Trap", 260.0, 7.0),
    ("Fault", 329.0, 29.0),
    ("Prot1", 45.0, 16.0),
    ("Prot100", 1041.0, 213.0),
    ("Unprot100", 1016.0, 214.0),
    ("Appel1", 382.0, 39.0),
    ("Appel2", 351.0, 29.0),
];

/// Target ratio of the null system call to the host's.
const NULLSYS_TARGET: f64 = 0.3;
/// Target ratio of the POSIX way to Linux.
const POSIX_TARGET: f64 = 1.0;
/// Target ratio of the SPIN way to Linux.
const SPIN_TARGET: f64 = 0.1;

/// `spin bench`.
pub fn run(args: BenchArgs) -> Result<ExitCode> {
    // The network section needs no guest programs.
    let net_only = !args.only.is_empty() && args.only.iter().all(|o| o == "net");
    let build = if net_only {
        // Row (b) uses guest/unix's `net` when it has been built.
        build_dir(args.build.as_deref()).unwrap_or_else(|_| PathBuf::from("guest/unix/build"))
    } else {
        build_dir(args.build.as_deref())?
    };
    let b = Bench {
        alpha: build.join("alpha"),
        native: build.join("x86_64"),
        qemu: which(&args.qemu),
        runs: args.runs.max(1),
    };
    let want = |s: &str| args.only.is_empty() || args.only.iter().any(|o| o == s);
    let mut out = std::io::stdout().lock();
    let mut report = serde_json::Map::new();
    report.insert("runs".into(), json!(b.runs));
    if !args.json {
        writeln!(
            out,
            "spin bench: medians of {} runs, host wall-clock time; references measured in the same run\n",
            b.runs
        )?;
    }
    if want("workloads") {
        let v = b.workloads(&mut out, args.json)?;
        report.insert("workloads".into(), v);
    }
    if want("nullsys") {
        let v = b.nullsys(&mut out, args.json, args.calls.max(1))?;
        report.insert("null_syscall".into(), v);
    }
    if want("vm") {
        let v = b.vm_table(&mut out, args.json, args.vm_iters.max(100))?;
        report.insert("vm_table".into(), v);
    }
    if want("kvm") {
        let v = crate::bench_kvm::run(&b, &mut out, args.json, args.calls.max(1))?;
        report.insert("kvm".into(), v);
    }
    if want("net") {
        let v = crate::bench_net::run(
            &mut out,
            args.json,
            args.net_round_trips,
            args.busy_poll_us,
            args.net_bandwidth_mib.max(1) << 20,
            &build,
        )?;
        report.insert("net".into(), v);
    }
    // A benchmark whose guest printed the wrong thing measured nothing.
    let wrong = report
        .get("kvm")
        .and_then(|k| k["busybox"]["mismatches"].as_array())
        .is_some_and(|m| !m.is_empty());
    if args.json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&Value::Object(report))?
        )?;
    }
    Ok(if wrong {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The build directory: given, or guest/unix/build under the working
/// directory or the source tree.
fn build_dir(given: Option<&Path>) -> Result<PathBuf> {
    let candidates: Vec<PathBuf> = match given {
        Some(p) => vec![p.to_path_buf()],
        None => vec![
            PathBuf::from("guest/unix/build"),
            Path::new(env!("CARGO_MANIFEST_DIR")).join("guest/unix/build"),
        ],
    };
    for c in &candidates {
        if c.is_dir() {
            return c.canonicalize().with_context(|| format!("{}", c.display()));
        }
    }
    bail!(
        "no guest build directory ({}): build it with {BUILD_HINT}",
        candidates[0].display()
    )
}

/// The path of `tool` if it runs.
fn which(tool: &str) -> Option<PathBuf> {
    let p = Path::new(tool);
    if p.components().count() > 1 {
        return p.is_file().then(|| p.to_path_buf());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(tool))
            .find(|c| c.is_file())
    })
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// What one run printed and how long it took.
pub(crate) struct Ran {
    pub(crate) wall: Duration,
    pub(crate) status: i32,
    pub(crate) stdout: Vec<u8>,
}

pub(crate) struct Bench {
    pub(crate) alpha: PathBuf,
    pub(crate) native: PathBuf,
    qemu: Option<PathBuf>,
    pub(crate) runs: usize,
}

impl Bench {
    /// Runs an Alpha program of the build directory in a UNIX mound,
    /// in-process; its working directory is the build directory.
    fn spin(&self, prog: &str, args: &[&str], host_clock: bool) -> Result<Ran> {
        self.spin_on(
            MachineKind::Alpha,
            &self.alpha.join(prog),
            &self.alpha,
            args,
            host_clock,
        )
    }

    /// Runs `program` (a host path) in a UNIX mound on `machine`, in-process,
    /// with `dir` as its (writable) working directory and the program's
    /// directory mounted read-only, as `spin exec` does.
    pub(crate) fn spin_on(
        &self,
        machine: MachineKind,
        program: &Path,
        dir: &Path,
        args: &[&str],
        host_clock: bool,
    ) -> Result<Ran> {
        let prog = program
            .file_name()
            .map_or_else(|| "guest".into(), |n| n.to_string_lossy().into_owned());
        let prog = prog.as_str();
        let program = program.to_path_buf();
        let dir_bytes = dir.as_os_str().as_bytes().to_vec();
        let mut argv = vec![program.as_os_str().as_bytes().to_vec()];
        argv.extend(args.iter().map(|a| a.as_bytes().to_vec()));
        let mut unix = UnixConfig::new(prog, program.as_os_str().as_bytes().to_vec(), argv);
        unix.cwd = dir_bytes.clone();
        unix.mounts = vec![HostMount {
            guest: dir_bytes,
            host: dir.to_path_buf(),
            writable: true,
        }];
        if let Some(pdir) = program.parent().filter(|p| *p != dir) {
            unix.mounts.push(HostMount {
                guest: pdir.as_os_str().as_bytes().to_vec(),
                host: pdir.to_path_buf(),
                writable: false,
            });
        }
        let stdout = Arc::new(Mutex::new(Vec::new()));
        unix.stdin = Stdio::Null;
        unix.stdout = Stdio::Capture(stdout.clone());
        unix.stderr = Stdio::Null;
        unix.host_clock = host_clock;
        let mut cfg = HostConfig {
            machine,
            mounds: vec![MoundConfig::Unix(unix)],
            ..HostConfig::default()
        };
        // As `spin exec` runs it.
        cfg.scheduler.params.quantum = 10_000_000;
        let started = Instant::now();
        let host = Host::build(cfg)?;
        let report = host.run(|_| {})?;
        let wall = started.elapsed();
        let status = report.mounds.first().and_then(|m| m.status).unwrap_or(-1);
        let stdout = std::mem::take(&mut *stdout.lock().unwrap_or_else(|e| e.into_inner()));
        Ok(Ran {
            wall,
            status,
            stdout,
        })
    }

    /// Runs a program as a host process (`qemu-alpha PROG` or a native
    /// x86-64 one) in `dir`.
    pub(crate) fn host(
        &self,
        runner: Option<&Path>,
        dir: &Path,
        prog: &str,
        args: &[&str],
    ) -> Result<Ran> {
        let mut cmd = match runner {
            Some(r) => {
                let mut c = Command::new(r);
                c.arg(dir.join(prog));
                c
            }
            None => Command::new(dir.join(prog)),
        };
        cmd.args(args)
            .current_dir(dir)
            .stdin(ProcStdio::null())
            .stderr(ProcStdio::null());
        let started = Instant::now();
        let out = cmd
            .output()
            .with_context(|| format!("running {}", dir.join(prog).display()))?;
        Ok(Ran {
            wall: started.elapsed(),
            status: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
        })
    }

    fn qemu(&self, prog: &str, args: &[&str]) -> Result<Ran> {
        self.host(self.qemu.as_deref(), &self.alpha, prog, args)
    }

    pub(crate) fn native(&self, prog: &str, args: &[&str]) -> Result<Ran> {
        self.host(None, &self.native, prog, args)
    }

    /// Why a row cannot run, if it cannot.
    pub(crate) fn missing(&self, alpha: &[&str], native: &[&str], qemu: bool) -> Option<String> {
        let gone: Vec<String> = alpha
            .iter()
            .map(|p| self.alpha.join(p))
            .chain(native.iter().map(|p| self.native.join(p)))
            .filter(|p| !p.is_file())
            .map(|p| p.display().to_string())
            .collect();
        if !gone.is_empty() {
            return Some(format!("{} not built: {BUILD_HINT}", gone.join(", ")));
        }
        if qemu && self.qemu.is_none() {
            return Some("qemu-alpha not found (install qemu-user)".into());
        }
        None
    }

    fn workloads(&self, out: &mut impl Write, json: bool) -> Result<Value> {
        if !json {
            writeln!(
                out,
                "{:<24} {:>12} {:>12} {:>10}",
                "workload", "spin exec", "qemu-alpha", "spin/qemu"
            )?;
        }
        let mut rows = Vec::new();
        for (name, prog, args) in WORKLOADS {
            let extra: &[&str] = if prog == "lua" { &["bench.lua"] } else { &[] };
            let needed: Vec<&str> = std::iter::once(prog).chain(extra.iter().copied()).collect();
            if let Some(why) = self.missing(&needed, &[], true) {
                if !json {
                    writeln!(out, "{name:<24} SKIP: {why}")?;
                }
                rows.push(json!({ "name": name, "skip": why }));
                continue;
            }
            let (mut spin, mut qemu) = (Vec::new(), Vec::new());
            for _ in 0..self.runs {
                let s = self.spin(prog, args, false)?;
                let q = self.qemu(prog, args)?;
                if s.status != 0 || q.status != 0 {
                    bail!(
                        "{name}: exit status {} under spin, {} under qemu-alpha",
                        s.status,
                        q.status
                    );
                }
                spin.push(s.wall.as_secs_f64());
                qemu.push(q.wall.as_secs_f64());
            }
            let (s, q) = (median(spin), median(qemu));
            if !json {
                writeln!(
                    out,
                    "{name:<24} {:>10.3} s {:>10.3} s {:>9.2}×",
                    s,
                    q,
                    s / q
                )?;
            }
            rows.push(json!({ "name": name, "spin_s": s, "qemu_s": q, "ratio": s / q }));
        }
        if !json {
            writeln!(out)?;
        }
        Ok(Value::Array(rows))
    }

    /// ns per call: the median over runs of (time of N calls − time of 0) / N.
    pub(crate) fn per_call(
        &self,
        calls: u64,
        mut run: impl FnMut(u64) -> Result<Ran>,
    ) -> Result<f64> {
        let mut v = Vec::new();
        for _ in 0..self.runs {
            let zero = run(0)?;
            let full = run(calls)?;
            if zero.status != 0 || full.status != 0 {
                bail!(
                    "nullsys failed (exit status {})",
                    full.status.max(zero.status)
                );
            }
            v.push((full.wall.as_secs_f64() - zero.wall.as_secs_f64()) * 1e9 / calls as f64);
        }
        Ok(median(v))
    }

    fn nullsys(&self, out: &mut impl Write, json: bool, calls: u64) -> Result<Value> {
        if let Some(why) = self.missing(&["nullsys"], &["nullsys"], false) {
            if !json {
                writeln!(out, "null system call: SKIP: {why}\n")?;
            }
            return Ok(json!({ "skip": why }));
        }
        let n = |k: u64| k.to_string();
        let spin = self.per_call(calls, |k| self.spin("nullsys", &[&n(k)], false))?;
        let linux = self.per_call(calls, |k| self.native("nullsys", &[&n(k)]))?;
        let qemu = match self.qemu {
            Some(_) => Some(self.per_call(calls, |k| self.qemu("nullsys", &[&n(k)]))?),
            None => None,
        };
        let ratio = spin / linux;
        if !json {
            writeln!(
                out,
                "null system call ({calls} calls, minus a run of 0)   ns/call   vs Linux   target"
            )?;
            writeln!(
                out,
                "  spin: guest getxpid                             {spin:>7.1}   {ratio:>7.2}×   ≤ {NULLSYS_TARGET}× {}",
                verdict(ratio <= NULLSYS_TARGET)
            )?;
            writeln!(
                out,
                "  Linux: getppid (x86-64 nullsys, native)         {linux:>7.1}"
            )?;
            if let Some(q) = qemu {
                writeln!(
                    out,
                    "  qemu-alpha: guest getxpid                       {q:>7.1}   {:>7.2}×",
                    q / linux
                )?;
            }
            writeln!(out)?;
        }
        Ok(json!({
            "calls": calls,
            "spin_ns": spin,
            "linux_ns": linux,
            "qemu_ns": qemu,
            "ratio": ratio,
            "target": NULLSYS_TARGET,
        }))
    }

    fn vm_table(&self, out: &mut impl Write, json: bool, iters: u64) -> Result<Value> {
        if let Some(why) = self.missing(&["vmbench"], &["vmbench"], false) {
            if !json {
                writeln!(out, "SPIN VM table: SKIP: {why}")?;
            }
            return Ok(json!({ "skip": why }));
        }
        let n = iters.to_string();
        let args = ["-t", "-n", n.as_str()];
        let spin_args = ["-t", "-x", "-n", n.as_str()];
        let (mut linux, mut posix, mut spin) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..self.runs {
            linux.push(parse_vmbench(&self.native("vmbench", &args)?, "Linux")?);
            posix.push(parse_vmbench(
                &self.spin("vmbench", &args, true)?,
                "POSIX way",
            )?);
            spin.push(parse_vmbench(
                &self.spin("vmbench", &spin_args, true)?,
                "SPIN way",
            )?);
        }
        let med = |all: &[Vec<f64>], i: usize| median(all.iter().map(|r| r[i]).collect());
        if !json {
            writeln!(
                out,
                "SPIN VM table (µs per operation; {iters} iterations, Appel* {} × 100 pages)",
                iters / 100
            )?;
            writeln!(
                out,
                "{:<10} {:>9} {:>10} {:>8} {:>10} {:>8}   {:>6} {:>6}",
                "", "Linux", "POSIX way", "ratio", "SPIN way", "ratio", "1995: OSF/1", "SPIN"
            )?;
        }
        let mut rows = Vec::new();
        let (mut posix_ok, mut spin_ok) = (true, true);
        for (i, (name, osf, spin95)) in VM_ROWS.iter().enumerate() {
            let (l, p, s) = (med(&linux, i), med(&posix, i), med(&spin, i));
            let (rp, rs) = (p / l, s / l);
            posix_ok &= rp <= POSIX_TARGET;
            spin_ok &= rs <= SPIN_TARGET;
            if !json {
                writeln!(
                    out,
                    "{name:<10} {l:>9.3} {p:>10.3} {rp:>7.2}× {s:>10.3} {rs:>7.3}×   {osf:>11} {spin95:>6}"
                )?;
            }
            rows.push(json!({
                "name": name, "linux_us": l, "posix_us": p, "posix_ratio": rp,
                "spin_us": s, "spin_ratio": rs, "osf1_1995_us": osf, "spin_1995_us": spin95,
            }));
        }
        if !json {
            writeln!(
                out,
                "targets: POSIX way ≤ {POSIX_TARGET}× Linux {}; SPIN way ≤ {SPIN_TARGET}× Linux {}",
                verdict(posix_ok),
                verdict(spin_ok)
            )?;
        }
        Ok(json!({
            "iterations": iters,
            "rows": rows,
            "posix_target": POSIX_TARGET,
            "spin_target": SPIN_TARGET,
        }))
    }
}

pub(crate) fn verdict(ok: bool) -> &'static str {
    if ok {
        "(met)"
    } else {
        "(MISSED)"
    }
}

/// The µs-per-op column of `vmbench -t`, in [`VM_ROWS`] order.
fn parse_vmbench(r: &Ran, what: &str) -> Result<Vec<f64>> {
    let text = String::from_utf8_lossy(&r.stdout);
    if r.status != 0 {
        bail!(
            "vmbench ({what}) failed with status {}: {}",
            r.status,
            text.lines().find(|l| l.contains("FAIL")).unwrap_or("")
        );
    }
    VM_ROWS
        .iter()
        .map(|(name, _, _)| {
            text.lines()
                .find_map(|l| {
                    let mut f = l.split_whitespace();
                    (f.next() == Some(name)).then(|| f.nth(2)?.parse::<f64>().ok())?
                })
                .with_context(|| format!("vmbench ({what}) printed no {name} line"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(Vec::new()).is_nan());
    }

    #[test]
    fn vmbench_lines_parse() {
        let out = "Trap 10000 ops 0.5 us/op\nFault 10000 ops 1.5 us/op\nProt1 1 ops 2 us/op\n\
                   Prot100 1 ops 3 us/op\nUnprot100 1 ops 4 us/op\nAppel1 1 ops 5 us/op\n\
                   Appel2 1 ops 6 us/op\nvmbench: all 11 checks passed\n";
        let r = Ran {
            wall: Duration::ZERO,
            status: 0,
            stdout: out.as_bytes().to_vec(),
        };
        assert_eq!(
            parse_vmbench(&r, "t").unwrap(),
            vec![0.5, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
        let bad = Ran { status: 1, ..r };
        assert!(parse_vmbench(&bad, "t").is_err());
    }
}
