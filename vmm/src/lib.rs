//! # spin-vmm — the host
//!
//! Assembles a SPIN kernel, a machine and mounds, and runs them:
//! [`loader`] validates and loads static ELF programs into an address space;
//! [`runloop`] is the per-vCPU scheduling loop (pick → Resume → run until a
//! trap → hand the trap to the strand's mound → Checkpoint / block / exit);
//! [`demo`] is the embedded default mix that `spin demo` runs.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod control;
pub mod demo;
pub mod host;
pub mod loader;
pub mod runloop;
