//! The loop's clock: asyncio's `loop.time()`, real or virtual.
//!
//! Timers are kept in whole milliseconds ("ticks") since the loop's `origin`. Converting a
//! deadline to a tick rounds *up* and converting the current time rounds *down*, so a timer
//! whose tick has been reached has always reached its deadline: the wheel can never fire early.
//!
//! Under virtual time the clock is `origin + offset`, and the loop moves `offset` forward
//! itself: by the real time it spent blocked in the poller (while I/O or thread work is in
//! flight), and straight to the next timer when nothing else can happen.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// About thirty years: what a deadline that cannot be represented saturates to.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// Ticks (25 years) from which on a timer is "never": it is not armed at all. Saturated
/// deadlines land here, so `sleep(Duration::MAX)` never fires, even under virtual time
/// (where an armed timer, however far, would eventually be jumped to).
pub(crate) const NEVER_TICK: u64 = 86_400 * 365 * 25 * 1000;

#[derive(Debug)]
pub(crate) struct Clock {
    origin: Instant,
    virtual_offset: Option<Cell<Duration>>,
}

impl Clock {
    pub(crate) fn new(virtual_time: bool) -> Clock {
        Clock {
            origin: Instant::now(),
            virtual_offset: virtual_time.then(|| Cell::new(Duration::ZERO)),
        }
    }

    pub(crate) fn is_virtual(&self) -> bool {
        self.virtual_offset.is_some()
    }

    pub(crate) fn now(&self) -> Instant {
        match &self.virtual_offset {
            Some(offset) => self.origin + offset.get(),
            None => Instant::now(),
        }
    }

    /// The current tick, rounded down: every timer at or before it is due.
    pub(crate) fn now_tick(&self) -> u64 {
        let elapsed = self.now().saturating_duration_since(self.origin);
        u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
    }

    /// The tick at which a timer for `deadline` may fire, rounded up so it never fires early.
    pub(crate) fn tick_for(&self, deadline: Instant) -> u64 {
        let since = deadline.saturating_duration_since(self.origin);
        let ms = since.as_millis() + u128::from(since.subsec_nanos() % 1_000_000 != 0);
        u64::try_from(ms).unwrap_or(u64::MAX)
    }

    /// The instant a tick starts at (saturating far in the future).
    pub(crate) fn instant_of(&self, tick: u64) -> Instant {
        self.origin
            .checked_add(Duration::from_millis(tick))
            .unwrap_or_else(|| far_future(self.origin))
    }

    /// Virtual time only: moves the clock forward (never backward).
    pub(crate) fn advance_to(&self, target: Instant) {
        if let Some(offset) = &self.virtual_offset {
            let wanted = target.saturating_duration_since(self.origin);
            if wanted > offset.get() {
                offset.set(wanted);
            }
        }
    }

    /// Virtual time only: lets `real` real time pass on the virtual clock.
    pub(crate) fn advance_by(&self, real: Duration) {
        if let Some(offset) = &self.virtual_offset {
            offset.set(offset.get().saturating_add(real));
        }
    }
}

/// `base + d`, or a deadline so far away it never comes when that cannot be represented.
pub(crate) fn deadline_after(base: Instant, d: Duration) -> Instant {
    base.checked_add(d).unwrap_or_else(|| far_future(base))
}

fn far_future(base: Instant) -> Instant {
    base.checked_add(FAR_FUTURE)
        .or_else(|| base.checked_add(FAR_FUTURE / 30))
        .unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_round_up_and_now_rounds_down() {
        let clock = Clock::new(true);
        let o = clock.origin;
        assert_eq!(clock.tick_for(o), 0);
        assert_eq!(clock.tick_for(o + Duration::from_nanos(1)), 1);
        assert_eq!(clock.tick_for(o + Duration::from_millis(5)), 5);
        assert_eq!(clock.tick_for(o + Duration::from_micros(5001)), 6);
        clock.advance_by(Duration::from_micros(5999));
        assert_eq!(clock.now_tick(), 5);
    }

    #[test]
    fn huge_durations_saturate() {
        let clock = Clock::new(false);
        let d = deadline_after(Instant::now(), Duration::MAX);
        assert!(d > Instant::now() + Duration::from_secs(86_400 * 365));
        assert!(clock.tick_for(d) > 1 << 35);
        let _ = clock.instant_of(u64::MAX);
    }
}
