//! IPv4 fragment reassembly (RFC 791 §3.2, RFC 815's hole bookkeeping, kept
//! as a sorted list of received ranges).
//!
//! Bounded everywhere: datagrams in progress, fragments per datagram, bytes
//! per datagram (65515, the largest IPv4 payload) and time. Overlaps are
//! treated as an attack (as RFC 5722 does for IPv6): an exact duplicate is
//! ignored; any other overlap discards the whole datagram.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::telemetry::DropReason;

/// Largest IPv4 payload, bytes.
pub const MAX_PAYLOAD: usize = 65_535 - 20;

/// Limits of the reassembler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyConfig {
    /// Most datagrams in reassembly at once; fragments of a new one beyond
    /// this are dropped.
    pub max_datagrams: usize,
    /// Most fragments one datagram may have.
    pub max_fragments: usize,
    /// Time a datagram may take to complete from its first fragment, ms.
    pub timeout_ms: u64,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            max_datagrams: 16,
            max_fragments: 64,
            timeout_ms: 30_000,
        }
    }
}

/// Identifies a datagram: RFC 791's (source, destination, protocol, ident).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FragKey {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol.
    pub protocol: u8,
    /// Identification.
    pub ident: u16,
}

#[derive(Debug)]
struct Partial {
    data: Vec<u8>,
    /// Received `[start, end)` ranges, sorted, disjoint.
    ranges: Vec<(usize, usize)>,
    /// Payload length, once the last fragment arrived.
    total: Option<usize>,
    expires: u64,
}

impl Partial {
    fn complete(&self) -> bool {
        let Some(total) = self.total else {
            return false;
        };
        let mut at = 0;
        for &(s, e) in &self.ranges {
            if s != at {
                return false;
            }
            at = e;
        }
        at == total
    }
}

/// The reassembler.
#[derive(Debug)]
pub struct Reassembler {
    config: ReassemblyConfig,
    partial: BTreeMap<FragKey, Partial>,
}

impl Reassembler {
    /// An empty reassembler.
    pub fn new(config: ReassemblyConfig) -> Reassembler {
        Reassembler {
            config,
            partial: BTreeMap::new(),
        }
    }

    /// Adds a fragment (`offset` in bytes, `more` = more-fragments flag).
    /// `Ok(Some(payload))` when the datagram is complete, `Ok(None)` while it
    /// is not, `Err(reason)` when this fragment (and, for overlaps, limits
    /// and inconsistencies, its whole datagram) was dropped.
    pub fn push(
        &mut self,
        key: FragKey,
        offset: usize,
        more: bool,
        data: &[u8],
        now: u64,
    ) -> Result<Option<Vec<u8>>, DropReason> {
        let end = offset + data.len();
        if end > MAX_PAYLOAD {
            self.partial.remove(&key);
            return Err(DropReason::TooBig);
        }
        // Every fragment but the last carries a multiple of 8 bytes, and none
        // is empty.
        if data.is_empty() || (more && !data.len().is_multiple_of(8)) {
            self.partial.remove(&key);
            return Err(DropReason::Malformed);
        }
        if !self.partial.contains_key(&key) {
            if self.partial.len() >= self.config.max_datagrams {
                return Err(DropReason::FragmentLimit);
            }
            self.partial.insert(
                key,
                Partial {
                    data: Vec::new(),
                    ranges: Vec::new(),
                    total: None,
                    expires: now + self.config.timeout_ms,
                },
            );
        }
        let p = self.partial.get_mut(&key).expect("inserted above");
        let verdict = Self::add(p, offset, end, more, data, self.config.max_fragments);
        match verdict {
            Err(reason) => {
                self.partial.remove(&key);
                Err(reason)
            }
            Ok(false) => Ok(None),
            Ok(true) => {
                let p = self.partial.remove(&key).expect("present");
                Ok(Some(p.data))
            }
        }
    }

    /// Adds one fragment to a datagram; `Ok(true)` once complete.
    fn add(
        p: &mut Partial,
        start: usize,
        end: usize,
        more: bool,
        data: &[u8],
        max_fragments: usize,
    ) -> Result<bool, DropReason> {
        if !more {
            if p.total.is_some_and(|t| t != end) || p.ranges.last().is_some_and(|&(_, e)| e > end) {
                return Err(DropReason::Malformed);
            }
            p.total = Some(end);
        } else if p.total.is_some_and(|t| end > t) {
            return Err(DropReason::Malformed);
        }
        // Where the new range goes; check its neighbours for overlap.
        let at = p.ranges.partition_point(|&(s, _)| s < start);
        if p.ranges.get(at) == Some(&(start, end)) {
            return Ok(false); // exact duplicate: harmless, ignored
        }
        let overlaps_prev = at > 0 && p.ranges[at - 1].1 > start;
        let overlaps_next = p.ranges.get(at).is_some_and(|&(s, _)| s < end);
        if overlaps_prev || overlaps_next {
            return Err(DropReason::FragmentOverlap);
        }
        if p.ranges.len() >= max_fragments {
            return Err(DropReason::FragmentLimit);
        }
        p.ranges.insert(at, (start, end));
        if p.data.len() < end {
            p.data.resize(end, 0);
        }
        p.data[start..end].copy_from_slice(data);
        Ok(p.complete())
    }

