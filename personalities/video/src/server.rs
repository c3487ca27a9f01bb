//! The video server extension: reads a Motion-JPEG clip through a disk
//! device and streams it as RTP/JPEG at the clip's frame rate to the
//! clients that subscribed with a control datagram.
//!
//! Two ways to reach N clients, chosen by [`SendMode`]:
//!
//! * **Multicast** (SPIN's way): each packet is cut and sent once — one UDP
//!   send, one raise of `SendPacket` — addressed to the first subscriber. A
//!   [`relay`](self) handler on `SendPacket` (guard: protocol UDP, indexed;
//!   then "from the stream port to the first subscriber") replicates the
//!   packet below the transport layer: for each other subscriber it copies
//!   the UDP packet, rewrites the destination port and patches the checksum
//!   incrementally (RFC 1624) instead of summing the payload again, and
//!   hands it to IP output by raising `SendPacket` for that address.
//! * **Per client** (a user-level server's way): every client has its own
//!   RTP session (SSRC, sequence numbers); every frame is packetized and
//!   sent through UDP once per client.
//!
//! Control datagrams to the server's port: [`SUBSCRIBE`] adds the sender's
//! address (the stream goes to the address and port the datagram came
//! from), [`UNSUBSCRIBE`] removes it. Anything else is counted and ignored.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use spin_kernel::event::{Event, EventError, Guard, Handler, HandlerId, Principal};
use spin_net::events::{SendPacket, UdpArrived};
use spin_net::NetHandle;

use crate::disk::ClipReader;
use crate::jpeg;
use crate::packetize::{frame_timestamp, Packetizer, DEFAULT_MAX_PACKET};
use crate::sdp::SdpStream;

/// Control datagram: subscribe the sender.
pub const SUBSCRIBE: &[u8] = b"SPIN-VIDEO SUBSCRIBE";
/// Control datagram: unsubscribe the sender.
pub const UNSUBSCRIBE: &[u8] = b"SPIN-VIDEO UNSUBSCRIBE";
const UDP_PROTOCOL: u8 = 17;

/// How the server reaches its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SendMode {
    /// One send per packet, replicated by a handler on `SendPacket`.
    Multicast,
    /// One send per packet per client.
    PerClient,
}

/// The server's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// UDP port: control datagrams arrive here, the stream leaves from it.
    pub port: u16,
    /// Frames per second of the clip.
    pub fps: u32,
    /// How clients are reached.
    pub mode: SendMode,
    /// Largest RTP packet, bytes.
    pub max_packet: usize,
    /// Most subscribers at once (more are refused and counted).
    pub max_subscribers: usize,
    /// SSRC of the (multicast) stream; per-client sessions derive theirs.
    pub ssrc: u32,
}

impl ServerConfig {
    /// A server on `port` streaming at `fps`, multicast, default sizes.
    pub fn new(port: u16, fps: u32) -> ServerConfig {
        ServerConfig {
            port,
            fps: fps.max(1),
            mode: SendMode::Multicast,
            max_packet: DEFAULT_MAX_PACKET,
            max_subscribers: 64,
            ssrc: 0x5350_494e,
        }
    }
}

/// The server's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerStats {
    /// Frames sent (once per frame, whatever the number of clients).
    pub frames: u64,
    /// UDP sends the server made (raises of `SendPacket` from the top).
    pub sends: u64,
    /// Packets the multicast relay made below UDP.
    pub replicas: u64,
    /// Frames skipped because the server was called too late for them.
    pub skipped_frames: u64,
    /// Frames that could not be read or packetized.
    pub bad_frames: u64,
    /// Control datagrams that were not a known request, or a subscription
    /// over the limit.
    pub bad_control: u64,
    /// Clients subscribed now.
    pub subscribers: u64,
}

#[derive(Default)]
struct Counters {
    replicas: AtomicU64,
    bad_control: AtomicU64,
}

