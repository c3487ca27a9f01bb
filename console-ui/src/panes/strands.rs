//! Strands: a sortable, filterable table, or a tree of mounds and their
//! strands. Columns: id, name, mound, state, priority, weight, CPU % (since
//! the last record), CPU time, wait time, wake-up latency p99, deadline
//! misses.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Cell, HighlightSpacing, Paragraph, Row as TableRow, Scrollbar, ScrollbarOrientation,
    ScrollbarState, Table, TableState,
};
use ratatui::Frame;
use spin_kernel::StrandState;
use spin_scheduler::telemetry::StrandRow;

use super::mounds::state_label as mound_state_label;
use super::{fit, fmt_ns, pane_block, table_columns, Ctx};
use crate::pane::Pane;
use crate::strands_view::{mound_name, state_label, Row, SortKey, StrandsView};

/// The name column's narrowest width before other columns are dropped.
const NAME_MIN: u16 = 14;

/// Columns dropped, first to last, when the pane is too narrow for all.
const DROP_ORDER: [SortKey; 7] = [
    SortKey::Wait,
    SortKey::Weight,
    SortKey::Priority,
    SortKey::Misses,
    SortKey::Mound,
    SortKey::WakeP99,
    SortKey::CpuTime,
];

fn width_of(k: SortKey) -> Constraint {
    Constraint::Length(match k {
        SortKey::Id => 4,
        SortKey::Name => return Constraint::Fill(1),
        SortKey::Mound | SortKey::State => 8,
        SortKey::Priority => 4,
        SortKey::Weight | SortKey::Misses => 5,
        SortKey::CpuPct => 6,
        SortKey::CpuTime | SortKey::Wait | SortKey::WakeP99 => 8,
    })
}

/// The columns shown in a table `width` cells wide, left to right.
pub fn columns_for(width: u16) -> Vec<SortKey> {
    let mut shown = SortKey::ALL.to_vec();
    let need = |v: &[SortKey]| {
        v.iter()
            .map(|&k| match width_of(k) {
                Constraint::Length(n) => n + 1,
                _ => NAME_MIN + 1,
            })
            .sum::<u16>()
    };
    for d in DROP_ORDER {
        if need(&shown) <= width.saturating_add(1) {
            break;
        }
        shown.retain(|&k| k != d);
    }
    shown
}

/// Where the pane put its header and body, for the mouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The header's row.
    pub header_y: u16,
    /// Each shown column's x range (start, end) and what it sorts by.
    pub columns: Vec<(u16, u16, SortKey)>,
    /// The table's body.
    pub body: Rect,
}

fn right(s: String) -> Cell<'static> {
    Cell::from(Line::from(s).right_aligned())
}

/// Whether column `k` holds numbers (right-aligned, header too).
fn numeric(k: SortKey) -> bool {
    !matches!(k, SortKey::Name | SortKey::Mound | SortKey::State)
}

fn header(view: &StrandsView, ctx: &Ctx, cols: &[SortKey]) -> TableRow<'static> {
    let cells = cols.iter().map(|&k| {
        let mut label = k.header().to_string();
        let mut style = ctx.theme.header_style();
        if k == view.sort {
            label.push(if view.descending { '▼' } else { '▲' });
            style = style.add_modifier(Modifier::REVERSED);
        }
        let line = Line::from(label);
        let line = if numeric(k) {
            line.right_aligned()
        } else {
            line
        };
        Cell::from(line).style(style)
    });
    TableRow::new(cells)
}

fn strand_cell(
    ctx: &Ctx,
    r: &StrandRow,
    last: Option<bool>,
    name_w: u16,
    k: SortKey,
) -> Cell<'static> {
    let theme = ctx.theme;
    match k {
        SortKey::Id => right(r.id.0.to_string()),
        SortKey::Name => {
            let name = match last {
                Some(true) => format!("└─ {}", r.name),
                Some(false) => format!("├─ {}", r.name),
                None => r.name.clone(),
            };
            Cell::from(fit(&name, name_w))
        }
        SortKey::Mound => Cell::from(fit(&mound_name(ctx.t, r.mound), 8))
            .style(Style::default().fg(theme.mound(r.mound))),
        SortKey::State => {
            Cell::from(state_label(r.state)).style(Style::default().fg(theme.strand_state(r.state)))
        }
        SortKey::Priority => right(r.params.priority.to_string()),
        SortKey::Weight => right(r.params.weight.to_string()),
        SortKey::CpuPct => right(
            ctx.h
                .cpu_pct(r.id)
                .map_or_else(|| "-".into(), |p| format!("{p:.1}")),
        ),
        SortKey::CpuTime => right(fmt_ns(r.account.cpu_ns)),
        SortKey::Wait => right(fmt_ns(r.account.wait_ns)),
        SortKey::WakeP99 => right(fmt_ns(r.account.wake_latency.p99_ns)),
        SortKey::Misses => {
            let misses = r.account.deadline_misses;
            right(misses.to_string()).style(if misses > 0 {
                Style::default().fg(theme.bad)
            } else {
                Style::default()
            })
        }
    }
}