    /// Discards datagrams whose time ran out; returns how many.
    pub fn expire(&mut self, now: u64) -> usize {
        let before = self.partial.len();
        self.partial.retain(|_, p| now < p.expires);
        before - self.partial.len()
    }

    /// Datagrams in progress.
    pub fn in_progress(&self) -> usize {
        self.partial.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(ident: u16) -> FragKey {
        FragKey {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
            protocol: 17,
            ident,
        }
    }

    fn r() -> Reassembler {
        Reassembler::new(ReassemblyConfig {
            max_datagrams: 2,
            max_fragments: 4,
            timeout_ms: 100,
        })
    }

    #[test]
    fn in_order_and_out_of_order() {
        let data: Vec<u8> = (0..40).collect();
        let mut a = r();
        assert_eq!(a.push(key(1), 0, true, &data[..16], 0), Ok(None));
        assert_eq!(a.push(key(1), 16, true, &data[16..32], 0), Ok(None));
        assert_eq!(
            a.push(key(1), 32, false, &data[32..], 0),
            Ok(Some(data.clone()))
        );
        assert_eq!(a.in_progress(), 0);
        assert_eq!(a.push(key(2), 32, false, &data[32..], 0), Ok(None));
        assert_eq!(a.push(key(2), 0, true, &data[..16], 0), Ok(None));
        assert_eq!(
            a.push(key(2), 0, true, &data[..16], 0),
            Ok(None),
            "exact duplicate ignored"
        );
        assert_eq!(a.push(key(2), 16, true, &data[16..32], 0), Ok(Some(data)));
    }

    #[test]
    fn overlap_discards_the_datagram() {
        let mut a = r();
        assert_eq!(a.push(key(1), 0, true, &[0; 16], 0), Ok(None));
        assert_eq!(
            a.push(key(1), 8, true, &[1; 16], 0),
            Err(DropReason::FragmentOverlap)
        );
        assert_eq!(a.in_progress(), 0);
        assert_eq!(a.push(key(1), 16, true, &[0; 16], 0), Ok(None));
        assert_eq!(
            a.push(key(1), 24, true, &[0; 16], 0),
            Err(DropReason::FragmentOverlap)
        );
    }

    #[test]
    fn limits() {
        let mut a = r();
        a.push(key(1), 0, true, &[0; 8], 0).unwrap();
        a.push(key(2), 0, true, &[0; 8], 0).unwrap();
        assert_eq!(
            a.push(key(3), 0, true, &[0; 8], 0),
            Err(DropReason::FragmentLimit)
        );
        for i in 1..4 {
            a.push(key(1), i * 8, true, &[0; 8], 0).unwrap();
        }
        assert_eq!(
            a.push(key(1), 64, false, &[0; 8], 0),
            Err(DropReason::FragmentLimit)
        );
        assert_eq!(
            a.push(key(2), MAX_PAYLOAD - 4, false, &[0; 8], 0),
            Err(DropReason::TooBig)
        );
        assert_eq!(a.in_progress(), 0);
        assert_eq!(
            a.push(key(4), 0, true, &[0; 7], 0),
            Err(DropReason::Malformed)
        );
        a.push(key(4), 0, false, &[0; 20], 0).map(|_| ()).unwrap();
        a.push(key(5), 16, false, &[0; 4], 0).unwrap();
        assert_eq!(
            a.push(key(5), 0, true, &[0; 24], 0),
            Err(DropReason::Malformed),
            "past the end"
        );
    }

    #[test]
    fn timeout() {
        let mut a = r();
        a.push(key(1), 0, true, &[0; 8], 10).unwrap();
        assert_eq!(a.expire(109), 0);
        assert_eq!(a.expire(110), 1);
        assert_eq!(
            a.push(key(1), 8, false, &[0; 8], 111),
            Ok(None),
            "starts afresh"
        );
    }

    proptest! {
        /// Any order of the fragments of a datagram (with duplicates)
        /// reassembles it exactly.
        #[test]
        fn any_order_reassembles(len in 1usize..400, cut in 1usize..6, seed in any::<u64>()) {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let step = (len.div_ceil(cut)).div_ceil(8).max(1) * 8;
            let mut frags: Vec<(usize, usize)> = (0..len).step_by(step).map(|s| (s, (s + step).min(len))).collect();
            let dup = frags[seed as usize % frags.len()];
            frags.push(dup);
            // A deterministic shuffle from the seed.
            let mut s = seed;
            for i in (1..frags.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                frags.swap(i, (s >> 33) as usize % (i + 1));
            }
            let mut a = Reassembler::new(ReassemblyConfig { max_fragments: 64, ..Default::default() });
            let mut done = None;
            for (st, e) in frags {
                // (A duplicate arriving after completion starts a new
                // datagram; if it is the whole thing, that completes too.)
                if let Some(d) = a.push(key(9), st, e < len, &data[st..e], 0).unwrap() {
                    prop_assert_eq!(&d, &data);
                    done.get_or_insert(d);
                }
            }
            prop_assert_eq!(done, Some(data));
        }
    }
}
