//! The display strand under the kernel's scheduler: the video client's
//! periodic display strand (mound 2, a reservation of one frame interval
//! with a 4 ms budget) competes with three CPU-bound strands of another
//! mound on one CPU, in machine (virtual) time driven through the real
//! `spin_scheduler::Scheduler`. Every frame interval the server streams a
//! frame over the in-memory link and the client decodes it; when the
//! scheduler has given the display job its whole budget, the job shows the
//! frame and the display strand books the release: a job that finishes
//! after its deadline, or a release that passed unrun (the previous job
//! still running), is a miss. The scheduler's own count (jobs finished
//! after release + deadline) is printed beside it; it does not count the
//! releases that passed while a job overran.
//!
//! Must show: 0 misses at 30 frames/s under `edf`, and under `rr-priority`
//! when the display strand has the higher priority; the counts under every
//! policy are printed.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::sync::Arc;

use spin_kernel::event::Principal;
use spin_kernel::{MoundId, Nanos, SchedParams, StrandId};
use spin_net::wire::ethernet::MacAddr;
use spin_net::{MemNic, NetConfig, NetStack};
use spin_scheduler::{Scheduler, SchedulerConfig, Stop, POLICY_NAMES};
use spin_video::client::{ClientConfig, FrameSink, VideoClient, VideoTelemetry};
use spin_video::disk::{ClipReader, FileDisk};
use spin_video::server::{ServerConfig, VideoServer};

const MS: Nanos = 1_000_000;
const BUDGET: Nanos = 4 * MS;
const SECONDS: u64 = 10;
const DISPLAY: StrandId = StrandId(1);
const HOGS: [StrandId; 3] = [StrandId(2), StrandId(3), StrandId(4)];

struct Null;
impl FrameSink for Null {
    fn present(&self, _: u16, _: u16, rgb: &[u8], _: u32) {
        std::hint::black_box(rgb);
    }
}

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

struct Outcome {
    video: VideoTelemetry,
    scheduler_misses: u64,
    releases: u64,
}

