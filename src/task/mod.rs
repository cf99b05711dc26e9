//! Tasks: asyncio's `tasks.py` (`create_task`, `Task`, `current_task`, `all_tasks`,
//! `sleep(0)`).
//!
//! A task is a future the loop owns and polls whenever it is woken. [`spawn`] hands a future
//! to the loop and returns a [`Task`] handle, which is itself a future for the task's result.
//! Unlike asyncio, dropping the handle does not lose the task: it is *detached* and runs to
//! completion (asyncio's "keep a reference to your tasks" pitfall does not exist here).
//!
//! The machinery (the slab, the ready queue, the poll) is in `runtime/tasks.rs` and
//! `runtime/core.rs`; this file is the public face.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::runtime::context;
use crate::runtime::core::{display_name, Core};
use crate::runtime::tasks::erase;
use crate::runtime::tasks::State;
use crate::runtime::tasks::TaskKey;
use crate::runtime::WaitOn;

// Waiting on many things and structured concurrency (asyncio's `tasks.py`, `taskgroups.py`).
mod as_completed;
mod gather;
mod group;
mod ready_set;
mod select;
mod shield;
mod wait;

pub use as_completed::{as_completed, AsCompleted};
pub use gather::{gather, try_gather, Gather, TryGather};
pub use group::{ChildError, TaskGroup, TaskGroupError};
pub use select::{select, select_all, Either, SelectAll};
pub use shield::{shield, Shield};
pub use wait::{wait, wait_timeout, ReturnWhen};

pub use crate::runtime::join_error::JoinError;

/// A task's number, unique within its loop: the `<n>` of `Task-<n>`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub u64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a task is in its life, as `all_tasks` reports it (asyncio's `Task._state`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// In the ready queue, to be polled this turn or the next.
    Scheduled,
    /// Being polled right now (this is the current task).
    Running,
    /// Waiting to be woken (a timer, I/O, a queue, another task).
    Waiting,
    /// Finished; its result waits for its `Task` handle.
    Done,
}

impl From<State> for TaskState {
    fn from(s: State) -> TaskState {
        match s {
            State::Scheduled => TaskState::Scheduled,
            State::Running | State::RunningWoken => TaskState::Running,
            State::Idle => TaskState::Waiting,
            State::Done => TaskState::Done,
        }
    }
}

/// A snapshot of one task, as `current_task` and `all_tasks` report it.
#[derive(Clone, Debug)]
pub struct TaskInfo {
    /// The task's number within its loop.
    pub id: TaskId,
    /// `Task-<n>` unless it was spawned with a name.
    pub name: String,
    /// Where it is in its life.
    pub state: TaskState,
    /// The `spawn` call that created it.
    pub spawned_at: &'static Location<'static>,
    /// How many times the loop has polled it.
    pub polls: u64,
    /// What it waits on, when it is waiting on a tinyloop primitive: `sleep until +1.2 s`,
    /// `Queue::get`, `Lock::lock`, `TcpStream read`, `task #3 'worker'` ... (`None` while it
    /// is ready or running, or waits on a future the loop cannot name).
    pub waiting_on: Option<String>,
}

/// A handle to a spawned task: asyncio's `Task`. Await it for the task's result.
///
/// Awaiting gives `Ok(output)`, or `Err(JoinError::Cancelled)` if the task was cancelled (or
/// its loop shut down first), or `Err(JoinError::Panicked(msg))` if it panicked. Dropping the
/// handle detaches the task: it keeps running and its result is dropped when it finishes.
///
/// A panic is never lost: if the task panicked and its handle is dropped without having been
/// awaited (asyncio's "Task exception was never retrieved"), the loop reports the panic on
/// stderr once, with the task's name and spawn site, as it does for a detached task.
///
/// ```
/// use std::time::Duration;
/// use tinyloop::{spawn, JoinError};
///
/// tinyloop::run(async {
///     let answer = spawn(async { 6 * 7 });
///     let stuck = spawn(async { tinyloop::sleep(Duration::from_secs(3600)).await });
///     let broken = spawn(async { panic!("no config file") });
///     assert!(!answer.is_done()); // tasks start on a later turn
///     assert_eq!(answer.await, Ok(42));
///     assert!(stuck.cancel());
///     assert_eq!(stuck.await, Err(JoinError::Cancelled));
///     assert_eq!(broken.await, Err(JoinError::Panicked("no config file".into())));
/// });
/// ```
///
#[doc(alias = "asyncio.Task")]
#[must_use = "a Task runs even if dropped; await it for its result, or drop it explicitly to detach it"]
pub struct Task<T> {
    core: Rc<Core>,
    key: TaskKey,
    _output: PhantomData<fn() -> T>,
}

