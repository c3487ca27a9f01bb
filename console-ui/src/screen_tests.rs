//! Snapshots of the whole screen at 140×45 in its main states.

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use crate::dashboard::Dashboard;
use crate::fixture;
use crate::input::Key;

fn loaded() -> Dashboard {
    let mut d = Dashboard::new(crate::Config::default(), "spin demo");
    for r in fixture::records(30) {
        d.update(r);
    }
    d
}

fn screen(d: &mut Dashboard, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend never fails");
    term.draw(|f| d.draw(f)).expect("test backend never fails");
    term
}

fn footer(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    let w = usize::from(buf.area.width);
    let last = buf.content.len() - w;
    buf.content[last..].iter().map(|c| c.symbol()).collect()
}

#[test]
fn live() {
    let mut d = loaded();
    d.on_key(Key::Char('3'));
    let term = screen(&mut d, 140, 45);
    insta::assert_snapshot!(term.backend());
}

#[test]
fn policy_popup_over_the_screen() {
    let mut d = loaded();
    d.on_key(Key::Char('P'));
    d.on_key(Key::Char('e'));
    insta::assert_snapshot!(screen(&mut d, 140, 45).backend());
    d.on_key(Key::Enter);
    insta::assert_snapshot!("confirm_over_the_screen", screen(&mut d, 140, 45).backend());
}

#[test]
fn help_over_the_screen() {
    let mut d = loaded();
    d.on_key(Key::Char('?'));
    insta::assert_snapshot!(screen(&mut d, 140, 45).backend());
}

#[test]
fn footer_names_the_policy_and_the_state() {
    let mut d = loaded();
    let f = footer(&screen(&mut d, 140, 45));
    for want in [
        "spin demo",
        "policy stride",
        "alpha · 2 vCPU",
        "machine 6.00s",
        "refresh 1000ms",
        " live ",
        "? help",
    ] {
        assert!(f.contains(want), "{want:?} not in {f:?}");
    }
    d.on_key(Key::Char('f'));
    d.on_key(Key::Char('-'));
    let f = footer(&screen(&mut d, 140, 45));
    assert!(f.contains("FROZEN") && f.contains("refresh 2000ms"), "{f}");
    d.update(fixture::exited(fixture::record(30)));
    d.on_key(Key::Char('f'));
    let f = footer(&screen(&mut d, 140, 45));
    assert!(f.contains("finished") && !f.contains("FROZEN"), "{f}");
    d.disconnected("control socket: the host closed the socket");
    let f = footer(&screen(&mut d, 140, 45));
    assert!(
        f.contains("disconnected") && f.contains("policy stride"),
        "{f}"
    );
}

#[test]
fn finished_and_disconnected() {
    let mut d = loaded();
    d.update(fixture::exited(fixture::record(30)));
    d.disconnected("control socket: the host closed the socket");
    insta::assert_snapshot!(screen(&mut d, 140, 45).backend());
}

#[test]
fn waiting_for_the_first_record() {
    let mut d = Dashboard::new(crate::Config::default(), "spin top");
    insta::assert_snapshot!(screen(&mut d, 100, 30).backend());
}

#[test]
fn small_terminal() {
    let mut d = loaded();
    insta::assert_snapshot!(screen(&mut d, 80, 24).backend());
}

#[test]
fn zoomed_strands_tree() {
    let mut d = loaded();
    for k in [Key::Char('t'), Key::Char('z')] {
        d.on_key(k);
    }
    insta::assert_snapshot!(screen(&mut d, 100, 20).backend());
}

#[test]
fn tiny_terminals_do_not_panic() {
    for (w, h) in [(1, 1), (10, 4), (20, 8), (40, 12), (200, 3)] {
        let mut d = loaded();
        screen(&mut d, w, h);
        for k in [Key::Char('P'), Key::Enter] {
            d.on_key(k);
            screen(&mut d, w, h);
        }
        d.on_key(Key::Esc);
        d.on_key(Key::Char('?'));
        screen(&mut d, w, h);
    }
}

fn kvm_loaded() -> Dashboard {
    let mut d = Dashboard::new(crate::Config::default(), "spin demo --machine kvm");
    for r in fixture::kvm_records(30) {
        d.update(r);
    }
    d
}

#[test]
fn kvm_live() {
    let mut d = kvm_loaded();
    d.on_key(Key::Char('7'));
    insta::assert_snapshot!(screen(&mut d, 140, 45).backend());
}

#[test]
fn kvm_narrow() {
    let mut d = kvm_loaded();
    insta::assert_snapshot!(screen(&mut d, 100, 30).backend());
}

#[test]
fn kvm_help_over_the_screen() {
    let mut d = kvm_loaded();
    d.on_key(Key::Char('?'));
    insta::assert_snapshot!(screen(&mut d, 140, 45).backend());
}

#[test]
fn kvm_tiny_terminals_do_not_panic() {
    for (w, h) in [(1, 1), (10, 4), (20, 8), (40, 12), (60, 24), (200, 3)] {
        let mut d = kvm_loaded();
        screen(&mut d, w, h);
        for k in [Key::Char('7'), Key::Char('z'), Key::Char('s'), Key::End] {
            d.on_key(k);
            screen(&mut d, w, h);
        }
    }
}

