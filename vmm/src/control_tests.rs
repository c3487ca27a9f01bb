//! The control plane on a real host (a freestanding Alpha program in a
//! `db-pager` mound and one in a plain UNIX mound): the pager requests and
//! their refusals, and the record's video and pager fields through JSON.

use std::sync::Arc;
use std::time::Instant;

use spin_dbpager::{DbPagerConfig, DbPagerExt, PagerStats};
use spin_unix::{GuestFile, UnixConfig};
use spin_video::client::VideoTelemetry;
use spin_video::server::ServerStats;

use super::*;
use crate::host::{HostConfig, MoundConfig, PagerMound, PagerTelemetry};
use crate::video::{Thumbnail, VideoMoundTelemetry};

const PRIMES: &[u8] = include_bytes!("../../guest/prebuilt/primes.alpha");

fn unix(name: &str) -> UnixConfig {
    let path = format!("/bin/{name}").into_bytes();
    let mut c = UnixConfig::new(name, path.clone(), vec![path.clone()]);
    c.files.push(GuestFile {
        path,
        bytes: PRIMES.into(),
        mode: 0o755,
    });
    c.quota_frames = Some(256);
    c
}

/// A host (not run) with mound 1 `db` (db-pager) and mound 2 `plain`.
fn host() -> (Arc<Controller>, Arc<DbPagerExt>) {
    let ext = DbPagerExt::new(DbPagerConfig::default());
    let mut db = unix("db");
    db.extensions
        .push(ext.clone() as Arc<dyn spin_unix::ext::ExtLinker>);
    let host = Host::build(HostConfig {
        ram: 64 << 20,
        mounds: vec![MoundConfig::Unix(db), MoundConfig::Unix(unix("plain"))],
        pagers: vec![PagerMound {
            mound: spin_kernel::MoundId(1),
            ext: ext.clone(),
        }],
        ..HostConfig::default()
    })
    .expect("the host builds");
    let started = Instant::now();
    let log = Arc::new(LogBook::new(started));
    (Arc::new(Controller::new(Arc::new(host), log, started)), ext)
}

fn refusal(c: &Controller, mound: u32, policy: &str) -> String {
    match c.handle(&Request::SetPagerPolicy {
        mound,
        policy: policy.into(),
    }) {
        Reply::Error { message } => message,
        other => panic!("{policy} on mound {mound} was not refused: {other:?}"),
    }
}

#[test]
fn pager_requests_list_the_mound_and_refuse_with_a_reason() {
    let (c, ext) = host();
    let Reply::Pagers(p) = c.handle(&Request::Pagers) else {
        panic!("pagers answer with pagers");
    };
    assert_eq!(
        p,
        [PagerTelemetry {
            id: 1,
            name: "db".into(),
            files: Vec::new(),
        }]
    );
    let t = c.telemetry();
    assert_eq!(t.pagers, p, "the record carries the same");
    assert!(t.video.is_empty(), "no video mounds");

    let bad = refusal(&c, 1, "fifo");
    assert!(
        bad.contains("unknown pager policy `fifo`") && bad.contains("clock, lru, mru, 2q"),
        "{bad}"
    );
    let plain = refusal(&c, 2, "lru");
    assert!(plain.contains("mound 2 is not a db-pager mound"), "{plain}");
    let early = refusal(&c, 1, "lru");
    assert!(
        early.contains("mound db has no pager yet"),
        "nothing attached yet: {early}"
    );
    assert!(ext.stats().is_empty());
    // Over the socket the refusal reads the same.
    let dir = std::env::temp_dir().join(format!("spin-ctl-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let server = serve(&dir.join("s"), c.clone()).expect("serves");
    let mut client = Client::connect(server.path()).expect("connects");
    let r = client
        .request(&Request::SetPagerPolicy {
            mound: 1,
            policy: "nope".into(),
        })
        .expect("a reply");
    assert!(
        matches!(&r, Reply::Error { message } if message.contains("unknown pager policy")),
        "{r:?}"
    );
    let r = client.request(&Request::Pagers).expect("a reply");
    assert!(matches!(&r, Reply::Pagers(p) if p.len() == 1), "{r:?}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn video_and_pager_fields_survive_json_and_old_records_parse() {
    let (c, _) = host();
    let mut t = c.telemetry();
    let rgb: Vec<u8> = (0..160u32 * 120 * 3).map(|i| (i % 251) as u8).collect();
    t.video = vec![
        VideoMoundTelemetry::Server {
            name: "tv".into(),
            stats: ServerStats {
                frames: 90,
                sends: 900,
                replicas: 1800,
                subscribers: 2,
                ..ServerStats::default()
            },
        },
        VideoMoundTelemetry::Client {
            name: "viewer".into(),
            video: VideoTelemetry {
                fps: 29.8,
                displayed: 88,
                late_frames: 2,
                deadline_misses: 1,
                ..VideoTelemetry::default()
            },
            fb_generation: 88,
            thumb: Some(Thumbnail::of(&rgb, 160, 120, 88)),
        },
    ];
    t.pagers[0].files.push(PagerStats {
        policy: "hinted".into(),
        budget: 64,
        resident: 60,
        dirty: 3,
        ..PagerStats::default()
    });
    let text = serde_json::to_string(&t).expect("serializes");
    assert!(
        text.len() < 64 * 1024,
        "a record with a thumbnail stays small: {} bytes",
        text.len()
    );
    let back: Telemetry = serde_json::from_str(&text).expect("parses");
    assert_eq!(back, t);
    let VideoMoundTelemetry::Client {
        thumb: Some(th), ..
    } = &back.video[1]
    else {
        panic!("the client keeps its thumbnail");
    };
    assert_eq!((th.width, th.height), (96, 72));
    assert_eq!(th.pixels().expect("decodes").len(), 96 * 72 * 3);

    // A record from a host that predates these fields.
    let mut old: serde_json::Value = serde_json::from_str(&text).expect("json");
    let obj = old.as_object_mut().expect("an object");
    obj.remove("video");
    obj.remove("pagers");
    let old: Telemetry = serde_json::from_value(old).expect("an old record parses");
    assert!(old.video.is_empty() && old.pagers.is_empty());
    // A client record without a thumbnail parses too.
    let bare = r#"{"type":"client","name":"v","video":{"fps":1.0,"decoded":1,
        "displayed":1,"late_frames":0,"dropped_frames":0,"deadline_misses":0,
        "decode_errors":0,"reassembly":{"packets":0,"malformed":0,"foreign":0,"unsupported":0,
        "frames":0,"dropped_frames":0},"pool_allocated":0,"pool_capacity":4},
        "fb_generation":1}"#;
    match serde_json::from_str::<VideoMoundTelemetry>(bare) {
        Ok(VideoMoundTelemetry::Client { thumb, .. }) => assert_eq!(thumb, None),
        other => panic!("{other:?}"),
    }
}
