//! yield: `n` tasks (1,000 at full scale) each yield 1,000 times, all interleaved.
//!
//! Measures one trip round the ready queue: the task wakes itself, goes to the back of the
//! queue, and is polled again when its turn comes. Figure: wall ns per yield.

use crate::measure::{ns_per, Stopwatch};
use crate::runtimes::{futures_spawn, on_futures, on_smol, on_tinyloop, on_tokio, smol_spawn};
use crate::workloads::Sample;

/// How many times each task yields.
pub const YIELDS_PER_TASK: usize = 1_000;

pub fn tinyloop(tasks: usize) -> Sample {
    on_tinyloop(async move {
        let clock = Stopwatch::start();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                tinyloop::spawn(async {
                    for _ in 0..YIELDS_PER_TASK {
                        tinyloop::yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        vec![ns_per(clock.wall(), tasks * YIELDS_PER_TASK)]
    })
}

pub fn tokio(tasks: usize) -> Sample {
    on_tokio(async move {
        let clock = Stopwatch::start();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                tokio::task::spawn_local(async {
                    for _ in 0..YIELDS_PER_TASK {
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        vec![ns_per(clock.wall(), tasks * YIELDS_PER_TASK)]
    })
}

pub fn smol(tasks: usize) -> Sample {
    on_smol(async move {
        let clock = Stopwatch::start();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                smol_spawn(async {
                    for _ in 0..YIELDS_PER_TASK {
                        futures_lite::future::yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await;
        }
        vec![ns_per(clock.wall(), tasks * YIELDS_PER_TASK)]
    })
}

pub fn futures(tasks: usize) -> Sample {
    on_futures(async move {
        let clock = Stopwatch::start();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                futures_spawn(async {
                    for _ in 0..YIELDS_PER_TASK {
                        futures_lite::future::yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await;
        }
        vec![ns_per(clock.wall(), tasks * YIELDS_PER_TASK)]
    })
}
