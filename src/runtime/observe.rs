//! Watching the loop from inside: what each task waits on, debug mode's slow-poll reports,
//! the task dump, and the hooks around the main future and callbacks.
//!
//! asyncio's counterparts are debug mode's slow-callback warning (`_run_once` in
//! `base_events.py`: "Executing <Handle ...> took 0.2 seconds") and the task reprs that say
//! what a task waits for (`<Task pending name='A' ... wait_for=<Future pending ...>>`).
//!
//! # What a task waits on
//!
//! A future hands the loop nothing but a waker, so the loop cannot see *what* a task waits
//! for. tinyloop's own primitives tell it: on their way to `Poll::Pending`, `Sleep`, `Task`,
//! `to_thread`, the queues, locks and sockets call [`note_wait`]. The note goes into a side
//! table indexed like the task slab, stamped with the task's key and poll count:
//!
//! ```text
//!   note_wait(Named("Queue::get"))   while task key K is in its poll number P
//!     -> waits[index(K)] = Note { key: K, polls: P, wait: Queue::get }
//!   reading it later: valid only if the slot still has key K, has been polled exactly P
//!   times, and is idle; otherwise it is stale and reads as "nothing known"
//! ```
//!
//! Stamping instead of clearing means `run_task` does no extra work for it, and keeping the
//! table beside the slab keeps the slot itself small. A note costs a thread-local lookup (for
//! primitives that do not hold the loop already), a slab lookup and a store.
//!
//! In one poll a task may pass several primitives (`timeout(d, queue.get())`, `select`): the
//! first primitive noted is what it waits on, and the first timer is kept beside it as its
//! deadline, so the dump reads `Queue::get (deadline +1.2 s)`.
//!
//! # Costs with debug mode and trace off
//!
//! * task polls: nothing new (debug mode's `Instant::now` pair was already behind a branch);
//! * the main future's polls: a counter and a flag (`main_poll_start`/`main_poll_end`);
//! * callbacks: one branch;
//! * trace hooks in the core: one branch each (see `runtime/trace.rs`).

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::panic::Location;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::context;
use super::core::{display_name, Callback, Config, Core};
use super::tasks::State;
use super::trace::{Label, Outcome, Tracer, CALLBACKS, CAPACITY, MAIN};

/// What a task is about to wait on, as a primitive reports it to [`note_wait`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitOn {
    /// A timer with this deadline: `sleep`, `timeout`, `interval`.
    Timer(Instant),
    /// Another task's result (awaiting a `Task`), by slab key.
    Task(u64),
    /// A primitive, named as users call it: `"Queue::get"`, `"Lock::lock"`, `"TcpStream read"`.
    Named(&'static str),
}

/// What one poll left a task waiting on: the first primitive and the first timer noted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Wait {
    /// A task or a primitive (never `WaitOn::Timer`).
    pub(crate) on: Option<WaitOn>,
    pub(crate) deadline: Option<Instant>,
}

