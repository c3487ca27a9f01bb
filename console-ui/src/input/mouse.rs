//! The mouse: a click focuses the pane under it, selects the row under it,
//! or (on the strands or vCPU exits header) sorts by that column; the wheel scrolls the
//! pane under the pointer. Positions are resolved against where the last
//! [`Dashboard::draw`] put things.

use ratatui::layout::Position;

use super::key::{Mouse, MouseKind};
use super::machine::WHEEL_ROWS;
use crate::dashboard::{Action, Dashboard, Popup};
use crate::pane::Pane;
use crate::strands_view::Row;

impl Dashboard {
    /// Applies a mouse event and says what the caller should do.
    pub fn on_mouse(&mut self, m: Mouse) -> Action {
        if self.help {
            if m.kind == MouseKind::Click {
                self.help = false;
            }
            return Action::None;
        }
        match self.popup {
            Popup::Policies(i) => {
                let n = spin_scheduler::POLICY_NAMES.len();
                self.popup = Popup::Policies(match m.kind {
                    MouseKind::ScrollUp => i.saturating_sub(1),
                    MouseKind::ScrollDown => (i + 1).min(n - 1),
                    MouseKind::Click => i,
                });
                return Action::None;
            }
            Popup::PagerPolicies {
                ref mut selected, ..
            } => {
                let n = crate::dashboard::PAGER_POLICIES.len();
                *selected = match m.kind {
                    MouseKind::ScrollUp => selected.saturating_sub(1),
                    MouseKind::ScrollDown => (*selected + 1).min(n - 1),
                    MouseKind::Click => *selected,
                };
                return Action::None;
            }
            Popup::Confirm(_) => return Action::None,
            Popup::None => {}
        }
        let at = Position::new(m.x, m.y);
        let Some(pane) = self
            .drawn
            .panes
            .iter()
            .find(|(_, r)| r.contains(at))
            .map(|(p, _)| *p)
        else {
            return Action::None;
        };
        match m.kind {
            MouseKind::ScrollUp => self.scroll(pane, -WHEEL_ROWS),
            MouseKind::ScrollDown => self.scroll(pane, WHEEL_ROWS),
            MouseKind::Click => self.click(pane, at),
        }
        Action::None
    }

    fn click(&mut self, pane: Pane, at: Position) {
        self.focus = pane;
        if pane == Pane::Strands {
            if let Some(placed) = &self.drawn.strands_header {
                if at.y == placed.header_y {
                    let col = placed
                        .columns
                        .iter()
                        .find(|&&(x0, x1, _)| at.x >= x0 && at.x < x1);
                    if let Some(&(_, _, k)) = col {
                        self.sort_by_column(k);
                    }
                    return;
                }
            }
        }
        if pane == Pane::Vcpus {
            if let Some(placed) = &self.drawn.vcpus_header {
                if at.y == placed.header_y {
                    let col = placed
                        .columns
                        .iter()
                        .find(|&&(x0, x1, _)| at.x >= x0 && at.x < x1);
                    if let Some(&(_, _, k)) = col {
                        self.vcpus.sort_by(k);
                    }
                    return;
                }
            }
        }
        let Some(body) = self.drawn.body(pane) else {
            return;
        };
        if !body.contains(at) {
            return;
        }
        let line = usize::from(at.y - body.y);
        match pane {
            Pane::Strands => {
                let i = self.drawn.strands.offset() + line;
                self.with_strand_rows(|v, rows| {
                    let Some(row) = rows.get(i) else { return };
                    // A second click on a selected mound row folds it.
                    if v.selected == Some(row.key()) && matches!(row, Row::Mound { .. }) {
                        v.collapse(rows, None);
                    } else {
                        v.select_index(rows, i);
                    }
                });
            }
            Pane::Mounds => {
                let i = self.drawn.mounds.offset() + line;
                if self.shown().is_some_and(|t| i < t.mounds.len()) {
                    self.mounds_sel = i;
                }
            }
            Pane::Events => {
                let i = self.drawn.events.offset() + line;
                if self
                    .shown()
                    .is_some_and(|t| i < crate::panes::events::row_count(t))
                {
                    self.events_sel = i;
                }
            }
            Pane::Vcpus => {
                let i = self.drawn.vcpus.offset() + line;
                if self
                    .shown()
                    .is_some_and(|t| i < crate::panes::vcpus::row_count(t))
                {
                    self.vcpus.selected = i;
                }
            }
            Pane::Scheduler
            | Pane::Pages
            | Pane::Log
            | Pane::Video
            | Pane::Pager
            | Pane::Network => {}
        }
    }
}
