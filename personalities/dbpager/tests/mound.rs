//! End to end on the Alpha machine: the guest storage engine
//! (guest/unix/dbengine.c) maps its database file through `spin.db-pager`
//! in a UNIX mound. Every policy gives the same query results as
//! qemu-alpha on the kernel's own paging; acknowledged commits survive a
//! `kill -9` of the host; an access past the end of the file is SIGBUS to
//! that process; the pager's counters show what each policy did, and `opt`
//! replays the reference string a recorded run left.
//!
//! Needs the Alpha cross compiler (and qemu-alpha for the oracle); prints
//! SKIP and passes without them.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use common::{
    db, dbengine, kill_9_after, native_dbengine, qemu, scratch, spin, spin_on, spin_with,
};
use spin_dbpager::{DbPagerConfig, DbPagerExt, PagerStats, PolicyKind};
use spin_unix::{HostMount, Stdio, UnixConfig};
use spin_vmm::host::{Host, HostConfig, MachineKind, MoundConfig};

fn stats_of(ext: &DbPagerExt) -> PagerStats {
    let s = ext.stats();
    assert_eq!(s.len(), 1, "one attached file");
    s[0].clone()
}

const HOTSCAN: [&str; 5] = ["hotscan", "24", "120", "3", "300"];
const BUDGET: &str = "64";

#[test]
fn every_policy_gives_qemus_results_within_its_budget() {
    let Some(bin) = dbengine() else { return };
    let dir = scratch("policies");
    let path = db(&dir);
    let ext = DbPagerExt::new(DbPagerConfig::default());
    // The oracle: qemu-alpha on a fresh copy of the database.
    let oracle = {
        let odir = scratch("policies-oracle");
        let opath = db(&odir);
        qemu(bin, &[&opath, "create", "160"]);
        qemu(bin, &[[&opath as &str].as_slice(), &HOTSCAN].concat())
    };
    let mut results = Vec::new();
    for kind in PolicyKind::ALL {
        let create = spin(bin, &dir, &ext, &[&path, "create", "160"]);
        assert_eq!(create.status, Some(0), "{}", create.stdout);
        let mut args = vec!["-p", kind.name(), "-b", BUDGET, "-H"];
        if kind == PolicyKind::Lru {
            // Record the reference string for opt, which runs after it.
            args.push("-r");
        }
        args.push(&path);
        args.extend(HOTSCAN);
        let run = spin(bin, &dir, &ext, &args);
        assert_eq!(run.status, Some(0), "{kind}: {}", run.stdout);
        let s = stats_of(&ext);
        assert_eq!(s.policy, kind.name());
        assert!(s.resident <= 64, "{kind}: {} resident", s.resident);
        assert!(
            s.total.faults >= 145,
            "{kind}: every page faults once at least"
        );
        assert_eq!(s.fallbacks, 0);
        if kind == PolicyKind::Clock {
            // Clock hears of a resident page only through the fault on a
            // page it protected when the hand cleared its bit.
            assert!(s.total.hits > 0, "no reference-bit fault");
        }
        if let Some(o) = &oracle {
            assert_eq!(&run.stdout, o, "{kind} differs from qemu-alpha");
        }
        results.push((kind, run.stdout, s));
    }
    let first = &results[0].1;
    for (kind, out, _) in &results {
        assert_eq!(out, first, "{kind} differs from clock");
    }
    // The recorded run left a trace; opt replayed it and is the limit.
    let trace = ext.trace().expect("the lru run recorded");
    assert!(trace.refs.len() as u64 >= results[1].2.total.faults);
    let faults = |k: PolicyKind| {
        results
            .iter()
            .find(|(p, _, _)| *p == k)
            .map(|(_, _, s)| s.total.faults)
            .unwrap()
    };
    for kind in PolicyKind::ALL {
        assert!(
            faults(PolicyKind::Opt) <= faults(kind),
            "opt {} > {kind} {}",
            faults(PolicyKind::Opt),
            faults(kind)
        );
    }
    assert!(
        faults(PolicyKind::Hinted) < faults(PolicyKind::Lru),
        "hinted {} lru {}",
        faults(PolicyKind::Hinted),
        faults(PolicyKind::Lru)
    );
    for (kind, _, s) in &results {
        eprintln!(
            "{kind:<7} faults {:>6} hits {:>7} evictions {:>6} hit ratio {:.3}",
            s.total.faults,
            s.total.hits,
            s.total.evictions,
            s.total.hit_ratio()
        );
    }
}

