//! Deterministic reference strings of the workloads the pager is measured
//! on — the same seed gives the same string on every host. They are what
//! the guest storage engine's runs look like to the pager, generated here so
//! the policies can be compared (and unit-tested) without a machine.

use spin_kernel::rng::Rng;

use crate::page::{PageKind, PageNo, Ref};
use crate::trace::Trace;

/// Workload (a): a hot set looked up between repeated full scans of a
/// table larger than memory.
#[derive(Debug, Clone)]
pub struct HotScan {
    /// Pages of the hot set (pages `0..hot`).
    pub hot: u64,
    /// Pages of the scanned table (after the hot set).
    pub table: u64,
    /// Full scans.
    pub scans: u64,
    /// Hot-set lookups before each scan.
    pub lookups: u64,
    /// A hot lookup every this many scanned pages (0: none during a scan).
    pub interleave: u64,
    /// The seed.
    pub seed: u64,
}

impl HotScan {
    /// The reference string, kinds as the database hints them.
    pub fn trace(&self) -> Trace {
        let mut rng = Rng::new(self.seed);
        let mut refs = Vec::new();
        let hot = |rng: &mut Rng| Ref {
            page: rng.below(self.hot.max(1)),
            write: rng.below(4) == 0,
            kind: PageKind::Hot,
        };
        for _ in 0..self.scans {
            for _ in 0..self.lookups {
                refs.push(hot(&mut rng));
            }
            for i in 0..self.table {
                refs.push(Ref {
                    page: self.hot + i,
                    write: false,
                    kind: PageKind::Scan,
                });
                if self.interleave > 0 && i % self.interleave == 0 {
                    refs.push(hot(&mut rng));
                }
            }
        }
        Trace::new(refs)
    }
}

/// Workload (b): point lookups of Zipf-distributed keys through a
/// two-level index (a root page, inner pages, then leaf pages that point at
/// data pages).
#[derive(Debug, Clone)]
pub struct ZipfIndex {
    /// Keys in the table.
    pub keys: u64,
    /// Keys per data page.
    pub keys_per_page: u64,
    /// Index entries per page (the fan-out).
    pub fanout: u64,
    /// Lookups.
    pub lookups: u64,
    /// The Zipf exponent (0.99 as in YCSB).
    pub theta: f64,
    /// Fraction of lookups that update the row (percent).
    pub update_percent: u64,
    /// The seed.
    pub seed: u64,
}

impl ZipfIndex {
    /// Index pages: the root, the inner level, the leaves.
    pub fn index_pages(&self) -> u64 {
        let fanout = self.fanout.max(2);
        let leaves = self.keys.div_ceil(fanout).max(1);
        let inner = leaves.div_ceil(fanout).max(1);
        1 + inner + leaves
    }

    /// The reference string: index pages hinted `Index`, data pages not.
    pub fn trace(&self) -> Trace {
        let mut rng = Rng::new(self.seed);
        let fanout = self.fanout.max(2);
        let keys = self.keys.max(1);
        let leaves = keys.div_ceil(fanout).max(1);
        let inner = leaves.div_ceil(fanout).max(1);
        let data0 = 1 + inner + leaves;
        let zipf = Zipf::new(keys, self.theta);
        let mut refs = Vec::with_capacity(self.lookups as usize * 4);
        let index = |page| Ref {
            page,
            write: false,
            kind: PageKind::Index,
        };
        for _ in 0..self.lookups {
            // Popular keys are scattered over the table, as in a real one.
            let rank = zipf.sample(&mut rng);
            let key = scatter(rank, keys);
            let leaf = key / fanout;
            refs.push(index(0));
            refs.push(index(1 + leaf / fanout));
            refs.push(index(1 + inner + leaf));
            refs.push(Ref {
                page: data0 + key / self.keys_per_page.max(1),
                write: rng.below(100) < self.update_percent,
                kind: PageKind::Normal,
            });
        }
        Trace::new(refs)
    }
}

/// A bijection of `0..n` that spreads neighbouring ranks apart.
fn scatter(rank: u64, n: u64) -> u64 {
    // An odd multiplier coprime with n would be a bijection only for some
    // n; a multiply-and-reduce keeps it simple and deterministic, and
    // collisions only merge two keys' pages.
    (rank.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 7) % n
}

/// Zipf-distributed ranks over `0..n` by inverting the cumulative
/// distribution (a table of n floats; fine for the sizes used here).
#[derive(Debug, Clone)]
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    /// Ranks `0..n` with P(rank k) ∝ 1/(k+1)^theta.
    pub fn new(n: u64, theta: f64) -> Zipf {
        let mut cdf = Vec::with_capacity(n as usize);
        let mut sum = 0.0;
        for k in 0..n.max(1) {
            sum += 1.0 / ((k + 1) as f64).powf(theta);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        Zipf { cdf }
    }

    /// One rank.
    pub fn sample(&self, rng: &mut Rng) -> u64 {
        let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        self.cdf.partition_point(|&c| c < u) as u64
    }
}

/// Workload (c), TPC-C-like: new-order transactions (Zipf reads of items
/// and stock, stock and order-line pages written, appends at the order
/// table's end) mixed with a periodic stock-level scan.
#[derive(Debug, Clone)]
pub struct OrderMix {
    /// Pages of the item table.
    pub items: u64,
    /// Pages of the stock table.
    pub stock: u64,
    /// Transactions.
    pub transactions: u64,
    /// A stock scan every this many transactions (0: none).
    pub scan_every: u64,
    /// The seed.
    pub seed: u64,
}

impl OrderMix {
    /// The reference string.
    pub fn trace(&self) -> Trace {
        let mut rng = Rng::new(self.seed);
        let items = self.items.max(1);
        let stock = self.stock.max(1);
        let zi = Zipf::new(items, 0.8);
        let zs = Zipf::new(stock, 0.8);
        let stock0 = items;
        let orders0 = items + stock;
        let mut order_page: PageNo = orders0;
        let mut in_page = 0;
        let mut refs = Vec::new();
        for t in 0..self.transactions {
            for _ in 0..(5 + rng.below(6)) {
                refs.push(Ref {
                    page: scatter(zi.sample(&mut rng), items),
                    write: false,
                    kind: PageKind::Index,
                });
                refs.push(Ref {
                    page: stock0 + scatter(zs.sample(&mut rng), stock),
                    write: true,
                    kind: PageKind::Normal,
                });
            }
            refs.push(Ref {
                page: order_page,
                write: true,
                kind: PageKind::Normal,
            });
            in_page += 1;
            if in_page == 8 {
                in_page = 0;
                order_page += 1;
            }
            if self.scan_every > 0 && t % self.scan_every == self.scan_every - 1 {
                for p in 0..stock {
                    refs.push(Ref {
                        page: stock0 + p,
                        write: false,
                        kind: PageKind::Scan,
                    });
                }
            }
        }
        Trace::new(refs)
    }
}
