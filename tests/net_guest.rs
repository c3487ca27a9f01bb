//! Guest programs on the network, against real Linux peers: the UNIX
//! mound's sockets (guest/unix/net.c, httpd.c; busybox under KVM) over a
//! TAP device in a per-test network namespace, and through user-mode port
//! forwarding without privileges.
//!
//! TAP tests need root, `ip` and /dev/net/tun, and the Alpha cross
//! compiler for the guest programs; without them they print `SKIP: …` and
//! pass. The peers are Linux's own `nc` and `curl`.

#[path = "support/net_harness.rs"]
mod harness;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use harness::{fnv, guest, have, netns, run, scratch, spin_in, spin_path, Netns, Spin};

const TAP: &[&str] = &["--net", "tap:tap0", "--net-addr", "10.77.0.2/24"];

/// A web root with an index page and a 1 MiB binary file.
fn web_root(name: &str) -> (PathBuf, Vec<u8>) {
    let dir = scratch(name).join("www");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), b"<h1>served by a SPIN mound</h1>\n").unwrap();
    let blob: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("blob.bin"), &blob).unwrap();
    (dir, blob)
}

fn curl(ns: &Netns, url: &str) -> (String, Vec<u8>) {
    let out = run(&mut ns.exec(&["curl", "-s", "-m", "30", "-w", "\n%{http_code}", url]));
    let mut body = out.stdout;
    let split = body.iter().rposition(|&b| b == b'\n').unwrap_or(0);
    let code = String::from_utf8_lossy(&body[split + 1..]).into_owned();
    body.truncate(split);
    (code, body)
}

/// curl gets the web root's page at `index` and its 1 MiB blob whole, and a
/// 404 for a missing file, from the server at 10.77.0.2:8080.
fn fetch_site(ns: &Netns, index: &str, blob: &[u8]) {
    let (code, body) = curl(ns, &format!("http://10.77.0.2:8080{index}"));
    assert_eq!(code, "200");
    assert_eq!(body, b"<h1>served by a SPIN mound</h1>\n");
    let (code, body) = curl(ns, "http://10.77.0.2:8080/blob.bin");
    assert_eq!(code, "200");
    assert!(body == blob, "1 MiB body differs ({} bytes)", body.len());
    let (code, _) = curl(ns, "http://10.77.0.2:8080/missing");
    assert_eq!(code, "404");
}

#[test]
fn tap_curl_fetches_pages_from_a_guest_http_server() {
    let (Some(ns), Some(httpd)) = (netns(), guest("alpha", "httpd")) else {
        return;
    };
    if !have("curl") {
        return eprintln!("SKIP: no curl");
    }
    let (www, blob) = web_root("httpd");
    let mut launcher = spin_in(&ns);
    launcher.current_dir(&www);
    let root = www.to_str().unwrap();
    let spin = Spin::program(launcher, TAP, &httpd, &["8080", root, "3"], "httpd");
    spin.wait_listening(true);
    fetch_site(&ns, "/", &blob);
    assert_eq!(
        spin.output(30),
        "httpd: listening on 8080\nGET / 200\nGET /blob.bin 200\nGET /missing 404\n"
    );
}

