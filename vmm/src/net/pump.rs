//! The network pump: one host thread that moves frames from the NIC into
//! the stack and runs the stack's timers.
//!
//! It sleeps in `epoll_wait` on the NIC's descriptor (a TAP device), an
//! [`EventFd`] that others write to wake it (a frame queued on an in-memory
//! link, a stop request) and the descriptors its [`PumpTask`]s register
//! (the user-mode gateway's host sockets), with a timeout at the stack's
//! next deadline. Each wake-up receives everything the NIC has, lets the
//! tasks run, and repeats until a pass finds no work, then advances the
//! stack's clock.
//!
//! With `busy_poll_us > 0` it keeps polling (NIC and tasks) for that many
//! µs after the last work before it sleeps, as DPDK and NAPI busy polling
//! do: a request/response exchange then never pays a thread wake-up on the
//! pump's side, at the price of a core spinning while traffic flows.

use std::cell::Cell;
use std::os::unix::io::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use spin_net::NetStack;
use vmm_sys_util::epoll::{ControlOperation, Epoll, EpollEvent, EventSet};
use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};

/// Token of the wake-up eventfd in the pump's epoll set.
const KICK: u64 = 0;
/// Token of the NIC's descriptor.
const NIC: u64 = 1;
/// First token handed to tasks.
const FIRST_TASK_TOKEN: u64 = 16;

/// Longest sleep when nothing has a deadline, ms (timers of a stack that
/// reports none are still run this often).
const IDLE_TICK_MS: u64 = 100;

/// Passes of one wake-up before the clock is advanced anyway (so a flood
/// cannot starve the timers).
const MAX_PASSES: usize = 64;

thread_local! {
    static ON_PUMP: Cell<bool> = const { Cell::new(false) };
}

/// Whether the calling thread is a network pump (whose own transmissions
/// need no wake-up: it looks for work again before it sleeps).
pub fn on_pump_thread() -> bool {
    ON_PUMP.with(|c| c.get())
}

/// Wakes a pump from any thread; cheap to clone.
#[derive(Clone)]
pub struct Kicker {
    fd: Arc<EventFd>,
    kicks: Arc<AtomicU64>,
}

impl std::fmt::Debug for Kicker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kicker").finish_non_exhaustive()
    }
}

impl Kicker {
    /// Makes the pump look for work now (no-op on the pump's own thread).
    pub fn kick(&self) {
        if !on_pump_thread() {
            self.kicks.fetch_add(1, Ordering::Relaxed);
            // EAGAIN means the counter is already non-zero: already kicked.
            let _ = self.fd.write(1);
        }
    }
}

/// The descriptors a task waits on, in the pump's epoll set.
pub struct Registry<'a> {
    epoll: &'a Epoll,
    next: &'a mut u64,
}

impl Registry<'_> {
    /// Adds `fd` (readable; writable too when `writable`), returning its token.
    pub fn add(&mut self, fd: RawFd, writable: bool) -> std::io::Result<u64> {
        let token = *self.next;
        *self.next += 1;
        self.epoll.ctl(
            ControlOperation::Add,
            fd,
            EpollEvent::new(set(writable), token),
        )?;
        Ok(token)
    }

    /// Changes what wakes the pump for `fd` (registered as `token`): it
    /// being readable (a socket whose reader is full or at end of stream
    /// must not be, or the level-triggered set would never sleep) and/or
    /// writable.
    pub fn modify(
        &mut self,
        fd: RawFd,
        token: u64,
        readable: bool,
        writable: bool,
    ) -> std::io::Result<()> {
        let mut ev = EventSet::empty();
        if readable {
            ev |= EventSet::IN | EventSet::READ_HANG_UP;
        }
        if writable {
            ev |= EventSet::OUT;
        }
        self.epoll
            .ctl(ControlOperation::Modify, fd, EpollEvent::new(ev, token))
    }

    /// Removes `fd` (before it is closed).
    pub fn remove(&mut self, fd: RawFd) {
        let _ = self
            .epoll
            .ctl(ControlOperation::Delete, fd, EpollEvent::default());
    }
}

