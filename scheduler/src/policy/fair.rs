//! `fair`: EEVDF, earliest eligible virtual deadline first (Stoica &
//! Abdel-Wahab 1995; Linux's fair class since 6.6).
//!
//! Each strand has a weight `w` (from `SchedParams::weight`, 100 = Linux's
//! nice 0 = 1024, or from the priority through Linux's nice table), a virtual
//! runtime `v` that running for `t` ns advances by `t · 1024 / w`, and a
//! virtual deadline `d = v_e + r · 1024 / w`, where `v_e` is its vruntime when
//! it asked for its current request of `r` ns (the slice).
//!
//! The *competing set* is every strand queued or running. Its weighted average
//! vruntime `V = Σ wᵢvᵢ / Σ wᵢ` is where a strand that had received exactly its
//! weighted share would be; a strand's *lag* is `V − v`. A strand is
//! *eligible* when its lag is not negative (`v ≤ V`), and the pick is the
//! eligible queued strand with the earliest virtual deadline: strands that
//! are owed CPU run in deadline order, strands that are ahead wait. (Some
//! strand always has `v ≤ V`; if that is a running one, on another CPU, the
//! pick is the queued strand with the least vruntime.) The pick runs for what
//! is left of its request; when it has used all of it, it asks for the next
//! `r` ns and its deadline moves `r · 1024 / w` on.
//!
//! A strand that blocks leaves with its lag, clamped to ±`lag_bound` ns of
//! CPU, and comes back at `v = V − lag` (scaled as Linux's `place_entity`
//! does so that its lag after joining is the one it left with): sleeping
//! neither earns credit beyond what it was owed nor forgives what it overdrew.
//! A weight change keeps the lag in ns of CPU.
//!
//! Queued strands sit in a [`DeadlineTree`] (a B+ tree) ordered by deadline
//! and augmented with the least vruntime under each child, so the pick is one
//! walk from the root. `V` is kept as two running sums, `Σwv` and `Σw`; for
//! integer vruntimes `v · Σw ≤ Σwv` exactly when `v ≤ ⌊Σwv / Σw⌋`, so a pick
//! divides once and then compares. Pick, enqueue, remove: O(log n).
//!
//! The trait has no "blocked" call: the runtime charges a stopping strand and
//! then either enqueues it again or, if it blocked, says nothing. So a charged
//! strand stays in the competing set until the next call; if that call is not
//! its enqueue, it leaves then, exactly as if it had left when charged (no
//! other call came in between).

mod tree;

use spin_kernel::{GlobalScheduler, Nanos, Pick, SchedParams, StrandId};

use super::FairWeights;
use crate::slots::Slots;
pub use tree::DeadlineTree;

/// Linux's `sched_prio_to_weight`: nice -20 ..= 19.
pub const NICE_TO_WEIGHT: [u64; 40] = [
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904,
    3906, 3121, 2501, 1991, 1586, 1277, 1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87,
    70, 56, 45, 36, 29, 23, 18, 15,
];

/// Weight of nice 0: one ns of CPU at this weight is one unit of vruntime.
const NICE_0: u64 = 1024;

/// Largest weight (2^24, 16 384 × nice 0); keeps `Σ w` in a u64 for up to
/// 2^40 strands and `Σ w·v` in a u128.
pub const MAX_WEIGHT: u64 = 1 << 24;

/// Where the virtual time starts, so a strand owed CPU at the very beginning
/// still has room below it (2^32 units is 4.3 s of CPU at nice 0).
const VIRTUAL_EPOCH: u64 = 1 << 32;

/// No pending strand.
const NONE: usize = usize::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not competing: new, blocked, or drained. `vlag` holds its lag.
    Off,
    /// In the tree.
    Queued,
    /// Picked, not yet charged.
    Running,
    /// Charged after running; enqueued next or leaves (module docs).
    Charged,
}

/// 32 bytes: a swap to `fair` touches 10 000 of these fresh.
#[derive(Debug, Clone, Copy)]
struct Entity {
    vruntime: u64,
    deadline: u64,
    /// Lag saved when it left (vruntime units, at `weight`).
    vlag: i64,
    /// 0 until the strand first joins; at most [`MAX_WEIGHT`].
    weight: u32,
    state: State,
}

