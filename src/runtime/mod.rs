//! The loop's machinery: everything asyncio keeps inside `base_events.py` and the selector.
//!
//! Nothing in here is public. The asyncio-shaped surface (`crate::base_events`,
//! `crate::task`, `crate::time`, `crate::sync`, ...) sits on top and reaches these pieces only
//! through the small interface [`core::Core`] offers: schedule a task, arm a timer, register
//! an I/O source, count work in flight on other threads, and note what a task waits on
//! ([`note_wait`], with the primitive's own label). Nothing in here imports the public layer.
//!
//! The files form layers: each imports only files below it (`tests/layering.rs` checks it,
//! and prints the layers with `cargo test --test layering -- --nocapture`). From the top:
//!
//! | file          | what it holds                                   | asyncio counterpart            |
//! |---------------|-------------------------------------------------|--------------------------------|
//! | **above the core** (these name `Core`; `core.rs` names none of them) | |                |
//! | `context.rs`  | which loop is running on this thread            | `events._get_running_loop`     |
//! | `waker/wake.rs` | the two wake paths back to the loop           | `Task.__wakeup`, `call_soon_threadsafe` |
//! | `registration.rs` | a socket's handle on its reactor slot       | `selector_events` transports   |
//! | `signals/handling.rs` | the core's Ctrl-C methods, the SIGINT waker | `loop.add_signal_handler`   |
//! | `observe/hooks.rs` | the poll hooks, wait notes, the main future, slow polls | `_run_once`'s `if self._debug` |
//! | `observe/dump.rs` | waits in words, the task dump               | `Task.__repr__`                |
//! | `observe/deadlock.rs` | proving that nothing can ever wake the loop | (none; Go's deadlock check) |
//! | **the core**  |                                                 |                                |
//! | `core.rs`     | the loop state and its turn, `run_once`         | `BaseEventLoop._run_once`      |
//! | **below the core** (nothing here names `Core`) |                |                                |
//! | `observe/mod.rs` | what the core keeps to be seen inside: `Observe`, notes, labels | debug mode |
//! | `observe/trace.rs` | the event trace ring buffer                 | (none)                         |
//! | `tasks.rs`    | the task slab, `State` (life cycle)             | `tasks.Task` objects           |
//! | `schedule.rs` | FIFO, or a seeded order among ready things      | (none; see `crate::sim`)       |
//! | `waker.rs`    | what a wake-up carries: `Shared`, `TaskWaker`, `WakeRef` | (the self-pipe, `_ready`) |
//! | `task_key.rs` | `TaskKey`, `TaskKey::MAIN`, `TaskKey::CALLBACK` | (a `Task` object's identity)   |
//! | `timers.rs`   | the loop's timer table: `TimerEntry`, the wheel packed to 8-byte values plus a side table | `TimerHandle`s in `_scheduled` |
//! | `wheel/`      | the hierarchical timer wheel                    | the `_scheduled` heap          |
//! | `reactor.rs`  | the mio poller and I/O sources                  | `selectors` + `selector_events.py` |
//! | `clock.rs`    | the loop's clock, real or virtual               | `loop.time()`                  |
//! | `signals.rs`  | Ctrl-C's state: process-wide actions, a loop's SIGINT source | `signal.set_wakeup_fd` |
//! | `config.rs`   | the loop's settings                             | `loop.set_debug`, ...          |
//! | `pool.rs`     | worker threads for `to_thread`                  | the default `ThreadPoolExecutor` |
//! | `coop.rs`     | the cooperative budget of one poll              | (none; tokio's coop budget)    |
//! | `join_error.rs` | why a task gave no value (`tinyloop::JoinError`) | `CancelledError`            |

pub(crate) mod clock;
pub(crate) mod config;
pub(crate) mod context;
pub(crate) mod coop;
pub(crate) mod core;
pub(crate) mod join_error;
pub(crate) mod observe;
pub(crate) mod pool;
pub(crate) mod reactor;
pub(crate) mod registration;
pub(crate) mod schedule;
pub(crate) mod signals;
pub(crate) mod task_key;
pub(crate) mod tasks;
pub(crate) mod timers;
pub(crate) mod waker;
pub(crate) mod wheel;

/// How a primitive tells the loop what a task waits on (for the dump, the deadlock report
/// and the trace): part of the loop's small interface, next to wakers.
pub(crate) use observe::hooks::note_wait;
pub(crate) use observe::WaitOn;
