//! The send side: `SendPacket`'s primary handler routes, fragments to the
//! MTU, resolves the next hop through ARP and hands frames to the NIC.

use std::net::Ipv4Addr;
use std::sync::atomic::Ordering;

use super::{lock, NetHandle};
use crate::arp_cache::Queued;
use crate::events::SendPacket;
use crate::reassembly::MAX_PAYLOAD;
use crate::telemetry::{DropReason, Layer};
use crate::wire::arp::{ArpOp, ArpRepr};
use crate::wire::build;
use crate::wire::ethernet::{self, ethertype, MacAddr};
use crate::wire::ipv4::{self, Ipv4Repr};

/// Where a packet goes on the link.
pub(super) enum NextHop {
    Broadcast,
    Unicast(Ipv4Addr),
}

impl NetHandle {
    pub(super) fn next_hop(&self, dst: Ipv4Addr) -> Option<NextHop> {
        let cfg = self.config();
        if cfg.is_broadcast(dst) {
            Some(NextHop::Broadcast)
        } else if dst.is_unspecified() || self.is_local(dst) {
            // Local destinations take the loopback path (see `ip_output`).
            None
        } else if cfg.on_link(dst) {
            Some(NextHop::Unicast(dst))
        } else {
            cfg.gateway.map(NextHop::Unicast)
        }
    }

    /// `SendPacket`'s primary handler: IPv4 output.
    pub(super) fn ip_output(&self, p: &SendPacket) {
        let c = self.counters();
        if self.is_local(p.dst) {
            return self.loopback_output(p);
        }
        let Some(hop) = self.next_hop(p.dst) else {
            return c.drop(Layer::Send, DropReason::NoRoute);
        };
        if p.payload.len() > MAX_PAYLOAD {
            return c.drop(Layer::Send, DropReason::TooBig);
        }
        let cfg = self.config();
        let src = if p.src.is_unspecified() {
            cfg.addr
        } else {
            p.src
        };
        let ident = self.shared.ident.fetch_add(1, Ordering::Relaxed) as u16;
        let max = self.shared.nic.mtu().saturating_sub(ipv4::HEADER_LEN);
        let chunk = if p.payload.len() <= max {
            p.payload.len().max(1)
        } else {
            max & !7
        };
        if chunk == 0 {
            return c.drop(Layer::Send, DropReason::TooBig);
        }
        let dst_mac = match hop {
            NextHop::Broadcast => Some(MacAddr::BROADCAST),
            NextHop::Unicast(ip) => lock(&self.shared.arp).lookup(ip, self.now_ms()),
        };
        let mut offset = 0;
        loop {
            let end = (offset + chunk).min(p.payload.len());
            let data = &p.payload[offset..end];
            let repr = Ipv4Repr {
                src,
                dst: p.dst,
                protocol: p.protocol,
                ttl: p.ttl,
                ident,
                payload_len: data.len(),
                frag_offset: offset,
                more_frags: end < p.payload.len(),
            };
            let mut f = Vec::with_capacity(ethernet::HEADER_LEN + ipv4::HEADER_LEN + data.len());
            f.extend_from_slice(&dst_mac.unwrap_or_default().0);
            f.extend_from_slice(&cfg.mac.0);
            f.extend_from_slice(&ethertype::IPV4.to_be_bytes());
            f.resize(ethernet::HEADER_LEN + ipv4::HEADER_LEN, 0);
            if repr.emit(&mut f[ethernet::HEADER_LEN..]).is_err() {
                return c.drop(Layer::Send, DropReason::TooBig);
            }
            f.extend_from_slice(data);
            match (dst_mac, &hop) {
                (Some(_), _) => self.transmit(f),
                (None, NextHop::Unicast(ip)) => self.queue_for_arp(*ip, f),
                (None, NextHop::Broadcast) => unreachable!("broadcast has a MAC"),
            }
            offset = end;
            if offset >= p.payload.len() {
                break;
            }
        }
    }

    /// A packet to ourselves: one unfragmented frame from our MAC to our
    /// MAC onto the loopback queue.
    fn loopback_output(&self, p: &SendPacket) {
        let cfg = self.config();
        let src = if p.src.is_unspecified() {
            self.source_for(p.dst)
        } else {
            p.src
        };
        let repr = Ipv4Repr {
            src,
            dst: p.dst,
            protocol: p.protocol,
            ttl: p.ttl,
            ident: self.shared.ident.fetch_add(1, Ordering::Relaxed) as u16,
            payload_len: p.payload.len(),
            frag_offset: 0,
            more_frags: false,
        };
        match build::ipv4_frame(cfg.mac, cfg.mac, repr, &p.payload) {
            Some(f) => self.loop_back(f),
            None => self.counters().drop(Layer::Send, DropReason::TooBig),
        }
    }

    fn queue_for_arp(&self, ip: Ipv4Addr, frame: Vec<u8>) {
        let q = lock(&self.shared.arp).enqueue(ip, frame, self.now_ms());
        match q {
            Queued::SendRequest => self.send_arp_request(ip),
            Queued::Waiting => {}
            Queued::Full => self.counters().drop(Layer::Send, DropReason::ArpQueueFull),
        }
    }

    /// Broadcasts "who has `ip`?".
    pub(super) fn send_arp_request(&self, ip: Ipv4Addr) {
        let cfg = self.config();
        let req = ArpRepr {
            op: ArpOp::Request,
            sender_mac: cfg.mac,
            sender_ip: cfg.addr,
            target_mac: MacAddr::default(),
            target_ip: ip,
        };
        self.transmit(build::arp_frame(cfg.mac, MacAddr::BROADCAST, &req));
    }

    /// Hands a frame to the NIC, counting it or its drop.
    pub(super) fn transmit(&self, frame: Vec<u8>) {
        match self.shared.nic.transmit(frame) {
            Ok(()) => self.counters().packet(Layer::Send),
            Err(_) => self.counters().drop(Layer::Send, DropReason::NicError),
        }
    }
}
