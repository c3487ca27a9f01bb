//! End-to-end tests of the `spin` binary.

use std::process::Command;

fn spin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_spin"))
}

#[test]
fn help_lists_the_subcommands() {
    let out = spin().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in [
        "demo",
        "run",
        "top",
        "ctl",
        "exec",
        "bench",
        "disasm",
        "sched-sim",
        "completions",
        "man",
    ] {
        assert!(text.contains(cmd), "{text}");
    }
}

#[test]
fn bad_input_is_one_clear_line_and_a_failure_exit() {
    let dir = std::env::temp_dir().join(format!("spin-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk");
    std::fs::write(&junk, b"\x7fELF not really").unwrap();
    for args in [
        vec!["disasm", junk.to_str().unwrap()],
        vec!["disasm", "/nonexistent/prog"],
    ] {
        let out = spin()
            .args(&args)
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE")
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("spin: "), "{err}");
    }
    let out = spin()
        .args(["demo", "--headless", "--policy", "no-such-policy"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-policy"), "{err}");
}

/// The committed demo binaries must match their sources (when the cross
/// compiler is here to check).
#[test]
fn prebuilt_demo_binaries_match_sources() {
    if Command::new("alpha-linux-gnu-gcc")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("SKIP: alpha-linux-gnu-gcc not installed; cannot rebuild guest/prebuilt");
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let check = std::env::temp_dir().join(format!("spin-guest-check-{}", std::process::id()));
    let out = Command::new("make")
        .args([
            "-C",
            &format!("{root}/guest"),
            "check",
            &format!("CHECK_DIR={}", check.display()),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sched_sim_prints_one_deterministic_table_for_every_policy() {
    let run = || {
        spin()
            .args(["sched-sim", "--seed", "7", "--duration-ms", "300"])
            .output()
            .unwrap()
    };
    let (a, b) = (run(), run());
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout, "same seed, same table");
    let text = String::from_utf8_lossy(&a.stdout);
    for policy in ["rr-priority", "stride", "lottery", "edf", "fair"] {
        assert!(text.contains(policy), "{text}");
    }
}
