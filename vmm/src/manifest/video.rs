//! `video-server` and `video-client` mounds.

use super::*;

/// A `video-server` or `video-client` mound.
pub(super) fn video_mound(
    cx: &Ctx,
    m: RawMound,
    span: Range<usize>,
) -> Result<VideoConfig, ManifestError> {
    let name = m.name.get_ref().clone();
    if let Some(p) = &m.program {
        return Err(cx.err(p.span(), "program: a video mound runs no program"));
    }
    let server = m.kind.get_ref() == "video-server";
    let number = |v: &Option<Spanned<u64>>, key: &str, range: Range<u64>, default: u64| match v {
        None => Ok(default),
        Some(n) if range.contains(n.get_ref()) => Ok(*n.get_ref()),
        Some(n) => Err(cx.err(
            n.span(),
            format!(
                "{key}: {} is not in {}..={}",
                n.get_ref(),
                range.start,
                range.end - 1
            ),
        )),
    };
    let port = number(&m.port, "port", 1..65_536, if server { 5004 } else { 6000 })? as u16;
    let fps = number(&m.fps, "fps", 1..121, 30)? as u32;
    let only = |v: bool, s: Range<usize>, key: &str, kind: &str| {
        if v {
            Err(cx.err(s, format!("{key}: only for {kind} mounds")))
        } else {
            Ok(())
        }
    };
    if server {
        if let Some(s) = &m.server {
            only(true, s.span(), "server", "video-client")?;
        }
        if let Some(p) = &m.pool_frames {
            only(true, p.span(), "pool_frames", "video-client")?;
        }
        let Some(c) = &m.clip else {
            return Err(cx.err(span, format!("mound `{name}`: missing `clip`")));
        };
        let clip = match c.get_ref().as_str() {
            "embedded:testclip" => ClipSource::Embedded,
            p if p.starts_with("embedded:") => {
                return Err(cx.err(c.span(), "clip: the embedded clip is `embedded:testclip`"))
            }
            p => ClipSource::File(cx.host_path(p)),
        };
        let mode = match m.mode.as_ref().map(|s| (s.get_ref().as_str(), s.span())) {
            None | Some(("multicast", _)) => SendMode::Multicast,
            Some(("per-client", _)) => SendMode::PerClient,
            Some((other, s)) => {
                return Err(cx.err(
                    s,
                    format!("mode: unknown mode `{other}` (multicast, per-client)"),
                ))
            }
        };
        return Ok(VideoConfig::Server {
            name,
            clip,
            port,
            fps,
            mode,
        });
    }
    for (v, key) in [(&m.clip, "clip"), (&m.mode, "mode")] {
        if let Some(s) = v {
            only(true, s.span(), key, "video-server")?;
        }
    }
    let server = match &m.server {
        None => None,
        Some(s) => Some(s.get_ref().parse::<std::net::SocketAddrV4>().map_err(|_| {
            cx.err(
                s.span(),
                format!("server: `{}` is not IP:PORT", s.get_ref()),
            )
        })?),
    };
    let pool_frames = number(&m.pool_frames, "pool_frames", 2..65, 4)? as usize;
    Ok(VideoConfig::Client {
        name,
        port,
        server,
        fps,
        pool_frames,
    })
}
