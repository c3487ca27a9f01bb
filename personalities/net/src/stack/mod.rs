//! The stack: interface configuration, the layers installed as handlers on
//! the graph's events, and the clock that drives ARP and reassembly timers.
//!
//! Locks: the ARP cache and the reassembler each have a mutex, taken
//! briefly and never while an event is raised or the NIC is called, and
//! never both at once.

mod input;
mod loopback;
mod output;

pub use loopback::LOOPBACK_CAPACITY;

use std::collections::{BTreeSet, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use spin_kernel::rng::Rng;

use spin_kernel::event::{Decision, EventError, Handler, Principal};

use crate::arp_cache::{ArpCache, ArpConfig};
use crate::events::{NetEvents, Primaries, SendPacket};
use crate::nic::Nic;
use crate::reassembly::{Reassembler, ReassemblyConfig};
use crate::tcp::{Engine, TcpConfig};
use crate::telemetry::{Counters, DropReason, Layer, NetTelemetry};
use crate::wire::ethernet::{ethertype, MacAddr};
use crate::wire::icmp;
use crate::wire::ipv4::protocol;
use crate::wire::udp;

/// An interface's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetConfig {
    /// Our MAC address.
    pub mac: MacAddr,
    /// Our IPv4 address.
    pub addr: Ipv4Addr,
    /// Prefix length of the on-link network (24 for a /24).
    pub prefix_len: u8,
    /// Default gateway for off-link destinations.
    pub gateway: Option<Ipv4Addr>,
    /// TTL of packets we originate.
    pub ttl: u8,
    /// ARP cache limits and timers.
    pub arp: ArpConfig,
    /// Reassembly limits.
    pub reassembly: ReassemblyConfig,
    /// Seed of the stack's random numbers (ephemeral ports, TCP initial
    /// sequence numbers): the same seed replays the same choices.
    pub seed: u64,
    /// TCP limits and timers.
    pub tcp: TcpConfig,
}

impl NetConfig {
    /// An interface at `addr/prefix_len` with default limits and no gateway.
    pub fn new(mac: MacAddr, addr: Ipv4Addr, prefix_len: u8) -> NetConfig {
        NetConfig {
            mac,
            addr,
            prefix_len: prefix_len.min(32),
            gateway: None,
            ttl: 64,
            arp: ArpConfig::default(),
            reassembly: ReassemblyConfig::default(),
            seed: 0x5350_494e,
            tcp: TcpConfig::default(),
        }
    }

    fn mask(&self) -> u32 {
        u32::MAX
            .checked_shl(32 - u32::from(self.prefix_len))
            .unwrap_or(0)
    }

    /// Whether `ip` is on the interface's network.
    pub fn on_link(&self, ip: Ipv4Addr) -> bool {
        (u32::from(ip) ^ u32::from(self.addr)) & self.mask() == 0
    }

    /// The network's directed broadcast address.
    pub fn subnet_broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }

    /// Whether `ip` is a broadcast address for this interface.
    pub fn is_broadcast(&self, ip: Ipv4Addr) -> bool {
        ip.is_broadcast() || (self.prefix_len < 31 && ip == self.subnet_broadcast())
    }
}

/// Errors from building a stack.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A layer's handler could not be installed.
    #[error("installing a layer of the protocol graph failed: {0}")]
    Install(#[from] EventError),
}

pub(crate) struct Shared {
    config: NetConfig,
    pub(crate) nic: Arc<dyn Nic>,
    events: NetEvents,
    counters: Counters,
    arp: Mutex<ArpCache>,
    reassembly: Mutex<Reassembler>,
    now_ms: AtomicU64,
    ident: AtomicU32,
    /// Frames on the loopback path, delivered by the outermost call.
    loopback: Mutex<VecDeque<Vec<u8>>>,
    /// Some thread is delivering the loopback queue.
    draining: AtomicBool,
    /// The stack's seeded random numbers.
    pub(crate) rng: Mutex<Rng>,
    /// UDP ports bound by sockets.
    pub(crate) udp_ports: Mutex<BTreeSet<u16>>,
    /// The TCP engine's tables.
    pub(crate) tcp: Mutex<Engine>,
}