fn strand_row(
    ctx: &Ctx,
    r: &StrandRow,
    last: Option<bool>,
    name_w: u16,
    cols: &[SortKey],
) -> TableRow<'static> {
    let row = TableRow::new(cols.iter().map(|&k| strand_cell(ctx, r, last, name_w, k)));
    if r.state == StrandState::Exited {
        row.style(ctx.theme.muted_style())
    } else {
        row
    }
}

fn mound_row(ctx: &Ctx, row: &Row, name_w: u16, cols: &[SortKey]) -> TableRow<'static> {
    let Row::Mound {
        id,
        mound,
        strands,
        collapsed,
    } = *row
    else {
        return TableRow::default();
    };
    let theme = ctx.theme;
    let mine = || ctx.t.sched.strands.iter().filter(move |s| s.mound == id);
    let sum = |f: fn(&StrandRow) -> u64| mine().map(f).sum::<u64>();
    let cell = |k: SortKey| match k {
        SortKey::Name => {
            let marker = if collapsed { '▸' } else { '▾' };
            let name = format!("{marker} {} ({id}) · {strands}", mound_name(ctx.t, id));
            Cell::from(fit(&name, name_w)).style(
                Style::default()
                    .fg(theme.mound(id))
                    .add_modifier(Modifier::BOLD),
            )
        }
        SortKey::Mound => Cell::from(mound.map_or_else(String::new, |m| fit(&m.kind, 8))),
        SortKey::State => {
            let state = mound.map_or_else(String::new, |m| mound_state_label(&m.state));
            Cell::from(fit(&state, 8)).style(mound.map_or(Style::default(), |m| {
                Style::default().fg(theme.mound_state(&m.state))
            }))
        }
        SortKey::CpuPct => {
            let pct: Option<f64> = mine().map(|s| ctx.h.cpu_pct(s.id)).sum();
            right(pct.map_or_else(|| "-".into(), |p| format!("{p:.1}")))
        }
        SortKey::CpuTime => right(fmt_ns(sum(|s| s.account.cpu_ns))),
        SortKey::Wait => right(fmt_ns(sum(|s| s.account.wait_ns))),
        SortKey::WakeP99 => right(fmt_ns(
            mine()
                .map(|s| s.account.wake_latency.p99_ns)
                .max()
                .unwrap_or(0),
        )),
        SortKey::Misses => right(sum(|s| s.account.deadline_misses).to_string()),
        SortKey::Id | SortKey::Priority | SortKey::Weight => Cell::from(""),
    };
    TableRow::new(cols.iter().map(|&k| cell(k)))
}

fn title(ctx: &Ctx, view: &StrandsView, shown: usize) -> String {
    let s = &ctx.t.sched;
    let mut title = format!(
        "Strands {} ({} running · {} ready · {} blocked · {} exited)",
        s.strands.len(),
        s.running,
        s.runnable,
        s.blocked,
        s.exited
    );
    if view.tree {
        title.push_str(" · tree");
    }
    if !view.filter.is_empty() {
        title.push_str(&format!(" · {shown} shown"));
    }
    title
}

fn filter_line(ctx: &Ctx, view: &StrandsView) -> Line<'static> {
    let theme = ctx.theme;
    let mut spans = vec![
        Span::styled("filter: ", theme.header_style()),
        Span::raw(view.filter.clone()),
    ];
    if view.editing {
        spans.push(Span::styled(
            "▏",
            Style::default().add_modifier(Modifier::SLOW_BLINK),
        ));
        spans.push(Span::styled(
            "  Enter keep · Esc clear",
            theme.muted_style(),
        ));
    } else {
        spans.push(Span::styled("  Esc clears", theme.muted_style()));
    }
    Line::from(spans)
}

