//! Page allocation: a gauge of frames per owner and the frame map coloured by owner.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph, Wrap};
use ratatui::Frame;
use spin_kernel::mem::phys::OwnerTelemetry;
use spin_kernel::MoundId;

use super::{mounds::frames_label, owner_color, pane_block};
use crate::Snapshot;

/// The owner's name as shown beside its gauge (`kernel` for mound 0).
pub fn owner_label(m: MoundId) -> String {
    if m == MoundId::KERNEL {
        "kernel".into()
    } else {
        m.to_string()
    }
}

/// How full the owner's gauge is: used/quota, or used/total without a quota (0.0..=1.0).
pub fn fill_ratio(o: &OwnerTelemetry, total: u64) -> f64 {
    let cap = o.quota.unwrap_or(total);
    if cap == 0 {
        0.0
    } else {
        (o.used as f64 / cap as f64).clamp(0.0, 1.0)
    }
}

/// The frame map as one line of cells, one per bucket, coloured by owner
/// (`·` for a mostly free bucket).
pub fn map_line(map: &[Option<MoundId>]) -> Line<'static> {
    map.iter()
        .map(|b| match b {
            Some(m) => Span::styled("█", Style::default().fg(owner_color(*m))),
            None => Span::styled("·", Style::default().fg(Color::DarkGray)),
        })
        .collect::<Vec<_>>()
        .into()
}

/// Draws the page-allocation pane into `area`.
pub fn draw(frame: &mut Frame, area: Rect, snap: Option<&Snapshot>, focused: bool) {
    let Some(snap) = snap else {
        let block = pane_block(" Pages ".into(), focused);
        frame.render_widget(Paragraph::new("waiting for telemetry…").block(block), area);
        return;
    };
    let f = &snap.kernel.frames;
    let title = format!(
        " Pages ({} of {} frames free, {} KiB each) ",
        f.free,
        f.total,
        f.page_size / 1024
    );
    let block = pane_block(title, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let n = u16::try_from(f.owners.len()).unwrap_or(u16::MAX);
    let [gauges, map] = Layout::vertical([Constraint::Length(n), Constraint::Min(0)]).areas(inner);
    let rows = Layout::vertical(vec![Constraint::Length(1); f.owners.len()]).split(gauges);
    for (o, row) in f.owners.iter().zip(rows.iter()) {
        let label = format!("{} {}", owner_label(o.owner), frames_label(o.used, o.quota));
        let gauge = Gauge::default()
            .gauge_style(Style::default().fg(owner_color(o.owner)))
            .ratio(fill_ratio(o, f.total))
            .label(label);
        frame.render_widget(gauge, *row);
    }
    let text = vec![Line::from("Frame map"), map_line(&f.map)];
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), map);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_uses_quota_then_total() {
        let o = |used, quota| OwnerTelemetry {
            owner: MoundId(1),
            used,
            quota,
            peak: used,
            reclaimed: 0,
        };
        assert_eq!(fill_ratio(&o(32, Some(64)), 1024), 0.5);
        assert_eq!(fill_ratio(&o(256, None), 1024), 0.25);
        assert_eq!(fill_ratio(&o(10, Some(0)), 1024), 0.0);
        assert_eq!(fill_ratio(&o(99, Some(10)), 1024), 1.0);
    }

    #[test]
    fn map_has_a_cell_per_bucket() {
        let line = map_line(&[Some(MoundId(1)), None, Some(MoundId::KERNEL)]);
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "█·█");
        assert_eq!(line.spans[0].style.fg, Some(owner_color(MoundId(1))));
    }
}
