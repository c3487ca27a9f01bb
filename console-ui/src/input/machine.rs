//! Keys to actions: a pure state machine over [`Dashboard`], drivable and
//! testable without a terminal.
//!
//! Modes, innermost first: the help overlay (any key closes it), the
//! confirmation question (`y`/Enter confirm, `n`/Esc cancel), the policy
//! list (arrows, Enter, Esc, a policy's first letter), filter typing
//! (characters, Backspace, Enter keeps, Esc clears), and the normal mode
//! (navigation keys, then the keymap's commands).

use spin_scheduler::POLICY_NAMES;

use super::key::Key;
use super::keymap::Command;
use crate::dashboard::{Action, Confirm, Dashboard, Popup, PAGER_POLICIES};
use crate::pane::Pane;
use crate::strands_view::{Row, RowKey, SortKey};

/// Refresh intervals `+` and `-` step through, ms.
pub(crate) const REFRESH_STEPS: [u64; 9] = [100, 200, 250, 500, 1_000, 2_000, 3_000, 5_000, 10_000];

/// Rows a wheel notch scrolls.
pub(crate) const WHEEL_ROWS: isize = 3;

impl Dashboard {
    /// Applies `key` to the UI state and says what the caller should do.
    pub fn on_key(&mut self, key: Key) -> Action {
        if key == Key::Ctrl('c') && self.config.keymap.command(key) == Some(Command::Quit) {
            return Action::Quit;
        }
        if self.help {
            self.help = false;
            return Action::None;
        }
        match self.popup.clone() {
            Popup::Confirm(c) => return self.on_confirm_key(c, key),
            Popup::Policies(i) => return self.on_policies_key(i, key),
            Popup::PagerPolicies {
                mound,
                name,
                current,
                selected,
            } => return self.on_pager_policies_key(mound, name, current, selected, key),
            Popup::None => {}
        }
        if self.strands.editing {
            return self.on_filter_key(key);
        }
        if let Some(a) = self.on_navigation_key(key) {
            return a;
        }
        match self.config.keymap.command(key) {
            Some(c) => self.run(c),
            None => Action::None,
        }
    }

    fn on_confirm_key(&mut self, c: Confirm, key: Key) -> Action {
        match key {
            Key::Char('y' | 'Y') | Key::Enter => {
                self.popup = Popup::None;
                match c {
                    Confirm::Policy(name) => Action::SwapPolicy(name),
                    Confirm::StopMound { id, .. } => Action::StopMound(id.0),
                    Confirm::PagerPolicy { mound, policy, .. } => {
                        Action::SetPagerPolicy { mound, policy }
                    }
                }
            }
            Key::Char('n' | 'N' | 'q') | Key::Esc => {
                self.popup = Popup::None;
                self.set_status("cancelled", false);
                Action::None
            }
            _ => Action::None,
        }
    }

    fn on_policies_key(&mut self, i: usize, key: Key) -> Action {
        match list_key(POLICY_NAMES, i, key) {
            ListKey::Close => self.popup = Popup::None,
            ListKey::Choose(j) => {
                let name = POLICY_NAMES[j].to_string();
                self.popup = Popup::Confirm(Confirm::Policy(name));
            }
            ListKey::Select(j) => self.popup = Popup::Policies(j),
        }
        Action::None
    }

    fn on_pager_policies_key(
        &mut self,
        mound: u32,
        name: String,
        current: Option<String>,
        i: usize,
        key: Key,
    ) -> Action {
        match list_key(&PAGER_POLICIES, i, key) {
            ListKey::Close => self.popup = Popup::None,
            ListKey::Choose(j) => {
                self.popup = Popup::Confirm(Confirm::PagerPolicy {
                    mound,
                    name,
                    current,
                    policy: PAGER_POLICIES[j].to_string(),
                });
            }
            ListKey::Select(selected) => {
                self.popup = Popup::PagerPolicies {
                    mound,
                    name,
                    current,
                    selected,
                }
            }
        }
        Action::None
    }

    fn on_filter_key(&mut self, key: Key) -> Action {
        match key {
            Key::Char(c) => self.strands.filter.push(c),
            Key::Backspace => {
                self.strands.filter.pop();
            }
            Key::Enter => self.strands.editing = false,
            Key::Esc => {
                self.strands.editing = false;
                self.strands.filter.clear();
            }
            Key::Up | Key::Down | Key::PageUp | Key::PageDown | Key::Home | Key::End => {
                self.strands.editing = false;
                return self.on_navigation_key(key).unwrap_or(Action::None);
            }
            _ => {}
        }
        Action::None
    }

