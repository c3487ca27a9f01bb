//! The protocol graph's events, their arguments and the guards on them.
//!
//! | event | raised by | arguments | indexed guard key |
//! |---|---|---|---|
//! | `Ether.PacketArrived` | the stack, per received frame | [`EtherArrived`] | ethertype |
//! | `ARP.PacketArrived` | the ARP layer (handler on Ether, ethertype 0x0806) | [`ArpArrived`] | — |
//! | `IP.PacketArrived` | the IPv4 layer (handler on Ether, ethertype 0x0800), after reassembly | [`IpArrived`] | protocol |
//! | `ICMP.PacketArrived` | the ICMP layer (handler on IP, protocol 1) | [`IcmpArrived`] | ICMP type |
//! | `UDP.PacketArrived` | the UDP layer (handler on IP, protocol 17) | [`UdpArrived`] | destination port, source port |
//! | `TCP.PacketArrived` | the TCP layer (handler on IP, protocol 6) | [`TcpArrived`] | destination port, source port |
//! | `SendPacket` | anyone sending an IPv4 packet | [`SendPacket`] | protocol |
//!
//! Equality guards on the declared keys are indexed by the kernel's
//! dispatcher: a datagram finds its port's handlers with one hash probe,
//! however many ports have handlers. Every event returns `()`; `raise`
//! returning `None` means no handler's guard accepted the packet, which the
//! raising layer counts as a drop.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::ops::{Deref, Range};
use std::sync::Arc;

use spin_kernel::event::{Event, Guard, KeyId, Primary};

use crate::wire::arp::ArpRepr;
use crate::wire::ethernet::MacAddr;
use crate::wire::tcp::TcpRepr;

/// A shared, immutable slice of a received buffer: passing a packet up the
/// graph never copies it.
#[derive(Clone)]
pub struct Bytes {
    buf: Arc<Vec<u8>>,
    start: usize,
    end: usize,
}

