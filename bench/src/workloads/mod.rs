//! The workloads. Each module holds one workload as three small functions, `tinyloop`,
//! `tokio` and `smol`, that do the same thing in the same order with each runtime's own
//! primitives, take the workload's size, and return the figures the workload reports (one per
//! entry of its `metrics` in the registry in `main.rs`).
//!
//! A workload whose tinyloop part needs a piece of tinyloop that has not landed yet puts its
//! `tinyloop` function behind a cargo feature and, without it, re-exports [`not_built`] in
//! its place; the registry then skips the tinyloop column for it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

pub mod as_completed;
pub mod gather;
pub mod idle_memory;
pub mod idle_tcp;
pub mod pingpong;
pub mod semaphore;
pub mod spawn;
pub mod tcp_echo;
pub mod timeout;
pub mod timeout_many;
pub mod timers;
pub mod yield_now;

/// What a workload run returns: one figure per metric.
pub type Sample = Vec<f64>;

/// Stands in for the tinyloop side of a workload whose cargo feature is off.
#[allow(dead_code)] // used only while some feature is off
pub fn not_built(_size: usize) -> Sample {
    panic!("the tinyloop side of this workload is not built: enable its cargo feature")
}

/// The delay of timer `i` in the timer workloads: 1 to 100 ms, evenly spread and
/// deterministic, so every runtime sleeps the same set of delays.
pub fn spread_delay(i: usize) -> Duration {
    Duration::from_millis(1 + (i % 100) as u64)
}

/// A future that is pending once, waking itself, and then ready: the cheapest future that
/// still goes through a real wake-up and a second poll.
#[derive(Debug, Default)]
pub struct PendingOnce {
    polled: bool,
}

impl Future for PendingOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.polled {
            Poll::Ready(())
        } else {
            self.polled = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}
