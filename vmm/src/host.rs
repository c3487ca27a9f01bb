//! The builder: assembles a kernel, a machine, the global scheduler and
//! mounds from a [`HostConfig`], and runs them to completion.
//!
//! `spin exec` builds a host with one UNIX mound; the dashboard's mixed
//! launch builds one with several. The machine is the Alpha emulator or,
//! on an x86-64 host with a usable `/dev/kvm`, the KVM machine
//! ([`crate::kvm`]); one run loop per machine type, chosen at build time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use alpha_emu::{AlphaMachine, AlphaRegs};
use serde::{Deserialize, Serialize};
use spin_kernel::machine::new_guest_ram;
use spin_kernel::mound::GuestMound;
use spin_kernel::telemetry::{KernelSnapshot, MoundTelemetry};
use spin_kernel::{Arch, Authority, Kernel, KernelConfig, MoundId, Nanos, SchedParams};
use spin_scheduler::{
    policy_by_name, LocalRoundRobin, LocalScheduler, PolicyAsLocal, SchedTelemetry, Scheduler,
    SchedulerConfig,
};
use spin_unix::{UnixConfig, UnixMound};

use crate::kvm::VcpuTelemetry;
#[cfg(target_arch = "x86_64")]
use crate::kvm::{KvmMachine, X86Regs};
use crate::net::{Network, NetworkConfig, NicTelemetry};
use crate::runloop::{lock, RunLoop, Turn};

/// Which machine runs guest code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MachineKind {
    /// The bundled Alpha AXP emulator.
    #[default]
    Alpha,
    /// KVM on x86-64.
    Kvm,
}

/// One mound to launch.
#[derive(Debug, Clone)]
pub enum MoundConfig {
    /// A UNIX personality running one program.
    Unix(UnixConfig),
}

impl MoundConfig {
    fn name(&self) -> &str {
        match self {
            MoundConfig::Unix(u) => &u.name,
        }
    }
}

/// Everything the builder needs.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// The machine.
    pub machine: MachineKind,
    /// Guest RAM in bytes.
    pub ram: u64,
    /// Virtual CPUs (host threads running the scheduling loop).
    pub cpus: usize,
    /// The global scheduler.
    pub scheduler: SchedulerConfig,
    /// Mounds, in launch order (mound ids 1, 2, ...).
    pub mounds: Vec<MoundConfig>,
    /// Mounds scheduled as one entity of the global policy, with their own
    /// local scheduler (two-level scheduling).
    pub groups: Vec<GroupConfig>,
    /// Record every turn (for replay checks).
    pub trace: bool,
    /// The kernel's network (one stack every mound shares); None: no
    /// network.
    pub network: Option<NetworkConfig>,
    /// Video mounds (extensions on the network; servers start first).
    pub video: Vec<crate::video::VideoConfig>,
    /// The database pager extensions of `db-pager` mounds, kept so the
    /// control plane can read their counters and switch their policy.
    pub pagers: Vec<PagerMound>,
}

/// A `db-pager` mound's extension (the same `Arc` its mound links).
#[derive(Debug, Clone)]
pub struct PagerMound {
    /// The mound.
    pub mound: MoundId,
    /// Its pager extension.
    pub ext: Arc<spin_dbpager::DbPagerExt>,
}

/// What the console shows of a `db-pager` mound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PagerTelemetry {
    /// The mound's id.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// One pager per database file its programs attached (empty until a
    /// program attaches one).
    pub files: Vec<spin_dbpager::PagerStats>,
}

/// A mound whose strands its own scheduler picks; the global policy sees
/// the mound as one entity.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// The mound.
    pub mound: MoundId,
    /// The entity's parameters in the global policy.
    pub params: SchedParams,
    /// `round-robin`, or a global policy's name used locally.
    pub local: String,
    /// Quantum of the local round-robin, ns.
    pub local_quantum: Nanos,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            machine: MachineKind::Alpha,
            ram: 1 << 30,
            cpus: 1,
            scheduler: SchedulerConfig::default(),
            mounds: Vec::new(),
            groups: Vec::new(),
            trace: false,
            network: None,
            video: Vec::new(),
            pagers: Vec::new(),
        }
    }
}

