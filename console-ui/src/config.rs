//! The dashboard's config file: refresh interval, keymap and theme (TOML).
//!
//! The file is looked up at `$XDG_CONFIG_HOME/spin/console.toml`, else
//! `~/.config/spin/console.toml`, unless the caller names one. Every key is
//! optional; [`EXAMPLE`] is a complete file with the defaults. Unknown keys,
//! unknown commands, keys that are not keys, colours that are not colours,
//! one key bound to two commands: each is an error naming the file, line and
//! column.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use ratatui::style::Color;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use crate::input::{Command, Key, Keymap, RESERVED};
use crate::theme::Theme;

/// The shortest refresh interval, ms.
pub const MIN_REFRESH_MS: u64 = 100;
/// The longest refresh interval, ms.
pub const MAX_REFRESH_MS: u64 = 10_000;
/// The refresh interval when neither the caller nor the config sets one, ms.
pub const DEFAULT_REFRESH_MS: u64 = 1_000;

/// A complete config file holding the defaults.
pub const EXAMPLE: &str = r##"# spin console config: ~/.config/spin/console.toml
# Every key is optional.

# Telemetry refresh interval, ms (100..=10000); `+`/`-` change it at run time.
refresh_ms = 1000

# Command = key or [keys]. Binding a command replaces its default keys.
# Keys: a character ("q", "P", "?"), "Space", "Tab", "Shift-Tab", "Ctrl-c",
# "F1".."F12", "Delete". Arrows, PageUp/PageDown, Home/End, Enter, Esc and
# Backspace are kept for navigation.
[keys]
help = ["?", "F1"]
quit = ["q", "Ctrl-c"]
freeze = "f"
faster = ["+", "="]
slower = "-"
next_pane = "Tab"
prev_pane = "Shift-Tab"
focus_mounds = "1"
focus_scheduler = "2"
focus_strands = "3"
focus_pages = "4"
focus_events = "5"
focus_log = "6"
focus_vcpus = "7"
focus_video = "8"
focus_pager = "9"
focus_network = "0"
zoom = "z"
sort_next = ["s", ">"]
sort_prev = ["S", "<"]
sort_reverse = ["r", "I"]
filter = ["/", "F4"]
tree = ["t", "F5"]
collapse = "Space"
policy = "P"
stop_mound = "K"
pager_policy = "R"

# Colours: a name ("light-blue", "dark-gray", "reset"), "#rrggbb", or 0..=255.
[theme]
border = "dark-gray"
focus = "light-cyan"
header = "yellow"
selection = "blue"
muted = "dark-gray"
good = "green"
warn = "yellow"
bad = "light-red"
kernel = "gray"
mounds = ["cyan", "light-green", "light-magenta", "light-blue", "light-yellow", "light-red"]
"##;

/// What the config file sets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// The refresh interval, ms, if the file sets one.
    pub refresh_ms: Option<u64>,
    /// Keys to commands.
    pub keymap: Keymap,
    /// Colours.
    pub theme: Theme,
}

