//! Path resolution: from a cwd and a guest path to a location, one
//! component at a time, following symbolic links (at most
//! [`MAX_SYMLINKS`]) and crossing into host mounts.
//!
//! Resolution keeps the stack of directories walked through, so `..` is
//! physical (it leaves a followed symlink's target, not the link) and
//! can never climb above a mount into the host: at a mount's root, `..`
//! pops back into the in-memory directory that holds it.

use std::sync::Arc;

use crate::host::{HostLoc, Kind};
use crate::mem::{Body, MemInode};
use crate::open_file::OpenFile;
use crate::path::{self, Parsed};
use crate::proc::ProcNode;
use crate::shared::Shared;
use crate::types::{Stat, MAX_SYMLINKS, S_IFDIR, S_IFLNK, S_IFMT, X_OK};
use crate::{Errno, SysResult};

/// Where a path leads.
#[derive(Clone)]
pub(crate) enum Loc {
    /// An in-memory node.
    Mem(Arc<MemInode>),
    /// A host file under a mount, with its type at lookup time.
    Host(HostLoc, Kind),
    /// A node of `/proc/self`.
    Proc(ProcNode),
    /// The object behind `/proc/self/fd/N` when it has no path (a pipe or
    /// console): opening it opens that object again.
    Reopen(Arc<OpenFile>),
}

impl Loc {
    /// Coarse type.
    pub fn kind(&self) -> Kind {
        match self {
            Loc::Mem(m) => match m.mode() & S_IFMT {
                S_IFDIR => Kind::Dir,
                S_IFLNK => Kind::Symlink,
                crate::types::S_IFREG => Kind::File,
                _ => Kind::Device,
            },
            Loc::Host(_, k) => *k,
            Loc::Proc(p) => p.kind(),
            Loc::Reopen(f) => {
                if f.is_dir() {
                    Kind::Dir
                } else {
                    Kind::Other
                }
            }
        }
    }

    pub fn is_dir(&self) -> bool {
        self.kind() == Kind::Dir
    }

    pub fn is_symlink(&self) -> bool {
        self.kind() == Kind::Symlink
    }

    /// `lstat` of the location.
    pub fn stat(&self, shared: &Shared) -> SysResult<Stat> {
        match self {
            Loc::Mem(m) => Ok(m.stat()),
            Loc::Host(h, _) => h.lstat().map(|m| crate::host::stat_of(&m)),
            Loc::Proc(p) => p.stat(shared),
            Loc::Reopen(f) => f.stat(),
        }
    }

    /// Whether both name the same file.
    pub fn same(&self, other: &Loc) -> bool {
        match (self, other) {
            (Loc::Mem(a), Loc::Mem(b)) => Arc::ptr_eq(a, b),
            (Loc::Host(a, _), Loc::Host(b, _)) => a.same_file(b),
            _ => false,
        }
    }

    /// Whether the owner may access it (`R_OK|W_OK|X_OK` mask).
    pub fn permits(&self, shared: &Shared, want: u32) -> bool {
        if want == 0 {
            return true;
        }
        match self {
            Loc::Mem(m) => m.permits(want),
            other => match other.stat(shared) {
                Ok(st) => shared.permits(st.mode, st.uid, st.gid, want),
                Err(_) => false,
            },
        }
    }
}

/// One directory on the walked path.
#[derive(Clone)]
pub(crate) struct Frame {
    pub name: Vec<u8>,
    pub loc: Loc,
}

/// The directories from the root to the current one (never empty).
#[derive(Clone)]
pub(crate) struct Stack(Vec<Frame>);

impl Stack {
    pub fn root(root: &Arc<MemInode>) -> Stack {
        Stack(vec![Frame {
            name: Vec::new(),
            loc: Loc::Mem(Arc::clone(root)),
        }])
    }

    pub fn top(&self) -> &Loc {
        // The stack always holds the root frame; pop never removes it.
        &self
            .0
            .last()
            .expect("a walk stack always holds the root")
            .loc
    }

    /// The directory holding the top (the root for the root).
    pub fn parent(&self) -> &Loc {
        let n = self.0.len();
        &self.0[n.saturating_sub(2)].loc
    }

    pub fn push(&mut self, name: &[u8], loc: Loc) {
        self.0.push(Frame {
            name: name.to_vec(),
            loc,
        });
    }

    /// `..`: stays at the root.
    pub fn pop(&mut self) {
        if self.0.len() > 1 {
            self.0.pop();
        }
    }

    /// Whether `loc` is on the stack (is an ancestor-or-self of the top).
    pub fn contains(&self, loc: &Loc) -> bool {
        self.0.iter().any(|f| f.loc.same(loc))
    }

    /// Canonical absolute path of the top.
    pub fn path(&self) -> Vec<u8> {
        path::join(self.0.iter().skip(1).map(|f| f.name.as_slice()))
    }

