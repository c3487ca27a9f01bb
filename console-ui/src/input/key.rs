//! Keys and mouse input, independent of any terminal library.
//!
//! The terminal loop turns crossterm events into these; tests build them by
//! hand. A key has a text form (`q`, `Tab`, `Ctrl-c`, `F5`, `Space`) used by
//! the config file and the help overlay.

use std::fmt;
use std::str::FromStr;

/// A key press.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// A printable character (case matters: `P` opens the policy popup).
    Char(char),
    /// A character typed with Control held (`Ctrl-c`).
    Ctrl(char),
    /// A function key, `F1`..=`F12`.
    F(u8),
    /// Enter / Return.
    Enter,
    /// Escape.
    Esc,
    /// Backspace.
    Backspace,
    /// Delete.
    Delete,
    /// Tab.
    Tab,
    /// Shift-Tab.
    BackTab,
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Arrow left.
    Left,
    /// Arrow right.
    Right,
    /// Page up.
    PageUp,
    /// Page down.
    PageDown,
    /// Home.
    Home,
    /// End.
    End,
}

/// The named keys and their text form (the first name is the canonical one).
const NAMED: &[(&str, Key)] = &[
    ("Enter", Key::Enter),
    ("Return", Key::Enter),
    ("Esc", Key::Esc),
    ("Escape", Key::Esc),
    ("Backspace", Key::Backspace),
    ("Delete", Key::Delete),
    ("Del", Key::Delete),
    ("Tab", Key::Tab),
    ("BackTab", Key::BackTab),
    ("Shift-Tab", Key::BackTab),
    ("Up", Key::Up),
    ("Down", Key::Down),
    ("Left", Key::Left),
    ("Right", Key::Right),
    ("PageUp", Key::PageUp),
    ("PgUp", Key::PageUp),
    ("PageDown", Key::PageDown),
    ("PgDn", Key::PageDown),
    ("Home", Key::Home),
    ("End", Key::End),
    ("Space", Key::Char(' ')),
];

/// Why a key's text form was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a key (try `q`, `Space`, `Tab`, `Ctrl-c`, `F5`, `PageUp`)")]
pub struct ParseKeyError(pub String);

impl FromStr for Key {
    type Err = ParseKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseKeyError(s.to_string());
        let mut chars = s.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            return if c.is_control() {
                Err(bad())
            } else {
                Ok(Key::Char(c))
            };
        }
        if let Some(&(_, k)) = NAMED.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
            return Ok(k);
        }
        let lower = s.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("ctrl-").or(lower.strip_prefix("c-")) {
            let mut cs = rest.chars();
            return match (cs.next(), cs.next()) {
                (Some(c), None) if c.is_ascii_alphanumeric() => Ok(Key::Ctrl(c)),
                _ => Err(bad()),
            };
        }
        if let Some(n) = lower.strip_prefix('f') {
            return match n.parse::<u8>() {
                Ok(n @ 1..=12) => Ok(Key::F(n)),
                _ => Err(bad()),
            };
        }
        Err(bad())
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Char(' ') => f.write_str("Space"),
            Key::Char(c) => write!(f, "{c}"),
            Key::Ctrl(c) => write!(f, "Ctrl-{c}"),
            Key::F(n) => write!(f, "F{n}"),
            other => {
                let name = NAMED
                    .iter()
                    .find(|(_, k)| k == other)
                    .map_or("?", |(n, _)| n);
                f.write_str(name)
            }
        }
    }
}

impl TryFrom<String> for Key {
    type Error = ParseKeyError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// What the mouse did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MouseKind {
    /// The left button went down.
    Click,
    /// The wheel turned away from the user.
    ScrollUp,
    /// The wheel turned towards the user.
    ScrollDown,
}

/// A mouse event at a screen cell (column `x`, row `y`, from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mouse {
    /// What happened.
    pub kind: MouseKind,
    /// Column.
    pub x: u16,
    /// Row.
    pub y: u16,
}

impl Mouse {
    /// A left click at (`x`, `y`).
    pub fn click(x: u16, y: u16) -> Mouse {
        Mouse {
            kind: MouseKind::Click,
            x,
            y,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        for (text, key) in [
            ("q", Key::Char('q')),
            ("P", Key::Char('P')),
            ("?", Key::Char('?')),
            ("Space", Key::Char(' ')),
            ("Tab", Key::Tab),
            ("Shift-Tab", Key::BackTab),
            ("Ctrl-c", Key::Ctrl('c')),
            ("F5", Key::F(5)),
            ("PageUp", Key::PageUp),
            ("Esc", Key::Esc),
        ] {
            assert_eq!(text.parse::<Key>(), Ok(key), "{text}");
            let back: Key = key.to_string().parse().expect("display parses");
            assert_eq!(back, key);
        }
        assert_eq!("escape".parse::<Key>(), Ok(Key::Esc));
        assert_eq!("C-x".parse::<Key>(), Ok(Key::Ctrl('x')));
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "", "qq", "F13", "F0", "Ctrl-", "Ctrl-ab", "Hyper-x", "\u{7}",
        ] {
            assert!(bad.parse::<Key>().is_err(), "{bad:?}");
        }
    }
}
