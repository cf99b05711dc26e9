//! timeout: `n` sequential `timeout(10 s, f)` where `f` is pending once (waking itself)
//! before it finishes.
//!
//! Measures the cost of guarding a future with a deadline that never fires: arm a timer,
//! poll the future twice through a wake-up, disarm the timer. Figure: wall ns per timeout.

use std::time::Duration;

use crate::measure::{ns_per, Stopwatch};
use crate::runtimes::{on_smol, on_tinyloop, on_tokio, smol_timeout};
use crate::workloads::{PendingOnce, Sample};

/// The deadline, far enough away never to fire.
const LIMIT: Duration = Duration::from_secs(10);

pub fn tinyloop(n: usize) -> Sample {
    on_tinyloop(async move {
        let clock = Stopwatch::start();
        for _ in 0..n {
            tinyloop::timeout(LIMIT, PendingOnce::default())
                .await
                .unwrap();
        }
        vec![ns_per(clock.wall(), n)]
    })
}

pub fn tokio(n: usize) -> Sample {
    on_tokio(async move {
        let clock = Stopwatch::start();
        for _ in 0..n {
            tokio::time::timeout(LIMIT, PendingOnce::default())
                .await
                .unwrap();
        }
        vec![ns_per(clock.wall(), n)]
    })
}

pub fn smol(n: usize) -> Sample {
    on_smol(async move {
        let clock = Stopwatch::start();
        for _ in 0..n {
            smol_timeout(LIMIT, PendingOnce::default()).await.unwrap();
        }
        vec![ns_per(clock.wall(), n)]
    })
}
