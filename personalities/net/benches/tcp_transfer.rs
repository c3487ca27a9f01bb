//! TCP bulk transfer through the whole graph: what the stack costs per
//! byte. Cases, interleaved in one run: two stacks on a clean in-memory
//! link; the same link dropping / duplicating / reordering 1 % of frames
//! each way (FaultyNic); two sockets of one stack over loopback.
//!
//! The stacks' clocks are simulated (1 ms per idle step), so timeouts cost
//! no wall time: the numbers are the stack's processing cost, not a
//! network's speed. Prints the median MB/s of each case over several runs.

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::Instant;

use spin_net::wire::ethernet::MacAddr;
use spin_net::{FaultConfig, FaultyNic, MemNic, NetConfig, NetStack, Nic, SockError, TcpStream};

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const TOTAL: usize = 16 << 20;
const RUNS: usize = 7;

fn mac(i: u8) -> MacAddr {
    MacAddr([2, 0, 0, 0, 0, i])
}

struct Pair {
    a: NetStack,
    b: NetStack,
    now: u64,
}

impl Pair {
    fn new(faults: Option<FaultConfig>) -> Pair {
        let (na, nb) = MemNic::pair(1 << 20);
        let (na, nb): (Arc<dyn Nic>, Arc<dyn Nic>) = match faults {
            Some(f) => (
                Arc::new(FaultyNic::new(Arc::new(na), f)),
                Arc::new(FaultyNic::new(
                    Arc::new(nb),
                    FaultConfig {
                        seed: f.seed + 1,
                        ..f
                    },
                )),
            ),
            None => (Arc::new(na), Arc::new(nb)),
        };
        let a = NetStack::new(NetConfig::new(mac(1), A, 24), na).expect("stack");
        let b = NetStack::new(NetConfig::new(mac(2), B, 24), nb).expect("stack");
        a.add_static_arp(B, mac(2));
        b.add_static_arp(A, mac(1));
        Pair { a, b, now: 0 }
    }

    fn step(&mut self) {
        while self.a.poll_nic() + self.b.poll_nic() > 0 {}
        self.now += 1;
        self.a.poll(self.now);
        self.b.poll(self.now);
    }
}

fn pump(step: &mut dyn FnMut(), tx: &TcpStream, rx: &TcpStream) -> usize {
    let data = vec![0x5au8; 256 * 1024];
    let mut buf = vec![0u8; 256 * 1024];
    let (mut sent, mut got) = (0, 0);
    while got < TOTAL {
        while sent < TOTAL {
            let end = (TOTAL - sent).min(data.len());
            match tx.send(&data[..end]) {
                Ok(n) => sent += n,
                Err(SockError::WouldBlock) => break,
                Err(e) => panic!("send: {e}"),
            }
        }
        loop {
            match rx.recv(&mut buf, false) {
                Ok(0) | Err(SockError::WouldBlock) => break,
                Ok(n) => got += n,
                Err(e) => panic!("recv: {e}"),
            }
        }
        step();
    }
    black_box(got)
}

fn over_link(faults: Option<FaultConfig>) -> f64 {
    let mut p = Pair::new(faults);
    let l =
        p.b.handle()
            .tcp_listen(SocketAddrV4::new(B, 80), 1)
            .expect("listen");
    let c =
        p.a.handle()
            .tcp_connect(None, SocketAddrV4::new(B, 80))
            .expect("connect");
    let s = loop {
        p.step();
        if let Ok(s) = l.accept() {
            break s;
        }
    };
    let t = Instant::now();
    let mut step = || p.step();
    pump(&mut step, &c, &s);
    TOTAL as f64 / t.elapsed().as_secs_f64() / 1e6
}

fn over_loopback() -> f64 {
    let p = Pair::new(None);
    let net = p.a.handle();
    let l = net
        .tcp_listen(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 80), 1)
        .expect("listen");
    let c = net
        .tcp_connect(None, SocketAddrV4::new(Ipv4Addr::LOCALHOST, 80))
        .expect("connect");
    let s = l.accept().expect("established over loopback at once");
    let mut now = 0;
    let t = Instant::now();
    let mut step = || {
        now += 1;
        p.a.poll(now);
    };
    pump(&mut step, &c, &s);
    TOTAL as f64 / t.elapsed().as_secs_f64() / 1e6
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let lossy = FaultConfig {
        drop: 0.01,
        duplicate: 0.01,
        reorder: 0.01,
        seed: 7,
    };
    let mut clean = Vec::new();
    let mut faulty = Vec::new();
    let mut lo = Vec::new();
    for _ in 0..RUNS {
        clean.push(over_link(None));
        faulty.push(over_link(Some(lossy)));
        lo.push(over_loopback());
    }
    println!(
        "TCP bulk transfer, {} MiB per run, median of {RUNS} runs (MB/s, wall clock)",
        TOTAL >> 20
    );
    println!("{:<44} {:>10}", "case", "MB/s");
    println!(
        "{:<44} {:>10.0}",
        "two stacks, clean in-memory link",
        median(clean)
    );
    println!(
        "{:<44} {:>10.0}",
        "two stacks, 1% drop+dup+reorder each way",
        median(faulty)
    );
    println!("{:<44} {:>10.0}", "one stack, loopback", median(lo));
}