impl<T> Unpin for Task<T> {}

impl<T> Task<T> {
    /// Asks the task to stop: its future is dropped (running its destructors) no later than
    /// the loop's next turn, and awaiting it then gives `Err(JoinError::Cancelled)`. A task
    /// may cancel itself; that takes effect when its current poll returns. Returns `false`
    /// if it had already finished. (asyncio's `Task.cancel`.)
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// tinyloop::run(async {
    ///     let task = tinyloop::spawn(tinyloop::sleep(Duration::from_secs(3600)));
    ///     assert!(task.cancel());
    ///     assert!(task.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    ///
    #[doc(alias = "Task.cancel")]
    pub fn cancel(&self) -> bool {
        self.core.cancel(self.key)
    }

    /// Whether the task has finished (with a value, a panic or a cancellation).
    #[doc(alias = "Task.done")]
    pub fn is_done(&self) -> bool {
        self.core.is_done(self.key)
    }

    /// The task's number within its loop.
    pub fn id(&self) -> TaskId {
        TaskId(
            self.core
                .with_meta(self.key, |m, _, _| m.number)
                .unwrap_or(0),
        )
    }

    /// `Task-<n>` unless the task was spawned with [`spawn_named`]. (asyncio's `Task.get_name`.)
    #[doc(alias = "Task.get_name")]
    pub fn name(&self) -> String {
        self.core
            .with_meta(self.key, |m, _, _| display_name(m))
            .unwrap_or_default()
    }

    /// A snapshot of the task.
    pub fn info(&self) -> Option<TaskInfo> {
        info_of(&self.core, self.key)
    }

    /// Runs `f` on the task's result if it has finished, without taking the result
    /// (`None` while it runs). Used by `wait(FirstException)` to look before it returns.
    pub(crate) fn inspect_output<R>(&self, f: impl FnOnce(Result<&T, &JoinError>) -> R) -> Option<R>
    where
        T: 'static,
    {
        self.core.with_result(self.key, |result| match result {
            Ok(any) => f(Ok(any
                .downcast_ref::<T>()
                .expect("a task's result has the task's output type"))),
            Err(e) => f(Err(e)),
        })
    }
}

impl<T: 'static> Future for Task<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Poll::Ready(result) = self.core.poll_join(self.key, cx) else {
            self.core.note_wait(WaitOn::Task(self.key));
            return Poll::Pending;
        };
        Poll::Ready(result.map(|cell| {
            let mut output: Option<T> = None;
            cell.take_output(&mut output);
            output.expect("a finished task holds an output of its Task's type")
        }))
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.core.release_handle(self.key);
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.info() {
            Some(info) => f
                .debug_struct("Task")
                .field("name", &info.name)
                .field("state", &info.state)
                .field("spawned_at", &format_args!("{}", info.spawned_at))
                .finish(),
            None => f.write_str("Task { gone }"),
        }
    }
}

fn info_of(core: &Core, key: TaskKey) -> Option<TaskInfo> {
    let mut info = core.with_meta(key, |m, state, polls| TaskInfo {
        id: TaskId(m.number),
        name: display_name(m),
        state: state.into(),
        spawned_at: m.spawned_at,
        polls: u64::from(polls),
        waiting_on: None,
    })?;
    info.waiting_on = core.waiting_on(key);
    Some(info)
}

pub(crate) fn spawn_on<F>(
    core: &Rc<Core>,
    name: Option<Box<str>>,
    fut: F,
    at: &'static Location<'static>,
) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let key = core.spawn(erase(fut), name, at);
    Task {
        core: Rc::clone(core),
        key,
        _output: PhantomData,
    }
}

