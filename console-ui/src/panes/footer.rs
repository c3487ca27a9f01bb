//! The footer, always on screen: title, current policy, machine, vCPUs,
//! machine time, refresh interval, link state (live, finished, frozen,
//! disconnected), the last status message, and how to get help.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{fit, fmt_ns};
use crate::dashboard::{Dashboard, Link};
use crate::input::Command;

fn badge(text: &str, bg: Color) -> Span<'static> {
    Span::styled(
        format!(" {text} "),
        Style::default()
            .fg(Color::Black)
            .bg(bg)
            .add_modifier(Modifier::BOLD),
    )
}

/// One piece of the footer; narrow terminals drop the least important.
struct Part {
    spans: Vec<Span<'static>>,
    /// Set apart from the piece before by a bar (badges are not).
    barred: bool,
    /// Pieces with lower rank go first.
    rank: u8,
}

fn width(spans: &[Span]) -> usize {
    spans.iter().map(Span::width).sum()
}

/// The footer's pieces in display order (the status message apart).
fn parts(d: &Dashboard) -> Vec<Part> {
    let theme = &d.config().theme;
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let part = |rank, spans| Part {
        spans,
        barred: true,
        rank,
    };
    let mut v = vec![part(0, vec![Span::styled(d.title().to_string(), bold)])];
    match d.shown() {
        Some(t) => {
            v.push(part(
                9,
                vec![
                    Span::raw("policy "),
                    Span::styled(t.policy.clone(), bold.fg(theme.focus)),
                ],
            ));
            v.push(part(
                5,
                vec![Span::raw(format!("{} · {} vCPU", t.machine, t.cpus))],
            ));
            v.push(part(
                2,
                vec![Span::raw(format!("machine {}", fmt_ns(t.machine_ns)))],
            ));
        }
        None => v.push(part(
            9,
            vec![Span::styled("no telemetry yet", theme.muted_style())],
        )),
    }
    v.push(part(
        4,
        vec![Span::raw(format!("refresh {}ms", d.refresh_ms()))],
    ));
    let mut badges = vec![match d.link() {
        Link::Waiting => badge("connecting", theme.warn),
        Link::Lost(_) => badge("disconnected", theme.bad),
        Link::Live if d.is_finished() => badge("finished", theme.warn),
        Link::Live => badge("live", theme.good),
    }];
    if d.is_frozen() {
        badges.push(Span::raw(" "));
        badges.push(badge("FROZEN", theme.warn));
    }
    v.push(Part {
        spans: badges,
        barred: false,
        rank: 8,
    });
    v
}

/// The footer's text, fitted to `room` cells: the least important pieces
/// are dropped first, then the status message is cut.
pub fn spans(d: &Dashboard, room: usize) -> Vec<Span<'static>> {
    let theme = &d.config().theme;
    let sep = " │ ";
    let mut parts = parts(d);
    let total = |ps: &[Part]| {
        ps.iter().map(|p| width(&p.spans)).sum::<usize>()
            + sep.len() * ps.len().saturating_sub(1)
            + 1
    };
    while parts.len() > 1 && total(&parts) > room {
        let lowest = parts
            .iter()
            .enumerate()
            .min_by_key(|(_, p)| p.rank)
            .map_or(0, |(i, _)| i);
        parts.remove(lowest);
    }
    let mut out = vec![Span::raw(" ")];
    for (i, p) in parts.into_iter().enumerate() {
        if i > 0 {
            out.push(if p.barred {
                Span::styled(sep, theme.muted_style())
            } else {
                Span::raw(" ")
            });
        }
        out.extend(p.spans);
    }
    let status = d.status().map(|st| (st.text.clone(), st.error));
    let used = width(&out);
    if let Some((text, error)) = status {
        let left = room.saturating_sub(used + 1);
        if left > 1 {
            let style = Style::default().fg(if error { theme.bad } else { theme.warn });
            out.push(Span::raw(" "));
            out.push(Span::styled(
                fit(&text, u16::try_from(left).unwrap_or(u16::MAX)),
                style,
            ));
        }
    }
    out
}

/// Draws the one-line footer into `area`.
pub fn draw(frame: &mut Frame, area: Rect, d: &Dashboard) {
    let theme = &d.config().theme;
    let help_key = d
        .config()
        .keymap
        .keys_for(Command::Help)
        .first()
        .map_or_else(|| "F1".to_string(), |k| k.to_string());
    let help_w = u16::try_from(help_key.chars().count() + 7).unwrap_or(u16::MAX);
    let [left, right] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(help_w)]).areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(spans(d, usize::from(left.width)))),
        left,
    );
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::raw(" "),
            Span::styled(help_key, theme.header_style()),
            Span::styled(" help ", theme.muted_style()),
        ])),
        right,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    fn text(d: &Dashboard, room: usize) -> (String, usize) {
        let s = spans(d, room);
        (s.iter().map(|s| s.content.as_ref()).collect(), width(&s))
    }

    #[test]
    fn narrow_footers_keep_policy_and_state() {
        let mut d = Dashboard::new(crate::Config::default(), "spin demo");
        d.update(fixture::record(0));
        let (wide, _) = text(&d, 200);
        assert!(
            wide.contains("spin demo") && wide.contains("machine "),
            "{wide}"
        );
        let (narrow, w) = text(&d, 40);
        assert!(w <= 40, "{narrow}");
        assert!(
            narrow.contains("policy stride") && narrow.contains(" live "),
            "{narrow}"
        );
        assert!(!narrow.contains("spin demo"), "{narrow}");
        d.set_status("a long message that will not fit in a narrow footer", true);
        let (cut, w) = text(&d, 60);
        assert!(w <= 60 && cut.ends_with('…'), "{cut}");
    }
}