impl Bytes {
    /// Takes ownership of a buffer.
    pub fn new(buf: Vec<u8>) -> Bytes {
        let end = buf.len();
        Bytes {
            buf: Arc::new(buf),
            start: 0,
            end,
        }
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// A sub-slice (`range` relative to this one); `None` if out of bounds.
    pub fn slice(&self, range: Range<usize>) -> Option<Bytes> {
        if range.start > range.end || range.end > self.end - self.start {
            return None;
        }
        Some(Bytes {
            buf: self.buf.clone(),
            start: self.start + range.start,
            end: self.start + range.end,
        })
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes({} bytes)", self.end - self.start)
    }
}

/// `Ether.PacketArrived`: a frame addressed to us (or broadcast).
#[derive(Debug, Clone)]
pub struct EtherArrived {
    /// Source MAC.
    pub src: MacAddr,
    /// Destination MAC.
    pub dst: MacAddr,
    /// EtherType (the guard key).
    pub ethertype: u16,
    /// Everything after the Ethernet header (padding included).
    pub payload: Bytes,
    /// The frame came back on the stack's loopback path (a packet to our
    /// own address or to 127.0.0.0/8), not from the NIC.
    pub looped: bool,
}

/// `ARP.PacketArrived`: a valid Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone)]
pub struct ArpArrived {
    /// The packet.
    pub repr: ArpRepr,
    /// The frame's source MAC.
    pub from: MacAddr,
}

/// `IP.PacketArrived`: a valid IPv4 datagram for us, reassembled.
#[derive(Debug, Clone)]
pub struct IpArrived {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address (ours, or a broadcast address).
    pub dst: Ipv4Addr,
    /// Protocol (the guard key).
    pub protocol: u8,
    /// Time to live as received.
    pub ttl: u8,
    /// The header (options included) of the packet, or of the last fragment
    /// for a reassembled datagram: ICMP errors quote it.
    pub header: Bytes,
    /// The payload.
    pub payload: Bytes,
}

/// `ICMP.PacketArrived`: a valid ICMP message.
#[derive(Debug, Clone)]
pub struct IcmpArrived {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// ICMP type (the guard key).
    pub msg_type: u8,
    /// ICMP code.
    pub code: u8,
    /// The whole message, header included.
    pub message: Bytes,
}

/// `UDP.PacketArrived`: a valid UDP datagram.
#[derive(Debug, Clone)]
pub struct UdpArrived {
    /// Sender.
    pub src: SocketAddrV4,
    /// Destination (its port is the guard key).
    pub dst: SocketAddrV4,
    /// The payload.
    pub payload: Bytes,
}

/// `TCP.PacketArrived`: a valid TCP segment (checksum verified). The TCP
/// engine's handlers are guarded by their local port; an extension guarded
/// the same way takes a port's whole traffic, control segments included.
#[derive(Debug, Clone)]
pub struct TcpArrived {
    /// Sender.
    pub src: SocketAddrV4,
    /// Destination (its port is the guard key).
    pub dst: SocketAddrV4,
    /// The parsed header.
    pub repr: TcpRepr,
    /// The payload.
    pub payload: Bytes,
    /// The whole segment as received (header included), for extensions
    /// that rewrite and pass it on.
    pub segment: Bytes,
}

/// `SendPacket`: an IPv4 packet to send. The primary handler routes it,
/// resolves the next hop, fragments it to the MTU and hands frames to the
/// NIC; other handlers see (and may act on) every packet sent.
#[derive(Debug, Clone)]
pub struct SendPacket {
    /// Source address (`0.0.0.0`: the interface's).
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol (the guard key).
    pub protocol: u8,
    /// Time to live.
    pub ttl: u8,
    /// The transport packet (header included).
    pub payload: Vec<u8>,
}

/// The graph's events and the keys their equality guards may test. Cloning
/// shares the same events.
#[derive(Debug, Clone)]
pub struct NetEvents {
    /// `Ether.PacketArrived`.
    pub ether: Event<EtherArrived, ()>,
    /// `ARP.PacketArrived`.
    pub arp: Event<ArpArrived, ()>,
    /// `IP.PacketArrived`.
    pub ip: Event<IpArrived, ()>,
    /// `ICMP.PacketArrived`.
    pub icmp: Event<IcmpArrived, ()>,
    /// `UDP.PacketArrived`.
    pub udp: Event<UdpArrived, ()>,
    /// `TCP.PacketArrived`.
    pub tcp: Event<TcpArrived, ()>,
    /// `SendPacket`.
    pub send: Event<SendPacket, ()>,
    keys: Keys,
}

#[derive(Debug, Clone, Copy)]
struct Keys {
    ethertype: KeyId,
    ip_protocol: KeyId,
    icmp_type: KeyId,
    udp_dst_port: KeyId,
    udp_src_port: KeyId,
    tcp_dst_port: KeyId,
    tcp_src_port: KeyId,
    send_protocol: KeyId,
}

/// The authority over the graph's events, kept by the stack (the primary
/// module of every layer).
#[derive(Debug)]
pub(crate) struct Primaries {
    pub ether: Primary<EtherArrived, ()>,
    pub arp: Primary<ArpArrived, ()>,
    pub ip: Primary<IpArrived, ()>,
    // Held, not yet used: the authority over these events stays with the
    // stack (TCP and the sockets layer will set policies on them).
    #[allow(dead_code)]
    pub icmp: Primary<IcmpArrived, ()>,
    #[allow(dead_code)]
    pub udp: Primary<UdpArrived, ()>,
    #[allow(dead_code)]
    pub tcp: Primary<TcpArrived, ()>,
    pub send: Primary<SendPacket, ()>,
}

impl NetEvents {
    /// Defines the events and declares their guard keys.
    pub(crate) fn define() -> (NetEvents, Primaries) {
        let (ether, pe) = Event::define("Ether.PacketArrived");
        let (arp, pa) = Event::define("ARP.PacketArrived");
        let (ip, pi) = Event::define("IP.PacketArrived");
        let (icmp, pc) = Event::define("ICMP.PacketArrived");
        let (udp, pu) = Event::define("UDP.PacketArrived");
        let (tcp, pt) = Event::define("TCP.PacketArrived");
        let (send, ps) = Event::define("SendPacket");
        let keys = Keys {
            ethertype: pe.declare_key("ethertype", |a: &EtherArrived| u64::from(a.ethertype)),
            ip_protocol: pi.declare_key("protocol", |a: &IpArrived| u64::from(a.protocol)),
            icmp_type: pc.declare_key("type", |a: &IcmpArrived| u64::from(a.msg_type)),
            udp_dst_port: pu.declare_key("dst_port", |a: &UdpArrived| u64::from(a.dst.port())),
            udp_src_port: pu.declare_key("src_port", |a: &UdpArrived| u64::from(a.src.port())),
            tcp_dst_port: pt.declare_key("dst_port", |a: &TcpArrived| u64::from(a.dst.port())),
            tcp_src_port: pt.declare_key("src_port", |a: &TcpArrived| u64::from(a.src.port())),
            send_protocol: ps.declare_key("protocol", |a: &SendPacket| u64::from(a.protocol)),
        };
        let events = NetEvents {
            ether,
            arp,
            ip,
            icmp,
            udp,
            tcp,
            send,
            keys,
        };
        let primaries = Primaries {
            ether: pe,
            arp: pa,
            ip: pi,
            icmp: pc,
            udp: pu,
            tcp: pt,
            send: ps,
        };
        (events, primaries)
    }

    /// Indexed guard: the frame's EtherType is `t`.
    pub fn ethertype(&self, t: u16) -> Guard<EtherArrived> {
        Guard::eq(self.keys.ethertype, u64::from(t))
    }

    /// Indexed guard: the datagram's protocol is `p`.
    pub fn ip_protocol(&self, p: u8) -> Guard<IpArrived> {
        Guard::eq(self.keys.ip_protocol, u64::from(p))
    }

    /// Indexed guard: the ICMP message's type is `t`.
    pub fn icmp_type(&self, t: u8) -> Guard<IcmpArrived> {
        Guard::eq(self.keys.icmp_type, u64::from(t))
    }

    /// Indexed guard: the datagram is for port `port`.
    pub fn udp_port(&self, port: u16) -> Guard<UdpArrived> {
        Guard::eq(self.keys.udp_dst_port, u64::from(port))
    }

    /// Indexed guard: the datagram comes from port `port`.
    pub fn udp_src_port(&self, port: u16) -> Guard<UdpArrived> {
        Guard::eq(self.keys.udp_src_port, u64::from(port))
    }

    /// Indexed guard: the segment is for port `port`.
    pub fn tcp_port(&self, port: u16) -> Guard<TcpArrived> {
        Guard::eq(self.keys.tcp_dst_port, u64::from(port))
    }

    /// Indexed guard: the segment comes from port `port`.
    pub fn tcp_src_port(&self, port: u16) -> Guard<TcpArrived> {
        Guard::eq(self.keys.tcp_src_port, u64::from(port))
    }

    /// Indexed guard: the packet being sent has protocol `p`.
    pub fn send_protocol(&self, p: u8) -> Guard<SendPacket> {
        Guard::eq(self.keys.send_protocol, u64::from(p))
    }
}
