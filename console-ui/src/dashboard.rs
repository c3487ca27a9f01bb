//! The dashboard's state: the records it draws, what it remembers across
//! them, and every bit of UI state (focus, popups, selections, freeze).
//!
//! The state changes only through [`Dashboard::update`] (a new record),
//! [`Dashboard::disconnected`], [`Dashboard::set_status`] and the input
//! state machine ([`Dashboard::on_key`], [`Dashboard::on_mouse`]); drawing
//! ([`Dashboard::draw`]) reads it and remembers where things were drawn so
//! mouse clicks can be resolved.

use ratatui::layout::Rect;
use ratatui::widgets::TableState;
use spin_kernel::MoundId;
use spin_vmm::control::Telemetry;

use crate::config::{Config, DEFAULT_REFRESH_MS, MAX_REFRESH_MS, MIN_REFRESH_MS};
use crate::history::History;
use crate::log_tail::LogTail;
use crate::pane::Pane;
use crate::panes::vcpus::VcpuView;
use crate::strands_view::StrandsView;

/// What the terminal loop should do after an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing beyond redrawing.
    None,
    /// Leave the dashboard.
    Quit,
    /// Swap the global policy to this name (one of
    /// [`spin_scheduler::POLICY_NAMES`]); the user has confirmed.
    SwapPolicy(String),
    /// Stop this mound; the user has confirmed.
    StopMound(u32),
    /// Switch a database pager mound's policy; the user has confirmed.
    SetPagerPolicy {
        /// The mound's id.
        mound: u32,
        /// One of [`PAGER_POLICIES`].
        policy: String,
    },
    /// Poll telemetry at this interval from now on, ms.
    Refresh(u64),
}

/// The state of the link to the host.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Link {
    /// No record yet.
    #[default]
    Waiting,
    /// Records arrive.
    Live,
    /// The last request failed (the socket died, or the host refused); the
    /// last record stays on screen.
    Lost(String),
}

/// A one-line message in the footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The text.
    pub text: String,
    /// Whether it reports a failure.
    pub error: bool,
}

/// What the user is asked to confirm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    /// Swap the global policy to this one.
    Policy(String),
    /// Stop this mound.
    StopMound {
        /// The mound.
        id: MoundId,
        /// Its name.
        name: String,
    },
    /// Switch a database pager mound's policy.
    PagerPolicy {
        /// The mound's id.
        mound: u32,
        /// Its name.
        name: String,
        /// The policy now (None: no file attached yet).
        current: Option<String>,
        /// The policy asked for.
        policy: String,
    },
}

/// The page replacement policies a database pager mound offers, in the
/// order the pager popup lists them.
pub const PAGER_POLICIES: [&str; 6] = ["clock", "lru", "mru", "2q", "hinted", "opt"];

/// A modal popup.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Popup {
    /// None open.
    #[default]
    None,
    /// The policy list, with this entry of
    /// [`spin_scheduler::POLICY_NAMES`] highlighted.
    Policies(usize),
    /// A database pager mound's policy list, with this entry of
    /// [`PAGER_POLICIES`] highlighted.
    PagerPolicies {
        /// The mound's id.
        mound: u32,
        /// Its name.
        name: String,
        /// Its policy now (None: no file attached yet).
        current: Option<String>,
        /// The highlighted entry.
        selected: usize,
    },
    /// A yes/no question.
    Confirm(Confirm),
}

/// Where things were drawn last time (for the mouse), and table scroll
/// offsets that persist between draws.
#[derive(Debug, Clone, Default)]
pub(crate) struct Drawn {
    /// Each visible pane's rectangle.
    pub panes: Vec<(Pane, Rect)>,
    /// Where the strands table put its header and columns.
    pub strands_header: Option<crate::panes::strands::Placed>,
    /// Where the vCPU exits table put its header and sortable columns.
    pub vcpus_header: Option<crate::panes::vcpus::Placed>,
    /// Each pane's scrolling body (a table's rows under its header, the
    /// log's lines).
    pub bodies: Vec<(Pane, Rect)>,
    pub strands: TableState,
    pub mounds: TableState,
    pub events: TableState,
    pub vcpus: TableState,
}

impl Drawn {
    /// The body of `pane`, if it was drawn.
    pub fn body(&self, pane: Pane) -> Option<Rect> {
        self.bodies
            .iter()
            .find(|(p, _)| *p == pane)
            .map(|(_, r)| *r)
    }
}

/// The frozen copy: the record and the history as they were.
#[derive(Debug, Clone)]
pub(crate) struct Frozen {
    pub telemetry: Option<Telemetry>,
    pub history: History,
    pub log: LogTail,
}

