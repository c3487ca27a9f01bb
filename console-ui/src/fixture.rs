//! A hand-built, realistic telemetry stream for tests: two UNIX mounds (a
//! CPU benchmark and a shell running pipelines), eight strands, three policy
//! swaps (one by the watchdog), six events and a log. [`kvm_record`] is the
//! same mix on the KVM machine, with two vCPUs' exit counts; [`mix`] adds a
//! database pager mound, the video mounds and the network.

pub mod mix;

use spin_kernel::event::{EventTelemetry, HandlerTelemetry, Mode, Order};
use spin_kernel::mem::phys::OwnerTelemetry;
use spin_kernel::strand::{Reservation, StrandInfo, StrandTelemetry};
use spin_kernel::telemetry::{
    DomainTelemetry, FrameTelemetry, KernelSnapshot, MoundState, MoundTelemetry,
};
use spin_kernel::{Arch, MoundId, SchedParams, StrandId, StrandState};
use spin_scheduler::accounting::AccountRow;
use spin_scheduler::histogram::LatencySummary;
use spin_scheduler::telemetry::{MoundRow, StrandRow, SwapRecord};
use spin_scheduler::watchdog::{WatchdogFiring, WatchdogTelemetry};
use spin_scheduler::SchedTelemetry;
use spin_vmm::control::{LogLine, Telemetry};
use spin_vmm::kvm::{VcpuTelemetry, EXIT_REASONS};

const MS: u64 = 1_000_000;
/// Frames of RAM in the fixture.
const TOTAL: u64 = 1024;

struct StrandSpec {
    id: u32,
    name: &'static str,
    mound: u32,
    state: StrandState,
    priority: u8,
    weight: u32,
    /// CPU time gained per record, ns.
    cpu_per_rec: u64,
    p99: u64,
    periodic: bool,
}

const STRANDS: [StrandSpec; 8] = [
    spec(
        1,
        "bench pid 1",
        1,
        StrandState::Blocked,
        16,
        100,
        MS,
        40_000,
        false,
    ),
    spec(
        2,
        "bench pid 2",
        1,
        StrandState::Running,
        16,
        200,
        60 * MS,
        180_000,
        false,
    ),
    spec(
        3,
        "bench pid 3",
        1,
        StrandState::Runnable,
        16,
        200,
        55 * MS,
        2_600_000,
        true,
    ),
    spec(
        4,
        "shell pid 1",
        2,
        StrandState::Blocked,
        20,
        100,
        2 * MS,
        25_000,
        false,
    ),
    spec(
        5,
        "shell pid 7",
        2,
        StrandState::Running,
        20,
        100,
        18 * MS,
        90_000,
        false,
    ),
    spec(
        6,
        "shell pid 8",
        2,
        StrandState::Runnable,
        20,
        100,
        12 * MS,
        120_000,
        false,
    ),
    spec(
        7,
        "shell pid 9",
        2,
        StrandState::Blocked,
        12,
        50,
        4 * MS,
        310_000,
        false,
    ),
    spec(
        8,
        "shell pid 6",
        2,
        StrandState::Exited,
        20,
        100,
        0,
        15_000,
        false,
    ),
];

#[allow(clippy::too_many_arguments)]
const fn spec(
    id: u32,
    name: &'static str,
    mound: u32,
    state: StrandState,
    priority: u8,
    weight: u32,
    cpu_per_rec: u64,
    p99: u64,
    periodic: bool,
) -> StrandSpec {
    StrandSpec {
        id,
        name,
        mound,
        state,
        priority,
        weight,
        cpu_per_rec,
        p99,
        periodic,
    }
}

fn params(s: &StrandSpec) -> SchedParams {
    SchedParams {
        priority: s.priority,
        weight: s.weight,
        reservation: s.periodic.then_some(Reservation {
            period: 10 * MS,
            deadline: 10 * MS,
            budget: 3 * MS,
        }),
    }
}

/// A bursty cumulative counter: Σ over records 0..=i of base + a wobble.
fn bursty(i: u64, base: u64, wobble: u64) -> u64 {
    (0..=i).map(|k| base + (k * 7 + 3) % (wobble + 1)).sum()
}

