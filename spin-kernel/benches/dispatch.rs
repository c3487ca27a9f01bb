//! Dispatcher and domain-call costs (SPIN OSDI'96 "Dynamic Binding" table,
//! SOSP'95 dispatcher scaling), measured side by side in one run.
//!
//! Criterion measures every case; afterwards a ratio table (medians of our own
//! batch timer, taken in the same run) compares each case with the direct
//! indirect call and lists SPIN's published figures for context.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, Criterion};
use spin_kernel::domain::{Domain, Export, Import};
use spin_kernel::event::{Event, EventRaiser, Guard, Handler, Principal};

trait Null: Send + Sync {
    fn call(&self, x: u64) -> u64;
}
struct NullImpl;
impl Null for NullImpl {
    #[inline(never)]
    fn call(&self, x: u64) -> u64 {
        x.wrapping_add(1)
    }
}

fn who() -> Principal {
    Principal::kernel("bench")
}

/// An event with `n` handlers guarded by predicates that are all `hit` or all miss.
fn guarded(n: usize, hit: bool) -> EventRaiser<u64, u64> {
    let e: Event<u64, u64> = Event::new("bench");
    for _ in 0..n {
        let want = if hit { 7 } else { 8 };
        e.install(
            &who(),
            Handler::new(|a: &u64| a.wrapping_add(1)).guard(Guard::pred(move |a: &u64| *a == want)),
        )
        .expect("open event");
    }
    e.raiser()
}

/// An event with 50 handlers each guarded on a different value of an indexed key.
fn indexed(n: u64) -> EventRaiser<u64, u64> {
    let (e, p) = Event::<u64, u64>::define("bench.indexed");
    let key = p.declare_key("value", |a: &u64| *a);
    for i in 0..n {
        e.install(
            &who(),
            Handler::new(|a: &u64| a.wrapping_add(1)).guard(Guard::eq(key, i)),
        )
        .expect("declared key");
    }
    e.raiser()
}

fn install_100() {
    let e: Event<u64, u64> = Event::new("bench.install");
    for _ in 0..100 {
        e.install(
            &who(),
            Handler::new(|a: &u64| a.wrapping_add(1)).guard(Guard::pred(|a: &u64| *a == 7)),
        )
        .expect("open event");
    }
    black_box(e.raise(&7));
}

struct Case {
    name: &'static str,
    run: Box<dyn FnMut(u64) -> u64>,
    spin_us: Option<f64>,
}

