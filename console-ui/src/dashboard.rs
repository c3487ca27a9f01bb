//! UI state and the top-level layout.

use ratatui::layout::{Constraint, Layout};
use ratatui::Frame;
use spin_kernel::telemetry::KernelSnapshot;
use spin_scheduler::SchedTelemetry;

use crate::panes;

/// One pair of snapshots the dashboard draws from.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The kernel's view: frames, events, strands.
    pub kernel: KernelSnapshot,
    /// The global scheduler's view: policy, swaps, accounting.
    pub sched: SchedTelemetry,
}

/// The pane that has focus (Tab cycles in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pane {
    /// Mounds overview.
    #[default]
    Mounds,
    /// Strands table.
    Strands,
    /// Page allocation (frames per owner, frame map).
    Pages,
    /// Events and their dispatch counts.
    Events,
}

impl Pane {
    /// All panes in Tab order.
    pub const ALL: [Pane; 4] = [Pane::Mounds, Pane::Strands, Pane::Pages, Pane::Events];

    /// The pane after this one, wrapping.
    pub fn next(self) -> Pane {
        let i = Self::ALL.iter().position(|&p| p == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }
}

/// The column the strands table is sorted by (`s` cycles in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortColumn {
    /// Strand id, ascending.
    #[default]
    Id,
    /// Name, ascending.
    Name,
    /// Mound, ascending.
    Mound,
    /// Priority, highest first.
    Priority,
    /// CPU time, most first.
    Cpu,
    /// Wake-up latency p99, worst first.
    WakeP99,
}

impl SortColumn {
    /// All columns in cycle order.
    pub const ALL: [SortColumn; 6] = [
        SortColumn::Id,
        SortColumn::Name,
        SortColumn::Mound,
        SortColumn::Priority,
        SortColumn::Cpu,
        SortColumn::WakeP99,
    ];

    /// The column after this one, wrapping.
    pub fn next(self) -> SortColumn {
        let i = Self::ALL.iter().position(|&c| c == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }

    /// Short label shown in the strands pane title.
    pub fn label(self) -> &'static str {
        match self {
            SortColumn::Id => "id",
            SortColumn::Name => "name",
            SortColumn::Mound => "mound",
            SortColumn::Priority => "prio",
            SortColumn::Cpu => "cpu",
            SortColumn::WakeP99 => "wake p99",
        }
    }
}

/// The dashboard's UI state. It holds snapshots, never live kernel objects.
#[derive(Debug, Clone, Default)]
pub struct Dashboard {
    pub(crate) selected: Pane,
    pub(crate) sort: SortColumn,
    pub(crate) live: Option<Snapshot>,
    /// A clone of `live` taken when freeze was switched on; drawn instead of it.
    pub(crate) frozen: Option<Snapshot>,
    /// Index into `POLICY_NAMES` while the policy popup is open.
    pub(crate) popup: Option<usize>,
}

impl Dashboard {
    /// An empty dashboard (draws placeholders until the first [`update`](Self::update)).
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a new pair of snapshots. While frozen, the frozen copy keeps
    /// being drawn; the new one is kept so unfreezing shows current data.
    pub fn update(&mut self, kernel: KernelSnapshot, sched: SchedTelemetry) {
        self.live = Some(Snapshot { kernel, sched });
    }

    /// The snapshot being drawn (the frozen one, if frozen).
    pub fn shown(&self) -> Option<&Snapshot> {
        self.frozen.as_ref().or(self.live.as_ref())
    }

    /// The pane with focus.
    pub fn selected(&self) -> Pane {
        self.selected
    }

    /// The strands table's sort column.
    pub fn sort(&self) -> SortColumn {
        self.sort
    }

    /// Whether the display is frozen.
    pub fn is_frozen(&self) -> bool {
        self.frozen.is_some()
    }

    /// The highlighted policy name, if the policy popup is open.
    pub fn popup_selection(&self) -> Option<&'static str> {
        self.popup
            .and_then(|i| spin_scheduler::POLICY_NAMES.get(i).copied())
    }

    /// Draws every pane into `frame`.
    pub fn draw(&self, frame: &mut Frame) {
        let [body, footer] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(frame.area());
        let [top, middle, bottom] = Layout::vertical([
            Constraint::Percentage(35),
            Constraint::Percentage(40),
            Constraint::Percentage(25),
        ])
        .areas(body);
        let [mounds, pages] =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(top);
        let snap = self.shown();
        let focus = |p: Pane| self.selected == p;
        panes::mounds::draw(frame, mounds, snap, focus(Pane::Mounds));
        panes::pages::draw(frame, pages, snap, focus(Pane::Pages));
        panes::strands::draw(frame, middle, snap, self.sort, focus(Pane::Strands));
        panes::events::draw(frame, bottom, snap, focus(Pane::Events));
        panes::footer::draw(frame, footer, snap, self.is_frozen());
        if let Some(i) = self.popup {
            let current = snap.map(|s| s.sched.policy.as_str());
            panes::policy_popup::draw(frame, frame.area(), i, current);
        }
    }
}
