//! EEVDF's rules, checked against a model: eligibility, earliest deadline,
//! weighted shares, no starvation, lag across block/unblock.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

const SLICE: Nanos = 750_000;
const LAG_BOUND: Nanos = 3_000_000;

fn fair() -> Fair {
    Fair::new(SLICE, LAG_BOUND, FairWeights::Weight)
}

fn weighted(w: u32) -> SchedParams {
    SchedParams {
        weight: w,
        ..SchedParams::default()
    }
}

/// Runs always-runnable strands on one CPU for `picks` picks; CPU time each.
fn run_cpu_bound(f: &mut Fair, params: &[SchedParams], picks: usize) -> Vec<u64> {
    for (i, p) in params.iter().enumerate() {
        f.enqueue(StrandId(i as u32), p, 0);
    }
    let mut cpu = vec![0u64; params.len()];
    for _ in 0..picks {
        let pick = f.pick_next(0).expect("runnable");
        let i = pick.strand.0 as usize;
        cpu[i] += pick.quantum;
        f.charge(pick.strand, &params[i], pick.quantum, 0);
        f.enqueue(pick.strand, &params[i], 0);
    }
    cpu
}

#[test]
fn cpu_follows_weight() {
    let params = [100u32, 300].map(weighted);
    let cpu = run_cpu_bound(&mut fair(), &params, 4000);
    let ratio = cpu[1] as f64 / cpu[0] as f64;
    assert!((2.95..3.05).contains(&ratio), "ratio {ratio}");
}

#[test]
fn nice_table_from_priority() {
    let f = Fair::new(SLICE, LAG_BOUND, FairWeights::Priority);
    let at = |p| {
        f.weight_of(&SchedParams {
            priority: p,
            ..SchedParams::default()
        })
    };
    assert_eq!(at(16), 1024);
    assert_eq!(at(17), 1277);
    assert_eq!(at(0), NICE_TO_WEIGHT[36]);
    assert!(at(31) > at(30));
    // Shares follow the table: nice -5 gets 3121/1024 of nice 0's CPU.
    let mut f = Fair::new(SLICE, LAG_BOUND, FairWeights::Priority);
    let params = [16u8, 21].map(|priority| SchedParams {
        priority,
        ..SchedParams::default()
    });
    let cpu = run_cpu_bound(&mut f, &params, 6000);
    let ratio = cpu[1] as f64 / cpu[0] as f64;
    let want = 3121.0 / 1024.0;
    assert!(
        (ratio / want - 1.0).abs() < 0.02,
        "ratio {ratio}, want {want}"
    );
}

#[test]
fn a_sleeper_comes_back_with_the_lag_it_left_with() {
    let mut f = fair();
    let p = weighted(100);
    for i in 0..3 {
        f.enqueue(StrandId(i), &p, 0);
    }
    // Strands 0 and 1 use whole slices; strand 2 runs briefly and blocks,
    // having had less than its share.
    for i in 0..3 {
        let pick = f.pick_next(0).expect("runnable");
        assert_eq!(pick.strand, StrandId(i), "equal deadlines go by slot");
        if i < 2 {
            f.charge(pick.strand, &p, SLICE, 0);
            f.enqueue(pick.strand, &p, 0);
        } else {
            f.charge(pick.strand, &p, 100_000, 0);
        }
    }
    // (No enqueue: strand 2 blocked.) It left owed (750 + 750 + 100)/3 - 100 µs.
    assert!(!f.remove(StrandId(2)), "charged, not queued");
    let left_with = f.lag_of(StrandId(2)).expect("known");
    assert_eq!(left_with, (2 * SLICE as i64 + 100_000) / 3 - 100_000);
    // The others run on; a sleeper's lag is frozen.
    for _ in 0..4 {
        let pick = f.pick_next(0).expect("runnable");
        f.charge(pick.strand, &p, pick.quantum, 0);
        f.enqueue(pick.strand, &p, 0);
    }
    assert_eq!(f.lag_of(StrandId(2)), Some(left_with));
    f.enqueue(StrandId(2), &p, 0);
    let back_with = f.lag_of(StrandId(2)).expect("known");
    assert!(
        (back_with - left_with).abs() <= 2,
        "{left_with} vs {back_with}"
    );
    assert!(f.is_eligible(StrandId(2)));
    assert_eq!(f.pick_next(0).map(|p| p.strand), Some(StrandId(2)));
}

