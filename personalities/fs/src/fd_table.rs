//! Per-process descriptor tables.
//!
//! A table maps small integers to shared open file descriptions plus the
//! per-descriptor close-on-exec flag. `Clone` (for `fork`) shares the
//! descriptions, as POSIX requires.

use std::sync::Arc;

use crate::open_file::OpenFile;
use crate::{Errno, SysResult};

/// Default descriptor limit (`RLIMIT_NOFILE`).
pub const DEFAULT_FD_LIMIT: usize = 1024;

#[derive(Clone, Debug)]
struct Slot {
    file: Arc<OpenFile>,
    cloexec: bool,
}

/// One process's descriptors.
#[derive(Clone, Debug)]
pub struct FdTable {
    slots: Vec<Option<Slot>>,
    limit: usize,
}

impl Default for FdTable {
    fn default() -> Self {
        Self::new()
    }
}

fn index(fd: i32) -> Option<usize> {
    usize::try_from(fd).ok()
}

impl FdTable {
    /// An empty table with the default limit.
    pub fn new() -> Self {
        FdTable {
            slots: Vec::new(),
            limit: DEFAULT_FD_LIMIT,
        }
    }

    fn slot(&self, fd: i32) -> SysResult<&Slot> {
        index(fd)
            .and_then(|i| self.slots.get(i))
            .and_then(Option::as_ref)
            .ok_or(Errno::EBADF)
    }

    fn slot_mut(&mut self, fd: i32) -> SysResult<&mut Slot> {
        index(fd)
            .and_then(|i| self.slots.get_mut(i))
            .and_then(Option::as_mut)
            .ok_or(Errno::EBADF)
    }

    /// The description behind `fd`; `EBADF` if none.
    pub fn get(&self, fd: i32) -> SysResult<Arc<OpenFile>> {
        self.slot(fd).map(|s| Arc::clone(&s.file))
    }

    /// Installs at the lowest free descriptor; `EMFILE` past the limit.
    pub fn insert(&mut self, f: Arc<OpenFile>, cloexec: bool) -> SysResult<i32> {
        self.insert_from(0, f, cloexec)
    }

    /// Installs at the lowest free descriptor `>= min` (`F_DUPFD`);
    /// `EINVAL` if `min` is negative or not below the limit, `EMFILE` when
    /// none is free.
    pub fn insert_from(&mut self, min: i32, f: Arc<OpenFile>, cloexec: bool) -> SysResult<i32> {
        let min = index(min)
            .filter(|&m| m < self.limit)
            .ok_or(Errno::EINVAL)?;
        let free = (min..self.limit)
            .find(|&i| !matches!(self.slots.get(i), Some(Some(_))))
            .ok_or(Errno::EMFILE)?;
        if free >= self.slots.len() {
            self.slots.resize(free + 1, None);
        }
        self.slots[free] = Some(Slot { file: f, cloexec });
        i32::try_from(free).map_err(|_| Errno::EMFILE)
    }

    /// Installs at exactly `fd` (`dup2`/`dup3`), returning what was there
    /// (the caller closes it: release locks, drop). `EBADF` if `fd` is
    /// negative or not below the limit.
    pub fn insert_at(
        &mut self,
        fd: i32,
        f: Arc<OpenFile>,
        cloexec: bool,
    ) -> SysResult<Option<Arc<OpenFile>>> {
        let i = index(fd).filter(|&i| i < self.limit).ok_or(Errno::EBADF)?;
        if i >= self.slots.len() {
            self.slots.resize(i + 1, None);
        }
        let old = self.slots[i].replace(Slot { file: f, cloexec });
        Ok(old.map(|s| s.file))
    }

    /// Removes `fd`; `EBADF` if not open. The caller releases the
    /// process's record locks on the returned file, then drops it.
    pub fn close(&mut self, fd: i32) -> SysResult<Arc<OpenFile>> {
        let slot = index(fd)
            .and_then(|i| self.slots.get_mut(i))
            .and_then(Option::take)
            .ok_or(Errno::EBADF)?;
        while matches!(self.slots.last(), Some(None)) {
            self.slots.pop();
        }
        Ok(slot.file)
    }

    /// `FD_CLOEXEC` of `fd`.
    pub fn cloexec(&self, fd: i32) -> SysResult<bool> {
        self.slot(fd).map(|s| s.cloexec)
    }

    /// Sets `FD_CLOEXEC` of `fd`.
    pub fn set_cloexec(&mut self, fd: i32, on: bool) -> SysResult<()> {
        self.slot_mut(fd).map(|s| s.cloexec = on)
    }

