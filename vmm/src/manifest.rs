//! Mound manifests: the TOML file `spin run --config` reads, turned into a
//! [`HostConfig`] for the builder.
//!
//! Everything is checked before anything starts: unknown keys, bad values,
//! missing programs and mount points are reported as `file:line:column:
//! what is wrong`.
//!
//! ```toml
//! machine = "alpha"          # alpha | kvm
//! cpus = 1                   # virtual CPUs
//! ram_mib = 512
//!
//! [scheduler]
//! policy = "rr-priority"     # rr-priority | stride | lottery | edf | fair
//! quantum = 2_000_000        # ns of machine time (one Alpha instruction = 1 ns)
//!
//! [[mound]]
//! name = "cpu"
//! type = "unix"              # unix | db-pager (a unix mound whose programs
//!                            # may link spin.db-pager: their own pager)
//! # pager_budget = 256       # db-pager: frames of a pager whose program
//!                            # asks for the default
//! program = "embedded:sh"    # a program the spin binary carries, or a host path
//! args = ["/bin/cpu.sh"]
//! quota_frames = 8192
//! priority = 16
//! weight = 100
//! mounts = [{ host = "data", guest = "/data", writable = false }]
//! ports = ["8080:80", "udp:5353:53"]   # host:guest, tcp unless udp: (user-mode hostfwd)
//!
//! [network]                  # one stack for the whole kernel (default: none,
//! backend = "user"           # or user mode when a mound has ports / an extension)
//! tap = "tap0"               # backend = "tap": the interface
//! address = "10.0.2.15/24"
//! gateway = "10.0.2.2"
//! mac = "02:00:00:00:00:01"  # default: locally administered, from the seed
//! guestfwd = [8000]          # user mode: 10.0.2.2:8000 reaches host 127.0.0.1:8000
//! busy_poll_us = 0
//! faults = { drop = 0.01, duplicate = 0.0, reorder = 0.0, seed = 1 }
//!
//! [[extension]]              # in-kernel extensions on the stack
//! kind = "udp-echo"          # udp-echo | udp-forward | tcp-forward
//! port = 7
//! # to = "10.0.2.2:9000"     # udp-forward / tcp-forward: where to
//!
//! [[mound]]                  # video mounds: extensions on the network (the
//! name = "tv"                # default user-mode one if none is given)
//! type = "video-server"      # streams RTP/JPEG to subscribed clients
//! clip = "embedded:testclip" # or a host Motion-JPEG file
//! port = 5004                # control datagrams in, stream out
//! fps = 30
//! mode = "multicast"         # multicast (relay on SendPacket) | per-client
//!
//! [[mound]]
//! name = "viewer"
//! type = "video-client"      # decodes into its framebuffer at fps
//! port = 6000
//! server = "10.0.2.15:5004"  # whom to subscribe to (none: any sender)
//! pool_frames = 4
//! ```
//!
//! Host paths are relative to the manifest's directory. A UNIX mound sees
//! every embedded file under `/bin`, its program's host directory
//! (read-only, at its host path) and the mounts it lists.

use std::collections::BTreeMap;
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use spin_kernel::strand::Reservation;
use spin_kernel::{Arch, SchedParams};
use spin_scheduler::policy::FairWeights;
use spin_scheduler::POLICY_NAMES;
use spin_unix::{GuestFile, HostMount, Stdio, UnixConfig};
use toml::Spanned;

use crate::host::{GroupConfig, HostConfig, MachineKind, MoundConfig, PagerMound};
use crate::net::{Backend, Extension, Faults, NetworkConfig, PortForward};
use crate::video::{ClipSource, VideoConfig};
use spin_video::server::SendMode;

/// A file the `spin` binary carries (the demo's programs and scripts).
#[derive(Debug, Clone)]
pub struct Embedded {
    /// Name (`cpubench`, `pipelines.sh`); it appears as `/bin/NAME`.
    pub name: String,
    /// The machine it is built for (None: any, e.g. a script).
    pub arch: Option<Arch>,
    /// Contents.
    pub bytes: Arc<[u8]>,
    /// Permission bits.
    pub mode: u32,
}

/// A manifest error, located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ManifestError {
    /// The manifest's path as given.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// What a manifest asks for.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The host to build (mounds' standard output and error go to `/dev/null`
    /// until the caller points them somewhere, e.g. the console's log).
    pub host: HostConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    machine: Option<Spanned<String>>,
    cpus: Option<Spanned<u64>>,
    ram_mib: Option<Spanned<u64>>,
    seed: Option<u64>,
    scheduler: Option<RawScheduler>,
    #[serde(default, rename = "mound")]
    mounds: Vec<Spanned<RawMound>>,
    network: Option<Spanned<RawNetwork>>,
    #[serde(default, rename = "extension")]
    extensions: Vec<Spanned<RawExtension>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    backend: Option<Spanned<String>>,
    tap: Option<Spanned<String>>,
    address: Option<Spanned<String>>,
    gateway: Option<Spanned<String>>,
    mac: Option<Spanned<String>>,
    #[serde(default)]
    guestfwd: Vec<Spanned<u64>>,
    busy_poll_us: Option<Spanned<u64>>,
    faults: Option<Spanned<RawFaults>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFaults {
    #[serde(default)]
    drop: f64,
    #[serde(default)]
    duplicate: f64,
    #[serde(default)]
    reorder: f64,
    #[serde(default = "one")]
    seed: u64,
}

