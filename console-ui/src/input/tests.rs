//! The state machine, keys and mouse to actions, with no terminal.

use spin_kernel::{MoundId, StrandId};
use spin_scheduler::POLICY_NAMES;

use super::{Command, Key, Mouse, MouseKind};
use crate::dashboard::{Action, Confirm, Dashboard, Popup};
use crate::fixture;
use crate::pane::Pane;
use crate::panes::tests::render;
use crate::strands_view::{RowKey, SortKey};

fn loaded() -> Dashboard {
    let mut d = Dashboard::default();
    for r in fixture::records(5) {
        d.update(r);
    }
    d
}

fn keys(d: &mut Dashboard, ks: &[Key]) -> Vec<Action> {
    ks.iter().map(|&k| d.on_key(k)).collect()
}

fn typed(d: &mut Dashboard, text: &str) {
    for c in text.chars() {
        assert_eq!(d.on_key(Key::Char(c)), Action::None);
    }
}

/// Draws once so the mouse has something to hit.
fn drawn(d: &mut Dashboard) {
    render(140, 45, |f, _| d.draw(f));
}

#[test]
fn q_and_ctrl_c_quit() {
    assert_eq!(loaded().on_key(Key::Char('q')), Action::Quit);
    assert_eq!(loaded().on_key(Key::Ctrl('c')), Action::Quit);
    let mut d = loaded();
    d.on_key(Key::Char('/'));
    assert_eq!(d.on_key(Key::Ctrl('c')), Action::Quit, "even while typing");
}

#[test]
fn policy_popup_confirm_then_swap() {
    let mut d = loaded();
    assert_eq!(d.on_key(Key::Char('P')), Action::None);
    // Opens on the running policy (the fixture runs stride).
    let stride = POLICY_NAMES
        .iter()
        .position(|&p| p == "stride")
        .expect("stride");
    assert_eq!(d.popup(), &Popup::Policies(stride));
    // Other keys are the popup's while it is open.
    d.on_key(Key::Tab);
    assert_eq!(d.focus(), Pane::Mounds);
    d.on_key(Key::Down);
    let next = POLICY_NAMES[(stride + 1) % POLICY_NAMES.len()];
    assert_eq!(d.on_key(Key::Enter), Action::None, "Enter only asks");
    assert_eq!(d.popup(), &Popup::Confirm(Confirm::Policy(next.into())));
    assert_eq!(
        d.on_key(Key::Char('x')),
        Action::None,
        "unrelated keys wait"
    );
    assert_eq!(d.on_key(Key::Char('y')), Action::SwapPolicy(next.into()));
    assert_eq!(d.popup(), &Popup::None);
}

#[test]
fn enter_confirms_as_well_and_letters_jump() {
    let mut d = loaded();
    let acts = keys(
        &mut d,
        &[Key::Char('P'), Key::Char('r'), Key::Enter, Key::Enter],
    );
    assert_eq!(acts[3], Action::SwapPolicy("rr-priority".into()));
    let acts = keys(
        &mut d,
        &[Key::Char('P'), Key::Char('s'), Key::Enter, Key::Enter],
    );
    assert_eq!(acts[3], Action::SwapPolicy("stride".into()));
    let acts = keys(
        &mut d,
        &[Key::Char('P'), Key::Char('1'), Key::Enter, Key::Char('Y')],
    );
    assert_eq!(acts[3], Action::SwapPolicy(POLICY_NAMES[0].into()));
}

#[test]
fn cancel_at_either_step() {
    let mut d = loaded();
    let acts = keys(&mut d, &[Key::Char('P'), Key::Enter, Key::Char('n')]);
    assert!(acts.iter().all(|a| *a == Action::None));
    assert_eq!(d.popup(), &Popup::None);
    assert_eq!(d.status().map(|s| s.text.as_str()), Some("cancelled"));
    keys(&mut d, &[Key::Char('P'), Key::Enter, Key::Esc]);
    assert_eq!(d.popup(), &Popup::None);
    // Esc and q close the list without quitting.
    assert_eq!(keys(&mut d, &[Key::Char('P'), Key::Esc])[1], Action::None);
    assert_eq!(
        keys(&mut d, &[Key::Char('P'), Key::Char('q')])[1],
        Action::None
    );
    assert_eq!(d.popup(), &Popup::None);
}

