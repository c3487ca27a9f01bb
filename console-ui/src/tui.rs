//! The terminal loop: crossterm alternate screen, raw mode and mouse
//! capture; telemetry from a collector thread; keys and mouse through the
//! [`Dashboard`] state machine; actions sent back through the control plane.
//! The terminal is restored on exit, on error and on panic.

use std::io::{stdout, Stdout};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;
use std::time::Duration;

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyCode, KeyEvent, KeyEventKind,
    KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::Terminal;
use spin_vmm::control::{ControlPlane, Reply, Request};

use crate::collector::{Collector, News, Order};
use crate::config::{Config, ConfigError};
use crate::dashboard::{Action, Dashboard};
use crate::input::{Key, Mouse, MouseKind};

/// How [`run_tui`] runs.
#[derive(Debug, Clone, Default)]
pub struct TuiOptions {
    /// Telemetry poll interval, ms (clamped to 100..=10000). None: the
    /// config file's `refresh_ms`, else 1000. `+`/`-` change it at run time.
    pub refresh_ms: Option<u64>,
    /// The config file. None: `$XDG_CONFIG_HOME/spin/console.toml` or
    /// `~/.config/spin/console.toml` if it exists, else the defaults. A file
    /// named here must exist.
    pub config: Option<PathBuf>,
    /// Shown at the left of the footer (`spin demo`, a socket path, …).
    pub title: String,
}

/// Why the dashboard could not run.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    /// The config file is unreadable or wrong (reported before the
    /// terminal is touched).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The terminal failed.
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// Runs the dashboard on this terminal until the user quits.
///
/// Polls `plane.snapshot()` on a collector thread at the refresh interval
/// and sends the user's confirmed actions as requests (`SwapPolicy` →
/// [`Request::SetPolicy`], `StopMound` → [`Request::StopMound`],
/// `SetPagerPolicy` → [`Request::SetPagerPolicy`]); replies
/// and errors show in the footer. When the host finishes the last record
/// stays on screen marked `finished`; when the socket dies the last record
/// stays marked `disconnected`. Neither ends the loop: only `q` (or
/// Ctrl-c) does.
pub fn run_tui(plane: Box<dyn ControlPlane>, opts: TuiOptions) -> Result<(), TuiError> {
    let config = Config::load_or_default(opts.config.as_deref())?;
    let mut dash = Dashboard::new(config, opts.title);
    if let Some(ms) = opts.refresh_ms {
        dash.set_refresh_ms(ms);
    }
    let collector = Collector::spawn(plane, Duration::from_millis(dash.refresh_ms()))?;
    let mut guard = TerminalGuard::enter()?;
    event_loop(&mut guard.terminal, &mut dash, &collector)
}

fn event_loop(
    term: &mut Terminal<CrosstermBackend<Stdout>>,
    dash: &mut Dashboard,
    collector: &Collector,
) -> Result<(), TuiError> {
    let mut dirty = true;
    loop {
        while let Ok(news) = collector.news.try_recv() {
            if take_news(dash, news) {
                // A panic message may have scribbled on the screen.
                term.clear()?;
            }
            dirty = true;
        }
        if dirty {
            term.draw(|f| dash.draw(f))?;
            dirty = false;
        }
        if !event::poll(Duration::from_millis(40))? {
            continue;
        }
        let action = match event::read()? {
            Event::Key(k) if k.kind != KeyEventKind::Release => match key_of(k) {
                Some(key) => dash.on_key(key),
                None => Action::None,
            },
            Event::Mouse(m) => match mouse_of(m) {
                Some(m) => dash.on_mouse(m),
                None => continue,
            },
            Event::Resize(..) => Action::None,
            _ => continue,
        };
        dirty = true;
        if !act(dash, collector, action) {
            return Ok(());
        }
    }
}

/// Applies one piece of collector news; true if the screen needs clearing.
pub(crate) fn take_news(dash: &mut Dashboard, news: News) -> bool {
    match news {
        News::Record(t) => dash.update(*t),
        News::Lost(why) => dash.disconnected(why),
        News::Reply(_, Ok(Reply::PolicySet { from, to })) => {
            dash.set_status(format!("policy {from} → {to}"), false);
        }
        News::Reply(_, Ok(Reply::MoundStopped { id })) => {
            dash.set_status(format!("mound {id} stopped"), false);
        }
        News::Reply(_, Ok(Reply::PagerPolicySet { mound, from, to })) => {
            dash.set_status(format!("mound {mound} pager {from} → {to}"), false);
        }
        News::Reply(req, Ok(Reply::Error { message })) => {
            dash.set_status(format!("{}: {message}", what(&req)), true);
        }
        News::Reply(_, Ok(_)) => {}
        News::Reply(req, Err(e)) => dash.set_status(format!("{}: {e}", what(&req)), true),
        News::Panicked(why) => {
            dash.disconnected(format!("control plane panicked: {why}"));
            return true;
        }
    }
    false
}

fn what(req: &Request) -> String {
    match req {
        Request::SetPolicy { policy } => format!("swap to {policy}"),
        Request::StopMound { id } => format!("stop mound {id}"),
        Request::SetPagerPolicy { mound, policy } => format!("mound {mound} pager to {policy}"),
        other => format!("{other:?}"),
    }
}

