//! A per-thread page buffer, so page copies on the fault and reclaim paths do
//! not allocate each time.

use std::cell::RefCell;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with a zero-initialised-once buffer of `len` bytes (contents
/// unspecified). Re-entrant use on one thread (a reclaim raised while the
/// buffer is lent) falls back to a fresh allocation.
pub(crate) fn with_page<R>(len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < len {
                buf.resize(len, 0);
            }
            f(&mut buf[..len])
        }
        Err(_) => f(&mut vec![0; len]),
    })
}