#[test]
fn overdrawn_lag_survives_a_block_and_is_bounded() {
    let mut f = fair();
    let p = weighted(100);
    for i in 0..2 {
        f.enqueue(StrandId(i), &p, 0);
    }
    // Strand 0 runs 10 ms in one go (say, non-preemptible), then blocks.
    let pick = f.pick_next(0).expect("runnable");
    f.charge(pick.strand, &p, 10_000_000, 0);
    f.pick_next(0).expect("strand 1");
    let lag = f.lag_of(StrandId(0)).expect("known");
    assert_eq!(lag, -(LAG_BOUND as i64), "clamped to the bound");
    // Waking up does not forgive it: it comes back behind and waits.
    f.charge(StrandId(1), &p, 1_000_000, 0);
    f.enqueue(StrandId(1), &p, 0);
    f.enqueue(StrandId(0), &p, 0);
    assert!(!f.is_eligible(StrandId(0)));
    assert!((f.lag_of(StrandId(0)).expect("known") + LAG_BOUND as i64).abs() <= 2);
    assert_eq!(f.pick_next(0).map(|p| p.strand), Some(StrandId(1)));
}

#[test]
fn a_waking_strand_owed_cpu_preempts() {
    let mut f = fair();
    let p = weighted(100);
    for i in 0..2 {
        f.enqueue(StrandId(i), &p, 0);
    }
    // Strand 0 uses a slice; strand 1, owed half of it, blocks before its turn.
    let pick = f.pick_next(0).expect("strand 0");
    f.charge(pick.strand, &p, SLICE, 0);
    f.enqueue(pick.strand, &p, 0);
    assert!(f.remove(StrandId(1)));
    assert_eq!(f.lag_of(StrandId(1)), Some(SLICE as i64 / 2));
    for _ in 0..3 {
        let pick = f.pick_next(0).expect("strand 0");
        f.charge(pick.strand, &p, pick.quantum, 0);
        f.enqueue(pick.strand, &p, 0);
    }
    let running = f.pick_next(0).expect("strand 0").strand;
    assert_eq!(running, StrandId(0));
    assert!(!f.should_preempt(running, &p, 0), "nothing else is queued");
    // Back with its lag, its deadline comes before the running strand's.
    f.enqueue(StrandId(1), &p, 0);
    assert!(f.should_preempt(running, &p, 0));
}

