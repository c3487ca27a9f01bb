//! Page allocation: frames per owner over time (a chart the dashboard keeps
//! across records), fault / reclaim / eviction rates (sparklines), and the
//! physical frame map coloured by owner, with a legend.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, RenderDirection, Sparkline};
use ratatui::Frame;
use spin_kernel::telemetry::FrameTelemetry;
use spin_kernel::MoundId;

use super::mounds::frames_label;
use super::{fmt_rate, pane_block, Ctx};
use crate::history::Rates;
use crate::pane::Pane;
use crate::strands_view::mound_name;
use crate::theme::Theme;

/// The frame map as lines of at most `width` cells, one cell per bucket,
/// coloured by owner (`·` for a mostly free bucket).
pub fn map_lines(map: &[Option<MoundId>], width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let width = usize::from(width.max(1));
    map.chunks(width)
        .map(|chunk| {
            chunk
                .iter()
                .map(|b| match b {
                    Some(m) => Span::styled("█", Style::default().fg(theme.mound(*m))),
                    None => Span::styled("·", theme.muted_style()),
                })
                .collect::<Vec<_>>()
                .into()
        })
        .collect()
}

fn legend(ctx: &Ctx, f: &FrameTelemetry) -> Line<'static> {
    let mut spans = Vec::new();
    for o in &f.owners {
        spans.push(Span::styled(
            "█ ",
            Style::default().fg(ctx.theme.mound(o.owner)),
        ));
        spans.push(Span::raw(format!(
            "{} {}  ",
            mound_name(ctx.t, o.owner),
            frames_label(o.used, o.quota)
        )));
    }
    spans.push(Span::styled(
        format!("· free {}", f.free),
        ctx.theme.muted_style(),
    ));
    Line::from(spans)
}

fn chart(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let theme = ctx.theme;
    let owners = ctx.h.owners();
    let series: Vec<(MoundId, Vec<(f64, f64)>)> = owners
        .iter()
        .map(|&o| (o, ctx.h.frames_series(o)))
        .collect();
    let top = series
        .iter()
        .flat_map(|(_, s)| s.iter().map(|p| p.1))
        .chain(
            ctx.t
                .kernel
                .frames
                .owners
                .iter()
                .filter_map(|o| o.quota.map(|q| q as f64)),
        )
        .fold(1.0f64, f64::max);
    let span = ctx.h.span_secs().max(1.0);
    let datasets = series
        .iter()
        .map(|(o, s)| {
            Dataset::default()
                .name(mound_name(ctx.t, *o))
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(theme.mound(*o)))
                .data(s)
        })
        .collect();
    let muted = theme.muted_style();
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .bounds([-span, 0.0])
                .labels([format!("-{span:.0}s"), "now".to_string()])
                .style(muted),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, top])
                .labels(["0".to_string(), format!("{top:.0}")])
                .style(muted),
        )
        .legend_position(None);
    frame.render_widget(chart, area);
}

fn sparklines(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let theme = ctx.theme;
    let now = ctx.h.rates();
    type Pick = fn(&Rates) -> f64;
    let metrics: [(&str, Pick, Color); 3] = [
        ("faults/s", |r| r.faults, theme.warn),
        ("reclaimed/s", |r| r.reclaimed, theme.good),
        ("evicted/s", |r| r.evicted, theme.bad),
    ];
    let spark_h = (area.height.saturating_sub(3) / 3).clamp(1, 3);
    let rows = Layout::vertical(
        metrics
            .iter()
            .flat_map(|_| [Constraint::Length(1), Constraint::Length(spark_h)]),
    )
    .split(area);
    for (i, (name, pick, color)) in metrics.iter().enumerate() {
        let label = Line::from(vec![
            Span::styled(format!("{name} "), theme.header_style()),
            Span::raw(fmt_rate(pick(&now))),
        ]);
        frame.render_widget(Paragraph::new(label), rows[2 * i]);
        // Newest at the right edge, as in btop, however short the history.
        let w = usize::from(rows[2 * i + 1].width);
        let newest_first: Vec<u64> = ctx.h.rate_series(*pick).into_iter().rev().take(w).collect();
        frame.render_widget(
            Sparkline::default()
                .data(newest_first)
                .direction(RenderDirection::RightToLeft)
                .style(Style::default().fg(*color)),
            rows[2 * i + 1],
        );
    }
}

/// Draws the pane.
pub fn draw(frame: &mut Frame, area: Rect, ctx: &Ctx, focused: bool) {
    let f = &ctx.t.kernel.frames;
    let title = format!(
        "Pages ({} of {} frames free · {} KiB each)",
        f.free,
        f.total,
        f.page_size / 1024
    );
    let block = pane_block(Pane::Pages, title, focused, ctx.theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let map_w = inner.width.saturating_sub(4).max(1);
    let map = map_lines(&f.map, map_w, ctx.theme);
    let map_h = u16::try_from(map.len()).unwrap_or(u16::MAX);
    let [top, map_area, legend_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(map_h),
        Constraint::Length(1),
    ])
    .areas(inner);
    let rates_w = (top.width / 3).clamp(12, 26);
    let [chart_area, rates_area] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(rates_w)])
            .spacing(1)
            .areas(top);
    chart(frame, chart_area, ctx);
    sparklines(frame, rates_area, ctx);
    let mut lines = map;
    if let Some(first) = lines.first_mut() {
        first
            .spans
            .insert(0, Span::styled("map ", ctx.theme.header_style()));
    }
    for l in lines.iter_mut().skip(1) {
        l.spans.insert(0, Span::raw("    "));
    }
    frame.render_widget(Paragraph::new(lines), map_area);
    frame.render_widget(Paragraph::new(legend(ctx, f)), legend_area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;
    use crate::history::History;
    use crate::panes::tests::render;

    #[test]
    fn map_cells_and_colours() {
        let theme = Theme::default();
        let lines = map_lines(&[Some(MoundId(1)), None, Some(MoundId::KERNEL)], 2, &theme);
        assert_eq!(lines.len(), 2);
        let text: String = lines[0].spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "█·");
        assert_eq!(lines[0].spans[0].style.fg, Some(theme.mound(MoundId(1))));
        assert_eq!(lines[1].spans[0].style.fg, Some(theme.kernel));
    }

    #[test]
    fn snapshot() {
        let mut h = History::new();
        let recs = fixture::records(30);
        for r in &recs {
            h.record(r);
        }
        let t = recs[29].clone();
        let ctx = Ctx {
            t: &t,
            h: &h,
            theme: &Theme::default(),
        };
        let term = render(90, 14, |f, a| draw(f, a, &ctx, false));
        insta::assert_snapshot!(term.backend());
    }

    #[test]
    fn narrow_pane_wraps_the_map() {
        let mut h = History::new();
        let t = fixture::record(0);
        h.record(&t);
        let ctx = Ctx {
            t: &t,
            h: &h,
            theme: &Theme::default(),
        };
        let term = render(50, 14, |f, a| draw(f, a, &ctx, true));
        insta::assert_snapshot!(term.backend());
    }
}
