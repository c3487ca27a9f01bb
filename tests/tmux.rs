//! The dashboard end to end, in a real terminal (tmux): `spin demo` starts,
//! strands of both UNIX mounds appear and their CPU time advances, `P` →
//! stride → Enter (→ confirm) swaps the policy, the footer shows it and the
//! control socket reports the swap; `q` exits and the terminal is restored.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

struct Tmux {
    server: String,
    session: String,
}

impl Tmux {
    /// A private tmux server running `script` (`sh -c`) in a detached
    /// session of `width` x `height`.
    fn start(name: &str, script: &str, width: u16, height: u16) -> Tmux {
        let t = Tmux {
            server: format!("spin-{name}-{}", std::process::id()),
            session: name.into(),
        };
        let (w, h) = (width.to_string(), height.to_string());
        let out = t.cmd(&[
            "new-session",
            "-d",
            "-s",
            &t.session,
            "-x",
            &w,
            "-y",
            &h,
            "sh",
            "-c",
            script,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.server])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    fn screen(&self) -> String {
        let out = self.cmd(&["capture-pane", "-p", "-t", &self.session]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.session];
        args.extend_from_slice(keys);
        assert!(self.cmd(&args).status.success());
    }

    /// Waits until the screen satisfies `ok`; panics with the screen if not.
    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            if start.elapsed() > Duration::from_secs(60) {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn snapshot(socket: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_spin"))
        .arg("ctl")
        .arg(socket)
        .args(["snapshot", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The CPU time a mound's strands have had so far, exited strands included
/// (summing the live strands' rows goes backwards when a program exits).
fn cpu_of_mound(snap: &Value, mound: u64) -> u64 {
    snap["sched"]["mounds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["mound"].as_u64() == Some(mound))
        .map(|r| r["account"]["cpu_ns"].as_u64().unwrap())
        .sum()
}

#[test]
fn the_dashboard_shows_both_mounds_swaps_the_policy_and_restores_the_terminal() {
    if !have("tmux") {
        println!("SKIP: tmux not installed");
        return;
    }
    let dir: PathBuf = std::env::temp_dir().join(format!("spin-tmux-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("ctl.sock");
    let script = format!(
        "'{}' demo --socket '{}'; echo SPIN-EXITED $?; sleep 600",
        env!("CARGO_BIN_EXE_spin"),
        socket.display()
    );
    let t = Tmux::start("demo", &script, 160, 48);

    // Strands of both UNIX mounds appear on the screen.
    t.wait_for("strands of both mounds", |s| {
        s.contains("cpu pid") && s.contains("shell pid")
    });
    while !socket.exists() {
        std::thread::sleep(Duration::from_millis(50));
    }
    // Their CPU time advances.
    let before = snapshot(&socket);
    std::thread::sleep(Duration::from_millis(1500));
    let after = snapshot(&socket);
    for mound in [1, 2, 3] {
        assert!(
            cpu_of_mound(&after, mound) > cpu_of_mound(&before, mound),
            "mound {mound}'s strands got no CPU"
        );
    }
    let footer = |s: &str| {
        s.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_string()
    };
    assert!(
        footer(&t.screen()).contains("policy rr-priority"),
        "{}",
        t.screen()
    );

    // P → stride → Enter → confirm.
    t.keys(&["P"]);
    t.wait_for("the policy popup", |s| {
        s.contains("lottery") && s.contains("edf")
    });
    t.keys(&["s"]);
    t.keys(&["Enter"]);
    t.wait_for("the confirmation", |s| s.to_lowercase().contains("stride?"));
    t.keys(&["Enter"]);
    let screen = t.wait_for("the footer to show stride", |s| {
        footer(s).contains("policy stride")
    });
    assert!(
        !screen.to_lowercase().contains("stride?"),
        "the popup closed"
    );

    // The control socket reports the swap.
    let snap = Command::new(env!("CARGO_BIN_EXE_spin"))
        .arg("ctl")
        .arg(&socket)
        .args(["snapshot", "--json"])
        .output()
        .unwrap();
    let snap: Value = serde_json::from_slice(&snap.stdout).unwrap();
    assert_eq!(snap["policy"], "stride");
    assert!(
        snap["sched"]["swaps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["from"] == "rr-priority" && s["to"] == "stride"),
        "{}",
        snap["sched"]["swaps"]
    );

    // The video, pager and network panes are on screen with live data:
    // the client shows frames, the pager has faulted pages in.
    t.wait_for("the video, pager and network panes", |s| {
        s.contains("8 Video") && s.contains("9 Pager") && s.contains("0 Network")
    });
    let decoded = |snap: &Value| -> u64 {
        snap["video"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["video"]["decoded"].as_u64())
            .sum()
    };
    let v0 = decoded(&snapshot(&socket));
    t.wait_for("frames decoded", |_| decoded(&snapshot(&socket)) > v0);
    // 9 → R → lru → Enter → y switches the db mound's pager.
    t.keys(&["9"]);
    t.keys(&["R"]);
    t.wait_for("the pager policy popup", |s| {
        s.contains("2q") && s.contains("hinted")
    });
    t.keys(&["l"]);
    t.keys(&["Enter"]);
    t.keys(&["y"]);
    t.wait_for("the pager's policy to be lru", |_| {
        snapshot(&socket)["pagers"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|p| p["files"].as_array().into_iter().flatten())
            .any(|f| f["policy"] == "lru")
    });

    // q exits; the terminal is back on the normal screen.
    t.keys(&["q"]);
    let screen = t.wait_for("spin to exit", |s| s.contains("SPIN-EXITED"));
    assert!(screen.contains("SPIN-EXITED 0"), "{screen}");
    let alt = t.cmd(&["display-message", "-p", "-t", &t.session, "#{alternate_on}"]);
    assert_eq!(
        String::from_utf8_lossy(&alt.stdout).trim(),
        "0",
        "alternate screen left"
    );
    let mode = t.cmd(&[
        "display-message",
        "-p",
        "-t",
        &t.session,
        "#{mouse_any_flag}",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&mode.stdout).trim(),
        "0",
        "mouse capture released"
    );
}

/// `spin top --attach` opens the same dashboard on a host running elsewhere
/// (here a headless `spin demo` serving its socket).
#[test]
fn top_attaches_to_a_running_host_over_its_socket() {
    if !have("tmux") {
        println!("SKIP: tmux not installed");
        return;
    }
    let dir: PathBuf = std::env::temp_dir().join(format!("spin-tmux-top-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("ctl.sock");
    let mut host = Command::new(env!("CARGO_BIN_EXE_spin"))
        .args(["demo", "--headless", "--duration", "60", "--socket"])
        .arg(&socket)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !socket.exists() {
        assert!(start.elapsed() < Duration::from_secs(30), "no socket");
        std::thread::sleep(Duration::from_millis(50));
    }
    let script = format!(
        "'{}' top --attach '{}' --interval 200; echo TOP-EXITED $?; sleep 600",
        env!("CARGO_BIN_EXE_spin"),
        socket.display()
    );
    let t = Tmux::start("top", &script, 150, 45);
    t.wait_for("strands of both mounds", |s| {
        s.contains("cpu pid") && s.contains("shell pid") && s.contains("policy rr-priority")
    });
    // A swap from another client shows up in this dashboard.
    let swap = Command::new(env!("CARGO_BIN_EXE_spin"))
        .arg("ctl")
        .arg(&socket)
        .args(["policy", "set", "lottery"])
        .output()
        .unwrap();
    assert!(swap.status.success());
    t.wait_for("the footer to show lottery", |s| {
        s.contains("policy lottery")
    });
    t.keys(&["q"]);
    let screen = t.wait_for("top to exit", |s| s.contains("TOP-EXITED"));
    assert!(screen.contains("TOP-EXITED 0"), "{screen}");
    let _ = host.kill();
    let _ = host.wait();
}
