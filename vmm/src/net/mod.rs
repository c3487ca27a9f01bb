//! The host's network: one [`NetStack`] for the whole kernel on a NIC
//! backend, driven by the network pump.
//!
//! * [`tap`] — a TAP device (real Ethernet frames; needs `CAP_NET_ADMIN` or
//!   a tap made beforehand).
//! * [`user`] — user-mode networking, no privileges, the default: host
//!   loopback ports forwarded into the stack through a small gateway stack
//!   (like qemu's `hostfwd`), and guest connections to the gateway forwarded
//!   to host loopback ports (`guestfwd`).
//! * [`pump`] — the thread that moves frames and runs the stack's timers.
//! * [`fault`] — seeded fault injection on the NIC, both ways (spin-net's
//!   `FaultyNic`: drop, duplicate, reorder, counted).
//! * [`proxy`] — the TCP splice the user-mode gateway forwards with.
//!
//! [`Network::start`] builds it all from a [`NetworkConfig`]; the host
//! hands the stack's [`NetHandle`] to every mound and the in-kernel
//! extensions the configuration lists.

pub mod fault;
pub mod proxy;
pub mod pump;
pub mod tap;
pub mod user;

/// The stack itself, for the host's callers (the `spin` binary's `ctl net`
/// and benchmarks) without a dependency of their own.
pub use spin_net;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use spin_kernel::event::Principal;
use spin_net::ext::echo::UdpEcho;
use spin_net::ext::forward::{TcpForwarder, UdpForwarder};
use spin_net::wire::ethernet::MacAddr;
use spin_net::{NetConfig, NetHandle, NetStack, NetTelemetry, Nic, NicError};

use self::fault::{FaultCounters, FaultsBothWays};
use self::pump::{lock_stack, Kicker, Pump, PumpConfig, PumpTask};

/// A transport protocol of a port forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Proto {
    /// TCP (the default).
    Tcp,
    /// UDP.
    Udp,
}

/// A host loopback port forwarded to a port of the stack (`hostfwd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortForward {
    /// TCP or UDP.
    pub proto: Proto,
    /// Port on 127.0.0.1 of the host (0: any free one).
    pub host_port: u16,
    /// Port on the stack's address.
    pub guest_port: u16,
}

impl std::str::FromStr for PortForward {
    type Err = String;

    /// `[tcp:|udp:]HOST:GUEST`, e.g. `8080:80`, `udp:5353:53`.
    fn from_str(s: &str) -> Result<PortForward, String> {
        let (proto, rest) = match s.split_once(':') {
            Some(("udp", r)) => (Proto::Udp, r),
            Some(("tcp", r)) => (Proto::Tcp, r),
            _ => (Proto::Tcp, s),
        };
        let bad = || format!("`{s}`: expected [tcp:|udp:]HOSTPORT:GUESTPORT, e.g. 8080:80");
        let (h, g) = rest.split_once(':').ok_or_else(bad)?;
        let host_port: u16 = h.parse().map_err(|_| bad())?;
        let guest_port: u16 = g.parse().map_err(|_| bad())?;
        if guest_port == 0 {
            return Err(format!("`{s}`: the guest port must not be 0"));
        }
        Ok(PortForward {
            proto,
            host_port,
            guest_port,
        })
    }
}

/// Fault injection on the NIC: each fraction is a probability per frame,
/// in each direction, drawn from a generator seeded with `seed`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// Fraction of frames lost.
    pub drop: f64,
    /// Fraction of frames delivered twice.
    pub duplicate: f64,
    /// Fraction of frames held back and delivered after the next one.
    pub reorder: f64,
    /// Seed (the same seed and traffic give the same faults).
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            drop: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            seed: 1,
        }
    }
}

impl Faults {
    /// Checks that every fraction is in 0..=1.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("drop", self.drop),
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} = {v} is not a fraction in 0..=1"));
            }
        }
        Ok(())
    }

    /// Whether any fault is asked for.
    pub fn any(&self) -> bool {
        self.drop > 0.0 || self.duplicate > 0.0 || self.reorder > 0.0
    }
}

impl std::str::FromStr for Faults {
    type Err = String;

