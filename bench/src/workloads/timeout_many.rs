//! timeout-many: `n` `timeout(10 s, f)` in flight at once (100,000 at full scale), each `f`
//! pending once (waking itself) before it finishes, all driven by one task through the
//! runtime's way of awaiting many futures together (tinyloop's `gather`, `join_all`
//! elsewhere).
//!
//! The sibling of `timeout`, which runs its timeouts one after another so that the timer
//! structure never holds more than one entry: here all `n` deadlines are armed before the
//! first is disarmed, so the figure includes what arming and cancelling cost in a wheel (or
//! heap, or map) holding `n` entries. Subtract the `gather` row for the combinator's share.
//! Figure: wall ns per timeout.

use std::time::Duration;

use crate::measure::{ns_per, Stopwatch};
use crate::runtimes::{on_smol, on_tokio, smol_timeout};
use crate::workloads::{PendingOnce, Sample};

/// The deadline, far enough away never to fire.
const LIMIT: Duration = Duration::from_secs(10);

#[cfg(feature = "gather")]
pub fn tinyloop(n: usize) -> Sample {
    use crate::runtimes::on_tinyloop;

    on_tinyloop(async move {
        let clock = Stopwatch::start();
        let outcomes =
            tinyloop::gather((0..n).map(|_| tinyloop::timeout(LIMIT, PendingOnce::default())))
                .await;
        let wall = clock.wall();
        check(outcomes.iter().filter(|o| o.is_ok()).count(), n);
        vec![ns_per(wall, n)]
    })
}
#[cfg(not(feature = "gather"))]
pub use super::not_built as tinyloop;

pub fn tokio(n: usize) -> Sample {
    use futures_util::future::join_all;

    on_tokio(async move {
        let clock = Stopwatch::start();
        let outcomes =
            join_all((0..n).map(|_| tokio::time::timeout(LIMIT, PendingOnce::default()))).await;
        let wall = clock.wall();
        check(outcomes.iter().filter(|o| o.is_ok()).count(), n);
        vec![ns_per(wall, n)]
    })
}

pub fn smol(n: usize) -> Sample {
    use futures_util::future::join_all;

    on_smol(async move {
        let clock = Stopwatch::start();
        let outcomes = join_all((0..n).map(|_| smol_timeout(LIMIT, PendingOnce::default()))).await;
        let wall = clock.wall();
        check(outcomes.iter().filter(|o| o.is_ok()).count(), n);
        vec![ns_per(wall, n)]
    })
}

fn check(finished: usize, n: usize) {
    assert_eq!(finished, n, "a timeout fired or an outcome went missing");
}
