//! Quick timings of the scheduling hot path on a busy machine, next to the
//! criterion bench (`benches/policies.rs`, same workload):
//!
//! ```text
//! cargo run --release -p spin-scheduler --example hotpath [policy...]
//! cargo run --release -p spin-scheduler --example hotpath swap [policy...]
//! ```
//!
//! The first form times the pick + charge + enqueue round at 10, 1 000 and
//! 10 000 runnable strands, after a warm-up that reaches the steady state
//! (stride, for one, starts with only the strands at the lowest initial pass
//! in play), and prints the minimum over 41 runs: the least disturbed by
//! other work. The second times a swap from `rr-priority` with 10 000
//! runnable strands and prints the minimum and the median of 31. A swap's
//! cost is mostly fresh memory, so it varies with the allocator's state: the
//! criterion bench is the reference, this is for quick comparisons.

use std::hint::black_box;
use std::time::Instant;

use spin_kernel::machine::new_guest_ram;
use spin_kernel::strand::Reservation;
use spin_kernel::{GlobalScheduler, Kernel, KernelConfig, MoundId, SchedParams, StrandId};
use spin_scheduler::{policy_by_name, PolicyParams, Scheduler, SchedulerConfig, POLICY_NAMES};

/// Rounds before timing.
const WARM_UP: u32 = 4_000_000;
/// Rounds per timed run.
const ROUNDS: u32 = 50_000;

/// The bench's strand mix: all priorities, seven weights, a quarter periodic.
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

/// `rounds` pick + charge + enqueue rounds of 1 µs each, from `now`.
fn run(policy: &mut dyn GlobalScheduler, params: &[SchedParams], now: &mut u64, rounds: u32) {
    for _ in 0..rounds {
        *now += 1_000;
        let pick = policy.pick_next(*now).expect("the set never empties");
        let p = &params[pick.strand.0 as usize];
        policy.charge(pick.strand, p, 1_000, *now);
        policy.enqueue(black_box(pick.strand), p, *now);
    }
}

/// ns per round with `n` runnable strands: the minimum of 41 timed runs.
fn round_cost(name: &str, n: u32) -> f64 {
    let mut policy = policy_by_name(name, &PolicyParams::default()).expect("known policy");
    let params: Vec<SchedParams> = (0..n).map(params_for).collect();
    for (i, p) in params.iter().enumerate() {
        policy.enqueue(StrandId(i as u32), p, 0);
    }
    let mut now = 0;
    run(policy.as_mut(), &params, &mut now, WARM_UP);
    (0..41)
        .map(|_| {
            let t = Instant::now();
            run(policy.as_mut(), &params, &mut now, ROUNDS);
            t.elapsed().as_nanos() as f64 / f64::from(ROUNDS)
        })
        .fold(f64::MAX, f64::min)
}

/// µs per swap rr-priority -> `to` with 10 000 runnable strands: the minimum
/// and the median of 31.
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
    let (swap, names) = match args.split_first() {
        Some((first, rest)) if first == "swap" => (true, rest),
        _ => (false, &args[..]),
    };
    let names: Vec<&str> = if names.is_empty() {
        POLICY_NAMES.to_vec()
    } else {
        names.iter().map(String::as_str).collect()
    };
    if swap {
        for to in names {
            let (min, median) = swap_cost(to);
            println!("swap rr-priority -> {to:<11} min {min:>7.1} µs, median {median:>7.1} µs");
        }
        return;
    }
    println!(
        "{:<12} {:>8} {:>8} {:>8}   ns per round, min of 41 runs",
        "policy", 10, 1_000, 10_000
    );
    for name in names {
        let row: Vec<f64> = [10, 1_000, 10_000]
            .iter()
            .map(|&n| round_cost(name, n))
            .collect();
        println!("{name:<12} {:>8.1} {:>8.1} {:>8.1}", row[0], row[1], row[2]);
    }
}
