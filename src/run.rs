//! `spin run` and `spin demo`: one kernel, the manifest's mounds, and a
//! way to watch them (the dashboard, plain output, or telemetry records).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use spin_kernel::telemetry::MoundState;
use spin_kernel::MoundId;
use spin_scheduler::telemetry::MoundRow;
use spin_unix::{SharedWriter, Stdio};
use spin_vmm::control::{serve, Controller, LogBook, Telemetry};
use spin_vmm::host::{Host, MachineKind, MoundConfig};
use spin_vmm::manifest::Manifest;
use spin_vmm::net::{Backend, Extension, NetworkConfig, PortForward};
use spin_vmm::video::{VideoConfig, VideoMoundTelemetry};

use crate::snapshot::{check_dir, Snapshots};

/// How often `--snapshot-dir` saves the clients' frames.
const SNAPSHOT_EVERY: Duration = Duration::from_secs(1);

/// How a host is watched (shared by `spin run` and `spin demo`).
#[derive(clap::Args, Debug, Clone)]
pub struct RunOpts {
    /// Serve the control plane (JSON lines) on this Unix-domain socket, for
    /// `spin top --attach` and `spin ctl`.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// No dashboard: print the mounds' output as it comes and a summary at
    /// the end (the default when standard output is not a terminal).
    #[arg(long)]
    pub headless: bool,
    /// With --headless: print telemetry records instead, one per interval.
    #[arg(long, requires = "headless")]
    pub batch: bool,
    /// Records as JSON objects, one per line (the default with --batch).
    #[arg(long, requires = "batch", conflicts_with = "csv")]
    pub json: bool,
    /// Records as CSV, one row per mound per record, header first.
    #[arg(long, requires = "batch")]
    pub csv: bool,
    /// Milliseconds between records (--batch) or dashboard refreshes.
    #[arg(long, value_name = "MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(50..=60_000))]
    pub interval: u64,
    /// Stop every mound after this many seconds of host time (default: run
    /// until the mounds finish or you quit; `spin demo` without a terminal
    /// stops after 10 s).
    #[arg(long, value_name = "S")]
    pub duration: Option<f64>,
    /// The machine (overrides the manifest): `alpha` (the bundled emulator)
    /// or `kvm` (x86-64 guests under /dev/kvm).
    #[arg(long, value_name = "MACHINE", value_parser = ["alpha", "kvm"])]
    pub machine: Option<String>,
    /// The global policy to start with (overrides the manifest).
    #[arg(long, value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(spin_scheduler::POLICY_NAMES))]
    pub policy: Option<String>,
    /// The dashboard's keymap and theme (default:
    /// $XDG_CONFIG_HOME/spin/console.toml).
    #[arg(long, value_name = "FILE")]
    pub ui_config: Option<PathBuf>,
    /// Save each video client's current frame as PNG into DIR
    /// (MOUND-GENERATION.png), once a second while it changes and at the
    /// end of the run; DIR is created if missing.
    #[arg(long, value_name = "DIR")]
    pub snapshot_dir: Option<PathBuf>,
    /// With --snapshot-dir: how many of its newest files to keep per video
    /// client (older ones this run wrote are removed).
    #[arg(long, value_name = "N", default_value_t = 100, requires = "snapshot_dir",
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub snapshot_keep: u64,
    #[command(flatten)]
    pub net: NetOpts,
}

/// The network flags of `spin run` and `spin exec` (override or add to a
/// manifest's `[network]`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct NetOpts {
    /// The kernel's network: `user` (no privileges; host loopback ports
    /// forwarded in with --hostfwd), `tap:NAME` (a TAP interface) or `none`.
    #[arg(long, value_name = "user|tap:NAME|none")]
    pub net: Option<String>,
    /// The stack's address (default 10.0.2.15/24).
    #[arg(long, value_name = "CIDR")]
    pub net_addr: Option<String>,
    /// The stack's default gateway (user mode: the gateway's address,
    /// default 10.0.2.2).
    #[arg(long, value_name = "IP")]
    pub net_gateway: Option<std::net::Ipv4Addr>,
    /// Forward host 127.0.0.1:HOST to the stack's GUEST port (user mode;
    /// repeatable; TCP unless `udp:`).
    #[arg(long, value_name = "[udp:]HOST:GUEST")]
    pub hostfwd: Vec<String>,
    /// User mode: the gateway's PORT reaches host 127.0.0.1:PORT (repeatable).
    #[arg(long, value_name = "PORT")]
    pub guestfwd: Vec<u16>,
    /// Inject NIC faults: fractions of frames dropped, duplicated, reordered,
    /// e.g. drop=0.01,dup=0,reorder=0,seed=7.
    #[arg(long, value_name = "SPEC")]
    pub net_faults: Option<String>,
    /// µs the network pump polls the NIC before sleeping (latency vs a
    /// spinning core).
    #[arg(long, value_name = "US")]
    pub busy_poll_us: Option<u64>,
    /// Install the in-kernel UDP echo extension on PORT (repeatable).
    #[arg(long, value_name = "PORT")]
    pub udp_echo: Vec<u16>,
}

