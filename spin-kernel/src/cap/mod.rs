//! Capabilities: typed, unforgeable references to kernel objects.
//!
//! A [`Cap<T>`] can only be made by the kernel (or by trusted code holding a
//! [`Minter`]); cloning it is the only way to share it. Guests never see a
//! `Cap`: they hold [`extref::ExternRef`]s, small integers checked on every use.

pub mod authority;
pub mod extref;

use std::any::Any;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

pub use authority::{Authority, Minter, PrimaryInstallCap, SwapSchedulerCap};
pub use extref::{ExternRef, ExternTable, RefError};

/// A typed, unforgeable capability for a kernel object of type `T`.
///
/// Cheap to clone (one reference-count increment) and to pass (one pointer).
pub struct Cap<T: ?Sized>(Arc<T>);

impl<T: Send + Sync + 'static> Cap<T> {
    /// Only kernel modules create capabilities; extensions use a [`Minter`].
    pub(crate) fn new(value: T) -> Cap<T> {
        Cap(Arc::new(value))
    }

    /// Erases the type, for storage in an [`ExternTable`].
    pub(crate) fn into_any(self) -> Arc<dyn Any + Send + Sync> {
        self.0
    }

    /// Recovers a typed capability from an erased one, if the type matches.
    pub(crate) fn from_any(any: Arc<dyn Any + Send + Sync>) -> Option<Cap<T>> {
        any.downcast::<T>().ok().map(Cap)
    }
}

impl<T: ?Sized> Cap<T> {
    /// Whether two capabilities name the same object.
    pub fn same(a: &Cap<T>, b: &Cap<T>) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }

    /// A stable identity for the object (its address), for logs and telemetry.
    pub fn object_id(&self) -> usize {
        Arc::as_ptr(&self.0) as *const () as usize
    }
}

impl<T: ?Sized> Clone for Cap<T> {
    fn clone(&self) -> Self {
        Cap(self.0.clone())
    }
}

impl<T: ?Sized> Deref for Cap<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Cap<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cap({:?})", &*self.0)
    }
}
