//! `[scheduler]` and the UNIX (and `db-pager`) `[[mound]]` tables.

use super::*;

pub(super) fn scheduler(
    cx: &Ctx,
    s: RawScheduler,
    host: &mut HostConfig,
) -> Result<(), ManifestError> {
    let p = &mut host.scheduler;
    if let Some(pol) = &s.policy {
        let name = pol.get_ref();
        if !POLICY_NAMES.contains(&name.as_str()) {
            return Err(cx.err(
                pol.span(),
                format!(
                    "policy: unknown policy `{name}` (one of {})",
                    POLICY_NAMES.join(", ")
                ),
            ));
        }
        p.policy = name.clone();
    }
    if let Some(q) = &s.quantum {
        let n = *q.get_ref();
        if !(1_000..=10_000_000_000).contains(&n) {
            return Err(cx.err(
                q.span(),
                format!("quantum: {n} ns is not in 1000..=10000000000"),
            ));
        }
        p.params.quantum = n;
    }
    if let Some(l) = &s.levels {
        let n = *l.get_ref();
        if !(1..=32).contains(&n) {
            return Err(cx.err(l.span(), format!("levels: {n} is not in 1..=32")));
        }
        p.params.levels = n as u8;
    }
    if let Some(v) = &s.fair_slice {
        if *v.get_ref() < 1_000 {
            return Err(cx.err(v.span(), "fair_slice: at least 1000 ns"));
        }
        p.params.fair_slice = *v.get_ref();
    }
    if let Some(v) = &s.fair_lag_bound {
        p.params.fair_lag_bound = *v.get_ref();
    }
    if let Some(w) = &s.fair_weights {
        p.params.fair_weights = match w.get_ref().as_str() {
            "weight" => FairWeights::Weight,
            "priority" => FairWeights::Priority,
            other => {
                return Err(cx.err(
                    w.span(),
                    format!("fair_weights: `{other}` is not weight or priority"),
                ))
            }
        };
    }
    if let Some(w) = s.watchdog {
        p.watchdog = w;
    }
    if let Some(b) = &s.stall_bound_ms {
        let n = *b.get_ref();
        if n == 0 {
            return Err(cx.err(b.span(), "stall_bound_ms: must be positive"));
        }
        p.stall_bound = n.saturating_mul(1_000_000);
    }
    Ok(())
}