/// Why a host could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The requested machine is not available here.
    #[error("{0}")]
    Machine(String),
    /// A mound could not start (bad program, missing file, ...).
    #[error("{0}")]
    Mound(String),
    /// A control request was refused.
    #[error("{0}")]
    Refused(String),
    /// Setup failed.
    #[error("setting up: {0}")]
    Setup(String),
}

/// What happened to one mound.
#[derive(Debug, Clone, Serialize)]
pub struct MoundReport {
    /// Its id.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Exit status of its first program (code, or 128 + signal).
    pub status: Option<i32>,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Per mound.
    pub mounds: Vec<MoundReport>,
    /// Machine time at the end, ns.
    pub machine_ns: Nanos,
    /// Scheduling turns taken.
    pub turns: u64,
    /// Scheduler telemetry.
    pub scheduler: SchedTelemetry,
    /// Kernel telemetry.
    pub kernel: KernelSnapshot,
    /// Recorded turns (when tracing).
    #[serde(skip)]
    pub trace: Vec<Turn>,
}

/// A mound's shared handle, whichever register file its machine runs.
enum SharedMound {
    Alpha(Arc<Mutex<Box<dyn GuestMound<AlphaRegs>>>>),
    #[cfg(target_arch = "x86_64")]
    Kvm(Arc<Mutex<Box<dyn GuestMound<X86Regs>>>>),
}

impl SharedMound {
    fn telemetry(&self) -> MoundTelemetry {
        match self {
            SharedMound::Alpha(m) => lock(m).telemetry(),
            #[cfg(target_arch = "x86_64")]
            SharedMound::Kvm(m) => lock(m).telemetry(),
        }
    }

    fn exit_status(&self) -> Option<i32> {
        match self {
            SharedMound::Alpha(m) => lock(m).exit_status(),
            #[cfg(target_arch = "x86_64")]
            SharedMound::Kvm(m) => lock(m).exit_status(),
        }
    }
}

/// The run loop of the machine the host was built with.
enum Loop {
    Alpha(RunLoop<AlphaMachine>),
    #[cfg(target_arch = "x86_64")]
    Kvm(RunLoop<KvmMachine>, Arc<KvmMachine>),
}

/// Runs `$body` with `$rl` bound to whichever run loop `$loop` holds.
macro_rules! with_loop {
    ($loop:expr, $rl:ident => $body:expr) => {
        match $loop {
            Loop::Alpha($rl) => $body,
            #[cfg(target_arch = "x86_64")]
            Loop::Kvm($rl, _) => $body,
        }
    };
}

/// What the `between` callback of [`Host::run`] sees after each turn,
/// whichever machine runs.
pub trait TurnView {
    /// Machine time so far, ns.
    fn now(&self) -> Nanos;
    /// Turns taken so far.
    fn turns(&self) -> u64;
}

impl<M: spin_kernel::Machine + 'static> TurnView for RunLoop<M> {
    fn now(&self) -> Nanos {
        RunLoop::now(self)
    }
    fn turns(&self) -> u64 {
        RunLoop::turns(self)
    }
}

/// A built host, ready to run.
pub struct Host {
    kernel: Arc<Kernel>,
    authority: Authority,
    rl: Loop,
    mounds: Vec<(MoundId, String, SharedMound)>,
    cpus: usize,
    machine: MachineKind,
    running: AtomicBool,
    network: Option<Network>,
    video: Vec<crate::video::VideoMound>,
    pagers: Vec<PagerMound>,
}

