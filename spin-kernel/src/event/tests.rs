use super::*;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

#[derive(Clone, Debug)]
struct Pkt {
    ethertype: u16,
    port: u16,
}

fn define() -> (Event<Pkt, u32>, Primary<Pkt, u32>, KeyId, KeyId) {
    let (e, p) = Event::define("Ether.PacketArrived");
    let et = p.declare_key("ethertype", |a: &Pkt| u64::from(a.ethertype));
    let port = p.declare_key("port", |a: &Pkt| u64::from(a.port));
    (e, p, et, port)
}

fn who() -> Principal {
    Principal::kernel("test")
}

#[test]
fn no_handler_gives_none_and_single_handler_is_direct() {
    let (e, _p, _, _) = define();
    assert_eq!(
        e.raise(&Pkt {
            ethertype: 1,
            port: 2
        }),
        None
    );
    e.install(&who(), Handler::new(|a: &Pkt| u32::from(a.port) + 1))
        .unwrap();
    assert!(e.current().direct.is_some());
    assert_eq!(
        e.raise(&Pkt {
            ethertype: 1,
            port: 2
        }),
        Some(3)
    );
}

#[test]
fn guards_stack_and_all_must_hold() {
    let (e, _p, et, _) = define();
    e.install(
        &who(),
        Handler::new(|_: &Pkt| 7)
            .guard(Guard::eq(et, 0x800))
            .guard(Guard::pred(|a: &Pkt| a.port == 53)),
    )
    .unwrap();
    assert_eq!(
        e.raise(&Pkt {
            ethertype: 0x800,
            port: 53
        }),
        Some(7)
    );
    assert_eq!(
        e.raise(&Pkt {
            ethertype: 0x800,
            port: 54
        }),
        None
    );
    assert_eq!(
        e.raise(&Pkt {
            ethertype: 0x806,
            port: 53
        }),
        None
    );
    let t = e.telemetry();
    assert_eq!(t.handler_stats[0].dispatches, 1);
    assert_eq!(t.handler_stats[0].guard_misses, 1);
    assert!(t.handler_stats[0].indexed);
}

#[test]
fn indexed_dispatch_matches_linear_semantics_and_keeps_order() {
    let (e, p, et, port) = define();
    p.set_result_proc(|acc, r| acc * 100 + r);
    // Interleave indexed (two keys) and unindexed handlers; results record order.
    e.install(
        &who(),
        Handler::new(|_: &Pkt| 1).guard(Guard::eq(et, 0x800)),
    )
    .unwrap();
    e.install(&who(), Handler::new(|_: &Pkt| 2)).unwrap();
    e.install(&who(), Handler::new(|_: &Pkt| 3).guard(Guard::eq(port, 53)))
        .unwrap();
    e.install(
        &who(),
        Handler::new(|_: &Pkt| 4).guard(Guard::eq(et, 0x806)),
    )
    .unwrap();
    e.install(
        &who(),
        Handler::new(|_: &Pkt| 5).guard(Guard::pred(|a: &Pkt| a.port > 50)),
    )
    .unwrap();
    assert_eq!(
        e.raise(&Pkt {
            ethertype: 0x800,
            port: 53
        }),
        Some(1_02_03_05)
    );
    assert_eq!(
        e.raise(&Pkt {
            ethertype: 0x806,
            port: 1
        }),
        Some(2_04)
    );
    assert_eq!(
        e.raise(&Pkt {
            ethertype: 0,
            port: 0
        }),
        Some(2)
    );
}

#[test]
fn first_and_last_ordering() {
    let (e, p, _, _) = define();
    p.set_result_proc(|acc, r| acc * 10 + r);
    e.install(&who(), Handler::new(|_: &Pkt| 2)).unwrap();
    e.install(&who(), Handler::new(|_: &Pkt| 9).order(Order::Last))
        .unwrap();
    e.install(&who(), Handler::new(|_: &Pkt| 1).order(Order::First))
        .unwrap();
    e.install(&who(), Handler::new(|_: &Pkt| 3)).unwrap();
    e.install(&who(), Handler::new(|_: &Pkt| 8).order(Order::Last))
        .unwrap();
    assert_eq!(
        e.raise(&Pkt {
            ethertype: 0,
            port: 0
        }),
        Some(12398)
    );
}

