//! The `Core`'s side of seeing inside: the poll hooks `run_task` calls, the wait notes
//! primitives leave ([`note_wait`]), the main future's watch, and debug mode's slow-poll
//! reports. These are `Core`'s methods, so they sit above `core.rs` and name it; the state
//! they keep (`Observe`, notes, labels) is in `observe/mod.rs`, below the core, which never
//! names `Core`. See the parent module for what each hook costs.

use std::panic::Location;
use std::task::Poll;
use std::time::{Duration, Instant};

use super::trace::{Label, Outcome, Tracer, CALLBACKS, MAIN};
use super::{Note, WaitOn, Waiting, Watch};
use crate::runtime::context;
use crate::runtime::core::{display_name, Core};
use crate::runtime::tasks::State;
use crate::runtime::tasks::TaskKey;
use crate::runtime::timers::Callback;

impl Core {
    /// Hook: a task's poll begins. With debug mode and trace off, one branch.
    #[inline]
    pub(in crate::runtime) fn observe_poll_start(&self, key: TaskKey) -> Watch {
        if !self.observe.watching {
            return Watch(None);
        }
        self.watched_poll_start(key)
    }

    /// Hook: a task's poll ended with `polled`. With debug mode and trace off, one branch.
    #[inline]
    pub(in crate::runtime) fn observe_poll_end<E>(
        &self,
        key: TaskKey,
        watch: Watch,
        polled: &Result<Poll<()>, E>,
    ) {
        if self.observe.watching {
            self.watched_poll_end(key, watch, Outcome::of_poll(polled));
        }
    }

    #[cold]
    #[inline(never)]
    fn watched_poll_start(&self, key: TaskKey) -> Watch {
        if let Some(t) = &self.observe.trace {
            self.trace_poll_start(t, key);
        }
        Watch(self.config.debug.then(Instant::now))
    }

    #[cold]
    #[inline(never)]
    fn watched_poll_end(&self, key: TaskKey, watch: Watch, outcome: Outcome) {
        if let Some(started) = watch.0 {
            self.report_slow_poll(key, started.elapsed());
        }
        if let Some(t) = &self.observe.trace {
            self.trace_poll_end(t, key, outcome);
        }
    }

    fn report_slow_poll(&self, key: TaskKey, took: Duration) {
        if took < self.config.slow_poll_threshold {
            return;
        }
        if let Some((name, at)) = self.with_meta(key, |m, _, _| (display_name(m), m.spawned_at)) {
            eprintln!(
                "tinyloop debug: task '{name}' (spawned at {at}) ran {took:?} in one poll, over \
                 the slow_poll_threshold of {:?}; the whole loop waited meanwhile \
                 (move blocking work to `to_thread`)",
                self.config.slow_poll_threshold
            );
        }
    }
}

/// Records what the task (or main future) being polled right now is about to wait on.
/// Does nothing outside a loop or outside a poll.
#[allow(dead_code)] // for the primitives in sync/ and net/
pub(crate) fn note_wait(on: WaitOn) {
    context::try_with_core(|core| core.record_wait(on));
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
        // Even after a panic in the main future's poll: no stale waker stays current.
        self.core.current_waker.set(std::ptr::null());
        self.core.set_main_waker(None);
        crate::runtime::coop::unlimited();
    }
}

impl Core {
    /// [`note_wait`] for callers that hold the loop already (`Sleep`, `Task`). Kept out of
    /// line so that it does not change how the hot functions calling it get compiled.
    #[inline(never)]
    pub(crate) fn note_wait(&self, on: WaitOn) {
        self.record_wait(on);
    }

    /// The body of both `note_wait`s: the free one inlines it, saving a call.
    #[inline]
    fn record_wait(&self, on: WaitOn) {
        if self.current_task().is_none() {
            return self.note_main_wait(on);
        }
        self.observe.note(on); // into the loop: `run_task` moves it to the slot
    }

    #[cold]
    fn note_main_wait(&self, on: WaitOn) {
        if self.observe.main.polling.get() {
            let main = &self.observe.main.note;
            main.set(main.get().with(on, &self.observe.labels));
        } // else a callback, or outside any poll: nothing to note
    }

    /// What an idle task waits on, if a tinyloop primitive said so.
    pub(crate) fn wait_of(&self, key: TaskKey) -> Option<Waiting> {
        let tasks = self.tasks.try_borrow().ok()?;
        let slot = tasks.get(key)?;
        if slot.state != State::Idle {
            return None;
        }
        let note = Note {
            kind: slot.wait_kind,
            arg: slot.wait_arg,
        };
        note.unpack(&self.observe.labels)
    }

