//! Strands table: id, name, mound, state, priority/weight, CPU time, wake-up p99.

use std::cmp::Reverse;

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;
use spin_kernel::StrandState;
use spin_scheduler::telemetry::StrandRow;

use super::{fmt_ns, owner_color, pane_block};
use crate::{Snapshot, SortColumn};

/// The state as shown in the table.
pub fn state_label(s: StrandState) -> &'static str {
    match s {
        StrandState::Runnable => "runnable",
        StrandState::Running => "running",
        StrandState::Blocked => "blocked",
        StrandState::Exited => "exited",
    }
}

/// `rows` ordered by `sort` (ties broken by id so the order is stable).
pub fn sorted(rows: &[StrandRow], sort: SortColumn) -> Vec<&StrandRow> {
    let mut v: Vec<&StrandRow> = rows.iter().collect();
    match sort {
        SortColumn::Id => v.sort_by_key(|r| r.id),
        SortColumn::Name => v.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id))),
        SortColumn::Mound => v.sort_by_key(|r| (r.mound, r.id)),
        SortColumn::Priority => v.sort_by_key(|r| (Reverse(r.params.priority), r.id)),
        SortColumn::Cpu => v.sort_by_key(|r| (Reverse(r.account.cpu_ns), r.id)),
        SortColumn::WakeP99 => v.sort_by_key(|r| (Reverse(r.account.wake_latency.p99_ns), r.id)),
    }
    v
}

fn state_color(s: StrandState) -> Color {
    match s {
        StrandState::Running => Color::Green,
        StrandState::Runnable => Color::Yellow,
        StrandState::Blocked => Color::Reset,
        StrandState::Exited => Color::DarkGray,
    }
}

/// Draws the strands table into `area`, sorted by `sort`.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    snap: Option<&Snapshot>,
    sort: SortColumn,
    focused: bool,
) {
    let Some(snap) = snap else {
        let block = pane_block(" Strands ".into(), focused);
        frame.render_widget(Paragraph::new("waiting for telemetry…").block(block), area);
        return;
    };
    let s = &snap.sched;
    let title = format!(
        " Strands ({} runnable, {} running, {} blocked, {} exited) sort: {} ",
        s.runnable,
        s.running,
        s.blocked,
        s.exited,
        sort.label()
    );
    let rows = sorted(&s.strands, sort).into_iter().map(|r| {
        Row::new([
            Cell::from(r.id.to_string()),
            Cell::from(r.name.clone()),
            // The mound column takes the mound's colour, as in the frame map.
            Cell::from(r.mound.to_string()).style(Style::default().fg(owner_color(r.mound))),
            Cell::from(state_label(r.state)),
            Cell::from(format!("{}/{}", r.params.priority, r.params.weight)),
            Cell::from(fmt_ns(r.account.cpu_ns)),
            Cell::from(fmt_ns(r.account.wake_latency.p99_ns)),
        ])
        .style(Style::default().fg(state_color(r.state)))
    });
    let header = Row::new(["id", "name", "mound", "state", "prio/wt", "cpu", "wake p99"])
        .style(Style::default().add_modifier(Modifier::BOLD));
    let widths = [
        Constraint::Length(6),
        Constraint::Min(16),
        Constraint::Length(6),
        Constraint::Length(9),
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Length(9),
    ];
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .block(pane_block(title, focused)),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::panes::tests::sample;

    #[test]
    fn sort_orders() {
        let (_, s) = sample();
        let ids = |c| -> Vec<u32> { sorted(&s.strands, c).iter().map(|r| r.id.0).collect() };
        assert_eq!(ids(SortColumn::Id), [1, 2, 3]);
        assert_eq!(ids(SortColumn::Name), [3, 1, 2]);
        assert_eq!(ids(SortColumn::Mound), [1, 2, 3]);
        assert_eq!(ids(SortColumn::Priority), [3, 1, 2]);
        assert_eq!(ids(SortColumn::Cpu), [2, 1, 3]);
        assert_eq!(ids(SortColumn::WakeP99), [2, 1, 3]);
    }
}
