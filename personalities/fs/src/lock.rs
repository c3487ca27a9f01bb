//! POSIX record locks (`fcntl` `F_SETLK`/`F_GETLK`), per file, owned by pid.
//!
//! A process's locks on a file never conflict with each other: a new lock
//! replaces whatever the same pid held on that range (splitting or
//! merging ranges as Linux does); locks of different pids conflict when
//! they overlap and at least one is a write lock.

use std::collections::HashMap;

use crate::types::{LockKind, LockRange};
use crate::{Errno, SysResult};

/// One held lock; `end` is exclusive, `u64::MAX` meaning "to end of file".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Held {
    write: bool,
    start: u64,
    end: u64,
    pid: u32,
}

impl Held {
    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start < end && start < self.end
    }

    fn to_range(self) -> LockRange {
        LockRange {
            kind: if self.write {
                LockKind::Write
            } else {
                LockKind::Read
            },
            start: self.start,
            len: if self.end == u64::MAX {
                0
            } else {
                self.end - self.start
            },
            pid: self.pid,
        }
    }
}

/// Locks of every file of one Vfs, keyed by file identity.
#[derive(Debug, Default)]
pub(crate) struct LockTable {
    files: HashMap<u64, Vec<Held>>,
}

/// The exclusive end of a request; `EINVAL` when it overflows.
fn end_of(range: &LockRange) -> SysResult<u64> {
    if range.len == 0 {
        Ok(u64::MAX)
    } else {
        range.start.checked_add(range.len).ok_or(Errno::EINVAL)
    }
}

impl LockTable {
    /// Applies `F_SETLK`. Returns whether any lock was released or weakened
    /// (waiters on the file should be woken). `EAGAIN` on a conflict.
    pub fn set(&mut self, file: u64, req: LockRange) -> SysResult<bool> {
        let end = end_of(&req)?;
        let list = self.files.entry(file).or_default();
        let write = match req.kind {
            LockKind::Unlock => {
                let changed = carve(list, req.pid, req.start, end);
                if list.is_empty() {
                    self.files.remove(&file);
                }
                return Ok(changed);
            }
            LockKind::Read => false,
            LockKind::Write => true,
        };
        let conflict = list
            .iter()
            .any(|h| h.pid != req.pid && h.overlaps(req.start, end) && (write || h.write));
        if conflict {
            if list.is_empty() {
                self.files.remove(&file);
            }
            return Err(Errno::EAGAIN);
        }
        let changed = carve(list, req.pid, req.start, end);
        let mut new = Held {
            write,
            start: req.start,
            end,
            pid: req.pid,
        };
        // Merge with touching locks of the same pid and kind, as Linux does.
        list.retain(|h| {
            let touches = h.pid == new.pid
                && h.write == new.write
                && h.start <= new.end
                && new.start <= h.end;
            if touches {
                new.start = new.start.min(h.start);
                new.end = new.end.max(h.end);
            }
            !touches
        });
        let at = list.partition_point(|h| h.start < new.start);
        list.insert(at, new);
        Ok(changed)
    }

    /// Applies `F_GETLK`: the first lock of another pid that would block
    /// `req`, if any. `EINVAL` for an `Unlock` request.
    pub fn get(&self, file: u64, req: LockRange) -> SysResult<Option<LockRange>> {
        let end = end_of(&req)?;
        let write = match req.kind {
            LockKind::Unlock => return Err(Errno::EINVAL),
            LockKind::Read => false,
            LockKind::Write => true,
        };
        Ok(self.files.get(&file).and_then(|list| {
            list.iter()
                .find(|h| h.pid != req.pid && h.overlaps(req.start, end) && (write || h.write))
                .map(|h| h.to_range())
        }))
    }

    /// Drops every lock `pid` holds on `file`; returns whether it held any.
    pub fn release_pid(&mut self, file: u64, pid: u32) -> bool {
        let Some(list) = self.files.get_mut(&file) else {
            return false;
        };
        let before = list.len();
        list.retain(|h| h.pid != pid);
        let changed = list.len() != before;
        if list.is_empty() {
            self.files.remove(&file);
        }
        changed
    }

