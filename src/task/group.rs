//! Structured concurrency: asyncio's `TaskGroup`, from `taskgroups.py`.
//!
//! asyncio's `async with TaskGroup() as tg:` spawns children with `tg.create_task`, and on
//! leaving the block waits for all of them. The first child to raise makes the group abort:
//! `_on_task_done` cancels every other child at once (not when the parent gets round to it),
//! and `__aexit__` finally raises an `ExceptionGroup` with every failure.
//!
//! [`TaskGroup`] keeps that shape:
//!
//! * [`TaskGroup::spawn`] spawns the child wrapped in a small future (`child`, below) that
//!   plays the part of `_on_task_done`. When the child returns `Err` or panics, the wrapper
//!   records the failure in the group and cancels every sibling right there, inside the
//!   failing child's own poll, so siblings stop even while nobody is awaiting
//!   [`join`](TaskGroup::join).
//! * [`TaskGroup::join`] is `__aexit__`: it waits until every child has finished, then
//!   returns `Ok(())` or a [`TaskGroupError`] listing each failure in the order they happened.
//!   (Cancelled children are not failures.)
//! * Children never outlive their group: dropping the `TaskGroup`, or a `join` future before
//!   it completes (the parent was cancelled), cancels every child still running.
//!
//! # Who gets a failed child's error
//!
//! An `E` cannot be in two places at once without `Clone`. The group keeps it, so `join`
//! can report it; the failed child's own [`Task`] then ends as cancelled
//! (`Err(JoinError::Cancelled)`): the wrapper hands the error over and cancels its own task
//! along with its siblings. A panicking child's `Task` still reports `JoinError::Panicked`,
//! since a message can be copied.
//!
//! Cancellation in tinyloop is dropping, and a dropped future cannot fail afterwards (unlike
//! asyncio's, which can raise again from a `finally`). So once the first failure has
//! cancelled everyone, later failures can only come from children that were already past
//! that point; the error list is usually one long, and kept as a list to mirror
//! `ExceptionGroup` and leave no failure unreported.
//!
//! # State
//!
//! The group and every child wrapper share one `GroupState` (an `Rc<RefCell<..>>`): a slab
//! of cancel handles for the children still alive, the count of live children, the failures
//! so far, and the waker of a pending `join`. A child's slot is freed by a guard that its
//! wrapper owns from the start, so it runs whether the child finishes, fails, panics or is
//! cancelled, even before its first poll; the last guard wakes `join`. No borrow of the state is held while a child is cancelled or a waker
//! runs.

use std::cell::RefCell;
use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;

use crate::runtime::core::{panic_message, Core};
use crate::runtime::tasks::TaskKey;
use crate::runtime::waker::WakeRef;

use super::{spawn, Task};

/// Why one child of a [`TaskGroup`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChildError<E> {
    /// The child returned `Err`.
    #[error("a child task returned an error: {0}")]
    Failed(E),
    /// The child panicked; the panic's message is kept.
    #[error("a child task panicked: {0}")]
    Panicked(String),
}

/// Every failure of a [`TaskGroup`]'s children, in the order they happened: asyncio's
/// `ExceptionGroup` raised by `TaskGroup.__aexit__`. Never empty.
#[doc(alias = "ExceptionGroup")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskGroupError<E> {
    errors: Vec<ChildError<E>>,
}

