//! Host threads that run the extensions in real time, for a host without a
//! scheduler strand for them (the vmm's network pump polls the NIC; these
//! threads keep the server's frame clock and the client's display strand):
//! [`Streamer`] ticks a [`VideoServer`] at its frame times, [`Display`]
//! runs a [`DisplayStrand`] at its releases and publishes its telemetry.
//! Both stop when told (or dropped) and hand their extension back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::client::{DisplayStrand, VideoTelemetry};
use crate::server::{ServerStats, VideoServer};

/// Longest sleep between checks of the stop flag and of new subscribers.
const POLL: Duration = Duration::from_millis(10);

/// Machine time for the drivers: ns since the driver's start.
#[derive(Debug, Clone, Copy)]
struct Clock(Instant);

impl Clock {
    fn now(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn sleep_until(&self, t: u64) {
        let now = self.now();
        if t > now {
            std::thread::sleep(Duration::from_nanos(t - now).min(POLL));
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain data replaced whole: usable after a panic elsewhere.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A thread streaming a server's clip at its frame rate.
#[derive(Debug)]
pub struct Streamer {
    stop: Arc<AtomicBool>,
    stats: Arc<Mutex<ServerStats>>,
    thread: Option<JoinHandle<VideoServer>>,
}

impl Streamer {
    /// Starts streaming (frames go out while somebody is subscribed).
    pub fn start(mut server: VideoServer) -> std::io::Result<Streamer> {
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Mutex::new(server.stats()));
        let (s, st) = (stop.clone(), stats.clone());
        let thread = std::thread::Builder::new()
            .name("video-server".into())
            .spawn(move || {
                let clock = Clock(Instant::now());
                while !s.load(Ordering::Relaxed) {
                    let next = server.tick(clock.now());
                    *lock(&st) = server.stats();
                    clock.sleep_until(next.unwrap_or(clock.now() + POLL.as_nanos() as u64));
                }
                server
            })?;
        Ok(Streamer {
            stop,
            stats,
            thread: Some(thread),
        })
    }

    /// The server's counters as of its last tick.
    pub fn stats(&self) -> ServerStats {
        *lock(&self.stats)
    }

    /// Asks the thread to stop (it does within 10 ms); the server stays
    /// installed until the streamer is dropped or [`Streamer::stop`]ped.
    pub fn halt(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Stops the thread and returns the server (`None` if the thread
    /// panicked).
    pub fn stop(mut self) -> Option<VideoServer> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().and_then(|t| t.join().ok())
    }
}

impl Drop for Streamer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A thread running a display strand at its releases.
#[derive(Debug)]
pub struct Display {
    stop: Arc<AtomicBool>,
    telemetry: Arc<Mutex<VideoTelemetry>>,
    thread: Option<JoinHandle<DisplayStrand>>,
}

impl Display {
    /// Starts the display strand; its job's finishing time is measured.
    pub fn start(mut strand: DisplayStrand) -> std::io::Result<Display> {
        let stop = Arc::new(AtomicBool::new(false));
        let telemetry = Arc::new(Mutex::new(strand.telemetry()));
        let (s, t) = (stop.clone(), telemetry.clone());
        let thread = std::thread::Builder::new()
            .name("video-display".into())
            .spawn(move || {
                let clock = Clock(Instant::now());
                strand.set_phase(clock.now());
                while !s.load(Ordering::Relaxed) {
                    let next = strand.run(clock.now(), || clock.now());
                    *lock(&t) = strand.telemetry();
                    while !s.load(Ordering::Relaxed) && clock.now() < next {
                        clock.sleep_until(next);
                    }
                }
                strand
            })?;
        Ok(Display {
            stop,
            telemetry,
            thread: Some(thread),
        })
    }

    /// The client's telemetry as of the strand's last release.
    pub fn telemetry(&self) -> VideoTelemetry {
        lock(&self.telemetry).clone()
    }

    /// Asks the thread to stop (it does within 10 ms).
    pub fn halt(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Stops the thread and returns the strand (`None` if it panicked).
    pub fn stop(mut self) -> Option<DisplayStrand> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().and_then(|t| t.join().ok())
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
