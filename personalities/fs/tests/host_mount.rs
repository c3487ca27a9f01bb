//! Host directories mounted into a Vfs, against real temporary directories.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use spin_fs::{
    Errno, LockKind, LockRange, Notifier, OpenFile, OpenFlags, Vfs, Whence, S_IFMT, S_IFREG,
};

struct Quiet;
impl Notifier for Quiet {
    fn notify(&self, _key: u64) {}
}

fn vfs() -> Arc<Vfs> {
    Vfs::new(Arc::new(Quiet))
}

fn create() -> OpenFlags {
    OpenFlags {
        read: true,
        write: true,
        create: true,
        ..Default::default()
    }
}

fn read_all(f: &OpenFile) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 5];
    loop {
        match f.read(&mut buf).unwrap() {
            0 => return out,
            n => out.extend_from_slice(&buf[..n]),
        }
    }
}

fn names(f: &OpenFile, hint: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let batch = f.getdents(hint).unwrap();
        if batch.is_empty() {
            return out;
        }
        out.extend(batch.into_iter().map(|e| e.name));
    }
}

fn populate(dir: &Path) {
    std::fs::write(dir.join("hello.txt"), b"hello from the host\n").unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/inner"), b"inner").unwrap();
    std::os::unix::fs::symlink("sub/inner", dir.join("rel-link")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", dir.join("abs-link")).unwrap();
    std::os::unix::fs::symlink("../../../../../../etc/hostname", dir.join("escape")).unwrap();
}

#[test]
fn read_only_mount_reads_and_refuses_writes() {
    let tmp = tempfile::tempdir().unwrap();
    populate(tmp.path());
    let v = vfs();
    v.mount_host(b"/mnt/ro", tmp.path(), false).unwrap();
    // Reads and host metadata.
    let f = v
        .open(b"/", b"/mnt/ro/hello.txt", OpenFlags::read_only(), 0, 0)
        .unwrap();
    assert_eq!(read_all(&f), b"hello from the host\n");
    let host = std::fs::metadata(tmp.path().join("hello.txt")).unwrap();
    let st = v.stat(b"/", b"/mnt/ro/hello.txt", true).unwrap();
    assert_eq!(
        (st.ino, st.size, st.mode),
        (host.ino(), host.len(), host.mode())
    );
    assert_eq!(f.stat().unwrap().ino, host.ino());
    assert_eq!(f.path().unwrap(), b"/mnt/ro/hello.txt");
    assert_eq!(v.resolve_dir(b"/mnt", b"ro/sub/..").unwrap(), b"/mnt/ro");
    // Host symlinks resolve in the guest namespace, never escaping.
    let l = v
        .open(b"/mnt/ro", b"rel-link", OpenFlags::read_only(), 0, 0)
        .unwrap();
    assert_eq!(read_all(&l), b"inner");
    assert_eq!(
        v.readlink(b"/", b"/mnt/ro/abs-link").unwrap(),
        b"/etc/hostname"
    );
    assert_eq!(
        v.stat(b"/", b"/mnt/ro/abs-link", true).unwrap_err(),
        Errno::ENOENT
    );
    assert_eq!(
        v.stat(b"/", b"/mnt/ro/escape", true).unwrap_err(),
        Errno::ENOENT
    );
    assert!(v.stat(b"/", b"/mnt/ro/../../tmp", true).unwrap().is_dir());
    // Listing is sorted and includes . and ..
    let d = v
        .open(b"/", b"/mnt/ro", OpenFlags::read_only(), 0, 0)
        .unwrap();
    let n = names(&d, 2);
    assert_eq!(
        n,
        vec![
            &b"."[..],
            b"..",
            b"abs-link",
            b"escape",
            b"hello.txt",
            b"rel-link",
            b"sub"
        ]
    );
    // Every kind of write is EROFS.
    assert_eq!(
        v.open(b"/", b"/mnt/ro/hello.txt", OpenFlags::write_only(), 0, 0)
            .unwrap_err(),
        Errno::EROFS
    );
    assert_eq!(
        v.open(b"/", b"/mnt/ro/new", create(), 0o644, 0)
            .unwrap_err(),
        Errno::EROFS
    );
    let trunc = OpenFlags {
        trunc: true,
        ..OpenFlags::read_only()
    };
    assert_eq!(
        v.open(b"/", b"/mnt/ro/hello.txt", trunc, 0, 0).unwrap_err(),
        Errno::EROFS
    );
    assert_eq!(
        v.mkdir(b"/", b"/mnt/ro/d", 0o755, 0).unwrap_err(),
        Errno::EROFS
    );
    assert_eq!(
        v.unlink(b"/", b"/mnt/ro/hello.txt").unwrap_err(),
        Errno::EROFS
    );
    assert_eq!(v.rmdir(b"/", b"/mnt/ro/sub").unwrap_err(), Errno::EROFS);
    assert_eq!(
        v.rename(b"/", b"/mnt/ro/hello.txt", b"/mnt/ro/x")
            .unwrap_err(),
        Errno::EROFS
    );
    assert_eq!(
        v.symlink(b"x", b"/", b"/mnt/ro/s").unwrap_err(),
        Errno::EROFS
    );
    assert_eq!(
        v.link(b"/", b"/mnt/ro/hello.txt", b"/mnt/ro/h2")
            .unwrap_err(),
        Errno::EROFS
    );
    assert_eq!(
        v.chmod(b"/", b"/mnt/ro/hello.txt", 0o600).unwrap_err(),
        Errno::EROFS
    );
    assert_eq!(
        v.truncate(b"/", b"/mnt/ro/hello.txt", 0).unwrap_err(),
        Errno::EROFS
    );
    assert_eq!(
        v.access(b"/", b"/mnt/ro/hello.txt", 2).unwrap_err(),
        Errno::EROFS
    );
    assert_eq!(
        v.set_times(b"/", b"/mnt/ro/hello.txt", None, None, true)
            .unwrap_err(),
        Errno::EROFS
    );
    assert_eq!(f.chmod(0o600).unwrap_err(), Errno::EROFS);
    v.access(b"/", b"/mnt/ro/hello.txt", 4).unwrap();
    // Existing names still say EEXIST; O_CREAT without write opens.
    assert_eq!(
        v.mkdir(b"/", b"/mnt/ro/sub", 0o755, 0).unwrap_err(),
        Errno::EEXIST
    );
    let again = v.open(
        b"/",
        b"/mnt/ro/hello.txt",
        OpenFlags {
            create: true,
            ..OpenFlags::read_only()
        },
        0,
        0,
    );
    assert!(again.is_ok());
    // The mount point itself cannot go.
    assert_eq!(v.rmdir(b"/", b"/mnt/ro").unwrap_err(), Errno::EBUSY);
    assert_eq!(
        v.rename(b"/", b"/mnt/ro", b"/mnt/x").unwrap_err(),
        Errno::EBUSY
    );
    // Host file unchanged.
    assert_eq!(
        std::fs::read(tmp.path().join("hello.txt")).unwrap(),
        b"hello from the host\n"
    );
}

#[test]
fn writable_mount_changes_the_host() {
    let tmp = tempfile::tempdir().unwrap();
    populate(tmp.path());
    let v = vfs();
    v.mount_host(b"/work", tmp.path(), true).unwrap();
    let f = v
        .open(b"/work", b"new.txt", create(), 0o640, 0o022)
        .unwrap();
    f.write(b"guest wrote this").unwrap();
    assert_eq!(
        std::fs::read(tmp.path().join("new.txt")).unwrap(),
        b"guest wrote this"
    );
    assert_eq!(
        std::fs::metadata(tmp.path().join("new.txt"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o640
    );
    f.seek(6, Whence::Set).unwrap();
    let mut buf = [0u8; 5];
    f.read(&mut buf).unwrap();
    assert_eq!(&buf, b"wrote");
    assert_eq!(f.pwrite(b"GUEST", 0).unwrap(), 5);
    let app = v
        .open(
            b"/",
            b"/work/new.txt",
            OpenFlags {
                append: true,
                ..OpenFlags::write_only()
            },
            0,
            0,
        )
        .unwrap();
    app.write(b"!").unwrap();
    assert_eq!(
        std::fs::read(tmp.path().join("new.txt")).unwrap(),
        b"GUEST wrote this!"
    );
    f.truncate(5).unwrap();
    assert_eq!(f.stat().unwrap().size, 5);
    // Excl, create-through-trunc, read-only create.
    let excl = OpenFlags {
        excl: true,
        ..create()
    };
    assert_eq!(
        v.open(b"/", b"/work/new.txt", excl, 0o644, 0).unwrap_err(),
        Errno::EEXIST
    );
    let rdonly_create = OpenFlags {
        create: true,
        ..OpenFlags::read_only()
    };
    let r = v
        .open(b"/", b"/work/empty", rdonly_create, 0o600, 0)
        .unwrap();
    assert_eq!(r.write(b"x").unwrap_err(), Errno::EBADF);
    assert!(tmp.path().join("empty").exists());
    // Directories, links, rename, unlink, chmod, truncate.
    v.mkdir(b"/", b"/work/d", 0o750, 0).unwrap();
    assert!(tmp.path().join("d").is_dir());
    v.symlink(b"../new.txt", b"/", b"/work/d/l").unwrap();
    assert_eq!(
        std::fs::read_link(tmp.path().join("d/l")).unwrap(),
        Path::new("../new.txt")
    );
    assert_eq!(
        read_all(
            &v.open(b"/", b"/work/d/l", OpenFlags::read_only(), 0, 0)
                .unwrap()
        ),
        b"GUEST"
    );
    v.link(b"/", b"/work/new.txt", b"/work/d/hard").unwrap();
    assert_eq!(
        std::fs::metadata(tmp.path().join("new.txt"))
            .unwrap()
            .nlink(),
        2
    );
    v.rename(b"/", b"/work/d/hard", b"/work/moved").unwrap();
    assert!(tmp.path().join("moved").exists());
    v.unlink(b"/", b"/work/moved").unwrap();
    assert!(!tmp.path().join("moved").exists());
    assert_eq!(v.rmdir(b"/", b"/work/d").unwrap_err(), Errno::ENOTEMPTY);
    v.unlink(b"/", b"/work/d/l").unwrap();
    v.rmdir(b"/", b"/work/d").unwrap();
    assert!(!tmp.path().join("d").exists());
    v.chmod(b"/", b"/work/new.txt", 0o604).unwrap();
    assert_eq!(
        v.stat(b"/", b"/work/new.txt", true).unwrap().mode,
        S_IFREG | 0o604
    );
    v.truncate(b"/", b"/work/new.txt", 2).unwrap();
    assert_eq!(std::fs::read(tmp.path().join("new.txt")).unwrap(), b"GU");
    assert_eq!(v.unlink(b"/", b"/work/sub").unwrap_err(), Errno::EISDIR);
    assert_eq!(
        v.rmdir(b"/", b"/work/hello.txt").unwrap_err(),
        Errno::ENOTDIR
    );
    assert_eq!(
        v.stat(b"/", b"/work/none", true).unwrap_err(),
        Errno::ENOENT
    );
    assert_eq!(
        v.stat(b"/", b"/work/hello.txt/x", true).unwrap_err(),
        Errno::ENOTDIR
    );
    // Across file systems.
    assert_eq!(
        v.rename(b"/", b"/work/hello.txt", b"/tmp/x").unwrap_err(),
        Errno::EXDEV
    );
    assert_eq!(
        v.link(b"/", b"/work/hello.txt", b"/tmp/x").unwrap_err(),
        Errno::EXDEV
    );
    v.open(b"/", b"/tmp/m", create(), 0o644, 0).unwrap();
    assert_eq!(
        v.rename(b"/", b"/tmp/m", b"/work/m").unwrap_err(),
        Errno::EXDEV
    );
    f.fsync().unwrap();
    // Times and fchmod reach the host.
    v.set_times(
        b"/",
        b"/work/new.txt",
        Some((1_000_000, 0)),
        Some((2_000_000, 500)),
        true,
    )
    .unwrap();
    let m = std::fs::metadata(tmp.path().join("new.txt")).unwrap();
    assert_eq!(
        (m.atime(), m.mtime(), m.mtime_nsec()),
        (1_000_000, 2_000_000, 500)
    );
    assert_eq!(
        v.set_times(b"/", b"/work/new.txt", Some((0, 2_000_000_000)), None, true)
            .unwrap_err(),
        Errno::EINVAL
    );
    f.chmod(0o600).unwrap();
    assert_eq!(
        std::fs::metadata(tmp.path().join("new.txt"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
}

#[test]
fn host_page_backing_and_locks() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("data"), b"0123456789").unwrap();
    let v = vfs();
    v.mount_host(b"/h", tmp.path(), true).unwrap();
    let a = v
        .open(b"/", b"/h/data", OpenFlags::read_write(), 0, 0)
        .unwrap();
    let b = v
        .open(b"/", b"/h/data", OpenFlags::read_only(), 0, 0)
        .unwrap();
    let (pa, pb) = (a.backing().unwrap(), b.backing().unwrap());
    assert_eq!(pa.id(), pb.id());
    assert_eq!(a.wait_key(), b.wait_key());
    assert_eq!(pa.size(), 10);
    assert_eq!(pa.write_at(8, b"XYZ").unwrap(), 2);
    assert_eq!(pa.write_at(20, b"XYZ").unwrap(), 0);
    let mut buf = [0u8; 16];
    assert_eq!(pb.read_at(0, &mut buf).unwrap(), 10);
    assert_eq!(&buf[..10], b"01234567XY");
    assert_eq!(
        std::fs::read(tmp.path().join("data")).unwrap(),
        b"01234567XY"
    );
    let lk = |kind, pid| LockRange {
        kind,
        start: 0,
        len: 0,
        pid,
    };
    a.set_lock(lk(LockKind::Write, 1)).unwrap();
    assert_eq!(
        b.set_lock(lk(LockKind::Read, 2)).unwrap_err(),
        Errno::EAGAIN
    );
    b.release_locks(1);
    b.set_lock(lk(LockKind::Read, 2)).unwrap();
}

#[test]
fn mount_at_root_keeps_memory_entries_and_nests() {
    let sysroot = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(sysroot.path().join("usr/lib")).unwrap();
    std::fs::write(sysroot.path().join("usr/lib/libc.so"), b"ELF").unwrap();
    std::fs::create_dir(sysroot.path().join("dev")).unwrap();
    std::fs::write(sysroot.path().join("dev/host-only"), b"").unwrap();
    std::os::unix::fs::symlink("usr/lib", sysroot.path().join("lib")).unwrap();
    std::os::unix::fs::symlink("/usr/lib/libc.so", sysroot.path().join("abs")).unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("input"), b"in").unwrap();
    let v = vfs();
    v.mount_host(b"/", sysroot.path(), false).unwrap();
    v.mount_host(b"/usr/share/data", data.path(), true).unwrap();
    // The in-memory /dev and /tmp shadow the host's.
    assert!(v.stat(b"/", b"/dev/null", true).is_ok());
    assert_eq!(
        v.stat(b"/", b"/dev/host-only", true).unwrap_err(),
        Errno::ENOENT
    );
    assert_eq!(
        read_all(
            &v.open(b"/", b"/lib/libc.so", OpenFlags::read_only(), 0, 0)
                .unwrap()
        ),
        b"ELF"
    );
    assert_eq!(
        read_all(&v.open(b"/", b"/abs", OpenFlags::read_only(), 0, 0).unwrap()),
        b"ELF"
    );
    // /usr is in memory now but still shows the host's /usr entries.
    let usr = v.open(b"/", b"/usr", OpenFlags::read_only(), 0, 0).unwrap();
    assert_eq!(names(&usr, 1), vec![&b"."[..], b"..", b"share", b"lib"]);
    assert!(v.stat(b"/", b"/usr/lib/libc.so", true).is_ok());
    assert_eq!(
        read_all(
            &v.open(b"/", b"/usr/share/data/input", OpenFlags::read_only(), 0, 0)
                .unwrap()
        ),
        b"in"
    );
    v.open(b"/", b"/usr/share/data/out", create(), 0o644, 0)
        .unwrap()
        .write(b"out")
        .unwrap();
    assert_eq!(std::fs::read(data.path().join("out")).unwrap(), b"out");
    // Root listing merges memory and host entries.
    let root = v.open(b"/", b"/", OpenFlags::read_only(), 0, 0).unwrap();
    let n = names(&root, 4);
    for want in [&b"dev"[..], b"tmp", b"proc", b"usr", b"lib", b"abs"] {
        assert_eq!(
            n.iter().filter(|x| x.as_slice() == want).count(),
            1,
            "{}",
            String::from_utf8_lossy(want)
        );
    }
    // Writes to the read-only root fail; /tmp is still memory.
    assert_eq!(
        v.mkdir(b"/", b"/newdir", 0o755, 0).unwrap_err(),
        Errno::EROFS
    );
    v.mkdir(b"/", b"/tmp/ok", 0o755, 0).unwrap();
    assert_eq!(v.rmdir(b"/", b"/tmp").unwrap_err(), Errno::EBUSY);
    assert_eq!(v.rmdir(b"/", b"/usr").unwrap_err(), Errno::EBUSY);
    assert_eq!(
        v.rename(b"/", b"/usr/share/data/out", b"/usr/share/data/out2"),
        Ok(())
    );
    assert!(data.path().join("out2").exists());
}

#[test]
fn many_host_entries_with_small_hints() {
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..300 {
        std::fs::write(tmp.path().join(format!("e{i:03}")), b"").unwrap();
    }
    let v = vfs();
    v.mount_host(b"/m", tmp.path(), false).unwrap();
    let d = v.open(b"/", b"/m", OpenFlags::read_only(), 0, 0).unwrap();
    let first = d.getdents(3).unwrap();
    d.unread(1);
    let mut all: Vec<Vec<u8>> = first[..2].iter().map(|e| e.name.clone()).collect();
    all.extend(names(&d, 3));
    assert_eq!(all.len(), 302);
    let want: Vec<Vec<u8>> = (0..300).map(|i| format!("e{i:03}").into_bytes()).collect();
    assert_eq!(all[2..], want[..]);
}

#[test]
fn bad_mounts_and_special_host_files() {
    let tmp = tempfile::tempdir().unwrap();
    let v = vfs();
    let file = tmp.path().join("f");
    std::fs::write(&file, b"").unwrap();
    assert_eq!(
        v.mount_host(b"/x", &file, false).unwrap_err(),
        Errno::ENOTDIR
    );
    assert_eq!(
        v.mount_host(b"/x", &tmp.path().join("none"), false)
            .unwrap_err(),
        Errno::ENOENT
    );
    assert_eq!(
        v.mount_host(b"rel", tmp.path(), false).unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(
        v.mount_host(b"/dev/null/x", tmp.path(), false).unwrap_err(),
        Errno::ENOTDIR
    );
    // A host FIFO is never opened (it would block the host thread).
    let fifo = tmp.path().join("fifo");
    if std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        v.mount_host(b"/x", tmp.path(), true).unwrap();
        assert_eq!(
            v.open(b"/", b"/x/fifo", OpenFlags::read_only(), 0, 0)
                .unwrap_err(),
            Errno::ENXIO
        );
        assert_eq!(
            v.stat(b"/", b"/x/fifo", true).unwrap().mode & S_IFMT,
            spin_fs::S_IFIFO
        );
    }
}
