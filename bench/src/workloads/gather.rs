//! gather: drive `n` futures (100,000 at full scale) concurrently inside one task, each
//! yielding once and returning its index, and collect the outputs in input order.
//!
//! Measures a combinator that owns many futures: after the first round every future is woken
//! once, and a good combinator polls only the woken ones. tokio and smol have no gather of
//! their own; their users reach for `futures::future::join_all`, as here.
//! Figure: wall ns per future.

use crate::measure::{ns_per, Stopwatch};
use crate::runtimes::{on_futures, on_smol, on_tokio};
use crate::workloads::Sample;

#[cfg(feature = "gather")]
pub fn tinyloop(n: usize) -> Sample {
    use crate::runtimes::on_tinyloop;

    on_tinyloop(async move {
        let clock = Stopwatch::start();
        let outputs = tinyloop::gather((0..n as u64).map(|i| async move {
            tinyloop::yield_now().await;
            i
        }))
        .await;
        let wall = clock.wall();
        check(&outputs);
        vec![ns_per(wall, n)]
    })
}
#[cfg(not(feature = "gather"))]
pub use super::not_built as tinyloop;

pub fn tokio(n: usize) -> Sample {
    use futures_util::future::join_all;

    on_tokio(async move {
        let clock = Stopwatch::start();
        let outputs = join_all((0..n as u64).map(|i| async move {
            tokio::task::yield_now().await;
            i
        }))
        .await;
        let wall = clock.wall();
        check(&outputs);
        vec![ns_per(wall, n)]
    })
}

pub fn smol(n: usize) -> Sample {
    use futures_util::future::join_all;

    on_smol(async move {
        let clock = Stopwatch::start();
        let outputs = join_all((0..n as u64).map(|i| async move {
            futures_lite::future::yield_now().await;
            i
        }))
        .await;
        let wall = clock.wall();
        check(&outputs);
        vec![ns_per(wall, n)]
    })
}

pub fn futures(n: usize) -> Sample {
    use futures_util::future::join_all;

    on_futures(async move {
        let clock = Stopwatch::start();
        let outputs = join_all((0..n as u64).map(|i| async move {
            futures_lite::future::yield_now().await;
            i
        }))
        .await;
        let wall = clock.wall();
        check(&outputs);
        vec![ns_per(wall, n)]
    })
}

fn check(outputs: &[u64]) {
    let in_order = outputs.iter().enumerate().all(|(i, &x)| x == i as u64);
    assert!(in_order, "gather lost an output or broke input order");
}
