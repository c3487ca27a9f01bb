//! `spin bench --only net`: UDP round trips of a 16-byte payload, measured
//! side by side in one run (issue 8; SOSP'95 Table 5):
//!
//! - (a) SPIN's configuration: both endpoints in-kernel extensions, on two
//!   stacks joined by an in-memory link serviced in line
//!   ([`kernel_pair`]); again with 50 extra handlers on the echo's
//!   `UDP.PacketArrived`: false guards on other ports (indexed: one hash
//!   probe skips them), false predicate guards (each evaluated per packet),
//!   and true guards (50 handlers run);
//! - (a') a host process client → user-mode forward (`--hostfwd udp:P:7`:
//!   host socket → pump → gateway stack → in-memory link → the kernel's
//!   stack) → the in-kernel `UdpEcho`, and back; once with the network pump
//!   sleeping between packets, once busy-polling, and with the same 50
//!   extra handlers;
//! - (b) a guest process echoing in the UNIX mound (`net udp-echo` under
//!   `spin exec`, through the same user-mode forward as (a'); [`guest`]);
//! - (c) a Linux UDP client/server pair over host loopback (two threads),
//!   same payload, same count;
//!
//! then receive bandwidth with large datagrams ([`bandwidth`]).
//!
//! Targets: (a) ≤ 0.7 × (c) (SPIN: 565 vs 789 µs); 50 false guards add
//! ≤ 2 % (SPIN: 3.5 %). Every figure is the median of the per-round-trip
//! host wall-clock times; the cases are interleaved in blocks so that load
//! from elsewhere falls on all of them alike.

mod bandwidth;
mod guest;
mod kernel_pair;

use std::io::Write;
use std::net::UdpSocket;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use spin_kernel::event::{Guard, Handler, Principal};
use spin_vmm::net::spin_net::events::UdpArrived;
use spin_vmm::net::spin_net::NetHandle;
use spin_vmm::net::{Backend, Extension, Network, NetworkConfig, PortForward, Proto};

use crate::bench::{median, verdict};

/// Target of (a) / (c).
const ECHO_TARGET: f64 = 0.7;
/// Target overhead of 50 false guards, %.
const GUARDS_TARGET: f64 = 2.0;
/// The payload, bytes.
const PAYLOAD: usize = 16;
/// The echo's port in the stack.
const ECHO_PORT: u16 = 7;
/// Blocks the round trips of each case are split into (interleaving).
const BLOCKS: usize = 20;

/// Extra handlers on `UDP.PacketArrived`.
#[derive(Clone, Copy)]
enum Extra {
    None,
    FalseIndexed,
    FalsePredicate,
    True,
}

/// Installs 50 `extra` handlers on `net`'s `UDP.PacketArrived` for the
/// stack's lifetime.
fn install_extra(net: &NetHandle, who: &Principal, extra: Extra) -> Result<()> {
    for i in 0..50u16 {
        let handler = Handler::new(|_: &UdpArrived| {});
        let handler = match extra {
            Extra::None => return Ok(()),
            Extra::FalseIndexed => handler.guard(net.events().udp_port(1000 + i)),
            Extra::FalsePredicate => {
                let port = 1000 + i;
                handler.guard(Guard::pred(move |d: &UdpArrived| d.dst.port() == port))
            }
            Extra::True => handler.guard(net.events().udp_port(ECHO_PORT)),
        };
        net.events().udp.install(who, handler)?;
    }
    Ok(())
}

/// How a case reaches its echo.
enum Path2Echo {
    /// A connected host client socket; what keeps the far end alive.
    Socket(UdpSocket, Keep),
    /// Both endpoints in-kernel.
    Kernel(kernel_pair::KernelPair),
}

/// What a socket case keeps running while it is measured.
enum Keep {
    Network(Network),
    Linux(Arc<AtomicBool>, Option<std::thread::JoinHandle<()>>),
    /// Held for its `Drop` (which ends the guest).
    Guest {
        _echo: guest::GuestEcho,
    },
}

impl Drop for Keep {
    fn drop(&mut self) {
        if let Keep::Linux(stop, t) = self {
            stop.store(true, Ordering::Relaxed);
            if let Some(t) = t.take() {
                let _ = t.join();
            }
        }
    }
}

/// One way to reach an echo.
struct Case {
    name: &'static str,
    path: Path2Echo,
    samples: Vec<f64>,
    wrong: u64,
}

impl Case {
    fn socket(name: &'static str, client: UdpSocket, keep: Keep) -> Case {
        Case {
            name,
            path: Path2Echo::Socket(client, keep),
            samples: Vec::new(),
            wrong: 0,
        }
    }

    fn network(&self) -> Option<&Network> {
        match &self.path {
            Path2Echo::Socket(_, Keep::Network(n)) => Some(n),
            _ => None,
        }
    }
}

