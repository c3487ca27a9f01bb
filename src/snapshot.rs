//! `--snapshot-dir`: the video clients' current frames saved as PNG, at a
//! steady rate while the host runs and once more at its end.
//!
//! Files are named `MOUND-GENERATION.png` (the framebuffer's frame count,
//! six digits at least), written under a temporary name and renamed, so a
//! reader never sees half a file. Only a frame newer than the last one saved
//! is written; per mound the newest `keep` files this run wrote are kept and
//! older ones removed (files already in the directory are left alone).

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use spin_vmm::control::LogBook;
use spin_vmm::fb::{encode_png, Framebuffer};

/// One video client's framebuffer and what was saved of it.
struct Client {
    name: String,
    fb: Arc<Framebuffer>,
    last: u64,
    written: VecDeque<PathBuf>,
}

/// The snapshot writer of one run.
pub struct Snapshots {
    dir: PathBuf,
    keep: usize,
    clients: Vec<Client>,
}

/// Checks that `dir` can take snapshots: creates it if needed and writes
/// and removes a probe file. The error names the directory and the cause.
pub fn check_dir(dir: &Path) -> Result<()> {
    let shown = dir.display();
    std::fs::create_dir_all(dir).with_context(|| format!("--snapshot-dir {shown}"))?;
    if !dir.is_dir() {
        bail!("--snapshot-dir {shown}: not a directory");
    }
    let probe = dir.join(format!(".spin-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .with_context(|| format!("--snapshot-dir {shown}: cannot write there"))?;
    std::fs::remove_file(&probe)
        .with_context(|| format!("--snapshot-dir {shown}: cannot remove {}", probe.display()))?;
    Ok(())
}

impl Snapshots {
    /// A writer into `dir` (see [`check_dir`]) for the named framebuffers,
    /// keeping the newest `keep` (at least 1) files per mound.
    pub fn new(dir: &Path, keep: usize, clients: Vec<(String, Arc<Framebuffer>)>) -> Snapshots {
        Snapshots {
            dir: dir.to_path_buf(),
            keep: keep.max(1),
            clients: clients
                .into_iter()
                .map(|(name, fb)| Client {
                    name,
                    fb,
                    last: 0,
                    written: VecDeque::new(),
                })
                .collect(),
        }
    }

    /// Saves every client's frame that is newer than its last saved one;
    /// returns the files written. A failure names the file; the other
    /// clients are still saved.
    pub fn save(&mut self) -> (Vec<PathBuf>, Vec<String>) {
        let mut done = Vec::new();
        let mut errors = Vec::new();
        for c in &mut self.clients {
            let f = c.fb.snapshot();
            if f.generation == 0 || f.generation == c.last {
                continue;
            }
            let name = format!("{}-{:06}.png", file_stem(&c.name), f.generation);
            let path = self.dir.join(&name);
            let tmp = self.dir.join(format!(".{name}.tmp"));
            let png = encode_png(f.width, f.height, &f.pixels);
            match write_atomic(&tmp, &path, &png) {
                Ok(()) => {
                    c.last = f.generation;
                    c.written.push_back(path.clone());
                    done.push(path);
                }
                Err(e) => errors.push(format!("snapshot {}: {e}", path.display())),
            }
            while c.written.len() > self.keep {
                if let Some(old) = c.written.pop_front() {
                    if let Err(e) = std::fs::remove_file(&old) {
                        if e.kind() != io::ErrorKind::NotFound {
                            errors.push(format!("snapshot {}: {e}", old.display()));
                        }
                    }
                }
            }
        }
        (done, errors)
    }

    /// Each client's newest file.
    pub fn newest(&self) -> Vec<PathBuf> {
        self.clients
            .iter()
            .filter_map(|c| c.written.back().cloned())
            .collect()
    }

    /// Runs [`Snapshots::save`] every `every` on a thread until
    /// [`Saver::finish`]. Failures go to `log`: the first of a streak, and
    /// the streak's end (a full disk would otherwise log every second).
    pub fn spawn(self, every: Duration, log: Arc<LogBook>) -> io::Result<Saver> {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::Builder::new()
            .name("snapshots".into())
            .spawn(move || {
                let mut me = self;
                let mut failing = false;
                let mut next = Instant::now() + every;
                while !s.load(Ordering::Relaxed) {
                    let now = Instant::now();
                    if now >= next {
                        let (_, errors) = me.save();
                        match (errors.first(), failing) {
                            (Some(e), false) => log.push("kernel", e.clone()),
                            (None, true) => log.push("kernel", "snapshots are written again"),
                            _ => {}
                        }
                        failing = !errors.is_empty();
                        next = now + every;
                    }
                    std::thread::sleep(
                        next.saturating_duration_since(Instant::now())
                            .min(Duration::from_millis(20)),
                    );
                }
                me
            })?;
        Ok(Saver {
            stop,
            thread: Some(thread),
        })
    }
}

/// The snapshot thread of a run.
pub struct Saver {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Snapshots>>,
}

impl Saver {
    /// Stops the thread and saves the frames of the run's end; returns
    /// each client's newest file and the failures of this last save.
    pub fn finish(mut self) -> (Vec<PathBuf>, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(mut s)) => {
                let (_, errors) = s.save();
                (s.newest(), errors)
            }
            _ => (Vec::new(), vec!["the snapshot thread panicked".into()]),
        }
    }
}

impl Drop for Saver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A mound name as a file name: anything but letters, digits, `-` and `_`
/// becomes `_`.
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn write_atomic(tmp: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    std::fs::write(tmp, bytes)?;
    std::fs::rename(tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("spin-snap-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn only_new_frames_are_saved_and_the_newest_are_kept() {
        let dir = scratch("keep");
        check_dir(&dir).unwrap();
        let fb = Arc::new(Framebuffer::new(2, 2).unwrap());
        let mut s = Snapshots::new(&dir, 2, vec![("tv 1".into(), fb.clone())]);
        assert!(s.save().0.is_empty(), "no frame yet");
        for i in 1..=3u8 {
            fb.write_rgb(2, 2, &[i; 12]).unwrap();
            let (done, errors) = s.save();
            assert!(errors.is_empty(), "{errors:?}");
            assert_eq!(done.len(), 1);
            assert!(s.save().0.is_empty(), "the same frame again");
        }
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["tv_1-000002.png", "tv_1-000003.png"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unusable_directory_is_an_error() {
        let dir = scratch("file");
        std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
        std::fs::write(&dir, b"x").unwrap();
        let e = check_dir(&dir).unwrap_err();
        assert!(format!("{e:#}").contains("--snapshot-dir"), "{e:#}");
        std::fs::remove_file(&dir).unwrap();
    }
}
