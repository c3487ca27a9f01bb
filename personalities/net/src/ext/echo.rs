//! A UDP echo endpoint inside the kernel (RFC 862 over UDP): every datagram
//! to its port goes back to its sender, from the same port.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use spin_kernel::event::{Event, EventError, Handler, HandlerId, Principal};

use crate::events::UdpArrived;
use crate::stack::NetHandle;

/// The installed echo endpoint; dropping it uninstalls the handler.
#[derive(Debug)]
pub struct UdpEcho {
    event: Event<UdpArrived, ()>,
    id: Option<HandlerId>,
    echoed: Arc<AtomicU64>,
    port: u16,
}

impl UdpEcho {
    /// Installs the endpoint on `port` on behalf of `who`.
    pub fn install(net: &NetHandle, who: &Principal, port: u16) -> Result<UdpEcho, EventError> {
        let echoed = Arc::new(AtomicU64::new(0));
        let (n, count) = (net.clone(), echoed.clone());
        let handler = Handler::new(move |d: &UdpArrived| {
            n.send_udp(port, d.src, &d.payload);
            count.fetch_add(1, Ordering::Relaxed);
        })
        .guard(net.events().udp_port(port));
        let id = net.events().udp.install(who, handler)?;
        Ok(UdpEcho {
            event: net.events().udp.clone(),
            id: Some(id),
            echoed,
            port,
        })
    }

    /// Datagrams echoed.
    pub fn echoed(&self) -> u64 {
        self.echoed.load(Ordering::Relaxed)
    }

    /// The port it serves.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for UdpEcho {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let _ = self.event.uninstall(id);
        }
    }
}