impl NetOpts {
    /// Whether any network flag was given.
    fn any(&self) -> bool {
        self.net.is_some()
            || self.net_addr.is_some()
            || self.net_gateway.is_some()
            || !self.hostfwd.is_empty()
            || !self.guestfwd.is_empty()
            || self.net_faults.is_some()
            || self.busy_poll_us.is_some()
            || !self.udp_echo.is_empty()
    }

    /// Applies the flags to `cfg` (creating a user-mode network when a flag
    /// asks for one and there is none).
    pub fn apply(&self, cfg: &mut Option<NetworkConfig>) -> Result<()> {
        if !self.any() {
            return Ok(());
        }
        if self.net.as_deref() == Some("none") {
            *cfg = None;
            return Ok(());
        }
        let n = cfg.get_or_insert_with(NetworkConfig::default);
        match self.net.as_deref() {
            None => {}
            Some("user") if matches!(n.backend, Backend::User { .. }) => {}
            Some("user") => {
                n.backend = Backend::User {
                    hostfwd: Vec::new(),
                    guestfwd: Vec::new(),
                };
                n.gateway = NetworkConfig::default().gateway;
            }
            Some(spec) => match spec.strip_prefix("tap:") {
                Some(name) if !name.is_empty() => {
                    n.backend = Backend::Tap {
                        name: name.to_string(),
                    };
                    n.gateway = None;
                }
                _ => bail!("--net {spec}: expected user or tap:NAME"),
            },
        }
        if let Some(a) = &self.net_addr {
            let (addr, prefix) =
                spin_vmm::net::parse_cidr(a).map_err(|e| anyhow::anyhow!("--net-addr {e}"))?;
            n.address = addr;
            n.prefix_len = prefix;
        }
        if let Some(g) = self.net_gateway {
            n.gateway = Some(g);
        }
        if let Some(f) = &self.net_faults {
            n.faults = Some(f.parse().map_err(|e| anyhow::anyhow!("--net-faults {e}"))?);
        }
        if let Some(b) = self.busy_poll_us {
            n.busy_poll_us = b;
        }
        n.extensions.extend(
            self.udp_echo
                .iter()
                .map(|&port| Extension::UdpEcho { port }),
        );
        let forwards = self
            .hostfwd
            .iter()
            .map(|h| {
                h.parse::<PortForward>()
                    .map_err(|e| anyhow::anyhow!("--hostfwd {e}"))
            })
            .collect::<Result<Vec<_>>>()?;
        match &mut n.backend {
            Backend::User { hostfwd, guestfwd } => {
                hostfwd.extend(forwards);
                guestfwd.extend(self.guestfwd.iter().copied());
            }
            Backend::Tap { .. } if !forwards.is_empty() || !self.guestfwd.is_empty() => {
                bail!("--hostfwd and --guestfwd are for --net user; a tap's stack is reachable at its own address")
            }
            Backend::Tap { .. } => {}
        }
        Ok(())
    }
}

impl RunOpts {
    /// The `--machine` override.
    pub fn machine(&self) -> Option<MachineKind> {
        match self.machine.as_deref() {
            Some("kvm") => Some(MachineKind::Kvm),
            Some(_) => Some(MachineKind::Alpha),
            None => None,
        }
    }
}

enum Mode {
    Dashboard,
    Plain,
    Json,
    Csv,
}

