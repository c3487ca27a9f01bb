//! Pipes: a 64 KiB byte queue between a read end and a write end.
//!
//! Nothing here blocks. An empty pipe with writers returns `EAGAIN` and a
//! full one accepts what fits (or `EAGAIN` when a write of at most
//! [`PIPE_BUF`] bytes would not fit whole, keeping such writes atomic); the
//! caller parks the strand on the pipe's key and the notifier wakes it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::shared::{lock, Shared};
use crate::types::{Readiness, PIPE_BUF, PIPE_CAPACITY};
use crate::{Errno, SysResult};

#[derive(Debug, Default)]
struct PipeState {
    buf: VecDeque<u8>,
    readers: usize,
    writers: usize,
}

/// The shared queue of one pipe.
pub(crate) struct Pipe {
    /// Inode number and notifier key.
    pub id: u64,
    shared: Arc<Shared>,
    state: Mutex<PipeState>,
}

/// Which end an open file description holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Read,
    Write,
}

impl Pipe {
    /// A pipe with no ends open yet (see [`Pipe::open_end`]).
    pub fn new(shared: &Arc<Shared>) -> Arc<Pipe> {
        Arc::new(Pipe {
            id: shared.next_id(),
            shared: Arc::clone(shared),
            state: Mutex::new(PipeState::default()),
        })
    }

    /// Counts a new description of `end`.
    pub fn open_end(&self, end: End) {
        let mut st = lock(&self.state);
        match end {
            End::Read => st.readers += 1,
            End::Write => st.writers += 1,
        }
    }

    /// Counts a description of `end` gone; wakes the other side.
    pub fn close_end(&self, end: End) {
        {
            let mut st = lock(&self.state);
            match end {
                End::Read => st.readers = st.readers.saturating_sub(1),
                End::Write => st.writers = st.writers.saturating_sub(1),
            }
        }
        self.shared.notifier.notify(self.id);
    }

    /// Reads what is there; `Ok(0)` at end of file (no writers left),
    /// `EAGAIN` when empty with writers.
    pub fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = {
            let mut st = lock(&self.state);
            if st.buf.is_empty() {
                return if st.writers == 0 {
                    Ok(0)
                } else {
                    Err(Errno::EAGAIN)
                };
            }
            let n = buf.len().min(st.buf.len());
            for (dst, src) in buf.iter_mut().zip(st.buf.drain(..n)) {
                *dst = src;
            }
            n
        };
        self.shared.notifier.notify(self.id);
        Ok(n)
    }

    /// Writes what fits; `EPIPE` with no readers, `EAGAIN` when nothing
    /// fits (or a write of at most `PIPE_BUF` bytes does not fit whole).
    pub fn write(&self, data: &[u8]) -> SysResult<usize> {
        let n = {
            let mut st = lock(&self.state);
            if st.readers == 0 {
                return Err(Errno::EPIPE);
            }
            if data.is_empty() {
                return Ok(0);
            }
            let room = PIPE_CAPACITY - st.buf.len().min(PIPE_CAPACITY);
            if room == 0 || (data.len() <= PIPE_BUF && room < data.len()) {
                return Err(Errno::EAGAIN);
            }
            let n = room.min(data.len());
            st.buf.extend(&data[..n]);
            n
        };
        self.shared.notifier.notify(self.id);
        Ok(n)
    }

    /// Readiness as seen from `end`.
    pub fn poll(&self, end: End) -> Readiness {
        let st = lock(&self.state);
        match end {
            End::Read => Readiness {
                readable: !st.buf.is_empty(),
                writable: false,
                hangup: st.writers == 0,
                error: false,
            },
            End::Write => Readiness {
                readable: false,
                writable: st.readers == 0 || PIPE_CAPACITY - st.buf.len() >= PIPE_BUF,
                hangup: false,
                error: st.readers == 0,
            },
        }
    }

    /// Bytes queued (`FIONREAD`).
    pub fn available(&self) -> usize {
        lock(&self.state).buf.len()
    }
}
