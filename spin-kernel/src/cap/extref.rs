//! Externalized references: how guests name kernel objects.
//!
//! Each mound has an [`ExternTable`] mapping small integers to capabilities. A
//! reference encodes the owning mound, a slot index and the slot's generation;
//! every use checks all three plus the object's type, so a forged, stale or
//! foreign reference is an error value, never a panic.

use std::any::Any;
use std::sync::Arc;

use super::Cap;
use crate::strand::MoundId;

/// A guest-visible reference: `mound:16 | generation:24 | index:24` packed in a `u64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ExternRef(pub u64);

const INDEX_BITS: u32 = 24;
const GEN_BITS: u32 = 24;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
const GEN_MASK: u64 = (1 << GEN_BITS) - 1;

impl ExternRef {
    fn pack(mound: MoundId, generation: u32, index: u32) -> ExternRef {
        ExternRef(
            (u64::from(mound.0 as u16) << (INDEX_BITS + GEN_BITS))
                | ((u64::from(generation) & GEN_MASK) << INDEX_BITS)
                | (u64::from(index) & INDEX_MASK),
        )
    }
    fn mound(self) -> u16 {
        (self.0 >> (INDEX_BITS + GEN_BITS)) as u16
    }
    fn generation(self) -> u32 {
        ((self.0 >> INDEX_BITS) & GEN_MASK) as u32
    }
    fn index(self) -> usize {
        (self.0 & INDEX_MASK) as usize
    }
}

/// Why an externalized reference was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    /// The reference names another mound's table.
    #[error("reference {0:#x} belongs to another mound")]
    Foreign(u64),
    /// No such slot, or bits outside the encoding are set.
    #[error("reference {0:#x} does not name a slot")]
    Invalid(u64),
    /// The slot was released (and perhaps reused) since the reference was made.
    #[error("reference {0:#x} is stale")]
    Stale(u64),
    /// The slot holds an object of another type.
    #[error("reference {r:#x} names a {found}, not a {wanted}")]
    WrongType {
        /// The reference.
        r: u64,
        /// Type the caller asked for.
        wanted: &'static str,
        /// Type the slot holds.
        found: &'static str,
    },
    /// The table is full (2^24 live references).
    #[error("the reference table is full")]
    Full,
}

struct Slot {
    generation: u32,
    object: Option<(Arc<dyn Any + Send + Sync>, &'static str)>,
}

/// One mound's table of externalized references.
pub struct ExternTable {
    owner: MoundId,
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
}

impl std::fmt::Debug for ExternTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternTable")
            .field("owner", &self.owner)
            .field("live", &self.live)
            .finish()
    }
}