    /// `drop=0.01,dup=0,reorder=0,seed=7` (any subset, any order).
    fn from_str(s: &str) -> Result<Faults, String> {
        let mut f = Faults::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}`: expected KEY=VALUE"))?;
            let frac = || {
                v.parse::<f64>()
                    .map_err(|_| format!("`{part}`: {v} is not a number"))
            };
            match k {
                "drop" => f.drop = frac()?,
                "dup" | "duplicate" => f.duplicate = frac()?,
                "reorder" => f.reorder = frac()?,
                "seed" => {
                    f.seed = v
                        .parse()
                        .map_err(|_| format!("`{part}`: {v} is not an integer"))?
                }
                other => {
                    return Err(format!(
                        "unknown fault `{other}` (drop, dup, reorder, seed)"
                    ))
                }
            }
        }
        f.validate()?;
        Ok(f)
    }
}

/// Which NIC the stack runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// User-mode networking through a gateway at the configured gateway
    /// address (no privileges).
    User {
        /// Host loopback ports forwarded into the stack.
        hostfwd: Vec<PortForward>,
        /// Ports of host loopback the stack reaches at the gateway's address.
        guestfwd: Vec<u16>,
    },
    /// A TAP interface.
    Tap {
        /// Its name (`tap0`).
        name: String,
    },
}

/// An in-kernel extension on the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extension {
    /// UDP echo on a port.
    UdpEcho {
        /// The port.
        port: u16,
    },
    /// UDP forwarding of a port to another host.
    UdpForward {
        /// The local port.
        port: u16,
        /// Where datagrams go.
        to: SocketAddrV4,
    },
    /// TCP forwarding of a port to another host.
    TcpForward {
        /// The local port.
        port: u16,
        /// Where connections go.
        to: SocketAddrV4,
    },
}

/// The host's network.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkConfig {
    /// The NIC.
    pub backend: Backend,
    /// The stack's address.
    pub address: Ipv4Addr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// The default gateway (user mode: the gateway stack's address).
    pub gateway: Option<Ipv4Addr>,
    /// The stack's MAC (default: locally administered, from the seed).
    pub mac: Option<MacAddr>,
    /// Fault injection (None: none).
    pub faults: Option<Faults>,
    /// µs the pump polls before sleeping (0: sleep at once).
    pub busy_poll_us: u64,
    /// In-kernel extensions to install.
    pub extensions: Vec<Extension>,
    /// User mode: a UDP mapping (a host sender of a `hostfwd` port, a stack
    /// sender of a `guestfwd` port) idle this long is dropped, its gateway
    /// port and host socket with it (ms; as a NAT's UDP timeout).
    pub udp_idle_ms: u64,
}

/// Default [`NetworkConfig::udp_idle_ms`]: two minutes, Linux conntrack's
/// timeout for a UDP flow that has seen replies.
pub const UDP_IDLE_MS: u64 = 120_000;

impl Default for NetworkConfig {
    /// User mode, 10.0.2.15/24 behind 10.0.2.2, as qemu's user networking.
    fn default() -> Self {
        NetworkConfig {
            backend: Backend::User {
                hostfwd: Vec::new(),
                guestfwd: Vec::new(),
            },
            address: Ipv4Addr::new(10, 0, 2, 15),
            prefix_len: 24,
            gateway: Some(Ipv4Addr::new(10, 0, 2, 2)),
            mac: None,
            faults: None,
            busy_poll_us: 0,
            extensions: Vec::new(),
            udp_idle_ms: UDP_IDLE_MS,
        }
    }
}

/// Parses `A.B.C.D/N` (N defaults to 24).
pub fn parse_cidr(s: &str) -> Result<(Ipv4Addr, u8), String> {
    let (a, p) = s.split_once('/').unwrap_or((s, "24"));
    let addr: Ipv4Addr = a
        .parse()
        .map_err(|_| format!("`{s}`: expected an IPv4 address like 10.0.2.15/24"))?;
    let prefix: u8 = p
        .parse()
        .ok()
        .filter(|&n| (1..=32).contains(&n))
        .ok_or_else(|| format!("`{s}`: the prefix length must be 1..=32"))?;
    Ok((addr, prefix))
}

/// A locally administered unicast MAC derived from `seed` (02:xx:...).
pub fn mac_from_seed(seed: u64) -> MacAddr {
    let mut x = seed ^ 0x5350_494e_4e45_5400;
    // splitmix64: any seed gives well-spread bytes.
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let b = z.to_le_bytes();
    MacAddr([0x02, b[0], b[1], b[2], b[3], b[4]])
}

/// Why the network could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The TAP device.
    #[error(transparent)]
    Tap(#[from] tap::TapError),
    /// The configuration is inconsistent.
    #[error("network: {0}")]
    Config(String),
    /// Building the stack failed.
    #[error("network stack: {0}")]
    Stack(#[from] spin_net::NetError),
    /// A host socket or thread.
    #[error("network: {what}: {err}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        err: std::io::Error,
    },
    /// An extension could not be installed.
    #[error("network extension {what}: {err}")]
    Extension {
        /// Which.
        what: String,
        /// Why.
        err: String,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> NetworkError {
    let what = what.into();
    move |err| NetworkError::Io { what, err }
}

/// NIC counters: frames and bytes each way, transmit errors.
#[derive(Debug, Default)]
pub struct NicCounters {
    frames_in: AtomicU64,
    frames_out: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    tx_errors: AtomicU64,
}

/// A NIC that counts what passes and, for links without a descriptor,
/// kicks the pump when a frame is transmitted from another thread.
pub struct CountedNic {
    inner: Arc<dyn Nic>,
    counters: Arc<NicCounters>,
    kick: Option<Kicker>,
}

impl CountedNic {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Nic>, counters: Arc<NicCounters>, kick: Option<Kicker>) -> Self {
        CountedNic {
            inner,
            counters,
            kick,
        }
    }
}

impl Nic for CountedNic {
    fn transmit(&self, frame: Vec<u8>) -> Result<(), NicError> {
        let len = frame.len() as u64;
        match self.inner.transmit(frame) {
            Ok(()) => {
                self.counters.frames_out.fetch_add(1, Ordering::Relaxed);
                self.counters.bytes_out.fetch_add(len, Ordering::Relaxed);
                if let Some(k) = &self.kick {
                    k.kick();
                }
                Ok(())
            }
            Err(e) => {
                self.counters.tx_errors.fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }

    fn receive(&self) -> Option<Vec<u8>> {
        let f = self.inner.receive()?;
        self.counters.frames_in.fetch_add(1, Ordering::Relaxed);
        self.counters
            .bytes_in
            .fetch_add(f.len() as u64, Ordering::Relaxed);
        Some(f)
    }

    fn mtu(&self) -> usize {
        self.inner.mtu()
    }
}

/// The NIC's and the pump's counters, for telemetry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NicTelemetry {
    /// `user` or `tap:NAME`.
    pub backend: String,
    /// The stack's address and prefix (`10.0.2.15/24`).
    pub address: String,
    /// The stack's MAC.
    pub mac: String,
    /// Frames the stack received.
    pub frames_in: u64,
    /// Frames the stack sent.
    pub frames_out: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Frames the NIC refused.
    pub tx_errors: u64,
    /// Frames dropped by fault injection.
    pub injected_drops: u64,
    /// Frames duplicated by fault injection.
    pub injected_dups: u64,
    /// Frames reordered by fault injection.
    pub injected_reorders: u64,
    /// Times the pump woke up.
    pub pump_wakeups: u64,
    /// Busy-poll passes that found work.
    pub pump_busy_hits: u64,
    /// User mode: datagrams and connections forwarded (zero for TAP).
    #[serde(default)]
    pub user: user::UserTelemetry,
}

/// An installed in-kernel extension (kept alive with the network).
enum Installed {
    Echo(UdpEcho),
    Forward(UdpForwarder),
    TcpForward(TcpForwarder),
}

/// The running network: the stack, its pump and its extensions. Dropping
/// it stops the pump.
pub struct Network {
    stack: Arc<Mutex<NetStack>>,
    handle: NetHandle,
    pump: Mutex<Pump>,
    counters: Arc<NicCounters>,
    faults: Option<FaultCounters>,
    user: Option<Arc<user::UserCounters>>,
    backend: String,
    extensions: Vec<Installed>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("backend", &self.backend)
            .field("config", self.handle.config())
            .finish()
    }
}

impl Network {
    /// Opens the backend, builds the stack, installs the extensions and
    /// starts the pump. `seed` picks the default MAC.
    pub fn start(cfg: &NetworkConfig, seed: u64) -> Result<Network, NetworkError> {
        if let Some(f) = &cfg.faults {
            f.validate().map_err(NetworkError::Config)?;
        }
        let mac = cfg.mac.unwrap_or_else(|| mac_from_seed(seed));
        let mut net = NetConfig::new(mac, cfg.address, cfg.prefix_len);
        net.gateway = cfg.gateway;
        let kicker = Pump::kicker().map_err(io("creating the pump's eventfd"))?;
        let counters = Arc::new(NicCounters::default());
        let mut tasks: Vec<Box<dyn PumpTask>> = Vec::new();
        let mut user_counters = None;
        let (raw, fd, backend, gateway): (Arc<dyn Nic>, _, _, _) = match &cfg.backend {
            Backend::Tap { name } => {
                let tap = tap::TapNic::open(name)?;
                let fd = tap.fd();
                let label = format!("tap:{}", tap.name());
                (Arc::new(tap), Some(fd), label, None)
            }
            Backend::User { hostfwd, guestfwd } => {
                let gw_addr = cfg.gateway.ok_or_else(|| {
                    NetworkError::Config("user-mode networking needs a gateway address".into())
                })?;
                if !net.on_link(gw_addr) || gw_addr == cfg.address {
                    return Err(NetworkError::Config(format!(
                        "the gateway {gw_addr} must be another address on {}/{}",
                        cfg.address, cfg.prefix_len
                    )));
                }
                let (ours, theirs) = spin_net::MemNic::pair(1024);
                let gw = user::Gateway::new(
                    user::GatewayConfig {
                        addr: gw_addr,
                        prefix_len: cfg.prefix_len,
                        mac: user::gateway_mac(mac),
                        guest: cfg.address,
                        guest_mac: mac,
                        hostfwd: hostfwd.clone(),
                        guestfwd: guestfwd.clone(),
                        udp_idle_ms: cfg.udp_idle_ms,
                    },
                    theirs,
                )?;
                user_counters = Some(gw.counters());
                tasks.push(Box::new(gw));
                (
                    Arc::new(ours),
                    None,
                    "user".to_string(),
                    Some((gw_addr, user::gateway_mac(mac))),
                )
            }
        };
        let (nic, faults): (Arc<dyn Nic>, _) = match cfg.faults.filter(Faults::any) {
            Some(f) => {
                let (faulty, c) = FaultsBothWays::new(raw, f);
                (faulty, Some(c))
            }
            None => (raw, None),
        };
        // A frame sent from another thread (a mound's socket call) kicks the
        // pump: on an in-memory link it must be carried over, and on any
        // link the send may have armed a TCP timer the pump must wait for.
        let kick = Some(kicker.clone());
        let nic = Arc::new(CountedNic::new(nic, counters.clone(), kick));
        let stack = NetStack::new(net, nic)?;
        if let Some((ip, gmac)) = gateway {
            stack.add_static_arp(ip, gmac);
        }
        let handle = stack.handle();
        let mut extensions = Vec::new();
        let who = Principal::kernel("spin.net.host");
        for e in &cfg.extensions {
            let what = format!("{e:?}");
            let ext_err = |err: String| NetworkError::Extension {
                what: what.clone(),
                err,
            };
            match *e {
                Extension::UdpEcho { port } => extensions.push(Installed::Echo(
                    UdpEcho::install(&handle, &who, port).map_err(|e| ext_err(e.to_string()))?,
                )),
                Extension::UdpForward { port, to } => extensions.push(Installed::Forward(
                    UdpForwarder::install(&handle, &who, port, to)
                        .map_err(|e| ext_err(e.to_string()))?,
                )),
                Extension::TcpForward { port, to } => extensions.push(Installed::TcpForward(
                    TcpForwarder::install(&handle, &who, port, to)
                        .map_err(|e| ext_err(e.to_string()))?,
                )),
            }
        }
        let stack = Arc::new(Mutex::new(stack));
        let pump = Pump::start(
            stack.clone(),
            fd,
            tasks,
            kicker,
            PumpConfig {
                busy_poll_us: cfg.busy_poll_us,
            },
        )
        .map_err(io("starting the network pump"))?;
        Ok(Network {
            stack,
            handle,
            pump: Mutex::new(pump),
            counters,
            faults,
            user: user_counters,
            backend,
            extensions,
        })
    }

    /// The stack's handle (what mounds and extensions use).
    pub fn handle(&self) -> NetHandle {
        self.handle.clone()
    }

    /// Wakes the pump (after queuing work it should look at).
    pub fn kick(&self) {
        self.pump().waker().kick();
    }

    fn pump(&self) -> std::sync::MutexGuard<'_, Pump> {
        self.pump.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Datagrams the in-kernel UDP echo extensions have echoed.
    pub fn echoed(&self) -> u64 {
        self.extensions
            .iter()
            .map(|e| match e {
                Installed::Echo(e) => e.echoed(),
                Installed::Forward(_) | Installed::TcpForward(_) => 0,
            })
            .sum()
    }

    /// Datagrams and segments the in-kernel forwarders have forwarded.
    pub fn forwarded(&self) -> u64 {
        self.extensions
            .iter()
            .map(|e| match e {
                Installed::Echo(_) => 0,
                Installed::Forward(f) => f.forwarded(),
                Installed::TcpForward(f) => f.forwarded(),
            })
            .sum()
    }

    /// The stack's snapshot: per-layer counters, per-handler guard counters.
    pub fn telemetry(&self) -> NetTelemetry {
        lock_stack(&self.stack).telemetry()
    }

    /// The NIC's and pump's counters.
    pub fn nic_telemetry(&self) -> NicTelemetry {
        let c = &self.counters;
        let f = self
            .faults
            .as_ref()
            .map(|f| f.snapshot())
            .unwrap_or_default();
        let cfg = self.handle.config();
        let pump = self.pump();
        let p = pump.counters();
        NicTelemetry {
            backend: self.backend.clone(),
            address: format!("{}/{}", cfg.addr, cfg.prefix_len),
            mac: cfg.mac.to_string(),
            frames_in: c.frames_in.load(Ordering::Relaxed),
            frames_out: c.frames_out.load(Ordering::Relaxed),
            bytes_in: c.bytes_in.load(Ordering::Relaxed),
            bytes_out: c.bytes_out.load(Ordering::Relaxed),
            tx_errors: c.tx_errors.load(Ordering::Relaxed),
            injected_drops: f.drops,
            injected_dups: f.dups,
            injected_reorders: f.reorders,
            pump_wakeups: p.wakeups.load(Ordering::Relaxed),
            pump_busy_hits: p.busy_hits.load(Ordering::Relaxed),
            user: self.user.as_ref().map(|u| u.snapshot()).unwrap_or_default(),
        }
    }

    /// The host ports user-mode forwards listen on, in configuration order
    /// (a forward asked with host port 0 shows the port it got).
    pub fn host_ports(&self) -> Vec<(Proto, u16, u16)> {
        self.user.as_ref().map(|u| u.ports()).unwrap_or_default()
    }

    /// Whether everything the stack's programs sent has left the host:
    /// no closed connection still delivering, no user-mode splice still
    /// owing the host bytes or an end of stream.
    pub fn delivered(&self) -> bool {
        self.handle().tcp_draining() == 0 && self.user.as_ref().is_none_or(|u| u.owing() == 0)
    }

    /// Stops the pump (the stack stays readable for a final telemetry).
    pub fn stop(&self) {
        self.pump().stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_forwards_parse_with_tcp_as_the_default() {
        let f: PortForward = "8080:80".parse().unwrap();
        assert_eq!((f.proto, f.host_port, f.guest_port), (Proto::Tcp, 8080, 80));
        let f: PortForward = "udp:5353:53".parse().unwrap();
        assert_eq!((f.proto, f.host_port, f.guest_port), (Proto::Udp, 5353, 53));
        let f: PortForward = "tcp:0:22".parse().unwrap();
        assert_eq!((f.proto, f.host_port, f.guest_port), (Proto::Tcp, 0, 22));
        for bad in ["80", "udp:80", "x:1:2", "70000:1", "1:0", "sctp:1:2:3"] {
            assert!(bad.parse::<PortForward>().is_err(), "{bad}");
        }
    }

    #[test]
    fn faults_parse_and_are_checked() {
        let f: Faults = "drop=0.5,seed=7".parse().unwrap();
        assert_eq!((f.drop, f.duplicate, f.reorder, f.seed), (0.5, 0.0, 0.0, 7));
        let f: Faults = "dup=0.1, reorder=0.2".parse().unwrap();
        assert_eq!((f.duplicate, f.reorder, f.seed), (0.1, 0.2, 1));
        for bad in ["drop=2", "drop=x", "loss=0.1", "drop", "seed=-1"] {
            assert!(bad.parse::<Faults>().is_err(), "{bad}");
        }
    }

    #[test]
    fn cidrs_and_macs() {
        assert_eq!(
            parse_cidr("10.77.0.2/24").unwrap(),
            (Ipv4Addr::new(10, 77, 0, 2), 24)
        );
        assert_eq!(parse_cidr("10.0.0.1").unwrap().1, 24);
        assert!(parse_cidr("10.0.0.1/33").is_err());
        assert!(parse_cidr("10.0.0/8").is_err());
        let m = mac_from_seed(1);
        assert_eq!(m.0[0], 0x02, "locally administered, unicast");
        assert_eq!(m, mac_from_seed(1));
        assert_ne!(m, mac_from_seed(2));
    }
}
