//! The console: the guest's stdio passed through to host streams.
//!
//! Input is read by a background host thread into a buffer (at most
//! [`INPUT_BUFFER`] bytes ahead of the guest), so a guest read never blocks
//! the host: an empty buffer gives `EAGAIN` and the notifier fires when data
//! or end of file arrives. Output goes straight to the host writer, flushed
//! on every write.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::{Arc, Condvar, Mutex, Weak};

use crate::shared::{lock, Shared};
use crate::types::Readiness;
use crate::{Errno, Notifier, SysResult};

/// How far the reader thread reads ahead of the guest, in bytes.
pub const INPUT_BUFFER: usize = 1 << 20;

#[derive(Default)]
struct InputState {
    buf: VecDeque<u8>,
    eof: bool,
}

struct Input {
    state: Mutex<InputState>,
    /// Signalled when the guest consumed input (the reader may continue).
    drained: Condvar,
}

/// One console: optional input and output streams.
pub(crate) struct Console {
    /// Notifier key.
    pub id: u64,
    input: Option<Arc<Input>>,
    output: Option<Mutex<Box<dyn Write + Send>>>,
    /// Whether it is a terminal (`isatty`, the tty ioctls): a console over
    /// the host's terminal is; one over a pipe, a file or a log is not.
    pub terminal: bool,
}

impl Console {
    /// A console over the given host streams; starts the reader thread.
    pub fn new(
        shared: &Arc<Shared>,
        input: Option<Box<dyn Read + Send>>,
        output: Option<Box<dyn Write + Send>>,
        terminal: bool,
    ) -> Arc<Console> {
        let id = shared.next_id();
        let input = input.map(|reader| {
            let state = Arc::new(Input {
                state: Mutex::new(InputState::default()),
                drained: Condvar::new(),
            });
            let weak = Arc::downgrade(&state);
            let notifier = Arc::clone(&shared.notifier);
            let spawned = std::thread::Builder::new()
                .name("spin-fs-console".into())
                .spawn(move || read_loop(reader, weak, notifier, id));
            if spawned.is_err() {
                // No thread, no input: the guest sees end of file.
                lock(&state.state).eof = true;
            }
            state
        });
        Arc::new(Console {
            id,
            input,
            output: output.map(Mutex::new),
            terminal,
        })
    }

    /// Reads buffered input: `Ok(0)` at end of file (or with no input
    /// stream), `EAGAIN` while waiting for the host.
    pub fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
        let Some(input) = &self.input else {
            return Ok(0);
        };
        if buf.is_empty() {
            return Ok(0);
        }
        let mut st = lock(&input.state);
        if st.buf.is_empty() {
            return if st.eof { Ok(0) } else { Err(Errno::EAGAIN) };
        }
        let n = buf.len().min(st.buf.len());
        for (dst, src) in buf.iter_mut().zip(st.buf.drain(..n)) {
            *dst = src;
        }
        drop(st);
        input.drained.notify_all();
        Ok(n)
    }

    /// Writes and flushes; a console without output swallows the bytes.
    pub fn write(&self, data: &[u8]) -> SysResult<usize> {
        let Some(out) = &self.output else {
            return Ok(data.len());
        };
        let mut out = lock(out);
        out.write_all(data)
            .and_then(|()| out.flush())
            .map_err(|e| Errno::from_io(&e))?;
        Ok(data.len())
    }

    pub fn poll(&self) -> Readiness {
        let readable = match &self.input {
            None => true,
            Some(input) => {
                let st = lock(&input.state);
                !st.buf.is_empty() || st.eof
            }
        };
        Readiness {
            readable,
            writable: true,
            hangup: false,
            error: false,
        }
    }
}

/// The reader thread: moves host input into the buffer until end of file,
/// an error, or the console is dropped.
fn read_loop(
    mut reader: Box<dyn Read + Send>,
    input: Weak<Input>,
    notifier: Arc<dyn Notifier>,
    id: u64,
) {
    let mut chunk = vec![0u8; 4096];
    loop {
        let result = reader.read(&mut chunk);
        let Some(state) = input.upgrade() else { return };
        let n = match result {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => 0,
        };
        let full = {
            let mut st = lock(&state.state);
            if n == 0 {
                st.eof = true;
            } else {
                st.buf.extend(&chunk[..n]);
            }
            st.buf.len() >= INPUT_BUFFER
        };
        notifier.notify(id);
        if n == 0 {
            return;
        }
        if full {
            // Wait for the guest to catch up before reading more; give up
            // when the console is gone (only this thread still holds it).
            let mut st = lock(&state.state);
            while st.buf.len() >= INPUT_BUFFER {
                if Arc::strong_count(&state) == 1 {
                    return;
                }
                st = match state
                    .drained
                    .wait_timeout(st, std::time::Duration::from_millis(100))
                {
                    Ok((g, _)) => g,
                    Err(p) => p.into_inner().0,
                };
            }
        }
    }
}
