//! The runtime end to end: lifecycle, preemption, swap authority, the stall
//! watchdog, two-level scheduling and telemetry.

mod common;

use common::{boot, params, LowestIdOnly};
use spin_kernel::strand::Reservation;
use spin_kernel::{MoundId, SchedParams, StrandId, StrandState};
use spin_scheduler::{LocalRoundRobin, SchedError, SchedulerConfig, Stop, GROUP_ID_BASE};

const MS: u64 = 1_000_000;

#[test]
fn lifecycle_and_accounting() {
    let (_k, _a, mut s) = boot(SchedulerConfig::default());
    s.add_strand(StrandId(1), "a", MoundId(1), params(16, 100))
        .unwrap();
    s.add_strand(StrandId(2), "b", MoundId(1), params(16, 100))
        .unwrap();
    assert_eq!(
        s.add_strand(StrandId(1), "dup", MoundId(1), params(1, 1)),
        Err(SchedError::DuplicateStrand(StrandId(1)))
    );
    assert_eq!(
        s.add_strand(StrandId(GROUP_ID_BASE), "x", MoundId(1), params(1, 1)),
        Err(SchedError::ReservedId(StrandId(GROUP_ID_BASE)))
    );
    assert_eq!(s.state(StrandId(1)), Some(StrandState::Blocked));
    s.unblock(StrandId(1), 0).unwrap();
    s.unblock(StrandId(2), 0).unwrap();
    let p = s.pick_next(100).unwrap();
    assert_eq!(p.strand, StrandId(1));
    assert_eq!(s.state(StrandId(1)), Some(StrandState::Running));
    // Blocking a running strand takes effect when it stops.
    s.block(StrandId(1), 200).unwrap();
    s.stop(StrandId(1), 500, 600, Stop::Runnable).unwrap();
    assert_eq!(s.state(StrandId(1)), Some(StrandState::Blocked));
    assert_eq!(
        s.stop(StrandId(1), 1, 601, Stop::Runnable),
        Err(SchedError::NotRunning(StrandId(1)))
    );
    let p = s.pick_next(600).unwrap();
    assert_eq!(p.strand, StrandId(2));
    s.exit(StrandId(2), 700).unwrap();
    s.stop(StrandId(2), 100, 700, Stop::Runnable).unwrap();
    assert_eq!(s.state(StrandId(2)), Some(StrandState::Exited));
    assert_eq!(
        s.unblock(StrandId(2), 800),
        Err(SchedError::Exited(StrandId(2)))
    );
    let a = s.account(StrandId(1)).unwrap();
    assert_eq!((a.cpu_ns, a.wait_ns, a.wakeups), (500, 100, 1));
    assert_eq!(a.wake_latency.max(), 100);
    assert_eq!(s.account(StrandId(2)).unwrap().max_wait_ns, 600);
    let reaped = s.reap(StrandId(2)).unwrap();
    assert_eq!(reaped.cpu_ns, 100);
    assert_eq!(
        s.reap(StrandId(1)).err(),
        Some(SchedError::NotExited(StrandId(1)))
    );
    assert_eq!(s.mound_account(MoundId(1)).unwrap().cpu_ns, 600);
    s.check_consistency().unwrap();
}

#[test]
fn higher_priority_wakeup_preempts() {
    let (_k, _a, mut s) = boot(SchedulerConfig::default());
    s.add_strand(StrandId(1), "low", MoundId(1), params(4, 100))
        .unwrap();
    s.add_strand(StrandId(2), "high", MoundId(1), params(20, 100))
        .unwrap();
    s.unblock(StrandId(1), 0).unwrap();
    assert_eq!(s.pick_next(0).unwrap().strand, StrandId(1));
    assert!(!s.should_preempt(StrandId(1), 10));
    s.unblock(StrandId(2), 10).unwrap();
    assert!(s.should_preempt(StrandId(1), 10));
    s.stop(StrandId(1), 10, 10, Stop::Runnable).unwrap();
    assert_eq!(s.pick_next(10).unwrap().strand, StrandId(2));
    assert!(!s.should_preempt(StrandId(2), 11));
}

