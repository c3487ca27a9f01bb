//! Getting a vCPU out of `KVM_RUN`: a real-time signal whose handler sets
//! the running vCPU's `immediate_exit` (as Firecracker does), sent by a
//! per-vCPU POSIX timer when a strand's quantum ends or by another vCPU for
//! a TLB shootdown.

use std::cell::Cell;
use std::sync::atomic::{AtomicI32, AtomicPtr, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

thread_local! {
    /// `immediate_exit` of the vCPU this thread is running (null: none).
    static IMMEDIATE_EXIT: Cell<*mut u8> = const { Cell::new(std::ptr::null_mut()) };
}

/// The kick signal: SIGRTMIN + 3 (Firecracker's vCPUs use SIGRTMIN).
pub fn signal() -> libc::c_int {
    libc::SIGRTMIN() + 3
}

extern "C" fn on_kick(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // Only a thread-local read (const-initialised, so no lazy setup) and one
    // volatile store: async-signal-safe.
    let p = IMMEDIATE_EXIT.with(|c| c.get());
    if !p.is_null() {
        // SAFETY: the pointer is this thread's vCPU's `immediate_exit` byte
        // inside its mmapped `kvm_run`, set by `Running::new` and cleared
        // by its drop before the mapping can go away.
        unsafe { std::ptr::write_volatile(p, 1) };
    }
}

/// Installs the handler once per process (with `SA_RESTART`, so the host's
/// own blocking calls on a vCPU thread are not disturbed).
pub fn install() -> Result<(), String> {
    static ONCE: Once = Once::new();
    static ERR: AtomicI32 = AtomicI32::new(0);
    ONCE.call_once(|| {
        // SAFETY: a zeroed sigaction is a valid starting point (POD).
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = on_kick as *const () as usize;
        act.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        // SAFETY: `act` is initialised; sigaction only reads it.
        let rc = unsafe {
            libc::sigemptyset(&mut act.sa_mask);
            libc::sigaction(signal(), &act, std::ptr::null_mut())
        };
        if rc != 0 {
            ERR.store(
                std::io::Error::last_os_error().raw_os_error().unwrap_or(-1),
                Ordering::Relaxed,
            );
        }
    });
    match ERR.load(Ordering::Relaxed) {
        0 => Ok(()),
        e => Err(format!("cannot install the vCPU kick handler: errno {e}")),
    }
}

/// While alive, kicks delivered to this thread set `immediate_exit`.
pub struct Running(());

impl Running {
    /// Points this thread's kick handler at `immediate_exit`.
    pub fn new(immediate_exit: *mut u8) -> Running {
        IMMEDIATE_EXIT.with(|c| c.set(immediate_exit));
        Running(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        IMMEDIATE_EXIT.with(|c| c.set(std::ptr::null_mut()));
    }
}

/// How another thread reaches a vCPU: its thread and its `immediate_exit`.
#[derive(Default)]
pub struct Target {
    /// The `pthread_t` of the thread in `run` (0: none).
    thread: std::sync::atomic::AtomicU64,
    /// `immediate_exit` of the vCPU.
    flag: AtomicPtr<u8>,
}

impl Target {
    /// Records the calling thread as running the vCPU whose flag is `flag`.
    pub fn enter(&self, flag: *mut u8) {
        self.flag.store(flag, Ordering::Release);
        // SAFETY: pthread_self has no preconditions.
        let me = unsafe { libc::pthread_self() };
        self.thread.store(me as u64, Ordering::Release);
    }

    /// The vCPU left `run`.
    pub fn leave(&self) {
        self.thread.store(0, Ordering::Release);
    }

    /// Kicks the vCPU if it is in `run`.
    pub fn kick(&self) {
        let t = self.thread.load(Ordering::Acquire);
        if t == 0 {
            return;
        }
        let flag = self.flag.load(Ordering::Acquire);
        if !flag.is_null() {
            // SAFETY: the flag lives in the vCPU's kvm_run mapping, which
            // outlives every `run` call (the thread id is cleared first).
            unsafe { std::ptr::write_volatile(flag, 1) };
        }
        // SAFETY: `t` is a live thread: it is cleared before the thread
        // leaves `run`, and a vCPU's thread outlives its `run` calls.
        unsafe { libc::pthread_kill(t as libc::pthread_t, signal()) };
    }
}

/// A per-vCPU one-shot timer that sends the kick signal to one thread.
pub struct Timer {
    id: libc::timer_t,
    tid: libc::pid_t,
}

// SAFETY: timer_t is an opaque kernel handle usable from any thread.
unsafe impl Send for Timer {}

impl Timer {
    /// A timer kicking the calling thread.
    pub fn for_this_thread() -> Result<Timer, String> {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        // SAFETY: zeroed sigevent is valid POD; the fields are set below.
        let mut ev: libc::sigevent = unsafe { std::mem::zeroed() };
        ev.sigev_notify = libc::SIGEV_THREAD_ID;
        ev.sigev_signo = signal();
        ev.sigev_notify_thread_id = tid;
        let mut id: libc::timer_t = std::ptr::null_mut();
        // SAFETY: `ev` and `id` are valid for the call.
        if unsafe { libc::timer_create(libc::CLOCK_MONOTONIC, &mut ev, &mut id) } != 0 {
            return Err(format!("timer_create: {}", std::io::Error::last_os_error()));
        }
        Ok(Timer { id, tid })
    }

    /// The thread this timer kicks.
    pub fn tid(&self) -> libc::pid_t {
        self.tid
    }

    /// Fires once at `at` (never earlier than 1 µs from now).
    pub fn arm(&self, at: Instant) {
        let d = at
            .saturating_duration_since(Instant::now())
            .max(Duration::from_micros(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: d.as_secs() as libc::time_t,
                tv_nsec: libc::c_long::from(d.subsec_nanos() as i32),
            },
        };
        // SAFETY: `id` is a live timer, `spec` is valid.
        unsafe { libc::timer_settime(self.id, 0, &spec, std::ptr::null_mut()) };
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        // SAFETY: `id` came from timer_create and is deleted once.
        unsafe { libc::timer_delete(self.id) };
    }
}
