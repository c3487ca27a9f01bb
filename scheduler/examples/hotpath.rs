//! Quick min-of-runs timing of the pick + charge + enqueue round (same loop as
//! `benches/policies.rs`), robust to a busy machine: `cargo run --release
//! -p spin-scheduler --example hotpath [policy...]`.

use std::hint::black_box;
use std::time::Instant;

use spin_kernel::machine::new_guest_ram;
use spin_kernel::strand::Reservation;
use spin_kernel::{Kernel, KernelConfig, MoundId, SchedParams, StrandId};
use spin_scheduler::{policy_by_name, PolicyParams, Scheduler, SchedulerConfig, POLICY_NAMES};

fn params_for(i: u32) -> SchedParams {
    SchedParams {
        priority: (i % 32) as u8,
        weight: 50 + (i % 7) * 50,
        reservation: (i & 3 == 0).then_some(Reservation {
            period: 10_000_000,
            deadline: 10_000_000,
            budget: 1_000_000,
        }),
    }
}

/// Min and median of 31 swaps rr-priority -> `to` of a runtime with 10 000
/// runnable strands, µs.
fn swap_cost(to: &str) -> (f64, f64) {
    let ram = new_guest_ram(1 << 20).expect("1 MiB of guest RAM");
    let (kernel, authority) = Kernel::boot(ram, KernelConfig::default());
    let mut times = Vec::new();
    for _ in 0..31 {
        let mut s =
            Scheduler::new(kernel.id(), SchedulerConfig::default()).expect("default config");
        for i in 0..10_000u32 {
            s.add_strand(StrandId(i), "bench", MoundId(1), params_for(i))
                .expect("fresh id");
            s.unblock(StrandId(i), 0).expect("known strand");
        }
        let t = Instant::now();
        s.swap(&authority.swap_scheduler, to, "bench", "measure", 1)
            .expect("our own cap");
        times.push(t.elapsed().as_nanos() as f64 / 1e3);
        drop(black_box(s));
    }
    times.sort_by(f64::total_cmp);
    (times[0], times[times.len() / 2])
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("fill") {
        // Enqueueing 10 000 new strands into an empty policy (a swap's share).
        for name in POLICY_NAMES {
            let params: Vec<SchedParams> = (0..10_000).map(params_for).collect();
            let mut best = f64::MAX;
            for _ in 0..15 {
                let mut policy =
                    policy_by_name(name, &PolicyParams::default()).expect("known policy");
                let t = Instant::now();
                for (i, p) in params.iter().enumerate() {
                    policy.enqueue(StrandId(i as u32), p, 1);
                }
                best = best.min(t.elapsed().as_nanos() as f64 / 1e3);
                drop(black_box(policy));
            }
            println!("fill {name:<12} {best:>8.1} µs (min of 15)");
        }
        return;
    }
    if args.first().map(String::as_str) == Some("swap") {
        let targets: Vec<&str> = if args.len() > 1 {
            args[1..].iter().map(String::as_str).collect()
        } else {
            vec!["stride", "fair", "edf", "lottery"]
        };
        for to in targets {
            let (min, median) = swap_cost(to);
            println!(
                "swap rr-priority -> {to:<8} min {min:>7.1} µs, median {median:>7.1} µs (31 runs)"
            );
        }
        return;
    }
    let names: Vec<&str> = if args.is_empty() {
        POLICY_NAMES.to_vec()
    } else {
        args.iter().map(String::as_str).collect()
    };
    println!(
        "{:<12} {:>8} {:>8} {:>8}   (ns per round, min of 41 runs)",
        "policy", 10, 1000, 10000
    );
    for name in names {
        let mut row = Vec::new();
        let sizes: Vec<u32> = match std::env::var("HOTPATH_N") {
            Ok(n) => vec![n.parse().expect("HOTPATH_N is a number")],
            Err(_) => vec![10, 1_000, 10_000],
        };
        for &n in &sizes {
            let mut policy = policy_by_name(name, &PolicyParams::default()).expect("known policy");
            let params: Vec<SchedParams> = (0..n).map(params_for).collect();
            for i in 0..n {
                policy.enqueue(StrandId(i), &params[i as usize], 0);
            }
            let mut now = 0u64;
            // Reach the steady state first: some policies start with only a
            // few strands in play (stride: those at the lowest initial pass).
            let warm_up =
                std::env::var("HOTPATH_WARMUP").map_or(4_000_000, |r| r.parse().expect("a number"));
            for _ in 0..warm_up {
                now += 1_000;
                let pick = policy.pick_next(now).expect("the set never empties");
                let p = &params[pick.strand.0 as usize];
                policy.charge(pick.strand, p, 1_000, now);
                policy.enqueue(black_box(pick.strand), p, now);
            }
            let rounds: u32 =
                std::env::var("HOTPATH_ROUNDS").map_or(50_000, |r| r.parse().expect("a number"));
            let mut best = f64::MAX;
            for _ in 0..41 {
                let t = Instant::now();
                for _ in 0..rounds {
                    now += 1_000;
                    let pick = policy.pick_next(now).expect("the set never empties");
                    let p = &params[pick.strand.0 as usize];
                    policy.charge(pick.strand, p, 1_000, now);
                    policy.enqueue(black_box(pick.strand), p, now);
                }
                let this = t.elapsed().as_nanos() as f64 / f64::from(rounds);
                if std::env::var("HOTPATH_TRACE").is_ok() {
                    eprint!(" {this:.0}");
                }
                best = best.min(this);
            }
            row.push(best);
        }
        print!("{name:<12}");
        for t in row {
            print!(" {t:>8.1}");
        }
        println!();
    }
}
