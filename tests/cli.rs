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

/// The summary table's row for `mound`: (cpu ms, faults).
fn summary_row(text: &str, mound: &str) -> Option<(f64, u64)> {
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(mound) && l.contains('%'))?;
    let f: Vec<&str> = line.split_whitespace().collect();
    // mound state procs cpu share frames faults syscalls
    Some((f.get(3)?.parse().ok()?, f.get(6)?.parse().ok()?))
}

/// The `[video] NAME: client, N frames decoded ... E decode errors` line.
fn client_line<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines()
        .find(|l| l.starts_with(&format!("[video] {name}: client,")))
}

fn number_before(line: &str, what: &str) -> Option<u64> {
    let at = line.find(what)?;
    line[..at].split_whitespace().last()?.parse().ok()
}

/// CRC-32 as PNG chunks carry it.
fn crc32(parts: &[&[u8]]) -> u32 {
    let mut c = !0u32;
    for part in parts {
        for &b in *part {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0xedb8_8320
                } else {
                    c >> 1
                };
            }
        }
    }
    !c
}

/// Checks a PNG file: signature, every chunk's CRC, IHDR's size, IEND;
/// and when ffmpeg is here, that an independent decoder reads it as
/// `w`×`h` RGB that is not all black. Returns the size.
fn check_png(path: &std::path::Path) -> (u32, u32) {
    let png = std::fs::read(path).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    let (mut at, mut size, mut end) = (8, None, false);
    while at + 12 <= png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let kind = &png[at + 4..at + 8];
        let data = &png[at + 8..at + 8 + len];
        let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
        assert_eq!(crc, crc32(&[kind, data]), "chunk CRC in {}", path.display());
        match kind {
            b"IHDR" => {
                size = Some((
                    u32::from_be_bytes(data[..4].try_into().unwrap()),
                    u32::from_be_bytes(data[4..8].try_into().unwrap()),
                ))
            }
            b"IEND" => end = true,
            _ => {}
        }
        at += 12 + len;
    }
    assert!(end && at == png.len(), "{} ends with IEND", path.display());
    let (w, h) = size.expect("IHDR");
    if Command::new("ffmpeg").arg("-version").output().is_ok() {
        let out = Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(path)
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout.len(), (w * h * 3) as usize);
        assert!(out.stdout.iter().any(|&b| b > 16), "a picture, not black");
    }
    (w, h)
}

/// `spin demo` headless: every mound of the mix advances — the CPU and shell
/// mounds run rounds, the database pager mound takes faults, the video
/// client decodes the server's frames without error — and --snapshot-dir
/// leaves valid PNGs of the client's frames.
#[test]
fn the_demo_runs_its_whole_mix_and_saves_frames() {
    let dir = std::env::temp_dir().join(format!("spin-cli-snap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = spin()
        .args([
            "demo",
            "--headless",
            "--duration",
            "8",
            "--snapshot-keep",
            "3",
        ])
        .arg("--snapshot-dir")
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("[cpu] cpu: round"), "{text}");
    assert!(text.contains("[shell] round-"), "{text}");
    for mound in ["cpu", "shell", "db"] {
        let (cpu_ms, faults) = summary_row(&text, mound).unwrap_or_else(|| panic!("{text}"));
        assert!(cpu_ms > 0.0, "{mound} ran: {text}");
        if mound == "db" {
            assert!(faults > 0, "the pager mound faults: {text}");
        }
    }
    let viewer = client_line(&text, "viewer").unwrap_or_else(|| panic!("{text}"));
    assert!(
        number_before(viewer, "frames decoded").unwrap() > 0,
        "{viewer}"
    );
    assert_eq!(number_before(viewer, "decode errors"), Some(0), "{viewer}");
    assert!(text.contains("[video] tv: server,"), "{text}");
    // The bundled clip has 90 frames: more than that decoded means the
    // server went on from its start (8 s of a 30 frames/s stream).
    assert!(
        number_before(viewer, "frames decoded").unwrap() > 90,
        "the clip loops: {viewer}"
    );
    assert!(text.contains("[db] db: round 1"), "{text}");
    let mut pngs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pngs.sort();
    assert!(
        (1..=3).contains(&pngs.len()),
        "the newest 3 at most: {pngs:?}"
    );
    for p in &pngs {
        let name = p.file_name().unwrap().to_string_lossy();
        assert!(
            name.starts_with("viewer-") && name.ends_with(".png"),
            "{name}"
        );
        assert_eq!(check_png(p), (160, 120));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A snapshot directory that cannot be used stops `spin demo` at once with
/// one line, before any mound runs.
#[test]
fn an_unwritable_snapshot_dir_is_one_line_and_a_failure() {
    let base = std::env::temp_dir().join(format!("spin-cli-badsnap-{}", std::process::id()));
    std::fs::create_dir_all(&base).unwrap();
    let file = base.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    for dir in [file.clone(), file.join("below")] {
        let out = spin()
            .args(["demo", "--headless", "--duration", "5", "--snapshot-dir"])
            .arg(&dir)
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("spin: --snapshot-dir"), "{err}");
        assert!(
            out.stdout.is_empty(),
            "nothing ran: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    std::fs::remove_dir_all(&base).unwrap();
}
