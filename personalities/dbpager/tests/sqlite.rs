//! SQLite through the database pager, end to end on the Alpha machine:
//! guest/unix/sqlpager.c opens its database with `PRAGMA mmap_size` (SQLite
//! reads every page through its mapping) and attaches the file to
//! `spin.db-pager`. Every policy gives the query results of qemu-alpha and
//! of the x86-64 build under Linux (the kernel's own paging), each run ends
//! with `PRAGMA integrity_check` = ok, a `kill -9` of the host in the middle
//! of the write workload leaves a database that checks ok with every
//! acknowledged transaction, an access past the end of the file is SIGBUS,
//! and the pager's counters show it was in the path.
//!
//! Needs the Alpha cross compiler (qemu-alpha and gcc for the oracles);
//! prints SKIP and passes without them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{kill_9_after, qemu, scratch, spin, sqlpager};
use spin_dbpager::{DbPagerConfig, DbPagerExt, PagerStats, PolicyKind};
use spin_unix::{HostMount, Stdio, UnixConfig};
use spin_vmm::host::{Host, HostConfig, MoundConfig};

/// `create` arguments: hot rows, big rows, items, accounts (≈ 24 hot
/// pages, 316 big-table pages, 662 in all).
const CREATE: [&str; 5] = ["create", "900", "12000", "20000", "1000"];
const BUDGET: &str = "64";

fn stats_of(ext: &DbPagerExt) -> PagerStats {
    let s = ext.stats();
    assert_eq!(s.len(), 1, "one attached file");
    s[0].clone()
}

/// A fresh copy of `template` in a new scratch directory.
fn copy_of(template: &Path, name: &str) -> (PathBuf, String) {
    let dir = scratch(name);
    let path = dir.join("test.db");
    std::fs::copy(template, &path).expect("copy the database");
    let p = path.to_string_lossy().into_owned();
    (dir, p)
}

/// The template database, made by the Alpha build in a mound.
fn template(bin: &Path, name: &str) -> PathBuf {
    let dir = scratch(name);
    let path = dir.join("test.db");
    let ext = DbPagerExt::new(DbPagerConfig::default());
    let p = path.to_string_lossy().into_owned();
    let c = spin(
        bin,
        &dir,
        &ext,
        &[[&p as &str].as_slice(), &CREATE].concat(),
    );
    assert_eq!(c.status, Some(0), "{}", c.stdout);
    assert!(c.stdout.contains("created: "), "{}", c.stdout);
    path
}

