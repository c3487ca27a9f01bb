//! The one place the CLI opens the dashboard (spin-console).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use spin_vmm::control::ControlPlane;

/// Opens the dashboard on `plane` until the operator quits.
pub fn open(
    plane: Box<dyn ControlPlane>,
    refresh: Duration,
    config: Option<PathBuf>,
    title: String,
) -> Result<()> {
    spin_console::run_tui(
        plane,
        spin_console::TuiOptions {
            refresh_ms: Some(refresh.as_millis() as u64),
            config,
            title,
        },
    )?;
    Ok(())
}
