//! The policies on textbook reference strings (known answers worked out by
//! hand), their invariants on random traces (never over budget, OPT never
//! beaten), run-time switching, hints, and the telemetry.

use std::collections::HashSet;

use proptest::prelude::*;
use spin_dbpager::workload::{HotScan, OrderMix, ZipfIndex};
use spin_dbpager::{
    simulate, spec_for, Outcome, PageKind, Pager, PagerError, PolicyKind, PolicySpec, Ref, Trace,
};

/// Silberschatz's reference string (Operating System Concepts, ch. 9).
const BOOK: [u64; 20] = [7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1];

fn reads(pages: &[u64]) -> Trace {
    Trace::new(pages.iter().map(|&p| Ref::read(p)).collect())
}

fn faults(t: &Trace, budget: usize, k: PolicyKind) -> u64 {
    simulate(t, budget, k).expect("budget > 0").total.faults
}

/// Which references of `t` miss.
fn misses(t: &Trace, budget: usize, k: PolicyKind) -> Vec<usize> {
    let mut p = Pager::new(budget, &spec_for(k, t)).unwrap();
    t.refs
        .iter()
        .enumerate()
        .filter(|(_, r)| p.reference_as(**r).is_miss())
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn textbook_string_lru_12_opt_9() {
    let t = reads(&BOOK);
    assert_eq!(faults(&t, 3, PolicyKind::Lru), 12);
    assert_eq!(faults(&t, 3, PolicyKind::Opt), 9);
}

#[test]
fn textbook_string_clock_faults_where_second_chance_does() {
    // Worked by hand: new pages enter with their bit set, the hand clears
    // bits as it passes and the replacing page takes the victim's slot.
    let t = reads(&BOOK);
    assert_eq!(
        misses(&t, 3, PolicyKind::Clock),
        vec![0, 1, 2, 3, 5, 7, 8, 10, 11, 13, 14, 15, 17, 19]
    );
}

#[test]
fn a_loop_one_page_too_big_defeats_lru_and_suits_mru() {
    // 1 2 3 4 repeated, 3 frames: LRU always misses; MRU (and OPT) miss
    // only at references 0-3, 6 (3 evicts 2) and 9 (2 evicts 1).
    let t = reads(&[1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]);
    assert_eq!(faults(&t, 3, PolicyKind::Lru), 12);
    assert_eq!(misses(&t, 3, PolicyKind::Mru), vec![0, 1, 2, 3, 6, 9]);
    assert_eq!(faults(&t, 3, PolicyKind::Opt), 6);
}

#[test]
fn two_q_keeps_its_reused_pages_through_a_one_time_scan() {
    // Pages 0-3 are referenced twice (so they reach Am through the ghost
    // list), then a scan of 100 new pages passes; 0-3 are still there.
    let budget = 16;
    let mut p = Pager::new(budget, &PolicySpec::TwoQ).unwrap();
    for pg in 0..4 {
        p.reference(pg, false);
    }
    // Push them out of A1in (into the ghost list A1out)...
    for pg in 1000..1000 + budget as u64 {
        p.reference(pg, false);
    }
    assert!(!p.is_resident(0));
    // ...so that their second reference promotes them to Am.
    for pg in 0..4 {
        p.reference(pg, false);
    }
    for pg in 2000..2100 {
        p.reference(pg, false);
    }
    for pg in 0..4 {
        assert!(p.is_resident(pg), "page {pg} was pushed out by the scan");
    }
    let mut lru = Pager::new(budget, &PolicySpec::Lru).unwrap();
    for pg in (0..4).chain(2000..2100) {
        lru.reference(pg, false);
    }
    assert!(!lru.is_resident(0), "LRU loses it (the contrast)");
}

#[test]
fn clock_asks_for_protection_of_pages_whose_bit_it_cleared() {
    let mut p = Pager::new(3, &PolicySpec::Clock).unwrap();
    assert!(!p.needs_every_reference());
    for pg in [1, 2, 3] {
        p.reference(pg, false);
    }
    assert!(p.take_protect().is_empty(), "no sweep yet");
    // Page 4 needs a frame: the hand clears 1, 2 and 3, then evicts 1.
    let o = p.reference(4, false);
    assert_eq!(
        o,
        Outcome::Miss {
            evicted: Some(spin_dbpager::Eviction {
                page: 1,
                dirty: false,
                kind: PageKind::Normal
            })
        }
    );
    // 1 is gone, so 2 and 3 are to be protected. A reference-bit fault on
    // 2 is a hit and sets its bit: the next sweep spares 2 and takes 3.
    assert_eq!(p.take_protect(), vec![2, 3]);
    assert_eq!(p.reference(2, false), Outcome::Hit);
    let o = p.reference(5, false);
    assert!(matches!(o, Outcome::Miss { evicted: Some(e) } if e.page == 3));
    assert!(p.is_resident(2));
    assert_eq!(p.take_protect(), vec![2], "the hand cleared 2 again");
}

#[test]
fn hinted_scan_cannot_evict_the_hot_set() {
    let w = HotScan {
        hot: 32,
        table: 400,
        scans: 3,
        lookups: 500,
        interleave: 0,
        seed: 5,
    };
    let t = w.trace();
    let mut p = Pager::new(128, &PolicySpec::Hinted { ring: 8 }).unwrap();
    let mut lru = Pager::new(128, &PolicySpec::Lru).unwrap();
    for r in &t.refs {
        p.reference_as(*r);
        lru.reference_as(*r);
    }
    // After the last scan every hot page is still resident under hinted,
    // none under LRU.
    let hot_resident = |p: &Pager| (0..32).filter(|&pg| p.is_resident(pg)).count();
    assert_eq!(hot_resident(&p), 32);
    assert_eq!(hot_resident(&lru), 0);
    let s = p.stats();
    assert_eq!(s.by_kind.hot, 32);
    assert_eq!(s.by_kind.scan, 128 - 32);
}

#[test]
fn hinted_meets_the_targets_on_workload_a() {
    // The targets: hinted within 1.1x OPT's faults and at most
    // half LRU's, on hot set + repeated full scans.
    // The table is 1.25x the frame budget: a scan evicts the whole hot set
    // under LRU, while a loop-aware policy keeps most of the table too.
    // (With a table many times the budget every policy misses nearly the
    // whole scan and the ratio to LRU tends to 1: see the benchmark.)
    let t = HotScan {
        hot: 64,
        table: 320,
        scans: 10,
        lookups: 1000,
        interleave: 4,
        seed: 9,
    }
    .trace();
    let opt = faults(&t, 256, PolicyKind::Opt);
    let hinted = faults(&t, 256, PolicyKind::Hinted);
    let lru = faults(&t, 256, PolicyKind::Lru);
    assert!(
        hinted as f64 <= 1.1 * opt as f64,
        "hinted {hinted} vs OPT {opt}"
    );
    assert!(hinted * 2 <= lru, "hinted {hinted} vs LRU {lru}");
}

#[test]
fn hot_hit_ratio_is_unchanged_by_a_full_scan_under_hinted() {
    // Hot lookups after warm-up all hit, scan or no scan.
    let mut p = Pager::new(64, &PolicySpec::Hinted { ring: 4 }).unwrap();
    p.hint(0..16, PageKind::Hot);
    for pg in 0..16 {
        p.reference(pg, false);
    }
    p.set_mode(Some(PageKind::Scan));
    for pg in 100..1000 {
        p.reference(pg, false);
        // Hot pages referenced during the scan keep their hint.
        assert_eq!(p.reference(pg % 16, false), Outcome::Hit);
    }
    p.set_mode(None);
    for pg in 0..16 {
        assert_eq!(p.reference(pg, false), Outcome::Hit);
    }
    assert_eq!(p.kind_of(3), PageKind::Hot);
    assert_eq!(p.kind_of(500), PageKind::Normal);
}

#[test]
fn hints_by_range_and_mode() {
    let mut p = Pager::new(4, &PolicySpec::Lru).unwrap();
    p.hint(10..20, PageKind::Index);
    p.hint(0..5, PageKind::Hot);
    assert_eq!(p.kind_of(12), PageKind::Index);
    assert_eq!(p.kind_of(2), PageKind::Hot);
    assert_eq!(p.kind_of(7), PageKind::Normal);
    p.set_mode(Some(PageKind::Scan));
    assert_eq!(p.kind_of(12), PageKind::Scan, "the mode overrides");
    assert_eq!(p.kind_of(2), PageKind::Hot, "except for the hot set");
    p.set_mode(None);
    p.hint(0..100, PageKind::Normal);
    assert_eq!(p.kind_of(12), PageKind::Normal, "a covering hint clears");
}

#[test]
fn hints_and_recordings_are_bounded() {
    let mut p = Pager::new(4, &PolicySpec::Lru).unwrap();
    for i in 0..spin_dbpager::MAX_HINTS as u64 {
        assert!(p.hint(i * 2..i * 2 + 1, PageKind::Index));
    }
    assert!(!p.hint(10_000..10_001, PageKind::Hot), "one too many");
    assert_eq!(p.kind_of(10_000), PageKind::Normal);
    // A hint covering others replaces them, so there is room again.
    assert!(p.hint(0..1_000, PageKind::Hot));
    assert!(p.hint(10_000..10_001, PageKind::Hot));
    p.start_recording();
    for pg in 0..10 {
        p.reference(pg, false);
    }
    assert!(!p.recording_truncated());
    assert_eq!(p.take_recording().map(|r| r.len()), Some(10));
}

#[test]
fn dirty_pages_are_written_back_once() {
    let mut p = Pager::new(2, &PolicySpec::Lru).unwrap();
    p.reference(1, true);
    p.reference(2, false);
    p.reference(2, true);
    assert_eq!(p.dirty_in(0..10), vec![1, 2]);
    p.cleaned(2);
    p.cleaned(2);
    assert_eq!(p.dirty_in(0..10), vec![1]);
    // 3 evicts 1 (LRU), which is dirty: the mound must write it back.
    let o = p.reference(3, false);
    assert!(matches!(o, Outcome::Miss { evicted: Some(e) } if e.page == 1 && e.dirty));
    let d = p.drop_page(2).unwrap();
    assert!(!d.dirty);
    let s = p.stats();
    assert_eq!(s.total.writebacks, 2, "page 2 by msync, page 1 on eviction");
    assert_eq!(s.total.evictions, 1);
    assert_eq!(s.resident, 1);
}

#[test]
fn reclaim_volunteers_the_policys_victim() {
    let mut p = Pager::new(8, &PolicySpec::Lru).unwrap();
    for pg in [5, 6, 7] {
        p.reference(pg, pg == 6);
    }
    p.reference(5, false);
    assert_eq!(p.volunteer().map(|e| e.page), Some(6));
    assert_eq!(p.volunteer().map(|e| e.page), Some(7));
    assert_eq!(p.volunteer().map(|e| e.page), Some(5));
    assert_eq!(p.volunteer(), None);
    assert_eq!(p.stats().volunteered, 3);
}

#[test]
fn a_zero_budget_is_refused() {
    assert_eq!(
        Pager::new(0, &PolicySpec::Lru).unwrap_err(),
        PagerError::ZeroBudget
    );
}

#[test]
fn policies_switch_at_run_time_keeping_resident_pages_and_counters() {
    let t = ZipfIndex {
        keys: 5000,
        keys_per_page: 20,
        fanout: 50,
        lookups: 3000,
        theta: 0.9,
        update_percent: 20,
        seed: 4,
    }
    .trace();
    let mut p = Pager::new(40, &PolicySpec::Clock).unwrap();
    let half = t.refs.len() / 2;
    for r in &t.refs[..half] {
        p.reference_as(*r);
    }
    let before: HashSet<u64> = (0..1000).filter(|&pg| p.is_resident(pg)).collect();
    p.set_policy(&PolicySpec::Opt {
        trace: t.pages(),
        from: half,
    });
    assert_eq!(p.policy(), PolicyKind::Opt);
    let after: HashSet<u64> = (0..1000).filter(|&pg| p.is_resident(pg)).collect();
    assert_eq!(before, after, "switching evicts nothing");
    for r in &t.refs[half..] {
        p.reference_as(*r);
        assert!(p.resident() <= 40);
    }
    let s = p.stats();
    assert_eq!(s.policy, "opt");
    let names: Vec<&str> = s.per_policy.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["clock", "opt"]);
    let sum: u64 = s.per_policy.iter().map(|(_, c)| c.hits + c.faults).sum();
    assert_eq!(sum, t.refs.len() as u64);
    assert_eq!(s.fallbacks, 0);
    // OPT on the second half does at least as well as clock did on the
    // whole run's first half scaled — weaker, but exact: it does no worse
    // than clock would have on the same second half from the same state.
    let mut c = Pager::new(40, &PolicySpec::Clock).unwrap();
    for r in &t.refs[..half] {
        c.reference_as(*r);
    }
    let mid = c.stats().total.faults;
    for r in &t.refs[half..] {
        c.reference_as(*r);
    }
    let clock_second = c.stats().total.faults - mid;
    assert!(s.per_policy[1].1.faults <= clock_second);
}