fn set(writable: bool) -> EventSet {
    if writable {
        EventSet::IN | EventSet::OUT | EventSet::READ_HANG_UP
    } else {
        EventSet::IN | EventSet::READ_HANG_UP
    }
}

/// Work the pump does besides the host stack's NIC: the user-mode gateway.
pub trait PumpTask: Send {
    /// Registers the task's descriptors (called once, on the pump thread).
    fn start(&mut self, reg: &mut Registry<'_>) -> std::io::Result<()>;
    /// Does whatever is ready without blocking; returns how much it did (0:
    /// nothing was ready). `ready` holds the tokens epoll reported readable
    /// since the last call (empty on the passes that only move in-memory
    /// frames); a socket not in it is not read, so an idle one costs no
    /// system call. `now_ms` is the pump's clock.
    fn service(&mut self, reg: &mut Registry<'_>, ready: &[u64], now_ms: u64) -> usize;
    /// The next time the task needs `service` regardless of descriptors.
    fn next_deadline_ms(&self) -> Option<u64> {
        None
    }
}

/// Pump options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PumpConfig {
    /// µs to keep polling after the last work before sleeping (0: sleep at
    /// once).
    pub busy_poll_us: u64,
}

/// The pump's own counters.
#[derive(Debug, Default)]
pub struct PumpCounters {
    /// Times the thread returned from `epoll_wait`.
    pub wakeups: AtomicU64,
    /// Passes that found work while busy polling.
    pub busy_hits: AtomicU64,
    /// Kicks from other threads.
    pub kicks: Arc<AtomicU64>,
}

/// A running pump; dropping it stops the thread and waits for it.
pub struct Pump {
    kicker: Kicker,
    stop: Arc<AtomicBool>,
    counters: Arc<PumpCounters>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Pump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pump")
            .field("running", &self.thread.is_some())
            .finish()
    }
}

/// Locks the stack (the pump holds it for a pass; telemetry for a snapshot).
pub fn lock_stack(s: &Mutex<NetStack>) -> std::sync::MutexGuard<'_, NetStack> {
    // A panic inside a handler is contained by the dispatcher; a poisoned
    // lock still guards a whole stack.
    s.lock().unwrap_or_else(|e| e.into_inner())
}

impl Pump {
    /// A kicker for a pump not started yet (its NIC wrappers need one
    /// before the stack exists); pass it to [`Pump::start`].
    pub fn kicker() -> std::io::Result<Kicker> {
        Ok(Kicker {
            fd: Arc::new(EventFd::new(EFD_NONBLOCK)?),
            kicks: Arc::default(),
        })
    }