const FRESH: Entity = Entity {
    vruntime: 0,
    deadline: 0,
    vlag: 0,
    weight: 0,
    state: State::Off,
};

impl Entity {
    fn weight(&self) -> u64 {
        u64::from(self.weight)
    }
}

/// EEVDF fair scheduling. See the module docs.
#[derive(Debug)]
pub struct Fair {
    slots: Slots,
    entities: Vec<Entity>,
    tree: DeadlineTree,
    /// `Σ w·v` over the competing set.
    sum_wv: u128,
    /// `Σ w` over the competing set.
    sum_w: u64,
    /// `V` when the competing set last emptied: where the next strand lands.
    idle_v: u64,
    /// The charged strand awaiting its enqueue, or [`NONE`].
    pending: usize,
    /// The request, ns of CPU.
    slice: Nanos,
    /// The most lag kept across a block, ns of CPU.
    lag_bound: Nanos,
    weights: FairWeights,
}

impl Fair {
    /// EEVDF with requests of `slice` ns and lags bounded by `lag_bound` ns.
    pub fn new(slice: Nanos, lag_bound: Nanos, weights: FairWeights) -> Fair {
        Fair {
            slots: Slots::new(),
            entities: Vec::new(),
            tree: DeadlineTree::new(),
            sum_wv: 0,
            sum_w: 0,
            idle_v: VIRTUAL_EPOCH,
            pending: NONE,
            slice: slice.max(1),
            lag_bound,
            weights,
        }
    }

    /// The load weight of a strand with `params` (nice 0 = 1024).
    pub fn weight_of(&self, params: &SchedParams) -> u64 {
        match self.weights {
            FairWeights::Weight => (u64::from(params.weight) * NICE_0 / 100).clamp(1, MAX_WEIGHT),
            FairWeights::Priority => {
                let nice = (16 - i32::from(params.priority.min(31))).clamp(-20, 19);
                NICE_TO_WEIGHT[(nice + 20) as usize]
            }
        }
    }

    /// The virtual runtime of `strand`, if known.
    pub fn vruntime_of(&self, strand: StrandId) -> Option<u64> {
        self.entity(strand).map(|e| e.vruntime)
    }

    /// The virtual deadline of `strand`, if known.
    pub fn deadline_of(&self, strand: StrandId) -> Option<u64> {
        self.entity(strand).map(|e| e.deadline)
    }

    /// The lag of `strand` in vruntime units: `V − v` while it competes, the
    /// lag it left with otherwise.
    pub fn lag_of(&self, strand: StrandId) -> Option<i64> {
        let e = self.entity(strand)?;
        Some(match e.state {
            State::Off => e.vlag,
            _ => clamp_i64(i128::from(self.avg_vruntime()) - i128::from(e.vruntime)),
        })
    }

    /// `V`, the weighted average vruntime of the competing set (rounded
    /// down), or where the next strand would land if it is empty.
    pub fn avg_vruntime(&self) -> u64 {
        match (u64::try_from(self.sum_wv), self.sum_w) {
            (_, 0) => self.idle_v,
            // The usual case (Σwv < 2^64): one 64-bit division.
            (Ok(sum_wv), sum_w) => sum_wv / sum_w,
            (Err(_), sum_w) => (self.sum_wv / u128::from(sum_w)) as u64,
        }
    }

    /// Whether `strand` competes with a vruntime at most `V`.
    pub fn is_eligible(&self, strand: StrandId) -> bool {
        self.entity(strand)
            .is_some_and(|e| e.state != State::Off && self.eligible(e.vruntime))
    }

    fn entity(&self, strand: StrandId) -> Option<&Entity> {
        self.slots.get(strand).map(|s| &self.entities[s])
    }

    /// `v ≤ V`, exactly: `v · Σw ≤ Σwv`.
    #[inline]
    fn eligible(&self, v: u64) -> bool {
        u128::from(v) * u128::from(self.sum_w) <= self.sum_wv
    }

