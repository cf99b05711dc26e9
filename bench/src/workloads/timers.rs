//! timers: `n` tasks, task `i` sleeping `1 + i % 100` ms, then await them all.
//!
//! Measures arming, firing and waking `n` timers spread over 100 ms. Figures: CPU ns per
//! timer (process CPU time, so the 100 ms of waiting costs nothing and a busy neighbour on
//! the machine does not count) and wall ms, whose ideal is 100: more means timers fired late.

use crate::measure::{ms, ns_per, Stopwatch};
use crate::runtimes::{on_smol, on_tinyloop, on_tokio, smol_spawn};
use crate::workloads::{spread_delay, Sample};

pub fn tinyloop(n: usize) -> Sample {
    on_tinyloop(async move {
        let clock = Stopwatch::start();
        let tasks: Vec<_> = (0..n)
            .map(|i| tinyloop::spawn(tinyloop::sleep(spread_delay(i))))
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        vec![ns_per(clock.cpu(), n), ms(clock.wall())]
    })
}

pub fn tokio(n: usize) -> Sample {
    on_tokio(async move {
        let clock = Stopwatch::start();
        let tasks: Vec<_> = (0..n)
            .map(|i| tokio::task::spawn_local(tokio::time::sleep(spread_delay(i))))
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        vec![ns_per(clock.cpu(), n), ms(clock.wall())]
    })
}

pub fn smol(n: usize) -> Sample {
    on_smol(async move {
        let clock = Stopwatch::start();
        let tasks: Vec<_> = (0..n)
            .map(|i| smol_spawn(async_io::Timer::after(spread_delay(i))))
            .collect();
        for task in tasks {
            task.await;
        }
        vec![ns_per(clock.cpu(), n), ms(clock.wall())]
    })
}
