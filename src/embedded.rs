//! What the `spin` binary carries: the demo's prebuilt Alpha and x86-64 programs (from
//! guest/unix, stripped; `make -C guest check` proves they match their
//! sources), its scripts, and its manifest.

use std::sync::Arc;

use spin_kernel::Arch;
use spin_vmm::manifest::Embedded;

/// The embedded default manifest `spin demo` runs.
pub const DEMO_MANIFEST: &str = include_str!("../guest/demo/demo.toml");

/// Name shown for the demo manifest in error messages.
pub const DEMO_MANIFEST_NAME: &str = "<embedded demo.toml>";

const FILES: &[(&str, Option<Arch>, &[u8], u32)] = &[
    (
        "cpubench",
        Some(Arch::Alpha),
        include_bytes!("../guest/prebuilt/alpha/cpubench"),
        0o755,
    ),
    (
        "sh",
        Some(Arch::Alpha),
        include_bytes!("../guest/prebuilt/alpha/sh"),
        0o755,
    ),
    (
        "hello",
        Some(Arch::Alpha),
        include_bytes!("../guest/prebuilt/alpha/hello"),
        0o755,
    ),
    (
        "dbengine",
        Some(Arch::Alpha),
        include_bytes!("../guest/prebuilt/alpha/dbengine"),
        0o755,
    ),
    (
        "cpubench",
        Some(Arch::X86_64),
        include_bytes!("../guest/prebuilt/x86_64/cpubench"),
        0o755,
    ),
    (
        "sh",
        Some(Arch::X86_64),
        include_bytes!("../guest/prebuilt/x86_64/sh"),
        0o755,
    ),
    (
        "hello",
        Some(Arch::X86_64),
        include_bytes!("../guest/prebuilt/x86_64/hello"),
        0o755,
    ),
    (
        "dbengine",
        Some(Arch::X86_64),
        include_bytes!("../guest/prebuilt/x86_64/dbengine"),
        0o755,
    ),
    (
        "cpu.sh",
        None,
        include_bytes!("../guest/demo/cpu.sh"),
        0o644,
    ),
    (
        "pipelines.sh",
        None,
        include_bytes!("../guest/demo/pipelines.sh"),
        0o644,
    ),
    ("db.sh", None, include_bytes!("../guest/demo/db.sh"), 0o644),
];

/// The embedded files, as manifests name them (`program = "embedded:sh"`).
pub fn catalog() -> Vec<Embedded> {
    FILES
        .iter()
        .map(|&(name, arch, bytes, mode)| Embedded {
            name: name.to_string(),
            arch,
            bytes: Arc::from(bytes),
            mode,
        })
        .collect()
}
