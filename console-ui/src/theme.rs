//! Colours. Every pane draws through a [`Theme`] so the config file can
//! restyle the dashboard (for light terminals, or colour-blind users).

use ratatui::style::{Color, Modifier, Style};
use spin_kernel::telemetry::MoundState;
use spin_kernel::{MoundId, StrandState};

/// The dashboard's colours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// Borders of unfocused panes.
    pub border: Color,
    /// Border and title of the focused pane.
    pub focus: Color,
    /// Table headers.
    pub header: Color,
    /// Background of the selected row.
    pub selection: Color,
    /// Secondary text (labels, hints, free frames).
    pub muted: Color,
    /// Good news: running strands and mounds, a live link.
    pub good: Color,
    /// Attention: runnable strands, frozen display, finished host.
    pub warn: Color,
    /// Bad news: faults, deadline misses, errors, a dead link.
    pub bad: Color,
    /// Frames and strands of the kernel (mound 0).
    pub kernel: Color,
    /// Mound colours, by mound id (wrapping): frame map, chart, legend.
    pub mounds: Vec<Color>,
}

impl Default for Theme {
    fn default() -> Self {
        Theme {
            border: Color::DarkGray,
            focus: Color::LightCyan,
            header: Color::Yellow,
            selection: Color::Blue,
            muted: Color::DarkGray,
            good: Color::Green,
            warn: Color::Yellow,
            bad: Color::LightRed,
            kernel: Color::Gray,
            mounds: vec![
                Color::Cyan,
                Color::LightGreen,
                Color::LightMagenta,
                Color::LightBlue,
                Color::LightYellow,
                Color::LightRed,
            ],
        }
    }
}

impl Theme {
    /// The colour of mound `m` (the kernel has its own).
    pub fn mound(&self, m: MoundId) -> Color {
        if m == MoundId::KERNEL || self.mounds.is_empty() {
            self.kernel
        } else {
            self.mounds[(m.0 as usize - 1) % self.mounds.len()]
        }
    }

    /// The style of a table header row.
    pub fn header_style(&self) -> Style {
        Style::default()
            .fg(self.header)
            .add_modifier(Modifier::BOLD)
    }

    /// The style of the selected row.
    pub fn selected_style(&self) -> Style {
        Style::default()
            .bg(self.selection)
            .add_modifier(Modifier::BOLD)
    }

    /// The style of secondary text.
    pub fn muted_style(&self) -> Style {
        Style::default().fg(self.muted)
    }

    /// The colour of a strand in state `s`.
    pub fn strand_state(&self, s: StrandState) -> Color {
        match s {
            StrandState::Running => self.good,
            StrandState::Runnable => self.warn,
            StrandState::Blocked => Color::Reset,
            StrandState::Exited => self.muted,
        }
    }

    /// The colour of a mound in state `s`.
    pub fn mound_state(&self, s: &MoundState) -> Color {
        match s {
            MoundState::Running => self.good,
            MoundState::Exited(0) => self.muted,
            MoundState::Exited(_) | MoundState::Stopped => self.warn,
            MoundState::Failed(_) => self.bad,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mound_colours_wrap_and_kernel_is_apart() {
        let t = Theme::default();
        assert_eq!(t.mound(MoundId::KERNEL), t.kernel);
        assert_eq!(t.mound(MoundId(1)), t.mounds[0]);
        assert_eq!(t.mound(MoundId(7)), t.mounds[0]);
        let empty = Theme {
            mounds: Vec::new(),
            ..Theme::default()
        };
        assert_eq!(empty.mound(MoundId(3)), empty.kernel);
    }
}
