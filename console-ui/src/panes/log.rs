//! The host's log: guest output and kernel messages, newest at the bottom;
//! scrolling back stops following the tail until End.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Scrollbar, ScrollbarOrientation, ScrollbarState};
use ratatui::Frame;
use spin_kernel::MoundId;
use spin_vmm::control::LogLine;

use super::{fit, pane_block, Ctx};
use crate::log_tail::LogTail;
use crate::pane::Pane;

/// Host milliseconds as `s.mmm`.
pub fn fmt_host_ms(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

fn source_color(ctx: &Ctx, source: &str) -> Style {
    if source == "console" {
        return Style::default().fg(ctx.theme.warn);
    }
    let id = if source == "kernel" {
        Some(MoundId::KERNEL)
    } else {
        ctx.t.mounds.iter().find(|m| m.name == source).map(|m| m.id)
    };
    id.map_or(Style::default(), |m| {
        Style::default().fg(ctx.theme.mound(m))
    })
}

fn line(ctx: &Ctx, l: &LogLine, width: u16) -> Line<'static> {
    let stamp = format!("{:>8} ", fmt_host_ms(l.host_ms));
    let source = format!("{:<8} ", fit(&l.source, 8));
    let room = width.saturating_sub(18);
    Line::from(vec![
        Span::styled(stamp, ctx.theme.muted_style()),
        Span::styled(source, source_color(ctx, &l.source)),
        Span::raw(fit(&l.text, room)),
    ])
}

/// Draws `log`, `back` lines scrolled back from the newest. Returns the
/// body.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    ctx: &Ctx,
    focused: bool,
    log: &LogTail,
    back: usize,
) -> Rect {
    let log = log.lines();
    let title = if back == 0 {
        format!("Log ({} lines)", log.len())
    } else {
        format!("Log ({} lines · {back} back, End follows)", log.len())
    };
    let block = pane_block(Pane::Log, title, focused, ctx.theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let h = usize::from(inner.height);
    let end = log
        .len()
        .saturating_sub(back.min(log.len().saturating_sub(1)));
    let start = end.saturating_sub(h);
    let lines: Vec<Line> = log
        .range(start..end)
        .map(|l| line(ctx, l, inner.width))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
    if log.len() > h {
        let mut sb = ScrollbarState::new(log.len().saturating_sub(h)).position(start);
        frame.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight)
                .style(ctx.theme.muted_style())
                .begin_symbol(None)
                .end_symbol(None),
            area.inner(ratatui::layout::Margin::new(0, 1)),
            &mut sb,
        );
    }
    inner
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;
    use crate::history::History;
    use crate::panes::tests::render;
    use crate::theme::Theme;

    fn snap(back: usize) -> String {
        let t = fixture::record(4);
        let h = History::new();
        let ctx = Ctx {
            t: &t,
            h: &h,
            theme: &Theme::default(),
        };
        let mut log = LogTail::default();
        log.merge(&t.log);
        render(80, 8, |f, a| {
            draw(f, a, &ctx, false, &log, back);
        })
        .backend()
        .to_string()
    }

    #[test]
    fn follows_the_tail() {
        insta::assert_snapshot!(snap(0));
    }

    #[test]
    fn scrolled_back() {
        insta::assert_snapshot!(snap(4));
    }

    #[test]
    fn stamps() {
        assert_eq!(fmt_host_ms(4_300), "4.300");
        assert_eq!(fmt_host_ms(7), "0.007");
    }
}
