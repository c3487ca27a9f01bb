//! `[network]`, `[[extension]]` and mound `ports`: the host network a
//! manifest asks for.

use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNetwork {
    backend: Option<Spanned<String>>,
    tap: Option<Spanned<String>>,
    address: Option<Spanned<String>>,
    gateway: Option<Spanned<String>>,
    mac: Option<Spanned<String>>,
    #[serde(default)]
    guestfwd: Vec<Spanned<u64>>,
    busy_poll_us: Option<Spanned<u64>>,
    faults: Option<Spanned<RawFaults>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFaults {
    #[serde(default)]
    drop: f64,
    #[serde(default)]
    duplicate: f64,
    #[serde(default)]
    reorder: f64,
    #[serde(default = "one")]
    seed: u64,
}

pub(super) fn one() -> u64 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExtension {
    kind: Spanned<String>,
    port: Spanned<u64>,
    to: Option<Spanned<String>>,
}

/// The `[network]` table, the `[[extension]]`s and the mounds' `ports`
/// (user-mode host forwards). A network is made when any of them is given.
pub(super) fn network(
    cx: &Ctx,
    raw: Option<Spanned<RawNetwork>>,
    exts: &[Spanned<RawExtension>],
    hostfwd: Vec<(PortForward, Range<usize>)>,
    end: usize,
) -> Result<Option<NetworkConfig>, ManifestError> {
    if raw.is_none() && exts.is_empty() && hostfwd.is_empty() {
        return Ok(None);
    }
    let mut n = NetworkConfig::default();
    let mut tap = None;
    let mut guestfwd = Vec::new();
    let mut user = true;
    if let Some(r) = &raw {
        let r = r.get_ref();
        if let Some(b) = &r.backend {
            user = match b.get_ref().as_str() {
                "user" => true,
                "tap" => false,
                other => {
                    return Err(cx.err(
                        b.span(),
                        format!("backend: unknown network backend `{other}` (user or tap)"),
                    ))
                }
            };
        }
        if let Some(t) = &r.tap {
            if user {
                return Err(cx.err(t.span(), "tap: needs backend = \"tap\""));
            }
            tap = Some(t.get_ref().clone());
        }
        if let Some(a) = &r.address {
            let (addr, prefix) = crate::net::parse_cidr(a.get_ref())
                .map_err(|e| cx.err(a.span(), format!("address: {e}")))?;
            n.address = addr;
            n.prefix_len = prefix;
        }
        if let Some(g) = &r.gateway {
            n.gateway = Some(g.get_ref().parse().map_err(|_| {
                cx.err(
                    g.span(),
                    format!("gateway: `{}` is not an IPv4 address", g.get_ref()),
                )
            })?);
        } else if !user {
            n.gateway = None;
        }
        if let Some(m) = &r.mac {
            n.mac = Some(parse_mac(m.get_ref()).ok_or_else(|| {
                cx.err(
                    m.span(),
                    format!("mac: `{}` is not a MAC like 02:00:00:00:00:01", m.get_ref()),
                )
            })?);
        }
        for g in &r.guestfwd {
            let p = *g.get_ref();
            if !(1..=65_535).contains(&p) {
                return Err(cx.err(g.span(), format!("guestfwd: {p} is not a port")));
            }
            if !user {
                return Err(cx.err(g.span(), "guestfwd: only with backend = \"user\""));
            }
            guestfwd.push(p as u16);
        }
        if let Some(b) = &r.busy_poll_us {
            let v = *b.get_ref();
            if v > 1_000_000 {
                return Err(cx.err(b.span(), format!("busy_poll_us: {v} is over 1000000")));
            }
            n.busy_poll_us = v;
        }
        if let Some(f) = &r.faults {
            let raw = f.get_ref();
            let faults = Faults {
                drop: raw.drop,
                duplicate: raw.duplicate,
                reorder: raw.reorder,
                seed: raw.seed,
            };
            faults
                .validate()
                .map_err(|e| cx.err(f.span(), format!("faults: {e}")))?;
            n.faults = Some(faults);
        }
    }
    if user {
        if n.gateway.is_none() {
            let span = raw.as_ref().map_or(end..end, |r| r.span());
            return Err(cx.err(span, "network: user mode needs a gateway address"));
        }
        n.backend = Backend::User {
            hostfwd: hostfwd.iter().map(|(f, _)| *f).collect(),
            guestfwd,
        };
    } else {
        if let Some((_, span)) = hostfwd.first() {
            return Err(cx.err(
                span.clone(),
                "ports: host forwards are for backend = \"user\"; on a tap the stack is \
                 reachable at its own address",
            ));
        }
        let Some(name) = tap else {
            let span = raw.as_ref().map_or(end..end, |r| r.span());
            return Err(cx.err(span, "network: backend = \"tap\" needs tap = \"NAME\""));
        };
        if name.is_empty() || name.len() > crate::net::tap::MAX_NAME {
            let span = raw.as_ref().map_or(end..end, |r| r.span());
            return Err(cx.err(span, format!("tap: `{name}` must be 1 to 15 bytes")));
        }
        n.backend = Backend::Tap { name };
    }
    for e in exts {
        let r = e.get_ref();
        let port = *r.port.get_ref();
        if !(1..=65_535).contains(&port) {
            return Err(cx.err(r.port.span(), format!("port: {port} is not a port")));
        }
        let port = port as u16;
        let to = |kind: &str| -> Result<std::net::SocketAddrV4, ManifestError> {
            let Some(t) = &r.to else {
                return Err(cx.err(
                    e.span(),
                    format!("extension {kind}: needs to = \"IP:PORT\""),
                ));
            };
            t.get_ref().parse().map_err(|_| {
                cx.err(
                    t.span(),
                    format!("to: `{}` is not an IPv4 address and port", t.get_ref()),
                )
            })
        };
        let ext = match r.kind.get_ref().as_str() {
            "udp-echo" => {
                if let Some(t) = &r.to {
                    return Err(cx.err(t.span(), "to: udp-echo answers its sender; no `to`"));
                }
                Extension::UdpEcho { port }
            }
            "udp-forward" => Extension::UdpForward {
                port,
                to: to("udp-forward")?,
            },
            "tcp-forward" => Extension::TcpForward {
                port,
                to: to("tcp-forward")?,
            },
            other => {
                return Err(cx.err(
                    r.kind.span(),
                    format!(
                        "kind: unknown extension `{other}` (udp-echo, udp-forward, tcp-forward)"
                    ),
                ))
            }
        };
        n.extensions.push(ext);
    }
    Ok(Some(n))
}

/// `aa:bb:cc:dd:ee:ff`.
pub(super) fn parse_mac(s: &str) -> Option<spin_net::wire::ethernet::MacAddr> {
    let mut b = [0u8; 6];
    let mut parts = s.split(':');
    for x in b.iter_mut() {
        let p = parts.next()?;
        if p.len() != 2 {
            return None;
        }
        *x = u8::from_str_radix(p, 16).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(spin_net::wire::ethernet::MacAddr(b))
}
