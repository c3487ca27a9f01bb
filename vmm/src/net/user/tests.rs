//! The user-mode gateway end to end: host sockets, forwards both ways,
//! resets carried across the splice.

use super::*;
use crate::net::{Network, NetworkConfig};
use std::time::Duration;

fn user_net(hostfwd: Vec<PortForward>, guestfwd: Vec<u16>) -> Network {
    let cfg = NetworkConfig {
        backend: super::super::Backend::User { hostfwd, guestfwd },
        extensions: vec![super::super::Extension::UdpEcho { port: 7 }],
        ..NetworkConfig::default()
    };
    Network::start(&cfg, 1).expect("user-mode network")
}

#[test]
fn a_host_datagram_reaches_the_in_kernel_echo_and_comes_back() {
    let net = user_net(
        vec![PortForward {
            proto: Proto::Udp,
            host_port: 0,
            guest_port: 7,
        }],
        vec![],
    );
    let port = net.host_ports()[0].1;
    assert_ne!(port, 0);
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    for i in 0..20u8 {
        let msg = [i; 16];
        client.send_to(&msg, ("127.0.0.1", port)).unwrap();
        let mut buf = [0u8; 64];
        let (n, from) = client.recv_from(&mut buf).expect("echo");
        assert_eq!(&buf[..n], &msg);
        assert_eq!(from.port(), port);
    }
    assert_eq!(net.echoed(), 20);
    let t = net.nic_telemetry();
    assert_eq!((t.user.udp_from_host, t.user.udp_to_host), (20, 20));
    assert_eq!((t.frames_in, t.frames_out), (20, 20));
    let udp = net.telemetry();
    assert_eq!(udp.layer(spin_net::Layer::Udp).packets, 20);
}

#[test]
fn the_stack_reaches_a_host_udp_server_through_guestfwd() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let p = server.local_addr().unwrap().port();
    let net = user_net(vec![], vec![p]);
    let h = net.handle();
    // An in-stack sender (port 4000) answered by the host server.
    let got: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let g = got.clone();
    let id = h
        .events()
        .udp
        .install(
            &Principal::kernel("test"),
            Handler::new(move |d: &UdpArrived| lock(&g).push(d.payload.to_vec()))
                .guard(h.events().udp_port(4000)),
        )
        .unwrap();
    h.send_udp(
        4000,
        SocketAddrV4::new(Ipv4Addr::new(10, 0, 2, 2), p),
        b"hello",
    );
    net.kick();
    let mut buf = [0u8; 64];
    let (n, from) = server
        .recv_from(&mut buf)
        .expect("the datagram reaches the host");
    assert_eq!(&buf[..n], b"hello");
    server.send_to(b"world", from).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while lock(&got).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no answer in the stack"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(lock(&got)[0], b"world");
    let _ = h.events().udp.uninstall(id);
}

/// An in-stack TCP echo server on `port`, run by a thread polling the
/// stack's socket API (as a mound's syscalls would).
fn stack_tcp_echo(h: NetHandle, port: u16, stop: Arc<std::sync::atomic::AtomicBool>) {
    let l = h
        .tcp_listen(SocketAddrV4::new(h.config().addr, port), 8)
        .unwrap();
    std::thread::spawn(move || {
        let mut conns: Vec<spin_net::TcpStream> = Vec::new();
        let mut buf = [0u8; 4096];
        while !stop.load(Ordering::Relaxed) {
            if let Ok(c) = l.accept() {
                conns.push(c);
            }
            conns.retain(|c| match c.recv(&mut buf, false) {
                Ok(0) => {
                    let _ = c.shutdown(spin_net::Shutdown::Write);
                    false
                }
                Ok(n) => {
                    let mut off = 0;
                    while off < n {
                        match c.send(&buf[off..n]) {
                            Ok(k) => off += k,
                            Err(SockError::WouldBlock) => std::thread::yield_now(),
                            Err(_) => return false,
                        }
                    }
                    true
                }
                Err(SockError::WouldBlock) => true,
                Err(_) => false,
            });
            std::thread::sleep(Duration::from_micros(200));
        }
    });
}

