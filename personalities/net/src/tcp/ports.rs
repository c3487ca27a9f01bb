//! Ports: the per-port handlers on `TCP.PacketArrived` that put listeners
//! and connections in the protocol graph (one per port, shared by its
//! users), and the ports stream sockets bind and extensions reserve.

use std::sync::{Arc, Weak};

use spin_kernel::event::{Handler, Principal};

use super::{Engine, Port, TcpState};
use crate::events::TcpArrived;
use crate::socket::{pick_ephemeral, SockError};
use crate::stack::{NetHandle, Shared};

impl NetHandle {
    /// Installs the port's handler on `TCP.PacketArrived`, or counts one
    /// more user of it.
    pub(super) fn port_use(&self, e: &mut Engine, port: u16) -> Result<(), SockError> {
        if let Some(p) = e.ports.get_mut(&port) {
            p.users += 1;
            return Ok(());
        }
        let weak: Weak<Shared> = Arc::downgrade(&self.shared);
        let ev = self.events();
        let handler = Handler::new(move |seg: &TcpArrived| {
            if let Some(shared) = weak.upgrade() {
                NetHandle { shared }.tcp_input(seg);
            }
        })
        .guard(ev.tcp_port(port));
        let id = ev
            .tcp
            .install(&Principal::kernel("spin.net.tcp"), handler)
            .map_err(|_| SockError::AddrNotAvailable)?;
        e.ports.insert(
            port,
            Port {
                users: 1,
                handler: Some(id),
            },
        );
        Ok(())
    }

    pub(super) fn port_release(&self, e: &mut Engine, port: u16) {
        if let Some(p) = e.ports.get_mut(&port) {
            p.users -= 1;
            if p.users == 0 {
                if let Some(id) = e.ports.remove(&port).and_then(|g| g.handler) {
                    let _ = self.events().tcp.uninstall(id);
                }
            }
        }
    }

    /// Binds a stream socket's port, as Linux's `bind` does: `AddrInUse`
    /// if another socket is bound to it or listens on it, an extension
    /// reserved it, or a connection uses it — except that with
    /// `reuse_addr` (`SO_REUSEADDR`) connections in TIME_WAIT and those a
    /// listener accepted don't count (Linux: they inherit the listener's
    /// flag), so a restarted server can bind its port at once. Port 0 picks a free
    /// ephemeral port. Released by [`NetHandle::tcp_unbind_port`] (before
    /// the socket listens or connects from it).
    pub fn tcp_bind_port(&self, port: u16, reuse_addr: bool) -> Result<u16, SockError> {
        self.with_engine(|e, _, _| {
            let port = if port == 0 {
                let start = e.rng.next_u64();
                pick_ephemeral(start, |p| e.port_taken(p)).ok_or(SockError::AddrInUse)?
            } else {
                port
            };
            let busy = e.listeners.contains_key(&port)
                || e.bound.contains(&port)
                || e.ports.get(&port).is_some_and(|p| p.handler.is_none())
                || e.conns.values().any(|c| {
                    c.local.port() == port
                        && c.state != TcpState::Closed
                        && !(reuse_addr
                            && (c.state == TcpState::TimeWait || c.parent.is_some() || c.accepted))
                });
            if busy {
                return Err(SockError::AddrInUse);
            }
            e.bound.insert(port);
            Ok(port)
        })
    }

    /// Gives back a port bound by [`NetHandle::tcp_bind_port`].
    pub fn tcp_unbind_port(&self, port: u16) {
        self.engine().bound.remove(&port);
    }

    /// Reserves a TCP port for an extension that handles the port's
    /// segments itself (a forwarder): the engine installs no handler and
    /// neither listens nor connects from it until released. Port 0 picks a
    /// free ephemeral port. `AddrInUse` if taken.
    pub fn tcp_reserve_port(&self, port: u16) -> Result<u16, SockError> {
        self.with_engine(|e, _, _| {
            let port = if port == 0 {
                let start = e.rng.next_u64();
                pick_ephemeral(start, |p| e.port_taken(p)).ok_or(SockError::AddrInUse)?
            } else if e.port_taken(port) {
                return Err(SockError::AddrInUse);
            } else {
                port
            };
            e.ports.insert(
                port,
                Port {
                    users: 1,
                    handler: None,
                },
            );
            Ok(port)
        })
    }

    /// Releases a port reserved by [`NetHandle::tcp_reserve_port`].
    pub fn tcp_release_port(&self, port: u16) {
        let mut e = self.engine();
        if e.ports.get(&port).is_some_and(|p| p.handler.is_none()) {
            e.ports.remove(&port);
        }
    }
}