/// Whether `spin exec --machine kvm` can run here (it prints why not).
fn kvm_works() -> bool {
    let out = run(Command::new(spin_path()).args([
        "exec",
        "--machine",
        "kvm",
        "--net",
        "none",
        "/bin/busybox",
        "true",
    ]));
    if !out.status.success() {
        eprintln!(
            "SKIP: KVM unusable here: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return false;
    }
    true
}

#[test]
fn tap_curl_fetches_from_busybox_httpd_under_kvm() {
    let Some(ns) = netns() else { return };
    if !Path::new("/bin/busybox").exists() || !have("curl") {
        return eprintln!("SKIP: no /bin/busybox (busybox-static) or curl");
    }
    if !kvm_works() {
        return;
    }
    let (www, blob) = web_root("busybox");
    let mut launcher = spin_in(&ns);
    launcher.current_dir(&www);
    let root = www.to_str().unwrap();
    let mut flags = vec!["--machine", "kvm"];
    flags.extend(TAP);
    let spin = Spin::program(
        launcher,
        &flags,
        Path::new("/bin/busybox"),
        &["httpd", "-f", "-p", "8080", "-h", root],
        "busybox-httpd",
    );
    spin.wait_listening(true);
    fetch_site(&ns, "/index.html", &blob);
}

/// `nc -l` on the host side of the tap; the bytes it received.
fn host_listener(ns: &Netns, port: u16, name: &str) -> (std::process::Child, PathBuf) {
    let file = scratch(name).join("received.bin");
    let out = std::fs::File::create(&file).unwrap();
    let child = ns
        .exec(&["nc", "-l", "10.77.0.1", &port.to_string()])
        .stdout(out)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    // nc listens at once; give it a moment to bind.
    for _ in 0..100 {
        let ss = run(&mut ns.exec(&["ss", "-ltn"]));
        if String::from_utf8_lossy(&ss.stdout).contains(&format!(":{port}")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, file)
}

/// A guest `net tcp-source` sends `bytes` to a host `nc -l`; what arrived
/// must be what it sent (its FNV-1a and length).
fn guest_to_host(extra: &[&str], bytes: u64, name: &str) {
    let (Some(ns), Some(net)) = (netns(), guest("alpha", "net")) else {
        return;
    };
    if !have("nc") || !have("ss") {
        return eprintln!("SKIP: no nc (netcat-openbsd) or ss (iproute2)");
    }
    let (mut nc, file) = host_listener(&ns, 9000, name);
    let mut flags = TAP.to_vec();
    flags.extend(extra);
    let n = bytes.to_string();
    let spin = Spin::program(
        spin_in(&ns),
        &flags,
        &net,
        &["tcp-source", "10.77.0.1", "9000", &n],
        name,
    );
    let said = spin.output(300);
    let _ = nc.wait();
    let got = std::fs::read(&file).unwrap();
    assert_eq!(got.len() as u64, bytes, "guest said: {said}");
    assert_eq!(said, format!("{bytes} bytes fnv {:08x}\n", fnv(&got)));
}

/// A host `nc` sends `data` to a guest `net tcp-sink`, which prints what
/// it received.
fn host_to_guest(extra: &[&str], data: &[u8], name: &str) {
    let (Some(ns), Some(net)) = (netns(), guest("alpha", "net")) else {
        return;
    };
    if !have("nc") {
        return eprintln!("SKIP: no nc (netcat-openbsd)");
    }
    let file = scratch(name).join("send.bin");
    std::fs::write(&file, data).unwrap();
    let mut flags = TAP.to_vec();
    flags.extend(extra);
    let spin = Spin::program(spin_in(&ns), &flags, &net, &["tcp-sink", "9001"], name);
    spin.wait_listening(true);
    let st = ns
        .exec(&["nc", "-N", "10.77.0.2", "9001"])
        .stdin(std::fs::File::open(&file).unwrap())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "nc failed");
    assert_eq!(
        spin.output(300),
        format!("{} bytes fnv {:08x}\n", data.len(), fnv(data))
    );
}

/// 50 MB of incompressible bytes (a fixed xorshift stream).
fn fifty_mb() -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..50_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

#[test]
fn tap_50_mb_to_a_guest_with_1_percent_of_frames_dropped_arrive_intact() {
    host_to_guest(
        &["--net-faults", "drop=0.01,seed=11"],
        &fifty_mb(),
        "loss-in",
    );
}

#[test]
fn tap_50_mb_from_a_guest_with_1_percent_of_frames_dropped_arrive_intact() {
    guest_to_host(
        &["--net-faults", "drop=0.01,seed=12"],
        50_000_000,
        "loss-out",
    );
}

#[test]
fn user_mode_hostfwd_reaches_a_guest_http_server_without_root() {
    let Some(httpd) = guest("alpha", "httpd") else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (www, blob) = web_root("user");
    let mut launcher = Command::new(spin_path());
    launcher.current_dir(&www);
    let fwd = format!("{port}:8080");
    let root = www.to_str().unwrap();
    let spin = Spin::program(
        launcher,
        &["--hostfwd", &fwd],
        &httpd,
        &["8080", root, "2"],
        "user-httpd",
    );
    spin.wait_listening(true);
    for (path, want) in [
        ("/index.html", &b"<h1>served by a SPIN mound</h1>\n"[..]),
        ("/blob.bin", &blob[..]),
    ] {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\n\r\n").unwrap();
        let mut resp = Vec::new();
        std::io::Read::read_to_end(&mut s, &mut resp).unwrap();
        let head_end = resp
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a header");
        assert!(resp.starts_with(b"HTTP/1.0 200 OK\r\n"));
        let body = &resp[head_end + 4..];
        let first_diff = body.iter().zip(want).position(|(a, b)| a != b);
        assert!(
            body == want,
            "{path}: body differs: {} bytes, want {}, first difference at {first_diff:?}",
            body.len(),
            want.len()
        );
    }
    assert_eq!(
        spin.output(30),
        "httpd: listening on 8080\nGET /index.html 200\nGET /blob.bin 200\n"
    );
}
