//! Devices, console, pipes, record locks, listings, space, /proc/self.

use std::sync::Arc;

use super::*;
use crate::tests_support::{NullNotifier, Recorder};
use crate::types::*;
use crate::{Errno, LockKind, LockRange, OpenFile, ProcResolver, Vfs};

#[test]
fn devices() {
    let v = vfs();
    let rw = OpenFlags::read_write();
    let null = v.open(b"/", b"/dev/null", rw, 0, 0).unwrap();
    let mut buf = [7u8; 16];
    assert_eq!(null.read(&mut buf).unwrap(), 0);
    assert_eq!(null.write(b"gone").unwrap(), 4);
    assert_eq!(null.seek(10, Whence::Set).unwrap(), 0);
    let zero = v.open(b"/", b"/dev/zero", rw, 0, 0).unwrap();
    assert_eq!(zero.read(&mut buf).unwrap(), 16);
    assert_eq!(buf, [0; 16]);
    let full = v.open(b"/", b"/dev/full", rw, 0, 0).unwrap();
    assert_eq!(full.write(b"x"), Err(Errno::ENOSPC));
    assert_eq!(full.read(&mut buf).unwrap(), 16);
    assert!(null.backing().is_none());
    // The generator is seeded: same seed, same bytes.
    v.set_urandom_seed(42);
    let ur = v
        .open(b"/", b"/dev/urandom", OpenFlags::read_only(), 0, 0)
        .unwrap();
    let mut a = [0u8; 32];
    ur.read(&mut a).unwrap();
    v.set_urandom_seed(42);
    let mut b = [0u8; 32];
    v.random_bytes(&mut b);
    assert_eq!(a, b);
    assert_ne!(a, [0; 32]);
    // No console yet: /dev/tty has no device behind it.
    assert_eq!(
        v.open(b"/", b"/dev/tty", rw, 0, 0).unwrap_err(),
        Errno::ENXIO
    );
}

#[test]
fn console_and_tty() {
    let v = Vfs::new(Arc::new(NullNotifier));
    let out = SharedBuf::default();
    let input: Box<dyn std::io::Read + Send> = Box::new(&b"typed\n"[..]);
    let con = v.console(Some(input), Some(Box::new(out.clone())));
    assert!(con.is_tty());
    assert_eq!(con.write(b"hi ").unwrap(), 3);
    assert_eq!(con.pwrite(b"x", 0), Err(Errno::ESPIPE));
    assert_eq!(con.seek(0, Whence::Cur), Err(Errno::ESPIPE));
    let tty = v
        .open(b"/", b"/dev/tty", OpenFlags::read_write(), 0, 0)
        .unwrap();
    assert!(tty.is_tty());
    tty.write(b"there").unwrap();
    assert_eq!(out.0.lock().unwrap().as_slice(), b"hi there");
    let mut got = Vec::new();
    let mut buf = [0u8; 4];
    for _ in 0..2000 {
        match tty.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(Errno::EAGAIN) => std::thread::sleep(std::time::Duration::from_millis(1)),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got, b"typed\n");
    assert!(con.poll().readable);
    assert_eq!(con.stat().unwrap().rdev, makedev(136, 0));
    // Output-less console swallows; input-less reads end of file.
    let quiet = v.console(None, None);
    assert_eq!(quiet.write(b"x").unwrap(), 1);
    assert_eq!(quiet.read(&mut buf).unwrap(), 0);
    v.set_tty(&quiet).unwrap();
    let (r, _w) = v.pipe();
    assert_eq!(v.set_tty(&r).unwrap_err(), Errno::ENOTTY);
}

