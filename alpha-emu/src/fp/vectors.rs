//! qemu vectors.