impl Wait {
    fn add(&mut self, on: WaitOn) {
        match on {
            WaitOn::Timer(deadline) => {
                self.deadline.get_or_insert(deadline);
            }
            other => {
                self.on.get_or_insert(other);
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Note {
    key: u64,
    polls: u32,
    wait: Wait,
}

/// Whether the loop should stop driving the main future, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Carry on.
    No,
    /// The grace turn found nothing that can ever wake the loop (`runtime/deadlock.rs`).
    Deadlock { main_polls: u32 },
    /// Ctrl-C under `run`: cancel the main future (`crate::signal`).
    Interrupted,
}

/// The main future, as the dump and the hooks see it.
#[derive(Debug)]
struct MainWatch {
    /// The `block_on`/`run` call running it, while one is.
    at: Cell<Option<&'static Location<'static>>>,
    polls: Cell<u32>,
    polling: Cell<bool>,
    note: Cell<Option<Note>>,
}

/// Everything this module (and `deadlock.rs`, `trace.rs`) keeps in the loop.
#[derive(Debug)]
pub(crate) struct Observe {
    /// The event recorder, when the loop was built with `trace(true)`.
    pub(crate) trace: Option<Box<Tracer>>,
    /// Debug mode or trace: worth timing callbacks.
    watching: bool,
    /// Indexed by slab index (the low 32 bits of a task key).
    waits: RefCell<Vec<Option<Note>>>,
    main: MainWatch,
    pub(crate) stop: Cell<Stop>,
}

impl Observe {
    pub(crate) fn new(config: &Config, start: Instant) -> Observe {
        Observe {
            trace: config.trace.then(|| Box::new(Tracer::new(start, CAPACITY))),
            watching: config.debug || config.trace,
            waits: RefCell::new(Vec::new()),
            main: MainWatch {
                at: Cell::new(None),
                polls: Cell::new(0),
                polling: Cell::new(false),
                note: Cell::new(None),
            },
            stop: Cell::new(Stop::No),
        }
    }
}

/// Records what the task (or main future) being polled right now is about to wait on.
/// Does nothing outside a loop or outside a poll.
#[allow(dead_code)] // for the primitives in sync/ and net/
pub(crate) fn note_wait(on: WaitOn) {
    context::try_with_core(|core| core.note_wait(on));
}

/// Marks the main future as running for the dump until dropped (see `Core::main_begins`).
#[derive(Debug)]
pub(crate) struct MainGuard<'a> {
    core: &'a Core,
}

impl Drop for MainGuard<'_> {
    fn drop(&mut self) {
        let main = &self.core.observe.main;
        main.at.set(None);
        main.polling.set(false);
    }
}

impl Core {
    /// [`note_wait`] for callers that hold the loop already (`Sleep`, `Task`).
    pub(crate) fn note_wait(&self, on: WaitOn) {
        let observe = &self.observe;
        let (key, polls) = match self.current_task() {
            Some(key) => {
                let Ok(tasks) = self.tasks.try_borrow() else {
                    return;
                };
                match tasks.get(key) {
                    Some(slot) => (key, slot.polls),
                    None => return,
                }
            }
            None if observe.main.polling.get() => (MAIN_NOTE_KEY, observe.main.polls.get()),
            None => return, // a callback, or outside any poll
        };
        let fresh = |old: Option<Note>| match old {
            Some(n) if n.key == key && n.polls == polls => n,
            _ => Note {
                key,
                polls,
                wait: Wait::default(),
            },
        };
        if key == MAIN_NOTE_KEY {
            let mut note = fresh(observe.main.note.get());
            note.wait.add(on);
            observe.main.note.set(Some(note));
            return;
        }
        let Ok(mut waits) = observe.waits.try_borrow_mut() else {
            return;
        };
        let index = slab_index(key);
        if waits.len() <= index {
            waits.resize(index + 1, None);
        }
        let mut note = fresh(waits[index]);
        note.wait.add(on);
        waits[index] = Some(note);
    }

    /// The note a task's latest poll left, whatever its state.
    fn note_of(&self, key: u64, polls: u32) -> Option<Wait> {
        let waits = self.observe.waits.try_borrow().ok()?;
        match waits.get(slab_index(key)).copied().flatten() {
            Some(n) if n.key == key && n.polls == polls => Some(n.wait),
            _ => None,
        }
    }

    /// What an idle task waits on, if a tinyloop primitive said so.
    pub(crate) fn wait_of(&self, key: u64) -> Option<Wait> {
        let (state, polls) = {
            let tasks = self.tasks.try_borrow().ok()?;
            let slot = tasks.get(key)?;
            (slot.state, slot.polls)
        };
        if state != State::Idle {
            return None;
        }
        self.note_of(key, polls)
    }

    /// What the main future waits on, if it is waiting and a primitive said so.
    pub(crate) fn main_wait(&self) -> Option<Wait> {
        let main = &self.observe.main;
        if main.polling.get() || self.main_is_scheduled() {
            return None;
        }
        match main.note.get() {
            Some(n) if n.polls == main.polls.get() => Some(n.wait),
            _ => None,
        }
    }