    #[inline]
    fn slot(&mut self, strand: StrandId) -> usize {
        let (slot, new) = self.slots.get_or_insert(strand);
        if new {
            if slot == self.entities.len() {
                self.entities.push(FRESH);
            } else {
                self.entities[slot] = FRESH;
            }
        }
        slot
    }

    /// The vruntime bound on lag for weight `w`.
    fn vlag_limit(&self, w: u64) -> i64 {
        clamp_i64(i128::from(self.lag_bound) * i128::from(NICE_0) / i128::from(w))
    }

    /// A strand that was charged and not enqueued again has left (blocked).
    #[inline]
    fn settle(&mut self) {
        let slot = std::mem::replace(&mut self.pending, NONE);
        if slot != NONE && self.entities[slot].state == State::Charged {
            self.leave(slot);
        }
    }

    /// `slot` joins the competing set with weight `w`, at `V` minus its lag.
    fn join(&mut self, slot: usize, w: u64) {
        let e = self.entities[slot];
        // Joining moves V by w·lag/(W + w); scale so the lag it has once in is
        // the one it brought (Linux's place_entity).
        let lag = if e.vlag == 0 || self.sum_w == 0 {
            0
        } else {
            let mut vlag = i128::from(e.vlag);
            if e.weight != 0 && e.weight() != w {
                // Keep the lag in ns of CPU across the weight change.
                vlag = vlag * i128::from(e.weight) / i128::from(w);
            }
            let limit = i128::from(self.vlag_limit(w));
            let w_all = i128::from(self.sum_w);
            vlag.clamp(-limit, limit) * (w_all + i128::from(w)) / w_all
        };
        let v = (i128::from(self.avg_vruntime()) - lag).clamp(0, i128::from(u64::MAX)) as u64;
        self.entities[slot] = Entity {
            vruntime: v,
            deadline: v.saturating_add(self.vslice(w)),
            vlag: 0,
            weight: w as u32,
            state: State::Queued,
        };
        self.sum_wv += u128::from(w) * u128::from(v);
        self.sum_w += w;
    }

    /// `slot` leaves the competing set, keeping its (clamped) lag.
    fn leave(&mut self, slot: usize) {
        let avg = self.avg_vruntime();
        let e = self.entities[slot];
        let limit = self.vlag_limit(e.weight());
        let vlag = clamp_i64(i128::from(avg) - i128::from(e.vruntime)).clamp(-limit, limit);
        self.sum_wv -= u128::from(e.weight) * u128::from(e.vruntime);
        self.sum_w -= e.weight();
        if self.sum_w == 0 {
            self.idle_v = avg;
        }
        let e = &mut self.entities[slot];
        e.vlag = vlag;
        e.state = State::Off;
    }

    /// `r · 1024 / w`: the virtual length of one request at weight `w`.
    fn vslice(&self, w: u64) -> u64 {
        (self.slice.saturating_mul(NICE_0) / w).max(1)
    }

    /// Advances a competing entity's vruntime by `ran` ns of CPU, renewing
    /// its request once it has used it.
    fn advance(&mut self, slot: usize, ran: Nanos) {
        let w = self.entities[slot].weight();
        let e = self.entities[slot];
        let dv = (ran.saturating_mul(NICE_0) / w).min(u64::MAX - e.vruntime);
        let vruntime = e.vruntime + dv;
        let deadline = if vruntime >= e.deadline {
            vruntime.saturating_add(self.vslice(w))
        } else {
            e.deadline
        };
        let e = &mut self.entities[slot];
        e.vruntime = vruntime;
        e.deadline = deadline;
        self.sum_wv += u128::from(w) * u128::from(dv);
    }
}

