//! The client's frame pool: a fixed number of frame buffers, allocated on
//! first use and then kept for the client's life (pinned: never returned to
//! the allocator, never reclaimed by anyone else), cycling between "free",
//! "decoded, waiting for display" and "on screen". When every buffer is
//! taken, the oldest waiting frame is sacrificed (counted as dropped): the
//! pool never grows.

use std::collections::VecDeque;

/// A decoded frame in a pool buffer.
#[derive(Debug)]
pub struct PoolFrame {
    /// Width, pixels.
    pub width: u16,
    /// Height, pixels.
    pub height: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// RGB pixels (the pool's buffer).
    pub pixels: Vec<u8>,
}

/// The pool.
#[derive(Debug)]
pub struct FramePool {
    capacity: usize,
    allocated: usize,
    free: Vec<Vec<u8>>,
    ready: VecDeque<PoolFrame>,
    dropped: u64,
}

impl FramePool {
    /// A pool of `capacity` buffers (at least 2: one being decoded while
    /// one is shown).
    pub fn new(capacity: usize) -> FramePool {
        FramePool {
            capacity: capacity.max(2),
            allocated: 0,
            free: Vec::new(),
            ready: VecDeque::new(),
            dropped: 0,
        }
    }

    /// A buffer to decode into: a free one, a new one while under
    /// capacity, or the oldest waiting frame's (that frame is dropped).
    /// `None` only when every buffer is on screen or being decoded.
    pub fn take(&mut self) -> Option<Vec<u8>> {
        if let Some(b) = self.free.pop() {
            return Some(b);
        }
        if self.allocated < self.capacity {
            self.allocated += 1;
            return Some(Vec::new());
        }
        let f = self.ready.pop_front()?;
        self.dropped += 1;
        Some(f.pixels)
    }

    /// Queues a decoded frame for display.
    pub fn ready(&mut self, frame: PoolFrame) {
        self.ready.push_back(frame);
    }

    /// The newest decoded frame; older waiting frames are superseded
    /// (counted as dropped, their buffers freed).
    pub fn newest(&mut self) -> Option<PoolFrame> {
        let newest = self.ready.pop_back()?;
        while let Some(old) = self.ready.pop_front() {
            self.dropped += 1;
            self.free.push(old.pixels);
        }
        Some(newest)
    }

    /// Returns a buffer (after display, or after a failed decode).
    pub fn give_back(&mut self, buf: Vec<u8>) {
        self.free.push(buf);
    }

    /// Frames that were decoded but never shown.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Buffers allocated so far (never more than the capacity).
    pub fn allocated(&self) -> usize {
        self.allocated
    }

    /// The bound.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes held by the pool's buffers.
    pub fn bytes(&self) -> usize {
        self.free.iter().map(Vec::capacity).sum::<usize>()
            + self
                .ready
                .iter()
                .map(|f| f.pixels.capacity())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ts: u32, pixels: Vec<u8>) -> PoolFrame {
        PoolFrame {
            width: 1,
            height: 1,
            timestamp: ts,
            pixels,
        }
    }

    #[test]
    fn bounded_and_recycling() {
        let mut p = FramePool::new(3);
        for ts in 0..10 {
            let b = p.take().expect("a buffer");
            p.ready(frame(ts, b));
            assert!(p.allocated() <= 3);
        }
        // 10 frames through 3 buffers: 7 sacrificed, the 3 newest wait.
        assert_eq!(p.dropped(), 7);
        let f = p.newest().expect("newest");
        assert_eq!(f.timestamp, 9);
        assert_eq!(p.dropped(), 9);
        p.give_back(f.pixels);
        assert_eq!(p.allocated(), 3);
        assert!(p.newest().is_none());
    }

    #[test]
    fn take_fails_only_when_every_buffer_is_out() {
        let mut p = FramePool::new(2);
        let a = p.take().unwrap();
        let b = p.take().unwrap();
        assert!(p.take().is_none());
        p.give_back(a);
        p.give_back(b);
        assert!(p.take().is_some());
    }
}
