//! The video mounds: the selected client's live frame drawn with
//! half-block characters (`▀`, the upper pixel as foreground and the lower
//! as background), and each mound's counters — a client's frames per
//! second, late and dropped frames and its display strand's deadline
//! misses; a server's frames, subscribers and packets.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use spin_vmm::video::{fit_inside, scale_rgb, Thumbnail, VideoMoundTelemetry};

use super::{fit, fmt_count, pane_block, Ctx};
use crate::pane::Pane;
use crate::theme::Theme;

/// Columns of the counters beside the picture.
pub const STATS_W: u16 = 28;

/// The pane's width for a height of `rows` (borders included): a 4:3
/// picture filling the height, and the counters.
pub fn width(rows: u16) -> u16 {
    let px_rows = u32::from(rows.saturating_sub(2)) * 2;
    let cols = u16::try_from(px_rows * 4 / 3).unwrap_or(u16::MAX);
    cols.saturating_add(STATS_W).saturating_add(3)
}

/// The thumbnail fitted inside `area` (two pixels a cell, keeping its
/// aspect ratio, centred) as (x, y, top colour, bottom colour) cells; none
/// for a damaged thumbnail.
pub fn cells(th: &Thumbnail, area: Rect) -> Vec<(u16, u16, Color, Color)> {
    let Ok(px) = th.pixels() else {
        return Vec::new();
    };
    if area.width == 0 || area.height == 0 {
        return Vec::new();
    }
    let (w, h) = fit_inside(
        th.width,
        th.height,
        area.width,
        area.height.saturating_mul(2),
    );
    let scaled = scale_rgb(&px, th.width, th.height, w, h);
    let rows = h.div_ceil(2);
    let x0 = area.x + (area.width - w) / 2;
    let y0 = area.y + (area.height - rows) / 2;
    let at = |x: u16, y: u16| -> Color {
        if y >= h {
            return Color::Black;
        }
        let o = (usize::from(y) * usize::from(w) + usize::from(x)) * 3;
        Color::Rgb(scaled[o], scaled[o + 1], scaled[o + 2])
    };
    let mut out = Vec::with_capacity(usize::from(w) * usize::from(rows));
    for r in 0..rows {
        for c in 0..w {
            out.push((x0 + c, y0 + r, at(c, 2 * r), at(c, 2 * r + 1)));
        }
    }
    out
}

fn paint(buf: &mut Buffer, cells: &[(u16, u16, Color, Color)]) {
    for &(x, y, top, bottom) in cells {
        if let Some(cell) = buf.cell_mut((x, y)) {
            cell.set_symbol("▀").set_fg(top).set_bg(bottom);
        }
    }
}

fn name_of(v: &VideoMoundTelemetry) -> &str {
    match v {
        VideoMoundTelemetry::Server { name, .. } | VideoMoundTelemetry::Client { name, .. } => name,
    }
}

/// The counters of every video mound, the one whose frame is drawn
/// (`shown`) marked.
fn stats_lines(ctx: &Ctx, shown: Option<usize>, width: u16) -> Vec<Line<'static>> {
    let theme: &Theme = ctx.theme;
    let mut lines = Vec::new();
    for (i, v) in ctx.t.video.iter().enumerate() {
        let mark = if Some(i) == shown { "▶ " } else { "  " };
        let kind = match v {
            VideoMoundTelemetry::Server { .. } => "server",
            VideoMoundTelemetry::Client { .. } => "client",
        };
        lines.push(Line::from(vec![
            Span::styled(mark, Style::default().fg(theme.focus)),
            Span::styled(
                fit(name_of(v), width.saturating_sub(10)),
                theme.header_style(),
            ),
            Span::styled(format!(" {kind}"), theme.muted_style()),
        ]));
        match v {
            VideoMoundTelemetry::Client { video, .. } => {
                let miss = if video.deadline_misses > 0 {
                    theme.bad
                } else {
                    theme.good
                };
                lines.push(Line::from(format!(
                    "  {:.1} fps  shown {}",
                    video.fps,
                    fmt_count(video.displayed)
                )));
                lines.push(Line::from(format!(
                    "  late {}  dropped {}",
                    fmt_count(video.late_frames),
                    fmt_count(video.dropped_frames)
                )));
                lines.push(Line::from(vec![
                    Span::raw("  deadline misses "),
                    Span::styled(fmt_count(video.deadline_misses), Style::default().fg(miss)),
                ]));
                lines.push(Line::styled(
                    format!(
                        "  decoded {} · pool {}/{}",
                        fmt_count(video.decoded),
                        video.pool_allocated,
                        video.pool_capacity
                    ),
                    theme.muted_style(),
                ));
            }
            VideoMoundTelemetry::Server { stats, .. } => {
                lines.push(Line::from(format!(
                    "  frames {}  subscribers {}",
                    fmt_count(stats.frames),
                    stats.subscribers
                )));
                lines.push(Line::from(format!(
                    "  packets {}  relayed {}",
                    fmt_count(stats.sends),
                    fmt_count(stats.replicas)
                )));
            }
        }
    }
    lines
}