#[test]
fn policy_list_wraps_and_clamps() {
    let mut d = loaded();
    let n = POLICY_NAMES.len();
    keys(&mut d, &[Key::Char('P'), Key::Home, Key::Up]);
    assert_eq!(d.popup(), &Popup::Policies(n - 1));
    d.on_key(Key::Down);
    assert_eq!(d.popup(), &Popup::Policies(0));
    d.on_key(Key::End);
    assert_eq!(d.popup(), &Popup::Policies(n - 1));
    d.on_key(Key::Char('9'));
    assert_eq!(d.popup(), &Popup::Policies(n - 1));
}

#[test]
fn arrows_pages_home_end_move_the_strand_selection() {
    let mut d = loaded();
    d.on_key(Key::Char('3'));
    assert_eq!(d.focus(), Pane::Strands);
    keys(&mut d, &[Key::Down, Key::Down]);
    assert_eq!(d.strands_view().selected, Some(RowKey::Strand(StrandId(3))));
    d.on_key(Key::Up);
    assert_eq!(d.strands_view().selected, Some(RowKey::Strand(StrandId(2))));
    d.on_key(Key::End);
    assert_eq!(d.strands_view().selected, Some(RowKey::Strand(StrandId(8))));
    d.on_key(Key::Home);
    assert_eq!(d.strands_view().selected, Some(RowKey::Strand(StrandId(1))));
    d.on_key(Key::PageDown);
    assert_eq!(d.strands_view().selected, Some(RowKey::Strand(StrandId(8))));
    d.on_key(Key::PageUp);
    assert_eq!(d.strands_view().selected, Some(RowKey::Strand(StrandId(1))));
}

#[test]
fn sort_cycles_forward_back_and_reverses() {
    let mut d = loaded();
    assert_eq!(d.strands_view().sort, SortKey::Id);
    d.on_key(Key::Char('s'));
    assert_eq!(d.strands_view().sort, SortKey::Name);
    for _ in 1..SortKey::ALL.len() {
        d.on_key(Key::Char('s'));
    }
    assert_eq!(d.strands_view().sort, SortKey::Id, "wraps");
    d.on_key(Key::Char('S'));
    assert_eq!(d.strands_view().sort, SortKey::Misses);
    assert!(d.strands_view().descending, "counts sort biggest first");
    d.on_key(Key::Char('r'));
    assert!(!d.strands_view().descending);
}

#[test]
fn header_click_sorts_and_reclick_reverses() {
    let mut d = loaded();
    drawn(&mut d);
    let placed = d.drawn.strands_header.clone().expect("strands drawn");
    let y = placed.header_y;
    let col = |key| {
        *placed
            .columns
            .iter()
            .find(|c| c.2 == key)
            .expect("column shown")
    };
    let cpu = col(SortKey::CpuTime);
    assert_eq!(d.on_mouse(Mouse::click(cpu.0 + 1, y)), Action::None);
    assert_eq!(d.focus(), Pane::Strands);
    assert_eq!(d.strands_view().sort, SortKey::CpuTime);
    assert!(d.strands_view().descending);
    d.on_mouse(Mouse::click(cpu.0, y));
    assert!(!d.strands_view().descending);
    d.on_mouse(Mouse::click(col(SortKey::Name).0, y));
    assert_eq!(d.strands_view().sort, SortKey::Name);
}

#[test]
fn click_focuses_and_selects_and_wheel_scrolls() {
    let mut d = loaded();
    drawn(&mut d);
    let body = d.drawn.body(Pane::Strands).expect("strands body");
    d.on_mouse(Mouse::click(body.x + 5, body.y + 3));
    assert_eq!(d.focus(), Pane::Strands);
    assert_eq!(d.strands_view().selected, Some(RowKey::Strand(StrandId(4))));
    d.on_mouse(Mouse {
        kind: MouseKind::ScrollDown,
        x: body.x + 5,
        y: body.y,
    });
    assert_eq!(d.strands_view().selected, Some(RowKey::Strand(StrandId(7))));
    // The wheel scrolls the pane under the pointer without focusing it.
    let log = d.drawn.body(Pane::Log).expect("log body");
    d.on_mouse(Mouse {
        kind: MouseKind::ScrollUp,
        x: log.x + 1,
        y: log.y,
    });
    assert_eq!(d.log_scrolled_back(), 3);
    assert_eq!(d.focus(), Pane::Strands);
    let mounds = d.drawn.body(Pane::Mounds).expect("mounds body");
    d.on_mouse(Mouse::click(mounds.x + 1, mounds.y + 1));
    assert_eq!(d.focus(), Pane::Mounds);
    assert_eq!(d.selected_mound().map(|m| m.name.as_str()), Some("shell"));
}

