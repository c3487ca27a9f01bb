//! The receive side of each layer: parse through the checked wrappers,
//! count, drop with a reason or raise the next layer's event.

use std::net::SocketAddrV4;

use super::{lock, NetHandle};
use crate::events::{
    ArpArrived, Bytes, EtherArrived, IcmpArrived, IpArrived, TcpArrived, UdpArrived,
};
use crate::reassembly::FragKey;
use crate::telemetry::{DropReason, Layer};
use crate::wire::arp::{ArpOp, ArpPacket, ArpRepr};
use crate::wire::ethernet::{self, EthernetFrame};
use crate::wire::icmp::{self, Icmpv4Packet};
use crate::wire::ipv4::Ipv4Packet;
use crate::wire::tcp::{TcpPacket, TcpRepr};
use crate::wire::udp::{self, UdpPacket};

impl NetHandle {
    /// The device side: a received frame raises `Ether.PacketArrived`.
    /// `looped`: the frame came back on the loopback path.
    pub(super) fn ether_input(&self, frame: Vec<u8>, looped: bool) {
        let c = self.counters();
        c.packet(Layer::Ether);
        let (src, dst, ethertype) = match EthernetFrame::new_checked(&frame[..]) {
            Ok(f) => (f.src(), f.dst(), f.ethertype()),
            Err(e) => return c.drop(Layer::Ether, e.into()),
        };
        if dst != self.config().mac && !dst.is_broadcast() {
            return c.drop(Layer::Ether, DropReason::NotForUs);
        }
        let len = frame.len();
        let payload = Bytes::new(frame)
            .slice(ethernet::HEADER_LEN..len)
            .expect("new_checked proved the frame holds the header");
        let args = EtherArrived {
            src,
            dst,
            ethertype,
            payload,
            looped,
        };
        if self.events().ether.raise(&args).is_none() {
            c.drop(Layer::Ether, DropReason::Unsupported);
        }
    }

    /// ARP layer: a handler on `Ether.PacketArrived` (ethertype 0x0806)
    /// raising `ARP.PacketArrived`.
    pub(super) fn arp_layer(&self, a: &EtherArrived) {
        let c = self.counters();
        c.packet(Layer::Arp);
        let repr =
            match ArpPacket::new_checked(a.payload.as_slice()).and_then(|p| ArpRepr::parse(&p)) {
                Ok(r) => r,
                Err(e) => return c.drop(Layer::Arp, e.into()),
            };
        if self
            .events()
            .arp
            .raise(&ArpArrived { repr, from: a.src })
            .is_none()
        {
            c.drop(Layer::Arp, DropReason::NoHandler);
        }
    }

    /// The ARP module (primary handler of `ARP.PacketArrived`): learns
    /// mappings (RFC 826's merge), answers requests for our address and
    /// releases packets that were waiting.
    pub(super) fn arp_module(&self, a: &ArpArrived) {
        let r = a.repr;
        let cfg = self.config();
        let for_us = r.target_ip == cfg.addr;
        // Probes (sender 0.0.0.0) and nonsense senders teach nothing.
        let learnable = !r.sender_ip.is_unspecified()
            && !r.sender_mac.is_multicast()
            && !cfg.is_broadcast(r.sender_ip);
        let released = {
            let mut cache = lock(&self.shared.arp);
            if learnable && (for_us || cache.contains(r.sender_ip)) {
                Some(cache.insert(r.sender_ip, r.sender_mac, self.now_ms()))
            } else {
                None
            }
        };
        for f in released.iter().flatten() {
            self.transmit(f.clone());
        }
        if !for_us {
            if released.is_none() {
                self.counters().drop(Layer::Arp, DropReason::NotForUs);
            }
            return;
        }
        if r.op == ArpOp::Request && learnable {
            let reply = ArpRepr {
                op: ArpOp::Reply,
                sender_mac: cfg.mac,
                sender_ip: cfg.addr,
                target_mac: r.sender_mac,
                target_ip: r.sender_ip,
            };
            self.transmit(crate::wire::build::arp_frame(cfg.mac, r.sender_mac, &reply));
        }
    }

    /// IPv4 layer: a handler on `Ether.PacketArrived` (ethertype 0x0800):
    /// checks the header, reassembles fragments, raises `IP.PacketArrived`.
    pub(super) fn ip_layer(&self, a: &EtherArrived) {
        let c = self.counters();
        c.packet(Layer::Ip);
        let p = match Ipv4Packet::new_checked(a.payload.as_slice()) {
            Ok(p) => p,
            Err(e) => return c.drop(Layer::Ip, e.into()),
        };
        if !p.verify_checksum() {
            return c.drop(Layer::Ip, DropReason::BadChecksum);
        }
        let cfg = self.config();
        let dst = p.dst();
        if dst != cfg.addr && !cfg.is_broadcast(dst) && !(a.looped && dst.is_loopback()) {
            return c.drop(Layer::Ip, DropReason::NotForUs);
        }
        let range = p.payload_range();
        let header = a.payload.slice(0..p.header_len());
        let payload = if p.more_frags() || p.frag_offset() != 0 {
            let key = FragKey {
                src: p.src(),
                dst,
                protocol: p.protocol(),
                ident: p.ident(),
            };
            let done = lock(&self.shared.reassembly).push(
                key,
                p.frag_offset(),
                p.more_frags(),
                p.payload(),
                self.now_ms(),
            );
            match done {
                Ok(Some(data)) => Some(Bytes::new(data)),
                Ok(None) => return,
                Err(reason) => return c.drop(Layer::Ip, reason),
            }
        } else {
            a.payload.slice(range)
        };
        // Both slices lie within the checked lengths.
        let (Some(header), Some(payload)) = (header, payload) else {
            return c.drop(Layer::Ip, DropReason::Truncated);
        };
        let args = IpArrived {
            src: p.src(),
            dst,
            protocol: p.protocol(),
            ttl: p.ttl(),
            header,
            payload,
        };
        if self.events().ip.raise(&args).is_none() {
            c.drop(Layer::Ip, DropReason::Unsupported);
        }
    }

