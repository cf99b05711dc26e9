//! Taking results as they come: asyncio's `as_completed`, from `tasks.py`.
//!
//! asyncio's `as_completed(aws)` wraps each awaitable in a task, hangs an `_on_completion`
//! callback on each that puts the finished future on a `Queue`, and hands out one
//! `_wait_for_one` coroutine per input, each of which takes the next finished future off that
//! queue. [`AsCompleted`] does the same job with the machinery [`gather`](super::gather) uses:
//! the futures are driven inside the task that calls [`next`](AsCompleted::next), each child
//! has a waker that records its index in a ready list (a [`ReadySet`]), and `next` polls only
//! the children on that list until one finishes. Finding the next result costs O(1) per
//! wake-up, however many futures are still out.
//!
//! Each result comes back with the index the future had in the input, since completion order
//! says nothing about which input it was (asyncio's newer `async for` form hands back the
//! original task for the same reason).
//!
//! Dropping the [`AsCompleted`] drops the futures that have not finished. To let them run on
//! regardless, spawn them and pass the [`Task`](crate::task::Task)s in.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::ready_set::ReadySet;

/// Yields `(input index, output)` for each future in `futs`, in the order they finish.
///
/// asyncio's `as_completed(aws)`. Use [`AsCompleted::next`] in a `while let` loop, or any
/// [`Stream`] adapter. The futures only make progress while the `AsCompleted` is being
/// polled (they run inside the polling task); when several finish at once, they come out in
/// the order they were woken.
///
/// ```
/// use std::time::Duration;
/// # tinyloop::run(async {
/// let naps = [30, 10, 20].map(|ms| tinyloop::sleep(Duration::from_millis(ms)));
/// let mut done = tinyloop::as_completed(naps);
/// let mut order = Vec::new();
/// while let Some((index, ())) = done.next().await {
///     order.push(index);
/// }
/// assert_eq!(order, vec![1, 2, 0]);
/// # });
/// ```
#[doc(alias = "asyncio.as_completed")]
pub fn as_completed<I>(futs: I) -> AsCompleted<<I::Item as Future>::Output>
where
    I: IntoIterator,
    I::Item: Future + 'static,
{
    let children: Vec<Option<Pin<Box<dyn Future<Output = _>>>>> = futs
        .into_iter()
        .map(|f| Some(Box::pin(f) as Pin<Box<dyn Future<Output = _>>>))
        .collect();
    AsCompleted {
        set: ReadySet::new(children.len()),
        remaining: children.len(),
        children,
    }
}

/// The stream returned by [`as_completed`]: each item is `(input index, output)`.
#[must_use = "streams do nothing unless you poll them"]
pub struct AsCompleted<T> {
    /// `None` once that future has finished and been handed out.
    children: Vec<Option<Pin<Box<dyn Future<Output = T>>>>>,
    set: ReadySet,
    remaining: usize,
}

// The futures are boxed; nothing inside `AsCompleted` is pinned in place.
impl<T> Unpin for AsCompleted<T> {}

impl<T> AsCompleted<T> {
    /// Waits for the next future to finish; `None` once every one has been handed out.
    ///
    /// Cancel-safe: dropping the returned future loses no result, since a child's output is
    /// handed out in the same poll in which the child finishes.
    pub async fn next(&mut self) -> Option<(usize, T)> {
        poll_fn(|cx| self.poll_next_done(cx)).await
    }

    /// How many futures have not finished yet.
    pub fn len(&self) -> usize {
        self.remaining
    }

    /// True once every future has finished and been handed out.
    pub fn is_empty(&self) -> bool {
        self.remaining == 0
    }

    fn poll_next_done(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, T)>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let children = &mut self.children;
        let finished = self.set.poll_woken(cx, |i, child_cx| {
            let child = children[i].as_mut()?;
            let out = match child.as_mut().poll(child_cx) {
                Poll::Ready(out) => out,
                Poll::Pending => return None,
            };
            children[i] = None;
            Some((i, out))
        });
        match finished {
            Some(item) => {
                self.remaining -= 1;
                Poll::Ready(Some(item))
            }
            None => Poll::Pending,
        }
    }
}

impl<T> Stream for AsCompleted<T> {
    type Item = (usize, T);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_done(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<T> fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("children", &self.set.len())
            .field("pending", &self.remaining)
            .finish()
    }
}
