//! Handlers: the closure an extension installs, with its guards, ordering
//! constraint and mode (sync, async, bounded), and the counters kept for it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{pool, Guard};

/// Where a handler goes relative to the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    /// Before every handler not itself `First` (among `First`s: install order).
    First,
    /// In install order, between the `First`s and the `Last`s.
    #[default]
    Any,
    /// After every handler not itself `Last`.
    Last,
}

/// How a handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// On the raiser's thread; the raiser waits (default).
    #[default]
    Sync,
    /// On a dispatcher worker thread; the raiser does not wait and the result is
    /// not combined.
    Async,
    /// On a worker thread while the raiser waits at most this long; a handler
    /// that exceeds its budget is abandoned, counted and reported.
    Bounded(Duration),
}

pub(super) type SyncFn<A, R> = Arc<dyn Fn(&A) -> R + Send + Sync>;
pub(super) type DeferredFn<A, R> = Arc<dyn Fn(&A, &HandlerStats) -> Option<R> + Send + Sync>;

pub(super) enum Call<A, R> {
    Sync(SyncFn<A, R>),
    Deferred(DeferredFn<A, R>),
}

impl<A, R> Clone for Call<A, R> {
    fn clone(&self) -> Self {
        match self {
            Call::Sync(f) => Call::Sync(f.clone()),
            Call::Deferred(f) => Call::Deferred(f.clone()),
        }
    }
}

/// A handler ready to install: its closure, guards, order and mode.
pub struct Handler<A, R> {
    pub(super) call: Call<A, R>,
    pub(super) guards: Vec<Guard<A>>,
    pub(super) order: Order,
    pub(super) mode: Mode,
}

impl<A: 'static, R: 'static> Handler<A, R> {
    /// A synchronous handler running `f`.
    pub fn new(f: impl Fn(&A) -> R + Send + Sync + 'static) -> Handler<A, R> {
        Handler {
            call: Call::Sync(Arc::new(f)),
            guards: Vec::new(),
            order: Order::Any,
            mode: Mode::Sync,
        }
    }

    /// Adds a guard; all of a handler's guards must hold for it to run.
    pub fn guard(mut self, g: Guard<A>) -> Self {
        self.guards.push(g);
        self
    }

    /// Sets the ordering constraint.
    pub fn order(mut self, order: Order) -> Self {
        self.order = order;
        self
    }
}

impl<A: Clone + Send + 'static, R: Send + 'static> Handler<A, R> {
    /// Runs the handler asynchronously: the raiser does not wait.
    pub fn asynchronous(mut self) -> Self {
        if let Call::Sync(f) = &self.call {
            let f = f.clone();
            self.call = Call::Deferred(Arc::new(move |a: &A, stats: &HandlerStats| {
                let f = f.clone();
                let a = a.clone();
                let faults = stats.faults.clone();
                pool::spawn(Box::new(move || {
                    if catch_unwind(AssertUnwindSafe(|| f(&a))).is_err() {
                        faults.fetch_add(1, Ordering::Relaxed);
                    }
                }));
                None
            }));
            self.mode = Mode::Async;
        }
        self
    }

    /// Runs the handler with a budget: the raiser waits at most `budget` for its
    /// result, then abandons it (counted in the handler's `abandoned` statistic).
    pub fn bounded(mut self, budget: Duration) -> Self {
        if let Call::Sync(f) = &self.call {
            let f = f.clone();
            self.call = Call::Deferred(Arc::new(move |a: &A, stats: &HandlerStats| {
                let (tx, rx) = crossbeam_channel::bounded(1);
                let f = f.clone();
                let a = a.clone();
                pool::spawn(Box::new(move || {
                    let r = catch_unwind(AssertUnwindSafe(|| f(&a)));
                    let _ = tx.send(r);
                }));
                match rx.recv_timeout(budget) {
                    Ok(Ok(r)) => Some(r),
                    Ok(Err(_)) => {
                        stats.faults.fetch_add(1, Ordering::Relaxed);
                        None
                    }
                    Err(_) => {
                        stats.abandoned.fetch_add(1, Ordering::Relaxed);
                        pool::replace_stuck_worker();
                        None
                    }
                }
            }));
            self.mode = Mode::Bounded(budget);
        }
        self
    }
}

/// Counters kept per installed handler.
#[derive(Debug, Default)]
pub struct HandlerStats {
    /// Times the handler ran (approximate under concurrent raises: counted
    /// without a locked instruction to keep the hot path cheap).
    pub dispatches: AtomicU64,
    /// Times it ran as the event's only handler through the direct-call path.
    /// Those runs are also the event's raises: the direct path keeps this one
    /// counter instead of two (see `Event::telemetry`).
    pub direct: AtomicU64,
    /// Times one of its guards rejected the arguments.
    pub guard_misses: AtomicU64,
    /// Panics contained (sync: the handler is then uninstalled).
    pub faults: Arc<AtomicU64>,
    /// Bounded runs abandoned after the budget.
    pub abandoned: AtomicU64,
}

#[inline]
pub(super) fn bump(c: &AtomicU64) {
    // Not an atomic RMW on purpose: the counter is telemetry and a lost update
    // under a concurrent raise is acceptable; a locked add would double the
    // cost of a one-handler raise.
    c.store(c.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}
