//! # spin-scheduler — SPIN's global scheduling policies and their runtime
//!
//! * [`policy`]: the policies behind [`spin_kernel::GlobalScheduler`]
//!   (`rr-priority`, `stride`, `lottery`, `edf`, `fair`) and a registry.
//!
//! Everything here is deterministic: decisions depend only on the sequence of
//! calls and their machine-time arguments (no wall clock, no hash-map
//! iteration order, seeded randomness).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod ids;
pub mod policy;
pub mod queue;
pub mod rng;

pub use policy::{policy_by_name, PolicyError, PolicyParams, DEFAULT_POLICY, POLICY_NAMES};