/// A cheap, cloneable handle on a stack for extensions: its configuration,
/// events and counters, and the ways to send.
#[derive(Clone)]
pub struct NetHandle {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for NetHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetHandle")
            .field("config", &self.shared.config)
            .finish()
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Neither structure calls out while locked, so a poisoned lock only means
    // a panic in our own bookkeeping; the data is still whole.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl NetHandle {
    /// The interface's configuration.
    pub fn config(&self) -> &NetConfig {
        &self.shared.config
    }

    /// The graph's events.
    pub fn events(&self) -> &NetEvents {
        &self.shared.events
    }

    /// The per-layer counters.
    pub fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    /// The stack's clock, ms.
    pub fn now_ms(&self) -> u64 {
        self.shared.now_ms.load(Ordering::Relaxed)
    }

    /// Sends a UDP datagram from our address's `src_port` by raising
    /// `SendPacket`; counts a drop if it is too big.
    pub fn send_udp(&self, src_port: u16, dst: SocketAddrV4, payload: &[u8]) {
        self.send_udp_from(
            SocketAddrV4::new(self.source_for(*dst.ip()), src_port),
            dst,
            payload,
        );
    }

    /// The source address a packet to `dst` leaves with: 127.0.0.1 towards
    /// loopback, our address otherwise.
    pub fn source_for(&self, dst: Ipv4Addr) -> Ipv4Addr {
        if dst.is_loopback() {
            Ipv4Addr::LOCALHOST
        } else {
            self.shared.config.addr
        }
    }

    /// Whether a packet to `dst` has somewhere to go (loopback, on-link,
    /// broadcast or through the gateway).
    pub fn routable(&self, dst: Ipv4Addr) -> bool {
        self.is_local(dst) || self.next_hop(dst).is_some()
    }

    /// Whether `ip` is one of ours (our address or 127.0.0.0/8).
    pub fn is_local(&self, ip: Ipv4Addr) -> bool {
        ip == self.shared.config.addr || ip.is_loopback()
    }

    /// Sends a UDP datagram from `src` to `dst` by raising `SendPacket`;
    /// counts a drop if it is too big.
    pub fn send_udp_from(&self, src: SocketAddrV4, dst: SocketAddrV4, payload: &[u8]) {
        let src_port = src.port();
        let src = *src.ip();
        let mut d = Vec::with_capacity(udp::HEADER_LEN + payload.len());
        if udp::emit(&mut d, src, *dst.ip(), src_port, dst.port(), payload).is_err() {
            self.shared.counters.drop(Layer::Udp, DropReason::TooBig);
            return;
        }
        self.send_ip_from(src, *dst.ip(), protocol::UDP, d);
    }

    /// Sends an IPv4 packet from our address by raising `SendPacket`.
    pub fn send_ip(&self, dst: Ipv4Addr, protocol: u8, payload: Vec<u8>) {
        self.send_ip_from(self.shared.config.addr, dst, protocol, payload);
    }

    /// Sends an IPv4 packet from `src` (`0.0.0.0`: the address the route
    /// picks, 127.0.0.1 towards loopback) by raising `SendPacket`. A packet
    /// to our own address or to 127.0.0.0/8 takes the loopback path.
    pub fn send_ip_from(&self, src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, payload: Vec<u8>) {
        let _in = self.enter();
        let p = SendPacket {
            src,
            dst,
            protocol,
            ttl: self.shared.config.ttl,
            payload,
        };
        if self.shared.events.send.raise(&p).is_none() {
            self.shared
                .counters
                .drop(Layer::Send, DropReason::NoHandler);
        }
    }

    /// Sends an ICMP message (type, code, 4 bytes of rest, data).
    pub fn send_icmp(&self, dst: Ipv4Addr, msg_type: u8, code: u8, rest: [u8; 4], data: &[u8]) {
        let mut m = Vec::with_capacity(icmp::HEADER_LEN + data.len());
        icmp::emit(&mut m, msg_type, code, rest, data);
        self.send_ip(dst, protocol::ICMP, m);
    }
}

