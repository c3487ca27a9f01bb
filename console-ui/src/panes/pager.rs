//! The database pager mounds: the selected mound's policy, budget,
//! resident pages by kind (hot set, scan ring, index, normal), dirty pages,
//! its counters, and its hit ratio and fault rate over time (sparklines of
//! the intervals between records). `R` switches its policy.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, RenderDirection, Sparkline};
use ratatui::Frame;
use spin_dbpager::PagerStats;
use spin_vmm::host::PagerTelemetry;

use super::{fmt_count, fmt_rate, pane_block, Ctx};
use crate::history::PagerPoint;
use crate::pane::Pane;
use crate::theme::Theme;

/// The file the pane shows: the newest one attached.
pub fn current(p: &PagerTelemetry) -> Option<&PagerStats> {
    p.files.last()
}

fn bar(n: u64, of: u64, width: u16) -> String {
    let cells = if of == 0 {
        0
    } else {
        (n.min(of) * u64::from(width)).div_ceil(of)
    };
    "█".repeat(usize::try_from(cells).unwrap_or(0))
}

fn kinds(s: &PagerStats, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let k = &s.by_kind;
    let bar_w = width.saturating_sub(11);
    [
        ("hot", k.hot, theme.good),
        ("scan", k.scan, theme.warn),
        ("index", k.index, theme.focus),
        ("normal", k.normal, theme.muted),
    ]
    .into_iter()
    .map(|(name, n, color)| {
        Line::from(vec![
            Span::styled(format!("{name:<6}"), theme.header_style()),
            Span::raw(format!("{n:>4} ")),
            Span::styled(bar(n, s.budget, bar_w), Style::default().fg(color)),
        ])
    })
    .collect()
}

fn text(p: &PagerTelemetry, s: &PagerStats, ctx: &Ctx, width: u16) -> Vec<Line<'static>> {
    let theme = ctx.theme;
    let bold = theme.header_style();
    let mut lines = vec![
        Line::from(vec![
            Span::styled("policy ", bold),
            Span::styled(s.policy.clone(), Style::default().fg(theme.focus)),
            Span::raw(format!("  budget {}", s.budget)),
        ]),
        Line::from(format!(
            "resident {}  dirty {}{}",
            s.resident,
            s.dirty,
            if p.files.len() > 1 {
                format!("  files {}", p.files.len())
            } else {
                String::new()
            }
        )),
    ];
    lines.extend(kinds(s, width, theme));
    let t = &s.total;
    lines.push(Line::from(format!(
        "hits {}  faults {}",
        fmt_count(t.hits),
        fmt_count(t.faults)
    )));
    lines.push(Line::from(format!(
        "evictions {}  write-backs {}",
        fmt_count(t.evictions),
        fmt_count(t.writebacks)
    )));
    if s.volunteered > 0 {
        lines.push(Line::styled(
            format!("volunteered to reclaim {}", fmt_count(s.volunteered)),
            theme.muted_style(),
        ));
    }
    lines
}

type Pick = fn(&PagerPoint) -> u64;

/// The two series: (label, value of a point, colour, full scale).
fn metrics(points: &[PagerPoint], theme: &Theme) -> [(String, Pick, Color, Option<u64>); 2] {
    let newest = points.last().copied().unwrap_or_default();
    let ratio = newest
        .hit_ratio
        .map_or_else(|| "-".to_string(), |r| format!("{:.1}%", r * 100.0));
    [
        (
            format!("hit ratio {ratio}"),
            |p| p.hit_ratio.map_or(0, |r| (r * 100.0).round() as u64),
            theme.good,
            // A ratio: the full height is 100 %.
            Some(100),
        ),
        (
            format!("faults/s {}", fmt_rate(newest.faults)),
            |p| p.faults.ceil() as u64,
            theme.warn,
            None,
        ),
    ]
}

fn spark(frame: &mut Frame, area: Rect, points: &[PagerPoint], metric: (Pick, Color, Option<u64>)) {
    let (pick, color, max) = metric;
    let w = usize::from(area.width);
    let newest_first: Vec<u64> = points.iter().rev().take(w).map(pick).collect();
    let mut s = Sparkline::default()
        .data(newest_first)
        .direction(RenderDirection::RightToLeft)
        .style(Style::default().fg(color));
    if let Some(m) = max {
        s = s.max(m);
    }
    frame.render_widget(s, area);
}

/// Each series as a label over a sparkline filling `area`.
fn sparklines(frame: &mut Frame, area: Rect, points: &[PagerPoint], theme: &Theme) {
    let metrics = metrics(points, theme);
    let spark_h = (area.height.saturating_sub(2) / 2).max(1);
    let rows = Layout::vertical(
        metrics
            .iter()
            .flat_map(|_| [Constraint::Length(1), Constraint::Length(spark_h)]),
    )
    .split(area);
    for (i, (label, pick, color, max)) in metrics.into_iter().enumerate() {
        frame.render_widget(
            Paragraph::new(Span::styled(label, theme.header_style())),
            rows[2 * i],
        );
        spark(frame, rows[2 * i + 1], points, (pick, color, max));
    }
}

/// Each series on one line of `area`: its label, then a one-row
/// sparkline (narrow panes).
fn inline_sparklines(frame: &mut Frame, area: Rect, points: &[PagerPoint], theme: &Theme) {
    let rows = Layout::vertical([Constraint::Length(1); 2]).split(area);
    for (i, (label, pick, color, max)) in metrics(points, theme).into_iter().enumerate() {
        let label_w = u16::try_from(label.chars().count() + 1).unwrap_or(u16::MAX);
        let [l, r] =
            Layout::horizontal([Constraint::Length(label_w), Constraint::Fill(1)]).areas(rows[i]);
        frame.render_widget(Paragraph::new(Span::styled(label, theme.header_style())), l);
        spark(frame, r, points, (pick, color, max));
    }
}

