//! A TAP device as a [`Nic`]: whole Ethernet frames (no packet-info header)
//! through `/dev/net/tun`.
//!
//! [`TapNic::open`] attaches to the interface `name`, creating it if it does
//! not exist (that needs `CAP_NET_ADMIN`). A persistent tap made beforehand
//! (`ip tuntap add dev tap0 mode tap`, possibly `user UID`) is attached to
//! as it is — that is how the tests run it inside a network namespace. The
//! descriptor is non-blocking: [`Nic::receive`] returns `None` when nothing
//! is queued, and the network pump waits for [`TapNic::fd`] to become
//! readable.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::{AsRawFd, RawFd};
use std::sync::Mutex;

use spin_net::wire::ethernet::HEADER_LEN;
use spin_net::{Nic, NicError};
use vmm_sys_util::ioctl::ioctl_with_mut_ref;

/// Longest interface name Linux accepts, in bytes (IFNAMSIZ less the NUL).
pub const MAX_NAME: usize = 15;

/// The ioctl numbers of `<linux/if_tun.h>`.
#[allow(missing_docs)]
mod nr {
    use vmm_sys_util::ioctl_iow_nr;
    const TUNTAP: std::os::raw::c_uint = b'T' as std::os::raw::c_uint;
    ioctl_iow_nr!(TUNSETIFF, TUNTAP, 202, std::os::raw::c_int);
}
use nr::TUNSETIFF;

/// `struct ifreq` as TUNSETIFF reads it: the name, then the flags (the rest
/// of the kernel's union is padding here).
#[repr(C)]
struct IfReq {
    name: [u8; 16],
    flags: std::os::raw::c_short,
    _pad: [u8; 22],
}

/// Why a TAP device could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum TapError {
    /// The interface name is empty, too long or has a `/` or a space.
    #[error("tap interface name `{0}`: must be 1 to 15 bytes, without '/', ':' or spaces")]
    BadName(String),
    /// The TUN/TAP driver is absent.
    #[error(
        "no /dev/net/tun: this kernel has no TUN/TAP driver (modprobe tun) or the device \
         node is missing (mknod /dev/net/tun c 10 200); use --net user instead"
    )]
    NoDevice,
    /// Not allowed to open the device or create/attach the interface.
    #[error(
        "tap {name}: permission denied: creating a tap needs CAP_NET_ADMIN (run as root), \
         or create it beforehand for your user: ip tuntap add dev {name} mode tap user $USER; \
         or use --net user"
    )]
    Permission {
        /// The interface.
        name: String,
    },
    /// The interface exists and is attached to another process (or is not
    /// a tap).
    #[error("tap {name}: busy: another process has it open, or it is not a tap device")]
    Busy {
        /// The interface.
        name: String,
    },
    /// Anything else the system refused.
    #[error("tap {name}: {what}: {err}")]
    Io {
        /// The interface.
        name: String,
        /// What was being done.
        what: &'static str,
        /// The system's error.
        err: std::io::Error,
    },
}

/// A TAP interface opened for whole frames; see the module docs.
#[derive(Debug)]
pub struct TapNic {
    file: File,
    name: String,
    /// Receive buffer (only the pump receives; the lock is uncontended).
    buf: Mutex<Vec<u8>>,
}

/// Largest frame read at once: a frame of any MTU the tap may be set to
/// (no GSO without IFF_VNET_HDR, so never more than MTU + header).
const RX_BUF: usize = 65_536 + HEADER_LEN;

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0)
}

impl TapNic {
    /// Opens (or creates) the tap interface `name`; see the module docs.
    pub fn open(name: &str) -> Result<TapNic, TapError> {
        if !valid_name(name) {
            return Err(TapError::BadName(name.to_string()));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open("/dev/net/tun")
            .map_err(|err| match err.kind() {
                ErrorKind::NotFound => TapError::NoDevice,
                ErrorKind::PermissionDenied => TapError::Permission {
                    name: name.to_string(),
                },
                _ if err.raw_os_error() == Some(libc::ENODEV)
                    || err.raw_os_error() == Some(libc::ENXIO) =>
                {
                    TapError::NoDevice
                }
                _ => TapError::Io {
                    name: name.to_string(),
                    what: "opening /dev/net/tun",
                    err,
                },
            })?;
        let mut req = IfReq {
            name: [0; 16],
            flags: (libc::IFF_TAP | libc::IFF_NO_PI) as std::os::raw::c_short,
            _pad: [0; 22],
        };
        req.name[..name.len()].copy_from_slice(name.as_bytes());
        // SAFETY: `file` is an open /dev/net/tun descriptor, TUNSETIFF reads
        // and writes a `struct ifreq`, and `req` is a live, properly sized
        // (40-byte) `#[repr(C)]` value with a NUL-terminated name.
        let r = unsafe { ioctl_with_mut_ref(&file, TUNSETIFF(), &mut req) };
        if r < 0 {
            let err = std::io::Error::last_os_error();
            return Err(match err.raw_os_error() {
                Some(libc::EPERM) | Some(libc::EACCES) => TapError::Permission {
                    name: name.to_string(),
                },
                Some(libc::EBUSY) | Some(libc::EINVAL) => TapError::Busy {
                    name: name.to_string(),
                },
                _ => TapError::Io {
                    name: name.to_string(),
                    what: "TUNSETIFF",
                    err,
                },
            });
        }
        let end = req.name.iter().position(|&b| b == 0).unwrap_or(16);
        Ok(TapNic {
            file,
            name: String::from_utf8_lossy(&req.name[..end]).into_owned(),
            buf: Mutex::new(vec![0; RX_BUF]),
        })
    }

    /// The interface's name as the kernel has it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The descriptor the pump waits on (readable when a frame is queued).
    pub fn fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

impl Nic for TapNic {
    fn transmit(&self, frame: Vec<u8>) -> Result<(), NicError> {
        if frame.len() > self.mtu() + HEADER_LEN {
            return Err(NicError::TooBig);
        }
        // One write is one frame; `&File` writes without exclusive access.
        match (&self.file).write(&frame) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::WouldBlock => Err(NicError::QueueFull),
            // EIO: the interface is down; EBADFD: detached.
            Err(_) => Err(NicError::LinkDown),
        }
    }

    fn receive(&self) -> Option<Vec<u8>> {
        let mut buf = self.buf.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match (&self.file).read(&mut buf[..]) {
                Ok(0) => return None,
                Ok(n) => return Some(buf[..n].to_vec()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // WouldBlock (nothing queued) or the interface went away.
                Err(_) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_before_the_device_is_touched() {
        for bad in ["", "a/b", "has space", "sixteen-bytes-xx", "x:y"] {
            let e = TapNic::open(bad).expect_err(bad);
            assert!(matches!(e, TapError::BadName(_)), "{bad}: {e}");
            assert!(e.to_string().contains("1 to 15 bytes"), "{e}");
        }
        assert!(valid_name("tap0"));
        assert!(valid_name("fifteen-bytes-x"));
    }

    #[test]
    fn ifreq_has_the_kernels_size() {
        assert_eq!(std::mem::size_of::<IfReq>(), 40);
    }
}