#[test]
fn a_host_tcp_client_reaches_an_in_stack_server_through_hostfwd() {
    use std::io::{Read, Write};
    let net = user_net(vec!["tcp:0:8080".parse().unwrap()], vec![]);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    stack_tcp_echo(net.handle(), 8080, stop.clone());
    let port = net.host_ports()[0].1;
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // 300 KB: more than the splice's buffers and the stack's windows.
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut w = c.try_clone().unwrap();
    let d2 = data.clone();
    let writer = std::thread::spawn(move || {
        w.write_all(&d2).unwrap();
        // Half-close: the echo sees EOF after the data and closes too.
        w.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let mut got = Vec::new();
    c.read_to_end(&mut got).expect("the echo and then EOF");
    writer.join().unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got == data, "bytes differ");
    stop.store(true, Ordering::Relaxed);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let u = net.nic_telemetry().user;
        if u.tcp_closed == 1 {
            assert_eq!((u.tcp_opened, u.tcp_reset), (1, 0));
            assert_eq!((u.tcp_bytes_in, u.tcp_bytes_out), (300_000, 300_000));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{u:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_refused_forward_resets_the_host_client() {
    use std::io::Read;
    // Nothing listens on the guest port: the stack answers RST.
    let net = user_net(vec!["tcp:0:81".parse().unwrap()], vec![]);
    let port = net.host_ports()[0].1;
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 8];
    let r = c.read(&mut buf);
    assert!(
        matches!(&r, Err(e) if e.kind() == ErrorKind::ConnectionReset),
        "{r:?}"
    );
    assert_eq!(net.nic_telemetry().user.tcp_reset, 1);
}

#[test]
fn a_stack_client_reaches_a_host_server_through_guestfwd() {
    use std::io::{Read, Write};
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let p = server.local_addr().unwrap().port();
    let net = user_net(vec![], vec![p]);
    let h = net.handle();
    let s = h
        .tcp_connect(None, SocketAddrV4::new(Ipv4Addr::new(10, 0, 2, 2), p))
        .unwrap();
    net.kick();
    let (mut host, _) = server.accept().unwrap();
    host.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match s.send(b"hello host") {
            Ok(10) => break,
            Ok(_) => panic!("partial"),
            Err(_) => {
                assert!(std::time::Instant::now() < deadline);
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
    let mut buf = [0u8; 10];
    host.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello host");
    host.write_all(b"hi stack").unwrap();
    drop(host);
    let mut got = Vec::new();
    loop {
        let mut b = [0u8; 64];
        match s.recv(&mut b, false) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&b[..n]),
            Err(SockError::WouldBlock) => {
                assert!(std::time::Instant::now() < deadline, "{got:?}");
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got, b"hi stack");
}

#[test]
fn a_host_reset_reaches_the_stack_as_a_reset_not_an_end_of_stream() {
    use std::os::unix::io::AsRawFd;
    let net = user_net(vec!["tcp:0:8081".parse().unwrap()], vec![]);
    let h = net.handle();
    let l = h
        .tcp_listen(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 8081), 4)
        .unwrap();
    let port = net.host_ports()[0].1;
    let c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let s = loop {
        match l.accept() {
            Ok(s) => break s,
            Err(_) => {
                assert!(std::time::Instant::now() < deadline, "no connection");
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    };
    // The host client closes with SO_LINGER {1, 0}: a reset.
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: an open socket; SO_LINGER reads a `struct linger` of this size.
    let rc = unsafe {
        libc::setsockopt(
            c.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
    drop(c);
    let mut buf = [0u8; 8];
    loop {
        match s.recv(&mut buf, false) {
            Err(SockError::WouldBlock) => {
                assert!(std::time::Instant::now() < deadline, "nothing arrived");
                std::thread::sleep(Duration::from_millis(2));
            }
            r => {
                assert_eq!(r, Err(SockError::ConnectionReset));
                break;
            }
        }
    }
    assert_eq!(net.nic_telemetry().user.tcp_reset, 1);
}

#[test]
fn idle_udp_mappings_expire_and_a_new_datagram_makes_a_new_one() {
    let cfg = NetworkConfig {
        backend: super::super::Backend::User {
            hostfwd: vec!["udp:0:7".parse().unwrap()],
            guestfwd: vec![],
        },
        extensions: vec![super::super::Extension::UdpEcho { port: 7 }],
        udp_idle_ms: 100,
        ..NetworkConfig::default()
    };
    let net = Network::start(&cfg, 1).expect("user-mode network");
    let port = net.host_ports()[0].1;
    let c = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    c.connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 16];
    c.send(b"one").unwrap();
    assert_eq!(c.recv(&mut buf).unwrap(), 3);
    assert_eq!(net.nic_telemetry().user.udp_expired, 0);
    // Idle past the timeout: the pump's periodic pass drops the mapping.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while net.nic_telemetry().user.udp_expired == 0 {
        assert!(std::time::Instant::now() < deadline, "never expired");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The sender is mapped afresh and still answered.
    c.send(b"two!").unwrap();
    assert_eq!(c.recv(&mut buf).unwrap(), 4);
    assert_eq!(&buf[..4], b"two!");
}
