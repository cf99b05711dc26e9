//! Waiting for tasks without taking their results: asyncio's `wait`, from `tasks.py`.
//!
//! asyncio's `wait(fs, return_when=...)` hangs an `_on_completion` callback on every task,
//! counts finished tasks down, and wakes the waiter when the `return_when` condition holds;
//! then it splits the tasks into `(done, pending)` sets. Nothing is consumed: a done task's
//! result is still in the task, and pending tasks keep running.
//!
//! tinyloop's [`wait`] works the same way. Each task gets its own waker from a [`ReadySet`]
//! (so one task finishing costs O(1), however many are waited on), and `wait` asks a woken
//! task only whether it has finished, leaving its output inside the [`Task`]: awaiting a task
//! from the `done` list completes at once with its output.
//!
//! | `return_when`     | `wait` returns when ...                                           |
//! |-------------------|-------------------------------------------------------------------|
//! | `FirstCompleted`  | at least one task has finished                                    |
//! | `FirstException`  | a task panicked, was cancelled or returned `Err`, or all finished |
//! | `AllCompleted`    | every task has finished                                           |
//!
//! The `done` list holds *every* task finished at that moment (several may finish in the same
//! loop turn), in input order; `pending` holds the rest, in input order. [`wait_timeout`]
//! adds asyncio's `timeout=`: when it expires, `wait_timeout` returns what is done so far,
//! never an error.
//!
//! `wait` takes tasks of every output type, as asyncio's does. What counts as an exception for
//! `FirstException` is a panic, a cancellation, or an output that is the `Err` of a `Result`
//! (asyncio's raised exception, since Rust returns errors as values); for other output types
//! only a panic or a cancellation counts. How `wait` tells an `Err` apart without a trait
//! bound on the output type is explained at `is_err_result` below.

use std::fmt;
use std::future::poll_fn;
use std::task::{Context, Poll};
use std::time::Duration;

use super::ready_set::ReadySet;
use super::Task;

/// When [`wait`] returns: asyncio's `FIRST_COMPLETED`, `FIRST_EXCEPTION`, `ALL_COMPLETED`.
///
/// ```
/// use std::time::Duration;
/// use tinyloop::{sleep, spawn, wait, ReturnWhen};
///
/// tinyloop::Loop::builder().virtual_time(true).run(async {
///     let nap = |s: u64| spawn(async move { sleep(Duration::from_secs(s)).await; s });
///     let (done, pending) = wait([nap(1), nap(2)], ReturnWhen::FirstCompleted).await;
///     assert_eq!((done.len(), pending.len()), (1, 1));
///     let (done, pending) = wait(pending, ReturnWhen::AllCompleted).await;
///     assert_eq!((done.len(), pending.len()), (1, 0));
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[doc(alias = "return_when")]
pub enum ReturnWhen {
    /// Return as soon as any task finishes (asyncio's `FIRST_COMPLETED`).
    #[doc(alias = "FIRST_COMPLETED")]
    FirstCompleted,
    /// Return as soon as a task fails: it panicked, was cancelled, or its output is the `Err`
    /// of a `Result` (any `Result<T, E>`, `io::Result<T>` and other aliases included). For
    /// other output types (tuples, `Option`, your own structs and enums) only a panic or a
    /// cancellation counts: an `Option`'s `None` is a value, not a failure. Without a failure,
    /// wait for all (asyncio's `FIRST_EXCEPTION`).
    #[doc(alias = "FIRST_EXCEPTION")]
    FirstException,
    /// Return when every task has finished (asyncio's `ALL_COMPLETED`, the default).
    #[doc(alias = "ALL_COMPLETED")]
    AllCompleted,
}

