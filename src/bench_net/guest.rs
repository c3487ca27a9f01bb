//! Row (b): a guest process echoing in the UNIX mound — guest/unix/net.c's
//! `net udp-echo 7` under `spin exec`, reached from a host client through
//! the user-mode forward (`--hostfwd udp:P:7`), the same path row (a')
//! takes to the in-kernel echo. Each machine whose `net` build exists gets
//! a row: Alpha (the emulator) and x86-64 (KVM, where /dev/kvm opens).

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::ECHO_PORT;

/// A `spin exec` child running the guest echo; killed when dropped.
pub struct GuestEcho {
    child: Child,
}

impl Drop for GuestEcho {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The guest echo programs this machine can run: (row name, program).
pub fn available(build: &Path) -> Vec<(&'static str, PathBuf)> {
    let mut v = Vec::new();
    let alpha = build.join("alpha/net");
    if alpha.is_file() {
        v.push(("(b) guest process echo, Alpha mound", alpha));
    }
    let x86 = build.join("x86_64/net");
    let kvm_works = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    if cfg!(target_arch = "x86_64") && kvm_works && x86.is_file() {
        v.push(("(b) guest process echo, KVM mound", x86));
    }
    v
}

/// A free host UDP port (bound then released: the child binds it next).
fn free_udp_port() -> Result<u16> {
    Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts `program udp-echo 7` under `spin exec` behind a user-mode UDP
/// forward and returns it with a client connected to the forward, once an
/// echo has come back.
pub fn start(program: &Path) -> Result<(GuestEcho, UdpSocket)> {
    let port = free_udp_port()?;
    let child = Command::new(std::env::current_exe().context("the spin binary")?)
        .arg("exec")
        .arg("--hostfwd")
        .arg(format!("udp:{port}:{ECHO_PORT}"))
        .arg(program)
        .args(["udp-echo", &ECHO_PORT.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting spin exec")?;
    let mut echo = GuestEcho { child };
    let client = UdpSocket::bind("127.0.0.1:0")?;
    client.connect(("127.0.0.1", port))?;
    client.set_read_timeout(Some(Duration::from_millis(100)))?;
    // The guest binds its port some time after the host forwards; probe
    // until it answers.
    let start = Instant::now();
    let mut buf = [0u8; 64];
    loop {
        if let Some(st) = echo.child.try_wait()? {
            bail!("{}: spin exec exited early ({st})", program.display());
        }
        client.send(b"probe")?;
        if let Ok(n) = client.recv(&mut buf) {
            if &buf[..n] == b"probe" {
                break;
            }
        }
        if start.elapsed() > Duration::from_secs(30) {
            bail!("{}: the guest echo never answered", program.display());
        }
    }
    // Late probe echoes are drained here, not mistaken for round trips.
    while client.recv(&mut buf).is_ok() {}
    client.set_read_timeout(Some(Duration::from_secs(2)))?;
    Ok((echo, client))
}