#[test]
fn telemetry_serializes() {
    let t = OrderMix {
        items: 100,
        stock: 100,
        transactions: 200,
        scan_every: 50,
        seed: 1,
    }
    .trace();
    let s = simulate(&t, 32, PolicyKind::Hinted).unwrap();
    let j = serde_json::to_string(&s).unwrap();
    assert!(j.contains("\"policy\":\"hinted\""));
    let back: spin_dbpager::PagerStats = serde_json::from_str(&j).unwrap();
    assert_eq!(back, s);
    assert_eq!(
        s.by_kind.hot + s.by_kind.scan + s.by_kind.index + s.by_kind.normal,
        s.resident
    );
}

#[test]
fn workloads_are_deterministic() {
    let w = ZipfIndex {
        keys: 1000,
        keys_per_page: 10,
        fanout: 20,
        lookups: 100,
        theta: 0.99,
        update_percent: 0,
        seed: 77,
    };
    assert_eq!(w.trace(), w.trace());
    let t = w.trace();
    assert!(t
        .refs
        .iter()
        .all(|r| (r.kind == PageKind::Index) == (r.page < w.index_pages())));
}

fn kind_strategy() -> impl Strategy<Value = PageKind> {
    prop_oneof![
        Just(PageKind::Scan),
        Just(PageKind::Normal),
        Just(PageKind::Index),
        Just(PageKind::Hot)
    ]
}

