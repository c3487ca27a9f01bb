//! Input: keys and mouse events independent of the terminal, the keymap,
//! and the state machine that turns them into UI changes and [`Action`]s.
//!
//! [`Action`]: crate::Action

mod key;
mod keymap;
mod machine;
mod mouse;

pub use key::{Key, Mouse, MouseKind, ParseKeyError};
pub use keymap::{Command, Keymap, RESERVED};

#[cfg(test)]
mod tests;
