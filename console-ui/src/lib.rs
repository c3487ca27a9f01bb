//! The SPIN dashboard: ratatui panes drawn purely from telemetry records.
//!
//! The host's collector produces [`spin_vmm::control::Telemetry`] records and
//! never touches UI types; the [`Dashboard`] owns every bit of UI state and
//! draws from the latest record (or from a frozen copy). Keys and mouse
//! events map to [`Action`]s through a pure state machine
//! ([`Dashboard::on_key`], [`Dashboard::on_mouse`]), so no terminal is
//! needed to drive or test it. [`run_tui`] is the terminal loop: it talks to
//! the host only through a [`spin_vmm::control::ControlPlane`] (in process
//! or over the control socket).
//!
//! ```no_run
//! # fn demo(plane: Box<dyn spin_vmm::control::ControlPlane>) -> Result<(), spin_console::TuiError> {
//! use spin_console::{run_tui, TuiOptions};
//! run_tui(plane, TuiOptions { title: "spin demo".into(), ..TuiOptions::default() })
//! # }
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod collector;
pub mod config;
mod dashboard;
mod draw;
#[cfg(any(test, feature = "fixture"))]
pub mod fixture;
pub mod history;
pub mod input;
pub mod log_tail;
mod pane;
pub mod panes;
#[cfg(test)]
mod screen_tests;
pub mod strands_view;
pub mod theme;
mod tui;

pub use config::{Config, ConfigError};
pub use dashboard::{Action, Confirm, Dashboard, Link, Popup, Status};
pub use draw::layout;
pub use input::{Command, Key, Keymap, Mouse, MouseKind};
pub use pane::Pane;
pub use strands_view::{SortKey, StrandsView};
pub use theme::Theme;
pub use tui::{key_of, mouse_of, run_tui, TuiError, TuiOptions};