fn mound(i: u64, id: u32) -> MoundTelemetry {
    let mut m = MoundTelemetry::new(MoundId(id), if id == 1 { "bench" } else { "shell" }, "unix");
    m.memory_manager = "unix-mm: demand paging, COW, clock + swap".into();
    m.strand_package = "unix threads: 1 strand per thread".into();
    if id == 1 {
        m.program = "/bin/cpubench -j 3 200000".into();
        m.tasks = 3;
        m.frames = (120 + 6 * i).min(256);
        m.quota = Some(256);
        m.faults = 120 + bursty(i, 4, 10);
        m.calls = 400 + 35 * i;
    } else {
        m.program = "/bin/sh /etc/pipelines.sh".into();
        m.tasks = 4;
        m.frames = 60 + (i % 5) * 12;
        m.quota = Some(128);
        m.faults = 300 + bursty(i, 30, 25);
        m.reclaimed = bursty(i, 0, 8);
        m.evicted = bursty(i, 1, 5);
        m.calls = 2_000 + 610 * i;
    }
    m
}

fn strand_row(i: u64, s: &StrandSpec) -> StrandRow {
    let cpu_ns = s.cpu_per_rec * (i + 1);
    StrandRow {
        id: StrandId(s.id),
        name: s.name.into(),
        mound: MoundId(s.mound),
        state: s.state,
        params: params(s),
        account: AccountRow {
            cpu_ns,
            wait_ns: cpu_ns / 3,
            max_wait_ns: s.p99 * 2,
            dispatches: 10 * (i + 1),
            wakeups: 4 * (i + 1),
            wake_latency: LatencySummary {
                count: 4 * (i + 1),
                p50_ns: s.p99 / 4,
                p99_ns: s.p99,
                max_ns: s.p99 + s.p99 / 2,
                mean_ns: s.p99 / 3,
            },
            jobs: if s.periodic { 20 * (i + 1) } else { 0 },
            deadline_misses: if s.periodic { 3 + i / 4 } else { 0 },
        },
    }
}

fn swap(at_ms: u64, from: &str, to: &str, who: &str, why: &str, moved: usize) -> SwapRecord {
    SwapRecord {
        at: at_ms * MS,
        from: from.into(),
        to: to.into(),
        who: who.into(),
        why: why.into(),
        moved,
    }
}

fn handler(id: u64, installer: &str, guards: usize, runs: u64, misses: u64) -> HandlerTelemetry {
    HandlerTelemetry {
        id,
        installer: installer.into(),
        primary: guards == 0,
        mode: Mode::Sync,
        order: Order::Any,
        guards,
        indexed: guards > 0,
        dispatches: runs,
        guard_misses: misses,
        faults: 0,
        abandoned: 0,
    }
}

fn event(name: &str, raises: u64, faults: u64, handlers: Vec<HandlerTelemetry>) -> EventTelemetry {
    EventTelemetry {
        name: name.into(),
        handlers: handlers.len(),
        raises,
        contained_faults: faults,
        handler_stats: handlers,
    }
}

fn events(i: u64) -> Vec<EventTelemetry> {
    let sys1 = 400 + 35 * i;
    let sys2 = 2_000 + 610 * i;
    let mut console = handler(9, "shell", 1, 40 + i, 0);
    console.faults = 1;
    vec![
        event(
            "Trap.Syscall",
            sys1 + sys2,
            0,
            vec![
                handler(1, "unix:bench", 1, sys1, sys2),
                handler(2, "unix:shell", 1, sys2, sys1),
            ],
        ),
        event(
            "Trap.PageFault",
            420 + 50 * i,
            0,
            vec![
                handler(3, "unix:bench", 1, 120 + 9 * i, 300 + 41 * i),
                handler(4, "unix:shell", 1, 300 + 41 * i, 120 + 9 * i),
            ],
        ),
        event(
            "PhysAddr.Reclaim",
            4 * i,
            0,
            vec![handler(5, "unix-mm:shell", 1, 4 * i, 0)],
        ),
        event(
            "Strand.Block",
            900 + 80 * i,
            0,
            vec![handler(6, "scheduler", 0, 900 + 80 * i, 0)],
        ),
        event(
            "Strand.Unblock",
            890 + 80 * i,
            0,
            vec![handler(7, "scheduler", 0, 890 + 80 * i, 0)],
        ),
        event(
            "Console.Write",
            40 + i,
            1,
            vec![handler(8, "console", 0, 40 + i, 0), console],
        ),
    ]
}