#[test]
fn the_index_workload_agrees_with_qemu_under_a_small_budget() {
    let Some(bin) = dbengine() else { return };
    let dir = scratch("zipf");
    let path = db(&dir);
    let ext = DbPagerExt::new(DbPagerConfig::default());
    let args = ["zipf", "4000", "3000"];
    let oracle = {
        let odir = scratch("zipf-oracle");
        let opath = db(&odir);
        qemu(bin, &[&opath, "create", "300"]);
        qemu(bin, &[[&opath as &str].as_slice(), &args].concat())
    };
    for kind in [PolicyKind::Clock, PolicyKind::Hinted] {
        assert_eq!(
            spin(bin, &dir, &ext, &[&path, "create", "300"]).status,
            Some(0)
        );
        let run = spin(
            bin,
            &dir,
            &ext,
            &[
                ["-p", kind.name(), "-b", "48", "-H", &path].as_slice(),
                &args,
            ]
            .concat(),
        );
        assert_eq!(run.status, Some(0), "{kind}: {}", run.stdout);
        assert!(run.stdout.contains("missing 0"), "{}", run.stdout);
        if let Some(o) = &oracle {
            assert_eq!(&run.stdout, o, "{kind}");
        }
        let s = stats_of(&ext);
        assert!(s.resident <= 48);
        assert!(s.total.evictions > 0, "the budget was never reached");
        assert!(s.by_kind.index > 0, "index pages hinted");
    }
}

#[test]
fn the_order_mix_agrees_with_qemu() {
    let Some(bin) = dbengine() else { return };
    let dir = scratch("orders");
    let path = db(&dir);
    let ext = DbPagerExt::new(DbPagerConfig::default());
    let args = ["orders", "60", "90", "30", "600", "200"];
    let oracle = {
        let opath = db(&scratch("orders-oracle"));
        qemu(bin, &[&opath, "create", "200"]);
        qemu(bin, &[[&opath as &str].as_slice(), &args].concat())
    };
    for kind in [PolicyKind::TwoQ, PolicyKind::Hinted] {
        assert_eq!(
            spin(bin, &dir, &ext, &[&path, "create", "200"]).status,
            Some(0)
        );
        let run = spin(
            bin,
            &dir,
            &ext,
            &[
                ["-p", kind.name(), "-b", "40", "-H", &path].as_slice(),
                &args,
            ]
            .concat(),
        );
        assert_eq!(run.status, Some(0), "{kind}: {}", run.stdout);
        assert!(
            run.stdout.contains("orders: 600 transactions"),
            "{}",
            run.stdout
        );
        if let Some(o) = &oracle {
            assert_eq!(&run.stdout, o, "{kind}");
        }
        let s = stats_of(&ext);
        assert!(s.resident <= 40 && s.total.evictions > 0, "{kind}: {s:?}");
    }
}

#[test]
fn dirty_pages_reach_the_file_and_a_bad_access_is_sigbus() {
    let Some(bin) = dbengine() else { return };
    let dir = scratch("durable");
    let path = db(&dir);
    let ext = DbPagerExt::new(DbPagerConfig::default());
    assert_eq!(
        spin(bin, &dir, &ext, &[&path, "create", "40"]).status,
        Some(0)
    );
    // 3000 commits over pages 2..5 with a budget of 2 frames: pages are
    // evicted (written back) between msyncs too.
    let run = spin(
        bin,
        &dir,
        &ext,
        &["-b", "2", "-p", "clock", &path, "txn", "3000"],
    );
    assert_eq!(run.status, Some(0), "{}", run.stdout);
    assert!(run.stdout.ends_with("commit 2999\n"));
    assert!(stats_of(&ext).total.evictions > 0);
    // The host file, read by the host: every commit is there.
    let bytes = std::fs::read(dir.join("test.db")).unwrap();
    let word = |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap());
    assert_eq!(word(1), 3000, "the commit count");
    for i in 0..3000 {
        assert_eq!(word(2 * 1024 + i), i as u64 + 1, "commit {i}");
    }
    let v = spin(bin, &dir, &ext, &[&path, "verify"]);
    assert_eq!(v.stdout, "verify: 3000 commits, 0 lost: ok\n");
    // Past the end of the file: SIGBUS (10 on Alpha) to the process.
    let b = spin(bin, &dir, &ext, &[&path, "beyond"]);
    assert_eq!(b.status, Some(128 + 10), "{}", b.stdout);
    assert!(b.stdout.starts_with("touching page 40 of 40\n"));
    assert!(!b.stdout.contains("no SIGBUS"));
}

