//! Deterministic simulation: run a program under many schedules, and replay the one that
//! fails.
//!
//! asyncio runs ready callbacks first-in, first-out, and so does tinyloop by default. A
//! program whose correctness depends on that order passes every test, then fails in
//! production when timing shifts: a reply that arrives a millisecond earlier, a timer that was
//! armed a moment later. This module runs a program once per seed on a fresh loop with
//! [virtual time](crate::LoopBuilder::virtual_time) and a
//! [seeded schedule](crate::LoopBuilder::seed): whenever several things are ready at once
//! (ready tasks, timers due in the same tick, callbacks), the seed decides their order. The
//! first seed under which the program panics comes back as a [`SimFailure`] with the panic
//! message, the seed, a line that replays it, and the run's
//! [timeline](crate::trace::timeline). It is the testing style of FoundationDB, TigerBeetle,
//! madsim and turmoil, built into the loop; asyncio has no counterpart.
//!
//! ```
//! use std::cell::Cell;
//! use std::rc::Rc;
//!
//! // Two tasks that are fine in FIFO order (the first one spawned runs first), but not if
//! // the second happens to run first.
//! let program = || async {
//!     let log = Rc::new(Cell::new(0));
//!     let (a, b) = (Rc::clone(&log), Rc::clone(&log));
//!     let first = tinyloop::spawn(async move { a.set(1) });
//!     let second = tinyloop::spawn(async move {
//!         assert_eq!(b.get(), 1, "the second task ran before the first");
//!     });
//!     first.await.unwrap();
//!     second.await.unwrap();
//! };
//! let failure = tinyloop::sim::explore(0..100, program).unwrap_err();
//! assert!(failure.message.contains("the second task ran before the first"));
//! assert!(failure.to_string().contains(&format!("TINYLOOP_SEED={}", failure.seed)));
//! ```
//!
//! # What the seed reorders
//!
//! Tasks (spawned, woken), timers due in the same tick, callbacks, and the wake-ups of one
//! I/O poll: everything that waits in the loop's ready queue. Not the futures one task
//! drives itself: [`gather`](crate::gather()), [`select`](crate::select) and other
//! combinators poll their children inside their task's poll, in their own order. To explore
//! the orders of concurrent pieces of work, [`spawn`](crate::spawn) them as tasks (and
//! gather the `Task`s).
//!
//! # Determinism is a contract
//!
//! Same program, same seed: the same schedule, the same output, the same timeline, byte for
//! byte. That holds for everything the loop controls: tasks, [`yield_now`](crate::yield_now),
//! timers and [`now`](crate::now) (virtual), callbacks, the `sync` primitives and queues,
//! `gather`/`select`/`TaskGroup`. It cannot hold for what comes from outside the loop:
//!
//! * **real sockets** (TCP, UDP, Unix): the network decides when data arrives, and while
//!   I/O is in flight virtual time follows the real time the loop spends waiting;
//! * **threads**: [`to_thread`](crate::to_thread), [`LoopHandle`](crate::LoopHandle),
//!   other crates' futures woken from other threads;
//! * **the OS clock read directly** (`std::time::Instant::now`, `SystemTime::now`): use
//!   [`tinyloop::now`](crate::now), which reads the loop's virtual clock;
//! * anything else that differs between two runs: `HashMap` iteration order (std's
//!   `RandomState` gives every map fresh random keys: use `BTreeMap`, or a fixed hasher), environment, files, other global state your program
//!   keeps between runs.
//!
//! A seeded loop that registers a real socket, starts `to_thread` work or hands out a
//! `LoopHandle` says so once on stderr. Task numbers, names (`Task-<n>`) and everything the
//! trace records are counted per loop, so two runs in one process look alike.
//!
//! # What counts as a failure
//!
//! A panic that reaches the program's own future: an `assert!` in it, an `unwrap` of a task's
//! `JoinError::Panicked`, or a deadlock report. A task nobody awaits that panics is reported
//! on stderr by the loop, which carries on (as in any other run): await the tasks whose
//! panics should fail the run. A program that never finishes (a timer that re-arms for ever)
//! never finishes under `sim` either.
//!
//! # Exploration is not fuzzing
//!
//! A fuzzer invents *inputs*; here the input stays fixed and the seed explores *schedules*:
//! the orders in which ready work could legitimately run. Every schedule a seed produces is
//! one the FIFO loop could meet in production had the outside world timed things differently,
//! so every failure is a real bug, and the seed replays it exactly, every time.
//!
//! # Replaying
//!
//! [`replay`] runs one seed; `TINYLOOP_SEED=N` in the environment makes [`check`] run only
//! seed `N`, and makes [`run`](crate::run) and [`Loop::builder`](crate::Loop::builder) use
//! it, so the line a failure prints works on the test that found it and on any program.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::runtime::context;
use crate::runtime::core::panic_message;
use crate::runtime::schedule::{seed_from_env, SEED_ENV};
use crate::Loop;