#[test]
fn clicking_a_selected_mound_row_folds_it() {
    let mut d = loaded();
    d.on_key(Key::Char('t'));
    drawn(&mut d);
    let body = d.drawn.body(Pane::Strands).expect("strands body");
    let mound2 = (body.x + 8, body.y + 4);
    d.on_mouse(Mouse::click(mound2.0, mound2.1));
    assert_eq!(d.strands_view().selected, Some(RowKey::Mound(MoundId(2))));
    assert!(
        d.strands_view().collapsed.is_empty(),
        "the first click selects"
    );
    d.on_mouse(Mouse::click(mound2.0, mound2.1));
    assert!(d.strands_view().collapsed.contains(&MoundId(2)));
    d.on_mouse(Mouse::click(mound2.0, mound2.1));
    assert!(d.strands_view().collapsed.is_empty());
}

#[test]
fn filter_typing_backspace_enter_and_esc() {
    let mut d = loaded();
    d.on_key(Key::Char('/'));
    assert!(d.strands_view().editing);
    assert_eq!(d.focus(), Pane::Strands);
    // While typing, command keys are text: q does not quit.
    typed(&mut d, "bench q");
    assert_eq!(d.strands_view().filter, "bench q");
    keys(&mut d, &[Key::Backspace, Key::Backspace]);
    assert_eq!(d.strands_view().filter, "bench");
    d.on_key(Key::Enter);
    assert!(!d.strands_view().editing);
    assert_eq!(d.strands_view().filter, "bench", "Enter keeps it");
    d.on_key(Key::Esc);
    assert_eq!(d.strands_view().filter, "", "Esc clears it");
    d.on_key(Key::Char('/'));
    typed(&mut d, "shell");
    d.on_key(Key::Esc);
    assert!(!d.strands_view().editing);
    assert_eq!(d.strands_view().filter, "");
}

#[test]
fn tree_collapse_and_expand() {
    let mut d = loaded();
    d.on_key(Key::Char('t'));
    assert!(d.strands_view().tree);
    assert_eq!(d.focus(), Pane::Strands);
    d.on_key(Key::Down); // bench pid 1
    d.on_key(Key::Char(' '));
    assert!(d.strands_view().collapsed.contains(&MoundId(1)));
    assert_eq!(d.strands_view().selected, Some(RowKey::Mound(MoundId(1))));
    d.on_key(Key::Right);
    assert!(d.strands_view().collapsed.is_empty());
    d.on_key(Key::Left);
    assert!(d.strands_view().collapsed.contains(&MoundId(1)));
    d.on_key(Key::Enter);
    assert!(d.strands_view().collapsed.is_empty());
    d.on_key(Key::Char('t'));
    assert!(!d.strands_view().tree);
}

#[test]
fn freeze_toggles() {
    let mut d = loaded();
    d.on_key(Key::Char('f'));
    assert!(d.is_frozen());
    d.update(fixture::record(9));
    assert_eq!(d.shown().map(|t| t.seq), Some(5));
    d.on_key(Key::Char('f'));
    assert_eq!(d.shown().map(|t| t.seq), Some(10));
}

#[test]
fn refresh_steps_and_limits() {
    let mut d = loaded();
    assert_eq!(d.refresh_ms(), 1000);
    assert_eq!(d.on_key(Key::Char('+')), Action::Refresh(500));
    assert_eq!(d.on_key(Key::Char('=')), Action::Refresh(250));
    keys(&mut d, &[Key::Char('+'); 5]);
    assert_eq!(d.refresh_ms(), 100);
    assert_eq!(d.on_key(Key::Char('+')), Action::None, "fastest already");
    assert_eq!(
        d.status().map(|s| s.text.as_str()),
        Some("fastest refresh is 100 ms")
    );
    keys(&mut d, &[Key::Char('-'); 20]);
    assert_eq!(d.refresh_ms(), 10_000);
    assert_eq!(d.on_key(Key::Char('-')), Action::None);
    // An interval off the ladder steps to its neighbours.
    d.set_refresh_ms(300);
    assert_eq!(d.on_key(Key::Char('-')), Action::Refresh(500));
}

