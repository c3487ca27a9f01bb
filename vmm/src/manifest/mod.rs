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

mod mound;
mod network;
mod video;

use mound::{mound, scheduler};
use network::{network, RawExtension, RawNetwork};
use video::video_mound;

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

/// A launched mound's config, its group (two-level scheduling) and its
/// pager extension (`db-pager` mounds).
type MoundParts = (
    MoundConfig,
    Option<GroupConfig>,
    Option<Arc<spin_dbpager::DbPagerExt>>,
);

#[cfg(test)]
mod tests;
