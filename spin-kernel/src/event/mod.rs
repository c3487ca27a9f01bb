//! The event dispatcher.
//!
//! An event is a typed kernel interface procedure, `Event<A, R>`: raising it
//! with arguments `&A` runs the installed handlers whose guards accept the
//! arguments and combines their results with the event's result procedure
//! (default: the last handler's result).
//!
//! * The event's *primary module* holds the [`Primary`] handle: it decides who
//!   may install a handler ([`InstallPolicy`]), may impose a guard on each, can
//!   replace or remove the primary handler and sets the result procedure.
//! * Handlers carry closures (their captured values), stack guards, choose an
//!   [`Order`] (first / last) and a [`Mode`] (synchronous, asynchronous, or
//!   bounded by a time budget after which they are abandoned and counted).
//! * Guards that compare one field for equality ([`Guard::eq`] on a key the
//!   primary module declared) are *indexed*: dispatching among many such
//!   handlers costs one hash probe, not one guard call per handler.
//! * One synchronous handler with no guard is a direct call.
//! * A handler that panics is contained, uninstalled and counted; the raise
//!   still completes with the other handlers' results.
//!
//! Locking: handler lists are immutable snapshots swapped under a lock; no lock
//! is held while a handler runs, so handlers may raise events and install or
//! remove handlers (re-entrancy, DESIGN §8). Hot paths keep an [`EventRaiser`],
//! which re-reads the snapshot only when its version changed.

mod handler;
mod index;
mod pool;
mod snapshot;

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};

use crate::cap::PrimaryInstallCap;
use crate::strand::MoundId;
use handler::{bump, Call, SyncFn};
pub use handler::{Handler, HandlerStats, Mode, Order};
pub use snapshot::Snapshot;

/// Who is installing a handler (passed to the primary module's policy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// Name of the installing extension or domain.
    pub name: String,
    /// The mound it acts for, if any.
    pub mound: Option<MoundId>,
}

impl Principal {
    /// A principal acting for `mound`.
    pub fn mound(name: impl Into<String>, mound: MoundId) -> Principal {
        Principal {
            name: name.into(),
            mound: Some(mound),
        }
    }

    /// A kernel-internal principal.
    pub fn kernel(name: impl Into<String>) -> Principal {
        Principal {
            name: name.into(),
            mound: None,
        }
    }
}

/// Names a field of an event's arguments that equality guards may test; made
/// by [`Primary::declare_key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(u8);

/// A guard: a predicate over the event's arguments.
pub enum Guard<A> {
    /// Any predicate.
    Pred(Arc<dyn Fn(&A) -> bool + Send + Sync>),
    /// `key(args) == value`; indexed by the dispatcher.
    Eq(KeyId, u64),
}

impl<A> Clone for Guard<A> {
    fn clone(&self) -> Self {
        match self {
            Guard::Pred(p) => Guard::Pred(p.clone()),
            Guard::Eq(k, v) => Guard::Eq(*k, *v),
        }
    }
}

impl<A> fmt::Debug for Guard<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Guard::Pred(_) => f.write_str("Guard::Pred(..)"),
            Guard::Eq(k, v) => write!(f, "Guard::Eq({}, {v:#x})", k.0),
        }
    }
}

impl<A> Guard<A> {
    /// A guard from any predicate.
    pub fn pred(p: impl Fn(&A) -> bool + Send + Sync + 'static) -> Guard<A> {
        Guard::Pred(Arc::new(p))
    }

    /// An equality guard on a declared key: indexed.
    pub fn eq(key: KeyId, value: u64) -> Guard<A> {
        Guard::Eq(key, value)
    }
}

struct Entry<A, R> {
    id: u64,
    installer: String,
    primary: bool,
    call: Call<A, R>,
    /// The equality guard this entry is indexed under, if any.
    indexed: Option<(KeyId, u64)>,
    /// Remaining guards, evaluated in order.
    guards: Vec<Guard<A>>,
    order: Order,
    mode: Mode,
    stats: HandlerStats,
}

/// The primary module's decision about an install request.
pub enum Decision<A> {
    /// Install as requested.
    Allow,
    /// Install, with this guard added in front of the handler's own.
    AllowWithGuard(Guard<A>),
    /// Refuse, saying why.
    Refuse(String),
}