fn cases() -> Vec<Case> {
    let direct: Arc<dyn Fn(&u64) -> u64 + Send + Sync> = Arc::new(|a: &u64| a.wrapping_add(1));
    let null: Import<dyn Null> = Import::new("Null");
    let exporter = Domain::create(
        "server",
        vec![Export::new::<dyn Null>("Null", Arc::new(NullImpl))],
        vec![],
    );
    let importer = Domain::create("client", vec![], vec![null.slot()]);
    Domain::resolve(&exporter, &importer).expect("names and types match");
    let one: Event<u64, u64> = Event::new("bench.one");
    one.install(&who(), Handler::new(|a: &u64| a.wrapping_add(1)))
        .expect("open event");
    let mut one_r = one.raiser();
    let one_general = one.clone();
    let mut guard1 = guarded(1, true);
    let mut idx1 = indexed(1);
    let mut idx50 = indexed(50);
    let mut v: Vec<Case> = vec![
        Case {
            name: "direct indirect call",
            run: Box::new(move |x| black_box(&direct)(&x)),
            spin_us: Some(0.10),
        },
        Case {
            name: "cross-domain call (resolved import)",
            run: Box::new(move |x| null.get().map_or(0, |n| n.call(x))),
            spin_us: Some(0.13),
        },
        Case {
            name: "raise, 1 handler (raiser)",
            run: Box::new(move |x| one_r.raise(&x).unwrap_or(0)),
            spin_us: Some(0.37),
        },
        Case {
            name: "raise, 1 handler (Event::raise)",
            run: Box::new(move |x| one_general.raise(&x).unwrap_or(0)),
            spin_us: None,
        },
        Case {
            name: "raise, 1 guarded handler",
            run: Box::new(move |_| guard1.raise(&7).unwrap_or(0)),
            spin_us: None,
        },
        Case {
            name: "raise, 1 indexed handler",
            run: Box::new(move |_| idx1.raise(&0).unwrap_or(0)),
            spin_us: None,
        },
    ];
    for (n, spin) in [(5, 1.18), (10, 2.15), (50, 11.69)] {
        for hit in [false, true] {
            let mut r = guarded(n, hit);
            v.push(Case {
                name: match (n, hit) {
                    (5, false) => "raise, 5 guards all false",
                    (5, true) => "raise, 5 guards all true",
                    (10, false) => "raise, 10 guards all false",
                    (10, true) => "raise, 10 guards all true",
                    (_, false) => "raise, 50 guards all false",
                    (_, true) => "raise, 50 guards all true",
                },
                run: Box::new(move |_| r.raise(&7).unwrap_or(0)),
                spin_us: hit.then_some(spin),
            });
        }
    }
    v.push(Case {
        name: "raise, 50 indexed handlers",
        run: Box::new(move |_| idx50.raise(&37).unwrap_or(0)),
        spin_us: None,
    });
    v
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("dispatch");
    for mut case in cases() {
        g.bench_function(case.name, |b| {
            let mut x = 0u64;
            b.iter(|| {
                x = (case.run)(black_box(x));
                x
            })
        });
    }
    g.bench_function("install 100 handlers", |b| b.iter(install_100));
    g.finish();
}

/// Median ns per call over `rounds` batches of `iters` calls.
fn median_ns(run: &mut dyn FnMut(u64) -> u64, iters: u64, rounds: usize) -> f64 {
    let mut samples = Vec::with_capacity(rounds);
    let mut x = 0u64;
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..iters {
            x = run(black_box(x));
        }
        samples.push(t.elapsed().as_nanos() as f64 / iters as f64);
    }
    black_box(x);
    samples.sort_by(f64::total_cmp);
    samples[rounds / 2]
}

fn ratio_table() {
    let mut rows: Vec<(&str, f64, Option<f64>)> = Vec::new();
    for mut case in cases() {
        let ns = median_ns(&mut case.run, 200_000, 31);
        rows.push((case.name, ns, case.spin_us));
    }
    let direct = rows[0].1;
    println!("\nDispatcher costs, medians of 31 batches in this run (ratio = case / direct indirect call)");
    println!(
        "{:<40} {:>10} {:>8} {:>14}",
        "case", "ns", "ratio", "SPIN'96 (µs)"
    );
    for (name, ns, spin) in &rows {
        let spin = spin.map_or(String::from("-"), |s| format!("{s:.2}"));
        println!("{name:<40} {ns:>10.2} {:>8.2} {spin:>14}", ns / direct);
    }
    let mut install = |_: u64| {
        install_100();
        0
    };
    let per100 = median_ns(&mut install, 20, 31);
    println!(
        "{:<40} {:>10.0} {:>8} {:>14}",
        "install 100 handlers (total, ns)", per100, "-", "30000 (30 ms)"
    );
    let get = |n: &str| rows.iter().find(|r| r.0 == n).map_or(f64::NAN, |r| r.1);
    println!("\nTargets:");
    println!(
        "  resolved call / direct        = {:.2}  (target <= 1.1)",
        get("cross-domain call (resolved import)") / direct
    );
    println!(
        "  1-handler raise / direct      = {:.2}  (target <= 2.0)",
        get("raise, 1 handler (raiser)") / direct
    );
    println!(
        "  50 indexed / 1 indexed        = {:.2}  (target <= 1.5)",
        get("raise, 50 indexed handlers") / get("raise, 1 indexed handler")
    );
    println!(
        "  50 indexed / 1 handler        = {:.2}",
        get("raise, 50 indexed handlers") / get("raise, 1 handler (raiser)")
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    ratio_table();
}