    /// Starts the pump thread on `stack`, waiting on `nic_fd` (if the NIC
    /// has one), `kicker` and the tasks' descriptors.
    pub fn start(
        stack: Arc<Mutex<NetStack>>,
        nic_fd: Option<RawFd>,
        tasks: Vec<Box<dyn PumpTask>>,
        kicker: Kicker,
        config: PumpConfig,
    ) -> std::io::Result<Pump> {
        let epoll = Epoll::new()?;
        epoll.ctl(
            ControlOperation::Add,
            kicker.fd.as_raw_fd_for_epoll(),
            EpollEvent::new(EventSet::IN, KICK),
        )?;
        if let Some(fd) = nic_fd {
            epoll.ctl(
                ControlOperation::Add,
                fd,
                EpollEvent::new(EventSet::IN, NIC),
            )?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(PumpCounters {
            kicks: kicker.kicks.clone(),
            ..PumpCounters::default()
        });
        let thread = {
            let (stop, kicker, counters) = (stop.clone(), kicker.clone(), counters.clone());
            std::thread::Builder::new()
                .name("net-pump".into())
                .spawn(move || {
                    let mut p = Running {
                        stack,
                        nic_has_fd: nic_fd.is_some(),
                        tasks,
                        epoll,
                        next_token: FIRST_TASK_TOKEN,
                        kicker,
                        stop,
                        counters,
                        config,
                        started: Instant::now(),
                    };
                    p.run();
                })?
        };
        Ok(Pump {
            kicker,
            stop,
            counters,
            thread: Some(thread),
        })
    }

    /// A handle that wakes the pump.
    pub fn waker(&self) -> Kicker {
        self.kicker.clone()
    }

    /// The pump's counters.
    pub fn counters(&self) -> &PumpCounters {
        &self.counters
    }

    /// Stops the thread and waits for it (idempotent).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.kicker.fd.write(1);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Pump {
    fn drop(&mut self) {
        self.stop();
    }
}

trait AsRawFdForEpoll {
    fn as_raw_fd_for_epoll(&self) -> RawFd;
}

impl AsRawFdForEpoll for EventFd {
    fn as_raw_fd_for_epoll(&self) -> RawFd {
        std::os::unix::io::AsRawFd::as_raw_fd(self)
    }
}

struct Running {
    stack: Arc<Mutex<NetStack>>,
    nic_has_fd: bool,
    tasks: Vec<Box<dyn PumpTask>>,
    epoll: Epoll,
    next_token: u64,
    kicker: Kicker,
    stop: Arc<AtomicBool>,
    counters: Arc<PumpCounters>,
    config: PumpConfig,
    started: Instant,
}

impl Running {
    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn registry(&mut self) -> (Registry<'_>, &mut Vec<Box<dyn PumpTask>>) {
        (
            Registry {
                epoll: &self.epoll,
                next: &mut self.next_token,
            },
            &mut self.tasks,
        )
    }

    /// One pass: the NIC's frames (a descriptor-backed NIC only when
    /// `ready` says so), then every task. Returns the work done.
    fn pass(&mut self, now: u64, ready: &[u64], nic_due: bool) -> usize {
        let mut work = 0;
        if nic_due || !self.nic_has_fd {
            work += lock_stack(&self.stack).poll_nic();
        }
        let (mut reg, tasks) = self.registry();
        for t in tasks.iter_mut() {
            work += t.service(&mut reg, ready, now);
        }
        work
    }

    /// Handles what epoll reported (`ready`; `timed_out`: nothing, the
    /// clock is due), then passes over the in-memory links until one finds
    /// nothing (bounded), then the timers. Returns the work done.
    fn drain(&mut self, ready: &[u64], timed_out: bool) -> usize {
        let now = self.now_ms();
        let nic_due = timed_out || ready.contains(&NIC);
        let mut total = self.pass(now, ready, nic_due);
        for _ in 1..MAX_PASSES {
            let w = self.pass(now, &[], false);
            total += w;
            if w == 0 {
                break;
            }
        }
        lock_stack(&self.stack).poll(now);
        total
    }

    fn timeout_ms(&self) -> i32 {
        let now = self.now_ms();
        let mut deadline = now + IDLE_TICK_MS;
        if let Some(d) = lock_stack(&self.stack).next_deadline_ms() {
            deadline = deadline.min(d);
        }
        for t in &self.tasks {
            if let Some(d) = t.next_deadline_ms() {
                deadline = deadline.min(d);
            }
        }
        deadline.saturating_sub(now).min(i32::MAX as u64) as i32
    }

