//! The global scheduler: current policy, strand counts, fairness index,
//! watchdog state, CPU share per mound and the swap history.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use spin_scheduler::SchedTelemetry;

use super::mounds::bar;
use super::{fit, fmt_ns, pane_block, Ctx};
use crate::pane::Pane;
use crate::strands_view::mound_name;
use crate::theme::Theme;

fn label(text: &str, theme: &Theme) -> Span<'static> {
    Span::styled(format!("{text:<9}"), theme.header_style())
}

fn watchdog_lines(s: &SchedTelemetry, theme: &Theme, width: u16) -> Vec<Line<'static>> {
    let w = &s.watchdog;
    if !w.enabled {
        return vec![Line::from(vec![
            label("watchdog", theme),
            Span::styled("off", theme.muted_style()),
        ])];
    }
    let ratio = if w.bound == 0 {
        0.0
    } else {
        w.oldest_wait as f64 / w.bound as f64
    };
    let color = match ratio {
        r if r >= 0.75 => theme.bad,
        r if r >= 0.25 => theme.warn,
        _ => theme.good,
    };
    let mut lines = vec![
        Line::from(vec![
            label("watchdog", theme),
            Span::styled("armed", Style::default().fg(theme.good)),
            Span::raw(format!(
                " · bound {} · fired {}",
                fmt_ns(w.bound),
                w.firings
            )),
        ]),
        Line::from(vec![
            Span::raw(" ".repeat(9)),
            Span::raw("oldest wait "),
            Span::styled(bar(ratio, 10), Style::default().fg(color)),
            Span::raw(format!(" {}", fmt_ns(w.oldest_wait))),
        ]),
    ];
    if let Some(last) = &w.last {
        let text = format!(
            "last {}: {} reverted, strand {} waited {}",
            fmt_ns(last.at),
            last.policy,
            last.strand.0,
            fmt_ns(last.waited)
        );
        lines.push(Line::from(vec![
            Span::raw(" ".repeat(9)),
            Span::styled(
                fit(&text, width.saturating_sub(9)),
                Style::default().fg(theme.warn),
            ),
        ]));
    }
    lines
}

/// Draws the pane.
pub fn draw(frame: &mut Frame, area: Rect, ctx: &Ctx, focused: bool) {
    let theme = ctx.theme;
    let s = &ctx.t.sched;
    let block = pane_block(Pane::Scheduler, "Scheduler".into(), focused, theme);
    let inner = block.inner(area);
    let width = inner.width;
    let fair_color = match s.fairness {
        f if f >= 0.9 => theme.good,
        f if f >= 0.6 => theme.warn,
        _ => theme.bad,
    };
    let mut lines = vec![
        Line::from(vec![
            label("policy", theme),
            Span::styled(
                ctx.t.policy.clone(),
                Style::default()
                    .fg(theme.focus)
                    .add_modifier(Modifier::BOLD),
            ),
            Span::styled("  (P swaps)", theme.muted_style()),
        ]),
        Line::from(vec![
            label("strands", theme),
            Span::raw(format!(
                "{} running · {} ready · {} blocked · {} exited",
                s.running, s.runnable, s.blocked, s.exited
            )),
        ]),
        Line::from(vec![
            label("fairness", theme),
            Span::styled(bar(s.fairness, 10), Style::default().fg(fair_color)),
            Span::raw(format!(" {:.3}", s.fairness)),
            Span::styled(" Jain, by weight", theme.muted_style()),
        ]),
    ];
    lines.extend(watchdog_lines(s, theme, width));
    let mut share = vec![label("cpu", theme)];
    for (i, m) in s.mounds.iter().enumerate() {
        if i > 0 {
            share.push(Span::raw(" · "));
        }
        share.push(Span::styled(
            format!("{} {:.1}%", mound_name(ctx.t, m.mound), m.cpu_share * 100.0),
            Style::default().fg(theme.mound(m.mound)),
        ));
    }
    lines.push(Line::from(share));
    lines.push(Line::from(vec![
        label("swaps", theme),
        Span::raw(format!("{} in all", s.swaps_total)),
        Span::styled(
            if s.swaps.is_empty() {
                ""
            } else {
                ", newest first:"
            },
            theme.muted_style(),
        ),
    ]));
    for sw in s.swaps.iter().rev() {
        let who_style = if sw.who == "watchdog" {
            Style::default().fg(theme.warn)
        } else {
            theme.muted_style()
        };
        let main = format!(" {:>8} {} → {}", fmt_ns(sw.at), sw.from, sw.to);
        let rest = format!("  {} · {} · {} moved", sw.who, sw.why, sw.moved);
        let room = width.saturating_sub(u16::try_from(main.chars().count()).unwrap_or(u16::MAX));
        lines.push(Line::from(vec![
            Span::raw(main),
            Span::styled(fit(&rest, room), who_style),
        ]));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;
    use crate::history::History;
    use crate::panes::tests::render;
    use crate::theme::Theme;

    #[test]
    fn snapshot() {
        let t = fixture::record(4);
        let h = History::new();
        let ctx = Ctx {
            t: &t,
            h: &h,
            theme: &Theme::default(),
        };
        let term = render(60, 14, |f, a| draw(f, a, &ctx, false));
        insta::assert_snapshot!(term.backend());
    }

    #[test]
    fn watchdog_off_and_no_swaps() {
        let mut t = fixture::record(0);
        t.sched.watchdog.enabled = false;
        t.sched.swaps.clear();
        t.sched.swaps_total = 0;
        let h = History::new();
        let ctx = Ctx {
            t: &t,
            h: &h,
            theme: &Theme::default(),
        };
        let term = render(60, 10, |f, a| draw(f, a, &ctx, true));
        insta::assert_snapshot!(term.backend());
    }
}
