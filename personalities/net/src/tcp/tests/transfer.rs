//! Moving data: bulk through a faulty link, flow control (zero-window
//! probes), Nagle and delayed ACKs, loopback, several threads.

use std::sync::atomic::Ordering;

use super::*;
use crate::socket::Shutdown;
use crate::telemetry::{DropReason, Layer};

/// Sends `total` bytes of a pattern from `tx` to `rx`, stepping the link.
fn transfer(
    link: &mut Link,
    tx: &TcpStream,
    rx: &TcpStream,
    total: usize,
    limit: usize,
) -> Vec<u8> {
    let data: Vec<u8> = (0..total).map(|i| (i * 31 % 251) as u8).collect();
    let mut sent = 0;
    let mut got = Vec::with_capacity(total);
    let ok = link.run_until(limit, |_| {
        while sent < total {
            match tx.send(&data[sent..]) {
                Ok(n) => sent += n,
                Err(SockError::WouldBlock) => break,
                Err(e) => panic!("send: {e}"),
            }
        }
        read_all(rx, &mut got).unwrap();
        got.len() == total
    });
    assert!(ok, "transfer stalled at {} of {total} bytes", got.len());
    assert!(got == data, "the bytes arrived changed");
    got
}

#[test]
fn five_megabytes_arrive_intact_through_a_lossy_duplicating_reordering_link() {
    let mut link = Link::with(
        Some(FaultConfig {
            drop: 0.01,
            duplicate: 0.01,
            reorder: 0.01,
            seed: 42,
        }),
        |_| {},
    );
    let (c, s, _l) = connected(&mut link, 5001);
    transfer(&mut link, &c, &s, 5 << 20, 200_000);
    // And back the other way.
    transfer(&mut link, &s, &c, 1 << 20, 200_000);
    let t = link.a.telemetry().tcp;
    assert!(t.retransmits > 0, "{t:?}");
    assert!(t.fast_retransmits > 0, "{t:?}");
    let faults = link.faults[0].counts();
    assert!(faults.dropped > 0 && faults.duplicated > 0 && faults.reordered > 0);
    // Duplicates and reordering were seen by the receiver as such.
    let b = link.b.handle();
    let dups = b.counters().drops(Layer::Tcp, DropReason::OutOfWindow);
    assert!(dups > 0);
}

