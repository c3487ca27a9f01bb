//! Cost of the scheduling hot path per policy: one `pick_next` + `charge` +
//! `enqueue` round with 10, 1 000 and 10 000 runnable strands; and the cost of
//! swapping the policy of a runtime holding 10 000 runnable strands.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
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

fn pick_enqueue(c: &mut Criterion) {
    let mut group = c.benchmark_group("pick+enqueue");
    for name in POLICY_NAMES {
        for n in [10u32, 1_000, 10_000] {
            let mut policy = policy_by_name(name, &PolicyParams::default()).expect("known policy");
            let params: Vec<SchedParams> = (0..n).map(params_for).collect();
            for i in 0..n {
                policy.enqueue(StrandId(i), &params[i as usize], 0);
            }
            let mut now = 0u64;
            group.bench_with_input(BenchmarkId::new(*name, n), &n, |b, _| {
                b.iter(|| {
                    now += 1_000;
                    let pick = policy.pick_next(now).expect("the set never empties");
                    let p = &params[pick.strand.0 as usize];
                    policy.charge(pick.strand, p, 1_000, now);
                    policy.enqueue(black_box(pick.strand), p, now);
                })
            });
        }
    }
    group.finish();
}

fn swap(c: &mut Criterion) {
    let ram = new_guest_ram(1 << 20).expect("1 MiB of guest RAM");
    let (kernel, authority) = Kernel::boot(ram, KernelConfig::default());
    let build = || {
        let mut s =
            Scheduler::new(kernel.id(), SchedulerConfig::default()).expect("default config");
        for i in 0..10_000u32 {
            s.add_strand(StrandId(i), "bench", MoundId(1), params_for(i))
                .expect("fresh id");
            s.unblock(StrandId(i), 0).expect("known strand");
        }
        s
    };
    let mut group = c.benchmark_group("swap-10000");
    for to in ["stride", "fair", "edf", "lottery"] {
        group.bench_function(format!("rr-priority->{to}"), |b| {
            b.iter_batched(
                build,
                |mut s| {
                    s.swap(&authority.swap_scheduler, to, "bench", "measure", 1)
                        .expect("our own cap");
                    s
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, pick_enqueue, swap);
criterion_main!(benches);
