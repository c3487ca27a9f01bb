//! Property test: arbitrary guest input (paths with NULs, dots, slashes,
//! invalid UTF-8, huge lengths; absurd offsets, sizes and lock ranges)
//! never panics the host; it only ever produces an errno.

use std::sync::Arc;

use proptest::prelude::*;
use spin_fs::{FdTable, LockKind, LockRange, Notifier, OpenFlags, Vfs, Whence};

struct Quiet;
impl Notifier for Quiet {
    fn notify(&self, _key: u64) {}
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => prop::collection::vec(prop::sample::select(vec![b'a', b'b', b'/', b'.', 0u8, 0xff]), 0..24),
        1 => (0usize..5000, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
        1 => prop::sample::select(vec![
            b"/dev/tty".to_vec(), b"/dev/urandom".to_vec(), b"/proc/self/fd/0".to_vec(),
            b"/tmp/".to_vec(), b"/m/".to_vec(), b"/".to_vec(), b"..".to_vec(),
        ]),
    ]
}

fn flags() -> impl Strategy<Value = OpenFlags> {
    prop::collection::vec(any::<bool>(), 10).prop_map(|b| OpenFlags {
        read: b[0],
        write: b[1],
        create: b[2],
        excl: b[3],
        trunc: b[4],
        append: b[5],
        nonblock: b[6],
        directory: b[7],
        nofollow: b[8],
        path_only: b[9],
    })
}

#[derive(Debug, Clone)]
enum Call {
    Open(Vec<u8>, Vec<u8>, OpenFlags, u32),
    Stat(Vec<u8>, bool),
    Access(Vec<u8>, u32),
    Readlink(Vec<u8>),
    Symlink(Vec<u8>, Vec<u8>),
    Link(Vec<u8>, Vec<u8>),
    Unlink(Vec<u8>),
    Mkdir(Vec<u8>, u32),
    Rmdir(Vec<u8>),
    Rename(Vec<u8>, Vec<u8>),
    Truncate(Vec<u8>, u64),
    Chmod(Vec<u8>, u32),
    Chdir(Vec<u8>),
    FileOp(usize, u8, i64, u64, usize),
    Dup(usize, i32),
}

fn call() -> impl Strategy<Value = Call> {
    prop_oneof![
        4 => (bytes(), bytes(), flags(), any::<u32>()).prop_map(|(c, p, f, m)| Call::Open(c, p, f, m)),
        1 => (bytes(), any::<bool>()).prop_map(|(p, f)| Call::Stat(p, f)),
        1 => (bytes(), any::<u32>()).prop_map(|(p, m)| Call::Access(p, m)),
        1 => bytes().prop_map(Call::Readlink),
        1 => (bytes(), bytes()).prop_map(|(a, b)| Call::Symlink(a, b)),
        1 => (bytes(), bytes()).prop_map(|(a, b)| Call::Link(a, b)),
        1 => bytes().prop_map(Call::Unlink),
        1 => (bytes(), any::<u32>()).prop_map(|(p, m)| Call::Mkdir(p, m)),
        1 => bytes().prop_map(Call::Rmdir),
        1 => (bytes(), bytes()).prop_map(|(a, b)| Call::Rename(a, b)),
        1 => (bytes(), any::<u64>()).prop_map(|(p, n)| Call::Truncate(p, n)),
        1 => (bytes(), any::<u32>()).prop_map(|(p, m)| Call::Chmod(p, m)),
        1 => bytes().prop_map(Call::Chdir),
        6 => (any::<usize>(), any::<u8>(), any::<i64>(), any::<u64>(), 0usize..70_000)
            .prop_map(|(i, k, a, b, n)| Call::FileOp(i, k, a, b, n)),
        1 => (any::<usize>(), any::<i32>()).prop_map(|(i, fd)| Call::Dup(i, fd)),
    ]
}

