//! vCPU exits (KVM machine only), as kvm_stat shows them: per exit reason
//! its total count, its rate (exits per second between the last two
//! records) and its count on each vCPU; under the reasons, per vCPU its
//! exits per second, its share of host time spent in the guest, and the PTE
//! stores the shim performed for the host. Reasons sort by the machine's
//! order, by count or by rate (`s` `S` `r` while the pane has focus, or a
//! click on the header).
//!
//! ```text
//! ┌ 7 vCPU exits (2 · 88.4k · 7.4k/s) ────────┐
//! │REASON        TOTAL    /s▼   vCPU0   vCPU1 │
//! │syscall       81.2k   6.4k   23.1k   58.1k │
//! │…                                          │
//! │exits/s               7.4k    2.0k    5.4k │
//! │in guest                       87%     41% │
//! │PTE ops       11.1k    390      80     310 │
//! └───────────────────────────────────────────┘
//! ```

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Cell, HighlightSpacing, Paragraph, Row, Table, TableState};
use ratatui::Frame;
use spin_vmm::control::Telemetry;
use spin_vmm::kvm::EXIT_REASONS;

use super::{fmt_count, fmt_rate, pane_block, table_columns, Ctx};
use crate::history::History;
use crate::pane::Pane;

/// What the reasons are sorted by (also the header columns that sort).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VcpuSort {
    /// The machine's order (syscall, page-fault, demand-fill, …).
    Reason,
    /// Total exits so far.
    Count,
    /// Exits per second between the last two records.
    #[default]
    Rate,
}

impl VcpuSort {
    /// Every sort, in column order.
    pub const ALL: [VcpuSort; 3] = [VcpuSort::Reason, VcpuSort::Count, VcpuSort::Rate];

    fn index(self) -> usize {
        Self::ALL.iter().position(|&k| k == self).unwrap_or(0)
    }

    /// The column to the right, wrapping.
    pub fn next(self) -> VcpuSort {
        Self::ALL[(self.index() + 1) % Self::ALL.len()]
    }

    /// The column to the left, wrapping.
    pub fn prev(self) -> VcpuSort {
        Self::ALL[(self.index() + Self::ALL.len() - 1) % Self::ALL.len()]
    }

    /// The column header.
    pub fn header(self) -> &'static str {
        match self {
            VcpuSort::Reason => "REASON",
            VcpuSort::Count => "TOTAL",
            VcpuSort::Rate => "/s",
        }
    }
}

/// The pane's view state: the sort and the selected row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VcpuView {
    /// What the reasons are sorted by.
    pub sort: VcpuSort,
    /// Biggest first (for [`VcpuSort::Reason`]: the machine's order
    /// reversed).
    pub descending: bool,
    /// The selected row (reasons, then the per-vCPU rows).
    pub selected: usize,
}

impl Default for VcpuView {
    fn default() -> Self {
        VcpuView {
            sort: VcpuSort::default(),
            descending: true,
            selected: 0,
        }
    }
}

impl VcpuView {
    /// Sorts by `k`: the current column again reverses the order; a new
    /// column sorts numbers biggest first, reasons in the machine's order.
    pub fn sort_by(&mut self, k: VcpuSort) {
        if k == self.sort {
            self.descending = !self.descending;
        } else {
            self.sort = k;
            self.descending = k != VcpuSort::Reason;
        }
    }
}

/// One exit reason over all vCPUs.
#[derive(Debug, Clone, PartialEq)]
pub struct ReasonRow {
    /// The reason (`syscall`, `page-fault`, …).
    pub name: String,
    /// Exits so far, all vCPUs.
    pub total: u64,
    /// Exits per second, all vCPUs (None before the second record).
    pub rate: Option<f64>,
    /// Exits so far on each vCPU, in the record's vCPU order.
    pub per_vcpu: Vec<u64>,
}

