//! Video mounds: SPIN's video server and client, as in-kernel extensions
//! on the host's network stack (`spin-video`), each with its framebuffer
//! and real-time driver threads. A `video-server` mound streams a
//! Motion-JPEG clip (a host file, or the bundled test clip) as RTP/JPEG to
//! its subscribers; a `video-client` mound subscribes, decodes into its
//! frame pool and shows frames on its [`Framebuffer`] through its periodic
//! display strand.

use std::net::SocketAddrV4;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use spin_kernel::event::Principal;
use spin_kernel::MoundId;
use spin_net::NetHandle;
use spin_video::client::{ClientConfig, FrameSink, VideoClient, VideoTelemetry};
use spin_video::disk::{ClipReader, Disk, FileDisk, MemDisk};
use spin_video::driver::{Display, Streamer};
use spin_video::server::{SendMode, ServerConfig, ServerStats, VideoServer};

use crate::fb::Framebuffer;

mod thumb;

pub use thumb::{fit_inside, scale_rgb, Thumbnail, ThumbnailError, THUMB_MAX_H, THUMB_MAX_W};

/// The test clip shipped in the binary (`clip = "embedded:testclip"`):
/// 160×120, 90 frames at 30 frames/s.
pub const EMBEDDED_CLIP: &[u8] = include_bytes!("../../assets/video/testclip.mjpeg");

/// Where a server's clip comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClipSource {
    /// A host file, read through a file disk device.
    File(PathBuf),
    /// The bundled test clip.
    Embedded,
}

/// One video mound to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoConfig {
    /// A video server.
    Server {
        /// Mound name.
        name: String,
        /// The clip.
        clip: ClipSource,
        /// UDP port (control datagrams in, stream out).
        port: u16,
        /// Frames per second.
        fps: u32,
        /// Multicast relay or per-client sends.
        mode: SendMode,
    },
    /// A video client.
    Client {
        /// Mound name.
        name: String,
        /// UDP port the stream arrives on.
        port: u16,
        /// The server to subscribe to (None: a sender that needs none).
        server: Option<SocketAddrV4>,
        /// Frames per second of the display strand.
        fps: u32,
        /// Frame buffers in the pool.
        pool_frames: usize,
    },
}

impl VideoConfig {
    /// The mound's name.
    pub fn name(&self) -> &str {
        match self {
            VideoConfig::Server { name, .. } | VideoConfig::Client { name, .. } => name,
        }
    }
}

/// What the console shows of a video mound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum VideoMoundTelemetry {
    /// A server's counters.
    Server {
        /// Mound name.
        name: String,
        /// Counters.
        stats: ServerStats,
    },
    /// A client's display strand and pipeline.
    Client {
        /// Mound name.
        name: String,
        /// Counters and rates.
        video: VideoTelemetry,
        /// Frames written to its framebuffer.
        fb_generation: u64,
        /// The current frame, downscaled (None in records from older
        /// hosts).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thumb: Option<Thumbnail>,
    },
}

struct FbSink(Arc<Framebuffer>);

impl FrameSink for FbSink {
    fn present(&self, w: u16, h: u16, rgb: &[u8], _ts: u32) {
        // The decoder bounds frames to 2040 pixels a side; a refused frame
        // would only leave the previous one on screen.
        let _ = self.0.write_rgb(w, h, rgb);
    }
}

enum Running {
    Server(Streamer),
    Client {
        _client: VideoClient,
        display: Display,
        fb: Arc<Framebuffer>,
    },
}

/// A running video mound; dropping it stops its threads and uninstalls its
/// extension.
pub struct VideoMound {
    name: String,
    running: Running,
}

impl std::fmt::Debug for VideoMound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoMound")
            .field("name", &self.name)
            .finish()
    }
}

impl VideoMound {
    /// Installs the mound's extension on `net` (acting for mound `id`) and
    /// starts its driver thread. An error is one line for the operator.
    pub fn start(cfg: &VideoConfig, net: &NetHandle, id: MoundId) -> Result<VideoMound, String> {
        let who = Principal::mound(cfg.name(), id);
        let running = match cfg {
            VideoConfig::Server {
                name,
                clip,
                port,
                fps,
                mode,
            } => {
                let disk: Box<dyn Disk> = match clip {
                    ClipSource::File(p) => Box::new(
                        FileDisk::open(p)
                            .map_err(|e| format!("mound {name}: clip {}: {e}", p.display()))?,
                    ),
                    ClipSource::Embedded => Box::new(MemDisk(EMBEDDED_CLIP.to_vec())),
                };
                let clip = ClipReader::open(disk).map_err(|e| format!("mound {name}: {e}"))?;
                let mut sc = ServerConfig::new(*port, *fps);
                sc.mode = *mode;
                let server = VideoServer::install(net, &who, sc, clip)
                    .map_err(|e| format!("mound {name}: {e}"))?;
                Running::Server(Streamer::start(server).map_err(|e| format!("mound {name}: {e}"))?)
            }
            VideoConfig::Client {
                name,
                port,
                server,
                fps,
                pool_frames,
            } => {
                let fb = Arc::new(Framebuffer::new(160, 120).map_err(|e| e.to_string())?);
                let mut cc = ClientConfig::new(*port, *server, *fps);
                cc.pool_frames = *pool_frames;
                let (client, display) =
                    VideoClient::install(net, &who, cc, Arc::new(FbSink(fb.clone())))
                        .map_err(|e| format!("mound {name}: {e}"))?;
                client.subscribe();
                let display = Display::start(display).map_err(|e| format!("mound {name}: {e}"))?;
                Running::Client {
                    _client: client,
                    display,
                    fb,
                }
            }
        };
        Ok(VideoMound {
            name: cfg.name().to_string(),
            running,
        })
    }

    /// The mound's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A client's framebuffer.
    pub fn framebuffer(&self) -> Option<&Arc<Framebuffer>> {
        match &self.running {
            Running::Client { fb, .. } => Some(fb),
            Running::Server(_) => None,
        }
    }

    /// Stops the mound's thread (the console's stop, the end of a run).
    pub fn halt(&self) {
        match &self.running {
            Running::Server(s) => s.halt(),
            Running::Client { display, .. } => display.halt(),
        }
    }

    /// The mound's counters now.
    pub fn telemetry(&self) -> VideoMoundTelemetry {
        match &self.running {
            Running::Server(s) => VideoMoundTelemetry::Server {
                name: self.name.clone(),
                stats: s.stats(),
            },
            Running::Client { display, fb, .. } => {
                let frame = fb.snapshot();
                VideoMoundTelemetry::Client {
                    name: self.name.clone(),
                    video: display.telemetry(),
                    fb_generation: frame.generation,
                    thumb: Some(Thumbnail::of(
                        &frame.pixels,
                        frame.width,
                        frame.height,
                        frame.generation,
                    )),
                }
            }
        }
    }
}
