//! Seeing inside the loop, in one layer: everything that watches the loop lives under this
//! folder, and the core (`runtime/core.rs`) reaches it only through one-line hooks.
//!
//! * here: the state the core holds, [`Observe`] (and its trace hooks:
//!   `self.observe.woke(..)`), and what each task waits on (wait notes and the primitives'
//!   labels). Nothing here names `Core`: this file sits below `core.rs`;
//! * `hooks.rs`: the `Core`'s side: the poll hooks (`Core::observe_poll_start`/
//!   `observe_poll_end`), noting a wait, the main future, and debug mode's slow-poll reports;
//! * `dump.rs`: the same facts in words, and the task dump;
//! * `deadlock.rs`: proving that nothing can ever wake the loop, and the report;
//! * `trace.rs`: the event trace's ring buffer (the renderers are in `crate::trace`).
//!
//! `hooks.rs`, `dump.rs` and `deadlock.rs` are `impl Core` blocks: they name `Core`, so they
//! sit above `core.rs` (which never names them), while this file and `trace.rs` sit below it.
//!
//! asyncio's counterparts are debug mode's slow-callback warning (`_run_once` in
//! `base_events.py`: "Executing <Handle ...> took 0.2 seconds") and the task reprs that say
//! what a task waits for (`<Task pending name='A' ... wait_for=<Future pending ...>>`).
//!
//! # What a task waits on
//!
//! A future hands the loop nothing but a waker, so the loop cannot see *what* a task waits
//! for. tinyloop's own primitives tell it: on their way to `Poll::Pending`, `Sleep`, `Task`,
//! `to_thread`, `ctrl_c`, the queues, locks and sockets call [`note_wait`](hooks::note_wait), each with its
//! own label (`WaitOn::Label("Queue::get")`): the loop keeps no list of the primitives
//! above it, it learns each label the first time one is noted ([`Labels`]). The note is
//! packed into five bytes ([`Note`]: a kind byte and a 32-bit argument) and kept in the loop
//! while the task is polled (`Observe::poll_note`); when the poll ends, `run_task`, which has
//! the task's slot in hand anyway, moves it into five bytes the slot had spare as padding
//! (or, if nothing was noted, leaves the slot's note cleared as the poll started), so it
//! always describes the latest poll. It costs no memory, and a note costs a thread-local
//! lookup (for primitives that do not hold the loop already), a label lookup (a pointer
//! compare among the few labels a program uses) and a store into the loop: no slab lookup.
//! The main future keeps its own note (`MainWatch::note`), cleared when its poll starts.
//!
//! ```text
//!   kind  0        nothing noted
//!         1        a timer;            arg = deadline tick + 1
//!         2        another task;       arg = its slab index
//!         16 + i   the i-th label learnt; arg = deadline tick + 1 if a timer was noted too,
//!                  else 0
//! ```
//!
//! In one poll a task may pass several primitives (`timeout(d, queue.get())`, `select`): the
//! first primitive (or task) noted is what it waits on, and a timer noted beside a primitive
//! is kept as its deadline, so the dump reads `Queue::get (deadline +1.2 s)`. Deadline ticks
//! are kept in 32 bits (49 days); a later deadline reads as "more than 49 days".
//!
//! # Costs with debug mode and trace off
//!
//! * task polls: one predictable branch before and one after (`observe_poll_start`/`_end`
//!   test one `bool`, `watching`, and call out of line only when it is set);
//! * the main future's polls: a counter and a flag (`main_poll_start`/`main_poll_end`);
//! * callbacks: one branch;
//! * trace hooks in the core: one branch each (see `runtime/observe/trace.rs`).

pub(crate) mod deadlock;
pub(crate) mod dump;
pub(crate) mod hooks;
pub(crate) mod trace;

use std::cell::{Cell, RefCell};
use std::panic::Location;
use std::time::Instant;

use self::trace::{By, Outcome, Tracer, CAPACITY};
use crate::runtime::clock::Clock;
use crate::runtime::config::Config;
use crate::runtime::tasks::TaskKey;

/// What a task is about to wait on, as a primitive reports it to [`note_wait`](hooks::note_wait).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitOn {
    /// A timer due at this tick of the loop's clock: `sleep`, `timeout`, `interval`.
    Timer(u64),
    /// Another task's result (awaiting a `Task`), by slab key.
    Task(TaskKey),
    /// A tinyloop primitive, by the label it declares as users call it (`"Queue::get"`).
    /// The loop keeps no list of primitives: it learns each label the first time it is noted.
    Label(&'static str),
}

const NOTHING: u8 = 0;
const TIMER: u8 = 1;
const TASK: u8 = 2;
const LABEL: u8 = 16;
/// How many different labels one loop can tell apart (the kind byte's room above `LABEL`).
const MAX_LABELS: usize = (u8::MAX - LABEL) as usize;
/// What the last label code means once the table is full.
const MANY: &str = "a tinyloop primitive";

