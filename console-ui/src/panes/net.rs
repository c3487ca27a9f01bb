//! The shared network stack: the NIC's frames, injected faults and pump
//! wake-ups; packets in and out per second over time (a sparkline); then a
//! table — per layer its packets, packets per second and drops by reason,
//! per event handler its dispatches and guard misses — that scrolls.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, RenderDirection, Sparkline};
use ratatui::Frame;
use spin_net::{DropReason, Layer, NetTelemetry};
use spin_vmm::control::Telemetry;

use super::{fit, fmt_count, fmt_rate, pane_block, Ctx};
use crate::pane::Pane;

/// A layer's name in the table.
pub fn layer_name(l: Layer) -> &'static str {
    match l {
        Layer::Ether => "ether",
        Layer::Arp => "arp",
        Layer::Ip => "ip",
        Layer::Icmp => "icmp",
        Layer::Udp => "udp",
        Layer::Tcp => "tcp",
        Layer::Send => "send",
    }
}

/// A drop reason as the table shows it.
pub fn reason_name(r: DropReason) -> &'static str {
    match r {
        DropReason::Truncated => "truncated",
        DropReason::Malformed => "malformed",
        DropReason::BadChecksum => "checksum",
        DropReason::Unsupported => "unsupported",
        DropReason::NotForUs => "not-for-us",
        DropReason::NoHandler => "no-handler",
        DropReason::FragmentOverlap => "frag-overlap",
        DropReason::FragmentLimit => "frag-limit",
        DropReason::FragmentTimeout => "frag-timeout",
        DropReason::TooBig => "too-big",
        DropReason::NoRoute => "no-route",
        DropReason::ArpQueueFull => "arp-queue-full",
        DropReason::ArpUnresolved => "arp-unresolved",
        DropReason::NicError => "nic-error",
        DropReason::SocketQueueFull => "socket-full",
        DropReason::OutOfWindow => "out-of-window",
        DropReason::NoConnection => "no-connection",
        DropReason::BacklogFull => "backlog-full",
        DropReason::OutOfOrderLimit => "ooo-limit",
        DropReason::Rejected => "rejected",
    }
}

/// Rows of the scrolling table (layers, then handlers) for `t`.
pub fn row_count(t: &Telemetry) -> usize {
    t.net.as_ref().map_or(0, |n| table(n, None).len())
}

/// The table's lines: a header, each layer, a header, each event
/// handler. `rate` gives a layer's packets per second (None: no column).
fn table(n: &NetTelemetry, rate: Option<&dyn Fn(Layer) -> f64>) -> Vec<(bool, String)> {
    let mut rows = vec![(true, "layer packets    /s drops  reasons".to_string())];
    for l in &n.layers {
        let per_s = rate.map_or_else(String::new, |r| fmt_rate(r(l.layer)));
        let reasons: Vec<String> = l
            .drops
            .iter()
            .map(|(r, k)| format!("{} {}", reason_name(*r), fmt_count(*k)))
            .collect();
        rows.push((
            false,
            format!(
                "{:<5} {:>6} {:>5} {:>5}  {}",
                layer_name(l.layer),
                fmt_count(l.packets),
                per_s,
                fmt_count(l.dropped),
                reasons.join(", ")
            ),
        ));
    }
    rows.push((
        true,
        "handler                runs misses  event".to_string(),
    ));
    for e in &n.events {
        for h in &e.handler_stats {
            rows.push((
                false,
                format!(
                    "{:<20} {:>6} {:>6}  {}",
                    fit(&h.installer, 20),
                    fmt_count(h.dispatches),
                    fmt_count(h.guard_misses),
                    e.name
                ),
            ));
        }
    }
    rows
}

