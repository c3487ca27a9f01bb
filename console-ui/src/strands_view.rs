//! The strands pane's view model: sort column and order, filter, tree mode
//! with collapsed mounds, and the selection, kept by identity so it stays on
//! the same strand as rows move between records (as htop keeps a pid).

use std::cmp::Ordering;
use std::collections::BTreeSet;

use spin_kernel::telemetry::MoundTelemetry;
use spin_kernel::{MoundId, StrandId, StrandState};
use spin_scheduler::telemetry::StrandRow;
use spin_vmm::control::Telemetry;

use crate::history::History;

/// A column of the strands table (also what it can be sorted by), in the
/// order the table shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// Strand id.
    #[default]
    Id,
    /// Name.
    Name,
    /// Owning mound.
    Mound,
    /// State.
    State,
    /// Priority.
    Priority,
    /// Proportional-share weight.
    Weight,
    /// CPU use between the last two records, percent of one vCPU.
    CpuPct,
    /// CPU time so far.
    CpuTime,
    /// Time spent runnable but not running.
    Wait,
    /// Wake-up latency, 99th percentile.
    WakeP99,
    /// Deadline misses.
    Misses,
}

impl SortKey {
    /// Every column, left to right.
    pub const ALL: [SortKey; 11] = [
        SortKey::Id,
        SortKey::Name,
        SortKey::Mound,
        SortKey::State,
        SortKey::Priority,
        SortKey::Weight,
        SortKey::CpuPct,
        SortKey::CpuTime,
        SortKey::Wait,
        SortKey::WakeP99,
        SortKey::Misses,
    ];

    fn index(self) -> usize {
        Self::ALL.iter().position(|&k| k == self).unwrap_or(0)
    }

    /// The column to the right, wrapping.
    pub fn next(self) -> SortKey {
        Self::ALL[(self.index() + 1) % Self::ALL.len()]
    }

    /// The column to the left, wrapping.
    pub fn prev(self) -> SortKey {
        Self::ALL[(self.index() + Self::ALL.len() - 1) % Self::ALL.len()]
    }

    /// The column header.
    pub fn header(self) -> &'static str {
        match self {
            SortKey::Id => "ID",
            SortKey::Name => "NAME",
            SortKey::Mound => "MOUND",
            SortKey::State => "STATE",
            SortKey::Priority => "PRI",
            SortKey::Weight => "WGT",
            SortKey::CpuPct => "CPU%",
            SortKey::CpuTime => "CPU",
            SortKey::Wait => "WAIT",
            SortKey::WakeP99 => "WAKE99",
            SortKey::Misses => "MISS",
        }
    }

    /// Whether the column sorts biggest first when chosen (numbers that
    /// mean load: the heavy hitters belong on top, as in htop).
    pub fn descending_by_default(self) -> bool {
        !matches!(
            self,
            SortKey::Id | SortKey::Name | SortKey::Mound | SortKey::State
        )
    }
}

/// A row of the strands pane, by identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RowKey {
    /// A mound's header row (tree mode).
    Mound(MoundId),
    /// A strand.
    Strand(StrandId),
}

/// A row as drawn.
#[derive(Debug, Clone, Copy)]
pub enum Row<'a> {
    /// A mound's header row (tree mode).
    Mound {
        /// The mound.
        id: MoundId,
        /// Its telemetry, if the host reported it (the kernel has none).
        mound: Option<&'a MoundTelemetry>,
        /// Strands under it that pass the filter.
        strands: usize,
        /// Whether its strands are hidden.
        collapsed: bool,
    },
    /// A strand.
    Strand {
        /// Its row.
        row: &'a StrandRow,
        /// In tree mode: whether it is the last strand of its mound.
        last: Option<bool>,
    },
}

