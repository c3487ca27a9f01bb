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
    for cmd in ["demo", "disasm", "sched-sim"] {
        assert!(text.contains(cmd), "{text}");
    }
}

#[test]
fn demo_runs_two_alpha_mounds_and_swaps_the_policy() {
    let out = spin()
        .args(["demo", "--quantum", "1000000"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The guest output is the same as the programs print under qemu-alpha.
    assert!(
        text.contains("[m1 primes] round 1: 5963 primes <= 59003"),
        "{text}"
    );
    assert!(text.contains("[m2 crc] round 1: crc32 0a6f8989"), "{text}");
    assert!(text.contains("policy swap rr-priority -> stride"), "{text}");
    assert!(text.contains("policy now stride"), "{text}");
}

#[test]
fn demo_json_is_well_formed_telemetry() {
    let out = spin()
        .args(["demo", "--json", "--swap-to", "fair"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let start = text
        .find("\n{")
        .expect("a JSON object follows the guest output");
    let v: serde_json::Value = serde_json::from_str(&text[start..]).unwrap();
    assert_eq!(v["scheduler"]["policy"], "fair");
    assert_eq!(v["kernel"]["arch"], "alpha");
    assert!(v["kernel"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "Strand.Resume"));
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
        .args(["demo", "--swap-to", "no-such-policy"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("policy swap refused"), "{text}");
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
    let build = std::env::temp_dir().join(format!("spin-guest-build-{}", std::process::id()));
    let out = Command::new("make")
        .args([
            "-C",
            &format!("{root}/guest"),
            "check",
            &format!("BUILD={}", build.display()),
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

/// The demo programs print the same bytes under qemu-alpha (the oracle).
#[test]
fn demo_programs_agree_with_qemu_alpha() {
    if Command::new("qemu-alpha")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("SKIP: qemu-alpha not installed");
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let ours = spin().args(["demo", "--swap-to", "none"]).output().unwrap();
    let ours = String::from_utf8_lossy(&ours.stdout);
    for (prog, prefix) in [("primes", "[m1 primes] "), ("crc", "[m2 crc] ")] {
        let q = Command::new("qemu-alpha")
            .arg(format!("{root}/guest/prebuilt/{prog}.alpha"))
            .output()
            .unwrap();
        assert!(q.status.success());
        let want: Vec<&str> = std::str::from_utf8(&q.stdout).unwrap().lines().collect();
        let got: Vec<&str> = ours
            .lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .collect();
        assert_eq!(got, want, "{prog}");
    }
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
