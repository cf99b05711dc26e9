//! spawn: start `n` trivial tasks (each returns a `u64`), then await every handle.
//!
//! Measures a task's whole life: allocate it, queue it, poll it once, store its output, wake
//! the awaiting task and hand the output over. Figure: wall ns per task.

use crate::measure::{ns_per, Stopwatch};
use crate::runtimes::{futures_spawn, on_futures, on_smol, on_tinyloop, on_tokio, smol_spawn};
use crate::workloads::Sample;

pub fn tinyloop(n: usize) -> Sample {
    on_tinyloop(async move {
        let clock = Stopwatch::start();
        let tasks: Vec<_> = (0..n as u64)
            .map(|i| tinyloop::spawn(async move { i }))
            .collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await.unwrap();
        }
        let wall = clock.wall();
        check(sum, n);
        vec![ns_per(wall, n)]
    })
}

pub fn tokio(n: usize) -> Sample {
    on_tokio(async move {
        let clock = Stopwatch::start();
        let tasks: Vec<_> = (0..n as u64)
            .map(|i| tokio::task::spawn_local(async move { i }))
            .collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await.unwrap();
        }
        let wall = clock.wall();
        check(sum, n);
        vec![ns_per(wall, n)]
    })
}

pub fn smol(n: usize) -> Sample {
    on_smol(async move {
        let clock = Stopwatch::start();
        let tasks: Vec<_> = (0..n as u64)
            .map(|i| smol_spawn(async move { i }))
            .collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await;
        }
        let wall = clock.wall();
        check(sum, n);
        vec![ns_per(wall, n)]
    })
}

pub fn futures(n: usize) -> Sample {
    on_futures(async move {
        let clock = Stopwatch::start();
        let tasks: Vec<_> = (0..n as u64)
            .map(|i| futures_spawn(async move { i }))
            .collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await;
        }
        let wall = clock.wall();
        check(sum, n);
        vec![ns_per(wall, n)]
    })
}

fn check(sum: u64, n: usize) {
    let n = n as u64;
    assert_eq!(
        sum,
        n * n.saturating_sub(1) / 2,
        "a task's output went missing"
    );
}
