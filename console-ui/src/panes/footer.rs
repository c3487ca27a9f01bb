//! Footer: running policy, swap count, watchdog, freeze marker and key help.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::fmt_ns;
use crate::Snapshot;

/// Key help shown at the end of the footer.
pub const HELP: &str = "Tab pane  s sort  f freeze  P policy  q quit";

/// Draws the one-line footer into `area`.
pub fn draw(frame: &mut Frame, area: Rect, snap: Option<&Snapshot>, frozen: bool) {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mut spans = Vec::new();
    if frozen {
        spans.push(Span::styled(
            " FROZEN ",
            Style::default().fg(Color::Black).bg(Color::Yellow),
        ));
        spans.push(Span::raw(" "));
    }
    match snap {
        Some(s) => {
            let s = &s.sched;
            spans.push(Span::styled(format!("policy {}", s.policy), bold));
            spans.push(Span::raw(format!(" │ swaps {}", s.swaps_total)));
            if let Some(last) = s.swaps.last() {
                spans.push(Span::raw(format!(
                    " (last {}→{} by {})",
                    last.from, last.to, last.who
                )));
            }
            spans.push(Span::raw(format!(" │ fairness {:.2}", s.fairness)));
            let w = &s.watchdog;
            if w.enabled {
                spans.push(Span::raw(format!(
                    " │ watchdog {} fired {}",
                    fmt_ns(w.bound),
                    w.firings
                )));
            }
        }
        None => spans.push(Span::raw("no telemetry yet")),
    }
    spans.push(Span::styled(
        format!(" │ {HELP}"),
        Style::default().fg(Color::DarkGray),
    ));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
