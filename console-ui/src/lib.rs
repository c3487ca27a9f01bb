//! The SPIN dashboard: ratatui panes drawn purely from telemetry snapshots.
//!
//! The collector produces a [`spin_kernel::telemetry::KernelSnapshot`] and a
//! [`spin_scheduler::SchedTelemetry`]; it never touches UI types. The
//! [`Dashboard`] owns all UI state (selected pane, sort column, freeze) and
//! draws from the latest snapshot, or from a cloned one while frozen. Keys
//! map to [`Action`]s through a pure state machine ([`Dashboard::on_key`]),
//! so no terminal is needed to drive or test it; the binary owns the terminal
//! loop and sends actions such as [`Action::SwapPolicy`] back to the kernel.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod dashboard;
mod keys;
pub mod panes;

pub use dashboard::{Dashboard, Pane, Snapshot, SortColumn};
pub use keys::{Action, Key};
