//! `spin`: the SPIN host's command-line entry point. Thin: parses the
//! command line and hands off to the crates that do the work.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

mod bench;
mod bench_kvm;
mod bench_net;
mod ctl;
mod embedded;
mod exec;
mod run;
mod snapshot;
mod tui;

/// The SPIN extensible operating system, rebuilt in Rust as a hypervisor-style host.
#[derive(Parser, Debug)]
#[command(name = "spin", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the embedded default mix on the Alpha machine (no root, no KVM):
    /// two UNIX mounds (the CPU benchmark, a shell running pipelines), a
    /// database pager mound, and a video server streaming to a client.
    ///
    /// Opens the dashboard on a terminal; with --headless (or without a
    /// terminal) prints the mounds' output, or telemetry records with --batch.
    Demo {
        /// Print the embedded manifest and exit.
        #[arg(long)]
        print_manifest: bool,
        #[command(flatten)]
        opts: run::RunOpts,
    },
    /// Start one kernel with the mounds a manifest lists and watch them.
    ///
    /// The manifest (TOML) names the machine, vCPUs, the global policy and
    /// its parameters, and each mound: type, program and arguments, frame
    /// quota, priority/weight/reservation, strand package, mounts. It is
    /// checked before anything starts; errors are FILE:LINE:COLUMN.
    Run {
        /// The manifest.
        #[arg(long, short, value_name = "FILE")]
        config: std::path::PathBuf,
        #[command(flatten)]
        opts: run::RunOpts,
    },
    /// Open the dashboard on a running host.
    Top {
        /// The host's control socket (`spin run --socket PATH`).
        #[arg(long, value_name = "SOCKET")]
        attach: std::path::PathBuf,
        /// Milliseconds between refreshes.
        #[arg(long, value_name = "MS", default_value_t = 1000,
              value_parser = clap::value_parser!(u64).range(50..=60_000))]
        interval: u64,
        /// The dashboard's keymap and theme.
        #[arg(long, value_name = "FILE")]
        ui_config: Option<std::path::PathBuf>,
    },
    /// Send one control request to a running host.
    Ctl(ctl::CtlArgs),
    /// Print shell completions for spin.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write spin's man pages (spin.1, spin-run.1, ...) into a directory.
    Man {
        /// Where to write them.
        #[arg(long, default_value = ".")]
        out: std::path::PathBuf,
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
        /// Serve the control plane on this Unix-domain socket (`spin ctl
        /// SOCKET net`, `snapshot`, ...).
        #[arg(long, value_name = "PATH")]
        socket: Option<std::path::PathBuf>,
        #[command(flatten)]
        net: run::NetOpts,
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
            print_manifest,
            opts,
        } => {
            if print_manifest {
                print!("{}", embedded::DEMO_MANIFEST);
                return Ok(ExitCode::SUCCESS);
            }
            let manifest = spin_vmm::manifest::Manifest::parse(
                embedded::DEMO_MANIFEST_NAME,
                embedded::DEMO_MANIFEST,
                std::path::Path::new("."),
                &embedded::catalog(),
                opts.machine(),
            )?;
            run::run(manifest, opts, "spin demo", true)
        }
        Command::Run { config, opts } => {
            let manifest =
                spin_vmm::manifest::Manifest::load(&config, &embedded::catalog(), opts.machine())?;
            let title = format!("spin run {}", config.display());
            run::run(manifest, opts, &title, false)
        }
        Command::Top {
            attach,
            interval,
            ui_config,
        } => {
            let client = spin_vmm::control::Client::connect(&attach)?;
            tui::open(
                Box::new(client),
                std::time::Duration::from_millis(interval),
                ui_config,
                format!("spin top {}", attach.display()),
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Ctl(a) => ctl::run(a),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "spin", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { out } => {
            std::fs::create_dir_all(&out).with_context(|| format!("{}", out.display()))?;
            let cmd = <Cli as clap::CommandFactory>::command();
            clap_mangen::generate_to(cmd, &out).with_context(|| format!("{}", out.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Exec {
            machine,
            quantum,
            cpus,
            ram_mib,
            seed,
            strace,
            verbose,
            mounts,
            socket,
            net,
            program,
            args,
        } => exec::run(exec::ExecArgs {
            socket,
            net,
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
