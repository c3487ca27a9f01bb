//! The SQLite rows of the mound benchmark: guest/unix/sqlpager.c (SQLite,
//! `PRAGMA mmap_size`, its file attached to `spin.db-pager`) per workload
//! and policy, the same program under Linux as the reference for time, and
//! the hot set's hit ratio on workload (a) with and without the scans.
//!
//! Each run starts from a copy of one database made by the Alpha build,
//! and skips the closing `PRAGMA integrity_check` (`-n`: the tests check
//! integrity under every policy; here it would be a full pass over the
//! file in every row).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use spin_dbpager::{DbPagerConfig, DbPagerExt, PagerStats, PolicyKind};

use crate::common::{scratch, spin, sqlpager};
use crate::{median, RUNS};

/// hot rows, big rows, items, accounts: 24 hot pages, a 790-page table, a
/// 570-page item table with a 52-page index — 1 450 pages (11 MiB).
const CREATE: [&str; 5] = ["create", "900", "30000", "40000", "2000"];
const BUDGET: &str = "128";

struct Workload {
    name: &'static str,
    args: &'static [&'static str],
}

const WORKLOADS: [Workload; 3] = [
    Workload {
        name: "sql-a-hot",
        args: &["hotscan", "6", "400"],
    },
    Workload {
        name: "sql-b-zipf",
        args: &["zipf", "20000"],
    },
    Workload {
        name: "sql-c-mixed",
        args: &["mixed", "300", "50"],
    },
];

fn copy_of(template: &Path, name: &str) -> (PathBuf, String) {
    let dir = scratch(name);
    let path = dir.join("test.db");
    std::fs::copy(template, &path).expect("copy the database");
    let p = path.to_string_lossy().into_owned();
    (dir, p)
}

/// One run in a mound on a fresh copy: its stats and wall time.
fn run(
    bin: &Path,
    t: &Path,
    ext: &std::sync::Arc<DbPagerExt>,
    args: &[&str],
) -> (PagerStats, Duration) {
    let (dir, p) = copy_of(t, "sql-bench-run");
    let mut a: Vec<&str> = args.to_vec();
    let at = a.iter().position(|x| *x == "@").expect("a file slot");
    a[at] = &p;
    let start = Instant::now();
    let r = spin(bin, &dir, ext, &a);
    let took = start.elapsed();
    assert_eq!(r.status, Some(0), "{args:?}: {}", r.stdout);
    (ext.stats().pop().expect("the run attached its file"), took)
}

/// Prints the SQLite rows (same columns as dbengine's).
pub fn rows() {
    let Some(bin) = sqlpager("alpha") else {
        println!("SKIP (sqlite): alpha-linux-gnu-gcc not installed");
        return;
    };
    let native = sqlpager("x86_64");
    let tdir = scratch("sql-bench-template");
    let t = tdir.join("test.db");
    let ext = DbPagerExt::new(DbPagerConfig::default());
    let tp = t.to_string_lossy().into_owned();
    let c = spin(
        &bin,
        &tdir,
        &ext,
        &[[&tp as &str].as_slice(), &CREATE].concat(),
    );
    assert_eq!(c.status, Some(0), "{}", c.stdout);
    for w in &WORKLOADS {
        let ext = DbPagerExt::new(DbPagerConfig::default());
        let mut rows = Vec::new();
        let mut refs = 0;
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
                let mut a = vec!["-n", "-p", kind.name(), "-b", BUDGET, "-H"];
                let rec = kind == PolicyKind::Lru && i == 0;
                if rec {
                    a.push("-r");
                }
                a.push("@");
                a.extend(w.args);
                let (s, took) = run(&bin, &t, &ext, &a);
                times.push(took);
                if rec {
                    let tr = ext.trace().expect("recorded");
                    refs = tr.refs.len() as u64;
                    ext.set_trace((*tr).clone());
                }
                stats = Some(s);
            }
            rows.push((kind, stats.expect("ran"), median(times)));
        }
        let linux = native.as_ref().map(|n| linux_ms(n, &t, w.args));
        super::print_rows(w.name, refs, rows, linux);
    }
    hot_set(&bin, &t);
}

/// Median wall time of the x86-64 build under Linux on a fresh copy, ms.
fn linux_ms(bin: &Path, t: &Path, args: &[&str]) -> f64 {
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let (_dir, p) = copy_of(t, "sql-bench-native");
        let start = Instant::now();
        let r = Command::new(bin)
            .arg("-n")
            .arg(&p)
            .args(args)
            .output()
            .expect("runs");
        times.push(start.elapsed());
        assert!(r.status.success(), "{r:?}");
    }
    median(times).as_secs_f64() * 1e3
}

/// Workload (a)'s hot set: hits and faults of the references to hot pages
/// with the full scans and with none (`ROWS` 0), per policy that sees every
/// reference (clock observes only its reference-bit faults as hits).
fn hot_set(bin: &Path, t: &Path) {
    println!();
    println!(
        "{:<13} {:<7} {:>12} {:>12} {:>9}   {:>12} {:>12} {:>9}",
        "hot set (a)", "policy", "hits", "faults", "hit%", "hits/noscan", "faults", "hit%"
    );
    for kind in [PolicyKind::Lru, PolicyKind::TwoQ, PolicyKind::Hinted] {
        let ext = DbPagerExt::new(DbPagerConfig::default());
        let mut cols = Vec::new();
        for rows in ["-1", "0"] {
            let mut a = vec!["-n", "-p", kind.name(), "-b", BUDGET, "-H", "@"];
            a.extend(WORKLOADS[0].args);
            a.push(rows);
            let (s, _) = run(bin, t, &ext, &a);
            cols.push(s.hot);
        }
        println!(
            "{:<13} {:<7} {:>12} {:>12} {:>8.3}%   {:>12} {:>12} {:>8.3}%",
            "sql-a-hot",
            kind.name(),
            cols[0].hits,
            cols[0].faults,
            100.0 * cols[0].hit_ratio(),
            cols[1].hits,
            cols[1].faults,
            100.0 * cols[1].hit_ratio()
        );
    }
}