/// The host's state for a telemetry record (the control plane adds its
/// sequence number, clock and log).
#[derive(Debug, Clone)]
pub struct HostTelemetry {
    /// `alpha` or `kvm`.
    pub machine: String,
    /// Virtual CPUs.
    pub cpus: usize,
    /// Machine time, ns.
    pub machine_ns: Nanos,
    /// Turns taken.
    pub turns: u64,
    /// Whether the run loop is still going (or has not started yet).
    pub running: bool,
    /// Per mound.
    pub mounds: Vec<MoundTelemetry>,
    /// The scheduler.
    pub sched: SchedTelemetry,
    /// The kernel.
    pub kernel: KernelSnapshot,
    /// Per-vCPU exit counts and reasons (KVM machine; empty on Alpha).
    pub vcpus: Vec<VcpuTelemetry>,
    /// The network stack (when the host has one).
    pub net: Option<spin_net::NetTelemetry>,
    /// The NIC and the network pump (when the host has a network).
    pub nic: Option<NicTelemetry>,
    /// The video mounds (a client's current frame as a thumbnail).
    pub video: Vec<crate::video::VideoMoundTelemetry>,
    /// The database pager mounds.
    pub pagers: Vec<PagerTelemetry>,
}

impl Host {
    /// Boots a kernel on the configured machine and starts every mound.
    pub fn build(cfg: HostConfig) -> Result<Host, HostError> {
        let setup = |e: &dyn std::fmt::Display| HostError::Setup(e.to_string());
        if cfg.machine == MachineKind::Kvm {
            crate::kvm::available()
                .map_err(|e| HostError::Machine(format!("the KVM machine is unavailable: {e}")))?;
        }
        let arch = match cfg.machine {
            MachineKind::Alpha => Arch::Alpha,
            MachineKind::Kvm => Arch::X86_64,
        };
        let ram = new_guest_ram(cfg.ram).map_err(|e| setup(&e))?;
        let (kernel, authority) = Kernel::boot(
            ram.clone(),
            KernelConfig {
                arch,
                ..KernelConfig::default()
            },
        );
        let mut scheduler =
            Scheduler::new(kernel.id(), cfg.scheduler.clone()).map_err(|e| setup(&e))?;
        for g in &cfg.groups {
            let local: Box<dyn LocalScheduler> = if g.local == "round-robin" {
                Box::new(LocalRoundRobin::new(g.local_quantum))
            } else {
                Box::new(PolicyAsLocal(
                    policy_by_name(&g.local, &cfg.scheduler.params).map_err(|e| setup(&e))?,
                ))
            };
            scheduler
                .add_group(g.mound, g.params, local)
                .map_err(|e| setup(&e))?;
        }
        let rl = match cfg.machine {
            MachineKind::Alpha => {
                let machine = Arc::new(AlphaMachine::new(ram));
                Loop::Alpha(
                    RunLoop::new(kernel.clone(), machine, scheduler).map_err(|e| setup(&e))?,
                )
            }
            #[cfg(target_arch = "x86_64")]
            MachineKind::Kvm => {
                let machine =
                    Arc::new(KvmMachine::new(ram).map_err(|e| HostError::Machine(e.to_string()))?);
                let rl = RunLoop::new(kernel.clone(), machine.clone(), scheduler)
                    .map_err(|e| setup(&e))?;
                Loop::Kvm(rl, machine)
            }
            #[cfg(not(target_arch = "x86_64"))]
            MachineKind::Kvm => {
                return Err(HostError::Machine(
                    "the KVM machine needs an x86-64 host".into(),
                ))
            }
        };
        with_loop!(&rl, l => l.record_trace(cfg.trace));
        // One stack for the whole kernel, started before the mounds so each
        // gets its handle.
        let network = match &cfg.network {
            Some(n) => Some(
                Network::start(n, cfg.scheduler.params.seed)
                    .map_err(|e| HostError::Setup(e.to_string()))?,
            ),
            None => None,
        };
        let mut host = Host {
            kernel,
            authority,
            rl,
            mounds: Vec::new(),
            cpus: cfg.cpus.max(1),
            machine: cfg.machine,
            running: AtomicBool::new(true),
            network,
            video: Vec::new(),
            pagers: cfg.pagers,
        };
        for (i, m) in cfg.mounds.into_iter().enumerate() {
            let id = MoundId(i as u32 + 1);
            host.launch(id, m)?;
        }
        host.start_video(&cfg.video)?;
        Ok(host)
    }