/// The wait labels this loop has been told about, in the order first noted: a note keeps
/// a label's index, so five bytes in a slot still say "Queue::get".
#[derive(Debug, Default)]
pub(crate) struct Labels(RefCell<Vec<&'static str>>);

impl Labels {
    /// The kind byte for `label`, learning it if it is new. The same literal is the same
    /// pointer, so the usual lookup is a pointer compare or two, with no string compare.
    #[inline]
    fn code(&self, label: &'static str) -> u8 {
        let labels = self.0.borrow();
        match labels.iter().position(|&l| std::ptr::eq(l, label)) {
            Some(index) => LABEL + index as u8,
            None => {
                drop(labels);
                self.learn(label)
            }
        }
    }

    /// [`Labels::code`] for a label not seen at this address: the same text from another
    /// place (another crate's copy of the literal) shares its code, new text is added.
    #[cold]
    #[inline(never)]
    fn learn(&self, label: &'static str) -> u8 {
        let mut labels = self.0.borrow_mut();
        let known = labels.iter().position(|&l| l == label);
        let index = known.unwrap_or_else(|| {
            if labels.len() + 1 < MAX_LABELS {
                labels.push(label);
            } else if labels.len() + 1 == MAX_LABELS {
                labels.push(MANY);
            }
            labels.len() - 1
        });
        LABEL + index as u8
    }

    /// The label a kind byte stands for.
    fn get(&self, kind: u8) -> Option<&'static str> {
        let index = usize::from(kind.checked_sub(LABEL)?);
        self.0.borrow().get(index).copied()
    }
}

/// What one poll left a task waiting on, packed into a slot's spare bytes (see the module
/// docs for the encoding).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Note {
    pub(crate) kind: u8,
    pub(crate) arg: u32,
}

/// A [`Note`], unpacked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Waiting {
    /// A timer; `None` when its deadline is past what 32 bits of ticks hold.
    Timer(Option<u64>),
    /// Another task, by slab index.
    Task(u32),
    /// A primitive's label, and its deadline tick if a timer was noted beside it.
    Label(&'static str, Option<u64>),
}

impl WaitOn {
    /// The note of a poll in which `self` is the first thing noted.
    #[inline]
    fn packed(self, labels: &Labels) -> Note {
        match self {
            WaitOn::Timer(tick) => Note {
                kind: TIMER,
                arg: u32::try_from(tick.saturating_add(1)).unwrap_or(u32::MAX),
            },
            WaitOn::Task(key) => Note {
                kind: TASK,
                arg: key.index(),
            },
            WaitOn::Label(label) => Note {
                kind: labels.code(label),
                arg: 0,
            },
        }
    }
}

impl Note {
    /// `self` with `on` noted as well: the first primitive or task wins, and a timer is kept
    /// beside a primitive as its deadline.
    fn with(self, on: WaitOn, labels: &Labels) -> Note {
        let new = on.packed(labels);
        match (self.kind, on) {
            (NOTHING, _) | (TIMER, WaitOn::Task(_)) => new,
            (TIMER, WaitOn::Label(_)) => Note {
                kind: new.kind,
                arg: self.arg,
            },
            (kind, WaitOn::Timer(_)) if kind >= LABEL && self.arg == 0 => {
                Note { kind, arg: new.arg }
            }
            _ => self,
        }
    }

    pub(crate) fn unpack(self, labels: &Labels) -> Option<Waiting> {
        let tick = |arg: u32| match arg {
            0 => None,
            u32::MAX => None,
            a => Some(u64::from(a) - 1),
        };
        match self.kind {
            NOTHING => None,
            TIMER => Some(Waiting::Timer(tick(self.arg))),
            TASK => Some(Waiting::Task(self.arg)),
            kind => labels.get(kind).map(|l| Waiting::Label(l, tick(self.arg))),
        }
    }
}

/// The main future, as the dump and the hooks see it.
#[derive(Debug)]
struct MainWatch {
    /// The `block_on`/`run` call running it, while one is.
    at: Cell<Option<&'static Location<'static>>>,
    polls: Cell<u32>,
    polling: Cell<bool>,
    /// Like a slot's note: cleared when a poll starts.
    note: Cell<Note>,
}

/// Everything this module (and `deadlock.rs`, `trace.rs`) keeps in the loop.
#[derive(Debug)]
pub(crate) struct Observe {
    /// The event recorder, when the loop was built with `trace(true)`.
    pub(crate) trace: Option<Box<Tracer>>,
    /// Debug mode or trace: worth timing callbacks.
    watching: bool,
    main: MainWatch,
    /// What the task being polled has noted so far; empty between task polls. Here rather
    /// than in the task's slot, so that a note is a store into the loop, without borrowing
    /// the slab and looking the task up: `run_task` copies it into the slot once, after
    /// the poll.
    poll_note: Cell<Note>,
    /// The wait labels primitives passed to [`note_wait`](hooks::note_wait), for the notes to point into.
    pub(crate) labels: Labels,
}