impl Row<'_> {
    /// The row's identity.
    pub fn key(&self) -> RowKey {
        match self {
            Row::Mound { id, .. } => RowKey::Mound(*id),
            Row::Strand { row, .. } => RowKey::Strand(row.id),
        }
    }

    /// The mound the row belongs to.
    pub fn mound(&self) -> MoundId {
        match self {
            Row::Mound { id, .. } => *id,
            Row::Strand { row, .. } => row.mound,
        }
    }
}

/// The state's label in the table.
pub fn state_label(s: StrandState) -> &'static str {
    match s {
        StrandState::Runnable => "ready",
        StrandState::Running => "running",
        StrandState::Blocked => "blocked",
        StrandState::Exited => "exited",
    }
}

/// The strands pane's view state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StrandsView {
    /// The sort column.
    pub sort: SortKey,
    /// Biggest (or last) first.
    pub descending: bool,
    /// Case-insensitive text a strand's id, name, mound or state must contain.
    pub filter: String,
    /// Whether keys are being typed into the filter.
    pub editing: bool,
    /// Tree mode: strands under their mounds.
    pub tree: bool,
    /// Mounds whose strands are hidden in tree mode.
    pub collapsed: BTreeSet<MoundId>,
    /// The selected row.
    pub selected: Option<RowKey>,
    /// Where the selected row was when it was chosen.
    pub last_index: usize,
}

/// The name of mound `m` in `t` (`kernel` for mound 0, `m<id>` if unknown).
pub fn mound_name(t: &Telemetry, m: MoundId) -> String {
    if m == MoundId::KERNEL {
        return "kernel".into();
    }
    t.mounds
        .iter()
        .find(|x| x.id == m)
        .map_or_else(|| m.to_string(), |x| x.name.clone())
}

impl StrandsView {
    /// Sorts by `key` in its natural order; choosing the current column
    /// again reverses the order (as a header click does).
    pub fn sort_by(&mut self, key: SortKey) {
        if self.sort == key {
            self.descending = !self.descending;
        } else {
            self.sort = key;
            self.descending = key.descending_by_default();
        }
    }

    fn compare(&self, a: &StrandRow, b: &StrandRow, t: &Telemetry, h: &History) -> Ordering {
        let pct = |r: &StrandRow| h.cpu_pct(r.id).unwrap_or(0.0);
        let primary = match self.sort {
            SortKey::Id => a.id.cmp(&b.id),
            SortKey::Name => a.name.cmp(&b.name),
            SortKey::Mound => mound_name(t, a.mound)
                .cmp(&mound_name(t, b.mound))
                .then(a.mound.cmp(&b.mound)),
            SortKey::State => state_label(a.state).cmp(state_label(b.state)),
            SortKey::Priority => a.params.priority.cmp(&b.params.priority),
            SortKey::Weight => a.params.weight.cmp(&b.params.weight),
            SortKey::CpuPct => pct(a).total_cmp(&pct(b)),
            SortKey::CpuTime => a.account.cpu_ns.cmp(&b.account.cpu_ns),
            SortKey::Wait => a.account.wait_ns.cmp(&b.account.wait_ns),
            SortKey::WakeP99 => a
                .account
                .wake_latency
                .p99_ns
                .cmp(&b.account.wake_latency.p99_ns),
            SortKey::Misses => a.account.deadline_misses.cmp(&b.account.deadline_misses),
        };
        let primary = if self.descending {
            primary.reverse()
        } else {
            primary
        };
        // Ties go by id so the order is stable from record to record.
        primary.then(a.id.cmp(&b.id))
    }

    fn matches(&self, r: &StrandRow, t: &Telemetry) -> bool {
        if self.filter.is_empty() {
            return true;
        }
        let needle = self.filter.to_lowercase();
        [
            r.id.0.to_string(),
            r.name.to_lowercase(),
            mound_name(t, r.mound).to_lowercase(),
            state_label(r.state).to_string(),
        ]
        .iter()
        .any(|hay| hay.contains(&needle))
    }