#[test]
fn the_hosts_policy_outlives_the_programs_next_attach() {
    let Some(bin) = dbengine() else { return };
    let dir = scratch("operator");
    let path = db(&dir);
    let ext = DbPagerExt::new(DbPagerConfig::default());
    let run = |ext: &Arc<DbPagerExt>| {
        // A fresh database each time, so that the answers compare.
        assert_eq!(
            spin(bin, &dir, ext, &[&path, "create", "60"]).status,
            Some(0)
        );
        let r = spin(
            bin,
            &dir,
            ext,
            &[
                "-p", "hinted", "-b", "16", &path, "hotscan", "8", "40", "1", "50",
            ],
        );
        assert_eq!(r.status, Some(0), "{}", r.stdout);
        r.stdout
    };
    let first = run(&ext);
    assert_eq!(stats_of(&ext).policy, "hinted");
    // The operator switches (as the dashboard does): the next run's attach
    // asks for hinted again and gets mru, with the same answers.
    ext.set_policy(PolicyKind::Mru).unwrap();
    assert_eq!(run(&ext), first);
    assert_eq!(stats_of(&ext).policy, "mru");
    assert_eq!(ext.operator_policy(), Some(PolicyKind::Mru));
}

#[test]
fn a_file_attaches_again_after_the_process_that_attached_it_exits() {
    // The prebuilt sh runs the prebuilt dbengine beside it ($BIN).
    if dbengine().is_none() {
        return;
    }
    let dir = scratch("reattach");
    let path = db(&dir);
    let ext = DbPagerExt::new(DbPagerConfig::default());
    let sh = common::repo().join("guest/prebuilt/alpha/sh");
    let engine = "$BIN/dbengine";
    // One mound, three processes attaching the same file one after another
    // (the demo's rounds): each attach finds the last one gone.
    let script = format!(
        "{engine} {path} create 60 ; {engine} -p lru -b 16 {path} hotscan 8 40 1 50 ; \
         echo status $? ; {engine} -p 2q -b 16 {path} hotscan 8 40 1 50 ; echo status $?"
    );
    let run = spin(&sh, &dir, &ext, &["-c", &script]);
    assert_eq!(run.status, Some(0), "{}", run.stdout);
    assert_eq!(run.stdout.matches("status 0").count(), 2, "{}", run.stdout);
    // Only the live attachment is reported.
    let s = stats_of(&ext);
    assert_eq!(s.policy, "2q");
}

/// The child half of the kill test: runs the transaction workload in this
/// process (re-executed by the parent with DBPAGER_KILL_DIR set), printing
/// each acknowledged commit on stdout as the guest prints it.
#[test]
fn kill_child() {
    let Ok(dir) = std::env::var("DBPAGER_KILL_DIR") else {
        return;
    };
    let Some(bin) = dbengine() else { return };
    let dir = PathBuf::from(dir);
    let path = db(&dir);
    let ext = DbPagerExt::new(DbPagerConfig::default());
    let prog = bin.as_os_str().as_encoded_bytes().to_vec();
    let argv: Vec<Vec<u8>> = [
        prog.clone(),
        b"-b".to_vec(),
        b"3".to_vec(),
        path.into_bytes(),
        b"txn".to_vec(),
        b"100000".to_vec(),
    ]
    .to_vec();
    let mut unix = UnixConfig::new("db", prog, argv);
    unix.mounts = vec![
        HostMount {
            guest: dir.as_os_str().as_encoded_bytes().to_vec(),
            host: dir.clone(),
            writable: true,
        },
        HostMount {
            guest: bin
                .parent()
                .unwrap()
                .as_os_str()
                .as_encoded_bytes()
                .to_vec(),
            host: bin.parent().unwrap().to_path_buf(),
            writable: false,
        },
    ];
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
fn kill_9_loses_no_acknowledged_commit() {
    let Some(bin) = dbengine() else { return };
    let dir = scratch("kill");
    let path = db(&dir);
    let ext = DbPagerExt::new(DbPagerConfig::default());
    assert_eq!(
        spin(bin, &dir, &ext, &[&path, "create", "200"]).status,
        Some(0)
    );
    // SIGKILL in the middle of the workload.
    let acked = kill_9_after("kill_child", "DBPAGER_KILL_DIR", &dir, 400);
    let v = spin(bin, &dir, &ext, &[&path, "verify"]);
    let commits: u64 = v
        .stdout
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("verify said {:?}", v.stdout));
    assert!(commits >= acked, "{commits} on disk, {acked} acknowledged");
    assert!(v.stdout.ends_with("0 lost: ok\n"), "{}", v.stdout);
    assert_eq!(v.status, Some(0));
}