/// Runs the mounds `manifest` lists until they finish, the duration ends or
/// the operator quits.
pub fn run(manifest: Manifest, opts: RunOpts, title: &str, demo: bool) -> Result<ExitCode> {
    let mode = match (opts.headless, opts.batch, opts.csv) {
        (false, _, _) if std::io::stdout().is_terminal() => Mode::Dashboard,
        (_, true, true) => Mode::Csv,
        (_, true, false) => Mode::Json,
        _ => Mode::Plain,
    };
    let duration = match (opts.duration, &mode) {
        (Some(s), _) if !(s > 0.0 && s.is_finite()) => bail!("--duration must be positive"),
        (Some(s), _) => Some(Duration::from_secs_f64(s)),
        (None, Mode::Dashboard) => None,
        (None, _) if demo => Some(Duration::from_secs(10)),
        (None, _) => None,
    };
    let mut cfg = manifest.host;
    if let Some(dir) = &opts.snapshot_dir {
        if !cfg
            .video
            .iter()
            .any(|v| matches!(v, VideoConfig::Client { .. }))
        {
            bail!(
                "--snapshot-dir {}: the manifest has no video-client mound to save frames of",
                dir.display()
            );
        }
        check_dir(dir)?;
    }
    let started = Instant::now();
    let log = Arc::new(LogBook::new(started));
    opts.net.apply(&mut cfg.network)?;
    if let Some(p) = &opts.policy {
        cfg.scheduler.policy = p.clone();
    }
    for m in &mut cfg.mounds {
        let MoundConfig::Unix(u) = m;
        let w = SharedWriter::new(log.writer(&u.name));
        u.stdout = Stdio::Writer(w.clone());
        u.stderr = Stdio::Writer(w);
    }
    let summary = format!(
        "booted: {} machine, {} vCPU(s), policy {}, {} mound(s)",
        match cfg.machine {
            MachineKind::Alpha => "alpha",
            MachineKind::Kvm => "kvm",
        },
        cfg.cpus,
        cfg.scheduler.policy,
        cfg.mounds.len()
    );
    let unix_mounds = !cfg.mounds.is_empty();
    let host = Arc::new(Host::build(cfg)?);
    log.push("kernel", summary);
    // Video mounds stream until they are stopped: with any, the run lasts
    // until the duration ends or the operator quits.
    let video = !host.video().is_empty();
    let saver = match &opts.snapshot_dir {
        Some(dir) => {
            let clients = host
                .video()
                .iter()
                .filter_map(|v| v.framebuffer().map(|fb| (v.name().to_string(), fb.clone())))
                .collect();
            let keep = usize::try_from(opts.snapshot_keep).unwrap_or(usize::MAX);
            Some(Snapshots::new(dir, keep, clients).spawn(SNAPSHOT_EVERY, log.clone())?)
        }
        None => None,
    };
    let controller = Arc::new(Controller::new(host.clone(), log.clone(), started));
    let _server = match &opts.socket {
        Some(p) => Some(
            serve(p, controller.clone())
                .with_context(|| format!("control socket {}", p.display()))?,
        ),
        None => None,
    };
    // Set before the run is ended from here (duration, quit): the mounds
    // then did not finish on their own.
    let stopping = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let runner = {
        let host = host.clone();
        let log = log.clone();
        let stopping = stopping.clone();
        std::thread::Builder::new()
            .name("host".into())
            .spawn(move || {
                let r = host.run(|_| {});
                let stopped = stopping.load(std::sync::atomic::Ordering::Relaxed);
                match (unix_mounds, video) {
                    (true, false) => log.push("kernel", "every mound is done"),
                    (true, true) if !stopped => log.push(
                        "kernel",
                        "the UNIX mounds are done; the video mounds stream on",
                    ),
                    _ => {}
                }
                r
            })?
    };
    let deadline = duration.map(|d| started + d);
    let interval = Duration::from_millis(opts.interval);
    let stdout = std::io::stdout();
    // Plain mode: the last log line printed.
    let mut seen = 0;
    match mode {
        Mode::Dashboard => {
            crate::tui::open(
                Box::new(controller.clone()),
                interval,
                opts.ui_config.clone(),
                title.to_string(),
            )?;
        }
        Mode::Json => {
            let mut out = stdout.lock();
            watch(&runner, video, deadline, interval, || {
                let rec = controller.telemetry();
                writeln!(out, "{}", serde_json::to_string(&rec)?)?;
                out.flush()?;
                Ok(())
            })?;
        }
        Mode::Csv => {
            let mut out = stdout.lock();
            writeln!(out, "{}", CSV_HEADER)?;
            watch(&runner, video, deadline, interval, || {
                write_csv(&mut out, &controller.telemetry())?;
                out.flush()?;
                Ok(())
            })?;
        }
        Mode::Plain => {
            let mut out = stdout.lock();
            watch(&runner, video, deadline, Duration::from_millis(100), || {
                print_log(&log, &mut seen, &mut out)
            })?;
        }
    }
    // Whatever still runs was asked to stop by the clock or the operator:
    // note who finished on their own first.
    let before = controller.telemetry();
    stopping.store(true, std::sync::atomic::Ordering::Relaxed);
    host.stop_all();
    runner
        .join()
        .map_err(|_| anyhow::anyhow!("the host thread panicked"))??;
    let last = controller.telemetry();
    let videos: Vec<VideoMoundTelemetry> = host.video().iter().map(|v| v.telemetry()).collect();
    let (saved, snapshot_errors) = saver.map_or_else(Default::default, |s| s.finish());
    let mut out = stdout.lock();
    match mode {
        Mode::Json => writeln!(out, "{}", serde_json::to_string(&last)?)?,
        Mode::Csv => write_csv(&mut out, &last)?,
        Mode::Plain => {
            // Everything up to the mounds' last words, then the summary.
            print_log(&log, &mut seen, &mut out)?;
            print_summary(&mut out, &last, started.elapsed())?;
            print_video(&mut out, &videos, opts.snapshot_dir.as_deref(), &saved)?;
        }
        Mode::Dashboard => {
            print_summary(&mut out, &last, started.elapsed())?;
            print_video(&mut out, &videos, opts.snapshot_dir.as_deref(), &saved)?;
        }
    }
    for e in &snapshot_errors {
        eprintln!("spin: {e}");
    }
    let failed: Vec<String> = before
        .mounds
        .iter()
        .filter_map(|m| match &m.state {
            MoundState::Exited(s) if *s != 0 => Some(format!("{} exited with status {s}", m.name)),
            MoundState::Failed(why) => Some(format!("{} failed: {why}", m.name)),
            _ => None,
        })
        .collect();
    if !failed.is_empty() {
        eprintln!("spin: {}", failed.join("; "));
    }
    if failed.is_empty() && snapshot_errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}

