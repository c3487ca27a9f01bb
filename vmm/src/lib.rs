//! # spin-vmm — the host
//!
//! Assembles a SPIN kernel, a machine and mounds, and runs them:
//! [`loader`] validates and loads static ELF programs into an address space;
//! [`runloop`] is the per-vCPU scheduling loop (pick → Resume → run until a
//! trap → hand the trap to the strand's mound → Checkpoint / block / exit);
//! [`host`] is the builder (configuration → kernel + machine + mounds);
//! [`manifest`] reads the TOML manifests `spin run` takes; [`control`] is
//! the control plane (telemetry records, requests over a Unix socket).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod control;
pub mod host;
pub mod loader;
pub mod manifest;
pub mod runloop;