/// The primary module's install policy: called with the installer's identity.
pub type InstallPolicy<A> = Arc<dyn Fn(&Principal) -> Decision<A> + Send + Sync>;

/// Combines the result accumulated so far with the next handler's.
pub type ResultProc<R> = Arc<dyn Fn(R, R) -> R + Send + Sync>;

/// Errors from installing or removing handlers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The primary module refused the installation.
    #[error("event {event}: installation by {installer} refused: {reason}")]
    Refused {
        /// Event name.
        event: String,
        /// Installer name.
        installer: String,
        /// The primary module's reason.
        reason: String,
    },
    /// An equality guard names a key the event never declared.
    #[error("event {event}: guard names undeclared key {key}")]
    UnknownKey {
        /// Event name.
        event: String,
        /// The key number.
        key: u8,
    },
    /// The handler was already removed.
    #[error("event {event}: handler {id} is not installed")]
    NotInstalled {
        /// Event name.
        event: String,
        /// Handler id.
        id: u64,
    },
}

struct Key<A> {
    name: &'static str,
    extract: fn(&A) -> u64,
}

struct State<A, R> {
    entries: Vec<Arc<Entry<A, R>>>,
    keys: Vec<Key<A>>,
    policy: Option<InstallPolicy<A>>,
    result: Option<ResultProc<R>>,
    next_id: u64,
}

struct Core<A, R> {
    name: String,
    version: AtomicU64,
    /// `(version it was built for, snapshot)`.
    snapshot: RwLock<(u64, Arc<Snapshot<A, R>>)>,
    state: Mutex<State<A, R>>,
    raises: AtomicU64,
    contained: AtomicU64,
}

/// A typed event. Cloning shares the same event.
pub struct Event<A, R> {
    core: Arc<Core<A, R>>,
}

impl<A, R> Clone for Event<A, R> {
    fn clone(&self) -> Self {
        Event {
            core: self.core.clone(),
        }
    }
}

impl<A, R> fmt::Debug for Event<A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("name", &self.core.name)
            .finish()
    }
}

/// The authority over an event, held by its primary implementation module.
pub struct Primary<A, R> {
    event: Event<A, R>,
}

impl<A, R> fmt::Debug for Primary<A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Primary")
            .field("event", &self.event.core.name)
            .finish()
    }
}

/// Proof of one installation; the only way to remove that handler.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct HandlerId(u64);

impl HandlerId {
    /// The raw number, for logs and telemetry.
    pub fn raw(&self) -> u64 {
        self.0
    }
}

/// Telemetry for one handler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlerTelemetry {
    /// Handler id.
    pub id: u64,
    /// Who installed it.
    pub installer: String,
    /// Whether it is the primary handler.
    pub primary: bool,
    /// Its mode.
    pub mode: Mode,
    /// Its order.
    pub order: Order,
    /// Number of guards (including the indexed one).
    pub guards: usize,
    /// Whether it is reached through the equality index.
    pub indexed: bool,
    /// Times it ran.
    pub dispatches: u64,
    /// Times a guard rejected the arguments.
    pub guard_misses: u64,
    /// Panics contained.
    pub faults: u64,
    /// Bounded runs abandoned.
    pub abandoned: u64,
}

/// Telemetry for one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTelemetry {
    /// Event name.
    pub name: String,
    /// Number of installed handlers.
    pub handlers: usize,
    /// Times raised through `raise` or a raiser.
    pub raises: u64,
    /// Handler panics contained (those handlers were uninstalled).
    pub contained_faults: u64,
    /// Per-handler counters.
    pub handler_stats: Vec<HandlerTelemetry>,
}

impl<A: 'static, R: 'static> Event<A, R> {
    /// Defines a new event and returns it with the authority over it. Until the
    /// primary module sets a policy, anyone may install handlers.
    pub fn define(name: impl Into<String>) -> (Event<A, R>, Primary<A, R>) {
        let event = Event {
            core: Arc::new(Core {
                name: name.into(),
                version: AtomicU64::new(0),
                snapshot: RwLock::new((0, Arc::new(Snapshot::empty()))),
                state: Mutex::new(State {
                    entries: Vec::new(),
                    keys: Vec::new(),
                    policy: None,
                    result: None,
                    next_id: 1,
                }),
                raises: AtomicU64::new(0),
                contained: AtomicU64::new(0),
            }),
        };
        let primary = Primary {
            event: event.clone(),
        };
        (event, primary)
    }

