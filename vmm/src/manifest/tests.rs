use super::*;

fn parse(text: &str) -> Result<Manifest, ManifestError> {
    let embedded = vec![Embedded {
        name: "sh".into(),
        arch: None,
        bytes: Arc::from(&b"\x7fELF"[..]),
        mode: 0o755,
    }];
    Manifest::parse("m.toml", text, Path::new("/"), &embedded, None)
}

const GOOD: &str = r#"
machine = "alpha"
cpus = 2

[scheduler]
policy = "stride"
quantum = 1_000_000

[[mound]]
name = "a"
type = "unix"
program = "embedded:sh"
args = ["/bin/x.sh"]
priority = 20
weight = 300
quota_frames = 4096

[[mound]]
name = "b"
type = "unix"
program = "embedded:sh"
strands = { scheduling = "group", local = "round-robin" }
"#;

#[test]
fn a_good_manifest_builds_a_host_config() {
    let m = parse(GOOD).expect("valid");
    assert_eq!(m.host.cpus, 2);
    assert_eq!(m.host.scheduler.policy, "stride");
    assert_eq!(m.host.scheduler.params.quantum, 1_000_000);
    assert_eq!(m.host.mounds.len(), 2);
    let MoundConfig::Unix(a) = &m.host.mounds[0];
    assert_eq!(a.program, b"/bin/sh");
    assert_eq!(a.argv, vec![b"/bin/sh".to_vec(), b"/bin/x.sh".to_vec()]);
    assert_eq!(a.params.priority, 20);
    assert_eq!(a.params.weight, 300);
    assert_eq!(a.quota_frames, Some(4096));
    assert_eq!(a.files.len(), 1);
    assert_eq!(m.host.groups.len(), 1);
    assert_eq!(m.host.groups[0].mound, spin_kernel::MoundId(2));
}

#[test]
fn a_db_pager_mound_links_the_pager_extension() {
    let m = parse(
        r#"
[[mound]]
name = "db"
type = "db-pager"
program = "embedded:sh"
pager_budget = 128
"#,
    )
    .expect("valid");
    let MoundConfig::Unix(u) = &m.host.mounds[0];
    let names: Vec<&str> = u.extensions.iter().map(|e| e.name()).collect();
    assert_eq!(names, vec!["spin.db-pager"]);
    // The host keeps the very extension the mound links.
    assert_eq!(m.host.pagers.len(), 1);
    assert_eq!(m.host.pagers[0].mound, spin_kernel::MoundId(1));
    let linked = Arc::as_ptr(&u.extensions[0]) as *const ();
    assert_eq!(linked, Arc::as_ptr(&m.host.pagers[0].ext) as *const ());
    let plain = parse(GOOD).expect("valid");
    let MoundConfig::Unix(a) = &plain.host.mounds[0];
    assert!(a.extensions.is_empty(), "unix mounds link nothing extra");
    assert!(plain.host.pagers.is_empty());
    let e = parse(
        "[[mound]]\nname = \"a\"\ntype = \"unix\"\nprogram = \"embedded:sh\"\npager_budget = 5\n",
    )
    .unwrap_err();
    assert_eq!((e.line, e.column), (5, 16), "{e}");
    assert!(e.message.contains("only for type = \"db-pager\""), "{e}");
    let e = parse(
        "[[mound]]\nname = \"a\"\ntype = \"db-pager\"\nprogram = \"embedded:sh\"\npager_budget = 0\n",
    )
    .unwrap_err();
    assert!(e.message.contains("is not in 1..="), "{e}");
}