/// Runs `SECONDS` of virtual time under `policy` with the display strand at
/// `display_priority` (the hogs have 8).
fn run(policy: &str, display_priority: u8) -> Outcome {
    let (na, nb) = MemNic::pair(100_000);
    let (ma, mb) = (MacAddr([2, 0, 0, 0, 0, 1]), MacAddr([2, 0, 0, 0, 0, 2]));
    let a = NetStack::new(NetConfig::new(ma, ip(1), 24), Arc::new(na)).expect("a");
    let b = NetStack::new(NetConfig::new(mb, ip(2), 24), Arc::new(nb)).expect("b");
    a.add_static_arp(ip(2), mb);
    b.add_static_arp(ip(1), ma);
    let pump = || while a.poll_nic() + b.poll_nic() > 0 {};
    let clip_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/video/testclip.mjpeg");
    let clip =
        ClipReader::open(Box::new(FileDisk::open(&clip_path).expect("clip"))).expect("index");
    let mut server = VideoServer::install(
        &a.handle(),
        &Principal::kernel("video-server"),
        ServerConfig::new(5004, 30),
        clip,
    )
    .expect("server");
    let cfg = ClientConfig::new(6000, Some(SocketAddrV4::new(ip(1), 5004)), 30);
    let (client, mut display) = VideoClient::install(
        &b.handle(),
        &Principal::mound("video-client", MoundId(2)),
        cfg,
        Arc::new(Null),
    )
    .expect("client");
    client.subscribe();
    pump();

    let mut sched = Scheduler::new(
        spin_kernel::KernelId(0),
        SchedulerConfig {
            policy: policy.to_string(),
            ..SchedulerConfig::default()
        },
    )
    .expect("scheduler");
    let period = display.period_ns();
    let display_params = SchedParams {
        priority: display_priority,
        weight: 100,
        reservation: Some(display.reservation(BUDGET)),
    };
    sched
        .add_strand(DISPLAY, "display", MoundId(2), display_params)
        .expect("display strand");
    for h in HOGS {
        let p = SchedParams {
            priority: 8,
            weight: 100,
            reservation: None,
        };
        sched.add_strand(h, "cpu-hog", MoundId(3), p).expect("hog");
        sched.unblock(h, 0).expect("hog runnable");
    }

    let end_time = SECONDS * 1_000_000_000;
    let mut now: Nanos = 0;
    let mut next_release: Nanos = 0;
    display.set_phase(0);
    let mut releases = 0u64;
    // The display job: (its release, first dispatch, work left).
    let mut job: Option<(Nanos, Option<Nanos>, Nanos)> = None;
    // (strand, dispatched at, segment end)
    let mut running: Option<(StrandId, Nanos, Nanos)> = None;
    while now < end_time {
        if now >= next_release {
            // A frame interval begins: the server sends, the client decodes
            // (in the packet path), the display strand is released.
            server.tick(next_release);
            pump();
            releases += 1;
            if job.is_none() {
                job = Some((next_release, None, BUDGET));
                sched.unblock(DISPLAY, now).expect("release");
                if let Some((s, start, _)) = running {
                    if sched.should_preempt(s, now) {
                        if let Some(j) = job.as_mut().filter(|_| s == DISPLAY) {
                            j.2 -= now - start;
                        }
                        sched
                            .stop(s, now - start, now, Stop::Runnable)
                            .expect("preempt");
                        running = None;
                    }
                }
            }
            next_release += period;
        }
        let Some((s, start, end)) = running else {
            match sched.pick_next(now) {
                Some(p) => {
                    let work = if p.strand == DISPLAY {
                        let j = job.as_mut().expect("display runs only when released");
                        j.1.get_or_insert(now);
                        j.2
                    } else {
                        Nanos::MAX
                    };
                    running = Some((p.strand, now, now.saturating_add(p.quantum.min(work))));
                }
                None => now = next_release,
            }
            continue;
        };
        if next_release < end {
            now = next_release;
            continue;
        }
        now = end;
        let ran = end - start;
        running = None;
        if s != DISPLAY {
            sched.stop(s, ran, now, Stop::Runnable).expect("stop");
            continue;
        }
        let j = job.as_mut().expect("display job");
        j.2 -= ran;
        if j.2 > 0 {
            sched.stop(s, ran, now, Stop::Runnable).expect("stop");
            continue;
        }
        let (_, started, _) = job.take().expect("display job");
        let finished = now;
        display.run(started.unwrap_or(finished), || finished);
        sched.stop(s, ran, now, Stop::Blocked).expect("stop");
    }
    let scheduler_misses = sched
        .account(DISPLAY)
        .map(|a| a.deadline_misses)
        .unwrap_or_default();
    Outcome {
        video: display.telemetry(),
        scheduler_misses,
        releases,
    }
}

#[test]
fn the_display_strand_misses_no_deadline_under_edf_and_high_priority_rr() {
    println!("display strand, 30 frames/s, 4 ms budget, 3 CPU-bound strands, {SECONDS} s:");
    println!(
        "{:<26} {:>8} {:>9} {:>11} {:>6} {:>8} {:>14}",
        "policy", "releases", "displayed", "misses", "late", "dropped", "sched. misses"
    );
    let mut rows = Vec::new();
    for &policy in POLICY_NAMES {
        rows.push((policy.to_string(), run(policy, 8)));
    }
    rows.push((
        "rr-priority (display 24)".to_string(),
        run("rr-priority", 24),
    ));
    for (name, o) in &rows {
        println!(
            "{:<26} {:>8} {:>9} {:>11} {:>6} {:>8} {:>14}",
            name,
            o.releases,
            o.video.displayed,
            o.video.deadline_misses,
            o.video.late_frames,
            o.video.dropped_frames,
            o.scheduler_misses
        );
    }
    for (name, o) in &rows {
        let period = 1_000_000_000 / 30;
        assert_eq!(
            o.releases,
            (SECONDS * 1_000_000_000).div_ceil(period),
            "{name}"
        );
        assert!(
            o.video.decoded >= SECONDS * 30 - 1,
            "{name}: every frame decoded"
        );
    }
    for name in ["edf", "rr-priority (display 24)"] {
        let (_, o) = rows.iter().find(|(n, _)| n == name).expect("row");
        assert_eq!(o.video.deadline_misses, 0, "{name}");
        assert_eq!(o.scheduler_misses, 0, "{name}: the scheduler agrees");
        assert_eq!(
            o.video.displayed, o.releases,
            "{name}: a frame every interval"
        );
        assert_eq!(
            (o.video.late_frames, o.video.dropped_frames),
            (0, 0),
            "{name}"
        );
    }
}