/// Runs `fut` as a new task on the running loop: asyncio's `create_task`.
///
/// The task starts on a later turn of the loop, after the tasks already ready (no eager
/// start), and runs even if the returned [`Task`] is dropped.
///
/// ```
/// use std::time::Duration;
/// use tinyloop::{sleep, spawn};
///
/// tinyloop::run(async {
///     let task = spawn(async {
///         sleep(Duration::from_millis(1)).await;
///         "done"
///     });
///     // ... the task runs while this code goes on, or waits:
///     assert_eq!(task.await, Ok("done"));
///     // A dropped handle detaches the task; it still runs to completion.
///     drop(spawn(async { println!("detached, still runs") }));
///     tinyloop::yield_now().await;
/// });
/// ```
///
/// # Panics
/// When no loop is running on this thread.
#[doc(alias = "create_task")]
#[doc(alias = "asyncio.create_task")]
#[doc(alias = "ensure_future")]
#[track_caller]
pub fn spawn<F>(fut: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let at = Location::caller();
    context::with_core("tinyloop::spawn", |core| spawn_on(core, None, fut, at))
}

/// [`spawn`] with a name, shown by `Task::name`, `all_tasks` and panic reports
/// (asyncio's `create_task(coro, name=...)`).
///
/// ```
/// tinyloop::run(async {
///     let task = tinyloop::spawn_named("fetch-user", async { 7 });
///     assert_eq!(task.name(), "fetch-user");
///     assert_eq!(task.await, Ok(7));
/// });
/// ```
///
#[track_caller]
pub fn spawn_named<F>(name: impl Into<String>, fut: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let at = Location::caller();
    let name = Some(name.into().into_boxed_str());
    context::with_core("tinyloop::spawn_named", |core| {
        spawn_on(core, name, fut, at)
    })
}

/// Gives every other ready task a turn before continuing: asyncio's `await asyncio.sleep(0)`.
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
///
/// tinyloop::run(async {
///     let ran = Rc::new(Cell::new(false));
///     let flag = Rc::clone(&ran);
///     let task = tinyloop::spawn(async move { flag.set(true) });
///     tinyloop::yield_now().await; // the task gets its turn here
///     assert!(ran.get() && task.is_done());
/// });
/// ```
///
#[doc(alias = "sleep(0)")]
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The task being polled right now, or `None` in the future given to `run`/`block_on` and
/// outside a loop (asyncio's `current_task`).
///
/// ```
/// tinyloop::run(async {
///     assert!(tinyloop::current_task().is_none()); // the future given to `run` is no task
///     let name = tinyloop::spawn_named("worker", async {
///         tinyloop::current_task().unwrap().name
///     });
///     assert_eq!(name.await.unwrap(), "worker");
/// });
/// ```
///
#[doc(alias = "asyncio.current_task")]
pub fn current_task() -> Option<TaskInfo> {
    context::try_with_core(|core| core.current_task().and_then(|key| info_of(core, key))).flatten()
}

/// Every task of the running loop that has not finished, in spawn order of their slots
/// (asyncio's `all_tasks`). Empty outside a loop.
///
/// ```
/// use std::time::Duration;
///
/// tinyloop::run(async {
///     let a = tinyloop::spawn_named("a", tinyloop::sleep(Duration::from_millis(5)));
///     let b = tinyloop::spawn_named("b", tinyloop::sleep(Duration::from_millis(5)));
///     let names: Vec<String> = tinyloop::all_tasks().into_iter().map(|t| t.name).collect();
///     assert_eq!(names, ["a", "b"]);
///     (a.await.unwrap(), b.await.unwrap());
/// });
/// ```
///
#[doc(alias = "asyncio.all_tasks")]
pub fn all_tasks() -> Vec<TaskInfo> {
    context::try_with_core(|core| {
        let keys: Vec<TaskKey> = core
            .tasks
            .borrow()
            .iter()
            .filter(|(_, s)| s.state != State::Done)
            .map(|(k, _)| k)
            .collect();
        let mut infos: Vec<TaskInfo> = keys.into_iter().filter_map(|k| info_of(core, k)).collect();
        infos.sort_by_key(|i| i.id);
        infos
    })
    .unwrap_or_default()
}
