//! Receive bandwidth with large datagrams (SOSP'95 Table 5's second half:
//! 1500-byte datagrams on Ethernet, 8132-byte ones on ATM). A sender
//! streams datagrams of one size to a receiver that only counts them:
//!
//! - (a) in-kernel: a sink extension on `UDP.PacketArrived` of a second
//!   stack, the sender an extension of the first, the link serviced in line
//!   (datagrams over the MTU are fragmented by one graph and reassembled by
//!   the other);
//! - (a') a host sender through the user-mode forward to the same sink;
//! - (c) a host sender to a Linux receiver thread over loopback.
//!
//! The senders keep at most [`WINDOW`] datagrams in flight (the receiver's
//! count is the acknowledgement) so that the figure is what the receiver
//! can absorb, not how fast a queue overflows; datagrams that never arrive
//! are counted as lost.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use spin_kernel::event::{Handler, Principal};
use spin_vmm::net::spin_net::events::UdpArrived;
use spin_vmm::net::spin_net::wire::ethernet::MacAddr;
use spin_vmm::net::spin_net::{MemNic, NetConfig, NetHandle, NetStack};
use spin_vmm::net::{Backend, Network, NetworkConfig, PortForward, Proto};

/// Datagram sizes measured (payload bytes).
pub const SIZES: [usize; 2] = [1472, 8132];
/// The sink's port.
const SINK_PORT: u16 = 9;
/// Datagrams in flight at most.
const WINDOW: u64 = 16;
/// How long a sender waits for the receiver to catch up before it counts
/// the window's missing datagrams as lost.
const STALL: Duration = Duration::from_millis(50);

/// What a receiver has counted.
#[derive(Default)]
struct Count {
    datagrams: AtomicU64,
    bytes: AtomicU64,
}

/// One measured row.
pub struct Row {
    pub case: &'static str,
    pub size: usize,
    pub sent: u64,
    pub received: u64,
    pub mbit_s: f64,
}

fn sink(net: &NetHandle, count: &Arc<Count>) -> Result<()> {
    let c = count.clone();
    let handler = Handler::new(move |d: &UdpArrived| {
        c.bytes.fetch_add(d.payload.len() as u64, Ordering::Relaxed);
        c.datagrams.fetch_add(1, Ordering::Release);
    })
    .guard(net.events().udp_port(SINK_PORT));
    // Installed for the stack's lifetime.
    net.events()
        .udp
        .install(&Principal::kernel("bench"), handler)?;
    Ok(())
}

/// Sends `n` datagrams through `send`, keeping at most [`WINDOW`] ahead of
/// `count`; `service` runs while waiting (the in-line link) . Returns the
/// row's figures.
fn stream(
    case: &'static str,
    size: usize,
    n: u64,
    count: &Count,
    mut send: impl FnMut(&[u8]) -> Result<()>,
    mut service: impl FnMut(),
) -> Result<Row> {
    let msg = vec![0xa5u8; size];
    let start = Instant::now();
    let mut lost = 0u64;
    for i in 0..n {
        send(&msg)?;
        let mut since = None::<Instant>;
        while i + 1 - lost > count.datagrams.load(Ordering::Acquire) + WINDOW {
            service();
            let t = *since.get_or_insert_with(Instant::now);
            if t.elapsed() > STALL {
                lost = i + 1 - count.datagrams.load(Ordering::Acquire) - WINDOW;
                break;
            }
            std::hint::spin_loop();
        }
    }
    // The tail.
    let tail = Instant::now();
    while count.datagrams.load(Ordering::Acquire) < n && tail.elapsed() < STALL * 4 {
        service();
        std::hint::spin_loop();
    }
    let secs = start.elapsed().as_secs_f64();
    let bytes = count.bytes.load(Ordering::Relaxed);
    Ok(Row {
        case,
        size,
        sent: n,
        received: count.datagrams.load(Ordering::Relaxed),
        mbit_s: bytes as f64 * 8.0 / secs / 1e6,
    })
}

fn in_kernel(size: usize, n: u64) -> Result<Row> {
    let (a, b) = MemNic::pair(256);
    let mac = |x| MacAddr([2, 0, 0, 0, 8, x]);
    let (ip_a, ip_b) = (Ipv4Addr::new(10, 0, 8, 1), Ipv4Addr::new(10, 0, 8, 2));
    let tx = NetStack::new(NetConfig::new(mac(1), ip_a, 24), Arc::new(a))?;
    let rx = NetStack::new(NetConfig::new(mac(2), ip_b, 24), Arc::new(b))?;
    tx.add_static_arp(ip_b, mac(2));
    rx.add_static_arp(ip_a, mac(1));
    let count = Arc::new(Count::default());
    sink(&rx.handle(), &count)?;
    let h = tx.handle();
    let dst = SocketAddrV4::new(ip_b, SINK_PORT);
    stream(
        "(a) in-kernel sender -> in-kernel sink",
        size,
        n,
        &count,
        |m| {
            h.send_udp(4001, dst, m);
            // The link is serviced in line, as an interrupt would.
            rx.poll_nic();
            Ok(())
        },
        || {
            rx.poll_nic();
        },
    )
}

fn user_mode(size: usize, n: u64) -> Result<Row> {
    let cfg = NetworkConfig {
        backend: Backend::User {
            hostfwd: vec![PortForward {
                proto: Proto::Udp,
                host_port: 0,
                guest_port: SINK_PORT,
            }],
            guestfwd: Vec::new(),
        },
        ..NetworkConfig::default()
    };
    let net = Network::start(&cfg, 1).context("starting a user-mode network")?;
    let count = Arc::new(Count::default());
    sink(&net.handle(), &count)?;
    let port = net
        .host_ports()
        .first()
        .map(|p| p.1)
        .context("the forward's host port")?;
    let client = UdpSocket::bind("127.0.0.1:0")?;
    client.connect(("127.0.0.1", port))?;
    stream(
        "(a') host sender -> user-mode forward -> in-kernel sink",
        size,
        n,
        &count,
        |m| {
            client.send(m)?;
            Ok(())
        },
        || {},
    )
}

fn linux(size: usize, n: u64) -> Result<Row> {
    let server = UdpSocket::bind("127.0.0.1:0")?;
    server.set_read_timeout(Some(Duration::from_millis(100)))?;
    let addr = server.local_addr()?;
    let count = Arc::new(Count::default());
    let stop = Arc::new(AtomicBool::new(false));
    let (c, s) = (count.clone(), stop.clone());
    let t = std::thread::Builder::new()
        .name("linux-sink".into())
        .spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !s.load(Ordering::Relaxed) {
                if let Ok(k) = server.recv(&mut buf) {
                    c.bytes.fetch_add(k as u64, Ordering::Relaxed);
                    c.datagrams.fetch_add(1, Ordering::Release);
                }
            }
        })?;
    let client = UdpSocket::bind("127.0.0.1:0")?;
    client.connect(addr)?;
    let row = stream(
        "(c) host sender -> Linux receiver process",
        size,
        n,
        &count,
        |m| {
            client.send(m)?;
            Ok(())
        },
        || {},
    );
    stop.store(true, Ordering::Relaxed);
    let _ = t.join();
    row
}

/// Every case at every size, `bytes` of payload per row (at least 1000
/// datagrams).
pub fn run(bytes: u64) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for size in SIZES {
        let n = (bytes / size as u64).max(1000);
        rows.push(in_kernel(size, n)?);
        rows.push(user_mode(size, n)?);
        rows.push(linux(size, n)?);
    }
    Ok(rows)
}