#[test]
fn help_toggles_and_any_key_closes_it() {
    let mut d = loaded();
    d.on_key(Key::Char('?'));
    assert!(d.help_shown());
    assert_eq!(
        d.on_key(Key::Char('q')),
        Action::None,
        "closes, does not quit"
    );
    assert!(!d.help_shown());
    d.on_key(Key::F(1));
    assert!(d.help_shown());
    d.on_mouse(Mouse::click(0, 0));
    assert!(!d.help_shown());
}

#[test]
fn panes_focus_by_tab_number_and_zoom() {
    let mut d = loaded();
    let mut seen = vec![d.focus()];
    // Six panes on Alpha.
    for _ in 0..6 {
        d.on_key(Key::Tab);
        seen.push(d.focus());
    }
    assert_eq!(seen[..6], Pane::ALL[..6], "no vCPU pane on Alpha");
    assert_eq!(seen[6], Pane::Mounds);
    d.on_key(Key::BackTab);
    assert_eq!(d.focus(), Pane::Log);
    d.on_key(Key::Char('4'));
    assert_eq!(d.focus(), Pane::Pages);
    d.on_key(Key::Char('z'));
    assert!(d.is_zoomed());
    drawn(&mut d);
    assert_eq!(d.drawn.panes.len(), 1);
    d.on_key(Key::Esc);
    assert!(!d.is_zoomed());
}

#[test]
fn stop_mound_asks_first() {
    let mut d = loaded();
    keys(&mut d, &[Key::Char('1'), Key::Down]);
    assert_eq!(d.on_key(Key::Char('K')), Action::None);
    assert!(matches!(
        d.popup(),
        Popup::Confirm(Confirm::StopMound { id, .. }) if *id == MoundId(2)
    ));
    assert_eq!(d.on_key(Key::Enter), Action::StopMound(2));
    // From the strands pane only a mound row of the tree will do.
    d.on_key(Key::Char('3'));
    d.on_key(Key::Char('K'));
    assert_eq!(d.popup(), &Popup::None);
    assert!(d.status().is_some_and(|s| s.error));
    keys(&mut d, &[Key::Char('t'), Key::Home, Key::Char('K')]);
    assert_eq!(d.on_key(Key::Char('y')), Action::StopMound(1));
}

#[test]
fn log_scrolls_back_and_end_follows() {
    let mut d = loaded();
    d.on_key(Key::Char('6'));
    keys(&mut d, &[Key::Up, Key::Up]);
    assert_eq!(d.log_scrolled_back(), 2);
    d.on_key(Key::Home);
    assert_eq!(d.log_scrolled_back(), d.shown_log().len() - 1);
    d.on_key(Key::End);
    assert_eq!(d.log_scrolled_back(), 0);
}

#[test]
fn remapped_keys_drive_the_machine() {
    let mut config = crate::Config::default();
    config.keymap.rebind(Command::Quit, &[Key::Char('x')]);
    config.keymap.rebind(Command::Policy, &[Key::F(9)]);
    let mut d = Dashboard::new(config, "t");
    d.update(fixture::record(0));
    assert_eq!(d.on_key(Key::Char('q')), Action::None);
    d.on_key(Key::F(9));
    assert!(matches!(d.popup(), Popup::Policies(_)));
    d.on_key(Key::Esc);
    assert_eq!(d.on_key(Key::Char('x')), Action::Quit);
}

#[test]
fn keys_before_any_record_do_not_panic() {
    let mut d = Dashboard::default();
    for k in [
        Key::Down,
        Key::End,
        Key::Char('t'),
        Key::Char(' '),
        Key::Left,
        Key::Char('K'),
        Key::Char('6'),
        Key::PageUp,
        Key::Char('P'),
        Key::Enter,
    ] {
        d.on_key(k);
    }
    assert_eq!(
        d.on_key(Key::Char('y')),
        Action::SwapPolicy(POLICY_NAMES[0].into())
    );
    d.on_mouse(Mouse::click(3, 3));
}

fn kvm_loaded() -> Dashboard {
    let mut d = Dashboard::default();
    for r in fixture::kvm_records(5) {
        d.update(r);
    }
    d
}

