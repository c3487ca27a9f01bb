//! Objects a personality implements itself (sockets): spin-fs gives them an
//! open file description — a descriptor number, `dup`/`fork` sharing, a key
//! for the [`crate::Notifier`], and the generic calls (`read`, `write`,
//! `poll`, `fstat`, `close`) — while the personality's own calls (`bind`,
//! `sendto`, …) reach the object through [`SpecialFile::as_any`].
//!
//! Closing is dropping: the object is dropped with the last description
//! that refers to it.

use std::any::Any;
use std::sync::Arc;

use crate::types::Readiness;
use crate::SysResult;

/// An object behind a description that spin-fs does not implement.
pub trait SpecialFile: Send + Sync {
    /// Reads like `read(2)`; `EAGAIN` when it would wait (the caller parks
    /// on the description's wait key), `Ok(0)` at end of stream.
    fn read(&self, buf: &mut [u8]) -> SysResult<usize>;
    /// Writes like `write(2)`; `EAGAIN` when it would wait; `EPIPE` when
    /// the stream is shut for writing (the caller raises `SIGPIPE`).
    fn write(&self, data: &[u8]) -> SysResult<usize>;
    /// What `poll` reports now.
    fn poll(&self) -> Readiness;
    /// The file type and permission bits `fstat` reports (`S_IFSOCK | 0o777`).
    fn mode(&self) -> u32;
    /// Bytes a read could return now (`FIONREAD`).
    fn available(&self) -> usize {
        0
    }
    /// The object itself, for the personality's own calls.
    fn as_any(&self) -> &dyn Any;
    /// The object itself, shared (`Arc::downcast` it to the concrete type).
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    use super::*;
    use crate::tests_support::NullNotifier;
    use crate::{Errno, OpenFlags, Vfs, S_IFMT};

    const S_IFSOCK: u32 = 0o140000;

    #[derive(Default)]
    struct Echo {
        data: Mutex<Vec<u8>>,
        dropped: Arc<AtomicBool>,
    }

    impl SpecialFile for Echo {
        fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
            let mut d = self.data.lock().unwrap();
            if d.is_empty() {
                return Err(Errno::EAGAIN);
            }
            let n = buf.len().min(d.len());
            buf[..n].copy_from_slice(&d[..n]);
            d.drain(..n);
            Ok(n)
        }
        fn write(&self, data: &[u8]) -> SysResult<usize> {
            self.data.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn poll(&self) -> Readiness {
            Readiness {
                readable: !self.data.lock().unwrap().is_empty(),
                writable: true,
                ..Readiness::default()
            }
        }
        fn mode(&self) -> u32 {
            S_IFSOCK | 0o777
        }
        fn available(&self) -> usize {
            self.data.lock().unwrap().len()
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
        fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
            self
        }
    }

    impl Drop for Echo {
        fn drop(&mut self) {
            self.dropped.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_special_object_behaves_as_a_description_and_closes_with_the_last() {
        let vfs = Vfs::new(Arc::new(NullNotifier));
        let dropped = Arc::new(AtomicBool::new(false));
        let echo = Echo {
            dropped: dropped.clone(),
            data: Mutex::default(),
        };
        let f = vfs.open_special(Arc::new(echo), OpenFlags::read_write());
        let g = vfs.open_special(Arc::new(Echo::default()), OpenFlags::read_write());
        assert_ne!(f.wait_key(), g.wait_key(), "each object has its own key");
        let mut buf = [0u8; 8];
        assert_eq!(f.read(&mut buf), Err(Errno::EAGAIN));
        assert!(!f.poll().readable);
        assert_eq!(f.write(b"hello"), Ok(5));
        assert!(f.poll().readable);
        assert_eq!(f.available(), 5);
        assert_eq!(f.read(&mut buf[..3]), Ok(3));
        assert_eq!(&buf[..3], b"hel");
        assert_eq!(f.stat().unwrap().mode & S_IFMT, S_IFSOCK);
        assert_eq!(f.pread(&mut buf, 0), Err(Errno::ESPIPE));
        assert_eq!(f.seek(0, crate::Whence::Cur), Err(Errno::ESPIPE));
        assert!(f
            .special()
            .unwrap()
            .as_any()
            .downcast_ref::<Echo>()
            .is_some());
        let dup = Arc::clone(&f);
        drop(f);
        assert!(!dropped.load(Ordering::SeqCst), "a dup keeps it open");
        drop(dup);
        assert!(dropped.load(Ordering::SeqCst), "the last close drops it");
    }
}