/// The first seed under which a program failed, and how it failed.
///
/// Its `Display` gives the panic message, the seed and a line that replays it; the
/// timeline is kept apart, in [`timeline`](Self::timeline), because it can be long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimFailure {
    /// The seed of the failing run.
    pub seed: u64,
    /// The panic message of the failing run (or the deadlock report).
    pub message: String,
    /// The failing run's event trace as an ASCII timeline ([`crate::trace::timeline`]).
    pub timeline: String,
}

impl std::fmt::Display for SimFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seed = self.seed;
        write!(
            f,
            "{}\n  the program failed under seed {seed} of tinyloop's simulated schedule\n  \
             replay: {SEED_ENV}={seed} (set it to rerun this test or program with the same \
             schedule, or call tinyloop::sim::replay({seed}, program))",
            self.message
        )
    }
}

impl std::error::Error for SimFailure {}

/// Runs `program` once per seed, each time on a fresh loop with virtual time and that seed,
/// and stops at the first run that panics. `Ok(n)`: all `n` runs passed.
/// (asyncio has no counterpart; this is the loop-level half of FoundationDB-style
/// simulation testing.)
///
/// Each run builds a new future with `program()` and drives it to completion, as
/// [`Loop::block_on`] does, then drops the loop (and every task still alive).
///
/// # Panics
/// When called inside a running loop (each run needs the thread to itself).
pub fn explore<S, F, Fut>(seeds: S, program: F) -> Result<u64, SimFailure>
where
    S: IntoIterator<Item = u64>,
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    if context::is_running() {
        panic!(
            "`tinyloop::sim::explore` (or `check`) was called inside a running tinyloop loop; \
             each simulated run needs a loop of its own: call it from a plain #[test] or `main`"
        );
    }
    let mut runs = 0;
    for seed in seeds {
        let (outcome, timeline) = one_run(seed, &program);
        if let Err(message) = outcome {
            return Err(SimFailure {
                seed,
                message,
                timeline,
            });
        }
        runs += 1;
    }
    Ok(runs)
}

/// [`explore`] over seeds `0..runs`, for tests: panics with the [`SimFailure`] (message,
/// seed, replay line) and the failing run's timeline.
///
/// With `TINYLOOP_SEED=N` in the environment it runs seed `N` only, so a failure's replay
/// line reruns exactly the failing schedule.
///
/// # Panics
/// When a run fails; when called inside a running loop; when `TINYLOOP_SEED` is not a
/// whole number.
#[track_caller]
pub fn check<F, Fut>(runs: u64, program: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    let result = match seed_from_env() {
        Some(seed) => explore([seed], program),
        None => explore(0..runs, program),
    };
    if let Err(failure) = result {
        panic!(
            "tinyloop::sim::check: {failure}\n\nthe timeline of that run:\n{}",
            failure.timeline
        );
    }
}

/// Runs `program` once under `seed`, exactly as [`explore`] runs that seed, and returns
/// its output; a panic propagates. Inside, [`trace::timeline`](crate::trace::timeline)
/// draws the run so far.
///
/// # Panics
/// When the program panics, and when called inside a running loop.
#[track_caller]
pub fn replay<F, Fut>(seed: u64, program: F) -> Fut::Output
where
    F: Fn() -> Fut,
    Fut: Future + 'static,
{
    sim_loop(seed).block_on(program())
}

/// A fresh loop for one simulated run.
fn sim_loop(seed: u64) -> Loop {
    Loop::builder()
        .virtual_time(true)
        .trace(true)
        .seed(seed)
        .build()
        .unwrap_or_else(|e| panic!("tinyloop::sim could not create its OS poller: {e}"))
}

/// One run: its outcome (a panic's message) and its timeline.
fn one_run<F, Fut>(seed: u64, program: &F) -> (Result<(), String>, String)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    let event_loop = sim_loop(seed);
    let outcome = catch_unwind(AssertUnwindSafe(|| event_loop.block_on(program())))
        .map_err(|payload| panic_message(&*payload));
    let timeline = match (&outcome, event_loop.trace_snapshot()) {
        (Err(_), Some(trace)) => trace.timeline(),
        _ => String::new(),
    };
    drop(event_loop);
    (outcome, timeline)
}
