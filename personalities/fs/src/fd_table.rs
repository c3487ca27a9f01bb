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