#[test]
fn the_network_table_extensions_and_ports_make_one_network() {
    let m = parse(
        r#"
[network]
address = "10.1.0.15/16"
gateway = "10.1.0.2"
mac = "02:00:00:00:00:0a"
guestfwd = [8000]
busy_poll_us = 50
faults = { drop = 0.25, seed = 9 }

[[extension]]
kind = "udp-echo"
port = 7

[[extension]]
kind = "udp-forward"
port = 53
to = "10.1.0.2:5353"

[[mound]]
name = "a"
type = "unix"
program = "embedded:sh"
ports = ["8080:80", "udp:5353:53"]
"#,
    )
    .expect("valid");
    let n = m.host.network.expect("a network");
    assert_eq!(
        (n.address, n.prefix_len),
        ("10.1.0.15".parse().unwrap(), 16)
    );
    assert_eq!(n.gateway, Some("10.1.0.2".parse().unwrap()));
    assert_eq!(n.mac.map(|m| m.0[5]), Some(10));
    assert_eq!(n.busy_poll_us, 50);
    let f = n.faults.expect("faults");
    assert_eq!((f.drop, f.duplicate, f.seed), (0.25, 0.0, 9));
    assert_eq!(
        n.backend,
        Backend::User {
            hostfwd: vec!["8080:80".parse().unwrap(), "udp:5353:53".parse().unwrap()],
            guestfwd: vec![8000],
        }
    );
    assert_eq!(
        n.extensions,
        vec![
            Extension::UdpEcho { port: 7 },
            Extension::UdpForward {
                port: 53,
                to: "10.1.0.2:5353".parse().unwrap()
            }
        ]
    );
    let tap = parse(
        "[network]\nbackend = \"tap\"\ntap = \"tap0\"\naddress = \"10.77.0.2/24\"\n\
         [[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n",
    )
    .expect("valid");
    let n = tap.host.network.expect("a network");
    assert_eq!(
        n.backend,
        Backend::Tap {
            name: "tap0".into()
        }
    );
    assert_eq!(n.gateway, None);
    assert!(parse(GOOD).unwrap().host.network.is_none());
}

fn error_of(text: &str) -> ManifestError {
    parse(text).expect_err("must be refused")
}

#[test]
fn unknown_keys_are_located() {
    let e = error_of("cpus = 1\n[[mound]]\nname = \"a\"\ntype = \"unix\"\nprogam = \"x\"\n");
    assert_eq!((e.file.as_str(), e.line), ("m.toml", 5), "{e}");
    assert!(e.message.contains("progam"), "{e}");
}

#[test]
fn bad_values_name_the_line_and_the_value() {
    let cases: &[(&str, usize, &str)] = &[
        ("cpus = 0\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n", 1, "cpus"),
        ("[scheduler]\npolicy = \"fifo\"\n", 2, "unknown policy `fifo`"),
        ("machine = \"sparc\"\n", 1, "unknown machine"),
        ("[[mound]]\nname=\"a\"\ntype=\"vms\"\nprogram=\"embedded:sh\"\n", 3, "unknown mound type"),
        ("[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:nope\"\n", 4, "no embedded program"),
        ("[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"/no/such/file\"\n", 4, "/no/such/file"),
        ("[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\npriority = 40\n", 5, "priority"),
        ("[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\nmounts=[{host=\"/no/such/dir\", guest=\"/d\"}]\n", 5, "mounts"),
        ("[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n", 6, "already"),
        ("[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\nports = [\"80\"]\n", 5, "ports"),
        ("[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\nports = [\"1:2\", \"udp:1:2\", \"tcp:1:3\"]\n", 5, "already forwarded at line 5"),
        ("[network]\nbackend = \"slirp\"\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n", 2, "unknown network backend"),
        ("[network]\nbackend = \"tap\"\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n", 1, "needs tap"),
        ("[network]\naddress = \"10.0.2/24\"\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n", 2, "address"),
        ("[network]\nfaults = { drop = 1.5 }\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n", 2, "faults: drop"),
        ("[network]\nfaults = { loss = 0.5 }\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n", 2, "loss"),
        ("[network]\nbackend = \"tap\"\ntap = \"tap0\"\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\nports = [\"1:2\"]\n", 8, "backend = \"user\""),
        ("[[extension]]\nkind = \"tcp-echo\"\nport = 7\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n", 2, "unknown extension"),
        ("[[extension]]\nkind = \"udp-forward\"\nport = 7\nto = \"nowhere\"\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n", 4, "to:"),
        ("[[extension]]\nkind = \"udp-echo\"\nport = 70000\n[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\n", 3, "not a port"),
        ("[[mound]]\nname=\"a\"\ntype=\"unix\"\nprogram=\"embedded:sh\"\nweight = \"x\"\n", 5, "weight"),
        ("cpus = 1\n", 2, "no mounds"),
    ];
    for (text, line, what) in cases {
        let e = error_of(text);
        assert_eq!(e.line, *line, "{text:?} -> {e}");
        assert!(e.to_string().contains(what), "{text:?} -> {e}");
        assert!(e.to_string().starts_with(&format!("m.toml:{line}:")), "{e}");
    }
}