/// Draws the pane; the table is scrolled `scroll` rows.
pub fn draw(frame: &mut Frame, area: Rect, ctx: &Ctx, focused: bool, scroll: usize) {
    let theme = ctx.theme;
    let Some(n) = &ctx.t.net else {
        let block = pane_block(Pane::Network, "Network".into(), focused, theme);
        frame.render_widget(
            Paragraph::new("no network")
                .style(theme.muted_style())
                .block(block),
            area,
        );
        return;
    };
    let title = match &ctx.t.nic {
        Some(nic) => format!("Network ({} {})", nic.backend, nic.address),
        None => "Network".into(),
    };
    let block = pane_block(Pane::Network, title, focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let bold = theme.header_style();
    let nic_line = match &ctx.t.nic {
        Some(nic) => {
            let faults = nic.injected_drops + nic.injected_dups + nic.injected_reorders;
            Line::from(vec![
                Span::styled("nic ", bold),
                Span::raw(format!(
                    "in {} out {} · faults {} · errors {} · pump {}",
                    fmt_count(nic.frames_in),
                    fmt_count(nic.frames_out),
                    fmt_count(faults),
                    fmt_count(nic.tx_errors),
                    fmt_count(nic.pump_wakeups)
                )),
            ])
        }
        None => Line::styled("no NIC", theme.muted_style()),
    };
    let dev = ctx.h.devices();
    let newest = dev.net().last().copied().unwrap_or_default();
    let rate_line = Line::from(vec![
        Span::styled("packets/s ", bold),
        Span::raw(format!(
            "in {} out {} · drops/s {}",
            fmt_rate(newest.packets_in),
            fmt_rate(newest.packets_out),
            fmt_rate(newest.drops)
        )),
    ]);
    let spark_h = if inner.height >= 10 { 2 } else { 1 };
    let [nic_area, rate_area, spark_area, table_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(spark_h),
        Constraint::Fill(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(nic_line), nic_area);
    frame.render_widget(Paragraph::new(rate_line), rate_area);
    let w = usize::from(spark_area.width);
    let newest_first: Vec<u64> = dev
        .net()
        .rev()
        .take(w)
        .map(|p| (p.packets_in + p.packets_out).ceil() as u64)
        .collect();
    frame.render_widget(
        Sparkline::default()
            .data(newest_first)
            .direction(RenderDirection::RightToLeft)
            .style(Style::default().fg(theme.good)),
        spark_area,
    );
    let rate = |l: Layer| dev.layer_rate(l);
    let rows = table(n, Some(&rate));
    let scroll = scroll.min(rows.len().saturating_sub(1));
    let lines: Vec<Line> = rows
        .into_iter()
        .skip(scroll)
        .map(|(header, text)| {
            if header {
                Line::styled(text, bold)
            } else {
                Line::from(text)
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), table_area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{self, mix};
    use crate::history::History;
    use crate::panes::tests::render;

    #[test]
    fn layers_handlers_and_the_nic() {
        let mut h = History::new();
        let recs = mix::records(10);
        for r in &recs {
            h.record(r);
        }
        let t = recs[9].clone();
        let ctx = Ctx {
            t: &t,
            h: &h,
            theme: &crate::theme::Theme::default(),
        };
        let term = render(80, 20, |f, a| draw(f, a, &ctx, true, 0));
        let text: String = term
            .backend()
            .buffer()
            .content
            .iter()
            .map(|c| c.symbol())
            .collect();
        for want in [
            "Network (user 10.0.2.15/24)",
            "nic in 960 out 10.4k · faults 2 · errors 0 · pump 400",
            "packets/s in 96 out 1040 · drops/s",
            "ether    960    96    10  unsupported 10",
            "udp ",
            "no-handler 5",
            "video:viewer",
            "UDP.PacketArrived",
        ] {
            assert!(text.contains(want), "{want:?} not in\n{}", term.backend());
        }
        insta::assert_snapshot!(term.backend());
        assert_eq!(row_count(&t), 1 + 7 + 1 + 3);
        assert_eq!(row_count(&fixture::record(0)), 0, "no network");
        for (w, h) in [(1, 1), (10, 3), (20, 10), (200, 4)] {
            render(w, h, |f, a| draw(f, a, &ctx, false, 99));
        }
    }
}