fn clamp_i64(x: i128) -> i64 {
    x.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

impl GlobalScheduler for Fair {
    fn name(&self) -> &'static str {
        "fair"
    }

    fn enqueue(&mut self, strand: StrandId, params: &SchedParams, _now: Nanos) {
        let w = self.weight_of(params);
        let slot = self.slot(strand);
        if self.pending == slot {
            self.pending = NONE;
        } else {
            self.settle();
        }
        let e = self.entities[slot];
        match e.state {
            State::Queued if e.weight() == w => return,
            State::Queued => {
                self.tree.remove(slot);
                self.leave(slot);
                self.join(slot, w);
            }
            State::Running | State::Charged if e.weight() == w => {
                self.entities[slot].state = State::Queued;
            }
            State::Running | State::Charged => {
                self.leave(slot);
                self.join(slot, w);
            }
            State::Off => self.join(slot, w),
        }
        let e = &self.entities[slot];
        self.tree.insert(slot, e.deadline, e.vruntime);
    }

    fn remove(&mut self, strand: StrandId) -> bool {
        self.settle();
        let Some(slot) = self.slots.get(strand) else {
            return false;
        };
        if self.entities[slot].state != State::Queued {
            return false;
        }
        self.tree.remove(slot);
        self.leave(slot);
        true
    }

    fn pick_next(&mut self, _now: Nanos) -> Option<Pick> {
        self.settle();
        // v · Σw ≤ Σwv ⟺ v ≤ ⌊Σwv / Σw⌋ for integer v: one division here
        // instead of a wide multiplication per entry looked at.
        let vmax = self.avg_vruntime();
        let slot = match self.tree.take_earliest_eligible(|v| v <= vmax) {
            Some(slot) => slot,
            None => {
                let slot = self.tree.least_vruntime()?;
                self.tree.remove(slot);
                slot
            }
        };
        let e = &mut self.entities[slot];
        e.state = State::Running;
        // What is left of its request, in ns of CPU; at least a quarter
        // slice, so one preempted just short of its deadline is not
        // dispatched for a sliver.
        let left = e
            .deadline
            .saturating_sub(e.vruntime)
            .saturating_mul(e.weight())
            / NICE_0;
        Some(Pick {
            strand: self.slots.id(slot),
            quantum: left.clamp((self.slice / 4).max(1), self.slice),
        })
    }

    fn charge(&mut self, strand: StrandId, params: &SchedParams, ran: Nanos, _now: Nanos) {
        let slot = self.slot(strand);
        if self.pending != slot {
            self.settle();
        }
        match self.entities[slot].state {
            State::Running | State::Charged => {
                self.advance(slot, ran);
                self.entities[slot].state = State::Charged;
                self.pending = slot;
            }
            State::Queued => {
                // Charged while queued (unusual): move it to its new place.
                self.tree.remove(slot);
                self.advance(slot, ran);
                let e = &self.entities[slot];
                self.tree.insert(slot, e.deadline, e.vruntime);
            }
            State::Off => {
                // Ran without being picked here (it was running when this
                // policy was swapped in): it overdrew by what it ran.
                let mut w = self.entities[slot].weight();
                if w == 0 {
                    w = self.weight_of(params);
                    self.entities[slot].weight = w as u32;
                }
                let dv = clamp_i64(i128::from(ran) * i128::from(NICE_0) / i128::from(w));
                let limit = self.vlag_limit(w);
                let e = &mut self.entities[slot];
                e.vlag = e.vlag.saturating_sub(dv).clamp(-limit, limit);
            }
        }
    }

    fn should_preempt(&self, running: StrandId, _params: &SchedParams, _now: Nanos) -> bool {
        // Wake-up preemption: an eligible queued strand with an earlier
        // deadline than the running one's.
        let Some(r) = self.entity(running) else {
            return false;
        };
        if r.state != State::Running {
            return false;
        }
        let vmax = self.avg_vruntime();
        self.tree
            .earliest_eligible(|v| v <= vmax)
            .is_some_and(|best| self.entities[best].deadline < r.deadline)
    }

    fn forget(&mut self, strand: StrandId) {
        self.settle();
        let Some(slot) = self.slots.get(strand) else {
            return;
        };
        match self.entities[slot].state {
            State::Queued => {
                self.tree.remove(slot);
                self.leave(slot);
            }
            State::Running | State::Charged => self.leave(slot),
            State::Off => {}
        }
        self.slots.remove(strand);
    }

    fn drain(&mut self) -> Vec<StrandId> {
        self.settle();
        let order = self.tree.in_order();
        self.tree.clear();
        order
            .into_iter()
            .map(|slot| {
                self.leave(slot);
                self.slots.id(slot)
            })
            .collect()
    }

    fn len(&self) -> usize {
        self.tree.len()
    }
}

#[cfg(test)]
mod tests;