#[test]
fn zero_window_is_probed_until_the_reader_drains_it() {
    let mut link = Link::new();
    let (c, s, _l) = connected(&mut link, 5002);
    s.set_buffer_sizes(None, Some(16 * 1024));
    let data = vec![9u8; 1 << 20];
    let mut sent = 0;
    // The receiver does not read: the sender fills its window, then its
    // own buffer, then blocks.
    link.run_until(2000, |_| {
        match c.send(&data[sent..]) {
            Ok(n) => sent += n,
            Err(SockError::WouldBlock) => {}
            Err(e) => panic!("{e}"),
        }
        false
    });
    assert_eq!(c.send(&data[sent..]), Err(SockError::WouldBlock));
    assert!(!c.readiness().writable);
    let queued = s.recv_queued();
    assert!(queued > 0 && queued <= 256 * 1024, "{queued}");
    // Window probes went out while the window was closed (each answered
    // by an ACK), and nothing was retransmitted as lost.
    let seg_before = link.a.telemetry().tcp.segments_out;
    link.run_until(5000, |_| false);
    let probes = link.a.telemetry().tcp.segments_out - seg_before;
    assert!(probes >= 2, "probes {probes}");
    assert_eq!(link.a.telemetry().tcp.timed_out, 0);
    assert_eq!(c.state(), TcpState::Established);
    // A reader stalled for ten minutes is not a dead peer: probes are
    // answered, nothing times out.
    while link.now < 600_000 {
        assert!(link.jump(), "the probe timer stays armed");
        link.step();
    }
    assert_eq!(link.a.telemetry().tcp.timed_out, 0);
    assert_eq!(c.state(), TcpState::Established);
    // Reading opens the window: the rest flows.
    let mut got = Vec::new();
    link.run_until(20_000, |_| {
        while sent < data.len() {
            match c.send(&data[sent..]) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        read_all(&s, &mut got).unwrap();
        got.len() == data.len()
    });
    assert_eq!(got.len(), data.len());
}

#[test]
fn nagle_holds_small_segments_until_nodelay() {
    let mut link = Link::new();
    let (c, _s, _l) = connected(&mut link, 5003);
    let out = |link: &Link| link.a.telemetry().tcp.segments_out;
    let before = out(&link);
    c.send(b"a").unwrap();
    c.send(b"b").unwrap();
    c.send(b"c").unwrap();
    // The first goes out; the others wait for its ACK.
    assert_eq!(out(&link) - before, 1);
    c.set_nodelay(true);
    // Turning Nagle off sends what waited.
    assert_eq!(out(&link) - before, 2);
    c.send(b"d").unwrap();
    assert_eq!(out(&link) - before, 3);
}

#[test]
fn tcp_over_loopback_between_two_sockets_of_one_stack() {
    let mut link = Link::new();
    let net = link.a.handle();
    let l = net.tcp_listen(sa(Ipv4Addr::LOCALHOST, 8080), 1).unwrap();
    let c = net
        .tcp_connect(None, sa(Ipv4Addr::LOCALHOST, 8080))
        .unwrap();
    // The handshake ran over loopback inside the call.
    assert_eq!(c.state(), TcpState::Established);
    let s = l.accept().unwrap();
    assert_eq!(c.local_addr().ip(), &Ipv4Addr::LOCALHOST);
    let big = vec![3u8; 300_000];
    let mut sent = 0;
    let mut got = Vec::new();
    assert!(link.run_until(10_000, |_| {
        if sent < big.len() {
            sent += c.send(&big[sent..]).unwrap_or(0);
        }
        read_all(&s, &mut got).unwrap();
        got.len() == big.len()
    }));
    // Our own address works too; nothing reached the wire.
    let l2 = net.tcp_listen(sa(A, 8081), 1).unwrap();
    let c2 = net.tcp_connect(None, sa(A, 8081)).unwrap();
    assert_eq!(c2.state(), TcpState::Established);
    assert!(l2.accept().is_ok());
    assert_eq!(link.b.telemetry().layer(Layer::Ether).packets, 0);
}

#[test]
fn acks_are_delayed_for_one_segment_and_immediate_for_two() {
    let mut link = Link::new();
    let (c, s, _l) = connected(&mut link, 6000);
    c.set_nodelay(true);
    link.run_until(100, |_| false);
    let acks = |link: &Link| link.b.telemetry().tcp.segments_out;
    let before = acks(&link);
    c.send(b"one").unwrap();
    link.a.poll_nic();
    link.b.poll_nic();
    assert_eq!(acks(&link), before, "a lone segment's ACK waits");
    assert_eq!(s.recv_queued(), 3);
    // 40 ms later the delayed ACK goes.
    let start = link.now;
    link.run_until(100, |l| acks(l) > before);
    assert!(link.now - start >= 39);
    let before = acks(&link);
    c.send(&[0u8; 2920]).unwrap(); // two full segments
    link.a.poll_nic();
    link.b.poll_nic();
    assert_eq!(
        acks(&link),
        before + 1,
        "every second segment is ACKed at once"
    );
}

#[test]
fn sockets_are_used_from_several_threads() {
    use std::sync::atomic::AtomicBool;
    use std::sync::{Condvar, Mutex};
    // One stack, loopback: a server thread, a client thread and a clock
    // thread driving the timers; wakers signal a condition variable. (No
    // timing is asserted: the bytes must arrive whole.)
    let link = Link::new();
    let net = link.a.handle();
    let stack = Arc::new(link.a);
    let l = net.tcp_listen(sa(Ipv4Addr::LOCALHOST, 9000), 1).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    // The clock follows real time, as the vmm's will: a simulated clock
    // racing at CPU speed would let a preempted thread look like a peer
    // silent for minutes.
    let clock = {
        let (stack, done) = (stack.clone(), done.clone());
        std::thread::spawn(move || {
            let start = std::time::Instant::now();
            while !done.load(Ordering::Relaxed) {
                stack.poll(start.elapsed().as_millis() as u64);
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        })
    };
    type Signal = Arc<(Mutex<u64>, Condvar)>;
    let signal = || -> (Signal, Waker) {
        let sig: Signal = Arc::new((Mutex::new(0), Condvar::new()));
        let s = sig.clone();
        let w: Waker = Arc::new(move || {
            *s.0.lock().unwrap() += 1;
            s.1.notify_all();
        });
        (sig, w)
    };
    let wait = |sig: &Signal| {
        let g = sig.0.lock().unwrap();
        let _ = sig
            .1
            .wait_timeout(g, std::time::Duration::from_millis(5))
            .unwrap();
    };
    let total = 2 << 20;
    let server = {
        let net = net.clone();
        std::thread::spawn(move || {
            let (sig, w) = signal();
            l.set_waker(Some(w.clone()));
            let s = loop {
                match l.accept() {
                    Ok(s) => break s,
                    Err(_) => wait(&sig),
                }
            };
            s.set_waker(Some(w));
            let mut sum = 0u64;
            let mut n = 0;
            let mut buf = vec![0u8; 65536];
            loop {
                match s.recv(&mut buf, false) {
                    Ok(0) => break,
                    Ok(k) => {
                        sum += buf[..k].iter().map(|&b| u64::from(b)).sum::<u64>();
                        n += k;
                    }
                    Err(SockError::WouldBlock) => wait(&sig),
                    Err(e) => panic!("{e} after {n} bytes; {:?}", net.counters().layers()),
                }
            }
            drop(net);
            (n, sum)
        })
    };
    let client = std::thread::spawn(move || {
        let (sig, w) = signal();
        let c = net
            .tcp_connect(None, sa(Ipv4Addr::LOCALHOST, 9000))
            .unwrap();
        c.set_waker(Some(w));
        let data: Vec<u8> = (0..total).map(|i| (i % 256) as u8).collect();
        let mut sent = 0;
        while sent < total {
            match c.send(&data[sent..]) {
                Ok(k) => sent += k,
                Err(SockError::WouldBlock | SockError::InProgress) => wait(&sig),
                Err(e) => panic!("{e}"),
            }
        }
        c.shutdown(Shutdown::Write).unwrap();
        data.iter().map(|&b| u64::from(b)).sum::<u64>()
    });
    let want = client.join().unwrap();
    let (n, sum) = server.join().unwrap();
    done.store(true, Ordering::Relaxed);
    clock.join().unwrap();
    assert_eq!((n, sum), (total, want));
}
