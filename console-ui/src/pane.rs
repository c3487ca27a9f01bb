//! The dashboard's panes.

/// A pane of the dashboard (Tab cycles in this order; `1`..`6` jump).
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
}

impl Pane {
    /// All panes in Tab order.
    pub const ALL: [Pane; 6] = [
        Pane::Mounds,
        Pane::Scheduler,
        Pane::Strands,
        Pane::Pages,
        Pane::Events,
        Pane::Log,
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

    /// The pane's title.
    pub fn title(self) -> &'static str {
        match self {
            Pane::Mounds => "Mounds",
            Pane::Scheduler => "Scheduler",
            Pane::Strands => "Strands",
            Pane::Pages => "Pages",
            Pane::Events => "Events",
            Pane::Log => "Log",
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
        assert_eq!(Pane::Log.next(), Pane::Mounds);
        assert_eq!(Pane::Mounds.prev(), Pane::Log);
    }
}
