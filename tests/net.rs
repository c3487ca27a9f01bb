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

#[path = "support/net_harness.rs"]
mod harness;

use std::io::Write;
use std::net::UdpSocket;

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use harness::{fnv, guest, guest_sh, have, netns, run, spin_in, spin_path, Spin};

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
    let Some(ns) = netns() else { return };
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
    let Some(ns) = netns() else { return };
    if !have("nc") {
        return eprintln!("SKIP: no nc (netcat-openbsd)");
    }
    let spin = Spin::start(spin_in(&ns), TAP_FLAGS, "nc");
    assert_eq!(
        ns.nc_udp("10.77.0.2", 7, b"datagram from linux\n"),
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
    let Some(ns) = netns() else { return };
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

/// A child process killed and reaped on drop (a failed test leaves no
/// listener behind).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const TAP_ONLY: &[&str] = &["--net", "tap:tap0", "--net-addr", "10.77.0.2/24"];

#[test]
fn tap_nc_exchanges_datagrams_with_a_guest_program() {
    let Some(net) = guest("alpha", "net") else {
        return;
    };
    let Some(ns) = netns() else { return };
    if !have("nc") {
        return eprintln!("SKIP: no nc (netcat-openbsd)");
    }
    let spin = Spin::program(
        spin_in(&ns),
        TAP_ONLY,
        &net,
        &["udp-echo", "9000", "1"],
        "gudp",
    );
    spin.wait_listening(false);
    assert_eq!(
        ns.nc_udp("10.77.0.2", 9000, b"to the guest\n"),
        "to the guest\n"
    );
    // The guest echoed one datagram and exited.
    spin.output(30);
}

#[test]
fn tap_a_guest_client_reaches_a_linux_nc_listener() {
    let Some(net) = guest("alpha", "net") else {
        return;
    };
    let Some(ns) = netns() else { return };
    if !have("nc") {
        return eprintln!("SKIP: no nc (netcat-openbsd)");
    }
    let mut nc = Reaped(
        ns.exec(&["nc", "-l", "10.77.0.1", "5555"])
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // nc listens before the guest connects (a refused connect would end it).
    std::thread::sleep(Duration::from_millis(300));
    let spin = Spin::program(
        spin_in(&ns),
        TAP_ONLY,
        &net,
        &["tcp-source", "10.77.0.1", "5555", "200000"],
        "gsrc",
    );
    let mut got = Vec::new();
    std::io::Read::read_to_end(nc.0.stdout.as_mut().unwrap(), &mut got).unwrap();
    let printed = spin.output(60);
    assert_eq!(got.len(), 200_000);
    assert_eq!(
        printed.trim(),
        format!("200000 bytes fnv {:08x}", fnv(&got))
    );
}

#[test]
fn user_mode_tcp_hostfwd_reaches_a_guest_server_and_guestfwd_a_host_one() {
    let Some(net) = guest("alpha", "net") else {
        return;
    };
    // hostfwd: a host client to the guest's TCP echo.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let fwd = format!("tcp:{port}:7000");
    let spin = Spin::program(
        Command::new(spin_path()),
        &["--hostfwd", &fwd],
        &net,
        &["tcp-echo", "7000", "1"],
        "uecho",
    );
    spin.wait_listening(true);
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let msg: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    let mut w = c.try_clone().unwrap();
    let m2 = msg.clone();
    let writer = std::thread::spawn(move || {
        w.write_all(&m2).unwrap();
        w.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let mut got = Vec::new();
    std::io::Read::read_to_end(&mut c, &mut got).unwrap();
    writer.join().unwrap();
    assert!(
        got == msg,
        "echo differs ({} of {} bytes)",
        got.len(),
        msg.len()
    );
    spin.output(30);

    // guestfwd: the guest's client to a host listener through 10.0.2.2.
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let p = server.local_addr().unwrap().port().to_string();
    let spin = Spin::program(
        Command::new(spin_path()),
        &["--guestfwd", &p],
        &net,
        &["tcp-source", "10.0.2.2", &p, "50000"],
        "usrc",
    );
    let (mut s, _) = server.accept().unwrap();
    let mut got = Vec::new();
    std::io::Read::read_to_end(&mut s, &mut got).unwrap();
    drop(s);
    let printed = spin.output(60);
    assert_eq!(printed.trim(), format!("50000 bytes fnv {:08x}", fnv(&got)));
}
