//! The loop's settings, as `LoopBuilder` chose them. Their own file, at the bottom of the
//! layers, so that the core and the seeing-inside layer (`observe/`) both read them without
//! reading each other.

use std::time::Duration;

/// Settings chosen with `LoopBuilder`.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) debug: bool,
    pub(crate) slow_poll_threshold: Duration,
    pub(crate) virtual_time: bool,
    /// Record the event trace (`runtime/observe/trace.rs`).
    pub(crate) trace: bool,
    /// Stop a loop that can never make progress (`runtime/observe/deadlock.rs`).
    pub(crate) detect_deadlocks: bool,
    /// Seeded schedule (`runtime/schedule.rs`); `None`: FIFO.
    pub(crate) seed: Option<u64>,
}
