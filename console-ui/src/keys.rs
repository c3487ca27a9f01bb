//! Keys to actions: a pure state machine over [`Dashboard`].

use spin_scheduler::POLICY_NAMES;

use crate::dashboard::Dashboard;

/// A key press, independent of any terminal library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A printable character (case matters: `P` opens the policy popup).
    Char(char),
    /// Tab.
    Tab,
    /// Enter / Return.
    Enter,
    /// Escape.
    Esc,
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
}

/// What the caller should do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing beyond redrawing.
    None,
    /// Leave the dashboard.
    Quit,
    /// Ask the kernel to swap the global policy to this name (one of
    /// [`POLICY_NAMES`]).
    SwapPolicy(String),
}

impl Dashboard {
    /// Applies `key` to the UI state and says what the caller should do.
    ///
    /// Outside the popup: Tab switches pane, `s` cycles the sort column, `f`
    /// toggles freeze, `P` opens the policy popup, `q` quits. In the popup:
    /// Up/Down move, Enter chooses, Esc or `q` closes it.
    pub fn on_key(&mut self, key: Key) -> Action {
        if let Some(i) = self.popup {
            return self.on_popup_key(i, key);
        }
        match key {
            Key::Tab => self.selected = self.selected.next(),
            Key::Char('s') => self.sort = self.sort.next(),
            Key::Char('f') => {
                self.frozen = match self.frozen {
                    Some(_) => None,
                    None => self.live.clone(),
                }
            }
            Key::Char('P') => {
                let current = self.shown().map(|s| s.sched.policy.as_str());
                let i = current
                    .and_then(|c| POLICY_NAMES.iter().position(|&n| n == c))
                    .unwrap_or(0);
                self.popup = Some(i);
            }
            Key::Char('q') => return Action::Quit,
            _ => {}
        }
        Action::None
    }

    fn on_popup_key(&mut self, i: usize, key: Key) -> Action {
        let n = POLICY_NAMES.len();
        match key {
            Key::Up => self.popup = Some((i + n - 1) % n),
            Key::Down => self.popup = Some((i + 1) % n),
            Key::Esc | Key::Char('q') => self.popup = None,
            Key::Enter => {
                self.popup = None;
                if let Some(name) = POLICY_NAMES.get(i) {
                    return Action::SwapPolicy((*name).to_string());
                }
            }
            _ => {}
        }
        Action::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::{Pane, SortColumn};
    use crate::panes::tests::sample;

    #[test]
    fn tab_cycles_panes() {
        let mut d = Dashboard::new();
        let mut seen = vec![d.selected()];
        for _ in 0..4 {
            assert_eq!(d.on_key(Key::Tab), Action::None);
            seen.push(d.selected());
        }
        assert_eq!(
            seen,
            [
                Pane::Mounds,
                Pane::Strands,
                Pane::Pages,
                Pane::Events,
                Pane::Mounds
            ]
        );
    }

    #[test]
    fn s_cycles_sort_and_wraps() {
        let mut d = Dashboard::new();
        for _ in 0..SortColumn::ALL.len() {
            d.on_key(Key::Char('s'));
        }
        assert_eq!(d.sort(), SortColumn::Id);
        d.on_key(Key::Char('s'));
        assert_eq!(d.sort(), SortColumn::Name);
    }

    #[test]
    fn q_quits() {
        assert_eq!(Dashboard::new().on_key(Key::Char('q')), Action::Quit);
    }

    #[test]
    fn freeze_keeps_cloned_snapshot() {
        let mut d = Dashboard::new();
        let (k, s) = sample();
        d.update(k.clone(), s.clone());
        d.on_key(Key::Char('f'));
        assert!(d.is_frozen());
        let mut s2 = s.clone();
        s2.policy = "stride".into();
        d.update(k.clone(), s2);
        assert_eq!(
            d.shown().map(|x| x.sched.policy.as_str()),
            Some("rr-priority")
        );
        d.on_key(Key::Char('f'));
        assert!(!d.is_frozen());
        assert_eq!(d.shown().map(|x| x.sched.policy.as_str()), Some("stride"));
    }

    #[test]
    fn policy_popup_enter_swaps() {
        let mut d = Dashboard::new();
        let (k, s) = sample();
        d.update(k, s);
        assert_eq!(d.on_key(Key::Char('P')), Action::None);
        // Opens on the running policy.
        assert_eq!(d.popup_selection(), Some("rr-priority"));
        // Keys other than the popup's own are swallowed while it is open.
        d.on_key(Key::Tab);
        assert_eq!(d.selected(), Pane::Mounds);
        d.on_key(Key::Down);
        assert_eq!(d.popup_selection(), Some(POLICY_NAMES[1]));
        assert_eq!(
            d.on_key(Key::Enter),
            Action::SwapPolicy(POLICY_NAMES[1].to_string())
        );
        assert_eq!(d.popup_selection(), None);
    }

    #[test]
    fn popup_wraps_and_esc_closes_without_quitting() {
        let mut d = Dashboard::new();
        d.on_key(Key::Char('P'));
        d.on_key(Key::Up);
        assert_eq!(d.popup_selection(), POLICY_NAMES.last().copied());
        assert_eq!(d.on_key(Key::Char('q')), Action::None);
        assert_eq!(d.popup_selection(), None);
        d.on_key(Key::Char('P'));
        assert_eq!(d.on_key(Key::Esc), Action::None);
        assert_eq!(d.on_key(Key::Enter), Action::None);
    }
}