/// Prints the log lines after `seen` as `[source] text` and advances `seen`.
fn print_log(log: &LogBook, seen: &mut u64, out: &mut dyn Write) -> Result<()> {
    for l in log.since(*seen, LogBook::CAPACITY) {
        *seen = l.seq;
        writeln!(out, "[{}] {}", l.source, l.text)?;
    }
    out.flush()?;
    Ok(())
}

/// The global scheduler's row for mound `id`.
fn sched_row(t: &Telemetry, id: MoundId) -> Option<&MoundRow> {
    t.sched.mounds.iter().find(|r| r.mound == id)
}

/// Calls `tick` every `interval` until the host finishes (unless video
/// mounds keep it going: `video`) or `deadline`.
fn watch(
    runner: &std::thread::JoinHandle<Result<spin_vmm::host::RunReport, spin_vmm::host::HostError>>,
    video: bool,
    deadline: Option<Instant>,
    interval: Duration,
    mut tick: impl FnMut() -> Result<()>,
) -> Result<()> {
    let mut next = Instant::now();
    loop {
        if (runner.is_finished() && !video) || deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(());
        }
        let now = Instant::now();
        if now >= next {
            if let Err(e) = tick() {
                // A closed pipe (`spin demo --headless | head`) ends the watch.
                if e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
                {
                    return Ok(());
                }
                return Err(e);
            }
            next = now + interval;
        }
        let until = deadline.map_or(next, |d| d.min(next));
        std::thread::sleep(
            until
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(20)),
        );
    }
}

const CSV_HEADER: &str = "seq,host_ms,machine_ns,policy,running,mound_id,mound,kind,state,tasks,frames,quota,faults,reclaimed,evicted,calls,strands,cpu_ns,cpu_share";

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn state_label(s: &MoundState) -> String {
    match s {
        MoundState::Running => "running".into(),
        MoundState::Exited(c) => format!("exited({c})"),
        MoundState::Stopped => "stopped".into(),
        MoundState::Failed(_) => "failed".into(),
    }
}

