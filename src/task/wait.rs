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
//! | `FirstException`  | a task failed (see [`TaskOutcome`]), or else all have finished    |
//! | `AllCompleted`    | every task has finished                                           |
//!
//! The `done` list holds *every* task finished at that moment (several may finish in the same
//! loop turn), in input order; `pending` holds the rest, in input order. [`wait_timeout`]
//! adds asyncio's `timeout=`: when it expires, `wait_timeout` returns what is done so far,
//! never an error.

use std::fmt;
use std::future::poll_fn;
use std::task::{Context, Poll};
use std::time::Duration;

use super::ready_set::ReadySet;
use super::Task;

/// When [`wait`] returns: asyncio's `FIRST_COMPLETED`, `FIRST_EXCEPTION`, `ALL_COMPLETED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[doc(alias = "return_when")]
pub enum ReturnWhen {
    /// Return as soon as any task finishes (asyncio's `FIRST_COMPLETED`).
    #[doc(alias = "FIRST_COMPLETED")]
    FirstCompleted,
    /// Return as soon as a task fails: it panicked, was cancelled, or its output says it
    /// failed ([`TaskOutcome::is_failure`], i.e. `Err` for a `Result`). Without a failure,
    /// wait for all (asyncio's `FIRST_EXCEPTION`).
    #[doc(alias = "FIRST_EXCEPTION")]
    FirstException,
    /// Return when every task has finished (asyncio's `ALL_COMPLETED`, the default).
    #[doc(alias = "ALL_COMPLETED")]
    AllCompleted,
}

/// Whether a task's output counts as a failure for [`ReturnWhen::FirstException`].
///
/// asyncio looks for a raised exception; Rust returns errors as values, so `wait` asks the
/// output. `Result` fails when it is `Err`; the plain value types below never fail. Implement
/// it for your own output types (the default method says "never fails"):
///
/// ```
/// enum Reply { Ok, Refused }
/// impl tinyloop::TaskOutcome for Reply {
///     fn is_failure(&self) -> bool {
///         matches!(self, Reply::Refused)
///     }
/// }
/// ```
pub trait TaskOutcome {
    /// True if this output should make `wait(.., FirstException)` return.
    fn is_failure(&self) -> bool {
        false
    }
}

impl<T, E> TaskOutcome for Result<T, E> {
    fn is_failure(&self) -> bool {
        self.is_err()
    }
}

macro_rules! never_fails {
    ($($t:ty),* $(,)?) => {
        $( impl TaskOutcome for $t {} )*
    };
}

never_fails!(
    (),
    bool,
    char,
    f32,
    f64,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    String,
    &'static str,
);

impl<T> TaskOutcome for Vec<T> {}

/// Waits for `tasks` until `when` holds; returns `(done, pending)`.
///
/// asyncio's `wait(fs, return_when=...)`. Outputs stay inside the tasks: awaiting a task from
/// `done` completes at once. Tasks in `pending` keep running; drop them to detach them, or
/// `cancel` them. Both lists keep input order. An empty input returns `(vec![], vec![])` at
/// once.
///
/// ```
/// use std::time::Duration;
/// use tinyloop::{spawn, wait, ReturnWhen};
/// # tinyloop::run(async {
/// let tasks = [10, 20].map(|ms| spawn(async move {
///     tinyloop::sleep(Duration::from_millis(ms)).await;
///     ms
/// }));
/// let (done, pending) = wait(tasks, ReturnWhen::FirstCompleted).await;
/// assert_eq!((done.len(), pending.len()), (1, 1));
/// for task in done {
///     assert_eq!(task.await.unwrap(), 10);
/// }
/// # });
/// ```
#[doc(alias = "asyncio.wait")]
pub async fn wait<T: TaskOutcome + 'static>(
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
#[doc(alias = "asyncio.wait")]
pub async fn wait_timeout<T: TaskOutcome + 'static>(
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

impl<T: TaskOutcome + 'static> Waiting<T> {
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
                    .inspect_output(|out| out.map_or(true, |out| out.is_failure()))
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