struct Shared {
    subscribers: Mutex<Vec<SocketAddrV4>>,
    counters: Counters,
    max_subscribers: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The list is replaced or edited in single steps: still whole after a
    // panic elsewhere.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn control(&self, d: &UdpArrived) {
        let mut subs = lock(&self.subscribers);
        match &d.payload[..] {
            SUBSCRIBE if subs.contains(&d.src) => {}
            SUBSCRIBE if subs.len() < self.max_subscribers => subs.push(d.src),
            UNSUBSCRIBE => subs.retain(|s| *s != d.src),
            _ => {
                self.counters.bad_control.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Folds a 16-bit word change into a ones-complement checksum (RFC 1624,
/// eqn. 3: HC' = ~(~HC + ~m + m')).
fn patch_checksum(hc: u16, old: &[u16], new: &[u16]) -> u16 {
    let mut sum = u32::from(!hc);
    for &m in old {
        sum += u32::from(!m);
    }
    for &m in new {
        sum += u32::from(m);
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn words(ip: Ipv4Addr, port: u16) -> [u16; 3] {
    let o = ip.octets();
    [
        u16::from_be_bytes([o[0], o[1]]),
        u16::from_be_bytes([o[2], o[3]]),
        port,
    ]
}

/// The UDP packet `udp` (header included) readdressed from `from` to `to`.
fn readdress(udp: &[u8], from: SocketAddrV4, to: SocketAddrV4) -> Option<Vec<u8>> {
    if udp.len() < 8 {
        return None;
    }
    let mut p = udp.to_vec();
    p[2..4].copy_from_slice(&to.port().to_be_bytes());
    let hc = u16::from_be_bytes([p[6], p[7]]);
    if hc != 0 {
        let mut c = patch_checksum(
            hc,
            &words(*from.ip(), from.port()),
            &words(*to.ip(), to.port()),
        );
        if c == 0 {
            c = 0xffff; // 0 means "no checksum" in UDP
        }
        p[6..8].copy_from_slice(&c.to_be_bytes());
    }
    Some(p)
}

/// The relay on `SendPacket`: replicates the stream's packets to the lead
/// subscriber to every other subscriber.
fn install_relay(
    net: &NetHandle,
    who: &Principal,
    shared: &Arc<Shared>,
    port: u16,
) -> Result<HandlerId, EventError> {
    let lead_of = |s: &Shared| lock(&s.subscribers).first().copied();
    let g = shared.clone();
    let guard = Guard::pred(move |p: &SendPacket| {
        let Some(lead) = lead_of(&g) else {
            return false;
        };
        let b = &p.payload;
        b.len() >= 8
            && p.dst == *lead.ip()
            && u16::from_be_bytes([b[0], b[1]]) == port
            && u16::from_be_bytes([b[2], b[3]]) == lead.port()
    });
    let s = shared.clone();
    let n = net.clone();
    let handler = Handler::new(move |p: &SendPacket| {
        let subs = lock(&s.subscribers).clone();
        let Some((&lead, rest)) = subs.split_first() else {
            return;
        };
        for &to in rest {
            if let Some(copy) = readdress(&p.payload, lead, to) {
                n.send_ip_from(p.src, *to.ip(), UDP_PROTOCOL, copy);
                s.counters.replicas.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
    .guard(net.events().send_protocol(UDP_PROTOCOL))
    .guard(guard);
    net.events().send.install(who, handler)
}

/// The installed server; dropping it uninstalls its handlers.
pub struct VideoServer {
    net: NetHandle,
    cfg: ServerConfig,
    clip: ClipReader,
    shared: Arc<Shared>,
    udp: Event<UdpArrived, ()>,
    send: Event<SendPacket, ()>,
    control_id: Option<HandlerId>,
    relay_id: Option<HandlerId>,
    multicast: Packetizer,
    sessions: Vec<(SocketAddrV4, Packetizer)>,
    /// Machine time of frame 0, ns (set when the first client is there).
    epoch_ns: Option<u64>,
    next_frame: u64,
    frame_buf: Vec<u8>,
    frames: u64,
    sends: u64,
    skipped: u64,
    bad_frames: u64,
}

impl std::fmt::Debug for VideoServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoServer")
            .field("config", &self.cfg)
            .field("clip", &self.clip)
            .finish()
    }
}

impl VideoServer {
    /// Installs the server on `net` on behalf of `who`: the control handler
    /// on `UDP.PacketArrived` (guard: the port) and, in multicast mode, the
    /// relay on `SendPacket`.
    pub fn install(
        net: &NetHandle,
        who: &Principal,
        cfg: ServerConfig,
        clip: ClipReader,
    ) -> Result<VideoServer, EventError> {
        let shared = Arc::new(Shared {
            subscribers: Mutex::new(Vec::new()),
            counters: Counters::default(),
            max_subscribers: cfg.max_subscribers,
        });
        let s = shared.clone();
        let control =
            Handler::new(move |d: &UdpArrived| s.control(d)).guard(net.events().udp_port(cfg.port));
        let control_id = net.events().udp.install(who, control)?;
        let relay_id = match cfg.mode {
            SendMode::Multicast => match install_relay(net, who, &shared, cfg.port) {
                Ok(id) => Some(id),
                Err(e) => {
                    let _ = net.events().udp.uninstall(control_id);
                    return Err(e);
                }
            },
            SendMode::PerClient => None,
        };
        Ok(VideoServer {
            net: net.clone(),
            cfg,
            clip,
            udp: net.events().udp.clone(),
            send: net.events().send.clone(),
            shared,
            control_id: Some(control_id),
            relay_id,
            multicast: Packetizer::new(cfg.ssrc, 0, cfg.max_packet),
            sessions: Vec::new(),
            epoch_ns: None,
            next_frame: 0,
            frame_buf: Vec::new(),
            frames: 0,
            sends: 0,
            skipped: 0,
            bad_frames: 0,
        })
    }

    /// The clients subscribed now, in subscription order.
    pub fn subscribers(&self) -> Vec<SocketAddrV4> {
        lock(&self.shared.subscribers).clone()
    }

    /// Subscribes `client` directly (as a control datagram from it would).
    pub fn subscribe(&self, client: SocketAddrV4) -> bool {
        let mut subs = lock(&self.shared.subscribers);
        if subs.contains(&client) {
            return true;
        }
        if subs.len() >= self.cfg.max_subscribers {
            return false;
        }
        subs.push(client);
        true
    }

    /// The settings.
    pub fn config(&self) -> &ServerConfig {
        &self.cfg
    }

    /// Frames in the clip.
    pub fn clip_frames(&self) -> usize {
        self.clip.frames()
    }

    /// Sends every frame due at machine time `now_ns`: frame k is due at
    /// `epoch + k / fps`, the epoch being the first call with a subscriber.
    /// When several are due (the caller was late) only the newest goes out
    /// and the others count as skipped. Returns the time the next frame is
    /// due, or `None` while nobody is subscribed.
    pub fn tick(&mut self, now_ns: u64) -> Option<u64> {
        if lock(&self.shared.subscribers).is_empty() {
            self.epoch_ns = None;
            return None;
        }
        let epoch = *self.epoch_ns.get_or_insert(now_ns);
        let period = (1_000_000_000 / u64::from(self.cfg.fps.max(1))).max(1);
        let due = (now_ns - epoch.min(now_ns)) / period;
        if due >= self.next_frame {
            self.skipped += due - self.next_frame;
            self.next_frame = due;
            self.send_frame(due);
            self.next_frame += 1;
        }
        Some(epoch + self.next_frame * period)
    }

    /// Sends frame number `k` of the stream (clip frame `k mod frames`) now.
    pub fn send_frame(&mut self, k: u64) {
        let clip_index = (k % self.clip.frames() as u64) as usize;
        if self
            .clip
            .read_frame(clip_index, &mut self.frame_buf)
            .is_err()
        {
            self.bad_frames += 1;
            return;
        }
        let Ok(frame) = jpeg::parse(&self.frame_buf) else {
            self.bad_frames += 1;
            return;
        };
        let ts = frame_timestamp(0, k, self.cfg.fps);
        let subs = lock(&self.shared.subscribers).clone();
        let Some(&lead) = subs.first() else {
            return;
        };
        match self.cfg.mode {
            SendMode::Multicast => {
                let Ok(packets) = self.multicast.packetize(&frame, ts) else {
                    self.bad_frames += 1;
                    return;
                };
                for p in &packets {
                    self.net.send_udp(self.cfg.port, lead, p);
                    self.sends += 1;
                }
            }
            SendMode::PerClient => {
                self.sessions.retain(|(a, _)| subs.contains(a));
                for &client in &subs {
                    let i = match self.sessions.iter().position(|(a, _)| *a == client) {
                        Some(i) => i,
                        None => {
                            let ssrc = self.cfg.ssrc ^ (self.sessions.len() as u32 + 1);
                            let p = Packetizer::new(ssrc, 0, self.cfg.max_packet);
                            self.sessions.push((client, p));
                            self.sessions.len() - 1
                        }
                    };
                    let Ok(packets) = self.sessions[i].1.packetize(&frame, ts) else {
                        self.bad_frames += 1;
                        return;
                    };
                    for p in &packets {
                        self.net.send_udp(self.cfg.port, client, p);
                        self.sends += 1;
                    }
                }
            }
        }
        self.frames += 1;
    }

    /// The session description of the stream as `dest` receives it.
    pub fn sdp(&self, dest: SocketAddrV4, size: (u16, u16)) -> String {
        SdpStream {
            name: "SPIN video".into(),
            origin: self.net.config().addr,
            dest: *dest.ip(),
            port: dest.port(),
            fps: self.cfg.fps,
            size,
        }
        .write()
    }

    /// The counters.
    pub fn stats(&self) -> ServerStats {
        let c = &self.shared.counters;
        ServerStats {
            frames: self.frames,
            sends: self.sends,
            replicas: c.replicas.load(Ordering::Relaxed),
            skipped_frames: self.skipped,
            bad_frames: self.bad_frames,
            bad_control: c.bad_control.load(Ordering::Relaxed),
            subscribers: lock(&self.shared.subscribers).len() as u64,
        }
    }
}

impl Drop for VideoServer {
    fn drop(&mut self) {
        if let Some(id) = self.control_id.take() {
            let _ = self.udp.uninstall(id);
        }
        if let Some(id) = self.relay_id.take() {
            let _ = self.send.uninstall(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_sum(src: Ipv4Addr, dst: Ipv4Addr, udp: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        let mut add = |b: &[u8]| {
            for c in b.chunks(2) {
                sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
            }
        };
        add(&src.octets());
        add(&dst.octets());
        add(&[0, 17]);
        add(&(udp.len() as u16).to_be_bytes());
        let mut z = udp.to_vec();
        z[6] = 0;
        z[7] = 0;
        add(&z);
        while sum >> 16 != 0 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        match !(sum as u16) {
            0 => 0xffff,
            c => c,
        }
    }

    proptest::proptest! {
        #[test]
        fn readdressing_keeps_the_checksum_right(
            src in proptest::prelude::any::<u32>(),
            from in proptest::prelude::any::<(u32, u16)>(),
            to in proptest::prelude::any::<(u32, u16)>(),
            payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        ) {
            let (src, a, b) = (
                Ipv4Addr::from(src),
                SocketAddrV4::new(Ipv4Addr::from(from.0), from.1),
                SocketAddrV4::new(Ipv4Addr::from(to.0), to.1),
            );
            let mut udp = vec![0x13, 0x8c];
            udp.extend_from_slice(&a.port().to_be_bytes());
            udp.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            udp.extend_from_slice(&[0, 0]);
            udp.extend_from_slice(&payload);
            let c = full_sum(src, *a.ip(), &udp);
            udp[6..8].copy_from_slice(&c.to_be_bytes());
            let moved = readdress(&udp, a, b).expect("long enough");
            proptest::prop_assert_eq!(
                u16::from_be_bytes([moved[6], moved[7]]),
                full_sum(src, *b.ip(), &moved)
            );
        }
    }

    #[test]
    fn readdressed_checksum_equals_a_fresh_one() {
        let src = Ipv4Addr::new(10, 0, 0, 1);
        let a = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 5006);
        let b = SocketAddrV4::new(Ipv4Addr::new(192, 168, 7, 200), 40000);
        let mut udp = vec![
            0x13, 0x8c, 0x13, 0x8e, 0, 13, 0, 0, b'h', b'e', b'l', b'l', b'o',
        ];
        let c = full_sum(src, *a.ip(), &udp);
        udp[6..8].copy_from_slice(&c.to_be_bytes());
        let moved = readdress(&udp, a, b).unwrap();
        assert_eq!(u16::from_be_bytes([moved[2], moved[3]]), 40000);
        assert_eq!(
            u16::from_be_bytes([moved[6], moved[7]]),
            full_sum(src, *b.ip(), &moved)
        );
        assert!(readdress(&udp[..7], a, b).is_none());
    }
}
