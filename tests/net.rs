//! The network end to end, with the real `spin` binary and real peers.
//!
//! TAP tests: each makes its own network namespace with a persistent tap in
//! it (host side 10.77.0.1/24), runs `spin exec --net tap:tap0 --net-addr
//! 10.77.0.2/24` inside it, and talks to the kernel's stack with Linux's own
//! `ping` and `nc`. They need root, `ip` and /dev/net/tun; without them they
//! print `SKIP: ...` and pass. User-mode tests need no privileges: a host
//! socket reaches the stack through `--hostfwd`.
//!
//! The guest is the embedded `sh` reading its script from a standard input
//! the test holds open: the mound stays alive, blocked, costing no CPU.

use std::io::Write;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

fn spin_path() -> &'static str {
    env!("CARGO_BIN_EXE_spin")
}

fn guest_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("guest/prebuilt/alpha/sh")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spin-net-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"))
}

/// A network namespace with a tap `tap0` at 10.77.0.1/24; deleted on drop.
struct Netns {
    name: String,
}

static NEXT_NS: AtomicUsize = AtomicUsize::new(0);

impl Netns {
    /// The namespace, or why it cannot be made here (the test then skips).
    fn with_tap() -> Result<Netns, String> {
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
    fn exec(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(args);
        c
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
struct Spin {
    child: Child,
    _stdin: ChildStdin,
    socket: PathBuf,
}

impl Spin {
    /// Starts `spin exec FLAGS sh` through `launcher` (plain, or `ip netns
    /// exec`), with a control socket, and waits for the socket.
    fn start(mut launcher: Command, flags: &[&str], name: &str) -> Spin {
        let socket = scratch(name).join("ctl.sock");
        let _ = std::fs::remove_file(&socket);
        launcher
            .arg("exec")
            .arg("--socket")
            .arg(&socket)
            .args(flags)
            .arg(guest_sh())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = launcher.spawn().expect("spin starts");
        let stdin = child.stdin.take().expect("piped");
        let start = Instant::now();
        while !socket.exists() {
            if let Ok(Some(status)) = child.try_wait() {
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

    /// `spin ctl SOCKET net --json`.
    fn net(&self) -> Value {
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

fn spin_in(ns: &Netns) -> Command {
    ns.exec(&[spin_path()])
}

const TAP_FLAGS: &[&str] = &[
    "--net",
    "tap:tap0",
    "--net-addr",
    "10.77.0.2/24",
    "--udp-echo",
    "7",
];

/// `ping`'s "N received" (transmitted, received).
fn ping_counts(out: &Output) -> (u32, u32) {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("transmitted"))
        .unwrap_or_else(|| panic!("no ping summary in {text}"));
    let num = |word: &str| -> u32 {
        let words: Vec<&str> = line.split([' ', ',']).filter(|w| !w.is_empty()).collect();
        let i = words
            .iter()
            .position(|w| w.starts_with(word))
            .unwrap_or_else(|| panic!("no `{word}` in {line}"));
        words[i - 1].parse().unwrap()
    };
    (num("packets"), num("received"))
}

#[test]
fn tap_linux_ping_gets_three_replies_from_the_stack() {
    let ns = match Netns::with_tap() {
        Ok(ns) => ns,
        Err(why) => return eprintln!("SKIP: {why}"),
    };
    if !have("ping") {
        return eprintln!("SKIP: no ping (iputils-ping)");
    }
    let spin = Spin::start(spin_in(&ns), TAP_FLAGS, "ping");
    let out = run(&mut ns.exec(&["ping", "-c", "3", "-i", "0.2", "-W", "5", "10.77.0.2"]));
    assert_eq!(
        ping_counts(&out),
        (3, 3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let t = spin.net();
    let icmp = t["net"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == "icmp")
        .unwrap()
        .clone();
    assert_eq!(icmp["packets"], 3, "{icmp}");
    assert_eq!(t["nic"]["backend"], "tap:tap0");
    assert!(
        t["nic"]["frames_out"].as_u64().unwrap() >= 4,
        "3 replies + ARP"
    );
}

#[test]
fn tap_nc_gets_its_datagram_back_from_the_in_kernel_echo() {
    let ns = match Netns::with_tap() {
        Ok(ns) => ns,
        Err(why) => return eprintln!("SKIP: {why}"),
    };
    if !have("nc") {
        return eprintln!("SKIP: no nc (netcat-openbsd)");
    }
    let spin = Spin::start(spin_in(&ns), TAP_FLAGS, "nc");
    let mut nc = ns
        .exec(&["nc", "-u", "-w", "2", "10.77.0.2", "7"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    nc.stdin
        .take()
        .unwrap()
        .write_all(b"datagram from linux\n")
        .unwrap();
    let out = nc.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "datagram from linux\n"
    );
    let t = spin.net();
    let udp_handlers = t["net"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "UDP.PacketArrived")
        .unwrap()["handler_stats"]
        .clone();
    assert_eq!(
        udp_handlers[0]["installer"], "spin.net.host",
        "{udp_handlers}"
    );
    assert_eq!(udp_handlers[0]["dispatches"], 1, "{udp_handlers}");
}

#[test]
fn tap_injected_drops_lose_pings_and_are_counted() {
    let ns = match Netns::with_tap() {
        Ok(ns) => ns,
        Err(why) => return eprintln!("SKIP: {why}"),
    };
    if !have("ping") {
        return eprintln!("SKIP: no ping (iputils-ping)");
    }
    let mut flags = TAP_FLAGS.to_vec();
    flags.extend(["--net-faults", "drop=0.5,seed=1"]);
    let spin = Spin::start(spin_in(&ns), &flags, "faults");
    // Each exchange survives two coin flips (request in, reply out): about
    // one in four answered, and 40 requests make none or all absurd.
    let out = run(&mut ns.exec(&["ping", "-c", "40", "-i", "0.1", "-W", "2", "10.77.0.2"]));
    let (sent, received) = ping_counts(&out);
    assert_eq!(sent, 40);
    assert!(
        received > 0 && received < sent,
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let nic = &spin.net()["nic"];
    let drops = nic["injected_drops"].as_u64().unwrap();
    assert!(drops >= u64::from(sent - received), "{nic}");
    assert_eq!(nic["injected_dups"], 0);
}

#[test]
fn user_mode_hostfwd_reaches_the_in_kernel_udp_echo() {
    // A free port for the forward (taken, then given back).
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let fwd = format!("udp:{port}:7");
    let spin = Spin::start(
        Command::new(spin_path()),
        &["--hostfwd", &fwd, "--udp-echo", "7"],
        "user",
    );
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    for i in 0..5u8 {
        let msg = [b'a' + i; 16];
        client.send_to(&msg, ("127.0.0.1", port)).unwrap();
        let mut buf = [0u8; 64];
        let (n, from) = client.recv_from(&mut buf).expect("the echo answers");
        assert_eq!(&buf[..n], &msg);
        assert_eq!(from.port(), port);
    }
    let t = spin.net();
    assert_eq!(t["nic"]["backend"], "user");
    assert_eq!(t["nic"]["user"]["udp_from_host"], 5);
    assert_eq!(t["nic"]["user"]["udp_to_host"], 5);
}

#[test]
fn a_bad_tap_name_and_a_bad_forward_are_one_clear_line() {
    let out = run(Command::new(spin_path())
        .args(["exec", "--net", "tap:much-too-long-name"])
        .arg(guest_sh()));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 to 15 bytes"), "{err}");
    let out = run(Command::new(spin_path())
        .args(["exec", "--hostfwd", "80"])
        .arg(guest_sh()));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--hostfwd") && err.contains("HOSTPORT:GUESTPORT"),
        "{err}"
    );
}