fn one() -> u64 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExtension {
    kind: Spanned<String>,
    port: Spanned<u64>,
    to: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawScheduler {
    policy: Option<Spanned<String>>,
    quantum: Option<Spanned<u64>>,
    levels: Option<Spanned<u64>>,
    fair_slice: Option<Spanned<u64>>,
    fair_lag_bound: Option<Spanned<u64>>,
    fair_weights: Option<Spanned<String>>,
    watchdog: Option<bool>,
    stall_bound_ms: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMound {
    name: Spanned<String>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    program: Option<Spanned<String>>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    inherit_env: bool,
    cwd: Option<Spanned<String>>,
    stdin: Option<Spanned<String>>,
    quota_frames: Option<Spanned<u64>>,
    priority: Option<Spanned<u64>>,
    weight: Option<Spanned<u64>>,
    reservation: Option<Spanned<RawReservation>>,
    strands: Option<Spanned<RawStrands>>,
    #[serde(default)]
    mounts: Vec<Spanned<RawMount>>,
    #[serde(default)]
    ports: Vec<Spanned<String>>,
    seed: Option<u64>,
    #[serde(default)]
    trace_syscalls: bool,
    /// `db-pager` mounds: the default frame budget of a pager.
    pager_budget: Option<Spanned<u64>>,
    /// `video-server`: the Motion-JPEG clip (a host path, or
    /// `embedded:testclip`).
    clip: Option<Spanned<String>>,
    /// `video-server` / `video-client`: the UDP port.
    port: Option<Spanned<u64>>,
    /// `video-server` / `video-client`: frames per second.
    fps: Option<Spanned<u64>>,
    /// `video-server`: `multicast` (default) or `per-client`.
    mode: Option<Spanned<String>>,
    /// `video-client`: the server's `IP:PORT` to subscribe to.
    server: Option<Spanned<String>>,
    /// `video-client`: frame buffers in its pool.
    pool_frames: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReservation {
    period_us: u64,
    budget_us: u64,
    deadline_us: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStrands {
    /// `global` (every strand an entity of the global policy) or `group`
    /// (the mound is one entity; its strands are scheduled by `local`).
    scheduling: Option<Spanned<String>>,
    /// The local policy of a group: `round-robin` or a global policy's name.
    local: Option<Spanned<String>>,
    /// Local round-robin quantum, ns.
    local_quantum: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMount {
    host: String,
    guest: String,
    #[serde(default)]
    writable: bool,
}

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
    dir: &'a Path,
}

impl Ctx<'_> {
    fn err(&self, span: Range<usize>, message: impl Into<String>) -> ManifestError {
        let at = span.start.min(self.text.len());
        let before = &self.text[..at];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ManifestError {
            file: self.file.to_string(),
            line,
            column,
            message: message.into(),
        }
    }

    fn host_path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(p)
        }
    }
}

impl Manifest {
    /// Reads and checks the manifest at `path`.
    pub fn load(
        path: &Path,
        embedded: &[Embedded],
        machine: Option<MachineKind>,
    ) -> Result<Manifest, ManifestError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ManifestError {
            file: file.clone(),
            line: 1,
            column: 1,
            message: format!("cannot read: {e}"),
        })?;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Manifest::parse(&file, &text, dir, embedded, machine)
    }

    /// Checks manifest `text` (named `file` in errors; relative host paths
    /// are taken from `dir`). `machine`, when given, overrides the
    /// manifest's (`--machine`); embedded programs are those built for it.
    pub fn parse(
        file: &str,
        text: &str,
        dir: &Path,
        embedded: &[Embedded],
        machine: Option<MachineKind>,
    ) -> Result<Manifest, ManifestError> {
        let cx = Ctx { file, text, dir };
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let mut msg = e.message().trim().to_string();
            // Name the key when the error is about a value (`weight = "x"`).
            let at = span.start.min(text.len());
            let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
            let line = text[line_start..].lines().next().unwrap_or("");
            if let Some((key, _)) = line.split_once('=') {
                let key = key.trim();
                if at > line_start + key.len() && !key.is_empty() && !msg.contains(key) {
                    msg = format!("{key}: {msg}");
                }
            }
            cx.err(span, msg)
        })?;
        let mut host = HostConfig::default();
        if let Some(m) = &raw.machine {
            host.machine = match m.get_ref().as_str() {
                "alpha" => MachineKind::Alpha,
                "kvm" => MachineKind::Kvm,
                other => {
                    return Err(cx.err(
                        m.span(),
                        format!("machine: unknown machine `{other}` (alpha or kvm)"),
                    ))
                }
            };
        }
        if let Some(c) = &raw.cpus {
            let n = *c.get_ref();
            if !(1..=64).contains(&n) {
                return Err(cx.err(c.span(), format!("cpus: {n} is not in 1..=64")));
            }
            host.cpus = n as usize;
        }
        if let Some(r) = &raw.ram_mib {
            let n = *r.get_ref();
            if !(16..=65_536).contains(&n) {
                return Err(cx.err(r.span(), format!("ram_mib: {n} is not in 16..=65536")));
            }
            host.ram = n << 20;
        }
        if let Some(m) = machine {
            host.machine = m;
        }
        let arch = match host.machine {
            MachineKind::Alpha => Arch::Alpha,
            MachineKind::Kvm => Arch::X86_64,
        };
        let embedded: Vec<Embedded> = embedded
            .iter()
            .filter(|e| e.arch.is_none_or(|a| a == arch))
            .cloned()
            .collect();
        let embedded = &embedded[..];
        let seed = raw.seed.unwrap_or(0x5350_494e);
        host.scheduler.params.seed = seed;
        scheduler(&cx, raw.scheduler.unwrap_or_default(), &mut host)?;
        if raw.mounds.is_empty() {
            return Err(cx.err(
                text.len()..text.len(),
                "no mounds: add at least one [[mound]] table",
            ));
        }
        let mut names = BTreeMap::new();
        let mut hostfwd: Vec<(PortForward, Range<usize>)> = Vec::new();
        for m in &raw.mounds {
            for p in &m.get_ref().ports {
                let f: PortForward = p
                    .get_ref()
                    .parse()
                    .map_err(|e: String| cx.err(p.span(), format!("ports: {e}")))?;
                if let Some((_, first)) = hostfwd.iter().find(|(g, _)| {
                    g.proto == f.proto && g.host_port == f.host_port && f.host_port != 0
                }) {
                    let line = cx.err(first.clone(), "").line;
                    return Err(cx.err(
                        p.span(),
                        format!(
                            "ports: host port {} is already forwarded at line {line}",
                            f.host_port
                        ),
                    ));
                }
                hostfwd.push((f, p.span()));
            }
        }
        host.network = network(&cx, raw.network, &raw.extensions, hostfwd, text.len())?;
        for (i, m) in raw.mounds.into_iter().enumerate() {
            let span = m.span();
            let m = m.into_inner();
            let name = m.name.get_ref().clone();
            if name.is_empty() || name.len() > 32 || name.chars().any(|c| c.is_control()) {
                return Err(cx.err(m.name.span(), "name: 1 to 32 printable characters"));
            }
            if let Some(first) = names.insert(name.clone(), span.clone()) {
                let line = cx.err(first, "").line;
                return Err(cx.err(
                    m.name.span(),
                    format!("name: `{name}` is already the name of the mound at line {line}"),
                ));
            }
            if matches!(m.kind.get_ref().as_str(), "video-server" | "video-client") {
                host.video.push(video_mound(&cx, m, span)?);
                continue;
            }
            // Video mounds take no place among the launched mounds' ids.
            let id = spin_kernel::MoundId(host.mounds.len() as u32 + 1);
            let (cfg, group, pager) =
                mound(&cx, id, m, span, embedded, seed.wrapping_add(i as u64))?;
            host.mounds.push(cfg);
            if let Some(ext) = pager {
                host.pagers.push(PagerMound { mound: id, ext });
            }
            if let Some(g) = group {
                host.groups.push(g);
            }
        }
        if !host.video.is_empty() && host.network.is_none() {
            // Video mounds live on the network: the default (user mode) one.
            host.network = Some(NetworkConfig::default());
        }
        Ok(Manifest { host })
    }
}

