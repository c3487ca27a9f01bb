//! Recorded reference strings: what `opt` replays and the benchmark
//! compares policies on.
//!
//! File format: the 8 bytes `SPINTRC1`, then one 9-byte record per
//! reference: the page number (u64, little-endian) and a flags byte (bits
//! 0–1 the [`PageKind`] code, bit 2 set for a write, the rest zero).

use std::sync::Arc;

use crate::page::{PageKind, PageNo, Ref};

/// The file's first bytes.
pub const MAGIC: &[u8; 8] = b"SPINTRC1";
const RECORD: usize = 9;

/// Why bytes are not a trace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceError {
    /// The magic is missing.
    #[error("not a reference trace (no SPINTRC1 header)")]
    NotATrace,
    /// The length is not the header plus whole records.
    #[error("the trace ends inside a record ({0} stray bytes)")]
    Truncated(usize),
    /// A flags byte with unknown bits.
    #[error("record {0} has unknown flags {1:#04x}")]
    BadFlags(usize, u8),
}

/// A reference string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// The references, in order.
    pub refs: Vec<Ref>,
}

impl Trace {
    /// The trace of `refs`.
    pub fn new(refs: Vec<Ref>) -> Trace {
        Trace { refs }
    }

    /// Just the pages (what `opt` needs).
    pub fn pages(&self) -> Arc<[PageNo]> {
        self.refs.iter().map(|r| r.page).collect()
    }

    /// Distinct pages referenced.
    pub fn footprint(&self) -> usize {
        let mut p: Vec<PageNo> = self.refs.iter().map(|r| r.page).collect();
        p.sort_unstable();
        p.dedup();
        p.len()
    }

    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAGIC.len() + RECORD * self.refs.len());
        out.extend_from_slice(MAGIC);
        for r in &self.refs {
            out.extend_from_slice(&r.page.to_le_bytes());
            out.push(r.kind.code() | (u8::from(r.write) << 2));
        }
        out
    }

    /// Parses a file's bytes.
    pub fn decode(bytes: &[u8]) -> Result<Trace, TraceError> {
        let body = bytes.strip_prefix(MAGIC).ok_or(TraceError::NotATrace)?;
        if body.len() % RECORD != 0 {
            return Err(TraceError::Truncated(body.len() % RECORD));
        }
        let mut refs = Vec::with_capacity(body.len() / RECORD);
        for (i, rec) in body.chunks_exact(RECORD).enumerate() {
            let mut page = [0u8; 8];
            page.copy_from_slice(&rec[..8]);
            let flags = rec[8];
            let kind = PageKind::from_code(u64::from(flags & 3))
                .filter(|_| flags & !7 == 0)
                .ok_or(TraceError::BadFlags(i, flags))?;
            refs.push(Ref {
                page: u64::from_le_bytes(page),
                write: flags & 4 != 0,
                kind,
            });
        }
        Ok(Trace { refs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_survives_its_file_format() {
        let t = Trace::new(vec![
            Ref::read(7),
            Ref {
                page: u64::MAX,
                write: true,
                kind: PageKind::Hot,
            },
            Ref {
                page: 3,
                write: false,
                kind: PageKind::Scan,
            },
        ]);
        let b = t.encode();
        assert_eq!(b.len(), 8 + 27);
        assert_eq!(&b[8..17], &[7, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(b[8 + 9 + 8], 3 | 4);
        assert_eq!(Trace::decode(&b).unwrap(), t);
    }

    #[test]
    fn malformed_traces_are_errors() {
        assert_eq!(Trace::decode(b"nope"), Err(TraceError::NotATrace));
        let mut b = Trace::new(vec![Ref::read(1)]).encode();
        b.push(0);
        assert_eq!(Trace::decode(&b), Err(TraceError::Truncated(1)));
        b.pop();
        b[16] = 0x80;
        assert_eq!(Trace::decode(&b), Err(TraceError::BadFlags(0, 0x80)));
    }
}
