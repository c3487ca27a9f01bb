//! Commands and the keymap that binds keys to them.
//!
//! Commands are what a user may rebind in the config file. Navigation keys
//! (arrows, PageUp/PageDown, Home/End, Enter, Esc, Backspace) are fixed so a
//! bad config can never leave the dashboard unusable.

use super::key::Key;
use crate::pane::Pane;

/// A rebindable command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Command {
    /// Leave the dashboard.
    Quit,
    /// Show or hide the help overlay.
    Help,
    /// Freeze or unfreeze the display.
    Freeze,
    /// Open the policy popup.
    Policy,
    /// Ask to stop the selected mound.
    StopMound,
    /// Open the page replacement policy popup of the pager pane's mound.
    PagerPolicy,
    /// Type a strand filter.
    Filter,
    /// Switch the strands pane between table and tree.
    Tree,
    /// Collapse or expand the selected mound in the tree.
    Collapse,
    /// Sort strands by the next column (the vCPU exits pane's reasons,
    /// when it has focus).
    SortNext,
    /// Sort strands by the previous column (the vCPU exits pane's reasons,
    /// when it has focus).
    SortPrev,
    /// Reverse the sort order.
    SortReverse,
    /// Refresh more often.
    Faster,
    /// Refresh less often.
    Slower,
    /// Focus the next pane.
    NextPane,
    /// Focus the previous pane.
    PrevPane,
    /// Give the focused pane the whole screen, or give it back.
    Zoom,
    /// Focus this pane.
    Focus(Pane),
}

impl Command {
    /// Every command, in the order the help overlay lists them.
    pub const ALL: [Command; 27] = [
        Command::Help,
        Command::Quit,
        Command::Freeze,
        Command::Faster,
        Command::Slower,
        Command::NextPane,
        Command::PrevPane,
        Command::Focus(Pane::Mounds),
        Command::Focus(Pane::Scheduler),
        Command::Focus(Pane::Strands),
        Command::Focus(Pane::Pages),
        Command::Focus(Pane::Events),
        Command::Focus(Pane::Log),
        Command::Focus(Pane::Vcpus),
        Command::Focus(Pane::Video),
        Command::Focus(Pane::Pager),
        Command::Focus(Pane::Network),
        Command::Zoom,
        Command::SortNext,
        Command::SortPrev,
        Command::SortReverse,
        Command::Filter,
        Command::Tree,
        Command::Collapse,
        Command::Policy,
        Command::StopMound,
        Command::PagerPolicy,
    ];

    /// The command's name in the config file's `[keys]` table.
    pub fn name(self) -> &'static str {
        match self {
            Command::Quit => "quit",
            Command::Help => "help",
            Command::Freeze => "freeze",
            Command::Policy => "policy",
            Command::StopMound => "stop_mound",
            Command::PagerPolicy => "pager_policy",
            Command::Filter => "filter",
            Command::Tree => "tree",
            Command::Collapse => "collapse",
            Command::SortNext => "sort_next",
            Command::SortPrev => "sort_prev",
            Command::SortReverse => "sort_reverse",
            Command::Faster => "faster",
            Command::Slower => "slower",
            Command::NextPane => "next_pane",
            Command::PrevPane => "prev_pane",
            Command::Zoom => "zoom",
            Command::Focus(Pane::Mounds) => "focus_mounds",
            Command::Focus(Pane::Scheduler) => "focus_scheduler",
            Command::Focus(Pane::Strands) => "focus_strands",
            Command::Focus(Pane::Pages) => "focus_pages",
            Command::Focus(Pane::Events) => "focus_events",
            Command::Focus(Pane::Log) => "focus_log",
            Command::Focus(Pane::Vcpus) => "focus_vcpus",
            Command::Focus(Pane::Video) => "focus_video",
            Command::Focus(Pane::Pager) => "focus_pager",
            Command::Focus(Pane::Network) => "focus_network",
        }
    }

    /// What the command does, for the help overlay.
    pub fn describe(self) -> &'static str {
        match self {
            Command::Quit => "quit",
            Command::Help => "this help",
            Command::Freeze => "freeze / unfreeze the display",
            Command::Policy => "swap the global policy (popup)",
            Command::StopMound => "stop the selected mound",
            Command::PagerPolicy => "switch the db pager's policy (popup)",
            Command::Filter => "filter strands (Esc clears)",
            Command::Tree => "strands: table / tree by mound",
            Command::Collapse => "tree: collapse / expand mound",
            Command::SortNext => "sort strands by next column",
            Command::SortPrev => "sort strands by previous column",
            Command::SortReverse => "reverse sort order",
            Command::Faster => "refresh faster",
            Command::Slower => "refresh slower",
            Command::NextPane => "focus next pane",
            Command::PrevPane => "focus previous pane",
            Command::Zoom => "zoom the focused pane",
            Command::Focus(Pane::Mounds) => "focus Mounds",
            Command::Focus(Pane::Scheduler) => "focus Scheduler",
            Command::Focus(Pane::Strands) => "focus Strands",
            Command::Focus(Pane::Pages) => "focus Pages",
            Command::Focus(Pane::Events) => "focus Events",
            Command::Focus(Pane::Log) => "focus Log",
            Command::Focus(Pane::Vcpus) => "focus vCPU exits (KVM)",
            Command::Focus(Pane::Video) => "focus Video",
            Command::Focus(Pane::Pager) => "focus Pager",
            Command::Focus(Pane::Network) => "focus Network",
        }
    }

    /// The command called `name` in the config file.
    pub fn from_name(name: &str) -> Option<Command> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The keys bound to the command by default.
    pub fn default_keys(self) -> &'static [Key] {
        match self {
            Command::Quit => &[Key::Char('q'), Key::Ctrl('c')],
            Command::Help => &[Key::Char('?'), Key::F(1)],
            Command::Freeze => &[Key::Char('f')],
            Command::Policy => &[Key::Char('P')],
            Command::StopMound => &[Key::Char('K')],
            Command::PagerPolicy => &[Key::Char('R')],
            Command::Filter => &[Key::Char('/'), Key::F(4)],
            Command::Tree => &[Key::Char('t'), Key::F(5)],
            Command::Collapse => &[Key::Char(' ')],
            Command::SortNext => &[Key::Char('s'), Key::Char('>')],
            Command::SortPrev => &[Key::Char('S'), Key::Char('<')],
            Command::SortReverse => &[Key::Char('r'), Key::Char('I')],
            Command::Faster => &[Key::Char('+'), Key::Char('=')],
            Command::Slower => &[Key::Char('-')],
            Command::NextPane => &[Key::Tab],
            Command::PrevPane => &[Key::BackTab],
            Command::Zoom => &[Key::Char('z')],
            Command::Focus(Pane::Mounds) => &[Key::Char('1')],
            Command::Focus(Pane::Scheduler) => &[Key::Char('2')],
            Command::Focus(Pane::Strands) => &[Key::Char('3')],
            Command::Focus(Pane::Pages) => &[Key::Char('4')],
            Command::Focus(Pane::Events) => &[Key::Char('5')],
            Command::Focus(Pane::Log) => &[Key::Char('6')],
            Command::Focus(Pane::Vcpus) => &[Key::Char('7')],
            Command::Focus(Pane::Video) => &[Key::Char('8')],
            Command::Focus(Pane::Pager) => &[Key::Char('9')],
            Command::Focus(Pane::Network) => &[Key::Char('0')],
        }
    }
}

