//! Logical protection domains and the nameserver.
//!
//! A [`Domain`] is a named set of exported, typed interfaces plus the imports
//! it still needs. Interfaces are Rust trait objects (`Arc<dyn Trait>`), so
//! an extension can only call what it was given by name, with the type the
//! exporter declared. `resolve(source, target)` binds target's imports to
//! source's exports; `combine(a, b)` makes a union domain (the public kernel
//! interface is one). After resolution an [`Import`] is a pointer to the
//! exporter's object: a cross-domain call costs a procedure call.

pub mod nameserver;

use std::any::{Any, TypeId};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use crate::cap::Cap;

pub use nameserver::{Authorizer, NameServer, NsError};

type Erased = Arc<dyn Any + Send + Sync>;

/// One exported interface: a name and a typed object.
#[derive(Clone)]
pub struct Export {
    name: String,
    type_id: TypeId,
    type_name: &'static str,
    /// An `Arc<I>` for the interface type `I`, erased.
    object: Erased,
}

impl fmt::Debug for Export {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.type_name)
    }
}

impl Export {
    /// Exports `object` under `name` with interface type `I` (usually a
    /// `dyn Trait`).
    pub fn new<I: ?Sized + Send + Sync + 'static>(
        name: impl Into<String>,
        object: Arc<I>,
    ) -> Export {
        Export {
            name: name.into(),
            type_id: TypeId::of::<Arc<I>>(),
            type_name: std::any::type_name::<I>(),
            object: Arc::new(object),
        }
    }

    /// The exported name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// An import slot an extension declares and later calls through.
pub struct Import<I: ?Sized> {
    name: String,
    slot: Arc<OnceLock<Arc<I>>>,
}

impl<I: ?Sized> Clone for Import<I> {
    fn clone(&self) -> Self {
        Import {
            name: self.name.clone(),
            slot: self.slot.clone(),
        }
    }
}

impl<I: ?Sized + Send + Sync + 'static> Import<I> {
    /// Declares an import of `name` with interface type `I`.
    pub fn new(name: impl Into<String>) -> Import<I> {
        Import {
            name: name.into(),
            slot: Arc::new(OnceLock::new()),
        }
    }

    /// The bound interface, once resolved.
    #[inline]
    pub fn get(&self) -> Option<&I> {
        self.slot.get().map(|a| &**a)
    }

    /// Whether the import has been bound.
    pub fn is_resolved(&self) -> bool {
        self.slot.get().is_some()
    }

    /// The type-erased slot for [`Domain::create`].
    pub fn slot(&self) -> ImportSlot {
        let slot = self.slot.clone();
        ImportSlot {
            name: self.name.clone(),
            type_id: TypeId::of::<Arc<I>>(),
            type_name: std::any::type_name::<I>(),
            bind: Arc::new(
                move |object: &Erased| match object.downcast_ref::<Arc<I>>() {
                    Some(obj) => {
                        // Already bound (e.g. through a combined domain) is fine.
                        let _ = slot.set(obj.clone());
                        true
                    }
                    None => false,
                },
            ),
            is_bound: {
                let slot = self.slot.clone();
                Arc::new(move || slot.get().is_some())
            },
        }
    }
}

/// A type-erased import, as a domain records it.
#[derive(Clone)]
pub struct ImportSlot {
    name: String,
    type_id: TypeId,
    type_name: &'static str,
    bind: Arc<dyn Fn(&Erased) -> bool + Send + Sync>,
    is_bound: Arc<dyn Fn() -> bool + Send + Sync>,
}

impl fmt::Debug for ImportSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.type_name)
    }
}

/// Errors from domain operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The exporter does not export names the importer imports.
    #[error("resolving {importer} against {exporter}: {exporter} does not export {missing:?}")]
    Missing {
        /// The exporting domain.
        exporter: String,
        /// The importing domain.
        importer: String,
        /// Unsatisfied import names.
        missing: Vec<String>,
    },
    /// An export and an import share a name but not a type.
    #[error("resolving {importer} against {exporter}: {name} is exported as {exported} but imported as {imported}")]
    TypeMismatch {
        /// The exporting domain.
        exporter: String,
        /// The importing domain.
        importer: String,
        /// The interface name.
        name: String,
        /// Exported type.
        exported: &'static str,
        /// Imported type.
        imported: &'static str,
    },
    /// Combining two domains that export the same name as different objects.
    #[error("combining {a} and {b}: both export {name}")]
    Conflict {
        /// First domain.
        a: String,
        /// Second domain.
        b: String,
        /// The conflicting name.
        name: String,
    },
}

