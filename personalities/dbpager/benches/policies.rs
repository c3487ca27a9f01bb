//! The policies against OPT on each workload, in one run: faults, hit
//! ratio and write-backs (printed as a table first), then criterion's time
//! to run each policy over the workload's trace.
//!
//! `cargo bench -p spin-dbpager --bench policies`

use criterion::{criterion_group, criterion_main, Criterion};
use spin_dbpager::workload::{HotScan, OrderMix, ZipfIndex};
use spin_dbpager::{simulate, PolicyKind, Trace};

/// (name, trace, frame budget).
fn workloads() -> Vec<(&'static str, Trace, usize)> {
    vec![
        (
            "a-hot-scan",
            HotScan {
                hot: 64,
                table: 320,
                scans: 10,
                lookups: 1000,
                interleave: 4,
                seed: 1,
            }
            .trace(),
            256,
        ),
        (
            "a-hot-scan-4x",
            HotScan {
                hot: 64,
                table: 1024,
                scans: 10,
                lookups: 1000,
                interleave: 4,
                seed: 1,
            }
            .trace(),
            256,
        ),
        (
            "b-zipf-index",
            ZipfIndex {
                keys: 200_000,
                keys_per_page: 50,
                fanout: 200,
                lookups: 50_000,
                theta: 0.99,
                update_percent: 10,
                seed: 2,
            }
            .trace(),
            512,
        ),
        (
            "c-order-mix",
            OrderMix {
                items: 2000,
                stock: 2000,
                transactions: 5000,
                scan_every: 1000,
                seed: 3,
            }
            .trace(),
            512,
        ),
    ]
}

fn table(w: &[(&'static str, Trace, usize)]) {
    println!(
        "{:<14} {:>7} {:>6} {:<7} {:>9} {:>8} {:>8} {:>10}",
        "workload", "refs", "frames", "policy", "faults", "hit%", "xOPT", "writebacks"
    );
    for (name, trace, budget) in w {
        let opt = simulate(trace, *budget, PolicyKind::Opt)
            .map(|s| s.total.faults)
            .unwrap_or(0)
            .max(1);
        for kind in PolicyKind::ALL {
            let Ok(s) = simulate(trace, *budget, kind) else {
                continue;
            };
            println!(
                "{:<14} {:>7} {:>6} {:<7} {:>9} {:>7.2}% {:>8.3} {:>10}",
                name,
                trace.refs.len(),
                budget,
                kind.name(),
                s.total.faults,
                100.0 * s.total.hit_ratio(),
                s.total.faults as f64 / opt as f64,
                s.total.writebacks
            );
        }
    }
}

fn bench(c: &mut Criterion) {
    let w = workloads();
    table(&w);
    for (name, trace, budget) in &w {
        let mut g = c.benchmark_group(*name);
        g.sample_size(10);
        for kind in PolicyKind::ALL {
            g.bench_function(kind.name(), |b| {
                b.iter(|| simulate(trace, *budget, kind).map(|s| s.total.faults))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
