//! The control plane: telemetry records out, control requests in.
//!
//! One record type ([`Telemetry`]) is what the dashboard draws, what
//! `spin run --headless --batch --json` prints a line of, and what
//! `spin ctl SOCKET snapshot --json` returns. Requests ([`Request`]) and
//! replies ([`Reply`]) travel as JSON lines over a Unix-domain socket
//! ([`serve`], [`Client`]) or in process ([`Controller`]); both sides speak
//! through [`ControlPlane`], so the dashboard does not care which it has.
//!
//! The collector never touches UI types and never holds a kernel lock while
//! anyone draws: a record is a deep copy.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use spin_kernel::telemetry::{KernelSnapshot, MoundTelemetry};
use spin_scheduler::telemetry::StrandRow;
use spin_scheduler::SchedTelemetry;

use crate::host::Host;
use crate::runloop::lock;

/// One telemetry record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Telemetry {
    /// Record number (per host, from 1).
    pub seq: u64,
    /// Host milliseconds since the host started.
    pub host_ms: u64,
    /// The machine: `alpha` or `kvm`.
    pub machine: String,
    /// Virtual CPUs.
    pub cpus: usize,
    /// The global scheduling policy now.
    pub policy: String,
    /// Machine time, ns (one instruction = one ns on the Alpha machine).
    pub machine_ns: u64,
    /// Scheduling turns taken.
    pub turns: u64,
    /// False once every mound is done (the record is then final).
    pub running: bool,
    /// Per mound, by id.
    pub mounds: Vec<MoundTelemetry>,
    /// The global scheduler.
    pub sched: SchedTelemetry,
    /// The kernel: frames, events, domains, strands.
    pub kernel: KernelSnapshot,
    /// The newest log lines (at most [`LOG_IN_RECORD`]), oldest first.
    pub log: Vec<LogLine>,
    /// Per-vCPU exit counts and reasons, as kvm_stat shows them (KVM
    /// machine only; empty on Alpha and in records from older hosts).
    #[serde(default)]
    pub vcpus: Vec<crate::kvm::VcpuTelemetry>,
    /// The shared network stack: per-layer packets and drops by reason,
    /// per-handler guard counters (None: the host has no network).
    #[serde(default)]
    pub net: Option<spin_net::NetTelemetry>,
    /// The NIC: frames in/out, injected faults, the pump's wake-ups.
    #[serde(default)]
    pub nic: Option<crate::net::NicTelemetry>,
    /// The video mounds: a server's counters; a client's display strand,
    /// pipeline and current frame (a thumbnail). Empty without video
    /// mounds and in records from older hosts.
    #[serde(default)]
    pub video: Vec<crate::video::VideoMoundTelemetry>,
    /// The database pager mounds: each attached file's pager (policy,
    /// budget, resident pages by kind, counters). Empty without db-pager
    /// mounds and in records from older hosts.
    #[serde(default)]
    pub pagers: Vec<crate::host::PagerTelemetry>,
}

/// Log lines carried in one record.
pub const LOG_IN_RECORD: usize = 200;

/// A line of the host's log: guest output or a kernel message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// Line number (per host, from 1): a client asks for lines after one.
    pub seq: u64,
    /// Host milliseconds since the host started.
    pub host_ms: u64,
    /// `kernel`, or the mound's name.
    pub source: String,
    /// The text, without its newline.
    pub text: String,
}