#[test]
fn the_kvm_machine_runs_the_same_pager() {
    if let Err(e) = spin_vmm::kvm::available() {
        eprintln!("SKIP: KVM unavailable: {e}");
        return;
    }
    let Some(bin) = native_dbengine() else {
        eprintln!("SKIP: gcc not installed");
        return;
    };
    let dir = scratch("kvm");
    let path = db(&dir);
    // The oracle: the same x86-64 program under Linux.
    let native = |args: &[&str]| {
        let o = Command::new(&bin).args(args).output().expect("runs");
        assert!(o.status.success(), "{o:?}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let opath = db(&scratch("kvm-oracle"));
    native(&[&opath, "create", "160"]);
    let oracle = native(&[[&opath as &str].as_slice(), &HOTSCAN].concat());
    let ext = DbPagerExt::new(DbPagerConfig::default());
    for kind in [PolicyKind::Clock, PolicyKind::Hinted] {
        let c = spin_on(
            MachineKind::Kvm,
            &bin,
            &dir,
            &ext,
            &[&path, "create", "160"],
        );
        assert_eq!(c.status, Some(0), "{}", c.stdout);
        let args = [
            ["-p", kind.name(), "-b", BUDGET, "-H", &path].as_slice(),
            &HOTSCAN,
        ]
        .concat();
        let run = spin_on(MachineKind::Kvm, &bin, &dir, &ext, &args);
        assert_eq!(run.status, Some(0), "{kind}: {}", run.stdout);
        assert_eq!(run.stdout, oracle, "{kind} on KVM differs from Linux");
        let s = stats_of(&ext);
        assert!(s.resident <= 64 && s.total.evictions > 0, "{kind}: {s:?}");
    }
}

#[test]
fn every_misuse_of_the_extension_is_an_errno() {
    let Some(bin) = dbengine() else { return };
    let dir = scratch("errors");
    let path = db(&dir);
    let ext = DbPagerExt::new(DbPagerConfig::default());
    assert_eq!(
        spin(bin, &dir, &ext, &[&path, "create", "4"]).status,
        Some(0)
    );
    let r = spin(bin, &dir, &ext, &[&path, "errors"]);
    assert_eq!(r.status, Some(0), "{}", r.stdout);
    assert_eq!(
        r.stdout,
        "attach again: EBUSY\n\
         attach unmapped: EINVAL\n\
         attach stack: EINVAL\n\
         hint kind 9: EINVAL\n\
         hint wrapping: EINVAL\n\
         hint past the mapping: EINVAL\n\
         hint empty: OK\n\
         mode 7: EINVAL\n\
         policy 6: EINVAL\n\
         policy -1: EINVAL\n\
         policy opt without a trace: ENOENT\n\
         policy lru: OK\n\
         stat 9: EINVAL\n\
         stat policy: 1\n\
         record 2: EINVAL\n\
         record stop unstarted: EINVAL\n\
         unregistered call: ENOSYS\n"
    );
}

#[test]
fn under_the_mound_quota_reclaim_takes_pager_pages_and_loses_nothing() {
    let Some(bin) = dbengine() else { return };
    let dir = scratch("reclaim");
    let path = db(&dir);
    // A pager budget far above the mound's quota: the frames come back
    // through PhysAddr.Reclaim, which the pager answers first.
    let ext = DbPagerExt::new(DbPagerConfig::default());
    let quota = Some(200);
    let run = |args: &[&str]| spin_with(MachineKind::Alpha, quota, bin, &dir, &ext, args);
    assert_eq!(run(&[&path, "create", "600"]).status, Some(0));
    let t = run(&["-b", "100000", "-p", "lru", &path, "txn", "2000"]);
    assert_eq!(t.status, Some(0), "{}", t.stdout);
    // Every commit reached the file (before hotscan, whose updates land
    // on the same words).
    let v = run(&[&path, "verify"]);
    assert_eq!(v.stdout, "verify: 2000 commits, 0 lost: ok\n");
    let h = run(&[
        "-b", "100000", "-p", "lru", &path, "hotscan", "64", "500", "2", "200",
    ]);
    assert_eq!(h.status, Some(0), "{}", h.stdout);
    // hotscan's footprint (565 pages) is far above the quota: the pager
    // volunteered pages, dirty hot pages among them, and the updates count
    // it prints (read back from the pages) matches qemu's.
    let s = stats_of(&ext);
    assert!(s.volunteered > 0, "the pager was never asked: {s:?}");
    assert!(s.resident < 200, "{s:?}");
    if let Some(o) = {
        let odir = scratch("reclaim-oracle");
        let opath = db(&odir);
        qemu(bin, &[&opath, "create", "600"]);
        qemu(bin, &[&opath, "txn", "2000"]);
        qemu(bin, &[&opath, "hotscan", "64", "500", "2", "200"])
    } {
        assert_eq!(h.stdout, o);
    }
}
