//! Property tests: no strand is ever lost or duplicated, under any policy or
//! swap order; rr-priority's priority rule; EDF meets feasible deadlines;
//! stride's share error stays bounded.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{boot, params, LowestIdOnly};
use proptest::prelude::*;
use spin_kernel::strand::Reservation;
use spin_kernel::{MoundId, Nanos, SchedParams, StrandId, StrandState};
use spin_scheduler::sim::{simulate, Behavior, SimStrand, Workload};
use spin_scheduler::{
    policy_by_name, LocalRoundRobin, PolicyParams, SchedulerConfig, Stop, POLICY_NAMES,
};

const MS: Nanos = 1_000_000;
const GROUPED_MOUND: MoundId = MoundId(7);

#[derive(Debug, Clone)]
enum Op {
    Add {
        id: u32,
        prio: u8,
        weight: u32,
        rt: bool,
        grouped: bool,
    },
    Block(u32),
    Unblock(u32),
    Exit(u32),
    Reap(u32),
    Pick(usize),
    Stop {
        cpu: usize,
        ran: Nanos,
        how: u8,
    },
    Tick(Nanos),
    Swap(usize),
    SetParams {
        id: u32,
        prio: u8,
        weight: u32,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let id = 1u32..16;
    prop_oneof![
        3 => (id.clone(), 0u8..32, 1u32..500, any::<bool>(), any::<bool>())
            .prop_map(|(id, prio, weight, rt, grouped)| Op::Add { id, prio, weight, rt, grouped }),
        2 => id.clone().prop_map(Op::Block),
        4 => id.clone().prop_map(Op::Unblock),
        1 => id.clone().prop_map(Op::Exit),
        1 => id.clone().prop_map(Op::Reap),
        4 => (0usize..2).prop_map(Op::Pick),
        4 => (0usize..2, 0..20 * MS, 0u8..3).prop_map(|(cpu, ran, how)| Op::Stop { cpu, ran, how }),
        2 => (0..3_000 * MS).prop_map(Op::Tick),
        1 => (0usize..POLICY_NAMES.len() + 1).prop_map(Op::Swap),
        1 => (id, 0u8..32, 1u32..500).prop_map(|(id, prio, weight)| Op::SetParams { id, prio, weight }),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    None,
    Block,
    Exit,
}

#[derive(Debug, Clone, Copy)]
struct Model {
    state: StrandState,
    pending: Pending,
    grouped: bool,
}

fn rt_params(prio: u8, weight: u32, rt: bool) -> SchedParams {
    SchedParams {
        priority: prio,
        weight,
        reservation: rt.then_some(Reservation {
            period: 10 * MS,
            deadline: 8 * MS,
            budget: 2 * MS,
        }),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Every strand is in exactly one of runnable / running / blocked / exited,
    /// the runtime agrees with a model of the protocol, and at the end every
    /// runnable strand is picked exactly once.
    #[test]
    fn no_strand_lost_or_duplicated(start in 0usize..POLICY_NAMES.len(), ops in prop::collection::vec(op(), 1..120)) {
        let (_k, auth, mut s) = boot(SchedulerConfig { policy: POLICY_NAMES[start].into(), ..SchedulerConfig::default() });
        s.add_group(GROUPED_MOUND, params(16, 100), Box::new(LocalRoundRobin::new(3 * MS))).unwrap();
        let mut model: BTreeMap<u32, Model> = BTreeMap::new();
        let mut cpus: [Option<StrandId>; 2] = [None, None];
        let mut now: Nanos = 0;
        for op in ops {
            now += 1_000;
            match op {
                Op::Add { id, prio, weight, rt, grouped } => {
                    let mound = if grouped { GROUPED_MOUND } else { MoundId(1) };
                    let r = s.add_strand(StrandId(id), "p", mound, rt_params(prio, weight, rt));
                    prop_assert_eq!(r.is_ok(), !model.contains_key(&id));
                    model.entry(id).or_insert(Model { state: StrandState::Blocked, pending: Pending::None, grouped });
                }
                Op::Block(id) => {
                    let r = s.block(StrandId(id), now);
                    match model.get_mut(&id) {
                        None => prop_assert!(r.is_err()),
                        Some(m) => match m.state {
                            StrandState::Exited => prop_assert!(r.is_err()),
                            StrandState::Running => { prop_assert!(r.is_ok()); if m.pending == Pending::None { m.pending = Pending::Block; } }
                            _ => { prop_assert!(r.is_ok()); m.state = StrandState::Blocked; }
                        },
                    }
                }
                Op::Unblock(id) => {
                    let r = s.unblock(StrandId(id), now);
                    match model.get_mut(&id) {
                        None => prop_assert!(r.is_err()),
                        Some(m) => match m.state {
                            StrandState::Exited => prop_assert!(r.is_err()),
                            StrandState::Running => { prop_assert!(r.is_ok()); if m.pending == Pending::Block { m.pending = Pending::None; } }
                            _ => { prop_assert!(r.is_ok()); m.state = StrandState::Runnable; }
                        },
                    }
                }
                Op::Exit(id) => {
                    let r = s.exit(StrandId(id), now);
                    match model.get_mut(&id) {
                        None => prop_assert!(r.is_err()),
                        Some(m) => {
                            prop_assert!(r.is_ok());
                            match m.state {
                                StrandState::Running => m.pending = Pending::Exit,
                                _ => m.state = StrandState::Exited,
                            }
                        }
                    }
                }
                Op::Reap(id) => {
                    let r = s.reap(StrandId(id));
                    let exited = model.get(&id).is_some_and(|m| m.state == StrandState::Exited);
                    prop_assert_eq!(r.is_ok(), exited);
                    if exited { model.remove(&id); }
                }
                Op::Pick(cpu) => {
                    if cpus[cpu].is_some() { continue; }
                    match s.pick_next(now) {
                        Some(p) => {
                            let m = model.get_mut(&p.strand.0).expect("picked a known strand");
                            prop_assert_eq!(m.state, StrandState::Runnable, "picked {} not runnable", p.strand);
                            prop_assert!(p.quantum > 0);
                            m.state = StrandState::Running;
                            cpus[cpu] = Some(p.strand);
                        }
                        None => {
                            // Only a running mound's own strands may be left waiting.
                            let group_running = cpus.iter().flatten().any(|s| model[&s.0].grouped);
                            for (id, m) in &model {
                                if m.state == StrandState::Runnable {
                                    prop_assert!(m.grouped && group_running, "s{} runnable but nothing picked", id);
                                }
                            }
                        }
                    }
                }
                Op::Stop { cpu, ran, how } => {
                    let Some(id) = cpus[cpu].take() else { continue };
                    let how = [Stop::Runnable, Stop::Blocked, Stop::Exited][how as usize];
                    now += ran;
                    prop_assert!(s.stop(id, ran, now, how).is_ok());
                    let m = model.get_mut(&id.0).expect("running strand is known");
                    m.state = match (m.pending, how) {
                        (Pending::Exit, _) | (_, Stop::Exited) => StrandState::Exited,
                        (Pending::Block, _) | (_, Stop::Blocked) => StrandState::Blocked,
                        _ => StrandState::Runnable,
                    };
                    m.pending = Pending::None;
                }
                Op::Tick(d) => now += d,
                Op::Swap(k) => {
                    if k < POLICY_NAMES.len() {
                        prop_assert!(s.swap(&auth.swap_scheduler, POLICY_NAMES[k], "prop", "swap", now).is_ok());
                    } else {
                        prop_assert!(s.swap_policy(&auth.swap_scheduler, Box::new(LowestIdOnly::default()), "prop", "starve", now).is_ok());
                    }
                }
                Op::SetParams { id, prio, weight } => {
                    let r = s.set_params(StrandId(id), rt_params(prio, weight, false), now);
                    let live = model.get(&id).is_some_and(|m| m.state != StrandState::Exited);
                    prop_assert_eq!(r.is_ok(), live);
                }
            }
            if let Err(e) = s.check_consistency() {
                prop_assert!(false, "inconsistent after {:?}: {}", op, e);
            }
            for (id, m) in &model {
                prop_assert_eq!(s.state(StrandId(*id)), Some(m.state), "state of s{}", id);
            }
        }
        // Stop whatever runs, then every runnable strand must be picked exactly once.
        for id in cpus.iter().flatten() {
            s.stop(*id, 0, now, Stop::Runnable).unwrap();
            let m = model.get_mut(&id.0).unwrap();
            m.state = match m.pending { Pending::Exit => StrandState::Exited, Pending::Block => StrandState::Blocked, Pending::None => StrandState::Runnable };
        }
        let expected: BTreeSet<u32> = model.iter().filter(|(_, m)| m.state == StrandState::Runnable).map(|(id, _)| *id).collect();
        let mut picked = BTreeSet::new();
        while let Some(p) = s.pick_next(now) {
            prop_assert!(picked.insert(p.strand.0), "{} picked twice", p.strand);
            s.stop(p.strand, 0, now, Stop::Blocked).unwrap();
        }
        prop_assert_eq!(picked, expected);
        s.check_consistency().unwrap();
    }

    /// Each policy on its own: whatever the sequence, pick returns only queued
    /// strands, len is exact and drain returns the runnable set once each.
    #[test]
    fn policies_keep_the_runnable_set(k in 0usize..POLICY_NAMES.len(), ops in prop::collection::vec((0u8..4, 1u32..40, 0u8..32, 1u32..300, any::<bool>()), 1..300)) {
        let mut p = policy_by_name(POLICY_NAMES[k], &PolicyParams::default()).unwrap();
        let mut set = BTreeSet::new();
        let mut now = 0;
        for (kind, id, prio, weight, rt) in ops {
            now += 500_000;
            let params = rt_params(prio, weight, rt);
            match kind {
                0 => { p.enqueue(StrandId(id), &params, now); set.insert(id); }
                1 => prop_assert_eq!(p.remove(StrandId(id)), set.remove(&id)),
                2 => match p.pick_next(now) {
                    Some(pick) => {
                        prop_assert!(set.remove(&pick.strand.0));
                        p.charge(pick.strand, &params, pick.quantum.min(3 * MS), now);
                    }
                    None => prop_assert!(set.is_empty()),
                },
                _ => { if !set.contains(&id) { p.forget(StrandId(id)); } }
            }
            prop_assert_eq!(p.len(), set.len());
        }
        let drained: Vec<u32> = p.drain().into_iter().map(|s| s.0).collect();
        let unique: BTreeSet<u32> = drained.iter().copied().collect();
        prop_assert_eq!(unique.len(), drained.len());
        prop_assert_eq!(unique, set);
        prop_assert!(p.is_empty());
    }

    /// rr-priority never runs a lower priority while a higher one is runnable,
    /// and asks to preempt exactly when a higher priority waits.
    #[test]
    fn rr_priority_respects_priorities(prios in prop::collection::vec(0u8..32, 2..20), ops in prop::collection::vec((0u8..3, 0usize..20), 1..200)) {
        let (_k, _a, mut s) = boot(SchedulerConfig::default());
        for (i, p) in prios.iter().enumerate() {
            s.add_strand(StrandId(i as u32), "p", MoundId(1), params(*p, 100)).unwrap();
        }
        let mut running: Option<StrandId> = None;
        let mut now = 0;
        for (kind, i) in ops {
            now += 1_000;
            let id = StrandId((i % prios.len()) as u32);
            match kind {
                0 => { s.unblock(id, now).unwrap(); }
                1 => { s.block(id, now).unwrap(); }
                _ => {
                    if let Some(r) = running.take() { s.stop(r, 1_000, now, Stop::Runnable).unwrap(); }
                    running = s.pick_next(now).map(|p| p.strand);
                    if let Some(r) = running {
                        let mine = prios[r.0 as usize];
                        for (j, p) in prios.iter().enumerate() {
                            if s.state(StrandId(j as u32)) == Some(StrandState::Runnable) {
                                prop_assert!(*p <= mine, "ran prio {} while prio {} waits", mine, p);
                            }
                        }
                    }
                }
            }
            if let Some(r) = running {
                let higher_waits = prios.iter().enumerate().any(|(j, p)| {
                    *p > prios[r.0 as usize] && s.state(StrandId(j as u32)) == Some(StrandState::Runnable)
                });
                prop_assert_eq!(s.should_preempt(r, now), higher_waits);
            }
        }
    }

    /// EDF meets every deadline of a feasible periodic set (U ≤ 1), even with
    /// CPU-bound and I/O-bound strands competing in the slack.
    #[test]
    fn edf_meets_feasible_deadlines(
        tasks in prop::collection::vec((prop::sample::select(vec![2u64, 4, 5, 10, 20, 25, 40]), 1u64..100), 1..6),
        total_u in 0.2f64..1.0,
        hogs in 0usize..3,
        seed in any::<u64>(),
    ) {
        let raw: u64 = tasks.iter().map(|t| t.1).sum();
        let mut strands = Vec::new();
        for (i, (period_ms, share)) in tasks.iter().enumerate() {
            let period = period_ms * MS;
            let u = total_u * *share as f64 / raw as f64;
            let budget = ((period as f64 * u) as Nanos).max(1);
            strands.push(SimStrand {
                name: format!("rt-{i}"),
                params: params(20, 100),
                behavior: Behavior::Periodic { period, budget, deadline: period },
            });
        }
        for i in 0..hogs {
            strands.push(SimStrand { name: format!("hog-{i}"), params: params(16, 100), behavior: Behavior::CpuBound });
            strands.push(SimStrand {
                name: format!("io-{i}"),
                params: params(16, 100),
                behavior: Behavior::Io { burst: (MS / 10, 2 * MS), sleep: (MS, 5 * MS) },
            });
        }
        let r = simulate("edf", &Workload { strands }, seed, 1_000 * MS).unwrap();
        prop_assert!(r.jobs > 0);
        prop_assert_eq!(r.deadline_misses, 0, "{:?}", r);
    }

    /// Stride: after any number of full quanta, each strand's count is within
    /// n quanta (n strands) of its exact proportional share, whatever t.
    #[test]
    fn stride_share_error_is_bounded(weights in prop::collection::vec(1u32..50, 2..10), rounds in 1usize..3000) {
        let mut p = policy_by_name("stride", &PolicyParams::default()).unwrap();
        let q = PolicyParams::default().quantum;
        let params: Vec<SchedParams> = weights.iter().map(|w| SchedParams { weight: *w, ..SchedParams::default() }).collect();
        for (i, pr) in params.iter().enumerate() {
            p.enqueue(StrandId(i as u32), pr, 0);
        }
        let total: u32 = weights.iter().sum();
        let mut runs = vec![0u64; weights.len()];
        for t in 1..=rounds {
            let pick = p.pick_next(0).unwrap();
            let i = pick.strand.0 as usize;
            runs[i] += 1;
            p.charge(pick.strand, &params[i], q, 0);
            p.enqueue(pick.strand, &params[i], 0);
            for (j, w) in weights.iter().enumerate() {
                let ideal = t as f64 * f64::from(*w) / f64::from(total);
                prop_assert!((runs[j] as f64 - ideal).abs() <= weights.len() as f64 + 1e-9 * ideal,
                    "strand {} ran {} times, ideal {:.2} after {} quanta", j, runs[j], ideal, t);
            }
        }
    }
}