/// A control request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    /// A full telemetry record.
    Snapshot,
    /// The strands table.
    Strands,
    /// The mounds overview.
    Mounds,
    /// The policies the scheduler offers and the current one.
    Policies,
    /// Swap the global policy.
    SetPolicy {
        /// One of the policy names.
        policy: String,
    },
    /// Stop a mound (its strands are killed; the others keep running).
    StopMound {
        /// The mound's id.
        id: u32,
    },
    /// Log lines after `since`.
    Log {
        /// The last line the client has (0: from the oldest kept).
        since: u64,
    },
    /// The network stack's and the NIC's counters.
    Net,
    /// The database pager mounds' counters.
    Pagers,
    /// Switch a database pager mound's policy (every file it attached).
    SetPagerPolicy {
        /// The mound's id.
        mound: u32,
        /// `clock`, `lru`, `mru`, `2q`, `hinted` or `opt`.
        policy: String,
    },
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", content = "data", rename_all = "kebab-case")]
pub enum Reply {
    /// A telemetry record.
    Snapshot(Box<Telemetry>),
    /// Strand rows.
    Strands(Vec<StrandRow>),
    /// Mound rows.
    Mounds(Vec<MoundTelemetry>),
    /// Policies.
    Policies {
        /// The running policy.
        current: String,
        /// Every policy that can be swapped in.
        available: Vec<String>,
    },
    /// The policy was swapped.
    PolicySet {
        /// The policy before.
        from: String,
        /// The policy now.
        to: String,
    },
    /// The mound was asked to stop.
    MoundStopped {
        /// Its id.
        id: u32,
    },
    /// Log lines.
    Log(Vec<LogLine>),
    /// The network's counters.
    Net {
        /// The stack.
        net: Box<spin_net::NetTelemetry>,
        /// The NIC.
        nic: Box<crate::net::NicTelemetry>,
    },
    /// The database pager mounds.
    Pagers(Vec<crate::host::PagerTelemetry>),
    /// A pager's policy was switched.
    PagerPolicySet {
        /// The mound.
        mound: u32,
        /// The policy before.
        from: String,
        /// The policy now.
        to: String,
    },
    /// The request was refused or malformed.
    Error {
        /// Why, in one line.
        message: String,
    },
}

/// Why a control request got no reply.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The socket failed.
    #[error("control socket: {0}")]
    Io(#[from] std::io::Error),
    /// The other side sent something that is not a reply.
    #[error("control socket: malformed reply: {0}")]
    Protocol(String),
    /// The host refused.
    #[error("{0}")]
    Refused(String),
}

/// Anything that answers control requests: the host in process, or a
/// client of its socket.
pub trait ControlPlane: Send {
    /// Sends `req` and waits for the reply.
    fn request(&mut self, req: &Request) -> Result<Reply, ControlError>;

    /// A telemetry record.
    fn snapshot(&mut self) -> Result<Telemetry, ControlError> {
        match self.request(&Request::Snapshot)? {
            Reply::Snapshot(t) => Ok(*t),
            Reply::Error { message } => Err(ControlError::Refused(message)),
            other => Err(ControlError::Protocol(format!("{other:?}"))),
        }
    }
}

/// The host's log: guest output and kernel messages, the newest
/// [`LogBook::CAPACITY`] lines.
#[derive(Debug)]
pub struct LogBook {
    started: Instant,
    inner: Mutex<LogInner>,
}

#[derive(Debug, Default)]
struct LogInner {
    next: u64,
    lines: VecDeque<LogLine>,
}

impl LogBook {
    /// Lines kept.
    pub const CAPACITY: usize = 2000;

    /// An empty log whose clock starts now.
    pub fn new(started: Instant) -> Self {
        LogBook {
            started,
            inner: Mutex::new(LogInner {
                next: 1,
                lines: VecDeque::new(),
            }),
        }
    }

    /// Appends one line.
    pub fn push(&self, source: &str, text: impl Into<String>) {
        let host_ms = self.started.elapsed().as_millis() as u64;
        let mut inner = lock(&self.inner);
        let seq = inner.next;
        inner.next += 1;
        if inner.lines.len() == Self::CAPACITY {
            inner.lines.pop_front();
        }
        inner.lines.push_back(LogLine {
            seq,
            host_ms,
            source: source.to_string(),
            text: text.into(),
        });
    }

    /// Lines after `since`, at most `max` (the newest ones).
    pub fn since(&self, since: u64, max: usize) -> Vec<LogLine> {
        let inner = lock(&self.inner);
        let fresh = inner.lines.iter().filter(|l| l.seq > since).count();
        inner
            .lines
            .iter()
            .filter(|l| l.seq > since)
            .skip(fresh.saturating_sub(max))
            .cloned()
            .collect()
    }

