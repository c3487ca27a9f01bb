//! The dashboard on a synthetic host (the test fixture, advancing one record
//! a second), to try the terminal loop without a machine:
//!
//! ```text
//! cargo run --release -p spin-console --features fixture --example dashboard -- [--kvm] [--finish-after S] [--die-after S] [--config FILE]
//! ```
//!
//! `--kvm` makes the host the KVM machine (two vCPUs' exits, pane 7),
//! `P` swaps the policy (the synthetic host obeys), `--finish-after`
//! marks the host finished, `--die-after` makes the control plane fail as a
//! dead socket does.

use std::path::PathBuf;
use std::time::Instant;

use spin_console::{fixture, run_tui, TuiOptions};
use spin_scheduler::SwapRecord;
use spin_vmm::control::{ControlError, ControlPlane, Reply, Request};

struct Synthetic {
    start: Instant,
    policy: String,
    swaps: Vec<SwapRecord>,
    finish_after: Option<u64>,
    die_after: Option<u64>,
    kvm: bool,
}

impl ControlPlane for Synthetic {
    fn request(&mut self, req: &Request) -> Result<Reply, ControlError> {
        let secs = self.start.elapsed().as_secs();
        if self.die_after.is_some_and(|d| secs >= d) {
            return Err(ControlError::Protocol("the host closed the socket".into()));
        }
        Ok(match req {
            Request::Snapshot => {
                let mut t = if self.kvm {
                    fixture::kvm_record(secs)
                } else {
                    fixture::record(secs)
                };
                t.policy = self.policy.clone();
                t.sched.policy = self.policy.clone();
                t.sched.swaps.extend(self.swaps.iter().cloned());
                t.sched.swaps_total += self.swaps.len() as u64;
                if self.finish_after.is_some_and(|f| secs >= f) {
                    t = fixture::exited(t);
                }
                Reply::Snapshot(Box::new(t))
            }
            Request::SetPolicy { policy } => {
                if !spin_scheduler::POLICY_NAMES.contains(&policy.as_str()) {
                    return Ok(Reply::Error {
                        message: format!("unknown policy {policy}"),
                    });
                }
                let from = std::mem::replace(&mut self.policy, policy.clone());
                self.swaps.push(SwapRecord {
                    at: fixture::record(secs).machine_ns,
                    from: from.clone(),
                    to: policy.clone(),
                    who: "console".into(),
                    why: "operator".into(),
                    moved: 6,
                });
                Reply::PolicySet {
                    from,
                    to: policy.clone(),
                }
            }
            Request::StopMound { id } => Reply::MoundStopped { id: *id },
            _ => Reply::Error {
                message: "the synthetic host does not answer this".into(),
            },
        })
    }
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dashboard: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut plane = Synthetic {
        start: Instant::now(),
        policy: "stride".into(),
        swaps: Vec::new(),
        finish_after: None,
        die_after: None,
        kvm: false,
    };
    let mut opts = TuiOptions {
        title: "synthetic".into(),
        ..TuiOptions::default()
    };
    while let Some(a) = args.next() {
        let mut num = || -> Result<u64, Box<dyn std::error::Error>> {
            Ok(args.next().ok_or("missing value")?.parse()?)
        };
        match a.as_str() {
            "--kvm" => plane.kvm = true,
            "--finish-after" => plane.finish_after = Some(num()?),
            "--die-after" => plane.die_after = Some(num()?),
            "--refresh-ms" => opts.refresh_ms = Some(num()?),
            "--config" => opts.config = Some(PathBuf::from(args.next().ok_or("missing value")?)),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    run_tui(Box::new(plane), opts)?;
    Ok(())
}
