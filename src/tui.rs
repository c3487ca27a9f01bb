//! The one place the CLI opens the dashboard (spin-console).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use spin_vmm::control::ControlPlane;

/// Opens the dashboard on `plane` until the operator quits (or `deadline`).
pub fn open(
    plane: Box<dyn ControlPlane>,
    refresh: Duration,
    config: Option<PathBuf>,
    title: String,
    deadline: Option<Instant>,
) -> Result<()> {
    let _ = (plane, refresh, config, title, deadline);
    anyhow::bail!("the dashboard is not wired yet: use --headless")
}