    /// Waits up to `timeout` ms (0: just looks) and returns the ready
    /// tokens, the kick consumed.
    fn wait(&mut self, timeout: i32, events: &mut [EpollEvent], ready: &mut Vec<u64>) {
        ready.clear();
        match self.epoll.wait(timeout, events) {
            Ok(n) => {
                if timeout != 0 {
                    self.counters.wakeups.fetch_add(1, Ordering::Relaxed);
                }
                for e in &events[..n] {
                    if e.data() == KICK {
                        let _ = self.kicker.fd.read();
                    }
                    ready.push(e.data());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // epoll_wait only fails on a bad set, which would fail forever:
            // poll on the idle tick instead of spinning.
            Err(_) => std::thread::sleep(Duration::from_millis(IDLE_TICK_MS)),
        }
    }

    fn run(&mut self) {
        ON_PUMP.with(|c| c.set(true));
        {
            let (mut reg, tasks) = self.registry();
            for t in tasks.iter_mut() {
                // A task that cannot register still gets serviced on every
                // tick; it reports its own failure through its counters.
                let _ = t.start(&mut reg);
            }
        }
        let mut events = vec![EpollEvent::default(); 64];
        let mut ready = Vec::with_capacity(64);
        let busy = Duration::from_micros(self.config.busy_poll_us);
        let mut timed_out = true;
        while !self.stop.load(Ordering::Relaxed) {
            let work = self.drain(&ready, timed_out);
            ready.clear();
            if work > 0 && !busy.is_zero() {
                // Busy polling: look (epoll_wait with no timeout) until
                // something is ready or the window since the last work ends.
                let since = Instant::now();
                while ready.is_empty()
                    && since.elapsed() < busy
                    && !self.stop.load(Ordering::Relaxed)
                {
                    self.wait(0, &mut events, &mut ready);
                    if ready.is_empty() {
                        std::hint::spin_loop();
                    }
                }
                if !ready.is_empty() {
                    self.counters.busy_hits.fetch_add(1, Ordering::Relaxed);
                    timed_out = false;
                    continue;
                }
            }
            let timeout = self.timeout_ms();
            self.wait(timeout, &mut events, &mut ready);
            timed_out = ready.is_empty();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spin_net::wire::ethernet::MacAddr;
    use spin_net::{MemNic, NetConfig, Nic};
    use std::net::Ipv4Addr;

    /// An in-memory link whose transmissions kick the pump.
    struct Kicking(MemNic, Kicker);
    impl Nic for Kicking {
        fn transmit(&self, f: Vec<u8>) -> Result<(), spin_net::NicError> {
            self.0.transmit(f)?;
            self.1.kick();
            Ok(())
        }
        fn receive(&self) -> Option<Vec<u8>> {
            self.0.receive()
        }
    }

    #[test]
    fn a_kicked_pump_answers_a_ping_and_stops_when_dropped() {
        let kicker = Pump::kicker().unwrap();
        let (ours, theirs) = MemNic::pair(64);
        let mac = MacAddr([2, 0, 0, 0, 0, 1]);
        let stack = NetStack::new(
            NetConfig::new(mac, Ipv4Addr::new(10, 0, 0, 1), 24),
            Arc::new(Kicking(ours, kicker.clone())),
        )
        .unwrap();
        let peer_mac = MacAddr([2, 0, 0, 0, 0, 2]);
        stack.add_static_arp(Ipv4Addr::new(10, 0, 0, 2), peer_mac);
        let stack = Arc::new(Mutex::new(stack));
        // The peer's frames are queued on `theirs`; the pump learns of them
        // from a kick, as it would from a TAP descriptor.
        let (peer_tx, peer_rx) = (theirs.clone(), theirs);
        let mut pump = Pump::start(
            stack.clone(),
            None,
            Vec::new(),
            kicker.clone(),
            PumpConfig::default(),
        )
        .unwrap();
        let frame = spin_net::wire::build::icmp_echo_frame(
            peer_mac,
            mac,
            Ipv4Addr::new(10, 0, 0, 2),
            Ipv4Addr::new(10, 0, 0, 1),
            true,
            7,
            1,
            b"ping",
        )
        .unwrap();
        // Write into the pump's receive queue: `theirs` transmits to `ours`.
        peer_tx.transmit(frame).unwrap();
        kicker.kick();
        let deadline = Instant::now() + Duration::from_secs(10);
        let reply = loop {
            if let Some(f) = peer_rx.receive() {
                break f;
            }
            assert!(Instant::now() < deadline, "no echo reply");
            std::thread::sleep(Duration::from_millis(1));
        };
        assert_eq!(&reply[0..6], &peer_mac.0);
        assert!(reply.ends_with(b"ping"));
        pump.stop();
        assert!(pump.thread.is_none());
        assert!(pump.counters().wakeups.load(Ordering::Relaxed) >= 1);
    }
}