fn mix_loaded() -> Dashboard {
    let mut d = Dashboard::new(crate::Config::default(), "spin demo");
    for r in fixture::mix::records(30) {
        d.update(r);
    }
    d
}

fn text(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    let w = usize::from(buf.area.width);
    buf.content
        .chunks(w)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>() + "\n")
        .collect()
}

#[test]
fn mix_live() {
    let mut d = mix_loaded();
    let term = screen(&mut d, 140, 45);
    let s = text(&term);
    for want in [
        "8 Video (viewer, frame 898)",
        "29.7 fps",
        "deadline misses 2",
        "9 Pager · db",
        "policy hinted  budget 112",
        "hit ratio ",
        "0 Network (user 10.0.2.15/24)",
        "no-handler 15",
        "4 Pages",
        "5 Events",
    ] {
        assert!(s.contains(want), "{want:?} not on screen:\n{s}");
    }
    let halves = term
        .backend()
        .buffer()
        .content
        .iter()
        .filter(|c| c.symbol() == "▀")
        .count();
    assert!(
        halves >= 26 * 10,
        "the frame is drawn: {halves} half blocks"
    );
    insta::assert_snapshot!(term.backend());
}

#[test]
fn panes_without_data_stay_off_screen_and_out_of_the_tab_cycle() {
    let mut d = loaded();
    let s = text(&screen(&mut d, 140, 45));
    for absent in ["Video", "Pager", "Network"] {
        assert!(!s.contains(absent), "{absent} on screen:\n{s}");
    }
    d.on_key(Key::Char('8'));
    assert_eq!(d.focus(), crate::Pane::Mounds);
    assert!(d.status().is_some_and(|st| st.text.contains("no video")));
    d.on_key(Key::Char('R'));
    assert!(d
        .status()
        .is_some_and(|st| st.error && st.text.contains("no db-pager")));
    let mut seen = Vec::new();
    for _ in 0..12 {
        d.on_key(Key::Tab);
        seen.push(d.focus());
    }
    assert!(!seen.contains(&crate::Pane::Video) && !seen.contains(&crate::Pane::Network));
    let mut d = mix_loaded();
    let mut seen = Vec::new();
    for _ in 0..9 {
        d.on_key(Key::Tab);
        seen.push(d.focus());
    }
    assert_eq!(
        &seen[5..],
        [
            crate::Pane::Video,
            crate::Pane::Pager,
            crate::Pane::Network,
            crate::Pane::Mounds
        ],
        "the mix's panes join the cycle (no vCPU pane on Alpha)"
    );
}

#[test]
fn pager_policy_popup_confirms_then_asks_the_host() {
    use crate::dashboard::{Action, Confirm, Popup};
    let mut d = mix_loaded();
    d.on_key(Key::Char('9'));
    d.on_key(Key::Char('R'));
    assert!(
        matches!(
            d.popup(),
            Popup::PagerPolicies {
                mound: 3,
                selected: 4,
                ..
            }
        ),
        "the popup opens on the running policy: {:?}",
        d.popup()
    );
    d.on_key(Key::Down);
    insta::assert_snapshot!(
        "pager_popup_over_the_screen",
        screen(&mut d, 140, 45).backend()
    );
    assert_eq!(d.on_key(Key::Enter), Action::None);
    assert!(matches!(
        d.popup(),
        Popup::Confirm(Confirm::PagerPolicy { mound: 3, policy, .. }) if policy == "opt"
    ));
    let s = text(&screen(&mut d, 140, 45));
    assert!(s.contains("Switch db's pager from hinted to opt?"), "{s}");
    assert_eq!(
        d.on_key(Key::Char('y')),
        Action::SetPagerPolicy {
            mound: 3,
            policy: "opt".into()
        }
    );
    assert_eq!(d.popup(), &Popup::None);
    // Esc at either step asks nothing.
    d.on_key(Key::Char('R'));
    d.on_key(Key::Char('l'));
    d.on_key(Key::Enter);
    assert_eq!(d.on_key(Key::Esc), Action::None);
    assert_eq!(d.popup(), &Popup::None);
}

#[test]
fn mix_help_lists_the_new_keys() {
    let mut d = mix_loaded();
    d.on_key(Key::Char('?'));
    let s = text(&screen(&mut d, 140, 45));
    for want in [
        "8  focus Video",
        "9  focus Pager",
        "0  focus Network",
        "R  switch",
    ] {
        assert!(s.contains(want), "{want:?} not in help:\n{s}");
    }
}

#[test]
fn mix_degrades_on_small_terminals() {
    for (w, h) in [
        (1, 1),
        (10, 4),
        (20, 10),
        (40, 12),
        (60, 24),
        (80, 24),
        (100, 30),
        (200, 3),
    ] {
        let mut d = mix_loaded();
        screen(&mut d, w, h);
        for k in [
            Key::Char('8'),
            Key::Char('z'),
            Key::Down,
            Key::Char('9'),
            Key::Char('R'),
            Key::Enter,
        ] {
            d.on_key(k);
            screen(&mut d, w, h);
        }
        d.on_key(Key::Esc);
        for k in [Key::Char('0'), Key::End, Key::Char('?')] {
            d.on_key(k);
            screen(&mut d, w, h);
        }
    }
    let mut d = mix_loaded();
    insta::assert_snapshot!("mix_small_terminal", screen(&mut d, 80, 24).backend());
}
