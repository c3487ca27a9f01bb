//! The ARP cache: resolved addresses with timeouts, and the bounded queue of
//! packets waiting for an address to resolve.
//!
//! Time is milliseconds on the stack's clock (advanced by `NetStack::poll`),
//! never read from the host here, so runs replay exactly. Ordered maps keep
//! iteration (eviction, retries) deterministic.

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;

use crate::wire::ethernet::MacAddr;

/// Limits and timers of the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpConfig {
    /// How long a learned entry lives, ms.
    pub entry_ttl_ms: u64,
    /// Most resolved entries; the one expiring soonest is evicted.
    pub capacity: usize,
    /// Time between requests for an unresolved address, ms.
    pub retry_ms: u64,
    /// Requests sent before giving up (and dropping the waiting packets).
    pub max_requests: u32,
    /// Most packets waiting for one address.
    pub pending_per_addr: usize,
    /// Most addresses being resolved at once.
    pub pending_addrs: usize,
}

impl Default for ArpConfig {
    fn default() -> Self {
        ArpConfig {
            entry_ttl_ms: 60_000,
            capacity: 256,
            retry_ms: 1_000,
            max_requests: 3,
            pending_per_addr: 8,
            pending_addrs: 32,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    mac: MacAddr,
    /// `None`: static, never expires.
    expires: Option<u64>,
}

#[derive(Debug)]
struct Pending {
    /// Whole Ethernet frames whose destination is filled in on resolution.
    frames: VecDeque<Vec<u8>>,
    requests: u32,
    next_request: u64,
}

/// What to do after queueing a packet for an unresolved address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    /// Queued; send a request now (the first one for this address).
    SendRequest,
    /// Queued behind an outstanding request.
    Waiting,
    /// Not queued: the limits were reached.
    Full,
}

/// The cache.
#[derive(Debug)]
pub struct ArpCache {
    config: ArpConfig,
    entries: BTreeMap<Ipv4Addr, Entry>,
    pending: BTreeMap<Ipv4Addr, Pending>,
}

/// What [`ArpCache::poll`] found due.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ArpPoll {
    /// Addresses to send another request for.
    pub retry: Vec<Ipv4Addr>,
    /// Packets dropped because their address never resolved.
    pub unresolved: usize,
}

impl ArpCache {
    /// An empty cache.
    pub fn new(config: ArpConfig) -> ArpCache {
        ArpCache {
            config,
            entries: BTreeMap::new(),
            pending: BTreeMap::new(),
        }
    }

    /// The address `ip` is at, if known and not expired at `now`.
    pub fn lookup(&self, ip: Ipv4Addr, now: u64) -> Option<MacAddr> {
        self.entries
            .get(&ip)
            .filter(|e| e.expires.is_none_or(|t| now < t))
            .map(|e| e.mac)
    }