#[test]
fn default_result_is_the_last_handlers() {
    let (e, _p, _, _) = define();
    e.install(&who(), Handler::new(|_: &Pkt| 1)).unwrap();
    e.install(&who(), Handler::new(|_: &Pkt| 2)).unwrap();
    assert_eq!(
        e.raise(&Pkt {
            ethertype: 0,
            port: 0
        }),
        Some(2)
    );
}

#[test]
fn policy_refuses_and_imposes_guards() {
    let (e, p, _, port) = define();
    p.set_install_policy(move |who: &Principal| match who.mound {
        None => Decision::Refuse("only mounds may listen".into()),
        Some(m) => Decision::AllowWithGuard(Guard::eq(port, u64::from(m.0))),
    });
    let err = e
        .install(&Principal::kernel("rogue"), Handler::new(|_: &Pkt| 0))
        .unwrap_err();
    assert!(matches!(err, EventError::Refused { .. }));
    assert!(err.to_string().contains("rogue"));
    e.install(
        &Principal::mound("m5", MoundId(5)),
        Handler::new(|_: &Pkt| 55),
    )
    .unwrap();
    assert_eq!(
        e.raise(&Pkt {
            ethertype: 0,
            port: 5
        }),
        Some(55)
    );
    assert_eq!(
        e.raise(&Pkt {
            ethertype: 0,
            port: 6
        }),
        None
    );
}

#[test]
fn undeclared_key_is_an_error() {
    let (e, _p, _, _) = define();
    let err = e
        .install(
            &who(),
            Handler::new(|_: &Pkt| 0).guard(Guard::eq(KeyId(7), 1)),
        )
        .unwrap_err();
    assert!(matches!(err, EventError::UnknownKey { key: 7, .. }));
}

#[test]
fn primary_can_be_replaced_and_removed() {
    let (e, p, _, _) = define();
    p.set_primary(Handler::new(|_: &Pkt| 1)).unwrap();
    assert_eq!(
        e.raise(&Pkt {
            ethertype: 0,
            port: 0
        }),
        Some(1)
    );
    p.set_primary(Handler::new(|_: &Pkt| 2)).unwrap();
    assert_eq!(e.handlers(), 1);
    assert_eq!(
        e.raise(&Pkt {
            ethertype: 0,
            port: 0
        }),
        Some(2)
    );
    assert!(p.remove_primary());
    assert_eq!(
        e.raise(&Pkt {
            ethertype: 0,
            port: 0
        }),
        None
    );
}

#[test]
fn uninstall_needs_the_token() {
    let (e, _p, _, _) = define();
    let id = e.install(&who(), Handler::new(|_: &Pkt| 1)).unwrap();
    e.uninstall(id).unwrap();
    assert_eq!(e.handlers(), 0);
}

#[test]
fn panicking_handler_is_contained_uninstalled_and_counted() {
    let (e, _p, _, _) = define();
    e.install(&who(), Handler::new(|_: &Pkt| 1)).unwrap();
    e.install(
        &who(),
        Handler::new(|_: &Pkt| -> u32 { panic!("extension bug") }),
    )
    .unwrap();
    e.install(&who(), Handler::new(|_: &Pkt| 3).order(Order::First))
        .unwrap();
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = e.raise(&Pkt {
        ethertype: 0,
        port: 0,
    });
    std::panic::set_hook(prev);
    // The event completed with the surviving handlers' result.
    assert_eq!(r, Some(1));
    assert_eq!(e.handlers(), 2);
    assert_eq!(e.telemetry().contained_faults, 1);
    assert_eq!(
        e.raise(&Pkt {
            ethertype: 0,
            port: 0
        }),
        Some(1)
    );
}

#[test]
fn lone_panicking_handler_on_the_direct_path_is_contained() {
    let (e, _p, _, _) = define();
    e.install(&who(), Handler::new(|_: &Pkt| -> u32 { panic!("boom") }))
        .unwrap();
    let mut raiser = e.raiser();
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    assert_eq!(
        raiser.raise(&Pkt {
            ethertype: 0,
            port: 0
        }),
        None
    );
    std::panic::set_hook(prev);
    assert_eq!(e.handlers(), 0);
    assert_eq!(
        raiser.raise(&Pkt {
            ethertype: 0,
            port: 0
        }),
        None
    );
}

