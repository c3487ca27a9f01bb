//! Names, paths, links, directories, rename, permissions.

use super::*;
use crate::types::*;
use crate::Errno;

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