/// A `video-server` or `video-client` mound.
fn video_mound(cx: &Ctx, m: RawMound, span: Range<usize>) -> Result<VideoConfig, ManifestError> {
    let name = m.name.get_ref().clone();
    if let Some(p) = &m.program {
        return Err(cx.err(p.span(), "program: a video mound runs no program"));
    }
    let server = m.kind.get_ref() == "video-server";
    let number = |v: &Option<Spanned<u64>>, key: &str, range: Range<u64>, default: u64| match v {
        None => Ok(default),
        Some(n) if range.contains(n.get_ref()) => Ok(*n.get_ref()),
        Some(n) => Err(cx.err(
            n.span(),
            format!(
                "{key}: {} is not in {}..={}",
                n.get_ref(),
                range.start,
                range.end - 1
            ),
        )),
    };
    let port = number(&m.port, "port", 1..65_536, if server { 5004 } else { 6000 })? as u16;
    let fps = number(&m.fps, "fps", 1..121, 30)? as u32;
    let only = |v: bool, s: Range<usize>, key: &str, kind: &str| {
        if v {
            Err(cx.err(s, format!("{key}: only for {kind} mounds")))
        } else {
            Ok(())
        }
    };
    if server {
        if let Some(s) = &m.server {
            only(true, s.span(), "server", "video-client")?;
        }
        if let Some(p) = &m.pool_frames {
            only(true, p.span(), "pool_frames", "video-client")?;
        }
        let Some(c) = &m.clip else {
            return Err(cx.err(span, format!("mound `{name}`: missing `clip`")));
        };
        let clip = match c.get_ref().as_str() {
            "embedded:testclip" => ClipSource::Embedded,
            p if p.starts_with("embedded:") => {
                return Err(cx.err(c.span(), "clip: the embedded clip is `embedded:testclip`"))
            }
            p => ClipSource::File(cx.host_path(p)),
        };
        let mode = match m.mode.as_ref().map(|s| (s.get_ref().as_str(), s.span())) {
            None | Some(("multicast", _)) => SendMode::Multicast,
            Some(("per-client", _)) => SendMode::PerClient,
            Some((other, s)) => {
                return Err(cx.err(
                    s,
                    format!("mode: unknown mode `{other}` (multicast, per-client)"),
                ))
            }
        };
        return Ok(VideoConfig::Server {
            name,
            clip,
            port,
            fps,
            mode,
        });
    }
    for (v, key) in [(&m.clip, "clip"), (&m.mode, "mode")] {
        if let Some(s) = v {
            only(true, s.span(), key, "video-server")?;
        }
    }
    let server = match &m.server {
        None => None,
        Some(s) => Some(s.get_ref().parse::<std::net::SocketAddrV4>().map_err(|_| {
            cx.err(
                s.span(),
                format!("server: `{}` is not IP:PORT", s.get_ref()),
            )
        })?),
    };
    let pool_frames = number(&m.pool_frames, "pool_frames", 2..65, 4)? as usize;
    Ok(VideoConfig::Client {
        name,
        port,
        server,
        fps,
        pool_frames,
    })
}

