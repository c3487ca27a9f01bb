use super::*;
use crate::event::Principal;
use crate::strand::MoundId;

trait Console: Send + Sync {
    fn put(&self, s: &str) -> usize;
}
trait Clock: Send + Sync {
    fn now(&self) -> u64;
}
struct Tty;
impl Console for Tty {
    fn put(&self, s: &str) -> usize {
        s.len()
    }
}
struct Fixed(u64);
impl Clock for Fixed {
    fn now(&self) -> u64 {
        self.0
    }
}

fn kernel_domain() -> Cap<Domain> {
    Domain::create(
        "SpinPublic",
        vec![
            Export::new::<dyn Console>("Console", Arc::new(Tty)),
            Export::new::<dyn Clock>("Clock", Arc::new(Fixed(7))),
        ],
        vec![],
    )
}

#[test]
fn resolve_binds_typed_imports() {
    let k = kernel_domain();
    let console: Import<dyn Console> = Import::new("Console");
    let ext = Domain::create("ext", vec![], vec![console.slot()]);
    assert_eq!(ext.unresolved(), vec!["Console".to_string()]);
    assert!(console.get().is_none());
    Domain::resolve(&k, &ext).unwrap();
    assert_eq!(console.get().unwrap().put("abc"), 3);
    assert!(ext.unresolved().is_empty());
}

#[test]
fn missing_name_is_an_error_naming_both_and_binds_nothing() {
    let k = kernel_domain();
    let console: Import<dyn Console> = Import::new("Console");
    let disk: Import<dyn Console> = Import::new("Disk");
    let ext = Domain::create("ext", vec![], vec![console.slot(), disk.slot()]);
    let err = Domain::resolve(&k, &ext).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("SpinPublic") && msg.contains("ext") && msg.contains("Disk"),
        "{msg}"
    );
    assert!(!console.is_resolved(), "resolution is all or nothing");
}

#[test]
fn type_mismatch_is_an_error_naming_both() {
    let k = kernel_domain();
    let wrong: Import<dyn Clock> = Import::new("Console");
    let ext = Domain::create("ext", vec![], vec![wrong.slot()]);
    match Domain::resolve(&k, &ext).unwrap_err() {
        DomainError::TypeMismatch {
            exporter,
            importer,
            name,
            ..
        } => {
            assert_eq!(
                (exporter.as_str(), importer.as_str(), name.as_str()),
                ("SpinPublic", "ext", "Console")
            );
        }
        e => panic!("unexpected {e}"),
    }
}

#[test]
fn combine_unions_and_detects_conflicts() {
    let a = Domain::create(
        "a",
        vec![Export::new::<dyn Console>("Console", Arc::new(Tty))],
        vec![],
    );
    let b = Domain::create(
        "b",
        vec![Export::new::<dyn Clock>("Clock", Arc::new(Fixed(1)))],
        vec![],
    );
    let ab = Domain::combine("ab", &a, &b).unwrap();
    assert_eq!(
        ab.exports(),
        vec!["Clock".to_string(), "Console".to_string()]
    );
    let clock: Import<dyn Clock> = Import::new("Clock");
    let ext = Domain::create("ext", vec![], vec![clock.slot()]);
    Domain::resolve(&ab, &ext).unwrap();
    assert_eq!(clock.get().unwrap().now(), 1);
    let c = Domain::create(
        "c",
        vec![Export::new::<dyn Clock>("Clock", Arc::new(Fixed(2)))],
        vec![],
    );
    assert!(matches!(
        Domain::combine("bc", &b, &c),
        Err(DomainError::Conflict { .. })
    ));
    // Combining a domain with itself is not a conflict.
    Domain::combine("bb", &b, &b).unwrap();
}

#[test]
fn nameserver_authorizer_may_refuse() {
    let ns = NameServer::new();
    ns.export(
        kernel_domain(),
        Some(Arc::new(|who: &Principal| match who.mound {
            Some(MoundId(1)) => Ok(()),
            _ => Err("only mound 1".to_string()),
        })),
    )
    .unwrap();
    assert!(ns
        .import("SpinPublic", &Principal::mound("unix", MoundId(1)))
        .is_ok());
    let err = ns
        .import("SpinPublic", &Principal::mound("video", MoundId(2)))
        .unwrap_err();
    assert!(matches!(err, NsError::Refused { .. }));
    assert!(err.to_string().contains("video"));
    assert_eq!(
        ns.import("Nope", &Principal::kernel("k")).unwrap_err(),
        NsError::NotFound("Nope".into())
    );
    assert_eq!(
        ns.export(kernel_domain(), None).unwrap_err(),
        NsError::Taken("SpinPublic".into())
    );
    ns.withdraw("SpinPublic").unwrap();
    assert!(ns.names().is_empty());
}
