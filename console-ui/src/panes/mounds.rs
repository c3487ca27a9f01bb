//! Mounds overview: per mound, live strands, frames used/quota and CPU share.

use std::collections::BTreeSet;

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Paragraph, Row, Table};
use ratatui::Frame;
use spin_kernel::MoundId;

use super::{owner_color, pane_block};
use crate::Snapshot;

/// Frames as `used/quota` (`used/-` without a quota).
pub fn frames_label(used: u64, quota: Option<u64>) -> String {
    match quota {
        Some(q) => format!("{used}/{q}"),
        None => format!("{used}/-"),
    }
}

/// Draws the mounds overview into `area`.
pub fn draw(frame: &mut Frame, area: Rect, snap: Option<&Snapshot>, focused: bool) {
    let block = pane_block(" Mounds ".into(), focused);
    let Some(snap) = snap else {
        frame.render_widget(Paragraph::new("waiting for telemetry…").block(block), area);
        return;
    };
    // A mound may hold frames before the scheduler knows it, or the reverse.
    let ids: BTreeSet<MoundId> = snap
        .sched
        .mounds
        .iter()
        .map(|m| m.mound)
        .chain(snap.kernel.frames.owners.iter().map(|o| o.owner))
        .collect();
    let rows = ids.into_iter().map(|id| {
        let sched = snap.sched.mounds.iter().find(|m| m.mound == id);
        let owner = snap.kernel.frames.owners.iter().find(|o| o.owner == id);
        Row::new([
            id.to_string(),
            sched.map_or_else(|| "-".into(), |m| m.strands.to_string()),
            owner.map_or_else(|| "0/-".into(), |o| frames_label(o.used, o.quota)),
            sched.map_or_else(|| "-".into(), |m| format!("{:.1}%", m.cpu_share * 100.0)),
            sched
                .and_then(|m| m.local_scheduler.clone())
                .unwrap_or_default(),
        ])
        .style(Style::default().fg(owner_color(id)))
    });
    let header = Row::new(["mound", "strands", "frames", "cpu", "local"])
        .style(Style::default().add_modifier(Modifier::BOLD));
    let widths = [
        Constraint::Length(6),
        Constraint::Length(8),
        Constraint::Length(11),
        Constraint::Length(7),
        Constraint::Min(5),
    ];
    frame.render_widget(Table::new(rows, widths).header(header).block(block), area);
}