    /// The rows to draw, in order.
    pub fn rows<'a>(&self, t: &'a Telemetry, h: &History) -> Vec<Row<'a>> {
        let mut strands: Vec<&StrandRow> = t
            .sched
            .strands
            .iter()
            .filter(|r| self.matches(r, t))
            .collect();
        strands.sort_by(|a, b| self.compare(a, b, t, h));
        if !self.tree {
            return strands
                .into_iter()
                .map(|row| Row::Strand { row, last: None })
                .collect();
        }
        let mut mounds: Vec<MoundId> = strands.iter().map(|r| r.mound).collect();
        mounds.sort_unstable();
        mounds.dedup();
        let mut rows = Vec::new();
        for id in mounds {
            let mine: Vec<&StrandRow> = strands.iter().copied().filter(|r| r.mound == id).collect();
            let collapsed = self.collapsed.contains(&id);
            rows.push(Row::Mound {
                id,
                mound: t.mounds.iter().find(|m| m.id == id),
                strands: mine.len(),
                collapsed,
            });
            if !collapsed {
                let n = mine.len();
                rows.extend(mine.into_iter().enumerate().map(|(i, row)| Row::Strand {
                    row,
                    last: Some(i + 1 == n),
                }));
            }
        }
        rows
    }

    /// Where the selection is among `rows` (if the selected row is gone,
    /// the row now at its height; None if there are no rows).
    pub fn selected_index(&self, rows: &[Row]) -> Option<usize> {
        if rows.is_empty() {
            return None;
        }
        let found = self
            .selected
            .and_then(|k| rows.iter().position(|r| r.key() == k));
        // A strand that went away: stay at the same height, as htop does.
        Some(found.unwrap_or(self.last_index.min(rows.len() - 1)))
    }

    /// Moves the selection by `delta` rows (clamped).
    pub fn move_selection(&mut self, rows: &[Row], delta: isize) {
        let Some(i) = self.selected_index(rows) else {
            return;
        };
        self.select_index(rows, i.saturating_add_signed(delta));
    }

    /// Selects row `i` (clamped).
    pub fn select_index(&mut self, rows: &[Row], i: usize) {
        let i = i.min(rows.len().saturating_sub(1));
        if let Some(r) = rows.get(i) {
            self.selected = Some(r.key());
            self.last_index = i;
        }
    }

    /// Collapses (`Some(true)`), expands (`Some(false)`) or toggles (`None`)
    /// the mound of the selected row, and selects the mound's row.
    pub fn collapse(&mut self, rows: &[Row], how: Option<bool>) {
        let Some(m) = self.selected_index(rows).map(|i| rows[i].mound()) else {
            return;
        };
        let collapse = how.unwrap_or(!self.collapsed.contains(&m));
        if collapse {
            self.collapsed.insert(m);
        } else {
            self.collapsed.remove(&m);
        }
        self.selected = Some(RowKey::Mound(m));
        if let Some(i) = rows.iter().position(|r| r.key() == RowKey::Mound(m)) {
            self.last_index = i;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    fn ids(rows: &[Row]) -> Vec<RowKey> {
        rows.iter().map(Row::key).collect()
    }

    fn strand_ids(v: &StrandsView, t: &Telemetry, h: &History) -> Vec<u32> {
        v.rows(t, h)
            .iter()
            .filter_map(|r| match r {
                Row::Strand { row, .. } => Some(row.id.0),
                Row::Mound { .. } => None,
            })
            .collect()
    }

    #[test]
    fn sorts_each_column_and_reverses() {
        let t = fixture::record(4);
        let h = History::new();
        let mut v = StrandsView::default();
        assert_eq!(strand_ids(&v, &t, &h), [1, 2, 3, 4, 5, 6, 7, 8]);
        v.sort_by(SortKey::CpuTime);
        assert!(v.descending);
        assert_eq!(strand_ids(&v, &t, &h)[..3], [2, 3, 5]);
        v.sort_by(SortKey::CpuTime);
        assert_eq!(strand_ids(&v, &t, &h)[..2], [8, 1]);
        v.sort_by(SortKey::Id);
        v.sort_by(SortKey::Id);
        assert_eq!(strand_ids(&v, &t, &h)[..2], [8, 7], "id reversed");
        v.sort_by(SortKey::Name);
        assert!(!v.descending);
        assert_eq!(strand_ids(&v, &t, &h)[..4], [1, 2, 3, 4]);
        v.sort_by(SortKey::WakeP99);
        assert_eq!(strand_ids(&v, &t, &h)[0], 3);
        v.sort_by(SortKey::Misses);
        assert_eq!(strand_ids(&v, &t, &h)[0], 3);
        v.sort_by(SortKey::Priority);
        assert_eq!(strand_ids(&v, &t, &h)[..2], [4, 5]);
        for k in SortKey::ALL {
            v.sort_by(k);
            assert_eq!(strand_ids(&v, &t, &h).len(), 8, "{k:?}");
        }
    }

    #[test]
    fn filter_matches_name_mound_state_and_id() {
        let t = fixture::record(4);
        let h = History::new();
        let mut v = StrandsView {
            filter: "BENCH".into(),
            ..StrandsView::default()
        };
        assert_eq!(strand_ids(&v, &t, &h), [1, 2, 3]);
        v.filter = "ready".into();
        assert_eq!(strand_ids(&v, &t, &h), [3, 6]);
        v.filter = "pid 9".into();
        assert_eq!(strand_ids(&v, &t, &h), [7]);
        v.filter = "zzz".into();
        assert!(v.rows(&t, &h).is_empty());
        assert_eq!(v.selected_index(&v.rows(&t, &h)), None);
    }

    #[test]
    fn tree_groups_by_mound_and_collapses() {
        let t = fixture::record(4);
        let h = History::new();
        let mut v = StrandsView {
            tree: true,
            ..StrandsView::default()
        };
        let rows = v.rows(&t, &h);
        assert_eq!(rows.len(), 10);
        assert_eq!(rows[0].key(), RowKey::Mound(MoundId(1)));
        assert_eq!(rows[4].key(), RowKey::Mound(MoundId(2)));
        assert!(matches!(
            rows[3],
            Row::Strand {
                last: Some(true),
                ..
            }
        ));
        // Select a strand of mound 1 and collapse: the mound row is selected.
        v.selected = Some(RowKey::Strand(StrandId(2)));
        v.collapse(&rows, None);
        assert_eq!(v.selected, Some(RowKey::Mound(MoundId(1))));
        let rows = v.rows(&t, &h);
        assert_eq!(
            ids(&rows)[..2],
            [RowKey::Mound(MoundId(1)), RowKey::Mound(MoundId(2))]
        );
        v.collapse(&rows, Some(false));
        assert_eq!(v.rows(&t, &h).len(), 10);
    }

    #[test]
    fn selection_follows_identity_and_clamps() {
        let t = fixture::record(4);
        let h = History::new();
        let mut v = StrandsView::default();
        let rows = v.rows(&t, &h);
        assert_eq!(v.selected_index(&rows), Some(0));
        v.move_selection(&rows, 2);
        assert_eq!(v.selected, Some(RowKey::Strand(StrandId(3))));
        v.sort_by(SortKey::CpuTime);
        let rows = v.rows(&t, &h);
        assert_eq!(v.selected_index(&rows), Some(1), "strand 3 moved to row 1");
        v.move_selection(&rows, 100);
        assert_eq!(v.selected_index(&rows), Some(7));
        v.move_selection(&rows, -100);
        assert_eq!(v.selected_index(&rows), Some(0));
    }

    #[test]
    fn sort_key_cycle_wraps() {
        assert_eq!(SortKey::Misses.next(), SortKey::Id);
        assert_eq!(SortKey::Id.prev(), SortKey::Misses);
        for k in SortKey::ALL {
            assert_eq!(k.next().prev(), k);
        }
    }
}
