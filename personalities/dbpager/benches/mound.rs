//! The policies in the real mound, side by side in one run: dbengine
//! (guest/unix/dbengine.c) on the Alpha machine with `spin.db-pager`, per
//! workload and policy — faults, the hits the pager observed (`clock`
//! observes only its reference-bit faults), the hit ratio over the page
//! reference string the `lru` run recorded (1 − faults / references, the
//! same denominator for every policy), faults over OPT's, and
//! the median wall time of the run — with the same program under Linux
//! (x86-64, `mmap`, no hints, the kernel's paging) as the conventional
//! reference for time. OPT replays the reference string the `lru` run
//! recorded.
//!
//! Then the same columns for SQLite (guest/unix/sqlpager.c, the database
//! file mapped with `PRAGMA mmap_size`: see benches/sql/mod.rs), and the
//! hot set's hit ratio on its workload (a) with and without the scans.
//!
//! `cargo bench -p spin-dbpager --bench mound` (needs alpha-linux-gnu-gcc).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "sql/mod.rs"]
mod sql;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{db, dbengine, native_dbengine, scratch, spin};
use spin_dbpager::{DbPagerConfig, DbPagerExt, PagerStats, PolicyKind};

/// Timed runs per row (the median is printed).
pub(crate) const RUNS: usize = 3;

struct Workload {
    name: &'static str,
    pages: &'static str,
    budget: &'static str,
    args: &'static [&'static str],
}

const WORKLOADS: [Workload; 3] = [
    Workload {
        name: "a-hot-scan",
        pages: "385",
        budget: "256",
        args: &["hotscan", "64", "320", "10", "1000"],
    },
    Workload {
        name: "b-zipf-index",
        pages: "1300",
        budget: "256",
        args: &["zipf", "20000", "30000"],
    },
    Workload {
        name: "c-orders",
        pages: "700",
        budget: "256",
        args: &["orders", "200", "300", "100", "3000", "500"],
    },
];

pub(crate) fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let Some(bin) = dbengine() else {
        println!("SKIP: alpha-linux-gnu-gcc not installed");
        return;
    };
    let native = native_dbengine();
    println!(
        "{:<13} {:<7} {:>7} {:>7} {:>8} {:>7} {:>6} {:>9} {:>10}",
        "workload",
        "policy",
        "refs",
        "faults",
        "obs.hits",
        "hit%",
        "xOPT",
        "evictions",
        "median ms"
    );
    for w in &WORKLOADS {
        let dir = scratch(w.name);
        let path = db(&dir);
        let ext = DbPagerExt::new(DbPagerConfig::default());
        let mut rows = Vec::new();
        let mut refs = 0;
        // lru first: it records the trace opt replays.
        let order = [
            PolicyKind::Lru,
            PolicyKind::Clock,
            PolicyKind::Mru,
            PolicyKind::TwoQ,
            PolicyKind::Hinted,
            PolicyKind::Opt,
        ];
        for kind in order {
            let mut times = Vec::new();
            let mut stats = None;
            for i in 0..RUNS {
                let c = spin(bin, &dir, &ext, &[&path, "create", w.pages]);
                assert_eq!(c.status, Some(0), "{}", c.stdout);
                let mut args = vec!["-p", kind.name(), "-b", w.budget, "-H"];
                if kind == PolicyKind::Lru && i == 0 {
                    args.push("-r");
                }
                args.push(&path);
                args.extend(w.args);
                let t = Instant::now();
                let r = spin(bin, &dir, &ext, &args);
                times.push(t.elapsed());
                assert_eq!(r.status, Some(0), "{} {kind}: {}", w.name, r.stdout);
                let s = ext.stats().pop().expect("the run attached its file");
                if kind == PolicyKind::Lru && i == 0 {
                    // Keep the recording of the first run for opt.
                    let t = ext.trace().expect("recorded");
                    refs = t.refs.len() as u64;
                    ext.set_trace((*t).clone());
                }
                stats = Some(s);
            }
            rows.push((kind, stats.expect("ran"), median(times)));
        }
        let linux = native.as_ref().map(|n| linux_ms(n, &dir, w));
        print_rows(w.name, refs, rows, linux);
    }
    sql::rows();
}

/// Median wall time of the x86-64 build under Linux, ms.
/// Prints one workload's rows, policies in order: faults, hits, the hit
/// ratio over the `refs` recorded references, faults over OPT's, evictions
/// and the median time; then Linux's time for the same program.
fn print_rows(
    name: &str,
    refs: u64,
    mut rows: Vec<(PolicyKind, PagerStats, Duration)>,
    linux_ms: Option<f64>,
) {
    let opt = rows
        .iter()
        .find(|(k, _, _)| *k == PolicyKind::Opt)
        .map_or(1, |(_, s, _)| s.total.faults.max(1));
    rows.sort_by_key(|(k, _, _)| *k);
    for (kind, s, t) in &rows {
        println!(
            "{:<13} {:<7} {:>7} {:>7} {:>8} {:>6.2}% {:>6.3} {:>9} {:>10.1}",
            name,
            kind.name(),
            refs,
            s.total.faults,
            s.total.hits,
            100.0 * (1.0 - s.total.faults as f64 / refs.max(1) as f64),
            s.total.faults as f64 / opt as f64,
            s.total.evictions,
            t.as_secs_f64() * 1e3
        );
    }
    if let Some(ms) = linux_ms {
        println!(
            "{:<13} {:<7} {:>7} {:>7} {:>8} {:>7} {:>6} {:>9} {:>10.1}",
            name, "linux", refs, "-", "-", "-", "-", "-", ms
        );
    }
}

fn linux_ms(bin: &Path, dir: &Path, w: &Workload) -> f64 {
    let path = dir.join("native.db");
    let path = path.to_string_lossy();
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let c = Command::new(bin)
            .args([&path as &str, "create", w.pages])
            .output()
            .expect("runs");
        assert!(c.status.success());
        let t = Instant::now();
        let r = Command::new(bin)
            .arg(&*path)
            .args(w.args)
            .output()
            .expect("runs");
        times.push(t.elapsed());
        assert!(r.status.success(), "{r:?}");
    }
    median(times).as_secs_f64() * 1e3
}