/// The reasons of `t` over all its vCPUs, sorted as `view` says (ties: the
/// machine's order). Reasons appear in the record's order, the known ones
/// ([`EXIT_REASONS`]) first.
pub fn reason_rows(t: &Telemetry, h: &History, view: &VcpuView) -> Vec<ReasonRow> {
    if t.vcpus.is_empty() {
        return Vec::new();
    }
    let mut names: Vec<&str> = EXIT_REASONS.to_vec();
    for v in &t.vcpus {
        for (r, _) in &v.reasons {
            if !names.contains(&r.as_str()) {
                names.push(r);
            }
        }
    }
    let mut rows: Vec<ReasonRow> = names
        .iter()
        .map(|&name| {
            let per_vcpu: Vec<u64> = t
                .vcpus
                .iter()
                .map(|v| v.reasons.iter().find(|(r, _)| r == name).map_or(0, |r| r.1))
                .collect();
            let rates: Vec<f64> = t
                .vcpus
                .iter()
                .filter_map(|v| h.vcpu_rates(v.index))
                .map(|r| r.reason(name))
                .collect();
            ReasonRow {
                name: name.to_string(),
                total: per_vcpu.iter().sum(),
                rate: (!rates.is_empty()).then(|| rates.iter().sum()),
                per_vcpu,
            }
        })
        .collect();
    let order = |name: &str| names.iter().position(|&n| n == name).unwrap_or(usize::MAX);
    rows.sort_by(|a, b| {
        let by = match view.sort {
            VcpuSort::Reason => order(&a.name).cmp(&order(&b.name)),
            VcpuSort::Count => a.total.cmp(&b.total),
            VcpuSort::Rate => a
                .rate
                .unwrap_or(0.0)
                .total_cmp(&b.rate.unwrap_or(0.0))
                .then(a.total.cmp(&b.total)),
        };
        let by = if view.descending { by.reverse() } else { by };
        by.then_with(|| order(&a.name).cmp(&order(&b.name)))
    });
    rows
}

/// Rows below the reasons: exits/s, time in guest, PTE ops.
const VCPU_ROWS: usize = 3;

/// Rows the pane draws for `t` (reasons and per-vCPU rows), for selection.
pub fn row_count(t: &Telemetry) -> usize {
    if t.vcpus.is_empty() {
        return 0;
    }
    let extra = t
        .vcpus
        .iter()
        .flat_map(|v| &v.reasons)
        .filter(|(r, _)| !EXIT_REASONS.contains(&r.as_str()))
        .map(|(r, _)| r.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    EXIT_REASONS.len() + extra + VCPU_ROWS
}

/// The height the pane wants: borders, header, reasons, per-vCPU rows.
pub fn height() -> u16 {
    (2 + 1 + EXIT_REASONS.len() + VCPU_ROWS) as u16
}

const NAME_W: u16 = 11;
const NUM_W: u16 = 7;

/// The width the pane wants for `vcpus` vCPU columns.
pub fn width(vcpus: usize) -> u16 {
    let n = u16::try_from(vcpus).unwrap_or(u16::MAX);
    2 + NAME_W + 2 * (NUM_W + 1) + n.saturating_mul(NUM_W + 1)
}

/// Where the pane put its header and body, for the mouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The header's row.
    pub header_y: u16,
    /// The sortable columns' x ranges (start, end) and what they sort by.
    pub columns: Vec<(u16, u16, VcpuSort)>,
    /// The table's body.
    pub body: Rect,
}

fn num(s: String) -> Cell<'static> {
    Cell::from(Line::from(s).right_aligned())
}

fn rate(r: Option<f64>) -> String {
    r.map_or_else(|| "-".into(), fmt_rate)
}

