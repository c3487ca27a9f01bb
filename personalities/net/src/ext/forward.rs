//! UDP forwarding inside the graph (SPIN's Table 6): datagrams to a local
//! port are re-sent to a target address, and the target's answers go back to
//! the client — without leaving the kernel.
//!
//! One client at a time: the last sender that is not the target is where
//! answers go (enough for a request/response bounce; a per-client port
//! mapping comes with the NAT extension).

use std::net::SocketAddrV4;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use spin_kernel::event::{Event, EventError, Handler, HandlerId, Principal};

use crate::events::UdpArrived;
use crate::stack::NetHandle;

/// The installed forwarder; dropping it uninstalls the handler.
#[derive(Debug)]
pub struct UdpForwarder {
    event: Event<UdpArrived, ()>,
    id: Option<HandlerId>,
    forwarded: Arc<AtomicU64>,
}

impl UdpForwarder {
    /// Forwards datagrams arriving at `port` to `target` (sent from `port`).
    pub fn install(
        net: &NetHandle,
        who: &Principal,
        port: u16,
        target: SocketAddrV4,
    ) -> Result<UdpForwarder, EventError> {
        let forwarded = Arc::new(AtomicU64::new(0));
        let client: Mutex<Option<SocketAddrV4>> = Mutex::new(None);
        let (n, count) = (net.clone(), forwarded.clone());
        let handler = Handler::new(move |d: &UdpArrived| {
            let to = {
                let mut c = client.lock().unwrap_or_else(|e| e.into_inner());
                if d.src == target {
                    *c
                } else {
                    *c = Some(d.src);
                    Some(target)
                }
            };
            if let Some(to) = to {
                n.send_udp(port, to, &d.payload);
                count.fetch_add(1, Ordering::Relaxed);
            }
        })
        .guard(net.events().udp_port(port));
        let id = net.events().udp.install(who, handler)?;
        Ok(UdpForwarder {
            event: net.events().udp.clone(),
            id: Some(id),
            forwarded,
        })
    }

    /// Datagrams forwarded (both directions).
    pub fn forwarded(&self) -> u64 {
        self.forwarded.load(Ordering::Relaxed)
    }
}

impl Drop for UdpForwarder {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let _ = self.event.uninstall(id);
        }
    }
}
