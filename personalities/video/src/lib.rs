//! # spin-video — the video mounds
//!
//! SPIN's networked video system, rebuilt on the protocol graph of
//! `spin-net`: a server that reads Motion-JPEG frames from a disk device
//! and streams them as RTP/JPEG (RFC 2435) over UDP, multicasting with a
//! handler on `SendPacket`, and a client that is an extension on
//! `UDP.PacketArrived` (an indexed port guard), reassembles and decodes
//! frames and hands them to a framebuffer through a periodic display strand.
//!
//! * [`wire`] — checked RTP and RTP/JPEG headers.
//! * [`jpeg`] — baseline JPEG parsing, header rebuilding, standard tables,
//!   decoding.
//! * [`packetize`], [`reassemble`] — frames to packets and back.
//! * [`sdp`] — the session description of a stream.
//! * [`mjpeg`] — Motion-JPEG clips (concatenated JPEG frames).
//! * [`disk`] — the block device the server reads its clip through.
//! * [`server`] — the server extension (subscriptions, streaming, the
//!   multicast relay on `SendPacket`).
//! * [`client`] — the client extension (port-guarded handler, decoding)
//!   and its periodic display strand; [`pool`] — its bounded frame pool.
//! * [`driver`] — host threads running the server's frame clock and the
//!   display strand in real time.
//!
//! Nothing a packet or a file holds can panic this crate: bad input is an
//! error value or a counted drop.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod client;
pub mod disk;
pub mod driver;
pub mod jpeg;
pub mod mjpeg;
pub mod packetize;
pub mod pool;
pub mod reassemble;
pub mod sdp;
pub mod server;
pub mod testpattern;
pub mod wire;
