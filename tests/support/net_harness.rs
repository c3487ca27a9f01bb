//! The harness of the network tests (tests/net.rs, tests/net_guest.rs):
//! per-test network namespaces with a tap, and a running `spin exec` with a
//! control socket. Included with `#[path]` by each test file.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn spin_path() -> &'static str {
    env!("CARGO_BIN_EXE_spin")
}

pub fn guest_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("guest/prebuilt/alpha/sh")
}

pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spin-net-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"))
}

/// A network namespace with a tap `tap0` at 10.77.0.1/24; deleted on drop.
pub struct Netns {
    pub name: String,
}

static NEXT_NS: AtomicUsize = AtomicUsize::new(0);

impl Netns {
    /// The namespace, or why it cannot be made here (the test then skips).
    pub fn with_tap() -> Result<Netns, String> {
        if !have("ip") {
            return Err("no `ip` (iproute2)".into());
        }
        if !Path::new("/dev/net/tun").exists() {
            return Err("no /dev/net/tun".into());
        }
        let uid = run(Command::new("id").arg("-u"));
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return Err("not root (network namespaces and taps need CAP_NET_ADMIN)".into());
        }
        let name = format!(
            "spin-test-{}-{}",
            std::process::id(),
            NEXT_NS.fetch_add(1, Ordering::Relaxed)
        );
        let out = run(Command::new("ip").args(["netns", "add", &name]));
        if !out.status.success() {
            return Err(format!(
                "ip netns add: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let ns = Netns { name };
        for args in [
            &["ip", "link", "set", "lo", "up"][..],
            &["ip", "tuntap", "add", "dev", "tap0", "mode", "tap"],
            &["ip", "addr", "add", "10.77.0.1/24", "dev", "tap0"],
            &["ip", "link", "set", "tap0", "up"],
        ] {
            let out = run(&mut ns.exec(args));
            if !out.status.success() {
                return Err(format!(
                    "{}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }
        Ok(ns)
    }

    /// `ip netns exec NAME args...`.
    pub fn exec(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(args);
        c
    }

    /// Sends `line` in one datagram with Linux `nc -u` from inside the
    /// namespace to `host:port` and returns what came back within 2 s.
    pub fn nc_udp(&self, host: &str, port: u16, line: &[u8]) -> String {
        use std::io::Write;
        let port = port.to_string();
        let mut nc = self
            .exec(&["nc", "-u", "-w", "2", host, &port])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("nc runs");
        nc.stdin
            .take()
            .expect("piped")
            .write_all(line)
            .expect("nc takes the datagram");
        let out = nc.wait_with_output().expect("nc ends");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A running `spin exec`; killed on drop.
pub struct Spin {
    child: Child,
    _stdin: ChildStdin,
    socket: PathBuf,
}

impl Spin {
    /// Starts `spin exec FLAGS sh` through `launcher` (plain, or `ip netns
    /// exec`), with a control socket, and waits for the socket. The shell
    /// reads its script from a standard input kept open: it stays, blocked.
    pub fn start(launcher: Command, flags: &[&str], name: &str) -> Spin {
        Spin::program(launcher, flags, &guest_sh(), &[], name)
    }

    /// Starts `spin exec FLAGS PROGRAM ARGS` likewise, its standard output
    /// piped (see [`Spin::output`]).
    pub fn program(
        mut launcher: Command,
        flags: &[&str],
        program: &Path,
        args: &[&str],
        name: &str,
    ) -> Spin {
        let socket = scratch(name).join("ctl.sock");
        let _ = std::fs::remove_file(&socket);
        launcher
            .arg("exec")
            .arg("--socket")
            .arg(&socket)
            .args(flags)
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = launcher.spawn().expect("spin starts");
        let stdin = child.stdin.take().expect("piped");
        let start = Instant::now();
        while !socket.exists() {
            if let Ok(Some(status)) = child.try_wait() {
                if status.success() {
                    // A short program may finish before the socket is up.
                    break;
                }
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                panic!("spin exited early ({status}): {err}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "no control socket"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Spin {
            child,
            _stdin: stdin,
            socket,
        }
    }

    /// Waits (up to `secs`) for the program to exit; its standard output.
    pub fn output(mut self, secs: u64) -> String {
        let start = Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if start.elapsed() < Duration::from_secs(secs) => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let net = self.net();
                    panic!("the guest did not finish in {secs} s; network: {net}");
                }
            }
        }
        let mut out = String::new();
        if let Some(mut o) = self.child.stdout.take() {
            let _ = std::io::Read::read_to_string(&mut o, &mut out);
        }
        out
    }

    /// Waits until the guest has a TCP listener (`tcp`) or a UDP socket
    /// (`!tcp`: a handler on UDP.PacketArrived) on the kernel's stack.
    pub fn wait_listening(&self, tcp: bool) {
        let start = Instant::now();
        loop {
            let t = self.net();
            let n = if tcp {
                t["net"]["tcp"]["listeners"].as_u64().unwrap_or(0)
            } else {
                t["net"]["events"]
                    .as_array()
                    .and_then(|e| e.iter().find(|e| e["name"] == "UDP.PacketArrived"))
                    .and_then(|e| e["handlers"].as_u64())
                    .unwrap_or(0)
            };
            if n > 0 {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the guest never listened: {t}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `spin ctl SOCKET net --json`.
    pub fn net(&self) -> Value {
        let out = run(Command::new(spin_path())
            .arg("ctl")
            .arg(&self.socket)
            .args(["net", "--json"]));
        assert!(
            out.status.success(),
            "ctl net: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON")
    }
}

impl Drop for Spin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `spin` run inside `ns`.
pub fn spin_in(ns: &Netns) -> Command {
    ns.exec(&[spin_path()])
}

/// Builds the guest programs `net` and `httpd` (guest/unix) for both
/// architectures once per test binary, in their own build directory.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds net and httpd for `arch` (alpha, x86_64) once; None with a SKIP
/// line when the compiler is missing.
pub fn guest(arch: &'static str, prog: &str) -> Option<PathBuf> {
    static BUILT: OnceLock<[Option<PathBuf>; 2]> = OnceLock::new();
    let dirs = BUILT.get_or_init(|| {
        let build = repo().join("target").join("guest-net");
        let one = |arch: &str, cc: &str| {
            if !have(cc) {
                return None;
            }
            let st = Command::new("make")
                .args(["-s", "-C"])
                .arg(repo().join("guest/unix"))
                .arg(format!("BUILD={}", build.display()))
                .arg(format!("{}/{arch}/net", build.display()))
                .arg(format!("{}/{arch}/httpd", build.display()))
                .status()
                .expect("make runs");
            assert!(st.success(), "building the guest programs failed");
            Some(build.join(arch))
        };
        [one("alpha", "alpha-linux-gnu-gcc"), one("x86_64", "gcc")]
    });
    let dir = match arch {
        "alpha" => &dirs[0],
        _ => &dirs[1],
    };
    match dir {
        Some(d) => Some(d.join(prog)),
        None => {
            eprintln!("SKIP: no compiler for the {arch} guest programs");
            None
        }
    }
}

/// A namespace with a tap, or None after a SKIP line (the test passes).
pub fn netns() -> Option<Netns> {
    match Netns::with_tap() {
        Ok(ns) => Some(ns),
        Err(why) => {
            eprintln!("SKIP: {why}");
            None
        }
    }
}

/// FNV-1a, as guest/unix/net.c computes it.
pub fn fnv(data: &[u8]) -> u32 {
    data.iter().fold(2_166_136_261u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    })
}
