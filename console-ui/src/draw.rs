//! The screen layout and [`Dashboard::draw`].
//!
//! ```text
//! ┌1 Mounds───────────────────────────────────────────────────────┐
//! ┌3 Strands──────────────────────────────┐┌2 Scheduler───────────┐
//! ┌4 Pages────────────────────────────────┐┌5 Events──────────────┐
//! ┌6 Log──────────────────────────────────────────────────────────┐
//!  footer: title │ policy │ machine │ refresh │ state        ? help
//! ```
//!
//! On the KVM machine (records with vCPU telemetry) the bottom row gains the
//! vCPU exits pane at its right, a line taller (from the log) when there is
//! room; narrower than [`KVM_EVENTS_MIN_WIDTH`] it takes the Events pane's
//! place instead:
//!
//! ```text
//! ┌4 Pages─────────────────────┐┌5 Events──────────┐┌7 vCPU exits──┐
//! ```
//!
//! Short terminals lose the log, then the pages and events row (zoom with
//! `z` still shows any pane); a zoomed pane gets the whole body.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;

use crate::dashboard::{Dashboard, Popup};
use crate::pane::Pane;
use crate::panes::{self, Ctx};

/// Below this body width the KVM layout shows the vCPU exits pane in the
/// Events pane's place (zoom still shows Events).
pub const KVM_EVENTS_MIN_WIDTH: u16 = 120;

/// Where each visible pane goes in `body`, given the mound count, the vCPU
/// count (0 off the KVM machine: no vCPU exits pane) and the zoomed pane (if
/// any).
pub fn layout(body: Rect, mounds: usize, vcpus: usize, zoomed: Option<Pane>) -> Vec<(Pane, Rect)> {
    if let Some(p) = zoomed {
        return vec![(p, body)];
    }
    let h = body.height;
    let (mut pages_h, mut log_h) = match h {
        40.. => (14, 8),
        30..=39 => (11, 6),
        22..=29 => (9, 0),
        _ => (0, 0),
    };
    if vcpus > 0 && log_h >= 8 {
        // Room for every exit reason, from the log.
        let more = panes::vcpus::height()
            .saturating_sub(pages_h)
            .min(log_h - 6);
        pages_h += more;
        log_h -= more;
    }
    let mounds_h = panes::mounds::height(mounds).clamp(4, 9).min(h / 3);
    let [top, middle, bottom, log] = Layout::vertical([
        Constraint::Length(mounds_h),
        Constraint::Min(4),
        Constraint::Length(pages_h),
        Constraint::Length(log_h),
    ])
    .areas(body);
    let sched_w = if body.width >= 130 {
        Constraint::Length(54)
    } else {
        Constraint::Percentage(38)
    };
    let [strands, sched] = Layout::horizontal([Constraint::Fill(1), sched_w]).areas(middle);
    let (pages, events, exits) = if vcpus == 0 {
        let [pages, events] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(bottom);
        (pages, events, Rect::default())
    } else {
        let exits_w = Constraint::Length(panes::vcpus::width(vcpus).min(body.width / 2));
        if body.width >= KVM_EVENTS_MIN_WIDTH {
            let [pages, events, exits] =
                Layout::horizontal([Constraint::Fill(55), Constraint::Fill(45), exits_w])
                    .areas(bottom);
            (pages, events, exits)
        } else {
            let [pages, exits] = Layout::horizontal([Constraint::Fill(1), exits_w]).areas(bottom);
            (pages, Rect::default(), exits)
        }
    };
    [
        (Pane::Mounds, top),
        (Pane::Strands, strands),
        (Pane::Scheduler, sched),
        (Pane::Pages, pages),
        (Pane::Events, events),
        (Pane::Vcpus, exits),
        (Pane::Log, log),
    ]
    .into_iter()
    .filter(|(_, r)| r.height >= 3 && r.width >= 10)
    .collect()
}

impl Dashboard {
    /// Draws the whole screen into `frame` and remembers where things went
    /// (for the mouse).
    pub fn draw(&mut self, frame: &mut Frame) {
        let area = frame.area();
        let [body, footer] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(area);
        let mounds = self.shown().map_or(2, |t| t.mounds.len());
        let vcpus = self.shown().map_or(0, |t| t.vcpus.len());
        let placed = layout(body, mounds, vcpus, self.zoom.then_some(self.focus));
        self.draw_panes(frame, &placed);
        self.drawn.panes = placed;
        panes::footer::draw(frame, footer, self);
        let theme = &self.config.theme;
        let current = self.shown().map(|t| t.policy.as_str());
        match &self.popup {
            Popup::Policies(i) => panes::popup::draw_policies(frame, body, *i, current, theme),
            Popup::Confirm(c) => panes::popup::draw_confirm(frame, body, c, current, theme),
            Popup::None => {}
        }
        if self.help {
            let kvm = self.has_vcpus();
            panes::help::draw(frame, body, &self.config.keymap, theme, kvm);
        }
    }