/// Draws the pane.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    ctx: &Ctx,
    focused: bool,
    view: &StrandsView,
    state: &mut TableState,
) -> Placed {
    let rows = view.rows(ctx.t, ctx.h);
    let block = pane_block(
        Pane::Strands,
        title(ctx, view, rows.len()),
        focused,
        ctx.theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let show_filter = view.editing || !view.filter.is_empty();
    let [table_area, filter_area] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(u16::from(show_filter)),
    ])
    .areas(inner);
    let keys = columns_for(table_area.width);
    let widths: Vec<Constraint> = keys.iter().map(|&k| width_of(k)).collect();
    let cols = table_columns(table_area, &widths);
    let name_w = keys
        .iter()
        .position(|&k| k == SortKey::Name)
        .and_then(|i| cols.get(i))
        .map_or(0, |c| c.width);
    let selected = view.selected_index(&rows);
    let body_rows: Vec<TableRow> = rows
        .iter()
        .map(|r| match r {
            Row::Strand { row, last } => strand_row(ctx, row, *last, name_w, &keys),
            Row::Mound { .. } => mound_row(ctx, r, name_w, &keys),
        })
        .collect();
    let table = Table::new(body_rows, widths)
        .header(header(view, ctx, &keys))
        .row_highlight_style(ctx.theme.selected_style())
        .highlight_spacing(HighlightSpacing::Never);
    state.select(selected);
    frame.render_stateful_widget(table, table_area, state);
    let body = Rect {
        y: table_area.y.saturating_add(1),
        height: table_area.height.saturating_sub(1),
        ..table_area
    };
    let visible = usize::from(body.height);
    if rows.len() > visible && visible > 0 {
        let mut sb = ScrollbarState::new(rows.len() - visible).position(state.offset());
        frame.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight)
                .style(ctx.theme.muted_style())
                .begin_symbol(None)
                .end_symbol(None),
            Rect {
                y: body.y,
                height: body.height,
                ..area
            },
            &mut sb,
        );
    }
    if rows.is_empty() && body.height > 0 {
        let why = if view.filter.is_empty() {
            "no strands".to_string()
        } else {
            format!("no strand matches “{}”", view.filter)
        };
        frame.render_widget(
            Paragraph::new(why).style(ctx.theme.muted_style()),
            Rect { height: 1, ..body },
        );
    }
    if show_filter {
        frame.render_widget(Paragraph::new(filter_line(ctx, view)), filter_area);
    }
    Placed {
        header_y: table_area.y,
        columns: cols
            .iter()
            .zip(keys)
            .map(|(c, k)| (c.x, c.x + c.width, k))
            .collect(),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;
    use crate::history::History;
    use crate::panes::tests::render;
    use crate::strands_view::RowKey;
    use crate::theme::Theme;
    use spin_kernel::{MoundId, StrandId};

    fn snap(view: &StrandsView) -> String {
        let mut h = History::new();
        for r in fixture::records(5) {
            h.record(&r);
        }
        let t = fixture::record(4);
        let ctx = Ctx {
            t: &t,
            h: &h,
            theme: &Theme::default(),
        };
        let term = render(100, 14, |f, a| {
            let placed = draw(f, a, &ctx, true, view, &mut TableState::default());
            assert_eq!(placed.columns.len(), SortKey::ALL.len(), "all fit in 100");
            assert_eq!(placed.header_y, 1);
        });
        term.backend().to_string()
    }

    #[test]
    fn narrow_tables_drop_columns_in_order() {
        assert_eq!(columns_for(200), SortKey::ALL);
        let narrow = columns_for(46);
        assert_eq!(
            narrow,
            [
                SortKey::Id,
                SortKey::Name,
                SortKey::State,
                SortKey::CpuPct,
                SortKey::CpuTime
            ]
        );
        assert_eq!(
            columns_for(0).len(),
            4,
            "id, name, state and CPU% always stay"
        );
    }

    #[test]
    fn table_by_cpu() {
        let mut view = StrandsView::default();
        view.sort_by(SortKey::CpuPct);
        view.selected = Some(RowKey::Strand(StrandId(5)));
        insta::assert_snapshot!(snap(&view));
    }

    #[test]
    fn tree_with_a_collapsed_mound() {
        let mut view = StrandsView {
            tree: true,
            ..StrandsView::default()
        };
        view.collapsed.insert(MoundId(1));
        view.selected = Some(RowKey::Mound(MoundId(1)));
        insta::assert_snapshot!(snap(&view));
    }

    #[test]
    fn filter_being_typed() {
        let view = StrandsView {
            filter: "shell pid".into(),
            editing: true,
            ..StrandsView::default()
        };
        insta::assert_snapshot!(snap(&view));
    }

    #[test]
    fn filter_matching_nothing() {
        let view = StrandsView {
            filter: "nginx".into(),
            ..StrandsView::default()
        };
        insta::assert_snapshot!(snap(&view));
    }
}
