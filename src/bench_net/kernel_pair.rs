//! Row (a) in SPIN's own configuration: both endpoints are in-kernel
//! extensions (SOSP'95 Table 5 measured an extension on each machine). Two
//! SPIN network stacks on an in-memory link — the client extension on one,
//! the `UdpEcho` extension on the other — and every frame crosses both
//! protocol graphs (Ethernet → IP → UDP, guards and all) each way. The
//! link is serviced in line, as a NIC interrupt would be: no thread
//! switch, no system call. Linux's loopback, row (c), is the same kind of
//! link; the difference measured is the endpoints: extensions vs user
//! processes.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use spin_kernel::event::{Handler, Principal};
use spin_vmm::net::spin_net::events::UdpArrived;
use spin_vmm::net::spin_net::ext::echo::UdpEcho;
use spin_vmm::net::spin_net::wire::ethernet::MacAddr;
use spin_vmm::net::spin_net::{MemNic, NetConfig, NetStack};

use super::{install_extra, Extra, ECHO_PORT};

const CLIENT_MAC: MacAddr = MacAddr([2, 0, 0, 0, 9, 1]);
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 9, 1);
const SERVER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 9, 2]);
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 9, 2);
const CLIENT_PORT: u16 = 4000;
/// Link passes without the echo before a round trip counts as lost.
const MAX_PASSES: usize = 64;

/// Two stacks, a client extension and the echo.
pub struct KernelPair {
    client: NetStack,
    server: NetStack,
    /// The sequence number (first 8 payload bytes) of the newest echo.
    last: Arc<AtomicU64>,
    echo: UdpEcho,
}

impl KernelPair {
    /// Builds the pair with `extra` handlers on the server's
    /// `UDP.PacketArrived`.
    pub fn new(extra: Extra) -> Result<KernelPair> {
        let (a, b) = MemNic::pair(64);
        let client = NetStack::new(NetConfig::new(CLIENT_MAC, CLIENT, 24), Arc::new(a))
            .context("the client's stack")?;
        let server = NetStack::new(NetConfig::new(SERVER_MAC, SERVER, 24), Arc::new(b))
            .context("the server's stack")?;
        client.add_static_arp(SERVER, SERVER_MAC);
        server.add_static_arp(CLIENT, CLIENT_MAC);
        let who = Principal::kernel("bench");
        let echo = UdpEcho::install(&server.handle(), &who, ECHO_PORT)?;
        install_extra(&server.handle(), &who, extra)?;
        let last = Arc::new(AtomicU64::new(0));
        let l = last.clone();
        let h = client.handle();
        let handler = Handler::new(move |d: &UdpArrived| {
            if let Some(seq) = d.payload.get(..8) {
                let mut b = [0u8; 8];
                b.copy_from_slice(seq);
                l.store(u64::from_le_bytes(b), Ordering::Release);
            }
        })
        .guard(h.events().udp_port(CLIENT_PORT));
        // Installed for the stack's lifetime.
        h.events().udp.install(&who, handler)?;
        Ok(KernelPair {
            client,
            server,
            last,
            echo,
        })
    }

    /// One round trip of `msg` (its first 8 bytes are `seq`): the client
    /// extension sends, the link is serviced until the echo's handler has
    /// seen `seq` come back.
    pub fn round_trip(&self, msg: &[u8], seq: u64) -> Result<()> {
        self.client
            .handle()
            .send_udp(CLIENT_PORT, SocketAddrV4::new(SERVER, ECHO_PORT), msg);
        for _ in 0..MAX_PASSES {
            self.server.poll_nic();
            self.client.poll_nic();
            if self.last.load(Ordering::Acquire) == seq {
                return Ok(());
            }
        }
        bail!(
            "in-kernel pair: no echo of {seq} (echoed {} so far)",
            self.echo.echoed()
        )
    }
}
