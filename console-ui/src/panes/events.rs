//! Events: name, installed handlers, raises, contained handler faults.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Paragraph, Row, Table};
use ratatui::Frame;

use super::pane_block;
use crate::Snapshot;

/// Draws the events pane into `area`.
pub fn draw(frame: &mut Frame, area: Rect, snap: Option<&Snapshot>, focused: bool) {
    let Some(snap) = snap else {
        let block = pane_block(" Events ".into(), focused);
        frame.render_widget(Paragraph::new("waiting for telemetry…").block(block), area);
        return;
    };
    let rows = snap.kernel.events.iter().map(|e| {
        // A contained fault means a handler panicked and was uninstalled.
        let style = if e.contained_faults > 0 {
            Style::default().fg(Color::Red)
        } else {
            Style::default()
        };
        Row::new([
            e.name.clone(),
            e.handlers.to_string(),
            e.raises.to_string(),
            e.contained_faults.to_string(),
        ])
        .style(style)
    });
    let header = Row::new(["event", "handlers", "raises", "faults"])
        .style(Style::default().add_modifier(Modifier::BOLD));
    let widths = [
        Constraint::Min(20),
        Constraint::Length(9),
        Constraint::Length(12),
        Constraint::Length(7),
    ];
    let title = format!(" Events ({}) ", snap.kernel.events.len());
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .block(pane_block(title, focused)),
        area,
    );
}