fn trace_strategy() -> impl Strategy<Value = Trace> {
    prop::collection::vec((0u64..40, any::<bool>(), kind_strategy()), 1..400).prop_map(|v| {
        Trace::new(
            v.into_iter()
                .map(|(page, write, kind)| Ref { page, write, kind })
                .collect(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn never_over_budget_and_counts_add_up(t in trace_strategy(), budget in 1usize..24) {
        for kind in PolicyKind::ALL {
            let mut p = Pager::new(budget, &spec_for(kind, &t)).unwrap();
            let mut resident = HashSet::new();
            for r in &t.refs {
                let o = p.reference_as(*r);
                match o {
                    Outcome::Hit => prop_assert!(resident.contains(&r.page)),
                    Outcome::Miss { evicted } => {
                        prop_assert!(!resident.contains(&r.page));
                        if let Some(e) = evicted {
                            prop_assert!(resident.remove(&e.page), "{kind}: evicted a page not resident");
                        } else {
                            prop_assert!(resident.len() < budget);
                        }
                        resident.insert(r.page);
                    }
                }
                prop_assert!(p.resident() <= budget, "{kind} over budget");
                prop_assert_eq!(p.resident(), resident.len());
            }
            let s = p.stats();
            prop_assert_eq!(s.total.hits + s.total.faults, t.refs.len() as u64);
            prop_assert_eq!(s.fallbacks, 0, "{} named a page it does not hold", kind);
        }
    }

    #[test]
    fn opt_is_never_beaten(t in trace_strategy(), budget in 1usize..24) {
        let opt = faults(&t, budget, PolicyKind::Opt);
        for kind in PolicyKind::ALL {
            prop_assert!(opt <= faults(&t, budget, kind), "{} beat OPT", kind);
        }
        // And with enough frames everyone only takes compulsory misses.
        let fp = t.footprint();
        for kind in PolicyKind::ALL {
            prop_assert_eq!(faults(&t, fp, kind), fp as u64);
        }
    }

    #[test]
    fn lru_has_the_stack_property(t in trace_strategy(), budget in 1usize..24) {
        // More frames never add LRU or OPT faults (no Belady anomaly).
        for kind in [PolicyKind::Lru, PolicyKind::Opt] {
            prop_assert!(faults(&t, budget + 1, kind) <= faults(&t, budget, kind));
        }
    }

    #[test]
    fn traces_round_trip(t in trace_strategy()) {
        prop_assert_eq!(Trace::decode(&t.encode()).unwrap(), t);
    }
}