/// A user-mode network with the echo on port 7 forwarded from a host port,
/// with `extra` handlers installed; returns it with a connected client.
fn user_echo(busy_poll_us: u64, extra: Extra) -> Result<(Network, UdpSocket)> {
    let cfg = NetworkConfig {
        backend: Backend::User {
            hostfwd: vec![PortForward {
                proto: Proto::Udp,
                host_port: 0,
                guest_port: ECHO_PORT,
            }],
            guestfwd: Vec::new(),
        },
        busy_poll_us,
        extensions: vec![Extension::UdpEcho { port: ECHO_PORT }],
        ..NetworkConfig::default()
    };
    let net = Network::start(&cfg, 1).context("starting a user-mode network")?;
    install_extra(&net.handle(), &Principal::kernel("bench"), extra)?;
    let port = net
        .host_ports()
        .first()
        .map(|p| p.1)
        .context("the forward's host port")?;
    let client = UdpSocket::bind("127.0.0.1:0")?;
    client.connect(("127.0.0.1", port))?;
    client.set_read_timeout(Some(Duration::from_secs(2)))?;
    Ok((net, client))
}

/// A Linux echo server thread on loopback and a client connected to it.
fn linux_echo() -> Result<(UdpSocket, Keep)> {
    let server = UdpSocket::bind("127.0.0.1:0")?;
    server.set_read_timeout(Some(Duration::from_millis(200)))?;
    let addr = server.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let t = std::thread::Builder::new()
        .name("linux-echo".into())
        .spawn(move || {
            let mut buf = [0u8; 2048];
            while !s.load(Ordering::Relaxed) {
                if let Ok((n, from)) = server.recv_from(&mut buf) {
                    let _ = server.send_to(&buf[..n], from);
                }
            }
        })?;
    let client = UdpSocket::bind("127.0.0.1:0")?;
    client.connect(addr)?;
    client.set_read_timeout(Some(Duration::from_secs(2)))?;
    Ok((client, Keep::Linux(stop, Some(t))))
}

/// `n` round trips on `c`, each timed (µs), appended to its samples.
fn round_trips(c: &mut Case, n: usize, seq: &mut u64) -> Result<()> {
    let mut msg = [0x5au8; PAYLOAD];
    let mut buf = [0u8; 2048];
    for _ in 0..n {
        *seq += 1;
        msg[..8].copy_from_slice(&seq.to_le_bytes());
        let t = Instant::now();
        let ok = match &c.path {
            Path2Echo::Kernel(k) => {
                k.round_trip(&msg, *seq)?;
                true
            }
            Path2Echo::Socket(client, _) => {
                client.send(&msg)?;
                let got = loop {
                    match client.recv(&mut buf) {
                        Ok(k) => break k,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => bail!("{}: no echo within 2 s: {e}", c.name),
                    }
                };
                buf[..got] == msg
            }
        };
        let dt = t.elapsed();
        if ok {
            c.samples.push(dt.as_secs_f64() * 1e6);
        } else {
            // A late echo of an earlier probe: counted, not timed.
            c.wrong += 1;
        }
    }
    Ok(())
}

/// The cases, in table order; `linux` is the index of (c).
fn cases(busy_poll_us: u64, build: &Path, out: &mut impl Write) -> Result<(Vec<Case>, usize)> {
    let mut v = Vec::new();
    let kernel = |name, extra| -> Result<Case> {
        Ok(Case {
            name,
            path: Path2Echo::Kernel(kernel_pair::KernelPair::new(extra)?),
            samples: Vec::new(),
            wrong: 0,
        })
    };
    v.push(kernel(
        "(a) in-kernel client -> in-kernel echo",
        Extra::None,
    )?);
    v.push(kernel(
        "(a) +50 false guards (indexed)",
        Extra::FalseIndexed,
    )?);
    v.push(kernel(
        "(a) +50 false guards (predicate)",
        Extra::FalsePredicate,
    )?);
    v.push(kernel("(a) +50 true guards (handlers run)", Extra::True)?);
    let mut user = |name, busy, extra| -> Result<()> {
        let (net, client) = user_echo(busy, extra)?;
        v.push(Case::socket(name, client, Keep::Network(net)));
        Ok(())
    };
    user(
        "(a') host client -> user-mode fwd -> in-kernel echo",
        0,
        Extra::None,
    )?;
    user("(a') same, busy-polling pump", busy_poll_us, Extra::None)?;
    user("(a') +50 false guards (indexed)", 0, Extra::FalseIndexed)?;
    user(
        "(a') +50 false guards (predicate)",
        0,
        Extra::FalsePredicate,
    )?;
    for (name, program) in guest::available(build) {
        match guest::start(&program) {
            Ok((echo, client)) => v.push(Case::socket(name, client, Keep::Guest { _echo: echo })),
            // A row that cannot run says why; the others still run.
            Err(e) => writeln!(out, "{name}: not measured: {e:#}")?,
        }
    }
    let (client, keep) = linux_echo()?;
    v.push(Case::socket(
        "(c) Linux UDP pair over loopback",
        client,
        keep,
    ));
    let linux = v.len() - 1;
    Ok((v, linux))
}