#[test]
fn console_input_notifies() {
    let rec = Arc::new(Recorder::default());
    let v = Vfs::new(rec.clone());
    let (reader, mut writer) = std::io::pipe().unwrap();
    let con = v.console(Some(Box::new(reader)), None);
    let mut buf = [0u8; 8];
    assert_eq!(con.read(&mut buf), Err(Errno::EAGAIN));
    assert!(!con.poll().readable);
    std::io::Write::write_all(&mut writer, b"abc").unwrap();
    let key = con.wait_key();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !rec.take().contains(&key) {
        assert!(std::time::Instant::now() < deadline, "no notification");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert_eq!(con.read(&mut buf).unwrap(), 3);
    drop(writer);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match con.read(&mut buf) {
            Ok(0) => break,
            Err(Errno::EAGAIN) => {
                assert!(std::time::Instant::now() < deadline, "no end of file");
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[derive(Clone, Default)]
struct SharedBuf(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn pipes() {
    let rec = Arc::new(Recorder::default());
    let v = Vfs::new(rec.clone());
    let (r, w) = v.pipe();
    let key = r.wait_key();
    assert_eq!(key, w.wait_key());
    assert!(r.stat().unwrap().mode & S_IFMT == S_IFIFO);
    let mut buf = [0u8; 8];
    assert_eq!(r.read(&mut buf), Err(Errno::EAGAIN));
    assert!(!r.poll().readable);
    assert!(w.poll().writable);
    assert_eq!(w.read(&mut buf), Err(Errno::EBADF));
    assert_eq!(r.write(b"x"), Err(Errno::EBADF));
    assert_eq!(r.pread(&mut buf, 0), Err(Errno::ESPIPE));
    assert_eq!(r.seek(0, Whence::Set), Err(Errno::ESPIPE));
    assert_eq!(w.write(b"hello").unwrap(), 5);
    assert!(rec.take().contains(&key));
    assert!(r.poll().readable);
    assert_eq!(r.available(), 5);
    assert_eq!(r.read(&mut buf[..2]).unwrap(), 2);
    assert!(rec.take().contains(&key));
    // Fill: partial write, then EAGAIN; small writes are all-or-nothing.
    let big = vec![1u8; PIPE_CAPACITY];
    assert_eq!(w.write(&big).unwrap(), PIPE_CAPACITY - 3);
    assert_eq!(w.write(&big), Err(Errno::EAGAIN));
    assert!(!w.poll().writable);
    r.read(&mut buf[..2]).unwrap();
    assert_eq!(w.write(b"abc"), Err(Errno::EAGAIN));
    assert_eq!(w.write(b"ab").unwrap(), 2);
    // Writer gone: data, then EOF.
    drop(w);
    assert!(rec.take().contains(&key));
    assert!(r.poll().hangup);
    let mut total = 0;
    let mut chunk = vec![0u8; 4096];
    loop {
        let n = r.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        total += n;
    }
    assert_eq!(total, PIPE_CAPACITY);
    // Reader gone: EPIPE.
    let (r, w) = v.pipe();
    drop(r);
    assert_eq!(w.write(b"x"), Err(Errno::EPIPE));
    assert!(w.poll().error);
    assert_eq!(w.fsync(), Err(Errno::EINVAL));
    // Shared descriptions (dup) keep the end open until the last goes.
    let (r, w) = v.pipe();
    let w2 = Arc::clone(&w);
    drop(w);
    assert_eq!(r.read(&mut buf), Err(Errno::EAGAIN));
    drop(w2);
    assert_eq!(r.read(&mut buf).unwrap(), 0);
}

#[test]
fn record_locks_through_open_files() {
    let rec = Arc::new(Recorder::default());
    let v = Vfs::new(rec.clone());
    put(&v, b"/tmp/db", b"0123456789");
    let a = v
        .open(b"/", b"/tmp/db", OpenFlags::read_write(), 0, 0)
        .unwrap();
    let b = v
        .open(b"/", b"/tmp/db", OpenFlags::read_write(), 0, 0)
        .unwrap();
    let ro = v
        .open(b"/", b"/tmp/db", OpenFlags::read_only(), 0, 0)
        .unwrap();
    assert_eq!(a.wait_key(), b.wait_key());
    let lk = |kind, start, len, pid| LockRange {
        kind,
        start,
        len,
        pid,
    };
    a.set_lock(lk(LockKind::Write, 0, 5, 1)).unwrap();
    assert_eq!(b.set_lock(lk(LockKind::Read, 4, 1, 2)), Err(Errno::EAGAIN));
    assert_eq!(
        b.get_lock(lk(LockKind::Read, 0, 0, 2)).unwrap(),
        Some(lk(LockKind::Write, 0, 5, 1))
    );
    assert_eq!(b.get_lock(lk(LockKind::Read, 0, 0, 1)).unwrap(), None);
    b.set_lock(lk(LockKind::Read, 5, 0, 2)).unwrap();
    assert_eq!(
        ro.set_lock(lk(LockKind::Write, 100, 1, 3)),
        Err(Errno::EBADF)
    );
    rec.take();
    // Closing any descriptor of the file drops the pid's locks and wakes.
    a.release_locks(1);
    assert_eq!(rec.take(), vec![a.wait_key()]);
    b.set_lock(lk(LockKind::Write, 0, 5, 2)).unwrap();
    b.set_lock(lk(LockKind::Unlock, 0, 0, 2)).unwrap();
    assert_eq!(rec.take(), vec![a.wait_key()]);
    a.set_lock(lk(LockKind::Write, 0, 0, 1)).unwrap();
}

#[test]
fn getdents_small_hints_unread_and_rewind() {
    let v = vfs();
    v.mkdir(b"/", b"/tmp/many", 0o755, 0).unwrap();
    for i in 0..500 {
        put(&v, format!("/tmp/many/f{i:04}").as_bytes(), b"");
    }
    let d = v
        .open(
            b"/",
            b"/tmp/many",
            OpenFlags {
                directory: true,
                ..OpenFlags::read_only()
            },
            0,
            0,
        )
        .unwrap();
    assert!(d.is_dir());
    assert_eq!(d.read(&mut [0u8; 1]), Err(Errno::EISDIR));
    let first = d.getdents(2).unwrap();
    assert_eq!(first[0].name, b".");
    assert_eq!(first[1].name, b"..");
    assert_eq!(first[0].ino, v.stat(b"/", b"/tmp/many", true).unwrap().ino);
    assert_eq!(first[1].ino, v.stat(b"/", b"/tmp", true).unwrap().ino);
    let batch = d.getdents(7).unwrap();
    assert_eq!(batch.len(), 7);
    d.unread(3);
    let again = d.getdents(3).unwrap();
    assert_eq!(again, batch[4..].to_vec());
    // Entries added after the snapshot show up after a rewind only.
    put(&v, b"/tmp/many/zz", b"");
    let mut all: Vec<Vec<u8>> = first
        .iter()
        .chain(batch.iter())
        .map(|e| e.name.clone())
        .collect();
    all.extend(names(&d));
    assert_eq!(all.len(), 502);
    let sorted = {
        let mut s = all[2..].to_vec();
        s.sort();
        s
    };
    assert_eq!(all[2..], sorted[..]);
    assert!(d.getdents(10).unwrap().is_empty());
    assert_eq!(d.seek(0, Whence::Set).unwrap(), 0);
    assert_eq!(names(&d).len(), 503);
    // Seeking to an entry's offset continues after it.
    d.seek(0, Whence::Set).unwrap();
    let e = d.getdents(5).unwrap();
    d.seek(e[2].off as i64, Whence::Set).unwrap();
    assert_eq!(d.getdents(1).unwrap()[0], e[3]);
    assert_eq!(d.seek(0, Whence::End), Err(Errno::EINVAL));
    let f = v
        .open(b"/", b"/tmp/many/f0000", OpenFlags::read_only(), 0, 0)
        .unwrap();
    assert_eq!(f.getdents(1), Err(Errno::ENOTDIR));
    assert_eq!(d.getdents(0).unwrap().len(), 1);
    assert_eq!(d.getdents(1).unwrap()[0].kind, DT_REG);
}

#[test]
fn space_limit() {
    let v = vfs();
    v.set_space_limit(1000);
    let f = v.open(b"/", b"/tmp/big", rw_create(), 0o644, 0).unwrap();
    assert_eq!(f.write(&[0u8; 1001]), Err(Errno::ENOSPC));
    assert_eq!(f.write(&[0u8; 1000]).unwrap(), 1000);
    assert_eq!(f.write(b"x"), Err(Errno::ENOSPC));
    assert_eq!(f.pwrite(b"x", 1 << 40), Err(Errno::ENOSPC));
    assert_eq!(
        v.truncate(b"/", b"/tmp/big", 2000).unwrap_err(),
        Errno::ENOSPC
    );
    f.truncate(10).unwrap();
    assert_eq!(v.space_used(), 10);
    drop(f);
    v.unlink(b"/", b"/tmp/big").unwrap();
    assert_eq!(v.space_used(), 0);
}

#[test]
fn backing_of_memory_files() {
    let v = vfs();
    put(&v, b"/tmp/m", b"page data");
    let a = v
        .open(b"/", b"/tmp/m", OpenFlags::read_write(), 0, 0)
        .unwrap();
    let b = v
        .open(b"/", b"/tmp/m", OpenFlags::read_only(), 0, 0)
        .unwrap();
    let (pa, pb) = (a.backing().unwrap(), b.backing().unwrap());
    assert_eq!(pa.id(), pb.id());
    assert_eq!(pa.size(), 9);
    pa.write_at(0, b"PAGE").unwrap();
    assert_eq!(get(&v, b"/tmp/m"), b"PAGE data");
    assert!(v
        .open(b"/", b"/tmp", OpenFlags::read_only(), 0, 0)
        .unwrap()
        .backing()
        .is_none());
    assert!(a.fsync().is_ok());
}

struct FakeProc {
    files: Vec<Arc<OpenFile>>,
}

impl ProcResolver for FakeProc {
    fn exe(&self) -> Option<Vec<u8>> {
        Some(b"/bin/prog".to_vec())
    }
    fn fd(&self, fd: i32) -> Option<Arc<OpenFile>> {
        self.files.get(usize::try_from(fd).ok()?).cloned()
    }
    fn fds(&self) -> Vec<i32> {
        (0..self.files.len() as i32).collect()
    }
}

#[test]
fn proc_self_through_resolver() {
    let v = vfs();
    v.put_file(b"/bin/prog", b"\x7fELF", 0o755).unwrap();
    let (r, w) = v.pipe();
    let f = v
        .open(b"/", b"/bin/prog", OpenFlags::read_only(), 0, 0)
        .unwrap();
    assert_eq!(
        v.stat(b"/", b"/proc/self", true).unwrap_err(),
        Errno::ENOENT
    );
    v.set_proc_resolver(Arc::new(FakeProc {
        files: vec![r.clone(), w.clone(), f],
    }));
    assert_eq!(v.readlink(b"/", b"/proc/self/exe").unwrap(), b"/bin/prog");
    assert!(v.stat(b"/", b"/proc/self/exe", true).unwrap().is_file());
    assert!(v.stat(b"/", b"/proc/self/exe", false).unwrap().is_symlink());
    assert_eq!(v.readlink(b"/", b"/proc/self/fd/2").unwrap(), b"/bin/prog");
    assert_eq!(
        v.readlink(b"/", b"/proc/self/fd/0").unwrap(),
        format!("pipe:[{}]", r.wait_key()).into_bytes()
    );
    assert_eq!(
        v.stat(b"/", b"/proc/self/fd/9", true).unwrap_err(),
        Errno::ENOENT
    );
    let exe = v
        .open(b"/", b"/proc/self/exe", OpenFlags::read_only(), 0, 0)
        .unwrap();
    let mut buf = [0u8; 4];
    exe.read(&mut buf).unwrap();
    assert_eq!(&buf, b"\x7fELF");
    // Reopening a pipe end through /proc/self/fd.
    let w2 = v
        .open(b"/", b"/proc/self/fd/1", OpenFlags::write_only(), 0, 0)
        .unwrap();
    w2.write(b"via proc").unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(r.read(&mut buf).unwrap(), 8);
    let fd = v
        .open(b"/", b"/proc/self/fd", OpenFlags::read_only(), 0, 0)
        .unwrap();
    assert_eq!(names(&fd), vec![&b"."[..], b"..", b"0", b"1", b"2"]);
    let proc = v
        .open(b"/", b"/proc", OpenFlags::read_only(), 0, 0)
        .unwrap();
    assert_eq!(names(&proc), vec![&b"."[..], b"..", b"self"]);
    assert_eq!(
        v.mkdir(b"/", b"/proc/self/x", 0o755, 0).unwrap_err(),
        Errno::EACCES
    );
    assert_eq!(
        v.resolve_dir(b"/", b"/proc/self/fd/").unwrap(),
        b"/proc/self/fd"
    );
}

#[test]
fn o_path_and_keys() {
    let v = vfs();
    let p = v
        .open(
            b"/",
            b"/tmp",
            OpenFlags {
                path_only: true,
                ..Default::default()
            },
            0,
            0,
        )
        .unwrap();
    assert!(p.is_dir());
    assert_eq!(p.path().unwrap(), b"/tmp");
    assert_eq!(p.getdents(4), Err(Errno::EBADF));
    assert_eq!(p.fsync(), Err(Errno::EBADF));
    assert!(p.poll().error);
    assert_eq!(p.wait_key(), v.stat(b"/", b"/tmp", true).unwrap().ino);
    // O_PATH ignores O_CREAT.
    let flags = OpenFlags {
        path_only: true,
        create: true,
        ..Default::default()
    };
    assert_eq!(
        v.open(b"/", b"/tmp/none", flags, 0o644, 0).unwrap_err(),
        Errno::ENOENT
    );
}

#[test]
fn concurrent_use_from_threads() {
    let v = vfs();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let v = Arc::clone(&v);
            std::thread::spawn(move || {
                let dir = format!("/tmp/t{t}");
                v.mkdir(b"/", dir.as_bytes(), 0o755, 0).unwrap();
                for i in 0..200 {
                    let p = format!("{dir}/f{i}");
                    put(&v, p.as_bytes(), p.as_bytes());
                    let q = format!("/tmp/t{}/f{}", (t + 1) % 4, i);
                    let _ = v.rename(b"/", p.as_bytes(), q.as_bytes());
                    let _ = v.stat(b"/", q.as_bytes(), true);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let total: usize = (0..4)
        .map(|t| {
            let d = v
                .open(
                    b"/",
                    format!("/tmp/t{t}").as_bytes(),
                    OpenFlags::read_only(),
                    0,
                    0,
                )
                .unwrap();
            names(&d).len() - 2
        })
        .sum();
    assert!(total > 0 && total <= 800);
}