/// Draws the pane. Returns where the header and body went.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    ctx: &Ctx,
    focused: bool,
    view: &VcpuView,
    state: &mut TableState,
) -> Placed {
    let theme = ctx.theme;
    let vcpus = &ctx.t.vcpus;
    let rates: Vec<_> = vcpus.iter().map(|v| ctx.h.vcpu_rates(v.index)).collect();
    let have_rates = rates.iter().any(Option::is_some);
    let total_exits: u64 = vcpus.iter().map(|v| v.exits).sum();
    let exits_rate: f64 = rates.iter().flatten().map(|r| r.exits).sum();
    let inner_w = area.width.saturating_sub(2);
    let fit_n = usize::from(inner_w.saturating_sub(NAME_W + 2 * (NUM_W + 1)) / (NUM_W + 1));
    let shown = vcpus.len().min(fit_n);
    let mut title = format!("vCPU exits ({} · {}", vcpus.len(), fmt_count(total_exits));
    if have_rates {
        title.push_str(&format!(" · {}/s", fmt_rate(exits_rate)));
    }
    if shown < vcpus.len() {
        title.push_str(&format!(" · {shown} shown"));
    }
    title.push(')');
    let block = pane_block(Pane::Vcpus, title, focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut widths = vec![
        Constraint::Length(NAME_W),
        Constraint::Length(NUM_W),
        Constraint::Length(NUM_W),
    ];
    widths.extend(std::iter::repeat_n(Constraint::Length(NUM_W), shown));
    let cols = table_columns(inner, &widths);
    let header = {
        let mut cells: Vec<Cell> = VcpuSort::ALL
            .iter()
            .map(|&k| {
                let mut label = k.header().to_string();
                let mut style = theme.header_style();
                if k == view.sort {
                    label.push(if view.descending { '▼' } else { '▲' });
                    style = style.add_modifier(Modifier::REVERSED);
                }
                let line = Line::from(label);
                let line = if k == VcpuSort::Reason {
                    line
                } else {
                    line.right_aligned()
                };
                Cell::from(line).style(style)
            })
            .collect();
        cells.extend(
            vcpus
                .iter()
                .take(shown)
                .map(|v| num(format!("vCPU{}", v.index)).style(theme.header_style())),
        );
        Row::new(cells)
    };
    let reasons = reason_rows(ctx.t, ctx.h, view);
    let mut rows: Vec<Row> = reasons
        .iter()
        .map(|r| {
            let mut cells = vec![
                Cell::from(r.name.clone()),
                num(fmt_count(r.total)),
                num(rate(r.rate)),
            ];
            cells.extend(r.per_vcpu.iter().take(shown).map(|&n| num(fmt_count(n))));
            let row = Row::new(cells);
            if r.total == 0 {
                row.style(theme.muted_style())
            } else {
                row
            }
        })
        .collect();
    let label = |s: &'static str| Cell::from(s).style(theme.header_style());
    let mut exits = vec![
        label("exits/s"),
        Cell::from(""),
        num(rate(have_rates.then_some(exits_rate))),
    ];
    let mut guest = vec![label("in guest"), Cell::from(""), Cell::from("")];
    let pte_total: u64 = vcpus.iter().map(|v| v.pte_ops).sum();
    let pte_rate: f64 = rates.iter().flatten().map(|r| r.pte_ops).sum();
    let mut pte = vec![
        label("PTE ops"),
        num(fmt_count(pte_total)),
        num(rate(have_rates.then_some(pte_rate))),
    ];
    for (v, r) in vcpus.iter().zip(&rates).take(shown) {
        exits.push(num(rate(r.map(|r| r.exits))));
        guest.push(num(r.map_or_else(
            || "-".into(),
            |r| format!("{:.0}%", r.guest * 100.0),
        )));
        pte.push(num(fmt_count(v.pte_ops)));
    }
    if !vcpus.is_empty() {
        rows.extend([exits, guest, pte].map(Row::new));
    }
    let n = rows.len();
    let table = Table::new(rows, widths)
        .header(header)
        .row_highlight_style(if focused {
            theme.selected_style()
        } else {
            Style::default()
        })
        .highlight_spacing(HighlightSpacing::Never);
    state.select((n > 0).then_some(view.selected.min(n.saturating_sub(1))));
    frame.render_stateful_widget(table, inner, state);
    let body = Rect {
        y: inner.y.saturating_add(1),
        height: inner.height.saturating_sub(1),
        ..inner
    };
    if vcpus.is_empty() && body.height > 0 {
        frame.render_widget(
            Paragraph::new("no vCPU telemetry (KVM machine only)").style(theme.muted_style()),
            Rect { height: 1, ..body },
        );
    }
    Placed {
        header_y: inner.y,
        columns: cols
            .iter()
            .zip(VcpuSort::ALL)
            .map(|(c, k)| (c.x, c.x + c.width, k))
            .collect(),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;
    use crate::panes::tests::render;
    use crate::theme::Theme;

    fn two_records() -> (Telemetry, History) {
        let recs = fixture::kvm_records(2);
        let mut h = History::new();
        for r in &recs {
            h.record(r);
        }
        (recs[1].clone(), h)
    }

    fn names(rows: &[ReasonRow]) -> Vec<&str> {
        rows.iter().map(|r| r.name.as_str()).collect()
    }

    #[test]
    fn reasons_total_over_vcpus_with_rates_from_the_history() {
        let (t, h) = two_records();
        let view = VcpuView {
            sort: VcpuSort::Reason,
            descending: false,
            selected: 0,
        };
        let rows = reason_rows(&t, &h, &view);
        assert_eq!(names(&rows), EXIT_REASONS);
        let syscall = &rows[0];
        assert_eq!(
            syscall.per_vcpu,
            [t.vcpus[0].reasons[0].1, t.vcpus[1].reasons[0].1]
        );
        assert_eq!(syscall.total, syscall.per_vcpu.iter().sum::<u64>());
        let want: f64 = (0..2)
            .map(|i| h.vcpu_rates(i).expect("two records").reason("syscall"))
            .sum();
        assert_eq!(syscall.rate, Some(want));
        assert_eq!(rows.iter().map(|r| r.total).sum::<u64>(), {
            t.vcpus.iter().map(|v| v.exits).sum::<u64>()
        });
        // One record: counts, no rates yet.
        let mut first = History::new();
        first.record(&fixture::kvm_record(0));
        let rows = reason_rows(&fixture::kvm_record(0), &first, &view);
        assert!(rows.iter().all(|r| r.rate.is_none()));
        // Alpha: nothing.
        assert!(reason_rows(&fixture::record(1), &h, &view).is_empty());
        assert_eq!(row_count(&fixture::record(1)), 0);
        assert_eq!(row_count(&t), 9 + 3);
    }

    #[test]
    fn sorts_by_count_and_rate_ties_in_the_machines_order() {
        let (t, h) = two_records();
        let mut view = VcpuView::default();
        let by_rate = reason_rows(&t, &h, &view);
        assert_eq!(by_rate[0].name, "syscall");
        for w in by_rate.windows(2) {
            assert!(w[0].rate >= w[1].rate, "{:?}", names(&by_rate));
        }
        // irq-window is zero everywhere: it ties with nothing but stays
        // below every reason that has exits.
        assert_eq!(by_rate.last().map(|r| r.name.as_str()), Some("irq-window"));
        view.sort_by(VcpuSort::Count);
        let by_count = reason_rows(&t, &h, &view);
        for w in by_count.windows(2) {
            assert!(w[0].total >= w[1].total);
        }
        view.sort_by(VcpuSort::Count);
        assert!(!view.descending, "again: reversed");
        let up = reason_rows(&t, &h, &view);
        assert_eq!(up[0].name, "irq-window");
        view.sort_by(VcpuSort::Reason);
        assert!(!view.descending);
        view.sort_by(VcpuSort::Reason);
        let back = reason_rows(&t, &h, &view);
        assert_eq!(back[0].name, "other", "the machine's order reversed");
        // Ties (all zero before rates exist) keep the machine's order.
        let mut zero = t.clone();
        for v in &mut zero.vcpus {
            for r in &mut v.reasons {
                r.1 = 0;
            }
        }
        let rows = reason_rows(&zero, &History::new(), &VcpuView::default());
        assert_eq!(names(&rows), EXIT_REASONS);
    }

    #[test]
    fn sort_cycles() {
        assert_eq!(VcpuSort::Rate.next(), VcpuSort::Reason);
        assert_eq!(VcpuSort::Reason.prev(), VcpuSort::Rate);
        for k in VcpuSort::ALL {
            assert_eq!(k.next().prev(), k);
        }
    }

    #[test]
    fn snapshot() {
        let (t, h) = two_records();
        let ctx = Ctx {
            t: &t,
            h: &h,
            theme: &Theme::default(),
        };
        let term = render(width(2), height(), |f, a| {
            draw(
                f,
                a,
                &ctx,
                true,
                &VcpuView::default(),
                &mut TableState::default(),
            );
        });
        insta::assert_snapshot!(term.backend());
    }

    #[test]
    fn first_record_and_too_narrow_for_every_vcpu() {
        let t = fixture::kvm_record(0);
        let mut h = History::new();
        h.record(&t);
        let ctx = Ctx {
            t: &t,
            h: &h,
            theme: &Theme::default(),
        };
        let view = VcpuView {
            sort: VcpuSort::Count,
            ..VcpuView::default()
        };
        let term = render(width(1), 10, |f, a| {
            draw(f, a, &ctx, false, &view, &mut TableState::default());
        });
        insta::assert_snapshot!(term.backend());
    }
}
