//! semaphore: `n` tasks (100,000 at full scale) pass through a semaphore of 5 permits, each
//! yielding once while it holds a permit.
//!
//! Measures a contended semaphore: almost every task waits in the FIFO queue and is woken by
//! a release. Figure: wall ns per task.

use std::rc::Rc;

use crate::measure::{ns_per, Stopwatch};
use crate::runtimes::{futures_spawn, on_futures, on_smol, on_tokio, smol_spawn};
use crate::workloads::Sample;

/// Permits of the semaphore.
pub const PERMITS: usize = 5;

#[cfg(feature = "sync")]
pub fn tinyloop(n: usize) -> Sample {
    use crate::runtimes::on_tinyloop;
    use tinyloop::Semaphore;

    on_tinyloop(async move {
        let clock = Stopwatch::start();
        let sem = Semaphore::new(PERMITS);
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let sem = sem.clone();
                tinyloop::spawn(async move {
                    let _permit = sem.acquire().await;
                    tinyloop::yield_now().await;
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        vec![ns_per(clock.wall(), n)]
    })
}
#[cfg(not(feature = "sync"))]
pub use super::not_built as tinyloop;

pub fn tokio(n: usize) -> Sample {
    use tokio::sync::Semaphore;

    on_tokio(async move {
        let clock = Stopwatch::start();
        let sem = Rc::new(Semaphore::new(PERMITS));
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let sem = sem.clone();
                tokio::task::spawn_local(async move {
                    let _permit = sem.acquire().await.unwrap();
                    tokio::task::yield_now().await;
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        vec![ns_per(clock.wall(), n)]
    })
}

pub fn smol(n: usize) -> Sample {
    use async_lock::Semaphore;

    on_smol(async move {
        let clock = Stopwatch::start();
        let sem = Rc::new(Semaphore::new(PERMITS));
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let sem = sem.clone();
                smol_spawn(async move {
                    let _permit = sem.acquire().await;
                    futures_lite::future::yield_now().await;
                })
            })
            .collect();
        for task in tasks {
            task.await;
        }
        vec![ns_per(clock.wall(), n)]
    })
}

pub fn futures(n: usize) -> Sample {
    use async_lock::Semaphore;

    on_futures(async move {
        let clock = Stopwatch::start();
        let sem = Rc::new(Semaphore::new(PERMITS));
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let sem = sem.clone();
                futures_spawn(async move {
                    let _permit = sem.acquire().await;
                    futures_lite::future::yield_now().await;
                })
            })
            .collect();
        for task in tasks {
            task.await;
        }
        vec![ns_per(clock.wall(), n)]
    })
}