    /// Starts the video mounds on the network, servers first so that the
    /// clients' subscriptions find them; their ids follow the others'.
    fn start_video(&mut self, video: &[crate::video::VideoConfig]) -> Result<(), HostError> {
        use crate::video::{VideoConfig, VideoMound};
        if video.is_empty() {
            return Ok(());
        }
        let net = self
            .network
            .as_ref()
            .map(Network::handle)
            .ok_or_else(|| HostError::Setup("video mounds need the network".into()))?;
        let servers = video
            .iter()
            .filter(|v| matches!(v, VideoConfig::Server { .. }));
        let clients = video
            .iter()
            .filter(|v| matches!(v, VideoConfig::Client { .. }));
        for v in servers.chain(clients) {
            let id = MoundId((self.mounds.len() + self.video.len()) as u32 + 1);
            self.video
                .push(VideoMound::start(v, &net, id).map_err(HostError::Setup)?);
        }
        Ok(())
    }

    /// The video mounds.
    pub fn video(&self) -> &[crate::video::VideoMound] {
        &self.video
    }

    /// Adds and starts a mound (it shares the host's network, if any).
    pub fn launch(&mut self, id: MoundId, cfg: MoundConfig) -> Result<(), HostError> {
        let name = cfg.name().to_string();
        let MoundConfig::Unix(mut u) = cfg;
        if let Some(n) = &self.network {
            u.net = Some(n.handle());
        }
        let shared = match &self.rl {
            Loop::Alpha(rl) => {
                SharedMound::Alpha(launch_unix::<AlphaMachine>(rl, &self.kernel, id, u)?)
            }
            #[cfg(target_arch = "x86_64")]
            Loop::Kvm(rl, _) => {
                SharedMound::Kvm(launch_unix::<KvmMachine>(rl, &self.kernel, id, u)?)
            }
        };
        self.mounds.push((id, name, shared));
        Ok(())
    }

    /// The kernel.
    pub fn kernel(&self) -> &Arc<Kernel> {
        &self.kernel
    }

    /// The host's network, if it has one.
    pub fn network(&self) -> Option<&Network> {
        self.network.as_ref()
    }