#[test]
fn raiser_sees_installs_made_after_it_was_created() {
    let (e, _p, _, _) = define();
    let mut r = e.raiser();
    assert_eq!(
        r.raise(&Pkt {
            ethertype: 0,
            port: 0
        }),
        None
    );
    e.install(&who(), Handler::new(|_: &Pkt| 4)).unwrap();
    assert_eq!(
        r.raise(&Pkt {
            ethertype: 0,
            port: 0
        }),
        Some(4)
    );
}

#[test]
fn handlers_may_reenter_the_dispatcher() {
    let (e, _p, _, _) = define();
    let inner = e.clone();
    let installed = Arc::new(AtomicUsize::new(0));
    let n = installed.clone();
    e.install(
        &who(),
        Handler::new(move |_: &Pkt| {
            // Installing from inside a handler must not deadlock.
            if n.fetch_add(1, Ordering::SeqCst) == 0 {
                inner
                    .install(&Principal::kernel("nested"), Handler::new(|_: &Pkt| 9))
                    .unwrap();
            }
            1
        }),
    )
    .unwrap();
    assert_eq!(
        e.raise(&Pkt {
            ethertype: 0,
            port: 0
        }),
        Some(1)
    );
    assert_eq!(
        e.raise(&Pkt {
            ethertype: 0,
            port: 0
        }),
        Some(9)
    );
}

#[test]
fn async_handler_runs_elsewhere_and_raiser_does_not_wait() {
    let (e, _p, _, _) = define();
    let (tx, rx) = crossbeam_channel::bounded(1);
    let main = std::thread::current().id();
    e.install(
        &who(),
        Handler::new(move |a: &Pkt| {
            let _ = tx.send((std::thread::current().id(), a.port));
            0
        })
        .asynchronous(),
    )
    .unwrap();
    assert_eq!(
        e.raise(&Pkt {
            ethertype: 0,
            port: 42
        }),
        None
    );
    let (tid, port) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_ne!(tid, main);
    assert_eq!(port, 42);
}

#[test]
fn bounded_handler_over_budget_is_abandoned_and_counted() {
    let (e, _p, _, _) = define();
    let (release_tx, release_rx) = crossbeam_channel::bounded::<()>(1);
    e.install(
        &who(),
        Handler::new(move |_: &Pkt| {
            let _ = release_rx.recv_timeout(Duration::from_secs(10));
            1
        })
        .bounded(Duration::from_millis(20)),
    )
    .unwrap();
    e.install(
        &who(),
        Handler::new(|_: &Pkt| 2).bounded(Duration::from_secs(10)),
    )
    .unwrap();
    assert_eq!(
        e.raise(&Pkt {
            ethertype: 0,
            port: 0
        }),
        Some(2)
    );
    let t = e.telemetry();
    assert_eq!(t.handler_stats[0].abandoned, 1);
    assert_eq!(t.handler_stats[1].abandoned, 0);
    let _ = release_tx.send(());
}

#[test]
fn installing_many_handlers_is_fast_and_all_run() {
    let (e, p, _, port) = define();
    p.set_result_proc(|a, b| a + b);
    for i in 0..100 {
        e.install(
            &who(),
            Handler::new(|_: &Pkt| 1).guard(Guard::eq(port, i % 10)),
        )
        .unwrap();
    }
    assert_eq!(
        e.raise(&Pkt {
            ethertype: 0,
            port: 3
        }),
        Some(10)
    );
}

#[test]
fn raise_counts_survive_direct_path_and_handler_changes() {
    let (e, p, _, _) = define();
    let mut r = e.raiser();
    let pkt = Pkt {
        ethertype: 0,
        port: 0,
    };
    r.raise(&pkt); // no handler: general path
    let id = e.install(&who(), Handler::new(|_: &Pkt| 1)).unwrap();
    r.raise(&pkt); // direct path
    e.raise(&pkt); // direct path through Event::raise
    assert_eq!(e.telemetry().raises, 3);
    assert_eq!(e.telemetry().handler_stats[0].dispatches, 2);
    e.uninstall(id).unwrap();
    assert_eq!(
        e.telemetry().raises,
        3,
        "a removed handler's runs stay counted"
    );
    p.set_primary(Handler::new(|_: &Pkt| 2)).unwrap();
    e.install(&who(), Handler::new(|_: &Pkt| 3)).unwrap();
    r.raise(&pkt); // general path, two handlers
    assert!(p.remove_primary());
    r.raise(&pkt); // direct again
    let t = e.telemetry();
    assert_eq!(t.raises, 5);
    assert_eq!(t.handler_stats[0].dispatches, 2);
}