    /// ICMP layer: a handler on `IP.PacketArrived` (protocol 1) raising
    /// `ICMP.PacketArrived`.
    pub(super) fn icmp_layer(&self, a: &IpArrived) {
        let c = self.counters();
        c.packet(Layer::Icmp);
        let (msg_type, code) = match Icmpv4Packet::new_checked(a.payload.as_slice()) {
            Ok(p) if p.verify_checksum() => (p.msg_type(), p.code()),
            Ok(_) => return c.drop(Layer::Icmp, DropReason::BadChecksum),
            Err(e) => return c.drop(Layer::Icmp, e.into()),
        };
        let args = IcmpArrived {
            src: a.src,
            dst: a.dst,
            msg_type,
            code,
            message: a.payload.clone(),
        };
        if self.events().icmp.raise(&args).is_none() {
            c.drop(Layer::Icmp, DropReason::Unsupported);
        }
    }

    /// The echo responder: a handler on `ICMP.PacketArrived` (type 8). Only
    /// unicast pings are answered (as Linux does by default).
    pub(super) fn icmp_echo(&self, a: &IcmpArrived) {
        if a.dst != self.config().addr {
            return self.counters().drop(Layer::Icmp, DropReason::NotForUs);
        }
        let m = a.message.as_slice();
        let mut rest = [0u8; 4];
        rest.copy_from_slice(&m[4..icmp::HEADER_LEN]);
        self.send_icmp(
            a.src,
            icmp::kind::ECHO_REPLY,
            0,
            rest,
            &m[icmp::HEADER_LEN..],
        );
    }

    /// UDP layer: a handler on `IP.PacketArrived` (protocol 17) raising
    /// `UDP.PacketArrived`; a datagram no guard accepts is answered with
    /// ICMP port unreachable (unicast only).
    pub(super) fn udp_layer(&self, a: &IpArrived) {
        let c = self.counters();
        c.packet(Layer::Udp);
        let (src_port, dst_port, len) = match UdpPacket::new_checked(a.payload.as_slice()) {
            Ok(p) if p.verify_checksum(a.src, a.dst) => {
                (p.src_port(), p.dst_port(), usize::from(p.len()))
            }
            Ok(_) => return c.drop(Layer::Udp, DropReason::BadChecksum),
            Err(e) => return c.drop(Layer::Udp, e.into()),
        };
        let Some(payload) = a.payload.slice(udp::HEADER_LEN..len) else {
            return c.drop(Layer::Udp, DropReason::Truncated);
        };
        let args = UdpArrived {
            src: SocketAddrV4::new(a.src, src_port),
            dst: SocketAddrV4::new(a.dst, dst_port),
            payload,
        };
        if self.events().udp.raise(&args).is_none() {
            c.drop(Layer::Udp, DropReason::NoHandler);
            if a.dst == self.config().addr || a.dst.is_loopback() {
                let mut quote = a.header.to_vec();
                quote.extend_from_slice(&a.payload[..udp::HEADER_LEN]);
                self.send_icmp(
                    a.src,
                    icmp::kind::DEST_UNREACHABLE,
                    icmp::CODE_PORT_UNREACHABLE,
                    [0; 4],
                    &quote,
                );
            }
        }
    }

    /// TCP layer: a handler on `IP.PacketArrived` (protocol 6) raising
    /// `TCP.PacketArrived`. A segment no guard accepts is answered with a
    /// reset (unless it is one) and counted as `NoHandler`; segments to a
    /// broadcast address are dropped.
    pub(super) fn tcp_layer(&self, a: &IpArrived) {
        let c = self.counters();
        c.packet(Layer::Tcp);
        if self.config().is_broadcast(a.dst) {
            return c.drop(Layer::Tcp, DropReason::NotForUs);
        }
        let p = match TcpPacket::new_checked(a.payload.as_slice()) {
            Ok(p) => p,
            Err(e) => return c.drop(Layer::Tcp, e.into()),
        };
        if !p.verify_checksum(a.src, a.dst) {
            return c.drop(Layer::Tcp, DropReason::BadChecksum);
        }
        let repr = match TcpRepr::parse(&p) {
            Ok(r) => r,
            Err(e) => return c.drop(Layer::Tcp, e.into()),
        };
        let Some(payload) = a.payload.slice(p.header_len()..a.payload.len()) else {
            return c.drop(Layer::Tcp, DropReason::Truncated);
        };
        let args = TcpArrived {
            src: SocketAddrV4::new(a.src, repr.src_port),
            dst: SocketAddrV4::new(a.dst, repr.dst_port),
            repr,
            payload,
            segment: a.payload.clone(),
        };
        if self.events().tcp.raise(&args).is_none() {
            c.drop(Layer::Tcp, DropReason::NoHandler);
            self.tcp_reset_unhandled(&args);
        }
    }
}