    /// The fixed navigation keys; None if `key` is not one.
    fn on_navigation_key(&mut self, key: Key) -> Option<Action> {
        let page = self.page_rows(self.focus);
        let delta = match key {
            Key::Up => -1,
            Key::Down => 1,
            Key::PageUp => -page,
            Key::PageDown => page,
            Key::Home => isize::MIN / 2,
            Key::End => isize::MAX / 2,
            Key::Left | Key::Right | Key::Enter if self.focus == Pane::Strands => {
                if self.strands.tree {
                    let how = match key {
                        Key::Left => Some(true),
                        Key::Right => Some(false),
                        _ => None,
                    };
                    self.with_strand_rows(|v, rows| v.collapse(rows, how));
                }
                return Some(Action::None);
            }
            Key::Esc => {
                if !self.strands.filter.is_empty() {
                    self.strands.filter.clear();
                } else if self.zoom {
                    self.zoom = false;
                }
                return Some(Action::None);
            }
            _ => return None,
        };
        self.scroll(self.focus, delta);
        Some(Action::None)
    }

    /// Rows a PageUp/PageDown moves in `pane`.
    fn page_rows(&self, pane: Pane) -> isize {
        self.drawn
            .body(pane)
            .map_or(10, |r| isize::try_from(r.height.max(2) - 1).unwrap_or(10))
    }

    /// Moves the selection of `pane` (or scrolls the log) by `delta` rows.
    pub(crate) fn scroll(&mut self, pane: Pane, delta: isize) {
        let clamp = |i: usize, n: usize| {
            if n == 0 {
                0
            } else {
                i.saturating_add_signed(delta).min(n - 1)
            }
        };
        match pane {
            Pane::Strands => self.with_strand_rows(|v, rows| v.move_selection(rows, delta)),
            Pane::Mounds => {
                let n = self.shown().map_or(0, |t| t.mounds.len());
                self.mounds_sel = clamp(self.mounds_sel, n);
            }
            Pane::Events => {
                let n = self.shown().map_or(0, crate::panes::events::row_count);
                self.events_sel = clamp(self.events_sel, n);
            }
            Pane::Log => {
                let n = self.shown_log().len();
                // Up scrolls back (away from the newest line).
                self.log_back = self
                    .log_back
                    .saturating_add_signed(-delta)
                    .min(n.saturating_sub(1));
            }
            Pane::Vcpus => {
                let n = self.shown().map_or(0, crate::panes::vcpus::row_count);
                self.vcpus.selected = clamp(self.vcpus.selected, n);
            }
            Pane::Video => {
                let n = self.shown().map_or(0, |t| t.video.len());
                self.video_sel = clamp(self.video_sel, n);
            }
            Pane::Pager => {
                let n = self.shown().map_or(0, |t| t.pagers.len());
                self.pager_sel = clamp(self.pager_sel, n);
            }
            Pane::Network => {
                let n = self.shown().map_or(0, crate::panes::net::row_count);
                self.net_scroll = clamp(self.net_scroll, n);
            }
            Pane::Scheduler | Pane::Pages => {}
        }
    }

    /// Runs `f` on the strands view and the rows it shows now.
    pub(crate) fn with_strand_rows(
        &mut self,
        f: impl FnOnce(&mut crate::strands_view::StrandsView, &[Row]),
    ) {
        let (t, h) = match &self.frozen {
            Some(fz) => (fz.telemetry.as_ref(), &fz.history),
            None => (self.live.as_ref(), &self.history),
        };
        let Some(t) = t else { return };
        let rows = self.strands.rows(t, h);
        f(&mut self.strands, &rows);
    }

