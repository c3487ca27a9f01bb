//! The dashboard's panes.

/// A pane of the dashboard (Tab cycles in this order; `1`..`7` jump; the
/// vCPU exits pane is there only on the KVM machine).
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
}

impl Pane {
    /// All panes in Tab order.
    pub const ALL: [Pane; 7] = [
        Pane::Mounds,
        Pane::Scheduler,
        Pane::Strands,
        Pane::Pages,
        Pane::Events,
        Pane::Log,
        Pane::Vcpus,
    ];

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
    /// the vCPU exits pane unless `vcpus` (the record has vCPU telemetry).
    pub fn cycle(self, forward: bool, vcpus: bool) -> Pane {
        let mut p = self;
        loop {
            p = if forward { p.next() } else { p.prev() };
            if vcpus || p != Pane::Vcpus || p == self {
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
        assert_eq!(Pane::Vcpus.next(), Pane::Mounds);
        assert_eq!(Pane::Mounds.prev(), Pane::Vcpus);
    }

    #[test]
    fn cycle_skips_the_vcpu_pane_without_vcpus() {
        assert_eq!(Pane::Log.cycle(true, false), Pane::Mounds);
        assert_eq!(Pane::Mounds.cycle(false, false), Pane::Log);
        assert_eq!(Pane::Log.cycle(true, true), Pane::Vcpus);
        assert_eq!(Pane::Mounds.cycle(false, true), Pane::Vcpus);
        assert_eq!(Pane::Vcpus.cycle(true, false), Pane::Mounds);
        for p in Pane::ALL {
            for v in [false, true] {
                if v || p != Pane::Vcpus {
                    assert_eq!(p.cycle(true, v).cycle(false, v), p);
                }
            }
        }
    }
}
