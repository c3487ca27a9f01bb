//! The global policies and the registry that builds them by name.
//!
//! | name | idea | pick / enqueue |
//! |---|---|---|
//! | `rr-priority` | SPIN's default: preemptive, round-robin within a priority level | O(1) |
//! | `stride` | deterministic proportional share, tickets = weight; 4-ary heap by pass | O(log n) |
//! | `lottery` | randomized proportional share, seeded; 8-ary sum tree of tickets | O(log n) |
//! | `edf` | earliest deadline first for reservations; others in the slack | O(log n) |
//! | `fair` | EEVDF: earliest eligible virtual deadline; weight from `weight` or a nice table | O(log n) |
//!
//! `stride`, `lottery` and `fair` index their per-strand state by a dense slot
//! ([`crate::slots`]), so their hot path does no hashing.

use serde::{Deserialize, Serialize};
use spin_kernel::{GlobalScheduler, Nanos};

mod edf;
mod fair;
mod lottery;
mod rr_priority;
mod stride;

pub use edf::Edf;
pub use fair::{DeadlineTree, Fair, MAX_WEIGHT, NICE_TO_WEIGHT};
pub use lottery::Lottery;
pub use rr_priority::RrPriority;
pub use stride::Stride;

/// The policy the kernel boots with and the watchdog reverts to.
pub const DEFAULT_POLICY: &str = "rr-priority";

/// Every name [`policy_by_name`] accepts, default first.
pub const POLICY_NAMES: &[&str] = &["rr-priority", "stride", "lottery", "edf", "fair"];

/// Where `fair` takes a strand's weight from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FairWeights {
    /// `SchedParams::weight`, with 100 (the default) meaning Linux's nice 0 (1024).
    #[default]
    Weight,
    /// `SchedParams::priority` through Linux's nice table: priority 16 is nice 0,
    /// each step up is one nice level more urgent.
    Priority,
}

/// Tunables shared by the policies (each reads the ones it needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyParams {
    /// Base time slice, in ns of machine time (rr-priority, stride, lottery,
    /// and edf's best-effort class).
    pub quantum: Nanos,
    /// Number of priority levels for rr-priority, 1..=32; the 32 strand
    /// priorities are folded evenly onto them.
    pub levels: u8,
    /// Seed for randomized policies (lottery).
    pub seed: u64,
    /// `fair`: the request each strand makes, ns of CPU (Linux's base
    /// slice): the longest it runs per pick, and `slice · 1024 / weight` is
    /// how far its virtual deadline lies beyond its eligible time.
    pub fair_slice: Nanos,
    /// `fair`: the most lag a strand keeps across a block, ns of CPU, owed
    /// or overdrawn.
    pub fair_lag_bound: Nanos,
    /// `fair`: where weights come from.
    pub fair_weights: FairWeights,
}

impl Default for PolicyParams {
    fn default() -> Self {
        PolicyParams {
            quantum: 10_000_000,
            levels: 32,
            seed: 0x5350_494E, // "SPIN"
            fair_slice: 750_000,
            fair_lag_bound: 3_000_000,
            fair_weights: FairWeights::Weight,
        }
    }
}

/// Why a policy could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The name is not in [`POLICY_NAMES`].
    #[error("there is no scheduling policy named `{name}` (known: {known})")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The names that exist, comma-separated.
        known: String,
    },
    /// A tunable is out of range.
    #[error("invalid policy parameters: {0}")]
    InvalidParams(String),
}

/// Builds the policy called `name` with `params`.
pub fn policy_by_name(
    name: &str,
    params: &PolicyParams,
) -> Result<Box<dyn GlobalScheduler>, PolicyError> {
    if params.quantum == 0 {
        return Err(PolicyError::InvalidParams(
            "the quantum must be at least 1 ns".into(),
        ));
    }
    match name {
        "rr-priority" => {
            if !(1..=32).contains(&params.levels) {
                return Err(PolicyError::InvalidParams(format!(
                    "rr-priority needs 1..=32 levels, not {}",
                    params.levels
                )));
            }
            Ok(Box::new(RrPriority::new(params.levels, params.quantum)))
        }
        "stride" => Ok(Box::new(Stride::new(params.quantum))),
        "lottery" => Ok(Box::new(Lottery::new(params.quantum, params.seed))),
        "edf" => Ok(Box::new(Edf::new(params.quantum))),
        "fair" => {
            if params.fair_slice == 0 {
                return Err(PolicyError::InvalidParams(
                    "fair needs a slice of at least 1 ns".into(),
                ));
            }
            Ok(Box::new(Fair::new(
                params.fair_slice,
                params.fair_lag_bound,
                params.fair_weights,
            )))
        }
        _ => Err(PolicyError::Unknown {
            name: name.to_string(),
            known: POLICY_NAMES.join(", "),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_builds_every_name() {
        for name in POLICY_NAMES {
            let p = policy_by_name(name, &PolicyParams::default()).expect("known policy");
            assert_eq!(p.name(), *name);
            assert!(p.is_empty());
        }
    }

    #[test]
    fn registry_refuses_unknown_and_bad_params() {
        let e = policy_by_name("fifo-of-doom", &PolicyParams::default()).err();
        assert!(matches!(e, Some(PolicyError::Unknown { .. })));
        let bad = PolicyParams {
            levels: 0,
            ..PolicyParams::default()
        };
        assert!(policy_by_name("rr-priority", &bad).is_err());
        let bad = PolicyParams {
            quantum: 0,
            ..PolicyParams::default()
        };
        assert!(policy_by_name("stride", &bad).is_err());
    }
}