/// The x86-64 build's output under Linux on a copy of `template`.
fn native(template: &Path, name: &str, args: &[&str]) -> Option<String> {
    let bin = sqlpager("x86_64")?;
    let (_dir, p) = copy_of(template, name);
    let o = Command::new(bin).arg(&p).args(args).output().expect("runs");
    assert!(o.status.success(), "native {args:?}: {o:?}");
    Some(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// qemu-alpha's output on a copy of `template`.
fn oracle(bin: &Path, template: &Path, name: &str, args: &[&str]) -> Option<String> {
    let (_dir, p) = copy_of(template, name);
    qemu(bin, &[[&p as &str].as_slice(), args].concat())
}

/// One workload under every policy (lru first, recording the trace opt
/// replays): the same stdout as qemu-alpha and Linux, integrity ok, the
/// budget kept; the counters per policy.
fn every_policy(name: &str, args: &[&str]) -> Vec<(PolicyKind, PagerStats)> {
    let Some(bin) = sqlpager("alpha") else {
        return Vec::new();
    };
    let t = template(&bin, &format!("{name}-template"));
    let want = oracle(&bin, &t, &format!("{name}-qemu"), args);
    let linux = native(&t, &format!("{name}-native"), args);
    if let (Some(q), Some(n)) = (&want, &linux) {
        assert_eq!(q, n, "qemu-alpha and Linux differ");
    }
    let ext = DbPagerExt::new(DbPagerConfig::default());
    let mut first: Option<String> = None;
    let mut out = Vec::new();
    let order = [
        PolicyKind::Lru,
        PolicyKind::Clock,
        PolicyKind::Mru,
        PolicyKind::TwoQ,
        PolicyKind::Hinted,
        PolicyKind::Opt,
    ];
    for kind in order {
        let (dir, p) = copy_of(&t, &format!("{name}-{}", kind.name()));
        let mut a = vec!["-p", kind.name(), "-b", BUDGET, "-H"];
        if kind == PolicyKind::Lru {
            a.push("-r");
        }
        a.push(&p);
        a.extend(args);
        let r = spin(&bin, &dir, &ext, &a);
        assert_eq!(r.status, Some(0), "{kind}: {}", r.stdout);
        assert!(
            r.stdout.ends_with("integrity_check: ok\n"),
            "{kind}: {}",
            r.stdout
        );
        if let Some(w) = &want {
            assert_eq!(&r.stdout, w, "{kind} differs from qemu-alpha");
        }
        match &first {
            Some(f) => assert_eq!(&r.stdout, f, "{kind} differs from lru"),
            None => first = Some(r.stdout.clone()),
        }
        let s = stats_of(&ext);
        assert_eq!(s.policy, kind.name());
        assert!(s.resident <= 64, "{kind}: {} resident", s.resident);
        assert!(
            s.total.evictions > 0,
            "{kind}: the budget was never reached"
        );
        assert_eq!(s.fallbacks, 0);
        assert_eq!(s.total.writebacks, 0, "SQLite writes with pwrite");
        eprintln!(
            "{name} {kind:<7} faults {:>6} hits {:>7} evictions {:>6} hot {}/{}",
            s.total.faults, s.total.hits, s.total.evictions, s.hot.hits, s.hot.faults
        );
        out.push((kind, s));
    }
    let faults = |k: PolicyKind| {
        out.iter()
            .find(|(p, _)| *p == k)
            .map(|(_, s)| s.total.faults)
            .expect("ran")
    };
    for (kind, _) in &out {
        assert!(
            faults(PolicyKind::Opt) <= faults(*kind),
            "opt {} > {kind} {}",
            faults(PolicyKind::Opt),
            faults(*kind)
        );
    }
    out
}

#[test]
fn hot_set_and_scans_agree_with_qemu_and_linux_under_every_policy() {
    let stats = every_policy("sql-a", &["hotscan", "3", "300"]);
    for (kind, s) in &stats {
        // Three scans of the 316-page table through 64 frames: the pager
        // filled every one of those pages from the file.
        assert!(s.total.faults >= 3 * 316, "{kind}: {s:?}");
    }
    if let Some((_, h)) = stats.iter().find(|(k, _)| *k == PolicyKind::Hinted) {
        // The hot set (24 table pages, its root, page 1) stays resident
        // through the scans: each hot page faults once.
        assert!(h.hot.faults <= 26, "{h:?}");
        assert!(h.hot.hits > 1000, "{h:?}");
    }
}

#[test]
fn index_lookups_agree_with_qemu_and_linux_under_every_policy() {
    let stats = every_policy("sql-b", &["zipf", "3000"]);
    for (kind, s) in &stats {
        assert!(s.total.faults > 64, "{kind}: {s:?}");
    }
}

#[test]
fn transactions_agree_with_qemu_and_linux_under_every_policy() {
    every_policy("sql-c", &["mixed", "60", "20"]);
}

#[test]
fn the_budget_bounds_what_is_resident() {
    let Some(bin) = sqlpager("alpha") else { return };
    let t = template(&bin, "sql-budget-template");
    let ext = DbPagerExt::new(DbPagerConfig::default());
    let mut faults = Vec::new();
    for budget in ["16", "1024"] {
        let (dir, p) = copy_of(&t, &format!("sql-budget-{budget}"));
        let r = spin(
            &bin,
            &dir,
            &ext,
            &["-p", "lru", "-b", budget, &p, "hotscan", "2", "200"],
        );
        assert_eq!(r.status, Some(0), "{}", r.stdout);
        let s = stats_of(&ext);
        let b: u64 = budget.parse().expect("a number");
        assert!(s.resident <= b, "{budget}: {s:?}");
        if b == 16 {
            assert_eq!(s.resident, 16, "a small budget fills up");
        } else {
            // The whole file fits: each page faults once, nothing evicted.
            assert!(s.resident > 16 && s.total.evictions == 0, "{s:?}");
        }
        faults.push(s.total.faults);
    }
    assert!(faults[0] > 2 * faults[1], "{faults:?}");
}

#[test]
fn an_access_past_the_end_of_the_file_is_sigbus() {
    let Some(bin) = sqlpager("alpha") else { return };
    let t = template(&bin, "sql-beyond-template");
    let (dir, p) = copy_of(&t, "sql-beyond");
    let ext = DbPagerExt::new(DbPagerConfig::default());
    let b = spin(&bin, &dir, &ext, &[&p, "beyond"]);
    // SIGBUS is 10 on Alpha.
    assert_eq!(b.status, Some(128 + 10), "{}", b.stdout);
    assert!(
        b.stdout.contains("touching page 662 of 662\n"),
        "{}",
        b.stdout
    );
    assert!(!b.stdout.contains("no SIGBUS"));
    // The mound goes on: the same file still checks ok.
    let c = spin(&bin, &dir, &ext, &["-b", "32", &p, "check"]);
    assert_eq!(c.status, Some(0), "{}", c.stdout);
    assert!(c.stdout.ends_with("integrity_check: ok\n"), "{}", c.stdout);
}

/// The child half of the kill test: the write workload in this process
/// (re-executed by the parent with SQLPAGER_KILL_DIR set), each
/// acknowledged transaction printed on stdout as the guest prints it.
#[test]
fn sql_kill_child() {
    let Ok(dir) = std::env::var("SQLPAGER_KILL_DIR") else {
        return;
    };
    let Some(bin) = sqlpager("alpha") else { return };
    let dir = PathBuf::from(dir);
    let path = dir.join("test.db").to_string_lossy().into_owned();
    let ext = DbPagerExt::new(DbPagerConfig::default());
    let prog = bin.as_os_str().as_encoded_bytes().to_vec();
    let argv: Vec<Vec<u8>> = [
        prog.clone(),
        b"-b".to_vec(),
        b"24".to_vec(),
        b"-p".to_vec(),
        b"hinted".to_vec(),
        b"-H".to_vec(),
        path.into_bytes(),
        b"mixed".to_vec(),
        b"1000000".to_vec(),
        b"50".to_vec(),
    ]
    .to_vec();
    let mut unix = UnixConfig::new("sql", prog, argv);
    let mount = |p: &Path, writable| HostMount {
        guest: p.as_os_str().as_encoded_bytes().to_vec(),
        host: p.to_path_buf(),
        writable,
    };
    unix.mounts = vec![
        mount(&dir, true),
        mount(bin.parent().expect("bin dir"), false),
    ];
    unix.cwd = dir.as_os_str().as_encoded_bytes().to_vec();
    unix.stdout = Stdio::Inherit;
    unix.extensions = vec![ext];
    let cfg = HostConfig {
        ram: 256 << 20,
        mounds: vec![MoundConfig::Unix(unix)],
        ..HostConfig::default()
    };
    let host = Host::build(cfg).expect("host builds");
    let _ = host.run(|_| {});
}

#[test]
fn kill_9_mid_transaction_loses_no_acknowledged_commit() {
    let Some(bin) = sqlpager("alpha") else { return };
    let t = template(&bin, "sql-kill-template");
    let (dir, p) = copy_of(&t, "sql-kill");
    // SIGKILL in the middle of the workload.
    let acked = kill_9_after("sql_kill_child", "SQLPAGER_KILL_DIR", &dir, 300);
    let committed = |stdout: &str| -> u64 {
        let line = stdout
            .lines()
            .find(|l| l.starts_with("check: "))
            .unwrap_or_else(|| panic!("no check line: {stdout}"));
        assert!(line.ends_with(": ok"), "{line}");
        line.split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{line}"))
    };
    // qemu-alpha's SQLite opens the database first, on a copy (a hot
    // journal is rolled back by whoever opens it first).
    if let Some(o) = {
        let (qdir, qp) = copy_of(&PathBuf::from(&p), "sql-kill-qemu");
        let j = PathBuf::from(format!("{p}-journal"));
        if j.exists() {
            std::fs::copy(&j, qdir.join("test.db-journal")).expect("copy the journal");
        }
        qemu(&bin, &[&qp, "check"])
    } {
        assert!(o.ends_with("integrity_check: ok\n"), "{o}");
        assert!(committed(&o) >= acked, "qemu: {o} ({acked} acknowledged)");
    }
    let ext = DbPagerExt::new(DbPagerConfig::default());
    let v = spin(&bin, &dir, &ext, &["-b", "16", &p, "check"]);
    assert_eq!(v.status, Some(0), "{}", v.stdout);
    assert!(v.stdout.ends_with("integrity_check: ok\n"), "{}", v.stdout);
    let n = committed(&v.stdout);
    // More may be there: the child ran on between the parent's last line
    // and the kill.
    assert!(n >= acked, "{n} on disk, {acked} acknowledged");
    // And the workload goes on from there.
    let more = spin(&bin, &dir, &ext, &["-b", "16", &p, "mixed", "5", "0"]);
    assert_eq!(more.status, Some(0), "{}", more.stdout);
    assert!(more.stdout.contains(&format!("commit {}\n", n + 4)));
}
