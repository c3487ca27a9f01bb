//! Property test: random sequences of namespace operations on the in-memory
//! tree never panic, keep link counts, sizes and the space account
//! consistent, and give the same results (errno for errno) and the same
//! final tree as the host kernel doing the same operations in a temporary
//! directory, and as a writable host mount of another one.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use proptest::prelude::*;
use spin_fs::{Errno, Notifier, OpenFlags, Vfs, Whence};

// Linux x86-64 / aarch64 open flag bits the host side passes raw.
const O_CREAT: i32 = 0o100;
const O_EXCL: i32 = 0o200;
#[cfg(not(any(target_arch = "aarch64", target_arch = "arm")))]
const O_DIRECTORY: i32 = 0o200_000;
#[cfg(not(any(target_arch = "aarch64", target_arch = "arm")))]
const O_NOFOLLOW: i32 = 0o400_000;
#[cfg(any(target_arch = "aarch64", target_arch = "arm"))]
const O_DIRECTORY: i32 = 0o40_000;
#[cfg(any(target_arch = "aarch64", target_arch = "arm"))]
const O_NOFOLLOW: i32 = 0o100_000;

struct Quiet;
impl Notifier for Quiet {
    fn notify(&self, _key: u64) {}
}

#[derive(Debug, Clone)]
enum Op {
    Mkdir(String),
    Rmdir(String),
    Create(String, usize),
    Write(String, u64, usize),
    Unlink(String),
    Rename(String, String),
    Link(String, String),
    Symlink(String, String),
    Truncate(String, u64),
    Stat(String),
    Lstat(String),
    Readlink(String),
    /// `open` with (write, create, excl, nofollow, directory).
    Open(String, [bool; 5]),
}

/// Paths that never climb above the test root: `..` only after a real
/// component (symlink targets hold no dots, so a real component never
/// resolves above its own lexical depth).
fn path() -> impl Strategy<Value = String> {
    let comp = prop_oneof![
        6 => prop::sample::select(vec!["a", "b", "c", "l"]).prop_map(str::to_string),
        1 => Just(".".to_string()),
        1 => Just("..".to_string()),
    ];
    (prop::collection::vec(comp, 1..4), any::<bool>()).prop_map(|(comps, slash)| {
        let mut depth = 0i32;
        let mut out: Vec<String> = Vec::new();
        for c in comps {
            match c.as_str() {
                ".." if depth == 0 => continue,
                ".." => depth -= 1,
                "." => {}
                _ => depth += 1,
            }
            out.push(c);
        }
        if out.is_empty() {
            out.push("a".into());
        }
        let mut s = out.join("/");
        if slash {
            s.push('/');
        }
        s
    })
}

fn target() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "l"]), 1..3)
        .prop_map(|v| v.join("/"))
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => path().prop_map(Op::Mkdir),
        2 => path().prop_map(Op::Rmdir),
        3 => (path(), 0usize..300).prop_map(|(p, n)| Op::Create(p, n)),
        2 => (path(), 0u64..400, 0usize..200).prop_map(|(p, o, n)| Op::Write(p, o, n)),
        2 => path().prop_map(Op::Unlink),
        3 => (path(), path()).prop_map(|(a, b)| Op::Rename(a, b)),
        2 => (path(), path()).prop_map(|(a, b)| Op::Link(a, b)),
        2 => (target(), path()).prop_map(|(t, p)| Op::Symlink(t, p)),
        1 => (path(), 0u64..500).prop_map(|(p, n)| Op::Truncate(p, n)),
        1 => path().prop_map(Op::Stat),
        1 => path().prop_map(Op::Lstat),
        1 => path().prop_map(Op::Readlink),
        3 => (path(), any::<[bool; 5]>()).prop_map(|(p, f)| Op::Open(p, f)),
    ]
}

/// What an operation returned, comparable across implementations.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Ok,
    Err(Errno),
    Stat { mode_type: u32, size: Option<u64> },
    Link(Vec<u8>),
}

