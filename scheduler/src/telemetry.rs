//! What the scheduler reports to the kernel snapshot and the dashboard.

use serde::{Deserialize, Serialize};
use spin_kernel::{MoundId, Nanos, SchedParams, StrandId, StrandState};

use crate::accounting::{weighted_jain, AccountRow};
use crate::runtime::{GroupState, Scheduler};
use crate::watchdog::WatchdogTelemetry;

/// One policy swap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwapRecord {
    /// Machine time, ns.
    pub at: Nanos,
    /// Policy before.
    pub from: String,
    /// Policy after.
    pub to: String,
    /// Who asked (`console`, `watchdog`, an extension's name).
    pub who: String,
    /// Why.
    pub why: String,
    /// Runnable entities moved to the new policy.
    pub moved: usize,
}

/// One strand's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrandRow {
    /// Id.
    pub id: StrandId,
    /// Name.
    pub name: String,
    /// Owning mound.
    pub mound: MoundId,
    /// State.
    pub state: StrandState,
    /// Parameters.
    pub params: SchedParams,
    /// Accounting.
    pub account: AccountRow,
}

/// One mound's row (sums over its strands, including exited and reaped ones).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoundRow {
    /// Mound.
    pub mound: MoundId,
    /// Live (not reaped) strands.
    pub strands: usize,
    /// Its local scheduler, if it schedules its own strands.
    pub local_scheduler: Option<String>,
    /// Its group entity's global state (`idle`, `queued`, `running`), if any.
    pub group_state: Option<String>,
    /// Share of all CPU time so far, 0.0..=1.0.
    pub cpu_share: f64,
    /// Accounting.
    pub account: AccountRow,
}

/// A snapshot of the global scheduler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchedTelemetry {
    /// Machine time of the snapshot, ns.
    pub now: Nanos,
    /// The running policy.
    pub policy: String,
    /// Entities in the global runnable set.
    pub runnable: usize,
    /// Strands on a CPU.
    pub running: usize,
    /// Blocked strands.
    pub blocked: usize,
    /// Exited, not yet reaped strands.
    pub exited: usize,
    /// Recent swaps, oldest first.
    pub swaps: Vec<SwapRecord>,
    /// All swaps ever.
    pub swaps_total: u64,
    /// The stall watchdog.
    pub watchdog: WatchdogTelemetry,
    /// Jain's index over weighted CPU shares (`cpu / weight`) of the strands
    /// that ever waited to run (those that wanted more CPU than they got).
    pub fairness: f64,
    /// Per strand, by id.
    pub strands: Vec<StrandRow>,
    /// Per mound, by id.
    pub mounds: Vec<MoundRow>,
}

impl Scheduler {
    /// A telemetry snapshot at `now` (O(n); the kernel calls it under its
    /// scheduler lock and hands the copy to the console).
    pub fn telemetry(&self, now: Nanos) -> SchedTelemetry {
        let mut counts = [0usize; 4];
        let mut strands = Vec::with_capacity(self.strands.len());
        let mut live_per_mound = std::collections::BTreeMap::<MoundId, usize>::new();
        let mut ids: Vec<StrandId> = self.strands.keys().collect();
        ids.sort_unstable();
        for (id, e) in ids
            .iter()
            .filter_map(|id| self.strands.get(id).map(|e| (id, e)))
        {
            let slot = match e.state {
                StrandState::Runnable => 0,
                StrandState::Running => 1,
                StrandState::Blocked => 2,
                StrandState::Exited => 3,
            };
            counts[slot] += 1;
            *live_per_mound.entry(e.mound).or_default() += 1;
            strands.push(StrandRow {
                id: *id,
                name: e.name.clone(),
                mound: e.mound,
                state: e.state,
                params: e.params,
                account: e.acct.row(),
            });
        }
        let total_cpu: u64 = self.mounds.values().map(|a| a.cpu_ns).sum();
        let mounds = self
            .mounds
            .iter()
            .map(|(m, a)| {
                let group = self.group_of_mound.get(m).map(|&g| &self.groups[g]);
                MoundRow {
                    mound: *m,
                    strands: live_per_mound.get(m).copied().unwrap_or(0),
                    local_scheduler: group.map(|g| g.local.name().to_string()),
                    group_state: group.map(|g| {
                        match g.state {
                            GroupState::Idle => "idle",
                            GroupState::Queued => "queued",
                            GroupState::Running => "running",
                        }
                        .to_string()
                    }),
                    cpu_share: if total_cpu == 0 {
                        0.0
                    } else {
                        a.cpu_ns as f64 / total_cpu as f64
                    },
                    account: a.row(),
                }
            })
            .collect();
        let fairness = weighted_jain(
            self.strands
                .values()
                .filter(|e| e.acct.wait_ns > 0)
                .map(|e| (e.acct.cpu_ns, e.params.weight)),
        );
        SchedTelemetry {
            now,
            policy: self.policy.name().to_string(),
            runnable: self.policy.len(),
            running: counts[1],
            blocked: counts[2],
            exited: counts[3],
            swaps: self.swaps.clone(),
            swaps_total: self.swaps_total,
            watchdog: self.watchdog.telemetry(now),
            fairness,
            strands,
            mounds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{SchedulerConfig, Stop};
    use spin_kernel::KernelId;

    fn is_serde<T: Serialize + for<'de> Deserialize<'de>>(_: &T) {}

    #[test]
    fn snapshot_rows_and_serde() {
        let mut s =
            Scheduler::new(KernelId(1), SchedulerConfig::default()).expect("default config");
        for i in 1..=3 {
            s.add_strand(
                StrandId(i),
                format!("s{i}"),
                MoundId(i % 2),
                SchedParams::default(),
            )
            .expect("fresh id");
            s.unblock(StrandId(i), 0).expect("known strand");
        }
        let p = s.pick_next(10).expect("runnable");
        s.stop(p.strand, 90, 100, Stop::Blocked).expect("running");
        let t = s.telemetry(100);
        is_serde(&t);
        assert_eq!((t.runnable, t.running, t.blocked, t.exited), (2, 0, 1, 0));
        assert_eq!(t.strands.len(), 3);
        assert_eq!(t.mounds.len(), 2);
        let total: f64 = t.mounds.iter().map(|m| m.cpu_share).sum();
        assert!((total - 1.0).abs() < 1e-9);
        assert_eq!(t.watchdog.oldest_wait, 100);
        assert_eq!(t.policy, "rr-priority");
    }
}
