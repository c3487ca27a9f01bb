//! Unit tests of the Vfs operations on the in-memory tree.

use std::sync::Arc;

use crate::tests_support::{NullNotifier, Recorder};
use crate::types::*;
use crate::{Errno, LockKind, LockRange, OpenFile, ProcResolver, Vfs};

fn vfs() -> Arc<Vfs> {
    Vfs::new(Arc::new(NullNotifier))
}

fn rw_create() -> OpenFlags {
    OpenFlags {
        read: true,
        write: true,
        create: true,
        ..Default::default()
    }
}

fn put(v: &Vfs, path: &[u8], data: &[u8]) {
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

fn get(v: &Vfs, path: &[u8]) -> Vec<u8> {
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

fn names(f: &OpenFile) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let batch = f.getdents(3).unwrap();
        if batch.is_empty() {
            return out;
        }
        out.extend(batch.into_iter().map(|e| e.name));
    }
}

#[test]
fn initial_tree() {
    let v = vfs();
    let st = v.stat(b"/", b"/", true).unwrap();
    assert!(st.is_dir());
    assert_eq!(st.nlink, 5); // ., .. and dev, tmp, proc
    assert_eq!(v.stat(b"/", b"/tmp", true).unwrap().mode, S_IFDIR | 0o1777);
    let null = v.stat(b"/", b"/dev/null", true).unwrap();
    assert_eq!(null.mode, S_IFCHR | 0o666);
    assert_eq!(null.rdev, makedev(1, 3));
    assert!(v.stat(b"/", b"/proc", true).unwrap().is_dir());
    let root = v.open(b"/", b"/", OpenFlags::read_only(), 0, 0).unwrap();
    assert_eq!(
        names(&root),
        vec![&b"."[..], b"..", b"dev", b"proc", b"tmp"]
    );
    let proc = v
        .open(b"/", b"/proc", OpenFlags::read_only(), 0, 0)
        .unwrap();
    assert_eq!(names(&proc).len(), 2);
}

