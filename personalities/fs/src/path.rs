//! Guest path syntax: validation and splitting into components.
//!
//! Only syntax lives here; resolution (symlinks, `..` across mounts) is in
//! [`crate::walk`].

use crate::types::{NAME_MAX, PATH_MAX};
use crate::{Errno, SysResult};

/// A syntactically valid guest path, split at slashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed<'a> {
    /// Starts with `/`.
    pub absolute: bool,
    /// Non-empty components in order (`.` and `..` kept).
    pub components: Vec<&'a [u8]>,
    /// Ends with `/` after a component: the result must be a directory.
    pub trailing_slash: bool,
}

/// Checks and splits `path`: `ENOENT` if empty, `ENAMETOOLONG` past
/// [`PATH_MAX`] bytes or a component past [`NAME_MAX`], `EINVAL` on a NUL.
pub(crate) fn parse(path: &[u8]) -> SysResult<Parsed<'_>> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    // PATH_MAX counts the terminating NUL the guest supplied.
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if path.contains(&0) {
        return Err(Errno::EINVAL);
    }
    let components: Vec<&[u8]> = path
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .collect();
    if components.iter().any(|c| c.len() > NAME_MAX) {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(Parsed {
        absolute: path[0] == b'/',
        trailing_slash: path.last() == Some(&b'/') && !components.is_empty(),
        components,
    })
}

/// Whether a component is `.` or `..`.
pub(crate) fn is_dot(name: &[u8]) -> bool {
    name == b"." || name == b".."
}

/// Joins component names into an absolute path (`/` for none).
pub(crate) fn join<'a>(names: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for n in names {
        out.push(b'/');
        out.extend_from_slice(n);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_flags() {
        let p = parse(b"//a///b/").unwrap();
        assert!(p.absolute);
        assert_eq!(p.components, vec![&b"a"[..], &b"b"[..]]);
        assert!(p.trailing_slash);
        let p = parse(b"/").unwrap();
        assert!(p.absolute && p.components.is_empty() && !p.trailing_slash);
        let p = parse(b"x/./..").unwrap();
        assert!(!p.absolute);
        assert_eq!(p.components.len(), 3);
    }

    #[test]
    fn rejects_bad_paths() {
        assert_eq!(parse(b""), Err(Errno::ENOENT));
        assert_eq!(parse(&[b'a'; 4096]), Err(Errno::ENAMETOOLONG));
        assert!(parse(&[b'a'; 4095]).is_err()); // component too long
        let mut ok = vec![b'a'; 255];
        ok.push(b'/');
        assert!(parse(&ok).is_ok());
        assert_eq!(parse(&[b'a'; 256]), Err(Errno::ENAMETOOLONG));
        assert_eq!(parse(b"a\0b"), Err(Errno::EINVAL));
    }

    #[test]
    fn joins() {
        assert_eq!(join(std::iter::empty()), b"/");
        assert_eq!(join([&b"a"[..], b"bc"].into_iter()), b"/a/bc");
    }
}