fn from_io<T>(r: std::io::Result<T>) -> Result<T, Errno> {
    r.map_err(|e| Errno::from_io(&e))
}

fn host_apply(root: &Path, op: &Op) -> Outcome {
    let p = |s: &str| root.join(s);
    let res: Result<Outcome, Errno> = (|| {
        Ok(match op {
            Op::Mkdir(a) => {
                from_io(std::fs::create_dir(p(a)))?;
                Outcome::Ok
            }
            Op::Rmdir(a) => {
                from_io(std::fs::remove_dir(p(a)))?;
                Outcome::Ok
            }
            Op::Create(a, n) => {
                let mut f = from_io(
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create(true)
                        .truncate(true)
                        .open(p(a)),
                )?;
                from_io(std::io::Write::write_all(&mut f, &vec![7u8; *n]))?;
                Outcome::Ok
            }
            Op::Write(a, off, n) => {
                let f = from_io(std::fs::OpenOptions::new().write(true).open(p(a)))?;
                from_io(std::os::unix::fs::FileExt::write_all_at(
                    &f,
                    &vec![9u8; *n],
                    *off,
                ))?;
                Outcome::Ok
            }
            Op::Unlink(a) => {
                from_io(std::fs::remove_file(p(a)))?;
                Outcome::Ok
            }
            Op::Rename(a, b) => {
                from_io(std::fs::rename(p(a), p(b)))?;
                Outcome::Ok
            }
            Op::Link(a, b) => {
                from_io(std::fs::hard_link(p(a), p(b)))?;
                Outcome::Ok
            }
            Op::Symlink(t, a) => {
                from_io(std::os::unix::fs::symlink(t, p(a)))?;
                Outcome::Ok
            }
            Op::Truncate(a, n) => {
                let f = from_io(std::fs::OpenOptions::new().write(true).open(p(a)))?;
                from_io(f.set_len(*n))?;
                Outcome::Ok
            }
            Op::Stat(a) => stat_outcome(
                from_io(std::fs::metadata(p(a)))?.mode(),
                from_io(std::fs::metadata(p(a)))?.len(),
            ),
            Op::Lstat(a) => {
                let m = from_io(std::fs::symlink_metadata(p(a)))?;
                stat_outcome(m.mode(), m.len())
            }
            Op::Readlink(a) => Outcome::Link(
                from_io(std::fs::read_link(p(a)))?
                    .as_os_str()
                    .as_bytes()
                    .to_vec(),
            ),
            Op::Open(a, [write, create, excl, nofollow, directory]) => {
                use std::os::unix::fs::OpenOptionsExt;
                let mut custom = 0;
                if *excl {
                    custom |= O_EXCL;
                }
                if *nofollow {
                    custom |= O_NOFOLLOW;
                }
                if *directory {
                    custom |= O_DIRECTORY;
                }
                if *create {
                    custom |= O_CREAT;
                }
                let mut o = std::fs::OpenOptions::new();
                // std insists on write access for O_CREAT; pass it raw.
                o.read(!*write)
                    .write(*write)
                    .custom_flags(custom)
                    .mode(0o644);
                from_io(o.open(p(a)))?;
                Outcome::Ok
            }
        })
    })();
    res.unwrap_or_else(Outcome::Err)
}

fn stat_outcome(mode: u32, size: u64) -> Outcome {
    let t = mode & spin_fs::S_IFMT;
    // Directory sizes differ between file systems.
    Outcome::Stat {
        mode_type: t,
        size: (t != spin_fs::S_IFDIR).then_some(size),
    }
}

