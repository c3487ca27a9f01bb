//! The video client extension: a handler on `UDP.PacketArrived` guarded by
//! its port (indexed) reassembles RTP/JPEG frames and decodes them into the
//! frame pool; the periodic display strand ([`DisplayStrand`]) shows the
//! newest decoded frame on the framebuffer once per frame interval and
//! keeps the books: late frames, dropped frames, deadline misses.

use std::collections::VecDeque;
use std::net::SocketAddrV4;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use spin_kernel::event::{Event, EventError, Handler, HandlerId, Principal};
use spin_kernel::strand::Reservation;
use spin_net::events::UdpArrived;
use spin_net::NetHandle;

use crate::jpeg::decode::decode_rgb_into;
use crate::pool::{FramePool, PoolFrame};
use crate::reassemble::{Reassembler, ReassemblyStats, DEFAULT_MAX_FRAME};
use crate::server::{SUBSCRIBE, UNSUBSCRIBE};

/// Where decoded frames are shown (the framebuffer device).
pub trait FrameSink: Send + Sync {
    /// Shows a `width` × `height` RGB frame that carried RTP timestamp
    /// `timestamp` (90 kHz).
    fn present(&self, width: u16, height: u16, rgb: &[u8], timestamp: u32);
}

/// The client's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    /// UDP port the stream arrives on (the port guard).
    pub port: u16,
    /// The server's control address (`None`: a sender that needs no
    /// subscription, such as ffmpeg).
    pub server: Option<SocketAddrV4>,
    /// Frames per second of the stream: the display strand's rate.
    pub fps: u32,
    /// Frame buffers in the pool.
    pub pool_frames: usize,
    /// Largest frame's scan accepted, bytes.
    pub max_frame_bytes: usize,
}

impl ClientConfig {
    /// A client on `port` for a stream at `fps` from `server`.
    pub fn new(port: u16, server: Option<SocketAddrV4>, fps: u32) -> ClientConfig {
        ClientConfig {
            port,
            server,
            fps: fps.max(1),
            pool_frames: 4,
            max_frame_bytes: DEFAULT_MAX_FRAME,
        }
    }
}

/// What the console shows of a video client.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VideoTelemetry {
    /// Frames shown in the last second of machine time.
    pub fps: f64,
    /// Frames completed by the reassembler and decoded.
    pub decoded: u64,
    /// Frames shown.
    pub displayed: u64,
    /// Display periods that found no new frame while the stream ran (the
    /// frame for that period was late or lost).
    pub late_frames: u64,
    /// Frames lost: dropped incomplete by the reassembler, failed to
    /// decode, found no free buffer, or decoded but never shown
    /// (superseded, pool full).
    pub dropped_frames: u64,
    /// Display releases that finished after their deadline (or were never
    /// run because the strand was too late).
    pub deadline_misses: u64,
    /// Frames that did not decode.
    pub decode_errors: u64,
    /// The reassembler's counters.
    pub reassembly: ReassemblyStats,
    /// Frame buffers allocated / allowed.
    pub pool_allocated: usize,
    /// The pool's bound.
    pub pool_capacity: usize,
}

struct Shared {
    rx: Mutex<Reassembler>,
    pool: Mutex<FramePool>,
    decoded: AtomicU64,
    decode_errors: AtomicU64,
    no_buffer: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Reassembler and pool are updated in single steps between calls out;
    // after a panic elsewhere their state is still consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn packet(&self, d: &UdpArrived) {
        let Some(frame) = lock(&self.rx).push(&d.payload) else {
            return;
        };
        let Some(mut buf) = lock(&self.pool).take() else {
            // Every buffer is on screen or being decoded: the frame is lost.
            self.no_buffer.fetch_add(1, Ordering::Relaxed);
            return;
        };
        match decode_rgb_into(&frame.jpeg, &mut buf) {
            Ok((width, height)) => {
                self.decoded.fetch_add(1, Ordering::Relaxed);
                lock(&self.pool).ready(PoolFrame {
                    width,
                    height,
                    timestamp: frame.timestamp,
                    pixels: buf,
                });
            }
            Err(_) => {
                self.decode_errors.fetch_add(1, Ordering::Relaxed);
                lock(&self.pool).give_back(buf);
            }
        }
    }
}

/// The installed client; dropping it uninstalls the handler.
pub struct VideoClient {
    net: NetHandle,
    cfg: ClientConfig,
    event: Event<UdpArrived, ()>,
    id: Option<HandlerId>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for VideoClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoClient")
            .field("config", &self.cfg)
            .finish()
    }
}

impl VideoClient {
    /// Installs the client's handler on `UDP.PacketArrived` with the
    /// indexed guard on its port, and returns it with its display strand.
    pub fn install(
        net: &NetHandle,
        who: &Principal,
        cfg: ClientConfig,
        sink: Arc<dyn FrameSink>,
    ) -> Result<(VideoClient, DisplayStrand), EventError> {
        let shared = Arc::new(Shared {
            rx: Mutex::new(Reassembler::new(cfg.max_frame_bytes)),
            pool: Mutex::new(FramePool::new(cfg.pool_frames)),
            decoded: AtomicU64::new(0),
            decode_errors: AtomicU64::new(0),
            no_buffer: AtomicU64::new(0),
        });
        let s = shared.clone();
        let handler =
            Handler::new(move |d: &UdpArrived| s.packet(d)).guard(net.events().udp_port(cfg.port));
        let id = net.events().udp.install(who, handler)?;
        let client = VideoClient {
            net: net.clone(),
            cfg,
            event: net.events().udp.clone(),
            id: Some(id),
            shared: shared.clone(),
        };
        let display = DisplayStrand {
            // At least 1 ns: a zero or absurd rate in a hand-built config
            // must not divide by zero later.
            period_ns: (1_000_000_000 / u64::from(cfg.fps.max(1))).max(1),
            next_release: None,
            shared,
            sink,
            stats: DisplayStats::default(),
            shown_at: VecDeque::new(),
            last_ts: None,
        };
        Ok((client, display))
    }

