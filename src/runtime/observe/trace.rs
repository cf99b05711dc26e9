//! The event trace: what the loop did, when, and on whose behalf.
//!
//! asyncio has no trace of its own (its debug mode logs slow callbacks, and tools such as
//! `aiomonitor` or `viztracer` reconstruct the rest from outside). tinyloop's loop knows every
//! step it takes, so with `LoopBuilder::trace(true)` it writes each one down:
//!
//! | event         | recorded in                 | carries                                 |
//! |---------------|-----------------------------|-----------------------------------------|
//! | spawn         | `Core::spawn`               | task number, name, spawn location, by   |
//! | poll start    | `Core::run_task`, main, callbacks | task number                       |
//! | poll end      | same                        | outcome, what the task now waits on     |
//! | wake          | `Core::schedule`            | task number, by whom                    |
//! | cancel        | `Core::cancel`              | task number, by whom                    |
//! | done          | `Core::finish`, shutdown    | outcome (value, cancelled, panicked)    |
//! | timers fired  | `Core::fire_timers`         | how many tasks the wheel woke           |
//! | I/O ready     | `Core::poll_io`             | how many tasks the poller woke          |
//!
//! # By whom
//!
//! A waker does not know who calls it, but the loop knows what it is doing: polling task 7,
//! running a callback, firing timers, handing out I/O readiness, or taking in messages from
//! other threads. The recorder keeps that in `by`, set at each of those steps, and stamps
//! it on every wake, spawn and cancel. So "woken by task 7" means "woken while task 7 ran"
//! (or just after, as when a task's completion wakes the task awaiting it).
//!
//! # The buffer
//!
//! Events go into a ring of [`CAPACITY`] entries: when it is full the oldest event is dropped
//! and counted, so a long-running program keeps its most recent history in bounded memory.
//! Timestamps are the loop's clock (virtual under virtual time) in nanoseconds since the loop
//! was created, so a trace of a virtual-time test reads in the program's own seconds.
//!
//! # Cost
//!
//! Every hook in the core is `if let Some(t) = &self.observe.trace { ... }`: with tracing off
//! that is one load and one never-taken branch. With tracing on, an event costs a clock read
//! and a push into a `VecDeque` (plus, for a named spawn, a copy of the name).
//!
//! The renderers (the ASCII timeline and the Chrome trace JSON) live in `crate::trace`.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::panic::Location;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use crate::runtime::clock::Clock;
use crate::runtime::join_error::JoinError;

/// How many events the ring keeps (about 4 MB at most).
pub(crate) const CAPACITY: usize = 1 << 16;

/// The "task number" of the future given to `block_on` (real tasks count from 1).
pub(crate) const MAIN: u64 = 0;
/// The "task number" under which callbacks (`call_soon` and friends) are recorded.
pub(crate) const CALLBACKS: u64 = u64::MAX;

/// Who was acting when something happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum By {
    /// The loop itself: before `block_on`, between steps, at shutdown.
    Loop,
    /// A task being polled (or [`MAIN`], or [`CALLBACKS`]).
    Task(u64),
    /// The timer wheel, firing due timers.
    Timer,
    /// The I/O poller, handing out readiness.
    Io,
    /// A message from another thread (a cross-thread wake, `call_soon_threadsafe`).
    Thread,
}

/// How a poll, or a task, ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Pending,
    Ready,
    Cancelled,
    Panicked,
}

impl Outcome {
    pub(crate) fn of_poll<T, E>(polled: &Result<Poll<T>, E>) -> Outcome {
        match polled {
            Ok(Poll::Pending) => Outcome::Pending,
            Ok(Poll::Ready(_)) => Outcome::Ready,
            Err(_) => Outcome::Panicked,
        }
    }

    pub(crate) fn of_result<T>(result: &Result<T, JoinError>) -> Outcome {
        match result {
            Ok(_) => Outcome::Ready,
            Err(JoinError::Cancelled) => Outcome::Cancelled,
            Err(JoinError::Panicked(_)) => Outcome::Panicked,
        }
    }
}

/// What a poll left its task waiting on, in the few words a timeline has room for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Label {
    /// A timer this far in the future.
    Sleep(Duration),
    /// Another task, by number.
    Task(u64),
    /// A primitive: `"Queue::get"`, `"Lock::lock"`, ...
    Named(&'static str),
}

/// One recorded event.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    /// Nanoseconds on the loop's clock since the loop was created.
    pub(crate) at: u64,
    pub(crate) what: What,
}