    /// `wait_of` in words, for `TaskInfo::waiting_on`.
    pub(crate) fn waiting_on(&self, key: u64) -> Option<String> {
        self.wait_of(key).map(|w| self.describe_wait(&w))
    }

    /// `Task-3 'name'`-style words for a wait: `sleep until +1.2 s`, `Queue::get`,
    /// `task #3 'worker' (deadline +0.5 s)`.
    pub(crate) fn describe_wait(&self, wait: &Wait) -> String {
        let now = self.clock.now();
        let until = |d: Instant| fmt_duration(d.saturating_duration_since(now));
        let mut s = match wait.on {
            Some(WaitOn::Named(name)) => name.to_string(),
            Some(WaitOn::Task(key)) => self.describe_task(key),
            Some(WaitOn::Timer(_)) | None => match wait.deadline {
                Some(d) => return format!("sleep until +{}", until(d)),
                None => return String::new(),
            },
        };
        if let Some(d) = wait.deadline {
            let _ = write!(s, " (deadline +{})", until(d));
        }
        s
    }

    /// `task #3 'worker'`, `task #3`, or `a finished task`.
    pub(crate) fn describe_task(&self, key: u64) -> String {
        let found = self.with_meta(key, |m, state, _| {
            let named = m
                .name
                .as_ref()
                .map(|n| format!(" '{n}'"))
                .unwrap_or_default();
            let done = if state == State::Done {
                " (finished)"
            } else {
                ""
            };
            format!("task #{}{named}{done}", m.number)
        });
        found.unwrap_or_else(|| "a finished task".to_string())
    }

    // ----- the main future ----------------------------------------------------------------

    /// `block_on` is about to drive its future, called at `at`.
    pub(crate) fn main_begins(&self, at: &'static Location<'static>) -> MainGuard<'_> {
        let main = &self.observe.main;
        main.at.set(Some(at));
        main.polls.set(0);
        main.note.set(None);
        MainGuard { core: self }
    }

    /// Called by `block_on` right before each poll of its future.
    pub(crate) fn main_poll_start(&self) -> Option<Instant> {
        let main = &self.observe.main;
        main.polls.set(main.polls.get().wrapping_add(1));
        main.polling.set(true);
        if let Some(t) = &self.observe.trace {
            t.poll_start(&self.clock, MAIN);
        }
        self.config.debug.then(Instant::now)
    }

    /// Called by `block_on` right after each poll of its future.
    pub(crate) fn main_poll_end(&self, started: Option<Instant>, ready: bool) {
        let main = &self.observe.main;
        main.polling.set(false);
        if let Some(started) = started {
            let took = started.elapsed();
            if took >= self.config.slow_poll_threshold {
                let at = main
                    .at
                    .get()
                    .map(|at| format!(" (given to block_on at {at})"));
                self.report_slow(&format!("the main future{}", at.unwrap_or_default()), took);
            }
        }
        if let Some(t) = &self.observe.trace {
            let (outcome, label) = if ready {
                (Outcome::Ready, None)
            } else {
                let wait = main.note.get().filter(|n| n.polls == main.polls.get());
                (Outcome::Pending, wait.and_then(|n| self.label_of(&n.wait)))
            };
            t.poll_end(&self.clock, MAIN, outcome, label);
            if ready {
                t.done(&self.clock, MAIN, Outcome::Ready);
            }
        }
    }

    pub(crate) fn main_polls(&self) -> u32 {
        self.observe.main.polls.get()
    }

    // ----- callbacks and task polls -------------------------------------------------------

    /// Runs a ready callback; under debug mode or trace, timed and recorded.
    pub(super) fn run_callback(&self, cb: &Callback) {
        if !self.observe.watching {
            return super::core::run_callback(cb);
        }
        if let Some(t) = &self.observe.trace {
            t.poll_start(&self.clock, CALLBACKS);
        }
        let started = self.config.debug.then(Instant::now);
        super::core::run_callback(cb);
        if let Some(started) = started {
            let took = started.elapsed();
            if took >= self.config.slow_poll_threshold {
                let what = format!("a callback (scheduled at {})", cb.scheduled_at);
                self.report_slow(&what, took);
            }
        }
        if let Some(t) = &self.observe.trace {
            t.poll_end(&self.clock, CALLBACKS, Outcome::Ready, None);
        }
    }