#[test]
fn the_vcpu_pane_is_in_the_tab_order_only_on_kvm() {
    let mut d = loaded();
    d.on_key(Key::Char('6'));
    d.on_key(Key::Tab);
    assert_eq!(d.focus(), Pane::Mounds, "Alpha: Log wraps to Mounds");
    d.on_key(Key::BackTab);
    assert_eq!(d.focus(), Pane::Log);
    d.on_key(Key::Char('7'));
    assert_eq!(d.focus(), Pane::Log, "no vCPU pane on Alpha");
    assert!(d.status().is_some_and(|s| s.text.contains("KVM")));

    let mut d = kvm_loaded();
    d.on_key(Key::Char('6'));
    d.on_key(Key::Tab);
    assert_eq!(d.focus(), Pane::Vcpus);
    d.on_key(Key::Tab);
    assert_eq!(d.focus(), Pane::Mounds);
    d.on_key(Key::BackTab);
    assert_eq!(d.focus(), Pane::Vcpus);
    d.on_key(Key::Char('z'));
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 20))
        .expect("test backend never fails");
    term.draw(|f| d.draw(f)).expect("test backend never fails");
    let top: String = term.backend().buffer().content[..100]
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(top.contains("7 vCPU exits (2 · "), "zoomed: {top}");
}

#[test]
fn sort_keys_sort_the_vcpu_pane_when_it_has_focus() {
    use crate::panes::vcpus::VcpuSort;
    let mut d = kvm_loaded();
    let strands = d.strands_view().clone();
    assert_eq!(d.vcpu_view().sort, VcpuSort::Rate, "as kvm_stat: by rate");
    assert!(d.vcpu_view().descending);
    d.on_key(Key::Char('7'));
    assert_eq!(d.focus(), Pane::Vcpus);
    d.on_key(Key::Char('s'));
    assert_eq!(d.vcpu_view().sort, VcpuSort::Reason, "wraps");
    assert!(!d.vcpu_view().descending, "reasons in the machine's order");
    d.on_key(Key::Char('s'));
    assert_eq!(
        (d.vcpu_view().sort, d.vcpu_view().descending),
        (VcpuSort::Count, true)
    );
    d.on_key(Key::Char('r'));
    assert!(!d.vcpu_view().descending);
    d.on_key(Key::Char('S'));
    assert_eq!(d.vcpu_view().sort, VcpuSort::Reason);
    assert_eq!(d.strands_view(), &strands, "the strands sort is untouched");
    d.on_key(Key::Char('3'));
    d.on_key(Key::Char('s'));
    assert_eq!(d.vcpu_view().sort, VcpuSort::Reason, "not while unfocused");
    assert_ne!(d.strands_view().sort, strands.sort);
}

#[test]
fn vcpu_pane_mouse_focus_select_header_sort_and_wheel() {
    use crate::panes::vcpus::VcpuSort;
    let mut d = kvm_loaded();
    drawn(&mut d);
    let body = d.drawn.body(Pane::Vcpus).expect("drawn at 140×45");
    d.on_mouse(Mouse::click(body.x + 2, body.y + 2));
    assert_eq!(d.focus(), Pane::Vcpus);
    assert_eq!(d.vcpu_view().selected, 2);
    d.on_mouse(Mouse {
        kind: MouseKind::ScrollDown,
        x: body.x + 2,
        y: body.y,
    });
    assert_eq!(d.vcpu_view().selected, 5);
    d.on_key(Key::End);
    assert_eq!(
        d.vcpu_view().selected,
        9 + 3 - 1,
        "reasons and per-vCPU rows"
    );
    // The header: TOTAL sorts by count, again reverses.
    let placed = d.drawn.vcpus_header.clone().expect("drawn");
    let &(x0, _, k) = placed
        .columns
        .iter()
        .find(|c| c.2 == VcpuSort::Count)
        .expect("a TOTAL column");
    assert_eq!(k, VcpuSort::Count);
    d.on_mouse(Mouse::click(x0, placed.header_y));
    assert_eq!(
        (d.vcpu_view().sort, d.vcpu_view().descending),
        (VcpuSort::Count, true)
    );
    d.on_mouse(Mouse::click(x0, placed.header_y));
    assert!(!d.vcpu_view().descending);
}
