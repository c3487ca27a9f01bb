//! # spin-unix-mm — the UNIX mound's memory manager
//!
//! Built on the kernel's PhysAddr, VirtAddr and Translation services.

#![deny(missing_docs)]
#![forbid(unsafe_code)]