#[test]
fn create_write_read_seek() {
    let v = vfs();
    let f = v
        .open(b"/tmp", b"a.txt", rw_create(), 0o666, 0o022)
        .unwrap();
    assert_eq!(f.path().unwrap(), b"/tmp/a.txt");
    assert_eq!(f.stat().unwrap().mode, S_IFREG | 0o644);
    assert_eq!(f.write(b"hello world").unwrap(), 11);
    assert_eq!(f.seek(0, Whence::Cur).unwrap(), 11);
    assert_eq!(f.seek(-5, Whence::End).unwrap(), 6);
    let mut buf = [0u8; 10];
    assert_eq!(f.read(&mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"world");
    assert_eq!(f.read(&mut buf).unwrap(), 0);
    assert_eq!(f.seek(-1, Whence::Set), Err(Errno::EINVAL));
    assert_eq!(f.seek(i64::MAX, Whence::End), Err(Errno::EINVAL));
    assert_eq!(f.seek(100, Whence::Set).unwrap(), 100);
    assert_eq!(f.read(&mut buf).unwrap(), 0);
    f.write(b"!").unwrap();
    assert_eq!(f.stat().unwrap().size, 101);
    assert_eq!(f.pread(&mut buf, 95).unwrap(), 6);
    assert_eq!(&buf[..6], b"\0\0\0\0\0!");
    assert_eq!(f.pwrite(b"HE", 0).unwrap(), 2);
    assert_eq!(&get(&v, b"/tmp/a.txt")[..11], b"HEllo world");
    // Excl on an existing name; trunc empties.
    let excl = OpenFlags {
        excl: true,
        ..rw_create()
    };
    assert_eq!(
        v.open(b"/", b"/tmp/a.txt", excl, 0o644, 0).unwrap_err(),
        Errno::EEXIST
    );
    v.open(
        b"/",
        b"/tmp/a.txt",
        OpenFlags {
            trunc: true,
            ..OpenFlags::write_only()
        },
        0,
        0,
    )
    .unwrap();
    assert_eq!(v.stat(b"/", b"/tmp/a.txt", true).unwrap().size, 0);
}

#[test]
fn access_modes_and_append() {
    let v = vfs();
    put(&v, b"/tmp/f", b"abc");
    let ro = v
        .open(b"/", b"/tmp/f", OpenFlags::read_only(), 0, 0)
        .unwrap();
    assert_eq!(ro.write(b"x"), Err(Errno::EBADF));
    assert_eq!(ro.truncate(0), Err(Errno::EINVAL));
    let wo = v
        .open(
            b"/",
            b"/tmp/f",
            OpenFlags {
                append: true,
                ..OpenFlags::write_only()
            },
            0,
            0,
        )
        .unwrap();
    assert_eq!(wo.read(&mut [0u8; 4]), Err(Errno::EBADF));
    wo.write(b"de").unwrap();
    assert!(wo.flags().append && wo.flags().write && !wo.flags().read);
    wo.set_append(false);
    assert!(!wo.flags().append);
    wo.seek(0, Whence::Set).unwrap();
    wo.write(b"A").unwrap();
    assert_eq!(get(&v, b"/tmp/f"), b"Abcde");
    wo.truncate(2).unwrap();
    assert_eq!(get(&v, b"/tmp/f"), b"Ab");
    wo.set_nonblock(true);
    assert!(wo.flags().nonblock);
    assert_eq!(wo.truncate(u64::MAX), Err(Errno::EINVAL));
}

#[test]
fn path_errors() {
    let v = vfs();
    assert_eq!(v.stat(b"/", b"", true).unwrap_err(), Errno::ENOENT);
    assert_eq!(v.stat(b"/", b"/nope", true).unwrap_err(), Errno::ENOENT);
    assert_eq!(
        v.stat(b"/", &[b'a'; 256], true).unwrap_err(),
        Errno::ENAMETOOLONG
    );
    let long: Vec<u8> = b"/a".iter().copied().cycle().take(4096).collect();
    assert_eq!(v.stat(b"/", &long, true).unwrap_err(), Errno::ENAMETOOLONG);
    put(&v, b"/tmp/file", b"");
    assert_eq!(
        v.stat(b"/", b"/tmp/file/", true).unwrap_err(),
        Errno::ENOTDIR
    );
    assert_eq!(
        v.stat(b"/", b"/tmp/file/x", true).unwrap_err(),
        Errno::ENOTDIR
    );
    assert_eq!(
        v.stat(b"/", b"/tmp/file/.", true).unwrap_err(),
        Errno::ENOTDIR
    );
    assert!(v.stat(b"/", b"//tmp///./../tmp/", true).unwrap().is_dir());
    assert!(v.stat(b"/", b"/../../..", true).unwrap().is_dir());
    assert_eq!(v.stat(b"/tmp", b"file", true).unwrap().size, 0);
    assert_eq!(v.stat(b"/tmp", b"../tmp/file", true).unwrap().size, 0);
    // A stale cwd.
    assert_eq!(v.stat(b"/gone", b"x", true).unwrap_err(), Errno::ENOENT);
    assert_eq!(v.stat(b"relative", b"x", true).unwrap_err(), Errno::ENOENT);
    assert_eq!(
        v.open(
            b"/",
            b"/tmp/file",
            OpenFlags {
                directory: true,
                ..OpenFlags::read_only()
            },
            0,
            0
        )
        .unwrap_err(),
        Errno::ENOTDIR
    );
    assert_eq!(
        v.open(b"/", b"/tmp/new/", rw_create(), 0o644, 0)
            .unwrap_err(),
        Errno::EISDIR
    );
    assert_eq!(
        v.open(b"/", b"/tmp", rw_create(), 0o644, 0).unwrap_err(),
        Errno::EISDIR
    );
    assert_eq!(
        v.open(b"/", b"/tmp", OpenFlags::read_write(), 0, 0)
            .unwrap_err(),
        Errno::EISDIR
    );
    assert_eq!(
        v.open(b"/", b"/nodir/x", rw_create(), 0o644, 0)
            .unwrap_err(),
        Errno::ENOENT
    );
    assert_eq!(v.stat(b"/", b"/tmp/a\0b", true).unwrap_err(), Errno::EINVAL);
}

#[test]
fn symlinks() {
    let v = vfs();
    v.mkdir(b"/", b"/tmp/d", 0o755, 0).unwrap();
    put(&v, b"/tmp/d/f", b"data");
    v.symlink(b"d/f", b"/tmp", b"rel").unwrap();
    v.symlink(b"/tmp/d", b"/", b"/tmp/abs").unwrap();
    v.symlink(b"nowhere", b"/", b"/tmp/dangling").unwrap();
    assert_eq!(get(&v, b"/tmp/rel"), b"data");
    assert_eq!(get(&v, b"/tmp/abs/f"), b"data");
    assert_eq!(v.readlink(b"/", b"/tmp/rel").unwrap(), b"d/f");
    assert_eq!(v.readlink(b"/", b"/tmp/d").unwrap_err(), Errno::EINVAL);
    assert!(v.stat(b"/", b"/tmp/rel", false).unwrap().is_symlink());
    assert_eq!(v.stat(b"/", b"/tmp/rel", false).unwrap().size, 3);
    assert!(v.stat(b"/", b"/tmp/rel", true).unwrap().is_file());
    assert_eq!(
        v.stat(b"/", b"/tmp/dangling", true).unwrap_err(),
        Errno::ENOENT
    );
    assert!(v.stat(b"/", b"/tmp/dangling", false).is_ok());
    // `..` after a followed link is physical.
    assert!(v.stat(b"/", b"/tmp/abs/../d/f", true).is_ok());
    assert_eq!(v.resolve_dir(b"/", b"/tmp/abs").unwrap(), b"/tmp/d");
    assert_eq!(v.resolve_dir(b"/tmp", b"abs/..").unwrap(), b"/tmp");
    // O_NOFOLLOW, O_PATH.
    let nofollow = OpenFlags {
        nofollow: true,
        ..OpenFlags::read_only()
    };
    assert_eq!(
        v.open(b"/", b"/tmp/rel", nofollow, 0, 0).unwrap_err(),
        Errno::ELOOP
    );
    let p = v
        .open(
            b"/",
            b"/tmp/rel",
            OpenFlags {
                path_only: true,
                ..nofollow
            },
            0,
            0,
        )
        .unwrap();
    assert!(p.stat().unwrap().is_symlink());
    assert_eq!(p.read(&mut [0u8; 1]), Err(Errno::EBADF));
    // O_CREAT through a dangling link creates its target.
    let f = v
        .open(b"/", b"/tmp/dangling", rw_create(), 0o600, 0)
        .unwrap();
    assert_eq!(f.path().unwrap(), b"/tmp/nowhere");
    assert!(v.stat(b"/", b"/tmp/nowhere", true).is_ok());
    let excl = OpenFlags {
        excl: true,
        ..rw_create()
    };
    assert_eq!(
        v.open(b"/", b"/tmp/dangling", excl, 0o600, 0).unwrap_err(),
        Errno::EEXIST
    );
    // Loops.
    v.symlink(b"loop2", b"/tmp", b"loop1").unwrap();
    v.symlink(b"loop1", b"/tmp", b"loop2").unwrap();
    assert_eq!(v.stat(b"/", b"/tmp/loop1", true).unwrap_err(), Errno::ELOOP);
    assert_eq!(
        v.stat(b"/", b"/tmp/loop1/x", true).unwrap_err(),
        Errno::ELOOP
    );
    // A chain of 40 links resolves; 41 does not.
    v.symlink(b"d", b"/tmp", b"c0").unwrap();
    for i in 1..=40 {
        v.symlink(
            format!("c{}", i - 1).as_bytes(),
            b"/tmp",
            format!("c{i}").as_bytes(),
        )
        .unwrap();
    }
    assert!(v.stat(b"/tmp", b"c39", true).is_ok());
    assert_eq!(v.stat(b"/tmp", b"c40", true).unwrap_err(), Errno::ELOOP);
    // Symlink errors.
    assert_eq!(v.symlink(b"", b"/", b"/tmp/e").unwrap_err(), Errno::ENOENT);
    assert_eq!(
        v.symlink(b"x", b"/", b"/tmp/rel").unwrap_err(),
        Errno::EEXIST
    );
    assert_eq!(
        v.symlink(&[b'x'; 4096], b"/", b"/tmp/e").unwrap_err(),
        Errno::ENAMETOOLONG
    );
    // Trailing slash follows a link to a directory.
    assert!(v.stat(b"/", b"/tmp/abs/", false).unwrap().is_dir());
    assert_eq!(
        v.stat(b"/", b"/tmp/rel/", false).unwrap_err(),
        Errno::ENOTDIR
    );
}

#[test]
fn mkdir_rmdir_and_link_counts() {
    let v = vfs();
    v.mkdir(b"/", b"/tmp/a", 0o777, 0o022).unwrap();
    assert_eq!(v.stat(b"/", b"/tmp/a", true).unwrap().mode, S_IFDIR | 0o755);
    assert_eq!(v.stat(b"/", b"/tmp", true).unwrap().nlink, 3);
    v.mkdir(b"/tmp", b"a/b/", 0o755, 0).unwrap();
    assert_eq!(
        v.mkdir(b"/", b"/tmp/a", 0o755, 0).unwrap_err(),
        Errno::EEXIST
    );
    assert_eq!(v.mkdir(b"/", b"/", 0o755, 0).unwrap_err(), Errno::EEXIST);
    assert_eq!(
        v.mkdir(b"/", b"/tmp/x/y", 0o755, 0).unwrap_err(),
        Errno::ENOENT
    );
    assert_eq!(v.rmdir(b"/", b"/tmp/a").unwrap_err(), Errno::ENOTEMPTY);
    assert_eq!(v.rmdir(b"/", b"/tmp/a/b/.").unwrap_err(), Errno::EINVAL);
    assert_eq!(v.rmdir(b"/", b"/tmp/a/b/..").unwrap_err(), Errno::ENOTEMPTY);
    assert_eq!(v.rmdir(b"/", b"/").unwrap_err(), Errno::EBUSY);
    put(&v, b"/tmp/f", b"");
    assert_eq!(v.rmdir(b"/", b"/tmp/f").unwrap_err(), Errno::ENOTDIR);
    assert_eq!(v.rmdir(b"/", b"/tmp/none").unwrap_err(), Errno::ENOENT);
    v.rmdir(b"/", b"/tmp/a/b/").unwrap();
    assert_eq!(v.stat(b"/", b"/tmp/a", true).unwrap().nlink, 2);
    // A removed directory held open lists only itself and takes no names.
    let held = v
        .open(b"/", b"/tmp/a", OpenFlags::read_only(), 0, 0)
        .unwrap();
    v.rmdir(b"/", b"/tmp/a").unwrap();
    assert_eq!(held.stat().unwrap().nlink, 0);
    assert_eq!(v.stat(b"/", b"/tmp", true).unwrap().nlink, 2);
    assert_eq!(names(&held), vec![&b"."[..], b".."]);
}

#[test]
fn unlink_and_hard_links() {
    let v = vfs();
    put(&v, b"/tmp/f", b"abc");
    v.link(b"/", b"/tmp/f", b"/tmp/g").unwrap();
    assert_eq!(v.stat(b"/", b"/tmp/f", true).unwrap().nlink, 2);
    assert_eq!(
        v.stat(b"/", b"/tmp/g", true).unwrap().ino,
        v.stat(b"/", b"/tmp/f", true).unwrap().ino
    );
    assert_eq!(
        v.link(b"/", b"/tmp/f", b"/tmp/g").unwrap_err(),
        Errno::EEXIST
    );
    assert_eq!(
        v.link(b"/", b"/tmp", b"/tmp/dirlink").unwrap_err(),
        Errno::EPERM
    );
    assert_eq!(
        v.link(b"/", b"/tmp/none", b"/tmp/h").unwrap_err(),
        Errno::ENOENT
    );
    let open = v
        .open(b"/", b"/tmp/f", OpenFlags::read_only(), 0, 0)
        .unwrap();
    v.unlink(b"/", b"/tmp/f").unwrap();
    assert_eq!(v.stat(b"/", b"/tmp/g", true).unwrap().nlink, 1);
    v.unlink(b"/", b"/tmp/g").unwrap();
    // Still readable through the open description.
    let mut buf = [0u8; 3];
    assert_eq!(open.read(&mut buf).unwrap(), 3);
    assert_eq!(open.stat().unwrap().nlink, 0);
    assert_eq!(v.space_used(), 3);
    drop(open);
    assert_eq!(v.space_used(), 0);
    assert_eq!(v.unlink(b"/", b"/tmp/f").unwrap_err(), Errno::ENOENT);
    assert_eq!(v.unlink(b"/", b"/tmp").unwrap_err(), Errno::EISDIR);
    assert_eq!(v.unlink(b"/", b"/").unwrap_err(), Errno::EISDIR);
    put(&v, b"/tmp/x", b"");
    assert_eq!(v.unlink(b"/", b"/tmp/x/").unwrap_err(), Errno::ENOTDIR);
    // Unlinking a symlink removes the link only.
    v.symlink(b"x", b"/tmp", b"l").unwrap();
    v.unlink(b"/tmp", b"l").unwrap();
    assert!(v.stat(b"/", b"/tmp/x", true).is_ok());
}

#[test]
fn rename_cases() {
    let v = vfs();
    v.mkdir(b"/", b"/tmp/a", 0o755, 0).unwrap();
    v.mkdir(b"/", b"/tmp/a/sub", 0o755, 0).unwrap();
    v.mkdir(b"/", b"/tmp/b", 0o755, 0).unwrap();
    put(&v, b"/tmp/f", b"1");
    put(&v, b"/tmp/g", b"22");
    // File over file.
    v.rename(b"/", b"/tmp/f", b"/tmp/g").unwrap();
    assert_eq!(get(&v, b"/tmp/g"), b"1");
    assert_eq!(v.stat(b"/", b"/tmp/f", true).unwrap_err(), Errno::ENOENT);
    assert_eq!(v.space_used(), 1);
    // Errors.
    assert_eq!(
        v.rename(b"/", b"/tmp/none", b"/tmp/x").unwrap_err(),
        Errno::ENOENT
    );
    assert_eq!(
        v.rename(b"/", b"/tmp/g", b"/tmp/a").unwrap_err(),
        Errno::EISDIR
    );
    assert_eq!(
        v.rename(b"/", b"/tmp/a", b"/tmp/g").unwrap_err(),
        Errno::ENOTDIR
    );
    assert_eq!(
        v.rename(b"/", b"/tmp/b", b"/tmp/a").unwrap_err(),
        Errno::ENOTEMPTY
    );
    assert_eq!(
        v.rename(b"/", b"/tmp/a", b"/tmp/a/sub/x").unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(
        v.rename(b"/", b"/tmp/a", b"/tmp/a/x").unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(
        v.rename(b"/", b"/tmp/.", b"/tmp/x").unwrap_err(),
        Errno::EBUSY
    );
    assert_eq!(
        v.rename(b"/", b"/tmp/g", b"/tmp/g/").unwrap_err(),
        Errno::ENOTDIR
    );
    assert_eq!(
        v.rename(b"/", b"/tmp/g", b"/nodir/x").unwrap_err(),
        Errno::ENOENT
    );
    // Same file: nothing happens.
    v.link(b"/", b"/tmp/g", b"/tmp/g2").unwrap();
    v.rename(b"/", b"/tmp/g", b"/tmp/g2").unwrap();
    assert!(v.stat(b"/", b"/tmp/g", true).is_ok());
    // Directory moves keep link counts.
    v.rename(b"/", b"/tmp/a/sub", b"/tmp/b/moved").unwrap();
    assert_eq!(v.stat(b"/", b"/tmp/a", true).unwrap().nlink, 2);
    assert_eq!(v.stat(b"/", b"/tmp/b", true).unwrap().nlink, 3);
    // Directory over an empty directory.
    v.rename(b"/", b"/tmp/b/moved", b"/tmp/a").unwrap();
    assert_eq!(v.stat(b"/", b"/tmp/b", true).unwrap().nlink, 2);
    assert_eq!(v.stat(b"/", b"/tmp", true).unwrap().nlink, 4);
    // Moving /tmp entries out of a mounted... builtins are busy only under a
    // backed root; here /tmp itself can be renamed.
    v.rename(b"/", b"/tmp/b", b"/b2").unwrap();
    assert!(v.stat(b"/", b"/b2", true).unwrap().is_dir());
}

#[test]
fn truncate_chmod_access() {
    let v = vfs();
    put(&v, b"/tmp/f", b"hello");
    v.truncate(b"/", b"/tmp/f", 2).unwrap();
    assert_eq!(get(&v, b"/tmp/f"), b"he");
    v.truncate(b"/", b"/tmp/f", 4).unwrap();
    assert_eq!(get(&v, b"/tmp/f"), b"he\0\0");
    assert_eq!(v.truncate(b"/", b"/tmp", 0).unwrap_err(), Errno::EISDIR);
    assert_eq!(
        v.truncate(b"/", b"/dev/null", 0).unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(
        v.truncate(b"/", b"/tmp/f", 1 << 63).unwrap_err(),
        Errno::EINVAL
    );
    v.chmod(b"/", b"/tmp/f", 0o100_400).unwrap();
    assert_eq!(v.stat(b"/", b"/tmp/f", true).unwrap().mode, S_IFREG | 0o400);
    v.access(b"/", b"/tmp/f", F_OK).unwrap();
    assert_eq!(v.access(b"/", b"/tmp/f", 8).unwrap_err(), Errno::EINVAL);
    assert_eq!(
        v.access(b"/", b"/tmp/none", F_OK).unwrap_err(),
        Errno::ENOENT
    );
    // As a regular user the mode bits decide.
    v.set_owner(1000, 1000);
    put(&v, b"/tmp/mine", b"x");
    v.chmod(b"/", b"/tmp/mine", 0o400).unwrap();
    v.access(b"/", b"/tmp/mine", R_OK).unwrap();
    assert_eq!(
        v.access(b"/", b"/tmp/mine", W_OK).unwrap_err(),
        Errno::EACCES
    );
    assert_eq!(
        v.access(b"/", b"/tmp/mine", X_OK).unwrap_err(),
        Errno::EACCES
    );
    assert_eq!(
        v.open(b"/", b"/tmp/mine", OpenFlags::write_only(), 0, 0)
            .unwrap_err(),
        Errno::EACCES
    );
    assert_eq!(
        v.truncate(b"/", b"/tmp/mine", 0).unwrap_err(),
        Errno::EACCES
    );
    v.mkdir(b"/", b"/tmp/locked", 0o700, 0).unwrap();
    put(&v, b"/tmp/locked/in", b"");
    v.chmod(b"/", b"/tmp/locked", 0o600).unwrap();
    assert_eq!(
        v.stat(b"/", b"/tmp/locked/in", true).unwrap_err(),
        Errno::EACCES
    );
    assert_eq!(
        v.resolve_dir(b"/", b"/tmp/locked").unwrap_err(),
        Errno::EACCES
    );
    v.chmod(b"/", b"/tmp/locked", 0o500).unwrap();
    assert_eq!(
        v.unlink(b"/", b"/tmp/locked/in").unwrap_err(),
        Errno::EACCES
    );
    assert_eq!(
        v.mkdir(b"/", b"/tmp/locked/d", 0o755, 0).unwrap_err(),
        Errno::EACCES
    );
    assert_eq!(v.owner(), (1000, 1000));
    assert_eq!(v.stat(b"/", b"/tmp/mine", true).unwrap().uid, 1000);
    // Root bypasses, except execute without any x bit.
    v.set_owner(0, 0);
    v.access(b"/", b"/tmp/mine", R_OK | W_OK).unwrap();
    assert_eq!(
        v.access(b"/", b"/tmp/mine", X_OK).unwrap_err(),
        Errno::EACCES
    );
    v.access(b"/", b"/tmp/locked", X_OK).unwrap();
}

#[test]
fn resolve_dir_cases() {
    let v = vfs();
    assert_eq!(v.resolve_dir(b"/", b"/tmp/../dev/").unwrap(), b"/dev");
    assert_eq!(v.resolve_dir(b"/dev", b"..").unwrap(), b"/");
    assert_eq!(
        v.resolve_dir(b"/", b"/dev/null").unwrap_err(),
        Errno::ENOTDIR
    );
    assert_eq!(v.resolve_dir(b"/", b"/none").unwrap_err(), Errno::ENOENT);
    assert_eq!(v.resolve_dir(b"/", b"").unwrap_err(), Errno::ENOENT);
}

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

#[test]
fn put_file_creates_parents() {
    let v = vfs();
    v.put_file(b"/etc/passwd", b"root:x:0:0::/root:/bin/sh\n", 0o644)
        .unwrap();
    assert_eq!(get(&v, b"/etc/passwd"), b"root:x:0:0::/root:/bin/sh\n");
    v.put_file(b"/etc/passwd", b"short\n", 0o600).unwrap();
    assert_eq!(get(&v, b"/etc/passwd"), b"short\n");
    assert_eq!(
        v.stat(b"/", b"/etc/passwd", true).unwrap().mode,
        S_IFREG | 0o600
    );
    assert_eq!(v.put_file(b"rel", b"", 0o644).unwrap_err(), Errno::EINVAL);
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

#[test]
fn times_and_fchmod() {
    let v = vfs();
    put(&v, b"/tmp/t", b"x");
    v.set_times(b"/", b"/tmp/t", Some((100, 5)), None, true)
        .unwrap();
    let st = v.stat(b"/", b"/tmp/t", true).unwrap();
    assert_eq!(st.atime, (100, 5));
    assert_ne!(st.mtime, (100, 5));
    v.set_times(b"/", b"/tmp/t", None, Some((-1, 0)), true)
        .unwrap();
    assert_eq!(v.stat(b"/", b"/tmp/t", true).unwrap().mtime, (-1, 0));
    assert_eq!(
        v.set_times(b"/", b"/tmp/none", None, None, true)
            .unwrap_err(),
        Errno::ENOENT
    );
    let f = v
        .open(b"/", b"/tmp/t", OpenFlags::read_only(), 0, 0)
        .unwrap();
    f.chmod(0o4711).unwrap();
    assert_eq!(f.stat().unwrap().mode, S_IFREG | 0o4711);
    let d = v.open(b"/", b"/tmp", OpenFlags::read_only(), 0, 0).unwrap();
    d.chmod(0o700).unwrap();
    assert_eq!(v.stat(b"/", b"/tmp", true).unwrap().mode, S_IFDIR | 0o700);
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
    assert_eq!(p.chmod(0o755).unwrap_err(), Errno::EBADF);
    let (r, _w) = v.pipe();
    r.chmod(0o600).unwrap();
}
