//! Whole frames assembled from values: for tests, tools, benchmarks and the
//! peers of an in-memory NIC.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::arp::{self, ArpRepr};
use super::ethernet::{self, ethertype, MacAddr};
use super::icmp;
use super::ipv4::{self, protocol, Ipv4Repr};
use super::udp;

/// An Ethernet frame carrying `payload`.
pub fn ethernet(src: MacAddr, dst: MacAddr, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(ethernet::HEADER_LEN + payload.len());
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An Ethernet frame carrying an ARP packet.
pub fn arp_frame(src: MacAddr, dst: MacAddr, repr: &ArpRepr) -> Vec<u8> {
    let mut p = [0u8; arp::PACKET_LEN];
    repr.emit(&mut p).expect("the buffer is exactly PACKET_LEN");
    ethernet(src, dst, ethertype::ARP, &p)
}

/// An Ethernet frame carrying an IPv4 packet (header from `repr`, whose
/// `payload_len` is taken from `payload`). `None` if the packet is too big.
pub fn ipv4_frame(src: MacAddr, dst: MacAddr, repr: Ipv4Repr, payload: &[u8]) -> Option<Vec<u8>> {
    let repr = Ipv4Repr {
        payload_len: payload.len(),
        ..repr
    };
    let mut ip = vec![0u8; ipv4::HEADER_LEN];
    repr.emit(&mut ip).ok()?;
    ip.extend_from_slice(payload);
    Some(ethernet(src, dst, ethertype::IPV4, &ip))
}

fn header(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8) -> Ipv4Repr {
    Ipv4Repr {
        src,
        dst,
        protocol,
        ttl: 64,
        ident: 0,
        payload_len: 0,
        frag_offset: 0,
        more_frags: false,
    }
}

/// An Ethernet frame carrying a UDP datagram. `None` if it is too big.
pub fn udp_frame(
    src_mac: MacAddr,
    dst_mac: MacAddr,
    src: SocketAddrV4,
    dst: SocketAddrV4,
    payload: &[u8],
) -> Option<Vec<u8>> {
    let mut d = Vec::with_capacity(udp::HEADER_LEN + payload.len());
    udp::emit(
        &mut d,
        *src.ip(),
        *dst.ip(),
        src.port(),
        dst.port(),
        payload,
    )
    .ok()?;
    ipv4_frame(
        src_mac,
        dst_mac,
        header(*src.ip(), *dst.ip(), protocol::UDP),
        &d,
    )
}

/// An Ethernet frame carrying an ICMP echo request (or reply).
#[allow(clippy::too_many_arguments)]
pub fn icmp_echo_frame(
    src_mac: MacAddr,
    dst_mac: MacAddr,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    request: bool,
    ident: u16,
    seq: u16,
    data: &[u8],
) -> Option<Vec<u8>> {
    let mut m = Vec::with_capacity(icmp::HEADER_LEN + data.len());
    let t = if request {
        icmp::kind::ECHO_REQUEST
    } else {
        icmp::kind::ECHO_REPLY
    };
    let [a, b] = ident.to_be_bytes();
    let [c, d] = seq.to_be_bytes();
    icmp::emit(&mut m, t, 0, [a, b, c, d], data);
    ipv4_frame(src_mac, dst_mac, header(src, dst, protocol::ICMP), &m)
}
