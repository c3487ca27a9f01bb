//! The first program's standard streams, from the configuration's [`Stdio`].

use std::io::IsTerminal;
use std::sync::Arc;

use spin_fs::{Errno, OpenFile, OpenFlags, Vfs};

use crate::config::{CaptureWriter, Stdio, UnixConfig};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stream {
    In,
    Out,
    Err,
}

/// Opens stdin, stdout and stderr. Only an inherited stdin reads the host on
/// a background thread; the others are plain files, so a run with them
/// replays exactly. A stream is a terminal to the guest only if its host
/// stream is one (as under qemu: `isatty`, stdio buffering, `ls` columns)
/// or the configuration says so ([`Stdio::Terminal`]).
pub(super) fn open(vfs: &Vfs, cfg: &UnixConfig) -> Result<[Option<Arc<OpenFile>>; 3], String> {
    Ok([
        Some(one(vfs, &cfg.stdin, Stream::In)?),
        Some(one(vfs, &cfg.stdout, Stream::Out)?),
        Some(one(vfs, &cfg.stderr, Stream::Err)?),
    ])
}

fn one(vfs: &Vfs, s: &Stdio, which: Stream) -> Result<Arc<OpenFile>, String> {
    let setup = |e: Errno| format!("cannot set up standard streams: {e}");
    let input = which == Stream::In;
    let null = || {
        let flags = OpenFlags {
            read: input,
            write: !input,
            ..OpenFlags::default()
        };
        vfs.open(b"/", b"/dev/null", flags, 0, 0).map_err(setup)
    };
    Ok(match (s, which) {
        (Stdio::Inherit, Stream::In) => vfs.stream(
            Some(Box::new(std::io::stdin())),
            None,
            std::io::stdin().is_terminal(),
        ),
        (Stdio::Inherit, Stream::Out) => vfs.stream(
            None,
            Some(Box::new(std::io::stdout())),
            std::io::stdout().is_terminal(),
        ),
        (Stdio::Inherit, Stream::Err) => vfs.stream(
            None,
            Some(Box::new(std::io::stderr())),
            std::io::stderr().is_terminal(),
        ),
        (Stdio::Null, _) => null()?,
        (Stdio::Bytes(b), Stream::In) => {
            let path = b"/tmp/.spin-stdin";
            vfs.put_file(path, b, 0o400).map_err(setup)?;
            let flags = OpenFlags {
                read: true,
                ..OpenFlags::default()
            };
            let f = vfs.open(b"/", path, flags, 0, 0).map_err(setup)?;
            vfs.unlink(b"/", path).map_err(setup)?;
            f
        }
        // Output-only kinds as input, and bytes as output: nothing there.
        (Stdio::Capture(_) | Stdio::Writer(_) | Stdio::Terminal(_), Stream::In)
        | (Stdio::Bytes(_), _) => null()?,
        (Stdio::Capture(buf), _) => {
            vfs.stream(None, Some(Box::new(CaptureWriter(buf.clone()))), false)
        }
        (Stdio::Writer(w), _) => vfs.stream(None, Some(Box::new(w.clone())), false),
        (Stdio::Terminal(w), _) => vfs.stream(None, Some(Box::new(w.clone())), true),
    })
}