    /// A writer that splits what it is given into lines of `source`
    /// (a guest's standard output). Control characters other than tab are
    /// shown as `?` so guest output cannot drive the terminal.
    pub fn writer(self: &Arc<Self>, source: &str) -> LineWriter {
        LineWriter {
            book: self.clone(),
            source: source.to_string(),
            partial: Vec::new(),
        }
    }
}

/// See [`LogBook::writer`].
#[derive(Debug)]
pub struct LineWriter {
    book: Arc<LogBook>,
    source: String,
    partial: Vec<u8>,
}

impl LineWriter {
    const MAX_LINE: usize = 512;

    fn emit(&mut self) {
        let text: String = String::from_utf8_lossy(&self.partial)
            .chars()
            .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
            .collect();
        self.book.push(&self.source, text);
        self.partial.clear();
    }
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for &b in buf {
            if b == b'\n' {
                self.emit();
            } else {
                self.partial.push(b);
                if self.partial.len() >= Self::MAX_LINE {
                    self.emit();
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if !self.partial.is_empty() {
            self.emit();
        }
    }
}

/// The host's side of the control plane, in process.
pub struct Controller {
    host: Arc<Host>,
    log: Arc<LogBook>,
    started: Instant,
    seq: AtomicU64,
}

impl Controller {
    /// A controller for `host`, whose log is `log` and whose clock started
    /// at `started`.
    pub fn new(host: Arc<Host>, log: Arc<LogBook>, started: Instant) -> Self {
        Controller {
            host,
            log,
            started,
            seq: AtomicU64::new(0),
        }
    }

    /// The host.
    pub fn host(&self) -> &Arc<Host> {
        &self.host
    }

    /// The log.
    pub fn log(&self) -> &Arc<LogBook> {
        &self.log
    }

    /// A fresh telemetry record.
    pub fn telemetry(&self) -> Telemetry {
        let t = self.host.telemetry();
        Telemetry {
            seq: self.seq.fetch_add(1, Ordering::Relaxed) + 1,
            host_ms: self.started.elapsed().as_millis() as u64,
            machine: t.machine,
            cpus: t.cpus,
            policy: t.sched.policy.clone(),
            machine_ns: t.machine_ns,
            turns: t.turns,
            running: t.running,
            mounds: t.mounds,
            sched: t.sched,
            kernel: t.kernel,
            log: self.log.since(0, LOG_IN_RECORD),
            vcpus: t.vcpus,
            net: t.net,
            nic: t.nic,
            video: t.video,
            pagers: t.pagers,
        }
    }

    /// Answers one request.
    pub fn handle(&self, req: &Request) -> Reply {
        match req {
            Request::Snapshot => Reply::Snapshot(Box::new(self.telemetry())),
            Request::Strands => Reply::Strands(self.host.telemetry().sched.strands),
            Request::Mounds => Reply::Mounds(self.host.telemetry().mounds),
            Request::Policies => Reply::Policies {
                current: self.host.policy(),
                available: spin_scheduler::POLICY_NAMES
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            },
            Request::SetPolicy { policy } => match self.host.set_policy(policy, "spin ctl") {
                Ok(from) => {
                    self.log
                        .push("kernel", format!("policy swap {from} -> {policy}"));
                    Reply::PolicySet {
                        from,
                        to: policy.clone(),
                    }
                }
                Err(e) => Reply::Error {
                    message: e.to_string(),
                },
            },
            Request::StopMound { id } => match self.host.stop_mound(*id) {
                Ok(()) => {
                    self.log.push("kernel", format!("mound {id} stopped"));
                    Reply::MoundStopped { id: *id }
                }
                Err(e) => Reply::Error {
                    message: e.to_string(),
                },
            },
            Request::Log { since } => Reply::Log(self.log.since(*since, LogBook::CAPACITY)),
            Request::Net => match self.host.network() {
                Some(n) => Reply::Net {
                    net: Box::new(n.telemetry()),
                    nic: Box::new(n.nic_telemetry()),
                },
                None => Reply::Error {
                    message: "this host has no network (start it with --net or a [network] table)"
                        .into(),
                },
            },
            Request::Pagers => Reply::Pagers(self.host.pagers()),
            Request::SetPagerPolicy { mound, policy } => {
                match self.host.set_pager_policy(*mound, policy) {
                    Ok(from) => {
                        self.log.push(
                            "kernel",
                            format!("mound {mound}: pager policy {from} -> {policy}"),
                        );
                        Reply::PagerPolicySet {
                            mound: *mound,
                            from,
                            to: policy.clone(),
                        }
                    }
                    Err(e) => Reply::Error {
                        message: e.to_string(),
                    },
                }
            }
        }
    }
}

impl ControlPlane for Arc<Controller> {
    fn request(&mut self, req: &Request) -> Result<Reply, ControlError> {
        Ok(self.handle(req))
    }
}

/// A running control socket; dropping it stops accepting and removes the
/// socket file.
pub struct Server {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop.
        let _ = UnixStream::connect(&self.path);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Longest request line accepted (a request is a few dozen bytes).
const MAX_REQUEST: usize = 64 * 1024;

/// Serves `controller` on a Unix-domain socket at `path`: one JSON request
/// per line, one JSON reply per line. A stale socket file (nobody listening)
/// is replaced; a live one is an error.
pub fn serve(path: &Path, controller: Arc<Controller>) -> std::io::Result<Server> {
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("{} is in use by a running host", path.display()),
            ));
        }
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("control".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let controller = controller.clone();
                    let _ = std::thread::Builder::new()
                        .name("control-conn".into())
                        .spawn(move || connection(conn, &controller));
                }
            })?
    };
    Ok(Server {
        path: path.to_path_buf(),
        stop,
        thread: Some(thread),
    })
}

