//! History of the optional panes' counters: each db-pager mound's hit
//! ratio and fault rate, and the network's packet rates, between records.
//!
//! A pager's counters are summed over the files its programs attached; a
//! file that goes away (its mound's next round attaches another) can make
//! a sum go backwards, and then the new sum counts from zero.

use std::collections::{BTreeMap, VecDeque};

use spin_net::Layer;
use spin_vmm::control::Telemetry;

use super::HISTORY_LEN;

/// A db-pager mound between two records.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PagerPoint {
    /// Hits over references in the interval, 0..=1 (None: no references).
    pub hit_ratio: Option<f64>,
    /// Faults per second.
    pub faults: f64,
}

/// The network between two records.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NetPoint {
    /// Frames into the stack per second (the Ethernet layer's packets).
    pub packets_in: f64,
    /// Frames out per second (the send layer's packets).
    pub packets_out: f64,
    /// Drops per second, every layer.
    pub drops: f64,
}

#[derive(Debug, Clone, Default)]
struct Prev {
    /// Per pager mound: (hits, faults).
    pagers: BTreeMap<u32, (u64, u64)>,
    /// Per layer: (packets, dropped).
    layers: BTreeMap<Layer, (u64, u64)>,
}

/// What the video, pager and network panes remember across records.
#[derive(Debug, Clone, Default)]
pub struct DeviceHistory {
    prev: Option<Prev>,
    pagers: BTreeMap<u32, VecDeque<PagerPoint>>,
    net: VecDeque<NetPoint>,
    layer_rates: BTreeMap<Layer, f64>,
}

fn delta(now: u64, before: u64) -> u64 {
    if now >= before {
        now - before
    } else {
        now
    }
}

fn push<T>(q: &mut VecDeque<T>, v: T) {
    if q.len() == HISTORY_LEN {
        q.pop_front();
    }
    q.push_back(v);
}

impl DeviceHistory {
    /// Takes a record `secs` of host time after the one before (None: the
    /// first record).
    pub(crate) fn record(&mut self, t: &Telemetry, secs: Option<f64>) {
        let now = Prev {
            pagers: t
                .pagers
                .iter()
                .map(|p| {
                    let hits = p.files.iter().map(|f| f.total.hits).sum();
                    let faults = p.files.iter().map(|f| f.total.faults).sum();
                    (p.id, (hits, faults))
                })
                .collect(),
            layers: t
                .net
                .iter()
                .flat_map(|n| &n.layers)
                .map(|l| (l.layer, (l.packets, l.dropped)))
                .collect(),
        };
        if let (Some(before), Some(secs)) = (&self.prev, secs) {
            let per_s = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
            for (&id, &(hits, faults)) in &now.pagers {
                let (bh, bf) = before.pagers.get(&id).copied().unwrap_or((0, 0));
                let (dh, df) = (delta(hits, bh), delta(faults, bf));
                let point = PagerPoint {
                    hit_ratio: (dh + df > 0).then(|| dh as f64 / (dh + df) as f64),
                    faults: per_s(df),
                };
                push(self.pagers.entry(id).or_default(), point);
            }
            if !now.layers.is_empty() {
                self.layer_rates.clear();
                let mut drops = 0;
                for (&layer, &(packets, dropped)) in &now.layers {
                    let (bp, bd) = before.layers.get(&layer).copied().unwrap_or((0, 0));
                    self.layer_rates.insert(layer, per_s(delta(packets, bp)));
                    drops += delta(dropped, bd);
                }
                let rate = |l| self.layer_rates.get(&l).copied().unwrap_or(0.0);
                let point = NetPoint {
                    packets_in: rate(Layer::Ether),
                    packets_out: rate(Layer::Send),
                    drops: per_s(drops),
                };
                push(&mut self.net, point);
            }
        }
        self.prev = Some(now);
    }

    /// Pager mound `id`'s points, oldest first.
    pub fn pager(&self, id: u32) -> impl DoubleEndedIterator<Item = &PagerPoint> {
        self.pagers.get(&id).into_iter().flatten()
    }

    /// The network's points, oldest first.
    pub fn net(&self) -> impl DoubleEndedIterator<Item = &NetPoint> {
        self.net.iter()
    }

    /// Packets per second into `layer` between the last two records.
    pub fn layer_rate(&self, layer: Layer) -> f64 {
        self.layer_rates.get(&layer).copied().unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::mix;

    #[test]
    fn pager_and_network_rates_are_interval_deltas() {
        let recs: Vec<Telemetry> = (0..3).map(mix::record).collect();
        let mut h = DeviceHistory::default();
        h.record(&recs[0], None);
        assert_eq!(h.pager(3).count(), 0, "one record: no interval yet");
        h.record(&recs[1], Some(1.0));
        h.record(&recs[2], Some(1.0));
        let points: Vec<&PagerPoint> = h.pager(3).collect();
        assert_eq!(points.len(), 2);
        let (hits, faults) = mix::pager_step(2);
        let want = hits as f64 / (hits + faults) as f64;
        assert!((points[1].hit_ratio.expect("refs") - want).abs() < 1e-9);
        assert_eq!(points[1].faults, faults as f64);
        assert_eq!(h.net().count(), 2);
        let last = h.net().last().copied().expect("a point");
        assert_eq!(last.packets_in, mix::ETHER_PER_REC as f64);
        assert!(h.layer_rate(Layer::Udp) > 0.0);
    }

    #[test]
    fn a_counter_that_goes_backwards_counts_from_zero() {
        let mut a = mix::record(5);
        let mut h = DeviceHistory::default();
        h.record(&a, None);
        // The mound's next round: a fresh file, small counters.
        a.pagers[0].files.clear();
        let mut f = mix::record(0).pagers[0].files[0].clone();
        f.total.hits = 10;
        f.total.faults = 10;
        a.pagers[0].files.push(f);
        h.record(&a, Some(2.0));
        let p = h.pager(3).last().copied().expect("a point");
        assert_eq!(p.hit_ratio, Some(0.5));
        assert_eq!(p.faults, 5.0);
    }
}