pub(super) fn mound(
    cx: &Ctx,
    id: spin_kernel::MoundId,
    m: RawMound,
    span: Range<usize>,
    embedded: &[Embedded],
    seed: u64,
) -> Result<MoundParts, ManifestError> {
    let db_pager = match m.kind.get_ref().as_str() {
        "unix" => false,
        "db-pager" => true,
        other => {
            let known = "unix, db-pager, video-server, video-client";
            return Err(cx.err(
                m.kind.span(),
                format!("type: unknown mound type `{other}` ({known})"),
            ));
        }
    };
    let pager = match (&m.pager_budget, db_pager) {
        (Some(b), false) => {
            return Err(cx.err(b.span(), "pager_budget: only for type = \"db-pager\""));
        }
        (Some(b), true) if !(1..=spin_dbpager::extension::MAX_BUDGET).contains(b.get_ref()) => {
            return Err(cx.err(
                b.span(),
                format!(
                    "pager_budget: {} frames is not in 1..={}",
                    b.get_ref(),
                    spin_dbpager::extension::MAX_BUDGET
                ),
            ));
        }
        (b, true) => {
            let mut c = spin_dbpager::DbPagerConfig::default();
            if let Some(b) = b {
                c.budget = *b.get_ref() as usize;
            }
            Some(c)
        }
        (None, false) => None,
    };
    let name = m.name.get_ref().clone();
    let Some(program) = &m.program else {
        return Err(cx.err(span, format!("mound `{name}`: missing `program`")));
    };
    let mut mounts = Vec::new();
    let (guest_program, argv0) = match program.get_ref().strip_prefix("embedded:") {
        Some(e) => {
            if !embedded.iter().any(|f| f.name == e) {
                let names: Vec<&str> = embedded.iter().map(|f| f.name.as_str()).collect();
                return Err(cx.err(
                    program.span(),
                    format!(
                        "program: no embedded program `{e}` (this spin carries: {})",
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ),
                ));
            }
            (
                format!("/bin/{e}").into_bytes(),
                format!("/bin/{e}").into_bytes(),
            )
        }
        None => {
            let path = cx.host_path(program.get_ref());
            let canon = path
                .canonicalize()
                .map_err(|e| cx.err(program.span(), format!("program: {}: {e}", path.display())))?;
            if !canon.is_file() {
                return Err(cx.err(
                    program.span(),
                    format!("program: {} is not a file", canon.display()),
                ));
            }
            if let Some(dir) = canon.parent() {
                mounts.push(HostMount {
                    guest: dir.as_os_str().as_bytes().to_vec(),
                    host: dir.to_path_buf(),
                    writable: false,
                });
            }
            let bytes = canon.as_os_str().as_bytes().to_vec();
            (bytes.clone(), bytes)
        }
    };
    for mt in &m.mounts {
        let r = mt.get_ref();
        let host = cx.host_path(&r.host);
        let host = host
            .canonicalize()
            .map_err(|e| cx.err(mt.span(), format!("mounts: {}: {e}", host.display())))?;
        if !host.is_dir() {
            return Err(cx.err(
                mt.span(),
                format!("mounts: {} is not a directory", host.display()),
            ));
        }
        if !r.guest.starts_with('/') || r.guest.split('/').any(|c| c == "..") {
            return Err(cx.err(
                mt.span(),
                format!(
                    "mounts: guest path `{}` must be absolute, without `..`",
                    r.guest
                ),
            ));
        }
        mounts.push(HostMount {
            guest: r.guest.clone().into_bytes(),
            host,
            writable: r.writable,
        });
    }
    let mut argv = vec![argv0];
    argv.extend(m.args.iter().map(|a| a.clone().into_bytes()));
    let mut env: BTreeMap<String, String> = if m.inherit_env {
        std::env::vars().collect()
    } else {
        [("PATH", "/bin"), ("HOME", "/"), ("TERM", "dumb")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    env.extend(m.env);
    let mut unix = UnixConfig::new(name.clone(), guest_program, argv);
    unix.envp = env
        .into_iter()
        .map(|(k, v)| format!("{k}={v}").into_bytes())
        .collect();
    unix.mounts = mounts;
    unix.files = embedded
        .iter()
        .map(|f| GuestFile {
            path: format!("/bin/{}", f.name).into_bytes(),
            bytes: f.bytes.clone(),
            mode: f.mode,
        })
        .collect();
    unix.seed = m.seed.unwrap_or(seed);
    unix.trace_syscalls = m.trace_syscalls;
    unix.stdout = Stdio::Null;
    unix.stderr = Stdio::Null;
    unix.stdin = Stdio::Null;
    if let Some(c) = &m.cwd {
        if !c.get_ref().starts_with('/') {
            return Err(cx.err(c.span(), "cwd: must be an absolute guest path"));
        }
        unix.cwd = c.get_ref().clone().into_bytes();
    }
    if let Some(s) = &m.stdin {
        let path = cx.host_path(s.get_ref());
        let bytes = std::fs::read(&path)
            .map_err(|e| cx.err(s.span(), format!("stdin: {}: {e}", path.display())))?;
        unix.stdin = Stdio::Bytes(bytes);
    }
    if let Some(q) = &m.quota_frames {
        let n = *q.get_ref();
        if n < 64 {
            return Err(cx.err(
                q.span(),
                format!("quota_frames: {n} is too small for a process (at least 64)"),
            ));
        }
        unix.quota_frames = Some(n);
    }
    let mut params = SchedParams::default();
    if let Some(p) = &m.priority {
        let n = *p.get_ref();
        if n > 31 {
            return Err(cx.err(p.span(), format!("priority: {n} is not in 0..=31")));
        }
        params.priority = n as u8;
    }
    if let Some(w) = &m.weight {
        let n = *w.get_ref();
        if !(1..=1_000_000).contains(&n) {
            return Err(cx.err(w.span(), format!("weight: {n} is not in 1..=1000000")));
        }
        params.weight = n as u32;
    }
    if let Some(r) = &m.reservation {
        let raw = r.get_ref();
        let deadline = raw.deadline_us.unwrap_or(raw.period_us);
        if raw.period_us == 0
            || raw.budget_us == 0
            || raw.budget_us > deadline
            || deadline > raw.period_us
        {
            return Err(cx.err(
                r.span(),
                "reservation: need 0 < budget_us <= deadline_us <= period_us",
            ));
        }
        params.reservation = Some(Reservation {
            period: raw.period_us * 1_000,
            deadline: deadline * 1_000,
            budget: raw.budget_us * 1_000,
        });
    }
    let mut group = None;
    if let Some(s) = &m.strands {
        let raw = s.get_ref();
        let grouped = match raw
            .scheduling
            .as_ref()
            .map(|v| (v.get_ref().as_str(), v.span()))
        {
            None | Some(("global", _)) => false,
            Some(("group", _)) => true,
            Some((other, sp)) => {
                return Err(cx.err(
                    sp,
                    format!("strands.scheduling: `{other}` is not global or group"),
                ))
            }
        };
        if grouped {
            let local = match &raw.local {
                None => "round-robin".to_string(),
                Some(l) => {
                    let v = l.get_ref();
                    if v != "round-robin" && !POLICY_NAMES.contains(&v.as_str()) {
                        return Err(cx.err(
                            l.span(),
                            format!(
                                "strands.local: unknown local policy `{v}` (round-robin, {})",
                                POLICY_NAMES.join(", ")
                            ),
                        ));
                    }
                    v.clone()
                }
            };
            let quantum = raw.local_quantum.as_ref().map_or(Ok(1_000_000), |q| {
                if *q.get_ref() < 1_000 {
                    Err(cx.err(q.span(), "strands.local_quantum: at least 1000 ns"))
                } else {
                    Ok(*q.get_ref())
                }
            })?;
            group = Some(GroupConfig {
                mound: id,
                params,
                local,
                local_quantum: quantum,
            });
        } else if raw.local.is_some() || raw.local_quantum.is_some() {
            return Err(cx.err(
                s.span(),
                "strands: `local` and `local_quantum` need scheduling = \"group\"",
            ));
        }
    }
    unix.params = params;
    // The database pager mound: a UNIX mound whose programs can bring their
    // own pager (spin-dbpager); the host keeps the extension too.
    let pager = pager.map(spin_dbpager::DbPagerExt::new);
    if let Some(ext) = &pager {
        unix.kind = "db-pager".into();
        unix.extensions
            .push(ext.clone() as Arc<dyn spin_unix::ext::ExtLinker>);
    }
    Ok((MoundConfig::Unix(unix), group, pager))
}
