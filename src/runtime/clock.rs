//! The loop's clock: asyncio's `loop.time()`, real or virtual.
//!
//! Timers are kept in whole milliseconds ("ticks") since the loop's `origin`. Converting a
//! deadline to a tick rounds *up* and converting the current time rounds *down*, so a timer
//! whose tick has been reached has always reached its deadline: the wheel can never fire early.
//!
//! Under virtual time the clock is `origin + offset`, and the loop moves `offset` forward
//! itself: by the real time it spent blocked in the poller (while I/O or thread work is in
//! flight), and straight to the next timer when nothing else can happen.
//!
//! Reading the real clock costs tens of nanoseconds (`clock_gettime`), as much as a whole
//! turn of a busy loop. So the clock remembers its latest real reading, and the loop's timer
//! step uses that instead of reading again when nothing blocked since (see
//! [`Clock::reading_for_timers`]). A reading is never later than the true time, so a timer
//! checked against it can only fire late (by at most one turn), never early.

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
    /// Real time only: the latest reading of the real clock that the timer step has not used
    /// yet (`now` leaves it here, `reading_for_timers` takes it).
    latest: Cell<Option<Instant>>,
    /// `instant_of` for the last tick asked about, kept because the loop asks about the same
    /// tick (the wheel's next expiration) turn after turn.
    /// (`None`: the tick lies beyond what an `Instant` can represent.)
    tick_start: Cell<(u64, Option<Instant>)>,
}

impl Clock {
    pub(crate) fn new(virtual_time: bool) -> Clock {
        let origin = Instant::now();
        Clock {
            origin,
            virtual_offset: virtual_time.then(|| Cell::new(Duration::ZERO)),
            latest: Cell::new(None),
            tick_start: Cell::new((0, Some(origin))),
        }
    }

    pub(crate) fn is_virtual(&self) -> bool {
        self.virtual_offset.is_some()
    }

    pub(crate) fn now(&self) -> Instant {
        match &self.virtual_offset {
            Some(offset) => self.origin + offset.get(),
            None => {
                let now = Instant::now();
                self.latest.set(Some(now));
                now
            }
        }
    }

    /// The time for the loop's timer step: the latest real reading when it is still unused
    /// and `may_reuse` (the loop did not block since), else a fresh one. An older reading is
    /// still a time that has passed, so timers checked against it never fire early; it is at
    /// most one turn old, since each reading serves one timer step only. Virtual time is
    /// always read exactly (it only moves when the loop moves it).
    pub(crate) fn reading_for_timers(&self, may_reuse: bool) -> Instant {
        let latest = self.latest.take();
        match latest {
            Some(at) if may_reuse && self.virtual_offset.is_none() => at,
            _ => self.now_unrecorded(),
        }
    }

    /// [`Clock::now`] without leaving the reading for the timer step.
    fn now_unrecorded(&self) -> Instant {
        match &self.virtual_offset {
            Some(offset) => self.origin + offset.get(),
            None => Instant::now(),
        }
    }

    /// Whether a timer at `tick` is due at `now`: `tick_of(now) >= tick`, answered with one
    /// comparison of instants (the tick's start is remembered from the last call).
    pub(crate) fn reached(&self, tick: u64, now: Instant) -> bool {
        let (known, start) = self.tick_start.get();
        let start = if known == tick {
            start
        } else {
            let start = self.origin.checked_add(Duration::from_millis(tick));
            self.tick_start.set((tick, start));
            start
        };
        // A start no `Instant` can hold has not come yet.
        start.is_some_and(|start| now >= start)
    }

