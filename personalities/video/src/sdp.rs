//! The session description (RFC 4566) of an RTP/JPEG stream, as a receiver
//! such as `ffmpeg -protocol_whitelist file,udp,rtp -i stream.sdp` reads it.

use std::net::Ipv4Addr;

/// What a receiver needs to know about one of our streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpStream {
    /// Session name.
    pub name: String,
    /// The sender's address (origin line).
    pub origin: Ipv4Addr,
    /// Where the packets go (connection line).
    pub dest: Ipv4Addr,
    /// The UDP port they go to.
    pub port: u16,
    /// Frames per second.
    pub fps: u32,
    /// Width and height, pixels.
    pub size: (u16, u16),
}

impl SdpStream {
    /// The description, CRLF line ends.
    pub fn write(&self) -> String {
        let lines = [
            "v=0".to_string(),
            format!("o=- 0 0 IN IP4 {}", self.origin),
            format!("s={}", self.name),
            format!("c=IN IP4 {}", self.dest),
            "t=0 0".to_string(),
            format!("m=video {} RTP/AVP 26", self.port),
            "a=rtpmap:26 JPEG/90000".to_string(),
            format!("a=framerate:{}", self.fps),
            format!("a=framesize:26 {}-{}", self.size.0, self.size.1),
            "a=recvonly".to_string(),
        ];
        let mut s = lines.join("\r\n");
        s.push_str("\r\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_the_stream() {
        let s = SdpStream {
            name: "spin video".into(),
            origin: Ipv4Addr::new(10, 0, 0, 1),
            dest: Ipv4Addr::new(127, 0, 0, 1),
            port: 5004,
            fps: 30,
            size: (160, 120),
        }
        .write();
        assert!(s.starts_with("v=0\r\n"));
        assert!(s.contains("\r\nc=IN IP4 127.0.0.1\r\n"));
        assert!(s.contains("\r\nm=video 5004 RTP/AVP 26\r\n"));
        assert!(s.contains("a=rtpmap:26 JPEG/90000"));
        assert!(s.ends_with("\r\n"));
    }
}
