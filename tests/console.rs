//! The console's end-to-end slice without a terminal: mixed launch from a
//! manifest, headless telemetry records, the control socket (`spin ctl`),
//! manifest errors, completions and man pages. The dashboard in a real
//! terminal is tests/tmux.rs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn spin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_spin"))
}

fn demo_manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("guest/demo/demo.toml")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spin-console-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn wait_for_socket(path: &Path, child: &mut Child) {
    let start = Instant::now();
    while !path.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "spin exited early ({status}) before serving {}",
                path.display()
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no socket at {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `spin run --config MANIFEST --headless`.
fn run_headless(manifest: &Path) -> Output {
    spin()
        .arg("run")
        .arg("--config")
        .arg(manifest)
        .arg("--headless")
        .output()
        .unwrap()
}

/// Builds the guest programs for `arch` (`alpha` or `x86_64`) as tests/unix.rs
/// does; None (with a SKIP line) when the compiler is missing.
fn guest_programs(arch: &str) -> Option<PathBuf> {
    let cc = if arch == "alpha" {
        "alpha-linux-gnu-gcc"
    } else {
        "gcc"
    };
    let have = Command::new(cc)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        println!("SKIP: {cc} not installed");
        return None;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let build = root.join("target").join("guest-unix");
    let st = Command::new("make")
        .args(["-s", "-C"])
        .arg(root.join("guest/unix"))
        .arg(format!("BUILD={}", build.display()))
        .arg(arch)
        .status()
        .unwrap();
    assert!(st.success(), "building the {arch} guest programs failed");
    Some(build.join(arch))
}

fn ctl(socket: &Path, args: &[&str]) -> Output {
    spin().arg("ctl").arg(socket).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn mound_cpu(rec: &Value, name: &str) -> u64 {
    let id = rec["mounds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no mound {name} in {rec}"))["id"]
        .as_u64()
        .unwrap();
    rec["sched"]["mounds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mound"].as_u64() == Some(id))
        .map_or(0, |m| m["account"]["cpu_ns"].as_u64().unwrap())
}

/// The headless test: records are well formed, both mounds make
/// progress, and a policy swap sent over the socket shows in the records.
#[test]
fn headless_records_show_both_mounds_progress_and_a_socket_swap() {
    let dir = scratch("headless");
    let socket = dir.join("ctl.sock");
    let mut child = spin()
        .arg("run")
        .arg("--config")
        .arg(demo_manifest())
        .args(["--headless", "--batch", "--json", "--interval", "250"])
        .args(["--duration", "5", "--socket"])
        .arg(&socket)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_socket(&socket, &mut child);
    std::thread::sleep(Duration::from_millis(1500));
    let swap = ctl(&socket, &["policy", "set", "stride"]);
    assert!(swap.status.success(), "{}", text(&swap.stderr));
    assert_eq!(
        text(&swap.stdout).trim(),
        "policy swapped: rr-priority -> stride"
    );
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let records: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(records.len() >= 10, "{} records", records.len());
    for r in &records {
        for key in [
            "seq", "host_ms", "machine", "policy", "mounds", "sched", "kernel",
        ] {
            assert!(!r[key].is_null(), "record without {key}: {r}");
        }
        assert_eq!(r["policy"], r["sched"]["policy"]);
    }
    let (first, last) = (&records[0], &records[records.len() - 1]);
    assert_eq!(first["policy"], "rr-priority");
    assert_eq!(last["policy"], "stride");
    assert_eq!(
        last["running"], false,
        "the final record says the run ended"
    );
    let before = records
        .iter()
        .position(|r| r["policy"] == "stride")
        .expect("the swap shows in a record");
    assert!(before > 0);
    let swaps = last["sched"]["swaps"].as_array().unwrap();
    assert!(
        swaps
            .iter()
            .any(|s| s["to"] == "stride" && s["from"] == "rr-priority"),
        "{swaps:?}"
    );
    for name in ["cpu", "shell"] {
        let mid = &records[records.len() / 2];
        assert!(
            mound_cpu(mid, name) > mound_cpu(first, name),
            "{name} made no progress by the middle"
        );
        assert!(
            mound_cpu(&records[records.len() - 2], name) > mound_cpu(mid, name),
            "{name} made no progress in the second half"
        );
    }
    // The guest output reached the log.
    let log: Vec<String> = last["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            format!(
                "[{}] {}",
                l["source"].as_str().unwrap(),
                l["text"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        log.iter().any(|l| l.starts_with("[shell] round-")),
        "{log:?}"
    );
}

#[test]
fn csv_records_have_a_header_and_a_row_per_mound() {
    let out = spin()
        .args([
            "demo",
            "--headless",
            "--batch",
            "--csv",
            "--interval",
            "200",
            "--duration",
            "1.5",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    let mut lines = t.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[0], "seq");
    assert!(header.contains(&"policy") && header.contains(&"cpu_ns"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows.len() >= 4, "{t}");
    for r in &rows {
        assert_eq!(r.len(), header.len(), "{r:?}");
        assert_eq!(r[3], "rr-priority");
        assert!(["cpu", "shell", "db"].contains(&r[6]), "{r:?}");
    }
}

#[test]
fn plain_headless_demo_prints_both_mounds_and_a_summary() {
    let out = spin()
        .args(["demo", "--headless", "--duration", "3"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    for want in [
        "[kernel] booted: alpha machine, 1 vCPU(s), policy rr-priority, 3 mound(s)",
        "[cpu] cpu: start",
        "[cpu] cpu: round 1",
        "[shell] pipelines: start",
        "[shell] round-1 c b a Hello from a static Linux binary!",
        "[kernel] policy rr-priority (0 swap(s))",
    ] {
        assert!(t.contains(want), "missing {want:?} in\n{t}");
    }
    // The summary names both mounds, stopped by the clock.
    assert!(
        t.lines()
            .any(|l| l.starts_with("cpu ") && l.contains("stopped")),
        "{t}"
    );
    assert!(
        t.lines()
            .any(|l| l.starts_with("shell ") && l.contains("stopped")),
        "{t}"
    );
}

/// `spin ctl`: tables and JSON, stopping one mound while the other goes on,
/// refusals as one line and a failure exit.
#[test]
fn ctl_lists_mounds_and_strands_and_stops_one_mound() {
    let dir = scratch("ctl");
    let socket = dir.join("ctl.sock");
    let mut child = spin()
        .args(["demo", "--headless", "--duration", "8", "--socket"])
        .arg(&socket)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_socket(&socket, &mut child);
    std::thread::sleep(Duration::from_millis(500));
    let mounds = ctl(&socket, &["mounds", "--json"]);
    assert!(mounds.status.success(), "{}", text(&mounds.stderr));
    let m: Value = serde_json::from_slice(&mounds.stdout).unwrap();
    let names: Vec<&str> = m
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cpu", "shell", "db"]);
    assert_eq!(m[0]["kind"], "unix");
    assert_eq!(m[2]["kind"], "db-pager");
    assert_eq!(m[0]["state"]["state"], "running");
    let table = text(&ctl(&socket, &["mounds"]).stdout);
    assert!(table.contains("/bin/sh /bin/pipelines.sh"), "{table}");

    let strands = ctl(&socket, &["strands", "--json"]);
    let s: Value = serde_json::from_slice(&strands.stdout).unwrap();
    assert!(
        s.as_array().unwrap().iter().any(|r| r["mound"] == 1)
            && s.as_array().unwrap().iter().any(|r| r["mound"] == 2),
        "{s}"
    );

    let stop = ctl(&socket, &["mound", "stop", "2"]);
    assert!(stop.status.success(), "{}", text(&stop.stderr));
    let cpu_before = snapshot_cpu(&socket, "cpu");
    std::thread::sleep(Duration::from_millis(800));
    let snap = snapshot(&socket);
    let shell = &snap["mounds"][1];
    assert_eq!(shell["state"]["state"], "stopped", "{shell}");
    assert_eq!(snap["mounds"][0]["state"]["state"], "running");
    assert!(
        snapshot_cpu(&socket, "cpu") > cpu_before,
        "cpu keeps running"
    );

    let out = ctl(&socket, &["mound", "stop", "9"]);
    assert!(!out.status.success());
    assert_eq!(text(&out.stderr), "spin: no mound 9\n");
    let out = ctl(&socket, &["policy", "set", "fifo"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("fifo"), "{}", text(&out.stderr));
    // The socket itself: malformed and refused requests get an error reply
    // on the same connection, which stays usable.
    {
        use std::io::{BufRead, BufReader, Write};
        let mut conn = std::os::unix::net::UnixStream::connect(&socket).unwrap();
        let mut replies = BufReader::new(conn.try_clone().unwrap());
        for (req, want) in [
            ("this is not json", "malformed request"),
            ("{\"op\":\"set-policy\",\"policy\":\"fifo\"}", "fifo"),
            ("{\"op\":\"no-such-op\"}", "malformed request"),
            ("{\"op\":\"policies\"}", "stride"),
        ] {
            writeln!(conn, "{req}").unwrap();
            let mut line = String::new();
            replies.read_line(&mut line).unwrap();
            let v: Value = serde_json::from_str(&line).unwrap();
            assert!(line.contains(want), "{req} -> {v}");
        }
    }
    let log = text(&ctl(&socket, &["log"]).stdout);
    assert!(log.contains("[kernel] mound 2 stopped"), "{log}");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!socket.exists(), "the socket file is removed at exit");
    let gone = ctl(&socket, &["mounds"]);
    assert!(!gone.status.success());
    assert!(
        text(&gone.stderr).starts_with("spin: "),
        "{}",
        text(&gone.stderr)
    );
}

fn snapshot(socket: &Path) -> Value {
    let out = ctl(socket, &["snapshot", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn snapshot_cpu(socket: &Path, name: &str) -> u64 {
    mound_cpu(&snapshot(socket), name)
}

#[test]
fn manifest_errors_are_file_line_column_and_nothing_starts() {
    let dir = scratch("manifest");
    let cases = [
        (
            "machine = \"alpha\"\n\n[[mound]]\nname = \"a\"\ntype = \"unix\"\nprogramme = \"embedded:sh\"\n",
            6,
            "programme",
        ),
        (
            "[scheduler]\npolicy = \"fifo\"\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n",
            2,
            "unknown policy `fifo`",
        ),
        (
            "[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"missing-program\"\n",
            4,
            "missing-program",
        ),
        (
            "[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\nquota_frames = -5\n",
            5,
            "quota_frames",
        ),
    ];
    for (i, (body, line, what)) in cases.iter().enumerate() {
        let path = dir.join(format!("bad{i}.toml"));
        std::fs::write(&path, body).unwrap();
        let out = spin()
            .arg("run")
            .arg("--config")
            .arg(&path)
            .arg("--headless")
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(out.stdout.is_empty(), "nothing ran: {}", text(&out.stdout));
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        let prefix = format!("spin: {}:{line}:", path.display());
        assert!(err.starts_with(&prefix), "want {prefix}… got {err}");
        assert!(err.contains(what), "{err}");
    }
}

#[test]
fn a_manifest_with_host_programs_and_mounts_runs_to_completion() {
    // A real guest program from a host path.
    let Some(bin) = guest_programs("alpha") else {
        return;
    };
    let hello = bin.join("hello");
    let dir = scratch("hostprog");
    std::fs::write(dir.join("input.txt"), "one\ntwo\n").unwrap();
    let manifest = dir.join("m.toml");
    std::fs::write(
        &manifest,
        format!(
            "cpus = 2\n[scheduler]\npolicy = \"fair\"\n\
             [[mound]]\nname = \"greeter\"\ntype = \"unix\"\nprogram = \"{}\"\nargs = [\"3\", \"x\"]\nenv = {{ SPIN_TEST = \"from-manifest\" }}\n\
             [[mound]]\nname = \"cat\"\ntype = \"unix\"\nprogram = \"{}\"\nargs = [\"--cat\", \"in\"]\nstdin = \"input.txt\"\nstrands = {{ scheduling = \"group\", local = \"round-robin\" }}\n",
            hello.display(),
            hello.display()
        ),
    )
    .unwrap();
    let out = run_headless(&manifest);
    let t = text(&out.stdout);
    // greeter exits with status 3 on purpose: the run reports it.
    assert!(!out.status.success(), "{t}");
    assert!(
        text(&out.stderr).contains("greeter exited with status 3"),
        "{}",
        text(&out.stderr)
    );
    assert!(t.contains("[greeter] SPIN_TEST=from-manifest"), "{t}");
    assert!(
        t.contains("[cat] in one") && t.contains("[cat] in two"),
        "{t}"
    );
    assert!(t.contains("[kernel] policy fair"), "{t}");
}

#[test]
fn print_manifest_is_the_demo_and_round_trips_through_run() {
    let out = spin().args(["demo", "--print-manifest"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        std::fs::read_to_string(demo_manifest()).unwrap()
    );
}

#[test]
fn completions_and_man_pages_come_from_the_same_definitions() {
    for shell in ["bash", "zsh", "fish"] {
        let out = spin().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let t = text(&out.stdout);
        for sub in ["demo", "run", "ctl", "top", "exec"] {
            assert!(t.contains(sub), "{shell} completions lack {sub}");
        }
    }
    let dir = scratch("man");
    let out = spin().arg("man").arg("--out").arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    for page in [
        "spin.1",
        "spin-run.1",
        "spin-demo.1",
        "spin-ctl.1",
        "spin-top.1",
    ] {
        let body =
            std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(body.contains(".TH"), "{page}");
    }
    let run_man = std::fs::read_to_string(dir.join("spin-run.1")).unwrap();
    assert!(run_man.contains("socket") && run_man.contains("headless"));
}

/// The same embedded mix on the KVM machine (x86-64 builds of the same
/// programs): both mounds run, and the summary shows the vCPU's exits.
#[test]
fn the_demo_runs_on_kvm_too() {
    if let Err(why) = spin_vmm::kvm::available() {
        println!("SKIP: /dev/kvm unusable here: {why}");
        return;
    }
    let out = spin()
        .args(["demo", "--machine", "kvm", "--headless", "--duration", "3"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    for want in [
        "[kernel] booted: kvm machine, 1 vCPU(s)",
        "[cpu] cpu: round 1",
        "[shell] round-1 c b a Hello from a static Linux binary!",
        "[kernel] vcpu0: ",
    ] {
        assert!(t.contains(want), "missing {want:?} in\n{t}");
    }
    assert!(t.contains("syscall ") && t.contains("page-fault "), "{t}");
}

/// Two KVM mounds at once: one dies of a wild write, one of a division by
/// zero, and the CPU benchmark in a third finishes with the right answer.
#[test]
fn a_faulting_kvm_mound_dies_alone() {
    if let Err(why) = spin_vmm::kvm::available() {
        println!("SKIP: /dev/kvm unusable here: {why}");
        return;
    }
    let Some(bin) = guest_programs("x86_64") else {
        return;
    };
    let dir = scratch("kvmfault");
    let manifest = dir.join("m.toml");
    std::fs::write(
        &manifest,
        format!(
            "machine = \"kvm\"\n\
             [[mound]]\nname = \"segv\"\ntype = \"unix\"\nprogram = \"{0}/segv\"\n\
             [[mound]]\nname = \"divzero\"\ntype = \"unix\"\nprogram = \"{0}/divzero\"\n\
             [[mound]]\nname = \"bench\"\ntype = \"unix\"\nprogram = \"{0}/cpubench\"\n",
            bin.display()
        ),
    )
    .unwrap();
    let out = run_headless(&manifest);
    let t = text(&out.stdout);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{t}");
    assert!(err.contains("segv exited with status 139"), "{err}");
    assert!(err.contains("divzero exited with status 136"), "{err}");
    assert!(!err.contains("bench exited"), "{err}");
    assert!(t.contains("[bench] cpubench: all 11 checks passed"), "{t}");
}