    /// The tick `now` lies in, rounded down: every timer at or before it is due.
    pub(crate) fn tick_of(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.origin);
        u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
    }

    /// The tick at which a timer for `deadline` may fire, rounded up so it never fires early.
    pub(crate) fn tick_for(&self, deadline: Instant) -> u64 {
        let since = deadline.saturating_duration_since(self.origin);
        let ms = since.as_millis() + u128::from(since.subsec_nanos() % 1_000_000 != 0);
        u64::try_from(ms).unwrap_or(u64::MAX)
    }

    /// `at` as nanoseconds since the loop's origin (negative before it): 8 bytes where an
    /// `Instant` takes 16, for deadlines kept by the million. Saturates about 292 years either
    /// side of the origin (a deadline that far away never fires either way).
    #[inline]
    pub(crate) fn nanos_of(&self, at: Instant) -> i64 {
        match at.checked_duration_since(self.origin) {
            Some(after) => nanos(after).unwrap_or(i64::MAX),
            None => nanos(self.origin.duration_since(at)).map_or(i64::MIN, |n| -n),
        }
    }

    /// `nanos_of(deadline_after(base, d))`, without the `Instant` arithmetic in the usual case.
    #[inline]
    pub(crate) fn nanos_after(&self, base: Instant, d: Duration) -> i64 {
        let base_nanos = self.nanos_of(base);
        let sum = nanos(d).and_then(|d| base_nanos.checked_add(d));
        match sum {
            Some(nanos) if base_nanos != i64::MIN && base_nanos != i64::MAX => nanos,
            _ => self.nanos_of(deadline_after(base, d)), // saturated: see `deadline_after`
        }
    }

    /// The instant [`Clock::nanos_of`] gave `nanos` for.
    pub(crate) fn instant_at(&self, nanos: i64) -> Instant {
        let distance = Duration::from_nanos(nanos.unsigned_abs());
        let at = if nanos >= 0 {
            self.origin.checked_add(distance)
        } else {
            self.origin.checked_sub(distance)
        };
        at.unwrap_or(self.origin)
    }

    /// [`Clock::tick_for`] of the deadline `nanos` since the origin: rounded up.
    pub(crate) fn tick_at_nanos(nanos: i64) -> u64 {
        let nanos = u64::try_from(nanos).unwrap_or(0); // before the origin: tick 0, due now
        nanos.div_ceil(1_000_000)
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

/// `d` in nanoseconds, if that fits an `i64` (about 292 years). (`Duration::as_nanos` is a
/// `u128`, whose arithmetic costs more than this.)
fn nanos(d: Duration) -> Option<i64> {
    let secs = i64::try_from(d.as_secs()).ok()?;
    secs.checked_mul(1_000_000_000)?
        .checked_add(i64::from(d.subsec_nanos()))
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
        assert_eq!(clock.tick_of(clock.now()), 5);
    }

    #[test]
    fn reached_agrees_with_tick_of() {
        let clock = Clock::new(true);
        let o = clock.origin;
        for micros in [0, 1, 999, 1000, 1001, 4999, 5000, 5001, 64_000, 64_001] {
            let now = o + Duration::from_micros(micros);
            for tick in [0, 1, 4, 5, 6, 63, 64, 65, u64::MAX] {
                assert_eq!(
                    clock.reached(tick, now),
                    clock.tick_of(now) >= tick,
                    "tick {tick} at {micros} us"
                );
            }
        }
    }

    #[test]
    fn the_timer_step_reuses_a_real_reading_once() {
        let clock = Clock::new(false);
        let read = clock.now();
        assert_eq!(clock.reading_for_timers(true), read); // reused
        assert!(clock.reading_for_timers(true) >= read); // used up: read afresh
        let read = clock.now();
        assert!(clock.reading_for_timers(false) >= read); // the loop blocked: read afresh
        assert!(clock.latest.get().is_none());
    }

    #[test]
    fn deadlines_kept_as_nanos_come_back_exactly() {
        let clock = Clock::new(false);
        let o = clock.origin;
        let year = Duration::from_secs(86_400 * 365);
        let mut instants = vec![o, o + Duration::from_nanos(1), o + 200 * year];
        instants.push(deadline_after(Instant::now(), Duration::MAX));
        instants.extend(o.checked_sub(Duration::from_nanos(1)));
        instants.extend(o.checked_sub(Duration::from_millis(5)));
        for at in instants {
            let nanos = clock.nanos_of(at);
            assert_eq!(clock.instant_at(nanos), at);
            assert_eq!(Clock::tick_at_nanos(nanos), clock.tick_for(at), "{at:?}");
        }
        for d in [0, 1, 999_999, 5_000_000_001, u64::MAX] {
            let d = Duration::from_nanos(d);
            let expected = clock.nanos_of(deadline_after(o, d));
            assert_eq!(clock.nanos_after(o, d), expected, "{d:?}");
        }
        assert_eq!(
            clock.nanos_after(o, Duration::MAX),
            clock.nanos_of(deadline_after(o, Duration::MAX))
        );
        // Beyond about 292 years: saturated, and never armed either way.
        let far = o.checked_add(400 * year).unwrap();
        assert_eq!(clock.nanos_of(far), i64::MAX);
        assert!(Clock::tick_at_nanos(i64::MAX) >= NEVER_TICK);
        assert_eq!(Clock::tick_at_nanos(-5), 0);
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