/// The dashboard. It holds records, never live kernel objects.
#[derive(Debug, Clone)]
pub struct Dashboard {
    pub(crate) config: Config,
    pub(crate) title: String,
    pub(crate) live: Option<Telemetry>,
    pub(crate) history: History,
    pub(crate) log: LogTail,
    pub(crate) frozen: Option<Box<Frozen>>,
    pub(crate) link: Link,
    pub(crate) status: Option<Status>,
    pub(crate) focus: Pane,
    pub(crate) zoom: bool,
    pub(crate) refresh_ms: u64,
    pub(crate) help: bool,
    pub(crate) popup: Popup,
    pub(crate) strands: StrandsView,
    pub(crate) mounds_sel: usize,
    pub(crate) events_sel: usize,
    pub(crate) vcpus: VcpuView,
    /// The video pane's selected mound (whose frame is drawn).
    pub(crate) video_sel: usize,
    /// The pager pane's selected mound.
    pub(crate) pager_sel: usize,
    /// Rows the network pane's tables are scrolled.
    pub(crate) net_scroll: usize,
    /// Log lines scrolled back from the newest (0: follow the tail).
    pub(crate) log_back: usize,
    pub(crate) drawn: Drawn,
}

impl Default for Dashboard {
    fn default() -> Self {
        Dashboard::new(Config::default(), "spin")
    }
}

impl Dashboard {
    /// A dashboard with `config`'s keymap, theme and refresh interval
    /// (1000 ms if it sets none), titled `title` in the footer.
    pub fn new(config: Config, title: impl Into<String>) -> Self {
        let refresh_ms = config
            .refresh_ms
            .unwrap_or(DEFAULT_REFRESH_MS)
            .clamp(MIN_REFRESH_MS, MAX_REFRESH_MS);
        Dashboard {
            config,
            title: title.into(),
            live: None,
            history: History::new(),
            log: LogTail::default(),
            frozen: None,
            link: Link::Waiting,
            status: None,
            focus: Pane::default(),
            zoom: false,
            refresh_ms,
            help: false,
            popup: Popup::None,
            strands: StrandsView::default(),
            mounds_sel: 0,
            events_sel: 0,
            vcpus: VcpuView::default(),
            video_sel: 0,
            pager_sel: 0,
            net_scroll: 0,
            log_back: 0,
            drawn: Drawn::default(),
        }
    }

    /// Sets the refresh interval, ms (clamped to 100..=10000).
    pub fn set_refresh_ms(&mut self, ms: u64) {
        self.refresh_ms = ms.clamp(MIN_REFRESH_MS, MAX_REFRESH_MS);
    }

    /// Takes a new record. While frozen the frozen copy keeps being drawn;
    /// history still grows so unfreezing shows current data.
    pub fn update(&mut self, t: Telemetry) {
        self.history.record(&t);
        self.log.merge(&t.log);
        self.live = Some(t);
        if let Link::Lost(_) = self.link {
            // The reason the link was lost is stale now.
            self.status = None;
        }
        self.link = Link::Live;
    }

    /// Marks the link to the host lost (the last record stays on screen)
    /// and shows why in the footer.
    pub fn disconnected(&mut self, why: impl Into<String>) {
        let why = why.into();
        if self.link != Link::Lost(why.clone()) {
            self.set_status(why.clone(), true);
        }
        self.link = Link::Lost(why);
    }

    /// Shows `text` in the footer until the next status (an error in the
    /// error colour).
    pub fn set_status(&mut self, text: impl Into<String>, error: bool) {
        self.status = Some(Status {
            text: text.into(),
            error,
        });
    }

    /// The record being drawn (the frozen one, if frozen).
    pub fn shown(&self) -> Option<&Telemetry> {
        match &self.frozen {
            Some(f) => f.telemetry.as_ref(),
            None => self.live.as_ref(),
        }
    }

    /// The history being drawn (the frozen one, if frozen).
    pub fn shown_history(&self) -> &History {
        match &self.frozen {
            Some(f) => &f.history,
            None => &self.history,
        }
    }

    /// The log being drawn (the frozen one, if frozen): the lines of every
    /// record so far, merged.
    pub fn shown_log(&self) -> &LogTail {
        match &self.frozen {
            Some(f) => &f.log,
            None => &self.log,
        }
    }

    /// The newest record, frozen or not.
    pub fn latest(&self) -> Option<&Telemetry> {
        self.live.as_ref()
    }

    /// Whether the display is frozen.
    pub fn is_frozen(&self) -> bool {
        self.frozen.is_some()
    }

    /// Whether the host has finished (its last record says so).
    pub fn is_finished(&self) -> bool {
        self.live.as_ref().is_some_and(|t| !t.running)
    }

    /// The link to the host.
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// The footer's message, if any.
    pub fn status(&self) -> Option<&Status> {
        self.status.as_ref()
    }

    /// The focused pane.
    pub fn focus(&self) -> Pane {
        self.focus
    }

    /// Whether the focused pane has the whole screen.
    pub fn is_zoomed(&self) -> bool {
        self.zoom
    }

    /// The refresh interval, ms.
    pub fn refresh_ms(&self) -> u64 {
        self.refresh_ms
    }