    /// Debug mode's report, asyncio's "Executing <Handle ...> took 0.2 seconds".
    fn report_slow(&self, what: &str, took: Duration) {
        eprintln!(
            "tinyloop debug: {what} ran {took:?} in one poll, over the slow_poll_threshold of \
             {:?}; the whole loop waited meanwhile (move blocking work to `to_thread`)",
            self.config.slow_poll_threshold
        );
    }

    pub(super) fn trace_poll_start(&self, t: &Tracer, key: u64) {
        if let Some(number) = self.with_meta(key, |m, _, _| m.number) {
            t.poll_start(&self.clock, number);
        }
    }

    pub(super) fn trace_poll_end(&self, t: &Tracer, key: u64, outcome: Outcome) {
        let Some((number, polls)) = self.with_meta(key, |m, _, polls| (m.number, polls)) else {
            return;
        };
        let label = match outcome {
            Outcome::Pending => self.note_of(key, polls).and_then(|w| self.label_of(&w)),
            _ => None,
        };
        t.poll_end(&self.clock, number, outcome, label);
    }

    /// A wait in the few words a timeline has room for.
    fn label_of(&self, wait: &Wait) -> Option<Label> {
        match wait.on {
            Some(WaitOn::Named(name)) => Some(Label::Named(name)),
            Some(WaitOn::Task(key)) => self.with_meta(key, |m, _, _| Label::Task(m.number)),
            Some(WaitOn::Timer(_)) | None => wait
                .deadline
                .map(|d| Label::Sleep(d.saturating_duration_since(self.clock.now()))),
        }
    }

    // ----- the dump -----------------------------------------------------------------------

    pub(crate) fn main_is_scheduled(&self) -> bool {
        self.main_scheduled.get()
    }

    /// The task dump: one line per unfinished task (and the main future), then the loop's
    /// own state. Used by `dump_tasks` and by the deadlock report.
    pub(crate) fn dump(&self) -> String {
        let mut rows: Vec<[String; 6]> = Vec::new();
        if let Some(at) = self.observe.main.at.get() {
            let main = &self.observe.main;
            let state = if main.polling.get() {
                "running"
            } else if self.main_is_scheduled() {
                "scheduled"
            } else {
                "waiting"
            };
            let wait = self.main_wait().map(|w| self.describe_wait(&w));
            rows.push([
                "-".into(),
                "main".into(),
                state.into(),
                main.polls.get().to_string(),
                wait.unwrap_or_default(),
                at.to_string(),
            ]);
        }
        let mut tasks: Vec<(u64, u64)> = match self.tasks.try_borrow() {
            Ok(tasks) => tasks
                .iter()
                .filter(|(_, s)| s.state != State::Done)
                .map(|(key, s)| (s.meta.number, key))
                .collect(),
            Err(_) => Vec::new(),
        };
        tasks.sort_unstable();
        for (_, key) in &tasks {
            let row = self.with_meta(*key, |m, state, polls| {
                let state = match state {
                    State::Scheduled => "scheduled",
                    State::Running | State::RunningWoken => "running",
                    State::Idle => "waiting",
                    State::Done => "done",
                };
                [
                    m.number.to_string(),
                    display_name(m),
                    state.to_string(),
                    polls.to_string(),
                    String::new(),
                    m.spawned_at.to_string(),
                ]
            });
            if let Some(mut row) = row {
                row[4] = self.waiting_on(*key).unwrap_or_default();
                rows.push(row);
            }
        }

        let mut out = String::new();
        let clock = if self.clock.is_virtual() {
            "virtual time"
        } else {
            "real time"
        };
        let _ = writeln!(
            out,
            "tinyloop task dump ({} task{} alive, {clock}):",
            tasks.len(),
            if tasks.len() == 1 { "" } else { "s" }
        );
        let header = ["id", "name", "state", "polls", "waiting on", "spawned at"];
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |out: &mut String, cells: [&str; 6]| {
            let _ = write!(out, "  ");
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                let pad = w.saturating_sub(cell.chars().count());
                if i == 0 || i == 3 {
                    let _ = write!(out, "{}{cell}  ", " ".repeat(pad));
                } else if i == 5 {
                    let _ = write!(out, "{cell}");
                } else {
                    let _ = write!(out, "{cell}{}  ", " ".repeat(pad));
                }
            }
            out.push('\n');
        };
        line(&mut out, header);
        for row in &rows {
            line(&mut out, row.each_ref().map(String::as_str));
        }
        let ready = self.ready.try_borrow().map(|r| r.len()).unwrap_or(0);
        let timers = self.timers.try_borrow().map(|t| t.len()).unwrap_or(0);
        let io = self
            .reactor
            .try_borrow()
            .map(|r| r.has_waiters())
            .unwrap_or(false);
        let _ = writeln!(
            out,
            "  loop: {ready} ready, {timers} timer{} armed, {} waiting on I/O, {} to_thread \
             call{} in flight, {} LoopHandle{} alive",
            plural(timers),
            if io { "some tasks" } else { "no task" },
            self.thread_work.get(),
            plural(self.thread_work.get()),
            self.shared.handles.load(Ordering::Acquire),
            plural(self.shared.handles.load(Ordering::Acquire)),
        );
        out
    }
}

