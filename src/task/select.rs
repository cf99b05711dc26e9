//! Racing futures and keeping only the winner: `select` and `select_all`.
//!
//! asyncio spells a race as `await wait({a, b}, return_when=FIRST_COMPLETED)` followed by
//! cancelling whatever is left in `pending`. In Rust, cancelling a future is dropping it, so
//! the race and the clean-up are one call: [`select`] returns the first output and drops the
//! other future before returning, running its destructors.
//!
//! Both are deterministic when several futures are ready in the same poll: [`select`] polls
//! `a` before `b`, [`select_all`] polls in input order, and the first ready one wins. Neither
//! needs the O(1) ready list [`gather`](super::gather) uses: a race ends at its first
//! completion, and [`select_all`] hands the losers back, so it polls every loser on each
//! wake-up (fine for the handful of futures a race usually has).

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::{Context, Poll};

/// The output of [`select`]: which of the two futures finished first, and its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Either<L, R> {
    /// The first future (`a`) finished first.
    Left(L),
    /// The second future (`b`) finished first.
    Right(R),
}

impl<L, R> Either<L, R> {
    /// True if this is [`Either::Left`].
    pub fn is_left(&self) -> bool {
        matches!(self, Either::Left(_))
    }

    /// True if this is [`Either::Right`].
    pub fn is_right(&self) -> bool {
        matches!(self, Either::Right(_))
    }

    /// The left value, if this is [`Either::Left`].
    pub fn left(self) -> Option<L> {
        match self {
            Either::Left(l) => Some(l),
            Either::Right(_) => None,
        }
    }

    /// The right value, if this is [`Either::Right`].
    pub fn right(self) -> Option<R> {
        match self {
            Either::Left(_) => None,
            Either::Right(r) => Some(r),
        }
    }
}

impl<T> Either<T, T> {
    /// The value, whichever side won.
    pub fn into_inner(self) -> T {
        match self {
            Either::Left(t) | Either::Right(t) => t,
        }
    }
}

/// Waits for whichever of `a` and `b` finishes first; the other is dropped.
///
/// asyncio's `wait({a, b}, return_when=FIRST_COMPLETED)` followed by cancelling the loser.
/// On every poll `a` is polled first, so when both are ready `a` wins. The loser is dropped
/// (its destructors have run) before `select` returns.
///
/// ```
/// use std::time::Duration;
/// use tinyloop::Either;
/// # tinyloop::run(async {
/// let winner = tinyloop::select(
///     tinyloop::sleep(Duration::from_secs(5)),
///     async { "fast" },
/// )
/// .await;
/// assert_eq!(winner, Either::Right("fast"));
/// # });
/// ```
#[doc(alias = "FIRST_COMPLETED")]
pub async fn select<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    poll_fn(|cx| {
        if let Poll::Ready(out) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::Left(out));
        }
        if let Poll::Ready(out) = b.as_mut().poll(cx) {
            return Poll::Ready(Either::Right(out));
        }
        Poll::Pending
    })
    .await
}

/// Waits for the first of `futs` to finish: returns its output, its index, and the rest.
///
/// asyncio's `wait(aws, return_when=FIRST_COMPLETED)`, for one winner. The futures are
/// polled in input order, so the lowest index wins a tie. The losers come back unpolled
/// further and in their input order, ready to be raced again; drop them to cancel them.
///
/// # Panics
///
/// Panics if `futs` is empty: there would be no output to return.
///
/// ```
/// use std::future::{pending, ready, Future};
/// use std::pin::Pin;
/// # tinyloop::run(async {
/// let futs: Vec<Pin<Box<dyn Future<Output = i32>>>> =
///     vec![Box::pin(pending()), Box::pin(ready(2)), Box::pin(ready(3))];
/// let (out, index, rest) = tinyloop::select_all(futs).await;
/// assert_eq!((out, index, rest.len()), (2, 1, 2));
/// # });
/// ```
#[doc(alias = "FIRST_COMPLETED")]
#[track_caller]
pub fn select_all<I>(futs: I) -> SelectAll<I::Item>
where
    I: IntoIterator,
    I::Item: Future + Unpin,
{
    let futs: Vec<_> = futs.into_iter().collect();
    assert!(
        !futs.is_empty(),
        "`select_all` was given no futures; pass at least one, or check for an empty list first"
    );
    SelectAll { futs }
}

/// The future returned by [`select_all`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SelectAll<F> {
    futs: Vec<F>,
}

impl<F: Future + Unpin> Future for SelectAll<F> {
    type Output = (F::Output, usize, Vec<F>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        assert!(
            !self.futs.is_empty(),
            "`SelectAll` polled after it completed"
        );
        let winner =
            self.futs
                .iter_mut()
                .enumerate()
                .find_map(|(i, fut)| match Pin::new(fut).poll(cx) {
                    Poll::Ready(out) => Some((i, out)),
                    Poll::Pending => None,
                });
        match winner {
            Some((index, out)) => {
                let mut rest = std::mem::take(&mut self.futs);
                drop(rest.remove(index));
                Poll::Ready((out, index, rest))
            }
            None => Poll::Pending,
        }
    }
}

impl<F> fmt::Debug for SelectAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectAll")
            .field("futures", &self.futs.len())
            .finish()
    }
}