/// Keys the dashboard keeps for navigation; commands cannot take them.
pub const RESERVED: [Key; 11] = [
    Key::Up,
    Key::Down,
    Key::Left,
    Key::Right,
    Key::PageUp,
    Key::PageDown,
    Key::Home,
    Key::End,
    Key::Enter,
    Key::Esc,
    Key::Backspace,
];

/// Which command each key runs (a key runs at most one command; a command
/// keeps its keys in the order they were bound, the first being the one
/// hints show).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<(Key, Command)>,
}

impl Default for Keymap {
    fn default() -> Self {
        let mut map = Keymap {
            bindings: Vec::new(),
        };
        for c in Command::ALL {
            map.rebind(c, c.default_keys());
        }
        map
    }
}

impl Keymap {
    /// The command `key` runs, if any.
    pub fn command(&self, key: Key) -> Option<Command> {
        self.bindings
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, c)| *c)
    }

    /// The keys that run `command`, in the order they were bound.
    pub fn keys_for(&self, command: Command) -> Vec<Key> {
        self.bindings
            .iter()
            .filter(|(_, c)| *c == command)
            .map(|(k, _)| *k)
            .collect()
    }

    /// The keys of `command` as the help shows them (`q Ctrl-c`), or
    /// `unbound`.
    pub fn label(&self, command: Command) -> String {
        let keys = self.keys_for(command);
        if keys.is_empty() {
            "unbound".into()
        } else {
            keys.iter()
                .map(Key::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        }
    }

    /// Binds `command` to exactly `keys` (its default keys are dropped; a
    /// key another command had moves to this one).
    pub fn rebind(&mut self, command: Command, keys: &[Key]) {
        self.bindings
            .retain(|(k, c)| *c != command && !keys.contains(k));
        self.bindings.extend(keys.iter().map(|&k| (k, command)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for c in Command::ALL {
            assert_eq!(Command::from_name(c.name()), Some(c));
            assert!(seen.insert(c.name()), "{} twice", c.name());
        }
    }

    #[test]
    fn defaults_have_no_conflicts_and_avoid_reserved_keys() {
        let map = Keymap::default();
        let total: usize = Command::ALL.iter().map(|c| c.default_keys().len()).sum();
        assert_eq!(
            map.bindings.len(),
            total,
            "two commands share a default key"
        );
        for k in RESERVED {
            assert_eq!(map.command(k), None, "{k} is reserved");
        }
        assert_eq!(map.command(Key::Char('P')), Some(Command::Policy));
        assert_eq!(map.command(Key::Char('R')), Some(Command::PagerPolicy));
        assert_eq!(
            map.command(Key::Char('0')),
            Some(Command::Focus(Pane::Network))
        );
        assert_eq!(map.label(Command::Quit), "q Ctrl-c");
        assert_eq!(
            map.keys_for(Command::SortNext),
            [Key::Char('s'), Key::Char('>')]
        );
    }

    #[test]
    fn rebind_replaces_defaults() {
        let mut map = Keymap::default();
        map.rebind(Command::Quit, &[Key::Char('x')]);
        assert_eq!(map.command(Key::Char('q')), None);
        assert_eq!(map.command(Key::Char('x')), Some(Command::Quit));
        map.rebind(Command::Help, &[]);
        assert_eq!(map.label(Command::Help), "unbound");
    }
}