/// What the model knows of a strand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum M {
    Off,
    Queued,
    Running(usize),
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// On two CPUs, under random wake/block/run/stop sequences: V is the
    /// weighted average of the queued and running strands; every pick is
    /// eligible (or, if no queued strand is, has the least vruntime); no
    /// eligible queued strand has an earlier deadline; len is exact.
    #[test]
    fn picks_are_eligible_with_the_earliest_deadline(
        weights in prop::collection::vec(1u32..1000, 2..12),
        ops in prop::collection::vec((0u8..5, 0usize..12, 0u64..2_000_000), 1..400),
    ) {
        let mut f = fair();
        let n = weights.len();
        let params: Vec<SchedParams> = weights.iter().map(|&w| weighted(w)).collect();
        let mut model = vec![M::Off; n];
        let mut cpus: [Option<usize>; 2] = [None, None];
        for (kind, i, ran) in ops {
            let i = i % n;
            let id = StrandId(i as u32);
            match kind {
                0 => if model[i] == M::Off {
                    f.enqueue(id, &params[i], 0);
                    model[i] = M::Queued;
                },
                1 => {
                    prop_assert_eq!(f.remove(id), model[i] == M::Queued);
                    if model[i] == M::Queued { model[i] = M::Off; }
                }
                2 => {
                    let Some(cpu) = cpus.iter().position(Option::is_none) else { continue };
                    let Some(pick) = f.pick_next(0) else {
                        prop_assert!(!model.contains(&M::Queued));
                        continue;
                    };
                    let s = pick.strand.0 as usize;
                    prop_assert_eq!(model[s], M::Queued);
                    model[s] = M::Running(cpu);
                    cpus[cpu] = Some(s);
                    // V against the model's competing set.
                    let members: Vec<usize> = (0..n).filter(|&j| model[j] != M::Off).collect();
                    let w = |j: usize| f.weight_of(&params[j]);
                    let v = |j: usize| f.vruntime_of(StrandId(j as u32)).unwrap();
                    let sum_w: u128 = members.iter().map(|&j| u128::from(w(j))).sum();
                    let sum_wv: u128 = members.iter().map(|&j| u128::from(w(j)) * u128::from(v(j))).sum();
                    prop_assert_eq!(u128::from(f.avg_vruntime()), sum_wv / sum_w);
                    let eligible = |j: usize| u128::from(v(j)) * sum_w <= sum_wv;
                    let queued: Vec<usize> = (0..n).filter(|&j| model[j] == M::Queued).collect();
                    if eligible(s) {
                        let d = f.deadline_of(pick.strand).unwrap();
                        for &j in &queued {
                            if eligible(j) {
                                prop_assert!(f.deadline_of(StrandId(j as u32)).unwrap() >= d);
                            }
                        }
                    } else {
                        prop_assert!(queued.iter().all(|&j| !eligible(j)));
                        prop_assert!(queued.iter().all(|&j| v(j) >= v(s)));
                    }
                }
                _ => {
                    let cpu = usize::from(kind == 4);
                    let Some(s) = cpus[cpu].take() else { continue };
                    let sid = StrandId(s as u32);
                    f.charge(sid, &params[s], ran, 0);
                    if ran % 3 == 0 {
                        model[s] = M::Off; // blocked
                    } else {
                        f.enqueue(sid, &params[s], 0);
                        model[s] = M::Queued;
                    }
                }
            }
            prop_assert_eq!(f.len(), model.iter().filter(|m| **m == M::Queued).count());
            f.tree.check();
        }
    }

    /// Always-runnable strands on one CPU: each one's CPU time stays within a
    /// few requests of its weighted share at every step, and none waits
    /// longer than its request takes to come round (r · Σw / w) plus slack.
    #[test]
    fn shares_converge_and_nobody_starves(weights in prop::collection::vec(1u32..2000, 2..9), picks in 100usize..3000) {
        let mut f = fair();
        let params: Vec<SchedParams> = weights.iter().map(|&w| weighted(w)).collect();
        for (i, p) in params.iter().enumerate() {
            f.enqueue(StrandId(i as u32), p, 0);
        }
        let w: Vec<f64> = params.iter().map(|p| f.weight_of(p) as f64).collect();
        let total_w: f64 = w.iter().sum();
        let mut cpu = vec![0u64; weights.len()];
        let mut last_ran = vec![0u64; weights.len()];
        let mut now = 0u64;
        for _ in 0..picks {
            let pick = f.pick_next(now).expect("runnable");
            let i = pick.strand.0 as usize;
            let waited = now - last_ran[i];
            let bound = 2.0 * SLICE as f64 * total_w / w[i] + 2.0 * SLICE as f64;
            prop_assert!((waited as f64) <= bound, "strand {} waited {} ns, bound {}", i, waited, bound);
            now += pick.quantum;
            cpu[i] += pick.quantum;
            last_ran[i] = now;
            f.charge(pick.strand, &params[i], pick.quantum, now);
            f.enqueue(pick.strand, &params[i], now);
            for j in 0..w.len() {
                let ideal = now as f64 * w[j] / total_w;
                prop_assert!((cpu[j] as f64 - ideal).abs() <= 3.0 * SLICE as f64,
                    "strand {} has {} ns, ideal {:.0} at {}", j, cpu[j], ideal, now);
            }
        }
    }
}

#[test]
fn drain_and_forget_leave_a_clean_state() {
    let mut f = fair();
    let mut model = BTreeMap::new();
    for i in 0..50u32 {
        f.enqueue(StrandId(i), &weighted(10 + i * 7), 0);
        model.insert(i, ());
    }
    let picked = f.pick_next(0).expect("runnable").strand;
    f.charge(picked, &weighted(10 + picked.0 * 7), 123_456, 0);
    f.forget(StrandId(7));
    f.forget(StrandId(8));
    let drained = f.drain();
    assert_eq!(
        drained.len(),
        50 - 1 - 2 + usize::from(picked == StrandId(7) || picked == StrandId(8))
    );
    assert!(f.is_empty());
    assert_eq!(
        (f.sum_w, f.sum_wv),
        (0, 0),
        "everyone left the competing set"
    );
}