/// The `[network]` table, the `[[extension]]`s and the mounds' `ports`
/// (user-mode host forwards). A network is made when any of them is given.
fn network(
    cx: &Ctx,
    raw: Option<Spanned<RawNetwork>>,
    exts: &[Spanned<RawExtension>],
    hostfwd: Vec<(PortForward, Range<usize>)>,
    end: usize,
) -> Result<Option<NetworkConfig>, ManifestError> {
    if raw.is_none() && exts.is_empty() && hostfwd.is_empty() {
        return Ok(None);
    }
    let mut n = NetworkConfig::default();
    let mut tap = None;
    let mut guestfwd = Vec::new();
    let mut user = true;
    if let Some(r) = &raw {
        let r = r.get_ref();
        if let Some(b) = &r.backend {
            user = match b.get_ref().as_str() {
                "user" => true,
                "tap" => false,
                other => {
                    return Err(cx.err(
                        b.span(),
                        format!("backend: unknown network backend `{other}` (user or tap)"),
                    ))
                }
            };
        }
        if let Some(t) = &r.tap {
            if user {
                return Err(cx.err(t.span(), "tap: needs backend = \"tap\""));
            }
            tap = Some(t.get_ref().clone());
        }
        if let Some(a) = &r.address {
            let (addr, prefix) = crate::net::parse_cidr(a.get_ref())
                .map_err(|e| cx.err(a.span(), format!("address: {e}")))?;
            n.address = addr;
            n.prefix_len = prefix;
        }
        if let Some(g) = &r.gateway {
            n.gateway = Some(g.get_ref().parse().map_err(|_| {
                cx.err(
                    g.span(),
                    format!("gateway: `{}` is not an IPv4 address", g.get_ref()),
                )
            })?);
        } else if !user {
            n.gateway = None;
        }
        if let Some(m) = &r.mac {
            n.mac = Some(parse_mac(m.get_ref()).ok_or_else(|| {
                cx.err(
                    m.span(),
                    format!("mac: `{}` is not a MAC like 02:00:00:00:00:01", m.get_ref()),
                )
            })?);
        }
        for g in &r.guestfwd {
            let p = *g.get_ref();
            if !(1..=65_535).contains(&p) {
                return Err(cx.err(g.span(), format!("guestfwd: {p} is not a port")));
            }
            if !user {
                return Err(cx.err(g.span(), "guestfwd: only with backend = \"user\""));
            }
            guestfwd.push(p as u16);
        }
        if let Some(b) = &r.busy_poll_us {
            let v = *b.get_ref();
            if v > 1_000_000 {
                return Err(cx.err(b.span(), format!("busy_poll_us: {v} is over 1000000")));
            }
            n.busy_poll_us = v;
        }
        if let Some(f) = &r.faults {
            let raw = f.get_ref();
            let faults = Faults {
                drop: raw.drop,
                duplicate: raw.duplicate,
                reorder: raw.reorder,
                seed: raw.seed,
            };
            faults
                .validate()
                .map_err(|e| cx.err(f.span(), format!("faults: {e}")))?;
            n.faults = Some(faults);
        }
    }
    if user {
        if n.gateway.is_none() {
            let span = raw.as_ref().map_or(end..end, |r| r.span());
            return Err(cx.err(span, "network: user mode needs a gateway address"));
        }
        n.backend = Backend::User {
            hostfwd: hostfwd.iter().map(|(f, _)| *f).collect(),
            guestfwd,
        };
    } else {
        if let Some((_, span)) = hostfwd.first() {
            return Err(cx.err(
                span.clone(),
                "ports: host forwards are for backend = \"user\"; on a tap the stack is \
                 reachable at its own address",
            ));
        }
        let Some(name) = tap else {
            let span = raw.as_ref().map_or(end..end, |r| r.span());
            return Err(cx.err(span, "network: backend = \"tap\" needs tap = \"NAME\""));
        };
        if name.is_empty() || name.len() > crate::net::tap::MAX_NAME {
            let span = raw.as_ref().map_or(end..end, |r| r.span());
            return Err(cx.err(span, format!("tap: `{name}` must be 1 to 15 bytes")));
        }
        n.backend = Backend::Tap { name };
    }
    for e in exts {
        let r = e.get_ref();
        let port = *r.port.get_ref();
        if !(1..=65_535).contains(&port) {
            return Err(cx.err(r.port.span(), format!("port: {port} is not a port")));
        }
        let port = port as u16;
        let to = |kind: &str| -> Result<std::net::SocketAddrV4, ManifestError> {
            let Some(t) = &r.to else {
                return Err(cx.err(
                    e.span(),
                    format!("extension {kind}: needs to = \"IP:PORT\""),
                ));
            };
            t.get_ref().parse().map_err(|_| {
                cx.err(
                    t.span(),
                    format!("to: `{}` is not an IPv4 address and port", t.get_ref()),
                )
            })
        };
        let ext = match r.kind.get_ref().as_str() {
            "udp-echo" => {
                if let Some(t) = &r.to {
                    return Err(cx.err(t.span(), "to: udp-echo answers its sender; no `to`"));
                }
                Extension::UdpEcho { port }
            }
            "udp-forward" => Extension::UdpForward {
                port,
                to: to("udp-forward")?,
            },
            "tcp-forward" => Extension::TcpForward {
                port,
                to: to("tcp-forward")?,
            },
            other => {
                return Err(cx.err(
                    r.kind.span(),
                    format!(
                        "kind: unknown extension `{other}` (udp-echo, udp-forward, tcp-forward)"
                    ),
                ))
            }
        };
        n.extensions.push(ext);
    }
    Ok(Some(n))
}