    fn run(&mut self, c: Command) -> Action {
        match c {
            Command::Quit => return Action::Quit,
            Command::Help => self.help = true,
            Command::Freeze => self.toggle_freeze(),
            Command::Policy => {
                let current = self.shown().map(|t| t.policy.as_str());
                let i = current
                    .and_then(|c| POLICY_NAMES.iter().position(|&n| n == c))
                    .unwrap_or(0);
                self.popup = Popup::Policies(i);
            }
            Command::StopMound => self.ask_stop_mound(),
            Command::PagerPolicy => self.ask_pager_policy(),
            Command::Filter => {
                self.focus = Pane::Strands;
                self.strands.editing = true;
            }
            Command::Tree => {
                self.focus = Pane::Strands;
                self.strands.tree = !self.strands.tree;
            }
            Command::Collapse => {
                if self.strands.tree {
                    self.with_strand_rows(|v, rows| v.collapse(rows, None));
                }
            }
            Command::SortNext | Command::SortPrev | Command::SortReverse
                if self.focus == Pane::Vcpus =>
            {
                let v = &mut self.vcpus;
                match c {
                    Command::SortNext => v.sort_by(v.sort.next()),
                    Command::SortPrev => v.sort_by(v.sort.prev()),
                    _ => v.descending = !v.descending,
                }
            }
            Command::SortNext => self.strands.sort_by(self.strands.sort.next()),
            Command::SortPrev => self.strands.sort_by(self.strands.sort.prev()),
            Command::SortReverse => self.strands.descending = !self.strands.descending,
            Command::Faster => return self.step_refresh(false),
            Command::Slower => return self.step_refresh(true),
            Command::NextPane => self.focus = self.focus.cycle(true, |p| self.has_pane(p)),
            Command::PrevPane => self.focus = self.focus.cycle(false, |p| self.has_pane(p)),
            Command::Focus(p) if !self.has_pane(p) => {
                let why = match p {
                    Pane::Vcpus => "no vCPU exits: the KVM machine reports them",
                    Pane::Video => "no video: this host has no video mounds",
                    Pane::Pager => "no pager: this host has no db-pager mounds",
                    _ => "no network: start the host with --net or a [network] table",
                };
                self.set_status(why, false);
            }
            Command::Focus(p) => self.focus = p,
            Command::Zoom => self.zoom = !self.zoom,
        }
        Action::None
    }

    fn ask_stop_mound(&mut self) {
        let from_tree = match (self.focus, self.strands.selected) {
            (Pane::Strands, Some(RowKey::Mound(m))) => Some(m),
            _ => None,
        };
        let target = match (self.focus, from_tree) {
            (_, Some(m)) => self
                .shown()
                .and_then(|t| t.mounds.iter().find(|x| x.id == m)),
            (Pane::Mounds, None) => self.selected_mound(),
            _ => None,
        };
        match target {
            Some(m) => {
                let (id, name) = (m.id, m.name.clone());
                self.popup = Popup::Confirm(Confirm::StopMound { id, name });
            }
            None => self.set_status("select a mound first (Mounds pane, or a tree row)", true),
        }
    }

    fn ask_pager_policy(&mut self) {
        let Some(p) = self.selected_pager() else {
            self.set_status("no db-pager mound on this host", true);
            return;
        };
        let current = p.files.last().map(|f| f.policy.clone());
        let selected = current
            .as_deref()
            .and_then(|c| PAGER_POLICIES.iter().position(|&n| n == c))
            .unwrap_or(0);
        self.popup = Popup::PagerPolicies {
            mound: p.id,
            name: p.name.clone(),
            current,
            selected,
        };
    }

    fn step_refresh(&mut self, slower: bool) -> Action {
        let now = self.refresh_ms;
        let next = if slower {
            REFRESH_STEPS.iter().copied().find(|&s| s > now)
        } else {
            REFRESH_STEPS.iter().rev().copied().find(|&s| s < now)
        };
        match next {
            Some(ms) => {
                self.refresh_ms = ms;
                Action::Refresh(ms)
            }
            None => {
                let which = if slower { "slowest" } else { "fastest" };
                self.set_status(format!("{which} refresh is {now} ms"), false);
                Action::None
            }
        }
    }

    /// Sorts strands by column `k` (a header click): the current column
    /// again reverses the order.
    pub(crate) fn sort_by_column(&mut self, k: SortKey) {
        self.strands.sort_by(k);
    }
}

/// What a key does in a popup list.
enum ListKey {
    /// Close the list.
    Close,
    /// Ask to confirm this entry.
    Choose(usize),
    /// Highlight this entry.
    Select(usize),
}

/// A key in a popup list of `names` with entry `i` highlighted: arrows,
/// Home/End, a digit, or the next entry starting with a letter (`s` finds
/// stride); Enter chooses, Esc or `q` closes.
fn list_key(names: &[&str], i: usize, key: Key) -> ListKey {
    let n = names.len().max(1);
    let i = i.min(n - 1);
    ListKey::Select(match key {
        Key::Esc | Key::Char('q') => return ListKey::Close,
        Key::Enter => return ListKey::Choose(i),
        Key::Up => (i + n - 1) % n,
        Key::Down => (i + 1) % n,
        Key::Home | Key::PageUp => 0,
        Key::End | Key::PageDown => n - 1,
        Key::Char(c @ '1'..='9') => (c as usize - '1' as usize).min(n - 1),
        Key::Char(c) => (1..=n)
            .map(|k| (i + k) % n)
            .find(|&j| names.get(j).is_some_and(|s| s.starts_with(c)))
            .unwrap_or(i),
        _ => i,
    })
}
