//! The TCP forwarder between three stacks on one in-memory hub: client C →
//! forwarder F → server S.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use spin_kernel::event::Principal;

use super::forward::TcpForwarder;
use crate::nic::{MemNic, Nic};
use crate::socket::{Shutdown, SockError};
use crate::stack::{NetConfig, NetStack};
use crate::tcp::{TcpState, TcpStream};
use crate::wire::build;
use crate::wire::ethernet::MacAddr;
use crate::wire::ipv4::{protocol, Ipv4Repr};
use crate::wire::tcp::{flags, TcpRepr};

const C: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const F: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const S: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);

fn mac(i: u8) -> MacAddr {
    MacAddr([2, 0, 0, 0, 0, i])
}

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

/// Three stations on a switch that moves frames by destination MAC.
struct Hub {
    stacks: Vec<NetStack>,
    ports: Vec<MemNic>,
    now: u64,
}

impl Hub {
    fn new() -> Hub {
        let ips = [C, F, S];
        let mut stacks = Vec::new();
        let mut ports = Vec::new();
        for (i, ip) in ips.iter().enumerate() {
            let (ours, theirs) = MemNic::pair(1 << 16);
            let mut cfg = NetConfig::new(mac(i as u8 + 1), *ip, 24);
            cfg.seed = i as u64 + 10;
            stacks.push(NetStack::new(cfg, Arc::new(ours)).unwrap());
            ports.push(theirs);
        }
        for s in &stacks {
            for (j, ip) in ips.iter().enumerate() {
                s.add_static_arp(*ip, mac(j as u8 + 1));
            }
        }
        Hub {
            stacks,
            ports,
            now: 0,
        }
    }

    fn step(&mut self) {
        loop {
            let mut moved = 0;
            for i in 0..self.ports.len() {
                while let Some(f) = self.ports[i].receive() {
                    let dst = MacAddr([f[0], f[1], f[2], f[3], f[4], f[5]]);
                    for (j, p) in self.ports.iter().enumerate() {
                        if j != i && (dst.is_broadcast() || dst == mac(j as u8 + 1)) {
                            let _ = p.transmit(f.clone());
                        }
                    }
                    moved += 1;
                }
            }
            for s in &self.stacks {
                moved += s.poll_nic();
            }
            if moved == 0 {
                break;
            }
        }
        self.now += 1;
        for s in &self.stacks {
            s.poll(self.now);
        }
    }

    fn run_until(&mut self, limit: usize, mut done: impl FnMut() -> bool) -> bool {
        for _ in 0..limit {
            if done() {
                return true;
            }
            self.step();
        }
        done()
    }
}

fn read_some(s: &TcpStream, into: &mut Vec<u8>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.recv(&mut buf, false) {
        if n == 0 {
            break;
        }
        into.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn tcp_forwarder_carries_a_whole_connection_without_an_endpoint_of_its_own() {
    let mut hub = Hub::new();
    let (c, f, s) = (
        hub.stacks[0].handle(),
        hub.stacks[1].handle(),
        hub.stacks[2].handle(),
    );
    let fwd = TcpForwarder::install(&f, &Principal::kernel("test"), 8080, sa(S, 80)).unwrap();
    // The port is the forwarder's now.
    assert_eq!(
        f.tcp_listen(sa(F, 8080), 1).unwrap_err(),
        SockError::AddrInUse
    );
    let listener = s.tcp_listen(sa(S, 80), 4).unwrap();
    let client = c.tcp_connect(None, sa(F, 8080)).unwrap();
    assert!(hub.run_until(100, || client.state() == TcpState::Established));
    assert!(hub.run_until(100, || listener.readiness().readable));
    let server = listener.accept().unwrap();
    // The server sees the forwarder as its peer; the client sees F:8080.
    assert_eq!(server.peer_addr().ip(), &F);
    assert_ne!(server.peer_addr().port(), 8080);
    assert_eq!(client.peer_addr(), sa(F, 8080));
    assert_eq!(fwd.mappings(), 1);

    let request: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let mut sent = 0;
    let mut got = Vec::new();
    assert!(hub.run_until(5000, || {
        if sent < request.len() {
            sent += client.send(&request[sent..]).unwrap_or(0);
        }
        read_some(&server, &mut got);
        got.len() == request.len()
    }));
    assert!(got == request);
    server.send(b"response").unwrap();
    let mut back = Vec::new();
    assert!(hub.run_until(100, || {
        read_some(&client, &mut back);
        back == b"response"
    }));

    // Both close: FINs and the last ACKs go through the forwarder, and the
    // mapping goes with the connection.
    client.shutdown(Shutdown::Write).unwrap();
    assert!(hub.run_until(100, || server.readiness().hangup));
    server.shutdown(Shutdown::Write).unwrap();
    assert!(hub.run_until(100, || client.state() == TcpState::TimeWait));
    assert!(hub.run_until(100, || server.state() == TcpState::Closed));
    assert_eq!(fwd.mappings(), 0);
    assert!(fwd.forwarded() > 100);
    // No TCP endpoint of F's was involved.
    let t = hub.stacks[1].telemetry().tcp;
    assert_eq!((t.established, t.connections, t.segments_out), (0, 0, 0));
    // Only the forwarder's port handler remains on F.
    assert_eq!(f.events().tcp.handlers(), 1);
    drop(fwd);
    assert_eq!(f.events().tcp.handlers(), 0);
    f.tcp_listen(sa(F, 8080), 1).unwrap();
}

#[test]
fn tcp_forwarder_passes_the_targets_reset_back() {
    let mut hub = Hub::new();
    let f = hub.stacks[1].handle();
    let fwd = TcpForwarder::install(&f, &Principal::kernel("test"), 8080, sa(S, 81)).unwrap();
    let client = hub.stacks[0]
        .handle()
        .tcp_connect(None, sa(F, 8080))
        .unwrap();
    assert!(hub.run_until(100, || client.state() == TcpState::Closed));
    assert_eq!(client.take_error(), Some(SockError::ConnectionRefused));
    // The SYN went through, the server's RST came back the same way.
    assert_eq!(fwd.forwarded(), 2);
    assert_eq!(fwd.mappings(), 0);
    // A stray segment from an unknown client (not a SYN) is dropped, not
    // forwarded, and opens no mapping.
    let ack = TcpRepr {
        src_port: 40000,
        dst_port: 8080,
        seq: 1,
        ack: 1,
        flags: flags::ACK,
        window: 100,
        ..TcpRepr::default()
    };
    let mut seg = Vec::new();
    ack.emit(&mut seg, C, F, b"data").unwrap();
    let ip = Ipv4Repr {
        src: C,
        dst: F,
        protocol: protocol::TCP,
        ttl: 64,
        ident: 0,
        payload_len: 0,
        frag_offset: 0,
        more_frags: false,
    };
    hub.stacks[1].receive(build::ipv4_frame(mac(1), mac(2), ip, &seg).unwrap());
    assert_eq!((fwd.dropped(), fwd.forwarded(), fwd.mappings()), (1, 2, 0));
}