/// `aa:bb:cc:dd:ee:ff`.
fn parse_mac(s: &str) -> Option<spin_net::wire::ethernet::MacAddr> {
    let mut b = [0u8; 6];
    let mut parts = s.split(':');
    for x in b.iter_mut() {
        let p = parts.next()?;
        if p.len() != 2 {
            return None;
        }
        *x = u8::from_str_radix(p, 16).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(spin_net::wire::ethernet::MacAddr(b))
}

fn scheduler(cx: &Ctx, s: RawScheduler, host: &mut HostConfig) -> Result<(), ManifestError> {
    let p = &mut host.scheduler;
    if let Some(pol) = &s.policy {
        let name = pol.get_ref();
        if !POLICY_NAMES.contains(&name.as_str()) {
            return Err(cx.err(
                pol.span(),
                format!(
                    "policy: unknown policy `{name}` (one of {})",
                    POLICY_NAMES.join(", ")
                ),
            ));
        }
        p.policy = name.clone();
    }
    if let Some(q) = &s.quantum {
        let n = *q.get_ref();
        if !(1_000..=10_000_000_000).contains(&n) {
            return Err(cx.err(
                q.span(),
                format!("quantum: {n} ns is not in 1000..=10000000000"),
            ));
        }
        p.params.quantum = n;
    }
    if let Some(l) = &s.levels {
        let n = *l.get_ref();
        if !(1..=32).contains(&n) {
            return Err(cx.err(l.span(), format!("levels: {n} is not in 1..=32")));
        }
        p.params.levels = n as u8;
    }
    if let Some(v) = &s.fair_slice {
        if *v.get_ref() < 1_000 {
            return Err(cx.err(v.span(), "fair_slice: at least 1000 ns"));
        }
        p.params.fair_slice = *v.get_ref();
    }
    if let Some(v) = &s.fair_lag_bound {
        p.params.fair_lag_bound = *v.get_ref();
    }
    if let Some(w) = &s.fair_weights {
        p.params.fair_weights = match w.get_ref().as_str() {
            "weight" => FairWeights::Weight,
            "priority" => FairWeights::Priority,
            other => {
                return Err(cx.err(
                    w.span(),
                    format!("fair_weights: `{other}` is not weight or priority"),
                ))
            }
        };
    }
    if let Some(w) = s.watchdog {
        p.watchdog = w;
    }
    if let Some(b) = &s.stall_bound_ms {
        let n = *b.get_ref();
        if n == 0 {
            return Err(cx.err(b.span(), "stall_bound_ms: must be positive"));
        }
        p.stall_bound = n.saturating_mul(1_000_000);
    }
    Ok(())
}

fn mound(
    cx: &Ctx,
    id: spin_kernel::MoundId,
    m: RawMound,
    span: Range<usize>,
    embedded: &[Embedded],
    seed: u64,
) -> Result<MoundParts, ManifestError> {
    let db_pager = match m.kind.get_ref().as_str() {
        "unix" => false,
        "db-pager" => true,
        other => {
            let known = "unix, db-pager, video-server, video-client";
            return Err(cx.err(
                m.kind.span(),
                format!("type: unknown mound type `{other}` ({known})"),
            ));
        }
    };
    let pager = match (&m.pager_budget, db_pager) {
        (Some(b), false) => {
            return Err(cx.err(b.span(), "pager_budget: only for type = \"db-pager\""));
        }
        (Some(b), true) if !(1..=spin_dbpager::extension::MAX_BUDGET).contains(b.get_ref()) => {
            return Err(cx.err(
                b.span(),
                format!(
                    "pager_budget: {} frames is not in 1..={}",
                    b.get_ref(),
                    spin_dbpager::extension::MAX_BUDGET
                ),
            ));
        }
        (b, true) => {
            let mut c = spin_dbpager::DbPagerConfig::default();
            if let Some(b) = b {
                c.budget = *b.get_ref() as usize;
            }
            Some(c)
        }
        (None, false) => None,
    };
    let name = m.name.get_ref().clone();
    let Some(program) = &m.program else {
        return Err(cx.err(span, format!("mound `{name}`: missing `program`")));
    };
    let mut mounts = Vec::new();
    let (guest_program, argv0) = match program.get_ref().strip_prefix("embedded:") {
        Some(e) => {
            if !embedded.iter().any(|f| f.name == e) {
                let names: Vec<&str> = embedded.iter().map(|f| f.name.as_str()).collect();
                return Err(cx.err(
                    program.span(),
                    format!(
                        "program: no embedded program `{e}` (this spin carries: {})",
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ),
                ));
            }
            (
                format!("/bin/{e}").into_bytes(),
                format!("/bin/{e}").into_bytes(),
            )
        }
        None => {
            let path = cx.host_path(program.get_ref());
            let canon = path
                .canonicalize()
                .map_err(|e| cx.err(program.span(), format!("program: {}: {e}", path.display())))?;
            if !canon.is_file() {
                return Err(cx.err(
                    program.span(),
                    format!("program: {} is not a file", canon.display()),
                ));
            }
            if let Some(dir) = canon.parent() {
                mounts.push(HostMount {
                    guest: dir.as_os_str().as_bytes().to_vec(),
                    host: dir.to_path_buf(),
                    writable: false,
                });
            }
            let bytes = canon.as_os_str().as_bytes().to_vec();
            (bytes.clone(), bytes)
        }
    };
    for mt in &m.mounts {
        let r = mt.get_ref();
        let host = cx.host_path(&r.host);
        let host = host
            .canonicalize()
            .map_err(|e| cx.err(mt.span(), format!("mounts: {}: {e}", host.display())))?;
        if !host.is_dir() {
            return Err(cx.err(
                mt.span(),
                format!("mounts: {} is not a directory", host.display()),
            ));
        }
        if !r.guest.starts_with('/') || r.guest.split('/').any(|c| c == "..") {
            return Err(cx.err(
                mt.span(),
                format!(
                    "mounts: guest path `{}` must be absolute, without `..`",
                    r.guest
                ),
            ));
        }
        mounts.push(HostMount {
            guest: r.guest.clone().into_bytes(),
            host,
            writable: r.writable,
        });
    }
    let mut argv = vec![argv0];
    argv.extend(m.args.iter().map(|a| a.clone().into_bytes()));
    let mut env: BTreeMap<String, String> = if m.inherit_env {
        std::env::vars().collect()
    } else {
        [("PATH", "/bin"), ("HOME", "/"), ("TERM", "dumb")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    env.extend(m.env);
    let mut unix = UnixConfig::new(name.clone(), guest_program, argv);
    unix.envp = env
        .into_iter()
        .map(|(k, v)| format!("{k}={v}").into_bytes())
        .collect();
    unix.mounts = mounts;
    unix.files = embedded
        .iter()
        .map(|f| GuestFile {
            path: format!("/bin/{}", f.name).into_bytes(),
            bytes: f.bytes.clone(),
            mode: f.mode,
        })
        .collect();
    unix.seed = m.seed.unwrap_or(seed);
    unix.trace_syscalls = m.trace_syscalls;
    unix.stdout = Stdio::Null;
    unix.stderr = Stdio::Null;
    unix.stdin = Stdio::Null;
    if let Some(c) = &m.cwd {
        if !c.get_ref().starts_with('/') {
            return Err(cx.err(c.span(), "cwd: must be an absolute guest path"));
        }
        unix.cwd = c.get_ref().clone().into_bytes();
    }
    if let Some(s) = &m.stdin {
        let path = cx.host_path(s.get_ref());
        let bytes = std::fs::read(&path)
            .map_err(|e| cx.err(s.span(), format!("stdin: {}: {e}", path.display())))?;
        unix.stdin = Stdio::Bytes(bytes);
    }
    if let Some(q) = &m.quota_frames {
        let n = *q.get_ref();
        if n < 64 {
            return Err(cx.err(
                q.span(),
                format!("quota_frames: {n} is too small for a process (at least 64)"),
            ));
        }
        unix.quota_frames = Some(n);
    }
    let mut params = SchedParams::default();
    if let Some(p) = &m.priority {
        let n = *p.get_ref();
        if n > 31 {
            return Err(cx.err(p.span(), format!("priority: {n} is not in 0..=31")));
        }
        params.priority = n as u8;
    }
    if let Some(w) = &m.weight {
        let n = *w.get_ref();
        if !(1..=1_000_000).contains(&n) {
            return Err(cx.err(w.span(), format!("weight: {n} is not in 1..=1000000")));
        }
        params.weight = n as u32;
    }
    if let Some(r) = &m.reservation {
        let raw = r.get_ref();
        let deadline = raw.deadline_us.unwrap_or(raw.period_us);
        if raw.period_us == 0
            || raw.budget_us == 0
            || raw.budget_us > deadline
            || deadline > raw.period_us
        {
            return Err(cx.err(
                r.span(),
                "reservation: need 0 < budget_us <= deadline_us <= period_us",
            ));
        }
        params.reservation = Some(Reservation {
            period: raw.period_us * 1_000,
            deadline: deadline * 1_000,
            budget: raw.budget_us * 1_000,
        });
    }
    let mut group = None;
    if let Some(s) = &m.strands {
        let raw = s.get_ref();
        let grouped = match raw
            .scheduling
            .as_ref()
            .map(|v| (v.get_ref().as_str(), v.span()))
        {
            None | Some(("global", _)) => false,
            Some(("group", _)) => true,
            Some((other, sp)) => {
                return Err(cx.err(
                    sp,
                    format!("strands.scheduling: `{other}` is not global or group"),
                ))
            }
        };
        if grouped {
            let local = match &raw.local {
                None => "round-robin".to_string(),
                Some(l) => {
                    let v = l.get_ref();
                    if v != "round-robin" && !POLICY_NAMES.contains(&v.as_str()) {
                        return Err(cx.err(
                            l.span(),
                            format!(
                                "strands.local: unknown local policy `{v}` (round-robin, {})",
                                POLICY_NAMES.join(", ")
                            ),
                        ));
                    }
                    v.clone()
                }
            };
            let quantum = raw.local_quantum.as_ref().map_or(Ok(1_000_000), |q| {
                if *q.get_ref() < 1_000 {
                    Err(cx.err(q.span(), "strands.local_quantum: at least 1000 ns"))
                } else {
                    Ok(*q.get_ref())
                }
            })?;
            group = Some(GroupConfig {
                mound: id,
                params,
                local,
                local_quantum: quantum,
            });
        } else if raw.local.is_some() || raw.local_quantum.is_some() {
            return Err(cx.err(
                s.span(),
                "strands: `local` and `local_quantum` need scheduling = \"group\"",
            ));
        }
    }
    unix.params = params;
    // The database pager mound: a UNIX mound whose programs can bring their
    // own pager (spin-dbpager); the host keeps the extension too.
    let pager = pager.map(spin_dbpager::DbPagerExt::new);
    if let Some(ext) = &pager {
        unix.extensions
            .push(ext.clone() as Arc<dyn spin_unix::ext::ExtLinker>);
    }
    Ok((MoundConfig::Unix(unix), group, pager))
}

/// A launched mound's config, its group (two-level scheduling) and its
/// pager extension (`db-pager` mounds).
type MoundParts = (
    MoundConfig,
    Option<GroupConfig>,
    Option<Arc<spin_dbpager::DbPagerExt>>,
);

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let embedded = vec![Embedded {
            name: "sh".into(),
            arch: None,
            bytes: Arc::from(&b"\x7fELF"[..]),
            mode: 0o755,
        }];
        Manifest::parse("m.toml", text, Path::new("/"), &embedded, None)
    }

    const GOOD: &str = r#"
machine = "alpha"
cpus = 2

[scheduler]
policy = "stride"
quantum = 1_000_000

[[mound]]
name = "a"
type = "unix"
program = "embedded:sh"
args = ["/bin/x.sh"]
priority = 20
weight = 300
quota_frames = 4096

[[mound]]
name = "b"
type = "unix"
program = "embedded:sh"
strands = { scheduling = "group", local = "round-robin" }
"#;

    #[test]
    fn a_good_manifest_builds_a_host_config() {
        let m = parse(GOOD).expect("valid");
        assert_eq!(m.host.cpus, 2);
        assert_eq!(m.host.scheduler.policy, "stride");
        assert_eq!(m.host.scheduler.params.quantum, 1_000_000);
        assert_eq!(m.host.mounds.len(), 2);
        let MoundConfig::Unix(a) = &m.host.mounds[0];
        assert_eq!(a.program, b"/bin/sh");
        assert_eq!(a.argv, vec![b"/bin/sh".to_vec(), b"/bin/x.sh".to_vec()]);
        assert_eq!(a.params.priority, 20);
        assert_eq!(a.params.weight, 300);
        assert_eq!(a.quota_frames, Some(4096));
        assert_eq!(a.files.len(), 1);
        assert_eq!(m.host.groups.len(), 1);
        assert_eq!(m.host.groups[0].mound, spin_kernel::MoundId(2));
    }

    #[test]
    fn a_db_pager_mound_links_the_pager_extension() {
        let m = parse(
            r#"
[[mound]]
name = "db"
type = "db-pager"
program = "embedded:sh"
pager_budget = 128
"#,
        )
        .expect("valid");
        let MoundConfig::Unix(u) = &m.host.mounds[0];
        let names: Vec<&str> = u.extensions.iter().map(|e| e.name()).collect();
        assert_eq!(names, vec!["spin.db-pager"]);
        // The host keeps the very extension the mound links.
        assert_eq!(m.host.pagers.len(), 1);
        assert_eq!(m.host.pagers[0].mound, spin_kernel::MoundId(1));
        let linked = Arc::as_ptr(&u.extensions[0]) as *const ();
        assert_eq!(linked, Arc::as_ptr(&m.host.pagers[0].ext) as *const ());
        let plain = parse(GOOD).expect("valid");
        let MoundConfig::Unix(a) = &plain.host.mounds[0];
        assert!(a.extensions.is_empty(), "unix mounds link nothing extra");
        assert!(plain.host.pagers.is_empty());
        let e = parse(
            "[[mound]]\nname = \"a\"\ntype = \"unix\"\nprogram = \"embedded:sh\"\npager_budget = 5\n",
        )
        .unwrap_err();
        assert_eq!((e.line, e.column), (5, 16), "{e}");
        assert!(e.message.contains("only for type = \"db-pager\""), "{e}");
        let e = parse(
            "[[mound]]\nname = \"a\"\ntype = \"db-pager\"\nprogram = \"embedded:sh\"\npager_budget = 0\n",
        )
        .unwrap_err();
        assert!(e.message.contains("is not in 1..="), "{e}");
    }

    #[test]
    fn the_network_table_extensions_and_ports_make_one_network() {
        let m = parse(
            r#"
[network]
address = "10.1.0.15/16"
gateway = "10.1.0.2"
mac = "02:00:00:00:00:0a"
guestfwd = [8000]
busy_poll_us = 50
faults = { drop = 0.25, seed = 9 }

[[extension]]
kind = "udp-echo"
port = 7

[[extension]]
kind = "udp-forward"
port = 53
to = "10.1.0.2:5353"

[[mound]]
name = "a"
type = "unix"
program = "embedded:sh"
ports = ["8080:80", "udp:5353:53"]
"#,
        )
        .expect("valid");
        let n = m.host.network.expect("a network");
        assert_eq!(
            (n.address, n.prefix_len),
            ("10.1.0.15".parse().unwrap(), 16)
        );
        assert_eq!(n.gateway, Some("10.1.0.2".parse().unwrap()));
        assert_eq!(n.mac.map(|m| m.0[5]), Some(10));
        assert_eq!(n.busy_poll_us, 50);
        let f = n.faults.expect("faults");
        assert_eq!((f.drop, f.duplicate, f.seed), (0.25, 0.0, 9));
        assert_eq!(
            n.backend,
            Backend::User {
                hostfwd: vec!["8080:80".parse().unwrap(), "udp:5353:53".parse().unwrap()],
                guestfwd: vec![8000],
            }
        );
        assert_eq!(
            n.extensions,
            vec![
                Extension::UdpEcho { port: 7 },
                Extension::UdpForward {
                    port: 53,
                    to: "10.1.0.2:5353".parse().unwrap()
                }
            ]
        );
        let tap = parse(
            "[network]\nbackend = \"tap\"\ntap = \"tap0\"\naddress = \"10.77.0.2/24\"\n\
             [[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n",
        )
        .expect("valid");
        let n = tap.host.network.expect("a network");
        assert_eq!(
            n.backend,
            Backend::Tap {
                name: "tap0".into()
            }
        );
        assert_eq!(n.gateway, None);
        assert!(parse(GOOD).unwrap().host.network.is_none());
    }

    fn error_of(text: &str) -> ManifestError {
        parse(text).expect_err("must be refused")
    }

    #[test]
    fn unknown_keys_are_located() {
        let e = error_of("cpus = 1\n[[mound]]\nname = \"a\"\ntype = \"unix\"\nprogam = \"x\"\n");
        assert_eq!((e.file.as_str(), e.line), ("m.toml", 5), "{e}");
        assert!(e.message.contains("progam"), "{e}");
    }

    #[test]
    fn bad_values_name_the_line_and_the_value() {
        let cases: &[(&str, usize, &str)] = &[
            ("cpus = 0\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n", 1, "cpus"),
            ("[scheduler]\npolicy = \"fifo\"\n", 2, "unknown policy `fifo`"),
            ("machine = \"sparc\"\n", 1, "unknown machine"),
            ("[[mound]]\nname=\"a\"\ntype=\"vms\"\nprogram=\"embedded:sh\"\n", 3, "unknown mound type"),
            ("[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:nope\"\n", 4, "no embedded program"),
            ("[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"/no/such/file\"\n", 4, "/no/such/file"),
            ("[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\npriority = 40\n", 5, "priority"),
            ("[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\nmounts=[{host=\"/no/such/dir\", guest=\"/d\"}]\n", 5, "mounts"),
            ("[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n", 6, "already"),
            ("[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\nports = [\"80\"]\n", 5, "ports"),
            ("[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\nports = [\"1:2\", \"udp:1:2\", \"tcp:1:3\"]\n", 5, "already forwarded at line 5"),
            ("[network]\nbackend = \"slirp\"\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n", 2, "unknown network backend"),
            ("[network]\nbackend = \"tap\"\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n", 1, "needs tap"),
            ("[network]\naddress = \"10.0.2/24\"\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n", 2, "address"),
            ("[network]\nfaults = { drop = 1.5 }\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n", 2, "faults: drop"),
            ("[network]\nfaults = { loss = 0.5 }\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n", 2, "loss"),
            ("[network]\nbackend = \"tap\"\ntap = \"tap0\"\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\nports = [\"1:2\"]\n", 8, "backend = \"user\""),
            ("[[extension]]\nkind = \"tcp-echo\"\nport = 7\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n", 2, "unknown extension"),
            ("[[extension]]\nkind = \"udp-forward\"\nport = 7\nto = \"nowhere\"\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n", 4, "to:"),
            ("[[extension]]\nkind = \"udp-echo\"\nport = 70000\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n", 3, "not a port"),
            ("[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\nweight = \"x\"\n", 5, "weight"),
            ("cpus = 1\n", 2, "no mounds"),
        ];
        for (text, line, what) in cases {
            let e = error_of(text);
            assert_eq!(e.line, *line, "{text:?} -> {e}");
            assert!(e.to_string().contains(what), "{text:?} -> {e}");
            assert!(e.to_string().starts_with(&format!("m.toml:{line}:")), "{e}");
        }
    }
}