#[test]
fn swap_moves_everything_and_refuses_foreign_caps() {
    let (_k, auth, mut s) = boot(SchedulerConfig::default());
    let (_k2, foreign, _s2) = boot(SchedulerConfig::default());
    for i in 1..=6 {
        s.add_strand(
            StrandId(i),
            format!("s{i}"),
            MoundId(1),
            params(i as u8, 100),
        )
        .unwrap();
    }
    for i in 1..=4 {
        s.unblock(StrandId(i), 0).unwrap();
    }
    let running = s.pick_next(0).unwrap().strand;
    assert_eq!(
        s.swap(&foreign.swap_scheduler, "stride", "intruder", "because", 1),
        Err(SchedError::ForeignCapability {
            cap: foreign.swap_scheduler.kernel(),
            ours: auth.swap_scheduler.kernel()
        })
    );
    assert_eq!(s.policy_name(), "rr-priority");
    assert!(matches!(
        s.swap(&auth.swap_scheduler, "nonesuch", "console", "typo", 1),
        Err(SchedError::Policy(_))
    ));
    s.swap(
        &auth.swap_scheduler,
        "stride",
        "console",
        "policy set stride",
        5,
    )
    .unwrap();
    assert_eq!(s.policy_name(), "stride");
    assert_eq!(s.runnable_entities(), 3);
    s.check_consistency().unwrap();
    // The running strand joins the new policy when it stops.
    s.stop(running, 5, 5, Stop::Runnable).unwrap();
    assert_eq!(s.runnable_entities(), 4);
    let t = s.telemetry(5);
    assert_eq!(t.swaps.len(), 1);
    assert_eq!(
        (
            t.swaps[0].from.as_str(),
            t.swaps[0].to.as_str(),
            t.swaps[0].moved
        ),
        ("rr-priority", "stride", 3)
    );
    assert_eq!(t.swaps[0].who, "console");
    assert_eq!(t.blocked, 2);
    let mut seen = Vec::new();
    while let Some(p) = s.pick_next(6) {
        seen.push(p.strand.0);
        s.stop(p.strand, 0, 6, Stop::Blocked).unwrap();
    }
    seen.sort_unstable();
    assert_eq!(seen, vec![1, 2, 3, 4]);
}

fn cpu_loop(s: &mut spin_scheduler::Scheduler, from: u64, until: u64) -> u64 {
    let mut now = from;
    while now < until {
        let Some(p) = s.pick_next(now) else { break };
        now += p.quantum.min(MS);
        s.stop(p.strand, p.quantum.min(MS), now, Stop::Runnable)
            .unwrap();
    }
    now
}

#[test]
fn watchdog_reverts_a_starving_policy() {
    let (_k, auth, mut s) = boot(SchedulerConfig::default());
    for i in 1..=3 {
        s.add_strand(StrandId(i), "cpu", MoundId(1), params(16, 100))
            .unwrap();
        s.unblock(StrandId(i), 0).unwrap();
    }
    s.swap_policy(
        &auth.swap_scheduler,
        Box::new(LowestIdOnly::default()),
        "test",
        "starve",
        0,
    )
    .unwrap();
    let now = cpu_loop(&mut s, 0, 1_900 * MS);
    assert_eq!(s.policy_name(), "lowest-id-only");
    assert_eq!(s.account(StrandId(2)).unwrap().cpu_ns, 0);
    cpu_loop(&mut s, now, 2_200 * MS);
    assert_eq!(s.policy_name(), "rr-priority");
    let t = s.telemetry(2_200 * MS);
    assert_eq!(t.watchdog.firings, 1);
    let firing = t.watchdog.last.clone().unwrap();
    assert_eq!(firing.policy, "lowest-id-only");
    assert!(firing.waited > 2_000 * MS);
    assert_eq!(t.swaps.last().unwrap().who, "watchdog");
    assert!(s.account(StrandId(2)).unwrap().cpu_ns > 0);
    assert!(s.account(StrandId(3)).unwrap().cpu_ns > 0);
    s.check_consistency().unwrap();
}

#[test]
fn watchdog_quiet_for_a_healthy_policy_and_exempts_the_default() {
    for policy in ["stride", "lottery", "fair", "edf", "rr-priority"] {
        let (_k, _a, mut s) = boot(SchedulerConfig {
            policy: policy.into(),
            ..SchedulerConfig::default()
        });
        for i in 1..=50 {
            s.add_strand(StrandId(i), "cpu", MoundId(1), params(16, 10 + i))
                .unwrap();
            s.unblock(StrandId(i), 0).unwrap();
        }
        cpu_loop(&mut s, 0, 10_000 * MS);
        let t = s.telemetry(10_000 * MS);
        assert_eq!(t.watchdog.firings, 0, "{policy}");
        assert_eq!(t.policy, policy);
    }
    // Under the default a low priority may starve by design: no revert loop.
    let (_k, _a, mut s) = boot(SchedulerConfig::default());
    s.add_strand(StrandId(1), "hog", MoundId(1), params(30, 100))
        .unwrap();
    s.add_strand(StrandId(2), "meek", MoundId(1), params(1, 100))
        .unwrap();
    s.unblock(StrandId(1), 0).unwrap();
    s.unblock(StrandId(2), 0).unwrap();
    cpu_loop(&mut s, 0, 5_000 * MS);
    assert_eq!(s.telemetry(5_000 * MS).watchdog.firings, 0);
}

