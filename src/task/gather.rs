//! Running many futures at once and collecting every result: asyncio's `gather`, from `tasks.py`.
//!
//! asyncio's `gather(*aws)` wraps each awaitable in a `Task` and adds a `_done_callback` to
//! each that stores the result in its slot and, when the last one is in, sets the outer
//! future's result. tinyloop's [`gather`] does not spawn: it drives the futures *inside the
//! task that awaits it*, the way a Rust future owns what it waits for. That has two
//! consequences a reader of `tasks.py` should know:
//!
//! * Dropping a [`Gather`] (the `await` point is cancelled) drops every child future, running
//!   their destructors, just as cancelling asyncio's outer gather future cancels its children.
//! * The children share their parent's turn on the loop. To run them as separate tasks,
//!   `spawn` each one and gather the [`Task`](crate::task::Task)s.
//!
//! # How it polls
//!
//! A naive gather polls all N children on every wake-up, which turns a gather of 100,000
//! timers into 10^10 polls. [`Gather`] and [`TryGather`] sit on a [`ReadySet`]: every child has
//! its own waker that records the child's index, and the gather polls only children whose
//! index was recorded. Each wake-up costs O(1), whatever N is. A finished child is dropped at
//! once and its output parked in its slot, so results come back in input order.
//!
//! | asyncio                                   | tinyloop                                 |
//! |-------------------------------------------|------------------------------------------|
//! | `await gather(a, b, c)` (mixed types)     | `gather!(a, b, c).await` -> `(A, B, C)`  |
//! | `await gather(*aws)`                      | `gather(futs).await` -> `Vec<T>`         |
//! | `await gather(*aws, return_exceptions=True)` | `gather` over futures returning `Result` |
//! | `await gather(*aws)`, first exception raised | `try_gather(futs).await` -> `Result<Vec<T>, E>` |
//!
//! Unlike asyncio, [`try_gather`] also drops the other children when one fails: in asyncio
//! they keep running, unobserved, which is a classic source of leaked work.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::ready_set::ReadySet;

/// Runs every future in `futs` concurrently and returns their outputs in input order.
///
/// asyncio's `gather(*aws)`. Unlike asyncio, nothing is spawned: the futures run inside
/// the task that awaits the gather, and dropping the gather drops them all (asyncio's
/// cancelling of the outer future). To run them as separate tasks, `spawn` each one and
/// gather the [`Task`](crate::Task)s. An empty input completes at once with an empty `Vec`.
/// Each wake-up of a child costs O(1), however many children there are: the gather polls
/// only the children whose wakers were called.
///
/// ```
/// use std::time::Duration;
/// # tinyloop::run(async {
/// let naps = [30, 10, 20].map(|ms| async move {
///     tinyloop::sleep(Duration::from_millis(ms)).await;
///     ms
/// });
/// assert_eq!(tinyloop::gather(naps).await, vec![30, 10, 20]);
/// # });
/// ```
#[doc(alias = "asyncio.gather")]
pub fn gather<I>(futs: I) -> Gather<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    Gather {
        inner: Children::new(futs),
    }
}

/// The future returned by [`gather`]: resolves to every child's output, in input order.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Gather<F: Future> {
    inner: Children<F, F::Output>,
}