    /// Defines an open event whose authority nobody keeps.
    pub fn new(name: impl Into<String>) -> Event<A, R> {
        Self::define(name).0
    }

    /// The event's name.
    pub fn name(&self) -> &str {
        &self.core.name
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State<A, R>> {
        // Handlers never run under this lock, so a poisoned lock only means a
        // panic inside the dispatcher's own bookkeeping; its data is still whole.
        self.core.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current snapshot, rebuilt here (once) if installs or removals made
    /// it stale: installing n handlers costs O(n) plus one rebuild, not O(n²).
    fn current(&self) -> Arc<Snapshot<A, R>> {
        let version = self.core.version.load(Ordering::Acquire);
        {
            let snap = self.core.snapshot.read().unwrap_or_else(|e| e.into_inner());
            if snap.0 == version {
                return snap.1.clone();
            }
        }
        let state = self.state();
        // Re-read under the state lock: installs bump the version while holding it.
        let version = self.core.version.load(Ordering::Acquire);
        let mut snap = self
            .core
            .snapshot
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if snap.0 != version {
            *snap = (
                version,
                Arc::new(Snapshot::build(
                    &state.entries,
                    &state.keys,
                    state.result.clone(),
                )),
            );
        }
        snap.1.clone()
    }

    /// Marks the snapshot stale; the next raise rebuilds it. Called with the
    /// state lock held.
    fn publish(&self, _state: &State<A, R>) {
        self.core.version.fetch_add(1, Ordering::Release);
    }

    /// Installs a handler on behalf of `installer`, subject to the primary
    /// module's policy.
    pub fn install(
        &self,
        installer: &Principal,
        handler: Handler<A, R>,
    ) -> Result<HandlerId, EventError> {
        let policy = self.state().policy.clone();
        let extra = match policy.map(|p| p(installer)) {
            None | Some(Decision::Allow) => None,
            Some(Decision::AllowWithGuard(g)) => Some(g),
            Some(Decision::Refuse(reason)) => {
                return Err(EventError::Refused {
                    event: self.core.name.clone(),
                    installer: installer.name.clone(),
                    reason,
                })
            }
        };
        self.insert(&installer.name, handler, extra, false)
    }

    /// Installs a handler bypassing the primary module's policy; needs the
    /// kernel's trusted-install authority.
    pub fn install_trusted(
        &self,
        _authority: &PrimaryInstallCap,
        installer: &Principal,
        handler: Handler<A, R>,
    ) -> Result<HandlerId, EventError> {
        self.insert(&installer.name, handler, None, false)
    }

    fn insert(
        &self,
        installer: &str,
        handler: Handler<A, R>,
        imposed: Option<Guard<A>>,
        primary: bool,
    ) -> Result<HandlerId, EventError> {
        let mut state = self.state();
        let mut guards: Vec<Guard<A>> = imposed.into_iter().chain(handler.guards).collect();
        for g in &guards {
            if let Guard::Eq(k, _) = g {
                if usize::from(k.0) >= state.keys.len() {
                    return Err(EventError::UnknownKey {
                        event: self.core.name.clone(),
                        key: k.0,
                    });
                }
            }
        }
        let indexed = guards
            .iter()
            .position(|g| matches!(g, Guard::Eq(..)))
            .map(|i| match guards.remove(i) {
                Guard::Eq(k, v) => (k, v),
                Guard::Pred(_) => unreachable!("position() found an Eq guard"),
            });
        let id = state.next_id;
        state.next_id += 1;
        let entry = Arc::new(Entry {
            id,
            installer: installer.to_string(),
            primary,
            call: handler.call,
            indexed,
            guards,
            order: handler.order,
            mode: handler.mode,
            stats: HandlerStats::default(),
        });
        // Insert at the end of its order class. Finding the class boundary scans
        // from the nearer end, so appending in install order (the common case)
        // is O(1); the snapshot is rebuilt lazily at the next raise.
        let entries = &state.entries;
        let pos = match entry.order {
            Order::Last => entries.len(),
            Order::Any => {
                entries.len()
                    - entries
                        .iter()
                        .rev()
                        .take_while(|e| e.order == Order::Last)
                        .count()
            }
            Order::First => entries
                .iter()
                .take_while(|e| e.order == Order::First)
                .count(),
        };
        state.entries.insert(pos, entry);
        self.publish(&state);
        Ok(HandlerId(id))
    }

    /// Removes a handler.
    pub fn uninstall(&self, id: HandlerId) -> Result<(), EventError> {
        self.remove_id(id.0)
    }

    fn remove_id(&self, id: u64) -> Result<(), EventError> {
        let mut state = self.state();
        let pos =
            state
                .entries
                .iter()
                .position(|e| e.id == id)
                .ok_or(EventError::NotInstalled {
                    event: self.core.name.clone(),
                    id,
                })?;
        let gone = state.entries.remove(pos);
        self.retire(&gone);
        self.publish(&state);
        Ok(())
    }

    /// Number of installed handlers.
    pub fn handlers(&self) -> usize {
        self.state().entries.len()
    }

    /// Raises the event: runs every handler whose guards hold, in order, and
    /// combines their results. `None` when no handler produced a result.
    pub fn raise(&self, args: &A) -> Option<R> {
        let snap = self.current();
        self.dispatch(&snap, args)
    }

    /// A cached raiser for a hot path (one per host thread).
    pub fn raiser(&self) -> EventRaiser<A, R> {
        let version = self.core.version.load(Ordering::Acquire);
        let snap = self.current();
        EventRaiser {
            event: self.clone(),
            version,
            direct: direct_of(&snap),
            snap,
        }
    }

    #[inline]
    fn dispatch(&self, snap: &Snapshot<A, R>, args: &A) -> Option<R> {
        if let Some(entry) = &snap.direct {
            if let Call::Sync(f) = &entry.call {
                // One counter on the direct path: it counts both the raise and
                // the handler's run.
                bump(&entry.stats.direct);
                return match catch_unwind(AssertUnwindSafe(|| f(args))) {
                    Ok(r) => Some(r),
                    Err(_) => {
                        self.contain(entry);
                        None
                    }
                };
            }
        }
        self.dispatch_general(snap, args)
    }

    fn dispatch_general(&self, snap: &Snapshot<A, R>, args: &A) -> Option<R> {
        bump(&self.core.raises);
        let mut acc: Option<R> = None;
        snap.for_each_candidate(args, |entry| {
            for g in &entry.guards {
                let ok = match g {
                    Guard::Pred(p) => p(args),
                    Guard::Eq(k, v) => (snap.keys[usize::from(k.0)])(args) == *v,
                };
                if !ok {
                    bump(&entry.stats.guard_misses);
                    return;
                }
            }
            bump(&entry.stats.dispatches);
            let r = match &entry.call {
                Call::Sync(f) => match catch_unwind(AssertUnwindSafe(|| f(args))) {
                    Ok(r) => Some(r),
                    Err(_) => {
                        self.contain(entry);
                        None
                    }
                },
                Call::Deferred(f) => f(args, &entry.stats),
            };
            if let Some(r) = r {
                acc = Some(match (acc.take(), &snap.result) {
                    (Some(prev), Some(combine)) => combine(prev, r),
                    _ => r,
                });
            }
        });
        acc
    }

    #[cold]
    fn contain(&self, entry: &Entry<A, R>) {
        entry.stats.faults.fetch_add(1, Ordering::Relaxed);
        self.core.contained.fetch_add(1, Ordering::Relaxed);
        // Already removed is fine: two raisers may both see the panic.
        let _ = self.remove_id(entry.id);
    }

    /// A removed handler's direct-path runs were raises of this event: keep
    /// them in the event's count.
    fn retire(&self, entry: &Entry<A, R>) {
        let direct = entry.stats.direct.load(Ordering::Relaxed);
        self.core.raises.fetch_add(direct, Ordering::Relaxed);
    }

    /// Telemetry for this event.
    pub fn telemetry(&self) -> EventTelemetry {
        let state = self.state();
        let direct: u64 = state
            .entries
            .iter()
            .map(|e| e.stats.direct.load(Ordering::Relaxed))
            .sum();
        EventTelemetry {
            name: self.core.name.clone(),
            handlers: state.entries.len(),
            raises: self.core.raises.load(Ordering::Relaxed) + direct,
            contained_faults: self.core.contained.load(Ordering::Relaxed),
            handler_stats: state
                .entries
                .iter()
                .map(|e| HandlerTelemetry {
                    id: e.id,
                    installer: e.installer.clone(),
                    primary: e.primary,
                    mode: e.mode,
                    order: e.order,
                    guards: e.guards.len() + usize::from(e.indexed.is_some()),
                    indexed: e.indexed.is_some(),
                    dispatches: e.stats.dispatches.load(Ordering::Relaxed)
                        + e.stats.direct.load(Ordering::Relaxed),
                    guard_misses: e.stats.guard_misses.load(Ordering::Relaxed),
                    faults: e.stats.faults.load(Ordering::Relaxed),
                    abandoned: e.stats.abandoned.load(Ordering::Relaxed),
                })
                .collect(),
        }
    }
}

impl<A: 'static, R: 'static> Primary<A, R> {
    /// The event this authority governs.
    pub fn event(&self) -> &Event<A, R> {
        &self.event
    }

    /// Declares a field that equality guards may test (and the dispatcher index).
    pub fn declare_key(&self, name: &'static str, extract: fn(&A) -> u64) -> KeyId {
        let mut state = self.event.state();
        if let Some(i) = state.keys.iter().position(|k| k.name == name) {
            return KeyId(i as u8);
        }
        assert!(state.keys.len() < 8, "an event declares at most 8 keys");
        state.keys.push(Key { name, extract });
        KeyId((state.keys.len() - 1) as u8)
    }

    /// Sets who may install handlers (and which guard to impose on them).
    pub fn set_install_policy(
        &self,
        policy: impl Fn(&Principal) -> Decision<A> + Send + Sync + 'static,
    ) {
        self.event.state().policy = Some(Arc::new(policy));
    }

    /// Sets the result procedure combining several handlers' results.
    pub fn set_result_proc(&self, combine: impl Fn(R, R) -> R + Send + Sync + 'static) {
        let mut state = self.event.state();
        state.result = Some(Arc::new(combine));
        self.event.publish(&state);
    }

    /// Installs or replaces the primary handler (it is not subject to the
    /// install policy).
    pub fn set_primary(&self, handler: Handler<A, R>) -> Result<(), EventError> {
        self.remove_primary();
        self.event
            .insert("primary", handler, None, true)
            .map(|_| ())
    }

    /// Removes the primary handler, if any; returns whether there was one.
    pub fn remove_primary(&self) -> bool {
        let mut state = self.event.state();
        let before = state.entries.len();
        let event = &self.event;
        state.entries.retain(|e| {
            if e.primary {
                event.retire(e);
            }
            !e.primary
        });
        let removed = state.entries.len() != before;
        if removed {
            self.event.publish(&state);
        }
        removed
    }
}

/// A cached handle for raising one event from a hot path: one atomic load to
/// check the handler list is current, then straight to the handlers.
pub struct EventRaiser<A, R> {
    event: Event<A, R>,
    version: u64,
    snap: Arc<Snapshot<A, R>>,
    /// The snapshot's lone direct-call handler and its function, hoisted so
    /// the common case is one version check and one indirect call.
    direct: Option<DirectCall<A, R>>,
}

/// A lone direct-call handler: its entry (for counters) and its function.
type DirectCall<A, R> = (Arc<Entry<A, R>>, SyncFn<A, R>);

fn direct_of<A, R>(snap: &Snapshot<A, R>) -> Option<DirectCall<A, R>> {
    let entry = snap.direct.as_ref()?;
    match &entry.call {
        Call::Sync(f) => Some((entry.clone(), f.clone())),
        Call::Deferred(_) => None,
    }
}

impl<A: 'static, R: 'static> EventRaiser<A, R> {
    /// Raises the event (see [`Event::raise`]).
    #[inline]
    pub fn raise(&mut self, args: &A) -> Option<R> {
        let v = self.event.core.version.load(Ordering::Acquire);
        if v != self.version {
            self.refresh(v);
        }
        if let Some((entry, f)) = &self.direct {
            bump(&entry.stats.direct);
            return match catch_unwind(AssertUnwindSafe(|| f(args))) {
                Ok(r) => Some(r),
                Err(_) => {
                    self.event.contain(entry);
                    None
                }
            };
        }
        self.event.dispatch_general(&self.snap, args)
    }

    #[cold]
    fn refresh(&mut self, v: u64) {
        self.snap = self.event.current();
        self.direct = direct_of(&self.snap);
        self.version = v;
    }
}

#[cfg(test)]
mod tests;