proptest! {
    #[test]
    fn arbitrary_calls_never_panic(calls in prop::collection::vec(call(), 1..60)) {
        let host = tempfile::tempdir().unwrap();
        std::fs::write(host.path().join("f"), b"host file").unwrap();
        let v = Vfs::new(Arc::new(Quiet));
        v.mount_host(b"/m", host.path(), true).unwrap();
        v.set_space_limit(1 << 20);
        let mut cwd = b"/".to_vec();
        let (r, w) = v.pipe();
        let mut files = vec![r, w, v.console(None, None)];
        let mut table = FdTable::new();
        for c in calls {
            match c {
                Call::Open(c, p, f, m) => {
                    let c = if c.first() == Some(&b'/') { c } else { cwd.clone() };
                    if let Ok(f) = v.open(&c, &p, f, m, 0o022) {
                        files.push(f);
                    }
                }
                Call::Stat(p, f) => { let _ = v.stat(&cwd, &p, f); }
                Call::Access(p, m) => { let _ = v.access(&cwd, &p, m); }
                Call::Readlink(p) => { let _ = v.readlink(&cwd, &p); }
                Call::Symlink(t, p) => { let _ = v.symlink(&t, &cwd, &p); }
                Call::Link(a, b) => { let _ = v.link(&cwd, &a, &b); }
                Call::Unlink(p) => { let _ = v.unlink(&cwd, &p); }
                Call::Mkdir(p, m) => { let _ = v.mkdir(&cwd, &p, m, 0o022); }
                Call::Rmdir(p) => { let _ = v.rmdir(&cwd, &p); }
                Call::Rename(a, b) => { let _ = v.rename(&cwd, &a, &b); }
                Call::Truncate(p, n) => { let _ = v.truncate(&cwd, &p, n % (1 << 22)); let _ = v.truncate(&cwd, &p, n); }
                Call::Chmod(p, m) => { let _ = v.chmod(&cwd, &p, m); }
                Call::Chdir(p) => {
                    if let Ok(d) = v.resolve_dir(&cwd, &p) {
                        cwd = d;
                    }
                }
                Call::FileOp(i, kind, a, b, n) => {
                    let f = &files[i % files.len()];
                    let mut buf = vec![0u8; n];
                    let _ = match kind % 16 {
                        0 => f.read(&mut buf).map(drop),
                        1 => f.write(&buf).map(drop),
                        2 => f.pread(&mut buf, b).map(drop),
                        3 => f.pwrite(&buf[..n.min(64)], b % (1 << 21)).map(drop),
                        4 => f.seek(a, [Whence::Set, Whence::Cur, Whence::End][(b % 3) as usize]).map(drop),
                        5 => f.truncate(b % (1 << 21)).and_then(|_| f.truncate(b)),
                        6 => f.getdents(n % 5).map(|e| f.unread(e.len() / 2)),
                        7 => f.stat().map(drop),
                        8 => {
                            let kind = [LockKind::Read, LockKind::Write, LockKind::Unlock][(b % 3) as usize];
                            f.set_lock(LockRange { kind, start: a as u64, len: b, pid: (n % 3) as u32 })
                        }
                        9 => f.get_lock(LockRange { kind: LockKind::Write, start: b, len: a as u64, pid: 1 }).map(drop),
                        10 => { f.release_locks((n % 3) as u32); Ok(()) }
                        11 => f.fsync(),
                        12 => { let _ = (f.poll(), f.flags(), f.path(), f.is_dir(), f.is_tty(), f.wait_key()); Ok(()) }
                        13 => {
                            if let Some(p) = f.backing() {
                                let _ = p.read_at(b, &mut buf);
                                let _ = p.write_at(b, &buf[..n.min(128)]);
                                let _ = p.size();
                            }
                            Ok(())
                        }
                        14 => { f.set_nonblock(a & 1 == 0); f.set_append(a & 2 == 0); Ok(()) }
                        _ => { v.random_bytes(&mut buf[..n.min(64)]); Ok(()) }
                    };
                }
                Call::Dup(i, fd) => {
                    let f = files[i % files.len()].clone();
                    let _ = table.insert_at(fd, f.clone(), fd & 1 == 0);
                    let _ = table.insert_from(fd, f.clone(), false);
                    let _ = table.insert(f, true);
                    let _ = table.close(fd.wrapping_add(1));
                    let _ = table.get(fd);
                    if fd % 7 == 0 {
                        table.close_on_exec();
                    }
                }
            }
        }
        drop(files);
        table.close_all();
    }
}