    /// Whether the help overlay is shown.
    pub fn help_shown(&self) -> bool {
        self.help
    }

    /// The open popup.
    pub fn popup(&self) -> &Popup {
        &self.popup
    }

    /// The strands pane's view state.
    pub fn strands_view(&self) -> &StrandsView {
        &self.strands
    }

    /// The vCPU exits pane's view state (sort, selection).
    pub fn vcpu_view(&self) -> &VcpuView {
        &self.vcpus
    }

    /// Whether the record drawn has vCPU telemetry (the KVM machine): only
    /// then is the vCPU exits pane on screen.
    pub fn has_vcpus(&self) -> bool {
        self.shown().is_some_and(|t| !t.vcpus.is_empty())
    }

    /// Whether `pane` is on screen for the record drawn: the optional
    /// panes ([`Pane::OPTIONAL`]) only when the record has their data.
    pub fn has_pane(&self, pane: Pane) -> bool {
        match pane {
            Pane::Vcpus => self.has_vcpus(),
            Pane::Video => self.shown().is_some_and(|t| !t.video.is_empty()),
            Pane::Pager => self.shown().is_some_and(|t| !t.pagers.is_empty()),
            Pane::Network => self.shown().is_some_and(|t| t.net.is_some()),
            _ => true,
        }
    }

    /// The optional panes on screen for the record drawn, in Tab order.
    pub fn optional_panes(&self) -> Vec<Pane> {
        Pane::OPTIONAL
            .into_iter()
            .filter(|&p| self.has_pane(p))
            .collect()
    }

    /// The pager pane's selected mound, if the record has pagers.
    pub fn selected_pager(&self) -> Option<&spin_vmm::host::PagerTelemetry> {
        let t = self.shown()?;
        t.pagers
            .get(self.pager_sel.min(t.pagers.len().saturating_sub(1)))
    }

    /// The config in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The footer's title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// Lines the log pane is scrolled back (0: following the newest).
    pub fn log_scrolled_back(&self) -> usize {
        self.log_back
    }

    /// The mounds pane's selected mound, if there is a record.
    pub fn selected_mound(&self) -> Option<&spin_kernel::telemetry::MoundTelemetry> {
        let t = self.shown()?;
        t.mounds
            .get(self.mounds_sel.min(t.mounds.len().saturating_sub(1)))
    }

    pub(crate) fn toggle_freeze(&mut self) {
        self.frozen = match self.frozen {
            Some(_) => None,
            None => Some(Box::new(Frozen {
                telemetry: self.live.clone(),
                history: self.history.clone(),
                log: self.log.clone(),
            })),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn freeze_keeps_a_copy_while_records_arrive() {
        let mut d = Dashboard::default();
        let recs = fixture::records(3);
        d.update(recs[0].clone());
        d.toggle_freeze();
        d.update(recs[1].clone());
        d.update(recs[2].clone());
        assert_eq!(d.shown().map(|t| t.seq), Some(1));
        assert_eq!(d.shown_history().samples().len(), 1);
        assert_eq!(d.latest().map(|t| t.seq), Some(3));
        d.toggle_freeze();
        assert_eq!(d.shown().map(|t| t.seq), Some(3));
        assert_eq!(d.shown_history().samples().len(), 3);
    }

    #[test]
    fn the_log_merges_across_records() {
        let mut d = Dashboard::default();
        let recs = fixture::records(30);
        for r in &recs {
            d.update(r.clone());
        }
        assert_eq!(d.shown_log().len(), recs[29].log.len(), "no duplicates");
        d.toggle_freeze();
        d.update(fixture::record(30));
        assert_eq!(d.shown_log().len(), recs[29].log.len(), "frozen");
    }

    #[test]
    fn link_states() {
        let mut d = Dashboard::default();
        assert_eq!(d.link(), &Link::Waiting);
        d.update(fixture::record(0));
        assert_eq!(d.link(), &Link::Live);
        assert!(!d.is_finished());
        d.set_status("refresh every 500 ms", false);
        d.disconnected("the host closed the socket");
        assert!(matches!(d.link(), Link::Lost(_)));
        assert!(d.shown().is_some(), "the last record stays");
        assert_eq!(
            d.status(),
            Some(&Status {
                text: "the host closed the socket".into(),
                error: true
            }),
            "the newest news wins"
        );
        d.update(fixture::record(1));
        assert_eq!(d.status(), None, "a recovered link clears it");
        d.disconnected("gone");
        d.update(fixture::exited(fixture::record(1)));
        assert!(d.is_finished());
    }

    #[test]
    fn refresh_is_clamped() {
        let mut d = Dashboard::default();
        d.set_refresh_ms(1);
        assert_eq!(d.refresh_ms(), MIN_REFRESH_MS);
        d.set_refresh_ms(u64::MAX);
        assert_eq!(d.refresh_ms(), MAX_REFRESH_MS);
    }
}
