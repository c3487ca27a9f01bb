//! TCP between two stacks on an in-memory link, driven by a small
//! deterministic loop: move frames, advance the clock, run the timers.
//!
//! This file holds the harness (two stacks on one link, a connected pair);
//! the tests are in `handshake.rs`, `transfer.rs` and `robustness.rs`.

mod handshake;
mod robustness;
mod transfer;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use super::*;
use crate::nic::{FaultConfig, FaultyNic, MemNic, Nic};
use crate::socket::SockError;
use crate::stack::{NetConfig, NetStack};
use crate::wire::ethernet::MacAddr;

const A_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

/// Two stacks, A and B, on one link.
struct Link {
    a: NetStack,
    b: NetStack,
    now: u64,
    faults: Vec<Arc<FaultyNic>>,
    /// The ends' raw NICs, to move single frames by hand.
    raw: (MemNic, MemNic),
}

fn config(mac: MacAddr, ip: Ipv4Addr, seed: u64) -> NetConfig {
    let mut c = NetConfig::new(mac, ip, 24);
    c.seed = seed;
    c
}

impl Link {
    fn new() -> Link {
        Link::with(None, |_| {})
    }

    fn with(faults: Option<FaultConfig>, tweak: impl Fn(&mut NetConfig)) -> Link {
        let (na, nb) = MemNic::pair(1 << 20);
        let raw = (na.clone(), nb.clone());
        let mut fs = Vec::new();
        let (na, nb): (Arc<dyn Nic>, Arc<dyn Nic>) = match faults {
            Some(f) => {
                let fa = Arc::new(FaultyNic::new(Arc::new(na), f));
                let fb = Arc::new(FaultyNic::new(
                    Arc::new(nb),
                    FaultConfig {
                        seed: f.seed ^ 0xb,
                        ..f
                    },
                ));
                fs = vec![fa.clone(), fb.clone()];
                (fa, fb)
            }
            None => (Arc::new(na), Arc::new(nb)),
        };
        let mut ca = config(A_MAC, A, 1);
        let mut cb = config(B_MAC, B, 2);
        tweak(&mut ca);
        tweak(&mut cb);
        let a = NetStack::new(ca, na).unwrap();
        let b = NetStack::new(cb, nb).unwrap();
        a.add_static_arp(B, B_MAC);
        b.add_static_arp(A, A_MAC);
        Link {
            a,
            b,
            now: 0,
            faults: fs,
            raw,
        }
    }

    /// Delivers frames until the link is quiet, then advances the clock by
    /// 1 ms and runs the timers.
    fn step(&mut self) {
        loop {
            let n = self.a.poll_nic() + self.b.poll_nic();
            if n == 0 {
                break;
            }
        }
        self.now += 1;
        self.a.poll(self.now);
        self.b.poll(self.now);
    }

    /// Steps until `done` or `limit` steps; when nothing moves, jumps the
    /// clock to the next timer.
    fn run_until(&mut self, limit: usize, mut done: impl FnMut(&mut Link) -> bool) -> bool {
        for _ in 0..limit {
            if done(self) {
                return true;
            }
            self.step();
        }
        done(self)
    }

    /// Jumps the clock to the next TCP timer of either stack.
    fn jump(&mut self) -> bool {
        let next = [self.a.next_deadline_ms(), self.b.next_deadline_ms()]
            .into_iter()
            .flatten()
            .min();
        match next {
            Some(t) => {
                self.now = self.now.max(t);
                self.a.poll(self.now);
                self.b.poll(self.now);
                true
            }
            None => false,
        }
    }
}

/// A connected pair: `(client on A, server side on B)`.
fn connected(link: &mut Link, port: u16) -> (TcpStream, TcpStream, TcpListener) {
    let l = link
        .b
        .handle()
        .tcp_listen(sa(Ipv4Addr::UNSPECIFIED, port), 8)
        .unwrap();
    let c = link.a.handle().tcp_connect(None, sa(B, port)).unwrap();
    assert_eq!(c.state(), TcpState::SynSent);
    assert_eq!(c.send(b"x"), Err(SockError::InProgress));
    assert!(link.run_until(100, |_| c.state() == TcpState::Established));
    assert!(link.run_until(100, |_| l.readiness().readable));
    let s = l.accept().unwrap();
    (c, s, l)
}

fn read_all(s: &TcpStream, into: &mut Vec<u8>) -> Result<usize, SockError> {
    let mut buf = [0u8; 8192];
    let mut total = 0;
    loop {
        match s.recv(&mut buf, false) {
            Ok(0) => return Ok(total),
            Ok(n) => {
                into.extend_from_slice(&buf[..n]);
                total += n;
            }
            Err(SockError::WouldBlock) => return Ok(total),
            Err(e) => return Err(e),
        }
    }
}
