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
//! When the record has video mounds, db-pager mounds or a network, their
//! panes share a row under the strands (the video pane as wide as its
//! picture needs); the log then gives way, and the pages row shrinks:
//!
//! ```text
//! ┌3 Strands──────────────────────────────┐┌2 Scheduler───────────┐
//! ┌8 Video────────────┐┌9 Pager────────────┐┌0 Network────────────┐
//! ┌4 Pages────────────────────────────────┐┌5 Events──────────────┐
//! ```
//!
//! Short terminals lose the log, then the pages and events row, then the
//! row of optional panes (zoom with `z` still shows any pane); a zoomed
//! pane gets the whole body.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;

use crate::dashboard::{Dashboard, Popup};
use crate::pane::Pane;
use crate::panes::{self, Ctx};

/// Below this body width the KVM layout shows the vCPU exits pane in the
/// Events pane's place (zoom still shows Events).
pub const KVM_EVENTS_MIN_WIDTH: u16 = 120;

/// Where each visible pane goes in `body`, given the mound count, the vCPU
/// count (0 off the KVM machine: no vCPU exits pane), the video, pager and
/// network panes the record has data for (`extras`, in Tab order) and the
/// zoomed pane (if any).
pub fn layout(
    body: Rect,
    mounds: usize,
    vcpus: usize,
    extras: &[Pane],
    zoomed: Option<Pane>,
) -> Vec<(Pane, Rect)> {
    if let Some(p) = zoomed {
        return vec![(p, body)];
    }
    let extras: Vec<Pane> = extras
        .iter()
        .copied()
        .filter(|p| matches!(p, Pane::Video | Pane::Pager | Pane::Network))
        .collect();
    let h = body.height;
    let (mut pages_h, mut log_h, extras_h) = match (extras.is_empty(), h) {
        (true, 40..) => (14, 8, 0),
        (true, 30..=39) => (11, 6, 0),
        (true, 22..=29) => (9, 0, 0),
        (true, _) => (0, 0, 0),
        (false, 52..) => (11, 6, 14),
        (false, 40..=51) => (9, 0, 12),
        (false, 30..=39) => (0, 0, 11),
        (false, 22..=29) => (0, 0, 8),
        (false, _) => (0, 0, 0),
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
    let [top, middle, extra_row, bottom, log] = Layout::vertical([
        Constraint::Length(mounds_h),
        Constraint::Min(4),
        Constraint::Length(extras_h),
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
    let mut placed = vec![
        (Pane::Mounds, top),
        (Pane::Strands, strands),
        (Pane::Scheduler, sched),
    ];
    placed.extend(extras_row(extra_row, &extras));
    placed.extend([
        (Pane::Pages, pages),
        (Pane::Events, events),
        (Pane::Vcpus, exits),
        (Pane::Log, log),
    ]);
    placed
        .into_iter()
        .filter(|(_, r)| r.height >= 3 && r.width >= 10)
        .collect()
}

/// The video, pager and network panes side by side in `row`: the video
/// pane as wide as its picture and counters need (at most 45 % of the
/// row), the network and the pager sharing the rest 3 : 2.
fn extras_row(row: Rect, panes: &[Pane]) -> Vec<(Pane, Rect)> {
    if row.height == 0 || panes.is_empty() {
        return Vec::new();
    }
    let constraints: Vec<Constraint> = panes
        .iter()
        .map(|&p| match p {
            Pane::Video if panes.len() > 1 => {
                Constraint::Length(panes::video::width(row.height).min(row.width * 9 / 20))
            }
            // The network's table is wider than the pager's text.
            Pane::Network => Constraint::Fill(3),
            _ => Constraint::Fill(2),
        })
        .collect();
    let areas = Layout::horizontal(constraints).split(row);
    panes.iter().copied().zip(areas.iter().copied()).collect()
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
        let extras = self.optional_panes();
        let placed = layout(
            body,
            mounds,
            vcpus,
            &extras,
            self.zoom.then_some(self.focus),
        );
        self.draw_panes(frame, &placed);
        self.drawn.panes = placed;
        panes::footer::draw(frame, footer, self);
        let theme = &self.config.theme;
        let current = self.shown().map(|t| t.policy.as_str());
        match &self.popup {
            Popup::Policies(i) => panes::popup::draw_policies(frame, body, *i, current, theme),
            Popup::PagerPolicies {
                name,
                current,
                selected,
                ..
            } => panes::popup::draw_pager_policies(
                frame,
                body,
                name,
                *selected,
                current.as_deref(),
                theme,
            ),
            Popup::Confirm(c) => panes::popup::draw_confirm(frame, body, c, current, theme),
            Popup::None => {}
        }
        if self.help {
            let shown = self.optional_panes();
            panes::help::draw(frame, body, &self.config.keymap, theme, &shown);
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
                Pane::Video => {
                    panes::video::draw(frame, area, &ctx, focused, self.video_sel);
                    None
                }
                Pane::Pager => {
                    panes::pager::draw(frame, area, &ctx, focused, self.pager_sel);
                    None
                }
                Pane::Network => {
                    panes::net::draw(frame, area, &ctx, focused, self.net_scroll);
                    None
                }
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
        let panes = layout(Rect::new(0, 0, 140, 44), 2, 0, &[], None);
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
        let alpha = layout(body, 2, 0, &[], None);
        let kvm = layout(body, 2, 2, &[], None);
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
        let narrow = layout(Rect::new(0, 0, 100, 30), 2, 2, &[], None);
        assert!(find(&narrow, Pane::Events).is_none());
        assert!(find(&narrow, Pane::Vcpus).is_some());
        assert_no_overlap(&narrow);
        // Short: gone with the bottom row.
        let short = layout(Rect::new(0, 0, 140, 20), 2, 2, &[], None);
        assert!(find(&short, Pane::Vcpus).is_none());
    }

    #[test]
    fn short_terminals_drop_panes_and_zoom_takes_all() {
        let small = layout(Rect::new(0, 0, 80, 23), 2, 0, &[], None);
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
        let tiny = layout(Rect::new(0, 0, 80, 12), 2, 0, &[], None);
        assert!(tiny
            .iter()
            .all(|p| matches!(p.0, Pane::Mounds | Pane::Strands | Pane::Scheduler)));
        let body = Rect::new(0, 0, 80, 12);
        assert_eq!(
            layout(body, 2, 0, &[], Some(Pane::Log)),
            [(Pane::Log, body)]
        );
    }

    #[test]
    fn optional_panes_share_a_row_under_the_strands() {
        let body = Rect::new(0, 0, 140, 44);
        let all = [Pane::Video, Pane::Pager, Pane::Network];
        let mix = layout(body, 3, 0, &all, None);
        assert_no_overlap(&mix);
        let (video, pager, net) = (
            find(&mix, Pane::Video).expect("shown"),
            find(&mix, Pane::Pager).expect("shown"),
            find(&mix, Pane::Network).expect("shown"),
        );
        assert!(video.y == pager.y && pager.y == net.y, "one row");
        assert_eq!(video.height, 12);
        assert_eq!(video.width, panes::video::width(12));
        assert_eq!((video.x, net.right()), (0, 140));
        let strands = find(&mix, Pane::Strands).expect("shown");
        assert_eq!(strands.bottom(), video.y, "under the strands");
        assert!(find(&mix, Pane::Pages).is_some(), "pages and events stay");
        assert!(find(&mix, Pane::Log).is_none(), "the log gives way");
        // Only the pager: it takes the row.
        let one = layout(body, 3, 0, &[Pane::Pager], None);
        assert_eq!(find(&one, Pane::Pager).map(|r| r.width), Some(140));
        assert!(find(&one, Pane::Video).is_none());
        // Short terminals keep the row before pages; tiny ones drop it.
        let short = layout(Rect::new(0, 0, 100, 30), 3, 0, &all, None);
        assert!(find(&short, Pane::Video).is_some() && find(&short, Pane::Pages).is_none());
        let tiny = layout(Rect::new(0, 0, 20, 9), 3, 0, &all, None);
        assert!(tiny.iter().all(|p| !all.contains(&p.0)));
        // The KVM machine's vCPU pane keeps its place in the pages row.
        let kvm = layout(body, 3, 2, &all, None);
        assert_no_overlap(&kvm);
        assert!(find(&kvm, Pane::Vcpus).is_some());
    }
}