/// The key under which the main future's note is stamped (never a slab key in practice).
const MAIN_NOTE_KEY: u64 = u64::MAX;

fn slab_index(key: u64) -> usize {
    (key & 0xffff_ffff) as usize
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `1.2 s`, `250 ms`, `40 µs`: short, for dumps and timelines.
pub(crate) fn fmt_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0 s".to_string();
    }
    fmt_in_unit(d, unit_for(d))
}

/// The unit `fmt_duration` picks for `d`: `s`, `ms`, `µs` or `ns`.
pub(crate) fn unit_for(d: Duration) -> &'static str {
    if d >= Duration::from_secs(1) {
        "s"
    } else if d >= Duration::from_millis(1) {
        "ms"
    } else if d >= Duration::from_micros(1) {
        "µs"
    } else {
        "ns"
    }
}

/// `d` in `unit` (one of `unit_for`'s), with at most three decimals.
pub(crate) fn fmt_in_unit(d: Duration, unit: &'static str) -> String {
    fmt_in_unit_with(d, unit, 3)
}

/// `d` in `unit` with at most `decimals` decimals (trailing zeros dropped).
pub(crate) fn fmt_in_unit_with(d: Duration, unit: &'static str, decimals: usize) -> String {
    let value = match unit {
        "s" => d.as_secs_f64(),
        "ms" => d.as_secs_f64() * 1e3,
        "µs" => d.as_secs_f64() * 1e6,
        _ => d.as_nanos() as f64,
    };
    let mut s = format!("{value:.decimals$}");
    if decimals == 0 {
        return format!("{s} {unit}");
    }
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    format!("{s} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_short() {
        assert_eq!(fmt_duration(Duration::from_millis(1200)), "1.2 s");
        assert_eq!(fmt_duration(Duration::from_secs(3)), "3 s");
        assert_eq!(fmt_duration(Duration::from_millis(250)), "250 ms");
        assert_eq!(fmt_duration(Duration::from_micros(1500)), "1.5 ms");
        assert_eq!(fmt_duration(Duration::from_micros(40)), "40 µs");
        assert_eq!(fmt_duration(Duration::ZERO), "0 s");
    }

    #[test]
    fn the_first_primitive_and_the_first_timer_win() {
        let t0 = Instant::now();
        let mut w = Wait::default();
        w.add(WaitOn::Timer(t0));
        w.add(WaitOn::Named("Queue::get"));
        w.add(WaitOn::Named("Lock::lock"));
        w.add(WaitOn::Timer(t0 + Duration::from_secs(1)));
        assert_eq!(w.on, Some(WaitOn::Named("Queue::get")));
        assert_eq!(w.deadline, Some(t0));
    }
}
