//! Protecting work from cancellation: asyncio's `shield`, from `tasks.py`.
//!
//! asyncio's `shield(aw)` wraps `aw` in a task and returns an outer future that mirrors it;
//! cancelling the outer future does not cancel the task. In tinyloop, cancelling a future is
//! dropping it, so [`shield`] spawns the future as its own task and [`Shield`] is a thin
//! handle over that [`Task`]: awaiting it waits for the task, dropping it detaches the task,
//! which then runs to completion on the loop with nobody waiting for it.
//!
//! The shielded work therefore starts on a later loop turn (tasks never start eagerly) and
//! is only stopped by [`Shield::cancel`], by the task panicking, or by the loop shutting down.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{spawn, JoinError, Task};

/// Runs `fut` as its own task, so that dropping the returned [`Shield`] does not stop it.
///
/// asyncio's `shield(aw)`. Typical use: a write that must finish even if the request that
/// started it is cancelled, e.g. raced against a timeout:
///
/// ```
/// use std::time::Duration;
/// # tinyloop::run(async {
/// let save = tinyloop::shield(async {
///     tinyloop::sleep(Duration::from_millis(50)).await;
///     "saved"
/// });
/// // The timeout drops the Shield, but the save keeps running on the loop.
/// assert!(tinyloop::timeout(Duration::from_millis(10), save).await.is_err());
/// # });
/// ```
#[doc(alias = "asyncio.shield")]
#[track_caller]
pub fn shield<F>(fut: F) -> Shield<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    Shield { task: spawn(fut) }
}

/// The future returned by [`shield`]: the shielded task's output, or why it has none.
///
/// Dropping it leaves the task running.
#[must_use = "a Shield's task runs anyway, but its result is lost unless you `.await` it"]
pub struct Shield<T> {
    task: Task<T>,
}

impl<T> Shield<T> {
    /// Cancels the shielded task itself (which dropping the `Shield` deliberately does not).
    pub fn cancel(&self) -> bool {
        self.task.cancel()
    }

    /// True once the shielded task has finished.
    pub fn is_done(&self) -> bool {
        self.task.is_done()
    }

    /// The task that runs the shielded future.
    pub fn into_task(self) -> Task<T> {
        self.task
    }
}

impl<T: 'static> Future for Shield<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.task).poll(cx)
    }
}

impl<T> fmt::Debug for Shield<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shield").field("task", &self.task).finish()
    }
}
