//! Mounds overview: per mound its type, machine, memory manager, strand
//! package, frames used / quota, CPU share and state; under the table, the
//! selected mound's program and counters.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, HighlightSpacing, Paragraph, Row, Table, TableState};
use ratatui::Frame;
use spin_kernel::telemetry::{MoundState, MoundTelemetry};

use super::{fit, fmt_count, fmt_rate, pane_block, table_columns, Ctx};
use crate::pane::Pane;

/// Frames as `used/quota` (`used/-` without a quota).
pub fn frames_label(used: u64, quota: Option<u64>) -> String {
    match quota {
        Some(q) => format!("{used}/{q}"),
        None => format!("{used}/-"),
    }
}

/// The state as the table shows it.
pub fn state_label(s: &MoundState) -> String {
    match s {
        MoundState::Running => "running".into(),
        MoundState::Exited(code) => format!("exited {code}"),
        MoundState::Stopped => "stopped".into(),
        MoundState::Failed(why) => format!("failed: {why}"),
    }
}

/// A bar of `width` cells, `ratio` full (0.0..=1.0).
pub fn bar(ratio: f64, width: usize) -> String {
    let full = ((ratio.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    format!("{}{}", "█".repeat(full), "░".repeat(width - full))
}

/// Rows the pane needs for `mounds` mounds (borders, header, detail line).
pub fn height(mounds: usize) -> u16 {
    u16::try_from(mounds).unwrap_or(u16::MAX).saturating_add(4)
}

const HEADERS: [&str; 11] = [
    "ID",
    "NAME",
    "TYPE",
    "MACHINE",
    "FRAMES",
    "QUOTA USE",
    "CPU",
    "TASKS",
    "STATE",
    "MEMORY MANAGER",
    "STRAND PACKAGE",
];

const WIDTHS: [Constraint; 11] = [
    Constraint::Length(3),
    Constraint::Length(10),
    Constraint::Length(6),
    Constraint::Length(7),
    Constraint::Length(9),
    Constraint::Length(14),
    Constraint::Length(6),
    Constraint::Length(5),
    Constraint::Length(10),
    Constraint::Fill(1),
    Constraint::Fill(1),
];

fn row<'a>(ctx: &Ctx, m: &'a MoundTelemetry, cols: &[Rect]) -> Row<'a> {
    let theme = ctx.theme;
    let share = ctx
        .t
        .sched
        .mounds
        .iter()
        .find(|r| r.mound == m.id)
        .map_or(0.0, |r| r.cpu_share);
    let width = |i: usize| cols.get(i).map_or(0, |r| r.width);
    let quota_use = match m.quota {
        Some(q) if q > 0 => {
            let ratio = m.frames as f64 / q as f64;
            let color = if ratio >= 0.9 {
                theme.bad
            } else {
                theme.mound(m.id)
            };
            Cell::from(format!("{} {:>3.0}%", bar(ratio, 8), ratio * 100.0))
                .style(Style::default().fg(color))
        }
        _ => Cell::from("no quota").style(theme.muted_style()),
    };
    Row::new([
        Cell::from(m.id.0.to_string()),
        Cell::from(fit(&m.name, width(1))).style(Style::default().fg(theme.mound(m.id))),
        Cell::from(m.kind.clone()),
        Cell::from(ctx.t.machine.clone()),
        Cell::from(frames_label(m.frames, m.quota)),
        quota_use,
        Cell::from(format!("{:.1}%", share * 100.0)),
        Cell::from(m.tasks.to_string()),
        Cell::from(fit(&state_label(&m.state), width(8)))
            .style(Style::default().fg(theme.mound_state(&m.state))),
        Cell::from(fit(&m.memory_manager, width(9))),
        Cell::from(fit(&m.strand_package, width(10))),
    ])
}

fn detail(ctx: &Ctx, m: &MoundTelemetry, width: u16) -> Line<'static> {
    let theme = ctx.theme;
    let r = ctx.h.mound_rates(m.id);
    let text = format!(
        "{}: {} · calls {} · faults {} ({}/s) · reclaimed {} · evicted {}",
        m.name,
        if m.program.is_empty() {
            "-"
        } else {
            &m.program
        },
        fmt_count(m.calls),
        fmt_count(m.faults),
        fmt_rate(r.faults),
        fmt_count(m.reclaimed),
        fmt_count(m.evicted),
    );
    Line::from(vec![
        Span::styled("▸ ", Style::default().fg(theme.mound(m.id))),
        Span::styled(fit(&text, width.saturating_sub(2)), theme.muted_style()),
    ])
}

/// Draws the pane; `selected` is the selected mound's index. Returns the
/// table body's rectangle (for mouse clicks).
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    ctx: &Ctx,
    focused: bool,
    selected: usize,
    state: &mut TableState,
) -> Rect {
    let t = ctx.t;
    let running = t
        .mounds
        .iter()
        .filter(|m| m.state == MoundState::Running)
        .count();
    let title = format!("Mounds ({} running of {})", running, t.mounds.len());
    let block = pane_block(Pane::Mounds, title, focused, ctx.theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [table_area, detail_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    let cols = table_columns(table_area, &WIDTHS);
    let selected = selected.min(t.mounds.len().saturating_sub(1));
    let rows: Vec<Row> = t.mounds.iter().map(|m| row(ctx, m, &cols)).collect();
    let table = Table::new(rows, WIDTHS)
        .header(Row::new(HEADERS).style(ctx.theme.header_style()))
        .row_highlight_style(if focused {
            ctx.theme.selected_style()
        } else {
            Style::default()
        })
        .highlight_spacing(HighlightSpacing::Never);
    state.select((!t.mounds.is_empty()).then_some(selected));
    frame.render_stateful_widget(table, table_area, state);
    if let Some(m) = t.mounds.get(selected) {
        frame.render_widget(
            Paragraph::new(detail(ctx, m, detail_area.width)),
            detail_area,
        );
    } else {
        frame.render_widget(
            Paragraph::new("no mounds").style(ctx.theme.muted_style()),
            detail_area,
        );
    }
    Rect {
        y: table_area.y.saturating_add(1),
        height: table_area.height.saturating_sub(1),
        ..table_area
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;
    use crate::history::History;
    use crate::panes::tests::render;
    use crate::theme::Theme;

    #[test]
    fn labels() {
        assert_eq!(frames_label(3, Some(8)), "3/8");
        assert_eq!(frames_label(3, None), "3/-");
        assert_eq!(state_label(&MoundState::Exited(3)), "exited 3");
        assert_eq!(bar(0.5, 4), "██░░");
        assert_eq!(bar(7.0, 2), "██");
    }

    #[test]
    fn snapshot() {
        let mut h = History::new();
        let recs = fixture::records(5);
        for r in &recs {
            h.record(r);
        }
        let t = fixture::exited(recs[4].clone());
        let ctx = Ctx {
            t: &t,
            h: &h,
            theme: &Theme::default(),
        };
        let term = render(140, height(2), |f, a| {
            draw(f, a, &ctx, true, 0, &mut TableState::default());
        });
        insta::assert_snapshot!(term.backend());
    }
}