fn write_csv(out: &mut dyn Write, t: &Telemetry) -> Result<()> {
    for m in &t.mounds {
        let row = sched_row(t, m.id);
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.4}",
            t.seq,
            t.host_ms,
            t.machine_ns,
            csv_field(&t.policy),
            t.running,
            m.id.0,
            csv_field(&m.name),
            csv_field(&m.kind),
            state_label(&m.state),
            m.tasks,
            m.frames,
            m.quota.map_or(String::new(), |q| q.to_string()),
            m.faults,
            m.reclaimed,
            m.evicted,
            m.calls,
            row.map_or(0, |r| r.strands),
            row.map_or(0, |r| r.account.cpu_ns),
            row.map_or(0.0, |r| r.cpu_share),
        )?;
    }
    Ok(())
}

fn print_summary(out: &mut dyn Write, t: &Telemetry, host: Duration) -> Result<()> {
    let secs = host.as_secs_f64().max(1e-9);
    if t.machine == "alpha" {
        // Alpha machine time is instructions retired (1 ns each).
        writeln!(
            out,
            "[kernel] {:.1} s host time, {:.3} s machine time ({:.0} guest MIPS), {} turns",
            secs,
            t.machine_ns as f64 / 1e9,
            t.machine_ns as f64 / secs / 1e6,
            t.turns
        )?;
    } else {
        writeln!(
            out,
            "[kernel] {:.1} s host time, {:.3} s in the guest, {} turns",
            secs,
            t.machine_ns as f64 / 1e9,
            t.turns
        )?;
        for v in &t.vcpus {
            let top: Vec<String> = v
                .reasons
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            writeln!(
                out,
                "[kernel] vcpu{}: {} exits ({})",
                v.index,
                v.exits,
                top.join(", ")
            )?;
        }
    }
    writeln!(
        out,
        "[kernel] policy {} ({} swap(s)), fairness {:.3}",
        t.policy, t.sched.swaps_total, t.sched.fairness
    )?;
    for s in &t.sched.swaps {
        writeln!(
            out,
            "[kernel]   at {:.3} s: {} -> {} by {}",
            s.at as f64 / 1e9,
            s.from,
            s.to,
            s.who
        )?;
    }
    writeln!(
        out,
        "{:<10} {:<10} {:>6} {:>12} {:>9} {:>9} {:>10} {:>10}",
        "mound", "state", "procs", "cpu (ms)", "share", "frames", "faults", "syscalls"
    )?;
    for m in &t.mounds {
        let row = sched_row(t, m.id);
        writeln!(
            out,
            "{:<10} {:<10} {:>6} {:>12.1} {:>8.1}% {:>9} {:>10} {:>10}",
            m.name,
            state_label(&m.state),
            m.tasks,
            row.map_or(0, |r| r.account.cpu_ns) as f64 / 1e6,
            row.map_or(0.0, |r| r.cpu_share) * 100.0,
            m.frames,
            m.faults,
            m.calls
        )?;
    }
    Ok(())
}

/// The video mounds' counters at the end, one line each, and where the
/// snapshots went.
fn print_video(
    out: &mut dyn Write,
    videos: &[VideoMoundTelemetry],
    snapshot_dir: Option<&std::path::Path>,
    saved: &[PathBuf],
) -> Result<()> {
    for v in videos {
        match v {
            VideoMoundTelemetry::Server { name, stats, .. } => writeln!(
                out,
                "[video] {name}: server, {} frames sent ({} skipped, {} bad), {} subscriber(s)",
                stats.frames, stats.skipped_frames, stats.bad_frames, stats.subscribers
            )?,
            VideoMoundTelemetry::Client {
                name,
                video,
                fb_generation,
                ..
            } => writeln!(
                out,
                "[video] {name}: client, {} frames decoded, {} shown ({:.1}/s), {} late, {} dropped, \
                 {} deadline misses, {} decode errors, framebuffer generation {fb_generation}",
                video.decoded,
                video.displayed,
                video.fps,
                video.late_frames,
                video.dropped_frames,
                video.deadline_misses,
                video.decode_errors
            )?,
        }
    }
    if let Some(dir) = snapshot_dir {
        let last: Vec<String> = saved
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        writeln!(
            out,
            "[video] snapshots in {}{}",
            dir.display(),
            if last.is_empty() {
                String::new()
            } else {
                format!(", newest: {}", last.join(", "))
            }
        )?;
    }
    Ok(())
}
