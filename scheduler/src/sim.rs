//! A deterministic virtual-time simulator: a synthetic workload run against
//! each policy on one virtual CPU through the real [`Scheduler`] runtime.
//!
//! The standard mix has CPU-bound strands of different weights, I/O-bound
//! strands that run short bursts and sleep, and periodic real-time strands
//! (total utilisation about 0.8 before the CPU-bound strands fill the rest).
//! Time only advances by events, and the only randomness is a seeded
//! [`Rng`]: the same seed and duration give the same report.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use spin_kernel::strand::Reservation;
use spin_kernel::{KernelId, MoundId, Nanos, SchedParams, StrandId};

use crate::accounting::weighted_jain;
use crate::histogram::LogHistogram;
use crate::policy::POLICY_NAMES;
use crate::rng::Rng;
use crate::runtime::{SchedError, Scheduler, SchedulerConfig, Stop};

const MS: Nanos = 1_000_000;

/// How a simulated strand behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Behavior {
    /// Always wants the CPU.
    CpuBound,
    /// Runs a burst, then sleeps; both uniform in the given ranges (ns).
    Io {
        /// Burst length range, ns.
        burst: (Nanos, Nanos),
        /// Sleep length range, ns.
        sleep: (Nanos, Nanos),
    },
    /// Released every `period`, needs `budget` of CPU by release + `deadline`.
    Periodic {
        /// Period, ns.
        period: Nanos,
        /// CPU per job, ns.
        budget: Nanos,
        /// Relative deadline, ns.
        deadline: Nanos,
    },
}

/// One simulated strand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimStrand {
    /// Name.
    pub name: String,
    /// Scheduling parameters (a periodic strand's reservation is set from its behavior).
    pub params: SchedParams,
    /// Behavior.
    pub behavior: Behavior,
}

/// A set of simulated strands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workload {
    /// The strands, in id order (strand i gets id i + 1).
    pub strands: Vec<SimStrand>,
}

fn params(priority: u8, weight: u32) -> SchedParams {
    SchedParams {
        priority,
        weight,
        reservation: None,
    }
}

impl Workload {
    /// Four CPU-bound strands (weights 100..400, priority 8), four I/O-bound
    /// (bursts 0.2–1 ms, sleeps 1–10 ms, priority 16) and three periodic
    /// (10/1, 20/3, 40/6 ms, priority 24; U = 0.4).
    pub fn standard_mix() -> Workload {
        let mut strands = Vec::new();
        for (i, w) in [100, 200, 300, 400].into_iter().enumerate() {
            strands.push(SimStrand {
                name: format!("cpu-{}", i + 1),
                params: params(8, w),
                behavior: Behavior::CpuBound,
            });
        }
        for i in 0..4 {
            strands.push(SimStrand {
                name: format!("io-{}", i + 1),
                params: params(16, 100),
                behavior: Behavior::Io {
                    burst: (MS / 5, MS),
                    sleep: (MS, 10 * MS),
                },
            });
        }
        for (i, (period, budget)) in [(10, 1), (20, 3), (40, 6)].into_iter().enumerate() {
            strands.push(SimStrand {
                name: format!("rt-{}", i + 1),
                params: params(24, 100),
                behavior: Behavior::Periodic {
                    period: period * MS,
                    budget: budget * MS,
                    deadline: period * MS,
                },
            });
        }
        Workload { strands }
    }
}

/// How one policy did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyResult {
    /// The policy.
    pub policy: String,
    /// Jain's index over the CPU-bound strands' CPU / weight (1.0 = shares follow weights).
    pub jain: f64,
    /// p99 wake-up latency of the I/O-bound and periodic strands, ns.
    pub p99_wake_latency_ns: Nanos,
    /// Periodic jobs released.
    pub jobs: u64,
    /// Jobs that missed their deadline (late or never run before the next release).
    pub deadline_misses: u64,
    /// `deadline_misses / jobs`.
    pub deadline_miss_ratio: f64,
    /// Longest time any strand waited runnable without running, ns.
    pub max_starvation_ns: Nanos,
    /// CPU time used, per workload strand, ns.
    pub cpu_ns: Vec<Nanos>,
    /// Times the stall watchdog fired.
    pub watchdog_firings: u64,
    /// The policy in force at the end (differs if the watchdog reverted it).
    pub final_policy: String,
}