/// Runs the section; `n` round trips per case, `busy_poll_us` for the
/// busy-polling row, `bandwidth_bytes` of payload per bandwidth row, `build` the guest programs' build directory (row (b)
/// needs its `net`).
pub fn run(
    out: &mut impl Write,
    json_out: bool,
    n: usize,
    busy_poll_us: u64,
    bandwidth_bytes: u64,
    build: &Path,
) -> Result<Value> {
    let n = n.max(BLOCKS);
    let (mut cases, linux_at) = cases(busy_poll_us, build, out)?;
    let mut seq = 0u64;
    // Warm up every path (ARP is static; this is caches and page faults).
    for c in cases.iter_mut() {
        round_trips(c, 200, &mut seq)?;
        c.samples.clear();
        c.wrong = 0;
    }
    let per_block = n / BLOCKS;
    for _ in 0..BLOCKS {
        for c in cases.iter_mut() {
            round_trips(c, per_block, &mut seq)?;
        }
    }
    let med: Vec<f64> = cases.iter().map(|c| median(c.samples.clone())).collect();
    let at = |name: &str| cases.iter().position(|c| c.name == name).map(|i| med[i]);
    let linux = med[linux_at];
    let kernel = med[0];
    let user = at("(a') host client -> user-mode fwd -> in-kernel echo").unwrap_or(f64::NAN);
    let pct = |x: Option<f64>, base: f64| x.map_or(f64::NAN, |x| (x / base - 1.0) * 100.0);
    let a_ratio = kernel / linux;
    let false_idx = pct(at("(a) +50 false guards (indexed)"), kernel);
    let false_pred = pct(at("(a) +50 false guards (predicate)"), kernel);
    let true_g = pct(at("(a) +50 true guards (handlers run)"), kernel);
    let user_false_idx = pct(at("(a') +50 false guards (indexed)"), user);
    let user_false_pred = pct(at("(a') +50 false guards (predicate)"), user);
    let rows: Vec<Value> = cases
        .iter()
        .zip(&med)
        .map(|(c, m)| {
            json!({
                "case": c.name,
                "median_us": m,
                "vs_linux": m / linux,
                "samples": c.samples.len(),
                "late_echoes": c.wrong,
                "pump_wakeups": c.network().map(|n| n.nic_telemetry().pump_wakeups),
                "pump_busy_hits": c.network().map(|n| n.nic_telemetry().pump_busy_hits),
            })
        })
        .collect();
    if !json_out {
        writeln!(
            out,
            "Network: UDP round trip, {PAYLOAD}-byte payload, median of {} per case, interleaved in {BLOCKS} blocks (µs)",
            per_block * BLOCKS
        )?;
        writeln!(out, "{:<52} {:>10} {:>10}", "case", "median", "vs (c)")?;
        for (c, m) in cases.iter().zip(&med) {
            writeln!(out, "{:<52} {:>10.1} {:>9.2}x", c.name, m, m / linux)?;
        }
        if !cases.iter().any(|c| c.name.starts_with("(b)")) {
            writeln!(
                out,
                "{:<52} {:>10}   (needs {}/alpha/net: make -C guest/unix alpha)",
                "(b) guest process echo (UNIX mound)",
                "-",
                build.display()
            )?;
        }
        writeln!(
            out,
            "target (a) <= {ECHO_TARGET}x (c) (SPIN: 565 vs 789 us = 0.72x, extensions at both ends): {a_ratio:.2}x -> {}; (a') host client through the forward {:.2}x",
            verdict(a_ratio <= ECHO_TARGET),
            user / linux
        )?;
        writeln!(
            out,
            "target 50 false guards <= +{GUARDS_TARGET} % (SPIN: +3.5 %): (a) indexed {false_idx:+.1} % -> {}, predicate {false_pred:+.1} %; 50 true guards {true_g:+.1} %; (a') indexed {user_false_idx:+.1} %, predicate {user_false_pred:+.1} %\n",
            verdict(false_idx <= GUARDS_TARGET),
        )?;
    }
    let bw = bandwidth::run(bandwidth_bytes)?;
    if !json_out {
        writeln!(
            out,
            "Network: receive bandwidth, {} MiB per row, at most 16 datagrams in flight",
            bandwidth_bytes >> 20
        )?;
        writeln!(
            out,
            "{:<56} {:>6} {:>9} {:>9} {:>10}",
            "case", "bytes", "sent", "received", "Mb/s"
        )?;
        for r in &bw {
            writeln!(
                out,
                "{:<56} {:>6} {:>9} {:>9} {:>10.0}",
                r.case, r.size, r.sent, r.received, r.mbit_s
            )?;
        }
        writeln!(out)?;
    }
    let bw_json: Vec<Value> = bw
        .iter()
        .map(|r| {
            json!({"case": r.case, "datagram_bytes": r.size, "sent": r.sent,
                   "received": r.received, "mbit_s": r.mbit_s})
        })
        .collect();
    Ok(json!({
        "payload_bytes": PAYLOAD,
        "round_trips_per_case": per_block * BLOCKS,
        "busy_poll_us": busy_poll_us,
        "cases": rows,
        "a_vs_c": a_ratio,
        "a_user_mode_vs_c": user / linux,
        "false_guards_indexed_pct": false_idx,
        "false_guards_predicate_pct": false_pred,
        "true_guards_pct": true_g,
        "receive_bandwidth": bw_json,
    }))
}
