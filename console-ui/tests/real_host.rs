//! The dashboard on a real host (two UNIX mounds on the Alpha machine, in
//! process): records draw, `P` → stride → Enter → `y` swaps the policy
//! through the control plane, the footer shows it, and the finished host
//! stays on screen.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use spin_console::{Action, Dashboard, Key};
use spin_unix::{GuestFile, SharedWriter, Stdio, UnixConfig};
use spin_vmm::control::{ControlPlane, Controller, LogBook, Reply, Request};
use spin_vmm::host::{Host, HostConfig, MoundConfig};

/// Two freestanding Alpha programs (guest/freestanding, prebuilt).
const PRIMES: &[u8] = include_bytes!("../../guest/prebuilt/primes.alpha");
const CRC: &[u8] = include_bytes!("../../guest/prebuilt/crc.alpha");

fn footer(d: &mut Dashboard) -> String {
    let mut term = Terminal::new(TestBackend::new(140, 45)).expect("test backend");
    term.draw(|f| d.draw(f)).expect("test backend");
    if std::env::var_os("SPIN_CONSOLE_SHOW").is_some() {
        println!("{}", term.backend());
    }
    let buf = term.backend().buffer();
    let w = usize::from(buf.area.width);
    buf.content[buf.content.len() - w..]
        .iter()
        .map(|c| c.symbol())
        .collect()
}

#[test]
fn swap_policy_on_a_real_host() {
    let started = Instant::now();
    let log = Arc::new(LogBook::new(started));
    let mound = |name: &str, image: &[u8]| {
        let path = format!("/bin/{name}").into_bytes();
        let mut c = UnixConfig::new(name, path.clone(), vec![path.clone()]);
        c.files.push(GuestFile {
            path,
            bytes: image.into(),
            mode: 0o755,
        });
        c.stdout = Stdio::Writer(SharedWriter::new(log.writer(name)));
        c.quota_frames = Some(256);
        MoundConfig::Unix(c)
    };
    let host = Host::build(HostConfig {
        ram: 64 << 20,
        mounds: vec![mound("primes", PRIMES), mound("crc", CRC)],
        ..HostConfig::default()
    })
    .expect("the demo programs start");
    let host = Arc::new(host);
    let mut plane: Box<dyn ControlPlane> = Box::new(Arc::new(Controller::new(
        host.clone(),
        log.clone(),
        started,
    )));
    let runner = {
        let host = host.clone();
        std::thread::spawn(move || host.run(|_| {}).map(|_| ()))
    };

    let mut d = Dashboard::new(spin_console::Config::default(), "real host");
    d.update(plane.snapshot().expect("in-process snapshot"));
    let first = d.latest().expect("a record").clone();
    assert_eq!(first.mounds.len(), 2);
    assert!(footer(&mut d).contains("policy rr-priority"));

    let mut swap = None;
    for k in [Key::Char('P'), Key::Char('s'), Key::Enter, Key::Char('y')] {
        if let Action::SwapPolicy(p) = d.on_key(k) {
            swap = Some(p);
        }
    }
    let policy = swap.expect("the confirmed popup asks for a swap");
    assert_eq!(policy, "stride");
    match plane.request(&Request::SetPolicy { policy }) {
        Ok(Reply::PolicySet { to, .. }) => assert_eq!(to, "stride"),
        other => panic!("swap refused: {other:?}"),
    }
    d.update(plane.snapshot().expect("in-process snapshot"));
    let f = footer(&mut d);
    assert!(f.contains("policy stride"), "{f}");

    runner
        .join()
        .expect("the host thread does not panic")
        .expect("the host runs to the end");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        d.update(plane.snapshot().expect("in-process snapshot"));
        if !d.latest().is_some_and(|t| t.running) || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let last = d.latest().expect("a record").clone();
    assert!(!last.running);
    assert!(last.sched.swaps.iter().any(|s| s.to == "stride"));
    // Strands are reaped by now; the mounds' rows keep their CPU time.
    assert_eq!(last.sched.mounds.len(), 2);
    assert!(last.sched.mounds.iter().all(|m| m.account.cpu_ns > 0));
    let f = footer(&mut d);
    assert!(f.contains("finished") && f.contains("policy stride"), "{f}");
}

/// The database engine and the shell (guest/prebuilt, Alpha).
const DBENGINE: &[u8] = include_bytes!("../../guest/prebuilt/alpha/dbengine");
const SH: &[u8] = include_bytes!("../../guest/prebuilt/alpha/sh");