/// The thumbnail to draw: the selected mound's if it is a client, else
/// the first client's; with the client's index.
fn thumbnail<'a>(
    ctx: &Ctx<'a>,
    selected: usize,
) -> Option<(usize, &'a str, Option<&'a Thumbnail>)> {
    fn client(v: &VideoMoundTelemetry) -> Option<(&str, Option<&Thumbnail>)> {
        match v {
            VideoMoundTelemetry::Client { name, thumb, .. } => {
                Some((name.as_str(), thumb.as_ref()))
            }
            VideoMoundTelemetry::Server { .. } => None,
        }
    }
    let v = &ctx.t.video;
    let pick = |i: usize| v.get(i).and_then(client).map(|(n, t)| (i, n, t));
    pick(selected).or_else(|| (0..v.len()).find_map(pick))
}

/// Draws the pane; `selected` is the video mound marked (whose frame is
/// drawn, if it is a client).
pub fn draw(frame: &mut Frame, area: Rect, ctx: &Ctx, focused: bool, selected: usize) {
    let selected = selected.min(ctx.t.video.len().saturating_sub(1));
    let shown = thumbnail(ctx, selected);
    let title = match shown {
        Some((_, name, Some(th))) => format!("Video ({name}, frame {})", th.generation),
        Some((_, name, None)) => format!("Video ({name})"),
        None => "Video".into(),
    };
    let block = pane_block(Pane::Video, title, focused, ctx.theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let stats_w = STATS_W.min(inner.width / 2).max(inner.width.min(12));
    let [picture, _, stats] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(stats_w),
    ])
    .areas(inner);
    let lines = stats_lines(ctx, shown.map(|s| s.0), stats.width);
    frame.render_widget(Paragraph::new(lines), stats);
    match shown {
        Some((_, _, Some(th))) => {
            let cells = cells(th, picture);
            if cells.is_empty() && picture.width > 0 {
                let damaged = Paragraph::new("damaged frame").style(ctx.theme.muted_style());
                frame.render_widget(damaged, picture);
            }
            paint(frame.buffer_mut(), &cells);
        }
        Some((_, _, None)) => {
            let text = Paragraph::new("no frame in the record").style(ctx.theme.muted_style());
            frame.render_widget(text, picture);
        }
        None => {
            let text = Paragraph::new("no video client").style(ctx.theme.muted_style());
            frame.render_widget(text, picture);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::mix;
    use crate::history::History;
    use crate::panes::tests::render;

    #[test]
    fn the_frame_is_drawn_with_half_blocks_in_its_colours() {
        let t = mix::record(3);
        let h = History::new();
        let ctx = Ctx {
            t: &t,
            h: &h,
            theme: &Theme::default(),
        };
        let term = render(60, 12, |f, a| draw(f, a, &ctx, true, 0));
        let buf = term.backend().buffer();
        let halves: Vec<_> = buf.content.iter().filter(|c| c.symbol() == "▀").collect();
        // 10 rows of 20 pixels: a 26×20 picture, 26×10 cells.
        assert_eq!(halves.len(), 26 * 10, "{}", term.backend());
        // The leftmost bar is white, the rightmost black; the lowest
        // quarter is dimmed: where it starts a cell's top pixel is bright
        // and its bottom one dim.
        assert_eq!(halves[0].fg, Color::Rgb(235, 235, 235));
        assert_eq!(halves[0].bg, Color::Rgb(235, 235, 235));
        assert_eq!(halves[25].fg, Color::Rgb(16, 16, 16));
        let edge = halves[26 * 7];
        assert_eq!(
            (edge.fg, edge.bg),
            (Color::Rgb(235, 235, 235), Color::Rgb(117, 117, 117))
        );
        let text: String = buf.content.iter().map(|c| c.symbol()).collect();
        for want in [
            "Video (viewer, frame 118)",
            "29.7 fps",
            "late 2  dropped 1",
            "deadline misses 0",
            "  tv server",
            "▶ viewer client",
            "subscribers 1",
            "packets 1200",
        ] {
            assert!(text.contains(want), "{want:?} not in\n{}", term.backend());
        }
        insta::assert_snapshot!(term.backend());
    }

    #[test]
    fn a_zoomed_pane_draws_a_bigger_picture_and_tiny_ones_do_not_panic() {
        let t = mix::record(0);
        let h = History::new();
        let ctx = Ctx {
            t: &t,
            h: &h,
            theme: &Theme::default(),
        };
        let term = render(140, 44, |f, a| draw(f, a, &ctx, true, 1));
        let n = term
            .backend()
            .buffer()
            .content
            .iter()
            .filter(|c| c.symbol() == "▀")
            .count();
        assert_eq!(n, 96 * 36, "the whole 96×72 thumbnail, never enlarged");
        for (w, h) in [(1, 1), (5, 3), (12, 4), (20, 10), (30, 5)] {
            render(w, h, |f, a| draw(f, a, &ctx, false, 9));
        }
        let mut bad = mix::record(0);
        if let VideoMoundTelemetry::Client {
            thumb: Some(th), ..
        } = &mut bad.video[1]
        {
            th.rgb = "!!".into();
        }
        let ctx = Ctx {
            t: &bad,
            h: &h,
            theme: &Theme::default(),
        };
        let term = render(60, 12, |f, a| draw(f, a, &ctx, false, 1));
        let text: String = term
            .backend()
            .buffer()
            .content
            .iter()
            .map(|c| c.symbol())
            .collect();
        assert!(text.contains("damaged frame"), "{}", term.backend());
    }

    #[test]
    fn width_leaves_room_for_a_four_by_three_picture() {
        assert_eq!(width(12), 26 + STATS_W + 3);
        assert_eq!(width(0), STATS_W + 3);
    }
}
