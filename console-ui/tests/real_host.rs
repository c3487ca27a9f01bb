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
