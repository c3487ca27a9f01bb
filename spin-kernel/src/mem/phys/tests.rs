use super::*;
use crate::event::{Guard, Handler, Principal};
use proptest::prelude::*;

const SHIFT: u32 = 13;

fn svc(frames: u64) -> PhysAddrService {
    PhysAddrService::with_frames(frames, SHIFT, 4, 0)
}

#[test]
fn quota_enforced_without_reclaim_handler() {
    let p = svc(16);
    let m = MoundId(1);
    p.set_quota(m, Some(2));
    p.allocate(m, FrameAttrs::default()).unwrap();
    p.allocate(m, FrameAttrs::default()).unwrap();
    assert_eq!(
        p.allocate(m, FrameAttrs::default()).unwrap_err(),
        PhysError::Quota { owner: m, quota: 2 }
    );
}

#[test]
fn contiguous_and_colored_runs() {
    let p = svc(32);
    let run = p
        .allocate(
            MoundId(1),
            FrameAttrs {
                contiguous: 4,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(run.len(), 4);
    for w in run.windows(2) {
        assert_eq!(w[1].0 - w[0].0, 1 << SHIFT);
    }
    let c = p
        .allocate(
            MoundId(1),
            FrameAttrs {
                color: Some(3),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!((c[0].0 >> SHIFT) % 4, 3);
}

#[test]
fn reclaim_handler_volunteers_a_different_frame() {
    let p = Arc::new(svc(16));
    let m = MoundId(7);
    p.set_quota(m, Some(3));
    let frames: Vec<PhysAddr> = (0..3)
        .map(|_| p.allocate(m, FrameAttrs::default()).unwrap()[0])
        .collect();
    let volunteer = frames[2];
    let key = p.owner_key();
    p.reclaim
        .install(
            &Principal::mound("unix-mm", m),
            Handler::new(move |_args: &ReclaimArgs| Some(volunteer)).guard(Guard::eq(key, 7)),
        )
        .unwrap();
    let got = p.allocate(m, FrameAttrs::default()).unwrap();
    assert_eq!(p.used_by(m), 3);
    assert_eq!(p.owners()[0].reclaimed, 1);
    // The volunteered frame was freed and (being the only free one of its color
    // or not) the owner still holds exactly its quota.
    assert!(p.owner_of(got[0]) == Some(m));
}

#[test]
fn pinned_frames_are_never_candidates() {
    let p = svc(2);
    let m = MoundId(1);
    p.allocate(
        m,
        FrameAttrs {
            pinned: true,
            ..Default::default()
        },
    )
    .unwrap();
    p.allocate(
        m,
        FrameAttrs {
            pinned: true,
            ..Default::default()
        },
    )
    .unwrap();
    p.reclaim
        .install(
            &Principal::kernel("greedy"),
            Handler::new(|a: &ReclaimArgs| Some(a.candidate)),
        )
        .unwrap();
    assert!(matches!(
        p.allocate(MoundId(2), FrameAttrs::default()),
        Err(PhysError::Exhausted { .. })
    ));
}

#[test]
fn a_frame_is_fresh_only_the_first_time_it_is_handed_out() {
    let p = PhysAddrService::with_frames(8, SHIFT, 2, 1);
    let m = MoundId(1);
    let first: Vec<(PhysAddr, bool)> = (0..7)
        .flat_map(|_| p.allocate_tracked(m, FrameAttrs::default()).unwrap())
        .collect();
    assert!(first.iter().all(|(_, fresh)| *fresh));
    p.deallocate(m, first[3].0).unwrap();
    let again = p.allocate_tracked(m, FrameAttrs::default()).unwrap();
    assert_eq!(again, vec![(first[3].0, false)], "reused: not fresh");
}

#[test]
fn only_owner_may_free() {
    let p = svc(4);
    let f = p.allocate(MoundId(1), FrameAttrs::default()).unwrap()[0];
    assert_eq!(p.deallocate(MoundId(2), f), Err(PhysError::NotOwner(f.0)));
    p.deallocate(MoundId(1), f).unwrap();
    assert_eq!(p.deallocate(MoundId(1), f), Err(PhysError::NotOwner(f.0)));
}

proptest! {
    /// Under random allocate/free/quota sequences: no frame is handed out twice,
    /// free + used == total, and no owner exceeds its quota.
    #[test]
    fn allocator_invariants(ops in proptest::collection::vec((0u8..4, 0u32..3, 0u32..4, any::<u8>()), 1..200)) {
        let total = 24;
        let p = svc(total);
        let mut held: Vec<(MoundId, PhysAddr)> = Vec::new();
        let mut quotas = [None::<u64>; 3];
        for (op, owner, n, x) in ops {
            let m = MoundId(owner);
            match op {
                0 | 1 => {
                    let attrs = FrameAttrs { contiguous: n.max(1), color: (x % 2 == 0).then_some(u32::from(x) % 4), pinned: false };
                    if let Ok(fs) = p.allocate(m, attrs) {
                        if let Some(q) = quotas[owner as usize] {
                            prop_assert!(p.used_by(m) <= q, "allocation beyond quota");
                        }
                        for f in fs {
                            prop_assert!(!held.iter().any(|(_, h)| *h == f), "frame handed out twice");
                            held.push((m, f));
                        }
                    }
                }
                2 if !held.is_empty() => {
                    let (o, f) = held.remove(usize::from(x) % held.len());
                    p.deallocate(o, f).unwrap();
                }
                _ => {
                    let q = (x % 3 != 0).then_some(u64::from(x % 8));
                    quotas[owner as usize] = q;
                    p.set_quota(m, q);
                }
            }
            prop_assert_eq!(p.free_frames() + held.len() as u64, total);
            for o in 0..3u32 {
                let used = held.iter().filter(|(m, _)| m.0 == o).count() as u64;
                prop_assert_eq!(p.used_by(MoundId(o)), used);
            }
        }
    }
}