impl<E: fmt::Display> fmt::Display for TaskGroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.as_slice() {
            [only] => write!(f, "{only}"),
            [first, ..] => write!(
                f,
                "{} child tasks failed; the first: {first}",
                self.errors.len()
            ),
            [] => f.write_str("a task group failed"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for TaskGroupError<E> {}

impl<E> TaskGroupError<E> {
    /// Every failure, in the order they happened.
    pub fn errors(&self) -> &[ChildError<E>] {
        &self.errors
    }

    /// The first failure: the one that made the group cancel the other children.
    pub fn into_first(self) -> ChildError<E> {
        self.errors
            .into_iter()
            .next()
            .expect("a TaskGroupError holds at least one failure")
    }

    /// Every failure, in the order they happened, by value.
    pub fn into_errors(self) -> Vec<ChildError<E>> {
        self.errors
    }
}

/// A set of child tasks that succeed or fail together: asyncio's `TaskGroup`.
///
/// Spawn children with [`spawn`](TaskGroup::spawn), then [`join`](TaskGroup::join) the
/// group. The first child to return `Err` or panic cancels every other child; `join` waits
/// for all of them and reports every failure. Dropping the group cancels every child.
///
/// ```
/// use std::time::Duration;
/// use tinyloop::{ChildError, TaskGroup};
/// # tinyloop::run(async {
/// let group = TaskGroup::new();
/// let patient = group.spawn(async {
///     tinyloop::sleep(Duration::from_secs(60)).await; // cancelled after 1 s
///     Ok(())
/// });
/// let _failing = group.spawn(async {
///     tinyloop::sleep(Duration::from_secs(1)).await;
///     Err::<(), _>("disk full")
/// });
/// let err = group.join().await.unwrap_err();
/// assert_eq!(err.into_first(), ChildError::Failed("disk full"));
/// assert!(patient.await.unwrap_err().is_cancelled());
/// # });
/// ```
#[doc(alias = "asyncio.TaskGroup")]
pub struct TaskGroup<E> {
    state: Rc<GroupState<E>>,
}

struct GroupState<E> {
    inner: RefCell<Inner<E>>,
}

struct Inner<E> {
    /// Cancel handles of the children still alive; `None` marks a free slot.
    children: Vec<Option<CancelHandle>>,
    free: Vec<usize>,
    /// Children whose wrapper has not been dropped yet.
    live: usize,
    errors: Vec<ChildError<E>>,
    /// Set by the first failure; from then on `spawn` hands out cancelled tasks.
    failed: bool,
    join_waker: Option<WakeRef>,
}

/// What the group keeps of a child: enough to cancel it.
struct CancelHandle {
    core: Rc<Core>,
    key: TaskKey,
}

impl<E: 'static> TaskGroup<E> {
    /// An empty group. Needs no running loop until the first `spawn`.
    pub fn new() -> Self {
        TaskGroup {
            state: Rc::new(GroupState {
                inner: RefCell::new(Inner {
                    children: Vec::new(),
                    free: Vec::new(),
                    live: 0,
                    errors: Vec::new(),
                    failed: false,
                    join_waker: None,
                }),
            }),
        }
    }

    /// Spawns `fut` as a child of the group: asyncio's `TaskGroup.create_task`.
    ///
    /// The returned [`Task`] behaves like any other: await it, or drop it to let the group
    /// alone watch the child. If the child returns `Err`, the error goes to the group, for
    /// [`join`](TaskGroup::join) to report (an `E` cannot be in two places without `Clone`),
    /// and the child's own task ends as cancelled. A panicking child's task reports the
    /// panic as usual. After the group has failed, `spawn` returns a task that is already
    /// cancelled; `fut` never runs.
    ///
    /// # Panics
    /// When no loop is running on this thread.
    #[doc(alias = "create_task")]
    #[track_caller]
    pub fn spawn<F, T>(&self, fut: F) -> Task<Result<T, E>>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
    {
        let slot = {
            let mut inner = self.state.inner.borrow_mut();
            if inner.failed {
                None
            } else {
                inner.live += 1;
                Some(match inner.free.pop() {
                    Some(slot) => slot,
                    None => {
                        inner.children.push(None);
                        inner.children.len() - 1
                    }
                })
            }
        };
        let Some(slot) = slot else {
            let task = spawn(fut);
            task.cancel();
            return task;
        };
        // The guard exists before the wrapper is first polled, so a child cancelled before it
        // ever ran still frees its slot.
        let guard = ChildGuard {
            state: Rc::clone(&self.state),
            slot,
        };
        let task = spawn(child(fut, guard));
        self.state.inner.borrow_mut().children[slot] = Some(CancelHandle {
            core: Rc::clone(&task.core),
            key: task.key,
        });
        task
    }

    /// Waits for every child to finish: asyncio's `async with` exit (`__aexit__`).
    ///
    /// `Ok(())` if none failed, else every failure in the order they happened. Dropping the
    /// returned future before it completes cancels every child still running.
    pub async fn join(self) -> Result<(), TaskGroupError<E>> {
        poll_fn(|cx| {
            let mut inner = self.state.inner.borrow_mut();
            if inner.live == 0 {
                return Poll::Ready(());
            }
            // A task key, not a `Waker` clone, when it is the polling task's own waker: the
            // group is `!Send`, so only this thread can wake through it (the deadlock check
            // counts on that, `runtime/observe/deadlock.rs`).
            let stale = match &mut inner.join_waker {
                Some(w) => w.update(cx.waker()),
                none => none.replace(WakeRef::of(cx.waker())),
            };
            drop(inner);
            drop(stale);
            Poll::Pending
        })
        .await;
        let errors = std::mem::take(&mut self.state.inner.borrow_mut().errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(TaskGroupError { errors })
        }
    }
}

impl<E: 'static> Default for TaskGroup<E> {
    fn default() -> Self {
        TaskGroup::new()
    }
}

