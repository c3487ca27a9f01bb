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