/// The comparison table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimReport {
    /// Seed used.
    pub seed: u64,
    /// Simulated time, ns.
    pub duration: Nanos,
    /// One row per policy, in [`POLICY_NAMES`] order.
    pub rows: Vec<PolicyResult>,
}

#[derive(Debug, Clone, Copy)]
struct Live {
    /// Work left in the current burst or job, ns.
    work: Nanos,
    blocked: bool,
}

/// Runs `workload` under `policy` for `duration` ns of virtual time.
pub fn simulate(
    policy: &str,
    workload: &Workload,
    seed: u64,
    duration: Nanos,
) -> Result<PolicyResult, SchedError> {
    let config = SchedulerConfig {
        policy: policy.to_string(),
        ..SchedulerConfig::default()
    };
    simulate_with(config, workload, seed, duration)
}

/// [`simulate`] with a full runtime configuration.
pub fn simulate_with(
    config: SchedulerConfig,
    workload: &Workload,
    seed: u64,
    duration: Nanos,
) -> Result<PolicyResult, SchedError> {
    let policy = config.policy.clone();
    let mut sched = Scheduler::new(KernelId(0), config)?;
    let mut rng = Rng::new(seed);
    let id = |i: usize| StrandId(i as u32 + 1);
    let mut live = Vec::with_capacity(workload.strands.len());
    // (time, strand index): I/O wake-ups and periodic releases.
    let mut events: BTreeSet<(Nanos, usize)> = BTreeSet::new();
    let mut skipped = 0u64;
    let mut released = 0u64;
    for (i, s) in workload.strands.iter().enumerate() {
        let mut p = s.params;
        if let Behavior::Periodic {
            period,
            budget,
            deadline,
        } = s.behavior
        {
            p.reservation = Some(Reservation {
                period,
                deadline,
                budget,
            });
        }
        sched.add_strand(id(i), s.name.clone(), MoundId(1), p)?;
        live.push(Live {
            work: 0,
            blocked: true,
        });
        events.insert((0, i));
    }

    let mut now: Nanos = 0;
    // (strand index, dispatched at, segment end)
    let mut running: Option<(usize, Nanos, Nanos)> = None;
    while now < duration {
        // Deliver every event due by now.
        while let Some(&(t, i)) = events.first() {
            if t > now {
                break;
            }
            events.pop_first();
            match workload.strands[i].behavior {
                Behavior::CpuBound => live[i].work = Nanos::MAX,
                Behavior::Io { burst, .. } => live[i].work = rng.range(burst.0, burst.1).max(1),
                Behavior::Periodic { period, budget, .. } => {
                    released += 1;
                    events.insert((t + period.max(1), i));
                    if !live[i].blocked {
                        // The previous job is still running at the next release.
                        skipped += 1;
                        continue;
                    }
                    live[i].work = budget.max(1);
                }
            }
            live[i].blocked = false;
            sched.unblock(id(i), now)?;
            if let Some((r, start, _)) = running {
                if sched.should_preempt(id(r), now) {
                    let ran = now - start;
                    live[r].work = live[r].work.saturating_sub(ran);
                    sched.stop(id(r), ran, now, Stop::Runnable)?;
                    running = None;
                }
            }
        }
        let next_event = events.first().map_or(duration, |&(t, _)| t).min(duration);
        let Some((r, start, end)) = running else {
            match sched.pick_next(now) {
                Some(pick) => {
                    let i = pick.strand.0 as usize - 1;
                    let end = now.saturating_add(pick.quantum.min(live[i].work));
                    running = Some((i, now, end));
                }
                None => now = next_event.max(now + 1).min(duration.max(now + 1)),
            }
            continue;
        };
        if next_event < end {
            now = next_event.max(now);
            if now >= duration {
                break;
            }
            continue;
        }
        now = end;
        let ran = end - start;
        live[r].work = live[r].work.saturating_sub(ran);
        running = None;
        if live[r].work > 0 {
            sched.stop(id(r), ran, now, Stop::Runnable)?;
            continue;
        }
        live[r].blocked = true;
        sched.stop(id(r), ran, now, Stop::Blocked)?;
        if let Behavior::Io { sleep, .. } = workload.strands[r].behavior {
            events.insert((now + rng.range(sleep.0, sleep.1), r));
        }
    }
    if let Some((r, start, _)) = running {
        let end = now.min(duration).max(start);
        sched.stop(id(r), end - start, end, Stop::Runnable)?;
    }

    let tele = sched.telemetry(now);
    let mut latency = LogHistogram::new();
    let mut cpu_shares = Vec::new();
    let mut misses = skipped;
    let mut max_starvation = tele.watchdog.oldest_wait;
    let mut cpu_ns = Vec::with_capacity(workload.strands.len());
    for (i, s) in workload.strands.iter().enumerate() {
        let a = sched.account(id(i)).cloned().unwrap_or_default();
        cpu_ns.push(a.cpu_ns);
        max_starvation = max_starvation.max(a.max_wait_ns);
        match s.behavior {
            Behavior::CpuBound => cpu_shares.push((a.cpu_ns, s.params.weight)),
            Behavior::Io { .. } => latency.merge(&a.wake_latency),
            Behavior::Periodic { .. } => {
                latency.merge(&a.wake_latency);
                misses += a.deadline_misses;
            }
        }
    }
    Ok(PolicyResult {
        policy,
        jain: weighted_jain(cpu_shares),
        p99_wake_latency_ns: latency.quantile(0.99),
        jobs: released,
        deadline_misses: misses,
        deadline_miss_ratio: if released == 0 {
            0.0
        } else {
            misses as f64 / released as f64
        },
        max_starvation_ns: max_starvation,
        cpu_ns,
        watchdog_firings: tele.watchdog.firings,
        final_policy: tele.policy,
    })
}