#[test]
fn a_mound_schedules_its_own_strands() {
    let (_k, _a, mut s) = boot(SchedulerConfig::default());
    let entity = s
        .add_group(
            MoundId(7),
            params(16, 100),
            Box::new(LocalRoundRobin::new(2 * MS)),
        )
        .unwrap();
    assert_eq!(entity, StrandId(GROUP_ID_BASE));
    assert!(s
        .add_group(
            MoundId(7),
            params(16, 100),
            Box::new(LocalRoundRobin::new(MS))
        )
        .is_err());
    for i in 1..=3 {
        s.add_strand(StrandId(i), "local", MoundId(7), params(16, 100))
            .unwrap();
    }
    s.add_strand(StrandId(9), "global", MoundId(1), params(16, 100))
        .unwrap();
    s.add_strand(StrandId(10), "late", MoundId(2), params(16, 100))
        .unwrap();
    assert_eq!(
        s.add_group(
            MoundId(2),
            params(16, 100),
            Box::new(LocalRoundRobin::new(MS))
        )
        .err(),
        Some(SchedError::GroupAfterStrands(MoundId(2)))
    );
    for i in [1, 2, 3, 9] {
        s.unblock(StrandId(i), 0).unwrap();
    }
    // Two entities globally: the mound and strand 9.
    assert_eq!(s.runnable_entities(), 2);
    let first = s.pick_next(0).unwrap();
    assert_eq!((first.strand, first.quantum), (StrandId(1), 2 * MS));
    // While the group runs, its other strands wait locally; the global set has only 9.
    assert_eq!(s.runnable_entities(), 1);
    assert_eq!(s.pick_next(0).unwrap().strand, StrandId(9));
    s.block(StrandId(2), 1).unwrap();
    s.check_consistency().unwrap();
    s.stop(StrandId(1), 2 * MS, 2 * MS, Stop::Runnable).unwrap();
    s.stop(StrandId(9), 2 * MS, 2 * MS, Stop::Blocked).unwrap();
    // The mound is picked again; its local round-robin chooses 3 (2 is blocked).
    assert_eq!(s.pick_next(2 * MS).unwrap().strand, StrandId(3));
    s.stop(StrandId(3), MS, 3 * MS, Stop::Blocked).unwrap();
    assert_eq!(s.pick_next(3 * MS).unwrap().strand, StrandId(1));
    s.stop(StrandId(1), MS, 4 * MS, Stop::Blocked).unwrap();
    // Nothing runnable in the mound: the entity left the global set.
    assert_eq!(s.runnable_entities(), 0);
    assert!(s.pick_next(4 * MS).is_none());
    s.unblock(StrandId(2), 5 * MS).unwrap();
    assert_eq!(s.runnable_entities(), 1);
    assert_eq!(s.pick_next(5 * MS).unwrap().strand, StrandId(2));
    s.check_consistency().unwrap();
    let t = s.telemetry(6 * MS);
    let m7 = t.mounds.iter().find(|m| m.mound == MoundId(7)).unwrap();
    assert_eq!(m7.local_scheduler.as_deref(), Some("local-rr"));
    assert_eq!(m7.group_state.as_deref(), Some("running"));
    assert_eq!(m7.account.cpu_ns, 4 * MS);
}

#[test]
fn deadline_misses_are_counted_per_job() {
    let (_k, _a, mut s) = boot(SchedulerConfig::default());
    let rt = SchedParams {
        priority: 20,
        weight: 100,
        reservation: Some(Reservation {
            period: 10 * MS,
            deadline: 5 * MS,
            budget: MS,
        }),
    };
    s.add_strand(StrandId(1), "rt", MoundId(3), rt).unwrap();
    s.unblock(StrandId(1), 0).unwrap();
    s.pick_next(0).unwrap();
    s.stop(StrandId(1), MS, MS, Stop::Blocked).unwrap();
    s.unblock(StrandId(1), 10 * MS).unwrap();
    s.pick_next(16 * MS).unwrap();
    s.stop(StrandId(1), MS, 17 * MS, Stop::Blocked).unwrap();
    let a = s.account(StrandId(1)).unwrap();
    assert_eq!((a.jobs, a.deadline_misses), (2, 1));
    let t = s.telemetry(17 * MS);
    assert_eq!(t.mounds[0].account.deadline_misses, 1);
}

#[test]
fn set_params_requeues_at_the_new_priority() {
    let (_k, _a, mut s) = boot(SchedulerConfig::default());
    s.add_strand(StrandId(1), "a", MoundId(1), params(10, 100))
        .unwrap();
    s.add_strand(StrandId(2), "b", MoundId(1), params(12, 100))
        .unwrap();
    s.unblock(StrandId(1), 0).unwrap();
    s.unblock(StrandId(2), 0).unwrap();
    s.set_params(StrandId(1), params(20, 100), 5).unwrap();
    s.check_consistency().unwrap();
    let p = s.pick_next(10).unwrap();
    assert_eq!(p.strand, StrandId(1));
    // Its wait still counts from when it became runnable.
    assert_eq!(s.account(StrandId(1)).unwrap().wait_ns, 10);
}
