//! The video mound types in a manifest: a `video-server` streaming the
//! embedded test clip and a `video-client` subscribed to it, started by the
//! host on its (default, user-mode) network; frames reach the client's
//! framebuffer through its display strand. And the manifest's errors for
//! video mounds, located FILE:LINE:COLUMN.

use std::path::Path;
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