/// Runs the standard mix against every policy for `duration` ns of virtual time.
pub fn run_comparison(seed: u64, duration: Nanos) -> SimReport {
    let workload = Workload::standard_mix();
    let rows = POLICY_NAMES
        .iter()
        .filter_map(|name| simulate(name, &workload, seed, duration).ok())
        .collect();
    SimReport {
        seed,
        duration,
        rows,
    }
}

impl fmt::Display for SimReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "scheduler comparison: seed {}, {:.3} s of virtual time, standard mix (4 cpu, 4 io, 3 periodic)",
            self.seed,
            self.duration as f64 / 1e9
        )?;
        writeln!(
            f,
            "{:<12} {:>12} {:>15} {:>15} {:>18} {:>9}",
            "policy",
            "jain(cpu/w)",
            "p99 wake (µs)",
            "deadline miss",
            "max starve (ms)",
            "watchdog"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:<12} {:>12.4} {:>15.1} {:>8}/{:<6} {:>18.2} {:>9}",
                r.policy,
                r.jain,
                r.p99_wake_latency_ns as f64 / 1e3,
                r.deadline_misses,
                r.jobs,
                r.max_starvation_ns as f64 / 1e6,
                r.watchdog_firings
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_for_a_seed() {
        let a = run_comparison(42, 2_000 * MS);
        let b = run_comparison(42, 2_000 * MS);
        assert_eq!(a, b);
        assert_eq!(a.rows.len(), POLICY_NAMES.len());
        println!("{a}");
    }

    #[test]
    fn edf_meets_the_standard_mix_deadlines_and_stride_follows_weights() {
        let r = run_comparison(7, 3_000 * MS);
        let edf = r.rows.iter().find(|r| r.policy == "edf").expect("edf row");
        assert_eq!(edf.deadline_misses, 0, "{r}");
        let stride = r
            .rows
            .iter()
            .find(|r| r.policy == "stride")
            .expect("stride row");
        assert!(stride.jain > 0.99, "{r}");
        for row in &r.rows {
            assert_eq!(row.watchdog_firings, 0, "{r}");
            let total: Nanos = row.cpu_ns.iter().sum();
            assert!(total <= 3_000 * MS && total > 2_900 * MS, "{r}");
        }
    }
}
