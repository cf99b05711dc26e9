//! `interval`: a periodic timer (asyncio has none; people write `while True: await sleep(p)`,
//! which drifts. An `Interval` does not: each tick is scheduled from the previous deadline).

use std::time::{Duration, Instant};

use super::sleep::Sleep;
use crate::runtime::clock::deadline_after;
use crate::runtime::context;

/// A timer that fires every `period`, starting at once.
///
/// The first `tick` completes immediately; each following one completes `period` after the
/// previous deadline, so the schedule does not drift with the time spent between ticks. When
/// the caller falls behind by more than a period, the missed ticks are skipped rather than
/// fired in a burst.
///
/// ```
/// use std::time::Duration;
///
/// tinyloop::Loop::builder().virtual_time(true).run(async {
///     let start = tinyloop::now();
///     let mut every_second = tinyloop::interval(Duration::from_secs(1));
///     for _ in 0..3 {
///         every_second.tick().await; // at 0 s, 1 s, 2 s
///     }
///     assert_eq!(tinyloop::now() - start, Duration::from_secs(2));
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Panics
/// When `period` is zero (it would never give other tasks a turn) or no loop is running.
pub fn interval(period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "tinyloop::interval needs a period above zero; use yield_now() to give way in a loop"
    );
    let core = context::current("tinyloop::interval");
    let start = core.clock.now();
    Interval {
        sleep: Sleep::new(core, start),
        period,
        first: true,
    }
}

/// The timer returned by [`interval`].
#[derive(Debug)]
pub struct Interval {
    sleep: Sleep,
    period: Duration,
    first: bool,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled time.
    pub async fn tick(&mut self) -> Instant {
        if self.first {
            self.first = false;
            let at = self.sleep.deadline();
            self.sleep.reset(deadline_after(at, self.period));
            return at;
        }
        (&mut self.sleep).await;
        let at = self.sleep.deadline();
        let now = crate::time::now();
        let mut next = deadline_after(at, self.period);
        if next <= now {
            // Fell behind: skip the missed ticks instead of firing them all at once.
            let behind = now.duration_since(at).as_nanos() / self.period.as_nanos().max(1);
            let skip = u32::try_from(behind).unwrap_or(u32::MAX);
            next = deadline_after(at, self.period.saturating_mul(skip.saturating_add(1)));
        }
        self.sleep.reset(next);
        at
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }
}
