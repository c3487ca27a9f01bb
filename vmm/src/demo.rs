//! The embedded default mix that `spin demo` runs on the Alpha machine: two
//! mounds with contrasting workloads (a sieve and a CRC loop, real Alpha
//! programs built from `guest/demo/`) under the global scheduler, with a live
//! policy swap half-way through.
//!
//! Until the UNIX mound lands, each demo mound is a minimal personality that
//! serves `write` and `exit` and kills its strand on any fault — the rest of the
//! path (kernel, scheduler, machine, loader, preemption) is the real one.

use std::io::Write;
use std::sync::{Arc, Mutex};

use alpha_emu::{AlphaMachine, AlphaRegs};
use spin_kernel::mem::AddressSpace;
use spin_kernel::telemetry::KernelSnapshot;
use spin_kernel::{
    Arch, Cap, Kernel, KernelConfig, MoundId, Nanos, RegisterFile, SchedParams, StrandId, Trap,
};
use spin_scheduler::{SchedTelemetry, Scheduler, SchedulerConfig};

use spin_unix::abi::ALPHA;

use crate::loader::{load_static, LoadError};
use crate::runloop::{lock, RunLoop};
use spin_kernel::mound::{GuestMound, Resume, StrandHost, TrapOutcome};

/// The demo's first program (prebuilt from `guest/demo/primes.c`).
pub const PRIMES: &[u8] = include_bytes!("../../guest/prebuilt/primes.alpha");
/// The demo's second program (prebuilt from `guest/demo/crc.c`).
pub const CRC: &[u8] = include_bytes!("../../guest/prebuilt/crc.alpha");

/// A Linux/Alpha errno value by name (the names used here are all in the table).
fn errno(name: &str) -> u64 {
    ALPHA
        .errno(name)
        .expect("the demo only uses errno names the Alpha table has")
}
/// Largest single write we copy (bytes).
const MAX_WRITE: u64 = 1 << 20;

/// How to run the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Scheduler quantum, ns of machine time (1 ns per instruction).
    pub quantum: Nanos,
    /// Policy to swap to, and when (machine time), if any.
    pub swap: Option<(String, Nanos)>,
    /// Guest RAM in bytes.
    pub ram: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            quantum: 2_000_000,
            swap: Some(("stride".to_string(), 20_000_000)),
            ram: 64 << 20,
        }
    }
}

/// What the demo did.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// `(mound name, exit status)`.
    pub exits: Vec<(String, i32)>,
    /// Turns taken by the scheduler.
    pub turns: usize,
    /// Machine time at the end, ns.
    pub machine_ns: Nanos,
    /// Scheduler telemetry at the end.
    pub scheduler: SchedTelemetry,
    /// Kernel telemetry at the end.
    pub kernel: KernelSnapshot,
}

/// Errors from running the demo.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A program failed to load.
    #[error("loading {name}: {err}")]
    Load {
        /// Which program.
        name: String,
        /// Why.
        err: LoadError,
    },
    /// The machine or scheduler could not be set up.
    #[error("setting up: {0}")]
    Setup(String),
}

/// A minimal personality serving `write` and `exit`.
struct DemoMound {
    id: MoundId,
    name: String,
    out: Arc<Mutex<Vec<String>>>,
    partial: Vec<u8>,
}

impl DemoMound {
    fn write(&mut self, regs: &AlphaRegs, space: &Cap<AddressSpace>) -> Result<u64, u64> {
        let (fd, buf, len) = (
            regs.syscall_arg(0),
            regs.syscall_arg(1),
            regs.syscall_arg(2),
        );
        if fd != 1 && fd != 2 {
            return Err(errno("EBADF"));
        }
        let len = len.min(MAX_WRITE);
        let mut data = vec![0u8; len as usize];
        space.read(buf, &mut data).map_err(|_| errno("EFAULT"))?;
        self.partial.extend_from_slice(&data);
        while let Some(nl) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=nl).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            self.out
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!("[{}] {text}", self.name));
        }
        Ok(len)
    }
}

impl GuestMound<AlphaRegs> for DemoMound {
    fn id(&self) -> MoundId {
        self.id
    }

    fn resume(
        &mut self,
        _strand: StrandId,
        _regs: &mut AlphaRegs,
        _space: &mut Cap<AddressSpace>,
        _host: &mut dyn StrandHost<AlphaRegs>,
    ) -> Resume {
        Resume::Run
    }

    fn trap(
        &mut self,
        _strand: StrandId,
        regs: &mut AlphaRegs,
        space: &mut Cap<AddressSpace>,
        trap: Trap,
        _host: &mut dyn StrandHost<AlphaRegs>,
    ) -> TrapOutcome {
        match trap {
            Trap::Syscall => match ALPHA.syscall_name(regs.syscall_number()) {
                Some("exit" | "exit_group") => TrapOutcome::Exit(regs.syscall_arg(0) as i32 & 0xff),
                Some("write") => {
                    let r = self.write(regs, space);
                    regs.set_syscall_result(r);
                    TrapOutcome::Continue
                }
                _ => {
                    regs.set_syscall_result(Err(errno("ENOSYS")));
                    TrapOutcome::Continue
                }
            },
            other => {
                self.out
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(format!("[{}] killed: {other:?}", self.name));
                TrapOutcome::Exit(128 + 11)
            }
        }
    }
}