    /// Canonical path of `name` inside the top.
    pub fn path_of(&self, name: &[u8]) -> Vec<u8> {
        path::join(
            self.0
                .iter()
                .skip(1)
                .map(|f| f.name.as_slice())
                .chain(std::iter::once(name)),
        )
    }
}

/// What the last component of a path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Last {
    /// A name to look up in the top directory.
    Name(Vec<u8>),
    /// `.`: the top itself.
    Dot,
    /// `..`: the top, after popping.
    DotDot,
    /// The path was `/`.
    Root,
}

/// The end of a walk: the directory stack plus the final component.
pub(crate) struct Walked {
    pub stack: Stack,
    pub last: Last,
    /// The path ended with a slash (the result must be a directory).
    pub must_dir: bool,
}

/// The target of a symbolic link.
enum Target {
    Path(Vec<u8>),
    Object(Arc<OpenFile>),
}

/// The namespace of one Vfs: its in-memory root plus the shared state.
pub(crate) struct Tree {
    pub root: Arc<MemInode>,
    pub shared: Arc<Shared>,
}

impl Tree {
    /// Looks `name` up in directory `dir`: `None` if absent; `ENOTDIR` if
    /// `dir` is not a directory, `EACCES` without search permission.
    pub fn lookup(&self, dir: &Loc, name: &[u8]) -> SysResult<Option<Loc>> {
        match dir {
            Loc::Mem(inode) => {
                let backing = {
                    let st = inode.state();
                    let d = st.dir()?;
                    if !self
                        .shared
                        .permits(st.meta.mode, st.meta.uid, st.meta.gid, X_OK)
                    {
                        return Err(Errno::EACCES);
                    }
                    if let Some(child) = d.entries.get(name) {
                        return Ok(Some(Loc::Mem(Arc::clone(child))));
                    }
                    if d.proc_root && name == b"self" && self.shared.resolver().is_some() {
                        return Ok(Some(Loc::Proc(ProcNode::SelfDir)));
                    }
                    d.backing.clone()
                };
                match backing {
                    // A mount point whose host directory vanished looks empty.
                    Some(b) => match b.lookup(name) {
                        Ok(found) => Ok(found.map(|(h, k)| Loc::Host(h, k))),
                        Err(Errno::ENOENT | Errno::ENOTDIR) => Ok(None),
                        Err(e) => Err(e),
                    },
                    None => Ok(None),
                }
            }
            Loc::Host(h, Kind::Dir) => Ok(h.lookup(name)?.map(|(h, k)| Loc::Host(h, k))),
            Loc::Proc(p) => p.lookup(&self.shared, name),
            Loc::Host(..) | Loc::Reopen(_) => Err(Errno::ENOTDIR),
        }
    }

    /// The stack of the directory `cwd` names (absolute, normally canonical).
    fn cwd_stack(&self, cwd: &[u8]) -> SysResult<Stack> {
        if cwd.first() != Some(&b'/') {
            return Err(Errno::ENOENT);
        }
        let mut depth = 0;
        let walked = self.walk_from(Stack::root(&self.root), cwd, &mut depth)?;
        let stack = self.finish(walked, true, &mut depth)?;
        if stack.top().is_dir() {
            Ok(stack)
        } else {
            Err(Errno::ENOTDIR)
        }
    }

    /// Walks all but the last component of `path`.
    pub fn walk(&self, cwd: &[u8], path: &[u8]) -> SysResult<Walked> {
        let parsed = path::parse(path)?;
        let start = if parsed.absolute {
            Stack::root(&self.root)
        } else {
            self.cwd_stack(cwd)?
        };
        let mut depth = 0;
        self.walk_parsed(start, parsed, &mut depth)
    }

    /// Walks the whole of `path`; `follow` decides whether a final symbolic
    /// link is followed (a trailing slash always follows).
    pub fn resolve(&self, cwd: &[u8], path: &[u8], follow: bool) -> SysResult<Stack> {
        let parsed = path::parse(path)?;
        let start = if parsed.absolute {
            Stack::root(&self.root)
        } else {
            self.cwd_stack(cwd)?
        };
        let mut depth = 0;
        let walked = self.walk_parsed(start, parsed, &mut depth)?;
        self.finish(walked, follow, &mut depth)
    }

    /// Follows the symbolic link `link` found in `walked.stack`'s top:
    /// returns the walk of its target (sharing the link budget `depth`).
    pub fn follow_link(
        &self,
        stack: Stack,
        link: &Loc,
        depth: &mut u32,
    ) -> SysResult<FollowResult> {
        *depth += 1;
        if *depth > MAX_SYMLINKS {
            return Err(Errno::ELOOP);
        }
        match self.link_target(link)? {
            Target::Path(target) => {
                Ok(FollowResult::Walked(self.walk_from(stack, &target, depth)?))
            }
            Target::Object(file) => Ok(FollowResult::Object(file)),
        }
    }

