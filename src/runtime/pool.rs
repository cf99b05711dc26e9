//! Worker threads for `to_thread`: asyncio's default `ThreadPoolExecutor`.
//!
//! One pool serves every loop in the process. It starts with no threads, starts one whenever a
//! job arrives and no worker is idle (up to `MAX_THREADS`; past that, jobs queue), and a worker
//! that has been idle for `IDLE_TIMEOUT` exits. Jobs travel over a crossbeam channel; results
//! travel back through the job's own closure, which stores them and wakes the waiting task
//! through the task's waker, i.e. the loop's ordinary cross-thread wake path.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

/// asyncio's default is `min(32, os.cpu_count() + 4)`; threads here are cheap to keep idle.
const MAX_THREADS: usize = 64;
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    jobs: Sender<Job>,
    queue: Receiver<Job>,
    threads: AtomicUsize,
    idle: AtomicUsize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let (jobs, queue) = crossbeam_channel::unbounded();
        Pool {
            jobs,
            queue,
            threads: AtomicUsize::new(0),
            idle: AtomicUsize::new(0),
        }
    })
}

/// Runs `job` on a worker thread.
pub(crate) fn submit(job: Job) {
    let pool = pool();
    pool.jobs
        .send(job)
        .expect("the pool keeps its own receiver");
    // Start a worker unless one is idle (it will take the job) or we are at the bound.
    if pool.idle.load(Ordering::Acquire) == 0 {
        let mut n = pool.threads.load(Ordering::Acquire);
        while n < MAX_THREADS {
            match pool
                .threads
                .compare_exchange(n, n + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    let spawned = std::thread::Builder::new()
                        .name("tinyloop-worker".into())
                        .spawn(move || worker(pool));
                    if spawned.is_err() {
                        // The OS refused a thread: the queued job waits for an existing worker.
                        pool.threads.fetch_sub(1, Ordering::AcqRel);
                    }
                    break;
                }
                Err(now) => n = now,
            }
        }
    }
}

fn worker(pool: &'static Pool) {
    loop {
        pool.idle.fetch_add(1, Ordering::AcqRel);
        let next = pool.queue.recv_timeout(IDLE_TIMEOUT);
        pool.idle.fetch_sub(1, Ordering::AcqRel);
        match next {
            Ok(job) => job(),
            Err(RecvTimeoutError::Timeout) => {
                pool.threads.fetch_sub(1, Ordering::AcqRel);
                // A job may have arrived between the timeout and the decrement; take it.
                if let Ok(job) = pool.queue.try_recv() {
                    pool.threads.fetch_add(1, Ordering::AcqRel);
                    job();
                    continue;
                }
                return;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// How many worker threads exist right now (for tests and the task dump).
#[allow(dead_code)]
pub(crate) fn thread_count() -> usize {
    pool().threads.load(Ordering::Acquire)
}