    /// Sends the subscription datagram to the server (repeat it if it may
    /// have been lost: subscribing twice is harmless).
    pub fn subscribe(&self) {
        if let Some(s) = self.cfg.server {
            self.net.send_udp(self.cfg.port, s, SUBSCRIBE);
        }
    }

    /// Asks the server to stop sending.
    pub fn unsubscribe(&self) {
        if let Some(s) = self.cfg.server {
            self.net.send_udp(self.cfg.port, s, UNSUBSCRIBE);
        }
    }

    /// The settings.
    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// The reassembler's counters.
    pub fn reassembly(&self) -> ReassemblyStats {
        lock(&self.shared.rx).stats()
    }
}

impl Drop for VideoClient {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let _ = self.event.uninstall(id);
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct DisplayStats {
    displayed: u64,
    late: u64,
    misses: u64,
    releases: u64,
}

/// The client's periodic display strand: released every frame interval
/// (`1/fps`), each release with a deadline one interval later. At a release
/// it shows the newest decoded frame; older undisplayed ones are dropped.
///
/// The strand is driven by whoever schedules it — a host thread, the
/// scheduler's periodic strand, or a test with a virtual clock — by calling
/// [`DisplayStrand::run`] at (or after) [`DisplayStrand::next_release`].
pub struct DisplayStrand {
    period_ns: u64,
    next_release: Option<u64>,
    shared: Arc<Shared>,
    sink: Arc<dyn FrameSink>,
    stats: DisplayStats,
    shown_at: VecDeque<u64>,
    last_ts: Option<u32>,
}

impl std::fmt::Debug for DisplayStrand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DisplayStrand")
            .field("period_ns", &self.period_ns)
            .field("next_release", &self.next_release)
            .finish()
    }
}

impl DisplayStrand {
    /// The period (and relative deadline), ns.
    pub fn period_ns(&self) -> u64 {
        self.period_ns
    }

    /// The strand's real-time reservation for the scheduler: released
    /// every period, deadline one period later, `budget_ns` of CPU per job.
    pub fn reservation(&self, budget_ns: u64) -> Reservation {
        Reservation {
            period: self.period_ns,
            deadline: self.period_ns,
            budget: budget_ns.min(self.period_ns),
        }
    }

    /// Sets the first release to machine time `t0_ns` (otherwise the first
    /// [`DisplayStrand::run`] sets it). A driver that knows the release
    /// times (the scheduler's periodic reservation) should set it, so that
    /// a first job that starts late is judged against its real release.
    pub fn set_phase(&mut self, t0_ns: u64) {
        self.next_release = Some(t0_ns);
    }

    /// When the next release is due (`None` before the first run).
    pub fn next_release(&self) -> Option<u64> {
        self.next_release
    }

    /// Runs the strand at machine time `now_ns` (the first call sets the
    /// phase). Releases whose deadline already passed without running
    /// count as deadline misses; the current release shows the newest
    /// frame. `done_ns` tells when the job finished (pass `now_ns` when the
    /// caller does not measure): after the deadline it is a miss. Returns
    /// the next release time.
    pub fn run(&mut self, now_ns: u64, done_ns: impl FnOnce() -> u64) -> u64 {
        let release = match self.next_release {
            None => now_ns,
            Some(r) if now_ns < r => return r,
            Some(r) => {
                // Releases that came and went while the strand did not run.
                let behind = (now_ns - r) / self.period_ns;
                self.stats.misses += behind;
                self.stats.releases += behind;
                r + behind * self.period_ns
            }
        };
        self.stats.releases += 1;
        let newest = lock(&self.shared.pool).newest();
        match newest {
            Some(f) => {
                self.sink.present(f.width, f.height, &f.pixels, f.timestamp);
                self.last_ts = Some(f.timestamp);
                self.stats.displayed += 1;
                self.shown_at.push_back(now_ns);
                while self
                    .shown_at
                    .front()
                    .is_some_and(|&t| t + 1_000_000_000 <= now_ns)
                {
                    self.shown_at.pop_front();
                }
                lock(&self.shared.pool).give_back(f.pixels);
            }
            None if self.last_ts.is_some() => self.stats.late += 1,
            None => {}
        }
        let deadline = release.saturating_add(self.period_ns);
        if done_ns() > deadline {
            self.stats.misses += 1;
        }
        let next = deadline;
        self.next_release = Some(next);
        next
    }

    /// The client's telemetry.
    pub fn telemetry(&self) -> VideoTelemetry {
        let reassembly = lock(&self.shared.rx).stats();
        let pool = lock(&self.shared.pool);
        let decode_errors = self.shared.decode_errors.load(Ordering::Relaxed);
        VideoTelemetry {
            fps: self.shown_at.len() as f64,
            decoded: self.shared.decoded.load(Ordering::Relaxed),
            displayed: self.stats.displayed,
            late_frames: self.stats.late,
            dropped_frames: reassembly.dropped_frames
                + decode_errors
                + self.shared.no_buffer.load(Ordering::Relaxed)
                + pool.dropped(),
            deadline_misses: self.stats.misses,
            decode_errors,
            reassembly,
            pool_allocated: pool.allocated(),
            pool_capacity: pool.capacity(),
        }
    }
}