impl<F: Future> Future for Gather<F> {
    type Output = Vec<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.inner.poll("Gather", cx, Ok::<_, Infallible>) {
            Poll::Ready(Ok(outputs)) => Poll::Ready(outputs),
            Poll::Ready(Err(never)) => match never {},
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The engine shared by [`Gather`] and [`TryGather`]: the boxed children, their outputs
/// in input order, and the ready list that says which children to poll.
struct Children<F, T> {
    /// `None` once the child has finished (and been dropped).
    children: Vec<Option<Pin<Box<F>>>>,
    outputs: Vec<Option<T>>,
    set: ReadySet,
    remaining: usize,
    finished: bool,
}

// The children are boxed, and nothing is ever pinned in place inside `Children` itself.
impl<F, T> Unpin for Children<F, T> {}

impl<F: Future, T> Children<F, T> {
    fn new(futs: impl IntoIterator<Item = F>) -> Self {
        let children: Vec<_> = futs.into_iter().map(|f| Some(Box::pin(f))).collect();
        let outputs = children.iter().map(|_| None).collect();
        Children {
            set: ReadySet::new(children.len()),
            remaining: children.len(),
            children,
            outputs,
            finished: false,
        }
    }

    /// Polls the woken children. `split` turns a child's output into a value to keep or an
    /// error that ends the whole thing at once (the other children are dropped first).
    fn poll<E>(
        &mut self,
        name: &str,
        cx: &mut Context<'_>,
        mut split: impl FnMut(F::Output) -> Result<T, E>,
    ) -> Poll<Result<Vec<T>, E>> {
        assert!(!self.finished, "`{name}` polled after it completed");
        let children = &mut self.children;
        let outputs = &mut self.outputs;
        let remaining = &mut self.remaining;
        let failed = self.set.poll_woken(cx, |i, child_cx| {
            let child = children[i].as_mut()?;
            let Poll::Ready(out) = child.as_mut().poll(child_cx) else {
                return None;
            };
            children[i] = None;
            match split(out) {
                Ok(value) => {
                    outputs[i] = Some(value);
                    *remaining -= 1;
                    None
                }
                Err(err) => Some(err),
            }
        });
        if let Some(err) = failed {
            self.finished = true;
            // Drop the losers now, so their destructors have run when the caller sees the error.
            self.children = Vec::new();
            self.outputs = Vec::new();
            return Poll::Ready(Err(err));
        }
        if self.remaining > 0 {
            return Poll::Pending;
        }
        self.finished = true;
        let outputs = std::mem::take(&mut self.outputs);
        Poll::Ready(Ok(outputs
            .into_iter()
            .map(|out| out.expect("every child of a finished gather has an output"))
            .collect()))
    }
}

impl<F: Future> fmt::Debug for Gather<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("children", &self.inner.set.len())
            .field("pending", &self.inner.remaining)
            .finish()
    }
}

/// Runs every future in `futs` concurrently; the first `Err` wins and the others are dropped.
///
/// asyncio's default `gather(*aws)`, where the first exception propagates to the awaiter.
/// Unlike asyncio, the other children do not run on unobserved: they are dropped (their
/// destructors have run) before the `Err` is returned. If every child succeeds, the outputs
/// come back in input order.
///
/// ```
/// # tinyloop::run(async {
/// let jobs = [Ok(1), Err("two failed"), Ok(3)].map(|r| async move { r });
/// assert_eq!(tinyloop::try_gather(jobs).await, Err("two failed"));
/// # });
/// ```
#[doc(alias = "asyncio.gather")]
pub fn try_gather<I, T, E>(futs: I) -> TryGather<I::Item, T, E>
where
    I: IntoIterator,
    I::Item: Future<Output = Result<T, E>>,
{
    TryGather {
        inner: Children::new(futs),
    }
}

/// The future returned by [`try_gather`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct TryGather<F, T, E>
where
    F: Future<Output = Result<T, E>>,
{
    inner: Children<F, T>,
}

impl<F, T, E> Future for TryGather<F, T, E>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<Vec<T>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.poll("TryGather", cx, |out| out)
    }
}

impl<F, T, E> fmt::Debug for TryGather<F, T, E>
where
    F: Future<Output = Result<T, E>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryGather")
            .field("children", &self.inner.set.len())
            .field("pending", &self.inner.remaining)
            .finish()
    }
}

/// Awaits futures of different types concurrently and returns a tuple of their outputs.
///
/// asyncio's `await gather(a, b, c)`. The futures are created where the macro is written
/// and driven inside the task that awaits the result; dropping that future drops them all.
/// With a handful of children it simply polls every unfinished one on each wake-up.
///
/// ```
/// use std::time::Duration;
/// # tinyloop::run(async {
/// let (n, s) = tinyloop::gather!(
///     async { 7 },
///     async {
///         tinyloop::sleep(Duration::from_millis(5)).await;
///         "late"
///     },
/// )
/// .await;
/// assert_eq!((n, s), (7, "late"));
/// # });
/// ```
#[doc(alias = "asyncio.gather")]
#[macro_export]
macro_rules! gather {
    ($($fut:expr),+ $(,)?) => {
        $crate::__join_many!(@name gather [] $($fut,)+)
    };
}