impl ExternTable {
    /// An empty table for `owner`.
    pub fn new(owner: MoundId) -> ExternTable {
        ExternTable {
            owner,
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }

    /// The mound this table belongs to.
    pub fn owner(&self) -> MoundId {
        self.owner
    }

    /// Number of live references.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether the table holds no live reference.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Gives the guest a reference to `cap`.
    pub fn externalize<T: Send + Sync + 'static>(
        &mut self,
        cap: Cap<T>,
    ) -> Result<ExternRef, RefError> {
        let object = Some((cap.into_any(), std::any::type_name::<T>()));
        let index = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize].object = object;
                i
            }
            None => {
                if self.slots.len() as u64 > INDEX_MASK {
                    return Err(RefError::Full);
                }
                self.slots.push(Slot {
                    generation: 0,
                    object,
                });
                (self.slots.len() - 1) as u32
            }
        };
        self.live += 1;
        Ok(ExternRef::pack(
            self.owner,
            self.slots[index as usize].generation,
            index,
        ))
    }

    fn slot(&self, r: ExternRef) -> Result<&Slot, RefError> {
        if r.mound() != self.owner.0 as u16 {
            return Err(RefError::Foreign(r.0));
        }
        let slot = self.slots.get(r.index()).ok_or(RefError::Invalid(r.0))?;
        if slot.generation != r.generation() || slot.object.is_none() {
            return Err(RefError::Stale(r.0));
        }
        Ok(slot)
    }

    /// Turns a guest reference back into a typed capability.
    pub fn internalize<T: Send + Sync + 'static>(&self, r: ExternRef) -> Result<Cap<T>, RefError> {
        let slot = self.slot(r)?;
        let (object, found) = slot.object.as_ref().ok_or(RefError::Stale(r.0))?;
        Cap::from_any(object.clone()).ok_or(RefError::WrongType {
            r: r.0,
            wanted: std::any::type_name::<T>(),
            found,
        })
    }

    /// Releases a reference; every copy of it is stale from now on.
    pub fn release(&mut self, r: ExternRef) -> Result<(), RefError> {
        self.slot(r)?;
        let index = r.index();
        let slot = &mut self.slots[index];
        slot.object = None;
        slot.generation = (slot.generation + 1) & GEN_MASK as u32;
        // A slot whose generation wrapped is retired, so an ancient reference can
        // never become valid again.
        if slot.generation != 0 {
            self.free.push(index as u32);
        }
        self.live -= 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cap<T: Send + Sync + 'static>(v: T) -> Cap<T> {
        Cap::new(v)
    }

    #[test]
    fn round_trip_type_and_staleness() {
        let mut t = ExternTable::new(MoundId(3));
        let r = t.externalize(cap(42u32)).unwrap();
        assert_eq!(*t.internalize::<u32>(r).unwrap(), 42);
        assert!(matches!(
            t.internalize::<u64>(r),
            Err(RefError::WrongType { .. })
        ));
        t.release(r).unwrap();
        assert_eq!(t.internalize::<u32>(r).unwrap_err(), RefError::Stale(r.0));
        assert_eq!(t.release(r).unwrap_err(), RefError::Stale(r.0));
        // The slot is reused with a new generation; the old reference stays stale.
        let r2 = t.externalize(cap(7u32)).unwrap();
        assert_ne!(r, r2);
        assert!(t.internalize::<u32>(r).is_err());
        assert_eq!(*t.internalize::<u32>(r2).unwrap(), 7);
    }

    #[test]
    fn foreign_reference_refused() {
        let mut a = ExternTable::new(MoundId(1));
        let b = ExternTable::new(MoundId(2));
        let r = a.externalize(cap(1u8)).unwrap();
        assert_eq!(b.internalize::<u8>(r).unwrap_err(), RefError::Foreign(r.0));
    }

    proptest! {
        /// Random integers, stale references and other mounds' references never
        /// internalize to anything but the object they were made for.
        #[test]
        fn forgery_never_succeeds(ops in proptest::collection::vec((0u8..4, any::<u64>()), 1..200)) {
            let mut mine = ExternTable::new(MoundId(5));
            let mut other = ExternTable::new(MoundId(6));
            let mut live: Vec<(ExternRef, u64)> = Vec::new();
            let mut dead: Vec<ExternRef> = Vec::new();
            let mut foreign: Vec<ExternRef> = Vec::new();
            for (op, x) in ops {
                match op {
                    0 => { let r = mine.externalize(cap(x)).unwrap(); live.push((r, x)); }
                    1 if !live.is_empty() => {
                        let (r, _) = live.remove((x as usize) % live.len());
                        mine.release(r).unwrap();
                        dead.push(r);
                    }
                    2 => foreign.push(other.externalize(cap(x)).unwrap()),
                    _ => {
                        // A random forgery: either fails or is exactly a live reference.
                        match mine.internalize::<u64>(ExternRef(x)) {
                            Ok(c) => prop_assert!(live.iter().any(|(r, v)| r.0 == x && *v == *c)),
                            Err(_) => prop_assert!(!live.iter().any(|(r, _)| r.0 == x)),
                        }
                    }
                }
                for r in &dead { prop_assert!(mine.internalize::<u64>(*r).is_err()); }
                for r in &foreign { prop_assert_eq!(mine.internalize::<u64>(*r).unwrap_err(), RefError::Foreign(r.0)); }
                for (r, v) in &live { prop_assert_eq!(*mine.internalize::<u64>(*r).unwrap(), *v); }
            }
            prop_assert_eq!(mine.len(), live.len());
        }
    }
}