    fn walk_from(&self, stack: Stack, path: &[u8], depth: &mut u32) -> SysResult<Walked> {
        let parsed = path::parse(path)?;
        let start = if parsed.absolute {
            Stack::root(&self.root)
        } else {
            stack
        };
        self.walk_parsed(start, parsed, depth)
    }

    fn walk_parsed(
        &self,
        mut stack: Stack,
        parsed: Parsed<'_>,
        depth: &mut u32,
    ) -> SysResult<Walked> {
        let Some((last, init)) = parsed.components.split_last() else {
            return Ok(Walked {
                stack,
                last: Last::Root,
                must_dir: true,
            });
        };
        for comp in init {
            match *comp {
                b"." => {}
                b".." => stack.pop(),
                _ => {
                    let walked = Walked {
                        stack,
                        last: Last::Name(comp.to_vec()),
                        must_dir: true,
                    };
                    stack = self.finish(walked, true, depth)?;
                }
            }
        }
        Ok(match *last {
            b"." => Walked {
                stack,
                last: Last::Dot,
                must_dir: true,
            },
            b".." => {
                stack.pop();
                Walked {
                    stack,
                    last: Last::DotDot,
                    must_dir: true,
                }
            }
            name => Walked {
                stack,
                last: Last::Name(name.to_vec()),
                must_dir: parsed.trailing_slash,
            },
        })
    }

    /// Resolves the last component of a walk to an existing location.
    pub fn finish(&self, mut walked: Walked, follow: bool, depth: &mut u32) -> SysResult<Stack> {
        loop {
            let name = match walked.last {
                Last::Name(name) => name,
                _ => return Ok(walked.stack),
            };
            let loc = self
                .lookup(walked.stack.top(), &name)?
                .ok_or(Errno::ENOENT)?;
            if loc.is_symlink() && (follow || walked.must_dir) {
                let must_dir = walked.must_dir;
                match self.follow_link(walked.stack, &loc, depth)? {
                    FollowResult::Walked(next) => {
                        walked = Walked {
                            must_dir: next.must_dir || must_dir,
                            ..next
                        };
                        continue;
                    }
                    FollowResult::Object(file) => {
                        // The stack is gone; rebuild a path-like stack for
                        // the object under /proc/self/fd.
                        let mut stack = Stack::root(&self.root);
                        stack.push(b"proc", Loc::Mem(Arc::clone(&self.root)));
                        stack.push(b"self", Loc::Proc(ProcNode::SelfDir));
                        stack.push(b"fd", Loc::Proc(ProcNode::FdDir));
                        let loc = Loc::Reopen(file);
                        if must_dir && !loc.is_dir() {
                            return Err(Errno::ENOTDIR);
                        }
                        stack.push(&name, loc);
                        return Ok(stack);
                    }
                }
            }
            if walked.must_dir && !loc.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            walked.stack.push(&name, loc);
            return Ok(walked.stack);
        }
    }

    fn link_target(&self, link: &Loc) -> SysResult<Target> {
        let target = match link {
            Loc::Mem(m) => m.symlink_target().ok_or(Errno::EINVAL)?,
            Loc::Host(h, _) => h.read_link()?,
            Loc::Proc(p) => {
                return p.target(&self.shared).map(|t| match t {
                    crate::proc::ProcTarget::Path(p) => Target::Path(p),
                    crate::proc::ProcTarget::Object(f) => Target::Object(f),
                })
            }
            Loc::Reopen(_) => return Err(Errno::EINVAL),
        };
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        Ok(Target::Path(target))
    }

    /// The contents of a symbolic link (`readlink`); `EINVAL` for others.
    pub fn read_link(&self, link: &Loc) -> SysResult<Vec<u8>> {
        match link {
            Loc::Mem(m) => m.symlink_target().ok_or(Errno::EINVAL),
            Loc::Host(h, Kind::Symlink) => h.read_link(),
            Loc::Proc(p) => p.readlink(&self.shared),
            _ => Err(Errno::EINVAL),
        }
    }
}

/// Where following a symbolic link leads.
pub(crate) enum FollowResult {
    Walked(Walked),
    Object(Arc<OpenFile>),
}

/// Whether a directory holds nothing but `.` and `..`, counting a backing
/// host directory's entries.
pub(crate) fn mem_dir_is_empty(inode: &MemInode) -> SysResult<bool> {
    let backing = {
        let st = inode.state();
        let Body::Dir(d) = &st.body else {
            return Err(Errno::ENOTDIR);
        };
        if !d.entries.is_empty() {
            return Ok(false);
        }
        d.backing.clone()
    };
    match backing {
        Some(b) => Ok(b.list().map(|l| l.is_empty()).unwrap_or(true)),
        None => Ok(true),
    }
}