fn vfs_apply(v: &Vfs, cwd: &[u8], op: &Op) -> Outcome {
    let b = |s: &String| s.as_bytes().to_vec();
    let res: Result<Outcome, Errno> = (|| {
        Ok(match op {
            Op::Mkdir(a) => v.mkdir(cwd, &b(a), 0o777, 0o022).map(|_| Outcome::Ok)?,
            Op::Rmdir(a) => v.rmdir(cwd, &b(a)).map(|_| Outcome::Ok)?,
            Op::Create(a, n) => {
                let flags = OpenFlags {
                    write: true,
                    create: true,
                    trunc: true,
                    ..Default::default()
                };
                let f = v.open(cwd, &b(a), flags, 0o666, 0o022)?;
                let data = vec![7u8; *n];
                let mut done = 0;
                while done < data.len() {
                    done += f.write(&data[done..])?;
                }
                Outcome::Ok
            }
            Op::Write(a, off, n) => {
                let f = v.open(cwd, &b(a), OpenFlags::write_only(), 0, 0)?;
                f.seek(*off as i64, Whence::Set)?;
                f.write(&vec![9u8; *n])?;
                Outcome::Ok
            }
            Op::Unlink(a) => v.unlink(cwd, &b(a)).map(|_| Outcome::Ok)?,
            Op::Rename(a, c) => v.rename(cwd, &b(a), &b(c)).map(|_| Outcome::Ok)?,
            Op::Link(a, c) => v.link(cwd, &b(a), &b(c)).map(|_| Outcome::Ok)?,
            Op::Symlink(t, a) => v.symlink(&b(t), cwd, &b(a)).map(|_| Outcome::Ok)?,
            Op::Truncate(a, n) => {
                let f = v.open(cwd, &b(a), OpenFlags::write_only(), 0, 0)?;
                f.truncate(*n)?;
                Outcome::Ok
            }
            Op::Stat(a) => {
                let st = v.stat(cwd, &b(a), true)?;
                stat_outcome(st.mode, st.size)
            }
            Op::Lstat(a) => {
                let st = v.stat(cwd, &b(a), false)?;
                stat_outcome(st.mode, st.size)
            }
            Op::Readlink(a) => Outcome::Link(v.readlink(cwd, &b(a))?),
            Op::Open(a, [write, create, excl, nofollow, directory]) => {
                let flags = OpenFlags {
                    read: !*write,
                    write: *write,
                    create: *create,
                    excl: *excl,
                    nofollow: *nofollow,
                    directory: *directory,
                    ..Default::default()
                };
                v.open(cwd, &b(a), flags, 0o644, 0o022)?;
                Outcome::Ok
            }
        })
    })();
    res.unwrap_or_else(Outcome::Err)
}

/// A tree as `(path → description)`.
type Tree = BTreeMap<String, String>;

fn host_tree(dir: &Path, prefix: &str, out: &mut Tree) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = format!("{prefix}/{}", e.file_name().to_string_lossy());
        let m = std::fs::symlink_metadata(e.path()).unwrap();
        let desc = if m.is_dir() {
            host_tree(&e.path(), &name, out);
            "dir".to_string()
        } else if m.file_type().is_symlink() {
            format!("link {}", std::fs::read_link(e.path()).unwrap().display())
        } else {
            format!("file {} nlink {}", m.len(), m.nlink())
        };
        out.insert(name, desc);
    }
}

/// Lists the Vfs tree under `dir`, checking link counts and sizes on the
/// way; `counts` gathers names per inode, `sizes` each file's size.
fn vfs_tree(
    v: &Vfs,
    dir: &str,
    prefix: &str,
    out: &mut Tree,
    counts: &mut HashMap<u64, u32>,
    sizes: &mut HashMap<u64, u64>,
) {
    let d = v
        .open(b"/", dir.as_bytes(), OpenFlags::read_only(), 0, 0)
        .unwrap();
    let mut subdirs = 0;
    loop {
        let batch = d.getdents(4).unwrap();
        if batch.is_empty() {
            break;
        }
        for e in batch {
            if e.name == b"." || e.name == b".." {
                continue;
            }
            let name = String::from_utf8(e.name.clone()).unwrap();
            let full = format!("{dir}/{name}");
            let shown = format!("{prefix}/{name}");
            let st = v.stat(b"/", full.as_bytes(), false).unwrap();
            assert_eq!(st.ino, e.ino);
            assert_eq!(spin_fs::dtype_of_mode(st.mode), e.kind);
            let desc = if st.is_dir() {
                subdirs += 1;
                vfs_tree(v, &full, &shown, out, counts, sizes);
                "dir".to_string()
            } else if st.is_symlink() {
                format!(
                    "link {}",
                    String::from_utf8_lossy(&v.readlink(b"/", full.as_bytes()).unwrap())
                )
            } else {
                *counts.entry(st.ino).or_default() += 1;
                let f = v
                    .open(b"/", full.as_bytes(), OpenFlags::read_only(), 0, 0)
                    .unwrap();
                let mut data = Vec::new();
                let mut buf = [0u8; 97];
                loop {
                    let n = f.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    data.extend_from_slice(&buf[..n]);
                }
                assert_eq!(data.len() as u64, st.size, "size of {full}");
                sizes.insert(st.ino, st.size);
                format!("file {} nlink {}", st.size, st.nlink)
            };
            out.insert(shown, desc);
        }
    }
    let st = v.stat(b"/", dir.as_bytes(), true).unwrap();
    assert_eq!(st.nlink, 2 + subdirs, "nlink of {dir}");
}

