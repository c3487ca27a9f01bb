//! What the `spin` binary carries: the demo's prebuilt Alpha programs (from
//! guest/unix, stripped; `make -C guest check` proves they match their
//! sources), its scripts, and its manifest.

use std::sync::Arc;

use spin_vmm::manifest::Embedded;

/// The embedded default manifest `spin demo` runs.
pub const DEMO_MANIFEST: &str = include_str!("../guest/demo/demo.toml");

/// Name shown for the demo manifest in error messages.
pub const DEMO_MANIFEST_NAME: &str = "<embedded demo.toml>";

const FILES: &[(&str, &[u8], u32)] = &[
    (
        "cpubench",
        include_bytes!("../guest/prebuilt/alpha/cpubench"),
        0o755,
    ),
    ("sh", include_bytes!("../guest/prebuilt/alpha/sh"), 0o755),
    (
        "hello",
        include_bytes!("../guest/prebuilt/alpha/hello"),
        0o755,
    ),
    ("cpu.sh", include_bytes!("../guest/demo/cpu.sh"), 0o644),
    (
        "pipelines.sh",
        include_bytes!("../guest/demo/pipelines.sh"),
        0o644,
    ),
];

/// The embedded files, as manifests name them (`program = "embedded:sh"`).
pub fn catalog() -> Vec<Embedded> {
    FILES
        .iter()
        .map(|&(name, bytes, mode)| Embedded {
            name: name.to_string(),
            bytes: Arc::from(bytes),
            mode,
        })
        .collect()
}
