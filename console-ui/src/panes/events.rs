//! Events: per event its raises, handler runs, guard hits and misses, and
//! contained handler faults; under each event, the same per handler.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Cell, HighlightSpacing, Row, Table, TableState};
use ratatui::Frame;
use spin_kernel::event::{EventTelemetry, HandlerTelemetry, Mode};
use spin_vmm::control::Telemetry;

use super::{fit, fmt_count, pane_block, table_columns, Ctx};
use crate::pane::Pane;
use crate::theme::Theme;

/// Rows the pane draws for `t`: one per event and one per handler.
pub fn row_count(t: &Telemetry) -> usize {
    t.kernel
        .events
        .iter()
        .map(|e| 1 + e.handler_stats.len())
        .sum()
}

const HEADERS: [&str; 6] = [
    "EVENT / HANDLER",
    "RAISES",
    "RUNS",
    "GUARD HIT",
    "MISS",
    "FAULTS",
];

const WIDTHS: [Constraint; 6] = [
    Constraint::Fill(1),
    Constraint::Length(7),
    Constraint::Length(7),
    Constraint::Length(9),
    Constraint::Length(6),
    Constraint::Length(6),
];

/// Below this width the guard columns (3 and 4) are dropped.
const GUARDS_MIN_WIDTH: u16 = 58;

/// The columns shown at `width` (indexes into [`HEADERS`]).
fn shown(width: u16) -> Vec<usize> {
    if width >= GUARDS_MIN_WIDTH {
        (0..HEADERS.len()).collect()
    } else {
        vec![0, 1, 2, 5]
    }
}

fn pick<T: Clone>(all: &[T], cols: &[usize]) -> Vec<T> {
    cols.iter().filter_map(|&i| all.get(i).cloned()).collect()
}

fn num(n: u64) -> Cell<'static> {
    Cell::from(Line::from(fmt_count(n)).right_aligned())
}

fn dash() -> Cell<'static> {
    Cell::from(Line::from("-").right_aligned())
}

fn faults(n: u64, theme: &Theme) -> Cell<'static> {
    let style = if n > 0 {
        Style::default().fg(theme.bad).add_modifier(Modifier::BOLD)
    } else {
        Style::default()
    };
    num(n).style(style)
}

fn event_row(e: &EventTelemetry, theme: &Theme, name_w: u16, cols: &[usize]) -> Row<'static> {
    let runs: u64 = e.handler_stats.iter().map(|h| h.dispatches).sum();
    let hits: u64 = e
        .handler_stats
        .iter()
        .filter(|h| h.guards > 0)
        .map(|h| h.dispatches)
        .sum();
    let misses: u64 = e.handler_stats.iter().map(|h| h.guard_misses).sum();
    let name = format!("{} ({})", e.name, e.handlers);
    Row::new(pick(
        &[
            Cell::from(fit(&name, name_w)).style(Style::default().add_modifier(Modifier::BOLD)),
            num(e.raises),
            num(runs),
            num(hits),
            num(misses),
            faults(e.contained_faults, theme),
        ],
        cols,
    ))
}

fn handler_row(
    h: &HandlerTelemetry,
    last: bool,
    theme: &Theme,
    name_w: u16,
    cols: &[usize],
) -> Row<'static> {
    let mode = match h.mode {
        Mode::Sync => "",
        Mode::Async => " async",
        Mode::Bounded(_) => " bounded",
    };
    // Some primaries are installed under the name `primary` already.
    let role = if h.primary && !h.installer.contains("primary") {
        " primary"
    } else {
        ""
    };
    let name = format!(
        " {} #{} {}{role}{mode}",
        if last { '└' } else { '├' },
        h.id,
        h.installer
    );
    let guarded = h.guards > 0;
    Row::new(pick(
        &[
            Cell::from(fit(&name, name_w)),
            Cell::from(""),
            num(h.dispatches),
            if guarded { num(h.dispatches) } else { dash() },
            if guarded { num(h.guard_misses) } else { dash() },
            faults(h.faults + h.abandoned, theme),
        ],
        cols,
    ))
    .style(theme.muted_style().remove_modifier(Modifier::all()))
}

/// Draws the pane; `selected` indexes the flattened rows. Returns the body.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    ctx: &Ctx,
    focused: bool,
    selected: usize,
    state: &mut TableState,
) -> Rect {
    let theme = ctx.theme;
    let events = &ctx.t.kernel.events;
    let contained: u64 = events.iter().map(|e| e.contained_faults).sum();
    let mut title = format!("Events ({})", events.len());
    if contained > 0 {
        title = format!(
            "Events ({} · {contained} contained fault{})",
            events.len(),
            if contained == 1 { "" } else { "s" }
        );
    }
    let block = pane_block(Pane::Events, title, focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let keep = shown(inner.width);
    let widths = pick(&WIDTHS, &keep);
    let cols = table_columns(inner, &widths);
    let name_w = cols.first().map_or(0, |c| c.width);
    let mut rows = Vec::with_capacity(row_count(ctx.t));
    for e in events {
        rows.push(event_row(e, theme, name_w, &keep));
        let n = e.handler_stats.len();
        for (i, h) in e.handler_stats.iter().enumerate() {
            rows.push(handler_row(h, i + 1 == n, theme, name_w, &keep));
        }
    }
    let n = rows.len();
    let headers = pick(&HEADERS, &keep).into_iter().map(|h| {
        if h.starts_with("EVENT") {
            Cell::from(h)
        } else {
            Cell::from(Line::from(h).right_aligned())
        }
    });
    let table = Table::new(rows, widths)
        .header(Row::new(headers).style(theme.header_style()))
        .row_highlight_style(if focused {
            theme.selected_style()
        } else {
            Style::default()
        })
        .highlight_spacing(HighlightSpacing::Never);
    state.select((n > 0).then_some(selected.min(n.saturating_sub(1))));
    frame.render_stateful_widget(table, inner, state);
    Rect {
        y: inner.y.saturating_add(1),
        height: inner.height.saturating_sub(1),
        ..inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;
    use crate::history::History;
    use crate::panes::tests::render;

    #[test]
    fn counts_rows() {
        assert_eq!(row_count(&fixture::record(0)), 6 + 9);
    }

    #[test]
    fn narrow_pane_drops_guard_columns() {
        let t = fixture::record(4);
        let h = History::new();
        let ctx = Ctx {
            t: &t,
            h: &h,
            theme: &Theme::default(),
        };
        let term = render(44, 8, |f, a| {
            draw(f, a, &ctx, false, 0, &mut TableState::default());
        });
        insta::assert_snapshot!(term.backend());
    }

    #[test]
    fn snapshot() {
        let t = fixture::record(4);
        let h = History::new();
        let ctx = Ctx {
            t: &t,
            h: &h,
            theme: &Theme::default(),
        };
        let term = render(64, 19, |f, a| {
            draw(f, a, &ctx, true, 1, &mut TableState::default());
        });
        insta::assert_snapshot!(term.backend());
    }
}
