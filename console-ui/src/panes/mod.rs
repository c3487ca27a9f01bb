//! One file per pane. Each draws from a [`Ctx`] (the record, the history
//! and the theme) and keeps no state of its own: selections and scroll
//! offsets are passed in by the [`Dashboard`](crate::Dashboard).

pub mod events;
pub mod footer;
pub mod help;
pub mod log;
pub mod mounds;
pub mod net;
pub mod pager;
pub mod pages;
pub mod popup;
pub mod scheduler;
pub mod strands;
pub mod vcpus;
pub mod video;

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use spin_vmm::control::Telemetry;

use crate::history::History;
use crate::pane::Pane;
use crate::theme::Theme;

/// What every pane draws from.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    /// The record.
    pub t: &'a Telemetry,
    /// What the dashboard remembers across records.
    pub h: &'a History,
    /// Colours.
    pub theme: &'a Theme,
}

/// A bordered block titled `title` with the pane's number (the key that
/// focuses it), highlighted when the pane has focus.
pub fn pane_block(pane: Pane, title: String, focused: bool, theme: &Theme) -> Block<'static> {
    let n = pane.digit();
    let (border, title_style) = if focused {
        let s = Style::default().fg(theme.focus);
        (s, s.add_modifier(Modifier::BOLD))
    } else {
        (
            Style::default().fg(theme.border),
            Style::default().add_modifier(Modifier::BOLD),
        )
    };
    Block::bordered()
        .border_style(border)
        .title(Line::styled(format!(" {n} {title} "), title_style))
}

/// Draws `pane`'s block with a "waiting for telemetry" line (before the
/// first record).
pub fn placeholder(frame: &mut Frame, area: Rect, pane: Pane, focused: bool, theme: &Theme) {
    let block = pane_block(pane, pane.title().into(), focused, theme);
    let text = Paragraph::new("waiting for telemetry…")
        .style(theme.muted_style())
        .block(block);
    frame.render_widget(text, area);
}

/// Where a table with `widths` puts its columns in `area` (as ratatui's
/// `Table` does with no highlight column: start-aligned, one space apart).
pub fn table_columns(area: Rect, widths: &[Constraint]) -> Vec<Rect> {
    Layout::horizontal(widths.iter().copied())
        .flex(Flex::Start)
        .spacing(1)
        .split(area)
        .to_vec()
}

/// `s` cut to `width` characters, ending in `…` when cut.
pub fn fit(s: &str, width: u16) -> String {
    let width = usize::from(width);
    if s.chars().count() <= width {
        s.to_string()
    } else if width == 0 {
        String::new()
    } else {
        let mut out: String = s.chars().take(width - 1).collect();
        out.push('…');
        out
    }
}

/// A duration in ns as a short human string: `950ns`, `12.3µs`, `4.0ms`,
/// `1.20s`, `2m03s`, `1h02m`.
pub fn fmt_ns(ns: u64) -> String {
    match ns {
        0..=999 => format!("{ns}ns"),
        1_000..=999_999 => format!("{:.1}µs", ns as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.1}ms", ns as f64 / 1e6),
        1_000_000_000..=59_999_999_999 => format!("{:.2}s", ns as f64 / 1e9),
        _ => {
            let s = ns / 1_000_000_000;
            if s < 3600 {
                format!("{}m{:02}s", s / 60, s % 60)
            } else {
                format!("{}h{:02}m", s / 3600, (s / 60) % 60)
            }
        }
    }
}

/// A count with a k/M suffix past ten thousand (`9999`, `12.3k`, `4.5M`).
pub fn fmt_count(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// A per-second rate (`0`, `4.2`, `37`, `1.2k`).
pub fn fmt_rate(r: f64) -> String {
    if r <= 0.0 {
        "0".into()
    } else if r < 10.0 {
        format!("{r:.1}")
    } else if r < 10_000.0 {
        format!("{r:.0}")
    } else {
        format!("{:.1}k", r / 1e3)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use ratatui::backend::TestBackend;
    use ratatui::layout::Rect;
    use ratatui::{Frame, Terminal};

    use super::*;

    /// Draws with `f` into a `w`×`h` test terminal and returns it.
    pub(crate) fn render(
        w: u16,
        h: u16,
        f: impl FnOnce(&mut Frame, Rect),
    ) -> Terminal<TestBackend> {
        let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend never fails");
        term.draw(|frame| {
            let area = frame.area();
            f(frame, area);
        })
        .expect("test backend never fails");
        term
    }

    #[test]
    fn formats() {
        assert_eq!(fmt_ns(950), "950ns");
        assert_eq!(fmt_ns(12_345), "12.3µs");
        assert_eq!(fmt_ns(4_000_000), "4.0ms");
        assert_eq!(fmt_ns(1_200_000_000), "1.20s");
        assert_eq!(fmt_ns(123_000_000_000), "2m03s");
        assert_eq!(fmt_ns(3_720_000_000_000), "1h02m");
        assert_eq!(fmt_count(9_999), "9999");
        assert_eq!(fmt_count(12_345), "12.3k");
        assert_eq!(fmt_count(4_500_000), "4.5M");
        assert_eq!(fmt_rate(0.0), "0");
        assert_eq!(fmt_rate(4.24), "4.2");
        assert_eq!(fmt_rate(37.4), "37");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
        assert_eq!(fit("abc", 0), "");
    }
}