/// Draws the pane; `selected` is the db-pager mound shown.
pub fn draw(frame: &mut Frame, area: Rect, ctx: &Ctx, focused: bool, selected: usize) {
    let n = ctx.t.pagers.len();
    let selected = selected.min(n.saturating_sub(1));
    let Some(p) = ctx.t.pagers.get(selected) else {
        let block = pane_block(Pane::Pager, "Pager".into(), focused, ctx.theme);
        frame.render_widget(
            Paragraph::new("no db-pager mound")
                .style(ctx.theme.muted_style())
                .block(block),
            area,
        );
        return;
    };
    let which = if n > 1 {
        format!(" ({}/{n})", selected + 1)
    } else {
        String::new()
    };
    let title = format!("Pager · {}{which}", p.name);
    let block = pane_block(Pane::Pager, title, focused, ctx.theme)
        .title_bottom(Line::styled(" R policy ", ctx.theme.muted_style()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(s) = current(p) else {
        frame.render_widget(
            Paragraph::new("no file attached yet: its program has not mapped a database")
                .style(ctx.theme.muted_style())
                .wrap(ratatui::widgets::Wrap { trim: true }),
            inner,
        );
        return;
    };
    let points: Vec<PagerPoint> = ctx.h.devices().pager(p.id).copied().collect();
    let side_by_side = inner.width >= 56;
    let text_w = if side_by_side {
        (inner.width / 2).min(34)
    } else {
        inner.width
    };
    let [left, _, right] = Layout::horizontal([
        Constraint::Length(text_w),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(inner);
    let mut lines = text(p, s, ctx, left.width);
    if side_by_side {
        sparklines(frame, right, &points, ctx.theme);
        frame.render_widget(Paragraph::new(lines), left);
    } else {
        // The policy, the rates over time, then the rest.
        let rest = lines.split_off(1.min(lines.len()));
        let [head, rates, tail] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(2),
            Constraint::Fill(1),
        ])
        .areas(left);
        frame.render_widget(Paragraph::new(lines), head);
        inline_sparklines(frame, rates, &points, ctx.theme);
        frame.render_widget(Paragraph::new(rest), tail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::mix;
    use crate::history::History;
    use crate::panes::tests::render;

    fn screen_text(term: &ratatui::Terminal<ratatui::backend::TestBackend>) -> String {
        term.backend()
            .buffer()
            .content
            .iter()
            .map(|c| c.symbol())
            .collect()
    }

    #[test]
    fn shows_the_policy_kinds_counters_and_rates() {
        let mut h = History::new();
        let recs = mix::records(20);
        for r in &recs {
            h.record(r);
        }
        let t = recs[19].clone();
        let ctx = Ctx {
            t: &t,
            h: &h,
            theme: &Theme::default(),
        };
        let term = render(80, 12, |f, a| draw(f, a, &ctx, true, 0));
        let text = screen_text(&term);
        let (hits, faults) = mix::pager_step(19);
        let ratio = format!(
            "hit ratio {:.1}%",
            hits as f64 * 100.0 / (hits + faults) as f64
        );
        for want in [
            "Pager · db",
            "policy hinted  budget 112",
            "resident 110  dirty 3",
            "hot     48 ",
            "scan     8 ",
            "index    6 ",
            "normal  48 ",
            "evictions",
            "write-backs 57",
            ratio.as_str(),
            &format!("faults/s {faults}"),
            "R policy",
        ] {
            assert!(text.contains(want), "{want:?} not in\n{}", term.backend());
        }
        insta::assert_snapshot!(term.backend());
        // Narrow: each rate on one line with a one-row sparkline.
        let narrow = render(40, 12, |f, a| draw(f, a, &ctx, true, 0));
        let text = screen_text(&narrow);
        for want in [ratio.clone(), format!("faults/s {faults}")] {
            assert!(
                text.contains(&want),
                "{want:?} not in\n{}",
                narrow.backend()
            );
        }
        insta::assert_snapshot!("narrow", narrow.backend());
    }

    #[test]
    fn before_a_file_is_attached_and_in_tiny_areas() {
        let mut t = mix::record(0);
        t.pagers[0].files.clear();
        let h = History::new();
        let ctx = Ctx {
            t: &t,
            h: &h,
            theme: &Theme::default(),
        };
        let term = render(70, 6, |f, a| draw(f, a, &ctx, false, 0));
        assert!(
            screen_text(&term).contains("no file attached yet"),
            "{}",
            term.backend()
        );
        let t = mix::record(2);
        let ctx = Ctx {
            t: &t,
            h: &h,
            theme: &Theme::default(),
        };
        for (w, h) in [(1, 1), (8, 3), (20, 10), (49, 4), (200, 3)] {
            render(w, h, |f, a| draw(f, a, &ctx, false, 7));
        }
    }

    #[test]
    fn bars_are_proportional_to_the_budget() {
        assert_eq!(bar(0, 100, 10), "");
        assert_eq!(bar(50, 100, 10), "█████");
        assert_eq!(bar(1, 100, 10), "█", "any page shows");
        assert_eq!(bar(500, 100, 4), "████", "capped");
        assert_eq!(bar(5, 0, 4), "");
    }
}
