//! Device nodes of `/dev`.

use crate::types::makedev;

/// The character devices the in-memory `/dev` provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// `/dev/null`: reads end of file, writes vanish.
    Null,
    /// `/dev/zero`: reads zeros, writes vanish.
    Zero,
    /// `/dev/full`: reads zeros, writes fail with `ENOSPC`.
    Full,
    /// `/dev/random`: the same seeded generator as `urandom`.
    Random,
    /// `/dev/urandom`: the Vfs's seeded generator.
    Urandom,
    /// `/dev/tty`: opens the Vfs's controlling console.
    Tty,
}

impl DeviceKind {
    /// Every device, with its name under `/dev`.
    pub const ALL: [(&'static [u8], DeviceKind); 6] = [
        (b"null", DeviceKind::Null),
        (b"zero", DeviceKind::Zero),
        (b"full", DeviceKind::Full),
        (b"random", DeviceKind::Random),
        (b"urandom", DeviceKind::Urandom),
        (b"tty", DeviceKind::Tty),
    ];

    /// Linux's device number for it.
    pub fn rdev(self) -> u64 {
        match self {
            DeviceKind::Null => makedev(1, 3),
            DeviceKind::Zero => makedev(1, 5),
            DeviceKind::Full => makedev(1, 7),
            DeviceKind::Random => makedev(1, 8),
            DeviceKind::Urandom => makedev(1, 9),
            DeviceKind::Tty => makedev(5, 0),
        }
    }

    /// Permission bits of its node.
    pub fn perm(self) -> u32 {
        0o666
    }
}