/// A logical protection domain.
pub struct Domain {
    name: String,
    exports: BTreeMap<String, Export>,
    imports: Mutex<Vec<ImportSlot>>,
}

impl fmt::Debug for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Domain")
            .field("name", &self.name)
            .field("exports", &self.exports.values().collect::<Vec<_>>())
            .field("unresolved", &self.unresolved())
            .finish()
    }
}

impl Domain {
    /// Creates a domain from an extension's exports and import slots.
    pub fn create(
        name: impl Into<String>,
        exports: Vec<Export>,
        imports: Vec<ImportSlot>,
    ) -> Cap<Domain> {
        Cap::new(Domain {
            name: name.into(),
            exports: exports.into_iter().map(|e| (e.name.clone(), e)).collect(),
            imports: Mutex::new(imports),
        })
    }

    /// The domain's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Names of the exported interfaces.
    pub fn exports(&self) -> Vec<String> {
        self.exports.keys().cloned().collect()
    }

    fn imports(&self) -> std::sync::MutexGuard<'_, Vec<ImportSlot>> {
        self.imports.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Names of imports not yet bound.
    pub fn unresolved(&self) -> Vec<String> {
        self.imports()
            .iter()
            .filter(|s| !(s.is_bound)())
            .map(|s| s.name.clone())
            .collect()
    }

    /// Looks up an export by name and type, for trusted callers that hold the
    /// domain capability (the nameserver hands those out).
    pub fn lookup<I: ?Sized + Send + Sync + 'static>(&self, name: &str) -> Option<Arc<I>> {
        self.exports
            .get(name)?
            .object
            .downcast_ref::<Arc<I>>()
            .cloned()
    }

    /// Binds every unresolved import of `target` to `source`'s export of the
    /// same name. All or nothing: a missing name or a type mismatch binds
    /// nothing and names both domains.
    pub fn resolve(source: &Cap<Domain>, target: &Cap<Domain>) -> Result<(), DomainError> {
        let imports = target.imports().clone();
        let pending: Vec<&ImportSlot> = imports.iter().filter(|s| !(s.is_bound)()).collect();
        let mut missing = Vec::new();
        for slot in &pending {
            match source.exports.get(&slot.name) {
                None => missing.push(slot.name.clone()),
                Some(e) if e.type_id != slot.type_id => {
                    return Err(DomainError::TypeMismatch {
                        exporter: source.name.clone(),
                        importer: target.name.clone(),
                        name: slot.name.clone(),
                        exported: e.type_name,
                        imported: slot.type_name,
                    })
                }
                Some(_) => {}
            }
        }
        if !missing.is_empty() {
            return Err(DomainError::Missing {
                exporter: source.name.clone(),
                importer: target.name.clone(),
                missing,
            });
        }
        for slot in pending {
            let bound = (slot.bind)(&source.exports[&slot.name].object);
            debug_assert!(bound, "type ids matched, so the downcast succeeds");
        }
        Ok(())
    }

    /// The union of two domains (exports and outstanding imports).
    pub fn combine(
        name: impl Into<String>,
        a: &Cap<Domain>,
        b: &Cap<Domain>,
    ) -> Result<Cap<Domain>, DomainError> {
        let mut exports = a.exports.clone();
        for (n, e) in &b.exports {
            match exports.get(n) {
                Some(prev) if !Arc::ptr_eq(&prev.object, &e.object) => {
                    return Err(DomainError::Conflict {
                        a: a.name.clone(),
                        b: b.name.clone(),
                        name: n.clone(),
                    })
                }
                _ => {
                    exports.insert(n.clone(), e.clone());
                }
            }
        }
        let mut imports = a.imports().clone();
        imports.extend(b.imports().iter().cloned());
        Ok(Cap::new(Domain {
            name: name.into(),
            exports,
            imports: Mutex::new(imports),
        }))
    }
}

#[cfg(test)]
mod tests;