fn connection(conn: UnixStream, controller: &Controller) {
    let Ok(write_half) = conn.try_clone() else {
        return;
    };
    let mut out = std::io::BufWriter::new(write_half);
    let mut input = BufReader::new(conn);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut input)
            .take(MAX_REQUEST as u64 + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let reply = if line.len() > MAX_REQUEST {
            Reply::Error {
                message: "request too long".into(),
            }
        } else {
            let text = String::from_utf8_lossy(&line);
            if text.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Request>(text.trim()) {
                Ok(req) => controller.handle(&req),
                Err(e) => Reply::Error {
                    message: format!("malformed request: {e}"),
                },
            }
        };
        let Ok(text) = serde_json::to_string(&reply) else {
            return;
        };
        if writeln!(out, "{text}").and_then(|_| out.flush()).is_err() {
            return;
        }
        if line.len() > MAX_REQUEST {
            return;
        }
    }
}

/// A client of a host's control socket.
pub struct Client {
    out: UnixStream,
    input: BufReader<UnixStream>,
}

impl Client {
    /// Connects to the socket at `path`.
    pub fn connect(path: &Path) -> Result<Client, ControlError> {
        let out = UnixStream::connect(path).map_err(|e| {
            ControlError::Io(std::io::Error::new(
                e.kind(),
                format!("cannot connect to {}: {e}", path.display()),
            ))
        })?;
        out.set_read_timeout(Some(Duration::from_secs(10)))?;
        let input = BufReader::new(out.try_clone()?);
        Ok(Client { out, input })
    }
}

impl ControlPlane for Client {
    fn request(&mut self, req: &Request) -> Result<Reply, ControlError> {
        let text = serde_json::to_string(req).map_err(|e| ControlError::Protocol(e.to_string()))?;
        writeln!(self.out, "{text}")?;
        let mut line = String::new();
        if self.input.read_line(&mut line)? == 0 {
            return Err(ControlError::Protocol("the host closed the socket".into()));
        }
        serde_json::from_str(&line).map_err(|e| ControlError::Protocol(e.to_string()))
    }
}

#[cfg(test)]
#[path = "control_tests.rs"]
mod tests;
