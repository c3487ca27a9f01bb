//! # spin-unix — the UNIX mound
//!
//! Runs unmodified static Linux binaries on the SPIN kernel. This first piece
//! is the table-driven Linux ABI ([`abi`]); the ELF loader lives in
//! `spin-vmm` for now, and the memory manager, strand package, system calls,
//! signals and files come with the UNIX mound issue.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod abi;
