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
