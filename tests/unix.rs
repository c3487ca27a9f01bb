//! End to end: every guest program of `guest/unix/cases.txt` runs under
//! `spin exec --machine alpha` and under `qemu-alpha` (the oracle), and the
//! two must agree byte for byte on stdout and stderr, and on the exit status.
//!
//! Needs the Alpha cross compiler and qemu-alpha (CI installs both); prints a
//! SKIP line and passes without them.

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

/// Builds the Alpha guest programs once per test binary; None (with a SKIP
/// line) when the toolchain or the oracle is missing.
fn guests() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        if !have("alpha-linux-gnu-gcc") || !have("qemu-alpha") {
            eprintln!("SKIP: alpha-linux-gnu-gcc or qemu-alpha not installed");
            return None;
        }
        let build = repo().join("target").join("guest-unix");
        let st = Command::new("make")
            .args(["-s", "-C"])
            .arg(repo().join("guest/unix"))
            .arg(format!("BUILD={}", build.display()))
            .arg("alpha")
            .status()
            .expect("make runs");
        assert!(st.success(), "building the guest programs failed");
        Some(build.join("alpha"))
    })
    .as_deref()
}

/// One line of cases.txt.
#[derive(Debug, Clone)]
struct Case {
    name: String,
    exit: i32,
    flags: Vec<String>,
    stdin: Option<String>,
    env: Vec<(String, String)>,
    program: String,
    args: Vec<String>,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(repo().join("guest/unix/cases.txt")).expect("cases.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split(" | ").map(str::trim).collect();
            assert!(f.len() >= 6, "malformed case line: {l}");
            let mut cmd = f[5].split(' ').filter(|s| !s.is_empty());
            Case {
                name: f[0].to_string(),
                exit: f[1].parse().expect("exit status"),
                flags: f[2].split(',').map(|s| s.trim().to_string()).collect(),
                stdin: (f[3] != "-").then(|| f[3].to_string()),
                env: if f[4] == "-" {
                    Vec::new()
                } else {
                    f[4].split(' ')
                        .filter_map(|kv| kv.split_once('='))
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect()
                },
                program: cmd.next().expect("program").to_string(),
                args: cmd.map(str::to_string).collect(),
            }
        })
        .collect()
}

