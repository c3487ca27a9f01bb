//! `spin`: the SPIN host's command-line entry point. Thin: parses the
//! command line and hands off to the crates that do the work.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

mod bench;
mod exec;

/// The SPIN extensible operating system, rebuilt in Rust as a hypervisor-style host.
#[derive(Parser, Debug)]
#[command(name = "spin", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the embedded default mix on the Alpha machine (no root, no KVM).
    Demo {
        /// Scheduler quantum in instructions (1 instruction = 1 ns of machine time).
        #[arg(long, default_value_t = 2_000_000)]
        quantum: u64,
        /// Policy to swap to during the run (`none` to keep rr-priority).
        #[arg(long, default_value = "stride")]
        swap_to: String,
        /// Machine time of the swap, in milliseconds.
        #[arg(long, default_value_t = 20)]
        swap_at_ms: u64,
        /// Print the final kernel and scheduler telemetry as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Compare the global scheduling policies on a synthetic mix in virtual time.
    SchedSim {
        /// Seed for the workload and the lottery policy (same seed, same table).
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Simulated machine time, in milliseconds.
        #[arg(long, default_value_t = 2000)]
        duration_ms: u64,
    },
    /// Run a static Linux program in a UNIX mound, like `qemu-alpha PROGRAM ARGS`.
    ///
    /// The host's environment and working directory are mapped in; stdin,
    /// stdout and stderr pass through; the exit status is the program's
    /// (128 + N if signal N killed it).
    Exec {
        /// Machine: `alpha` or `kvm` (default: from the ELF's e_machine).
        #[arg(long)]
        machine: Option<String>,
        /// Scheduler quantum in instructions.
        #[arg(long, default_value_t = 10_000_000)]
        quantum: u64,
        /// Virtual CPUs (1 replays exactly).
        #[arg(long, default_value_t = 1)]
        cpus: usize,
        /// Guest RAM in MiB.
        #[arg(long, default_value_t = 1024)]
        ram_mib: u64,
        /// Seed for the guest's randomness.
        #[arg(long, default_value_t = 0x5350_494e)]
        seed: u64,
        /// Print every system call to stderr.
        #[arg(long)]
        strace: bool,
        /// Print the mound's diagnostics (unimplemented calls, deadlocks) to stderr.
        #[arg(long, short)]
        verbose: bool,
        /// Extra host directory to mount: HOST[:GUEST[:rw]].
        #[arg(long = "mount", value_name = "HOST[:GUEST[:rw]]")]
        mounts: Vec<String>,
        /// The program.
        program: std::path::PathBuf,
        /// Its arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Run the UNIX mound's benchmarks against qemu-alpha and native Linux.
    Bench(bench::BenchArgs),
    /// Disassemble an Alpha ELF executable's code (objdump syntax).
    Disasm {
        /// The executable.
        program: std::path::PathBuf,
    },
}

fn demo(quantum: u64, swap_to: &str, swap_at_ms: u64, json: bool) -> Result<ExitCode> {
    let opts = spin_vmm::demo::DemoOptions {
        quantum,
        swap: (swap_to != "none").then(|| (swap_to.to_string(), swap_at_ms * 1_000_000)),
        ..Default::default()
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let started = std::time::Instant::now();
    let report = spin_vmm::demo::run(&opts, &mut out)?;
    let host = started.elapsed();
    if json {
        let v = serde_json::json!({ "kernel": report.kernel, "scheduler": report.scheduler });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        writeln!(out, "\n[kernel] done: {} turns, {:.1} ms machine time ({} instructions), {:.0} ms host time, {:.0} guest MIPS",
            report.turns,
            report.machine_ns as f64 / 1e6,
            report.machine_ns,
            host.as_secs_f64() * 1e3,
            report.machine_ns as f64 / host.as_secs_f64() / 1e6)?;
        writeln!(
            out,
            "[kernel] policy now {}, {} swap(s)",
            report.scheduler.policy,
            report.scheduler.swaps.len()
        )?;
        writeln!(
            out,
            "{:<12} {:<8} {:>14} {:>10}",
            "strand", "state", "cpu (instr)", "exit"
        )?;
        for (s, (name, code)) in report.scheduler.strands.iter().zip(&report.exits) {
            writeln!(
                out,
                "{:<12} {:<8} {:>14} {:>10}",
                name,
                format!("{:?}", s.state).to_lowercase(),
                s.account.cpu_ns,
                code
            )?;
        }
        for o in &report.kernel.frames.owners {
            writeln!(
                out,
                "[kernel] mound {}: {} frames (peak {}) of {} x {} KiB",
                o.owner.0,
                o.used,
                o.peak,
                report.kernel.frames.total,
                report.kernel.frames.page_size / 1024
            )?;
        }
    }
    let failed = report.exits.iter().any(|(_, c)| *c != 0);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        // A closed pipe (`spin disasm x | head`) is not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            // One clear line: what failed and why.
            eprintln!("spin: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Demo {
            quantum,
            swap_to,
            swap_at_ms,
            json,
        } => demo(quantum, &swap_to, swap_at_ms, json),
        Command::Exec {
            machine,
            quantum,
            cpus,
            ram_mib,
            seed,
            strace,
            verbose,
            mounts,
            program,
            args,
        } => exec::run(exec::ExecArgs {
            verbose,
            machine,
            quantum,
            cpus,
            ram_mib,
            seed,
            strace,
            mounts,
            program,
            args,
        }),
        Command::SchedSim { seed, duration_ms } => {
            let report =
                spin_scheduler::run_comparison(seed, duration_ms.saturating_mul(1_000_000));
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(a) => bench::run(a),
        Command::Disasm { program } => {
            let bytes = std::fs::read(&program)
                .with_context(|| format!("reading {}", program.display()))?;
            let sections = spin_vmm::loader::code_sections(&bytes, spin_kernel::Arch::Alpha)
                .with_context(|| format!("{} is not an Alpha executable", program.display()))?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            for section in sections {
                let (base, code) = (section.addr, section.bytes);
                writeln!(out, "\nDisassembly of section {}:\n", section.name)?;
                for (i, word) in code.chunks_exact(4).enumerate() {
                    let w = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
                    let pc = base + 4 * i as u64;
                    writeln!(
                        out,
                        "{pc:>12x}:\t{w:08x}\t{}",
                        alpha_emu::disasm::disasm(w, pc)
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