    fn draw_panes(&mut self, frame: &mut Frame, placed: &[(Pane, Rect)]) {
        // Borrow the fields one by one: the record and history are read
        // while the table states are written.
        let (t, h, log) = match &self.frozen {
            Some(f) => (f.telemetry.as_ref(), &f.history, &f.log),
            None => (self.live.as_ref(), &self.history, &self.log),
        };
        let theme = &self.config.theme;
        let drawn = &mut self.drawn;
        drawn.bodies.clear();
        drawn.strands_header = None;
        drawn.vcpus_header = None;
        for &(pane, area) in placed {
            let focused = pane == self.focus;
            let Some(t) = t else {
                panes::placeholder(frame, area, pane, focused, theme);
                continue;
            };
            let ctx = Ctx { t, h, theme };
            let body = match pane {
                Pane::Mounds => Some(panes::mounds::draw(
                    frame,
                    area,
                    &ctx,
                    focused,
                    self.mounds_sel,
                    &mut drawn.mounds,
                )),
                Pane::Scheduler => {
                    panes::scheduler::draw(frame, area, &ctx, focused);
                    None
                }
                Pane::Strands => {
                    let p = panes::strands::draw(
                        frame,
                        area,
                        &ctx,
                        focused,
                        &self.strands,
                        &mut drawn.strands,
                    );
                    let body = p.body;
                    drawn.strands_header = Some(p);
                    Some(body)
                }
                Pane::Pages => {
                    panes::pages::draw(frame, area, &ctx, focused);
                    None
                }
                Pane::Events => Some(panes::events::draw(
                    frame,
                    area,
                    &ctx,
                    focused,
                    self.events_sel,
                    &mut drawn.events,
                )),
                Pane::Vcpus => {
                    let p = panes::vcpus::draw(
                        frame,
                        area,
                        &ctx,
                        focused,
                        &self.vcpus,
                        &mut drawn.vcpus,
                    );
                    let body = p.body;
                    drawn.vcpus_header = Some(p);
                    Some(body)
                }
                Pane::Log => Some(panes::log::draw(
                    frame,
                    area,
                    &ctx,
                    focused,
                    log,
                    self.log_back,
                )),
            };
            if let Some(b) = body {
                drawn.bodies.push((pane, b));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_layout_has_every_pane_without_overlap() {
        let panes = layout(Rect::new(0, 0, 140, 44), 2, 0, None);
        assert_eq!(panes.len(), 6);
        assert_no_overlap(&panes);
    }

    fn assert_no_overlap(panes: &[(Pane, Rect)]) {
        for (i, (_, a)) in panes.iter().enumerate() {
            for (_, b) in &panes[i + 1..] {
                assert!(!a.intersects(*b), "{a:?} {b:?}");
            }
        }
    }

    fn find(panes: &[(Pane, Rect)], p: Pane) -> Option<Rect> {
        panes.iter().find(|x| x.0 == p).map(|x| x.1)
    }

    #[test]
    fn kvm_layout_adds_the_vcpu_pane_to_the_bottom_row() {
        let body = Rect::new(0, 0, 140, 44);
        let alpha = layout(body, 2, 0, None);
        let kvm = layout(body, 2, 2, None);
        assert_eq!(kvm.len(), 7);
        assert_no_overlap(&kvm);
        let exits = find(&kvm, Pane::Vcpus).expect("shown");
        assert_eq!(exits.height, panes::vcpus::height(), "every reason fits");
        assert_eq!(exits.width, panes::vcpus::width(2));
        assert_eq!(exits.right(), body.right());
        let events = find(&kvm, Pane::Events).expect("shown");
        assert_eq!((events.y, events.right()), (exits.y, exits.x));
        let log = |v: &[(Pane, Rect)]| find(v, Pane::Log).map(|r| r.height);
        assert_eq!(log(&kvm), log(&alpha).map(|h| h - 1), "a line from the log");
        assert_eq!(
            find(&kvm, Pane::Strands),
            find(&alpha, Pane::Strands),
            "the rest as on Alpha"
        );
        // Narrow: the vCPU pane takes the Events pane's place.
        let narrow = layout(Rect::new(0, 0, 100, 30), 2, 2, None);
        assert!(find(&narrow, Pane::Events).is_none());
        assert!(find(&narrow, Pane::Vcpus).is_some());
        assert_no_overlap(&narrow);
        // Short: gone with the bottom row.
        let short = layout(Rect::new(0, 0, 140, 20), 2, 2, None);
        assert!(find(&short, Pane::Vcpus).is_none());
    }

    #[test]
    fn short_terminals_drop_panes_and_zoom_takes_all() {
        let small = layout(Rect::new(0, 0, 80, 23), 2, 0, None);
        let names: Vec<Pane> = small.iter().map(|p| p.0).collect();
        assert_eq!(
            names,
            [
                Pane::Mounds,
                Pane::Strands,
                Pane::Scheduler,
                Pane::Pages,
                Pane::Events
            ]
        );
        let tiny = layout(Rect::new(0, 0, 80, 12), 2, 0, None);
        assert!(tiny
            .iter()
            .all(|p| matches!(p.0, Pane::Mounds | Pane::Strands | Pane::Scheduler)));
        let body = Rect::new(0, 0, 80, 12);
        assert_eq!(layout(body, 2, 0, Some(Pane::Log)), [(Pane::Log, body)]);
    }
}