impl<E> Drop for TaskGroup<E> {
    /// Children never outlive their group.
    fn drop(&mut self) {
        self.state.cancel_children(None);
    }
}

impl<E> fmt::Debug for TaskGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.state.inner.borrow();
        f.debug_struct("TaskGroup")
            .field("children", &inner.live)
            .field("failed", &inner.failed)
            .field("errors", &inner.errors.len())
            .finish()
    }
}

impl<E> GroupState<E> {
    /// Cancels every live child except `spare`. Takes the handles out first, so no borrow
    /// is held while the loop is told.
    fn cancel_children(&self, spare: Option<usize>) {
        let doomed: Vec<(Rc<Core>, TaskKey)> = {
            let inner = self.inner.borrow();
            inner
                .children
                .iter()
                .enumerate()
                .filter(|&(slot, _)| Some(slot) != spare)
                .filter_map(|(_, h)| h.as_ref().map(|h| (Rc::clone(&h.core), h.key)))
                .collect()
        };
        for (core, key) in doomed {
            core.cancel(key);
        }
    }

    /// `_on_task_done` for a child that failed: record it; the first failure cancels the
    /// others (and, unless it is unwinding, the failing child itself).
    fn fail(&self, slot: usize, error: ChildError<E>, cancel_self: bool) {
        let first = {
            let mut inner = self.inner.borrow_mut();
            inner.errors.push(error);
            !std::mem::replace(&mut inner.failed, true)
        };
        if first {
            self.cancel_children(if cancel_self { None } else { Some(slot) });
        } else if cancel_self {
            self.cancel_one(slot);
        }
    }

    fn cancel_one(&self, slot: usize) {
        let handle = {
            let inner = self.inner.borrow();
            inner.children[slot]
                .as_ref()
                .map(|h| (Rc::clone(&h.core), h.key))
        };
        if let Some((core, key)) = handle {
            core.cancel(key);
        }
    }
}

/// Frees a child's slot when its wrapper goes away, however that happens.
struct ChildGuard<E> {
    state: Rc<GroupState<E>>,
    slot: usize,
}

impl<E> Drop for ChildGuard<E> {
    fn drop(&mut self) {
        let join_waker = {
            let mut inner = self.state.inner.borrow_mut();
            inner.children[self.slot] = None;
            inner.free.push(self.slot);
            inner.live -= 1;
            if inner.live == 0 {
                inner.join_waker.take()
            } else {
                None
            }
        };
        if let Some(w) = join_waker {
            w.wake();
        }
    }
}

/// The wrapper every child runs in: polls `fut`, and reports a failure to the group.
async fn child<F, T, E>(fut: F, guard: ChildGuard<E>) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    let slot = guard.slot;
    let mut fut = pin!(fut);
    let mut failed = false;
    poll_fn(|cx| {
        if failed {
            // Never poll a finished future again while the self-cancellation is on its way.
            return Poll::Pending;
        }
        match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(Ok(value))) => Poll::Ready(Ok(value)),
            Ok(Poll::Ready(Err(error))) => {
                // The group takes the error and this task cancels itself with its siblings;
                // the cancellation lands as soon as this poll returns.
                failed = true;
                guard.state.fail(slot, ChildError::Failed(error), true);
                Poll::Pending
            }
            Err(payload) => {
                let message = panic_message(&*payload);
                guard.state.fail(slot, ChildError::Panicked(message), false);
                // Let the loop see the panic too, so this child's `Task` reports it.
                resume_unwind(payload)
            }
        }
    })
    .await
}
