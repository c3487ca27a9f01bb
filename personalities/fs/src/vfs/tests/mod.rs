//! Unit tests of the Vfs: names and paths in `namespace`, open objects
//! (devices, console, pipes, locks, listings, /proc) in `objects`.

use std::sync::Arc;

mod namespace;
mod objects;

use crate::tests_support::NullNotifier;
use crate::types::*;
use crate::{OpenFile, Vfs};

pub(super) fn vfs() -> Arc<Vfs> {
    Vfs::new(Arc::new(NullNotifier))
}

pub(super) fn rw_create() -> OpenFlags {
    OpenFlags {
        read: true,
        write: true,
        create: true,
        ..Default::default()
    }
}

pub(super) fn put(v: &Vfs, path: &[u8], data: &[u8]) {
    let f = v
        .open(
            b"/",
            path,
            OpenFlags {
                trunc: true,
                ..rw_create()
            },
            0o644,
            0o022,
        )
        .unwrap();
    assert_eq!(f.write(data).unwrap(), data.len());
}

pub(super) fn get(v: &Vfs, path: &[u8]) -> Vec<u8> {
    let f = v.open(b"/", path, OpenFlags::read_only(), 0, 0).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 7];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

pub(super) fn names(f: &OpenFile) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let batch = f.getdents(3).unwrap();
        if batch.is_empty() {
            return out;
        }
        out.extend(batch.into_iter().map(|e| e.name));
    }
}