    /// Whether `ip` has an entry (RFC 826: only then does a packet not
    /// addressed to us update it).
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        self.entries.contains_key(&ip)
    }

    /// Records that `ip` is at `mac` (static entries are not overwritten) and
    /// returns the frames that were waiting for it, addressed.
    pub fn insert(&mut self, ip: Ipv4Addr, mac: MacAddr, now: u64) -> Vec<Vec<u8>> {
        if self.entries.get(&ip).is_some_and(|e| e.expires.is_none()) {
            return self.release(ip, mac);
        }
        if !self.entries.contains_key(&ip) && self.entries.len() >= self.config.capacity {
            self.evict();
        }
        self.entries.insert(
            ip,
            Entry {
                mac,
                expires: Some(now.saturating_add(self.config.entry_ttl_ms)),
            },
        );
        self.release(ip, mac)
    }

    /// Adds an entry that never expires.
    pub fn insert_static(&mut self, ip: Ipv4Addr, mac: MacAddr) -> Vec<Vec<u8>> {
        self.entries.insert(ip, Entry { mac, expires: None });
        self.release(ip, mac)
    }

    fn evict(&mut self) {
        let victim = self
            .entries
            .iter()
            .filter_map(|(ip, e)| e.expires.map(|t| (t, *ip)))
            .min();
        if let Some((_, ip)) = victim {
            self.entries.remove(&ip);
        }
    }

    fn release(&mut self, ip: Ipv4Addr, mac: MacAddr) -> Vec<Vec<u8>> {
        let Some(p) = self.pending.remove(&ip) else {
            return Vec::new();
        };
        p.frames
            .into_iter()
            .map(|mut f| {
                // Frames were queued whole, destination left blank.
                f[..6].copy_from_slice(&mac.0);
                f
            })
            .collect()
    }

    /// Queues `frame` (a whole Ethernet frame, at least 14 bytes) until `ip`
    /// resolves.
    pub fn enqueue(&mut self, ip: Ipv4Addr, frame: Vec<u8>, now: u64) -> Queued {
        debug_assert!(frame.len() >= 14);
        if let Some(p) = self.pending.get_mut(&ip) {
            if p.frames.len() >= self.config.pending_per_addr {
                return Queued::Full;
            }
            p.frames.push_back(frame);
            return Queued::Waiting;
        }
        if self.pending.len() >= self.config.pending_addrs || self.config.pending_per_addr == 0 {
            return Queued::Full;
        }
        self.pending.insert(
            ip,
            Pending {
                frames: VecDeque::from([frame]),
                requests: 1,
                next_request: now + self.config.retry_ms,
            },
        );
        Queued::SendRequest
    }

    /// Expires entries, and for unresolved addresses either asks again or
    /// gives up (dropping their packets).
    pub fn poll(&mut self, now: u64) -> ArpPoll {
        self.entries
            .retain(|_, e| e.expires.is_none_or(|t| now < t));
        let mut out = ArpPoll::default();
        let config = self.config;
        self.pending.retain(|ip, p| {
            if now < p.next_request {
                return true;
            }
            if p.requests >= config.max_requests {
                out.unresolved += p.frames.len();
                return false;
            }
            p.requests += 1;
            p.next_request = now + config.retry_ms;
            out.retry.push(*ip);
            true
        });
        out
    }

    /// Resolved entries (expired ones not yet polled included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Addresses being resolved.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);
    const MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 9]);

    fn cfg() -> ArpConfig {
        ArpConfig {
            entry_ttl_ms: 100,
            capacity: 2,
            retry_ms: 10,
            max_requests: 3,
            pending_per_addr: 2,
            pending_addrs: 1,
        }
    }

    #[test]
    fn entries_expire() {
        let mut c = ArpCache::new(cfg());
        c.insert(IP, MAC, 0);
        assert_eq!(c.lookup(IP, 99), Some(MAC));
        assert_eq!(c.lookup(IP, 100), None);
        c.poll(100);
        assert!(c.is_empty());
        c.insert_static(IP, MAC);
        c.poll(1 << 40);
        assert_eq!(c.lookup(IP, 1 << 40), Some(MAC));
    }

    #[test]
    fn capacity_evicts_the_soonest_to_expire() {
        let mut c = ArpCache::new(cfg());
        c.insert(Ipv4Addr::new(1, 0, 0, 1), MAC, 0);
        c.insert(Ipv4Addr::new(1, 0, 0, 2), MAC, 5);
        c.insert(Ipv4Addr::new(1, 0, 0, 3), MAC, 6);
        assert_eq!(c.len(), 2);
        assert_eq!(c.lookup(Ipv4Addr::new(1, 0, 0, 1), 7), None);
    }

    #[test]
    fn pending_frames_are_bounded_released_and_given_up() {
        let mut c = ArpCache::new(cfg());
        assert_eq!(c.enqueue(IP, vec![0; 14], 0), Queued::SendRequest);
        assert_eq!(c.enqueue(IP, vec![1; 14], 0), Queued::Waiting);
        assert_eq!(c.enqueue(IP, vec![2; 14], 0), Queued::Full);
        assert_eq!(
            c.enqueue(Ipv4Addr::new(10, 0, 0, 8), vec![0; 14], 0),
            Queued::Full
        );
        let out = c.insert(IP, MAC, 1);
        assert_eq!(out.len(), 2);
        assert_eq!(&out[1][..6], &MAC.0);
        assert_eq!(&out[1][6..], &[1; 8]);

        // Unanswered: two retries, then the packets are dropped.
        assert_eq!(
            c.enqueue(Ipv4Addr::new(10, 0, 0, 7), vec![0; 14], 100),
            Queued::SendRequest
        );
        assert_eq!(c.poll(105).retry.len(), 0);
        assert_eq!(c.poll(110).retry, vec![Ipv4Addr::new(10, 0, 0, 7)]);
        assert_eq!(c.poll(120).retry.len(), 1);
        let gave_up = c.poll(130);
        assert_eq!((gave_up.retry.len(), gave_up.unresolved), (0, 1));
        assert_eq!(c.pending(), 0);
    }
}
