//! The collector thread: it owns the control plane, polls telemetry at the
//! refresh interval and runs requests, so a slow or dead socket never
//! freezes the screen. It talks to the UI over channels (bottom's split:
//! the collector never touches UI types).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use spin_vmm::control::{ControlPlane, Reply, Request, Telemetry};

/// To the collector.
#[derive(Debug)]
pub(crate) enum Order {
    /// Poll at this interval from now on.
    Refresh(Duration),
    /// Send this request (then poll at once, to show its effect).
    Request(Request),
}

/// From the collector.
#[derive(Debug)]
pub(crate) enum News {
    /// A fresh record.
    Record(Box<Telemetry>),
    /// Polling failed: the link is lost (the collector keeps trying).
    Lost(String),
    /// The answer to a request (or why there is none).
    Reply(Request, Result<Reply, String>),
    /// The control plane panicked; the collector has stopped.
    Panicked(String),
}

/// The UI's end of the collector.
pub(crate) struct Collector {
    pub orders: Sender<Order>,
    pub news: Receiver<News>,
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

impl Collector {
    /// Starts the thread. It ends when the UI drops its end.
    pub fn spawn(mut plane: Box<dyn ControlPlane>, every: Duration) -> std::io::Result<Collector> {
        let (orders, order_rx) = mpsc::channel::<Order>();
        let (news_tx, news) = mpsc::channel::<News>();
        std::thread::Builder::new()
            .name("console-collector".into())
            .spawn(move || {
                let run = catch_unwind(AssertUnwindSafe(|| {
                    collect(plane.as_mut(), every, &order_rx, &news_tx)
                }));
                if let Err(p) = run {
                    let _ = news_tx.send(News::Panicked(panic_text(p.as_ref())));
                }
            })?;
        Ok(Collector { orders, news })
    }
}

fn collect(
    plane: &mut dyn ControlPlane,
    mut every: Duration,
    orders: &Receiver<Order>,
    news: &Sender<News>,
) {
    let mut next = Instant::now();
    loop {
        let wait = next.saturating_duration_since(Instant::now());
        let out = match orders.recv_timeout(wait) {
            Err(RecvTimeoutError::Disconnected) => return,
            Ok(Order::Refresh(d)) => {
                every = d;
                next = next.min(Instant::now() + d);
                continue;
            }
            Ok(Order::Request(req)) => {
                let r = plane.request(&req).map_err(|e| e.to_string());
                next = Instant::now();
                News::Reply(req, r)
            }
            Err(RecvTimeoutError::Timeout) => {
                next = Instant::now() + every;
                match plane.snapshot() {
                    Ok(t) => News::Record(Box::new(t)),
                    Err(e) => News::Lost(e.to_string()),
                }
            }
        };
        if news.send(out).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;
    use spin_vmm::control::ControlError;
    use std::sync::{Arc, Mutex};

    /// A host in a box: answers from the fixture, records requests, and
    /// dies (socket closed) once `alive` runs out.
    struct Fake {
        seq: u64,
        policy: String,
        alive: usize,
        seen: Arc<Mutex<Vec<Request>>>,
    }

    impl ControlPlane for Fake {
        fn request(&mut self, req: &Request) -> Result<Reply, ControlError> {
            if self.alive == 0 {
                return Err(ControlError::Protocol("the host closed the socket".into()));
            }
            self.alive -= 1;
            self.seen.lock().expect("not poisoned").push(req.clone());
            Ok(match req {
                Request::Snapshot => {
                    let mut t = fixture::record(self.seq);
                    self.seq += 1;
                    t.policy = self.policy.clone();
                    Reply::Snapshot(Box::new(t))
                }
                Request::SetPolicy { policy } => {
                    let from = std::mem::replace(&mut self.policy, policy.clone());
                    Reply::PolicySet {
                        from,
                        to: policy.clone(),
                    }
                }
                _ => Reply::Error {
                    message: "not in the fake".into(),
                },
            })
        }
    }

    fn next(c: &Collector) -> News {
        c.news
            .recv_timeout(Duration::from_secs(5))
            .expect("the collector answers")
    }

    #[test]
    fn polls_runs_requests_and_reports_a_dead_link() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let fake = Fake {
            seq: 0,
            policy: "rr-priority".into(),
            alive: 4,
            seen: seen.clone(),
        };
        let c = Collector::spawn(Box::new(fake), Duration::from_millis(20)).expect("thread");
        assert!(matches!(next(&c), News::Record(t) if t.policy == "rr-priority"));
        c.orders
            .send(Order::Request(Request::SetPolicy {
                policy: "stride".into(),
            }))
            .expect("collector alive");
        // A poll may land between; the reply, then a record with the swap.
        let mut replied = false;
        let mut swapped = false;
        for _ in 0..4 {
            match next(&c) {
                News::Reply(_, Ok(Reply::PolicySet { from, to })) => {
                    assert_eq!((from.as_str(), to.as_str()), ("rr-priority", "stride"));
                    replied = true;
                }
                News::Record(t) if t.policy == "stride" => swapped = true,
                News::Lost(_) => break,
                _ => {}
            }
        }
        assert!(replied && swapped);
        assert!(matches!(next(&c), News::Lost(why) if why.contains("closed")));
        assert!(seen
            .lock()
            .expect("not poisoned")
            .contains(&Request::SetPolicy {
                policy: "stride".into()
            }));
    }

    struct Boom;

    impl ControlPlane for Boom {
        fn request(&mut self, _: &Request) -> Result<Reply, ControlError> {
            panic!("boom");
        }
    }

    #[test]
    fn a_panicking_plane_is_reported() {
        let c = Collector::spawn(Box::new(Boom), Duration::from_millis(10)).expect("thread");
        assert!(matches!(next(&c), News::Panicked(why) if why == "boom"));
    }
}
