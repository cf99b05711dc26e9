//! # tinyloop
//!
//! A single-threaded event loop built from scratch and in plain sight: what Python's asyncio
//! does inside, in Rust. A ready queue of tasks, a hierarchical timer wheel, a mio poller and
//! the waker plumbing that ties them together, with asyncio's coordination layer on top.
//!
//! ```
//! use std::time::Duration;
//!
//! let total = tinyloop::run(async {
//!     let a = tinyloop::spawn(async {
//!         tinyloop::sleep(Duration::from_millis(20)).await;
//!         1
//!     });
//!     let b = tinyloop::spawn(async { 2 });
//!     a.await.unwrap() + b.await.unwrap()
//! });
//! assert_eq!(total, 3);
//! ```
//!
//! ## asyncio -> tinyloop, by section
//!
//! Every name below is at the crate root (`tinyloop::sleep`, `tinyloop::Queue`, ...), like
//! asyncio's flat namespace, and also in its module. Each carries its asyncio name as a search
//! alias: type `create_task`, `wait_for` or `run_until_complete` in the search box above.
//! Each entry's page has an example.
//!
//! **Running a loop** (asyncio's `runners.py`, `base_events.py`)
//!
//! | asyncio                                | tinyloop                                        |
//! |----------------------------------------|-------------------------------------------------|
//! | `asyncio.run(main())`                  | [`run`]`(main())`                               |
//! | `asyncio.run(main(), debug=True)`      | [`Loop::builder`]`().debug(true).`[`run`](LoopBuilder::run)`(main())` |
//! | `PYTHONASYNCIODEBUG=1`                 | `TINYLOOP_DEBUG=1`                              |
//! | `new_event_loop()`, `run_until_complete` | [`Loop::new`], [`Loop::block_on`]             |
//! | `loop.set_debug`, `slow_callback_duration` | [`LoopBuilder::debug`], [`LoopBuilder::slow_poll_threshold`] |
//! | `loop.call_soon_threadsafe`            | [`LoopHandle::call_soon_threadsafe`], [`LoopClosed`] |
//! | `loop.add_signal_handler(SIGINT)`      | [`signal::ctrl_c`]                              |
//!
//! **Tasks** (`tasks.py`)
//!
//! | asyncio                                | tinyloop                                        |
//! |----------------------------------------|-------------------------------------------------|
//! | `asyncio.create_task(coro, name=)`     | [`spawn`], [`spawn_named`] -> [`Task`]          |
//! | `task.cancel()`, `task.done()`         | [`Task::cancel`], [`Task::is_done`]             |
//! | `CancelledError`, a raised exception   | [`JoinError`]                                   |
//! | `asyncio.sleep(0)`                     | [`yield_now`]                                   |
//! | `current_task()`, `all_tasks()`        | [`current_task`], [`all_tasks`] ([`TaskInfo`], [`TaskId`], [`TaskState`]) |
//!
//! **Time** (`asyncio.sleep`, `timeouts.py`, the loop's `call_*`)
//!
//! | asyncio                                | tinyloop                                        |
//! |----------------------------------------|-------------------------------------------------|
//! | `asyncio.sleep(d)`                     | [`sleep`], [`sleep_until`]                      |
//! | `asyncio.wait_for(f, t)`, `asyncio.timeout(t)` | [`timeout`], [`timeout_at`], [`TimeoutError`] |
//! | `loop.time()`                          | [`now`]                                         |
//! | `loop.call_soon/call_later/call_at`    | [`call_soon`], [`call_later`], [`call_at`] -> [`CallbackHandle`] |
//! | `while True: await sleep(p)`           | [`interval`]                                    |
//!
//! **Waiting on many things** (`tasks.py`)
//!
//! | asyncio                                | tinyloop                                        |
//! |----------------------------------------|-------------------------------------------------|
//! | `asyncio.gather(*aws)`                 | [`gather()`], [`gather!`], [`try_gather()`], [`try_gather!`] |
//! | `asyncio.wait(tasks, return_when=)`    | [`wait`], [`wait_timeout`], [`ReturnWhen`]      |
//! | `asyncio.as_completed(aws)`            | [`as_completed`] (also a `Stream`)              |
//! | `wait(.., FIRST_COMPLETED)` on two or many | [`select`] -> [`Either`], [`select_all`]    |
//! | `asyncio.shield(aw)`                   | [`shield`]                                      |
//!
//! **Structured concurrency** (`taskgroups.py`)
//!
//! | asyncio                                | tinyloop                                        |
//! |----------------------------------------|-------------------------------------------------|
//! | `async with asyncio.TaskGroup() as tg` | [`TaskGroup`], [`TaskGroupError`], [`ChildError`] |
//!
//! **Synchronisation and queues** (`locks.py`, `queues.py`)
//!
//! | asyncio                                | tinyloop                                        |
//! |----------------------------------------|-------------------------------------------------|
//! | `Lock`, `Semaphore`                    | [`Lock`], [`Semaphore`]                         |
//! | `Event`, `Condition`, `Barrier`        | [`Event`], [`Condition`], [`Barrier`]           |
//! | `Queue`, `LifoQueue`, `PriorityQueue`  | [`Queue`], [`LifoQueue`], [`PriorityQueue`]     |
//! | `async for item in queue` (a loop of `get`) | [`Queue::stream`]                          |
//!
//! **Threads** (`threads.py`)
//!
//! | asyncio                                | tinyloop                                        |
//! |----------------------------------------|-------------------------------------------------|
//! | `asyncio.to_thread(f)`, `run_in_executor` | [`to_thread`]                                |
//!
//! **Networking and streams** (`streams.py`, `selector_events.py`)
//!
//! | asyncio                                | tinyloop                                        |
//! |----------------------------------------|-------------------------------------------------|
//! | `open_connection`, `start_server`      | [`TcpStream::connect`], [`TcpListener`]         |
//! | `open_unix_connection`, `start_unix_server` | [`UnixStream`], [`UnixListener`]           |
//! | `create_datagram_endpoint`             | [`UdpSocket`]                                   |
//! | `StreamReader.readline`, `readexactly` | [`BufReader::read_line`], [`BufReader::read_exact`] |
//! | `StreamWriter.write` + `drain`         | [`TcpStream::write_all`], [`BufWriter`]         |
//!
//! **Seeing inside** (debug mode and beyond)
//!
//! | asyncio                                | tinyloop                                        |
//! |----------------------------------------|-------------------------------------------------|
//! | `for t in all_tasks(): print(t)`       | [`dump_tasks`]                                  |
//! | (none: Go's "all goroutines are asleep") | [`Deadlock`], [`OnDeadlock`], [`Loop::try_block_on`] |
//! | (none)                                 | [`trace`]: the event trace, a timeline, Perfetto JSON |
//!
//! ## Reading path: the loop in the order of one turn
//!
//! Read these first, in this order; together they are the whole loop. Every line that
//! starts with `self.observe` or `self.observe_` in them is a hook into the seeing-inside
//! layer (`runtime/observe/`) and can be skipped.
//!
//! 1. `examples/mini_loop.rs` (430 lines): the whole idea in one file, without tinyloop.
//! 2. `runtime/core.rs` (871 lines): the loop's state and its turn, `run_once`, step by
//!    step; `spawn`, `schedule` and `run_task` (asyncio's `Task.__step`).
//! 3. `runtime/reactor.rs` (581 lines): step 2, polling for I/O with mio.
//! 4. `runtime/waker.rs` (187 lines) and `waker/wake.rs` (134 lines): step 3, how a
//!    wake-up, from this thread or another, finds the loop.
//! 5. `runtime/wheel/mod.rs` (857 lines) and `level.rs` (200 lines): step 4, the
//!    hierarchical timer wheel.
//! 6. `runtime/tasks.rs` (479 lines): step 5's tasks: the slab, `TaskKey`, and `State`
//!    with the life-cycle diagram.
//!
//! ## Where to read what, after that
//!
//! * `base_events.rs`: `run`, `block_on`, the main future.
//! * `task/mod.rs`: `spawn`, `Task<T>`, how a result gets back to its handle.
//! * `time/`: sleep, timeouts, callbacks on top of the wheel.
//! * `net/`, `io/`: sockets and buffered streams on the reactor.
//! * `sync/`: the locks and queues, all on one waiter list (`sync/waiters.rs`).
//! * `task/`: gather, wait, as_completed, select, shield (on `task/ready_set.rs`), TaskGroup.
//! * `debug.rs`, `trace.rs`: the task dump, deadlock reports, the event trace and its
//!   timeline; all their machinery is in `runtime/observe/` (what the core keeps in
//!   `mod.rs`; the core's hooks and wait notes in `hooks.rs`; `dump.rs`, `deadlock.rs`,
//!   `trace.rs`).
//! * `signal.rs`: Ctrl-C, on `runtime/signals.rs` (the state) and `runtime/signals/`
//!   (the core's side).
//! * `runtime/mod.rs`: every file of the loop in its layer, from the top; each imports only
//!   files below it (`tests/layering.rs` checks it).
//! * `sim.rs` and `runtime/schedule.rs`: deterministic simulation, a seeded order among ready
//!   things, many seeds explored and the failing one replayed.

