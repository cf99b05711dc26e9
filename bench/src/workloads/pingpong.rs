//! pingpong: two tasks bounce a counter `n` times (200,000 at full scale) through two
//! bounded queues of capacity 1: one puts on `ping` and gets from `pong`, the other gets from
//! `ping` and puts `counter + 1` on `pong`.
//!
//! Measures a queue hand-off that always has to wake the other side, twice per round trip.
//! Figure: wall ns per round trip.

use crate::measure::{ns_per, Stopwatch};
use crate::runtimes::{futures_spawn, on_futures, on_smol, on_tokio, smol_spawn};
use crate::workloads::Sample;

#[cfg(feature = "sync")]
pub fn tinyloop(n: usize) -> Sample {
    use crate::runtimes::on_tinyloop;
    use tinyloop::Queue;

    on_tinyloop(async move {
        let clock = Stopwatch::start();
        let (ping, pong) = (Queue::new(1), Queue::new(1));
        let (ping_rx, pong_tx) = (ping.clone(), pong.clone());
        let echo = tinyloop::spawn(async move {
            for _ in 0..n {
                let counter: u64 = ping_rx.get().await.unwrap();
                pong_tx.put(counter + 1).await.unwrap();
            }
        });
        let mut counter = 0;
        for _ in 0..n {
            ping.put(counter).await.unwrap();
            counter = pong.get().await.unwrap();
        }
        echo.await.unwrap();
        check(counter, n);
        vec![ns_per(clock.wall(), n)]
    })
}
#[cfg(not(feature = "sync"))]
pub use super::not_built as tinyloop;

pub fn tokio(n: usize) -> Sample {
    use tokio::sync::mpsc;

    on_tokio(async move {
        let clock = Stopwatch::start();
        let ((ping, mut ping_rx), (pong_tx, mut pong)) = (mpsc::channel(1), mpsc::channel(1));
        let echo = tokio::task::spawn_local(async move {
            for _ in 0..n {
                let counter: u64 = ping_rx.recv().await.unwrap();
                pong_tx.send(counter + 1).await.unwrap();
            }
        });
        let mut counter = 0;
        for _ in 0..n {
            ping.send(counter).await.unwrap();
            counter = pong.recv().await.unwrap();
        }
        echo.await.unwrap();
        check(counter, n);
        vec![ns_per(clock.wall(), n)]
    })
}

pub fn smol(n: usize) -> Sample {
    use async_channel::bounded;

    on_smol(async move {
        let clock = Stopwatch::start();
        let ((ping, ping_rx), (pong_tx, pong)) = (bounded(1), bounded(1));
        let echo = smol_spawn(async move {
            for _ in 0..n {
                let counter: u64 = ping_rx.recv().await.unwrap();
                pong_tx.send(counter + 1).await.unwrap();
            }
        });
        let mut counter = 0;
        for _ in 0..n {
            ping.send(counter).await.unwrap();
            counter = pong.recv().await.unwrap();
        }
        echo.await;
        check(counter, n);
        vec![ns_per(clock.wall(), n)]
    })
}

pub fn futures(n: usize) -> Sample {
    use async_channel::bounded;

    on_futures(async move {
        let clock = Stopwatch::start();
        let ((ping, ping_rx), (pong_tx, pong)) = (bounded(1), bounded(1));
        let echo = futures_spawn(async move {
            for _ in 0..n {
                let counter: u64 = ping_rx.recv().await.unwrap();
                pong_tx.send(counter + 1).await.unwrap();
            }
        });
        let mut counter = 0;
        for _ in 0..n {
            ping.send(counter).await.unwrap();
            counter = pong.recv().await.unwrap();
        }
        echo.await;
        check(counter, n);
        vec![ns_per(clock.wall(), n)]
    })
}

fn check(counter: u64, n: usize) {
    assert_eq!(counter, n as u64, "the counter lost a bounce");
}