fn status_of(o: &Output) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    o.status
        .code()
        .or_else(|| o.status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

fn run(dir: &Path, case: &Case, spin: bool) -> Output {
    let prog = dir.join(&case.program);
    let mut cmd = if spin {
        let mut c = Command::new(env!("CARGO_BIN_EXE_spin"));
        c.arg("exec").arg("--machine").arg("alpha").arg(&prog);
        c
    } else {
        let mut c = Command::new("qemu-alpha");
        c.arg(&prog);
        c.env("GUEST_EXEC_WRAPPER", "/usr/bin/qemu-alpha");
        c
    };
    cmd.args(&case.args)
        .current_dir(dir)
        .env_remove("SPIN_TEST")
        .envs(case.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match &case.stdin {
        Some(f) => cmd.stdin(std::fs::File::open(dir.join(f)).expect("stdin file")),
        None => cmd.stdin(Stdio::null()),
    };
    cmd.output().expect("the program runs")
}

fn compare(case: &Case, dir: &Path) -> Result<(), String> {
    let ours = run(dir, case, true);
    let oracle = run(dir, case, false);
    let mut diffs = Vec::new();
    if status_of(&ours) != status_of(&oracle) || status_of(&ours) != case.exit {
        diffs.push(format!(
            "exit: spin {} qemu-alpha {} expected {}",
            status_of(&ours),
            status_of(&oracle),
            case.exit
        ));
    }
    for (what, a, b) in [
        ("stdout", &ours.stdout, &oracle.stdout),
        ("stderr", &ours.stderr, &oracle.stderr),
    ] {
        if a != b {
            diffs.push(format!(
                "{what} differs:\n--- spin\n{}\n--- qemu-alpha\n{}",
                String::from_utf8_lossy(a),
                String::from_utf8_lossy(b)
            ));
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(format!("case {}:\n{}", case.name, diffs.join("\n")))
    }
}

fn check_flag(flag: &str) {
    let Some(dir) = guests() else {
        return;
    };
    let slow = std::env::var_os("SLOW").is_some();
    let failures: Vec<String> = cases()
        .iter()
        .filter(|c| c.flags.iter().any(|f| f == flag))
        .filter(|c| slow || !c.flags.iter().any(|f| f == "slow"))
        .filter_map(|c| compare(c, dir).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn guest_programs_match_qemu_alpha() {
    check_flag("core");
}

#[test]
fn third_party_workloads_match_qemu_alpha() {
    let Some(dir) = guests() else {
        return;
    };
    let build = dir.parent().expect("build dir");
    let st = Command::new("make")
        .args(["-s", "-j2", "-C"])
        .arg(repo().join("guest/unix"))
        .arg(format!("BUILD={}", build.display()))
        .args(["ARCHS=alpha", "third-party"])
        .status()
        .expect("make runs");
    assert!(
        st.success(),
        "building SQLite and Lua for Alpha failed (needs network for cargo fetch)"
    );
    check_flag("third-party");
}

mod mounds {
    //! Several UNIX mounds in one kernel, through the library API.
    use super::*;
    use std::os::unix::ffi::OsStrExt;
    use std::sync::{Arc, Mutex};

    use spin_unix::{HostMount, Stdio as GuestStdio, UnixConfig};
    use spin_vmm::host::{Host, HostConfig, MoundConfig, RunReport};

    fn config(
        dir: &Path,
        name: &str,
        prog: &str,
        args: &[&str],
    ) -> (UnixConfig, Arc<Mutex<Vec<u8>>>) {
        let path = dir.join(prog);
        let mut argv = vec![path.as_os_str().as_bytes().to_vec()];
        argv.extend(args.iter().map(|a| a.as_bytes().to_vec()));
        let mut u = UnixConfig::new(name, path.as_os_str().as_bytes().to_vec(), argv);
        u.cwd = dir.as_os_str().as_bytes().to_vec();
        u.mounts = vec![HostMount {
            guest: u.cwd.clone(),
            host: dir.to_path_buf(),
            writable: false,
        }];
        let out = Arc::new(Mutex::new(Vec::new()));
        u.stdout = GuestStdio::Capture(out.clone());
        u.stderr = GuestStdio::Capture(out.clone());
        u.stdin = GuestStdio::Null;
        // A fixed wall clock: guests derive timeouts from it.
        u.realtime_base = Some(1_700_000_000_000_000_000);
        (u, out)
    }

    fn run_mix(dir: &Path, progs: &[(&str, &[&str])], quantum: u64) -> (RunReport, Vec<Vec<u8>>) {
        let mut outs = Vec::new();
        let mut cfg = HostConfig {
            ram: 512 << 20,
            trace: true,
            ..HostConfig::default()
        };
        cfg.scheduler.params.quantum = quantum;
        for (i, (p, a)) in progs.iter().enumerate() {
            let (u, out) = config(dir, &format!("m{i} {p}"), p, a);
            cfg.mounds.push(MoundConfig::Unix(u));
            outs.push(out);
        }
        let host = Host::build(cfg).expect("the host builds");
        let report = host.run(|_| {}).expect("the host runs");
        let outs = outs.iter().map(|o| o.lock().unwrap().clone()).collect();
        (report, outs)
    }

    fn qemu_output(dir: &Path, prog: &str, args: &[&str]) -> (Vec<u8>, i32) {
        let o = Command::new("qemu-alpha")
            .arg(dir.join(prog))
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .expect("qemu-alpha runs");
        let mut out = o.stdout.clone();
        out.extend(&o.stderr);
        (out, status_of(&o))
    }

    #[test]
    fn two_mounds_run_at_once_and_both_are_right() {
        let Some(dir) = guests() else {
            return;
        };
        let progs: &[(&str, &[&str])] = &[("cpubench", &[]), ("threads", &[])];
        let (report, outs) = run_mix(dir, progs, 200_000);
        for ((p, a), out) in progs.iter().zip(&outs) {
            let (want, status) = qemu_output(dir, p, a);
            assert_eq!(
                String::from_utf8_lossy(out),
                String::from_utf8_lossy(&want),
                "{p}"
            );
            assert_eq!(status, 0);
        }
        assert!(
            report.mounds.iter().all(|m| m.status == Some(0)),
            "{:?}",
            report.mounds
        );
        // The mounds really interleaved: turns alternate between them many times.
        let mounds: Vec<_> = report.trace.iter().map(|t| t.strand).collect();
        let switches = mounds.windows(2).filter(|w| w[0] != w[1]).count();
        assert!(switches > 10, "only {switches} switches between strands");
    }

    #[test]
    fn same_seed_and_quantum_replay_the_same_interleaving() {
        let Some(dir) = guests() else {
            return;
        };
        let progs: &[(&str, &[&str])] = &[("threads", &[]), ("files", &[]), ("hello", &["x"])];
        let (a, out_a) = run_mix(dir, progs, 50_000);
        let (b, out_b) = run_mix(dir, progs, 50_000);
        assert_eq!(out_a, out_b);
        assert_eq!(a.machine_ns, b.machine_ns);
        if let Some(i) = (0..a.trace.len().min(b.trace.len())).find(|&i| a.trace[i] != b.trace[i]) {
            panic!(
                "the interleaving differs at turn {i}: {:?} vs {:?}",
                a.trace[i], b.trace[i]
            );
        }
        assert_eq!(a.trace.len(), b.trace.len());
        assert!(a.trace.len() > 20);
    }

    #[test]
    fn a_faulting_mound_dies_alone() {
        let Some(dir) = guests() else {
            return;
        };
        let progs: &[(&str, &[&str])] = &[("segv", &[]), ("cpubench", &[]), ("divzero", &[])];
        let (report, outs) = run_mix(dir, progs, 100_000);
        let status: Vec<_> = report.mounds.iter().map(|m| m.status).collect();
        assert_eq!(status, vec![Some(128 + 11), Some(0), Some(128 + 8)]);
        let (want, _) = qemu_output(dir, "cpubench", &[]);
        assert_eq!(outs[1], want);
    }
}

mod bad_input {
    use super::*;

    fn spin_exec(prog: &Path) -> Output {
        Command::new(env!("CARGO_BIN_EXE_spin"))
            .arg("exec")
            .arg(prog)
            .stdin(Stdio::null())
            .output()
            .expect("spin runs")
    }

    fn expect_clean_error(prog: &Path, what: &str) {
        let o = spin_exec(prog);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{what}: exit {:?}", o.status);
        assert_eq!(o.status.code(), Some(1), "{what}: {err}");
        assert_eq!(
            err.lines().count(),
            1,
            "{what}: one line expected, got {err}"
        );
        assert!(err.starts_with("spin: "), "{what}: {err}");
    }

    #[test]
    fn malformed_programs_are_one_line_errors() {
        let tmp = std::env::temp_dir().join(format!("spin-bad-elf-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let hello = std::fs::read(repo().join("guest/prebuilt/primes.alpha")).unwrap();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("text", b"#!/bin/true\nnot an elf\n".to_vec()),
            ("truncated", hello[..100].to_vec()),
            ("header only", hello[..64].to_vec()),
            ("wrong machine", {
                let mut h = hello.clone();
                h[18] = 0x28;
                h[19] = 0;
                h
            }),
            ("absurd phnum", {
                let mut h = hello.clone();
                h[56] = 0xff;
                h[57] = 0xff;
                h
            }),
            ("segments cut off", hello[..hello.len() / 3].to_vec()),
        ];
        for (what, bytes) in cases {
            let p = tmp.join(what.replace(' ', "_"));
            std::fs::write(&p, bytes).unwrap();
            expect_clean_error(&p, what);
        }
        expect_clean_error(&tmp.join("does-not-exist"), "missing");
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