#![forbid(unsafe_code)]
#![deny(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

mod base_events;
#[cfg(feature = "hyper")]
pub mod compat;
pub mod debug;
pub mod io;
pub mod net;
mod runtime;
pub mod signal;
pub mod sim;
pub mod sync;
pub mod task;
mod thread;
pub mod time;
pub mod trace;

// The crate root, section by section as in the table above.

// Running a loop.
pub use base_events::{run, Loop, LoopBuilder, LoopClosed, LoopHandle};

// Tasks.
pub use task::{
    all_tasks, current_task, spawn, spawn_named, yield_now, JoinError, Task, TaskId, TaskInfo,
    TaskState, YieldNow,
};

// Time.
pub use time::{
    call_at, call_later, call_soon, interval, now, sleep, sleep_until, timeout, timeout_at,
    CallbackHandle, Interval, Sleep, Timeout, TimeoutError,
};

// Waiting on many things.
pub use task::{
    as_completed, gather, select, select_all, shield, try_gather, wait, wait_timeout, AsCompleted,
    Either, Gather, ReturnWhen, SelectAll, Shield, TryGather,
};

// Structured concurrency.
pub use task::{ChildError, TaskGroup, TaskGroupError};

// Synchronisation and queues.
pub use sync::{
    Barrier, BarrierWaitResult, Condition, Event, LifoQueue, Lock, LockGuard, PriorityQueue, Queue,
    QueueShutDown, Semaphore, SemaphorePermit, TaskDoneError, TryGetError, TryPutError,
};

// Threads.
pub use thread::{to_thread, ToThread};

// Networking and streams.
pub use io::{BufReader, BufWriter};
pub use net::{
    OwnedReadHalf, OwnedWriteHalf, ReadHalf, TcpListener, TcpStream, UdpSocket, UnixListener,
    UnixStream, WriteHalf,
};

// Seeing inside.
pub use debug::{dump_tasks, Deadlock, OnDeadlock};
