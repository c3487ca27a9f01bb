//! Worker threads for asynchronous and bounded handlers.

use std::sync::OnceLock;

use crossbeam_channel::{unbounded, Receiver, Sender};

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    tx: Sender<Job>,
    rx: Receiver<Job>,
}

const WORKERS: usize = 2;

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = unbounded::<Job>();
        let pool = Pool { tx, rx };
        for _ in 0..WORKERS {
            start_worker(pool.rx.clone());
        }
        pool
    })
}

fn start_worker(rx: Receiver<Job>) {
    // If the OS refuses a thread, the jobs still run on the remaining workers.
    let _ = std::thread::Builder::new()
        .name("spin-event-worker".into())
        .spawn(move || {
            while let Ok(job) = rx.recv() {
                job();
            }
        });
}

/// Runs `job` on a worker thread.
pub(super) fn spawn(job: Job) {
    // The receiver lives in the static pool, so the channel never disconnects.
    let _ = pool().tx.send(job);
}

/// A bounded handler overran its budget and still occupies a worker: add one
/// so the pool keeps its capacity.
pub(super) fn replace_stuck_worker() {
    start_worker(pool().rx.clone());
}