/// Whether `output` is the `Err` of a `Result`, for any output type: what lets [`wait`] take
/// tasks of every output type and still stop at an `Err` under `FirstException`.
///
/// Stable Rust cannot ask "is `T` a `Result`?" through a trait without a bound on `T` (that
/// would need specialization), and a bound is what rejected tuples, `Option`s and user structs.
/// So this asks the two facts std offers for *every* type: the type's name
/// ([`std::any::type_name`]) and the value's enum variant ([`std::mem::discriminant`]).
/// Neither text is specified, so both are compared against what *this* compiler prints for a
/// known `Result`, never against a hard-coded string:
///
/// * `T` is a `Result` when its name, up to its generic arguments, reads as
///   `Result<(), ()>`'s does (`core::result::Result` today; type aliases such as `io::Result`
///   print as what they alias).
/// * The value is an `Err` when its variant prints as `Err::<(), ()>`'s does: a variant's
///   discriminant is its place in the declaration (`Ok` 0, `Err` 1), whatever the memory
///   layout, so it reads the same for every `Result<A, B>`.
///
/// A compiler that printed either differently would make this answer `false` for every
/// value, so `FirstException` would stop only at panics and cancellations;
/// `tests/tasks_wait.rs` checks the `Err` case for many `Result` shapes so that shows at once.
fn is_err_result<T>(output: &T) -> bool {
    fn generic_base(name: &str) -> &str {
        name.split('<').next().unwrap_or(name)
    }
    if generic_base(std::any::type_name::<T>())
        != generic_base(std::any::type_name::<Result<(), ()>>())
    {
        return false;
    }
    let variant = |d: &dyn fmt::Debug| format!("{d:?}");
    variant(&std::mem::discriminant(output)) == variant(&std::mem::discriminant(&Err::<(), ()>(())))
}

/// Waits for `tasks` until `when` holds; returns `(done, pending)`.
///
/// asyncio's `wait(fs, return_when=...)`. Outputs stay inside the tasks: awaiting a task from
/// `done` completes at once. Tasks in `pending` keep running; drop them to detach them, or
/// `cancel` them. Both lists keep input order. An empty input returns `(vec![], vec![])` at
/// once. Any output type will do: numbers, tuples, `Option`s, your own structs.
///
/// ```
/// use std::time::Duration;
/// use tinyloop::{spawn, wait, ReturnWhen};
/// # tinyloop::Loop::builder().virtual_time(true).run(async {
/// let tasks = [10, 20].map(|ms| spawn(async move {
///     tinyloop::sleep(Duration::from_millis(ms)).await;
///     ms
/// }));
/// let (done, pending) = wait(tasks, ReturnWhen::FirstCompleted).await;
/// assert_eq!((done.len(), pending.len()), (1, 1));
/// for task in done {
///     assert_eq!(task.await.unwrap(), 10);
/// }
/// # }).unwrap();
/// ```
///
/// With [`ReturnWhen::FirstException`], an `Err` output stops the wait like a panic would:
///
/// ```
/// use std::time::Duration;
/// use tinyloop::{sleep, spawn, wait, ReturnWhen};
/// # tinyloop::Loop::builder().virtual_time(true).run(async {
/// let fetch = |ms: u64, ok: bool| spawn(async move {
///     sleep(Duration::from_millis(ms)).await;
///     if ok { Ok(ms) } else { Err(format!("fetch {ms} failed")) }
/// });
/// let (done, pending) = wait([fetch(5, true), fetch(1, false), fetch(60_000, true)],
///                            ReturnWhen::FirstException).await;
/// assert_eq!((done.len(), pending.len()), (1, 2));
/// assert_eq!(done.into_iter().next().unwrap().await.unwrap(), Err("fetch 1 failed".into()));
/// pending.iter().for_each(|task| { task.cancel(); });
/// # }).unwrap();
/// ```
#[doc(alias = "asyncio.wait")]
pub async fn wait<T: 'static>(
    tasks: impl IntoIterator<Item = Task<T>>,
    when: ReturnWhen,
) -> (Vec<Task<T>>, Vec<Task<T>>) {
    let mut waiting = Waiting::new(tasks, when);
    poll_fn(|cx| waiting.poll(cx)).await;
    waiting.split()
}