/// Awaits futures of different types that return `Result<_, E>`; the first `Err` wins.
///
/// asyncio's `await gather(a, b, c)` without `return_exceptions`. Resolves to
/// `Ok((a, b, c))` when all succeed, or to the first `Err`; the other futures are dropped
/// when that happens.
///
/// ```
/// # tinyloop::run(async {
/// let r: Result<(i32, &str), String> =
///     tinyloop::try_gather!(async { Ok(1) }, async { Ok("two") }).await;
/// assert_eq!(r, Ok((1, "two")));
/// # });
/// ```
#[doc(alias = "asyncio.gather")]
#[macro_export]
macro_rules! try_gather {
    ($($fut:expr),+ $(,)?) => {
        $crate::__join_many!(@name try_gather [] $($fut,)+)
    };
}

/// The engine of `gather!` and `try_gather!`. Not public API.
///
/// The `@name` rules give every future two fresh names, `fut` and `out`: identifiers written
/// by a macro are hygienic, so the `fut` of one recursive step is a different variable from
/// the `fut` of the next. The futures are evaluated eagerly, in order, outside the `async`
/// block, so borrowing expressions keep their meaning; each is then pinned on the async
/// block's own state, which needs no allocation and no `unsafe`.
#[doc(hidden)]
#[macro_export]
macro_rules! __join_many {
    (@name $mode:ident [$($done:tt)*] $head:expr, $($rest:expr,)*) => {
        $crate::__join_many!(@name $mode [$($done)* (fut out $head)] $($rest,)*)
    };
    (@name $mode:ident [$($done:tt)*]) => {
        $crate::__join_many!(@$mode $($done)*)
    };
    (@gather $(($fut:ident $out:ident $e:expr))*) => {{
        $( let $fut = $e; )*
        async move {
            $(
                let mut $fut = ::core::pin::pin!($fut);
                let mut $out = ::core::option::Option::None;
            )*
            ::core::future::poll_fn(|cx| {
                let mut pending = false;
                $(
                    if $out.is_none() {
                        match ::core::future::Future::poll($fut.as_mut(), cx) {
                            ::core::task::Poll::Ready(v) => $out = ::core::option::Option::Some(v),
                            ::core::task::Poll::Pending => pending = true,
                        }
                    }
                )*
                if pending {
                    return ::core::task::Poll::Pending;
                }
                ::core::task::Poll::Ready(($(
                    $out.take().expect("`gather!` polled after it completed"),
                )*))
            })
            .await
        }
    }};
    (@try_gather $(($fut:ident $out:ident $e:expr))*) => {{
        $( let $fut = $e; )*
        async move {
            $(
                let mut $fut = ::core::pin::pin!($fut);
                let mut $out = ::core::option::Option::None;
            )*
            ::core::future::poll_fn(|cx| {
                let mut pending = false;
                $(
                    if $out.is_none() {
                        match ::core::future::Future::poll($fut.as_mut(), cx) {
                            ::core::task::Poll::Ready(::core::result::Result::Ok(v)) => {
                                $out = ::core::option::Option::Some(v)
                            }
                            ::core::task::Poll::Ready(::core::result::Result::Err(e)) => {
                                return ::core::task::Poll::Ready(::core::result::Result::Err(e));
                            }
                            ::core::task::Poll::Pending => pending = true,
                        }
                    }
                )*
                if pending {
                    return ::core::task::Poll::Pending;
                }
                ::core::task::Poll::Ready(::core::result::Result::Ok(($(
                    $out.take().expect("`try_gather!` polled after it completed"),
                )*)))
            })
            .await
        }
    }};
}
