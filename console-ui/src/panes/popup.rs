//! Popups: the global policy list and a database pager's policy list
//! (Enter asks for confirmation), and the yes/no confirmation itself.

use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, List, ListItem, ListState, Paragraph, Wrap};
use ratatui::Frame;
use spin_scheduler::POLICY_NAMES;

use crate::dashboard::{Confirm, PAGER_POLICIES};
use crate::theme::Theme;

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

fn popup_block(title: &str, theme: &Theme) -> Block<'static> {
    Block::bordered()
        .border_style(Style::default().fg(theme.focus))
        .title(Line::styled(
            format!(" {title} "),
            Style::default().add_modifier(Modifier::BOLD),
        ))
}

/// What each policy does, in a few words.
pub fn describe(policy: &str) -> &'static str {
    match policy {
        "rr-priority" => "round robin within priority",
        "stride" => "proportional share, exact",
        "lottery" => "proportional share, random",
        "edf" => "earliest deadline first",
        "fair" => "CFS-like virtual runtime",
        _ => "",
    }
}

/// What each page replacement policy does, in a few words.
pub fn describe_pager(policy: &str) -> &'static str {
    match policy {
        "clock" => "second chance, simulated ref bits",
        "lru" => "least recently used",
        "mru" => "most recently used (loops)",
        "2q" => "FIFO for first use, then LRU",
        "hinted" => "the database's hints: scan ring",
        "opt" => "Belady, replays a recorded trace",
        _ => "",
    }
}

/// Draws the policy list over `area` with entry `selected` highlighted and
/// `current` (the running policy) marked.
pub fn draw_policies(
    frame: &mut Frame,
    area: Rect,
    selected: usize,
    current: Option<&str>,
    theme: &Theme,
) {
    let list = Listed {
        title: "Swap global policy".into(),
        names: POLICY_NAMES,
        describe,
        width: 48,
        action: "swap",
    };
    draw_list(frame, area, &list, selected, current, theme);
}

/// Draws mound `name`'s page replacement policy list over `area` with
/// entry `selected` of [`PAGER_POLICIES`] highlighted and `current` marked.
pub fn draw_pager_policies(
    frame: &mut Frame,
    area: Rect,
    name: &str,
    selected: usize,
    current: Option<&str>,
    theme: &Theme,
) {
    let list = Listed {
        title: format!("Pager policy of {name}"),
        names: &PAGER_POLICIES,
        describe: describe_pager,
        width: 54,
        action: "switch",
    };
    draw_list(frame, area, &list, selected, current, theme);
}

/// A popup list of policies.
struct Listed<'a> {
    title: String,
    names: &'a [&'a str],
    describe: fn(&str) -> &'static str,
    width: u16,
    /// What Enter does (`swap`, `switch`).
    action: &'static str,
}

fn draw_list(
    frame: &mut Frame,
    area: Rect,
    l: &Listed,
    selected: usize,
    current: Option<&str>,
    theme: &Theme,
) {
    let names = l.names;
    let describe = l.describe;
    let items: Vec<ListItem> = names
        .iter()
        .map(|&n| {
            let mark = if Some(n) == current { "●" } else { " " };
            ListItem::new(Line::from(vec![
                Span::styled(format!("{mark} "), Style::default().fg(theme.good)),
                Span::styled(
                    format!("{n:<12}"),
                    Style::default().add_modifier(Modifier::BOLD),
                ),
                Span::styled(describe(n), theme.muted_style()),
            ]))
        })
        .collect();
    let h = u16::try_from(names.len())
        .unwrap_or(u16::MAX)
        .saturating_add(3);
    let popup = centered(area, l.width, h);
    let hint = format!(" ↑↓ choose · Enter {} · Esc close ", l.action);
    let list = List::new(items)
        .block(
            popup_block(&l.title, theme)
                .title_bottom(Line::styled(hint, theme.muted_style()).centered()),
        )
        .highlight_style(theme.selected_style())
        .highlight_symbol("▶ ");
    let mut state = ListState::default().with_selected(Some(selected));
    frame.render_widget(Clear, popup);
    frame.render_stateful_widget(list, popup, &mut state);
}

/// Draws the confirmation question over `area`.
pub fn draw_confirm(
    frame: &mut Frame,
    area: Rect,
    c: &Confirm,
    current: Option<&str>,
    theme: &Theme,
) {
    let question = match c {
        Confirm::Policy(p) => match current {
            Some(cur) if cur == p => format!("{p} is already running. Swap to it anyway?"),
            Some(cur) => format!("Swap the global policy from {cur} to {p}?"),
            None => format!("Swap the global policy to {p}?"),
        },
        Confirm::StopMound { id, name } => {
            format!("Stop mound {} ({name})? Its strands are killed.", id.0)
        }
        Confirm::PagerPolicy {
            name,
            current,
            policy,
            ..
        } => match current {
            Some(cur) if cur == policy => {
                format!("{name}'s pager already runs {policy}. Switch to it anyway?")
            }
            Some(cur) => format!("Switch {name}'s pager from {cur} to {policy}?"),
            None => format!("Switch {name}'s pager to {policy}?"),
        },
    };
    let text = vec![
        Line::from(question),
        Line::from(""),
        Line::from(vec![
            Span::styled("y", theme.header_style()),
            Span::raw("/"),
            Span::styled("Enter", theme.header_style()),
            Span::raw(" yes    "),
            Span::styled("n", theme.header_style()),
            Span::raw("/"),
            Span::styled("Esc", theme.header_style()),
            Span::raw(" no"),
        ]),
    ];
    let popup = centered(area, 52, 6);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(text)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true })
            .block(popup_block("Confirm", theme)),
        popup,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::panes::tests::render;
    use spin_kernel::MoundId;

    #[test]
    fn every_policy_is_described() {
        for p in POLICY_NAMES {
            assert!(!describe(p).is_empty(), "{p}");
        }
    }

    #[test]
    fn policies_snapshot() {
        let term = render(60, 10, |f, a| {
            draw_policies(f, a, 1, Some("rr-priority"), &Theme::default());
        });
        insta::assert_snapshot!(term.backend());
    }

    #[test]
    fn confirm_snapshots() {
        let theme = Theme::default();
        let swap = render(60, 8, |f, a| {
            draw_confirm(
                f,
                a,
                &Confirm::Policy("stride".into()),
                Some("rr-priority"),
                &theme,
            );
        });
        insta::assert_snapshot!("confirm_swap", swap.backend());
        let stop = render(60, 8, |f, a| {
            let c = Confirm::StopMound {
                id: MoundId(2),
                name: "shell".into(),
            };
            draw_confirm(f, a, &c, None, &theme);
        });
        insta::assert_snapshot!("confirm_stop", stop.backend());
    }

    #[test]
    fn pager_policies_snapshot() {
        for p in PAGER_POLICIES {
            assert!(!describe_pager(p).is_empty(), "{p}");
        }
        let term = render(60, 10, |f, a| {
            draw_pager_policies(f, a, "db", 4, Some("hinted"), &Theme::default());
        });
        insta::assert_snapshot!(term.backend());
    }

    #[test]
    fn centered_clips() {
        let r = centered(Rect::new(0, 0, 10, 4), 20, 2);
        assert_eq!(r, Rect::new(0, 1, 10, 2));
    }
}