/// The network stack of one interface: the primary module of every event in
/// the graph. Dropping it uninstalls its layers.
pub struct NetStack {
    net: NetHandle,
    primaries: Primaries,
    /// Uninstalls the layers' handlers.
    layers: Vec<Box<dyn FnOnce() + Send + Sync>>,
}

impl std::fmt::Debug for NetStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetStack")
            .field("config", &self.net.shared.config)
            .finish()
    }
}

/// Installs `handler` on `event` as the stack's own layer and remembers how
/// to remove it.
fn install_layer<A: 'static, R: 'static>(
    layers: &mut Vec<Box<dyn FnOnce() + Send + Sync>>,
    event: &spin_kernel::event::Event<A, R>,
    name: &str,
    handler: Handler<A, R>,
) -> Result<(), EventError> {
    let id = event.install(&Principal::kernel(name), handler)?;
    let event = event.clone();
    layers.push(Box::new(move || {
        let _ = event.uninstall(id);
    }));
    Ok(())
}

/// Install policy for the layers below transport: kernel extensions only.
fn kernel_only<A>(p: &Principal) -> Decision<A> {
    match p.mound {
        None => Decision::Allow,
        Some(_) => {
            Decision::Refuse("only kernel extensions handle link and network layer packets".into())
        }
    }
}

impl NetStack {
    /// Builds the stack on `nic`: defines the events and installs Ethernet,
    /// ARP, IPv4, ICMP (echo) and UDP as handlers on them.
    pub fn new(config: NetConfig, nic: Arc<dyn Nic>) -> Result<NetStack, NetError> {
        let (events, primaries) = NetEvents::define();
        let net = NetHandle {
            shared: Arc::new(Shared {
                config,
                nic,
                events,
                counters: Counters::default(),
                arp: Mutex::new(ArpCache::new(config.arp)),
                reassembly: Mutex::new(Reassembler::new(config.reassembly)),
                now_ms: AtomicU64::new(0),
                ident: AtomicU32::new(1),
                loopback: Mutex::new(VecDeque::new()),
                draining: AtomicBool::new(false),
                rng: Mutex::new(Rng::new(config.seed)),
                udp_ports: Mutex::new(BTreeSet::new()),
                tcp: Mutex::new(Engine::new(config.tcp, config.seed)),
            }),
        };
        let ev = net.events().clone();
        let mut layers = Vec::new();
        let n = net.clone();
        install_layer(
            &mut layers,
            &ev.ether,
            "spin.net.ipv4",
            Handler::new(move |a| n.ip_layer(a)).guard(ev.ethertype(ethertype::IPV4)),
        )?;
        let n = net.clone();
        install_layer(
            &mut layers,
            &ev.ether,
            "spin.net.arp",
            Handler::new(move |a| n.arp_layer(a)).guard(ev.ethertype(ethertype::ARP)),
        )?;
        let n = net.clone();
        install_layer(
            &mut layers,
            &ev.ip,
            "spin.net.icmp",
            Handler::new(move |a| n.icmp_layer(a)).guard(ev.ip_protocol(protocol::ICMP)),
        )?;
        let n = net.clone();
        install_layer(
            &mut layers,
            &ev.ip,
            "spin.net.udp",
            Handler::new(move |a| n.udp_layer(a)).guard(ev.ip_protocol(protocol::UDP)),
        )?;
        let n = net.clone();
        install_layer(
            &mut layers,
            &ev.ip,
            "spin.net.tcp",
            Handler::new(move |a| n.tcp_layer(a)).guard(ev.ip_protocol(protocol::TCP)),
        )?;
        let n = net.clone();
        install_layer(
            &mut layers,
            &ev.icmp,
            "spin.net.icmp-echo",
            Handler::new(move |a| n.icmp_echo(a)).guard(ev.icmp_type(icmp::kind::ECHO_REQUEST)),
        )?;
        let n = net.clone();
        primaries
            .arp
            .set_primary(Handler::new(move |a| n.arp_module(a)))?;
        let n = net.clone();
        primaries
            .send
            .set_primary(Handler::new(move |p| n.ip_output(p)))?;
        primaries.ether.set_install_policy(kernel_only);
        primaries.arp.set_install_policy(kernel_only);
        primaries.ip.set_install_policy(kernel_only);
        Ok(NetStack {
            net,
            primaries,
            layers,
        })
    }

