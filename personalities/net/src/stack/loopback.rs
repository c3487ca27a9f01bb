//! The loopback path and the "outermost call" rule.
//!
//! A packet to our own address or to 127.0.0.0/8 never reaches the NIC: the
//! send path queues its frame here, and the frame climbs the receive graph
//! when the outermost call into the stack on this thread returns — never
//! recursively inside a send, never while a lock is held. Every public entry
//! point (`receive`, `poll`, the socket calls, `send_ip`) holds an
//! [`Entered`] guard; nested entries only count depth, and the last one out
//! delivers whatever its thread queued (for every stack it touched).

use std::cell::{Cell, RefCell};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{lock, NetHandle, Shared};
use crate::telemetry::{DropReason, Layer};

/// Frames the loopback queue holds before it drops (counted).
pub const LOOPBACK_CAPACITY: usize = 4096;

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    static PENDING: RefCell<Vec<Arc<Shared>>> = const { RefCell::new(Vec::new()) };
}

/// Marks that this thread is inside the stack; dropping the outermost one
/// delivers queued loopback frames.
pub(crate) struct Entered(());

impl NetHandle {
    /// Enters the stack (see the module docs).
    pub(crate) fn enter(&self) -> Entered {
        DEPTH.with(|d| d.set(d.get() + 1));
        Entered(())
    }

    /// Queues a frame on the loopback path.
    pub(super) fn loop_back(&self, frame: Vec<u8>) {
        {
            let mut q = lock(&self.shared.loopback);
            if q.len() >= LOOPBACK_CAPACITY {
                drop(q);
                return self.counters().drop(Layer::Send, DropReason::NicError);
            }
            q.push_back(frame);
        }
        self.counters().packet(Layer::Send);
        let s = self.shared.clone();
        PENDING.with(|p| {
            let mut p = p.borrow_mut();
            if !p.iter().any(|x| Arc::ptr_eq(x, &s)) {
                p.push(s);
            }
        });
        // A send from outside any entry (a bare `send_ip` by a caller that
        // never entered) still gets delivered: the caller of `loop_back` is
        // always inside an entry, whose exit drains.
    }

    /// Delivers every queued loopback frame. One thread drains a stack at a
    /// time; frames queued meanwhile by others are picked up by the loop.
    fn drain_loopback(&self) {
        let sh = &self.shared;
        loop {
            if sh
                .draining
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                return;
            }
            loop {
                let next = lock(&sh.loopback).pop_front();
                match next {
                    Some(f) => self.ether_input(f, true),
                    None => break,
                }
            }
            sh.draining.store(false, Ordering::Release);
            if lock(&sh.loopback).is_empty() {
                return;
            }
        }
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let depth = DEPTH.with(|d| d.get());
        if depth > 1 {
            DEPTH.with(|d| d.set(depth - 1));
            return;
        }
        // Still "inside" while delivering: calls made by the handlers that
        // run now queue their frames instead of recursing.
        loop {
            let pending = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
            if pending.is_empty() {
                break;
            }
            for s in pending {
                NetHandle { shared: s }.drain_loopback();
            }
        }
        DEPTH.with(|d| d.set(0));
    }
}
