//! One file per pane; each draws from a [`Snapshot`](crate::Snapshot) (or a
//! placeholder when there is none yet) and holds no state of its own.

pub mod events;
pub mod footer;
pub mod mounds;
pub mod pages;
pub mod policy_popup;
pub mod strands;

use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Block;
use spin_kernel::MoundId;

/// A bordered block titled `title`, highlighted when its pane has focus.
pub(crate) fn pane_block(title: String, focused: bool) -> Block<'static> {
    let style = if focused {
        Style::default()
            .fg(Color::Yellow)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::default()
    };
    Block::bordered().title(title).border_style(style)
}

/// A duration in ns as a short human string (`950ns`, `12.3µs`, `4.0ms`, `1.20s`).
pub fn fmt_ns(ns: u64) -> String {
    match ns {
        0..=999 => format!("{ns}ns"),
        1_000..=999_999 => format!("{:.1}µs", ns as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.1}ms", ns as f64 / 1e6),
        _ => format!("{:.2}s", ns as f64 / 1e9),
    }
}

/// The colour a mound is drawn in (stable per id; the kernel is grey).
pub fn owner_color(m: MoundId) -> Color {
    const PALETTE: [Color; 6] = [
        Color::Cyan,
        Color::Green,
        Color::Magenta,
        Color::Blue,
        Color::Red,
        Color::Yellow,
    ];
    if m == MoundId::KERNEL {
        Color::Gray
    } else {
        PALETTE[(m.0 as usize - 1) % PALETTE.len()]
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    use spin_kernel::event::EventTelemetry;
    use spin_kernel::mem::phys::OwnerTelemetry;
    use spin_kernel::strand::{StrandInfo, StrandTelemetry};
    use spin_kernel::telemetry::{FrameTelemetry, KernelSnapshot};
    use spin_kernel::{Arch, MoundId, SchedParams, StrandId, StrandState};
    use spin_scheduler::accounting::AccountRow;
    use spin_scheduler::histogram::LatencySummary;
    use spin_scheduler::telemetry::{MoundRow, StrandRow, SwapRecord};
    use spin_scheduler::watchdog::WatchdogTelemetry;
    use spin_scheduler::SchedTelemetry;

    use crate::{Dashboard, Key};

    /// A hand-built snapshot: 2 mounds, 3 strands, 2 events.
    pub(crate) fn sample() -> (KernelSnapshot, SchedTelemetry) {
        let strands = [
            (
                1,
                "unix:1/init",
                1,
                StrandState::Running,
                20,
                100,
                4_000_000,
                12_000,
            ),
            (
                2,
                "unix:7/sqlite",
                1,
                StrandState::Runnable,
                16,
                300,
                9_000_000,
                250_000,
            ),
            (3, "net:rx", 2, StrandState::Blocked, 24, 50, 1_500, 800),
        ];
        let mut kernel_strands = Vec::new();
        let mut rows = Vec::new();
        for (id, name, m, state, priority, weight, cpu, p99) in strands {
            let params = SchedParams {
                priority,
                weight,
                reservation: None,
            };
            kernel_strands.push(StrandTelemetry {
                info: StrandInfo {
                    id: StrandId(id),
                    name: name.into(),
                    mound: MoundId(m),
                    params,
                },
                state,
            });
            rows.push(StrandRow {
                id: StrandId(id),
                name: name.into(),
                mound: MoundId(m),
                state,
                params,
                account: AccountRow {
                    cpu_ns: cpu,
                    wake_latency: LatencySummary {
                        count: 10,
                        p99_ns: p99,
                        ..LatencySummary::default()
                    },
                    ..AccountRow::default()
                },
            });
        }
        let owner = |m, used, quota| OwnerTelemetry {
            owner: MoundId(m),
            used,
            quota,
            peak: used,
            reclaimed: 0,
        };
        let mut map = vec![None; 64];
        for (i, b) in map.iter_mut().enumerate() {
            *b = match i {
                0..=3 => Some(MoundId(0)),
                4..=23 => Some(MoundId(1)),
                24..=29 => Some(MoundId(2)),
                _ => None,
            };
        }
        let kernel = KernelSnapshot {
            kernel: 1,
            arch: Arch::Alpha,
            host_us: 1_000,
            domains: Vec::new(),
            events: vec![
                EventTelemetry {
                    name: "Syscall".into(),
                    handlers: 3,
                    raises: 1234,
                    contained_faults: 1,
                    handler_stats: Vec::new(),
                },
                EventTelemetry {
                    name: "PageFault".into(),
                    handlers: 1,
                    raises: 56,
                    contained_faults: 0,
                    handler_stats: Vec::new(),
                },
            ],
            frames: FrameTelemetry {
                page_size: 8192,
                total: 1024,
                free: 544,
                owners: vec![
                    owner(0, 64, None),
                    owner(1, 320, Some(512)),
                    owner(2, 96, Some(128)),
                ],
                map,
            },
            strands: kernel_strands,
        };
        let mound = |m, strands, share: f64| MoundRow {
            mound: MoundId(m),
            strands,
            local_scheduler: None,
            group_state: None,
            cpu_share: share,
            account: AccountRow::default(),
        };
        let sched = SchedTelemetry {
            now: 13_000_000,
            policy: "rr-priority".into(),
            runnable: 1,
            running: 1,
            blocked: 1,
            exited: 0,
            swaps: vec![SwapRecord {
                at: 5_000_000,
                from: "stride".into(),
                to: "rr-priority".into(),
                who: "console".into(),
                why: "test".into(),
                moved: 2,
            }],
            swaps_total: 7,
            watchdog: WatchdogTelemetry {
                enabled: true,
                bound: 2_000_000_000,
                firings: 0,
                last: None,
                oldest_wait: 0,
            },
            fairness: 0.93,
            strands: rows,
            mounds: vec![mound(1, 2, 0.75), mound(2, 1, 0.25)],
        };
        (kernel, sched)
    }

    /// Renders `d` into a `w`×`h` test buffer and returns its rows as text.
    pub(crate) fn render(d: &Dashboard, w: u16, h: u16) -> Vec<String> {
        let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend never fails");
        term.draw(|f| d.draw(f)).expect("test backend never fails");
        let buf = term.backend().buffer();
        buf.content
            .chunks(usize::from(buf.area.width))
            .map(|row| row.iter().map(|c| c.symbol()).collect())
            .collect()
    }

    fn loaded() -> Dashboard {
        let mut d = Dashboard::new();
        let (k, s) = sample();
        d.update(k, s);
        d
    }

    fn assert_has(text: &[String], needle: &str) {
        assert!(
            text.iter().any(|l| l.contains(needle)),
            "{needle:?} not on screen:\n{}",
            text.join("\n")
        );
    }

    #[test]
    fn renders_all_panes_from_snapshot() {
        let text = render(&loaded(), 120, 40);
        // Mounds overview: frames used/quota and CPU share.
        for s in ["Mounds", "m1", "m2", "320/512", "96/128", "75.0%", "25.0%"] {
            assert_has(&text, s);
        }
        // Strands table.
        for s in [
            "unix:1/init",
            "unix:7/sqlite",
            "net:rx",
            "running",
            "blocked",
            "20/100",
            "4.0ms",
            "250.0µs",
        ] {
            assert_has(&text, s);
        }
        // Page allocation.
        for s in ["Pages", "Frame map", "kernel"] {
            assert_has(&text, s);
        }
        // Events.
        for s in ["Syscall", "1234", "PageFault"] {
            assert_has(&text, s);
        }
    }

    #[test]
    fn footer_shows_policy_and_swaps() {
        let text = render(&loaded(), 120, 40);
        let footer = text.last().expect("non-empty buffer");
        assert!(footer.contains("policy rr-priority"), "{footer}");
        assert!(footer.contains("swaps 7"), "{footer}");
        assert!(!footer.contains("FROZEN"), "{footer}");
    }

    #[test]
    fn footer_marks_frozen() {
        let mut d = loaded();
        d.on_key(Key::Char('f'));
        let text = render(&d, 120, 40);
        assert!(text.last().expect("non-empty").contains("FROZEN"));
    }

    #[test]
    fn strands_sorted_by_cpu() {
        let mut d = loaded();
        while d.sort() != crate::SortColumn::Cpu {
            d.on_key(Key::Char('s'));
        }
        let text = render(&d, 120, 40);
        let row = |n: &str| text.iter().position(|l| l.contains(n)).expect("row drawn");
        assert!(row("unix:7/sqlite") < row("unix:1/init"));
        assert!(row("unix:1/init") < row("net:rx"));
        assert_has(&text, "sort: cpu");
    }

    #[test]
    fn policy_popup_lists_all_policies() {
        let mut d = loaded();
        d.on_key(Key::Char('P'));
        let text = render(&d, 120, 40);
        for name in spin_scheduler::POLICY_NAMES {
            assert_has(&text, name);
        }
        assert_has(&text, "Swap policy");
    }

    #[test]
    fn empty_dashboard_draws_placeholders() {
        let text = render(&Dashboard::new(), 80, 24);
        assert_has(&text, "waiting for telemetry");
    }

    #[test]
    fn tiny_terminal_does_not_panic() {
        let _ = render(&loaded(), 10, 4);
        let mut d = loaded();
        d.on_key(Key::Char('P'));
        let _ = render(&d, 12, 3);
    }
}
