//! Time: asyncio's `loop.time()`, `asyncio.sleep`, `asyncio.timeout`/`wait_for`, and the
//! loop's `call_soon`/`call_later`/`call_at` (`base_events.py`, `tasks.py`, `timeouts.py`).
//!
//! Every timer lives in the loop's hierarchical wheel (`runtime/wheel`), with 1 ms ticks.
//! A timer never fires early: deadlines round *up* to the next tick and the current time
//! rounds *down*. Durations too large to represent saturate to a deadline decades away, so
//! `sleep(Duration::MAX)` simply never fires. Under `LoopBuilder::virtual_time`, [`now`] is
//! the loop's virtual clock, which jumps to the next timer whenever nothing else can run.

mod callbacks;
mod interval;
mod sleep;
mod timeout;

pub use callbacks::{call_at, call_later, call_soon, CallbackHandle};
pub use interval::{interval, Interval};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Timeout, TimeoutError};

use std::time::Instant;

use crate::runtime::context;

/// The loop's current time: asyncio's `loop.time()`. Virtual under `virtual_time`.
///
/// ```
/// use std::time::Duration;
///
/// // Under virtual time the clock jumps to the next timer, so this takes no real time.
/// tinyloop::Loop::builder().virtual_time(true).run(async {
///     let start = tinyloop::now();
///     tinyloop::sleep(Duration::from_secs(90)).await;
///     assert_eq!(tinyloop::now() - start, Duration::from_secs(90));
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Panics
/// When no loop is running on this thread.
#[doc(alias = "loop.time")]
pub fn now() -> Instant {
    context::with_core("tinyloop::now", |core| core.clock.now())
}
