//! What a UNIX mound runs and how it is wired to the host.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use spin_kernel::SchedParams;

/// Where one of the first program's standard streams goes.
#[derive(Debug, Clone, Default)]
pub enum Stdio {
    /// The host process's own stream.
    #[default]
    Inherit,
    /// `/dev/null`.
    Null,
    /// Output collected in memory (tests, the dashboard).
    Capture(Arc<Mutex<Vec<u8>>>),
    /// Input served from these bytes, then end of file.
    Bytes(Vec<u8>),
    /// Output written to a shared writer (the console's log, a file).
    Writer(SharedWriter),
    /// Output written to a shared writer that the guest sees as a terminal
    /// (`isatty`, the tty ioctls): a pseudo-terminal's worth of behaviour
    /// for a host that renders the text itself.
    Terminal(SharedWriter),
}

/// A writer several mounds (or streams) may share.
#[derive(Clone)]
pub struct SharedWriter(pub Arc<Mutex<dyn std::io::Write + Send>>);

impl SharedWriter {
    /// Wraps `w`.
    pub fn new(w: impl std::io::Write + Send + 'static) -> Self {
        SharedWriter(Arc::new(Mutex::new(w)))
    }
}

impl std::fmt::Debug for SharedWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedWriter")
    }
}

impl std::io::Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

/// A writer appending to a shared buffer (what [`Stdio::Capture`] writes
/// through; wrap it in a [`SharedWriter`] for [`Stdio::Terminal`]).
#[derive(Debug, Clone)]
pub struct CaptureWriter(pub Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A file placed in the mound's root file system before the first program
/// starts (programs and scripts the host carries, e.g. the demo's).
#[derive(Debug, Clone)]
pub struct GuestFile {
    /// Absolute guest path (parent directories are created).
    pub path: Vec<u8>,
    /// Contents.
    pub bytes: Arc<[u8]>,
    /// Permission bits.
    pub mode: u32,
}

/// A host directory mounted into the mound's file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostMount {
    /// Absolute guest path.
    pub guest: Vec<u8>,
    /// Host directory.
    pub host: PathBuf,
    /// Writes allowed (otherwise `EROFS`).
    pub writable: bool,
}

/// Everything a UNIX mound needs to start.
#[derive(Debug, Clone)]
pub struct UnixConfig {
    /// Name shown in telemetry.
    pub name: String,
    /// The personality it shows in telemetry: `unix`, or what a manifest
    /// built on it (`db-pager`).
    pub kind: String,
    /// Guest path of the first program.
    pub program: Vec<u8>,
    /// Its argv (argv[0] included).
    pub argv: Vec<Vec<u8>>,
    /// Its environment (`NAME=value`).
    pub envp: Vec<Vec<u8>>,
    /// Its working directory (absolute guest path).
    pub cwd: Vec<u8>,
    /// Host directories visible in the mound.
    pub mounts: Vec<HostMount>,
    /// Files placed in the root file system before start.
    pub files: Vec<GuestFile>,
    /// Standard input.
    pub stdin: Stdio,
    /// Standard output.
    pub stdout: Stdio,
    /// Standard error.
    pub stderr: Stdio,
    /// Seed for `/dev/urandom`, `getrandom` and `AT_RANDOM` (replayable runs).
    pub seed: u64,
    /// Frame quota of the mound (None: unlimited).
    pub quota_frames: Option<u64>,
    /// Scheduling parameters of the mound's strands.
    pub params: SchedParams,
    /// Print every system call to the host's stderr (`strace`-like).
    pub trace_syscalls: bool,
    /// Print the mound's diagnostics (unknown system calls, ...) to the
    /// host's stderr.
    pub verbose: bool,
    /// `CLOCK_REALTIME` at boot, ns since the epoch (None: the host's clock).
    /// Fix it for runs that must replay exactly: guests derive timeouts from it.
    pub realtime_base: Option<u64>,
    /// uid/gid the guest sees.
    pub uid: u32,
    /// gid the guest sees.
    pub gid: u32,
    /// Guest clocks read the host's clock (ns since the mound started)
    /// instead of machine time: for benchmarks that time themselves (`spin
    /// bench`). Such a run does not replay.
    pub host_clock: bool,
    /// The kernel's shared network stack, if the host has one: the mound's
    /// sockets are endpoints on it. None: `socket` answers `EAFNOSUPPORT`.
    pub net: Option<spin_net::NetHandle>,
    /// Extensions from other crates the mound's programs may link by name
    /// (`syscall(EXT_LINK, name)`), besides the built-in ones — e.g.
    /// spin-dbpager's `spin.db-pager`.
    pub extensions: Vec<std::sync::Arc<dyn crate::ext::ExtLinker>>,
}

impl UnixConfig {
    /// A configuration running `program` with `argv`, everything else default.
    pub fn new(name: impl Into<String>, program: impl Into<Vec<u8>>, argv: Vec<Vec<u8>>) -> Self {
        UnixConfig {
            name: name.into(),
            kind: "unix".into(),
            program: program.into(),
            argv,
            files: Vec::new(),
            envp: Vec::new(),
            cwd: b"/".to_vec(),
            mounts: Vec::new(),
            stdin: Stdio::Inherit,
            stdout: Stdio::Inherit,
            stderr: Stdio::Inherit,
            seed: 0x5350_494e,
            quota_frames: None,
            params: SchedParams::default(),
            trace_syscalls: false,
            verbose: false,
            realtime_base: None,
            uid: 1000,
            gid: 1000,
            host_clock: false,
            net: None,
            extensions: Vec::new(),
        }
    }
}
