//! `spin exec PROGRAM ARGS`: one UNIX mound running one program.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use spin_unix::{HostMount, UnixConfig};
use spin_vmm::control::{serve, Controller, LogBook};
use spin_vmm::host::{Host, HostConfig, MachineKind, MoundConfig};

/// The command line of `spin exec`.
pub struct ExecArgs {
    pub machine: Option<String>,
    pub quantum: u64,
    pub cpus: usize,
    pub ram_mib: u64,
    pub seed: u64,
    pub strace: bool,
    pub verbose: bool,
    pub mounts: Vec<String>,
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub net: crate::run::NetOpts,
    pub socket: Option<PathBuf>,
}

/// The machine an ELF file asks for.
fn machine_of(program: &Path) -> Result<MachineKind> {
    let mut head = [0u8; 20];
    let mut f = std::fs::File::open(program).with_context(|| format!("{}", program.display()))?;
    let n =
        std::io::Read::read(&mut f, &mut head).with_context(|| format!("{}", program.display()))?;
    if n < 20 || &head[..4] != b"\x7fELF" {
        bail!("{}: not an ELF executable", program.display());
    }
    match u16::from_le_bytes([head[18], head[19]]) {
        0x9026 => Ok(MachineKind::Alpha),
        62 => Ok(MachineKind::Kvm),
        m => bail!(
            "{}: unsupported ELF machine {m:#x} (Alpha or x86-64 expected)",
            program.display()
        ),
    }
}

fn parse_mount(spec: &str) -> Result<HostMount> {
    let mut parts = spec.splitn(3, ':');
    let host = PathBuf::from(parts.next().unwrap_or_default());
    let host = host
        .canonicalize()
        .with_context(|| format!("--mount {spec}: {}", host.display()))?;
    let guest = parts
        .next()
        .filter(|g| !g.is_empty())
        .map(|g| g.as_bytes().to_vec())
        .unwrap_or_else(|| host.as_os_str().as_bytes().to_vec());
    let writable = match parts.next() {
        None | Some("ro") => false,
        Some("rw") => true,
        Some(other) => bail!("--mount {spec}: unknown mode {other} (ro or rw)"),
    };
    Ok(HostMount {
        guest,
        host,
        writable,
    })
}

pub fn run(a: ExecArgs) -> Result<ExitCode> {
    let detected = machine_of(&a.program)?;
    let machine = match a.machine.as_deref() {
        None => detected,
        Some("alpha") => MachineKind::Alpha,
        Some("kvm") => MachineKind::Kvm,
        Some(other) => bail!("unknown machine {other} (alpha or kvm)"),
    };
    if machine != detected {
        bail!(
            "{}: built for {:?}, not for the {:?} machine",
            a.program.display(),
            detected,
            machine
        );
    }
    let program = a
        .program
        .canonicalize()
        .with_context(|| format!("{}", a.program.display()))?;
    let cwd = std::env::current_dir().context("the working directory")?;
    // The host's working directory (writable, as under qemu-alpha) and the
    // program's directory (read-only) appear at their host paths.
    let mut mounts = vec![HostMount {
        guest: cwd.as_os_str().as_bytes().to_vec(),
        host: cwd.clone(),
        writable: true,
    }];
    if let Some(dir) = program.parent().filter(|d| !d.starts_with(&cwd)) {
        mounts.push(HostMount {
            guest: dir.as_os_str().as_bytes().to_vec(),
            host: dir.to_path_buf(),
            writable: false,
        });
    }
    for m in &a.mounts {
        mounts.push(parse_mount(m)?);
    }
    let mut argv = vec![a.program.as_os_str().as_bytes().to_vec()];
    argv.extend(a.args.into_iter().map(OsString::into_vec));
    let envp = std::env::vars_os()
        .map(|(k, v)| {
            let mut e = k.into_vec();
            e.push(b'=');
            e.extend(v.into_vec());
            e
        })
        .collect();
    let name = program
        .file_name()
        .map_or_else(|| "unix".to_string(), |n| n.to_string_lossy().into_owned());
    let mut unix = UnixConfig::new(name, program.as_os_str().as_bytes().to_vec(), argv);
    unix.envp = envp;
    unix.cwd = cwd.as_os_str().as_bytes().to_vec();
    unix.mounts = mounts;
    unix.seed = a.seed;
    unix.trace_syscalls = a.strace;
    unix.verbose = a.verbose;
    let mut cfg = HostConfig {
        machine,
        ram: a.ram_mib.max(16) << 20,
        cpus: a.cpus,
        mounds: vec![MoundConfig::Unix(unix)],
        ..HostConfig::default()
    };
    cfg.scheduler.params.quantum = a.quantum.max(1000);
    // Like a Linux process, a program always has a network (loopback at
    // least): user mode unless told otherwise (`--net none` for none).
    cfg.network = Some(spin_vmm::net::NetworkConfig::default());
    a.net.apply(&mut cfg.network)?;
    let host = std::sync::Arc::new(Host::build(cfg)?);
    // The control plane (`spin ctl SOCKET net`, ...); the guest's output
    // still goes to our stdout, so the log stays empty.
    let started = std::time::Instant::now();
    let _server = match &a.socket {
        Some(p) => {
            let log = std::sync::Arc::new(LogBook::new(started));
            let controller = std::sync::Arc::new(Controller::new(host.clone(), log, started));
            Some(serve(p, controller).with_context(|| format!("control socket {}", p.display()))?)
        }
        None => None,
    };
    let report = host.run(|_| {})?;
    host.stop_all();
    let status = report.mounds.first().and_then(|m| m.status).unwrap_or(1);
    Ok(ExitCode::from(status.clamp(0, 255) as u8))
}
