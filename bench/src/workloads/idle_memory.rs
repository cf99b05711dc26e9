//! idle-memory: spawn `n` tasks that each sleep an hour, yield until every one has started
//! and is asleep, then read how much the resident set grew.
//!
//! Measures what an idle task costs to keep: its allocation (header, future, output slot)
//! plus its armed timer. The handles are dropped (detached), so they are not counted.
//! Once every task is asleep the measuring task yields once more on every runtime, so the
//! turn that ran the tasks ends before the reading: a run queue grown to hold `n` fresh
//! spawns is the burst's cost (the spawn row), not what keeping an idle task costs.
//! Figure: bytes of RSS per task.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use crate::measure::rss_bytes;
use crate::runtimes::{on_smol, on_tinyloop, on_tokio, smol_spawn};
use crate::workloads::Sample;

const NAP: Duration = Duration::from_secs(3600);

pub fn tinyloop(n: usize) -> Sample {
    on_tinyloop(async move {
        let started = Rc::new(Cell::new(0));
        let before = rss_bytes();
        for _ in 0..n {
            let started = started.clone();
            drop(tinyloop::spawn(async move {
                started.set(started.get() + 1);
                tinyloop::sleep(NAP).await;
            }));
        }
        while started.get() < n {
            tinyloop::yield_now().await;
        }
        tinyloop::yield_now().await;
        vec![per_task(before, n)]
    })
}

pub fn tokio(n: usize) -> Sample {
    on_tokio(async move {
        let started = Rc::new(Cell::new(0));
        let before = rss_bytes();
        for _ in 0..n {
            let started = started.clone();
            drop(tokio::task::spawn_local(async move {
                started.set(started.get() + 1);
                tokio::time::sleep(NAP).await;
            }));
        }
        while started.get() < n {
            tokio::task::yield_now().await;
        }
        tokio::task::yield_now().await;
        vec![per_task(before, n)]
    })
}

pub fn smol(n: usize) -> Sample {
    on_smol(async move {
        let started = Rc::new(Cell::new(0));
        let before = rss_bytes();
        for _ in 0..n {
            let started = started.clone();
            smol_spawn(async move {
                started.set(started.get() + 1);
                async_io::Timer::after(NAP).await;
            })
            .detach();
        }
        while started.get() < n {
            futures_lite::future::yield_now().await;
        }
        futures_lite::future::yield_now().await;
        vec![per_task(before, n)]
    })
}

fn per_task(before: u64, n: usize) -> f64 {
    rss_bytes().saturating_sub(before) as f64 / n as f64
}