fn frame_map(owners: &[OwnerTelemetry]) -> Vec<Option<MoundId>> {
    let mut map = Vec::with_capacity(64);
    for o in owners {
        let cells = (o.used * 64 / TOTAL) as usize;
        map.extend(std::iter::repeat_n(Some(o.owner), cells));
    }
    map.resize(64, None);
    map
}

fn log(i: u64) -> Vec<LogLine> {
    let mut lines = vec![
        (
            0,
            "kernel",
            "alpha machine: 2 vCPUs, 1024 frames of 8 KiB".to_string(),
        ),
        (
            1,
            "kernel",
            "mound 1 (bench) started: /bin/cpubench -j 3 200000".into(),
        ),
        (
            2,
            "kernel",
            "mound 2 (shell) started: /bin/sh /etc/pipelines.sh".into(),
        ),
        (1_200, "kernel", "policy swap rr-priority -> lottery".into()),
        (
            2_500,
            "kernel",
            "watchdog: strand 7 waited 2.1s; policy lottery reverted".into(),
        ),
        (4_100, "kernel", "policy swap rr-priority -> stride".into()),
        (
            4_300,
            "kernel",
            "event Console.Write: handler 9 (shell) panicked; uninstalled".into(),
        ),
    ];
    // Only what happened by the record's time, so line numbers are stable
    // from record to record (as the host's are).
    lines.retain(|l| l.0 <= 1_000 * (i + 1));
    for k in 0..=i {
        lines.push((
            1_000 * k + 500,
            "bench",
            format!("round {k}: 200000 iterations"),
        ));
        lines.push((1_000 * k + 700, "shell", format!("{} lines", 40 + k * 3)));
    }
    lines.sort_by_key(|l| l.0);
    lines
        .into_iter()
        .enumerate()
        .map(|(n, (ms, source, text))| LogLine {
            seq: n as u64 + 1,
            host_ms: ms,
            source: source.into(),
            text,
        })
        .collect()
}

/// Record `i` (from 0) of the stream.
pub fn record(i: u64) -> Telemetry {
    let mounds = vec![mound(i, 1), mound(i, 2)];
    let strands: Vec<StrandRow> = STRANDS.iter().map(|s| strand_row(i, s)).collect();
    let mut owners = vec![OwnerTelemetry {
        owner: MoundId::KERNEL,
        used: 96,
        quota: None,
        peak: 96,
        reclaimed: 0,
    }];
    owners.extend(mounds.iter().map(|m| OwnerTelemetry {
        owner: m.id,
        used: m.frames,
        quota: m.quota,
        peak: m.frames,
        reclaimed: m.reclaimed,
    }));
    let used: u64 = owners.iter().map(|o| o.used).sum();
    let cpu = |m: u32| {
        strands
            .iter()
            .filter(|s| s.mound == MoundId(m))
            .map(|s| s.account.cpu_ns)
            .sum::<u64>()
    };
    let total_cpu = (cpu(1) + cpu(2)).max(1) as f64;
    let mound_row = |m: u32| MoundRow {
        mound: MoundId(m),
        strands: strands.iter().filter(|s| s.mound == MoundId(m)).count(),
        local_scheduler: None,
        group_state: None,
        cpu_share: cpu(m) as f64 / total_cpu,
        account: AccountRow {
            cpu_ns: cpu(m),
            ..AccountRow::default()
        },
    };
    let machine_ns = 200 * MS * (i + 1);
    let sched = SchedTelemetry {
        now: machine_ns,
        policy: "stride".into(),
        runnable: 2,
        running: 2,
        blocked: 3,
        exited: 1,
        swaps: vec![
            swap(1_200, "rr-priority", "lottery", "console", "operator", 5),
            swap(
                2_500,
                "lottery",
                "rr-priority",
                "watchdog",
                "strand 7 starved",
                6,
            ),
            swap(4_100, "rr-priority", "stride", "spin ctl", "operator", 6),
        ],
        swaps_total: 3,
        watchdog: WatchdogTelemetry {
            enabled: true,
            bound: 2_000 * MS,
            firings: 1,
            last: Some(WatchdogFiring {
                at: 2_500 * MS,
                policy: "lottery".into(),
                strand: StrandId(7),
                waited: 2_100 * MS,
                bound: 2_000 * MS,
            }),
            oldest_wait: 3 * MS / 2,
        },
        fairness: 0.87,
        strands: strands.clone(),
        mounds: vec![mound_row(1), mound_row(2)],
    };
    let kernel = KernelSnapshot {
        kernel: 1,
        arch: Arch::Alpha,
        host_us: (i + 1) * 1_000_000,
        domains: vec![DomainTelemetry {
            name: "unix".into(),
            exports: vec!["Trap.Syscall".into()],
            unresolved: Vec::new(),
        }],
        events: events(i),
        frames: FrameTelemetry {
            page_size: 8192,
            total: TOTAL,
            free: TOTAL - used,
            map: frame_map(&owners),
            owners,
        },
        strands: strands
            .iter()
            .map(|s| StrandTelemetry {
                info: StrandInfo {
                    id: s.id,
                    name: s.name.clone(),
                    mound: s.mound,
                    params: s.params,
                },
                state: s.state,
            })
            .collect(),
    };
    Telemetry {
        seq: i + 1,
        host_ms: 1_000 * (i + 1),
        machine: "alpha".into(),
        cpus: 2,
        policy: "stride".into(),
        machine_ns,
        turns: 5_000 * (i + 1),
        running: true,
        mounds,
        sched,
        kernel,
        log: log(i),
        vcpus: Vec::new(),
        net: None,
        nic: None,
        video: Vec::new(),
        pagers: Vec::new(),
    }
}

