//! The video mound types in a manifest: a `video-server` streaming the
//! embedded test clip and a `video-client` subscribed to it, started by the
//! host on its (default, user-mode) network; frames reach the client's
//! framebuffer through its display strand. And the manifest's errors for
//! video mounds, located FILE:LINE:COLUMN. And two kernels — two `spin
//! run` processes — streaming from one to the other over TAP devices
//! bridged in a private network namespace.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use spin_vmm::host::Host;
use spin_vmm::manifest::Manifest;
use spin_vmm::video::{ClipSource, VideoConfig, VideoMoundTelemetry};

const MANIFEST: &str = r#"
[[mound]]
name = "tv"
type = "video-server"
clip = "embedded:testclip"
port = 5004
fps = 30

[[mound]]
name = "viewer"
type = "video-client"
port = 6000
server = "10.0.2.15:5004"
"#;

#[path = "support/net_harness.rs"]
mod harness;

fn parse(text: &str) -> Result<Manifest, spin_vmm::manifest::ManifestError> {
    Manifest::parse("video.toml", text, Path::new("."), &[], None)
}

#[test]
fn a_server_and_a_client_from_a_manifest_stream_to_the_framebuffer() {
    let m = parse(MANIFEST).expect("manifest");
    let cfg = m.host.clone();
    assert!(cfg.mounds.is_empty());
    assert!(
        cfg.network.is_some(),
        "video mounds bring the default network"
    );
    assert_eq!(cfg.video.len(), 2);
    assert!(matches!(
        &cfg.video[0],
        VideoConfig::Server {
            clip: ClipSource::Embedded,
            port: 5004,
            fps: 30,
            ..
        }
    ));
    let host = Host::build(cfg).expect("host");
    let viewer = host
        .video()
        .iter()
        .find(|v| v.name() == "viewer")
        .expect("client mound");
    // A liveness guard, not a performance bound: the stream runs in real
    // time, a handful of frames takes a fraction of a second.
    let start = Instant::now();
    let displayed = loop {
        if let VideoMoundTelemetry::Client { video, .. } = viewer.telemetry() {
            if video.displayed >= 5 {
                break video.displayed;
            }
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no frame shown");
        std::thread::sleep(Duration::from_millis(10));
    };
    host.stop_all();
    let fb = viewer.framebuffer().expect("a client has a framebuffer");
    assert!(fb.generation() >= displayed);
    let snap = fb.snapshot();
    assert_eq!((snap.width, snap.height), (160, 120));
    assert!(snap.pixels.iter().any(|&p| p != 0), "a picture, not black");
    let server = host
        .video()
        .iter()
        .find(|v| v.name() == "tv")
        .expect("server mound");
    match server.telemetry() {
        VideoMoundTelemetry::Server { stats, .. } => {
            assert_eq!(stats.subscribers, 1);
            assert!(stats.frames >= displayed);
        }
        other => panic!("server reported {other:?}"),
    }
    let json = serde_json::to_string(&viewer.telemetry()).expect("serde");
    assert!(json.contains("\"type\":\"client\""));
}

#[test]
fn video_mound_errors_are_located() {
    let cases: &[(&str, usize, &str)] = &[
        ("[[mound]]\nname = \"tv\"\ntype = \"video-server\"\n", 1, "missing `clip`"),
        (
            "[[mound]]\nname = \"tv\"\ntype = \"video-server\"\nclip = \"embedded:x\"\n",
            4,
            "embedded:testclip",
        ),
        (
            "[[mound]]\nname = \"tv\"\ntype = \"video-server\"\nclip = \"a.mjpeg\"\nmode = \"broadcast\"\n",
            5,
            "unknown mode",
        ),
        (
            "[[mound]]\nname = \"v\"\ntype = \"video-client\"\nserver = \"nowhere\"\n",
            4,
            "not IP:PORT",
        ),
        (
            "[[mound]]\nname = \"v\"\ntype = \"video-client\"\nfps = 0\n",
            4,
            "fps: 0 is not in 1..=120",
        ),
        (
            "[[mound]]\nname = \"v\"\ntype = \"video-client\"\nclip = \"a.mjpeg\"\n",
            4,
            "only for video-server",
        ),
        (
            "[[mound]]\nname = \"v\"\ntype = \"video-client\"\nprogram = \"embedded:sh\"\n",
            4,
            "runs no program",
        ),
        (
            "[[mound]]\nname = \"v\"\ntype = \"video-player\"\n",
            3,
            "video-server, video-client",
        ),
    ];
    for (text, line, msg) in cases {
        let e = parse(text)
            .err()
            .unwrap_or_else(|| panic!("accepted:\n{text}"));
        assert_eq!(e.line, *line, "{text}: {}", e.message);
        assert!(e.message.contains(msg), "{text}: {}", e.message);
    }
}

/// A child process killed when dropped (also when the test fails).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `spin run` manifest for one kernel on tap `tap` at `addr` with `mound`.
fn tap_manifest(tap: &str, addr: &str, mac: &str, mound: &str) -> String {
    format!(
        "[network]\nbackend = \"tap\"\ntap = \"{tap}\"\naddress = \"{addr}/24\"\nmac = \"{mac}\"\n\n{mound}"
    )
}

/// Two kernels over TAP: one `spin run` hosts the video server on `tap1`,
/// another the client on `tap2`, the taps joined by a Linux bridge in a
/// private namespace. The client's frames arrive and decode without error,
/// and its --snapshot-dir holds PNGs of them.
#[test]
fn a_server_kernel_streams_to_a_client_kernel_over_bridged_taps() {
    let Some(ns) = harness::netns() else { return };
    for args in [
        &["ip", "link", "add", "br0", "type", "bridge"][..],
        &["ip", "tuntap", "add", "dev", "tap1", "mode", "tap"],
        &["ip", "tuntap", "add", "dev", "tap2", "mode", "tap"],
        &["ip", "link", "set", "tap1", "master", "br0"],
        &["ip", "link", "set", "tap2", "master", "br0"],
        &["ip", "link", "set", "br0", "up"],
        &["ip", "link", "set", "tap1", "up"],
        &["ip", "link", "set", "tap2", "up"],
    ] {
        let out = harness::run(&mut ns.exec(args));
        assert!(
            out.status.success(),
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let dir = harness::scratch("video-tap");
    let server = dir.join("server.toml");
    let client = dir.join("client.toml");
    std::fs::write(
        &server,
        tap_manifest(
            "tap1",
            "10.78.0.2",
            "02:00:00:00:78:02",
            "[[mound]]\nname = \"tv\"\ntype = \"video-server\"\nclip = \"embedded:testclip\"\nport = 5004\nfps = 30\n",
        ),
    )
    .unwrap();
    std::fs::write(
        &client,
        tap_manifest(
            "tap2",
            "10.78.0.3",
            "02:00:00:00:78:03",
            "[[mound]]\nname = \"viewer\"\ntype = \"video-client\"\nport = 6000\nserver = \"10.78.0.2:5004\"\nfps = 30\n",
        ),
    )
    .unwrap();
    let snaps = dir.join("snapshots");
    let _ = std::fs::remove_dir_all(&snaps);
    let socket = dir.join("server.sock");
    let _ = std::fs::remove_file(&socket);
    // The server runs until killed (or a minute at most, should the test
    // fail before); the client for a few seconds.
    let mut srv = Killed(
        harness::spin_in(&ns)
            .args(["run", "--headless", "--duration", "60", "--config"])
            .arg(&server)
            .arg("--socket")
            .arg(&socket)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spin run (server)"),
    );
    let start = Instant::now();
    while !socket.exists() {
        if let Ok(Some(st)) = srv.0.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = srv.0.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("the server kernel exited ({st}): {err}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no server socket"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = harness::run(
        harness::spin_in(&ns)
            .args(["run", "--headless", "--duration", "4", "--config"])
            .arg(&client)
            .arg("--snapshot-dir")
            .arg(&snaps),
    );
    let snapshot = harness::run(
        Command::new(harness::spin_path())
            .arg("ctl")
            .arg(&socket)
            .args(["snapshot", "--json"]),
    );
    drop(srv);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = text
        .lines()
        .find(|l| l.starts_with("[video] viewer: client,"))
        .unwrap_or_else(|| panic!("{text}"));
    let count = |what: &str| -> u64 {
        let at = line.find(what).unwrap_or_else(|| panic!("{line}"));
        line[..at]
            .split_whitespace()
            .last()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{line}"))
    };
    eprintln!("over TAP: {line}");
    assert!(count("frames decoded") > 0, "{line}");
    assert_eq!(count("decode errors"), 0, "{line}");
    let pngs: Vec<_> = std::fs::read_dir(&snaps)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        pngs.iter()
            .any(|n| n.starts_with("viewer-") && n.ends_with(".png")),
        "{pngs:?}"
    );
    // The server kernel's stack sent the stream out of its tap.
    assert!(snapshot.status.success());
    let t: serde_json::Value = serde_json::from_slice(&snapshot.stdout).expect("JSON");
    assert_eq!(t["nic"]["backend"], "tap:tap1", "{}", t["nic"]);
    assert!(
        t["nic"]["frames_out"].as_u64().unwrap_or(0) > 0,
        "{}",
        t["nic"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