/// Like [`wait`], but returns after `timeout` with whatever is done by then.
///
/// asyncio's `wait(fs, timeout=..., return_when=...)`. Never fails: on expiry the tasks that
/// have finished are in `done` and the others, still running, in `pending`. As with
/// `tinyloop::timeout`, the condition is checked before the deadline, so tasks that are
/// already finished are reported even with a zero timeout.
///
/// ```
/// use std::time::Duration;
/// use tinyloop::{sleep, spawn, wait_timeout, ReturnWhen};
/// # tinyloop::Loop::builder().virtual_time(true).run(async {
/// let quick = spawn(async { ("quick", 1) });
/// let slow = spawn(async { sleep(Duration::from_secs(3600)).await; ("slow", 2) });
/// let (done, pending) =
///     wait_timeout([quick, slow], ReturnWhen::AllCompleted, Duration::from_millis(10)).await;
/// assert_eq!((done.len(), pending.len()), (1, 1));
/// pending[0].cancel();
/// # }).unwrap();
/// ```
#[doc(alias = "asyncio.wait")]
pub async fn wait_timeout<T: 'static>(
    tasks: impl IntoIterator<Item = Task<T>>,
    when: ReturnWhen,
    timeout: Duration,
) -> (Vec<Task<T>>, Vec<Task<T>>) {
    let mut waiting = Waiting::new(tasks, when);
    // Expiry is not an error here: `split` reports what is done by now either way.
    let _ = crate::time::timeout(timeout, poll_fn(|cx| waiting.poll(cx))).await;
    waiting.split()
}

/// The state of one `wait`: the tasks, who has finished, and the condition.
struct Waiting<T> {
    tasks: Vec<Task<T>>,
    /// `finished[i]` once task `i` was seen to finish (so it is not asked again).
    finished: Vec<bool>,
    set: ReadySet,
    unfinished: usize,
    when: ReturnWhen,
}

impl<T: 'static> Waiting<T> {
    fn new(tasks: impl IntoIterator<Item = Task<T>>, when: ReturnWhen) -> Self {
        let tasks: Vec<Task<T>> = tasks.into_iter().collect();
        Waiting {
            finished: vec![false; tasks.len()],
            set: ReadySet::new(tasks.len()),
            unfinished: tasks.len(),
            tasks,
            when,
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.unfinished == 0 {
            return Poll::Ready(());
        }
        let Waiting {
            tasks,
            finished,
            set,
            unfinished,
            when,
        } = &mut *self;
        let failed = set.poll_woken(cx, |i, child_cx| {
            if finished[i] || poll_finished(&tasks[i], child_cx).is_pending() {
                return None;
            }
            finished[i] = true;
            *unfinished -= 1;
            let failure = *when == ReturnWhen::FirstException
                && tasks[i]
                    .inspect_output(|out| out.map_or(true, is_err_result))
                    .unwrap_or(false);
            failure.then_some(())
        });
        let ready = match self.when {
            _ if self.unfinished == 0 => true,
            ReturnWhen::FirstCompleted => self.unfinished < self.tasks.len(),
            ReturnWhen::FirstException => failed.is_some(),
            ReturnWhen::AllCompleted => false,
        };
        if ready {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// `(done, pending)`, asking every task afresh, so a task that finished in this same loop
    /// turn but whose wake-up has not been handled yet still counts as done.
    fn split(self) -> (Vec<Task<T>>, Vec<Task<T>>) {
        self.tasks.into_iter().partition(|task| task.is_done())
    }
}

/// Whether `task` has finished, without taking its output: `Task::poll` minus the take.
/// While it runs, this registers `cx`'s waker as the one its completion wakes.
fn poll_finished<T>(task: &Task<T>, cx: &mut Context<'_>) -> Poll<()> {
    if task.is_done() {
        return Poll::Ready(());
    }
    // Not done, so `poll_join` only stores the waker; it has no result to hand over.
    task.core.poll_join(task.key, cx).map(|_| ())
}

impl<T> fmt::Debug for Waiting<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiting")
            .field("tasks", &self.tasks.len())
            .field("unfinished", &self.unfinished)
            .field("when", &self.when)
            .finish()
    }
}