#[derive(Clone, Debug)]
pub(crate) enum What {
    Spawn {
        task: u64,
        name: Option<Rc<str>>,
        at: &'static Location<'static>,
        by: By,
    },
    PollStart {
        task: u64,
    },
    PollEnd {
        task: u64,
        outcome: Outcome,
        waits_on: Option<Label>,
    },
    Wake {
        task: u64,
        by: By,
    },
    Cancel {
        task: u64,
        by: By,
    },
    Done {
        task: u64,
        outcome: Outcome,
    },
    TimersFired {
        count: usize,
    },
    IoReady {
        count: usize,
    },
}

/// The recorder: a ring of events and who is acting now.
#[derive(Debug)]
pub(crate) struct Tracer {
    /// The loop clock's reading when the loop was created: time zero of the trace.
    start: Instant,
    ring: RefCell<Ring>,
    by: Cell<By>,
}

#[derive(Debug)]
struct Ring {
    events: VecDeque<Event>,
    capacity: usize,
    dropped: u64,
}

impl Tracer {
    pub(crate) fn new(start: Instant, capacity: usize) -> Tracer {
        Tracer {
            start,
            ring: RefCell::new(Ring {
                events: VecDeque::with_capacity(capacity.min(1024)),
                capacity: capacity.max(1),
                dropped: 0,
            }),
            by: Cell::new(By::Loop),
        }
    }

    fn record(&self, clock: &Clock, what: What) {
        let since = clock.now().saturating_duration_since(self.start);
        let at = u64::try_from(since.as_nanos()).unwrap_or(u64::MAX);
        let mut ring = self.ring.borrow_mut();
        if ring.events.len() == ring.capacity {
            ring.events.pop_front();
            ring.dropped += 1;
        }
        ring.events.push_back(Event { at, what });
    }

    /// Who is acting from now on.
    #[cold]
    #[inline(never)]
    pub(crate) fn set_by(&self, by: By) {
        self.by.set(by);
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn spawned(
        &self,
        clock: &Clock,
        task: u64,
        name: Option<&str>,
        at: &'static Location<'static>,
    ) {
        let by = self.by.get();
        let name = name.map(Rc::from);
        self.record(clock, What::Spawn { task, name, at, by });
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn poll_start(&self, clock: &Clock, task: u64) {
        self.by.set(By::Task(task));
        self.record(clock, What::PollStart { task });
    }

    /// `by` stays on the task: what happens right after its poll (its completion waking the
    /// task that awaits it) is its doing.
    #[cold]
    #[inline(never)]
    pub(crate) fn poll_end(
        &self,
        clock: &Clock,
        task: u64,
        outcome: Outcome,
        waits_on: Option<Label>,
    ) {
        self.record(
            clock,
            What::PollEnd {
                task,
                outcome,
                waits_on,
            },
        );
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn woke(&self, clock: &Clock, task: u64) {
        let by = self.by.get();
        self.record(clock, What::Wake { task, by });
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn cancelled(&self, clock: &Clock, task: u64) {
        let by = self.by.get();
        self.record(clock, What::Cancel { task, by });
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn done(&self, clock: &Clock, task: u64, outcome: Outcome) {
        self.record(clock, What::Done { task, outcome });
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn timers_fired(&self, clock: &Clock, count: usize) {
        self.by.set(By::Timer);
        self.record(clock, What::TimersFired { count });
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn io_ready(&self, clock: &Clock, count: usize) {
        if count > 0 {
            self.by.set(By::Io);
            self.record(clock, What::IoReady { count });
        }
    }

    /// A copy of the events so far, oldest first, and how many older ones were dropped.
    pub(crate) fn snapshot(&self) -> (Vec<Event>, u64) {
        let ring = self.ring.borrow();
        (ring.events.iter().cloned().collect(), ring.dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_ring_drops_the_oldest_and_counts_them() {
        let clock = Clock::new(true);
        let tracer = Tracer::new(clock.now(), 3);
        for task in 1..=5 {
            tracer.woke(&clock, task);
        }
        let (events, dropped) = tracer.snapshot();
        assert_eq!(dropped, 2);
        let tasks: Vec<u64> = events
            .iter()
            .map(|e| match e.what {
                What::Wake { task, .. } => task,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(tasks, [3, 4, 5]);
    }

    #[test]
    fn wakes_name_who_was_acting() {
        let clock = Clock::new(true);
        let tracer = Tracer::new(clock.now(), 16);
        tracer.poll_start(&clock, 4);
        tracer.woke(&clock, 5);
        tracer.timers_fired(&clock, 1);
        tracer.woke(&clock, 4);
        let (events, _) = tracer.snapshot();
        let bys: Vec<By> = events
            .iter()
            .filter_map(|e| match e.what {
                What::Wake { by, .. } => Some(by),
                _ => None,
            })
            .collect();
        assert_eq!(bys, [By::Task(4), By::Timer]);
    }
}