fn check(ops: &[Op]) {
    let host = tempfile::tempdir().unwrap();
    // Two spare levels: even a walk that wrongly climbed would stay inside.
    let host_root: PathBuf = host.path().join("s1/s2/root");
    std::fs::create_dir_all(&host_root).unwrap();
    let mounted = tempfile::tempdir().unwrap();
    let mount_root = mounted.path().join("s1/s2/root");
    std::fs::create_dir_all(&mount_root).unwrap();

    let v = Vfs::new(Arc::new(Quiet));
    v.mkdir(b"/", b"/tmp/s1", 0o755, 0).unwrap();
    v.mkdir(b"/", b"/tmp/s1/s2", 0o755, 0).unwrap();
    v.mkdir(b"/", b"/tmp/s1/s2/root", 0o755, 0).unwrap();
    v.mount_host(b"/m", mounted.path(), true).unwrap();
    let (mem_cwd, mnt_cwd) = (&b"/tmp/s1/s2/root"[..], &b"/m/s1/s2/root"[..]);

    for (i, op) in ops.iter().enumerate() {
        let want = host_apply(&host_root, op);
        let got = vfs_apply(&v, mem_cwd, op);
        assert_eq!(got, want, "in-memory step {i}: {op:?}\nops: {ops:#?}");
        let via_mount = vfs_apply(&v, mnt_cwd, op);
        assert_eq!(
            via_mount, want,
            "host mount step {i}: {op:?}\nops: {ops:#?}"
        );
    }

    let mut want = Tree::new();
    host_tree(&host_root, "", &mut want);
    let mut mnt = Tree::new();
    host_tree(&mount_root, "", &mut mnt);
    let (mut got, mut counts, mut sizes) = (Tree::new(), HashMap::new(), HashMap::new());
    vfs_tree(&v, "/tmp/s1/s2/root", "", &mut got, &mut counts, &mut sizes);
    assert_eq!(got, want, "final tree\nops: {ops:#?}");
    assert_eq!(mnt, want, "final mounted tree\nops: {ops:#?}");
    // Every file's link count is the number of names it has.
    for (name, desc) in &got {
        if let Some(rest) = desc.strip_prefix("file ") {
            let st = v
                .stat(b"/", format!("/tmp/s1/s2/root{name}").as_bytes(), false)
                .unwrap();
            assert_eq!(
                counts[&st.ino], st.nlink,
                "nlink of {name} ({rest})\nops: {ops:#?}"
            );
        }
    }
    // Space account: exactly the bytes of the live in-memory files.
    assert_eq!(
        v.space_used(),
        sizes.values().sum::<u64>(),
        "space account\nops: {ops:#?}"
    );
}

proptest! {
    // 256 cases by default; PROPTEST_CASES=20000 for a long hunt.
    #[test]
    fn random_ops_match_the_host_kernel(ops in prop::collection::vec(op(), 1..40)) {
        check(&ops);
    }
}
