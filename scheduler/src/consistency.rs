//! The runtime's invariants, checked in O(n) (for tests and debugging).

use spin_kernel::StrandState;

use crate::runtime::{GroupState, Pending, Scheduler};

impl Scheduler {
    /// Verifies the runtime's invariants in O(n): every strand in exactly one
    /// state; the policy holds exactly the runnable entities; each group's
    /// local scheduler holds exactly its runnable strands. For tests and debugging.
    pub fn check_consistency(&self) -> Result<(), String> {
        let mut runnable_entities = 0usize;
        let mut running = 0usize;
        let mut local_runnable = vec![0usize; self.groups.len()];
        for (id, e) in self.strands.iter() {
            match (e.state, e.group) {
                (StrandState::Runnable, None) => {
                    runnable_entities += 1;
                    if self.watchdog.since(id) != Some(e.runnable_since) {
                        return Err(format!("{id} runnable but the watchdog disagrees"));
                    }
                }
                (StrandState::Runnable, Some(g)) => local_runnable[g] += 1,
                (StrandState::Running, g) => {
                    running += 1;
                    if let Some(g) = g {
                        if self.groups[g].running != Some(id) {
                            return Err(format!("{id} running but its group does not say so"));
                        }
                    }
                }
                _ => {
                    if self.watchdog.since(id).is_some() {
                        return Err(format!("{id} is {:?} but waits in the watchdog", e.state));
                    }
                }
            }
            if e.state != StrandState::Running && e.pending != Pending::None {
                return Err(format!("{id} has a pending stop action but is not running"));
            }
        }
        for (g, group) in self.groups.iter().enumerate() {
            if group.local.len() != local_runnable[g] {
                return Err(format!(
                    "group {} holds {} strands, {} are runnable",
                    group.mound,
                    group.local.len(),
                    local_runnable[g]
                ));
            }
            let queued = group.state == GroupState::Queued;
            if queued != self.watchdog.since(group.entity).is_some() {
                return Err(format!(
                    "group {} queued state disagrees with the watchdog",
                    group.mound
                ));
            }
            if queued {
                runnable_entities += 1;
                if group.local.is_empty() {
                    return Err(format!(
                        "group {} queued with nothing runnable",
                        group.mound
                    ));
                }
            }
            if group.state == GroupState::Idle && !group.local.is_empty() {
                return Err(format!("group {} idle with runnable strands", group.mound));
            }
        }
        if running != self.running {
            return Err(format!(
                "{running} strands running, counter says {}",
                self.running
            ));
        }
        if self.policy.len() != runnable_entities || self.watchdog.len() != runnable_entities {
            return Err(format!(
                "{runnable_entities} runnable entities, policy holds {}, watchdog {}",
                self.policy.len(),
                self.watchdog.len()
            ));
        }
        Ok(())
    }
}