/// Why the config file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file says something wrong.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Line, from 1.
        line: usize,
        /// Column, from 1 (in characters).
        column: usize,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// The default location: `$XDG_CONFIG_HOME/spin/console.toml`, else
    /// `$HOME/.config/spin/console.toml` (`None` without either variable).
    pub fn default_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|h| PathBuf::from(h).join(".config"))
            })?;
        Some(base.join("spin").join("console.toml"))
    }

    /// Loads `explicit` (which must exist), or else the file at the default
    /// path if there is one, or else the defaults.
    pub fn load_or_default(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        match explicit {
            Some(p) => Config::load(p),
            None => match Config::default_path() {
                Some(p) if p.exists() => Config::load(&p),
                _ => Ok(Config::default()),
            },
        }
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses `text`; errors name `path` and the line.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |span: Option<std::ops::Range<usize>>, message: String| {
            let (line, column) = line_col(text, span.map_or(0, |s| s.start));
            ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        };
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| invalid(e.span(), e.message().trim().to_string()))?;
        let mut config = Config::default();
        if let Some(ms) = raw.refresh_ms {
            let v = *ms.get_ref();
            if !(MIN_REFRESH_MS..=MAX_REFRESH_MS).contains(&v) {
                return Err(invalid(
                    Some(ms.span()),
                    format!("refresh_ms = {v} is out of range {MIN_REFRESH_MS}..={MAX_REFRESH_MS}"),
                ));
            }
            config.refresh_ms = Some(v);
        }
        let mut taken: BTreeMap<Key, Command> = BTreeMap::new();
        // In file order, so a conflict is reported where it is made.
        let mut entries: Vec<_> = raw.keys.into_iter().collect();
        entries.sort_by_key(|(name, _)| name.span().start);
        for (name, keys) in entries {
            let Some(command) = Command::from_name(name.get_ref()) else {
                let known: Vec<&str> = Command::ALL.iter().map(|c| c.name()).collect();
                return Err(invalid(
                    Some(name.span()),
                    format!(
                        "unknown command `{}` in [keys]; commands are: {}",
                        name.get_ref(),
                        known.join(", ")
                    ),
                ));
            };
            for &k in &keys.get_ref().0 {
                if RESERVED.contains(&k) {
                    return Err(invalid(
                        Some(keys.span()),
                        format!(
                            "`{k}` is kept for navigation and cannot be bound to `{}`",
                            command.name()
                        ),
                    ));
                }
                if let Some(other) = taken.insert(k, command) {
                    return Err(invalid(
                        Some(keys.span()),
                        format!(
                            "`{k}` is bound to both `{}` and `{}`",
                            other.name(),
                            command.name()
                        ),
                    ));
                }
            }
            config.keymap.rebind(command, &keys.get_ref().0);
        }
        raw.theme.apply(&mut config.theme);
        Ok(config)
    }
}

/// Line and column (both from 1, column in characters) of byte `offset`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    refresh_ms: Option<Spanned<u64>>,
    #[serde(default)]
    keys: BTreeMap<Spanned<String>, Spanned<Bindings>>,
    #[serde(default)]
    theme: RawTheme,
}

/// One key or a list of keys.
struct Bindings(Vec<Key>);

impl<'de> Deserialize<'de> for Bindings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Bindings;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key like \"q\" or a list of keys like [\"q\", \"Ctrl-c\"]")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Bindings, E> {
                s.parse().map(|k| Bindings(vec![k])).map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Bindings, A::Error> {
                let mut keys = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    keys.push(s.parse().map_err(de::Error::custom)?);
                }
                Ok(Bindings(keys))
            }
        }
        d.deserialize_any(V)
    }
}

/// A colour as the config file spells it.
#[derive(Clone, Copy)]
struct ColorName(Color);

