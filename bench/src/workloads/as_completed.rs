//! as-completed: `n` timers (100,000 at full scale), timer `i` sleeping `1 + i % 100` ms,
//! handed out in the order they finish.
//!
//! Measures handing out many results in completion order. asyncio's `as_completed` wraps each
//! awaitable in a task, and tinyloop's takes `'static` futures for the same reason; tokio's
//! counterpart is a `JoinSet`, smol's is its tasks in a `futures::stream::FuturesUnordered`.
//! (A `FuturesUnordered` of tokio sleeps is no fair stand-in: once tokio's cooperative budget
//! runs out, every one of the pending futures is polled again on every turn of the loop,
//! which makes it quadratic: 25 µs per timer at 100k.) Figures: CPU ns per timer and wall ms
//! (ideal: 100), as in `timers`.

use crate::measure::{ms, ns_per, Stopwatch};
use crate::runtimes::{on_smol, on_tokio, smol_spawn};
use crate::workloads::{spread_delay, Sample};

#[cfg(feature = "gather")]
pub fn tinyloop(n: usize) -> Sample {
    use crate::runtimes::on_tinyloop;

    on_tinyloop(async move {
        let clock = Stopwatch::start();
        let mut done = tinyloop::as_completed((0..n).map(|i| async move {
            tinyloop::sleep(spread_delay(i)).await;
            i
        }));
        let mut finished = 0;
        while let Some((_index, _i)) = done.next().await {
            finished += 1;
        }
        check(finished, n);
        vec![ns_per(clock.cpu(), n), ms(clock.wall())]
    })
}
#[cfg(not(feature = "gather"))]
pub use super::not_built as tinyloop;

pub fn tokio(n: usize) -> Sample {
    use tokio::task::JoinSet;

    on_tokio(async move {
        let clock = Stopwatch::start();
        let mut done = JoinSet::new();
        for i in 0..n {
            done.spawn_local(async move {
                tokio::time::sleep(spread_delay(i)).await;
                i
            });
        }
        let mut finished = 0;
        while let Some(i) = done.join_next().await {
            i.unwrap();
            finished += 1;
        }
        check(finished, n);
        vec![ns_per(clock.cpu(), n), ms(clock.wall())]
    })
}

pub fn smol(n: usize) -> Sample {
    use futures_util::stream::{FuturesUnordered, StreamExt};

    on_smol(async move {
        let clock = Stopwatch::start();
        let mut done: FuturesUnordered<_> = (0..n)
            .map(|i| {
                smol_spawn(async move {
                    async_io::Timer::after(spread_delay(i)).await;
                    i
                })
            })
            .collect();
        let mut finished = 0;
        while let Some(_i) = done.next().await {
            finished += 1;
        }
        check(finished, n);
        vec![ns_per(clock.cpu(), n), ms(clock.wall())]
    })
}

fn check(finished: usize, n: usize) {
    assert_eq!(finished, n, "a timer never fired");
}