impl Observe {
    pub(crate) fn new(config: &Config, start: Instant) -> Observe {
        Observe {
            trace: config.trace.then(|| Box::new(Tracer::new(start, CAPACITY))),
            watching: config.debug || config.trace,
            main: MainWatch {
                at: Cell::new(None),
                polls: Cell::new(0),
                polling: Cell::new(false),
                note: Cell::new(Note::default()),
            },
            poll_note: Cell::new(Note::default()),
            labels: Labels::default(),
        }
    }
}

/// The task poll note: written by [`note_wait`](hooks::note_wait) during a task's poll, and
/// taken (left empty) by `run_task` when the poll ends, so it is empty between task polls.
impl Observe {
    /// Notes that the task being polled is about to wait on `on` as well.
    #[inline]
    pub(crate) fn note(&self, on: WaitOn) {
        let note = self.poll_note.get();
        let note = if note.kind == NOTHING {
            on.packed(&self.labels) // the first note of this poll: the usual case
        } else {
            note.with(on, &self.labels)
        };
        self.poll_note.set(note);
    }

    /// What the task poll in progress (or the one that just ended) has noted so far.
    #[inline]
    pub(crate) fn poll_note(&self) -> Note {
        self.poll_note.get()
    }

    /// What the task poll that just ended noted, if anything, leaving nothing noted. A
    /// poll that noted nothing (a yield) costs one test.
    #[inline]
    pub(crate) fn take_poll_note(&self) -> Option<Note> {
        let note = self.poll_note.get();
        if note.kind == NOTHING {
            return None;
        }
        self.poll_note.set(Note::default());
        Some(note)
    }
}

/// The core's hooks: one line at each call site in `runtime/core.rs`, one never-taken branch
/// each when the trace is off (the `Option` is `None`), and the bodies here, out of the way.
impl Observe {
    #[inline]
    pub(crate) fn spawned(
        &self,
        clock: &Clock,
        number: u64,
        name: Option<&str>,
        at: &'static Location<'static>,
    ) {
        if let Some(t) = &self.trace {
            t.spawned(clock, number, name, at);
        }
    }

    #[inline]
    pub(crate) fn woke(&self, clock: &Clock, number: u64) {
        if let Some(t) = &self.trace {
            t.woke(clock, number);
        }
    }

    #[inline]
    pub(crate) fn cancelled(&self, clock: &Clock, number: u64) {
        if let Some(t) = &self.trace {
            t.cancelled(clock, number);
        }
    }

    #[inline]
    pub(crate) fn done(&self, clock: &Clock, number: u64, outcome: Outcome) {
        if let Some(t) = &self.trace {
            t.done(clock, number, outcome);
        }
    }

    #[inline]
    pub(crate) fn io_ready(&self, clock: &Clock, count: usize) {
        if let Some(t) = &self.trace {
            t.io_ready(clock, count);
        }
    }

    #[inline]
    pub(crate) fn timers_fired(&self, clock: &Clock, count: usize) {
        if let Some(t) = &self.trace {
            t.timers_fired(clock, count);
        }
    }

    /// What caused the wake-ups recorded next.
    #[inline]
    pub(crate) fn set_by(&self, by: By) {
        if let Some(t) = &self.trace {
            t.set_by(by);
        }
    }
}

/// When a watched poll began: the instant, under debug mode (for the slow-poll report).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Watch(Option<Instant>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_pack_and_unpack() {
        let labels = Labels::default();
        let get = labels.code("Queue::get");
        assert_eq!(labels.get(get), Some("Queue::get"));
        assert_eq!(labels.code("Queue::get"), get, "a label keeps its code");
        assert_ne!(labels.code("Lock::lock"), get);
        let timer = WaitOn::Timer(1199).packed(&labels);
        let both = timer.with(WaitOn::Label("Queue::get"), &labels);
        assert_eq!(
            both.unpack(&labels),
            Some(Waiting::Label("Queue::get", Some(1199)))
        );
        let first_wins = both.with(WaitOn::Label("Lock::lock"), &labels);
        assert_eq!(first_wins, both);
        let n = Note {
            kind: get,
            arg: 1201,
        };
        assert_eq!(
            n.unpack(&labels),
            Some(Waiting::Label("Queue::get", Some(1200)))
        );
        assert_eq!(Note::default().unpack(&labels), None);
    }

    #[test]
    fn a_full_label_table_still_says_something() {
        let labels = Labels::default();
        // Labels are `&'static str`: keep the made-up ones in a static (still reachable at
        // exit) rather than leaking them, which valgrind would rightly call lost.
        static MADE_UP: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        let made_up = MADE_UP.get_or_init(|| {
            (0..MAX_LABELS + 5)
                .map(|i| format!("Prim{i}::wait"))
                .collect()
        });
        let names: Vec<&'static str> = made_up.iter().map(String::as_str).collect();
        let codes: Vec<u8> = names.iter().map(|&n| labels.code(n)).collect();
        assert_eq!(labels.get(codes[0]), Some("Prim0::wait"));
        assert_eq!(
            labels.get(codes[MAX_LABELS - 2]),
            Some(names[MAX_LABELS - 2])
        );
        assert_eq!(labels.get(codes[MAX_LABELS + 4]), Some(MANY));
        assert!(codes.iter().all(|&c| c >= LABEL));
    }
}