impl<'de> Deserialize<'de> for ColorName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<Color>().map(ColorName).map_err(|_| {
            de::Error::custom(format!(
                "`{s}` is not a colour (try a name like \"light-blue\", \"#rrggbb\", or 0..=255)"
            ))
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTheme {
    border: Option<ColorName>,
    focus: Option<ColorName>,
    header: Option<ColorName>,
    selection: Option<ColorName>,
    muted: Option<ColorName>,
    good: Option<ColorName>,
    warn: Option<ColorName>,
    bad: Option<ColorName>,
    kernel: Option<ColorName>,
    mounds: Option<Vec<ColorName>>,
}

impl RawTheme {
    fn apply(self, t: &mut Theme) {
        let set = |slot: &mut Color, v: Option<ColorName>| {
            if let Some(c) = v {
                *slot = c.0;
            }
        };
        set(&mut t.border, self.border);
        set(&mut t.focus, self.focus);
        set(&mut t.header, self.header);
        set(&mut t.selection, self.selection);
        set(&mut t.muted, self.muted);
        set(&mut t.good, self.good);
        set(&mut t.warn, self.warn);
        set(&mut t.bad, self.bad);
        set(&mut t.kernel, self.kernel);
        if let Some(m) = self.mounds {
            t.mounds = m.into_iter().map(|c| c.0).collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/console.toml"))
    }

    fn error(text: &str) -> (usize, String) {
        match parse(text) {
            Err(ConfigError::Invalid { line, message, .. }) => (line, message),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn example_is_the_defaults() {
        let c = parse(EXAMPLE).expect("the example parses");
        assert_eq!(c.keymap, Keymap::default());
        assert_eq!(c.theme, Theme::default());
        assert_eq!(c.refresh_ms, Some(DEFAULT_REFRESH_MS));
        assert_eq!(parse("").expect("empty is fine"), Config::default());
    }

    #[test]
    fn good_file_rebinds_and_recolours() {
        let c = parse(
            "refresh_ms = 250\n[keys]\nquit = \"x\"\npolicy = [\"p\", \"F9\"]\n\
             [theme]\nfocus = \"#ff8800\"\nmounds = [\"red\", \"12\"]\n",
        )
        .expect("valid");
        assert_eq!(c.refresh_ms, Some(250));
        assert_eq!(c.keymap.command(Key::Char('x')), Some(Command::Quit));
        assert_eq!(c.keymap.command(Key::Char('q')), None);
        assert_eq!(c.keymap.command(Key::F(9)), Some(Command::Policy));
        assert_eq!(c.theme.focus, Color::Rgb(0xff, 0x88, 0x00));
        assert_eq!(c.theme.mounds, [Color::Red, Color::Indexed(12)]);
    }

    #[test]
    fn unknown_key_names_file_and_line() {
        let err = parse("refresh_ms = 500\n\n[theme]\nborder = \"red\"\nborderz = \"red\"\n")
            .expect_err("unknown field");
        let text = err.to_string();
        assert!(text.starts_with("/etc/console.toml:5:"), "{text}");
        assert!(text.contains("borderz"), "{text}");
        let (line, msg) = error("colour = 1\n");
        assert_eq!(line, 1);
        assert!(msg.contains("colour"), "{msg}");
    }

    #[test]
    fn unknown_command_is_named() {
        let (line, msg) = error("[keys]\nquit = \"q\"\nquitt = \"x\"\n");
        assert_eq!(line, 3);
        assert!(msg.contains("unknown command `quitt`"), "{msg}");
        assert!(msg.contains("stop_mound"), "lists the commands: {msg}");
    }

    #[test]
    fn bad_values_are_located() {
        let (line, msg) = error("[keys]\nhelp = \"Hyper-h\"\n");
        assert_eq!(line, 2);
        assert!(msg.contains("`Hyper-h` is not a key"), "{msg}");
        let (line, msg) = error("[keys]\n\nhelp = [\"?\", \"F99\"]\n");
        assert_eq!(line, 3);
        assert!(msg.contains("F99"), "{msg}");
        let (line, msg) = error("[theme]\nwarn = \"purplish\"\n");
        assert_eq!(line, 2);
        assert!(msg.contains("`purplish` is not a colour"), "{msg}");
        let (line, msg) = error("\nrefresh_ms = 5\n");
        assert_eq!(line, 2);
        assert!(msg.contains("out of range"), "{msg}");
        let (line, msg) = error("refresh_ms = \"fast\"\n");
        assert_eq!(line, 1);
        assert!(!msg.is_empty());
        let (line, _) = error("[keys\nquit = 1\n");
        assert_eq!(line, 1);
    }

    #[test]
    fn conflicts_and_reserved_keys_are_refused() {
        let (line, msg) = error("[keys]\nquit = \"x\"\nhelp = \"x\"\n");
        assert_eq!(line, 3);
        assert!(msg.contains("`x` is bound to both"), "{msg}");
        let (_, msg) = error("[keys]\nquit = \"Enter\"\n");
        assert!(msg.contains("kept for navigation"), "{msg}");
    }

    #[test]
    fn missing_explicit_file_is_an_error_naming_it() {
        let err = Config::load_or_default(Some(Path::new("/nonexistent/spin.toml")))
            .expect_err("missing file");
        assert!(
            err.to_string().starts_with("/nonexistent/spin.toml: "),
            "{err}"
        );
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncdé\nx", 0), (1, 1));
        assert_eq!(line_col("ab\ncdé\nx", 3), (2, 1));
        assert_eq!(line_col("ab\ncdé\nx", 8), (3, 1));
        assert_eq!(line_col("ab\ncdé\nx", 7), (2, 4));
        assert_eq!(line_col("ab\ncdé\nx", 6), (2, 3), "inside é");
        assert_eq!(line_col("ab", 99), (1, 3));
    }
}
