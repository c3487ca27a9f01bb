//! # spin-vmm — the host
//!
//! Assembles a SPIN kernel, a machine and mounds, and runs them:
//! [`loader`] validates and loads static ELF programs into an address space;
//! [`runloop`] is the per-vCPU scheduling loop (pick → Resume → run until a
//! trap → hand the trap to the strand's mound → Checkpoint / block / exit);
//! [`host`] is the builder (configuration → kernel + machine + mounds);
//! [`manifest`] reads the TOML manifests `spin run` takes; [`control`] is
//! the control plane (telemetry records, requests over a Unix socket);
//! [`net`] is the host's network (NIC backends, the pump, user-mode
//! forwarding); [`kvm`] is the KVM machine (x86-64 guests in ring 3 above a ring-0 shim).

#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod control;
pub mod fb;
pub mod host;
#[allow(unsafe_code)] // the KVM ioctls, the kick signal and the preemption timer
pub mod kvm;
pub mod loader;
pub mod manifest;
#[allow(unsafe_code)] // the TAP device's TUNSETIFF ioctl
pub mod net;
pub mod runloop;
pub mod video;