/// Carries out `action`; false when the user quits.
pub(crate) fn act(dash: &mut Dashboard, collector: &Collector, action: Action) -> bool {
    let order = match action {
        Action::None => return true,
        Action::Quit => return false,
        Action::SwapPolicy(policy) => {
            dash.set_status(format!("swapping to {policy}…"), false);
            Order::Request(Request::SetPolicy { policy })
        }
        Action::StopMound(id) => {
            dash.set_status(format!("stopping mound {id}…"), false);
            Order::Request(Request::StopMound { id })
        }
        Action::SetPagerPolicy { mound, policy } => {
            dash.set_status(
                format!("switching mound {mound}'s pager to {policy}…"),
                false,
            );
            Order::Request(Request::SetPagerPolicy { mound, policy })
        }
        Action::Refresh(ms) => {
            dash.set_status(format!("refresh every {ms} ms"), false);
            Order::Refresh(Duration::from_millis(ms))
        }
    };
    if collector.orders.send(order).is_err() {
        dash.disconnected("the collector has stopped");
    }
    true
}

/// The dashboard's key for a crossterm key event.
pub fn key_of(k: KeyEvent) -> Option<Key> {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    Some(match k.code {
        KeyCode::Char(c) if ctrl => Key::Ctrl(c.to_ascii_lowercase()),
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Delete => Key::Delete,
        KeyCode::Tab if k.modifiers.contains(KeyModifiers::SHIFT) => Key::BackTab,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::F(n) => Key::F(n),
        _ => return None,
    })
}

/// The dashboard's mouse event for a crossterm one (left clicks and the
/// wheel; the rest is ignored).
pub fn mouse_of(m: MouseEvent) -> Option<Mouse> {
    let kind = match m.kind {
        MouseEventKind::Down(MouseButton::Left) => MouseKind::Click,
        MouseEventKind::ScrollUp => MouseKind::ScrollUp,
        MouseEventKind::ScrollDown => MouseKind::ScrollDown,
        _ => return None,
    };
    Some(Mouse {
        kind,
        x: m.column,
        y: m.row,
    })
}

/// Whether the terminal is in dashboard mode (the panic hook restores it
/// only then).
static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

/// Leaves raw mode, the alternate screen and mouse capture (idempotent).
fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let _ = execute!(
            stdout(),
            DisableMouseCapture,
            LeaveAlternateScreen,
            ratatui::crossterm::cursor::Show
        );
    }
}

/// The terminal in dashboard mode; dropping it restores the terminal.
struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    fn enter() -> std::io::Result<TerminalGuard> {
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                // Restore first so the panic message lands on a sane screen.
                restore();
                previous(info);
            }));
        });
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let entered = execute!(stdout(), EnterAlternateScreen, EnableMouseCapture)
            .and_then(|()| Terminal::new(CrosstermBackend::new(stdout())));
        match entered {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;
    use std::sync::mpsc;

    #[test]
    fn crossterm_keys_map() {
        let k = |code, m| KeyEvent::new(code, m);
        assert_eq!(
            key_of(k(KeyCode::Char('P'), KeyModifiers::SHIFT)),
            Some(Key::Char('P'))
        );
        assert_eq!(
            key_of(k(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Key::Ctrl('c'))
        );
        assert_eq!(
            key_of(k(KeyCode::Tab, KeyModifiers::SHIFT)),
            Some(Key::BackTab)
        );
        assert_eq!(
            key_of(k(KeyCode::F(5), KeyModifiers::NONE)),
            Some(Key::F(5))
        );
        assert_eq!(key_of(k(KeyCode::CapsLock, KeyModifiers::NONE)), None);
        let m = |kind| MouseEvent {
            kind,
            column: 3,
            row: 4,
            modifiers: KeyModifiers::NONE,
        };
        assert_eq!(
            mouse_of(m(MouseEventKind::Down(MouseButton::Left))),
            Some(Mouse::click(3, 4))
        );
        assert_eq!(mouse_of(m(MouseEventKind::Moved)), None);
    }

    #[test]
    fn actions_become_orders_and_replies_become_status() {
        let (orders, rx) = mpsc::channel();
        let (_tx, news) = mpsc::channel();
        let c = Collector { orders, news };
        let mut d = Dashboard::default();
        assert!(act(&mut d, &c, Action::SwapPolicy("stride".into())));
        assert!(matches!(
            rx.try_recv(),
            Ok(Order::Request(Request::SetPolicy { policy })) if policy == "stride"
        ));
        assert!(act(&mut d, &c, Action::Refresh(500)));
        assert!(matches!(rx.try_recv(), Ok(Order::Refresh(d)) if d == Duration::from_millis(500)));
        assert!(!act(&mut d, &c, Action::Quit));

        take_news(&mut d, News::Record(Box::new(fixture::record(0))));
        take_news(
            &mut d,
            News::Reply(
                Request::SetPolicy {
                    policy: "stride".into(),
                },
                Ok(Reply::PolicySet {
                    from: "rr-priority".into(),
                    to: "stride".into(),
                }),
            ),
        );
        assert_eq!(
            d.status().map(|s| s.text.as_str()),
            Some("policy rr-priority → stride")
        );
        take_news(
            &mut d,
            News::Reply(
                Request::SetPolicy {
                    policy: "nope".into(),
                },
                Ok(Reply::Error {
                    message: "unknown policy".into(),
                }),
            ),
        );
        let st = d.status().expect("status");
        assert!(
            st.error && st.text == "swap to nope: unknown policy",
            "{st:?}"
        );
        assert!(take_news(&mut d, News::Panicked("boom".into())));
        assert!(matches!(d.link(), crate::Link::Lost(_)));
        drop(rx);
        act(&mut d, &c, Action::Refresh(200));
        assert!(matches!(d.link(), crate::Link::Lost(w) if w.contains("collector")));
    }
}