    /// What the main future waits on, if it is waiting and a primitive said so.
    pub(crate) fn main_wait(&self) -> Option<Waiting> {
        let main = &self.observe.main;
        if main.polling.get() || self.main_is_scheduled() {
            return None;
        }
        main.note.get().unpack(&self.observe.labels)
    }

    /// `wait_of` in words, for `TaskInfo::waiting_on`.
    pub(crate) fn waiting_on(&self, key: TaskKey) -> Option<String> {
        self.wait_of(key).map(|w| self.describe_wait(w))
    }

    /// The key of the task awaited by a `Waiting::Task`.
    pub(crate) fn awaited_key(&self, index: u32) -> Option<TaskKey> {
        self.tasks.try_borrow().ok()?.key_at(index)
    }

    // ----- the main future ----------------------------------------------------------------

    /// `block_on` is about to drive its future, called at `at`.
    pub(crate) fn main_begins(&self, at: &'static Location<'static>) -> MainGuard<'_> {
        let main = &self.observe.main;
        main.at.set(Some(at));
        main.polls.set(0);
        main.note.set(Note::default());
        MainGuard { core: self }
    }

    /// Called by `block_on` right before each poll of its future.
    pub(crate) fn main_poll_start(&self) -> Option<Instant> {
        let main = &self.observe.main;
        main.polls.set(main.polls.get().wrapping_add(1));
        main.polling.set(true);
        main.note.set(Note::default());
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
                let wait = main.note.get().unpack(&self.observe.labels);
                (Outcome::Pending, wait.and_then(|w| self.label_of(w)))
            };
            t.poll_end(&self.clock, MAIN, outcome, label);
            if ready {
                t.done(&self.clock, MAIN, Outcome::Ready);
            }
        }
    }

    /// The main future while `block_on` runs: its call site, state and polls (for the dump).
    pub(crate) fn main_info(&self) -> Option<(&'static Location<'static>, &'static str, u32)> {
        let main = &self.observe.main;
        let state = if main.polling.get() {
            "running"
        } else if self.main_is_scheduled() {
            "scheduled"
        } else {
            "waiting"
        };
        Some((main.at.get()?, state, main.polls.get()))
    }

    pub(crate) fn main_is_scheduled(&self) -> bool {
        self.main_scheduled.get()
    }

    pub(crate) fn main_polls(&self) -> u32 {
        self.observe.main.polls.get()
    }

    // ----- callbacks and task polls -------------------------------------------------------

    /// Runs a ready callback; under debug mode or trace, timed and recorded.
    pub(in crate::runtime) fn run_callback(&self, cb: &Callback) {
        if !self.observe.watching {
            return cb.call();
        }
        if let Some(t) = &self.observe.trace {
            t.poll_start(&self.clock, CALLBACKS);
        }
        let started = self.config.debug.then(Instant::now);
        cb.call();
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

    #[cold]
    #[inline(never)]
    fn trace_poll_start(&self, t: &Tracer, key: TaskKey) {
        if let Some(number) = self.with_meta(key, |m, _, _| m.number) {
            t.poll_start(&self.clock, number);
        }
    }

    #[cold]
    #[inline(never)]
    fn trace_poll_end(&self, t: &Tracer, key: TaskKey, outcome: Outcome) {
        // Called before `run_task` moves the poll's note into the slot: read it in the loop.
        let tasks = self.tasks.try_borrow().ok();
        let Some(number) = tasks.and_then(|tasks| Some(tasks.get(key)?.meta.number())) else {
            return;
        };
        let label = match outcome {
            Outcome::Pending => self
                .observe
                .poll_note()
                .unpack(&self.observe.labels)
                .and_then(|w| self.label_of(w)),
            _ => None,
        };
        t.poll_end(&self.clock, number, outcome, label);
    }

    /// A wait in the few words a timeline has room for.
    fn label_of(&self, wait: Waiting) -> Option<Label> {
        let left = |tick: u64| {
            self.clock
                .instant_of(tick)
                .saturating_duration_since(self.clock.now())
        };
        match wait {
            Waiting::Label(label, _) => Some(Label::Named(label)),
            Waiting::Task(index) => {
                let key = self.awaited_key(index)?;
                self.with_meta(key, |m, _, _| Label::Task(m.number))
            }
            Waiting::Timer(tick) => Some(Label::Sleep(tick.map_or(Duration::MAX, left))),
        }
    }
}
