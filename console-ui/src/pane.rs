//! The dashboard's panes.

/// A pane of the dashboard (Tab cycles in this order; `1`..`9` and `0`
/// jump). The vCPU exits pane is there only on the KVM machine, the video,
/// pager and network panes only when the record has their data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Pane {
    /// Mounds overview.
    #[default]
    Mounds,
    /// Global scheduler: policy, swaps, fairness, watchdog.
    Scheduler,
    /// Strands table (or tree).
    Strands,
    /// Page allocation: frames over time, rates, frame map.
    Pages,
    /// Events and their handlers.
    Events,
    /// The host's log.
    Log,
    /// Per-vCPU exit counts and reasons (KVM machine only), as kvm_stat.
    Vcpus,
    /// The video mounds: a client's live frame, its rates and misses; the
    /// server's counters.
    Video,
    /// The database pager mounds: hit ratio and faults over time, resident
    /// pages by kind, the policy.
    Pager,
    /// The shared network stack: packets and drops per layer, handlers,
    /// the NIC.
    Network,
}

impl Pane {
    /// All panes in Tab order.
    pub const ALL: [Pane; 10] = [
        Pane::Mounds,
        Pane::Scheduler,
        Pane::Strands,
        Pane::Pages,
        Pane::Events,
        Pane::Log,
        Pane::Vcpus,
        Pane::Video,
        Pane::Pager,
        Pane::Network,
    ];

    /// The panes that are on screen only when the record has their data.
    pub const OPTIONAL: [Pane; 4] = [Pane::Vcpus, Pane::Video, Pane::Pager, Pane::Network];

    /// The digit that focuses the pane (`1`..`9`, then `0`), as in its
    /// title.
    pub fn digit(self) -> char {
        let n = (self.index() + 1) % 10;
        char::from_digit(n as u32, 10).unwrap_or('?')
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|&p| p == self).unwrap_or(0)
    }

    /// The pane after this one, wrapping.
    pub fn next(self) -> Pane {
        Self::ALL[(self.index() + 1) % Self::ALL.len()]
    }

    /// The pane before this one, wrapping.
    pub fn prev(self) -> Pane {
        Self::ALL[(self.index() + Self::ALL.len() - 1) % Self::ALL.len()]
    }

    /// The pane after (`forward`) or before this one, wrapping, skipping
    /// the optional panes `present` says are not on screen.
    pub fn cycle(self, forward: bool, present: impl Fn(Pane) -> bool) -> Pane {
        let mut p = self;
        loop {
            p = if forward { p.next() } else { p.prev() };
            if p == self || !Self::OPTIONAL.contains(&p) || present(p) {
                return p;
            }
        }
    }

    /// The pane's title.
    pub fn title(self) -> &'static str {
        match self {
            Pane::Mounds => "Mounds",
            Pane::Scheduler => "Scheduler",
            Pane::Strands => "Strands",
            Pane::Pages => "Pages",
            Pane::Events => "Events",
            Pane::Log => "Log",
            Pane::Vcpus => "vCPU exits",
            Pane::Video => "Video",
            Pane::Pager => "Pager",
            Pane::Network => "Network",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_and_prev_wrap_and_invert() {
        for p in Pane::ALL {
            assert_eq!(p.next().prev(), p);
        }
        assert_eq!(Pane::Log.next(), Pane::Vcpus);
        assert_eq!(Pane::Network.next(), Pane::Mounds);
        assert_eq!(Pane::Mounds.prev(), Pane::Network);
        let digits: String = Pane::ALL.iter().map(|p| p.digit()).collect();
        assert_eq!(digits, "1234567890");
    }

    #[test]
    fn cycle_skips_the_optional_panes_not_on_screen() {
        let only = |on: &'static [Pane]| move |p: Pane| on.contains(&p);
        assert_eq!(Pane::Log.cycle(true, only(&[])), Pane::Mounds);
        assert_eq!(Pane::Mounds.cycle(false, only(&[])), Pane::Log);
        assert_eq!(Pane::Log.cycle(true, only(&[Pane::Vcpus])), Pane::Vcpus);
        assert_eq!(Pane::Mounds.cycle(false, only(&[Pane::Vcpus])), Pane::Vcpus);
        assert_eq!(Pane::Vcpus.cycle(true, only(&[])), Pane::Mounds);
        assert_eq!(Pane::Log.cycle(true, only(&[Pane::Pager])), Pane::Pager);
        assert_eq!(Pane::Pager.cycle(true, only(&[Pane::Pager])), Pane::Mounds);
        let sets: [&'static [Pane]; 3] = [&[], &[Pane::Vcpus], &Pane::OPTIONAL];
        for on in sets {
            for p in Pane::ALL {
                if !Pane::OPTIONAL.contains(&p) || on.contains(&p) {
                    assert_eq!(p.cycle(true, only(on)).cycle(false, only(on)), p);
                }
            }
        }
    }
}