/// A db-pager mound whose program attaches a database under `lru`; the
/// dashboard's `R` → `mru` → Enter → `y` reaches its pager through the
/// control plane, and a bad policy is refused with the reason.
#[test]
fn switch_the_pager_policy_on_a_real_host() {
    use spin_dbpager::{DbPagerConfig, DbPagerExt};
    use spin_vmm::host::PagerMound;

    let started = Instant::now();
    let log = Arc::new(LogBook::new(started));
    let script = b"mktempdir T\n\
        /bin/dbengine $T/db create 160\n\
        /bin/dbengine -p lru -b 64 -H $T/db hotscan 24 120 3 300\n";
    let file = |path: &str, bytes: &[u8], mode| GuestFile {
        path: path.as_bytes().to_vec(),
        bytes: bytes.into(),
        mode,
    };
    let mut c = UnixConfig::new(
        "db",
        b"/bin/sh".to_vec(),
        vec![b"/bin/sh".to_vec(), b"/bin/t.sh".to_vec()],
    );
    c.files = vec![
        file("/bin/sh", SH, 0o755),
        file("/bin/dbengine", DBENGINE, 0o755),
        file("/bin/t.sh", script, 0o644),
    ];
    c.stdout = Stdio::Writer(SharedWriter::new(log.writer("db")));
    let ext = DbPagerExt::new(DbPagerConfig::default());
    c.extensions.push(ext.clone());
    let host = Host::build(HostConfig {
        ram: 128 << 20,
        mounds: vec![MoundConfig::Unix(c)],
        pagers: vec![PagerMound {
            mound: spin_kernel::MoundId(1),
            ext: ext.clone(),
        }],
        ..HostConfig::default()
    })
    .expect("the db-pager mound starts");
    let host = Arc::new(host);
    let mut plane: Box<dyn ControlPlane> = Box::new(Arc::new(Controller::new(
        host.clone(),
        log.clone(),
        started,
    )));
    let runner = {
        let host = host.clone();
        std::thread::spawn(move || host.run(|_| {}).map(|_| ()))
    };
    // Wait for the program to attach its database (a file stays attached
    // after its program exits, so this cannot be missed).
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut d = Dashboard::new(spin_console::Config::default(), "real host");
    loop {
        d.update(plane.snapshot().expect("in-process snapshot"));
        let attached = d
            .latest()
            .is_some_and(|t| t.pagers.first().is_some_and(|p| !p.files.is_empty()));
        if attached {
            break;
        }
        assert!(
            Instant::now() < deadline && d.latest().is_some_and(|t| t.running),
            "the program never attached its database: {:?}",
            log.since(0, 50)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let t = d.latest().expect("a record");
    assert_eq!(t.pagers[0].name, "db");
    assert_eq!(t.pagers[0].files[0].policy, "lru");
    assert_eq!(t.pagers[0].files[0].budget, 64);

    let mut asked = None;
    for k in [
        Key::Char('9'),
        Key::Char('R'),
        Key::Char('m'),
        Key::Enter,
        Key::Char('y'),
    ] {
        if let Action::SetPagerPolicy { mound, policy } = d.on_key(k) {
            asked = Some((mound, policy));
        }
    }
    let (mound, policy) = asked.expect("the confirmed popup asks for a switch");
    assert_eq!((mound, policy.as_str()), (1, "mru"));
    match plane.request(&Request::SetPagerPolicy { mound, policy }) {
        Ok(Reply::PagerPolicySet { from, to, .. }) => {
            assert_eq!((from.as_str(), to.as_str()), ("lru", "mru"));
        }
        other => panic!("switch refused: {other:?}"),
    }
    assert_eq!(ext.stats()[0].policy, "mru", "the pager itself switched");
    match plane.request(&Request::SetPagerPolicy {
        mound: 1,
        policy: "fifo".into(),
    }) {
        Ok(Reply::Error { message }) => {
            assert!(message.contains("unknown pager policy `fifo`"), "{message}")
        }
        other => panic!("a bad policy was not refused: {other:?}"),
    }
    host.stop_all();
    runner
        .join()
        .expect("the host thread does not panic")
        .expect("the host runs to the end");
    let last = plane.snapshot().expect("in-process snapshot");
    let s = &last.pagers[0].files[0];
    assert_eq!(s.policy, "mru");
    assert!(s.per_policy.iter().any(|(p, _)| p == "lru"));
    assert!(s.total.faults > 0, "{s:?}");
}