    /// A handle for extensions.
    pub fn handle(&self) -> NetHandle {
        self.net.clone()
    }

    /// The graph's events.
    pub fn events(&self) -> &NetEvents {
        self.net.events()
    }

    /// The interface's configuration.
    pub fn config(&self) -> &NetConfig {
        self.net.config()
    }

    /// Pushes one received frame through the graph.
    pub fn receive(&self, frame: Vec<u8>) {
        let _in = self.net.enter();
        self.net.ether_input(frame, false);
    }

    /// Receives every frame the NIC has; returns how many.
    pub fn poll_nic(&self) -> usize {
        let mut n = 0;
        while let Some(f) = self.net.shared.nic.receive() {
            self.receive(f);
            n += 1;
        }
        n
    }

    /// Advances the clock to `now_ms` (it never goes back) and runs the
    /// timers: ARP entries expire, unanswered requests are repeated or given
    /// up, incomplete datagrams time out.
    pub fn poll(&self, now_ms: u64) {
        let _in = self.net.enter();
        let now = self
            .net
            .shared
            .now_ms
            .fetch_max(now_ms, Ordering::Relaxed)
            .max(now_ms);
        let due = lock(&self.net.shared.arp).poll(now);
        for _ in 0..due.unresolved {
            self.net
                .counters()
                .drop(Layer::Send, DropReason::ArpUnresolved);
        }
        for ip in due.retry {
            self.net.send_arp_request(ip);
        }
        let expired = lock(&self.net.shared.reassembly).expire(now);
        for _ in 0..expired {
            self.net
                .counters()
                .drop(Layer::Ip, DropReason::FragmentTimeout);
        }
        self.net.tcp_poll(now);
    }

    /// When the next TCP timer (retransmission, delayed ACK, window probe,
    /// TIME_WAIT) is due, ms on the stack's clock: `poll` then has work.
    pub fn next_deadline_ms(&self) -> Option<u64> {
        self.net.tcp_deadline()
    }

    /// Adds an ARP entry that never expires.
    pub fn add_static_arp(&self, ip: Ipv4Addr, mac: MacAddr) {
        let _in = self.net.enter();
        let frames = lock(&self.net.shared.arp).insert_static(ip, mac);
        for f in frames {
            self.net.transmit(f);
        }
    }

    /// The MAC `ip` resolves to now, if known.
    pub fn arp_lookup(&self, ip: Ipv4Addr) -> Option<MacAddr> {
        lock(&self.net.shared.arp).lookup(ip, self.net.now_ms())
    }

    /// A snapshot of the counters and of every event's handlers.
    pub fn telemetry(&self) -> NetTelemetry {
        let ev = self.events();
        let (arp_entries, arp_pending) = {
            let a = lock(&self.net.shared.arp);
            (a.len(), a.pending())
        };
        NetTelemetry {
            layers: self.net.counters().layers(),
            events: vec![
                ev.ether.telemetry(),
                ev.arp.telemetry(),
                ev.ip.telemetry(),
                ev.icmp.telemetry(),
                ev.udp.telemetry(),
                ev.tcp.telemetry(),
                ev.send.telemetry(),
            ],
            arp_entries,
            arp_pending,
            reassembling: lock(&self.net.shared.reassembly).in_progress(),
            tcp: self.net.tcp_telemetry(),
        }
    }
}

impl Drop for NetStack {
    fn drop(&mut self) {
        // The layers' closures hold the stack's shared state, which holds the
        // events: removing them breaks the cycle. Connections still open
        // are reset and their port handlers removed.
        self.net.tcp_shutdown();
        for undo in self.layers.drain(..) {
            undo();
        }
        self.primaries.arp.remove_primary();
        self.primaries.send.remove_primary();
    }
}

#[cfg(test)]
mod tests;
