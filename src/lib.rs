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
//! ## asyncio -> tinyloop
//!
//! | asyncio                          | tinyloop                                   |
//! |----------------------------------|--------------------------------------------|
//! | `asyncio.run(main())`            | [`run`]`(main())`                          |
//! | `loop.run_until_complete(f)`     | [`Loop::block_on`]                         |
//! | `asyncio.create_task(coro)`      | [`spawn`]`(fut)` -> [`Task`]               |
//! | `task.cancel()`, `task.done()`   | [`Task::cancel`], [`Task::is_done`]        |
//! | `CancelledError`                 | [`JoinError::Cancelled`]                   |
//! | `asyncio.sleep(d)`, `sleep(0)`   | [`sleep`], [`yield_now`]                   |
//! | `asyncio.wait_for(f, t)`         | [`timeout`]`(t, f)`                        |
//! | `loop.time()`                    | [`now`]                                    |
//! | `loop.call_soon/later/at`        | [`call_soon`], [`call_later`], [`call_at`] |
//! | `loop.call_soon_threadsafe`      | [`LoopHandle::call_soon_threadsafe`]       |
//! | `asyncio.to_thread(f)`           | [`to_thread`]                              |
//! | `asyncio.current_task()`         | [`current_task`]                           |
//! | `asyncio.all_tasks()`            | [`all_tasks`], [`dump_tasks`]              |
//! | `loop.set_debug(True)`           | [`LoopBuilder::debug`]                     |
//! | `loop.add_signal_handler(SIGINT)`| [`signal::ctrl_c`]                         |
//! | `asyncio.gather(*aws)`           | [`gather()`], [`gather!`], [`try_gather()`] |
//! | `asyncio.wait(..., return_when)` | [`wait`], [`wait_timeout`], [`ReturnWhen`] |
//! | `asyncio.as_completed(aws)`      | [`as_completed`] (a `Stream`)              |
//! | `asyncio.shield(aw)`             | [`shield`]                                 |
//! | `asyncio.TaskGroup()`            | [`TaskGroup`]                              |
//! | `asyncio.Semaphore`, `Lock`      | [`Semaphore`], [`Lock`]                    |
//! | `Event`, `Condition`, `Barrier`  | [`Event`], [`Condition`], [`Barrier`]      |
//! | `asyncio.Queue` (+ Lifo, Priority)| [`Queue`], [`LifoQueue`], [`PriorityQueue`] |
//! | `open_connection`, `start_server`| [`TcpStream::connect`], [`TcpListener`]    |
//! | `StreamReader.readline`          | [`BufReader::read_line`]                   |
//!
//! ## Where to read what
//!
//! * `runtime/core.rs`: one turn of the loop, `run_once`, narrated step by step.
//! * `runtime/tasks.rs` and `task/mod.rs`: what a task is and how its result gets back.
//! * `runtime/waker.rs`: how a wake-up, from this thread or another, finds the loop.
//! * `runtime/wheel/`: the hierarchical timer wheel.
//! * `time/`: sleep, timeouts, callbacks on top of the wheel.
//! * `runtime/reactor.rs`, `net/`, `io/`: readiness I/O on mio, sockets, buffered streams.
//! * `sync/`: the locks and queues, all on one waiter list (`sync/waiters.rs`).
//! * `task/`: gather, wait, as_completed, select, shield (on `task/ready_set.rs`), TaskGroup.
//! * `debug.rs`, `trace.rs`, `signal.rs`: the task dump, deadlock reports, the event trace
//!   and its timeline, Ctrl-C; their machinery is in `runtime/observe.rs`, `deadlock.rs`,
//!   `trace.rs` and `signals.rs`.

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
pub mod sync;
pub mod task;
mod thread;
pub mod time;
pub mod trace;

pub use base_events::{run, Loop, LoopBuilder, LoopClosed, LoopHandle};
pub use debug::{dump_tasks, Deadlock, OnDeadlock};
pub use io::{BufReader, BufWriter};
pub use net::{
    OwnedReadHalf, OwnedWriteHalf, ReadHalf, TcpListener, TcpStream, UdpSocket, UnixListener,
    UnixStream, WriteHalf,
};
pub use sync::{
    Barrier, BarrierWaitResult, Condition, Event, LifoQueue, Lock, LockGuard, PriorityQueue, Queue,
    QueueShutDown, Semaphore, SemaphorePermit, TaskDoneError, TryGetError, TryPutError,
};
pub use task::{
    all_tasks, current_task, spawn, spawn_named, yield_now, JoinError, Task, TaskId, TaskInfo,
    TaskState, YieldNow,
};
pub use task::{
    as_completed, gather, select, select_all, shield, try_gather, wait, wait_timeout, AsCompleted,
    ChildError, Either, Gather, ReturnWhen, SelectAll, Shield, TaskGroup, TaskGroupError,
    TaskOutcome, TryGather,
};
pub use thread::{to_thread, ToThread};
pub use time::{
    call_at, call_later, call_soon, interval, now, sleep, sleep_until, timeout, timeout_at,
    CallbackHandle, Interval, Sleep, Timeout, TimeoutError,
};