    /// Waits (up to `limit`) until the stack's closed connections have
    /// delivered what their programs wrote: a program that writes a reply
    /// and exits must not lose its tail because the host ends. Returns
    /// whether everything was delivered.
    pub fn drain_network(&self, limit: std::time::Duration) -> bool {
        let Some(n) = &self.network else {
            return true;
        };
        // A stack that never handed its NIC a frame has nothing in flight:
        // most programs never touch the network and need not wait 20 ms.
        let sent = n
            .telemetry()
            .layers
            .iter()
            .any(|l| l.layer == spin_net::Layer::Send && l.packets > 0);
        if !sent && n.delivered() {
            return true;
        }
        let start = std::time::Instant::now();
        // Twice in a row, a pump pass apart: bytes acknowledged to the
        // gateway are in a splice only after the pump's next pass.
        let mut settled = 0;
        while settled < 2 {
            if start.elapsed() >= limit {
                return false;
            }
            if n.delivered() {
                settled += 1;
                n.kick();
            } else {
                settled = 0;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        true
    }

    /// The authority handed out at boot (swap the scheduler, ...).
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// The scheduling loop, when the machine is the Alpha emulator.
    pub fn run_loop(&self) -> Option<&RunLoop<AlphaMachine>> {
        match &self.rl {
            Loop::Alpha(rl) => Some(rl),
            #[cfg(target_arch = "x86_64")]
            Loop::Kvm(..) => None,
        }
    }

    /// Runs until every mound is done, calling `between` after every turn.
    pub fn run(&self, between: impl FnMut(&dyn TurnView) + Send) -> Result<RunReport, HostError> {
        self.running.store(true, Ordering::Relaxed);
        let _done = ClearOnDrop(&self.running);
        let mut between = between;
        with_loop!(&self.rl, rl => {
            if self.cpus == 1 {
                rl.run(|rl| between(rl));
            } else {
                rl.run_smp(self.cpus, |rl| between(rl))
                    .map_err(|e| HostError::Setup(e.to_string()))?;
            }
        });
        // What the programs sent before they exited still reaches their
        // peers (Linux keeps sending after a process exits).
        if !self.drain_network(std::time::Duration::from_secs(10)) {
            eprintln!("spin: the network did not deliver everything the programs sent within 10 s");
        }
        Ok(self.report())
    }

    /// The mounds' ids and names, in launch order.
    pub fn mound_names(&self) -> Vec<(MoundId, String)> {
        self.mounds
            .iter()
            .map(|(id, name, _)| (*id, name.clone()))
            .collect()
    }

    /// The state now, for the control plane. Takes each mound's lock and
    /// the scheduler's lock one at a time, never nested.
    pub fn telemetry(&self) -> HostTelemetry {
        let mounds = self.mounds.iter().map(|(_, _, m)| m.telemetry()).collect();
        let now = with_loop!(&self.rl, rl => rl.now());
        HostTelemetry {
            machine: match self.machine {
                MachineKind::Alpha => "alpha".into(),
                MachineKind::Kvm => "kvm".into(),
            },
            cpus: self.cpus,
            machine_ns: now,
            turns: with_loop!(&self.rl, rl => rl.turns()),
            running: self.running.load(Ordering::Relaxed),
            mounds,
            sched: with_loop!(&self.rl, rl => lock(rl.scheduler()).telemetry(now)),
            kernel: self.kernel.snapshot(),
            vcpus: self.vcpus(),
            net: self.network.as_ref().map(Network::telemetry),
            nic: self.network.as_ref().map(Network::nic_telemetry),
            video: self.video.iter().map(|v| v.telemetry()).collect(),
            pagers: self.pagers(),
        }
    }

    /// The name of launched mound `id`, if there is one.
    fn mound_name(&self, id: MoundId) -> Option<String> {
        self.mounds
            .iter()
            .find(|(m, _, _)| *m == id)
            .map(|(_, name, _)| name.clone())
    }

    /// The database pager mounds' counters.
    pub fn pagers(&self) -> Vec<PagerTelemetry> {
        self.pagers
            .iter()
            .map(|p| PagerTelemetry {
                id: p.mound.0,
                name: self.mound_name(p.mound).unwrap_or_default(),
                files: p.ext.stats(),
            })
            .collect()
    }

    /// Switches the pager of `db-pager` mound `id` (every file it attached)
    /// to `policy` (`clock`, `lru`, `mru`, `2q`, `hinted`, `opt`). Returns
    /// the policy before. Refused, with the reason, for an unknown policy,
    /// a mound that is not a `db-pager` mound or has no file attached yet,
    /// and `opt` before any reference string was recorded.
    pub fn set_pager_policy(&self, id: u32, policy: &str) -> Result<String, HostError> {
        use spin_dbpager::PolicyKind;
        let kind = PolicyKind::parse(policy).ok_or_else(|| {
            let known: Vec<&str> = PolicyKind::ALL.iter().map(|k| k.name()).collect();
            HostError::Refused(format!(
                "unknown pager policy `{policy}` (one of {})",
                known.join(", ")
            ))
        })?;
        let p = self
            .pagers
            .iter()
            .find(|p| p.mound.0 == id)
            .ok_or_else(|| HostError::Refused(format!("mound {id} is not a db-pager mound")))?;
        let name = self.mound_name(p.mound).unwrap_or_else(|| id.to_string());
        let from = match p.ext.stats().last() {
            Some(s) => s.policy.clone(),
            None => {
                return Err(HostError::Refused(format!(
                    "mound {name} has no pager yet (its program has not attached a file)"
                )))
            }
        };
        p.ext.set_policy(kind).map_err(|e| {
            HostError::Refused(if kind == PolicyKind::Opt {
                "opt replays a recorded reference string, and none was recorded yet".into()
            } else {
                format!("mound {name}: switching to {policy}: {e}")
            })
        })?;
        Ok(from)
    }

    /// Per-vCPU exit counts and reasons (empty on the Alpha machine).
    pub fn vcpus(&self) -> Vec<VcpuTelemetry> {
        match &self.rl {
            Loop::Alpha(_) => Vec::new(),
            #[cfg(target_arch = "x86_64")]
            Loop::Kvm(_, m) => m.telemetry(),
        }
    }

    /// The global policy's name.
    pub fn policy(&self) -> String {
        with_loop!(&self.rl, rl => lock(rl.scheduler()).policy_name().to_string())
    }

    /// Swaps the global policy at the next scheduling point (the scheduler
    /// lock is the scheduling point). Returns the policy before.
    pub fn set_policy(&self, policy: &str, who: &str) -> Result<String, HostError> {
        let now = with_loop!(&self.rl, rl => rl.now());
        let sched = with_loop!(&self.rl, rl => rl.scheduler().clone());
        let mut s = lock(&sched);
        let from = s.policy_name().to_string();
        s.swap(
            &self.authority.swap_scheduler,
            policy,
            who,
            "operator request",
            now,
        )
        .map_err(|e| HostError::Refused(e.to_string()))?;
        Ok(from)
    }

    /// Stops mound `id`: its strands are killed, the other mounds go on.
    pub fn stop_mound(&self, id: u32) -> Result<(), HostError> {
        with_loop!(&self.rl, rl => rl
            .with_mound(MoundId(id), |m, host| m.stop(host))
            .map_err(|_| HostError::Refused(format!("no mound {id}"))))
    }

    /// Stops every mound (quitting the dashboard, the end of `--duration`)
    /// and the network pump (the stack's counters stay readable).
    pub fn stop_all(&self) {
        for (id, _, _) in &self.mounds {
            let _ = self.stop_mound(id.0);
        }
        for v in &self.video {
            v.halt();
        }
        if let Some(n) = &self.network {
            n.stop();
        }
    }

    /// A report of the state now.
    pub fn report(&self) -> RunReport {
        let now = with_loop!(&self.rl, rl => rl.now());
        let mounds = self
            .mounds
            .iter()
            .map(|(id, name, m)| MoundReport {
                id: id.0,
                name: name.clone(),
                status: m.exit_status(),
            })
            .collect();
        RunReport {
            mounds,
            machine_ns: now,
            turns: with_loop!(&self.rl, rl => rl.turns()),
            scheduler: with_loop!(&self.rl, rl => lock(rl.scheduler()).telemetry(now)),
            kernel: self.kernel.snapshot(),
            trace: with_loop!(&self.rl, rl => rl.trace()),
        }
    }
}

type MoundOf<M> =
    Arc<Mutex<Box<dyn GuestMound<<<M as spin_kernel::Machine>::Cpu as spin_kernel::Cpu>::Regs>>>>;

/// Creates a UNIX mound on `rl`'s machine and starts it.
fn launch_unix<M: spin_kernel::Machine + 'static>(
    rl: &RunLoop<M>,
    kernel: &Arc<Kernel>,
    id: MoundId,
    cfg: UnixConfig,
) -> Result<MoundOf<M>, HostError> {
    let waker = rl.waker(id);
    let wake: Arc<dyn Fn(u64) + Send + Sync> = Arc::new(move |k| waker.wake(k));
    let mound = UnixMound::<<M::Cpu as spin_kernel::Cpu>::Regs>::new(kernel.clone(), id, cfg, wake)
        .map_err(HostError::Mound)?;
    let shared = rl.add_mound(Box::new(mound));
    rl.with_mound(id, |m, host| m.start(host))
        .map_err(|e| HostError::Setup(e.to_string()))?
        .map_err(HostError::Mound)?;
    Ok(shared)
}

/// Clears a flag when dropped (also when the run panics).
struct ClearOnDrop<'a>(&'a AtomicBool);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}
