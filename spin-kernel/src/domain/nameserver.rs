//! The nameserver: domains exported by name, with optional authorizers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::Domain;
use crate::cap::Cap;
use crate::event::Principal;

/// Called with the importer's identity; `Err(reason)` refuses the import.
pub type Authorizer = Arc<dyn Fn(&Principal) -> Result<(), String> + Send + Sync>;

/// Errors from the nameserver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NsError {
    /// No domain is registered under that name.
    #[error("no domain named {0}")]
    NotFound(String),
    /// The name is taken.
    #[error("a domain named {0} is already registered")]
    Taken(String),
    /// The exporter's authorizer refused the importer.
    #[error("import of {domain} by {importer} refused: {reason}")]
    Refused {
        /// The domain.
        domain: String,
        /// The importer.
        importer: String,
        /// The authorizer's reason.
        reason: String,
    },
}

struct Registration {
    domain: Cap<Domain>,
    authorizer: Option<Authorizer>,
}

/// Exports domains by name.
#[derive(Default)]
pub struct NameServer {
    names: Mutex<BTreeMap<String, Registration>>,
}

impl std::fmt::Debug for NameServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NameServer")
            .field("names", &self.names())
            .finish()
    }
}

impl NameServer {
    /// An empty nameserver.
    pub fn new() -> NameServer {
        NameServer::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Registration>> {
        self.names.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers `domain` under its name, optionally guarded by `authorizer`.
    pub fn export(
        &self,
        domain: Cap<Domain>,
        authorizer: Option<Authorizer>,
    ) -> Result<(), NsError> {
        let name = domain.name().to_string();
        let mut names = self.lock();
        if names.contains_key(&name) {
            return Err(NsError::Taken(name));
        }
        names.insert(name, Registration { domain, authorizer });
        Ok(())
    }

    /// Withdraws a registration (existing importers keep what they resolved).
    pub fn withdraw(&self, name: &str) -> Result<Cap<Domain>, NsError> {
        self.lock()
            .remove(name)
            .map(|r| r.domain)
            .ok_or_else(|| NsError::NotFound(name.to_string()))
    }

    /// Imports a domain by name on behalf of `importer`; the exporter's
    /// authorizer (called outside the nameserver's lock) may refuse.
    pub fn import(&self, name: &str, importer: &Principal) -> Result<Cap<Domain>, NsError> {
        let (domain, authorizer) = {
            let names = self.lock();
            let r = names
                .get(name)
                .ok_or_else(|| NsError::NotFound(name.to_string()))?;
            (r.domain.clone(), r.authorizer.clone())
        };
        if let Some(auth) = authorizer {
            auth(importer).map_err(|reason| NsError::Refused {
                domain: name.to_string(),
                importer: importer.name.clone(),
                reason,
            })?;
        }
        Ok(domain)
    }

    /// Registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// `(name, exports, unresolved imports)` of every registered domain.
    pub fn describe(&self) -> Vec<(String, Vec<String>, Vec<String>)> {
        self.lock()
            .values()
            .map(|r| {
                (
                    r.domain.name().to_string(),
                    r.domain.exports(),
                    r.domain.unresolved(),
                )
            })
            .collect()
    }
}