    /// Closes every close-on-exec descriptor (at `execve`); returns them.
    pub fn close_on_exec(&mut self) -> Vec<Arc<OpenFile>> {
        let mut out = Vec::new();
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|s| s.cloexec) {
                if let Some(s) = slot.take() {
                    out.push(s.file);
                }
            }
        }
        while matches!(self.slots.last(), Some(None)) {
            self.slots.pop();
        }
        out
    }

    /// Closes everything (at exit); returns the files.
    pub fn close_all(&mut self) -> Vec<Arc<OpenFile>> {
        self.slots.drain(..).flatten().map(|s| s.file).collect()
    }

    /// Open descriptors in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &Arc<OpenFile>)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i32::try_from(i).ok()?, &s.as_ref()?.file)))
    }

    /// Number of open descriptors.
    pub fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// Whether no descriptor is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sets the limit (`RLIMIT_NOFILE`); open descriptors above it stay.
    pub fn set_limit(&mut self, n: usize) {
        self.limit = n.min(i32::MAX as usize);
    }

    /// The limit.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests_support::NullNotifier;
    use crate::{OpenFlags, Vfs};

    fn file() -> Arc<OpenFile> {
        let v = Vfs::new(Arc::new(NullNotifier));
        v.open(b"/", b"/dev/null", OpenFlags::read_write(), 0, 0)
            .unwrap()
    }

    #[test]
    fn lowest_free_and_close() {
        let mut t = FdTable::new();
        let f = file();
        assert_eq!(t.insert(f.clone(), false).unwrap(), 0);
        assert_eq!(t.insert(f.clone(), true).unwrap(), 1);
        assert_eq!(t.insert(f.clone(), false).unwrap(), 2);
        t.close(1).unwrap();
        assert_eq!(t.close(1).unwrap_err(), Errno::EBADF);
        assert_eq!(t.insert(f.clone(), false).unwrap(), 1);
        assert_eq!(t.get(7).unwrap_err(), Errno::EBADF);
        assert_eq!(t.get(-1).unwrap_err(), Errno::EBADF);
        assert!(Arc::ptr_eq(&t.get(2).unwrap(), &f));
        assert_eq!(t.len(), 3);
        assert_eq!(
            t.iter().map(|(fd, _)| fd).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
    }

    #[test]
    fn dup2_dupfd_and_limits() {
        let mut t = FdTable::new();
        let (a, b) = (file(), file());
        t.insert(a.clone(), false).unwrap();
        assert!(t.insert_at(10, b.clone(), true).unwrap().is_none());
        assert!(Arc::ptr_eq(
            &t.insert_at(10, a.clone(), false).unwrap().unwrap(),
            &b
        ));
        assert_eq!(t.insert_from(5, b.clone(), false).unwrap(), 5);
        assert_eq!(t.insert_from(10, b.clone(), false).unwrap(), 11);
        assert_eq!(
            t.insert_from(-1, b.clone(), false).unwrap_err(),
            Errno::EINVAL
        );
        assert_eq!(t.insert_at(-3, b.clone(), false).unwrap_err(), Errno::EBADF);
        assert_eq!(
            t.insert_at(1024, b.clone(), false).unwrap_err(),
            Errno::EBADF
        );
        assert_eq!(
            t.insert_from(1024, b.clone(), false).unwrap_err(),
            Errno::EINVAL
        );
        t.set_limit(12);
        assert_eq!(t.limit(), 12);
        for _ in 0..8 {
            t.insert(b.clone(), false).unwrap();
        }
        assert_eq!(t.insert(b.clone(), false).unwrap_err(), Errno::EMFILE);
    }

    #[test]
    fn cloexec_exec_fork_exit() {
        let mut t = FdTable::new();
        let f = file();
        t.insert(f.clone(), false).unwrap();
        t.insert(f.clone(), true).unwrap();
        assert!(t.cloexec(1).unwrap());
        t.set_cloexec(0, true).unwrap();
        t.set_cloexec(1, false).unwrap();
        assert_eq!(t.set_cloexec(5, true).unwrap_err(), Errno::EBADF);
        assert_eq!(t.cloexec(5).unwrap_err(), Errno::EBADF);
        let child = t.clone();
        assert!(Arc::ptr_eq(&child.get(0).unwrap(), &t.get(0).unwrap()));
        assert_eq!(t.close_on_exec().len(), 1);
        assert_eq!(t.get(0).unwrap_err(), Errno::EBADF);
        assert!(t.get(1).is_ok());
        assert_eq!(t.close_all().len(), 1);
        assert!(t.is_empty());
        assert_eq!(child.len(), 2);
    }
}
