//! The policy popup: lists `POLICY_NAMES`; Enter asks for a swap.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Clear, List, ListItem, ListState};
use ratatui::Frame;
use spin_scheduler::POLICY_NAMES;

/// A `w`×`h` rectangle centred in `area` (clipped to it).
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Draws the popup over `area` with `selected` highlighted; `current` (the
/// running policy) is marked.
pub fn draw(frame: &mut Frame, area: Rect, selected: usize, current: Option<&str>) {
    let items: Vec<ListItem> = POLICY_NAMES
        .iter()
        .map(|&n| {
            let mark = if Some(n) == current { " (running)" } else { "" };
            ListItem::new(format!("{n}{mark}"))
        })
        .collect();
    let h = u16::try_from(POLICY_NAMES.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let popup = centered(area, 32, h);
    let list = List::new(items)
        .block(Block::bordered().title(" Swap policy (Enter/Esc) "))
        .highlight_style(
            Style::default()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        )
        .highlight_symbol("> ");
    let mut state = ListState::default().with_selected(Some(selected));
    frame.render_widget(Clear, popup);
    frame.render_stateful_widget(list, popup, &mut state);
}
