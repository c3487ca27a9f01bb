//! What the pager knows of a page reference.

use serde::{Deserialize, Serialize};

/// A page of the database file: its offset divided by the page size.
pub type PageNo = u64;

/// What kind of access a page serves, as the database hinted it (or
/// [`PageKind::Normal`] when it said nothing). Only the `hinted` policy acts
/// on it; every policy's telemetry counts resident pages by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PageKind {
    /// Read by a sequential scan: worth the least once the scan moved on.
    Scan,
    /// No hint.
    Normal,
    /// An index page (inner node of a B-tree probed on every lookup).
    Index,
    /// A page the database asked to keep resident (its hot set).
    Hot,
}

impl PageKind {
    /// Every kind, least valuable first.
    pub const ALL: [PageKind; 4] = [
        PageKind::Scan,
        PageKind::Normal,
        PageKind::Index,
        PageKind::Hot,
    ];

    /// The kind's code in a trace file and in the extension call.
    pub fn code(self) -> u8 {
        match self {
            PageKind::Scan => 0,
            PageKind::Normal => 1,
            PageKind::Index => 2,
            PageKind::Hot => 3,
        }
    }

    /// The kind of code `c`, `None` for an unknown code.
    pub fn from_code(c: u64) -> Option<PageKind> {
        Some(match c {
            0 => PageKind::Scan,
            1 => PageKind::Normal,
            2 => PageKind::Index,
            3 => PageKind::Hot,
            _ => return None,
        })
    }

    /// The kind a resident page keeps after another reference of kind
    /// `new`: a scan passing over a page someone valued does not demote it.
    pub fn after(self, new: PageKind) -> PageKind {
        if new == PageKind::Scan {
            self
        } else {
            new
        }
    }
}

/// One page reference: what a trace records and a policy sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ref {
    /// The page.
    pub page: PageNo,
    /// Whether the access wrote the page.
    pub write: bool,
    /// Its kind, from the database's hints.
    pub kind: PageKind,
}

impl Ref {
    /// A read of `page` with no hint.
    pub fn read(page: PageNo) -> Ref {
        Ref {
            page,
            write: false,
            kind: PageKind::Normal,
        }
    }
}