/// Runs the demo mix, printing each mound's output lines (prefixed by the
/// mound's name) and the kernel's scheduling decisions to `out`.
pub fn run(opts: &DemoOptions, out: &mut dyn Write) -> Result<DemoReport, DemoError> {
    let setup = |e: &dyn std::fmt::Display| DemoError::Setup(e.to_string());
    let ram = spin_kernel::machine::new_guest_ram(opts.ram).map_err(|e| setup(&e))?;
    let (kernel, authority) = Kernel::boot(
        ram.clone(),
        KernelConfig {
            arch: Arch::Alpha,
            ..KernelConfig::default()
        },
    );
    let machine = Arc::new(AlphaMachine::new(ram));
    let mut config = SchedulerConfig::default();
    config.params.quantum = opts.quantum;
    let scheduler = Scheduler::new(kernel.id(), config).map_err(|e| setup(&e))?;
    let rl = RunLoop::new(kernel.clone(), machine, scheduler).map_err(|e| setup(&e))?;
    let lines = Arc::new(Mutex::new(Vec::new()));
    let mut names = Vec::new();
    for (i, (name, image, weight)) in [("m1 primes", PRIMES, 300u32), ("m2 crc", CRC, 100)]
        .into_iter()
        .enumerate()
    {
        let mound = MoundId(i as u32 + 1);
        kernel.phys.set_quota(mound, Some(256));
        let space = kernel.translation.create(mound);
        let img = load_static(
            &kernel.phys,
            mound,
            &space,
            Arch::Alpha,
            image,
            0x1_2000_0000,
            64 << 10,
        )
        .map_err(|err| DemoError::Load {
            name: name.to_string(),
            err,
        })?;
        let mut regs = AlphaRegs::default();
        regs.set_pc(img.entry);
        regs.set_sp(img.sp);
        rl.add_mound(Box::new(DemoMound {
            id: mound,
            name: name.to_string(),
            out: lines.clone(),
            partial: Vec::new(),
        }));
        let params = SchedParams {
            weight,
            ..SchedParams::default()
        };
        let id = rl
            .spawn(name, mound, params, regs, space)
            .map_err(|e| setup(&e))?;
        names.push((id, name.to_string()));
        let _ = writeln!(
            out,
            "[kernel] mound {} '{name}': strand {id}, weight {weight}, entry {:#x}",
            mound.0, img.entry
        );
    }
    let policy = lock(rl.scheduler()).policy_name();
    let _ = writeln!(
        out,
        "[kernel] global policy {policy}, quantum {} instructions",
        opts.quantum
    );
    let mut swap = opts.swap.clone();
    rl.run(|rl| {
        for line in lines.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            let _ = writeln!(out, "{line}");
        }
        if let Some((to, at)) = &swap {
            if rl.now() >= *at {
                let now = rl.now();
                let mut s = lock(rl.scheduler());
                let from = s.policy_name();
                match s.swap(
                    &authority.swap_scheduler,
                    to,
                    "spin demo",
                    "scheduled swap",
                    now,
                ) {
                    Ok(()) => {
                        let _ = writeln!(
                            out,
                            "[kernel] t={:.1} ms: policy swap {from} -> {to}",
                            now as f64 / 1e6
                        );
                    }
                    Err(e) => {
                        let _ = writeln!(out, "[kernel] policy swap refused: {e}");
                    }
                }
                swap = None;
            }
        }
    });
    let now = rl.now();
    let scheduler = lock(rl.scheduler()).telemetry(now);
    let exits = rl.exits();
    let exits = names
        .iter()
        .map(|(id, name)| (name.clone(), exits.get(id).copied().unwrap_or(-1)))
        .collect();
    Ok(DemoReport {
        exits,
        turns: rl.turns() as usize,
        machine_ns: now,
        scheduler,
        kernel: kernel.snapshot(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_runs_both_mounds_to_completion_and_swaps_policy() {
        let mut out = Vec::new();
        let report = run(&DemoOptions::default(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            report.exits,
            vec![("m1 primes".to_string(), 0), ("m2 crc".to_string(), 0)],
            "{text}"
        );
        assert!(text.contains("[m1 primes] round 12: "), "{text}");
        assert!(text.contains("[m2 crc] round 10: crc32 "), "{text}");
        assert!(text.contains("policy swap rr-priority -> stride"), "{text}");
        assert_eq!(report.scheduler.policy, "stride");
        assert!(report.turns > 4, "preemption interleaved the mounds");
    }

    #[test]
    fn same_quantum_replays_the_same_interleaving() {
        let opts = DemoOptions {
            quantum: 500_000,
            ..DemoOptions::default()
        };
        let a = run(&opts, &mut Vec::new()).unwrap();
        let b = run(&opts, &mut Vec::new()).unwrap();
        assert_eq!(a.turns, b.turns);
        assert_eq!(a.machine_ns, b.machine_ns);
    }
}
