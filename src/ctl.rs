//! `spin ctl SOCKET ...`: one control request to a running host, its reply
//! printed for people (tables) or for scripts (`--json`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Subcommand;
use spin_vmm::control::{Client, ControlPlane, Reply, Request};

/// `spin ctl` arguments.
#[derive(clap::Args, Debug)]
pub struct CtlArgs {
    /// The host's control socket (`spin run --socket PATH`).
    pub socket: PathBuf,
    #[command(subcommand)]
    pub command: CtlCommand,
}

/// What to ask.
#[derive(Subcommand, Debug)]
pub enum CtlCommand {
    /// Show or swap the global scheduling policy.
    Policy {
        #[command(subcommand)]
        command: Option<PolicyCommand>,
    },
    /// The strands table.
    Strands {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The mounds overview.
    Mounds {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Act on one mound.
    Mound {
        #[command(subcommand)]
        command: MoundCommand,
    },
    /// A whole telemetry record.
    Snapshot {
        /// Print the record as one JSON object (otherwise a summary).
        #[arg(long)]
        json: bool,
    },
    /// The network: per-layer packets and drops by reason, per-handler
    /// guard counters, the NIC's frames and injected faults.
    Net {
        /// Print JSON (`{"net": ..., "nic": ...}`) instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// The database pager mounds: each attached file's policy, budget,
    /// resident pages by kind and counters.
    Pager {
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Switch a database pager mound's page replacement policy (every file
    /// it attached).
    PagerPolicy {
        /// The mound's id or name (see `spin ctl SOCKET pager`).
        mound: String,
        /// The policy.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(PAGER_POLICIES))]
        policy: String,
    },
    /// The host's log (guest output and kernel messages).
    Log {
        /// Only lines after this line number.
        #[arg(long, default_value_t = 0)]
        since: u64,
        /// Keep printing new lines until the host goes away.
        #[arg(long, short)]
        follow: bool,
    },
}

/// `spin ctl SOCKET policy ...`.
#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Print the current policy and the ones available (the default).
    Get,
    /// Swap the global policy at the next scheduling point.
    Set {
        /// The policy.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(spin_scheduler::POLICY_NAMES))]
        name: String,
    },
}

/// `spin ctl SOCKET mound ...`.
#[derive(Subcommand, Debug)]
pub enum MoundCommand {
    /// Stop a mound: its strands are killed, the other mounds keep running.
    Stop {
        /// The mound's id (see `spin ctl SOCKET mounds`).
        id: u32,
    },
}

/// The database pager's policies (`spin_dbpager::PolicyKind` names).
const PAGER_POLICIES: [&str; 6] = ["clock", "lru", "mru", "2q", "hinted", "opt"];

fn ask(client: &mut Client, req: &Request) -> Result<Reply> {
    match client.request(req)? {
        Reply::Error { message } => bail!("{message}"),
        r => Ok(r),
    }
}

/// Runs one `spin ctl` command.
pub fn run(a: CtlArgs) -> Result<ExitCode> {
    let mut client = Client::connect(&a.socket)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match a.command {
        CtlCommand::Policy { command } => match command.unwrap_or(PolicyCommand::Get) {
            PolicyCommand::Get => {
                if let Reply::Policies { current, available } =
                    ask(&mut client, &Request::Policies)?
                {
                    writeln!(out, "policy: {current}")?;
                    writeln!(out, "available: {}", available.join(", "))?;
                }
            }
            PolicyCommand::Set { name } => {
                if let Reply::PolicySet { from, to } =
                    ask(&mut client, &Request::SetPolicy { policy: name })?
                {
                    writeln!(out, "policy swapped: {from} -> {to}")?;
                }
            }
        },
        CtlCommand::Strands { json } => {
            if let Reply::Strands(rows) = ask(&mut client, &Request::Strands)? {
                if json {
                    writeln!(out, "{}", serde_json::to_string(&rows)?)?;
                } else {
                    writeln!(
                        out,
                        "{:>6} {:<28} {:>5} {:<8} {:>4} {:>6} {:>12} {:>10} {:>6}",
                        "id",
                        "name",
                        "mound",
                        "state",
                        "prio",
                        "weight",
                        "cpu (ms)",
                        "wake p99",
                        "misses"
                    )?;
                    for r in rows {
                        writeln!(
                            out,
                            "{:>6} {:<28} {:>5} {:<8} {:>4} {:>6} {:>12.1} {:>10} {:>6}",
                            r.id.0,
                            r.name,
                            r.mound.0,
                            format!("{:?}", r.state).to_lowercase(),
                            r.params.priority,
                            r.params.weight,
                            r.account.cpu_ns as f64 / 1e6,
                            format!("{}us", r.account.wake_latency.p99_ns / 1000),
                            r.account.deadline_misses
                        )?;
                    }
                }
            }
        }
        CtlCommand::Mounds { json } => {
            if let Reply::Mounds(rows) = ask(&mut client, &Request::Mounds)? {
                if json {
                    writeln!(out, "{}", serde_json::to_string(&rows)?)?;
                } else {
                    writeln!(
                        out,
                        "{:>3} {:<12} {:<6} {:<12} {:>6} {:>14} {:>10} {:>10}  program",
                        "id",
                        "name",
                        "type",
                        "state",
                        "procs",
                        "frames/quota",
                        "faults",
                        "syscalls"
                    )?;
                    for m in rows {
                        writeln!(
                            out,
                            "{:>3} {:<12} {:<6} {:<12} {:>6} {:>14} {:>10} {:>10}  {}",
                            m.id.0,
                            m.name,
                            m.kind,
                            serde_json::to_value(&m.state)?["state"]
                                .as_str()
                                .unwrap_or("?"),
                            m.tasks,
                            format!(
                                "{}/{}",
                                m.frames,
                                m.quota.map_or("-".to_string(), |q| q.to_string())
                            ),
                            m.faults,
                            m.calls,
                            m.program
                        )?;
                    }
                }
            }
        }
        CtlCommand::Mound {
            command: MoundCommand::Stop { id },
        } => {
            if let Reply::MoundStopped { id } = ask(&mut client, &Request::StopMound { id })? {
                writeln!(out, "mound {id} stopped")?;
            }
        }
        CtlCommand::Snapshot { json } => {
            let t = client.snapshot()?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&t)?)?;
            } else {
                writeln!(
                    out,
                    "{} machine, {} vCPU(s), policy {}, {:.3} s machine time, {} turns, {}",
                    t.machine,
                    t.cpus,
                    t.policy,
                    t.machine_ns as f64 / 1e9,
                    t.turns,
                    if t.running { "running" } else { "finished" }
                )?;
                writeln!(
                    out,
                    "{} strands ({} runnable, {} running, {} blocked), {} swap(s), fairness {:.3}",
                    t.sched.strands.len(),
                    t.sched.runnable,
                    t.sched.running,
                    t.sched.blocked,
                    t.sched.swaps_total,
                    t.sched.fairness
                )?;
                writeln!(
                    out,
                    "frames: {} of {} free ({} KiB each)",
                    t.kernel.frames.free,
                    t.kernel.frames.total,
                    t.kernel.frames.page_size / 1024
                )?;
                for m in &t.mounds {
                    writeln!(
                        out,
                        "mound {} {}: {} frames, {} faults, {} syscalls",
                        m.id.0, m.name, m.frames, m.faults, m.calls
                    )?;
                }
            }
        }
        CtlCommand::Net { json } => {
            if let Reply::Net { net, nic } = ask(&mut client, &Request::Net)? {
                if json {
                    let v = serde_json::json!({ "net": net, "nic": nic });
                    writeln!(out, "{v}")?;
                } else {
                    print_net(&mut out, &net, &nic)?;
                }
            }
        }
        CtlCommand::Pager { json } => {
            if let Reply::Pagers(pagers) = ask(&mut client, &Request::Pagers)? {
                if json {
                    writeln!(out, "{}", serde_json::to_string(&pagers)?)?;
                } else {
                    print_pagers(&mut out, &pagers)?;
                }
            }
        }
        CtlCommand::PagerPolicy { mound, policy } => {
            let id = match mound.parse::<u32>() {
                Ok(id) => id,
                Err(_) => match ask(&mut client, &Request::Pagers)? {
                    Reply::Pagers(p) => match p.iter().find(|p| p.name == mound) {
                        Some(p) => p.id,
                        None => bail!("no db-pager mound is called `{mound}`"),
                    },
                    _ => bail!("the host did not list its pagers"),
                },
            };
            let req = Request::SetPagerPolicy { mound: id, policy };
            if let Reply::PagerPolicySet { mound, from, to } = ask(&mut client, &req)? {
                writeln!(out, "mound {mound}: pager policy {from} -> {to}")?;
            }
        }
        CtlCommand::Log { since, follow } => {
            let mut since = since;
            loop {
                let lines = match ask(&mut client, &Request::Log { since }) {
                    Ok(Reply::Log(lines)) => lines,
                    Ok(_) => Vec::new(),
                    Err(e) if follow => {
                        eprintln!("spin: {e}");
                        break;
                    }
                    Err(e) => return Err(e),
                };
                for l in lines {
                    since = l.seq;
                    writeln!(out, "{:>6} [{}] {}", l.seq, l.source, l.text)?;
                }
                out.flush()?;
                if !follow {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `spin ctl SOCKET pager` as tables.
fn print_pagers(out: &mut impl Write, pagers: &[spin_vmm::host::PagerTelemetry]) -> Result<()> {
    if pagers.is_empty() {
        writeln!(out, "no db-pager mounds")?;
    }
    for p in pagers {
        writeln!(
            out,
            "mound {} {}: {} file(s) attached",
            p.id,
            p.name,
            p.files.len()
        )?;
        if p.files.is_empty() {
            continue;
        }
        writeln!(
            out,
            "  {:<7} {:>6} {:>8} {:>6} {:>5} {:>5} {:>6} {:>6} {:>10} {:>10} {:>6} {:>10} {:>10}",
            "policy",
            "budget",
            "resident",
            "dirty",
            "hot",
            "scan",
            "index",
            "normal",
            "hits",
            "faults",
            "hit %",
            "evictions",
            "writebacks"
        )?;
        for f in &p.files {
            let k = &f.by_kind;
            let t = &f.total;
            writeln!(
                out,
                "  {:<7} {:>6} {:>8} {:>6} {:>5} {:>5} {:>6} {:>6} {:>10} {:>10} {:>6.1} {:>10} {:>10}",
                f.policy,
                f.budget,
                f.resident,
                f.dirty,
                k.hot,
                k.scan,
                k.index,
                k.normal,
                t.hits,
                t.faults,
                t.hit_ratio() * 100.0,
                t.evictions,
                t.writebacks
            )?;
        }
    }
    Ok(())
}

/// `spin ctl SOCKET net` as tables.
fn print_net(
    out: &mut impl Write,
    net: &spin_vmm::net::spin_net::NetTelemetry,
    nic: &spin_vmm::net::NicTelemetry,
) -> Result<()> {
    writeln!(
        out,
        "network: {} at {} ({}), ARP {} resolved / {} pending, {} reassembling",
        nic.backend, nic.address, nic.mac, net.arp_entries, net.arp_pending, net.reassembling
    )?;
    writeln!(
        out,
        "nic: {} frames in ({} B), {} out ({} B), {} tx errors; injected: {} drops, {} dups, {} reorders; pump: {} wake-ups, {} busy-poll hits",
        nic.frames_in,
        nic.bytes_in,
        nic.frames_out,
        nic.bytes_out,
        nic.tx_errors,
        nic.injected_drops,
        nic.injected_dups,
        nic.injected_reorders,
        nic.pump_wakeups,
        nic.pump_busy_hits
    )?;
    if nic.backend == "user" {
        writeln!(
            out,
            "user mode: {} datagrams from host sockets, {} to them, {} host errors",
            nic.user.udp_from_host, nic.user.udp_to_host, nic.user.host_errors
        )?;
    }
    writeln!(
        out,
        "\n{:<6} {:>10} {:>8}  drops by reason",
        "layer", "packets", "dropped"
    )?;
    for l in &net.layers {
        let reasons: Vec<String> = l
            .drops
            .iter()
            .map(|(r, n)| {
                let name = serde_json::to_value(r)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_else(|| format!("{r:?}"));
                format!("{name} {n}")
            })
            .collect();
        let layer = serde_json::to_value(l.layer)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{:?}", l.layer));
        writeln!(
            out,
            "{:<6} {:>10} {:>8}  {}",
            layer,
            l.packets,
            l.dropped,
            reasons.join(", ")
        )?;
    }
    writeln!(
        out,
        "\n{:<22} {:>6} {:<32} {:>6} {:>7} {:>10} {:>10}",
        "event", "id", "handler", "guards", "indexed", "runs", "misses"
    )?;
    for e in &net.events {
        writeln!(out, "{:<22} raised {} times", e.name, e.raises)?;
        for h in &e.handler_stats {
            writeln!(
                out,
                "{:<22} {:>6} {:<32} {:>6} {:>7} {:>10} {:>10}",
                "",
                h.id,
                if h.primary {
                    format!("{} (primary)", h.installer)
                } else {
                    h.installer.clone()
                },
                h.guards,
                if h.indexed { "yes" } else { "no" },
                h.dispatches,
                h.guard_misses
            )?;
        }
    }
    Ok(())
}