/// The first `n` records.
pub fn records(n: usize) -> Vec<Telemetry> {
    (0..n as u64).map(record).collect()
}

/// Exits per second of each reason on each vCPU, as (base, wobble), in
/// [`EXIT_REASONS`] order: vCPU 0 runs the CPU benchmark (mostly quantum
/// kicks and its few system calls), vCPU 1 the shell's pipelines (system
/// calls and faults of short-lived processes).
const VCPU_RATES: [[(u64, u64); 9]; 2] = [
    [
        (1_800, 400),
        (60, 20),
        (45, 10),
        (0, 1),
        (100, 4),
        (6, 3),
        (12, 5),
        (0, 0),
        (0, 0),
    ],
    [
        (5_200, 900),
        (240, 60),
        (180, 40),
        (2, 2),
        (100, 3),
        (14, 6),
        (30, 8),
        (0, 0),
        (2, 2),
    ],
];

fn vcpu(i: u64, index: usize) -> VcpuTelemetry {
    let reasons: Vec<(String, u64)> = EXIT_REASONS
        .iter()
        .zip(VCPU_RATES[index])
        .map(|(name, (base, wobble))| (name.to_string(), bursty(i, base, wobble)))
        .collect();
    let (run_ms, run_wobble, pte, pte_wobble) = if index == 0 {
        (870, 40, 70, 20)
    } else {
        (410, 120, 300, 80)
    };
    VcpuTelemetry {
        index,
        exits: reasons.iter().map(|r| r.1).sum(),
        reasons,
        run_ns: bursty(i, run_ms, run_wobble) * MS,
        pte_ops: bursty(i, pte, pte_wobble),
    }
}

/// Record `i` (from 0) of the stream on the KVM machine: x86-64 with 4 KiB
/// pages, and two vCPUs' exit counts and reasons.
pub fn kvm_record(i: u64) -> Telemetry {
    let mut t = record(i);
    t.machine = "kvm".into();
    t.kernel.arch = Arch::X86_64;
    t.kernel.frames.page_size = 4096;
    if let Some(first) = t.log.first_mut() {
        first.text = "kvm machine: 2 vCPUs, 1024 frames of 4 KiB".into();
    }
    t.vcpus = (0..2).map(|v| vcpu(i, v)).collect();
    t
}

/// The first `n` records on the KVM machine.
pub fn kvm_records(n: usize) -> Vec<Telemetry> {
    (0..n as u64).map(kvm_record).collect()
}

/// A mound whose program has finished, for state columns.
pub fn exited(mut t: Telemetry) -> Telemetry {
    t.mounds[1].state = MoundState::Exited(0);
    t.running = false;
    t
}
