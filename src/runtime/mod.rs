//! The loop's machinery: everything asyncio keeps inside `base_events.py` and the selector.
//!
//! Nothing in here is public. The asyncio-shaped surface (`crate::base_events`,
//! `crate::task`, `crate::time`, `crate::sync`, ...) sits on top and reaches these pieces only
//! through the small interface [`core::Core`] offers: schedule a task, arm a timer, register
//! an I/O source, count work in flight on other threads, and note what a task waits on
//! ([`note_wait`], with the primitive's own label). Nothing in here imports the public layer.
//!
//! | file          | what it holds                                   | asyncio counterpart            |
//! |---------------|-------------------------------------------------|--------------------------------|
//! | `core.rs`     | the loop state and its turn, `run_once`         | `BaseEventLoop._run_once`      |
//! | `context.rs`  | which loop is running on this thread            | `events._get_running_loop`     |
//! | `tasks.rs`    | the task slab, `State` (life cycle)             | `tasks.Task` objects           |
//! | `task_key.rs` | `TaskKey`, `TaskKey::MAIN`, `TaskKey::CALLBACK` | (a `Task` object's identity)   |
//! | `waker.rs`    | how a wake-up finds its way back to the loop    | `Task.__wakeup`, `call_soon_threadsafe` |
//! | `wheel/`      | the hierarchical timer wheel                    | the `_scheduled` heap          |
//! | `reactor.rs`  | the mio poller and I/O sources                  | `selectors` + `selector_events.py` |
//! | `registration.rs` | a socket's handle on its reactor slot       | `selector_events` transports   |
//! | `clock.rs`    | the loop's clock, real or virtual               | `loop.time()`                  |
//! | `pool.rs`     | worker threads for `to_thread`                  | the default `ThreadPoolExecutor` |
//! | `coop.rs`     | the cooperative budget of one poll              | (none; tokio's coop budget)    |
//! | `join_error.rs` | why a task gave no value (`tinyloop::JoinError`) | `CancelledError`            |
//! | `observe/`    | seeing inside, one layer the core reaches by hooks: | debug mode                 |
//! |   `mod.rs`    | the hooks, what tasks wait on, slow polls       | `_run_once`'s `if self._debug` |
//! |   `dump.rs`   | waits in words, the task dump                   | `Task.__repr__`                |
//! |   `deadlock.rs` | proving that nothing can ever wake the loop   | (none; Go's deadlock check)    |
//! |   `trace.rs`  | the event trace ring buffer                     | (none)                         |
//! | `schedule.rs` | FIFO, or a seeded order among ready things      | (none; see `crate::sim`)       |
//! | `signals.rs`  | Ctrl-C, all of it: SIGINT through the poller    | `loop.add_signal_handler`      |

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
pub(crate) mod waker;
pub(crate) mod wheel;

/// How a primitive tells the loop what a task waits on (for the dump, the deadlock report
/// and the trace): part of the loop's small interface, next to wakers.
pub(crate) use observe::hooks::note_wait;
pub(crate) use observe::WaitOn;
