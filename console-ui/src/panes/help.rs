//! The help overlay: the keymap in force (remapped keys show as remapped),
//! the fixed navigation keys and the mouse. The optional panes' keys (vCPU
//! exits on the KVM machine; video, pager and network when the record has
//! their data) are listed only when they are on screen.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use super::popup::centered;
use crate::input::{Command, Keymap};
use crate::pane::Pane;
use crate::theme::Theme;

const FIXED: [(&str, &str); 8] = [
    ("↑ ↓", "select / scroll"),
    ("PgUp PgDn", "a page"),
    ("Home End", "first / last (End: log follows)"),
    ("← → Enter", "tree: collapse / expand"),
    ("Esc", "clear filter, unzoom, close"),
    ("click", "focus pane, select row (again: fold mound)"),
    ("click header", "sort by column (again: reverse)"),
    ("wheel", "scroll the pane under the pointer"),
];

fn entry(keys: String, what: &str, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{keys:>14}  "), theme.header_style()),
        Span::raw(what.to_string()),
    ])
}

/// The first key of `c`, or `-` if unbound.
fn first_key(keymap: &Keymap, c: Command) -> String {
    keymap
        .keys_for(c)
        .first()
        .map_or_else(|| "-".into(), |k| k.to_string())
}

/// The overlay's lines: commands, then navigation; the optional panes in
/// `shown` ([`Pane::OPTIONAL`] on screen) add theirs.
pub fn lines(
    keymap: &Keymap,
    theme: &Theme,
    shown: &[Pane],
) -> (Vec<Line<'static>>, Vec<Line<'static>>) {
    let kvm = shown.contains(&Pane::Vcpus);
    let listed = |c: Command| match c {
        Command::Focus(p) if Pane::OPTIONAL.contains(&p) => shown.contains(&p),
        Command::PagerPolicy => shown.contains(&Pane::Pager),
        _ => true,
    };
    let commands = Command::ALL
        .iter()
        .filter(|&&c| listed(c))
        .map(|&c| entry(keymap.label(c), c.describe(), theme))
        .collect();
    let mut nav: Vec<Line> = FIXED
        .iter()
        .map(|(k, w)| entry((*k).to_string(), w, theme))
        .collect();
    if kvm {
        let sorts = [Command::SortNext, Command::SortPrev, Command::SortReverse]
            .map(|c| first_key(keymap, c))
            .join(" ");
        nav.push(entry(sorts, "pane 7: sort by reason/count/rate", theme));
    }
    if shown.contains(&Pane::Video) {
        nav.push(entry("↑ ↓".into(), "video: whose frame is drawn", theme));
    }
    if shown.contains(&Pane::Pager) {
        nav.push(entry("↑ ↓".into(), "pager: which db-pager mound", theme));
    }
    nav.push(Line::from(""));
    nav.push(Line::styled(
        "  policy popup: ↑↓ or a letter, Enter, then y",
        theme.muted_style(),
    ));
    nav.push(Line::styled(
        "  keys and colours: ~/.config/spin/console.toml",
        theme.muted_style(),
    ));
    (commands, nav)
}

/// Draws the overlay over `area`, with the keys of the optional panes in
/// `shown`.
pub fn draw(frame: &mut Frame, area: Rect, keymap: &Keymap, theme: &Theme, shown: &[Pane]) {
    let (commands, nav) = lines(keymap, theme, shown);
    let rows = u16::try_from(commands.len().max(nav.len())).unwrap_or(u16::MAX);
    let popup = centered(area, 104, rows.saturating_add(2));
    let block = Block::bordered()
        .border_style(Style::default().fg(theme.focus))
        .title(Line::styled(
            " Help — any key closes ",
            Style::default().add_modifier(Modifier::BOLD),
        ));
    let inner = block.inner(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(block, popup);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner);
    frame.render_widget(Paragraph::new(commands), left);
    frame.render_widget(Paragraph::new(nav), right);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Key;
    use crate::panes::tests::render;

    #[test]
    fn snapshot() {
        let term = render(110, 26, |f, a| {
            draw(f, a, &Keymap::default(), &Theme::default(), &[]);
        });
        insta::assert_snapshot!(term.backend());
    }

    #[test]
    fn kvm_lists_the_vcpu_pane() {
        let text = |shown: &[Pane]| {
            let (commands, nav) = lines(&Keymap::default(), &Theme::default(), shown);
            commands
                .iter()
                .chain(&nav)
                .flat_map(|l| l.spans.iter().map(|s| s.content.to_string()))
                .collect::<String>()
        };
        let (alpha, kvm) = (text(&[]), text(&[Pane::Vcpus]));
        assert!(!alpha.contains("vCPU"), "{alpha}");
        assert!(kvm.contains("7  focus vCPU exits"), "{kvm}");
        assert!(kvm.contains("s S r  pane 7: sort by reason"), "{kvm}");
        assert!(
            !alpha.contains("Video") && !alpha.contains("pager"),
            "{alpha}"
        );
        let mix = text(&[Pane::Video, Pane::Pager, Pane::Network]);
        for want in [
            "8  focus Video",
            "9  focus Pager",
            "0  focus Network",
            "R  switch the db pager's policy",
        ] {
            assert!(mix.contains(want), "{want} not in {mix}");
        }
        assert!(!mix.contains("vCPU"), "{mix}");
    }

    #[test]
    fn shows_remapped_keys() {
        let mut map = Keymap::default();
        map.rebind(Command::Quit, &[Key::Char('x')]);
        let (commands, _) = lines(&map, &Theme::default(), &[]);
        let quit: String = commands[1]
            .spans
            .iter()
            .map(|s| s.content.as_ref())
            .collect();
        assert!(quit.trim_start().starts_with("x  quit"), "{quit}");
    }
}