    /// Locks held on `file`, in start order (for tests and diagnostics).
    #[cfg(test)]
    pub fn held(&self, file: u64) -> Vec<LockRange> {
        self.files
            .get(&file)
            .map(|l| l.iter().map(|h| h.to_range()).collect())
            .unwrap_or_default()
    }
}

/// Removes `[start, end)` from `pid`'s locks in `list`, splitting ranges that
/// straddle it. Returns whether anything was removed.
fn carve(list: &mut Vec<Held>, pid: u32, start: u64, end: u64) -> bool {
    let mut changed = false;
    let mut out = Vec::with_capacity(list.len() + 1);
    for h in list.drain(..) {
        if h.pid != pid || !h.overlaps(start, end) {
            out.push(h);
            continue;
        }
        changed = true;
        if h.start < start {
            out.push(Held { end: start, ..h });
        }
        if end < h.end {
            out.push(Held { start: end, ..h });
        }
    }
    out.sort_by_key(|h| h.start);
    *list = out;
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(kind: LockKind, start: u64, len: u64, pid: u32) -> LockRange {
        LockRange {
            kind,
            start,
            len,
            pid,
        }
    }

    #[test]
    fn readers_share_writers_exclude() {
        let mut t = LockTable::default();
        t.set(1, r(LockKind::Read, 0, 10, 1)).unwrap();
        t.set(1, r(LockKind::Read, 5, 10, 2)).unwrap();
        assert_eq!(t.set(1, r(LockKind::Write, 8, 1, 3)), Err(Errno::EAGAIN));
        assert_eq!(
            t.get(1, r(LockKind::Write, 8, 1, 3)).unwrap(),
            Some(r(LockKind::Read, 0, 10, 1))
        );
        assert_eq!(t.get(1, r(LockKind::Read, 8, 1, 3)).unwrap(), None);
        // A different file is independent.
        t.set(2, r(LockKind::Write, 0, 0, 3)).unwrap();
        assert_eq!(t.set(2, r(LockKind::Read, 100, 1, 1)), Err(Errno::EAGAIN));
        assert_eq!(t.get(1, r(LockKind::Unlock, 0, 0, 1)), Err(Errno::EINVAL));
    }

    #[test]
    fn own_locks_split_merge_and_upgrade() {
        let mut t = LockTable::default();
        t.set(1, r(LockKind::Write, 0, 100, 1)).unwrap();
        assert!(t.set(1, r(LockKind::Unlock, 40, 20, 1)).unwrap());
        assert_eq!(
            t.held(1),
            vec![r(LockKind::Write, 0, 40, 1), r(LockKind::Write, 60, 40, 1)]
        );
        assert!(!t.set(1, r(LockKind::Write, 40, 20, 1)).unwrap());
        assert_eq!(t.held(1), vec![r(LockKind::Write, 0, 100, 1)]);
        // Downgrade the middle.
        assert!(t.set(1, r(LockKind::Read, 10, 10, 1)).unwrap());
        assert_eq!(t.held(1).len(), 3);
        t.set(1, r(LockKind::Read, 10, 10, 2)).unwrap();
        assert!(t.release_pid(1, 1));
        assert_eq!(t.held(1), vec![r(LockKind::Read, 10, 10, 2)]);
        assert!(!t.release_pid(1, 1));
        assert!(t.release_pid(1, 2));
        assert!(t.files.is_empty());
    }

    #[test]
    fn to_eof_and_overflow() {
        let mut t = LockTable::default();
        t.set(1, r(LockKind::Write, 50, 0, 1)).unwrap();
        assert_eq!(
            t.set(1, r(LockKind::Read, 1 << 40, 1, 2)),
            Err(Errno::EAGAIN)
        );
        assert!(t.set(1, r(LockKind::Read, 0, 50, 2)).is_ok());
        assert_eq!(
            t.set(1, r(LockKind::Read, u64::MAX, 2, 2)),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            t.get(1, r(LockKind::Read, 60, 1, 2)).unwrap(),
            Some(r(LockKind::Write, 50, 0, 1))
        );
    }
}
