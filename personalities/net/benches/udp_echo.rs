//! UDP round trip through the protocol graph to the in-kernel echo extension
//! (SPIN Table 5's in-kernel row, and the guard-overhead measurement): a
//! 16-byte datagram's frame goes in, the echo's frame comes out.
//!
//! Cases: the echo alone; with 50 extra handlers on `UDP.PacketArrived`
//! whose guards are all false (indexed port guards on other ports, and
//! predicate guards); and with 50 whose guards are all true (they run).
//! Criterion measures each; afterwards a table of medians from our own batch
//! timer, taken in the same run with the cases interleaved, gives the
//! overhead ratios against SPIN's target (50 false guards: ≤ 2 %).

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, Criterion};
use spin_kernel::event::{Guard, Handler, Principal};
use spin_net::ext::echo::UdpEcho;
use spin_net::wire::build;
use spin_net::wire::ethernet::MacAddr;
use spin_net::{MemNic, NetConfig, NetStack, Nic};

const US_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const US: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PEER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PORT: u16 = 7;

#[derive(Clone, Copy)]
enum Extra {
    None,
    FalseIndexed,
    FalsePredicate,
    True,
}

const CASES: [(Extra, &str); 4] = [
    (Extra::None, "echo alone"),
    (Extra::FalseIndexed, "+50 false guards (indexed port)"),
    (Extra::FalsePredicate, "+50 false guards (predicate)"),
    (Extra::True, "+50 true guards (handlers run)"),
];

struct Rig {
    stack: NetStack,
    peer: MemNic,
    frame: Vec<u8>,
    _echo: UdpEcho,
}

fn rig(extra: Extra) -> Rig {
    let (ours, peer) = MemNic::pair(16);
    let stack = NetStack::new(NetConfig::new(US_MAC, US, 24), Arc::new(ours)).expect("stack");
    stack.add_static_arp(PEER, PEER_MAC);
    let who = Principal::kernel("bench");
    let echo = UdpEcho::install(&stack.handle(), &who, PORT).expect("echo");
    let ev = stack.events();
    let hits = Arc::new(AtomicU64::new(0));
    for i in 0..50u16 {
        let h = hits.clone();
        let handler = Handler::new(move |_: &_| {
            h.fetch_add(1, Ordering::Relaxed);
        });
        let handler = match extra {
            Extra::None => continue,
            Extra::FalseIndexed => handler.guard(ev.udp_port(1000 + i)),
            Extra::FalsePredicate => {
                let port = 1000 + i;
                handler.guard(Guard::pred(move |d: &spin_net::events::UdpArrived| {
                    d.dst.port() == port
                }))
            }
            Extra::True => handler.guard(ev.udp_port(PORT)),
        };
        ev.udp.install(&who, handler).expect("install");
    }
    let frame = build::udp_frame(
        PEER_MAC,
        US_MAC,
        SocketAddrV4::new(PEER, 5555),
        SocketAddrV4::new(US, PORT),
        &[0x5a; 16],
    )
    .expect("frame");
    Rig {
        stack,
        peer,
        frame,
        _echo: echo,
    }
}

impl Rig {
    #[inline]
    fn round_trip(&self) -> usize {
        self.stack.receive(self.frame.clone());
        self.peer.receive().expect("the echo's frame").len()
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("udp_echo_16B");
    for (extra, name) in CASES {
        let r = rig(extra);
        g.bench_function(name, |b| b.iter(|| black_box(r.round_trip())));
    }
    g.finish();
}

criterion_group!(benches, bench);

/// Median ns per round trip of `batches` batches of `n`, the cases
/// interleaved batch by batch so drift hits them all alike.
fn table() {
    let rigs: Vec<Rig> = CASES.iter().map(|(e, _)| rig(*e)).collect();
    let (batches, n) = (41, 20_000);
    let mut samples = vec![Vec::with_capacity(batches); rigs.len()];
    for r in &rigs {
        for _ in 0..n {
            black_box(r.round_trip());
        }
    }
    for _ in 0..batches {
        for (i, r) in rigs.iter().enumerate() {
            let t = Instant::now();
            for _ in 0..n {
                black_box(r.round_trip());
            }
            samples[i].push(t.elapsed().as_nanos() as f64 / n as f64);
        }
    }
    let medians: Vec<f64> = samples
        .iter_mut()
        .map(|s| {
            s.sort_by(|a, b| a.total_cmp(b));
            s[s.len() / 2]
        })
        .collect();
    println!("\nUDP 16-byte round trip, frame in -> echo frame out (medians of {batches} batches of {n}, one run)");
    println!("{:<36} {:>10} {:>10}", "case", "ns", "overhead");
    for (i, (_, name)) in CASES.iter().enumerate() {
        println!(
            "{name:<36} {:>10.1} {:>9.1}%",
            medians[i],
            (medians[i] / medians[0] - 1.0) * 100.0
        );
    }
    let false_idx = (medians[1] / medians[0] - 1.0) * 100.0;
    println!(
        "target: 50 false guards add <= 2 % (SPIN: 3.5 %): indexed {false_idx:.1} % -> {}",
        if false_idx <= 2.0 { "met" } else { "NOT met" }
    );
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    table();
}
