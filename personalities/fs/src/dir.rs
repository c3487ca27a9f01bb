//! Directory listings for `getdents`: `.`, `..`, then the entries in name
//! order (in-memory entries first, then a backing host directory's entries
//! they do not shadow).

use std::sync::Arc;

use crate::host::Kind;
use crate::shared::Shared;
use crate::types::{dtype_of_mode, DirEntry, DT_DIR, DT_UNKNOWN};
use crate::walk::Loc;
use crate::{Errno, SysResult};

/// A snapshot of the entries of directory `loc` whose parent is `parent`.
pub(crate) fn list(shared: &Shared, loc: &Loc, parent: &Loc) -> SysResult<Vec<DirEntry>> {
    let mut raw: Vec<(Vec<u8>, u64, u8)> = vec![
        (b".".to_vec(), loc.stat(shared)?.ino, DT_DIR),
        (
            b"..".to_vec(),
            parent.stat(shared).map(|s| s.ino).unwrap_or(0),
            DT_DIR,
        ),
    ];
    match loc {
        Loc::Mem(inode) => {
            // Take the children out under the lock, then look at each one
            // alone (never two inode locks at once without the ns mutex).
            let (children, proc_root, backing) = {
                let st = inode.state();
                let d = st.dir()?;
                let children: Vec<(Vec<u8>, Arc<crate::mem::MemInode>)> = d
                    .entries
                    .iter()
                    .map(|(n, c)| (n.clone(), Arc::clone(c)))
                    .collect();
                (children, d.proc_root, d.backing.clone())
            };
            let mut names: std::collections::BTreeSet<Vec<u8>> = std::collections::BTreeSet::new();
            for (name, child) in children {
                raw.push((name.clone(), child.ino, dtype_of_mode(child.mode())));
                names.insert(name);
            }
            if proc_root && shared.resolver().is_some() && !names.contains(&b"self"[..]) {
                raw.push((
                    b"self".to_vec(),
                    crate::proc::ProcNode::SelfDir.ino(),
                    DT_DIR,
                ));
            }
            if let Some(b) = backing {
                // A vanished host directory lists as empty.
                let host = b.list().unwrap_or_default();
                raw.extend(host.into_iter().filter(|(n, _, _)| !names.contains(n)));
            }
        }
        Loc::Host(h, Kind::Dir) => raw.extend(h.list()?),
        Loc::Proc(p) => raw.extend(p.list(shared)?),
        _ => return Err(Errno::ENOTDIR),
    }
    Ok(raw
        .into_iter()
        .enumerate()
        .map(|(i, (name, ino, kind))| DirEntry {
            ino,
            kind: if kind == 0 { DT_UNKNOWN } else { kind },
            name,
            off: i as u64 + 1,
        })
        .collect())
}
